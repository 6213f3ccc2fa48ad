"""`benchmark_training`: tokens/s, step time, MFU and peak memory of a few training steps.

The model that `build_model` makes from a `RunConfig` is compiled like `tfllm.training.train`
compiles it (AdamW with decay groups and clipping, `MaskedCrossEntropy`) under the config's
precision, XLA choice, gradient accumulation and `steps_per_execution`, and trained with
`model.fit` on `lm_dataset` windows of real or synthetic token ids. A first `fit` of
`warmup_steps` (tracing, XLA compilation, pipeline start) is timed apart; a second `fit` of
`steps` optimizer steps is the measurement.

With accumulation over K micro-batches, `train.batch_size` stays the batch of one optimizer
step: each `fit` step reads batch_size / K sequences and the optimizer applies every K-th step
(Keras's `gradient_accumulation_steps`), so one optimizer step is K `fit` steps and the tokens
per optimizer step do not change.

MFU (model FLOPs utilisation: PaLM, appendix B; nanoGPT's `estimate_mfu`) is the model's
`training_flops_per_token()` times tokens/s, over the matmul peak of the precision's compute
dtype (`measure_matmul_peak`).

Example:

>>> from tfllm.config import ModelConfig, RunConfig, TrainConfig
>>> model = ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
...                                 intermediate_dim=32))
>>> config = RunConfig(model=model, train=TrainConfig(batch_size=4, jit_compile="false"))
>>> result = benchmark_training(config, vocabulary_size=32, steps=2, warmup_steps=1,
...                             peak_flops=1e9)
>>> result.model_class, result.tokens_per_second > 0, 0 < result.mfu, result.flops_per_token
('GPT', True, True, 6912)
"""

import dataclasses
import math
import time

import keras
import numpy as np

from tfllm.benchmarking.matmul_peak import MatmulPeak, measure_matmul_peak
from tfllm.benchmarking.peak_memory import peak_memory, reset_peak_memory
from tfllm.data import lm_dataset
from tfllm.errors import ConfigError
from tfllm.models import build_model
from tfllm.objectives import MaskedCrossEntropy
from tfllm.training import resolve_jit_compile
from tfllm.training.optimizers import build_optimizer
from tfllm.training.precision import PRECISIONS, check_precision, dtype_policy
from tfllm.validation import check_positive_int


@dataclasses.dataclass(frozen=True)
class TrainingBenchmark:
    """What `benchmark_training` measured. Rates are per second of the timed `fit` only."""

    label: str
    model_class: str  # the model's Keras class name, e.g. "GPT"
    parameters: int
    vocabulary_size: int
    sequence_length: int
    batch_size: int  # sequences per optimizer step
    micro_batch_size: int  # sequences per fit step (batch_size / grad_accum_steps)
    grad_accum_steps: int
    precision: str
    jit_compile: bool
    steps_per_execution: int
    steps: int  # timed optimizer steps
    warmup_seconds: float  # the first fit: tracing, compilation, warm-up steps
    seconds: float  # the timed fit
    step_seconds: float  # per optimizer step
    tokens_per_second: float
    flops_per_token: int
    achieved_flops_per_second: float
    peak_dtype: str
    peak_flops_per_second: float
    mfu: float
    # CPU seconds the process got per second of the timed fit: on a machine shared with other
    # jobs, fewer than `os.cpu_count()` says the figures above were slowed by them.
    cpu_cores_used: float
    final_loss: float
    host_peak_rss_bytes: int
    device_peak_bytes: dict  # {"GPU:0": bytes}; empty without a GPU

    def to_dict(self):
        return dataclasses.asdict(self)


def micro_batch_size(train_config):
    """Sequences per `fit` step: `train.batch_size / train.grad_accum_steps`.

    `TrainConfig` refuses a batch that the accumulation steps do not divide.
    """
    return train_config.batch_size // train_config.grad_accum_steps


