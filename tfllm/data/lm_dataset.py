"""Language-modelling pipelines: a token stream -> batches of (inputs, next tokens, weights).

Every element is `(x, labels, sample_weight)`:

    x = {"token_ids": (B, T) int32, "padding_mask": (B, T) bool}
    labels        (B, T) int32    the next token at each position (windows of T + 1 tokens)
    sample_weight (B, T) float32  1 where the label is a real token, 0 on padding

Three ways to cut windows of T + 1 tokens out of the stream:

- "random": uniform random starts from a seeded stream (`tf.data.Dataset.random`); infinite
  when `repeat`, else one pass's worth ((N - 1) // T windows).
- "all": non-overlapping windows with stride T, so every position is a target once per pass,
  shuffled with the seed (a fresh order each pass) and repeated.
- "eval": the same non-overlapping windows in order, no shuffle, no repeat; the final partial
  window is padded with `pad_id` (weight 0, padding_mask False), so the whole text is scored
  exactly once: the weights sum to N - 1.

Training modes batch with `drop_remainder=True` (static shapes for XLA); "eval" keeps the last
short batch. Given the seed (and TensorFlow's global seed, which `keras.utils.set_random_seed`
sets), two datasets built with the same arguments yield identical batches. The tokens are held in
memory (4 bytes each).

Example:

>>> import numpy as np
>>> from tfllm.data import lm_dataset
>>> dataset = lm_dataset(np.arange(100, dtype="int32"), sequence_length=8, batch_size=4, seed=1)
>>> x, labels, weights = next(iter(dataset))
>>> x["token_ids"].shape, bool((labels[:, :-1] == x["token_ids"][:, 1:]).numpy().all())
(TensorShape([4, 8]), True)
"""

import numpy as np
import tensorflow as tf

from tfllm.tokenizers import tokenize_in_chunks
from tfllm.validation import check_bool, check_choice, check_int, check_positive_int

WINDOWS = ("random", "all", "eval")


