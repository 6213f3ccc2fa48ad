"""Seq2seq pair pipelines: teacher forcing, masks, long pairs, bucketing, shuffling, limits."""

import collections
import doctest
import importlib
import logging

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data import Document, load_plays
from tfllm.data.pair_dataset import (
    bucket_boundaries_for,
    count_long_pairs,
    pair_dataset,
    pair_lengths,
)
from tfllm.data.restoration_pairs import RestorationPair, restoration_pairs
from tfllm.tokenizers import build_tokenizer

SYNTHETIC = [("to be", "To be!"), ("or not", "or not?"), ("o", "O,"),
             ("alas poor yorick", "Alas, poor Yorick!"), ("i knew him", "I knew him,"),
             ("horatio", "Horatio:"), ("a", "a"), ("well", "Well.")]


@pytest.fixture(scope="module")
def macbeth_pairs():
    play = next(play for play in load_plays() if play.slug == "macbeth")
    return restoration_pairs([Document(name=play.slug, text=play.text)])[:400]


@pytest.fixture(scope="module")
def tokenizer(macbeth_pairs):
    return build_tokenizer("char", [p.target for p in macbeth_pairs] + [t for _, t in SYNTHETIC])


def _batches(dataset):
    return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset]


def _text(ids, tokenizer):
    """`tokenizer.decode(ids)` for a char tokenizer, in NumPy: tokenizer.decode runs eager ops
    per call, far slower over hundreds of rows."""
    vocabulary, special = tokenizer.vocabulary, set(tokenizer.special_ids.values())
    return "".join(vocabulary[i] for i in ids.tolist() if i not in special)


def _decoded_pairs(batches, tokenizer):
    """(source, target) of every row, the target read back from the labels."""
    return [(_text(x["encoder_token_ids"][row], tokenizer), _text(labels[row], tokenizer))
            for x, labels, _ in batches for row in range(labels.shape[0])]


def test_teacher_forcing_alignment_and_masks(tokenizer):
    batches = _batches(pair_dataset(SYNTHETIC, tokenizer, source_length=20, target_length=24,
                                    batch_size=3))
    assert [b[1].shape for b in batches] == [(3, 24), (3, 24), (2, 24)]
    for x, labels, weights in batches:
        tokens, mask = x["token_ids"], x["padding_mask"]
        assert tokens.dtype == labels.dtype == x["encoder_token_ids"].dtype == np.int32
        assert mask.dtype == x["encoder_padding_mask"].dtype == bool and weights.dtype == np.float32
        assert x["encoder_token_ids"].shape[1] == 20
        assert (tokens[:, 0] == tokenizer.bos_id).all()
        # token_ids[1:] == labels[:-1] wherever both are real; the last real label is eos.
        both = mask[:, 1:] & mask[:, :-1]
        assert (tokens[:, 1:][both] == labels[:, :-1][both]).all()
        lengths = mask.sum(axis=1)
        assert (labels[np.arange(len(labels)), lengths - 1] == tokenizer.eos_id).all()
        assert (weights == mask).all() and (mask == (np.arange(24) < lengths[:, None])).all()
        for ids, real in ((tokens, mask), (labels, mask),
                          (x["encoder_token_ids"], x["encoder_padding_mask"])):
            assert (ids[~real] == tokenizer.pad_id).all() and (ids[real] != tokenizer.pad_id).all()
    assert _decoded_pairs(batches, tokenizer) == SYNTHETIC
    encoder_lengths = np.concatenate([x["encoder_padding_mask"].sum(axis=1) for x, _, _ in batches])
    assert encoder_lengths.tolist() == [len(s) for s, _ in SYNTHETIC]  # no bos / eos on sources


def test_restoration_pairs_and_tuples_give_the_same_batches(tokenizer):
    pairs = [RestorationPair(source=s, target=t, document="x") for s, t in SYNTHETIC]
    def build(pairs):
        return _batches(pair_dataset(pairs, tokenizer, source_length=20, target_length=24,
                                     batch_size=4))

    for (x1, l1, w1), (x2, l2, w2) in zip(build(pairs), build(SYNTHETIC)):
        assert all((x1[k] == x2[k]).all() for k in x1) and (l1 == l2).all() and (w1 == w2).all()


