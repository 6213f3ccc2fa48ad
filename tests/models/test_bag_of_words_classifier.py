"""`BagOfWordsClassifier`: harness runs, features, `adapt`, the two heads learning, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfllm.models import BagOfWordsClassifier, model_class
from tfllm.testing import run_model_test

SMALL = dict(vocabulary_size=32, sequence_length=8, num_classes=3)
RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(1, 32, size=(2, 8)).astype("int32")  # (B, T)
PADDING = np.array([[True] * 8, [True] * 5 + [False] * 3])
INPUTS = {"token_ids": TOKEN_IDS, "padding_mask": PADDING}
LABELS = np.array([0, 2])

# Three documents over two batches of different lengths; padded slots hold ids 9 and 0.
HAND_BATCHES = [
    {"token_ids": np.array([[1, 2, 2, 9], [2, 3, 0, 0]], dtype="int32"),
     "padding_mask": np.array([[True, True, True, False], [True, True, False, False]])},
    {"token_ids": np.array([[4, 0]], dtype="int32"), "padding_mask": np.array([[True, False]])},
]


@pytest.mark.parametrize("variant, num_weights, jit_compile", [
    ({"dropout": 0.1}, (2, 1), True),  # dense kernel and bias; idf
    ({"head": "rbf", "num_centres": 4, "weighting": "binary"}, (4, 0), False),  # + centres, gamma
])
def test_goes_through_the_harness(variant, num_weights, jit_compile):
    run_model_test(
        BagOfWordsClassifier, {**SMALL, **variant}, INPUTS, labels=LABELS,
        expected_output_shape=(2, 3), expected_num_trainable_weights=num_weights[0],
        expected_num_non_trainable_weights=num_weights[1], jit_compile=jit_compile,
    )


@pytest.mark.parametrize("variant", [
    {}, {"weighting": "count"}, {"weighting": "binary"}, {"head": "rbf", "num_centres": 4},
])
def test_padded_positions_change_nothing(variant):
    model = BagOfWordsClassifier(**SMALL, **variant)
    other_ids = np.where(PADDING, TOKEN_IDS, [[0, 31, 7, 1, 2, 3, 4, 5]]).astype("int32")
    before = np.array(model(INPUTS))
    after = np.array(model({"token_ids": other_ids, "padding_mask": PADDING}))
    alone = np.array(model({"token_ids": TOKEN_IDS[1:, :5]}))
    np.testing.assert_allclose(after, before, atol=1e-6)
    np.testing.assert_allclose(before[1:], alone, atol=1e-6)


def test_adapt_sets_the_smoothed_idf_and_the_features_follow_it():
    model = BagOfWordsClassifier(**SMALL)
    model.adapt(HAND_BATCHES)
    # n = 3 documents; document frequencies: id 2 -> 2; ids 1, 3, 4 -> 1; the rest (9, 0) -> 0
    expected = np.full(32, np.log(4 / 1) + 1)
    expected[[1, 3, 4]] = np.log(4 / 2) + 1
    expected[2] = np.log(4 / 3) + 1
    np.testing.assert_allclose(model.idf.numpy(), expected, rtol=1e-6)
    features = np.array(model.features(**HAND_BATCHES[0]))[0]  # row [1, 2, 2] (9 is padding)
    tf_idf = np.zeros(32)
    tf_idf[1], tf_idf[2] = expected[1], 2 * expected[2]
    np.testing.assert_allclose(features, tf_idf / np.linalg.norm(tf_idf), rtol=1e-5)


def test_count_and_binary_features_count_only_real_tokens():
    batch = HAND_BATCHES[0]
    counts = BagOfWordsClassifier(**SMALL, weighting="count").features(**batch)
    binary = BagOfWordsClassifier(**SMALL, weighting="binary").features(**batch)
    expected = np.zeros((2, 32))
    expected[0, [1, 2]] = [1, 2]
    expected[1, [2, 3]] = [1, 1]
    np.testing.assert_array_equal(np.array(counts), expected)
    np.testing.assert_array_equal(np.array(binary), expected > 0)


def test_adapt_reads_a_training_dataset_of_inputs_and_labels():
    from_lists = BagOfWordsClassifier(**SMALL)
    from_lists.adapt(HAND_BATCHES)
    from_dataset = BagOfWordsClassifier(**SMALL)
    first = HAND_BATCHES[0]
    dataset = tf.data.Dataset.from_tensors((first, np.array([0, 1])))
    dataset = dataset.concatenate(tf.data.Dataset.from_tensors(
        ({"token_ids": np.array([[4, 0, 0, 0]], "int32"),
          "padding_mask": np.array([[True, False, False, False]])}, np.array([2]))))
    from_dataset.adapt(dataset)
    np.testing.assert_allclose(from_dataset.idf.numpy(), from_lists.idf.numpy())


def test_rbf_centres_are_training_rows_drawn_with_the_seed():
    inputs, _ = separable(num_rows=40)
    batches = [{key: value[i:i + 8] for key, value in inputs.items()} for i in range(0, 40, 8)]
    model = BagOfWordsClassifier(**SMALL, head="rbf", num_centres=6, seed=3)
    model.adapt(batches)
    rows = np.array(model.features(**inputs))  # (40, V) with the adapted idf
    centres = model.centres.numpy()
    distances = np.linalg.norm(centres[:, None] - rows[None], axis=-1)  # (K, 40)
    chosen = np.argmin(distances, axis=1)
    np.testing.assert_allclose(distances[np.arange(6), chosen], 0, atol=1e-5)
    assert len(set(chosen)) == 6
    pairwise = np.sum((centres[:, None] - centres[None]) ** 2, axis=-1)[np.triu_indices(6, 1)]
    gamma = np.exp(model.log_gamma.numpy())
    np.testing.assert_allclose(gamma, 1 / np.median(pairwise[pairwise > 0]), rtol=1e-4)

    again = BagOfWordsClassifier(**SMALL, head="rbf", num_centres=6, seed=3)
    again.adapt(batches)
    np.testing.assert_array_equal(again.centres.numpy(), centres)
    other_seed = BagOfWordsClassifier(**SMALL, head="rbf", num_centres=6, seed=4)
    other_seed.adapt(batches)
    assert not np.array_equal(other_seed.centres.numpy(), centres)


def separable(num_rows=128, seed=0):
    """Right-padded rows of ids 6..31 of lengths 3..8; label 1 rows hold id 5 somewhere."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(6, 32, size=(num_rows, 8)).astype("int32")
    labels = np.arange(num_rows) % 2
    lengths = rng.integers(3, 9, size=num_rows)
    mask = np.arange(8)[None] < lengths[:, None]
    positions = rng.integers(0, lengths)
    ids[labels == 1, positions[labels == 1]] = 5
    return {"token_ids": np.where(mask, ids, 0).astype("int32"), "padding_mask": mask}, labels


