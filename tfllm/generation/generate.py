"""`generate(model, tokenizer, prompts, ...)`: continue text with any tfllm language model.

One API for every model that generates: it encodes the prompts, left-pads them into a shape
bucket, and runs the compiled cached decoder (`CachedDecoder`, or `beam_search` for
`num_beams > 1`), which drives the model through its step-with-cache protocol. The decoder is
kept per model, so a second call in the same shape bucket (batch, prompt bucket, new-token
bucket) and with the same controls switched on reuses the compiled loop without tracing again:
changing a temperature, k, p or penalty value does not retrace, switching sampling, top-k,
top-p or the penalties on or off compiles that variant once.

Documented choices for awkward input:
- A prompt longer than the model's context is cropped from the left to its last
  `max_cache_length` tokens; `Generation.cropped_tokens` says how many were dropped (the CLI
  prints a note).
- Past the context the window slides for the whole batch at once, when its longest row needs
  it; until then a row's continuation is the one it gets alone.
- An empty prompt starts from the tokenizer's start id (`bos_id`).
- `temperature=0` is greedy decoding, not an error. Beam search is deterministic and ignores
  temperature, top-k and top-p.
- Prompt characters outside the vocabulary are dropped (`unknown="drop"`) or refused
  (`unknown="error"`); banned words and stop sequences must encode without unknown tokens.
- Stop sequences and banned words are matched as token sequences, which is exact for the
  character and byte tokenizers; a subword tokenizer may spell the same text with other tokens.
- Sizes are bounded before anything is allocated (`tfllm.limits`): `max_new_tokens` at most
  65,536, at most 1,024 rows decoded at once (prompts x `num_return_sequences`, or prompts x
  `num_beams`), and an estimated 8 GiB for the whole decode (`decode_memory`); each is raised
  by an environment variable the error names.

Example:

>>> import tfllm
>>> loaded = tfllm.load_model("saved_models/shakespeare-char")  # doctest: +SKIP
>>> tfllm.generate(loaded.model, loaded.tokenizer, "ROMEO:", max_new_tokens=100,
...                temperature=0.8, top_p=0.9, stop=["\\n\\n"], seed=1)  # doctest: +SKIP
"""

import dataclasses
import weakref

import tensorflow as tf

from tfllm.errors import GenerationError
from tfllm.generation.beam_search import beam_search
from tfllm.generation.cached_decoder import FINISH_REASONS, CachedDecoder, default_controls
from tfllm.generation.decode_memory import check_decode_memory
from tfllm.generation.decoding_options import checked_options, decode_spec
from tfllm.generation.prompt_utils import bucket, left_padded, prompt_rows
from tfllm.generation.source_inputs import (
    check_target_room,
    right_padded_source,
    source_rows,
    start_prompts,
)
from tfllm.limits import check_generation_rows, generation_rows


@dataclasses.dataclass(frozen=True)
class Generation:
    """One generated continuation.

    Attributes:
        prompt: the prompt as given.
        text: the continuation (without the prompt and without a matched stop sequence).
        token_ids: the continuation's token ids.
        log_probabilities: per generated token, log p(token | context) under the model's own
            distribution (before temperature, filters and penalties).
        finish_reason: "length" (max_new_tokens reached), "eos" or "stop".
        cropped_tokens: prompt tokens dropped from the left to fit the context.
        score: beam search's length-normalised score; None when sampling.
    """

    prompt: str
    text: str
    token_ids: tuple
    log_probabilities: tuple
    finish_reason: str
    cropped_tokens: int = 0
    score: float | None = None

    @property
    def log_probability(self):
        """Sum of `log_probabilities`: the log-probability of the whole continuation."""
        return float(sum(self.log_probabilities))


# model -> {jit_compile: CachedDecoder}; weak, so a decoder never keeps a model alive.
_DECODERS = weakref.WeakKeyDictionary()


