"""Packing: rows hold every token once, segment ids number documents, and under a document mask
no position attends to or predicts a token of another document."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data.packing import packed_dataset, segment_attention_mask
from tfllm.errors import CorpusError

END, PAD, T, B = 1, 0, 8, 3


def _documents(seed=0, count=12):
    # Ids >= 10 name their document (id // 10 - 1 = document index, cycling at 9 documents is
    # avoided by using index * 100), so a test can tell which document any token came from.
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 14, size=count)
    return [np.full(n, 100 * (i + 1), np.int32) + np.arange(n) for i, n in enumerate(lengths)]


def _all_batches(dataset):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset]


def _document_of(token):
    return token // 100 - 1  # -1 for END and PAD


def test_rows_cover_the_stream_once_with_shapes_and_dtypes():
    documents = _documents()
    dataset = packed_dataset(documents, T, B, end_id=END)
    x_spec, label_spec, weight_spec = dataset.element_spec
    assert x_spec["token_ids"].dtype == tf.int32 and x_spec["segment_ids"].dtype == tf.int32
    assert x_spec["padding_mask"].dtype == tf.bool and weight_spec.dtype == tf.float32
    batches = _all_batches(dataset)
    stream = np.concatenate([np.append(d, END) for d in documents])
    inputs = np.concatenate([x["token_ids"][x["padding_mask"]] for x, _, _ in batches])
    # Every token once, in order; the final END is an input too when the last row has room
    # for it (its label is padding, weight 0), as in lm_dataset's "eval" windows.
    assert len(inputs) in (len(stream) - 1, len(stream))
    np.testing.assert_array_equal(inputs, stream[: len(inputs)])
    for x, labels, _ in batches:
        assert x["token_ids"].shape[1] == T and labels.shape == x["token_ids"].shape
        np.testing.assert_array_equal(labels[:, :-1][x["padding_mask"][:, 1:]],
                                      x["token_ids"][:, 1:][x["padding_mask"][:, 1:]])
    # Only the tail of the very last row is padding.
    masks = np.concatenate([x["padding_mask"] for x, _, _ in batches]).reshape(-1)
    assert masks[: masks.sum()].all() and not masks[masks.sum():].any()


def test_document_mask_never_mixes_documents():
    documents = _documents(seed=1, count=20)
    batches = _all_batches(packed_dataset(documents, T, B, end_id=END, document_mask=True))
    num_targets = 0
    for x, labels, weights in batches:
        tokens, segments = x["token_ids"], x["segment_ids"]
        # The document owning each input position: END belongs to the document it ends.
        owner = np.where(tokens == END, -2, _document_of(tokens))
        for row in range(tokens.shape[0]):
            for i in range(T):
                if owner[row, i] == -2:  # END: same document as the token before it, if any
                    owner[row, i] = owner[row, i - 1] if i else -3
        # Segment ids: 0 exactly on padding, 1, 2, ... in order of appearance in each row.
        np.testing.assert_array_equal(segments == 0, ~x["padding_mask"])
        for row in range(tokens.shape[0]):
            real = x["padding_mask"][row]
            assert segments[row, real][0] == 1
            assert set(np.diff(segments[row, real])) <= {0, 1}
        mask = segment_attention_mask(segments).numpy()  # (B, T, T)
        for b, i, j in zip(*np.nonzero(mask)):
            assert j <= i and segments[b, i] == segments[b, j] > 0
            if owner[b, i] >= 0 and owner[b, j] >= 0:
                assert owner[b, i] == owner[b, j]  # attention never crosses a document
        # A weighted label is the next token of the same document (or its END).
        for b, i in zip(*np.nonzero(weights)):
            label = labels[b, i]
            assert label == END or _document_of(label) == _document_of(tokens[b, i])
            assert tokens[b, i] != END  # END would predict the next document: weight 0
        num_targets += int(weights.sum())
    # Every target except the first token of each document after the first is trained.
    stream_targets = sum(len(d) + 1 for d in documents) - 1
    assert num_targets == stream_targets - (len(documents) - 1)


def test_without_document_mask_rows_are_one_segment():
    documents = _documents(seed=2)
    batches = _all_batches(packed_dataset(documents, T, B, end_id=END, document_mask=False))
    total = 0
    for x, labels, weights in batches:
        np.testing.assert_array_equal(x["segment_ids"], x["padding_mask"].astype(np.int32))
        total += weights.sum()
    assert total == sum(len(d) + 1 for d in documents) - 1  # every real next token


def test_segment_attention_mask_values():
    segments = tf.constant([[1, 1, 2, 2, 0]])
    expected = np.array([
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0],
    ], bool)
    np.testing.assert_array_equal(segment_attention_mask(segments).numpy()[0], expected)
    with pytest.raises(ValueError, match="segment_ids must have shape"):
        segment_attention_mask(tf.constant([1, 2]))


def test_inputs_ragged_and_dataset_agree_and_shuffle_is_seeded():
    documents = _documents(seed=3)
    from_list = _all_batches(packed_dataset(documents, T, B, end_id=END))
    ragged = tf.ragged.constant([d.tolist() for d in documents])
    from_ragged = _all_batches(packed_dataset(ragged, T, B, end_id=END))
    from_dataset = _all_batches(packed_dataset(
        tf.data.Dataset.from_tensor_slices(ragged).map(lambda d: d), T, B, end_id=END))
    for other in (from_ragged, from_dataset):
        for a, b in zip(tf.nest.flatten(from_list), tf.nest.flatten(other)):
            np.testing.assert_array_equal(a, b)
    first = _all_batches(packed_dataset(documents, T, B, end_id=END, shuffle=True, seed=5,
                                        drop_remainder=True))
    second = _all_batches(packed_dataset(documents, T, B, end_id=END, shuffle=True, seed=5,
                                         drop_remainder=True))
    for a, b in zip(tf.nest.flatten(first), tf.nest.flatten(second)):
        np.testing.assert_array_equal(a, b)
    assert all(x["token_ids"].shape == (B, T) for x, _, _ in first)


def test_bad_arguments():
    with pytest.raises(CorpusError, match="no tokens"):
        packed_dataset([np.array([], np.int32)], T, B, end_id=END)
    with pytest.raises(ValueError, match="`sequence_length` must be a positive integer. "
                                         "Received: sequence_length=0"):
        packed_dataset(_documents(), 0, B, end_id=END)
    with pytest.raises(ValueError, match="`end_id` must be an integer >= 0. Received: end_id=-1"):
        packed_dataset(_documents(), T, B, end_id=-1)
    with pytest.raises(ValueError, match="document 1 with shape"):
        packed_dataset([np.array([1, 2]), np.array([[1, 2]])], T, B, end_id=END)
    with pytest.raises(TypeError, match="documents must be"):
        packed_dataset("some text", T, B, end_id=END)