def test_long_pairs_are_dropped_counted_and_logged(tokenizer, caplog):
    # "alas poor yorick" has 16 source ids; "Alas, poor Yorick!" 18 target ids (19 positions).
    sizes = dict(source_length=12, target_length=12)
    lengths = pair_lengths(SYNTHETIC, tokenizer)
    assert lengths.source.tolist() == [len(s) for s, _ in SYNTHETIC]
    assert lengths.decoder.tolist() == [len(t) + 1 for _, t in SYNTHETIC]
    assert count_long_pairs(SYNTHETIC, tokenizer, **sizes) == 1
    assert count_long_pairs(SYNTHETIC, tokenizer, source_length=16, target_length=19) == 0
    assert count_long_pairs(SYNTHETIC, tokenizer, source_length=15, target_length=19) == 1
    assert count_long_pairs(SYNTHETIC, tokenizer, source_length=16, target_length=18) == 1
    with caplog.at_level(logging.INFO, logger="tfllm.data"):
        batches = _batches(pair_dataset(SYNTHETIC, tokenizer, batch_size=8, **sizes))
    assert "left out 1 of 8 pairs" in caplog.text
    kept = [pair for pair in SYNTHETIC if not pair[0].startswith("alas")]
    assert _decoded_pairs(batches, tokenizer) == kept
    with pytest.raises(ValueError, match=r"longest source has 16 tokens \(pairs\[3\]"):
        pair_dataset(SYNTHETIC, tokenizer, batch_size=8, drop_long=False, **sizes)
    with pytest.raises(ValueError, match="No pair fits"):
        pair_dataset(SYNTHETIC, tokenizer, batch_size=8, source_length=1, target_length=1)


