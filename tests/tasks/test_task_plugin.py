"""A model class registered outside tfllm plugs into presets, --set, training, evaluation and
saving with no other edit: the proof that a new model is one class plus one preset."""

import dataclasses

import keras
import numpy as np
import pytest
from keras import ops

from tfllm.config import ModelConfig, RunConfig, TrainConfig, DataConfig, apply_overrides
from tfllm.data import load_plays
from tfllm.experiments import evaluate_model_dir, run_training
from tfllm.export import load_model_dir
from tfllm.generation import generate
from tfllm.models import CausalLanguageModel
from tfllm.presets import get_preset, register_preset


@keras.saving.register_keras_serializable(package="tfllm_test")
class BigramLM(CausalLanguageModel):
    """Each next token from the current one only: a table of V x V logits, factored through D."""

    def __init__(self, vocabulary_size, sequence_length=16, hidden_dim=8, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length, self.hidden_dim = (
            vocabulary_size, sequence_length, hidden_dim)
        self.embedding = keras.layers.Embedding(vocabulary_size, hidden_dim)
        self.projection = keras.layers.Dense(vocabulary_size)

    def call(self, inputs, training=None):
        return ops.cast(self.projection(self.embedding(inputs["token_ids"])), "float32")

    @property
    def max_cache_length(self):
        return None  # a bigram needs no memory of earlier tokens

    def build_cache(self, batch_size, max_length=None):
        return ops.zeros((batch_size, 1))

    def call_with_cache(self, token_ids, cache, cache_update_index, padding_mask=None,
                        position_ids=None):
        return self.call({"token_ids": token_ids}), cache

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "hidden_dim": self.hidden_dim}


PRESET = register_preset(
    RunConfig(
        name="test-bigram",
        model=ModelConfig("tfllm_test>BigramLM", {"sequence_length": 16}),
        data=DataConfig(corpus="shakespeare"),
        train=TrainConfig(batch_size=8, steps=20, eval_interval=10, eval_batches=2,
                          learning_rate=0.05, warmup_steps=2, sample_length=8, log_every=5),
    ),
    "a bigram model registered by a test",
)


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    # Real text, small enough to train on in seconds: the first 60,000 characters of a play.
    path = tmp_path_factory.mktemp("corpus") / "play.txt"
    path.write_text(load_plays()[0].text[:60_000], encoding="utf-8")
    return path


def test_trains_evaluates_saves_and_generates(tmp_path, corpus_file):
    config = apply_overrides(get_preset("test-bigram"),
                             [f"data.corpus={corpus_file}", "model.hidden_dim=12"])
    result = run_training(config, run_dir=tmp_path / "run", output_dir=tmp_path / "model",
                          verbose=0, print_fn=lambda *_: None)
    # A bigram model learns something real: far below a uniform guess over the characters.
    vocabulary = load_model_dir(tmp_path / "model").tokenizer.vocabulary_size
    assert result.metrics["loss"] < np.log(vocabulary) - 0.5
    loaded = load_model_dir(tmp_path / "model")
    assert isinstance(loaded.model, BigramLM) and loaded.model.hidden_dim == 12
    assert loaded.config.model == dataclasses.replace(
        config.model, config={"sequence_length": 16, "hidden_dim": 12})
    evaluated = evaluate_model_dir(tmp_path / "model")
    assert evaluated["loss"] == pytest.approx(result.metrics["loss"], rel=1e-5)
    text = generate(loaded.model, loaded.tokenizer, "ROMEO:", max_new_tokens=5, seed=1)
    assert isinstance(text, str) and len(text) > 0


def test_an_unknown_argument_lists_the_class_arguments(tmp_path, corpus_file):
    from tfllm.errors import ConfigError

    config = apply_overrides(get_preset("test-bigram"), ["model.num_heads=2"])
    with pytest.raises(ConfigError, match=r"BigramLM has no argument num_heads\. Its arguments: "
                                          r"model.sequence_length, model.hidden_dim"):
        run_training(config, run_dir=tmp_path / "run", output_dir=tmp_path / "model")
