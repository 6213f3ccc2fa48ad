"""Exact resume: a killed run continues bit for bit; corrupt checkpoints and NaN losses."""

import json
import os
import signal
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from distributed_test_utils import (
    WORKER_SCRIPT,
    finish,
    load_weights,
    max_difference,
    tiny_config,
    weights,
    write_corpus,
)

from tfllm.errors import TrainingError
from tfllm.training import train


def _start_worker(config, run_dir, weights_path):
    """Trains in a fresh process (op determinism is process-wide); returns the Popen."""
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    return subprocess.Popen(
        [sys.executable, str(WORKER_SCRIPT), config.to_json(), str(run_dir), str(weights_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )


def _kill_after_epoch(process, epoch):
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith(f"epoch {epoch} "):
            process.send_signal(signal.SIGKILL)
            break
    return "".join(lines)


@pytest.mark.multiprocess  # three fresh processes: 25-50 s on 2 shared CPU cores
def test_sigkill_and_restart_gives_bit_identical_weights(tmp_path):
    corpus = write_corpus(tmp_path)
    # Dropout on, 4 epochs of 3 steps, killed after epoch 2's checkpoint. The uninterrupted
    # reference and the run to kill start together (one core each).
    config = tiny_config(corpus, steps=12, eval_interval=3, deterministic=True)
    straight = _start_worker(config, tmp_path / "straight", tmp_path / "straight.npz")
    killed = _start_worker(config, tmp_path / "killed", tmp_path / "killed.npz")
    output = _kill_after_epoch(killed, 2)
    (code, rest), = finish([killed])
    assert code == -signal.SIGKILL, output + rest
    (code, output), = finish([straight])
    assert code == 0, output
    assert "Loop: custom" in output and "deterministic" in output  # auto picks the exact loop
    assert not (tmp_path / "killed.npz").exists()
    assert list((tmp_path / "killed" / "checkpoints").glob("ckpt-*.index"))

    (code, output), = finish([_start_worker(config, tmp_path / "killed", tmp_path / "resumed.npz")])
    assert code == 0, output
    assert f"Resuming {tmp_path / 'killed'} from its checkpoint after epoch" in output
    straight, resumed = load_weights(tmp_path / "straight.npz"), load_weights(tmp_path / "resumed.npz")
    assert all(np.array_equal(a, b) for a, b in zip(straight, resumed)), max_difference(straight, resumed)
    assert not (tmp_path / "killed" / "checkpoints").exists(), "a finished run removes its checkpoints"


class _StopAfterEpoch(keras.callbacks.Callback):
    """Interrupts training (like Ctrl-C) at the end of epoch `epoch` (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_corrupt_latest_checkpoint_falls_back_and_the_run_completes(tmp_path):
    corpus = write_corpus(tmp_path)
    config = tiny_config(corpus, steps=9, eval_interval=3, loop="custom")
    reference = train(config, run_dir=tmp_path / "reference", verbose=0, print_fn=lambda _: None)

    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        train(config, run_dir=run_dir, verbose=0, callbacks=[_StopAfterEpoch(1)],
              print_fn=lambda _: None)
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    assert latest.endswith("ckpt-2")
    data = run_dir / "checkpoints" / "ckpt-2.data-00000-of-00001"
    data.write_bytes(b"\0" * data.stat().st_size)

    printed = []
    resumed = train(config, run_dir=run_dir, verbose=0, print_fn=printed.append)
    text = "\n".join(printed)
    assert "ckpt-2 is unreadable" in text and "falling back to the previous checkpoint" in text
    assert f"Resuming {run_dir} from its checkpoint after epoch 1 of 3 (step 3)." in text
    assert resumed.resumed_from_epoch == 1
    # Epoch 2 is trained again from the same state: the result is the uninterrupted run's.
    assert max_difference(weights(resumed.model), weights(reference.model)) < 1e-6


class _PoisonAfterEpoch(keras.callbacks.Callback):
    """Sets a weight to NaN after the first epoch (and its checkpoint): the next loss is NaN."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            variable = self.model.trainable_variables[0]
            variable.assign(np.full(variable.shape, np.nan, variable.dtype))


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_a_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, loop):
    config = tiny_config(write_corpus(tmp_path), steps=9, eval_interval=3, loop=loop)
    run_dir = tmp_path / "run"
    with pytest.raises(TrainingError, match=r"loss became NaN.*last good checkpoint.*Received: run_dir="):
        train(config, run_dir=run_dir, verbose=0, callbacks=[_PoisonAfterEpoch()],
              print_fn=lambda _: None)
    if loop == "custom":
        latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
        reader = tf.train.load_checkpoint(latest)
        values = [reader.get_tensor(name) for name in reader.get_variable_to_shape_map()
                  if name.startswith("model/") and "OPTIMIZER" not in name]
        assert values and int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE")) == 3
    else:
        backup = run_dir / "backup"
        assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 1
        values = []
        with h5py.File(next(backup.glob("*.weights.h5")), "r") as archive:
            archive.visititems(lambda _, item: values.append(item[()])
                               if isinstance(item, h5py.Dataset) else None)
    floats = [v for v in values if np.issubdtype(np.asarray(v).dtype, np.floating)]
    assert floats and all(np.isfinite(v).all() for v in floats)
