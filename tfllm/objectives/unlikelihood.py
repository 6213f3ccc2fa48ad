"""Token-level unlikelihood training: push probability away from tokens that should not come next.

From Welleck et al., "Neural Text Generation with Unlikelihood Training" (2019). At position t
with a set of negative candidates C_t, the unlikelihood penalty is

    UL_t = -sum_{c in C_t} log(clip(1 - p_c, 1e-5, 1))

with p = softmax(logits_t), and the training loss per token is `nll_t + alpha * UL_t`. The
clip keeps the log finite; a candidate the model is more than 1 - 1e-5 sure of gets no gradient
(as in the paper's released code). Candidate sets:

- `context_candidates`: the paper's previous-context candidates. c is a candidate at t when it
  occurred among the previous targets labels[:, :t] (the inputs at positions 1..t: only the
  first input token, usually BOS, is left out) and is not the target labels[:, t] itself. This
  discourages repeating what was already said.
- `token_set_candidates`: a fixed set of token ids (words that must not be produced), the same
  at every position.

At every position the target itself is taken out of the candidates (`token_unlikelihood` and
`probability_mass` with labels do this), so the penalty never fights the likelihood on the token
that is actually next.

`probability_mass` is the simpler penalty `sum_{c in C_t} p_c`. Its gradient with respect to a
candidate's own logit is p_c * (1 - p_c), which vanishes as p_c goes to 1: it gives up on the
candidates the model is surest of. The unlikelihood's is p_c, largest exactly there (both are
about p_c while p_c is small).

Example:

>>> import numpy as np
>>> labels = np.array([[2, 1, 2, 3]])
>>> candidates = context_candidates(labels, vocabulary_size=4)  # (1, 4, 4)
>>> candidates[0].numpy().astype(int)  # t=2: {1} (2 is the target); t=3: {1, 2}
array([[0, 0, 0, 0],
       [0, 0, 1, 0],
       [0, 1, 0, 0],
       [0, 1, 1, 0]])
>>> logits = np.zeros((1, 4, 4), "float32")  # p = 1/4 everywhere
>>> # -log(1 - 1/4) = 0.2877 per candidate.
>>> np.round(token_unlikelihood(labels, logits, candidates).numpy(), 4)
array([[0.    , 0.2877, 0.2877, 0.5754]], dtype=float32)
>>> probability_mass(logits, candidates).numpy()
array([[0.  , 0.25, 0.25, 0.5 ]], dtype=float32)
"""

import keras
import numpy as np
from keras import ops

from tfllm.objectives.masked_cross_entropy import token_cross_entropy
from tfllm.validation import (
    check_choice,
    check_int_range,
    check_non_negative_float,
    check_non_negative_int,
    check_positive_int,
    check_rate,
)

PENALTIES = ("unlikelihood", "probability_mass")
# Smallest 1 - p_c inside the log (the released code of Welleck et al. 2019 clamps there too).
MIN_ONE_MINUS_PROBABILITY = 1e-5


def _check_token_ids(name, token_ids, vocabulary_size=None):
    """A non-empty list of ints >= 0 (and < `vocabulary_size` when given), or a ValueError."""
    if isinstance(token_ids, (str, bytes)) or not hasattr(token_ids, "__iter__"):
        raise ValueError(
            f"`{name}` must be a non-empty list of token ids (integers >= 0). "
            f"Received: {name}={token_ids!r}"
        )
    token_ids = list(token_ids)
    if not token_ids:
        raise ValueError(
            f"`{name}` must hold at least one token id. Received: {name}={token_ids!r}"
        )
    if vocabulary_size is None:
        return [check_non_negative_int(f"{name}[{i}]", id_) for i, id_ in enumerate(token_ids)]
    return [
        check_int_range(f"{name}[{i}]", id_, 0, vocabulary_size - 1)
        for i, id_ in enumerate(token_ids)
    ]


