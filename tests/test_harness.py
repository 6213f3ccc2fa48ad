"""The shared harness: it passes correct layers, catches broken ones, and checks its arguments."""

import keras
import numpy as np
import pytest
from keras import ops

from tfllm.layers import FeedForward
from tfllm.models import GPT
from tfllm.testing import run_layer_test, run_model_test

X = np.ones((2, 4, 8), "float32")  # (B, T, D)
QUICK = dict(run_training_check=False, run_saving_check=False, run_mixed_precision_check=False)


@keras.saving.register_keras_serializable(package="tfllm_test_harness")
class ForgetfulScale(keras.layers.Layer):
    """Broken on purpose: `get_config` drops the `factor` argument."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs):
        return inputs * self.factor

    def get_config(self):
        return super().get_config()  # forgets "factor"

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="tfllm_test_harness")
class WrongShape(keras.layers.Layer):
    """Broken on purpose: `compute_output_shape` disagrees with `call`."""

    def call(self, inputs):
        return inputs[..., :2]

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="tfllm_test_harness")
class LazyWeights(keras.layers.Layer):
    """Broken on purpose: creates its weight in `call`, so `build` from shapes is incomplete."""

    def build(self, input_shape):
        pass

    def call(self, inputs):
        if not hasattr(self, "scale"):
            self.scale = self.add_weight(shape=(), initializer="ones", name="scale")
        return inputs * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="tfllm_test_harness")
class ContextShift(keras.layers.Layer):
    """Two tensor inputs: adds a projection of the mean of `context` (B, S, C) to `inputs`."""

    def build(self, inputs_shape, context_shape):
        self.kernel = self.add_weight(shape=(context_shape[-1], inputs_shape[-1]), name="kernel")

    def call(self, inputs, context):
        pooled = ops.mean(context, axis=1, keepdims=True)  # (B, 1, C)
        return inputs + ops.matmul(pooled, self.kernel)  # (B, T, D)

    def compute_output_shape(self, inputs_shape, context_shape):
        return inputs_shape


def test_passes_a_correct_keras_layer():
    outputs = run_layer_test(keras.layers.Dense, {"units": 3}, X,
                             expected_output_shape=(2, 4, 3), expected_num_trainable_weights=2)
    assert outputs.shape == (2, 4, 3)


@pytest.mark.parametrize("layer_cls, init_kwargs, message", [
    (ForgetfulScale, {"factor": 3.0},
     r"get_config\(\) misses constructor argument\(s\) \['factor'\]"),
    (WrongShape, {}, r"output shape\(s\) \(2, 4, 2\), expected \(2, 4, 8\)"),
])
def test_catches_broken_layers(layer_cls, init_kwargs, message):
    with pytest.raises(AssertionError, match=message):
        run_layer_test(layer_cls, init_kwargs, X, expected_output_shape=(2, 4, 8), **QUICK)


def test_a_second_tensor_input_goes_through_every_check():
    context = np.random.default_rng(0).normal(size=(2, 3, 5)).astype("float32")  # (B, S, C)
    outputs = run_layer_test(ContextShift, {}, X, call_kwargs={"context": context},
                             expected_output_shape=(2, 4, 8), expected_num_trainable_weights=1)
    assert outputs.shape == (2, 4, 8) and not np.allclose(outputs, X)
    with pytest.raises(ValueError, match=r"call_kwargs\['context'\].shape=\(3, 5\)"):
        run_layer_test(ContextShift, {}, X, call_kwargs={"context": context[0]},
                       expected_output_shape=(2, 4, 8))


def test_catches_weights_created_outside_build():
    with pytest.raises(AssertionError, match="build\\(\\) must create every weight"):
        run_layer_test(LazyWeights, {}, X, expected_output_shape=(2, 4, 8), **QUICK)


def test_catches_a_wrong_weight_count_and_dtype():
    with pytest.raises(AssertionError, match="4 trainable weights after build"):
        run_layer_test(FeedForward, {"intermediate_dim": 4}, X, expected_output_shape=(2, 4, 8),
                       expected_num_trainable_weights=3, **QUICK)
    with pytest.raises(AssertionError, match="output dtypes \\['float32'\\]"):
        run_layer_test(FeedForward, {"intermediate_dim": 4}, X, expected_output_shape=(2, 4, 8),
                       expected_output_dtype="float16", **QUICK)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"layer_cls": "FeedForward"}, TypeError, "Received: layer_cls='FeedForward'"),
    ({"layer_cls": GPT}, ValueError, "use `run_model_test`"),
    ({"init_kwargs": [16]}, TypeError, r"Received: init_kwargs=\[16\]"),
    ({"init_kwargs": {"intermediate_dim": 4, "dtype": "float16"}}, ValueError,
     "run_mixed_precision_check=False"),
    ({"input_data": [[1.0]]}, TypeError, "Received: input_data of type list"),
    ({"call_kwargs": {"mask_positions": X}}, ValueError,
     r"does not accept. Valid: \['training'\]"),
    ({"expected_output_shape": "2x4x8"}, ValueError, "Received: expected_output_shape='2x4x8'"),
    ({"expected_output_dtype": "float99"}, ValueError, "Received: expected_output_dtype='float99'"),
    ({"expected_num_trainable_weights": -1}, ValueError,
     "Received: expected_num_trainable_weights=-1"),
    ({"atol": -1}, ValueError, "Received: atol=-1"),
])
def test_layer_harness_arguments_are_checked(kwargs, error, message):
    arguments = {"layer_cls": FeedForward, "init_kwargs": {"intermediate_dim": 4},
                 "input_data": X, "expected_output_shape": (2, 4, 8), **kwargs}
    with pytest.raises(error, match=message):
        run_layer_test(**arguments)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"model_cls": FeedForward}, TypeError, "Received: model_cls="),
    ({"input_data": {"token_ids": [[1, 2]]}}, TypeError, r"non-array entries \['token_ids'\]"),
    ({"input_data": np.ones((2, 4), "int32")}, ValueError, "Received: labels=None"),
    ({"call_kwargs": {"training": X}}, ValueError, "may not hold tensors"),
])
def test_model_harness_arguments_are_checked(kwargs, error, message):
    arguments = {"model_cls": GPT, "init_kwargs": {}, "expected_output_shape": (2, 4, 32),
                 "input_data": {"token_ids": np.ones((2, 4), "int32")}, **kwargs}
    with pytest.raises(error, match=message):
        run_model_test(**arguments)
