"""`measure_matmul_peak`: the dense matmul FLOP/s this machine reaches, measured in-process.

Chains of square matmuls inside a `tf.function` (graph mode, no XLA), several sizes, best of
several timed calls after warm-up calls. Each product in a chain takes the previous one as
input, so no graph optimisation can skip or merge them; the right factor is scaled by
1/sqrt(n) so the values stay near 1 in bfloat16 and float16 too.

It is measured in the same process as the training it is compared with, because a datasheet
peak says little about two shared CPU cores, and two-thread timings drift up to 2x between
runs: only a ratio taken within one run means something.

Example:

>>> peak = measure_matmul_peak("float32", sizes=(64, 128), repeats=2, min_seconds=0.001)
>>> peak.dtype, peak.size in (64, 128), peak.flops_per_second > 0
('float32', True, True)
"""

import dataclasses
import math
import time

import tensorflow as tf

from tfllm.errors import ConfigError
from tfllm.training.precision import PRECISIONS
from tfllm.validation import check_positive_int

# Square sizes for the matmul peak: 512 is already past the per-call overhead on 2 CPU cores;
# 2048 (17 GFLOP per product) is where oneDNN reaches its best on them.
MATMUL_SIZES = (512, 1024, 2048)
# A GPU needs far larger products to fill it (an H100 does 2048^3 in well under a millisecond).
GPU_MATMUL_SIZES = (2048, 4096, 8192)


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
    Raises:
        ConfigError: an unknown dtype, no sizes, or a size or repeat count below 1.
    """
    if dtype not in PRECISIONS.values():
        raise ConfigError(
            f"dtype must be one of {', '.join(PRECISIONS.values())}. Received: dtype={dtype!r}"
        )
    sizes = default_matmul_sizes() if sizes is None else tuple(sizes)
    if not sizes:
        raise ConfigError(f"sizes must name at least one matrix size. Received: sizes={sizes!r}")
    sizes = [check_positive_int("sizes", n, ConfigError) for n in sizes]
    repeats = check_positive_int("repeats", repeats, ConfigError)
    generator = tf.random.Generator.from_seed(0)
    rates = {n: _best_rate(generator, n, dtype, repeats, min_seconds) for n in sizes}
    size = max(rates, key=rates.get)
    return MatmulPeak(dtype=dtype, flops_per_second=rates[size], size=size, rates=rates)


def _best_rate(generator, n, dtype, repeats, min_seconds):
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
    return 2 * n**3 * chain_length / best


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
