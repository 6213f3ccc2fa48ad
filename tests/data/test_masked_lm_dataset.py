"""Masked-LM pipelines: examples, selection rates, the 80/10/10 split, seeds, the unigram floor."""

import doctest
import importlib
import math

import numpy as np
import pytest
import tensorflow as tf

from tfllm.data import load_plays
from tfllm.data.masked_lm_dataset import default_max_predictions, masked_lm_dataset, unigram_floor
from tfllm.tokenizers import CharTokenizer, build_tokenizer

T = 32


@pytest.fixture(scope="module")
def texts():
    """Two documents of a real play, a few thousand characters, the second one short."""
    hamlet = next(play for play in load_plays() if play.slug == "hamlet").text
    return [hamlet[5000:9000], hamlet[20000:20500]]


@pytest.fixture(scope="module")
def tokenizer(texts):
    return build_tokenizer("char", texts)


def _originals(texts, tokenizer, length=T):
    """The unmasked examples, built independently: [bos] + T - 2 ids + [eos] + pad."""
    rows = []
    for text in texts:
        ids = tokenizer.encode(text)
        for start in range(0, len(ids), length - 2):
            window = ids[start:start + length - 2]
            row = [tokenizer.bos_id] + window + [tokenizer.eos_id]
            rows.append(row + [tokenizer.pad_id] * (length - len(row)))
    return np.array(rows, np.int32)


def _collect(dataset):
    """Every batch concatenated: token_ids, padding_mask, mask_positions, labels, weights."""
    parts = [(x["token_ids"], x["padding_mask"], x["mask_positions"], labels, weights)
             for x, labels, weights in dataset]
    return [np.concatenate([part[i].numpy() for part in parts]) for i in range(5)]


def test_examples_are_cls_windows_sep_then_padding(texts, tokenizer):
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=8, seed=0)
    token_ids, padding_mask, positions, labels, weights = _collect(dataset)
    originals = _originals(texts, tokenizer)
    assert int(dataset.cardinality()) == math.ceil(len(originals) / 8)
    assert token_ids.shape == originals.shape
    # Only selected positions change; the labels are the original ids there.
    restored = token_ids.copy()
    rows = np.repeat(np.arange(len(labels)), labels.shape[1])
    real = weights.reshape(-1) > 0
    restored[rows[real], positions.reshape(-1)[real]] = labels.reshape(-1)[real]
    np.testing.assert_array_equal(restored, originals)
    np.testing.assert_array_equal(padding_mask, originals != tokenizer.pad_id)
    assert (originals[:, 0] == tokenizer.bos_id).all()
    # Two documents: two examples end short, each with [eos] before its padding.
    lengths = padding_mask.sum(axis=1)
    assert (lengths < T).sum() == 2 and (originals[np.arange(len(lengths)), lengths - 1]
                                        == tokenizer.eos_id).all()


def test_no_special_token_is_ever_selected_and_weights_mark_the_slots(texts, tokenizer):
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=16, seed=5,
                                repeat=True)
    token_ids, padding_mask, positions, labels, weights = _collect(dataset.take(30))
    special = list(tokenizer.special_ids.values())
    real = weights > 0
    assert not np.isin(labels[real], special).any()
    assert (positions[real] >= 1).all() and padding_mask[np.nonzero(real)[0], positions[real]].all()
    # Empty slots: weight 0, position 0, label pad; real slots come first, ascending.
    assert (positions[~real] == 0).all() and (labels[~real] == tokenizer.pad_id).all()
    assert (np.diff(real.astype(int), axis=1) <= 0).all()
    assert all((np.diff(row[keep]) > 0).all() for row, keep in zip(positions, real))
    assert (real.sum(axis=1) >= 1).all()  # at least one prediction per example
    assert (~real).any()  # the padded slots are exercised
    assert set(np.unique(weights)) == {0.0, 1.0}


def _expected_counts(originals, tokenizer, mask_rate, max_predictions):
    """min(P, max(1, round(mask_rate * n))) per example, n its non-special tokens (Python round)."""
    special = list(tokenizer.special_ids.values())
    counts = (~np.isin(originals, special)).sum(axis=1)
    return np.array([min(max_predictions, max(1, round(mask_rate * int(n)))) for n in counts])


@pytest.mark.parametrize("mask_rate, max_predictions", [(0.15, None), (0.5, None), (0.5, 3)])
def test_each_example_selects_exactly_round_rate_times_its_tokens(mask_rate, max_predictions):
    # One document per length 1..30, so every n from 1 to T - 2 occurs once (one example each);
    # rate 0.5 puts n / 2 on a half for odd n: 0.5 -> 1 (at least one), 1.5 -> 2, 2.5 -> 2.
    texts = [("abcdefghij" * 3)[:length] for length in range(1, T - 1)]
    tokenizer = build_tokenizer("char", texts)
    originals = _originals(texts, tokenizer)
    assert len(originals) == T - 2
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=8,
                                mask_rate=mask_rate, max_predictions=max_predictions, seed=1)
    *_, weights = _collect(dataset)
    # Uncapped under the default P; P = 3 truncates the longer examples to 3.
    expected = _expected_counts(originals, tokenizer, mask_rate, max_predictions or T)
    np.testing.assert_array_equal(weights.sum(axis=1), expected)
    assert weights.shape[1] == (max_predictions or default_max_predictions(T, mask_rate))
    assert expected.min() == 1 and (max_predictions is None or (expected == 3).sum() > 20)


