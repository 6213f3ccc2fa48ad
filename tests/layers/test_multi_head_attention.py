"""`MultiHeadAttention`: harness runs (plain and cached), masking, the KV cache, the decoder
options (grouped-query attention, QK-norm, rotary embeddings), errors."""

import numpy as np
import pytest
import tensorflow as tf

from tfllm.layers import MultiHeadAttention
from tfllm.layers.attention_utils import causal_mask
from tfllm.testing import run_layer_test

RNG = np.random.default_rng(0)
X = RNG.normal(size=(2, 4, 8)).astype("float32")  # (B, T, D)
CAUSAL = np.array(causal_mask(2, 4, 4))  # (B, T, S)


def test_self_attention_goes_through_the_harness():
    run_layer_test(
        MultiHeadAttention, {"num_heads": 2, "dropout": 0.1}, X,
        call_kwargs={"attention_mask": CAUSAL},
        expected_output_shape=(2, 4, 8),
        expected_num_trainable_weights=8,  # 4 kernels + 4 biases
    )


def test_cached_attention_goes_through_the_harness():
    cache = RNG.normal(size=(2, 2, 2, 6, 4)).astype("float32")  # (B, 2, N, S, H)
    run_layer_test(
        MultiHeadAttention, {"num_heads": 2, "use_bias": False}, X[:, :1],
        call_kwargs={
            "attention_mask": np.array(causal_mask(2, 1, 6, cache_index=3)),
            "cache": cache,
            "cache_update_index": 3,
        },
        expected_output_shape=((2, 1, 8), (2, 2, 2, 6, 4)),
        expected_num_trainable_weights=4,
        run_training_check=False,  # caches are for inference
        run_saving_check=False,
    )


def test_cross_attention_and_explicit_head_dim():
    layer = MultiHeadAttention(num_heads=3, head_dim=5)
    memory = RNG.normal(size=(2, 7, 6)).astype("float32")  # (B, S, D_v)
    assert tuple(layer(X, memory).shape) == (2, 4, 8)
    assert tuple(layer.key_dense.kernel.shape) == (6, 3, 5)  # (D_v, N, H)


def test_masked_keys_change_nothing_at_real_positions():
    layer = MultiHeadAttention(num_heads=2)
    padding = np.array([[True, True, True, False], [True, True, False, False]])
    mask = CAUSAL & padding[:, None, :]
    changed = X.copy()
    changed[0, 3] = 100.0
    changed[1, 2:] = -100.0
    before = np.array(layer(X, attention_mask=mask))
    after = np.array(layer(changed, attention_mask=mask))
    np.testing.assert_allclose(before[0, :3], after[0, :3], atol=1e-6)
    np.testing.assert_allclose(before[1, :2], after[1, :2], atol=1e-6)


OPTIONS = [
    {},
    {"num_key_value_heads": 1},
    {"qk_norm": True, "normalization": "rms_norm"},
    {"rotary": True},
    {"num_key_value_heads": 2, "qk_norm": True, "rotary": True},
]


@pytest.mark.parametrize("options", OPTIONS[1:])
def test_options_go_through_the_harness(options):
    heads = options.get("num_key_value_heads", 4)
    run_layer_test(
        MultiHeadAttention, {"num_heads": 4, "head_dim": 2, **options}, X,
        call_kwargs={"attention_mask": CAUSAL},
        expected_output_shape=(2, 4, 8),
        # 4 kernels + 4 biases, and a LayerNorm's gain (and RMSNorm's none) per QK-norm
        expected_num_trainable_weights=8 + 2 * options.get("qk_norm", 0) * (
            1 if options.get("normalization") == "rms_norm" else 2),
        run_saving_check=heads != 4,  # one reload per weight layout
    )


@pytest.mark.parametrize("options", OPTIONS)
def test_cached_steps_after_a_prefill_equal_one_full_pass(options):
    layer = MultiHeadAttention(num_heads=4, head_dim=2, **options)
    heads = options.get("num_key_value_heads", 4)
    length, prefill = 6, 2
    x = RNG.normal(size=(2, length, 8)).astype("float32")
    full = np.array(layer(x, attention_mask=causal_mask(2, length, length)))

    @tf.function(jit_compile=True)  # the decoding loop's setting: XLA, a tensor index
    def step(token, cache, index):
        return layer(token, attention_mask=causal_mask(2, 1, length, index), cache=cache,
                     cache_update_index=index)

    cache = np.zeros((2, 2, heads, length, 2), "float32")  # (B, 2, K, S, H)
    out, cache = layer(x[:, :prefill], attention_mask=causal_mask(2, prefill, length),
                       cache=cache, cache_update_index=0)
    outputs = [np.array(out)]
    for index in range(prefill, length):
        out, cache = step(x[:, index:index + 1], cache, tf.constant(index))
        outputs.append(np.array(out))
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, atol=1e-5)
    assert step.experimental_get_tracing_count() == 1  # fixed shapes: traced once


def test_grouped_query_attention_equals_attention_with_repeated_key_value_heads():
    grouped = MultiHeadAttention(num_heads=4, head_dim=2, num_key_value_heads=2)
    full = MultiHeadAttention(num_heads=4, head_dim=2)
    grouped(X), full(X)
    assert tuple(grouped.key_dense.kernel.shape) == (8, 2, 2)  # (D, K, H)
    for name in ("query_dense", "output_dense"):
        for source, target in zip(getattr(grouped, name).weights, getattr(full, name).weights):
            target.assign(source)
    for name in ("key_dense", "value_dense"):
        for source, target in zip(getattr(grouped, name).weights, getattr(full, name).weights):
            # Query heads 0, 1 read key/value head 0; heads 2, 3 read head 1.
            target.assign(np.repeat(np.array(source), 2, axis=-2))
    np.testing.assert_allclose(grouped(X, attention_mask=CAUSAL),
                               full(X, attention_mask=CAUSAL), atol=1e-6)


