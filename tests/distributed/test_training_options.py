"""Numerics and speed options: accumulation == a larger batch, steps_per_execution, precision, XLA."""

import keras
import numpy as np
import pytest
from distributed_test_utils import max_difference, tiny_config, weights, write_corpus

from tfllm.config import ModelConfig
from tfllm.models import build_model
from tfllm.objectives import MaskedCrossEntropy
from tfllm.training import train
from tfllm.training.precision import dtype_policy, wrap_optimizer_for_precision


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


def _train(corpus, tmp_path, name, **settings):
    settings = {"dropout": 0.0, "steps": 2, "eval_interval": 1, **settings}
    return train(tiny_config(corpus, **settings), run_dir=tmp_path / name, verbose=0,
                 print_fn=lambda _: None)


def _tiny_gpt_and_data(micro_batch):
    import tensorflow as tf

    from tfllm.data import lm_dataset

    keras.utils.set_random_seed(7)
    model = build_model(ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2,
                                                hidden_dim=8, intermediate_dim=16)), 32)
    ids = np.random.default_rng(0).integers(0, 32, 2000).astype("int32")
    return model, lm_dataset(ids, 8, micro_batch, seed=3), tf.distribute.get_strategy()


def test_gradient_accumulation_equals_one_larger_batch():
    from tfllm.training.custom_training_loop import CustomTrainingLoop

    # "random" windows come from one seeded stream of starts, so two micro-batches of 4 hold
    # the same 8 windows as one batch of 8. Plain SGD, so the comparison is of the gradients
    # themselves (Adam would magnify round-off in near-zero gradients into lr-sized steps).
    results = []
    for micro_batch, accumulation in ((8, 1), (4, 2)):
        model, data, strategy = _tiny_gpt_and_data(micro_batch)
        optimizer = keras.optimizers.SGD(
            0.5, gradient_accumulation_steps=accumulation if accumulation > 1 else None)
        model.compile(optimizer=optimizer, loss=MaskedCrossEntropy())
        loop = CustomTrainingLoop(model, strategy, data, grad_accum_steps=accumulation)
        history = loop.fit(epochs=1, steps_per_epoch=3, verbose=0)
        assert int(optimizer.iterations.numpy()) == 3  # optimizer steps, not micro-batches
        results.append((weights(model), history.history["loss"]))
    (big, big_loss), (accumulated, accumulated_loss) = results
    assert max_difference(big, accumulated) < 1e-6
    np.testing.assert_allclose(accumulated_loss, big_loss, rtol=1e-6)


@pytest.mark.parametrize("loop", ["fit", "custom"])
def test_train_with_accumulation_counts_optimizer_steps(corpus, tmp_path, loop):
    big = _train(corpus, tmp_path, "big", loop=loop, batch_size=8)
    accumulated = _train(corpus, tmp_path, "accumulated", loop=loop, batch_size=8,
                         grad_accum_steps=2)
    assert int(accumulated.model.optimizer.iterations.numpy()) == 2  # train.steps
    # The same windows: validation after 1 and 2 optimizer steps agrees (AdamW magnifies
    # round-off in near-zero gradients, hence 1e-4, not 1e-6).
    np.testing.assert_allclose(accumulated.history["val_loss"], big.history["val_loss"], rtol=1e-4)


def test_steps_per_execution_changes_nothing_but_speed(corpus, tmp_path):
    one = _train(corpus, tmp_path, "one", loop="custom", steps=4, eval_interval=4)
    four = _train(corpus, tmp_path, "four", loop="custom", steps=4, eval_interval=4,
                  steps_per_execution=4)
    assert max_difference(weights(one.model), weights(four.model)) < 1e-6
    np.testing.assert_allclose(four.history["loss"], one.history["loss"], rtol=1e-6)


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])
def test_gpt_logits_stay_float32_under_mixed_precision(precision):
    config = ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2, hidden_dim=8,
                                     intermediate_dim=16))
    with dtype_policy(precision):
        model = build_model(config, 32)
    assert keras.config.dtype_policy().name == "float32", "the global policy is restored"
    logits = model({"token_ids": np.ones((2, 8), "int32"), "padding_mask": np.ones((2, 8), bool)})
    assert model.compute_dtype == precision.split("_")[1]
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


def test_only_float16_gets_loss_scaling():
    for precision, scaled in (("float32", False), ("mixed_bfloat16", False), ("mixed_float16", True)):
        optimizer = wrap_optimizer_for_precision(keras.optimizers.Adam(), precision)
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) is scaled, precision


@pytest.fixture(scope="module")
def float32_run(corpus, tmp_path_factory):
    return _train(corpus, tmp_path_factory.mktemp("float32"), "run", loop="fit")


@pytest.mark.parametrize("settings, rtol", [
    # bfloat16 keeps 8 bits of mantissa: about 3 significant digits of each product.
    (dict(precision="mixed_bfloat16"), 2e-2),
    (dict(precision="mixed_float16"), 2e-3),
    (dict(precision="mixed_float16", loop="custom"), 2e-3),
    (dict(jit_compile="true"), 1e-5),
])
def test_mixed_precision_and_xla_match_float32_within_tolerance(corpus, tmp_path, float32_run,
                                                                settings, rtol):
    run = _train(corpus, tmp_path, "run", **{"loop": "fit", **settings})
    # Step 1's loss (initial weights) and step 2's (after one update), and validation after each.
    np.testing.assert_allclose(run.history["loss"], float32_run.history["loss"], rtol=rtol)
    np.testing.assert_allclose(run.history["val_loss"], float32_run.history["val_loss"], rtol=rtol)
    assert all(np.isfinite(w).all() for w in weights(run.model))


def test_the_accumulated_schedule_round_trips_through_keras_serialization():
    from tfllm.training import WarmupCosineDecay
    from tfllm.training.accumulated_step_schedule import AccumulatedStepSchedule

    schedule = AccumulatedStepSchedule(WarmupCosineDecay(1e-3, 2, 10, 1e-4), accumulation_steps=3)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(restored, AccumulatedStepSchedule) and restored.accumulation_steps == 3
    assert [float(restored(s)) for s in range(0, 30, 3)] == [float(schedule(s)) for s in range(0, 30, 3)]
    assert float(schedule(5)) == float(schedule.schedule(1))  # micro-batch 5 -> optimizer step 1
