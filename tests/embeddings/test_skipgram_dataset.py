"""The skip-gram pipeline: pairs inside the window, negatives by frequency, subsampling, seeds."""

import numpy as np
import pytest

from tfllm.data import skipgram_dataset
from tfllm.data.skipgram_dataset import keep_probabilities, negative_sampling_distribution
from tfllm.errors import CorpusError


def _pairs(dataset):
    targets, contexts, negatives = [], [], []
    for x, labels in dataset:
        targets.append(x["target_ids"].numpy())
        contexts.append(x["context_ids"].numpy())
        negatives.append(x["negative_ids"].numpy())
    return np.concatenate(targets), np.concatenate(contexts), np.concatenate(negatives)


def test_pairs_lie_within_the_window_and_cover_every_neighbour():
    # Every id occurs once, so an id is its position and a pair's offset is context - target.
    ids = np.arange(60)
    dataset = skipgram_dataset(ids, 60, window_size=3, num_negatives=2, batch_size=1,
                               subsample=None, repeat=False)
    targets, contexts, _ = _pairs(dataset)
    offsets = contexts - targets
    assert set(np.abs(offsets)) <= {1, 2, 3} and np.all(offsets != 0)
    # Every target's reach is at least 1, so all 2 * 59 adjacent pairs appear exactly once.
    adjacent = {(t, c) for t, c in zip(targets, contexts) if abs(t - c) == 1}
    assert len(adjacent) == 2 * 59 and np.sum(np.abs(offsets) == 1) == 2 * 59
    # The dynamic window uses offset d with probability (W - d + 1) / W: fewer far pairs.
    counts = [np.sum(np.abs(offsets) == d) for d in (1, 2, 3)]
    assert counts[0] > counts[1] > counts[2] > 0


def test_labels_mark_the_context_and_shapes_are_static():
    ids = np.random.default_rng(0).integers(0, 20, size=500)
    dataset = skipgram_dataset(ids, 20, window_size=2, num_negatives=4, batch_size=8)
    spec = dataset.element_spec
    assert spec[0]["negative_ids"].shape == (8, 4) and spec[1].shape == (8, 5)
    _, labels = next(iter(dataset))
    np.testing.assert_array_equal(labels.numpy(), np.tile([1, 0, 0, 0, 0], (8, 1)))


def test_negatives_follow_counts_to_the_three_quarters():
    rng = np.random.default_rng(0)
    probabilities = np.array([0, 0.5, 0.25, 0.15, 0.1])  # id 0 never occurs
    ids = rng.choice(5, size=4000, p=probabilities)
    dataset = skipgram_dataset(ids, 5, window_size=2, num_negatives=10, batch_size=256,
                               subsample=None)
    _, _, negatives = _pairs(dataset.take(40))
    observed = np.bincount(negatives.ravel(), minlength=5) / negatives.size
    expected = negative_sampling_distribution(np.bincount(ids, minlength=5), 0.75)
    assert observed[0] == 0
    # 102,400 draws: the standard error of each share is under 0.002.
    np.testing.assert_allclose(observed, expected, atol=0.01)
    # And it is not the plain unigram distribution: 0.75 flattens it.
    assert observed[1] < probabilities[1] - 0.03


def test_ignored_ids_never_appear():
    ids = np.random.default_rng(1).integers(0, 10, size=2000)
    dataset = skipgram_dataset(ids, 10, window_size=2, num_negatives=3, batch_size=64,
                               ignore_ids=[0, 1], subsample=None)
    for values in _pairs(dataset.take(10)):
        assert not np.isin(values, [0, 1]).any()


def test_subsampling_drops_frequent_words_at_word2vecs_rate():
    rng = np.random.default_rng(2)
    ids = np.where(rng.random(20000) < 0.5, 0, rng.integers(1, 200, size=20000))
    counts = np.bincount(ids, minlength=200)
    keep = keep_probabilities(counts, 1e-2)
    assert keep[0] == pytest.approx((np.sqrt(0.5 / 1e-2) + 1) * 1e-2 / 0.5, rel=0.05) and keep[5] == 1
    targets, _, _ = _pairs(skipgram_dataset(ids, 200, window_size=1, num_negatives=1,
                                            batch_size=1, subsample=1e-2, repeat=False))
    # With window 1 a kept token is the target of 2 pairs (1 at either end of the stream).
    kept_frequent = np.sum(targets == 0) / 2
    assert kept_frequent / counts[0] == pytest.approx(keep[0], abs=0.02)
    assert np.sum(targets != 0) / 2 == pytest.approx(np.sum(counts[1:]), rel=0.01)


def test_same_seed_same_batches_and_passes_differ():
    ids = np.random.default_rng(3).integers(0, 30, size=400)

    def first_batches(seed):
        dataset = skipgram_dataset(ids, 30, window_size=2, num_negatives=2, batch_size=16, seed=seed)
        return [x["target_ids"].numpy() for x, _ in dataset.take(60)]

    a, b, c = first_batches(7), first_batches(7), first_batches(8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(token_ids=np.arange(10), vocabulary_size=5), ValueError, r"\[0, vocabulary_size=5\)"),
    (dict(token_ids=np.arange(10), vocabulary_size=10, batch_size=64), CorpusError, "batch_size=64"),
    (dict(token_ids=np.arange(100), vocabulary_size=100, window_size=0), ValueError, "window_size=0"),
    (dict(token_ids=np.arange(100), vocabulary_size=100, subsample=0), ValueError, "subsample=0"),
    (dict(token_ids=np.ones((2, 2), int), vocabulary_size=3), ValueError, "1-D array"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    kwargs.setdefault("batch_size", 4)
    with pytest.raises(error, match=message):
        skipgram_dataset(**kwargs)
