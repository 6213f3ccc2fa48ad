"""`StepClock`: the wall and CPU time a model spends in `fit`, for the speed benchmarks.

The benchmarks train contenders in alternating chunks (one Keras epoch each); each contender's
clock sums only its own epochs, so the comparison is of training time alone. CPU time over wall
time says how many cores the process really got.

Example:

>>> clock = StepClock()
>>> clock.on_epoch_begin(0)
>>> clock.on_epoch_end(0)
>>> clock.seconds >= 0 and clock.cpu_seconds >= 0
True
"""

import time

import keras


class StepClock(keras.callbacks.Callback):
    """Wall time and this process's CPU time (all threads) of each epoch, summed."""

    def __init__(self):
        super().__init__()
        self.seconds = 0.0
        self.cpu_seconds = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        # Keras has turned the epoch's logs into Python floats by now, which waits for the
        # device: the time covers finished steps.
        self.seconds += time.perf_counter() - self._start
        self.cpu_seconds += time.process_time() - self._cpu_start
