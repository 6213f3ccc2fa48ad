"""build_optimizer: AdamW with weight decay only on matrices, global-norm clipping."""

import keras
import numpy as np
import pytest

from tfllm.training import AdamWithDecayExclusions, WarmupCosineDecay, build_optimizer


def tiny_model():
    inputs = keras.Input((4,), dtype="int32")
    hidden = keras.layers.Embedding(16, 8, name="token_embedding")(inputs)
    hidden = keras.layers.LayerNormalization(name="norm")(hidden)
    logits = keras.layers.Dense(16, name="head")(hidden)
    model = keras.Model(inputs, logits)
    # Non-zero biases and offsets, so that decay would be visible on them too.
    for variable in model.trainable_variables:
        variable.assign(np.full(variable.shape, 0.5, "float32"))
    return model


def test_decay_applies_to_kernels_only():
    model = tiny_model()
    optimizer = build_optimizer(0.1, weight_decay=0.5)
    before = {v.path: v.numpy().copy() for v in model.trainable_variables}
    # Zero gradients: Adam's update is exactly 0, so any change is weight decay.
    optimizer.apply_gradients([(np.zeros(v.shape, "float32"), v) for v in model.trainable_variables])
    decayed = {
        v.path for v in model.trainable_variables if not np.allclose(v.numpy(), before[v.path])
    }
    assert decayed == {"head/kernel"}
    kernel = next(v for v in model.trainable_variables if v.path == "head/kernel")
    np.testing.assert_allclose(kernel.numpy(), before["head/kernel"] * (1 - 0.1 * 0.5), rtol=1e-6)
    names = {v.name: optimizer._use_weight_decay(v) for v in model.trainable_variables}
    assert names == {"embeddings": False, "gamma": False, "beta": False, "kernel": True, "bias": False}


def test_matching_is_by_short_variable_name_substring():
    optimizer = build_optimizer(1e-3)
    position = keras.Variable(np.zeros((2, 2)), name="position_embeddings")
    recurrent = keras.Variable(np.zeros((2, 2)), name="recurrent_kernel")
    assert not optimizer._use_weight_decay(position)
    assert optimizer._use_weight_decay(recurrent)


def test_settings_and_clipping():
    optimizer = build_optimizer(1e-3, weight_decay=0.1, beta_1=0.8, beta_2=0.95, clipnorm=1.0, epsilon=1e-6)
    assert isinstance(optimizer, keras.optimizers.AdamW)
    assert optimizer.global_clipnorm == 1.0 and optimizer.clipnorm is None
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.8, 0.95, 1e-6)
    assert build_optimizer(1e-3, clipnorm=0).global_clipnorm is None

    # Clipping by global norm: a gradient of norm 10 is scaled to norm 1.
    clipped = build_optimizer(1.0, weight_decay=0.0, clipnorm=1.0)
    grads = clipped._clip_gradients([np.full(4, 5.0, "float32")])
    np.testing.assert_allclose(np.linalg.norm(keras.ops.convert_to_numpy(grads[0])), 1.0, rtol=1e-5)


def test_schedule_is_followed():
    schedule = WarmupCosineDecay(1e-2, warmup_steps=4, decay_steps=10)
    optimizer = build_optimizer(schedule)
    optimizer.iterations.assign(2)
    np.testing.assert_allclose(float(optimizer.learning_rate), float(schedule(2)), rtol=1e-6)


def test_exclusions_survive_save_and_load(tmp_path):
    """Keras's AdamW does not save `exclude_from_weight_decay`; ours does."""
    model = tiny_model()
    schedule = WarmupCosineDecay(1e-3, warmup_steps=2, decay_steps=10)
    model.compile(build_optimizer(schedule), loss="sparse_categorical_crossentropy")
    model.fit(np.zeros((2, 4), "int32"), np.zeros((2, 4), "int32"), verbose=0)
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    optimizer = restored.optimizer
    assert isinstance(optimizer, AdamWithDecayExclusions)
    assert isinstance(optimizer._learning_rate, WarmupCosineDecay)
    assert int(optimizer.iterations) == 1
    decays = {v.name: optimizer._use_weight_decay(v) for v in restored.trainable_variables}
    assert decays == {"embeddings": False, "gamma": False, "beta": False, "kernel": True, "bias": False}


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"learning_rate": lambda: 1.0}, "learning_rate"),
        ({"learning_rate": 1e-3, "weight_decay": -0.1}, "weight_decay"),
        ({"learning_rate": 1e-3, "beta_1": 1.0}, "beta_1"),
        ({"learning_rate": 1e-3, "beta_2": -0.5}, "beta_2"),
        ({"learning_rate": 1e-3, "clipnorm": -1.0}, "clipnorm"),
        ({"learning_rate": 1e-3, "epsilon": 0.0}, "epsilon"),
    ],
)
def test_invalid_arguments_name_themselves(kwargs, name):
    learning_rate = kwargs.pop("learning_rate")
    with pytest.raises((ValueError, TypeError), match=f"Received: {name}="):
        build_optimizer(learning_rate, **kwargs)


def test_keeps_the_gradient_norm_before_clipping():
    import keras
    import numpy as np

    from tfllm.training import build_optimizer

    optimizer = build_optimizer(1e-3, clipnorm=1.0)
    variables = [keras.Variable(np.ones((3,), "float32")), keras.Variable(np.ones((2,), "float32"))]
    optimizer.build(variables)
    gradients = [np.full((3,), 2.0, "float32"), np.full((2,), 3.0, "float32")]
    optimizer.apply(gradients, variables)
    # sqrt(3 * 4 + 2 * 9) = sqrt(30): the norm before clipping to 1.
    assert float(optimizer.gradient_norm) == pytest.approx(30 ** 0.5, rel=1e-6)
