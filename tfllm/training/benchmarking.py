"""Training speed: a measured matmul peak, model FLOPs per token, tokens/s, MFU and peak memory.

MFU (model FLOPs utilisation: PaLM, appendix B; nanoGPT's `estimate_mfu`) is the arithmetic
rate that training achieves, counted from the model's shape, over the rate that this machine's
dense matrix products reach. Both are measured here, in the same process, because a datasheet
peak says little about two shared CPU cores, and two-thread timings drift up to 2x between runs
(see STACK-NOTES): only a ratio taken within one run means something.

**The peak** (`measure_matmul_peak`): chains of square matmuls inside a `tf.function` (graph mode,
no XLA), several sizes, best of several timed calls after warm-up calls. Each product in a chain
takes the previous one as input, so no graph optimisation can skip or merge them; the right
factor is scaled by 1/sqrt(n) so the values stay near 1 in bfloat16 too.

**FLOPs per token** (`model_flops_per_token`), for one training step (forward + backward = 3 x
forward; a multiply-add = 2 FLOPs):

    GPT:   6 * N_matmul + 12 * L * T * D
    LSTM:  6 * N_matmul

N_matmul counts the weights that take part in a matrix product for every token: per decoder
block the query, key, value and output projections (4 D^2) and the feed-forward pair (2 D F);
per LSTM layer the input and recurrent kernels (4 D (D_in + D)); and the output projection
(D V), whether or not it is tied to the token embedding. Embedding lookups (a gather: no
arithmetic), biases and norms (O(D) per token) are left out. 12 L T D is attention itself: per
token and layer, scores Q K^T (2 T D) and the weighted sum of values (2 T D), times 3, counted
over the whole T x T square that the dense kernels compute even where the causal mask discards
half. This is nanoGPT's `6 N + 12 L H Q T` (its N, all parameters but the position table,
includes the tied embedding that doubles as the output projection) with N restricted to matmul
weights. The issue's shorthand, 6 x `count_params()`, differs by the embedding tables (counted,
though they do no arithmetic) and by the attention term (missing): this count is 6% above
6 x `count_params()` on the baby GPT and 10% above it on the "small" one (V = 65).

**Training speed** (`benchmark_training`): the model that `build_model` makes from a
`RunConfig`, compiled like `tfllm.training.train` compiles it (AdamW with decay groups and
clipping, `MaskedCrossEntropy`) under the config's precision, XLA choice, gradient
accumulation and `steps_per_execution`, trained with `model.fit` on `lm_dataset` windows of
real or synthetic token ids. A first `fit` of `warmup_steps` (tracing, XLA compilation,
pipeline start) is timed apart; a second `fit` of `steps` optimizer steps is the
measurement. With accumulation over K micro-batches, `train.batch_size` stays the batch of one
optimizer step: each `fit` step reads batch_size / K sequences and the optimizer applies every
K-th step (Keras's `gradient_accumulation_steps`), so one optimizer step is K `fit` steps and
the tokens per optimizer step do not change.

**Peak memory** (`peak_memory`): the host's peak resident set (`resource.getrusage`; on Linux
`reset_peak_memory` restarts it by writing 5 to `/proc/self/clear_refs`) and, per GPU, the
allocator's peak (`tf.config.experimental.get_memory_info`).

Example:

>>> from tfllm.config import ModelConfig, RunConfig, TrainConfig
>>> from tfllm.training.benchmarking import benchmark_training, model_flops_per_token
>>> model = ModelConfig(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
...                     intermediate_dim=32)
>>> model_flops_per_token(model, vocabulary_size=32)  # 6 * (4*64 + 2*8*32 + 8*32) + 12*1*8*8
6912
>>> config = RunConfig(model=model, train=TrainConfig(batch_size=4, jit_compile="false"))
>>> result = benchmark_training(config, vocabulary_size=32, steps=2, warmup_steps=1,
...                             peak_flops=1e9)
>>> result.tokens_per_second > 0, 0 < result.mfu, result.flops_per_token
(True, True, 6912)
"""

import dataclasses
import math
import os
import resource
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfllm.config import ModelConfig
from tfllm.data import lm_dataset, load_corpus, tokenize_corpus_text
from tfllm.errors import ConfigError
from tfllm.models import build_model
from tfllm.objectives import MaskedCrossEntropy
from tfllm.tokenizers import build_tokenizer
from tfllm.training.optimizers import build_optimizer
from tfllm.training.precision import PRECISIONS, check_precision, dtype_policy
from tfllm.training.trainer import resolve_jit_compile

