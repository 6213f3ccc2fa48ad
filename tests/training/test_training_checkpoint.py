"""TrainingCheckpoint: dropout seed state saved, corrupt checkpoints set aside, fallback."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.training.training_checkpoint import TrainingCheckpoint, seed_generator_states


def _dropout_model():
    return keras.Sequential([keras.Input((16,)), keras.layers.Dropout(0.5), keras.layers.Dense(4)])


def _checkpoint(directory, model, step=None):
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    step = step if step is not None else tf.Variable(0, dtype=tf.int64)
    return TrainingCheckpoint(directory, model=model, optimizer=optimizer, step=step), step


def test_dropout_seed_state_is_restored_so_masks_continue_identically(tmp_path):
    model = _dropout_model()
    assert len(seed_generator_states(model)) == 1
    checkpoint, step = _checkpoint(tmp_path, model)
    checkpoint.restore(print_fn=None)
    x = np.ones((2, 16), "float32")
    model(x, training=True)  # advance the generator once
    step.assign(1)
    checkpoint.save()
    expected = model(x, training=True).numpy()  # the mask after the saved state

    fresh = _dropout_model()
    fresh.set_weights(model.get_weights())
    restored, restored_step = _checkpoint(tmp_path, fresh)
    assert restored.restore(print_fn=None).endswith("ckpt-1")
    assert int(restored_step.numpy()) == 1
    np.testing.assert_array_equal(fresh(x, training=True).numpy(), expected)


def _two_checkpoints(directory):
    model = _dropout_model()
    checkpoint, step = _checkpoint(directory, model)
    checkpoint.restore(print_fn=None)
    for value in (3, 6):
        step.assign(value)
        checkpoint.save()
    return directory


def test_a_corrupt_latest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    _two_checkpoints(tmp_path)
    data = tmp_path / "ckpt-2.data-00000-of-00001"
    data.write_bytes(b"\0" * data.stat().st_size)  # same size, wrong bytes: a bad disk block

    messages = []
    checkpoint, step = _checkpoint(tmp_path, _dropout_model())
    assert checkpoint.restore(print_fn=messages.append).endswith("ckpt-1")
    assert int(step.numpy()) == 3
    assert len(messages) == 1 and "ckpt-2 is unreadable" in messages[0]
    assert "falling back to the previous checkpoint" in messages[0]
    assert (tmp_path / "corrupt" / "ckpt-2.index").exists()
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-1")
    # The next save does not reuse the corrupt one's place in the state file.
    step.assign(9)
    assert checkpoint.save() is not None
    assert tf.train.latest_checkpoint(str(tmp_path)) == checkpoint.latest


def test_an_unreadable_state_file_does_not_hide_the_checkpoints(tmp_path):
    _two_checkpoints(tmp_path)
    (tmp_path / "checkpoint").write_text("garbage {{{")
    checkpoint, step = _checkpoint(tmp_path, _dropout_model())
    assert checkpoint.restore(print_fn=None).endswith("ckpt-2")
    assert int(step.numpy()) == 6


def test_max_to_keep_must_leave_a_fallback(tmp_path):
    model = _dropout_model()
    with pytest.raises(ValueError, match="max_to_keep must be an int >= 2.*max_to_keep=1"):
        TrainingCheckpoint(tmp_path, model=model, optimizer=keras.optimizers.Adam(),
                           step=tf.Variable(0, dtype=tf.int64), max_to_keep=1)