def get_decoder(model, jit_compile="auto"):
    """The model's `CachedDecoder` (created once per model and XLA setting, then reused).

    `jit_compile="auto"` compiles with XLA for models with a bounded key/value cache (GPT)
    and not for recurrent ones, where the per-step work is a few small matmuls.
    """
    if jit_compile == "auto":
        jit_compile = model.max_cache_length is not None
    if not isinstance(jit_compile, bool):
        raise GenerationError(
            f"jit_compile must be True, False or 'auto'. Received: jit_compile={jit_compile!r}"
        )
    decoders = _DECODERS.setdefault(model, {})
    if jit_compile not in decoders:
        decoders[jit_compile] = CachedDecoder(model, jit_compile=jit_compile)
    return decoders[jit_compile]


# tokenizer -> its `detokenize` as one graph: eagerly, its ops cost more than a short generation.
_DETOKENIZERS = weakref.WeakKeyDictionary()


def _detokenizer(tokenizer):
    if tokenizer not in _DETOKENIZERS:
        _DETOKENIZERS[tokenizer] = tf.function(tokenizer.detokenize, reduce_retracing=True)
    return _DETOKENIZERS[tokenizer]


def _decode_rows(tokenizer, token_rows):
    """Texts of a list of id sequences, in one batched (compiled) detokenization."""
    ragged = tf.ragged.constant([list(row) for row in token_rows], dtype=tf.int32, ragged_rank=1)
    return [text.decode("utf-8") for text in _detokenizer(tokenizer)(ragged).numpy()]


