"""Labelled passages as classifier batches: `passage_dataset(passages, tokenizer, ...)`.

Each passage becomes `[bos] + ids + [eos]` (the start id where BERT puts [CLS], the end id
where it puts [SEP]), its ids cut to `sequence_length - 2`, then right-padded: x =
`{"token_ids": (B, T) int32, "padding_mask": (B, T) bool}`, labels (B,) int32, and a sample
weight (B,) float32: the class weight of the label (`tfllm.data.balanced_class_weights`), 1.0
without class weights. The whole text of a passage up to T - 2 tokens is kept; the cut is
logged with the share of passages it shortened.

Example:

>>> from tfllm.data import Passage
>>> from tfllm.data.passage_dataset import passage_dataset
>>> from tfllm.tokenizers import build_tokenizer
>>> tokenizer = build_tokenizer("char", ["To be, or not to be"])
>>> passages = [Passage("To be", 0, "hamlet"), Passage("or not", 1, "hamlet")]
>>> x, labels, weights = next(iter(passage_dataset(passages, tokenizer, sequence_length=8,
...                                                 batch_size=2)))
>>> tuple(x["token_ids"].shape), labels.numpy().tolist(), weights.numpy().tolist()
((2, 8), [0, 1], [1.0, 1.0])
>>> tokenizer.decode(x["token_ids"][0].numpy()[x["padding_mask"][0].numpy()][1:-1])
'To be'
"""

import logging

import numpy as np
import tensorflow as tf

from tfllm.limits import check_at_most
from tfllm.validation import check_bool, check_int, check_int_at_least, check_positive_int

logger = logging.getLogger(__name__)


def passage_dataset(passages, tokenizer, *, sequence_length, batch_size, class_weights=None,
                    shuffle=False, seed=0, repeat=False):
    """A `tf.data.Dataset` of `(x, labels, sample_weight)` classifier batches.

    Args:
        passages: a list of objects with `.text` (str) and `.label` (int), such as
            `tfllm.data.Passage`.
        tokenizer: a `tfllm.tokenizers.Tokenizer` (its `bos_id`, `eos_id`, `pad_id` are used).
        sequence_length: T, the ids per row, start and end ids included (at least 3).
        batch_size: B, rows per batch.
        class_weights: optional {label: weight}; each row's sample weight is its label's.
        shuffle: shuffle the passages (seeded), afresh on each pass.
        seed: the shuffle seed.
        repeat: repeat endlessly (for training; batches then all have B rows).
    """
    sequence_length = check_int_at_least("sequence_length", sequence_length, 3)
    check_at_most("sequence_length", sequence_length, "MAX_SEQUENCE_LENGTH",
                  "positions of context")
    batch_size = check_positive_int("batch_size", batch_size)
    check_at_most("batch_size x sequence_length", batch_size * sequence_length,
                  "MAX_BATCH_TOKENS", "tokens per batch",
                  received=f"batch_size={batch_size}, sequence_length={sequence_length}")
    check_bool("shuffle", shuffle)
    check_bool("repeat", repeat)
    seed = check_int("seed", seed)
    passages = list(passages)
    if not passages:
        raise ValueError("passage_dataset needs at least one passage. Received: passages=[]")
    token_ids, padding_mask = passage_ids(passages, tokenizer, sequence_length)
    labels = np.array([_label(i, p) for i, p in enumerate(passages)], "int32")
    weights = np.ones(len(passages), "float32")
    if class_weights is not None:
        missing = sorted(set(labels.tolist()) - set(class_weights))
        if missing:
            raise ValueError(f"class_weights must give a weight for every label. Received: "
                             f"class_weights={class_weights!r} without label(s) {missing}")
        weights = np.array([class_weights[label] for label in labels], "float32")
    dataset = tf.data.Dataset.from_tensor_slices(
        ({"token_ids": token_ids, "padding_mask": padding_mask}, labels, weights))
    if shuffle:
        dataset = dataset.shuffle(len(passages), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    return dataset.batch(batch_size, drop_remainder=repeat).prefetch(tf.data.AUTOTUNE)


def passage_ids(passages_or_texts, tokenizer, sequence_length):
    """`(token_ids, padding_mask)`: (N, T) int32 `[bos] + ids + [eos]` rows, right-padded, and
    (N, T) bool; one batch `tokenize` call. Texts longer than T - 2 tokens are cut (logged)."""
    texts = [getattr(item, "text", item) for item in passages_or_texts]
    ragged = tokenizer.tokenize(tf.constant(texts, tf.string))
    rows = [list(ids) for ids in ragged.to_list()]
    room = sequence_length - 2
    cut = sum(len(ids) > room for ids in rows)
    if cut:
        logger.info("passage_ids: cut %d of %d texts to %d tokens", cut, len(rows), room)
    token_ids = np.full((len(rows), sequence_length), tokenizer.pad_id, "int32")
    padding_mask = np.zeros((len(rows), sequence_length), bool)
    for index, ids in enumerate(rows):
        row = [tokenizer.bos_id, *ids[:room], tokenizer.eos_id]
        token_ids[index, :len(row)] = row
        padding_mask[index, :len(row)] = True
    return token_ids, padding_mask


def _label(index, passage):
    label = getattr(passage, "label", None)
    if not isinstance(label, (int, np.integer)) or isinstance(label, bool) or label < 0:
        raise ValueError(f"Each passage needs a non-negative int label. Received: "
                         f"passages[{index}].label={label!r}")
    return int(label)
