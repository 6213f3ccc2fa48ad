"""Training: compile + fit, with what a real run adds as public pieces a notebook can call.

- `compile_arguments(train_config, task, model)`: the `model.compile` arguments (AdamW with
  decay groups or, with `train.optimizer=muon`, Muon for the matrices; the warmup-cosine
  schedule, clipping, accumulation, precision; the task's loss and weighted metrics; XLA);
  `training_callbacks(...)`: TensorBoard, per-step scalars (loss, learning rate, gradient
  norm, tokens/s), text samples, the loss curve.
- `train`, `TrainingRun`: a whole run in a run directory, with `model.fit` or
  `CustomTrainingLoop` (`strategy.run`, exact resume, preemption; docs/distributed.md).
- `evaluate_model`: `model.evaluate` with the task's exact token-weighted metrics;
  `task_metrics`: those metrics for a text's characters (and bytes) per token.
- `build_optimizer`, `AdamWithDecayExclusions`, `MuonForMatrices` (Muon on hidden-layer kernels,
  AdamW on the rest), `WarmupCosineDecay`, `learning_rate_schedule`,
  `InverseSquareRootSchedule` (warmup then 1/sqrt(step), "Noam").
- `ThroughputLogger`, `TextSampleLogger`, `LossCurvePlot` (+ `plot_loss_curve`): callbacks.
- `resolve_strategy`, `StrategyChoice`, `per_replica_batch_size`: `tf.distribute` strategies.
- `TrainingCheckpoint`, `seed_generator_states`: exact checkpoints (iterator, dropout seeds, step).
- `dtype_policy`, `wrap_optimizer_for_precision`, `AccumulatedStepSchedule`: precision, accumulation.
"""

from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule
from tfllm.training.custom_training_loop import PREEMPTED_EXIT_CODE, CustomTrainingLoop
from tfllm.training.evaluation import evaluate_model, task_metrics
from tfllm.training.inverse_square_root_schedule import InverseSquareRootSchedule
from tfllm.training.loss_curve_plot import LossCurvePlot, plot_loss_curve
from tfllm.training.muon_for_matrices import MuonForMatrices
from tfllm.training.optimizers import NO_DECAY_NAMES, AdamWithDecayExclusions, build_optimizer
from tfllm.training.precision import PRECISIONS, dtype_policy, wrap_optimizer_for_precision
from tfllm.training.strategies import STRATEGIES, StrategyChoice, per_replica_batch_size, resolve_strategy
from tfllm.training.text_sample_logger import TextSampleLogger
from tfllm.training.throughput_logger import ThroughputLogger, current_learning_rate
from tfllm.training.trainer import TrainingRun, train
from tfllm.training.training_checkpoint import TrainingCheckpoint, seed_generator_states
from tfllm.training.training_setup import (
    compile_arguments,
    learning_rate_schedule,
    resolve_jit_compile,
    resolve_loop,
    training_callbacks,
    uses_xla,
)
from tfllm.training.warmup_cosine_decay import WarmupCosineDecay

__all__ = [
    "AccumulatedStepSchedule",
    "AdamWithDecayExclusions",
    "CustomTrainingLoop",
    "InverseSquareRootSchedule",
    "LossCurvePlot",
    "MuonForMatrices",
    "NO_DECAY_NAMES",
    "PRECISIONS",
    "PREEMPTED_EXIT_CODE",
    "STRATEGIES",
    "StrategyChoice",
    "TextSampleLogger",
    "ThroughputLogger",
    "TrainingCheckpoint",
    "TrainingRun",
    "WarmupCosineDecay",
    "build_optimizer",
    "compile_arguments",
    "current_learning_rate",
    "dtype_policy",
    "evaluate_model",
    "learning_rate_schedule",
    "per_replica_batch_size",
    "plot_loss_curve",
    "resolve_jit_compile",
    "resolve_loop",
    "resolve_strategy",
    "seed_generator_states",
    "task_metrics",
    "train",
    "training_callbacks",
    "uses_xla",
    "wrap_optimizer_for_precision",
]
