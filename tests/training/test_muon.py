"""train.optimizer=muon: Muon on the hidden layers' kernels, AdamW on the rest, in every recipe."""

import json

import keras
import numpy as np
import pytest

from tfllm.config import RunConfig, TrainConfig, apply_overrides
from tfllm.errors import ConfigError
from tfllm.models import GPT
from tfllm.presets import get_preset
from tfllm.tasks import get_task
from tfllm.training import (AccumulatedStepSchedule, MuonForMatrices, WarmupCosineDecay,
                            build_optimizer, compile_arguments, current_learning_rate,
                            resolve_strategy)
from tfllm.training.muon_for_matrices import matrix_shape

TEXT = ("To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer "
        "the slings and arrows of outrageous fortune, or to take arms against a sea of troubles")
VOCABULARY = sorted(set(TEXT))


def tiny_gpt(**kwargs):
    keras.utils.set_random_seed(0)
    arguments = dict(GPT.original_options, vocabulary_size=32, sequence_length=8, num_layers=1,
                     num_heads=2, hidden_dim=16, intermediate_dim=32)
    return GPT(**{**arguments, **kwargs})


def text_batch(batch_size=8, length=8):
    """`batch_size` windows of `length` + 1 characters of TEXT, as ids."""
    ids = np.array([VOCABULARY.index(c) for c in TEXT], "int32")
    starts = np.linspace(0, len(ids) - length - 1, batch_size).astype(int)
    return np.stack([ids[s:s + length + 1] for s in starts])


def muon_config(**kwargs):
    return TrainConfig(**{"optimizer": "muon", "steps": 20, "eval_interval": 20,
                          "warmup_steps": 2, "learning_rate": 2e-2, "min_learning_rate": 1e-3,
                          "batch_size": 8, **kwargs})


def fit_losses(config, model, steps=20):
    """Fits `steps` optimizer steps on one batch of TEXT; returns the loss of the first and
    of the last step, and the optimizer."""
    model.compile(**compile_arguments(config, get_task("causal_lm"), model))
    windows = text_batch(config.batch_size)
    means = []  # Keras logs the running mean of the epoch's micro-batch losses
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: means.append(float(logs["loss"])))
    model.fit(np.tile(windows[:, :-1], (steps, 1)), np.tile(windows[:, 1:], (steps, 1)),
              batch_size=config.batch_size // config.grad_accum_steps, epochs=1, verbose=0,
              callbacks=[record])
    n = len(means)
    return means[0], n * means[-1] - (n - 1) * means[-2], model.optimizer


def test_muon_takes_the_hidden_kernels_and_adamw_the_rest():
    model = tiny_gpt(tie_embeddings=False)
    model.build({"token_ids": (None, 8)})
    optimizer = build_optimizer(1e-3, optimizer="muon")
    optimizer.build(model.trainable_variables)
    muon = [v for v in model.trainable_variables if optimizer.uses_muon(v)]
    paths = {v.path.split("/", 1)[1] for v in muon}
    # Every kernel of the block and nothing else (whatever the attention's projections are).
    assert {"decoder_block_0/self_attention/attention_output/kernel",
            "decoder_block_0/feed_forward/intermediate_dense/kernel",
            "decoder_block_0/feed_forward/output_dense/kernel"} <= paths
    assert all(path.startswith("decoder_block_0/") and path.endswith("/kernel")
               for path in paths)
    assert len(paths) >= 4 and all(len(v.shape) >= 2 for v in muon)
    adamw = [v for v in model.trainable_variables if not optimizer.uses_muon(v)]
    # The embeddings, the untied output head, the 2-D attention biases and the norms.
    assert {"token_embedding/embeddings", "token_embedding/output_kernel",
            "position_embedding/embeddings", "decoder_block_0/self_attention/query/bias",
            "final_layer_norm/gamma"} <= {v.path.split("/", 1)[1] for v in adamw}
    # Only AdamW's variables get a second moment.
    velocities = {optimizer._get_variable_index(v) for v in model.trainable_variables
                  if optimizer.adam_velocities[optimizer._get_variable_index(v)] is not None}
    assert velocities == {optimizer._get_variable_index(v) for v in adamw}


class _Classifier(keras.Model):
    """A feed-forward block's `output_dense` inside, a top-level `output_dense` head, as in
    BertClassifier."""

    def __init__(self, head_name):
        super().__init__(name="classifier")
        self.token_embedding = keras.layers.Embedding(16, 8, name="token_embedding")
        self.block = keras.Sequential([keras.layers.Dense(8, name="output_dense")],
                                      name="feed_forward")
        self.head = keras.layers.Dense(2, name=head_name)

    def call(self, token_ids):
        return self.head(self.block(self.token_embedding(token_ids)))


@pytest.mark.parametrize("head_name", ["output_projection", "output_dense"])
def test_a_separate_output_head_gets_adamw(head_name):
    model = _Classifier(head_name)
    model(np.zeros((1, 4), "int32"))
    optimizer = build_optimizer(1e-3, optimizer="muon")
    optimizer.build(model.trainable_variables)
    assert [v.path for v in model.trainable_variables if optimizer.uses_muon(v)] == [
        "classifier/feed_forward/output_dense/kernel"]


