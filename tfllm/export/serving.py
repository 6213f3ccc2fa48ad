"""The serving export: a SavedModel that takes a batch of strings and returns strings.

`export_serving(model, tokenizer, path)` writes a TensorFlow SavedModel with the tokenizer, the
cache and the sampler inside, so it runs wherever TensorFlow does (TF Serving, a fresh Python
process with only `tensorflow` and `tensorflow_text` imported) without tfllm or Keras:

    generate(prompts)                    (B,) strings -> (B,) continuations, with the sampling
                                         settings chosen at export time
    generate_with_options(prompts, max_new_tokens, temperature, top_k, top_p,
                          repetition_penalty, seed)
                                         the same with every setting as an input; returns
                                         {"text": (B,) strings, "num_tokens": (B,) int32}

Both run the same `CachedDecoder` graph as `tfllm.generation.generate` (no XLA, because prompt
and output lengths vary per request), so greedy output is identical to the Python path. The
graph holds core TensorFlow ops only (plus tf-text's for the tokenizers built on it): the KV
cache's in-place write, an XLA op (`XlaDynamicUpdateSlice`) in Keras's TensorFlow backend, is
traced as the core `TensorStridedSliceUpdate`, because TensorFlow Serving refuses XLA
compilation unless started with `--xla_cpu_compilation_enabled` ("XLA compilation disabled").
TensorFlow Serving and `saved_model_cli` read the endpoints as signatures; see
docs/tf_serving.md.
Prompt characters outside the vocabulary are dropped, an empty prompt starts from the start
id, and a prompt longer than the context keeps its last `max_cache_length` tokens, as in
`generate`. Keras's `.keras` file stays the training format; this is the serving format.

Example:

>>> from tfllm.export import export_serving, load_model_dir
>>> loaded = load_model_dir("saved_models/shakespeare-char")  # doctest: +SKIP
>>> export_serving(loaded.model, loaded.tokenizer, "saved_models/shakespeare-char/serving")  # doctest: +SKIP
>>> import tensorflow as tf, tensorflow_text  # in any process  # doctest: +SKIP
>>> tf.saved_model.load("saved_models/shakespeare-char/serving").generate(tf.constant(["ROMEO:"]))  # doctest: +SKIP
"""

import contextlib
import json
from pathlib import Path

import keras
import tensorflow as tf
# Keras's backend dispatch, where `keras.ops.slice_update` finds its TensorFlow implementation:
# private, and the only place to swap it (see `_core_ops_only`).
from keras.src import backend as keras_backend

import tfllm
from tfllm.errors import GenerationError
from tfllm.export.output_guard import SERVING_MARKER, check_output_dir
from tfllm.export.staged_directory import staged_directory
from tfllm.generation import CachedDecoder, DecodeSpec

SERVING_DEFAULTS = {
    "max_new_tokens": 200,
    "temperature": 0.8,
    "top_k": 0,
    "top_p": 1.0,
    "repetition_penalty": 1.0,
    "seed": 0,
}


def _left_padded(ids, pad_id):
    """(B, P) ids right-aligned with `pad_id` on the left, and (B,) first real slots."""
    lengths = tf.cast(ids.row_lengths(), tf.int32)
    right_padded = ids.to_tensor(default_value=pad_id)  # (B, P), padding on the right
    width = tf.shape(right_padded)[1]
    padding = width - lengths  # (B,)
    # Slot p of a left-padded row holds slot p - padding of the right-padded one.
    source = tf.range(width)[None, :] - padding[:, None]  # (B, P)
    shifted = tf.gather(right_padded, tf.maximum(source, 0), axis=1, batch_dims=1)
    return tf.where(source >= 0, shifted, pad_id), padding


def _with_start_id(ids, bos_id):
    """Rows left empty (an empty prompt, or only unknown characters) start from `bos_id`."""
    empty = tf.cast(ids.row_lengths() == 0, ids.row_splits.dtype)  # (B,) 1 for an empty row
    starts = tf.RaggedTensor.from_row_lengths(
        tf.fill([tf.cast(tf.reduce_sum(empty), tf.int32)], tf.cast(bos_id, ids.dtype)), empty
    )
    return tf.concat([starts, ids], axis=1)