def context_candidates(labels, vocabulary_size):
    """The previous-context candidates of every position, as a (B, T, V) 0/1 float32 mask.

    `candidates[b, t, c]` is 1 when c is among `labels[b, :t]` and c != `labels[b, t]`. Built
    with a cumulative sum of one-hot targets over T (no loop), so it holds B * T * V float32
    values (and makes two temporaries of that size): as much as the logits themselves, e.g.
    8 * 256 * 32000 * 4 bytes = 262 MB. Padding at the end of a row only enters the candidates
    of later (padding) positions, whose weight is 0; a packed row's earlier documents do count
    as context.

    Args:
        labels: (B, T) integer target ids.
        vocabulary_size: V, a positive int (static, e.g. `logits.shape[-1]`).

    Returns:
        (B, T, V) float32, 1.0 on the candidates.
    """
    vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
    labels = ops.convert_to_tensor(labels)
    if len(labels.shape) != 2:
        raise ValueError(
            "`labels` must have shape (B, T) to have a previous context. "
            f"Received: labels.shape={labels.shape}"
        )
    is_target = ops.one_hot(ops.cast(labels, "int32"), vocabulary_size)  # (B, T, V)
    # (B, T, V): how often c occurred strictly before t (an exclusive cumulative sum).
    seen_before = ops.cumsum(is_target, axis=1) - is_target
    return ops.cast(ops.logical_and(seen_before > 0.5, is_target < 0.5), "float32")


def token_set_candidates(token_ids, vocabulary_size):
    """A fixed set of token ids as a (V,) 0/1 float32 mask, broadcast over every position.

    The target is taken out wherever it is itself in the set (by `token_unlikelihood`, and by
    `probability_mass` given labels), so penalising a set never fights the likelihood of the
    token that actually comes next.

    Args:
        token_ids: a non-empty list of ids in [0, V); repeats count once.
        vocabulary_size: V, a positive int.

    Returns:
        (V,) float32, 1.0 at the ids.
    """
    return _token_set_mask("token_ids", token_ids, vocabulary_size)


def _token_set_mask(name, token_ids, vocabulary_size):
    vocabulary_size = check_positive_int("vocabulary_size", vocabulary_size)
    token_ids = _check_token_ids(name, token_ids, vocabulary_size)
    mask = np.zeros(vocabulary_size, "float32")
    mask[token_ids] = 1.0
    return ops.convert_to_tensor(mask)


def _candidates_without_targets(labels, candidates, vocabulary_size):
    """(..., V) candidates with each position's target removed."""
    labels = ops.cast(labels, "int32")
    is_target = ops.one_hot(labels, vocabulary_size)  # (..., V)
    return ops.cast(candidates, "float32") * (1.0 - is_target)


def token_unlikelihood(labels, logits, candidates):
    """The unlikelihood penalty per token, -sum_c log(clip(1 - p_c, 1e-5, 1)), in float32.

    Args:
        labels: (B, T) integer targets; each position's target is never its own candidate.
        logits: (B, T, V) logits in any float dtype (cast to float32 first).
        candidates: (B, T, V) or (V,) 0/1 mask (`context_candidates`, `token_set_candidates`).

    Returns:
        (B, T) float32 penalty, 0 where a position has no candidates.
    """
    logits = ops.cast(logits, "float32")
    candidates = _candidates_without_targets(labels, candidates, ops.shape(logits)[-1])
    one_minus = ops.clip(1.0 - ops.softmax(logits, axis=-1), MIN_ONE_MINUS_PROBABILITY, 1.0)
    return ops.sum(candidates * -ops.log(one_minus), axis=-1)


def probability_mass(logits, candidates, labels=None):
    """The probability the model puts on the candidates, sum_c p_c per token, in float32.

    Args:
        logits: (B, T, V) logits in any float dtype (cast to float32 first).
        candidates: (B, T, V) or (V,) 0/1 mask.
        labels: optional (B, T) targets to take out of the candidates (needed for a token set;
            `context_candidates` never holds the target).

    Returns:
        (B, T) float32 mass in [0, 1].
    """
    logits = ops.cast(logits, "float32")
    if labels is not None:
        candidates = _candidates_without_targets(labels, candidates, ops.shape(logits)[-1])
    return ops.sum(ops.cast(candidates, "float32") * ops.softmax(logits, axis=-1), axis=-1)