def test_qk_norm_makes_attention_blind_to_the_scale_of_queries_and_keys():
    layer = MultiHeadAttention(num_heads=2, qk_norm=True, layer_norm_epsilon=1e-12)
    before = np.array(layer(X, attention_mask=CAUSAL))
    for dense in (layer.query_dense, layer.key_dense):
        dense.kernel.assign(dense.kernel * 100.0)  # biases are zero: q and k grow 100x
    np.testing.assert_allclose(layer(X, attention_mask=CAUSAL), before, atol=1e-4)


def test_rotary_attention_sees_relative_positions_only():
    layer = MultiHeadAttention(num_heads=2, rotary=True)
    positions = np.tile(np.arange(4), (2, 1))
    at_zero = np.array(layer(X, attention_mask=CAUSAL, position_ids=positions))
    np.testing.assert_allclose(layer(X, attention_mask=CAUSAL), at_zero, atol=1e-6)
    np.testing.assert_allclose(layer(X, attention_mask=CAUSAL, position_ids=positions + 50),
                               at_zero, atol=1e-4)
    swapped = X[:, [1, 0, 2, 3]]  # two earlier tokens trade places
    # Position 3 attends over the same set of keys; only their positions changed.
    assert not np.allclose(layer(swapped, attention_mask=CAUSAL)[:, 3], at_zero[:, 3],
                           atol=1e-4)
    plain = MultiHeadAttention(num_heads=2)
    plain(X)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(plain(swapped, attention_mask=CAUSAL)[:, 3],
                               plain(X, attention_mask=CAUSAL)[:, 3], atol=1e-6)


def test_softmax_runs_in_float32_under_mixed_precision():
    layer = MultiHeadAttention(num_heads=2, dtype="mixed_bfloat16")
    # Large scores would overflow or saturate a bfloat16 softmax badly; outputs stay finite.
    output = layer(X * 50.0, attention_mask=CAUSAL)
    assert output.dtype == tf.bfloat16
    assert np.all(np.isfinite(np.array(tf.cast(output, tf.float32))))


def test_cache_argument_errors_name_the_argument():
    layer = MultiHeadAttention(num_heads=2)
    cache = np.zeros((2, 2, 2, 4, 4), "float32")
    mask = np.array(causal_mask(2, 1, 4))
    with pytest.raises(ValueError, match="`value` must be None when `cache`"):
        layer(X[:, :1], X, attention_mask=mask, cache=cache, cache_update_index=0)
    with pytest.raises(ValueError, match="cache_update_index=None"):
        layer(X[:, :1], attention_mask=mask, cache=cache)
    with pytest.raises(ValueError, match="attention_mask=None"):
        layer(X[:, :1], cache=cache, cache_update_index=0)
    with pytest.raises(ValueError, match="cache=None, cache_update_index=0"):
        layer(X, cache_update_index=0)
    with pytest.raises(ValueError, match=r"cache.shape=\(2, 2, 4, 4, 2\)"):
        layer(X[:, :1], attention_mask=mask, cache=np.zeros((2, 2, 4, 4, 2), "float32"),
              cache_update_index=0)


def test_option_call_errors_name_the_argument():
    with pytest.raises(ValueError, match="Received: rotary=True with cross-attention"):
        MultiHeadAttention(num_heads=2, rotary=True)(X, X)
    with pytest.raises(ValueError, match="Received: rotary=False, position_ids given"):
        MultiHeadAttention(num_heads=2)(X, position_ids=np.zeros((2, 4), "int32"))
    grouped = MultiHeadAttention(num_heads=2, num_key_value_heads=1)
    with pytest.raises(ValueError, match=r"\(B, 2, 1, S, 4\).*cache.shape=\(2, 2, 2, 4, 4\)"):
        grouped(X[:, :1], attention_mask=np.array(causal_mask(2, 1, 4)),
                cache=np.zeros((2, 2, 2, 4, 4), "float32"), cache_update_index=0)
    with pytest.raises(ValueError, match=r"inputs.shape=\(2, 4, 2, 3\)"):
        MultiHeadAttention(num_heads=2, head_dim=3, rotary=True)(X)


@pytest.mark.parametrize("kwargs, name", [
    ({"num_heads": 4, "num_key_value_heads": 3}, "num_heads=4, num_key_value_heads=3"),
    ({"num_heads": 4, "num_key_value_heads": 0}, "num_key_value_heads=0"),
    ({"num_heads": 2, "qk_norm": "yes"}, "qk_norm='yes'"),
    ({"num_heads": 2, "normalization": "batch"}, "normalization='batch'"),
    ({"num_heads": 2, "layer_norm_epsilon": 0}, "layer_norm_epsilon=0"),
    ({"num_heads": 2, "rotary": 1}, "rotary=1"),
    ({"num_heads": 2, "rotary_max_wavelength": -1}, "rotary_max_wavelength=-1"),
    ({"num_heads": 0}, "num_heads=0"),
    ({"num_heads": 2, "head_dim": -4}, "head_dim=-4"),
    ({"num_heads": 2, "dropout": 1.0}, "dropout=1.0"),
    ({"num_heads": 2, "use_bias": 1}, "use_bias=1"),
    ({"num_heads": 2, "kernel_initializer": "nope"}, "kernel_initializer='nope'"),
])
def test_invalid_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=f"Received: {name}"):
        MultiHeadAttention(**kwargs)


def test_width_not_divisible_by_heads_is_named():
    with pytest.raises(ValueError, match=r"num_heads=3, query.shape\[-1\]=8"):
        MultiHeadAttention(num_heads=3)(X)
