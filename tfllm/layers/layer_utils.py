"""Small helpers shared by tfllm layers and models: initializers, activations, shapes.

Each raises `ValueError` that names the argument, says what was expected and ends with
`Received: name=value`, so a typo in a config points straight at the field to fix. Plain
argument checks (positive ints, rates, choices) are in `tfllm.validation`.
"""

import keras


def get_initializer(name, value):
    """`keras.initializers.get(value)`, with an error that names the argument."""
    try:
        return keras.initializers.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"`{name}` must be a Keras initializer, its name or its config. "
            f"Received: {name}={value!r}"
        ) from error


def get_activation(name, value):
    """`keras.activations.get(value)`, with an error that names the argument."""
    try:
        return keras.activations.get(value)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"`{name}` must be a Keras activation or its name, e.g. 'gelu'. "
            f"Received: {name}={value!r}"
        ) from error


def clone_initializer(initializer):
    """A fresh copy of `initializer`, to give to one variable.

    Keras draws an unseeded initializer's seed once, when the initializer is created, so one
    instance shared by two variables of the same shape fills both with the same numbers. Each
    variable therefore gets its own copy; the copy of an unseeded initializer draws a new seed.
    """
    if not isinstance(initializer, keras.initializers.Initializer):
        return initializer
    return initializer.__class__.from_config(initializer.get_config())


def static_last_dim(name, shape):
    """The last dimension of `shape`, which must be known (not None) to build weights."""
    if shape is None or len(shape) == 0 or shape[-1] is None:
        raise ValueError(
            f"The last dimension of `{name}` must be known to build the layer's weights. "
            f"Received: {name}={tuple(shape) if shape is not None else None}"
        )
    return int(shape[-1])


def serialize_optional_initializer(initializer):
    """`keras.initializers.serialize`, passing None through (for "defaults to another" args)."""
    return None if initializer is None else keras.initializers.serialize(initializer)