def _check_candidates(candidates):
    if isinstance(candidates, str):
        if candidates != "context":
            raise ValueError(
                "`candidates` must be 'context' or a non-empty list of token ids (integers "
                f">= 0). Received: candidates={candidates!r}"
            )
        return candidates
    return _check_token_ids("candidates", candidates)


def _static_vocabulary_size(y_pred):
    vocabulary_size = y_pred.shape[-1]
    if vocabulary_size is None:
        raise ValueError(
            "The unlikelihood losses need logits with a static last axis (the vocabulary). "
            f"Received: y_pred.shape={y_pred.shape}"
        )
    return vocabulary_size


class _CandidatePenalty(keras.losses.Loss):
    """Shared by the two losses: candidates and penalty from the config, computed in float32."""

    # The constructor argument that holds the candidates, named in error messages.
    candidates_argument = "candidates"

    def __init__(self, candidates, penalty, reduction, name, dtype):
        # The loss dtype must stay float32: Loss.__call__ casts both logits and labels to it.
        if dtype not in (None, "float32"):
            raise ValueError(
                f"{type(self).__name__} always computes in float32 (low-precision logits are "
                f"cast up). Received: dtype={dtype!r}"
            )
        super().__init__(name=name, reduction=reduction, dtype="float32")
        self.candidates = _check_candidates(candidates)
        self.penalty = check_choice("penalty", penalty, PENALTIES)

    def penalty_values(self, y_true, y_pred):
        """(B, T) float32 penalty for integer-valued `y_true` (B, T) and logits (B, T, V)."""
        vocabulary_size = _static_vocabulary_size(y_pred)
        labels = ops.cast(y_true, "int32")
        if self.candidates == "context":
            candidates = context_candidates(labels, vocabulary_size)  # (B, T, V)
        else:
            # Ids beyond the vocabulary are caught here, when the step is traced.
            candidates = _token_set_mask(
                self.candidates_argument, self.candidates, vocabulary_size
            )  # (V,)
        if self.penalty == "unlikelihood":
            return token_unlikelihood(labels, y_pred, candidates)
        return probability_mass(y_pred, candidates, labels)

    def get_config(self):
        return {**super().get_config(), "candidates": self.candidates, "penalty": self.penalty}


@keras.saving.register_keras_serializable(package="tfllm")
class UnlikelihoodLoss(_CandidatePenalty):
    """Cross-entropy plus alpha times an unlikelihood penalty, over weighted tokens.

    Per token `nll_t + alpha * penalty_t` (module docstring); the default reduction divides by
    the sum of the weights, so padding (weight 0) changes nothing. Always float32.

    Args:
        alpha: >= 0, the penalty's weight (1.0 default); 0 leaves the cross-entropy alone.
        candidates: `"context"` (the previous targets; memory B * T * V floats) or a list of
            token ids to discourage everywhere. Ids must be integers >= 0 (checked here); that
            each is below V is checked when the loss first sees logits (at trace time: V is
            the logits' static last axis).
        penalty: `"unlikelihood"` (-log(1 - p_c)) or `"probability_mass"` (p_c).
        label_smoothing: eps in [0, 1) for the cross-entropy (as `MaskedCrossEntropy`).
        reduction: defaults to `"mean_with_sample_weight"` (divide by the sum of the weights).
        name: name of the loss.

    Call arguments:
        y_true: (B, T) integer labels.
        y_pred: (B, T, V) logits with a static V.
        sample_weight: (B, T) weights, 0 on padding.

    Example:

    >>> import numpy as np
    >>> loss = UnlikelihoodLoss()
    >>> logits = np.zeros((1, 4, 4), "float32")
    >>> # ln 4 per token plus 0, 1, 1 and 2 candidates at -log(3/4): 1.3863 + 4 * 0.2877 / 4.
    >>> round(float(loss(np.array([[2, 1, 2, 3]]), logits)), 4)
    1.674
    """

    def __init__(
        self,
        alpha=1.0,
        candidates="context",
        penalty="unlikelihood",
        label_smoothing=0.0,
        reduction="mean_with_sample_weight",
        name="unlikelihood_loss",
        dtype=None,
    ):
        super().__init__(candidates, penalty, reduction, name, dtype)
        self.alpha = check_non_negative_float("alpha", alpha)
        self.label_smoothing = check_rate("label_smoothing", label_smoothing)

    def call(self, y_true, y_pred):
        nats = token_cross_entropy(y_true, y_pred, self.label_smoothing)  # (B, T)
        if self.alpha == 0.0:
            return nats
        return nats + self.alpha * self.penalty_values(y_true, y_pred)

    def get_config(self):
        return {
            **super().get_config(),
            "alpha": self.alpha,
            "label_smoothing": self.label_smoothing,
        }


