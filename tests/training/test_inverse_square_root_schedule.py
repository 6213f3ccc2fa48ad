"""InverseSquareRootSchedule: exact values, the paper's formula, validation, serialisation."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.training import InverseSquareRootSchedule


def values(schedule, steps):
    return [float(schedule(step)) for step in steps]


def test_values_at_key_steps():
    schedule = InverseSquareRootSchedule(1e-3, warmup_steps=10)
    expected = {
        0: 1e-3 * 1 / 10,  # steps count from 1: the first update is not wasted
        4: 1e-3 * 5 / 10,
        9: 1e-3,  # the last warmup step reaches the peak
        10: 1e-3 * math.sqrt(10 / 11),
        39: 1e-3 * 0.5,
        999: 1e-3 * 0.1,
    }
    np.testing.assert_allclose(values(schedule, expected), list(expected.values()), rtol=1e-5)


def test_peak_is_at_the_end_of_warmup():
    schedule = InverseSquareRootSchedule(2e-3, warmup_steps=8)
    rates = values(schedule, range(40))
    assert max(rates) == pytest.approx(2e-3) and int(np.argmax(rates)) == 7
    assert all(a < b for a, b in zip(rates[:8], rates[1:8]))
    assert all(a > b for a, b in zip(rates[7:], rates[8:]))


def test_equals_the_papers_formula():
    width, warmup = 64, 40
    schedule = InverseSquareRootSchedule.for_model_width(width, warmup_steps=warmup)
    steps = [0, 1, 20, 39, 40, 100, 5000]
    paper = [width**-0.5 * min((s + 1) ** -0.5, (s + 1) * warmup**-1.5) for s in steps]
    np.testing.assert_allclose(values(schedule, steps), paper, rtol=1e-5)


def test_floor_applies_only_after_warmup():
    schedule = InverseSquareRootSchedule(1e-3, warmup_steps=4, min_learning_rate=4e-4)
    np.testing.assert_allclose(
        values(schedule, [0, 3, 15, 24, 10_000]), [2.5e-4, 1e-3, 5e-4, 4e-4, 4e-4], rtol=1e-5
    )


def test_in_graph_with_tensor_step_and_in_an_optimizer():
    schedule = InverseSquareRootSchedule(1e-3, warmup_steps=10)
    compiled = tf.function(lambda step: schedule(step))
    np.testing.assert_allclose(float(compiled(tf.constant(4, tf.int64))), 5e-4, rtol=1e-6)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(0.0)
    optimizer.apply_gradients([(tf.constant(1.0), variable)])
    np.testing.assert_allclose(float(variable), -1e-4, rtol=1e-5)  # the rate at step 0


def test_config_round_trip():
    schedule = InverseSquareRootSchedule(1e-3, warmup_steps=10, min_learning_rate=1e-5)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, InverseSquareRootSchedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_allclose(values(restored, [0, 50]), values(schedule, [0, 50]))


def test_optimizer_with_the_schedule_round_trips():
    optimizer = keras.optimizers.Adam(learning_rate=InverseSquareRootSchedule(1e-3, 10))
    config = optimizer.get_config()
    assert config["learning_rate"]["registered_name"] == "tfllm>InverseSquareRootSchedule"
    restored = keras.optimizers.Adam.from_config(config)
    np.testing.assert_allclose(float(restored.learning_rate), 1e-4, rtol=1e-5)  # step 0


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"peak_learning_rate": 0.0}, "peak_learning_rate"),
        ({"peak_learning_rate": float("nan")}, "peak_learning_rate"),
        ({"warmup_steps": 0}, "warmup_steps"),
        ({"warmup_steps": 2.5}, "warmup_steps"),
        ({"min_learning_rate": -1e-4}, "min_learning_rate"),
        ({"min_learning_rate": 1.0}, "min_learning_rate"),
    ],
)
def test_invalid_arguments_name_themselves(kwargs, name):
    arguments = {"peak_learning_rate": 1e-3, "warmup_steps": 10, **kwargs}
    with pytest.raises(ValueError, match=f"Received: {name}="):
        InverseSquareRootSchedule(**arguments)


def test_for_model_width_checks_the_width():
    with pytest.raises(ValueError, match="Received: model_width=0"):
        InverseSquareRootSchedule.for_model_width(0, warmup_steps=10)
