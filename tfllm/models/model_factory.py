"""`build_model`: a `tfllm.config.ModelConfig` (a registered class and its arguments) in, a model out.

A model is described by its own config, as Keras serializes it: the name the class was
registered under and the arguments of its constructor. Nothing here knows one model from
another, so a new model is one registered class (and a preset that names it).
"""

import inspect

import keras
import numpy as np

from tfllm.config import ModelConfig, parse_model_value
from tfllm.errors import ConfigError

# Arguments every run sets itself: the tokenizer decides the vocabulary.
_SET_BY_THE_RUN = ("vocabulary_size",)


def model_classes():
    """`{registered name: class}` of the Keras models tfllm can build (package "tfllm")."""
    return {
        name.split(">", 1)[1]: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("tfllm>") and isinstance(obj, type) and issubclass(obj, keras.Model)
        and "vocabulary_size" in inspect.signature(obj.__init__).parameters
    }


def model_class(class_name):
    """The registered Keras model class named `class_name` ("GPT" or "package>Name")."""
    known = model_classes()
    if class_name in known:
        return known[class_name]
    registered = keras.saving.get_registered_object(class_name)
    if isinstance(registered, type) and issubclass(registered, keras.Model):
        return registered
    raise ConfigError(
        f"Unknown model class. Valid classes: {', '.join(sorted(known))} (or 'package>Name' of "
        f"a class registered with keras.saving.register_keras_serializable). "
        f"Received: model.class_name={class_name!r}"
    )


def model_arguments(cls):
    """`{name: default}` of the constructor arguments a config may set (no default: `inspect.Parameter.empty`)."""
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name: p.default
        for p in parameters
        if p.name != "self" and p.name not in _SET_BY_THE_RUN
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def check_model_config(model_config):
    """Checks that `model_config` names a model class and only arguments it takes.

    Returns the `ModelConfig` with values given as text (`--set model.ARG=...`) converted to
    the type of the argument's default.

    Raises:
        ConfigError: an unknown class (the message lists tfllm's), an argument the class does
            not take (the message lists the ones it does), or a missing required argument.
    """
    cls = model_class(model_config.class_name)
    arguments = model_arguments(cls)
    unknown = sorted(set(model_config.config) - set(arguments))
    if unknown:
        raise ConfigError(
            f"{model_config.class_name} has no argument {', '.join(unknown)}. Its arguments: "
            f"{', '.join(f'model.{name}' for name in arguments)}. "
            f"Received: model.{unknown[0]}={model_config.config[unknown[0]]!r}"
        )
    missing = [name for name, default in arguments.items()
               if default is inspect.Parameter.empty and name not in model_config.config]
    if missing:
        raise ConfigError(
            f"{model_config.class_name} needs model.{missing[0]} (no default); set it with "
            f"--set model.{missing[0]}=VALUE. Received: model.config={model_config.config!r}"
        )
    converted = {}
    for name, value in model_config.config.items():
        default = arguments[name]
        if isinstance(value, str) and default not in (inspect.Parameter.empty, None) and (
                not isinstance(default, str)):
            value = parse_model_value(f"model.{name}", value, default)
        elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        converted[name] = value
    return ModelConfig(model_config.class_name, converted)


def build_model(model_config, vocabulary_size):
    """Builds the model that `model_config` describes, with its weights created.

    Args:
        model_config: a `tfllm.config.ModelConfig`.
        vocabulary_size: V, the tokenizer's vocabulary size.
    Returns:
        the model, called once on a dummy batch. Create it inside `strategy.scope()` to place
        its variables under a distribution strategy.
    Raises:
        ConfigError: see `check_model_config`; or the model's own message for an invalid
            argument value, as the model wrote it.

    Example:

    >>> from tfllm.config import ModelConfig
    >>> from tfllm.models import build_model
    >>> model = build_model(ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2,
    ...                                 hidden_dim=8, intermediate_dim=32)), vocabulary_size=32)
    >>> type(model).__name__, model.sequence_length
    ('GPT', 8)
    """
    model_config = check_model_config(model_config)
    cls = model_class(model_config.class_name)
    try:
        model = cls.from_config({**model_config.config, "vocabulary_size": vocabulary_size})
    except (ValueError, TypeError) as error:
        raise ConfigError(f"model: {error}") from error
    # (B, T) = (1, 2): one tiny call creates every weight (T = 2 keeps Keras from warning
    # about a softmax over a single key).
    length = min(2, getattr(model, "sequence_length", None)
                 or getattr(model, "target_length", None) or 2)
    dummy = np.zeros((1, length), dtype="int32")
    inputs = {"token_ids": dummy, "padding_mask": dummy == 0}
    if getattr(model, "is_seq2seq", False):  # an encoder-decoder model reads a source too
        source = np.zeros((1, min(2, model.source_length)), dtype="int32")
        inputs.update(encoder_token_ids=source, encoder_padding_mask=source == 0)
    model(inputs, training=False)
    return model
