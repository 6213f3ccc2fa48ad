"""Peak memory: the host's peak resident set and, per GPU, the allocator's peak.

The host figure is `resource.getrusage`'s `ru_maxrss`; on Linux `reset_peak_memory` restarts it
by writing 5 to `/proc/self/clear_refs`, so memory the process already holds counts again from
there. Each GPU's peak is `tf.config.experimental.get_memory_info(...)["peak"]`, restarted with
`reset_memory_stats`.

Example:

>>> reset_peak_memory()
>>> memory = peak_memory()
>>> memory["host_peak_rss_bytes"] > 0, type(memory["device_peak_bytes"]).__name__
(True, 'dict')
"""

import resource
import sys

import tensorflow as tf


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
    """
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    host = max_rss if sys.platform == "darwin" else max_rss * 1024
    devices = {}
    for device in tf.config.list_logical_devices("GPU"):
        name = device.name.replace("/device:", "")
        devices[name] = int(tf.config.experimental.get_memory_info(name)["peak"])
    return {"host_peak_rss_bytes": int(host), "device_peak_bytes": devices}
