"""Losses and metrics for language models, computed in float32 over weighted (non-padding) tokens.

- `MaskedCrossEntropy` / `masked_cross_entropy`: sum(w * nats) / sum(w), optional label smoothing.
- `Perplexity`, `BitsPerCharacter`, `BitsPerByte`, `MaskedAccuracy`: exact over a whole
  evaluation (they keep sums, not per-batch means). Compile them under `weighted_metrics=[...]`: Keras passes
  `sample_weight` only to weighted metrics.
- `corpus_bleu` / `sentence_bleu` -> `BleuScore`: sacreBLEU's default BLEU, strings in.
- `casing_accuracy`, `punctuation_scores`, `restoration_report`, `copy_baseline`,
  `rule_based_baseline`: punctuation and casing restoration (`restoration_scores.py`).
- `expected_calibration_error`, `reliability_bins` (NumPy) and `ExpectedCalibrationError` (a
  weighted metric): top-label calibration, for classifiers and next-token predictions alike.
- `confusion_matrix`, `macro_f1`, `classification_report`: a classifier's scores
  (`classification_scores.py`); `MulticlassHinge`: the linear SVM's loss.
- `MaskedSquaredError` / `token_squared_error`: the square loss, on probabilities (the Brier
  score) or on raw logits (Hui and Belkin, 2021, with their rescaling for many classes).
- `UnlikelihoodLoss`, `TokenSetPenalty`, `ContextPenalty`, `context_candidates`,
  `token_set_candidates`, `token_unlikelihood`, `probability_mass`: unlikelihood training (Welleck et al., 2019) against
  repeating the context or a fixed set of tokens.
- `seq_rep_n`, `mean_seq_rep_n`, `rate_per_thousand_characters`: repetition in generated text
  (Welleck et al., 2019) and the rate of chosen words per 1,000 characters.
- `TemperatureSweep`, `temperature_grid`: temperature scaling (Guo et al., 2017), the exact
  held-out NLL at each temperature of a grid in one pass.
- `WeightedObjective`: a weighted sum of per-token terms; `term_metrics()` gives one exact
  `TermMean` per term so the logs show each term by name.
"""

from tfllm.objectives.bits_per_byte import BitsPerByte
from tfllm.objectives.bits_per_character import BitsPerCharacter
from tfllm.objectives.bleu import BleuScore, corpus_bleu, sentence_bleu, tokenize_13a
from tfllm.objectives.calibration import (
    ExpectedCalibrationError,
    ReliabilityBins,
    expected_calibration_error,
    reliability_bins,
)
from tfllm.objectives.classification_scores import (
    classification_report,
    confusion_matrix,
    f1_per_class,
    macro_f1,
)
from tfllm.objectives.masked_accuracy import MaskedAccuracy
from tfllm.objectives.masked_cross_entropy import (
    MaskedCrossEntropy,
    masked_cross_entropy,
    token_cross_entropy,
)
from tfllm.objectives.multiclass_hinge import MulticlassHinge
from tfllm.objectives.perplexity import Perplexity
from tfllm.objectives.restoration_scores import (
    MARK_NAMES,
    MarkScore,
    PunctuationScores,
    casing_accuracy,
    copy_baseline,
    punctuation_scores,
    restoration_report,
    rule_based_baseline,
)
from tfllm.objectives.repetition import mean_seq_rep_n, rate_per_thousand_characters, seq_rep_n
from tfllm.objectives.squared_error import MaskedSquaredError, token_squared_error
from tfllm.objectives.temperature_scaling import TemperatureSweep, temperature_grid
from tfllm.objectives.token_metric_utils import WeightedTokenSum
from tfllm.objectives.unlikelihood import (
    ContextPenalty,
    TokenSetPenalty,
    UnlikelihoodLoss,
    context_candidates,
    probability_mass,
    token_set_candidates,
    token_unlikelihood,
)
from tfllm.objectives.weighted_objective import TermMean, WeightedObjective

__all__ = [
    "BitsPerByte",
    "BitsPerCharacter",
    "BleuScore",
    "ExpectedCalibrationError",
    "MARK_NAMES",
    "MarkScore",
    "MaskedAccuracy",
    "MaskedCrossEntropy",
    "MaskedSquaredError",
    "MulticlassHinge",
    "Perplexity",
    "PunctuationScores",
    "ReliabilityBins",
    "TermMean",
    "TokenSetPenalty",
    "ContextPenalty",
    "UnlikelihoodLoss",
    "WeightedObjective",
    "WeightedTokenSum",
    "TemperatureSweep",
    "mean_seq_rep_n",
    "rate_per_thousand_characters",
    "seq_rep_n",
    "temperature_grid",
    "casing_accuracy",
    "classification_report",
    "confusion_matrix",
    "context_candidates",
    "copy_baseline",
    "corpus_bleu",
    "expected_calibration_error",
    "f1_per_class",
    "macro_f1",
    "masked_cross_entropy",
    "probability_mass",
    "punctuation_scores",
    "reliability_bins",
    "restoration_report",
    "rule_based_baseline",
    "sentence_bleu",
    "token_cross_entropy",
    "token_set_candidates",
    "token_squared_error",
    "token_unlikelihood",
    "tokenize_13a",
]
