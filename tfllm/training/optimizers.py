"""The optimizer of a run: AdamW (decay on matrices only), or Muon for the matrices.

`build_optimizer` builds either, with global-norm gradient clipping, gradient accumulation and
the learning-rate schedule:

- `"adamw"`: `AdamWithDecayExclusions`, Keras's AdamW with decoupled weight decay on matrices
  only (biases, norms and embeddings are excluded, as in GPT-2 and BERT; see
  `tfllm.training.optimizer_additions` for how Keras matches the names, and why tfllm saves them).
- `"muon"`: `MuonForMatrices`, Keras's Muon on the kernels of the hidden layers and AdamW on
  embeddings, output heads, biases and norms, at the same learning rate and weight decay
  (`tfllm.training.muon_for_matrices`).

Both keep the global norm of the last update's gradients, before clipping, in `gradient_norm`
for the per-step logs.
"""

import keras

from tfllm.config import MUON_MOMENTUM, OPTIMIZERS
from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule
from tfllm.training.muon_for_matrices import MuonForMatrices
from tfllm.training.optimizer_additions import NO_DECAY_NAMES, OptimizerAdditions
from tfllm.validation import (
    check_choice,
    check_non_negative_float,
    check_open_unit,
    check_positive_float,
)


@keras.saving.register_keras_serializable(package="tfllm")
class AdamWithDecayExclusions(OptimizerAdditions, keras.optimizers.AdamW):
    """`keras.optimizers.AdamW` that excludes variables from weight decay by name, and saves it.

    Args:
        no_decay_names: substrings of variable names (`variable.name`) that get no weight decay.
        *args, **kwargs: as for `keras.optimizers.AdamW`.

    Example:

    >>> optimizer = AdamWithDecayExclusions(learning_rate=1e-3, weight_decay=0.1)
    >>> optimizer.get_config()["no_decay_names"]
    ['bias', 'gamma', 'beta', 'scale', 'embeddings']
    """


def build_optimizer(
    learning_rate,
    *,
    optimizer="adamw",
    weight_decay=0.1,
    beta_1=0.9,
    beta_2=0.99,
    clipnorm=1.0,
    epsilon=1e-8,
    no_decay_names=NO_DECAY_NAMES,
    gradient_accumulation_steps=1,
    muon_momentum=MUON_MOMENTUM,
):
    """AdamW or Muon for language models: decay on matrices only, gradients clipped by their
    global norm.

    Args:
        learning_rate: a positive float or a `keras.optimizers.schedules.LearningRateSchedule`
            (e.g. `WarmupCosineDecay`). The decay applied per step is `learning_rate * weight_decay`
            times the weight, so it follows the schedule.
        optimizer: "adamw" (`AdamWithDecayExclusions`) or "muon" (`MuonForMatrices`: Muon on the
            hidden layers' kernels, AdamW with `beta_1`, `beta_2`, `epsilon` on the rest, one
            learning rate and one weight decay for both).
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
        muon_momentum: Muon's momentum, in (0, 1); "muon" only.

    Returns:
        An `AdamWithDecayExclusions` (a `keras.optimizers.AdamW`) or a `MuonForMatrices` (a
        `keras.optimizers.Muon`).

    Example:

    >>> optimizer = build_optimizer(1e-3, weight_decay=0.1, clipnorm=1.0)
    >>> optimizer.global_clipnorm, float(optimizer.weight_decay)
    (1.0, 0.1)
    >>> type(build_optimizer(1e-3, optimizer="muon")).__name__
    'MuonForMatrices'
    """
    if not isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        if callable(learning_rate):
            raise TypeError(
                "learning_rate must be a positive float or a "
                "keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: learning_rate={learning_rate!r}"
            )
        learning_rate = check_positive_float("learning_rate", learning_rate)
    optimizer = check_choice("optimizer", optimizer, OPTIMIZERS)
    weight_decay = check_non_negative_float("weight_decay", weight_decay)
    beta_1 = check_open_unit("beta_1", beta_1)
    beta_2 = check_open_unit("beta_2", beta_2)
    clipnorm = check_non_negative_float("clipnorm", clipnorm)
    epsilon = check_positive_float("epsilon", epsilon)
    muon_momentum = check_open_unit("muon_momentum", muon_momentum)
    if optimizer == "adamw" and muon_momentum != MUON_MOMENTUM:
        raise ValueError(
            "muon_momentum sets Muon's momentum and does nothing with optimizer='adamw'. "
            f"Received: muon_momentum={muon_momentum!r}"
        )
    if gradient_accumulation_steps > 1:
        if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
            learning_rate = AccumulatedStepSchedule(learning_rate, gradient_accumulation_steps)
        accumulation = {"gradient_accumulation_steps": gradient_accumulation_steps}
    else:
        accumulation = {}
    common = dict(learning_rate=learning_rate, epsilon=epsilon, global_clipnorm=clipnorm or None,
                  no_decay_names=no_decay_names, **accumulation)
    if optimizer == "muon":
        # Keras's Muon skips a part whose decay is None; 0 would still cost an assignment.
        return MuonForMatrices(weight_decay=weight_decay or None,
                               adam_weight_decay=weight_decay or None,
                               adam_beta_1=beta_1, adam_beta_2=beta_2, momentum=muon_momentum,
                               **common)
    return AdamWithDecayExclusions(weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2,
                                   **common)
