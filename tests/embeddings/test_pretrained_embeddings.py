"""Initialising a model's embedding table from word vectors: rows, report, frozen or trainable."""

import keras
import numpy as np
import pytest

from tfllm.data import WordVectors, WordVectorsError, write_word_vectors
from tfllm.errors import TokenizerError
from tfllm.models import GPT, LSTMLanguageModel, Word2Vec, load_pretrained_embeddings
from tfllm.tokenizers import CharTokenizer

WORDS = ["<pad>", "<unk>", "king", "Queen", "crown", "night", "day", "sword"]  # index = id
VECTORS = WordVectors(["day", "king", "queen", "night", "unused"],
                      np.arange(5 * 8, dtype="float32").reshape(5, 8) / 10)


def _lstm():
    model = LSTMLanguageModel(vocabulary_size=len(WORDS), hidden_dim=8, num_layers=1,
                              sequence_length=8)
    model({"token_ids": np.zeros((1, 8), "int32")})
    return model


def _table(layer):
    return np.array(keras.ops.convert_to_numpy(layer.embeddings))


def test_copies_the_right_rows_and_reports_found_and_missing(tmp_path):
    model = _lstm()
    before = _table(model.token_embedding)
    path = write_word_vectors(tmp_path / "v.txt", VECTORS, format="glove")
    report = load_pretrained_embeddings(model, path, WORDS, trainable=True)
    after = _table(model.token_embedding)
    for token_id, word in [(2, "king"), (3, "queen"), (5, "night"), (6, "day")]:
        np.testing.assert_array_equal(after[token_id], VECTORS[word])
    for token_id in (0, 1, 4, 7):  # no vector: the initial row stays
        np.testing.assert_array_equal(after[token_id], before[token_id])
    assert (report.found, report.missing, report.lowercase_matches) == (4, 4, 1)
    assert report.missing_words == ["<pad>", "<unk>", "crown", "sword"]
    assert report.coverage == 0.5 and report.trainable and model.token_embedding.trainable
    assert "4 of 8 vocabulary words found (50.0%" in report.summary()


def test_a_tokenizer_vocabulary_skips_its_special_tokens():
    tokenizer = CharTokenizer.from_texts(["abc"])
    vectors = WordVectors(["a", "c"], np.ones((2, 4)))
    layer = keras.layers.Embedding(tokenizer.vocabulary_size, 4)
    layer.build()
    report = load_pretrained_embeddings(layer, vectors, tokenizer)
    assert report.found == 2 and report.missing_words == ["b"]
    assert len(report.skipped_words) == len(tokenizer.special_ids)
    assert _table(layer)[tokenizer.encode("c")[0]].tolist() == [1, 1, 1, 1]


def _fit_one_step(model):
    model.compile(optimizer=keras.optimizers.SGD(0.5),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    token_ids = np.array([[2, 3, 4, 5, 6, 7, 2, 3]] * 2, "int32")
    model.fit({"token_ids": token_ids}, token_ids, epochs=1, batch_size=2, verbose=0)


@pytest.mark.parametrize("build", [
    _lstm,
    lambda: GPT(vocabulary_size=len(WORDS), sequence_length=8, num_layers=1, num_heads=2,
                hidden_dim=8, intermediate_dim=16),
])
def test_frozen_weights_do_not_change_in_a_fit_step(build, tmp_path):
    model = build()
    model({"token_ids": np.zeros((1, 8), "int32")})
    load_pretrained_embeddings(model, VECTORS, WORDS)  # frozen by default
    embedding = model.token_embedding
    frozen, others = _table(embedding), [np.array(w) for w in model.trainable_weights]
    _fit_one_step(model)
    np.testing.assert_array_equal(_table(embedding), frozen)
    assert any(not np.array_equal(a, np.array(b)) for a, b in zip(others, model.trainable_weights))
    # A .keras round trip keeps the loaded rows (the freeze itself must be set again).
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(_table(loaded.token_embedding), frozen)
    np.testing.assert_array_equal(frozen[2], VECTORS["king"])


def test_trainable_weights_are_fine_tuned():
    model = _lstm()
    load_pretrained_embeddings(model, VECTORS, WORDS, trainable=True)
    before = _table(model.token_embedding)
    _fit_one_step(model)
    assert not np.array_equal(_table(model.token_embedding), before)


def test_mismatches_are_refused_with_what_to_do():
    model = _lstm()
    with pytest.raises(TokenizerError, match="vocabulary has 3 words but the layer"):
        load_pretrained_embeddings(model, VECTORS, WORDS[:3])
    with pytest.raises(WordVectorsError, match="dimension 2 but the layer 'token_embedding' has width 8"):
        load_pretrained_embeddings(model, WordVectors(["king"], np.ones((1, 2))), WORDS)
    with pytest.raises(ValueError, match="build it"):
        load_pretrained_embeddings(keras.layers.Embedding(8, 8), VECTORS, WORDS)
    two_tables = Word2Vec(vocabulary_size=8, embedding_dim=8)
    two_tables.build({"target_ids": (2,), "context_ids": (2,), "negative_ids": (2, 3)})
    with pytest.raises(ValueError, match="Pass the layer itself"):
        load_pretrained_embeddings(two_tables, VECTORS, WORDS)
    report = load_pretrained_embeddings(two_tables.target_embedding, VECTORS, WORDS)
    assert report.found == 4


def test_summary_stays_on_one_line_when_a_newline_is_a_token():
    layer = keras.layers.Embedding(2, 8)
    layer.build()
    report = load_pretrained_embeddings(layer, VECTORS, ["\n", "king"])
    assert report.missing_words == ["\n"] and "\n" not in report.summary()
    assert "'\\n'" in report.summary()
