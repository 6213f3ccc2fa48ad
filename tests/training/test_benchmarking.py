"""tfllm.training.benchmarking: FLOP counts, matmul peak, tokens/s, MFU, memory, accumulation."""

import dataclasses
import doctest
import json
import math
import os

import keras
import numpy as np
import pytest

from tfllm.config import ModelConfig, RunConfig, TrainConfig
from tfllm.errors import ConfigError
from tfllm.models import build_model
from tfllm.objectives import MaskedCrossEntropy
from tfllm.training import benchmarking
from tfllm.training.benchmarking import (
    BABY_MODEL,
    SMALL_MODEL,
    MatmulPeak,
    benchmark_training,
    build_training_optimizer,
    measure_matmul_peak,
    model_flops_per_token,
    peak_memory,
    reset_peak_memory,
    run_benchmark,
)

V = 32
TINY = ModelConfig(sequence_length=8, num_layers=2, num_heads=2, hidden_dim=16,
                   intermediate_dim=32)
TINY_PEAK = dict(sizes=(32, 64), repeats=2, min_seconds=0.001)


def tiny_config(**train):
    defaults = dict(batch_size=4, jit_compile="false", learning_rate=1e-2, seed=3)
    return RunConfig(name="tiny", model=TINY, train=TrainConfig(**{**defaults, **train}))


def matmul_weight_count(model, tied):
    """Weights that enter a matmul for each token, read off the built model: every kernel of
    rank >= 2 (dense, attention and LSTM kernels; attention biases are (N, H) but add, not
    multiply), no embedding table, plus the tied output projection (the embedding table used
    a second time)."""
    count = sum(int(np.prod(w.shape)) for w in model.weights
                if len(w.shape) >= 2 and w.name not in ("embeddings", "bias"))
    return count + (model.vocabulary_size * model.token_embedding.output_dim if tied else 0)


# -- FLOPs per token ------------------------------------------------------------------------------

def test_flops_of_the_baby_gpt_by_hand():
    # 4 blocks x (4 * 128^2 attention projections + 2 * 128 * 512 feed-forward) + 128 * 65 output,
    # times 6; plus 12 * L * T * D = 12 * 4 * 64 * 128 for attention scores and values.
    expected = 6 * (4 * (4 * 128**2 + 2 * 128 * 512) + 128 * 65) + 12 * 4 * 64 * 128
    assert expected == 5_161_728
    assert model_flops_per_token(BABY_MODEL, 65) == expected


@pytest.mark.parametrize("tied", [True, False])
@pytest.mark.parametrize("config", [TINY, dataclasses.replace(TINY, num_layers=3, hidden_dim=24,
                                                               intermediate_dim=40)])
def test_gpt_flops_match_the_built_models_matmul_weights(config, tied):
    config = dataclasses.replace(config, tie_embeddings=tied)
    model = build_model(config, V)
    attention = 12 * config.num_layers * config.sequence_length * config.hidden_dim
    assert model_flops_per_token(config, V) == 6 * matmul_weight_count(model, tied) + attention


def test_lstm_flops_match_the_built_models_matmul_weights():
    config = ModelConfig(architecture="lstm", sequence_length=8, num_layers=2, hidden_dim=12)
    model = build_model(config, V)
    assert model_flops_per_token(config, V) == 6 * matmul_weight_count(model, tied=False)


def test_flops_grow_with_context_only_through_attention():
    longer = dataclasses.replace(TINY, sequence_length=16)
    difference = model_flops_per_token(longer, V) - model_flops_per_token(TINY, V)
    assert difference == 12 * TINY.num_layers * 8 * TINY.hidden_dim


def test_small_config_is_the_issues_shape():
    shape = (SMALL_MODEL.num_layers, SMALL_MODEL.hidden_dim, SMALL_MODEL.sequence_length)
    assert shape == (6, 384, 256)


def test_unknown_architecture_is_named():
    with pytest.raises(ConfigError, match=r"model.architecture='rnn'"):
        model_flops_per_token(dataclasses.replace(TINY, architecture="rnn"), V)


# -- the matmul peak -------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_matmul_peak_is_a_positive_rate_at_a_tried_size(dtype):
    peak = measure_matmul_peak(dtype, **TINY_PEAK)
    assert peak.dtype == dtype and peak.size in (32, 64) and set(peak.rates) == {32, 64}
    assert peak.flops_per_second == max(peak.rates.values()) > 0
    # Far above a million FLOP/s and far below 100 TFLOP/s on any CPU this runs on.
    assert 1e6 < peak.flops_per_second < 1e14
    json.dumps(peak.to_dict())


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(dtype="int8"), "dtype='int8'"),
    (dict(sizes=()), "sizes=()"),
    (dict(sizes=(0,)), "sizes=0"),
    (dict(repeats=0), "repeats=0"),
])
def test_matmul_peak_refuses_bad_arguments(kwargs, fragment):
    with pytest.raises(ConfigError) as error:
        measure_matmul_peak(**{"sizes": (32,), **kwargs})
    assert fragment in str(error.value) and "\n" not in str(error.value)


