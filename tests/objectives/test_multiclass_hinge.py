"""MulticlassHinge: values by hand, sample weights, gradients, serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import MulticlassHinge

SCORES = np.array(
    [
        [3.0, 1.0, 0.0],  # true 0, margin 2 met: 0
        [0.5, 1.0, 0.0],  # true 0, best other 1.0: 1 + 1.0 - 0.5 = 1.5
        [0.0, 0.2, 0.9],  # true 1, best other 0.9: 1 + 0.9 - 0.2 = 1.7
        [2.0, 2.0, -1.0],  # true 1, tie with class 0: 1 + 2 - 2 = 1
    ],
    "float32",
)
LABELS = np.array([0, 0, 1, 1])
BY_HAND = np.array([0.0, 1.5, 1.7, 1.0])


def test_values_by_hand():
    per_example = MulticlassHinge(reduction="none")(LABELS, SCORES)
    np.testing.assert_allclose(per_example, BY_HAND, rtol=1e-6)
    assert float(MulticlassHinge()(LABELS, SCORES)) == pytest.approx(BY_HAND.mean())
    assert float(MulticlassHinge(margin=0.5)(LABELS[:2], SCORES[:2])) == pytest.approx(1.0 / 2)


def test_labels_with_a_trailing_axis_and_float_labels():
    expected = float(MulticlassHinge()(LABELS, SCORES))
    assert float(MulticlassHinge()(LABELS[:, None], SCORES)) == pytest.approx(expected)
    assert float(MulticlassHinge()(LABELS.astype("float32"), SCORES)) == pytest.approx(expected)


def test_sample_weights_follow_keras_reduction():
    weights = np.array([1.0, 0.0, 2.0, 1.0], "float32")
    # "sum_over_batch_size": sum(w * loss) / B.
    value = MulticlassHinge()(LABELS, SCORES, sample_weight=weights)
    assert float(value) == pytest.approx((BY_HAND * weights).sum() / 4)
    value = MulticlassHinge(reduction="mean_with_sample_weight")(
        LABELS, SCORES, sample_weight=weights
    )
    assert float(value) == pytest.approx((BY_HAND * weights).sum() / weights.sum())


def test_gradient_is_zero_once_the_margin_is_met_and_one_otherwise():
    scores = tf.Variable(SCORES)
    with tf.GradientTape() as tape:
        value = MulticlassHinge(reduction="sum")(LABELS, scores)
    gradient = tape.gradient(value, scores).numpy()
    np.testing.assert_array_equal(gradient[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(gradient[1], [-1.0, 1.0, 0.0])
    np.testing.assert_array_equal(gradient[2], [0.0, -1.0, 1.0])
    assert np.all(np.isfinite(gradient))
    # Exactly at the margin the hinge is flat too (ReLU's gradient at 0 is 0).
    at_margin = tf.Variable([[2.0, 1.0]])
    with tf.GradientTape() as tape:
        value = MulticlassHinge()(np.array([0]), at_margin)
    assert float(value) == 0.0
    np.testing.assert_array_equal(tape.gradient(value, at_margin).numpy(), [[0.0, 0.0]])


def test_training_a_linear_svm_drives_the_loss_to_zero_on_separable_data():
    rng = np.random.default_rng(0)
    centres = np.array([[3.0, 0.0], [0.0, 3.0], [-3.0, -3.0]])
    labels = rng.integers(0, 3, 64)
    features = (centres[labels] + rng.normal(scale=0.3, size=(64, 2))).astype("float32")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=MulticlassHinge())
    history = model.fit(features, labels, epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][0] > 1.0
    assert model.evaluate(features, labels, verbose=0) < 0.05


def test_config_round_trip_and_serialization():
    loss = MulticlassHinge(margin=0.5, reduction="sum", name="svm")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, MulticlassHinge)
    assert restored.get_config() == loss.get_config()
    assert (restored.margin, restored.reduction, restored.name) == (0.5, "sum", "svm")


def test_invalid_arguments():
    with pytest.raises(ValueError, match="Received: margin=0"):
        MulticlassHinge(margin=0)
    with pytest.raises(ValueError, match=r"Received: y_pred.shape=\(2, 1\)"):
        MulticlassHinge()(np.array([0, 0]), np.zeros((2, 1), "float32"))
