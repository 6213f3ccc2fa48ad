"""`RunBackup`: Keras's `BackupAndRestore` that never starts a backup the disk cannot hold.

`model.fit` runs save their resume state with `BackupAndRestore` (`backup/latest.weights.h5`,
and with `double_checkpoint` a copy of the previous one). When the disk fills in the middle of
that write, h5py floods stderr, leaves a truncated `latest.weights.h5` in place of the last good
backup and can crash the interpreter. `RunBackup` adds up what the save will add to the disk
first (the copy of the latest backup over the previous one, then the new weights over the
latest) and raises `OSError(ENOSPC)` naming the file when it will not fit, so the last good
backup survives and the run ends in one line that says so.

Example:

>>> import tempfile, keras
>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
>>> model.compile(optimizer="adam", loss="mse")
>>> backup = RunBackup(tempfile.mkdtemp())
>>> backup.set_model(model)
>>> backup.bytes_needed() > 0
True
"""

import os

import keras

from tfllm.disk_space import require_free_space

# HDF5 spends about 1 KB per dataset on headers beyond the values (1,035 bytes, measured on a
# small GPT); twice that is allowed. Only the first save uses it: later ones are sized by the file
# already written.
_BYTES_PER_VARIABLE = 2 * 1024
_HEADROOM = 128 * 1024  # the training metadata JSON, and room for the logs that follow


class RunBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with a free-space check before each save.

    Args: those of `keras.callbacks.BackupAndRestore` (`backup_dir`, `save_freq`,
    `double_checkpoint`, `delete_checkpoint`).
    """

    def bytes_needed(self):
        """What the next save adds to the disk at its peak, in bytes (an upper estimate)."""
        latest = _file_size(self._weights_path)
        previous = _file_size(self._prev_weights_path)
        # The same model writes a file of the same size each time: once one exists, it is the
        # estimate; before that, the variables' bytes plus HDF5's overhead per dataset.
        weights = latest or self._variables_bytes()
        copy = max(0, latest - previous) if self.double_checkpoint else 0
        return copy + max(0, weights - latest) + _HEADROOM

    def _variables_bytes(self):
        variables = list(self.model.weights)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:
            variables += list(optimizer.variables)
        total = 0
        for variable in variables:
            count = 1
            for dimension in variable.shape:
                count *= int(dimension)
            total += count * _itemsize(variable.dtype) + _BYTES_PER_VARIABLE
        return total

    def _save_model(self):
        require_free_space(self.backup_dir, self.bytes_needed(), self._weights_path)
        super()._save_model()


def _file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _itemsize(dtype):
    name = str(getattr(dtype, "name", dtype))
    digits = "".join(character for character in name if character.isdigit())
    return max(1, int(digits) // 8) if digits else 8
