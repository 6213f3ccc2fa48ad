"""`benchmark_training`: tokens/s, MFU, accumulation and steps per execution, argument errors."""

import json
import math
import os

import keras
import numpy as np
import pytest

from tfllm.benchmarking import (
    MatmulPeak,
    benchmark_training,
    build_training_optimizer,
    measure_matmul_peak,
)
from tfllm.config import ModelConfig, RunConfig, TrainConfig
from tfllm.errors import ConfigError
from tfllm.models import build_model
from tfllm.objectives import MaskedCrossEntropy

V = 32
TINY = ModelConfig("GPT", dict(sequence_length=8, num_layers=2, num_heads=2, hidden_dim=16,
                               intermediate_dim=32))


def tiny_config(model=TINY, **train):
    defaults = dict(batch_size=4, jit_compile="false", learning_rate=1e-2, seed=3)
    return RunConfig(name="tiny", model=model, train=TrainConfig(**{**defaults, **train}))


def test_benchmark_training_measures_consistent_figures():
    peak = measure_matmul_peak("float32", sizes=(32, 64), repeats=2, min_seconds=0.001)
    result = benchmark_training(tiny_config(), V, steps=3, warmup_steps=1, peak_flops=peak)
    model = build_model(TINY, V)
    assert result.label == "tiny" and result.model_class == "GPT"
    assert result.parameters == model.count_params()
    assert result.tokens_per_second > 0 and result.seconds > 0 and result.warmup_seconds > 0
    assert math.isclose(result.tokens_per_second * result.seconds, 3 * 4 * 8)
    assert math.isclose(result.step_seconds * 3, result.seconds)
    assert result.flops_per_token == model.training_flops_per_token()
    assert math.isclose(result.achieved_flops_per_second,
                        result.flops_per_token * result.tokens_per_second)
    assert result.peak_dtype == "float32" and result.peak_flops_per_second == peak.flops_per_second
    assert result.mfu > 0  # the peak is measured on small products: MFU may pass 1 here
    assert math.isclose(result.mfu, result.achieved_flops_per_second / peak.flops_per_second)
    assert 0 < result.cpu_cores_used <= os.cpu_count() + 0.5
    assert np.isfinite(result.final_loss) and 0 < result.final_loss < 2 * math.log(V)
    assert result.host_peak_rss_bytes > 10 * 2**20  # TensorFlow alone is larger than 10 MiB
    assert result.device_peak_bytes == {}  # the tests run on CPU
    assert result.jit_compile is False and result.precision == "float32"
    json.dumps(result.to_dict())


def test_any_causal_model_is_measured_and_auto_xla_asks_its_class():
    lstm = ModelConfig("LSTMLanguageModel", dict(sequence_length=8, num_layers=1, hidden_dim=8))
    result = benchmark_training(tiny_config(lstm, jit_compile="auto"), V, steps=1,
                                warmup_steps=1, peak_flops=1e11)
    model = build_model(lstm, V)
    assert result.model_class == "LSTMLanguageModel"
    assert result.jit_compile is False  # LSTMLanguageModel.jit_compile_by_default
    assert result.flops_per_token == model.training_flops_per_token()
    assert result.parameters == model.count_params()


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
        config = tiny_config(batch_size=8, grad_accum_steps=accumulation, clipnorm=0.5)
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


@pytest.mark.parametrize("arguments, fragment", [
    (dict(steps=0), "steps=0"),
    (dict(warmup_steps=-1), "warmup_steps=-1"),
    (dict(vocabulary_size=0), "vocabulary_size=0"),
    (dict(token_ids=np.arange(5, dtype="int32")), "sequence_length"),
])
def test_bad_arguments_are_named_on_one_line(arguments, fragment):
    arguments = {"vocabulary_size": V, "steps": 1, "warmup_steps": 1, **arguments}
    with pytest.raises(ConfigError) as error:
        benchmark_training(tiny_config(), peak_flops=1e11, **arguments)
    assert fragment in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("peak_flops", [
    0, -1.0, "fast", {"bfloat16": MatmulPeak("bfloat16", 1.0, 1, {})},
])
def test_bad_peak_is_refused(peak_flops):
    with pytest.raises(ConfigError, match="peak_flops"):
        benchmark_training(tiny_config(), V, steps=1, warmup_steps=1, peak_flops=peak_flops)