# The "baby" GPT of the foundation issue's benchmark: the reference point against keras-hub.
BABY_MODEL = ModelConfig(
    architecture="gpt",
    sequence_length=64,
    num_layers=4,
    num_heads=4,
    hidden_dim=128,
    intermediate_dim=512,
    dropout=0.0,
    tie_embeddings=True,
)
BABY_BATCH_SIZE = 12

# nanoGPT's shakespeare-char shape (6 layers, 6 heads, width 384, context 256): matmuls large
# enough that arithmetic, not per-op overhead, sets the speed, so MFU can approach the peak.
SMALL_MODEL = ModelConfig(
    architecture="gpt",
    sequence_length=256,
    num_layers=6,
    num_heads=6,
    hidden_dim=384,
    intermediate_dim=1536,
    dropout=0.0,
    tie_embeddings=True,
)
SMALL_BATCH_SIZE = 8

# Square sizes for the matmul peak: 512 is already past the per-call overhead on 2 CPU cores;
# 2048 (17 GFLOP per product) is where oneDNN reaches its best on them.
MATMUL_SIZES = (512, 1024, 2048)
# A GPU needs far larger products to fill it (an H100 does 2048^3 in well under a millisecond).
GPU_MATMUL_SIZES = (2048, 4096, 8192)

DATA_SOURCES = ("corpus", "synthetic")


@dataclasses.dataclass(frozen=True)
class MatmulPeak:
    """The best dense matmul rate measured for one dtype (`measure_matmul_peak`)."""

    dtype: str
    flops_per_second: float
    size: int  # n of the n x n product that reached it
    rates: dict  # {n: best FLOP/s at that size}

    def to_dict(self):
        return {"dtype": self.dtype, "flops_per_second": self.flops_per_second,
                "size": self.size, "rates": {str(n): r for n, r in self.rates.items()}}


@dataclasses.dataclass(frozen=True)
class TrainingBenchmark:
    """What `benchmark_training` measured. Rates are per second of the timed `fit` only."""

    label: str
    architecture: str
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


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1. Received: {name}={value!r}")
    return int(value)


def default_matmul_sizes():
    """`GPU_MATMUL_SIZES` when TensorFlow sees a GPU, else `MATMUL_SIZES`."""
    return GPU_MATMUL_SIZES if tf.config.list_logical_devices("GPU") else MATMUL_SIZES


def measure_matmul_peak(dtype="float32", sizes=None, repeats=5, min_seconds=0.05):
    """Measures the best dense matmul FLOP/s of this machine for `dtype`, in graph mode.

    For each n in `sizes`, a `tf.function` multiplies an (n, n) matrix by an (n, n) one k times
    in a chain (k chosen so one call takes about `min_seconds`); after two warm-up calls, the
    fastest of `repeats` timed calls gives that size's rate, 2 n^3 k / seconds. The best size
    wins.

    Args:
        dtype: "float32", "bfloat16" or "float16".
        sizes: square sizes n to try (default: `default_matmul_sizes()`).
        repeats: timed calls per size (the best counts: noise only ever slows a call down).
        min_seconds: the least work per call, so Python and dispatch overhead stay negligible.
    Returns:
        A `MatmulPeak`.

    Example:

    >>> peak = measure_matmul_peak("float32", sizes=(64, 128), repeats=2, min_seconds=0.001)
    >>> peak.dtype, peak.size in (64, 128), peak.flops_per_second > 0
    ('float32', True, True)
    """
    if dtype not in PRECISIONS.values():
        raise ConfigError(
            f"dtype must be one of {', '.join(PRECISIONS.values())}. Received: dtype={dtype!r}"
        )
    sizes = default_matmul_sizes() if sizes is None else tuple(sizes)
    if not sizes:
        raise ConfigError(f"sizes must name at least one matrix size. Received: sizes={sizes!r}")
    sizes = [_check_positive_int("sizes", n) for n in sizes]
    repeats = _check_positive_int("repeats", repeats)
    generator = tf.random.Generator.from_seed(0)
    rates = {}
    for n in sizes:
        left = tf.cast(generator.normal((n, n)), dtype)
        # Entries of variance 1/n keep each product's entries near variance 1, so a chain of
        # them neither overflows nor underflows (float16 and bfloat16 included).
        right = tf.cast(generator.normal((n, n)) / math.sqrt(n), dtype)
        chain_length = _chain_length(n, dtype, min_seconds)
        chain = _matmul_chain(chain_length)
        for _ in range(2):  # tracing, then oneDNN's first-call set-up
            chain(left, right).numpy()
        best = math.inf
        for _ in range(repeats):
            start = time.perf_counter()
            chain(left, right).numpy()  # .numpy() waits for the result
            best = min(best, time.perf_counter() - start)
        rates[n] = 2 * n**3 * chain_length / best
    size = max(rates, key=rates.get)
    return MatmulPeak(dtype=dtype, flops_per_second=rates[size], size=size, rates=rates)


