"""`Restoration`: punctuation and casing restoration, a seq2seq task made from real text.

The source is a line of a play lower-cased with every punctuation mark removed; the target is
the line as written (`tfllm.data.restoration_pairs`). No labels are added: the training plays
give the training pairs, the held-out plays the validation and test pairs. Output of speech
recognition looks like the source, so the task is useful, and it has honest floors: copying the
source, and a rule that capitalises line starts and "I" (`tfllm.objectives.copy_baseline`,
`rule_based_baseline`).

Beyond BLEU, `decoded_report` scores what the task is about: casing accuracy over aligned words
and an F1 per punctuation mark (`tfllm.objectives.restoration_report`).

Example:

>>> from tfllm.tasks import get_task
>>> task = get_task("restoration")
>>> play = "Romeo and Juliet\\n\\nROMEO:\\nBut, soft! what light through yonder window breaks?"
>>> pair = task.pairs_of_text(play)[0]
>>> pair.source, pair.target
('but soft what light through yonder window breaks', 'But, soft! what light through yonder window breaks?')
"""

from tfllm.data import RESTORATION_MARKS, restoration_pairs
from tfllm.objectives import restoration_report
from tfllm.tasks.seq2seq import Seq2Seq


class Restoration(Seq2Seq):
    """Restore the punctuation and casing of lower-cased, unpunctuated lines of plays."""

    name = "restoration"

    def pairs(self, documents):
        return restoration_pairs(documents)

    def extra_scores(self, hypotheses, references):
        """Casing accuracy, punctuation F1 (micro) and an F1 per mark."""
        return restoration_report(hypotheses, references, RESTORATION_MARKS)

    def describe(self, summary):
        text = super().describe(summary)
        if "casing_accuracy" in summary:
            text += (f", casing accuracy {summary['casing_accuracy']:.4f}, punctuation F1 "
                     f"{summary['punctuation_f1']:.4f}")
        return text
