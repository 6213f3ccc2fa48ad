"""`--set section.key=value`: `apply_overrides` applies such strings to a `RunConfig`;
`valid_keys` lists what it accepts; `parse_model_value` reads a model argument's text.

Example:

>>> from tfllm.config_overrides import apply_overrides
>>> from tfllm.presets import get_preset
>>> apply_overrides(get_preset("smoke"), ["train.steps=100"]).train.steps
100
"""

import dataclasses
import json
import typing

from tfllm.config import ModelConfig, RunConfig, _coerce
from tfllm.errors import ConfigError


def valid_keys(config=None):
    """The `section.key` names that `--set` accepts for `config`.

    `model.ARG` is any constructor argument of the model class; this lists the ones `config`
    sets (`tfllm.models.model_arguments` lists them all).
    """
    config = config or RunConfig()
    keys = ["name", "task", "model.class_name"]
    keys += [f"model.{name}" for name in config.model.config]
    for section in ("data", "train"):
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(getattr(config, section))]
    return keys


def parse_model_value(key, text, current=None):
    """A `--set model.ARG=text` value: the type of `current` when the config sets one, else
    the JSON literal `text` spells (true/false, a number, null, a list) or the string itself.
    `tfllm.models.build_model` checks it against the constructor's default."""
    if current is not None and not isinstance(current, (list, dict)):
        return _coerce(key, text, type(current))
    try:
        return json.loads(text)
    except ValueError:
        lowered = text.lower()
        return {"true": True, "false": False}.get(lowered, text)


def apply_overrides(config, overrides):
    """Returns `config` with each `"section.key=value"` in `overrides` applied.

    Raises `ConfigError` for a malformed override, an unknown `data.`/`train.` key (listing the
    valid ones) or a value that does not parse as the key's type. `model.ARG` sets a
    constructor argument of the model class; the names are checked when the model is built
    (`tfllm.models.check_model_config`), because that needs the class.
    """
    # Collected first and applied together, so cross-field checks (see TrainConfig) see the
    # final values whatever the order of the overrides.
    changes = {}
    model = config.model
    for override in overrides or ():
        if "=" not in override:
            raise ConfigError(
                f"An override must look like section.key=value, e.g. train.steps=500. "
                f"Received: --set {override!r}"
            )
        key, value = (part.strip() for part in override.split("=", 1))
        if key in ("name", "task"):
            changes.setdefault(None, {})[key] = _coerce(key, value, str)
            continue
        section_name, _, field_name = key.partition(".")
        if section_name == "model" and field_name == "class_name":
            model = ModelConfig(value, model.config)
            continue
        if section_name == "model" and field_name and "." not in field_name:
            current = model.config.get(field_name)
            model = ModelConfig(
                model.class_name,
                {**model.config, field_name: parse_model_value(key, value, current)},
            )
            continue
        section = getattr(config, section_name) if section_name in ("data", "train") else None
        hints = typing.get_type_hints(type(section)) if section is not None else {}
        if field_name not in hints:
            raise ConfigError(
                f"Unknown config key '{key}'. Valid keys: {', '.join(valid_keys(config))} "
                f"(and model.ARG for any argument of the model class). Received: --set {override!r}"
            )
        changes.setdefault(section_name, {})[field_name] = _coerce(key, value, hints[field_name])
    top_level = changes.pop(None, {})
    sections = {
        name: dataclasses.replace(getattr(config, name), **fields) for name, fields in changes.items()
    }
    if model is not config.model:
        sections["model"] = model
    return dataclasses.replace(config, **top_level, **sections)