def _chain_length(n, dtype, min_seconds):
    # A cheap estimate: one eager product, timed after one untimed.
    a = tf.ones((n, n), dtype)
    tf.matmul(a, a).numpy()
    start = time.perf_counter()
    tf.matmul(a, a).numpy()
    seconds = max(time.perf_counter() - start, 1e-6)
    return int(min(max(1, math.ceil(min_seconds / seconds)), 64))


def _matmul_chain(chain_length):
    @tf.function
    def chain(left, right):
        product = left
        for _ in range(chain_length):
            product = tf.matmul(product, right)  # (n, n), needs the previous product
        # One element comes back to the host, not n^2 of them.
        return tf.cast(product[0, 0], tf.float32)

    return chain


def model_flops_per_token(model_config, vocabulary_size):
    """Training FLOPs per token (forward + backward) of the model `model_config` describes.

    GPT: `6 * N_matmul + 12 * L * T * D`; LSTM: `6 * N_matmul`, with N_matmul the weights that
    enter a matrix product for each token (see the module docstring for what is counted and why).

    Args:
        model_config: a `tfllm.config.ModelConfig`.
        vocabulary_size: V.
    Returns:
        An int.

    Example:

    >>> from tfllm.config import ModelConfig
    >>> baby = ModelConfig(sequence_length=64, num_layers=4, num_heads=4, hidden_dim=128,
    ...                    intermediate_dim=512)
    >>> # 6 * (4 * (4 * 128**2 + 2 * 128 * 512) + 128 * 65) + 12 * 4 * 64 * 128
    >>> model_flops_per_token(baby, vocabulary_size=65)
    5161728
    """
    config = model_config
    vocabulary_size = _check_positive_int("vocabulary_size", vocabulary_size)
    width = config.hidden_dim
    output_projection = width * vocabulary_size
    if config.architecture == "gpt":
        per_block = 4 * width * width + 2 * width * config.intermediate_dim
        matmul_weights = config.num_layers * per_block + output_projection
        attention = 12 * config.num_layers * config.sequence_length * width
        return 6 * matmul_weights + attention
    if config.architecture == "lstm":
        # The first layer reads the embedding (width D here, as `build_model` makes it).
        per_layer = 4 * width * (width + width)
        return 6 * (config.num_layers * per_layer + output_projection)
    raise ConfigError(
        "Unknown model architecture: no FLOP count for it. Valid architectures: gpt, lstm. "
        f"Received: model.architecture={config.architecture!r}"
    )


def reset_peak_memory():
    """Restarts the peak-memory counters that can be restarted (host on Linux, each GPU)."""
    if sys.platform.startswith("linux"):
        try:  # "5" resets the peak resident set size (proc(5), since Linux 4.0)
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
        except OSError:
            pass  # a sandbox may forbid it; the peak then covers the whole process
    for device in tf.config.list_logical_devices("GPU"):
        tf.config.experimental.reset_memory_stats(device.name)


def peak_memory():
    """Peak memory since `reset_peak_memory` (or since the process started).

    Returns:
        `{"host_peak_rss_bytes": int, "device_peak_bytes": {"GPU:0": int, ...}}`; the device
        dict is empty without a GPU.

    Example:

    >>> memory = peak_memory()
    >>> memory["host_peak_rss_bytes"] > 0
    True
    """
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    host = max_rss if sys.platform == "darwin" else max_rss * 1024
    devices = {}
    for device in tf.config.list_logical_devices("GPU"):
        name = device.name.replace("/device:", "")
        devices[name] = int(tf.config.experimental.get_memory_info(name)["peak"])
    return {"host_peak_rss_bytes": int(host), "device_peak_bytes": devices}


