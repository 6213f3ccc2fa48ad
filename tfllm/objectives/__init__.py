"""Losses and metrics for language models, computed in float32 over weighted (non-padding) tokens.

- `MaskedCrossEntropy` / `masked_cross_entropy`: sum(w * nats) / sum(w), optional label smoothing.
- `Perplexity`, `BitsPerCharacter`, `MaskedAccuracy`: exact over a whole evaluation (they keep
  sums, not per-batch means). Compile them under `weighted_metrics=[...]`: Keras passes
  `sample_weight` only to weighted metrics.
"""

from tfllm.objectives.bits_per_character import BitsPerCharacter
from tfllm.objectives.masked_accuracy import MaskedAccuracy
from tfllm.objectives.masked_cross_entropy import (
    MaskedCrossEntropy,
    masked_cross_entropy,
    token_cross_entropy,
)
from tfllm.objectives.perplexity import Perplexity
from tfllm.objectives.token_metric_utils import WeightedTokenSum

__all__ = [
    "BitsPerCharacter",
    "MaskedAccuracy",
    "MaskedCrossEntropy",
    "Perplexity",
    "WeightedTokenSum",
    "masked_cross_entropy",
    "token_cross_entropy",
]