@pytest.mark.parametrize("shape, expected", [
    ((16, 32), (16, 32)),
    ((16, 2, 8), (16, 16)),  # query (D, N, H): D inputs to N x H outputs
    ((2, 8, 16), (16, 16)),  # attention output (N, H, D)
    ((16, 1, 8), (16, 8)),  # a grouped key (D, K, H) with one key head
    ((4, 4, 4), (4, 16)),  # a tie: the first axis against the rest
])
def test_matrix_shape(shape, expected):
    assert matrix_shape(shape) == expected


def test_a_3d_kernel_is_updated_as_its_matrix():
    gradient = np.random.default_rng(0).normal(size=(6, 2, 3)).astype("float32")
    cube = keras.Variable(np.zeros((6, 2, 3), "float32"), name="kernel")
    flat = keras.Variable(np.zeros((6, 6), "float32"), name="kernel")
    for variable, grad in ((cube, gradient), (flat, gradient.reshape(6, 6))):
        optimizer = build_optimizer(0.1, optimizer="muon", weight_decay=0.0, clipnorm=0.0)
        optimizer.apply([grad], [variable])
    np.testing.assert_allclose(cube.numpy().reshape(6, 6), flat.numpy(), rtol=1e-5, atol=1e-7)
    # Orthogonalised: the update's singular values are near one another (Newton-Schulz's
    # quintic leaves them in about [0.7, 1.2]), unlike the gradient's.
    singular = np.linalg.svd(flat.numpy(), compute_uv=False)
    assert singular.max() / singular.min() < 2.0
    assert np.ptp(singular) > 0


def test_weight_decay_follows_the_exclusions():
    model = tiny_gpt()
    model.build({"token_ids": (None, 8)})
    for variable in model.trainable_variables:
        variable.assign(np.full(variable.shape, 0.5, "float32"))
    optimizer = build_optimizer(0.1, optimizer="muon", weight_decay=0.5)
    # Zero gradients: both updates are exactly 0, so any change is weight decay.
    optimizer.apply([np.zeros(v.shape, "float32") for v in model.trainable_variables],
                    model.trainable_variables)
    decayed = {v.name for v in model.trainable_variables if not np.allclose(v.numpy(), 0.5)}
    assert decayed == {"kernel"}
    for variable in model.trainable_variables:
        if variable.name == "kernel":
            np.testing.assert_allclose(variable.numpy(), 0.5 * (1 - 0.1 * 0.5), rtol=1e-6)


def test_loss_goes_down_on_real_text_with_accumulation_and_loss_scaling():
    from tfllm.training import dtype_policy

    config = muon_config(jit_compile="false", grad_accum_steps=2, precision="mixed_float16")
    with dtype_policy(config.precision):
        model = tiny_gpt(vocabulary_size=len(VOCABULARY))
    first, last, optimizer = fit_losses(config, model)
    assert last < 0.8 * first
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    inner = optimizer.inner_optimizer
    assert isinstance(inner, MuonForMatrices)
    assert int(inner.iterations) == 20  # optimizer steps, not micro-batches
    # The schedule (kept in optimizer steps) and the clipping are the optimizer's; the
    # gradient norm is logged.
    assert isinstance(inner._learning_rate, AccumulatedStepSchedule)
    assert current_learning_rate(optimizer) == pytest.approx(
        float(WarmupCosineDecay(2e-2, 2, 20, 1e-3)(19)), rel=1e-5)
    assert inner.global_clipnorm == 1.0 and float(inner.gradient_norm) > 0


def test_xla_gives_the_same_steps():
    """Muon compiles under XLA (GPT's default) and steps as it does without."""
    weights = {}
    for jit_compile in (False, True):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((4, 8)),
            keras.layers.EinsumDense("btd,dnh->btnh", (4, 2, 4), name="query"),  # (D, N, H)
            keras.layers.Reshape((4, 8)),
            keras.layers.Dense(8, name="output_projection"),
        ])
        model.compile(build_optimizer(1e-2, optimizer="muon"), loss="mse",
                      jit_compile=jit_compile)
        rng = np.random.default_rng(0)
        model.fit(rng.normal(size=(6, 4, 8)), rng.normal(size=(6, 4, 8)), batch_size=2,
                  verbose=0)
        weights[jit_compile] = [w.numpy() for w in model.trainable_weights]
    for plain, compiled in zip(weights[False], weights[True]):
        np.testing.assert_allclose(compiled, plain, rtol=1e-4, atol=1e-6)


