"""`Seq2SeqLanguageModel`: the base of tfllm's encoder-decoder models and the protocol decoding uses."""

import keras

from tfllm.models.model_utils import logits_spec, token_ids_shape

# The input dict of an encoder-decoder model: the source (encoder) side, then the target
# (decoder) side, whose tokens are the target shifted right after a start id (teacher forcing).
SEQ2SEQ_INPUT_KEYS = ("encoder_token_ids", "encoder_padding_mask", "token_ids", "padding_mask")


class Seq2SeqLanguageModel(keras.Model):
    """Base class of a model that scores each next target token from the whole source and the
    target tokens before it.

    A subclass maps `{"encoder_token_ids": (B, S) int, "encoder_padding_mask": (B, S) bool,
    "token_ids": (B, T) int, "padding_mask": (B, T) bool}` to (B, T, V) float32 logits, where
    row t depends on every real source token and on target tokens 0..t only, and padded source
    positions change nothing. It has the attributes `vocabulary_size` (V, one vocabulary shared
    by source and target), `source_length` (the longest source S) and `target_length` (the
    longest target T, the start id included).

    Decoding (`tfllm.generation`) uses the step-with-cache protocol of
    `tfllm.models.CausalLanguageModel`, with the source given once, to `build_cache`:

    - `max_cache_length`: `target_length`; a target never slides past it.
    - `build_cache(batch_size, max_length, source)`: runs the encoder ONCE on `source`
      (`{"encoder_token_ids": (B, S), "encoder_padding_mask": (B, S)}`) and returns a nest of
      tensors, every one with B as its first axis (beam search gathers them row by row): the
      decoder's zero self-attention caches for `max_length` slots, and what every later step
      reads from the source (for a Transformer the cross-attention keys and values of each
      block, computed here once per sequence and never again; for the GRU the encoder states),
      with the source padding mask.
    - `call_with_cache(token_ids, cache, cache_update_index, padding_mask=None,
      position_ids=None)`: runs (B, T) target tokens in slots `cache_update_index ..
      cache_update_index + T - 1` and returns `((B, T, V) float32 logits, new_cache)`. A prefill
      of the start id followed by one-token steps gives the logits of one full `call`.

    `encode(source)` returns the encoder's (B, S, D) outputs, for inspection (attention maps,
    the notebook).
    """

    jit_compile_by_default = False
    is_seq2seq = True

    @property
    def max_cache_length(self):
        return self.target_length

    def encode(self, source, training=None):
        raise NotImplementedError(f"{type(self).__name__} does not implement encode.")

    def build_cache(self, batch_size, max_length, source=None):
        raise NotImplementedError(f"{type(self).__name__} does not implement build_cache.")

    def call_with_cache(
        self, token_ids, cache, cache_update_index, padding_mask=None, position_ids=None
    ):
        raise NotImplementedError(f"{type(self).__name__} does not implement call_with_cache.")

    def compute_output_shape(self, inputs_shape):
        return token_ids_shape(inputs_shape) + (self.vocabulary_size,)

    def compute_output_spec(self, inputs, training=None):
        return logits_spec(inputs, self.vocabulary_size)


def unpack_seq2seq_inputs(inputs):
    """`(encoder_token_ids, encoder_padding_mask, token_ids, padding_mask)` from a seq2seq input
    dict; the masks may be absent (None: every position is real)."""
    if not isinstance(inputs, dict) or not {"encoder_token_ids", "token_ids"} <= set(inputs):
        keys = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
        raise ValueError(
            "Encoder-decoder inputs must be a dict with 'encoder_token_ids' (B, S) and "
            "'token_ids' (B, T), and optionally 'encoder_padding_mask' and 'padding_mask'. "
            f"Received: {keys}"
        )
    unknown = sorted(set(inputs) - set(SEQ2SEQ_INPUT_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown encoder-decoder input keys {unknown}. Expected some of "
            f"{list(SEQ2SEQ_INPUT_KEYS)}"
        )
    return tuple(inputs.get(key) for key in SEQ2SEQ_INPUT_KEYS)
