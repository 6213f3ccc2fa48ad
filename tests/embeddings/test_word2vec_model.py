"""The Word2Vec model: the shared harness (config, save/load with safe_mode, bf16), its logits."""

import doctest
import importlib

import keras
import numpy as np
import pytest

from tfllm.data import skipgram_dataset
from tfllm.models import Word2Vec
from tfllm.testing import run_model_test

INPUTS = {
    "target_ids": np.array([1, 2, 3, 4], "int32"),  # (B,)
    "context_ids": np.array([5, 6, 7, 8], "int32"),  # (B,)
    "negative_ids": np.array([[9, 10], [11, 12], [13, 14], [15, 0]], "int32"),  # (B, K)
}
LABELS = np.tile(np.array([[1.0, 0.0, 0.0]], "float32"), (4, 1))


def test_harness():
    outputs = run_model_test(
        Word2Vec, {"vocabulary_size": 32, "embedding_dim": 8}, INPUTS,
        expected_output_shape=(4, 3), labels=LABELS,
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        expected_num_trainable_weights=2,
    )
    assert outputs.dtype == np.float32


def test_logits_are_dot_products_of_target_and_context_vectors():
    model = Word2Vec(vocabulary_size=32, embedding_dim=8)
    logits = keras.ops.convert_to_numpy(model(INPUTS))
    targets = keras.ops.convert_to_numpy(model.target_embedding.embeddings)
    contexts = keras.ops.convert_to_numpy(model.context_embedding.embeddings)
    candidates = np.concatenate([INPUTS["context_ids"][:, None], INPUTS["negative_ids"]], axis=1)
    expected = np.einsum("bd,bkd->bk", targets[INPUTS["target_ids"]], contexts[candidates])
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.word_vectors(), targets)


def test_save_and_load_with_safe_mode(tmp_path):
    model = Word2Vec(vocabulary_size=32, embedding_dim=8, name="w2v")
    expected = keras.ops.convert_to_numpy(model(INPUTS))
    model.save(tmp_path / "w2v.keras")
    loaded = keras.saving.load_model(tmp_path / "w2v.keras", safe_mode=True)
    assert isinstance(loaded, Word2Vec) and loaded.get_config() == model.get_config()
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(INPUTS)), expected, atol=1e-6)


def test_training_on_the_pipeline_separates_co_occurring_words():
    # Two "topics": ids 0-9 only ever appear next to ids 0-9, ids 10-19 next to 10-19.
    rng = np.random.default_rng(0)
    ids = np.concatenate([rng.integers(0, 10, 50) if i % 2 else rng.integers(10, 20, 50)
                          for i in range(40)])
    dataset = skipgram_dataset(ids, 20, window_size=2, num_negatives=3, batch_size=64,
                               subsample=None)
    model = Word2Vec(vocabulary_size=20, embedding_dim=8)
    model.compile(optimizer=keras.optimizers.Adam(0.05),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    model.fit(dataset, epochs=1, steps_per_epoch=60, shuffle=False, verbose=0)
    vectors = model.word_vectors()
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    cosine = unit @ unit.T
    same = (np.arange(20)[:, None] < 10) == (np.arange(20)[None, :] < 10)
    off_diagonal = ~np.eye(20, dtype=bool)
    assert cosine[same & off_diagonal].mean() > cosine[~same].mean() + 0.3


@pytest.mark.parametrize("kwargs,message", [
    ({"vocabulary_size": 0, "embedding_dim": 8}, "vocabulary_size=0"),
    ({"vocabulary_size": 8, "embedding_dim": 2.5}, "embedding_dim=2.5"),
    ({"vocabulary_size": 8, "embedding_dim": 4, "embeddings_initializer": "nope"},
     "embeddings_initializer='nope'"),
])
def test_bad_constructor_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Word2Vec(**kwargs)


def test_bad_inputs_are_named():
    model = Word2Vec(vocabulary_size=32, embedding_dim=8)
    with pytest.raises(ValueError, match=r"Received: \['context_ids', 'target_ids'\]"):
        model({"target_ids": INPUTS["target_ids"], "context_ids": INPUTS["context_ids"]})
    with pytest.raises(ValueError, match="unbuilt"):
        Word2Vec(vocabulary_size=32, embedding_dim=8).word_vectors()


@pytest.mark.parametrize("name", ["tfllm.models.word2vec", "tfllm.models.pretrained_embeddings",
                                  "tfllm.data.word_vectors", "tfllm.data.skipgram_dataset",
                                  "tfllm.data.word_vector_queries", "tfllm.export.vectors_directory",
                                  "tfllm.export.embedding_projector"])
def test_docstring_examples_run(name):
    # importlib: `tfllm.data.skipgram_dataset` as an attribute is the function, not the module.
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
