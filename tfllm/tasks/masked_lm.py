"""`MaskedLM`: BERT's masked-language-model pre-training, the task of `BertMaskedLM`.

Data: the training documents cut into examples `[bos] + window + [eos]` with 15% of their real
tokens selected and 80/10/10 masked, replaced or kept (`tfllm.data.masked_lm_dataset`), masked
afresh on every pass. For the bundled plays the corpus is the genre split's
(`tfllm.data.genre_corpus`): pre-training, its tokenizer included, reads only the genre
training plays and never the genre validation and test plays on which a fine-tuned classifier
("comedy-tragedy", "genre") is scored. Any other corpus (a user's text) is used as loaded.

Validation masks with a fixed seed, so every evaluation scores the same positions. Loss:
`MaskedCrossEntropy` in nats per masked token. Metrics: perplexity and accuracy, both over
the real selections only (padded prediction slots weigh 0). Every report adds the unigram
floor (`tfllm.data.unigram_floor`): the loss of a model that ignores the context, which
training must go below. The sample fills in the middle word of the configured prompt.

Example:

>>> from tfllm.tasks import get_task
>>> task = get_task("masked_lm")
>>> task.input_kind, [metric.name for metric in task.metrics(characters_per_token=1.0)]
('text', ['perplexity', 'accuracy'])
"""

import re

import numpy as np

from tfllm.data import (DOCUMENT_SEPARATOR, genre_corpus, masked_lm_dataset, tokenize_corpus_text,
                        unigram_floor)
from tfllm.errors import ConfigError, CorpusError
from tfllm.models import BertMaskedLM
from tfllm.objectives import MaskedAccuracy, MaskedCrossEntropy, Perplexity
from tfllm.tasks.task import Task, task_data, weighted_report

# Validation masks with this seed whatever the training seed, so every evaluation of a run (and
# `tfllm evaluate` later) scores the same positions with the same replacements.
EVALUATION_SEED = 0
MASK_TEXT = "[MASK]"


class MaskedLM(Task):
    """Predict the selected tokens of a masked sequence from both sides (module docstring)."""

    name = "masked_lm"
    input_kind = "text"

    def corpus(self, corpus):
        """The genre split of the plays (its training plays only are pre-trained on), or a
        user's corpus as it is."""
        try:
            return genre_corpus(corpus)
        except CorpusError:
            if corpus.name == "shakespeare":  # the plays, but not all of them: say so
                raise
            return corpus

    def check_model(self, model):
        if not isinstance(model, BertMaskedLM):
            raise ConfigError(
                f"task masked_lm trains a tfllm.models.BertMaskedLM (scores at the masked "
                f"positions). Received: model.class_name={type(model).__name__!r}"
            )

    def lengths(self, model_arguments):
        """The model's input length, `sequence_length`."""
        value = model_arguments.get("sequence_length")
        if not isinstance(value, int) or isinstance(value, bool) or value < 3:
            raise ConfigError(
                f"task masked_lm needs the model's input length, an integer >= 3 ([CLS], text, "
                f"[SEP]): set model.sequence_length. Received: model.sequence_length={value!r}"
            )
        return value

    def prepare_data(self, corpus, tokenizer, lengths, data_config, train_config, *,
                     micro_batch_size, seed):
        train = masked_lm_dataset([d.text for d in corpus.documents("train")], tokenizer,
                                  sequence_length=lengths, batch_size=micro_batch_size,
                                  shuffle=True, seed=seed, repeat=True)
        validation, characters_per_token = self.evaluation_data(
            corpus.documents("validation"), tokenizer, lengths, train_config.batch_size)
        return task_data(train, validation, eval_batches=train_config.eval_batches,
                         characters_per_token=characters_per_token, tokens_per_example=lengths)

    def evaluation_data(self, documents, tokenizer, lengths, batch_size):
        """`(dataset, characters_per_token)`: one pass over every example of the documents,
        masked with `EVALUATION_SEED`."""
        texts = [d.text for d in documents]
        dataset = masked_lm_dataset(texts, tokenizer, sequence_length=lengths,
                                    batch_size=batch_size, seed=EVALUATION_SEED)
        text = DOCUMENT_SEPARATOR.join(t.strip("\n") for t in texts)
        return dataset, len(text) / max(len(tokenize_corpus_text(tokenizer, text)), 1)

    def loss(self, label_smoothing=0.0):
        return MaskedCrossEntropy(label_smoothing=label_smoothing)

    def metrics(self, characters_per_token):
        # Both keep exact weighted sums, so the zero-weight prediction slots count for nothing.
        return [Perplexity(), MaskedAccuracy()]

    def summarize(self, metrics):
        """Loss (mean nats per masked token), perplexity, accuracy and the masked tokens scored,
        from the state of the metrics `metrics(...)` made, after an evaluation."""
        return weighted_report(metrics, "tokens")

    def describe(self, summary):
        text = (f"loss {summary['loss']:.4f} nats/masked token, perplexity "
                f"{summary['perplexity']:.3f}, accuracy {summary['accuracy']:.4f}")
        if "unigram_floor" in summary:
            text += f" (unigram floor {summary['unigram_floor']:.4f} nats)"
        return text

    def decoded_report(self, model, tokenizer, documents, *, num_beams=1, limit=None):
        """The unigram floor of `documents` (no model call): the loss the model must go below."""
        return {"unigram_floor": unigram_floor([d.text for d in documents], tokenizer)}

    def sample(self, model, tokenizer, train_config):
        """`"prompt with [MASK] -> prompt with the prediction"`, or None when
        `train.sample_length` is 0 or no word of the prompt fits the model's input."""
        if train_config.sample_length <= 0:
            return None
        filled = fill_in_middle_word(model, tokenizer, train_config.sample_prompt,
                                     self.lengths(model.get_config()))
        return None if filled is None else f"{filled[0]} -> {filled[1]}"


