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
"""

import keras

from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule

# Short variable names (substrings) that get no weight decay.
NO_DECAY_NAMES = ("bias", "gamma", "beta", "scale", "embeddings")


def _check_number(name, value, *, low, low_inclusive=True, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    too_low = value < low if low_inclusive else value <= low
    too_high = high is not None and value >= high
    if too_low or too_high:
        interval = f"{'[' if low_inclusive else '('}{low}, {high if high is not None else 'inf'})"
        raise ValueError(f"{name} must be in {interval}. Received: {name}={value!r}")
    return float(value)


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
        learning_rate = _check_number("learning_rate", learning_rate, low=0.0, low_inclusive=False)
    weight_decay = _check_number("weight_decay", weight_decay, low=0.0)
    beta_1 = _check_number("beta_1", beta_1, low=0.0, high=1.0)
    beta_2 = _check_number("beta_2", beta_2, low=0.0, high=1.0)
    clipnorm = _check_number("clipnorm", clipnorm, low=0.0)
    epsilon = _check_number("epsilon", epsilon, low=0.0, low_inclusive=False)
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