def micro_batch_size(train_config):
    """Sequences per `fit` step: `train.batch_size / train.grad_accum_steps` (must divide)."""
    batch_size = _check_positive_int("train.batch_size", train_config.batch_size)
    steps = _check_positive_int("train.grad_accum_steps", train_config.grad_accum_steps)
    if batch_size % steps:
        raise ConfigError(
            "train.batch_size must be a multiple of train.grad_accum_steps (the batch of one "
            "optimizer step is split into that many micro-batches). Received: "
            f"train.batch_size={batch_size}, train.grad_accum_steps={steps}"
        )
    return batch_size // steps


def build_training_optimizer(train_config, learning_rate=None):
    """`build_optimizer` with the config's AdamW settings and gradient accumulation.

    `train.batch_size` stays the batch of one optimizer step; Keras's optimizer averages the
    `train.grad_accum_steps` micro-batch gradients before it.
    """
    return build_optimizer(
        train_config.learning_rate if learning_rate is None else learning_rate,
        weight_decay=train_config.weight_decay,
        beta_1=train_config.beta_1,
        beta_2=train_config.beta_2,
        clipnorm=train_config.clipnorm,
        gradient_accumulation_steps=_check_positive_int(
            "train.grad_accum_steps", train_config.grad_accum_steps
        ),
    )


