"""Strategies by name, and the config checks that distribution adds (each names its argument)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "distributed"))
from distributed_test_utils import tiny_config, write_corpus  # noqa: E402

from tfllm.errors import ConfigError  # noqa: E402
from tfllm.training.strategies import StrategyChoice, per_replica_batch_size, resolve_strategy  # noqa: E402


def test_auto_says_what_it_picked_on_a_cpu_only_machine():
    choice = resolve_strategy("auto")
    assert isinstance(choice, StrategyChoice)
    assert (choice.name, choice.num_replicas, choice.is_chief) == ("cpu", 1, True)
    assert choice.description.startswith("Strategy: auto picked cpu")


def test_mirrored_uses_both_logical_cpus_and_splits_the_global_batch():
    choice = resolve_strategy("mirrored")
    assert choice.num_replicas == 2  # tests/conftest.py splits the CPU in two
    assert "mirrored over 2 device(s)" in choice.description
    assert per_replica_batch_size(8, choice) == 4
    with pytest.raises(ConfigError, match=r"divisible by the number of replicas.*train.batch_size=7"):
        per_replica_batch_size(7, choice)


@pytest.mark.parametrize("name, needs", [("gpu", "needs a GPU"), ("tpu", "needs a TPU")])
def test_a_missing_accelerator_is_a_clear_error(name, needs):
    with pytest.raises(ConfigError, match=rf"{needs}.*Received: train.strategy='{name}'"):
        resolve_strategy(name)


def test_an_unknown_strategy_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"auto, cpu, gpu, mirrored, multiworker, tpu.*'gpus'"):
        resolve_strategy("gpus")


@pytest.mark.parametrize("train, message", [
    (dict(loop="fast"), r"`train.loop` must be one of 'auto', 'fit', 'custom'. "
                        r"Received: train.loop='fast'"),
    (dict(loop="fit", strategy="multiworker"), r"issue 20585.*Received: train.loop='fit'"),
    (dict(precision="float16"), r"'float32', 'mixed_bfloat16', 'mixed_float16'.*'float16'"),
    (dict(grad_accum_steps=3), r"multiple of train.grad_accum_steps.*train.grad_accum_steps=3"),
    (dict(grad_accum_steps=0), r"`train.grad_accum_steps` must be a positive integer"),
    (dict(steps_per_execution=0), r"`train.steps_per_execution` must be a positive integer"),
])
def test_bad_distribution_settings_are_config_errors_when_the_config_is_built(tmp_path, train,
                                                                               message):
    with pytest.raises(ConfigError, match=message):
        tiny_config(write_corpus(tmp_path), **train)


def test_a_batch_that_does_not_split_over_the_replicas_is_a_config_error(tmp_path):
    from tfllm.training import train as train_fn

    config = tiny_config(write_corpus(tmp_path), strategy="mirrored", batch_size=6,
                         grad_accum_steps=2)
    with pytest.raises(ConfigError, match=r"3 rows per micro-batch must split evenly over the 2 "
                                          r"replicas.*train.batch_size=6"):
        train_fn(config, run_dir=tmp_path / "run", verbose=0, print_fn=lambda _: None)



def test_two_mirrored_runs_of_different_models_in_one_process():
    """Each mirrored strategy gets its own collective keys: with TensorFlow's shared ones, the
    second model's gradient all-reduce failed with "Shape mismatch in the collective instance"."""
    import keras
    import numpy as np

    for width in (8, 40):
        choice = resolve_strategy("mirrored")
        with choice.strategy.scope():
            model = keras.Sequential([keras.Input((width,)), keras.layers.Dense(width)])
            model.compile("adam", "mse", jit_compile=False)
        history = model.fit(np.ones((8, width)), np.ones((8, width)), batch_size=4, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
