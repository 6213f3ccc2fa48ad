"""MaskedSquaredError and token_squared_error: hand values, masking, gradients, dtypes, config."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import MaskedSquaredError, token_squared_error

PROBABILITIES = np.array(
    [[[0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6], [0.7, 0.2, 0.1]]], "float32"
)
LABELS = np.array([[0, 1, 0, 2]])
LOGITS = np.array(
    [[[2.0, 0.5, -1.0], [0.0, 1.0, 3.0], [-2.0, 0.0, 0.5], [1.5, -0.5, 4.0]]], "float32"
)


def reference_brier(labels, probabilities):
    one_hot = np.eye(probabilities.shape[-1])[labels]
    return ((np.asarray(probabilities, np.float64) - one_hot) ** 2).sum(-1)


def reference_square(labels, logits, scale=1.0, target=1.0):
    logits = np.asarray(logits, np.float64)
    one_hot = np.eye(logits.shape[-1])[labels].astype(bool)
    true = logits[one_hot].reshape(labels.shape)
    others = np.where(one_hot, 0.0, logits) ** 2
    return scale * (true - target) ** 2 + others.sum(-1)


def test_brier_by_hand():
    values = token_squared_error(LABELS, np.log(PROBABILITIES))
    # Row 0, label 0: 0.5^2 + 0.25^2 + 0.25^2; row 1, label 1: 0.1^2 + 0.4^2 + 0.3^2.
    np.testing.assert_allclose(values[0, :2], [0.375, 0.26], rtol=1e-5)
    np.testing.assert_allclose(values, reference_brier(LABELS, PROBABILITIES), rtol=1e-5)
    assert values.shape == (1, 4)


@pytest.mark.parametrize("scale, target", [(1.0, 1.0), (2.0, 3.0), (0.5, 15.0)])
def test_logits_square_loss_by_hand(scale, target):
    values = token_squared_error(LABELS, LOGITS, on="logits", scale=scale, target=target)
    np.testing.assert_allclose(values, reference_square(LABELS, LOGITS, scale, target), rtol=1e-6)
    if (scale, target) == (2.0, 3.0):
        # Position 0: 2 * (2 - 3)^2 + 0.5^2 + 1^2.
        assert float(values[0, 0]) == pytest.approx(3.25)


def test_classifier_shapes_and_trailing_label_axis():
    labels, logits = LABELS[0], LOGITS[0]  # (4,) and (4, 3)
    for on in ("probabilities", "logits"):
        loss = MaskedSquaredError(on=on)
        expected = float(loss(LABELS, LOGITS))
        assert float(loss(labels, logits)) == pytest.approx(expected)
        assert float(loss(labels[:, None], logits)) == pytest.approx(expected)
        assert token_squared_error(labels, logits, on=on).shape == (4,)


@pytest.mark.parametrize("on", ["probabilities", "logits"])
def test_reduction_is_mean_over_weighted_tokens_and_padding_changes_nothing(on):
    loss = MaskedSquaredError(on=on)
    per_token = keras.ops.convert_to_numpy(token_squared_error(LABELS, LOGITS, on=on))
    weights = np.array([[1.0, 2.0, 0.0, 1.0]], "float32")
    value = float(loss(LABELS, LOGITS, sample_weight=weights))
    assert value == pytest.approx((per_token * weights).sum() / weights.sum(), rel=1e-6)
    garbage_logits, garbage_labels = LOGITS.copy(), LABELS.copy()
    garbage_logits[0, 2] = [100.0, -50.0, 7.0]
    garbage_labels[0, 2] = 1
    assert float(loss(garbage_labels, garbage_logits, sample_weight=weights)) == value
    kept = [0, 1, 3]
    removed = float(loss(LABELS[:, kept], LOGITS[:, kept], sample_weight=weights[:, kept]))
    assert removed == pytest.approx(value, rel=1e-6)


def test_gradients_are_finite_and_match_the_formula():
    logits = tf.Variable(LOGITS)
    with tf.GradientTape() as tape:
        value = MaskedSquaredError(on="logits", scale=2.0, target=3.0, reduction="sum")(
            LABELS, logits
        )
    gradient = tape.gradient(value, logits).numpy()
    one_hot = np.eye(3)[LABELS].astype(bool)
    # d/df_y = 2k(f_y - M); d/df_v = 2 f_v for the others.
    expected = np.where(one_hot, 2 * 2.0 * (LOGITS - 3.0), 2 * LOGITS)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)
    extreme = tf.Variable(np.array([[[80.0, -80.0, 0.0]]], "float32"))
    with tf.GradientTape() as tape:
        value = MaskedSquaredError()(np.array([[1]]), extreme)
    assert np.all(np.isfinite(tape.gradient(value, extreme).numpy()))
    assert float(value) == pytest.approx(2.0)  # confidently wrong: the Brier score's maximum


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("on", ["probabilities", "logits"])
def test_low_precision_logits_give_float32(dtype, on):
    low = keras.ops.cast(LOGITS, dtype)
    rounded = keras.ops.convert_to_numpy(keras.ops.cast(low, "float32"))
    got = MaskedSquaredError(on=on)(LABELS, low)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    expected = float(MaskedSquaredError(on=on)(LABELS, rounded))
    assert float(got) == pytest.approx(expected, rel=1e-6)
    values = token_squared_error(LABELS, low, on=on)
    assert keras.backend.standardize_dtype(values.dtype) == "float32"


def test_config_round_trip():
    loss = MaskedSquaredError(on="logits", scale=2.0, target=15.0, name="square")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MaskedSquaredError)
    assert restored.get_config() == loss.get_config()
    assert (restored.on, restored.scale, restored.target) == ("logits", 2.0, 15.0)
    assert restored.reduction == "mean_with_sample_weight"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"on": "probs"}, "Received: on='probs'"),
        ({"on": "logits", "scale": 0}, "Received: scale=0"),
        ({"on": "logits", "target": -1.0}, "Received: target=-1.0"),
        ({"on": "logits", "scale": float("nan")}, "Received: scale=nan"),
        ({"scale": 2.0}, "Received: scale=2.0"),
        ({"target": 15.0}, "Received: target=15.0"),
        ({"dtype": "bfloat16"}, "dtype"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskedSquaredError(**kwargs)
    kwargs.pop("dtype", None)
    if kwargs:
        with pytest.raises(ValueError, match=message):
            token_squared_error(LABELS, LOGITS, **kwargs)
