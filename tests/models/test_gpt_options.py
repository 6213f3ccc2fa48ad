"""`GPT`'s decoder options (RoPE, RMSNorm, SwiGLU, GQA, QK-norm, residual init): harness runs,
what each changes, cache sizes, FLOPs, errors. Cached decoding equal to a full pass, causality
and left padding with the options: test_gpt.py."""

import numpy as np
import pytest

from tfllm.models import GPT
from tfllm.presets import GPT2_LAYOUT
from tfllm.testing import run_model_test

# GPT-2's layout (`GPT.original_options`): each test switches options on from it.
SMALL = dict(GPT.original_options, vocabulary_size=32, sequence_length=8, num_layers=2,
             num_heads=4, hidden_dim=16, intermediate_dim=16)


def gpt(**options):
    """The small GPT with `options` over GPT-2's layout."""
    return GPT(**{**SMALL, **options})


RNG = np.random.default_rng(0)
TOKEN_IDS = RNG.integers(1, 32, size=(2, 8)).astype("int32")  # (B, T)
INPUTS = {"token_ids": TOKEN_IDS, "padding_mask": np.array([[True] * 8, [True] * 5 + [False] * 3])}
ALL = {"position_encoding": "rope", "normalization": "rms_norm", "feed_forward": "swiglu",
       "num_key_value_heads": 2, "qk_norm": True}
OPTIONS = {
    "rope": {"position_encoding": "rope"},
    "rms_norm": {"normalization": "rms_norm"},
    "swiglu": {"feed_forward": "swiglu"},
    "gqa": {"num_key_value_heads": 2},
    "qk_norm": {"qk_norm": True},
}


def test_all_options_together_go_through_the_harness():
    run_model_test(
        GPT, {**SMALL, **ALL, "dropout": 0.1}, INPUTS, expected_output_shape=(2, 8, 32),
        # token table; per block 2 RMSNorms, attention 8 + 2 QK RMSNorms, SwiGLU 4; final norm
        expected_num_trainable_weights=1 + 2 * 16 + 1,
    )


@pytest.mark.parametrize("name", OPTIONS)
def test_each_option_goes_through_the_harness(name):
    # Config, build from shapes, eager and symbolic calls; the run above fits, saves and
    # reloads them all together.
    run_model_test(
        GPT, {**SMALL, **OPTIONS[name]}, INPUTS, expected_output_shape=(2, 8, 32),
        run_training_check=False, run_saving_check=False, run_mixed_precision_check=False,
    )


def test_rope_has_no_position_table_and_sees_the_order_of_tokens():
    model = gpt(position_encoding="rope")
    model(INPUTS)
    assert not any("position_embedding" in weight.path for weight in model.weights)
    swapped = TOKEN_IDS.copy()
    swapped[:, [0, 1]] = swapped[:, [1, 0]]
    before = np.array(model({"token_ids": TOKEN_IDS}))
    after = np.array(model({"token_ids": swapped}))
    assert not np.allclose(before[:, 7], after[:, 7], atol=1e-6)


def test_rms_norm_replaces_every_layer_norm():
    model = gpt(normalization="rms_norm")
    model(INPUTS)
    names = {weight.name for weight in model.weights}
    assert "scale" in names and not names & {"gamma", "beta"}
    assert sum(weight.name == "scale" for weight in model.weights) == 2 * 2 + 1  # L x 2 + final


def test_grouped_query_attention_shrinks_the_cache_and_the_projections():
    full, grouped = gpt(), gpt(num_key_value_heads=1)
    full_cache, grouped_cache = full.build_cache(2, 8), grouped.build_cache(2, 8)
    assert tuple(full_cache[0].shape) == (2, 2, 4, 8, 4)  # (B, 2, N, S, H)
    assert tuple(grouped_cache[0].shape) == (2, 2, 1, 8, 4)  # (B, 2, K, S, H)
    full(INPUTS), grouped(INPUTS)
    # Per block the key and value kernels (D, K, H) and biases (K, H) lose 3 of 4 heads.
    assert full.count_params() - grouped.count_params() == 2 * 2 * (16 + 1) * 3 * 4


def test_training_flops_count_the_options_weights():
    base = gpt().training_flops_per_token()
    d, f, layers = 16, 16, 2
    swiglu = gpt(feed_forward="swiglu").training_flops_per_token()
    assert swiglu - base == 6 * layers * d * f  # a third (D, F) kernel per block
    grouped = gpt(num_key_value_heads=1).training_flops_per_token()
    assert base - grouped == 6 * layers * 2 * d * (16 - 4)  # keys and values: D x K H


def test_residual_init_unscaled_uses_the_plain_init():
    kwargs = dict(SMALL, hidden_dim=32, intermediate_dim=128)
    scaled, unscaled = GPT(**kwargs), GPT(**{**kwargs, "residual_init": "unscaled"})
    scaled(INPUTS), unscaled(INPUTS)
    for model, expected in ((scaled, 0.02 / 2.0), (unscaled, 0.02)):  # 2 = sqrt(2 x 2 layers)
        block = model.decoder_blocks[0]
        for kernel in (block.feed_forward.output_dense.kernel,
                       block.self_attention.output_dense.kernel):
            assert abs(np.array(kernel).std() - expected) < 0.15 * expected


@pytest.mark.parametrize("override, name", [
    ({"position_encoding": "alibi"}, "position_encoding='alibi'"),
    ({"position_encoding": "rope", "num_heads": 8, "hidden_dim": 24},
     "hidden_dim=24, num_heads=8"),
    ({"normalization": "batch_norm"}, "normalization='batch_norm'"),
    ({"feed_forward": "relu"}, "feed_forward='relu'"),
    ({"num_key_value_heads": 3}, "num_heads=4, num_key_value_heads=3"),
    ({"num_key_value_heads": 0}, "num_key_value_heads=0"),
    ({"qk_norm": 1}, "qk_norm=1"),
    ({"residual_init": "default"}, "residual_init='default'"),
])
def test_invalid_option_arguments_are_named(override, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        GPT(**{**SMALL, **override})


def test_the_defaults_are_the_options_the_ablation_chose():
    model = GPT(**{key: value for key, value in SMALL.items() if key not in GPT.original_options})
    chosen = dict(position_encoding="rope", feed_forward="swiglu", qk_norm=True,
                  tie_embeddings=False, normalization="layer_norm", num_key_value_heads=None,
                  residual_init="scaled")
    assert {key: getattr(model, key) for key in chosen} == chosen


def test_the_presets_name_the_same_gpt2_layout():
    # The presets are plain Python (no TensorFlow import), so they spell the layout out.
    assert GPT2_LAYOUT == GPT.original_options


def test_a_config_saved_before_the_options_loads_as_the_original_layout():
    # A model saved before the options existed has no key for them; it must load as the
    # GPT-2 layout it was trained with, not with today's defaults.
    saved = gpt().get_config()
    for key in GPT.original_options:
        del saved[key]
    loaded = GPT.from_config(saved)
    assert {key: getattr(loaded, key) for key in GPT.original_options} == GPT.original_options
    assert loaded.position_encoding != GPT(**saved).position_encoding  # defaults differ
    # A key the config has wins over the original value.
    assert GPT.from_config({**saved, "qk_norm": True}).qk_norm is True