def test_the_selected_share_of_a_play_is_the_rate_in_every_example(texts, tokenizer):
    for mask_rate in (0.15, 0.4):
        dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=16,
                                    mask_rate=mask_rate, seed=2, repeat=True)
        originals = _originals(texts, tokenizer)
        *_, weights = _collect(dataset.take(-(-2 * len(originals) // 16)))
        expected = _expected_counts(originals, tokenizer, mask_rate, T)  # uncapped
        np.testing.assert_array_equal(weights.sum(axis=1), np.tile(expected, 3)[:len(weights)])
        assert len(weights) >= 2 * len(originals)  # both passes checked


def test_the_default_max_predictions_never_truncates():
    for length in range(3, 300):
        for mask_rate in (0.01, 0.1, 0.15, 0.2, 0.25, 0.5, 0.75, 0.99):
            width = default_max_predictions(length, mask_rate)
            assert all(max(1, round(mask_rate * n)) <= width for n in range(length - 1))
    assert default_max_predictions(T) == math.ceil(0.15 * T) == 5
    assert default_max_predictions(128) == 20


def test_selections_are_uniform_over_the_positions_of_an_example():
    text = "abcdefghij"  # one example, n = 10, k = 3 on each of 600 passes
    tokenizer = build_tokenizer("char", [text])
    dataset = masked_lm_dataset([text], tokenizer, sequence_length=16, batch_size=50,
                                mask_rate=0.3, seed=6, repeat=True)
    _, _, positions, _, weights = _collect(dataset.take(12))
    assert (weights.sum(axis=1) == 3).all()
    hits = np.bincount(positions[weights > 0], minlength=16)
    assert hits[0] == 0 and (hits[11:] == 0).all()  # neither [CLS], [SEP] nor padding
    # Each of the 10 positions: mean 180, standard deviation about 11.
    assert np.abs(hits[1:11] - 180).max() < 45
    triples = {tuple(row[keep]) for row, keep in zip(positions, weights > 0)}
    assert len(triples) > 100  # of the 120 possible triples


def test_selected_tokens_are_masked_80_randomised_10_kept_10(texts, tokenizer):
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=32,
                                mask_rate=0.3, seed=3, repeat=True)
    token_ids, _, positions, labels, weights = _collect(dataset.take(30))
    real = weights > 0
    shown = np.take_along_axis(token_ids, positions, axis=1)[real]  # (selections,)
    assert real.sum() > 5000
    masked = shown == tokenizer.mask_id
    kept = shown == labels[real]
    random = ~masked & ~kept
    assert masked.mean() == pytest.approx(0.8, abs=0.02)
    # A random id equals the original 1 time in R: "kept" gains that share of the 10%.
    assert kept.mean() == pytest.approx(0.1, abs=0.015)
    assert random.mean() == pytest.approx(0.1, abs=0.015)
    special = list(tokenizer.special_ids.values())
    assert not np.isin(shown[random], special).any()
    assert len(np.unique(shown[random])) > 20  # drawn across the vocabulary


def test_same_seed_same_batches_other_seed_and_next_pass_differ(texts, tokenizer):
    def first_batches(seed, shuffle=False):
        dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=8,
                                    seed=seed, shuffle=shuffle, repeat=True)
        return [tf.nest.map_structure(lambda t: t.numpy(), batch) for batch in dataset.take(3)]

    def same(a, b):
        return all(np.array_equal(u, v) for u, v in zip(tf.nest.flatten(a), tf.nest.flatten(b)))

    tf.random.set_seed(1)
    first = first_batches(7, shuffle=True)
    tf.random.set_seed(2)  # the global seed plays no part
    assert same(first, first_batches(7, shuffle=True))
    assert not same(first, first_batches(8, shuffle=True))
    assert not same(first_batches(7), first_batches(8))


def test_a_repeated_dataset_masks_each_pass_afresh(texts, tokenizer):
    num_examples = len(_originals(texts, tokenizer))
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=1, seed=4,
                                repeat=True)
    token_ids, _, positions, _, _ = _collect(dataset.take(2 * num_examples))
    first, second = token_ids[:num_examples], token_ids[num_examples:]
    # Same examples in the same order (no shuffle), different masks.
    assert (positions[:num_examples] != positions[num_examples:]).any()
    assert (first != second).any()
    # A one-pass dataset gives the first pass exactly.
    once = _collect(masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=1, seed=4))
    np.testing.assert_array_equal(once[0], first)


