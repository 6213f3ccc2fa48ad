"""`generate(model, tokenizer, prompts, ...)`: continue text with any tfllm language model.

This is the simple, model-agnostic decoder: at each step it runs the model on the last T tokens
(T = `model.sequence_length`) and samples the next one. Once the text outgrows the context it
slides the window, so the model never sees a position it was not trained on. Each step is one
compiled forward pass of a fixed (B, T) shape, so it traces once per call.

Example:

>>> import tfllm
>>> loaded = tfllm.load_model("saved_models/shakespeare-char")  # doctest: +SKIP
>>> tfllm.generate(loaded.model, loaded.tokenizer, "ROMEO:", max_new_tokens=100)  # doctest: +SKIP
"""

import numpy as np
import tensorflow as tf

from tfllm.errors import GenerationError
from tfllm.generation.sampling import sample_next_token, validate_sampling_arguments


def encode_prompt(tokenizer, prompt, *, unknown="drop"):
    """Token ids of `prompt`, with characters outside the vocabulary dropped or refused.

    Args:
        tokenizer: a `tfllm.tokenizers.Tokenizer`.
        prompt: the prompt string. An empty prompt starts from the tokenizer's `bos_id`.
        unknown: "drop" removes characters the tokenizer does not know (a model has never seen
            them, so the unknown id would only add noise); "error" raises `GenerationError`.
    Returns:
        (list of int ids, sorted list of the unknown characters found).
    """
    if unknown not in ("drop", "error"):
        raise GenerationError(f"unknown must be 'drop' or 'error'. Received: unknown={unknown!r}")
    missing = tokenizer.unknown_characters(prompt)
    if missing and unknown == "error":
        raise GenerationError(
            f"The prompt contains characters that are not in the tokenizer's vocabulary: "
            f"{''.join(missing)!r}. Remove them or pass unknown='drop'. Received: prompt={prompt!r}"
        )
    missing_set = set(missing)
    cleaned = "".join(ch for ch in prompt if ch not in missing_set)
    ids = tokenizer.encode(cleaned) if cleaned else []
    if not ids:
        ids = [tokenizer.bos_id]
    return ids, missing


def generate(
    model,
    tokenizer,
    prompts,
    *,
    max_new_tokens=200,
    temperature=1.0,
    top_k=0,
    seed=None,
    unknown="drop",
):
    """Continues each prompt by sampling `max_new_tokens` tokens.

    Args:
        model: a tfllm language model (`GPT`, `LSTMLanguageModel`) taking
            `{"token_ids": (B, T), "padding_mask": (B, T)}` and returning (B, T, V) logits, with a
            `sequence_length` attribute.
        tokenizer: the tokenizer the model was trained with.
        prompts: a string or a list of strings.
        max_new_tokens: positive int, tokens generated after each prompt.
        temperature: 0 for greedy decoding; otherwise the sampling temperature.
        top_k: sample among the k most likely tokens (0 = all).
        seed: int for reproducible sampling; None draws a random one.
        unknown: what to do with prompt characters outside the vocabulary ("drop" or "error").
    Returns:
        The generated continuation (without the prompt): a string for a string prompt, else a
        list of strings.
    """
    single = isinstance(prompts, str)
    prompt_list = [prompts] if single else list(prompts)
    if not prompt_list or not all(isinstance(p, str) for p in prompt_list):
        raise GenerationError(
            f"prompts must be a string or a non-empty list of strings. Received: prompts={prompts!r}"
        )
    if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool) or max_new_tokens < 1:
        raise GenerationError(
            f"max_new_tokens must be a positive integer. Received: max_new_tokens={max_new_tokens!r}"
        )
    validate_sampling_arguments(temperature, top_k)
    model_vocabulary = getattr(model, "vocabulary_size", None)
    if model_vocabulary is not None and model_vocabulary != tokenizer.vocabulary_size:
        raise GenerationError(
            f"The tokenizer does not match the model: the model has {model_vocabulary} token ids, "
            f"the tokenizer {tokenizer.vocabulary_size}. Use the tokenizer saved with the model. "
            f"Received: tokenizer.vocabulary_size={tokenizer.vocabulary_size}"
        )
    if seed is None:
        seed = int(np.random.default_rng().integers(0, 2**31 - 1))

    sequences = [encode_prompt(tokenizer, p, unknown=unknown)[0] for p in prompt_list]
    prompt_lengths = [len(s) for s in sequences]
    context = int(model.sequence_length)
    batch_size = len(sequences)

    @tf.function(reduce_retracing=True)
    def next_tokens(token_ids, padding_mask, last_positions, step_seed):
        logits = model({"token_ids": token_ids, "padding_mask": padding_mask}, training=False)
        # (B, V): each row's logits at its last real position.
        last_logits = tf.gather(logits, last_positions, axis=1, batch_dims=1)
        return sample_next_token(last_logits, temperature=temperature, top_k=top_k, seed=step_seed)

    window = np.full((batch_size, context), tokenizer.pad_id, dtype=np.int32)
    for step in range(max_new_tokens):
        window.fill(tokenizer.pad_id)
        last = np.zeros((batch_size,), dtype=np.int32)
        for row, sequence in enumerate(sequences):
            visible = sequence[-context:]  # slide the window once the text outgrows the context
            window[row, : len(visible)] = visible
            last[row] = len(visible) - 1
        mask = np.arange(context)[None, :] <= last[:, None]  # (B, T)
        chosen = next_tokens(
            tf.constant(window), tf.constant(mask), tf.constant(last), tf.constant([seed, step])
        ).numpy()
        for row, token in enumerate(chosen):
            sequences[row].append(int(token))

    continuations = [
        tokenizer.decode(sequence[length:]) for sequence, length in zip(sequences, prompt_lengths)
    ]
    return continuations[0] if single else continuations
