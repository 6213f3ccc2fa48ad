"""`require_free_space` and `RunBackup`: a backup the disk cannot hold is refused before h5py
writes a byte, so the last good backup stays whole."""

import doctest
import errno

import keras
import numpy as np
import pytest

import tfllm.disk_space
import tfllm.training.run_backup as run_backup
from tfllm.training.run_backup import RunBackup


def test_docstring_examples():
    result = doctest.testmod(tfllm.disk_space)
    assert result.attempted > 0 and result.failed == 0


def test_a_missing_directory_asks_its_nearest_ancestor(tmp_path):
    assert tfllm.disk_space.free_bytes(tmp_path / "not" / "yet") == \
        tfllm.disk_space.free_bytes(tmp_path)


def _backup(tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(256), keras.layers.Dense(4)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((8, 16)), np.zeros((8, 4)), verbose=0)  # builds the optimizer's slots
    backup = RunBackup(str(tmp_path / "backup"), double_checkpoint=True)
    backup.set_model(model)
    return backup


def test_the_estimate_covers_the_file_and_then_is_sized_by_it(tmp_path):
    backup = _backup(tmp_path)
    first = backup.bytes_needed()
    backup._save_model()
    written = (tmp_path / "backup" / "latest.weights.h5").stat().st_size
    # Values of the weights and Adam's two moments (about 52 KB) plus HDF5's headers.
    assert written < first - run_backup._HEADROOM < 2 * written
    # The next save copies the latest over the (missing) previous one; the new weights
    # replace the latest in place.
    assert backup.bytes_needed() == written + run_backup._HEADROOM
    backup._save_model()
    assert backup.bytes_needed() == run_backup._HEADROOM  # both files exist, same sizes


def test_a_save_the_disk_cannot_hold_is_refused_and_the_backup_kept(tmp_path, monkeypatch):
    backup = _backup(tmp_path)
    backup._save_model()
    latest = tmp_path / "backup" / "latest.weights.h5"
    before = latest.read_bytes()
    monkeypatch.setattr(tfllm.disk_space, "free_bytes", lambda directory: 4096)
    backup.model.layers[0].kernel.assign(np.ones((16, 256)))
    with pytest.raises(OSError) as raised:
        backup._save_model()
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(latest)
    assert "needs about" in raised.value.strerror and "4.0 KB is free" in raised.value.strerror
    assert latest.read_bytes() == before
    assert not (tmp_path / "backup" / "latest.weights.h5.bkp").exists()
