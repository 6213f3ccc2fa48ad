"""Named moments in a run where a test can hold it, to interrupt it exactly there.

With `TFLLM_TEST_PAUSE_AT=NAME` set, `pause_point(NAME)` prints `TFLLM_TEST_PAUSED_AT NAME` on
stdout and sleeps, so a test can send SIGINT or SIGKILL at that moment instead of guessing one
by timing. Unset (always, outside tests), it does nothing.

The points: `after_start` (the run directory is written, training has not begun), `after_fit`
(training ended, before the final evaluation), `after_save` (the model directory is saved,
before the run is marked complete and its checkpoint removed).

Plain Python: importable anywhere.
"""

import os
import sys
import time

ENVIRONMENT_VARIABLE = "TFLLM_TEST_PAUSE_AT"
MARKER = "TFLLM_TEST_PAUSED_AT"
PAUSE_S = 600


def pause_point(name):
    """Holds the process at point `name` when `TFLLM_TEST_PAUSE_AT` names it."""
    if os.environ.get(ENVIRONMENT_VARIABLE) != name:
        return
    print(f"{MARKER} {name}", file=sys.stdout, flush=True)
    time.sleep(PAUSE_S)
