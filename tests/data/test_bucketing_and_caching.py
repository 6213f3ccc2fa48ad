"""Variable-length pipelines: tokenized (and cached) texts, bucketing by length, throughput."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data.bucketing import bucketed_dataset
from tfllm.data.packing import packed_dataset
from tfllm.data.pipeline_throughput import pipeline_throughput
from tfllm.data.shakespeare import load_plays
from tfllm.data.tokenized_dataset import tokenized_dataset
from tfllm.tokenizers import CharTokenizer

LENGTHS = (8, 16, 32)


@pytest.fixture(scope="module")
def lines():
    text = next(play for play in load_plays() if play.slug == "macbeth").text[:6000]
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def tokenizer(lines):
    return CharTokenizer.from_texts(lines)


def _numpy(dataset):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset]


def test_tokenized_dataset_matches_eager_tokenize(lines, tokenizer):
    dataset = tokenized_dataset(lines, tokenizer, batch_size=7)
    assert dataset.element_spec == tf.TensorSpec([None], tf.int32)
    got = list(dataset.as_numpy_iterator())
    assert len(got) == len(lines)
    for line, ids in zip(lines, got):
        assert ids.tolist() == tokenizer.encode(line)


@pytest.mark.parametrize("cache", ["memory", "file"])
def test_cache_reads_the_same_ids_and_reuses_the_file(lines, tokenizer, tmp_path, cache):
    path = str(tmp_path / "ids") if cache == "file" else "memory"
    dataset = tokenized_dataset(lines[:50], tokenizer, cache=path)
    first = list(dataset.as_numpy_iterator())
    second = list(dataset.as_numpy_iterator())
    assert all(np.array_equal(a, b) for a, b in zip(first, second)) and len(first) == 50
    if cache == "file":
        assert (tmp_path / "ids.index").exists()
        # A new pipeline over *different* texts but the same cache file reads the cached ids:
        # the file, not the texts, is the source once it exists (hence one path per corpus).
        reused = list(tokenized_dataset(["zzz"], tokenizer, cache=path).as_numpy_iterator())
        assert len(reused) == 50 and np.array_equal(reused[0], first[0])


def test_cache_argument_errors(lines, tokenizer, tmp_path):
    with pytest.raises(ValueError, match="folder that does not exist"):
        tokenized_dataset(lines, tokenizer, cache=str(tmp_path / "missing" / "ids"))
    with pytest.raises(ValueError, match="cache must be None, 'memory'"):
        tokenized_dataset(lines, tokenizer, cache=3)
    with pytest.raises(TypeError, match="texts must be a list of str"):
        tokenized_dataset("one string", tokenizer)


def test_bucketing_shapes_labels_and_weights(lines, tokenizer):
    sequences = tokenized_dataset(lines, tokenizer)
    batches = _numpy(bucketed_dataset(sequences, LENGTHS, batch_size=4))
    widths = {x["token_ids"].shape[1] for x, _, _ in batches}
    assert widths <= set(LENGTHS) and len(widths) > 1
    seen = []
    for x, labels, weights in batches:
        tokens, mask = x["token_ids"], x["padding_mask"]
        assert tokens.dtype == np.int32 and mask.dtype == bool and weights.dtype == np.float32
        assert 1 <= tokens.shape[0] <= 4 and labels.shape == tokens.shape == weights.shape
        width = tokens.shape[1]
        targets = weights.sum(axis=1).astype(int)  # L - 1 for a sequence of L tokens
        smaller = [t for t in LENGTHS if t < width]
        # Each sequence is in the smallest bucket that holds its targets.
        assert (targets <= width).all() and (not smaller or (targets > max(smaller)).all())
        for row in range(tokens.shape[0]):
            n = targets[row]
            assert (weights[row, :n] == 1).all() and (weights[row, n:] == 0).all()
            # The last token is a real input too when the row has room (its label is padding).
            assert mask[row].sum() == min(n + 1, width) and mask[row, :n].all()
            assert (labels[row, n:] == 0).all() and (tokens[row, n + 1:] == 0).all()
            np.testing.assert_array_equal(labels[row, : n - 1], tokens[row, 1:n])
            seen.append(np.append(tokens[row, :n], labels[row, n - 1]).tolist())
    # Every line with a target is there once, cut to max T + 1 tokens.
    expected = [tokenizer.encode(line)[: LENGTHS[-1] + 1] for line in lines]
    assert sorted(seen) == sorted(ids for ids in expected if len(ids) >= 2)


def test_bucketing_drop_remainder_and_per_bucket_batch_sizes(lines, tokenizer):
    sequences = tokenized_dataset(lines, tokenizer)
    batches = _numpy(bucketed_dataset(sequences, LENGTHS, batch_size=[8, 4, 2], drop_remainder=True))
    sizes = {8: 8, 16: 4, 32: 2}
    assert batches and all(x["token_ids"].shape[0] == sizes[x["token_ids"].shape[1]]
                           for x, _, _ in batches)
    with pytest.raises(ValueError, match="strictly increasing"):
        bucketed_dataset(sequences, (16, 8), 4)
    with pytest.raises(ValueError, match="one positive int per bucket"):
        bucketed_dataset(sequences, LENGTHS, [4, 4])
    with pytest.raises(ValueError, match="1-D integer tensors"):
        bucketed_dataset(tf.data.Dataset.from_tensor_slices(["text"]), LENGTHS, 4)


def test_pipeline_throughput_counts_tokens(lines, tokenizer):
    ids = [np.asarray(tokenizer.encode(line), np.int32) for line in lines]
    dataset = packed_dataset(ids, 32, 4, end_id=tokenizer.eos_id, repeat=True)
    result = pipeline_throughput(dataset, num_batches=10, warmup_batches=2)
    assert result.batches == 10 and result.tokens == 10 * 4 * 32 == result.real_tokens
    assert result.seconds > 0 and result.tokens_per_second > 0
    finite = pipeline_throughput(bucketed_dataset(tokenized_dataset(lines, tokenizer), LENGTHS, 4),
                                 num_batches=10_000, warmup_batches=0)
    assert finite.real_tokens < finite.tokens  # bucket padding is counted apart
    with pytest.raises(ValueError, match="no batch after 10000"):
        pipeline_throughput(dataset.take(3), warmup_batches=10_000)
