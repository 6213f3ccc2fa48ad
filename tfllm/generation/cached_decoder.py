"""`CachedDecoder`: the compiled prefill + decode loop behind every tfllm model that generates.

A model takes part through the step-with-cache protocol and knows nothing of sampling:

    cache = model.build_cache(batch_size, max_length)
    logits, cache = model.call_with_cache(token_ids, cache, cache_update_index,
                                          padding_mask=None, position_ids=None)
    model.max_cache_length   # positions a cache can hold (None: unlimited, e.g. an LSTM)

`GPT` implements it with a fixed-shape key/value cache written in place, `LSTMLanguageModel`
with its recurrent state (their base class, `tfllm.models.CausalLanguageModel`, defines the
protocol). Any model with these three members decodes here.

How a batch is decoded (B rows, prompts left-padded to P, at most N new tokens):

- `history` (B, P + N) holds every token; row b's real tokens start at `first_real[b]`, so
  the last prompt token of every row sits in slot P - 1 and all rows advance together.
- Prefill runs the whole prompt in one pass. Each row gets its own positions (0 at its first
  real token) and padding slots are masked as keys, so padding changes nothing. Where the
  cache is bounded, padding that every row shares is kept out of it, so it costs no context.
- Each step processes the next-token logits (penalties, bans), chooses a token, writes it,
  checks end-of-sequence and stop sequences, and runs the one new token through the model.
  The loop is a `tf.while_loop` inside one `tf.function` (XLA-compiled where that is faster),
  traced once per shape bucket and static option set, then reused: `trace_count` counts traces.
- Past the model's context (`max_cache_length` W), the window slides: the last W // 2 tokens
  are run again as a fresh prefill at positions 0 .. W/2 - 1 and decoding continues. Every
  token thus sees at least W/2 tokens of context, and the model never sees a position it was
  not trained on. (Re-running the full window at every step would be exact too, and W times
  slower.)

Sampling parameters (temperature, top-k, top-p, penalties, minimum length, seed) are tensors,
so changing them does not retrace; banned and stop sequences and the no-repeat n-gram size
shape the graph and are part of the trace key.
"""

import tensorflow as tf

# DecodeSpec, FINISH_REASONS and default_controls are imported from here by callers too.
from tfllm.generation.decode_spec import (  # noqa: F401
    FINISH_EOS,
    FINISH_REASONS,
    FINISH_STOP,
    DecodeSpec,
    default_controls,
)
from tfllm.generation.logit_processors import (
    apply_presence_penalty,
    apply_repetition_penalty,
    banned_sequences_mask,
    mask_logits,
    no_repeat_ngram_mask,
    suffix_matches,
)
from tfllm.generation.sampling import choose_tokens


def _source_arguments(source):
    """The source dict as positional tensors (none for a decoder-only model)."""
    if source is None:
        return ()
    return (tf.convert_to_tensor(source["encoder_token_ids"], tf.int32),
            tf.convert_to_tensor(source["encoder_padding_mask"], tf.bool))


def _padded_sequences(sequences):
    """(K, M) right-padded int32 ids and (K,) lengths for a tuple of id tuples."""
    width = max(len(s) for s in sequences)
    padded = [list(s) + [0] * (width - len(s)) for s in sequences]
    return tf.constant(padded, tf.int32), tf.constant([len(s) for s in sequences], tf.int32)