def build_training_optimizer(train_config, learning_rate=None):
    """`build_optimizer` with the config's optimizer (AdamW or Muon), its settings and gradient
    accumulation.

    `train.batch_size` stays the batch of one optimizer step; Keras's optimizer averages the
    `train.grad_accum_steps` micro-batch gradients before it.
    """
    return build_optimizer(
        train_config.learning_rate if learning_rate is None else learning_rate,
        optimizer=train_config.optimizer,
        muon_momentum=train_config.muon_momentum,
        weight_decay=train_config.weight_decay,
        beta_1=train_config.beta_1,
        beta_2=train_config.beta_2,
        clipnorm=train_config.clipnorm,
        gradient_accumulation_steps=train_config.grad_accum_steps,
    )


def synthetic_token_ids(vocabulary_size, length, seed=0):
    """`length` uniform random ids in [0, V): a stand-in corpus that costs nothing to load."""
    vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size, ConfigError)
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocabulary_size, size=length).astype("int32")


def benchmark_training(
    config,
    vocabulary_size,
    *,
    steps=20,
    warmup_steps=3,
    token_ids=None,
    peak_flops=None,
    label=None,
):
    """Trains the model of `config` for a few steps and measures tokens/s, step time and MFU.

    Args:
        config: a `tfllm.config.RunConfig`; its model, `train.batch_size`, `train.precision`,
            `train.jit_compile` ("auto": the model class's choice, as in `train`),
            `train.grad_accum_steps`, `train.steps_per_execution`, the AdamW settings and
            `train.seed` are used.
        vocabulary_size: V.
        steps: timed optimizer steps (rounded up to whole executions when
            `train.steps_per_execution` > 1).
        warmup_steps: optimizer steps run (and timed apart) before them.
        token_ids: 1-D ids to cut training windows from; None: seeded synthetic ids.
        peak_flops: the FLOP/s that MFU divides by: a number, a `MatmulPeak`, or a dict
            `{dtype: MatmulPeak}` (the entry for the precision's compute dtype is used). None
            measures that dtype's peak now.
        label: a name for the result (default: the config's name).
    Returns:
        A `TrainingBenchmark`.
    Raises:
        ConfigError: a bad step count, peak or vocabulary size, or a corpus shorter than
            one window.
    """
    train_config = config.train
    vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size, ConfigError)
    steps, warmup_steps = _whole_executions(train_config, steps, warmup_steps)
    peak = _peak_for(peak_flops, train_config.precision)

    keras.utils.set_random_seed(train_config.seed)
    reset_peak_memory()
    with dtype_policy(train_config.precision):
        model = build_model(config.model, vocabulary_size)
        jit_compile = resolve_jit_compile(train_config, model)
        # A constant learning rate: a schedule costs the same per step and would only make
        # the loss depend on `steps`.
        model.compile(
            optimizer=build_training_optimizer(train_config),
            loss=MaskedCrossEntropy(),
            jit_compile=jit_compile,
            steps_per_execution=train_config.steps_per_execution,
        )
    data = _training_windows(config, vocabulary_size, model.sequence_length, token_ids)
    clock, final_loss = _timed_fits(model, data, train_config, warmup_steps, steps)
    tokens = steps * train_config.batch_size * model.sequence_length
    return _result(
        model, train_config, label or config.name, steps, clock, tokens, peak,
        jit_compile=jit_compile, final_loss=final_loss,
    )


