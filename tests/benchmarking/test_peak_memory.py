"""`peak_memory` / `reset_peak_memory`: the host's peak resident set, restartable on Linux."""

import numpy as np
import pytest

from tfllm.benchmarking import peak_memory, reset_peak_memory


def _peak_is_resettable():
    try:
        with open("/proc/self/clear_refs", "w"):
            return True
    except OSError:
        return False


def test_peak_memory_sees_an_allocation():
    block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB, touched
    assert peak_memory()["host_peak_rss_bytes"] > block.nbytes


@pytest.mark.skipif(not _peak_is_resettable(), reason="needs a writable /proc/self/clear_refs")
def test_reset_peak_memory_forgets_an_earlier_peak():
    reset_peak_memory()
    before = peak_memory()["host_peak_rss_bytes"]
    block = np.ones(64 * 2**20, dtype=np.uint8)
    during = peak_memory()["host_peak_rss_bytes"]
    del block
    assert during - before > 48 * 2**20
    reset_peak_memory()
    assert peak_memory()["host_peak_rss_bytes"] < during - 32 * 2**20
