"""Training: AdamW with decay groups, the warmup-cosine schedule, callbacks and exact evaluation.

- `build_optimizer`, `AdamWithDecayExclusions`: AdamW, no decay on biases/norms/embeddings,
  global-norm clipping.
- `WarmupCosineDecay`: linear warmup, cosine decay to a floor.
- `ThroughputLogger`, `TextSampleLogger`, `LossCurvePlot` (+ `plot_loss_curve`): callbacks.
- `evaluate_language_model`: mean nats per token, perplexity, bits/char over a whole dataset.
- `train`, `TrainingRun`, `resolve_jit_compile`, `resolve_loop`: a whole run, with `model.fit`
  or `CustomTrainingLoop` (`strategy.run`, exact resume, preemption; docs/distributed.md).
- `resolve_strategy`, `StrategyChoice`, `per_replica_batch_size`: `tf.distribute` strategies by name.
- `TrainingCheckpoint`, `seed_generator_states`: exact checkpoints (iterator, dropout seeds, step).
- `dtype_policy`, `wrap_optimizer_for_precision`, `AccumulatedStepSchedule`: precision, accumulation.
- `benchmark_training`, `run_benchmark`, `measure_matmul_peak`, `model_flops_per_token`,
  `peak_memory`: tokens/s, step time, MFU and memory (`tfllm bench`; `benchmarking.py`).
"""

from tfllm.training.benchmarking import (
    MatmulPeak,
    TrainingBenchmark,
    benchmark_training,
    measure_matmul_peak,
    model_flops_per_token,
    peak_memory,
    run_benchmark,
)
from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule
from tfllm.training.custom_training_loop import PREEMPTED_EXIT_CODE, CustomTrainingLoop
from tfllm.training.evaluation import evaluate_language_model
from tfllm.training.loss_curve_plot import LossCurvePlot, plot_loss_curve
from tfllm.training.optimizers import NO_DECAY_NAMES, AdamWithDecayExclusions, build_optimizer
from tfllm.training.precision import PRECISIONS, dtype_policy, wrap_optimizer_for_precision
from tfllm.training.strategies import STRATEGIES, StrategyChoice, per_replica_batch_size, resolve_strategy
from tfllm.training.text_sample_logger import TextSampleLogger
from tfllm.training.throughput_logger import ThroughputLogger, current_learning_rate
from tfllm.training.trainer import LOOPS, TrainingRun, resolve_jit_compile, resolve_loop, train
from tfllm.training.training_checkpoint import TrainingCheckpoint, seed_generator_states
from tfllm.training.warmup_cosine_decay import WarmupCosineDecay


__all__ = [
    "AccumulatedStepSchedule",
    "CustomTrainingLoop",
    "LOOPS",
    "PRECISIONS",
    "PREEMPTED_EXIT_CODE",
    "STRATEGIES",
    "StrategyChoice",
    "TrainingCheckpoint",
    "dtype_policy",
    "per_replica_batch_size",
    "resolve_loop",
    "resolve_strategy",
    "seed_generator_states",
    "wrap_optimizer_for_precision",
    "MatmulPeak",
    "TrainingBenchmark",
    "benchmark_training",
    "measure_matmul_peak",
    "model_flops_per_token",
    "peak_memory",
    "run_benchmark",
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