def tokenize_corpus_text(tokenizer, text, chunk_characters=65536):
    """Tokenizes a whole text (eagerly) into a 1-D int32 NumPy array of ids.

    The text is tokenized as one batch of line-aligned chunks of about `chunk_characters`
    characters (`tfllm.tokenizers.tokenize_in_chunks`): subword tokenizers run far faster that
    way than on one 5 MB string, and the ids are those of the whole text.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str. Received: text of type {type(text).__name__}")
    if not text:
        raise ValueError("text is empty: there is nothing to tokenize. Received: text=''")
    return tokenize_in_chunks(tokenizer, text, chunk_characters)


def lm_dataset(
    token_ids,
    sequence_length,
    batch_size,
    *,
    windows="random",
    seed=1337,
    shuffle_buffer=10_000,
    repeat=None,
    pad_id=0,
):
    """Builds a `tf.data.Dataset` of next-token-prediction batches from a token stream.

    Args:
        token_ids: 1-D integer array of N token ids (e.g. from `tokenize_corpus_text`).
        sequence_length: T, the length of each input window.
        batch_size: B, windows per batch.
        windows: "random", "all" or "eval" (see the module docstring).
        seed: seed for the random starts ("random") and the shuffle order ("all").
        shuffle_buffer: shuffle buffer size in windows ("all" only).
        repeat: whether to repeat forever; default True for "random" and "all", False for "eval".
        pad_id: the id that pads the final partial window in "eval" mode.

    Returns:
        A prefetched `tf.data.Dataset` of `({"token_ids", "padding_mask"}, labels, sample_weight)`.
    """
    ids = _validate_ids(token_ids)
    check_positive_int("sequence_length", sequence_length)
    check_positive_int("batch_size", batch_size)
    check_positive_int("shuffle_buffer", shuffle_buffer)
    check_choice("windows", windows, WINDOWS)
    check_int("seed", seed, error=TypeError)
    if repeat is not None:
        check_bool("repeat", repeat, error=TypeError)
    repeat = windows != "eval" if repeat is None else repeat
    length = sequence_length

    if windows == "eval":
        if len(ids) < 2:
            raise ValueError(
                f"token_ids must hold at least 2 tokens (one input, one label) to evaluate. "
                f"Received: {len(ids)} token(s)"
            )
        dataset = _eval_windows(ids, length, pad_id)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.batch(batch_size, drop_remainder=False)
    else:
        if len(ids) < length + 1:
            raise ValueError(
                f"token_ids has {len(ids)} tokens, fewer than sequence_length + 1 = {length + 1} "
                f"(one window of inputs plus its next token). Use a shorter sequence_length or more "
                f"text. Received: sequence_length={length}"
            )
        num_windows = (len(ids) - 1) // length
        if not repeat and num_windows < batch_size:
            raise ValueError(
                f"One pass over {len(ids)} tokens gives {num_windows} windows of {length}, fewer "
                f"than batch_size={batch_size}, so no full batch. Use repeat=True, a smaller "
                f"batch_size or more text. Received: batch_size={batch_size}"
            )
        if windows == "random":
            dataset = _random_windows(ids, length, batch_size, int(seed), repeat, num_windows)
        else:
            dataset = _all_windows(ids, length, batch_size, int(seed), shuffle_buffer, repeat)
    return dataset.map(_to_model_inputs, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _random_windows(ids, length, batch_size, seed, repeat, num_windows):
    """Batches of (B, T + 1) windows at uniform random starts, weights all 1."""
    tokens = tf.constant(ids)  # (N,)
    num_starts = len(ids) - length  # starts 0 .. N - T - 1 all have T + 1 tokens
    starts = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=False)
    if not repeat:
        starts = starts.take(num_windows)
    offsets = tf.range(length + 1, dtype=tf.int64)  # (T + 1,)

    def gather_windows(random_values):  # (B,) int64
        batch_starts = tf.math.floormod(random_values, num_starts)
        windows = tf.gather(tokens, batch_starts[:, None] + offsets[None, :])  # (B, T + 1)
        return windows, tf.ones(tf.shape(windows), tf.float32)

    return starts.batch(batch_size, drop_remainder=True).map(gather_windows)


def _all_windows(ids, length, batch_size, seed, shuffle_buffer, repeat):
    """Non-overlapping (T + 1)-token windows with stride T, shuffled, weights all 1."""
    num_windows = (len(ids) - 1) // length
    windows = _strided_windows(ids, length, num_windows)  # (W, T + 1)
    dataset = tf.data.Dataset.from_tensor_slices(windows)
    dataset = dataset.shuffle(
        min(shuffle_buffer, num_windows), seed=seed, reshuffle_each_iteration=True
    )
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=True)
    return dataset.map(lambda w: (w, tf.ones(tf.shape(w), tf.float32)))


def _eval_windows(ids, length, pad_id):
    """In-order windows covering every target once; the last one padded, its padding weighted 0."""
    num_targets = len(ids) - 1
    num_windows = -(-num_targets // length)  # ceil
    padded = np.full([num_windows * length + 1], pad_id, dtype=np.int32)
    padded[: len(ids)] = ids
    windows = _strided_windows(padded, length, num_windows)  # (W, T + 1)
    # Position p of the padded stream is a real token when p < N; a label at p + 1 is real when
    # p + 1 < N. Only the last window can hold padding.
    positions = np.arange(num_windows * length + 1)
    real = _strided_windows((positions < len(ids)).astype(np.float32), length, num_windows)
    return tf.data.Dataset.from_tensor_slices((windows, real))


def _strided_windows(values, length, num_windows):
    """(num_windows, T + 1) copy of `values[i * T : i * T + T + 1]`."""
    view = np.lib.stride_tricks.sliding_window_view(values, length + 1)[::length]
    return np.ascontiguousarray(view[:num_windows])


def _to_model_inputs(windows, real):
    """(B, T + 1) windows and realness -> (x, labels, sample_weight)."""
    token_ids = windows[:, :-1]  # (B, T)
    labels = windows[:, 1:]  # (B, T)
    padding_mask = real[:, :-1] > 0  # (B, T) True where the input token is real
    sample_weight = real[:, 1:]  # (B, T) 1 where the label is real
    return {"token_ids": token_ids, "padding_mask": padding_mask}, labels, sample_weight


def _validate_ids(token_ids):
    ids = np.asarray(token_ids)
    if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer) or ids.size == 0):
        raise ValueError(
            f"token_ids must be a 1-D array of integer ids. Received: token_ids with shape "
            f"{ids.shape} and dtype {ids.dtype}"
        )
    return ids.astype(np.int32, copy=False)