def test_mirrored_replicas_step_as_one_device():
    """Muon's update and decay under a tf.distribute strategy (two logical CPUs)."""
    import tensorflow as tf

    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs the two logical CPUs of conftest.py")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4, 8)), rng.normal(size=(8, 4, 8))
    weights = []
    # The library's mirrored strategy (collective all-reduce, with keys no other strategy in
    # this process used: tfllm.training.strategies).
    mirrored = resolve_strategy("mirrored").strategy
    for strategy in (tf.distribute.get_strategy(), mirrored):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([
                keras.Input((4, 8)),
                keras.layers.EinsumDense("btd,dnh->btnh", (4, 2, 4), bias_axes="nh"),
                keras.layers.Reshape((4, 8)),
                keras.layers.Dense(8, name="output_projection"),
            ])
            # No clipping: Keras clips each replica's gradients before summing them, with
            # either optimizer, so clipped runs differ by design.
            optimizer = build_optimizer(1e-2, optimizer="muon", weight_decay=0.5, clipnorm=0.0)
            model.compile(optimizer, loss="mse", jit_compile=False)
        model.fit(x, y, batch_size=4, verbose=0)  # two steps
        weights.append([w.numpy() for w in model.trainable_weights])
    for one, mirrored in zip(*weights):
        np.testing.assert_allclose(mirrored, one, rtol=1e-4, atol=1e-6)


def test_the_optimizer_round_trips_through_its_config():
    optimizer = build_optimizer(WarmupCosineDecay(1e-3, 2, 10), optimizer="muon",
                                muon_momentum=0.9, gradient_accumulation_steps=2)
    restored = keras.optimizers.deserialize(
        json.loads(json.dumps(keras.optimizers.serialize(optimizer))))
    assert isinstance(restored, MuonForMatrices)
    for key in ("matrix_names", "exclude_layers", "no_decay_names", "momentum",
                "adam_beta_2", "weight_decay", "adam_weight_decay",
                "gradient_accumulation_steps"):
        assert getattr(restored, key) == getattr(optimizer, key), key


def test_build_optimizer_refusals():
    with pytest.raises(ValueError, match=r"'adamw', 'muon'.*Received: optimizer='sgd'"):
        build_optimizer(1e-3, optimizer="sgd")
    with pytest.raises(ValueError, match="does nothing with optimizer='adamw'"):
        build_optimizer(1e-3, muon_momentum=0.9)
    with pytest.raises(ValueError, match="Received: muon_momentum=1.0"):
        build_optimizer(1e-3, optimizer="muon", muon_momentum=1.0)


def test_the_config_field():
    assert TrainConfig().optimizer == "adamw"
    with pytest.raises(ConfigError, match=r"train.optimizer.*'adamw', 'muon'.*"
                                          r"Received: train.optimizer='sgd'"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ConfigError, match="train.muon_momentum sets Muon's momentum.*"
                                          "Received: train.optimizer='adamw'"):
        TrainConfig(muon_momentum=0.9)
    with pytest.raises(ConfigError, match="Received: train.muon_momentum=0.0"):
        TrainConfig(optimizer="muon", muon_momentum=0.0)
    config = apply_overrides(get_preset("smoke"),
                             ["train.optimizer=muon", "train.muon_momentum=0.9"])
    assert (config.train.optimizer, config.train.muon_momentum) == ("muon", 0.9)
    assert RunConfig.from_dict(json.loads(config.to_json())) == config
    with pytest.raises(ConfigError, match="train.optimizer"):
        apply_overrides(get_preset("smoke"), ["train.optimizer=lion"])


def test_a_config_saved_before_the_field_loads_with_adamw():
    saved = json.loads(get_preset("smoke").to_json())
    del saved["train"]["optimizer"], saved["train"]["muon_momentum"]
    config = RunConfig.from_dict(saved)
    assert (config.train.optimizer, config.train.muon_momentum) == ("adamw", 0.95)


def test_a_run_trains_with_muon_and_reports_bits_per_byte(tmp_path):
    """The whole `train()` path: Muon from the config; bits per byte in the logs and report."""
    import random

    from tfllm.config import DataConfig, ModelConfig
    from tfllm.training import train

    rng = random.Random(0)
    words = "the café of señor naïve – a king and queen speak unto thee".split()
    text = "\n".join(" ".join(rng.choice(words) for _ in range(10)) for _ in range(300))
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    config = RunConfig(
        name="tiny", data=DataConfig(corpus=str(tmp_path / "corpus.txt")),
        model=ModelConfig("GPT", dict(sequence_length=8, num_layers=1, num_heads=2,
                                      hidden_dim=16, intermediate_dim=32)),
        train=muon_config(steps=4, eval_interval=2, eval_batches=1, sample_length=0,
                          jit_compile="false", loop="fit"))
    run = train(config, run_dir=tmp_path / "run", verbose=0, print_fn=lambda _: None)
    assert isinstance(run.model.optimizer, MuonForMatrices)
    metrics = run.metrics
    assert metrics["bytes_per_token"] > metrics["characters_per_token"] == 1.0
    assert metrics["bits_per_byte"] == pytest.approx(
        metrics["bits_per_character"] / metrics["bytes_per_token"], rel=1e-5)
    assert len(run.history["val_bits_per_byte"]) == 2