def test_shuffle_visits_every_example_once_per_pass(texts, tokenizer):
    originals = _originals(texts, tokenizer)
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=1, seed=4,
                                shuffle=True, repeat=True, max_predictions=1, mask_rate=0.01)
    token_ids, _, positions, labels, _ = _collect(dataset.take(2 * len(originals)))
    token_ids[np.arange(len(token_ids)), positions[:, 0]] = labels[:, 0]  # undo the one mask
    for start in (0, len(originals)):
        one_pass = token_ids[start:start + len(originals)]
        assert sorted(map(bytes, one_pass)) == sorted(map(bytes, originals))
    assert not np.array_equal(token_ids[:len(originals)], originals)  # shuffled
    assert not np.array_equal(token_ids[:len(originals)], token_ids[len(originals):])


def test_static_shapes_and_dtypes(texts, tokenizer):
    dataset = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=4, repeat=True)
    x_spec, labels_spec, weights_spec = dataset.element_spec
    assert x_spec["token_ids"].shape == (4, T) and x_spec["token_ids"].dtype == tf.int32
    assert x_spec["padding_mask"].shape == (4, T) and x_spec["padding_mask"].dtype == tf.bool
    assert x_spec["mask_positions"].shape == (4, 5) and x_spec["mask_positions"].dtype == tf.int32
    assert labels_spec.shape == (4, 5) and labels_spec.dtype == tf.int32
    assert weights_spec.shape == (4, 5) and weights_spec.dtype == tf.float32
    one_pass = masked_lm_dataset(texts, tokenizer, sequence_length=T, batch_size=4)
    assert one_pass.element_spec[0]["token_ids"].shape.as_list() == [None, T]


@pytest.mark.parametrize("arguments, message", [
    ({"sequence_length": 2}, "Received: sequence_length=2"),
    ({"sequence_length": 10**6}, "TFLLM_MAX_SEQUENCE_LENGTH"),
    ({"batch_size": 0}, "Received: batch_size=0"),
    ({"batch_size": 4096, "sequence_length": 4096}, "Received: batch_size=4096, sequence_length"),
    ({"mask_rate": 0.0}, "Received: mask_rate=0.0"),
    ({"mask_rate": 1}, "Received: mask_rate=1"),
    ({"max_predictions": 0}, "Received: max_predictions=0"),
    ({"max_predictions": T - 1}, "Received: max_predictions=31"),
    ({"shuffle": 1}, "Received: shuffle=1"),
    ({"repeat": "yes"}, "Received: repeat='yes'"),
    ({"seed": 1.5}, "Received: seed=1.5"),
    ({"texts": []}, r"Received: texts of type list \(empty\)"),
    ({"texts": "one string"}, "Received: texts of type str"),
    ({"texts": [""]}, "Received: 1 text"),
])
def test_bad_arguments_raise_naming_them(texts, tokenizer, arguments, message):
    call = {"texts": texts, "sequence_length": T, "batch_size": 4, **arguments}
    with pytest.raises(ValueError, match=message):
        masked_lm_dataset(call.pop("texts"), tokenizer, **call)


def test_bad_text_type_and_a_tokenizer_with_nothing_to_mask(tokenizer):
    with pytest.raises(TypeError, match="Received: texts\\[1\\] of type int"):
        masked_lm_dataset(["a", 3], tokenizer, sequence_length=T, batch_size=4)
    only_specials = CharTokenizer(["<pad>", "<unk>", "<bos>", "<eos>", "<mask>"])
    with pytest.raises(ValueError, match="nothing can be masked.*Received: tokenizer"):
        masked_lm_dataset(["ab"], only_specials, sequence_length=T, batch_size=4)


def test_unigram_floor_is_the_entropy_of_the_token_frequencies():
    tokenizer = build_tokenizer("char", ["abcd"])
    # a: 1/2, b: 1/4, c: 1/8, d: 1/8 -> 1.75 bits.
    assert unigram_floor(["aaaabbcd"], tokenizer) == pytest.approx(1.75 * math.log(2))
    # Across documents, and unknown characters (special: unk) are left out.
    assert unigram_floor(["aab", "b?!"], tokenizer) == pytest.approx(math.log(2))
    assert unigram_floor(["aaaa"], tokenizer) == 0.0
    with pytest.raises(ValueError, match="no non-special token"):
        unigram_floor(["???"], tokenizer)


def test_unigram_floor_of_a_play_is_below_the_uniform_loss(texts, tokenizer):
    floor = unigram_floor(texts, tokenizer)
    regular = tokenizer.vocabulary_size - len(tokenizer.special_ids)
    assert 2.0 < floor < math.log(regular)


def test_docstring_examples_run():
    module = importlib.import_module("tfllm.data.masked_lm_dataset")  # not the function
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
