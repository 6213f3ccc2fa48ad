"""WarmupCosineDecay: exact values, validation, serialisation."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.training import WarmupCosineDecay


def values(schedule, steps):
    return [float(schedule(step)) for step in steps]


def test_values_at_key_steps():
    schedule = WarmupCosineDecay(1e-3, warmup_steps=10, decay_steps=110, min_learning_rate=1e-4)
    expected = {
        0: 1e-3 * 1 / 10,
        4: 1e-3 * 5 / 10,
        9: 1e-3,  # warmup reaches the peak at its last step
        10: 1e-3,  # cosine starts at the peak
        35: 1e-4 + 0.9e-3 * 0.5 * (1 + math.cos(math.pi * 0.25)),
        60: 1e-4 + 0.9e-3 * 0.5,
        110: 1e-4,
        1000: 1e-4,
    }
    np.testing.assert_allclose(values(schedule, expected), list(expected.values()), rtol=1e-5)


def test_monotone_up_then_down():
    schedule = WarmupCosineDecay(1.0, warmup_steps=5, decay_steps=20)
    rates = values(schedule, range(25))
    assert all(a < b for a, b in zip(rates[:5], rates[1:5]))
    assert all(a >= b for a, b in zip(rates[5:], rates[6:]))
    assert rates[-1] == 0.0


def test_no_warmup_starts_at_peak():
    schedule = WarmupCosineDecay(2e-3, warmup_steps=0, decay_steps=10)
    np.testing.assert_allclose(values(schedule, [0, 5, 10]), [2e-3, 1e-3, 0.0], atol=1e-9)


def test_in_graph_with_tensor_step():
    schedule = WarmupCosineDecay(1e-3, warmup_steps=10, decay_steps=110)
    compiled = tf.function(lambda step: schedule(step))
    np.testing.assert_allclose(float(compiled(tf.constant(4, tf.int64))), 5e-4, rtol=1e-6)


def test_config_round_trip():
    schedule = WarmupCosineDecay(1e-3, warmup_steps=10, decay_steps=110, min_learning_rate=1e-4)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, WarmupCosineDecay)
    assert restored.get_config() == schedule.get_config()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"peak_learning_rate": 0.0}, "peak_learning_rate"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"warmup_steps": 2.5}, "warmup_steps"),
        ({"decay_steps": 0, "warmup_steps": 0}, "decay_steps"),
        ({"decay_steps": 5, "warmup_steps": 10}, "decay_steps"),
        ({"min_learning_rate": -1e-4}, "min_learning_rate"),
        ({"min_learning_rate": 1.0}, "min_learning_rate"),
    ],
)
def test_invalid_arguments_name_themselves(kwargs, name):
    arguments = {"peak_learning_rate": 1e-3, "warmup_steps": 10, "decay_steps": 100, **kwargs}
    with pytest.raises((ValueError, TypeError), match=f"Received: {name}="):
        WarmupCosineDecay(**arguments)
