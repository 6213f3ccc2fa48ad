"""Training speed: a measured matmul peak, tokens/s, step time, MFU and peak memory.

MFU (model FLOPs utilisation: PaLM, appendix B; nanoGPT's `estimate_mfu`) is the arithmetic
rate that training achieves, counted from the model's shape, over the rate that this machine's
dense matrix products reach. Both are measured in the same process, because a datasheet peak
says little about two shared CPU cores, and two-thread timings drift up to 2x between runs: only
a ratio taken within one run means something.

- `measure_matmul_peak`, `MatmulPeak` (`matmul_peak.py`): the dense matmul FLOP/s of this
  machine per dtype, in graph mode.
- FLOPs per token: each model counts its own, `model.training_flops_per_token()`
  (`tfllm.models.CausalLanguageModel`; exact for `GPT` and `LSTMLanguageModel`).
- `benchmark_training`, `TrainingBenchmark` (`training_benchmark.py`): a few `fit` steps of a
  `RunConfig`'s model, compiled as `tfllm.training.train` compiles it.
- `peak_memory`, `reset_peak_memory` (`peak_memory.py`): host peak RSS and each GPU's peak.
- `run_benchmark` (`benchmark_report.py`): everything `tfllm bench` prints, for a preset and
  the `gpt-baby` preset's GPT.

Example:

>>> from tfllm.benchmarking import benchmark_training
>>> from tfllm.config import ModelConfig, RunConfig, TrainConfig
>>> model = ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
...                                 intermediate_dim=32))
>>> config = RunConfig(model=model, train=TrainConfig(batch_size=4, jit_compile="false"))
>>> result = benchmark_training(config, vocabulary_size=32, steps=2, warmup_steps=1,
...                             peak_flops=1e9)
>>> # 6 * (4*64 + 2*8*32 + 8*32) + 12*1*8*8 FLOPs per token
>>> result.tokens_per_second > 0, 0 < result.mfu, result.flops_per_token
(True, True, 6912)
"""

from tfllm.benchmarking.benchmark_report import DATA_SOURCES, baby_config, run_benchmark
from tfllm.benchmarking.matmul_peak import (
    GPU_MATMUL_SIZES,
    MATMUL_SIZES,
    MatmulPeak,
    default_matmul_sizes,
    measure_matmul_peak,
)
from tfllm.benchmarking.peak_memory import peak_memory, reset_peak_memory
from tfllm.benchmarking.step_clock import StepClock
from tfllm.benchmarking.training_benchmark import (
    TrainingBenchmark,
    benchmark_training,
    build_training_optimizer,
    micro_batch_size,
    synthetic_token_ids,
)

__all__ = [
    "DATA_SOURCES",
    "GPU_MATMUL_SIZES",
    "MATMUL_SIZES",
    "MatmulPeak",
    "StepClock",
    "TrainingBenchmark",
    "baby_config",
    "benchmark_training",
    "build_training_optimizer",
    "default_matmul_sizes",
    "measure_matmul_peak",
    "micro_batch_size",
    "peak_memory",
    "reset_peak_memory",
    "run_benchmark",
    "synthetic_token_ids",
]