@pytest.mark.parametrize("variant, loss, learning_rate", [
    ({}, "cross_entropy", 0.1),  # logistic regression
    ({}, "hinge", 0.1),  # linear SVM
    # 0.1 left one seed in four at 73% after 40 steps; 0.05 reached 99-100% on all four.
    ({"head": "rbf", "num_centres": 16}, "cross_entropy", 0.05),
])
def test_each_head_learns_whether_id_5_appears(variant, loss, learning_rate):
    keras.utils.set_random_seed(0)
    inputs, labels = separable()
    model = BagOfWordsClassifier(**{**SMALL, "num_classes": 2}, **variant)
    model.adapt([inputs])
    if loss == "hinge":
        loss, targets = keras.losses.CategoricalHinge(), np.eye(2)[labels]
    else:
        loss, targets = keras.losses.SparseCategoricalCrossentropy(from_logits=True), labels
    model.compile(keras.optimizers.Adam(learning_rate), loss)
    model.fit(inputs, targets, batch_size=32, epochs=10, verbose=0)  # 40 steps
    predicted = np.argmax(model.predict(inputs, verbose=0), axis=1)
    assert np.mean(predicted == labels) >= 0.9


@pytest.mark.parametrize("head", ["linear", "rbf"])
def test_mixed_bfloat16_gives_float32_logits_close_to_float32(head):
    variant = {"head": head, "num_centres": 2}
    model = BagOfWordsClassifier(**SMALL, **variant)
    mixed = BagOfWordsClassifier(**SMALL, **variant, dtype="mixed_bfloat16")
    model.adapt([INPUTS]), mixed.adapt([INPUTS])
    mixed.set_weights(model.get_weights())
    logits = mixed(INPUTS)
    assert logits.dtype == "float32" and mixed.output_projection.compute_dtype == "bfloat16"
    assert all(weight.dtype == "float32" for weight in mixed.weights)
    np.testing.assert_allclose(np.array(logits), np.array(model(INPUTS)), atol=0.05)


def test_config_round_trip_and_registration():
    arguments = {**SMALL, "weighting": "count", "head": "rbf", "num_centres": 5,
                 "dropout": 0.5, "seed": 7}
    config = BagOfWordsClassifier(**arguments).get_config()
    assert {key: config[key] for key in arguments} == arguments
    assert BagOfWordsClassifier.from_config(config).get_config() == config
    assert model_class("BagOfWordsClassifier") is BagOfWordsClassifier


@pytest.mark.parametrize("batches, message", [
    ([], "at least one row"),
    ([INPUTS], "got only 2; lower `num_centres`"),
    ([{"token_ids": np.array([[1, 32]]), "padding_mask": np.array([[True, True]])}],
     "Received: token id 32"),
    ([np.array([1, 2, 3])], r"\(B, T\) integer token ids"),
])
def test_adapt_refuses_bad_data(batches, message):
    model = BagOfWordsClassifier(**SMALL, head="rbf", num_centres=3)
    with pytest.raises(ValueError, match=message):
        model.adapt(batches)


def test_adapt_ignores_out_of_range_ids_at_padded_positions():
    model = BagOfWordsClassifier(**SMALL)
    model.adapt([{"token_ids": np.array([[1, -1, 99]]),
                  "padding_mask": np.array([[True, False, False]])}])
    assert model.idf.numpy()[1] == pytest.approx(1.0)  # log(2 / 2) + 1


@pytest.mark.parametrize("override, name", [
    ({"vocabulary_size": 0}, "vocabulary_size=0"),
    ({"vocabulary_size": 10**7}, "vocabulary_size=10000000"),
    ({"sequence_length": 10**6}, "sequence_length=1000000"),
    ({"num_classes": 1}, "num_classes=1"),
    ({"weighting": "bm25"}, "weighting='bm25'"),
    ({"head": "svm"}, "head='svm'"),
    ({"num_centres": 0}, "num_centres=0"),
    ({"num_centres": 5000}, "num_centres=5000"),
    ({"dropout": -0.1}, "dropout=-0.1"),
    ({"seed": 1.5}, "seed=1.5"),
])
def test_invalid_arguments_are_named(override, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        BagOfWordsClassifier(**{**SMALL, **override})