def generate(
    model,
    tokenizer,
    prompts,
    *,
    max_new_tokens=None,
    min_new_tokens=0,
    temperature=1.0,
    top_k=0,
    top_p=1.0,
    repetition_penalty=1.0,
    presence_penalty=0.0,
    frequency_penalty=0.0,
    no_repeat_ngram_size=0,
    banned_words=(),
    stop=(),
    num_return_sequences=1,
    num_beams=1,
    length_penalty=1.0,
    seed=None,
    stream=None,
    return_details=False,
    unknown="drop",
    jit_compile="auto",
):
    """Continues each prompt, or for an encoder-decoder model transforms each input.

    Args:
        model: a tfllm language model with the step-with-cache protocol (`GPT`,
            `LSTMLanguageModel`), or an encoder-decoder model (`EncoderDecoderTransformer`,
            `GRUSeq2Seq`), whose "prompts" are its sources and whose outputs start from the
            start id (`tfllm.generation.source_inputs` says how sources are checked).
        tokenizer: the tokenizer the model was trained with.
        prompts: a string or a list of strings.
        max_new_tokens: positive int, the most tokens generated after each prompt (at most
            `tfllm.limits.MAX_NEW_TOKENS`, and for an encoder-decoder model its
            `target_length - 1`). None: 200 for a language model, `target_length - 1` for an
            encoder-decoder model.
        min_new_tokens: no end-of-sequence or stop sequence ends a row before this many.
        temperature: 0 for greedy decoding; otherwise the sampling temperature.
        top_k: sample among the k most likely tokens (0 = all).
        top_p: nucleus sampling: the smallest set of tokens holding this probability, in (0, 1].
        repetition_penalty: > 0; above 1 makes every token already seen less likely (CTRL).
        presence_penalty, frequency_penalty: subtracted from a seen token's logit once, and
            once per occurrence (OpenAI-style).
        no_repeat_ngram_size: n > 0 never repeats an n-gram of prompt and output.
        banned_words: strings that never appear in the output (e.g. ["love"]).
        stop: strings that end a row when generated (not included in the text).
        num_return_sequences: continuations per prompt (samples, or the best beams).
        num_beams: > 1 runs beam search with this many beams.
        length_penalty: beam search ranks finished beams by log p / length ** length_penalty.
        seed: int for reproducible sampling; None draws a random one.
        stream: optional callable `stream(row, text)` called with each row's new text as it is
            generated (row = index in the returned list); not available with beam search.
        return_details: return `Generation` objects instead of strings.
        unknown: prompt characters outside the vocabulary: "drop" or "error".
        jit_compile: XLA for the decode loop: True, False or "auto" (see `get_decoder`).
    Returns:
        For a string prompt and one sequence: a string (or a `Generation`); otherwise a list,
        `num_return_sequences` entries per prompt, in prompt order.
    """
    single = isinstance(prompts, str)
    prompt_list = [prompts] if single else list(prompts) if prompts is not None else []
    if not prompt_list or not all(isinstance(p, str) for p in prompt_list):
        raise GenerationError(
            f"prompts must be a string or a non-empty list of strings. Received: prompts={prompts!r}"
        )
    seq2seq = getattr(model, "is_seq2seq", False)
    if seq2seq:
        max_new_tokens = check_target_room(model, max_new_tokens)
    elif max_new_tokens is None:
        max_new_tokens = 200
    options = checked_options(
        max_new_tokens=max_new_tokens, min_new_tokens=min_new_tokens, temperature=temperature,
        top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty,
        presence_penalty=presence_penalty, frequency_penalty=frequency_penalty,
        no_repeat_ngram_size=no_repeat_ngram_size, num_return_sequences=num_return_sequences,
        num_beams=num_beams, length_penalty=length_penalty, seed=seed, streaming=stream is not None,
    )
    check_generation_rows(len(prompt_list), options.num_return_sequences, options.num_beams,
                          GenerationError)
    model_vocabulary = getattr(model, "vocabulary_size", None)
    if model_vocabulary != tokenizer.vocabulary_size:
        raise GenerationError(
            f"The tokenizer does not match the model: the model has {model_vocabulary} token ids, "
            f"the tokenizer {tokenizer.vocabulary_size}. Use the tokenizer saved with the model. "
            f"Received: tokenizer.vocabulary_size={tokenizer.vocabulary_size}"
        )
    spec = decode_spec(tokenizer, options, banned_words, stop)

    rows, prompt_ids, first_real, new_slots, source = _decoder_inputs(
        model, tokenizer, prompt_list, options, unknown, seq2seq)
    check_decode_memory(
        model, generation_rows(len(prompt_list), options.num_return_sequences, options.num_beams),
        prompt_ids.shape[1], new_slots, options.max_new_tokens,
        None if source is None else source["encoder_token_ids"].shape[1],
    )
    token_rows, log_probability_rows, finish_rows, scores = _decode(
        get_decoder(model, jit_compile), prompt_ids, first_real, new_slots, options, spec,
        tokenizer, stream, source,
    )
    if options.num_beams > 1:
        rows = [row for row in rows for _ in range(options.num_return_sequences)]
    texts = _decode_rows(tokenizer, token_rows)

    generations = [
        Generation(
            prompt=prompt,
            text=text,
            token_ids=tuple(tokens),
            log_probabilities=tuple(log_probabilities),
            finish_reason=FINISH_REASONS[finish],
            cropped_tokens=cropped,
            score=score,
        )
        for (prompt, _, cropped), text, tokens, log_probabilities, finish, score in zip(
            rows, texts, token_rows, log_probability_rows, finish_rows, scores
        )
    ]
    results = generations if return_details else [g.text for g in generations]
    return results[0] if single and options.num_return_sequences == 1 else results