class CachedDecoder:
    """Compiled cached decoding for one model; see the module docstring for the algorithm.

    Args:
        model: a model with `build_cache`, `call_with_cache`, `max_cache_length` and
            `vocabulary_size`.
        jit_compile: compile the prefill and the loop with XLA.

    Example:

    >>> import numpy as np
    >>> from tfllm.models import GPT
    >>> from tfllm.generation.cached_decoder import CachedDecoder, DecodeSpec, default_controls
    >>> model = GPT(vocabulary_size=16, sequence_length=16, num_layers=1, num_heads=2,
    ...             hidden_dim=8, intermediate_dim=16)
    >>> decoder = CachedDecoder(model, jit_compile=False)
    >>> state = decoder.prefill(np.array([[0, 5, 6], [7, 8, 9]], "int32"),
    ...                         first_real=np.array([1, 0], "int32"), new_slots=4,
    ...                         spec=DecodeSpec(pad_id=0, eos_id=3))
    >>> state = decoder.decode(state, default_controls(max_new_tokens=4), DecodeSpec(0, 3))
    >>> tuple(state["history"].shape), state["step"].numpy().item()
    ((2, 7), 4)
    """

    def __init__(self, model, *, jit_compile=True):
        self.model = model
        self.jit_compile = bool(jit_compile)
        self.vocabulary_size = int(model.vocabulary_size)
        self.trace_count = 0
        self._functions = {}

    # ----------------------------------------------------------------- public, compiled
    def prefill(self, prompt_ids, first_real, new_slots, spec, source=None):
        """Runs the left-padded (B, P) prompts; returns the decode state (a dict of tensors).

        Args:
            prompt_ids: (B, P) int32, each row's prompt right-aligned (left padding).
            first_real: (B,) int32, the slot of each row's first real token.
            new_slots: Python int N, room for new tokens (the history is (B, P + N)).
            spec: the `DecodeSpec`.
            source: for an encoder-decoder model, `{"encoder_token_ids": (B, S),
                "encoder_padding_mask": (B, S)}`, given to `build_cache` (which encodes it once).
        """
        function = self._function("prefill", spec, source)
        return function(tf.convert_to_tensor(prompt_ids, tf.int32),
                        tf.convert_to_tensor(first_real, tf.int32), int(new_slots),
                        *_source_arguments(source))

    def decode(self, state, controls, spec, stop_at=None):
        """Decodes until every row is done, `max_new_tokens` or step `stop_at` is reached.

        Args:
            state: from `prefill` or a previous `decode` (streaming decodes in chunks).
            controls: dict of tensors from `default_controls`.
            spec: the same `DecodeSpec` as the prefill.
            stop_at: optional step (scalar) to pause at; the state resumes from there.
        """
        if stop_at is None:
            stop_at = controls["max_new_tokens"]
        function = self._function("decode", spec)
        return function(state, controls, tf.convert_to_tensor(stop_at, tf.int32))

    def run(self, prompt_ids, first_real, new_slots, controls, spec, source=None):
        """Prefill and the whole decode loop in one compiled call; returns the final state."""
        function = self._function("run", spec, source)
        return function(tf.convert_to_tensor(prompt_ids, tf.int32),
                        tf.convert_to_tensor(first_real, tf.int32), int(new_slots), controls,
                        *_source_arguments(source))

    def _run(self, prompt_ids, first_real, new_slots, controls, *source, spec):
        state = self._prefill(prompt_ids, first_real, new_slots, *source, spec=spec)
        return self._decode(state, controls, controls["max_new_tokens"], spec=spec)

    def _function(self, kind, spec, source=None):
        python_function = {"prefill": self._prefill, "decode": self._decode, "run": self._run}[kind]
        return self.compiled((kind, spec, source is not None),
                             lambda *args: python_function(*args, spec=spec))

    def compiled(self, key, python_function):
        """`python_function` as a `tf.function` (XLA per `jit_compile`), created once per key.

        Each trace adds 1 to `trace_count`, which is how the tests prove that a second call of
        the same shape bucket reuses the compiled loop.
        """
        if key not in self._functions:

            def traced(*args):
                self.trace_count += 1
                return python_function(*args)

            self._functions[key] = tf.function(traced, jit_compile=self.jit_compile)
        return self._functions[key]

    # ----------------------------------------------------------------- traced bodies
    def window(self, history):
        """(W, may_slide): cache slots for a (B, P + N) history, and whether it can overflow.

        W is the whole history when the model has no limit or the history fits, else the
        model's `max_cache_length` (and the window may have to slide).
        """
        length = history.shape[1]
        limit = self.model.max_cache_length
        if limit is None:
            return (length if length is not None else tf.shape(history)[1]), False
        if length is not None and length <= limit:
            return length, False
        return limit, True

    def _prefill(self, prompt_ids, first_real, new_slots, *source, spec):
        batch_size = tf.shape(prompt_ids)[0]
        prompt_length = tf.shape(prompt_ids)[1]
        padding = tf.fill([batch_size, new_slots], tf.constant(spec.pad_id, tf.int32))
        history = tf.concat([prompt_ids, padding], axis=1)  # (B, P + N)
        window, may_slide = self.window(history)
        start = tf.constant(0, tf.int32)
        if may_slide:
            # Padding that every row shares stays out of the cache: its slots would hold no
            # context, and the window would slide, dropping real tokens, that much sooner.
            # The prompt is rolled left; the padding rolled to its end lands in slots the
            # next tokens overwrite, and the causal mask hides them until then.
            start = tf.reduce_min(first_real)
            prompt_ids = tf.roll(prompt_ids, -start, axis=1)
        if source:  # an encoder-decoder model: the encoder runs here, once per sequence
            encoder_token_ids, encoder_padding_mask = source
            cache = self.model.build_cache(batch_size, window, source={
                "encoder_token_ids": encoder_token_ids,
                "encoder_padding_mask": encoder_padding_mask})
        else:
            cache = self.model.build_cache(batch_size, window)
        # (B, W): cache slot s holds history slot start + s; left padding is never attended to.
        key_mask = (start + tf.range(window))[None, :] >= first_real[:, None]
        # (B, P): each row counts positions from its own first real token.
        positions = tf.maximum(
            start + tf.range(prompt_length)[None, :] - first_real[:, None], 0)
        logits, cache = self.model.call_with_cache(
            prompt_ids, cache, 0, padding_mask=key_mask, position_ids=positions
        )
        last = tf.gather(logits, prompt_length - 1 - start, axis=1)  # (B, V), last prompt token
        is_real = tf.range(prompt_length)[None, :] >= first_real[:, None]  # (B, P)
        return {
            "history": history,
            "first_real": first_real,
            "index": prompt_length,
            "window_start": start,
            "step": tf.constant(0, tf.int32),
            "cache": cache,
            "next_logits": tf.cast(last, tf.float32),  # (B, V)
            "counts": self._token_counts(history[:, :prompt_length], is_real),  # (B, V)
            "done": tf.zeros([batch_size], tf.bool),
            "finish": tf.zeros([batch_size], tf.int32),
            "lengths": tf.zeros([batch_size], tf.int32),
            "log_probabilities": tf.zeros([batch_size, new_slots], tf.float32),
        }

    def _token_counts(self, token_ids, weights):
        """(B, V) float32 occurrences of each id among the weighted (B, T) tokens."""
        batch_size = tf.shape(token_ids)[0]
        rows = tf.broadcast_to(tf.range(batch_size)[:, None], tf.shape(token_ids))
        indices = tf.stack([rows, token_ids], axis=-1)  # (B, T, 2)
        return tf.tensor_scatter_nd_add(
            tf.zeros([batch_size, self.vocabulary_size], tf.float32),
            indices,
            tf.cast(weights, tf.float32),
        )

    def process_logits(self, state, controls, spec):
        """The next-token logits after penalties and bans; (B, V) float32."""
        logits = state["next_logits"]
        if spec.penalties:
            counts = state["counts"]
            logits = apply_repetition_penalty(logits, counts, controls["repetition_penalty"])
            logits = apply_presence_penalty(
                logits, counts, controls["presence_penalty"], controls["frequency_penalty"]
            )
        vocabulary = tf.range(self.vocabulary_size)
        banned = tf.reduce_any(vocabulary[:, None] == tf.constant(
            list(spec.never_ids) or [-1], tf.int32)[None, :], axis=-1)[None, :]  # (1, V)
        # Before `min_new_tokens`, end-of-sequence is not an option.
        banned = banned | ((vocabulary == spec.eos_id)[None, :]
                           & (state["step"] < controls["min_new_tokens"]))
        if spec.banned_sequences:
            sequences, lengths = _padded_sequences(spec.banned_sequences)
            banned = banned | banned_sequences_mask(
                state["history"], state["index"], sequences, lengths, self.vocabulary_size
            )
        if spec.no_repeat_ngram_size:
            banned = banned | no_repeat_ngram_mask(
                state["history"], state["index"], state["first_real"],
                spec.no_repeat_ngram_size, self.vocabulary_size,
            )
        return mask_logits(logits, banned)

    def append_tokens(self, state, tokens, token_log_probabilities, controls, spec):
        """Writes one token per row, updates counts, lengths and the finish flags."""
        state = dict(state)
        active = ~state["done"]
        tokens = tf.where(active, tokens, spec.pad_id)
        history_slots = tf.range(tf.shape(state["history"])[1])[None, :]
        state["history"] = tf.where(
            history_slots == state["index"], tokens[:, None], state["history"]
        )
        if spec.penalties:
            state["counts"] = state["counts"] + tf.one_hot(
                tokens, self.vocabulary_size) * tf.cast(active, tf.float32)[:, None]
        output_slots = tf.range(tf.shape(state["log_probabilities"])[1])[None, :]
        state["log_probabilities"] = tf.where(
            (output_slots == state["step"]) & active[:, None],
            token_log_probabilities[:, None],
            state["log_probabilities"],
        )
        step = state["step"] + 1
        lengths = tf.where(active, step, state["lengths"])
        may_finish = active & (step >= controls["min_new_tokens"])
        eos_hit = may_finish & (tokens == spec.eos_id)
        lengths = tf.where(eos_hit, lengths - 1, lengths)  # the end token is not output
        finish = tf.where(eos_hit, FINISH_EOS, state["finish"])
        done = state["done"] | eos_hit
        if spec.stop_sequences:
            sequences, stop_lengths = _padded_sequences(spec.stop_sequences)
            matches = suffix_matches(state["history"], state["index"] + 1, sequences, stop_lengths)
            matches &= stop_lengths[None, :] <= step  # inside the output, not the prompt
            stop_hit = may_finish & ~eos_hit & tf.reduce_any(matches, axis=-1)
            matched = tf.reduce_max(tf.where(matches, stop_lengths[None, :], 0), axis=-1)
            lengths = tf.where(stop_hit, lengths - matched, lengths)  # drop the stop text
            finish = tf.where(stop_hit, FINISH_STOP, finish)
            done = done | stop_hit
        state.update(
            index=state["index"] + 1, step=step, lengths=lengths, finish=finish, done=done
        )
        return state

    def advance(self, state, tokens):
        """Runs the token just written (slot index - 1) through the model: next logits, cache."""
        window, may_slide = self.window(state["history"])
        index, window_start = state["index"], state["window_start"]
        first_real = state["first_real"]
        slot = index - 1 - window_start

        def step():
            key_mask = (window_start + tf.range(window))[None, :] >= first_real[:, None]
            positions = (index - 1 - tf.maximum(window_start, first_real))[:, None]  # (B, 1)
            logits, cache = self.model.call_with_cache(
                tokens[:, None], state["cache"], slot, padding_mask=key_mask,
                position_ids=positions,
            )
            return tf.cast(logits[:, -1], tf.float32), cache, window_start

        def slide():
            keep = max(window // 2, 1)
            new_start = index - keep
            kept = tf.slice(state["history"], [0, new_start], [-1, keep])  # (B, W/2)
            key_mask = (new_start + tf.range(window))[None, :] >= first_real[:, None]
            positions = tf.maximum(
                new_start + tf.range(keep)[None, :] - tf.maximum(new_start, first_real)[:, None],
                0,
            )
            logits, cache = self.model.call_with_cache(
                kept, tf.nest.map_structure(tf.zeros_like, state["cache"]), 0,
                padding_mask=key_mask,
                position_ids=positions,
            )
            return tf.cast(logits[:, -1], tf.float32), cache, new_start

        if may_slide:
            next_logits, cache, window_start = tf.cond(slot >= window, slide, step)
        else:
            next_logits, cache, window_start = step()
        state = dict(state)
        state.update(next_logits=next_logits, cache=cache, window_start=window_start)
        return state

    def _decode(self, state, controls, stop_at, spec):
        limit = tf.minimum(stop_at, controls["max_new_tokens"])

        def keep_going(state):
            return (state["step"] < limit) & ~tf.reduce_all(state["done"])

        def body(state):
            logits = self.process_logits(state, controls, spec)
            seed = tf.random.experimental.stateless_fold_in(controls["seed"], state["step"])
            tokens = choose_tokens(
                logits,
                temperature=controls["temperature"] if spec.sampling else 0,
                top_k=controls["top_k"] if spec.top_k else 0,
                top_p=controls["top_p"] if spec.top_p else 1.0,
                seed=seed,
            )
            # Log-probabilities under the model's own distribution, before any processing.
            log_probabilities = tf.gather(
                tf.nn.log_softmax(state["next_logits"]), tokens, axis=1, batch_dims=1
            )
            state = self.append_tokens(state, tokens, log_probabilities, controls, spec)
            return (self.advance(state, tokens),)

        (state,) = tf.while_loop(keep_going, body, (state,))
        return state
