"""Beam search on top of `CachedDecoder`: keep the `num_beams` most likely continuations.

Each prompt row is copied into W beams (only the first live at the start, so the beams do not
repeat each other). At every step each beam proposes every token; the W best
(beam, token) pairs by summed log-probability survive, and every per-row tensor of the decode
state, the model's cache included, is gathered to follow its beam. A finished beam (end id or
stop sequence) keeps its score and only extends with padding. At the end beams are ranked by
`sum log p / length ** length_penalty` (Wu et al., 2016; 0 ranks by the sum, 1 by the mean).
During the search beams are compared by the sum, as in keras-hub and T5.

Scores use the processed distribution (penalties and bans applied, no temperature), so beam
search honours banned words, n-gram blocking and stop sequences. With `num_beams=1` it picks
the argmax at every step: greedy decoding.
"""

import tensorflow as tf


def _gather_rows(state, rows):
    """Every per-row tensor of the decode state gathered by (B * W,) row indices."""
    gathered = {}
    for key, value in state.items():
        if key in ("index", "step", "window_start"):
            gathered[key] = value
        else:
            gathered[key] = tf.nest.map_structure(lambda t: tf.gather(t, rows, axis=0), value)
    return gathered


def beam_search(decoder, state, controls, spec, *, num_beams, num_return_sequences=1,
                length_penalty=1.0):
    """Runs beam search from a prefilled decode state.

    Args:
        decoder: the model's `CachedDecoder`.
        state: from `decoder.prefill` for B prompt rows.
        controls: dict of tensors (`default_controls`); sampling keys are ignored.
        spec: the `DecodeSpec` of the prefill.
        num_beams: W >= 1.
        num_return_sequences: how many of the best beams to return per prompt (<= W).
        length_penalty: exponent of the length normalisation of the final ranking.
    Returns:
        (token_ids, log_probabilities, finish_codes, scores), each a list of
        B * num_return_sequences entries, the best beam of each prompt first.
    """
    batch_size = int(state["history"].shape[0])
    width = int(num_beams)
    search = decoder.compiled(("beam", spec, width), lambda s, c: _search(decoder, s, c, spec, width))
    beam_rows = tf.repeat(tf.range(batch_size), width)  # (B * W,)
    state, scores = search(_gather_rows(state, beam_rows), controls)

    history = state["history"].numpy()
    prompt_slots = int(state["index"].numpy()) - int(state["step"].numpy())
    lengths = state["lengths"].numpy()
    log_probabilities = state["log_probabilities"].numpy()
    finish = state["finish"].numpy()
    scores = scores.numpy().reshape(batch_size, width)
    outputs = ([], [], [], [])
    for row in range(batch_size):
        beams = range(row * width, (row + 1) * width)
        normalised = [
            scores[row, beam - row * width] / max(int(lengths[beam]), 1) ** length_penalty
            for beam in beams
        ]
        ranked = sorted(zip(normalised, beams), key=lambda pair: -pair[0])
        for score, beam in ranked[:num_return_sequences]:
            n = int(lengths[beam])
            outputs[0].append(history[beam, prompt_slots:prompt_slots + n].tolist())
            outputs[1].append(log_probabilities[beam, :n].astype(float).tolist())
            outputs[2].append(int(finish[beam]))
            outputs[3].append(float(score))
    return outputs


def _search(decoder, state, controls, spec, width):
    # Static where known, so the loop keeps its shapes (a compiled loop needs them).
    rows = state["history"].shape[0] or tf.shape(state["history"])[0]  # B * W
    batch_size = rows // width
    vocabulary_size = decoder.vocabulary_size
    # (B, W): only the first beam of each prompt is alive at the start.
    scores = tf.tile(
        tf.concat([[0.0], tf.fill([width - 1], float("-inf"))], axis=0)[None, :], [batch_size, 1]
    )
    is_pad = tf.range(vocabulary_size)[None, :] == spec.pad_id  # (1, V)

    def keep_going(state, scores):
        return (state["step"] < controls["max_new_tokens"]) & ~tf.reduce_all(state["done"])

    def body(state, scores):
        log_p = tf.nn.log_softmax(decoder.process_logits(state, controls, spec))  # (B*W, V)
        # A finished beam extends only with padding, at no cost.
        log_p = tf.where(state["done"][:, None], tf.where(is_pad, 0.0, float("-inf")), log_p)
        candidates = tf.reshape(scores, [-1, 1]) + log_p  # (B*W, V)
        candidates = tf.reshape(candidates, [batch_size, width * vocabulary_size])  # (B, W*V)
        best, flat_index = tf.math.top_k(candidates, k=width)  # (B, W)
        parents = flat_index // vocabulary_size + tf.range(batch_size)[:, None] * width
        tokens = tf.reshape(flat_index % vocabulary_size, [-1])  # (B*W,)
        state = _gather_rows(state, tf.reshape(parents, [-1]))
        model_log_p = tf.gather(
            tf.nn.log_softmax(state["next_logits"]), tokens, axis=1, batch_dims=1
        )
        state = decoder.append_tokens(state, tokens, model_log_p, controls, spec)
        return decoder.advance(state, tokens), best

    return tf.while_loop(keep_going, body, (state, scores))
