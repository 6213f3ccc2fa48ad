"""Exact training state on disk: everything a run needs to continue as if it had never stopped.

A `tf.train.Checkpoint` of the model's weights is not enough for a bit-exact resume. The state of
a run is also:

- the optimizer: its moments, its step counter (which drives the learning-rate schedule) and, with
  gradient accumulation, the gradients accumulated so far;
- the data: the position of the `tf.data` iterator (its random-number state, shuffle buffer and
  prefetched elements), so the resumed run reads the batches the lost one would have read;
- the random generators: each Keras `SeedGenerator` (dropout's) holds its state in a variable
  that neither `.weights.h5` nor `tf.train.Checkpoint(model=...)` saves (checked with Keras
  3.15: a resumed run with dropout diverged); they are
  collected from every layer and checkpointed by position;
- the step counter of the training loop.

`tf.train.CheckpointManager` writes them: TensorFlow writes the data and index files under
temporary names and renames them, and rewrites the `checkpoint` state file atomically, so a kill
during a save leaves the previous checkpoint readable. If the latest checkpoint is unreadable
anyway (a disk fault, a truncated copy), `restore` says so, moves its files to `corrupt/` and
falls back to the one before.

Example:

>>> import keras, tensorflow as tf, tempfile
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dropout(0.5), keras.layers.Dense(1)])
>>> optimizer = keras.optimizers.Adam()
>>> step = tf.Variable(0, dtype=tf.int64)
>>> checkpoint = TrainingCheckpoint(tempfile.mkdtemp(), model=model, optimizer=optimizer, step=step)
>>> checkpoint.restore(print_fn=None) is None  # nothing saved yet
True
>>> int(step.assign(7).numpy()), checkpoint.save() is not None
(7, True)
"""

import os
import re
import shutil
from pathlib import Path

import tensorflow as tf

_CHECKPOINT_NUMBER = re.compile(r"^ckpt-(\d+)\.index$")


def seed_generator_states(model):
    """The state variables of every Keras `SeedGenerator` in `model`, in a stable order.

    Dropout layers (and anything else that draws random numbers during training) own a
    `SeedGenerator`; its state variable advances at every call.
    """
    states = []
    for layer in model._flatten_layers(include_self=True):  # every nested layer, once
        for generator in getattr(layer, "_seed_generators", ()):
            states.append(generator.state)
    return states


class TrainingCheckpoint:
    """Saves and restores a run's exact state with a `tf.train.CheckpointManager`.

    Args:
        directory: where checkpoints live (`ckpt-N.index`, `ckpt-N.data-*`, `checkpoint`).
        model: the Keras model (weights and dropout seed-generator states are saved).
        optimizer: its optimizer (built before `restore`, so every slot restores at once).
        step: an int64 `tf.Variable` counting optimizer steps.
        iterator: optional `tf.data` iterator whose position is saved.
        max_to_keep: checkpoints kept (at least 2, so one can fall back).
        write_directory: where this process writes; by default `directory`. Under
            MultiWorkerMirroredStrategy every worker must take part in a save, but only the
            chief may write to the shared directory: the others pass a private directory
            here, which is removed after each save.
    """

    def __init__(self, directory, *, model, optimizer, step, iterator=None, max_to_keep=2,
                 write_directory=None):
        if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 2:
            raise ValueError(
                "max_to_keep must be an int >= 2 (the previous checkpoint is the fallback when "
                f"the latest is unreadable). Received: max_to_keep={max_to_keep!r}"
            )
        self.directory = Path(directory)
        self.write_directory = Path(write_directory) if write_directory else self.directory
        self.max_to_keep = max_to_keep
        self.step = step
        seeds = {f"seed_generator_{i:03d}": state
                 for i, state in enumerate(seed_generator_states(model))}
        parts = {"model": model, "optimizer": optimizer, "step": step, "seed_generators": seeds}
        if iterator is not None:
            parts["data"] = iterator
        self.checkpoint = tf.train.Checkpoint(**parts)
        self.manager = None  # made by `restore` (after any corrupt checkpoint is set aside)

    # -- restore --------------------------------------------------------------------------
    def _checkpoints_on_disk(self):
        """Checkpoint prefixes in `directory`, newest first, read from the index files."""
        if not self.directory.is_dir():
            return []
        numbered = []
        for name in os.listdir(self.directory):
            match = _CHECKPOINT_NUMBER.match(name)
            if match:
                number = int(match.group(1))
                numbered.append((number, str(self.directory / f"ckpt-{match.group(1)}")))
        return [prefix for _, prefix in sorted(numbered, reverse=True)]

    def _set_aside(self, prefix):
        corrupt = self.directory / "corrupt"
        corrupt.mkdir(exist_ok=True)
        stem = os.path.basename(prefix)
        for name in os.listdir(self.directory):
            if name == f"{stem}.index" or name.startswith(f"{stem}.data-"):
                os.replace(self.directory / name, corrupt / name)

    def restore(self, print_fn=print, *, repair=True):
        """Restores the newest readable checkpoint; returns its path, or None when there is none.

        An unreadable checkpoint is reported through `print_fn`, moved to `corrupt/` (when
        `repair`; only one process of a multi-worker job should repair) and the previous one is
        tried.
        """
        restored = None
        candidates = self._checkpoints_on_disk()
        for prefix in candidates:
            try:
                # expect_partial: a checkpoint also holds the save counter and, under a
                # preemption handler, its run counter, which this object may not track yet.
                self.checkpoint.restore(prefix).expect_partial()
            except (tf.errors.OpError, ValueError, AssertionError) as error:
                reason = " ".join(str(error).split())[:200]
                if print_fn is not None:
                    print_fn(f"Checkpoint {prefix} is unreadable ({type(error).__name__}: "
                             f"{reason}); falling back to the previous checkpoint.")
                if repair:
                    self._set_aside(prefix)
                continue
            restored = prefix
            break
        if repair and self.directory == self.write_directory:
            self.directory.mkdir(parents=True, exist_ok=True)
            if candidates and restored != candidates[0]:
                # The state file still names the corrupt checkpoint: point it at the good ones.
                kept = list(reversed(self._checkpoints_on_disk()))  # oldest first
                if kept:
                    tf.compat.v1.train.update_checkpoint_state(
                        str(self.directory), kept[-1], all_model_checkpoint_paths=kept
                    )
                elif (self.directory / "checkpoint").exists():
                    os.remove(self.directory / "checkpoint")
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.write_directory), max_to_keep=self.max_to_keep
        )
        return restored

    # -- save -----------------------------------------------------------------------------
    def save(self):
        """Writes a checkpoint of the current state; returns its path (None on a non-chief)."""
        if self.manager is None:
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, str(self.write_directory), max_to_keep=self.max_to_keep
            )
        path = self.manager.save()
        if self.write_directory != self.directory:
            # A non-chief worker's copy exists only so that it takes part in the save.
            shutil.rmtree(self.write_directory, ignore_errors=True)
            return None
        return path

    @property
    def latest(self):
        """The newest checkpoint's path in `directory`, or None."""
        found = self._checkpoints_on_disk()
        return found[0] if found else None


def build_optimizer_slots(optimizer, model):
    """Creates the optimizer's variables now, so a restore fills them instead of deferring."""
    inner = getattr(optimizer, "inner_optimizer", None)
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    if inner is not None and not inner.built:
        inner.build(model.trainable_variables)
    return optimizer

