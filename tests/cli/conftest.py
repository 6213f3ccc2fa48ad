"""Fixtures of the CLI tests that need a model directory but not a trained model."""

import pytest


def save_untrained_model_dir(path, tokenizer):
    """Writes a complete model directory holding an untrained 1-layer GPT for `tokenizer`
    (built, never fitted: about a second). Enough for every error that loading or generation
    arguments can raise; tests of what a model has learned use `smoke_run`."""
    from tfllm.config import ModelConfig, RunConfig
    from tfllm.export import save_model_dir
    from tfllm.models import build_model
    from tfllm.presets import get_preset

    model_config = ModelConfig("GPT", dict(sequence_length=16, num_layers=1, num_heads=2,
                                           hidden_dim=8, intermediate_dim=16))
    smoke = get_preset("smoke")
    config = RunConfig(name=path.name, model=model_config, data=smoke.data, train=smoke.train)
    model = build_model(model_config, tokenizer.vocabulary_size)
    return save_model_dir(path, model, tokenizer, config)


@pytest.fixture(scope="session")
def make_untrained_model_dir():
    """`save_untrained_model_dir(path, tokenizer)`, for a test that needs another tokenizer."""
    return save_untrained_model_dir


@pytest.fixture(scope="session")
def untrained_model_dir(tmp_path_factory):
    """An untrained model directory with a character tokenizer (see `save_untrained_model_dir`)."""
    from tfllm.tokenizers import CharTokenizer

    tokenizer = CharTokenizer.from_texts(["ROMEO: But soft, what light through yonder window?\n"])
    return save_untrained_model_dir(tmp_path_factory.mktemp("untrained") / "model", tokenizer)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """60,000 characters of Hamlet: a small validation split keeps each run to seconds."""
    from tfllm.data import load_plays

    path = tmp_path_factory.mktemp("corpus") / "hamlet.txt"
    hamlet = next(play for play in load_plays() if play.slug == "hamlet")
    path.write_text(hamlet.text[:60_000], encoding="utf-8")
    return path
