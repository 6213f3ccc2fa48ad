"""Named run configurations. `tfllm presets` lists them; `--preset NAME` picks one.

Each preset is a complete `RunConfig`; `--set section.key=value` adjusts it. The figures quoted
for a preset come from the command in its comment; re-run it to check them.
"""

from tfllm.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from tfllm.errors import ConfigError

_PRESETS = {}


def register_preset(config, description):
    """Adds `config` under `config.name`; `description` is the one line `tfllm presets` prints."""
    if config.name in _PRESETS:
        raise ValueError(f"Preset {config.name!r} is already registered.")
    _PRESETS[config.name] = (config, description)
    return config


def get_preset(name):
    """Returns the `RunConfig` registered as `name`, or raises `ConfigError` listing valid names."""
    if name not in _PRESETS:
        raise ConfigError(
            f"Unknown preset {name!r}. Valid presets: {', '.join(sorted(_PRESETS))} "
            f"(see `tfllm presets`). Received: --preset {name!r}"
        )
    return _PRESETS[name][0]


def list_presets():
    """Returns `[(name, description, config), ...]` sorted by name."""
    return [(name, desc, cfg) for name, (cfg, desc) in sorted(_PRESETS.items())]


# The `make run` default: a character-level GPT on the bundled plays, sized by measurement to
# reach the lowest held-out loss it can in about 5 minutes of training on 2 CPU cores.
register_preset(
    RunConfig(
        name="shakespeare-char",
        model=ModelConfig(
            architecture="gpt",
            sequence_length=128,
            num_layers=4,
            num_heads=4,
            hidden_dim=128,
            intermediate_dim=512,
            dropout=0.0,
        ),
        data=DataConfig(corpus="shakespeare", tokenizer="char", windows="random"),
        train=TrainConfig(
            batch_size=32,
            steps=4000,
            eval_interval=500,
            eval_batches=40,
            learning_rate=2e-3,
            min_learning_rate=2e-4,
            warmup_steps=200,
            weight_decay=0.1,
        ),
    ),
    "character GPT on the bundled Shakespeare plays (the `make run` default, ~5 min on 2 CPU cores)",
)

# The recurrent baseline on equal terms: same data, tokenizer, objective, budget.
register_preset(
    RunConfig(
        name="shakespeare-char-lstm",
        model=ModelConfig(
            architecture="lstm",
            sequence_length=128,
            num_layers=2,
            hidden_dim=384,
            dropout=0.0,
            tie_embeddings=False,
        ),
        data=DataConfig(corpus="shakespeare", tokenizer="char", windows="random"),
        train=TrainConfig(
            batch_size=32,
            steps=4000,
            eval_interval=500,
            eval_batches=40,
            learning_rate=2e-3,
            min_learning_rate=2e-4,
            warmup_steps=200,
            weight_decay=0.0,
        ),
    ),
    "character LSTM baseline on the same plays, same budget as shakespeare-char",
)

# For tests and a first look: trains in seconds, learns something real.
register_preset(
    RunConfig(
        name="smoke",
        model=ModelConfig(
            architecture="gpt",
            sequence_length=32,
            num_layers=1,
            num_heads=2,
            hidden_dim=32,
            intermediate_dim=64,
        ),
        data=DataConfig(corpus="shakespeare", tokenizer="char", windows="random"),
        train=TrainConfig(
            batch_size=16,
            steps=60,
            eval_interval=30,
            eval_batches=4,
            learning_rate=3e-3,
            min_learning_rate=3e-4,
            warmup_steps=10,
            sample_length=40,
            log_every=10,
        ),
    ),
    "a tiny GPT that trains in under 30 s (for tests and smoke checks)",
)