def test_bucketing_pads_each_batch_to_its_bucket_and_visits_every_pair_once(macbeth_pairs,
                                                                          tokenizer):
    source_length, target_length = 48, 64
    lengths = pair_lengths(macbeth_pairs, tokenizer)
    boundaries = bucket_boundaries_for(lengths.decoder, target_length, buckets=4)
    assert len(boundaries) >= 3 and boundaries[-1] == target_length
    widths = {b: -(-b * source_length // target_length) for b in boundaries}
    dataset = pair_dataset(macbeth_pairs, tokenizer, source_length=source_length,
                           target_length=target_length, batch_size=16,
                           bucket_boundaries=boundaries)
    batches = _batches(dataset)
    shapes = collections.Counter((x["encoder_token_ids"].shape[1], labels.shape[1])
                                 for x, labels, _ in batches)
    assert set(shapes) <= {(widths[b], b) for b in boundaries} and len(shapes) >= 3
    for x, labels, weights in batches:
        width = labels.shape[1]
        smaller = [b for b in boundaries if b < width]
        real = weights.sum(axis=1)
        sources = x["encoder_padding_mask"].sum(axis=1)
        # Each pair is in the first bucket that holds both its sides.
        assert (real <= width).all() and (sources <= widths[width]).all()
        if smaller:
            fits_smaller = (real <= smaller[-1]) & (sources <= widths[smaller[-1]])
            assert not fits_smaller.any()
    kept = [(p.source, p.target) for p, s, d in zip(macbeth_pairs, lengths.source, lengths.decoder)
            if s <= source_length and d <= target_length]
    assert len(kept) == len(macbeth_pairs) - count_long_pairs(
        macbeth_pairs, tokenizer, source_length=source_length, target_length=target_length)
    assert collections.Counter(_decoded_pairs(batches, tokenizer)) == collections.Counter(kept)


def test_without_buckets_every_batch_has_the_full_shape_in_order(macbeth_pairs, tokenizer):
    dataset = pair_dataset(macbeth_pairs, tokenizer, source_length=64, target_length=72,
                           batch_size=64)
    assert dataset.element_spec[1].shape.as_list() == [None, 72]
    assert int(dataset.cardinality()) == -(-len(macbeth_pairs) // 64)  # known: 7 batches
    batches = _batches(dataset)
    shapes = {(x["encoder_token_ids"].shape[1], labels.shape[1]) for x, labels, _ in batches}
    assert shapes == {(64, 72)}
    assert _decoded_pairs(batches, tokenizer) == [(p.source, p.target) for p in macbeth_pairs]


def test_seeded_shuffle_is_reproducible_and_repeat_is_endless(macbeth_pairs, tokenizer):
    def first_batches(seed, count=4, **options):
        dataset = pair_dataset(macbeth_pairs, tokenizer, source_length=64, target_length=72,
                               batch_size=32, shuffle=True, seed=seed, repeat=True, **options)
        return [labels for _, labels, _ in _batches(dataset.take(count))], dataset

    first, dataset = first_batches(1)
    again, _ = first_batches(1)
    other, _ = first_batches(2)
    assert all((a == b).all() for a, b in zip(first, again))
    assert not all((a == b).all() for a, b in zip(first, other))
    assert dataset.element_spec[1].shape.as_list() == [32, 72]  # static for a compiled step
    # Endless: more batches than one pass holds, every pair seen in the first pass's worth.
    passes = len(macbeth_pairs) // 32 * 3
    labels, _ = first_batches(1, count=passes)
    targets = {_text(row, tokenizer) for batch in labels for row in batch}
    assert len(labels) == passes and targets == {p.target for p in macbeth_pairs}
    bucketed, _ = first_batches(1, bucket_boundaries=(32, 72))
    assert {batch.shape for batch in bucketed} <= {(32, 32), (32, 72)}


def test_argument_errors(tokenizer, monkeypatch):
    sizes = dict(source_length=8, target_length=8, batch_size=2)
    with pytest.raises(ValueError, match="bucket_boundaries must be"):
        pair_dataset(SYNTHETIC, tokenizer, bucket_boundaries=(4, 6), **sizes)
    with pytest.raises(ValueError, match="bucket_boundaries must be"):
        pair_dataset(SYNTHETIC, tokenizer, bucket_boundaries=(6, 4, 8), **sizes)
    with pytest.raises(ValueError, match="pairs must be a non-empty list"):
        pair_dataset([], tokenizer, **sizes)
    with pytest.raises(TypeError, match=r"Received: pairs\[1\]"):
        pair_dataset([("a", "A"), ("b", 3)], tokenizer, **sizes)
    with pytest.raises(ValueError, match=r"at least one token.*pairs\[0\]"):
        pair_dataset([("", "!")], tokenizer, **sizes)
    with pytest.raises(ValueError, match="batch_size"):
        pair_dataset(SYNTHETIC, tokenizer, source_length=8, target_length=8, batch_size=0)
    with pytest.raises(ValueError, match="shuffle"):
        pair_dataset(SYNTHETIC, tokenizer, shuffle="yes", **sizes)
    with pytest.raises(ValueError, match="TFLLM_MAX_SEQUENCE_LENGTH"):
        pair_dataset(SYNTHETIC, tokenizer, source_length=10**6, target_length=8, batch_size=1)
    with pytest.raises(ValueError, match="TFLLM_MAX_BATCH_TOKENS"):
        pair_dataset(SYNTHETIC, tokenizer, source_length=8, target_length=8, batch_size=10**4)
    monkeypatch.setenv("TFLLM_MAX_BATCH_TOKENS", "64")
    with pytest.raises(ValueError, match="batch_size=5, source_length=8, target_length=8"):
        pair_dataset(SYNTHETIC, tokenizer, source_length=8, target_length=8, batch_size=5)


def test_bucket_boundaries_for():
    lengths = np.arange(1, 101)
    assert bucket_boundaries_for(lengths, 100, buckets=4, multiple=1) == (26, 51, 76, 100)
    assert bucket_boundaries_for(lengths, 100, buckets=4) == (32, 56, 80, 100)
    assert bucket_boundaries_for(lengths, 64, buckets=2) == (40, 64)  # lengths over T ignored
    assert bucket_boundaries_for([3, 3, 3], 16) == (8, 16)  # equal quantiles merge
    assert bucket_boundaries_for([200], 16) == (16,)
    with pytest.raises(ValueError, match="lengths must be a non-empty 1-D array"):
        bucket_boundaries_for([], 16)
    with pytest.raises(ValueError, match="buckets"):
        bucket_boundaries_for([3], 16, buckets=0)


def test_docstring_examples_run():
    module = importlib.import_module("tfllm.data.pair_dataset")  # not the function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