def _whole_executions(train_config, steps, warmup_steps):
    """Both step counts rounded up so that every `fit` runs whole executions.

    Keras rounds a fit's steps up to a whole number of executions, and an optimizer step is
    `grad_accum_steps` fit steps: both counts become multiples of their least common multiple.
    """
    steps = check_positive_int("steps", steps, ConfigError)
    warmup_steps = check_positive_int("warmup_steps", warmup_steps, ConfigError)
    accumulation = train_config.grad_accum_steps
    unit = math.lcm(accumulation, train_config.steps_per_execution) // accumulation
    return tuple(-(-n // unit) * unit for n in (steps, warmup_steps))


def _training_windows(config, vocabulary_size, sequence_length, token_ids):
    micro_batch = micro_batch_size(config.train)
    seed = config.train.seed
    if token_ids is None:
        length = max(16 * micro_batch * (sequence_length + 1), 4096)
        token_ids = synthetic_token_ids(vocabulary_size, length, seed=seed)
    try:
        return lm_dataset(token_ids, sequence_length, micro_batch, windows="random", seed=seed)
    except ValueError as error:  # e.g. a corpus shorter than one window
        raise ConfigError(" ".join(str(error).split())) from error


class _EpochClock(keras.callbacks.Callback):
    """Wall time and this process's CPU time (all its threads) of each epoch of a `fit`."""

    def __init__(self):
        super().__init__()
        self.seconds = []
        self.cpu_seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        # Keras turns the epoch's logs into Python floats before callbacks see them, which
        # waits for the device: the clock stops on finished work, not on queued kernels.
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu_seconds.append(time.process_time() - self._cpu_start)


def _timed_fits(model, data, train_config, warmup_steps, steps):
    """A warm-up `fit`, then the timed one: the clock of both and the final loss."""
    clock = _EpochClock()
    accumulation = train_config.grad_accum_steps
    model.fit(data, epochs=1, steps_per_epoch=warmup_steps * accumulation,
              callbacks=[clock], verbose=0, shuffle=False)
    history = model.fit(data, epochs=1, steps_per_epoch=steps * accumulation,
                        callbacks=[clock], verbose=0, shuffle=False)
    return clock, float(history.history["loss"][-1])


def _result(model, train_config, label, steps, clock, tokens, peak, *, jit_compile, final_loss):
    memory = peak_memory()
    warmup_seconds, seconds = clock.seconds
    tokens_per_second = tokens / seconds
    flops_per_token = int(model.training_flops_per_token())
    achieved = flops_per_token * tokens_per_second
    return TrainingBenchmark(
        label=label,
        model_class=type(model).__name__,
        parameters=int(model.count_params()),
        vocabulary_size=int(model.vocabulary_size),
        sequence_length=int(model.sequence_length),
        batch_size=train_config.batch_size,
        micro_batch_size=micro_batch_size(train_config),
        grad_accum_steps=train_config.grad_accum_steps,
        precision=train_config.precision,
        jit_compile=bool(jit_compile),
        steps_per_execution=train_config.steps_per_execution,
        steps=steps,
        warmup_seconds=warmup_seconds,
        seconds=seconds,
        step_seconds=seconds / steps,
        tokens_per_second=tokens_per_second,
        flops_per_token=flops_per_token,
        achieved_flops_per_second=achieved,
        peak_dtype=peak.dtype,
        peak_flops_per_second=peak.flops_per_second,
        mfu=achieved / peak.flops_per_second,
        cpu_cores_used=clock.cpu_seconds[1] / seconds,
        final_loss=final_loss,
        host_peak_rss_bytes=memory["host_peak_rss_bytes"],
        device_peak_bytes=memory["device_peak_bytes"],
    )


def _peak_for(peak_flops, precision):
    """The `MatmulPeak` that MFU divides by, from `benchmark_training`'s `peak_flops`."""
    compute_dtype = PRECISIONS[check_precision(precision)]
    if peak_flops is None:
        return measure_matmul_peak(compute_dtype)
    if isinstance(peak_flops, dict):
        if compute_dtype not in peak_flops:
            raise ConfigError(
                f"peak_flops has no {compute_dtype} entry for train.precision={precision!r}. "
                f"Received: peak_flops with dtypes {sorted(peak_flops)}"
            )
        peak_flops = peak_flops[compute_dtype]
    if isinstance(peak_flops, MatmulPeak):
        return peak_flops
    if isinstance(peak_flops, bool) or not isinstance(peak_flops, (int, float)) or peak_flops <= 0:
        raise ConfigError(
            f"peak_flops must be a positive number, a MatmulPeak or a dict of them. "
            f"Received: peak_flops={peak_flops!r}"
        )
    return MatmulPeak(dtype=compute_dtype, flops_per_second=float(peak_flops), size=0, rates={})
