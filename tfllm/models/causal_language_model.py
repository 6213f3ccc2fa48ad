"""`CausalLanguageModel`: the base of tfllm's next-token models and the protocol decoding uses."""

import math

import keras

from tfllm.models.model_utils import logits_spec, token_ids_shape


class CausalLanguageModel(keras.Model):
    """Base class of a model that scores each next token from the tokens before it.

    A subclass maps `{"token_ids": (B, T) int, "padding_mask": (B, T) bool}` to (B, T, V)
    float32 logits, where row t depends only on tokens 0..t, and has the attributes
    `vocabulary_size` (V) and `sequence_length` (the training context). `tfllm.tasks.CausalLM`
    trains any such model; `tfllm.generation` decodes it through the step-with-cache protocol
    below, which a subclass implements:

    - `max_cache_length`: the most positions one cache can hold (an int), or None when the
      state does not grow with the text (a recurrent model). Decoding longer than an int limit
      slides a window.
    - `build_cache(batch_size, max_length)`: a zero cache for B rows and S positions: any
      nest of tensors whose shapes do not depend on how much of it is filled, so a compiled
      decoding loop traces once.
    - `call_with_cache(token_ids, cache, cache_update_index, padding_mask=None,
      position_ids=None)`: runs (B, T) tokens that occupy slots `cache_update_index ..
      cache_update_index + T - 1`, reading earlier slots from `cache` and writing theirs, and
      returns `((B, T, V) float32 logits, new_cache)`. `padding_mask` (B, S) marks the slots
      that hold real tokens (left-padded prompts); `position_ids` (B, T) gives each token's
      position when a row's first real token is not in slot 0. A prefill of a prompt followed
      by one-token steps must give the logits of one full `call` on the same tokens.

    Class attributes a subclass may set:

    - `jit_compile_by_default`: whether training uses XLA when `train.jit_compile="auto"`.
      Measure it per model: XLA trained a small GPT about 1.4x faster on 2 CPU cores and a
      Keras LSTM about 2x slower.
    - `original_options`: the constructor arguments added after models of the class were
      first saved, each with the value it had before it existed. `from_config` fills them in
      where a saved config lacks them, so a model saved then loads as the model it was, even
      after an option's default changes.

    `training_flops_per_token()` estimates the arithmetic of one training step per token (6 x
    the non-embedding weights); a subclass that knows its shape overrides it with an exact
    count, which `tfllm bench` uses for MFU.
    """

    jit_compile_by_default = False
    original_options = {}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config({**cls.original_options, **config}, custom_objects)

    @property
    def max_cache_length(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement max_cache_length.")

    def build_cache(self, batch_size, max_length):
        raise NotImplementedError(f"{type(self).__name__} does not implement build_cache.")

    def call_with_cache(
        self, token_ids, cache, cache_update_index, padding_mask=None, position_ids=None
    ):
        raise NotImplementedError(f"{type(self).__name__} does not implement call_with_cache.")

    def training_flops_per_token(self):
        """FLOPs per token of one training step (forward + backward): an estimate.

        A multiply-add is 2 FLOPs and the backward pass costs twice the forward one, so a
        weight that enters a matrix product for every token costs 6 FLOPs per token.
        Benchmarks divide this count times tokens/s by a measured peak to get MFU.

        This default is 6 N with N the model's weights outside its embedding tables (the
        variables named `embeddings`, as Keras's `Embedding` and tfllm's `TokenEmbedding` and
        `PositionEmbedding` name them): Kaplan et al.'s C = 6N ("Scaling Laws for Neural
        Language Models", 2020). It counts biases and norms (O(D) per token, a few percent)
        and misses attention over the context and an output projection tied to the
        embedding; a subclass that knows its shape overrides it with an exact count (`GPT`,
        `LSTMLanguageModel`). The model must be built.

        Returns:
            An int.
        """
        if not self.weights:
            raise ValueError(
                f"{type(self).__name__} has no weights yet: build it (call it once, or use "
                "tfllm.models.build_model) before counting its FLOPs. Received: built="
                f"{self.built}"
            )
        counted = sum(
            int(math.prod(weight.shape)) for weight in self.weights
            if weight.name != "embeddings"
        )
        return 6 * counted

    def compute_output_shape(self, inputs_shape):
        return token_ids_shape(inputs_shape) + (self.vocabulary_size,)

    def compute_output_spec(self, inputs, training=None):
        return logits_spec(inputs, self.vocabulary_size)