def _decoder_inputs(model, tokenizer, prompt_list, options, unknown, seq2seq):
    """`(rows, prompt_ids, first_real, new_slots, source)`: the prompts encoded, cropped to the
    context and left-padded; or, for an encoder-decoder model, the sources right-padded and a
    start id per row. Each is repeated once per returned sequence (beams share one row)."""
    limit = model.max_cache_length
    copies = 1 if options.num_beams > 1 else options.num_return_sequences
    new_slots = bucket(options.max_new_tokens)
    if not seq2seq:
        rows = prompt_rows(tokenizer, prompt_list, limit=limit, unknown=unknown, copies=copies)
        prompt_ids, first_real = left_padded(rows, tokenizer.pad_id, limit)
        return rows, prompt_ids, first_real, new_slots, None
    rows = source_rows(tokenizer, prompt_list, source_length=model.source_length,
                       unknown=unknown, copies=copies)
    source = right_padded_source(rows, tokenizer.pad_id, model.source_length)
    prompt_ids, first_real = start_prompts(rows, tokenizer.bos_id)
    # The whole target fits the cache, so the window never slides.
    return rows, prompt_ids, first_real, min(new_slots, limit - 1), source


def _decode(decoder, prompt_ids, first_real, new_slots, options, spec, tokenizer, stream, source):
    """Runs the decoder: `(token_rows, log_probability_rows, finish_rows, scores)`.

    With beam search each prompt gives `num_return_sequences` rows and a score each; sampling
    gives one row per input row and no scores.
    """
    controls = default_controls(
        temperature=options.temperature, top_k=options.top_k, top_p=options.top_p,
        repetition_penalty=options.repetition_penalty,
        presence_penalty=options.presence_penalty,
        frequency_penalty=options.frequency_penalty, min_new_tokens=options.min_new_tokens,
        max_new_tokens=options.max_new_tokens, seed=(options.seed, 0),
    )
    if options.num_beams > 1:
        state = decoder.prefill(prompt_ids, first_real, new_slots, spec, source)
        return beam_search(
            decoder, state, controls, spec, num_beams=options.num_beams,
            num_return_sequences=options.num_return_sequences,
            length_penalty=options.length_penalty,
        )
    if stream is None:
        state = decoder.run(prompt_ids, first_real, new_slots, controls, spec, source)
    else:
        state = decoder.prefill(prompt_ids, first_real, new_slots, spec, source)
        state = _decode_streaming(decoder, state, controls, spec, tokenizer, stream)
    token_rows, log_probability_rows, finish_rows = _outputs(state, prompt_ids.shape[1])
    return token_rows, log_probability_rows, finish_rows, [None] * len(token_rows)


def _outputs(state, prompt_slots):
    """Per row: the kept token ids, their log-probabilities and the finish code."""
    history = state["history"].numpy()[:, prompt_slots:]
    log_probabilities = state["log_probabilities"].numpy()
    lengths = state["lengths"].numpy()
    finish = state["finish"].numpy()
    return (
        [history[row, :n].tolist() for row, n in enumerate(lengths)],
        [log_probabilities[row, :n].astype(float).tolist() for row, n in enumerate(lengths)],
        finish.tolist(),
    )


def _decode_streaming(decoder, state, controls, spec, tokenizer, stream):
    """Decodes one token per compiled call and reports each row's new text as it comes.

    Text that could still turn out to be the start of a stop sequence is held back until the
    row moves past it (or finishes), so a stop sequence is never printed.
    """
    prompt_slots = int(state["index"].numpy())
    hold = max((len(s) for s in spec.stop_sequences), default=1) - 1
    printed = [""] * int(state["history"].shape[0])
    max_new_tokens = int(controls["max_new_tokens"].numpy())
    while True:
        state = decoder.decode(state, controls, spec, stop_at=state["step"] + 1)
        finished = bool(tf.reduce_all(state["done"])) or int(state["step"]) >= max_new_tokens
        history = state["history"].numpy()[:, prompt_slots:]
        done = state["done"].numpy()
        visible = [
            history[row, : n if done[row] or finished else max(0, n - hold)]
            for row, n in enumerate(state["lengths"].numpy())
        ]
        for row, text in enumerate(_decode_rows(tokenizer, visible)):
            if text.startswith(printed[row]) and len(text) > len(printed[row]):
                stream(row, text[len(printed[row]):])
                printed[row] = text
        if finished:
            return state
