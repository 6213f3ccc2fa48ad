"""What tfllm adds to a Keras optimizer: saved weight-decay exclusions and the gradient norm.

Weight decay pulls weights towards 0. That regularises the matrices of dense, attention and
recurrent layers, but it only harms parameters that set a scale or an offset (biases, LayerNorm's
`gamma`/`beta`, RMSNorm's `scale`) and the embedding tables (rows of rare tokens would shrink
between their rare updates), so these are excluded, as in GPT-2 and BERT.

How Keras 3.15 decides: `exclude_from_weight_decay(var_names=[...])` joins the names into one
regular expression and `re.search`es it in `variable.name`, the *short* name given to `add_weight`
(`"kernel"`, `"bias"`, `"gamma"`, `"embeddings"`), not the path (`"dense/kernel"`). A name is
therefore matched as a substring: `"embeddings"` also excludes `"position_embeddings"`. Keras does
not save that exclusion list in the optimizer's config, so a plain optimizer reloaded from a
`.keras` file decays every variable; `OptimizerAdditions` stores it.

It also keeps the global norm of the last update's gradients, before clipping, in
`gradient_norm`, for the per-step logs: a norm that grows step after step is the earliest sign
of a learning rate too high. It is the norm the clipping saw (with accumulation, of the averaged
micro-batches; under a multi-replica strategy, of the first replica's gradients, which Keras
clips before summing the replicas').

Example:

>>> import keras
>>> class Clipped(OptimizerAdditions, keras.optimizers.SGD):
...     pass
>>> Clipped(learning_rate=0.1, weight_decay=0.1).get_config()["no_decay_names"]
['bias', 'gamma', 'beta', 'scale', 'embeddings']
"""

import keras

# Short variable names (substrings) that get no weight decay.
NO_DECAY_NAMES = ("bias", "gamma", "beta", "scale", "embeddings")


class OptimizerAdditions:
    """Mixin placed before a `keras.optimizers.Optimizer` subclass in the bases.

    Args:
        no_decay_names: substrings of variable names (`variable.name`) that get no weight decay.
        *args, **kwargs: as for the Keras optimizer it is mixed into.
    """

    def __init__(self, *args, no_decay_names=NO_DECAY_NAMES, **kwargs):
        super().__init__(*args, **kwargs)
        self.no_decay_names = [str(name) for name in no_decay_names]
        if self.no_decay_names:
            self.exclude_from_weight_decay(var_names=self.no_decay_names)

    def build(self, variables):
        if self.built:
            return
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
