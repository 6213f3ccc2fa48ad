"""One harness every tfllm layer and model goes through.

`run_layer_test` (here) and `run_model_test` (`tfllm.testing.model_test`) each take a class, its
constructor arguments and a small input, and check in one call what every Keras layer must get
right:

1. config round trip: `get_config()` holds every constructor argument given, and
   `from_config(get_config())` and
   `keras.saving.serialize_keras_object` / `deserialize_keras_object` give the same config;
2. `build()` from shapes alone creates every weight (and a later call creates none);
3. an eager call returns the expected shapes and dtypes;
4. `compute_output_shape` agrees with it;
5. a symbolic call (on `keras.Input`s / `keras.KerasTensor`s) agrees with it;
6. one compiled `fit` step runs, gives a finite loss and changes the weights;
7. a `.keras` save and `load_model(..., safe_mode=True)` reproduce the outputs;
8. under the `mixed_bfloat16` policy the weights stay float32 and the outputs have the
   documented dtype and are finite.

A layer with several tensor inputs (a decoder block's `encoder_outputs` and
`encoder_padding_mask` beside its inputs, attention's `value`, a cache) gets them through
`call_kwargs`: every array there takes part in every check, as a `keras.Input` of the
functional model used for the symbolic, fit and save checks, and as the shape `build()` and
`compute_output_shape()` receive for a parameter named `<argument>_shape`, the way Keras maps
them.

Failed checks raise `AssertionError` with what was expected and what came out; misuse of the
harness itself raises `TypeError` / `ValueError` naming the argument. The checks themselves are
in `tfllm.testing.harness_checks`.

Example:

>>> import numpy as np
>>> from tfllm.layers import FeedForward
>>> from tfllm.testing import run_layer_test
>>> outputs = run_layer_test(
...     FeedForward, {"intermediate_dim": 16}, np.ones((2, 4, 8), "float32"),
...     expected_output_shape=(2, 4, 8), expected_num_trainable_weights=4)
"""

import inspect

import keras
import numpy as np

from tfllm.testing.harness_checks import (
    MIXED_POLICY,
    check_call_after_build,
    check_common_arguments,
    check_config_round_trip,
    check_expected_outputs,
    check_fit_step,
    check_mixed_precision,
    check_outputs,
    check_save_and_load,
    check_shapes,
    check_weight_counts,
    is_array,
    keras_input,
    to_numpy,
    shape_arguments,
)


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    *,
    expected_output_shape,
    call_kwargs=None,
    expected_output_dtype=None,
    expected_mixed_precision_dtype=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    run_training_check=True,
    run_mixed_precision_check=True,
    run_saving_check=True,
    atol=1e-6,
):
    """Runs every standard check on a layer class; raises `AssertionError` on the first failure.

    Args:
        layer_cls: a `keras.layers.Layer` subclass (not a `keras.Model`: use `run_model_test`).
        init_kwargs: dict of constructor arguments.
        input_data: the first positional call argument, a NumPy array or tensor.
        expected_output_shape: the output shape, e.g. `(2, 4, 8)`, or a tuple of shapes for a
            layer returning several tensors. `None` entries match any size.
        call_kwargs: other call arguments. Arrays/tensors among them (second inputs such as
            `encoder_outputs`, masks, caches) are inputs of every check: `keras.Input`s of the
            functional model (symbolic call, fit, save), their shapes for `build()` /
            `compute_output_shape()` parameters named `<argument>_shape`, and (floating ones
            cast to bfloat16 like the first input) arguments of the mixed-precision call. With
            the fit check they need the batch axis of `input_data` first. Other values are
            passed as they are.
        expected_output_dtype: dtype of every output (or a structure of dtypes matching the
            outputs); defaults to the layer's compute dtype.
        expected_mixed_precision_dtype: the same under `mixed_bfloat16`; defaults to
            "bfloat16".
        expected_num_trainable_weights: if given, the number of trainable weights after build.
        expected_num_non_trainable_weights: if given, the same for non-trainable weights.
        run_training_check: run one compiled `fit` step (mean squared error of the first
            output against zeros). Skipped for layers without trainable weights.
        run_mixed_precision_check: run the `mixed_bfloat16` check.
        run_saving_check: save to `.keras` and reload with `safe_mode=True`.
        atol: tolerance for "equal outputs" after reloading.
    Returns:
        The eager outputs of a layer built with `init_kwargs`, as NumPy arrays (nested like
        the layer's outputs).
    """
    init_kwargs, call_kwargs = _check_layer_arguments(
        layer_cls, init_kwargs, input_data, call_kwargs, run_mixed_precision_check,
        run_training_check,
    )
    check_expected_outputs(
        expected_output_shape, expected_output_dtype, expected_mixed_precision_dtype,
        expected_num_trainable_weights, expected_num_non_trainable_weights, atol,
    )
    weight_counts = (expected_num_trainable_weights, expected_num_non_trainable_weights)
    layer = layer_cls(**init_kwargs)
    check_config_round_trip(layer, init_kwargs)
    _check_build_from_shapes(layer_cls(**init_kwargs), input_data, call_kwargs, weight_counts)

    outputs = layer(input_data, **call_kwargs)
    dtype = expected_output_dtype or layer.compute_dtype
    check_outputs(outputs, expected_output_shape, dtype, "eager call")
    check_weight_counts(layer, *weight_counts, "after an eager call")
    shape_args, shape_kwargs = shape_arguments(
        layer.compute_output_shape, layer, input_data, call_kwargs
    )
    check_shapes(
        layer.compute_output_shape(*shape_args, **shape_kwargs), expected_output_shape,
        "compute_output_shape()",
    )

    # Symbolic call, as a functional model (also used for the fit and save checks).
    symbolic_inputs, symbolic_kwargs = _symbolic_arguments(input_data, call_kwargs)
    symbolic_layer = layer_cls(**init_kwargs)
    symbolic_outputs = symbolic_layer(symbolic_inputs["inputs"], **symbolic_kwargs)
    check_outputs(symbolic_outputs, expected_output_shape, dtype, "symbolic call")
    data = {"inputs": input_data, **{k: v for k, v in call_kwargs.items() if is_array(v)}}

    if run_training_check and symbolic_layer.trainable_weights:
        trainer = keras.Model(symbolic_inputs, keras.tree.flatten(symbolic_outputs)[0])
        target = np.zeros(tuple(keras.tree.flatten(outputs)[0].shape), dtype="float32")
        check_fit_step(trainer, data, target, loss="mse", jit_compile=False)
    if run_saving_check:
        functional = keras.Model(symbolic_inputs, symbolic_outputs)
        check_save_and_load(functional, data, atol, expected_cls=keras.Model)
    if run_mixed_precision_check:
        mixed = layer_cls(**init_kwargs, dtype=MIXED_POLICY)
        check_mixed_precision(
            mixed, mixed(input_data, **call_kwargs), expected_output_shape,
            expected_mixed_precision_dtype or "bfloat16",
        )
    return keras.tree.map_structure(to_numpy, outputs)


