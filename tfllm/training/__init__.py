"""Training: AdamW with decay groups, the warmup-cosine schedule, callbacks and exact evaluation.

- `build_optimizer`, `AdamWithDecayExclusions`: AdamW, no decay on biases/norms/embeddings,
  global-norm clipping.
- `WarmupCosineDecay`: linear warmup, cosine decay to a floor.
- `ThroughputLogger`, `TextSampleLogger`, `LossCurvePlot` (+ `plot_loss_curve`): callbacks.
- `evaluate_language_model`: mean nats per token, perplexity, bits/char over a whole dataset.
- `train`, `TrainingRun`, `resolve_jit_compile`: a whole run with `model.fit`.
"""

from tfllm.training.evaluation import evaluate_language_model
from tfllm.training.loss_curve_plot import LossCurvePlot, plot_loss_curve
from tfllm.training.optimizers import NO_DECAY_NAMES, AdamWithDecayExclusions, build_optimizer
from tfllm.training.text_sample_logger import TextSampleLogger
from tfllm.training.throughput_logger import ThroughputLogger, current_learning_rate
from tfllm.training.trainer import TrainingRun, resolve_jit_compile, train
from tfllm.training.warmup_cosine_decay import WarmupCosineDecay


__all__ = [
    "NO_DECAY_NAMES",
    "AdamWithDecayExclusions",
    "LossCurvePlot",
    "TextSampleLogger",
    "ThroughputLogger",
    "TrainingRun",
    "WarmupCosineDecay",
    "build_optimizer",
    "current_learning_rate",
    "evaluate_language_model",
    "plot_loss_curve",
    "resolve_jit_compile",
    "train",
]
