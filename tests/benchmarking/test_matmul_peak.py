"""`measure_matmul_peak`: a positive rate at a tried size, and named argument errors."""

import json

import pytest

from tfllm.benchmarking import measure_matmul_peak
from tfllm.errors import ConfigError

TINY_PEAK = dict(sizes=(32, 64), repeats=2, min_seconds=0.001)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_matmul_peak_is_a_positive_rate_at_a_tried_size(dtype):
    peak = measure_matmul_peak(dtype, **TINY_PEAK)
    assert peak.dtype == dtype and peak.size in (32, 64) and set(peak.rates) == {32, 64}
    assert peak.flops_per_second == max(peak.rates.values()) > 0
    # Far above a million FLOP/s and far below 100 TFLOP/s on any CPU this runs on.
    assert 1e6 < peak.flops_per_second < 1e14
    json.dumps(peak.to_dict())


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(dtype="int8"), "dtype='int8'"),
    (dict(sizes=()), "sizes=()"),
    (dict(sizes=(0,)), "sizes=0"),
    (dict(repeats=0), "repeats=0"),
])
def test_matmul_peak_refuses_bad_arguments(kwargs, fragment):
    with pytest.raises(ConfigError) as error:
        measure_matmul_peak(**{"sizes": (32,), **kwargs})
    assert fragment in str(error.value) and "\n" not in str(error.value)