def _check_layer_arguments(layer_cls, init_kwargs, input_data, call_kwargs,
                           run_mixed_precision_check, run_training_check):
    """`(init_kwargs, call_kwargs)` as dicts, once the class and input are a layer's."""
    if not (inspect.isclass(layer_cls) and issubclass(layer_cls, keras.layers.Layer)):
        raise TypeError(
            f"`layer_cls` must be a keras.layers.Layer subclass. Received: layer_cls={layer_cls!r}"
        )
    if issubclass(layer_cls, keras.Model):
        raise ValueError(
            "`layer_cls` is a keras.Model: use `run_model_test` for models. "
            f"Received: layer_cls={layer_cls.__name__}"
        )
    init_kwargs, call_kwargs = check_common_arguments(
        layer_cls, init_kwargs, call_kwargs, run_mixed_precision_check
    )
    if not is_array(input_data):
        raise TypeError(
            "`input_data` must be a NumPy array or a tensor (the first call argument). "
            f"Received: input_data of type {type(input_data).__name__}"
        )
    batch_size = tuple(input_data.shape)[:1]
    for name, value in call_kwargs.items():
        # fit() slices every model input into batches along its first axis.
        if run_training_check and is_array(value) and tuple(value.shape)[:1] != batch_size:
            raise ValueError(
                "Tensor call arguments are inputs of the fit check, which batches them with "
                "`input_data`, so each needs its batch axis first; pass "
                f"run_training_check=False otherwise. Received: call_kwargs['{name}'].shape="
                f"{tuple(value.shape)}, input_data.shape={tuple(input_data.shape)}"
            )
    return init_kwargs, call_kwargs


def _check_build_from_shapes(layer, input_data, call_kwargs, weight_counts):
    """Builds `layer` from shapes alone, then calls it: the call must not create new weights."""
    build_args, build_kwargs = shape_arguments(layer.build, layer, input_data, call_kwargs)
    layer.build(*build_args, **build_kwargs)
    check_weight_counts(layer, *weight_counts, "after build() from shapes")
    check_call_after_build(layer, input_data, call_kwargs)


def _symbolic_arguments(input_data, call_kwargs):
    """`keras.Input`s for the input and every array among `call_kwargs`, other values as given.

    Returns `(inputs, call_kwargs)`: `inputs` maps "inputs" and each array argument's name to
    its `keras.Input` (the functional model's inputs).
    """
    symbolic_inputs = {"inputs": keras_input(input_data, "inputs")}
    symbolic_kwargs = {}
    for name, value in call_kwargs.items():
        if is_array(value):
            symbolic_inputs[name] = symbolic_kwargs[name] = keras_input(value, name)
        else:
            symbolic_kwargs[name] = value
    return symbolic_inputs, symbolic_kwargs
