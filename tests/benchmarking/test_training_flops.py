"""`training_flops_per_token()`: each model counts its own training FLOPs per token."""

import keras
import numpy as np
import pytest

from tfllm.config import ModelConfig
from tfllm.models import CausalLanguageModel, build_model
from tfllm.presets import get_preset

V = 32
TINY_GPT = dict(sequence_length=8, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32)


def matmul_weight_count(model, tied):
    """Weights that enter a matmul for each token, read off the built model: every kernel of
    rank >= 2 (dense, attention and LSTM kernels; attention biases are (N, H) but add, not
    multiply), no embedding table, plus the tied output projection (the embedding table used
    a second time)."""
    count = sum(int(np.prod(w.shape)) for w in model.weights
                if len(w.shape) >= 2 and w.name not in ("embeddings", "bias"))
    return count + (model.vocabulary_size * model.token_embedding.output_dim if tied else 0)


def test_flops_of_the_baby_gpt_by_hand():
    # 4 blocks x (4 * 128^2 attention projections + 2 * 128 * 512 feed-forward) + 128 * 65 output,
    # times 6; plus 12 * L * T * D = 12 * 4 * 64 * 128 for attention scores and values.
    expected = 6 * (4 * (4 * 128**2 + 2 * 128 * 512) + 128 * 65) + 12 * 4 * 64 * 128
    assert expected == 5_161_728
    assert build_model(get_preset("gpt-baby").model, 65).training_flops_per_token() == expected


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("shape", [{}, dict(num_layers=3, hidden_dim=24, intermediate_dim=40)])
def test_gpt_flops_match_the_built_models_matmul_weights(shape, tied):
    arguments = {**TINY_GPT, **shape, "tie_embeddings": tied}
    model = build_model(ModelConfig("GPT", arguments), V)
    attention = 12 * arguments["num_layers"] * arguments["sequence_length"] * arguments["hidden_dim"]
    assert model.training_flops_per_token() == 6 * matmul_weight_count(model, tied) + attention


@pytest.mark.parametrize("embedding_dim", [None, 5])
def test_lstm_flops_match_the_built_models_matmul_weights(embedding_dim):
    arguments = dict(sequence_length=8, num_layers=2, hidden_dim=12, embedding_dim=embedding_dim)
    model = build_model(ModelConfig("LSTMLanguageModel", arguments), V)
    assert model.training_flops_per_token() == 6 * matmul_weight_count(model, tied=False)


def test_gpt_flops_grow_with_context_only_through_attention():
    short = build_model(ModelConfig("GPT", TINY_GPT), V)
    longer = build_model(ModelConfig("GPT", {**TINY_GPT, "sequence_length": 16}), V)
    difference = longer.training_flops_per_token() - short.training_flops_per_token()
    assert difference == 12 * TINY_GPT["num_layers"] * 8 * TINY_GPT["hidden_dim"]


@pytest.mark.parametrize("preset, ratio", [("gpt-baby", 1.06), ("gpt-small", 1.10)])
def test_gpt_count_against_six_times_count_params_is_as_documented(preset, ratio):
    model = build_model(get_preset(preset).model, 65)
    measured = model.training_flops_per_token() / (6 * model.count_params())
    assert measured == pytest.approx(ratio, abs=0.005)


class _Bigram(CausalLanguageModel):
    """A model with no count of its own: an embedding and a Dense(V) head."""

    def __init__(self, vocabulary_size, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length = vocabulary_size, 8
        self.embedding = keras.layers.Embedding(vocabulary_size, 4)
        self.head = keras.layers.Dense(vocabulary_size)

    def call(self, inputs):
        return self.head(self.embedding(inputs["token_ids"]))


def test_default_count_is_six_times_the_weights_outside_embedding_tables():
    model = _Bigram(V)
    with pytest.raises(ValueError, match="build it"):
        model.training_flops_per_token()
    model({"token_ids": np.zeros((1, 2), "int32")})
    # The Dense kernel (4 x V) and bias (V); the (V x 4) embedding table is left out.
    assert model.training_flops_per_token() == 6 * (4 * V + V)


def test_benchmark_presets_have_their_shapes_and_batches():
    for name, shape, batch in (("gpt-baby", (4, 128, 64), 12), ("gpt-small", (6, 384, 256), 8)):
        config = get_preset(name)
        arguments = config.model.config
        assert (config.model.class_name, config.data.corpus, config.data.tokenizer) == (
            "GPT", "shakespeare", "char")
        assert (arguments["num_layers"], arguments["hidden_dim"],
                arguments["sequence_length"]) == shape
        assert config.train.batch_size == batch and config.train.learning_rate == 1e-3
