"""`TokenEmbedding`: harness runs for both directions, tying, and argument errors."""

import numpy as np
import pytest

from tfllm.layers import TokenEmbedding
from tfllm.testing import run_layer_test

TOKEN_IDS = np.array([[1, 2, 3, 0], [4, 5, 6, 7]], dtype="int32")  # (B, T) = (2, 4)
HIDDEN = np.random.default_rng(0).normal(size=(2, 4, 8)).astype("float32")  # (B, T, D)


def test_forward_goes_through_the_harness():
    run_layer_test(
        TokenEmbedding, {"vocabulary_size": 32, "output_dim": 8}, TOKEN_IDS,
        expected_output_shape=(2, 4, 8), expected_num_trainable_weights=1,
    )


# Reversed alone, an untied layer's embedding table gets no gradient: expected here.
@pytest.mark.filterwarnings("ignore:Gradients do not exist")
@pytest.mark.parametrize("tie_weights, num_weights", [(True, 1), (False, 2)])
def test_reverse_goes_through_the_harness_with_float32_logits(tie_weights, num_weights):
    run_layer_test(
        TokenEmbedding,
        {"vocabulary_size": 32, "output_dim": 8, "tie_weights": tie_weights},
        HIDDEN,
        call_kwargs={"reverse": True},
        expected_output_shape=(2, 4, 32),
        expected_output_dtype="float32",
        expected_mixed_precision_dtype="float32",  # logits stay float32 under mixed precision
        expected_num_trainable_weights=num_weights,
        run_saving_check=tie_weights,  # one save/load round trip is enough
    )


def test_tied_reverse_is_the_transposed_table_and_untied_has_its_own_kernel():
    tied = TokenEmbedding(32, 8)
    tied(TOKEN_IDS)
    expected = HIDDEN @ np.array(tied.embeddings).T
    np.testing.assert_allclose(tied(HIDDEN, reverse=True), expected, atol=1e-5)
    assert [w.name for w in tied.weights] == ["embeddings"]

    untied = TokenEmbedding(32, 8, tie_weights=False)
    untied(TOKEN_IDS)
    assert sorted(w.name for w in untied.weights) == ["embeddings", "output_kernel"]
    assert untied.count_params() == 2 * tied.count_params()


def test_reverse_rejects_the_wrong_width():
    layer = TokenEmbedding(32, 8)
    with pytest.raises(ValueError, match="output_dim = 8"):
        layer(np.zeros((1, 2, 4), "float32"), reverse=True)


@pytest.mark.parametrize("kwargs, name", [
    ({"vocabulary_size": 0, "output_dim": 8}, "vocabulary_size=0"),
    ({"vocabulary_size": 32, "output_dim": 2.5}, "output_dim=2.5"),
    ({"vocabulary_size": 32, "output_dim": 8, "tie_weights": "yes"}, "tie_weights='yes'"),
    ({"vocabulary_size": 32, "output_dim": 8, "embeddings_initializer": "nope"},
     "embeddings_initializer='nope'"),
])
def test_invalid_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        TokenEmbedding(**kwargs)