@keras.saving.register_keras_serializable(package="tfllm")
class TokenSetPenalty(_CandidatePenalty):
    """The penalty alone on a fixed set of token ids: a term for `WeightedObjective`.

    Per token `-sum_{c in S, c != y_t} log(1 - p_c)` (or the probability mass), with no
    cross-entropy, so a `WeightedObjective` can weigh it against `MaskedCrossEntropy` and log
    both separately.

    Args:
        token_ids: a non-empty list of ids to discourage (integers >= 0; each below V is
            checked when the loss first sees logits).
        penalty: `"unlikelihood"` or `"probability_mass"`.
        reduction: defaults to `"mean_with_sample_weight"`.
        name: name of the loss.

    Example:

    >>> import numpy as np
    >>> loss = TokenSetPenalty([3], penalty="probability_mass")
    >>> logits = np.zeros((1, 2, 4), "float32")
    >>> # p_3 = 1/4 at the first position; the second's target is 3, so it has no candidate.
    >>> float(loss(np.array([[1, 3]]), logits))
    0.125
    """

    def __init__(
        self,
        token_ids,
        penalty="unlikelihood",
        reduction="mean_with_sample_weight",
        name="token_set_penalty",
        dtype=None,
    ):
        super().__init__(_check_token_ids("token_ids", token_ids), penalty, reduction, name, dtype)

    candidates_argument = "token_ids"

    @property
    def token_ids(self):
        return self.candidates

    def call(self, y_true, y_pred):
        return self.penalty_values(y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        config["token_ids"] = config.pop("candidates")
        return config


@keras.saving.register_keras_serializable(package="tfllm")
class ContextPenalty(_CandidatePenalty):
    """The penalty alone on the previous-context candidates: a term for `WeightedObjective`.

    Per token `-sum_{c in C_t} log(1 - p_c)` over the tokens already seen in the window
    (`context_candidates`), or their probability mass; with `MaskedCrossEntropy` at weight 1
    and this at weight alpha, `WeightedObjective` equals `UnlikelihoodLoss(alpha)` and logs the
    two terms apart.

    Args:
        penalty: `"unlikelihood"` or `"probability_mass"`.
        reduction: defaults to `"mean_with_sample_weight"`.
        name: name of the loss.

    Example:

    >>> import numpy as np
    >>> loss = ContextPenalty()
    >>> logits = np.zeros((1, 4, 4), "float32")
    >>> # 0, 1, 1 and 2 candidates at -log(3/4) = 0.2877: their mean.
    >>> round(float(loss(np.array([[2, 1, 2, 3]]), logits)), 4)
    0.2877
    """

    def __init__(self, penalty="unlikelihood", reduction="mean_with_sample_weight",
                 name="context_penalty", dtype=None):
        super().__init__("context", penalty, reduction, name, dtype)

    def call(self, y_true, y_pred):
        return self.penalty_values(y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        del config["candidates"]
        return config
