"""The LM pipeline on real text: shapes, shifted labels, seeded determinism, eval coverage."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data import lm_dataset, tokenize_corpus_text
from tfllm.data.shakespeare import load_plays
from tfllm.tokenizers import CharTokenizer

T, B = 16, 8


@pytest.fixture(scope="module")
def tokenizer_and_ids():
    text = next(play for play in load_plays() if play.slug == "macbeth").text[:20_000]
    tokenizer = CharTokenizer.from_texts([text])
    return tokenizer, tokenize_corpus_text(tokenizer, text)


@pytest.fixture(scope="module")
def ids(tokenizer_and_ids):
    return tokenizer_and_ids[1]


def _take(dataset, n):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset.take(n)]


def test_tokenize_corpus_text(tokenizer_and_ids):
    tokenizer, ids = tokenizer_and_ids
    assert ids.dtype == np.int32 and ids.ndim == 1 and len(ids) == 20_000
    assert tokenizer.decode(ids[:50]) == tokenizer.decode(tokenizer.encode(tokenizer.decode(ids[:50])))
    with pytest.raises(ValueError, match="empty"):
        tokenize_corpus_text(tokenizer, "")


@pytest.mark.parametrize("windows", ["random", "all"])
def test_training_batches(ids, windows):
    dataset = lm_dataset(ids, T, B, windows=windows, seed=7)
    x_spec, label_spec, weight_spec = dataset.element_spec
    assert x_spec["token_ids"].shape == (B, T) and x_spec["token_ids"].dtype == tf.int32
    assert x_spec["padding_mask"].shape == (B, T) and x_spec["padding_mask"].dtype == tf.bool
    assert label_spec.shape == (B, T) and label_spec.dtype == tf.int32
    assert weight_spec.shape == (B, T) and weight_spec.dtype == tf.float32
    text = "".join(map(chr, ids))  # a searchable copy of the stream
    for x, labels, weights in _take(dataset, 5):
        np.testing.assert_array_equal(labels[:, :-1], x["token_ids"][:, 1:])
        assert x["padding_mask"].all() and (weights == 1).all()
        for row_x, row_y in zip(x["token_ids"], labels):
            window = "".join(map(chr, np.concatenate([row_x, row_y[-1:]])))
            assert window in text  # T + 1 consecutive tokens of the stream


@pytest.mark.parametrize("windows", ["random", "all"])
def test_deterministic_under_seed(ids, windows):
    first = _take(lm_dataset(ids, T, B, windows=windows, seed=3), 6)
    second = _take(lm_dataset(ids, T, B, windows=windows, seed=3), 6)
    other = _take(lm_dataset(ids, T, B, windows=windows, seed=4), 6)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a[0]["token_ids"], b[0]["token_ids"])
        np.testing.assert_array_equal(a[1], b[1])
    assert any((a[0]["token_ids"] != c[0]["token_ids"]).any() for a, c in zip(first, other))


def _windows(batches):
    """Each (T + 1)-token window of `batches` as a tuple: inputs plus the last label."""
    return [tuple(row_x) + (row_y[-1],) for x, labels, _ in batches
            for row_x, row_y in zip(x["token_ids"].tolist(), labels.tolist())]


def test_all_windows_cover_every_position_once_per_pass(ids):
    num_windows = (len(ids) - 1) // T
    expected = collections.Counter(tuple(ids[k * T:k * T + T + 1].tolist()) for k in range(num_windows))
    # Repeated: the first pass is every stride-T window exactly once, then a new order.
    stream = _windows(_take(lm_dataset(ids, T, B, windows="all", seed=1), -(-2 * num_windows // B)))
    assert collections.Counter(stream[:num_windows]) == expected
    assert collections.Counter(stream[num_windows:2 * num_windows]) == expected
    assert stream[:num_windows] != stream[num_windows:2 * num_windows]  # reshuffled each pass
    assert stream[:B] != [tuple(ids[k * T:k * T + T + 1].tolist()) for k in range(B)]  # shuffled
    # One pass without repeat: full batches only, no window twice.
    single = _windows(_take(lm_dataset(ids, T, B, windows="all", seed=1, repeat=False), 10**6))
    assert len(single) == num_windows // B * B
    assert not collections.Counter(single) - expected


def test_eval_scores_every_token_exactly_once(tokenizer_and_ids):
    tokenizer, ids = tokenizer_and_ids
    ids = ids[: 10 * T + 5]  # a partial final window
    batches = _take(lm_dataset(ids, T, 4, windows="eval"), 100)
    assert [len(b[1]) for b in batches] == [4, 4, 3]  # 11 windows, last batch kept
    token_ids = np.concatenate([b[0]["token_ids"] for b in batches])
    labels = np.concatenate([b[1] for b in batches])
    weights = np.concatenate([b[2] for b in batches])
    mask = np.concatenate([b[0]["padding_mask"] for b in batches])
    assert weights.sum() == len(ids) - 1
    np.testing.assert_array_equal(labels.reshape(-1)[weights.reshape(-1) > 0], ids[1:])
    np.testing.assert_array_equal(token_ids.reshape(-1)[mask.reshape(-1)], ids)
    assert (token_ids[-1][~mask[-1]] == tokenizer.pad_id).all()
    # In order and not repeated: a second pass gives the same batches.
    second = _take(lm_dataset(ids, T, 4, windows="eval"), 100)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in second]), labels)


def test_eval_on_text_shorter_than_a_window(ids):
    ((x, labels, weights),) = _take(lm_dataset(ids[:5], T, 4, windows="eval"), 10)
    assert x["token_ids"].shape == (1, T) and weights.sum() == 4


def test_invalid_arguments_name_themselves(ids):
    with pytest.raises(ValueError, match="sequence_length"):
        lm_dataset(ids[:T], T, B)
    with pytest.raises(ValueError, match="sequence_length"):
        lm_dataset(ids, 0, B)
    with pytest.raises(ValueError, match="batch_size"):
        lm_dataset(ids, T, -1)
    with pytest.raises(ValueError, match="windows"):
        lm_dataset(ids, T, B, windows="sliding")
    with pytest.raises(ValueError, match="token_ids"):
        lm_dataset(ids.reshape(100, -1), T, B)
    with pytest.raises(ValueError, match="shuffle_buffer"):
        lm_dataset(ids, T, B, windows="all", shuffle_buffer=0)
    with pytest.raises(ValueError, match="batch_size"):
        lm_dataset(ids[: 3 * T + 1], T, B, windows="all", repeat=False)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        lm_dataset(ids[:1], T, B, windows="eval")