# -- training speed --------------------------------------------------------------------------------

def test_benchmark_training_measures_consistent_figures():
    peak = measure_matmul_peak("float32", **TINY_PEAK)
    result = benchmark_training(tiny_config(), V, steps=3, warmup_steps=1, peak_flops=peak)
    assert result.label == "tiny" and result.architecture == "gpt"
    assert result.parameters == build_model(TINY, V).count_params()
    assert result.tokens_per_second > 0 and result.seconds > 0 and result.warmup_seconds > 0
    assert math.isclose(result.tokens_per_second * result.seconds, 3 * 4 * 8)
    assert math.isclose(result.step_seconds * 3, result.seconds)
    assert result.flops_per_token == model_flops_per_token(TINY, V)
    assert math.isclose(result.achieved_flops_per_second,
                        result.flops_per_token * result.tokens_per_second)
    assert result.peak_dtype == "float32" and result.peak_flops_per_second == peak.flops_per_second
    assert 0 < result.mfu <= 1.5
    assert math.isclose(result.mfu, result.achieved_flops_per_second / peak.flops_per_second)
    assert 0 < result.cpu_cores_used <= os.cpu_count() + 0.5
    assert np.isfinite(result.final_loss) and 0 < result.final_loss < 2 * math.log(V)
    assert result.host_peak_rss_bytes > 10 * 2**20  # TensorFlow alone is larger than 10 MiB
    assert result.device_peak_bytes == {}  # the tests run on CPU
    assert result.jit_compile is False and result.precision == "float32"
    json.dumps(result.to_dict())


def test_benchmark_training_uses_real_token_ids_when_given():
    cycle = np.tile(np.arange(V, dtype="int32"), 20)  # each id predicts the next exactly
    config = tiny_config(learning_rate=3e-2)
    learned = benchmark_training(config, V, steps=30, warmup_steps=1, token_ids=cycle,
                                 peak_flops=1e11)
    synthetic = benchmark_training(config, V, steps=30, warmup_steps=1, peak_flops=1e11)
    # Uniform random ids cannot be predicted (loss stays near log V = 3.47); the cycle can.
    assert synthetic.final_loss > 0.9 * math.log(V)
    assert learned.final_loss < synthetic.final_loss - 1.0


def test_mixed_bfloat16_divides_by_the_bfloat16_peak_and_restores_the_policy():
    peaks = {"float32": MatmulPeak("float32", 1e11, 64, {}),
             "bfloat16": MatmulPeak("bfloat16", 2e11, 64, {})}
    result = benchmark_training(tiny_config(precision="mixed_bfloat16"), V, steps=2,
                                warmup_steps=1, peak_flops=peaks)
    assert result.precision == "mixed_bfloat16" and result.peak_dtype == "bfloat16"
    assert result.peak_flops_per_second == 2e11
    assert keras.config.dtype_policy().name == "float32"


def test_gradient_accumulation_keeps_the_optimizer_batch():
    result = benchmark_training(tiny_config(batch_size=8, grad_accum_steps=2), V, steps=2,
                                warmup_steps=1, peak_flops=1e11)
    assert (result.batch_size, result.micro_batch_size, result.grad_accum_steps) == (8, 4, 2)
    # 2 optimizer steps of 8 sequences of 8 tokens.
    assert math.isclose(result.tokens_per_second * result.seconds, 2 * 8 * 8)


def test_accumulated_micro_batches_equal_one_larger_batch():
    """The optimizer `build_training_optimizer` makes with grad_accum_steps=2 takes one step
    from two micro-batches of 4 that equals one step on the batch of 8 they make up."""
    rng = np.random.default_rng(0)
    ids = rng.integers(0, V, size=(8, 8)).astype("int32")
    labels = rng.integers(0, V, size=(8, 8)).astype("int32")

    def train(accumulation, batch):
        config = tiny_config(grad_accum_steps=accumulation, clipnorm=0.5)
        keras.utils.set_random_seed(5)
        model = build_model(TINY, V)
        model.compile(optimizer=build_training_optimizer(config.train), loss=MaskedCrossEntropy())
        model.fit({"token_ids": ids, "padding_mask": ids >= 0}, labels, batch_size=batch,
                  epochs=1, shuffle=False, verbose=0)
        return model

    accumulated, large = train(2, 4), train(1, 8)
    assert int(accumulated.optimizer.iterations.numpy()) == 1
    assert accumulated.optimizer.gradient_accumulation_steps == 2
    for a, b in zip(accumulated.weights, large.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-6, err_msg=a.path)
    # Everything else is build_optimizer's recipe.
    config = {k: v for k, v in accumulated.optimizer.get_config().items()
              if k not in ("gradient_accumulation_steps", "name")}
    reference = {k: v for k, v in large.optimizer.get_config().items()
                 if k not in ("gradient_accumulation_steps", "name")}
    assert config == reference