def _slice_update_with_core_ops(inputs, start_indices, updates):
    """`keras.ops.slice_update` from core TensorFlow ops: `updates` written into `inputs` at
    `start_indices`, each start clamped so the update fits, as XLA's dynamic_update_slice does."""
    if isinstance(start_indices, (list, tuple)):
        start = tf.stack([tf.cast(index, tf.int32) for index in start_indices])  # (rank,)
    else:
        start = tf.cast(start_indices, tf.int32)  # (rank,)
    inputs_shape, updates_shape = tf.shape(inputs), tf.shape(updates)  # (rank,) each
    start = tf.clip_by_value(start, 0, inputs_shape - updates_shape)
    return tf.raw_ops.TensorStridedSliceUpdate(
        input=inputs, begin=start, end=start + updates_shape, strides=tf.ones_like(start),
        value=tf.cast(updates, inputs.dtype))


@contextlib.contextmanager
def _core_ops_only():
    """While tracing: Keras's TensorFlow `slice_update` (the XLA op XlaDynamicUpdateSlice, which
    a TensorFlow Serving started without --xla_cpu_compilation_enabled refuses to run) becomes
    `_slice_update_with_core_ops`. tests/export/test_saved_model_cli.py checks the exported
    graph holds no Xla* op. The swap is process-wide while it lasts (an export is the only
    thing a process traces then); the XLA-compiled Python decoder keeps Keras's op, which
    `TensorStridedSliceUpdate` cannot replace there (XLA needs its begin to be a constant)."""
    original = keras_backend.core.slice_update
    keras_backend.core.slice_update = _slice_update_with_core_ops
    try:
        yield
    finally:
        keras_backend.core.slice_update = original


def serving_module(model, tokenizer, *, defaults=None):
    """A `keras.export.ExportArchive` with the `generate` endpoints (see the module docstring).

    `export_serving` writes it with core TensorFlow ops only; its own `write_out` keeps Keras's
    XLA cache update, which Python runs but a default TensorFlow Serving refuses.

    Args:
        model: a tfllm language model with the step-with-cache protocol.
        tokenizer: its tokenizer (a `tf.Module`; exported with it).
        defaults: overrides of `SERVING_DEFAULTS` for the `generate(prompts)` endpoint.
    """
    settings = {**SERVING_DEFAULTS, **(defaults or {})}
    unknown = sorted(set(settings) - set(SERVING_DEFAULTS))
    if unknown:
        raise GenerationError(
            f"Unknown serving defaults {unknown}. Expected some of {sorted(SERVING_DEFAULTS)}"
        )
    if model.vocabulary_size != tokenizer.vocabulary_size:
        raise GenerationError(
            f"The tokenizer does not match the model: the model has {model.vocabulary_size} "
            f"token ids, the tokenizer {tokenizer.vocabulary_size}. Export the tokenizer saved "
            f"with the model."
        )
    decoder = CachedDecoder(model, jit_compile=False)
    spec = DecodeSpec(
        pad_id=tokenizer.pad_id,
        eos_id=tokenizer.eos_id,
        never_ids=tuple(
            sorted({tokenizer.pad_id, tokenizer.unk_id, tokenizer.bos_id, tokenizer.mask_id})
        ),
    )
    limit = model.max_cache_length

    def run(prompts, max_new_tokens, temperature, top_k, top_p, repetition_penalty, seed):
        ids = tokenizer.tokenize(prompts)  # (B, None) ragged
        ids = tf.ragged.boolean_mask(ids, ids != tokenizer.unk_id)  # drop unknown characters
        ids = _with_start_id(ids, tokenizer.bos_id)
        if limit is not None:
            ids = ids[:, -limit:]  # keep the last `limit` tokens of a long prompt
        prompt_ids, first_real = _left_padded(ids, tokenizer.pad_id)
        max_new_tokens = tf.maximum(max_new_tokens, 1)
        controls = {
            "temperature": tf.maximum(temperature, 0.0),
            "top_k": tf.maximum(top_k, 0),
            "top_p": tf.clip_by_value(top_p, 1e-6, 1.0),
            "repetition_penalty": tf.maximum(repetition_penalty, 1e-6),
            "presence_penalty": tf.constant(0.0),
            "frequency_penalty": tf.constant(0.0),
            "min_new_tokens": tf.constant(0),
            "max_new_tokens": max_new_tokens,
            "seed": tf.stack([seed, 0]),
        }
        state = decoder._prefill(prompt_ids, first_real, max_new_tokens, spec=spec)
        state = decoder._decode(state, controls, max_new_tokens, spec=spec)
        prompt_slots = tf.shape(prompt_ids)[1]
        outputs = tf.RaggedTensor.from_tensor(
            state["history"][:, prompt_slots:], lengths=state["lengths"]
        )
        return tokenizer.detokenize(outputs), state["lengths"]

    if not model.built:
        model({"token_ids": tf.zeros((1, 1), tf.int32)})  # create the weights to export
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.track(tokenizer)

    @tf.function(input_signature=[
        tf.TensorSpec([None], tf.string, name="prompts"),
        tf.TensorSpec([], tf.int32, name="max_new_tokens"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int32, name="top_k"),
        tf.TensorSpec([], tf.float32, name="top_p"),
        tf.TensorSpec([], tf.float32, name="repetition_penalty"),
        tf.TensorSpec([], tf.int32, name="seed"),
    ])
    def generate_with_options(prompts, max_new_tokens, temperature, top_k, top_p,
                              repetition_penalty, seed):
        text, lengths = run(prompts, max_new_tokens, temperature, top_k, top_p,
                            repetition_penalty, seed)
        return {"text": text, "num_tokens": lengths}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="prompts")])
    def generate(prompts):
        text, _ = run(
            prompts,
            tf.constant(int(settings["max_new_tokens"]), tf.int32),
            tf.constant(float(settings["temperature"]), tf.float32),
            tf.constant(int(settings["top_k"]), tf.int32),
            tf.constant(float(settings["top_p"]), tf.float32),
            tf.constant(float(settings["repetition_penalty"]), tf.float32),
            tf.constant(int(settings["seed"]), tf.int32),
        )
        return text

    archive.add_endpoint("generate", generate)
    archive.add_endpoint("generate_with_options", generate_with_options)
    return archive


