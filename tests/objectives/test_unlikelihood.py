"""Unlikelihood training: candidates, penalties and losses against hand values and NumPy."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.objectives import (
    MaskedCrossEntropy,
    TokenSetPenalty,
    UnlikelihoodLoss,
    context_candidates,
    probability_mass,
    token_set_candidates,
    token_unlikelihood,
)

V = 4
LABELS = np.array([[2, 1, 2, 3], [0, 0, 1, 0]])
LOGITS = np.random.default_rng(0).normal(size=(2, 4, V)).astype("float32")


def softmax(logits):
    logits = np.asarray(logits, np.float64)
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    return shifted / shifted.sum(-1, keepdims=True)


def reference_context(labels, vocabulary_size):
    """The candidates by a plain loop: earlier targets, minus the current one."""
    candidates = np.zeros(labels.shape + (vocabulary_size,))
    for b, row in enumerate(labels):
        for t in range(len(row)):
            for c in set(row[:t]) - {row[t]}:
                candidates[b, t, c] = 1.0
    return candidates


def reference_penalty(labels, logits, candidates, penalty="unlikelihood"):
    probabilities = softmax(logits)
    candidates = np.broadcast_to(candidates, probabilities.shape).copy()
    np.put_along_axis(candidates, labels[..., None], 0.0, axis=-1)  # never the target itself
    if penalty == "probability_mass":
        return (candidates * probabilities).sum(-1)
    return -(candidates * np.log(np.clip(1 - probabilities, 1e-5, 1))).sum(-1)


def reference_nats(labels, logits):
    log_probabilities = np.log(softmax(logits))
    return -np.take_along_axis(log_probabilities, labels[..., None], -1)[..., 0]


def test_context_candidates_by_hand():
    candidates = keras.ops.convert_to_numpy(context_candidates(LABELS, V))
    assert candidates.shape == (2, 4, V) and candidates.dtype == np.float32
    # Row 0 [2, 1, 2, 3]: t=1 {2}; t=2 {1} since 2 is the target; t=3 {1, 2}.
    np.testing.assert_array_equal(
        candidates[0], [[0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 1, 1, 0]]
    )
    # Row 1 [0, 0, 1, 0]: t=1 {} (0 is the target); t=2 {0}; t=3 {1}.
    np.testing.assert_array_equal(
        candidates[1], [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    )


def test_context_candidates_match_a_loop():
    labels = np.random.default_rng(1).integers(0, 5, size=(3, 7))
    np.testing.assert_array_equal(context_candidates(labels, 5), reference_context(labels, 5))


def test_token_set_candidates():
    mask = token_set_candidates([3, 1, 3], V)
    np.testing.assert_array_equal(mask, [0.0, 1.0, 0.0, 1.0])
    assert keras.backend.standardize_dtype(mask.dtype) == "float32"


def test_token_unlikelihood_by_hand():
    probabilities = np.array([[[0.5, 0.25, 0.125, 0.125], [0.1, 0.2, 0.3, 0.4]]], "float32")
    labels = np.array([[0, 3]])
    candidates = np.array([[[0, 1, 1, 0], [1, 0, 0, 0]]], "float32")
    values = token_unlikelihood(labels, np.log(probabilities), candidates)
    expected = [[-np.log(0.75) - np.log(0.875), -np.log(0.9)]]
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    np.testing.assert_allclose(
        probability_mass(np.log(probabilities), candidates), [[0.375, 0.1]], rtol=1e-5
    )


@pytest.mark.parametrize("penalty", ["unlikelihood", "probability_mass"])
def test_token_set_never_penalises_the_target(penalty):
    mask = token_set_candidates([1, 3], V)
    if penalty == "unlikelihood":
        values = token_unlikelihood(LABELS, LOGITS, mask)
    else:
        values = probability_mass(LOGITS, mask, labels=LABELS)
    np.testing.assert_allclose(
        values, reference_penalty(LABELS, LOGITS, np.array([0, 1, 0, 1]), penalty), rtol=1e-5
    )
    p = softmax(LOGITS)
    # Row 0, t=3: the target 3 is in the set, so only token 1 counts; t=0: both count.
    if penalty == "unlikelihood":
        assert float(values[0, 3]) == pytest.approx(-np.log(1 - p[0, 3, 1]), rel=1e-5)
    else:
        assert float(values[0, 3]) == pytest.approx(p[0, 3, 1], rel=1e-5)
        assert float(values[0, 0]) == pytest.approx(p[0, 0, 1] + p[0, 0, 3], rel=1e-5)
    # Without labels probability_mass takes the set as given.
    unexcluded = probability_mass(LOGITS, mask)
    assert float(unexcluded[0, 3]) == pytest.approx(p[0, 3, 1] + p[0, 3, 3], rel=1e-5)


def test_clip_keeps_a_certain_candidate_finite():
    logits = np.array([[[40.0, 0.0, 0.0]]], "float32")  # p_0 = 1 in float32
    value = token_unlikelihood(np.array([[1]]), logits, np.array([1.0, 0.0, 0.0]))
    assert float(value[0, 0]) == pytest.approx(-np.log(1e-5), rel=1e-5)


def test_gradients_of_the_two_penalties():
    """d/dl_c of -log(1 - p_c) is p_c; of p_c it is p_c (1 - p_c), which vanishes near 1."""
    logits = tf.Variable([[[6.0, 0.0, 0.0, 0.0]]])
    labels, candidates = np.array([[1]]), np.array([1.0, 0.0, 0.0, 0.0], "float32")
    p = np.exp(6.0) / (np.exp(6.0) + 3)
    with tf.GradientTape(persistent=True) as tape:
        unlikelihood = token_unlikelihood(labels, logits, candidates)
        mass = probability_mass(logits, candidates, labels)
    unlikelihood_gradient = tape.gradient(unlikelihood, logits).numpy()
    mass_gradient = tape.gradient(mass, logits).numpy()
    assert unlikelihood_gradient[0, 0, 0] == pytest.approx(p, rel=1e-5)
    assert mass_gradient[0, 0, 0] == pytest.approx(p * (1 - p), rel=1e-4)
    assert np.all(np.isfinite(unlikelihood_gradient)) and np.all(np.isfinite(mass_gradient))


@pytest.mark.parametrize("penalty", ["unlikelihood", "probability_mass"])
def test_unlikelihood_loss_matches_numpy(penalty):
    weights = np.array([[1.0, 1.0, 2.0, 1.0], [1.0, 0.5, 1.0, 0.0]], "float32")
    loss = UnlikelihoodLoss(alpha=0.5, penalty=penalty)
    per_token = reference_nats(LABELS, LOGITS) + 0.5 * reference_penalty(
        LABELS, LOGITS, reference_context(LABELS, V), penalty
    )
    expected = (per_token * weights).sum() / weights.sum()
    assert float(loss(LABELS, LOGITS, sample_weight=weights)) == pytest.approx(expected, rel=1e-5)


def test_token_set_loss_and_penalty_match_numpy():
    loss = UnlikelihoodLoss(alpha=2.0, candidates=[3])
    penalty = reference_penalty(LABELS, LOGITS, np.array([0, 0, 0, 1]))
    expected = (reference_nats(LABELS, LOGITS) + 2.0 * penalty).mean()
    assert float(loss(LABELS, LOGITS)) == pytest.approx(expected, rel=1e-5)
    assert float(TokenSetPenalty([3])(LABELS, LOGITS)) == pytest.approx(penalty.mean(), rel=1e-5)


def test_alpha_zero_and_label_smoothing_pass_through():
    for smoothing in (0.0, 0.1):
        expected = float(MaskedCrossEntropy(smoothing)(LABELS, LOGITS))
        got = UnlikelihoodLoss(alpha=0.0, label_smoothing=smoothing)(LABELS, LOGITS)
        assert float(got) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("candidates", ["context", [1, 3]])
def test_padding_changes_nothing(candidates):
    loss = UnlikelihoodLoss(candidates=candidates)
    weights = np.array([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]], "float32")
    before = float(loss(LABELS, LOGITS, sample_weight=weights))
    garbage = LOGITS.copy()
    garbage[weights == 0] = [50.0, -50.0, 3.0, 9.0]
    assert float(loss(LABELS, garbage, sample_weight=weights)) == pytest.approx(before, rel=1e-6)
    # Padding at the end of a row equals cutting it off.
    cut = float(loss(LABELS[:1, :3], LOGITS[:1, :3]))
    assert cut == pytest.approx(float(loss(LABELS[:1], LOGITS[:1], sample_weight=weights[:1])))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_logits_give_float32(dtype):
    low = keras.ops.cast(LOGITS, dtype)
    rounded = keras.ops.convert_to_numpy(keras.ops.cast(low, "float32"))
    for loss in (UnlikelihoodLoss(), TokenSetPenalty([3], penalty="probability_mass")):
        got = loss(LABELS, low)
        assert keras.backend.standardize_dtype(got.dtype) == "float32"
        assert float(got) == pytest.approx(float(loss(LABELS, rounded)), rel=1e-6)
    for values in (
        token_unlikelihood(LABELS, low, context_candidates(LABELS, V)),
        probability_mass(low, token_set_candidates([1], V)),
    ):
        assert keras.backend.standardize_dtype(values.dtype) == "float32"


def test_compiled_gradient_is_finite():
    loss = UnlikelihoodLoss()
    logits = tf.Variable(LOGITS)

    @tf.function
    def gradient():
        with tf.GradientTape() as tape:
            value = loss(LABELS, logits)
        return tape.gradient(value, logits)

    assert np.all(np.isfinite(gradient().numpy()))


def test_config_round_trip():
    losses = [
        UnlikelihoodLoss(alpha=0.5, candidates=[4, 2], penalty="probability_mass",
                         label_smoothing=0.1, name="ul"),
        UnlikelihoodLoss(),
        TokenSetPenalty([7], penalty="probability_mass", name="banned"),
    ]
    for loss in losses:
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
        assert type(restored) is type(loss)
        assert restored.get_config() == loss.get_config()
    assert losses[0].get_config()["candidates"] == [4, 2]
    assert losses[2].get_config()["token_ids"] == [7]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"alpha": -1.0}, "Received: alpha=-1.0"),
        ({"candidates": "contexts"}, "Received: candidates='contexts'"),
        ({"candidates": []}, "Received: candidates=\\[\\]"),
        ({"candidates": [2, -1]}, "Received: candidates\\[1\\]=-1"),
        ({"candidates": [1.5]}, "Received: candidates\\[0\\]=1.5"),
        ({"penalty": "mass"}, "Received: penalty='mass'"),
        ({"label_smoothing": 1.0}, "Received: label_smoothing=1.0"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_invalid_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        UnlikelihoodLoss(**kwargs)


def test_invalid_token_sets_and_shapes():
    with pytest.raises(ValueError, match="Received: token_ids='context'"):
        TokenSetPenalty("context")
    with pytest.raises(ValueError, match="Received: penalty='ul'"):
        TokenSetPenalty([1], penalty="ul")
    with pytest.raises(ValueError, match=r"Received: token_ids\[0\]=4"):
        token_set_candidates([4], V)
    # An id beyond the vocabulary is caught once the loss sees the logits' size.
    with pytest.raises(ValueError, match=r"Received: candidates\[0\]=9"):
        UnlikelihoodLoss(candidates=[9])(LABELS, LOGITS)
    with pytest.raises(ValueError, match=r"Received: token_ids\[0\]=9"):
        TokenSetPenalty([9])(LABELS, LOGITS)
    with pytest.raises(ValueError, match="Received: vocabulary_size=0"):
        context_candidates(LABELS, 0)
    with pytest.raises(ValueError, match=r"Received: labels.shape=\(4,\)"):
        context_candidates(LABELS[0], V)