def fill_in_middle_word(model, tokenizer, text, sequence_length):
    """`(masked text, filled-in text)`: the middle word of `text` masked, then predicted.

    The rule: the words of `text` (runs of non-space characters) that fit the model's input
    (`sequence_length` - 2 ids, [CLS] and [SEP] aside) are kept, the rest dropped; the middle
    kept word (the left one of two middles) is masked whole, every piece of it a `mask_id`,
    and each piece is replaced by the model's most likely id. The masked text shows one
    "[MASK]" per piece. None when `text` has no word or its first word does not fit.

    Args:
        model: a `BertMaskedLM`.
        tokenizer: the model's `tfllm.tokenizers.Tokenizer`.
        text: the prompt, a str.
        sequence_length: T, the model's input length.
    """
    spans = [match.span() for match in re.finditer(r"\S+", text)]
    words = _fitting_words(tokenizer, text, spans, sequence_length - 2)
    if not words:
        return None
    middle = (len(words) - 1) // 2
    if not words[middle][1]:
        return None  # a word the tokenizer spells with no id: nothing to predict
    ids, positions = [tokenizer.bos_id], []
    for index, (gap_ids, word_ids) in enumerate(words):
        ids += gap_ids
        if index == middle:
            positions = list(range(len(ids), len(ids) + len(word_ids)))
            word_ids = [tokenizer.mask_id] * len(word_ids)
        ids += word_ids
    ids.append(tokenizer.eos_id)
    token_ids = np.full([1, sequence_length], tokenizer.pad_id, np.int32)  # (1, T)
    token_ids[0, :len(ids)] = ids
    padding_mask = np.arange(sequence_length)[None, :] < len(ids)  # (1, T)
    logits = model({"token_ids": token_ids, "padding_mask": padding_mask,
                    "mask_positions": np.array([positions], np.int32)},
                   training=False)  # (1, P, V)
    predicted = np.asarray(logits)[0].argmax(axis=-1)  # (P,)
    start, end = spans[middle]
    head, tail = text[:start], text[end:spans[len(words) - 1][1]]
    return (head + MASK_TEXT * len(positions) + tail,
            head + tokenizer.decode(predicted) + tail)


def _fitting_words(tokenizer, text, spans, budget):
    """[(ids of the gap before the word, ids of the word), ...] for the first words of `text`
    (at `spans`) whose ids, gaps included, add up to at most `budget`. Each word and gap is
    tokenized apart, so the word's pieces are known."""
    if not spans:
        return []
    gap_starts = [0] + [end for _, end in spans[:-1]]
    chunks = [chunk for (start, end), gap in zip(spans, gap_starts)
              for chunk in (text[gap:start], text[start:end])]
    ids = tokenizer.tokenize(chunks).to_list()  # (2 x words, None)
    words, length = [], 0
    for gap_ids, word_ids in zip(ids[0::2], ids[1::2]):
        length += len(gap_ids) + len(word_ids)
        if length > budget:
            break
        words.append((gap_ids, word_ids))
    return words
