"""`tokenized_dataset`: texts -> a tf.data.Dataset of 1-D token ids, tokenized once and cached.

Tokenizing is usually the costliest step of an input pipeline (8-160 MB/s by tokenizer on 2 CPU
cores, `benchmarks/tokenizer_speed.py`), and it gives the same ids every pass. So this tokenizes in batches inside tf.data (a
rank-1 batch is one tokenizer call instead of one per text) and, with `cache`, keeps the ids:

- `cache=None`: no cache; every pass tokenizes again.
- `cache="memory"`: `Dataset.cache()` in memory; the first full pass fills it, later passes
  read it (a pass stopped early leaves it unfilled, and TensorFlow warns).
- `cache=PATH`: `Dataset.cache(PATH)`, files `PATH.index` and `PATH.data-*` written by the first
  full pass and reused by later passes *and later processes*. TensorFlow does not check that the
  texts or tokenizer are the same as when the files were written: use one path per (corpus,
  tokenizer), e.g. one that includes `tokenizer.fingerprint`.

Each element is one text's ids, shape (None,) int32, in the order of `texts`. Feed them to
`packed_dataset` (packing) or `bucketed_dataset` (variable-length batches).

Example:

>>> from tfllm.data.tokenized_dataset import tokenized_dataset
>>> from tfllm.tokenizers import CharTokenizer
>>> tokenizer = CharTokenizer.from_texts(["to be or not"])
>>> dataset = tokenized_dataset(["to be", "or not"], tokenizer, cache="memory")
>>> [tokenizer.decode(ids) for ids in dataset.as_numpy_iterator()]
['to be', 'or not']
"""

import os

import tensorflow as tf

from tfllm.validation import check_positive_int

__all__ = ["tokenized_dataset"]


def tokenized_dataset(texts, tokenizer, *, batch_size=256, cache=None):
    """Tokenizes `texts` inside tf.data, optionally caching the ids (see the module docstring).

    Args:
        texts: a list of str, or a `tf.data.Dataset` of scalar tf.string.
        tokenizer: a `tfllm.tokenizers.Tokenizer` (anything with `tokenize(strings)` that maps a
            (B,) batch of strings to (B, None) ragged ids).
        batch_size: texts per tokenizer call; a throughput knob, not visible in the output.
        cache: None, "memory", or a file path prefix for `Dataset.cache`.

    Returns:
        A `tf.data.Dataset` of (None,) int32 token ids, one element per text.
    """
    if isinstance(texts, tf.data.Dataset):
        dataset = texts
    elif isinstance(texts, (list, tuple)) and all(isinstance(t, str) for t in texts):
        dataset = tf.data.Dataset.from_tensor_slices(tf.constant(list(texts), tf.string))
    else:
        raise TypeError(
            f"texts must be a list of str or a tf.data.Dataset of strings. Received: texts of "
            f"type {type(texts).__name__}"
        )
    check_positive_int("batch_size", batch_size)
    dataset = (
        dataset.batch(batch_size)
        .map(lambda strings: tf.cast(tokenizer.tokenize(strings), tf.int32),  # (b, None) ragged
             num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .unbatch()  # (None,) per text, in order
        # unbatch() of ragged rows types them RaggedTensorSpec(ragged_rank=0); an identity map
        # gives the plain TensorSpec([None]) that `bucketed_dataset` and friends expect.
        .map(lambda ids: ids)
    )
    if cache is None:
        return dataset
    if cache == "memory":
        return dataset.cache()
    if not isinstance(cache, (str, os.PathLike)) or not str(cache):
        raise ValueError(
            f"cache must be None, 'memory' or a file path prefix. Received: cache={cache!r}"
        )
    folder = os.path.dirname(os.fspath(cache)) or "."
    if not os.path.isdir(folder):
        raise ValueError(
            f"cache={os.fspath(cache)!r} is a file prefix in a folder that does not exist; create "
            f"{folder!r} first. Received: cache={os.fspath(cache)!r}"
        )
    return dataset.cache(os.fspath(cache))