def export_serving(model, tokenizer, path, *, defaults=None, overwrite=False, protect=()):
    """Writes the serving SavedModel to `path` atomically (a temporary sibling, then rename).

    Besides the SavedModel, the directory holds `tfllm_serving.json` (tfllm's version, the
    model class, the tokenizer fingerprint, the `generate` defaults): it marks the export as
    tfllm's, so a later export to the same path replaces it without `overwrite`.

    Args:
        model, tokenizer, defaults: as in `serving_module`.
        path: the output directory. What is there is replaced only if
            `tfllm.export.check_output_dir` allows it: a serving export tfllm wrote is
            replaced, a file or a tfllm directory of another kind only with `overwrite`, a
            directory holding files tfllm did not write never.
        overwrite: replace a file or another kind of tfllm directory at `path`.
        protect: paths `path` must not be, lie inside or hold (the source model directory).
    Returns:
        The output `Path`.
    """
    path = Path(path)
    if getattr(model, "is_seq2seq", False):
        # The export's `generate(prompts)` continues prompts; an encoder-decoder model's sources
        # need their own signature, which this export does not have yet.
        raise GenerationError(
            f"The serving export takes a language model that continues prompts; "
            f"{type(model).__name__} is an encoder-decoder model: use `tfllm generate --input` "
            f"or `tfllm.generate(model, tokenizer, inputs)` for it. "
            f"Received: model of class {type(model).__name__}")
    check_output_dir(path, overwrite=overwrite, protect=protect, what="--output", kind="serving")
    marker = {
        "format_version": 1,
        "tfllm_version": tfllm.__version__,
        "model_class": type(model).__name__,
        "vocabulary_size": int(tokenizer.vocabulary_size),
        "tokenizer_fingerprint": tokenizer.fingerprint,
        "defaults": {**SERVING_DEFAULTS, **(defaults or {})},
    }
    # Saving traces the endpoints again (in TensorFlow's save context), so the save runs with
    # core ops only as well as the first tracing.
    with _core_ops_only():
        module = serving_module(model, tokenizer, defaults=defaults)
        # ExportArchive.write_out creates its directory itself.
        with staged_directory(path, create=False, what="serving export") as staging:
            module.write_out(str(staging), verbose=False)
            (staging / SERVING_MARKER).write_text(
                json.dumps(marker, indent=2, sort_keys=True) + "\n")
    return path