def synthetic_token_ids(vocabulary_size, length, seed=0):
    """`length` uniform random ids in [0, V): a stand-in corpus that costs nothing to load."""
    vocabulary_size = _check_positive_int("vocabulary_size", vocabulary_size)
    rng = np.random.default_rng(seed)
    return rng.integers(0, vocabulary_size, size=length).astype("int32")


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
            `train.jit_compile` ("auto" resolves as in `train`), `train.grad_accum_steps`,
            `train.steps_per_execution`, the AdamW settings and `train.seed` are used.
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
        ConfigError: a bad precision, step count or a batch that accumulation cannot split.
    """
    train_config = config.train
    steps = _check_positive_int("steps", steps)
    warmup_steps = _check_positive_int("warmup_steps", warmup_steps)
    accumulation = _check_positive_int("train.grad_accum_steps", train_config.grad_accum_steps)
    per_execution = _check_positive_int(
        "train.steps_per_execution", train_config.steps_per_execution
    )
    # Keras rounds a fit's steps up to a whole number of executions, and an optimizer step is
    # `accumulation` fit steps: both counts become multiples of their least common multiple.
    unit = math.lcm(accumulation, per_execution) // accumulation
    steps, warmup_steps = (-(-n // unit) * unit for n in (steps, warmup_steps))
    micro_batch = micro_batch_size(train_config)
    precision = train_config.precision
    compute_dtype = PRECISIONS.get(precision)
    jit_compile = resolve_jit_compile(config)
    sequence_length = config.model.sequence_length
    peak = _peak_for(peak_flops, compute_dtype, precision)

    keras.utils.set_random_seed(train_config.seed)
    if token_ids is None:
        token_ids = synthetic_token_ids(
            vocabulary_size, max(16 * micro_batch * (sequence_length + 1), 4096),
            seed=train_config.seed,
        )
    try:
        data = lm_dataset(token_ids, sequence_length, micro_batch, windows="random",
                          seed=train_config.seed)
    except ValueError as error:  # e.g. a corpus shorter than one window
        raise ConfigError(" ".join(str(error).split())) from error

    reset_peak_memory()
    with dtype_policy(precision):
        model = build_model(config.model, vocabulary_size)
        # A constant learning rate: a schedule costs the same per step and would only make
        # the loss depend on `steps`.
        model.compile(
            optimizer=build_training_optimizer(train_config),
            loss=MaskedCrossEntropy(),
            jit_compile=jit_compile,
            steps_per_execution=per_execution,
        )
    clock = _EpochClock()
    model.fit(data, epochs=1, steps_per_epoch=warmup_steps * accumulation,
              callbacks=[clock], verbose=0, shuffle=False)
    history = model.fit(data, epochs=1, steps_per_epoch=steps * accumulation,
                        callbacks=[clock], verbose=0, shuffle=False)
    memory = peak_memory()
    warmup_seconds, seconds = clock.seconds

    tokens = steps * accumulation * micro_batch * sequence_length
    tokens_per_second = tokens / seconds
    flops_per_token = model_flops_per_token(config.model, vocabulary_size)
    achieved = flops_per_token * tokens_per_second
    return TrainingBenchmark(
        label=label or config.name,
        architecture=config.model.architecture,
        parameters=int(model.count_params()),
        vocabulary_size=int(vocabulary_size),
        sequence_length=sequence_length,
        batch_size=micro_batch * accumulation,
        micro_batch_size=micro_batch,
        grad_accum_steps=accumulation,
        precision=precision,
        jit_compile=bool(jit_compile),
        steps_per_execution=per_execution,
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
        final_loss=float(history.history["loss"][-1]),
        host_peak_rss_bytes=memory["host_peak_rss_bytes"],
        device_peak_bytes=memory["device_peak_bytes"],
    )


def _peak_for(peak_flops, compute_dtype, precision):
    check_precision(precision)
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


def baby_config(config):
    """`config` with the baby GPT (`BABY_MODEL`, batch `BABY_BATCH_SIZE`); training options kept."""
    return dataclasses.replace(
        config,
        name="baby",
        model=BABY_MODEL,
        train=dataclasses.replace(config.train, batch_size=BABY_BATCH_SIZE),
    )


def run_benchmark(
    config,
    *,
    steps=20,
    warmup_steps=3,
    data="corpus",
    include_baby=True,
    vocabulary_size=256,
    matmul_sizes=None,
    matmul_repeats=5,
):
    """What `tfllm bench` prints: the matmul peaks, then the config's and the baby GPT's speed.

    The matmul peaks are measured before and after the training runs, and the better of the
    two is what MFU divides by.

    Args:
        config: a `tfllm.config.RunConfig` (a preset, with any overrides).
        steps, warmup_steps: as for `benchmark_training`.
        data: "corpus" (the config's corpus and tokenizer: real windows, real vocabulary) or
            "synthetic" (random ids over `vocabulary_size`; nothing to load).
        include_baby: also measure the baby GPT with the same vocabulary and training options.
        vocabulary_size: V for synthetic data.
        matmul_sizes, matmul_repeats: for `measure_matmul_peak`.
    Returns:
        `{"preset", "data", "vocabulary_size", "matmul_peak": {dtype: {...}}, "results": [...]}`
        (each result a `TrainingBenchmark.to_dict()`), JSON-serialisable.
    """
    if data not in DATA_SOURCES:
        raise ConfigError(
            f"data must be one of {', '.join(DATA_SOURCES)}. Received: data={data!r}"
        )
    compute_dtype = PRECISIONS[check_precision(config.train.precision)]
    configs = [config] + ([baby_config(config)] if include_baby else [])
    for each in configs:
        micro_batch_size(each.train)
        resolve_jit_compile(each)

    if data == "corpus":
        corpus = load_corpus(config.data.corpus, encoding_errors=config.data.encoding_errors)
        tokenizer = build_tokenizer(config.data.tokenizer, [doc.text for doc in corpus.train])
        token_ids = tokenize_corpus_text(tokenizer, corpus.split_text("train"))
        vocabulary_size = tokenizer.vocabulary_size
    else:
        vocabulary_size = _check_positive_int("vocabulary_size", vocabulary_size)
        token_ids = None

    # float32 and bfloat16 always (the two a user chooses between), float16 when it is used.
    dtypes = ["float32", "bfloat16"] + (["float16"] if compute_dtype == "float16" else [])

    def measure_peaks():
        return {dtype: measure_matmul_peak(dtype, sizes=matmul_sizes, repeats=matmul_repeats)
                for dtype in dtypes}

    peaks = measure_peaks()
    results = [
        benchmark_training(each, vocabulary_size, steps=steps, warmup_steps=warmup_steps,
                           token_ids=token_ids, peak_flops=peaks, label=label)
        for each, label in zip(configs, [config.name, "baby"])
    ]
    # The peak is measured again after training and the better of the two kept: a second of
    # someone else's work on a shared core halves a one-second measurement (seen here), and an
    # understated peak would overstate MFU.
    later = measure_peaks()
    peaks = {dtype: max(peaks[dtype], later[dtype], key=lambda peak: peak.flops_per_second)
             for dtype in dtypes}
    results = [
        dataclasses.replace(
            result,
            peak_flops_per_second=peaks[result.peak_dtype].flops_per_second,
            mfu=result.achieved_flops_per_second / peaks[result.peak_dtype].flops_per_second,
        )
        for result in results
    ]
    return {
        "preset": config.name,
        "data": data,
        "vocabulary_size": int(vocabulary_size),
        # The cores this process may run on (a container or `taskset` may allow fewer).
        "cpu_count": (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count()),
        "matmul_peak": {dtype: peak.to_dict() for dtype, peak in peaks.items()},
        "results": [result.to_dict() for result in results],
    }
