"""AdamW with decoupled weight decay on matrices only, and global-norm gradient clipping.

Weight decay pulls weights towards 0. That regularises the matrices of dense, attention and
recurrent layers, but it only harms parameters that set a scale or an offset (biases, LayerNorm's
`gamma`/`beta`, RMSNorm's `scale`) and the embedding tables (rows of rare tokens would shrink
between their rare updates), so these are excluded, as in GPT-2 and BERT.

How Keras 3.15 decides: `exclude_from_weight_decay(var_names=[...])` joins the names into one
regular expression and `re.search`es it in `variable.name`, the *short* name given to `add_weight`
(`"kernel"`, `"bias"`, `"gamma"`, `"embeddings"`), not the path (`"dense/kernel"`). A name is
therefore matched as a substring: `"embeddings"` also excludes `"position_embeddings"`.

Keras does not save that exclusion list in the optimizer's config, so a plain `AdamW` reloaded
from a `.keras` file decays every variable. `AdamWithDecayExclusions` stores it.

It also keeps the global norm of the last update's gradients, before clipping, in
`gradient_norm`, for the per-step logs: a norm that grows step after step is the earliest sign
of a learning rate too high. It is the norm the clipping saw (with accumulation, of the averaged
micro-batches; under a multi-replica strategy, of the first replica's gradients, which Keras
clips before summing the replicas').
"""

import keras

from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule
from tfllm.validation import (
    check_non_negative_float,
    check_open_unit,
    check_positive_float,
)

# Short variable names (substrings) that get no weight decay.
NO_DECAY_NAMES = ("bias", "gamma", "beta", "scale", "embeddings")


@keras.saving.register_keras_serializable(package="tfllm")
class AdamWithDecayExclusions(keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` that excludes variables from weight decay by name, and saves it.

    Args:
        no_decay_names: substrings of variable names (`variable.name`) that get no weight decay.
        *args, **kwargs: as for `keras.optimizers.AdamW`.

    Example:

    >>> optimizer = AdamWithDecayExclusions(learning_rate=1e-3, weight_decay=0.1)
    >>> optimizer.get_config()["no_decay_names"]
    ['bias', 'gamma', 'beta', 'scale', 'embeddings']
    """

    def __init__(self, *args, no_decay_names=NO_DECAY_NAMES, **kwargs):
        super().__init__(*args, **kwargs)
        self.no_decay_names = [str(name) for name in no_decay_names]
        if self.no_decay_names:
            self.exclude_from_weight_decay(var_names=self.no_decay_names)

    def build(self, variables):
        super().build(variables)
        # only_first_replica: written in replica context, as the clipping runs there.
        self._gradient_norm = self.add_variable(
            (), dtype="float32", aggregation="only_first_replica", name="gradient_norm"
        )

    @property
    def gradient_norm(self):
        """Global norm of the last applied update's gradients before clipping (a scalar
        variable; None before the optimizer is built)."""
        return getattr(self, "_gradient_norm", None)

    def _clip_gradients(self, grads):
        # Keras's one place where every update's gradients pass before clipping and decay.
        norm = keras.ops.sqrt(sum(
            keras.ops.sum(keras.ops.square(keras.ops.cast(g, "float32")))
            for g in grads if g is not None
        ))
        if getattr(self, "_gradient_norm", None) is not None:  # None before build()
            self._gradient_norm.assign(norm)
        return super()._clip_gradients(grads)

    def get_config(self):
        return {**super().get_config(), "no_decay_names": list(self.no_decay_names)}


def build_optimizer(
    learning_rate,
    *,
    weight_decay=0.1,
    beta_1=0.9,
    beta_2=0.99,
    clipnorm=1.0,
    epsilon=1e-8,
    no_decay_names=NO_DECAY_NAMES,
    gradient_accumulation_steps=1,
):
    """AdamW for language models: decay on matrices only, gradients clipped by their global norm.

    Args:
        learning_rate: a positive float or a `keras.optimizers.schedules.LearningRateSchedule`
            (e.g. `WarmupCosineDecay`). The decay applied per step is `learning_rate * weight_decay`
            times the weight, so it follows the schedule.
        weight_decay: decoupled weight decay (0 disables it).
        beta_1, beta_2: Adam's moment decay rates; 0.99 for beta_2 suits short, small-batch runs
            better than the paper's 0.999.
        clipnorm: clip the *global* norm of all gradients to this (0 disables clipping).
        epsilon: Adam's denominator constant.
        no_decay_names: substrings of variable names that get no weight decay.
        gradient_accumulation_steps: K > 1 averages K micro-batch gradients before one update
            (Keras's own accumulation: clipping and decay apply once, to the mean). Keras then
            evaluates a schedule at the micro-batch count, so a schedule is wrapped in
            `AccumulatedStepSchedule` to keep it in optimizer steps.

    Returns:
        An `AdamWithDecayExclusions` (a `keras.optimizers.AdamW`).

    Example:

    >>> optimizer = build_optimizer(1e-3, weight_decay=0.1, clipnorm=1.0)
    >>> optimizer.global_clipnorm, float(optimizer.weight_decay)
    (1.0, 0.1)
    """
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        if callable(learning_rate):
            raise TypeError(
                "learning_rate must be a positive float or a "
                "keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: learning_rate={learning_rate!r}"
            )
        learning_rate = check_positive_float("learning_rate", learning_rate)
    weight_decay = check_non_negative_float("weight_decay", weight_decay)
    beta_1 = check_open_unit("beta_1", beta_1)
    beta_2 = check_open_unit("beta_2", beta_2)
    clipnorm = check_non_negative_float("clipnorm", clipnorm)
    epsilon = check_positive_float("epsilon", epsilon)
    if gradient_accumulation_steps > 1:
        if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            learning_rate = AccumulatedStepSchedule(learning_rate, gradient_accumulation_steps)
        accumulation = {"gradient_accumulation_steps": gradient_accumulation_steps}
    else:
        accumulation = {}
    return AdamWithDecayExclusions(
        learning_rate=learning_rate,
        weight_decay=weight_decay,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
        global_clipnorm=clipnorm or None,
        no_decay_names=no_decay_names,
        **accumulation,
    )