def test_steps_round_up_to_whole_executions_as_keras_runs_them():
    # What Keras does, and the rounding relies on: a fit of 3 steps at 2 steps per execution
    # runs 4.
    keras.utils.set_random_seed(0)
    model = build_model(TINY, V)
    model.compile(optimizer="sgd", loss=MaskedCrossEntropy(), steps_per_execution=2)
    ids = np.zeros((32, 8), "int32")
    model.fit(ids, ids, batch_size=4, steps_per_epoch=3, epochs=1, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 4

    result = benchmark_training(tiny_config(steps_per_execution=2, grad_accum_steps=2,
                                            batch_size=8),
                                V, steps=3, warmup_steps=1, peak_flops=1e11)
    # lcm(2 micro-batches per step, 2 fit steps per execution) = 2 fit steps = 1 optimizer
    # step: 3 stays 3. With 4 per execution, optimizer steps come in pairs: 3 becomes 4.
    assert (result.steps, result.steps_per_execution) == (3, 2)
    result = benchmark_training(tiny_config(steps_per_execution=4, grad_accum_steps=2,
                                            batch_size=8),
                                V, steps=3, warmup_steps=1, peak_flops=1e11)
    assert result.steps == 4
    assert math.isclose(result.tokens_per_second * result.seconds, 4 * 8 * 8)


@pytest.mark.parametrize("train, fragment", [
    (dict(precision="float64"), "train.precision='float64'"),
    (dict(batch_size=6, grad_accum_steps=4), "train.grad_accum_steps=4"),
    (dict(grad_accum_steps=0), "train.grad_accum_steps=0"),
    (dict(jit_compile="maybe"), "train.jit_compile='maybe'"),
])
def test_bad_training_options_are_named(train, fragment):
    with pytest.raises(ConfigError) as error:
        benchmark_training(tiny_config(**train), V, steps=1, warmup_steps=1, peak_flops=1e11)
    assert fragment in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("peak_flops", [
    0, -1.0, "fast", {"bfloat16": MatmulPeak("bfloat16", 1.0, 1, {})},
])
def test_bad_peak_is_refused(peak_flops):
    with pytest.raises(ConfigError, match="peak_flops"):
        benchmark_training(tiny_config(), V, steps=1, warmup_steps=1, peak_flops=peak_flops)


# -- memory ----------------------------------------------------------------------------------------

def _peak_is_resettable():
    try:
        with open("/proc/self/clear_refs", "w"):
            return True
    except OSError:
        return False


def test_peak_memory_sees_an_allocation():
    block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB, touched
    assert peak_memory()["host_peak_rss_bytes"] > block.nbytes


@pytest.mark.skipif(not _peak_is_resettable(), reason="needs a writable /proc/self/clear_refs")
def test_reset_peak_memory_forgets_an_earlier_peak():
    reset_peak_memory()
    before = peak_memory()["host_peak_rss_bytes"]
    block = np.ones(64 * 2**20, dtype=np.uint8)
    during = peak_memory()["host_peak_rss_bytes"]
    del block
    assert during - before > 48 * 2**20
    reset_peak_memory()
    assert peak_memory()["host_peak_rss_bytes"] < during - 32 * 2**20


# -- the whole report ------------------------------------------------------------------------------

def test_run_benchmark_reports_the_config_and_the_baby_gpt():
    report = run_benchmark(tiny_config(), steps=2, warmup_steps=1, data="synthetic",
                           vocabulary_size=V, matmul_sizes=(32, 64), matmul_repeats=2)
    json.dumps(report)
    assert report["data"] == "synthetic" and report["vocabulary_size"] == V
    assert set(report["matmul_peak"]) == {"float32", "bfloat16"}
    tiny, baby = report["results"]
    assert tiny["label"] == "tiny" and tiny["sequence_length"] == 8
    assert baby["label"] == "baby" and baby["batch_size"] == 12 and baby["sequence_length"] == 64
    assert baby["flops_per_token"] == model_flops_per_token(BABY_MODEL, V)
    for result in report["results"]:
        assert result["tokens_per_second"] > 0
        assert result["peak_flops_per_second"] == report["matmul_peak"]["float32"]["flops_per_second"]
        assert 0 < result["mfu"] <= 1.5


def test_run_benchmark_checks_its_arguments_before_measuring():
    with pytest.raises(ConfigError, match="data='web'"):
        run_benchmark(tiny_config(), data="web")
    # The baby's batch of 12 cannot be split in 8: refused before anything runs.
    with pytest.raises(ConfigError, match="train.batch_size=12"):
        run_benchmark(tiny_config(batch_size=8, grad_accum_steps=8), data="synthetic")


def test_docstring_examples():
    result = doctest.testmod(benchmarking, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
