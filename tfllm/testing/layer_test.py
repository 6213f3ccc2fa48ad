"""One harness every tfllm layer and model goes through.

`run_layer_test` and `run_model_test` each take a class, its constructor arguments and a small
input, and check in one call what every Keras layer must get right:

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

Failed checks raise `AssertionError` with what was expected and what came out; misuse of the
harness itself raises `TypeError` / `ValueError` naming the argument.

Example:

>>> import numpy as np
>>> from tfllm.layers import FeedForward
>>> from tfllm.testing import run_layer_test
>>> outputs = run_layer_test(
...     FeedForward, {"intermediate_dim": 16}, np.ones((2, 4, 8), "float32"),
...     expected_output_shape=(2, 4, 8), expected_num_trainable_weights=4)
"""

import inspect
import math
import os
import tempfile

import keras
import numpy as np

MIXED_POLICY = "mixed_bfloat16"


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
        call_kwargs: other call arguments. Arrays/tensors among them (masks, caches) become
            `keras.Input`s in the symbolic check; other values are passed as they are.
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
    if not (inspect.isclass(layer_cls) and issubclass(layer_cls, keras.layers.Layer)):
        raise TypeError(
            f"`layer_cls` must be a keras.layers.Layer subclass. Received: layer_cls={layer_cls!r}"
        )
    if issubclass(layer_cls, keras.Model):
        raise ValueError(
            "`layer_cls` is a keras.Model: use `run_model_test` for models. "
            f"Received: layer_cls={layer_cls.__name__}"
        )
    init_kwargs, call_kwargs = _check_common_arguments(
        layer_cls, init_kwargs, call_kwargs, run_mixed_precision_check
    )
    if not _is_array(input_data):
        raise TypeError(
            "`input_data` must be a NumPy array or a tensor (the first call argument). "
            f"Received: input_data of type {type(input_data).__name__}"
        )
    _check_expected_outputs(
        expected_output_shape, expected_output_dtype, expected_mixed_precision_dtype,
        expected_num_trainable_weights, expected_num_non_trainable_weights, atol,
    )

    layer = layer_cls(**init_kwargs)
    _check_config_round_trip(layer, init_kwargs)

    # Build from shapes alone, then call: the call must not create new weights.
    shape_built = layer_cls(**init_kwargs)
    build_args, build_kwargs = _shape_arguments(
        shape_built.build, shape_built, input_data, call_kwargs
    )
    shape_built.build(*build_args, **build_kwargs)
    _check_weight_counts(
        shape_built, expected_num_trainable_weights, expected_num_non_trainable_weights,
        "after build() from shapes",
    )
    _check_call_after_build(shape_built, input_data, call_kwargs)

    outputs = layer(input_data, **call_kwargs)
    dtype = expected_output_dtype or layer.compute_dtype
    _check_outputs(outputs, expected_output_shape, dtype, "eager call")
    _check_weight_counts(
        layer, expected_num_trainable_weights, expected_num_non_trainable_weights,
        "after an eager call",
    )

    shape_args, shape_kwargs = _shape_arguments(
        layer.compute_output_shape, layer, input_data, call_kwargs
    )
    _check_shapes(
        layer.compute_output_shape(*shape_args, **shape_kwargs), expected_output_shape,
        "compute_output_shape()",
    )

    # Symbolic call, as a functional model (also used for the fit and save checks).
    symbolic_inputs = {"inputs": _keras_input(input_data, "inputs")}
    symbolic_kwargs = {}
    for name, value in call_kwargs.items():
        if _is_array(value):
            symbolic_inputs[name] = symbolic_kwargs[name] = _keras_input(value, name)
        else:
            symbolic_kwargs[name] = value
    symbolic_layer = layer_cls(**init_kwargs)
    symbolic_outputs = symbolic_layer(symbolic_inputs["inputs"], **symbolic_kwargs)
    _check_outputs(symbolic_outputs, expected_output_shape, dtype, "symbolic call")
    functional = keras.Model(symbolic_inputs, symbolic_outputs)
    data = {"inputs": input_data, **{k: v for k, v in call_kwargs.items() if _is_array(v)}}

    if run_training_check and symbolic_layer.trainable_weights:
        first_output = keras.tree.flatten(symbolic_outputs)[0]
        trainer = keras.Model(symbolic_inputs, first_output)
        target = np.zeros(tuple(keras.tree.flatten(outputs)[0].shape), dtype="float32")
        _check_fit_step(trainer, data, target, loss="mse", jit_compile=False)

    if run_saving_check:
        _check_save_and_load(functional, data, atol, expected_cls=keras.Model)

    if run_mixed_precision_check:
        mixed = layer_cls(**init_kwargs, dtype=MIXED_POLICY)
        mixed_outputs = mixed(input_data, **call_kwargs)
        _check_mixed_precision(
            mixed, mixed_outputs, expected_output_shape,
            expected_mixed_precision_dtype or "bfloat16",
        )
    return keras.tree.map_structure(_numpy, outputs)


def run_model_test(
    model_cls,
    init_kwargs,
    input_data,
    *,
    expected_output_shape,
    labels=None,
    loss=None,
    call_kwargs=None,
    expected_output_dtype="float32",
    expected_mixed_precision_dtype="float32",
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    run_training_check=True,
    run_mixed_precision_check=True,
    run_saving_check=True,
    jit_compile=False,
    atol=1e-6,
):
    """Runs every standard check on a `keras.Model` subclass; raises `AssertionError` on failure.

    Args:
        model_cls: a `keras.Model` subclass.
        init_kwargs: dict of constructor arguments.
        input_data: the model input: a dict of arrays (e.g. `{"token_ids": ...,
            "padding_mask": ...}`) or one array.
        expected_output_shape: the output shape, e.g. `(2, 8, 32)`; `None` entries match any
            size.
        labels: targets for the fit check; defaults to `input_data["token_ids"]`.
        loss: loss for the fit check; defaults to sparse categorical cross-entropy on logits.
        call_kwargs: other (non-tensor) call arguments.
        expected_output_dtype: the output dtype, "float32" by default.
        expected_mixed_precision_dtype: the output dtype under `mixed_bfloat16`, "float32"
            by default (tfllm models always return float32 logits).
        expected_num_trainable_weights: if given, the number of trainable weights.
        expected_num_non_trainable_weights: if given, the number of non-trainable weights.
        run_training_check: compile and fit one step.
        run_mixed_precision_check: run the `mixed_bfloat16` check.
        run_saving_check: save to `.keras` and reload with `safe_mode=True`.
        jit_compile: passed to `compile` for the fit check (XLA when True).
        atol: tolerance for "equal outputs" after reloading.
    Returns:
        The eager outputs of a model built with `init_kwargs`, as NumPy arrays.
    """
    if not (inspect.isclass(model_cls) and issubclass(model_cls, keras.Model)):
        raise TypeError(
            f"`model_cls` must be a keras.Model subclass. Received: model_cls={model_cls!r}"
        )
    init_kwargs, call_kwargs = _check_common_arguments(
        model_cls, init_kwargs, call_kwargs, run_mixed_precision_check
    )
    if isinstance(input_data, dict):
        bad = [key for key, value in input_data.items() if not _is_array(value)]
        if not input_data or bad:
            raise TypeError(
                "`input_data` must be an array or a non-empty dict of arrays. "
                f"Received: input_data with non-array entries {bad}"
            )
    elif not _is_array(input_data):
        raise TypeError(
            "`input_data` must be an array or a dict of arrays. "
            f"Received: input_data of type {type(input_data).__name__}"
        )
    if any(_is_array(value) for value in call_kwargs.values()):
        raise ValueError(
            "`call_kwargs` of a model may not hold tensors: put tensor inputs in `input_data`. "
            f"Received: call_kwargs keys {sorted(call_kwargs)}"
        )
    if labels is None and run_training_check:
        if not (isinstance(input_data, dict) and "token_ids" in input_data):
            raise ValueError(
                "`labels` is required unless `input_data` is a dict with 'token_ids' "
                "(a language model's labels default to its inputs). Received: labels=None"
            )
        labels = input_data["token_ids"]
    _check_expected_outputs(
        expected_output_shape, expected_output_dtype, expected_mixed_precision_dtype,
        expected_num_trainable_weights, expected_num_non_trainable_weights, atol,
    )
    shapes = keras.tree.map_structure(lambda x: tuple(x.shape), input_data)

    model = model_cls(**init_kwargs)
    _check_config_round_trip(model, init_kwargs)

    shape_built = model_cls(**init_kwargs)
    shape_built.build(shapes)
    _check_weight_counts(
        shape_built, expected_num_trainable_weights, expected_num_non_trainable_weights,
        "after build() from shapes",
    )
    _check_call_after_build(shape_built, input_data, call_kwargs)

    outputs = model(input_data, **call_kwargs)
    _check_outputs(outputs, expected_output_shape, expected_output_dtype, "eager call")
    _check_weight_counts(
        model, expected_num_trainable_weights, expected_num_non_trainable_weights,
        "after an eager call",
    )
    _check_shapes(model.compute_output_shape(shapes), expected_output_shape,
                  "compute_output_shape()")

    symbolic = keras.tree.map_structure(
        lambda x: keras.KerasTensor(x.shape, dtype=keras.backend.standardize_dtype(x.dtype)),
        input_data,
    )
    symbolic_outputs = model_cls(**init_kwargs)(symbolic, **call_kwargs)
    _check_outputs(symbolic_outputs, expected_output_shape, expected_output_dtype,
                   "symbolic call")

    if run_training_check:
        loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        _check_fit_step(model, input_data, labels, loss=loss, jit_compile=jit_compile)

    if run_saving_check:
        _check_save_and_load(model, input_data, atol, expected_cls=model_cls)

    if run_mixed_precision_check:
        mixed = model_cls(**init_kwargs, dtype=MIXED_POLICY)
        _check_mixed_precision(
            mixed, mixed(input_data, **call_kwargs), expected_output_shape,
            expected_mixed_precision_dtype,
        )
    return keras.tree.map_structure(_numpy, outputs)


# Argument checks -----------------------------------------------------------------------------


def _check_common_arguments(cls, init_kwargs, call_kwargs, run_mixed_precision_check):
    if not isinstance(init_kwargs, dict):
        raise TypeError(
            f"`init_kwargs` must be a dict of constructor arguments. "
            f"Received: init_kwargs={init_kwargs!r}"
        )
    if run_mixed_precision_check and "dtype" in init_kwargs:
        raise ValueError(
            "`init_kwargs` may not set `dtype` while the mixed-precision check runs (it builds "
            "its own mixed_bfloat16 instance); pass run_mixed_precision_check=False. "
            f"Received: init_kwargs['dtype']={init_kwargs['dtype']!r}"
        )
    call_kwargs = {} if call_kwargs is None else call_kwargs
    if not isinstance(call_kwargs, dict):
        raise TypeError(
            f"`call_kwargs` must be a dict or None. Received: call_kwargs={call_kwargs!r}"
        )
    parameters = inspect.signature(cls.call).parameters
    accepts_any = any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    valid = [name for name in parameters if name != "self"][1:]  # after the first input
    unknown = sorted(set(call_kwargs) - set(valid))
    if unknown and not accepts_any:
        raise ValueError(
            f"`call_kwargs` has argument(s) {unknown} that {cls.__name__}.call does not accept. "
            f"Valid: {valid}. Received: call_kwargs keys {sorted(call_kwargs)}"
        )
    return dict(init_kwargs), dict(call_kwargs)


def _check_expected_outputs(shape, dtype, mixed_dtype, num_trainable, num_non_trainable, atol):
    if not (_is_shape(shape) or (isinstance(shape, (tuple, list)) and shape
                                 and all(_is_shape(s) for s in shape))):
        raise ValueError(
            "`expected_output_shape` must be a shape tuple of ints/None, e.g. (2, 4, 8), or a "
            f"tuple of such shapes. Received: expected_output_shape={shape!r}"
        )
    for name, value in (("expected_output_dtype", dtype),
                        ("expected_mixed_precision_dtype", mixed_dtype)):
        for item in keras.tree.flatten(value) if value is not None else ():
            try:
                keras.backend.standardize_dtype(item)
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"`{name}` must be a dtype name such as 'float32' (or a structure of them). "
                    f"Received: {name}={value!r}"
                ) from error
    for name, value in (("expected_num_trainable_weights", num_trainable),
                        ("expected_num_non_trainable_weights", num_non_trainable)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 0):
            raise ValueError(f"`{name}` must be None or an int >= 0. Received: {name}={value!r}")
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or atol < 0:
        raise ValueError(f"`atol` must be a number >= 0. Received: atol={atol!r}")


# The checks ----------------------------------------------------------------------------------


def _check_config_round_trip(layer, init_kwargs):
    config = layer.get_config()
    missing = sorted(set(init_kwargs) - set(config))
    _expect(
        not missing,
        f"{type(layer).__name__}.get_config() misses constructor argument(s) {missing}: a "
        "reloaded instance would silently use their defaults.",
    )
    revived = layer.__class__.from_config(config)
    _expect(
        revived.get_config() == config,
        f"{type(layer).__name__}.from_config(get_config()) changed the config:\n"
        f"  before: {config}\n  after:  {revived.get_config()}",
    )
    serialized = keras.saving.serialize_keras_object(layer)
    deserialized = keras.saving.deserialize_keras_object(serialized)
    _expect(
        type(deserialized) is type(layer),
        f"deserialize_keras_object returned a {type(deserialized).__name__}, not a "
        f"{type(layer).__name__}: is the class registered with "
        "@keras.saving.register_keras_serializable(package='tfllm')?",
    )
    _expect(
        deserialized.get_config() == config,
        f"serialize/deserialize changed the config of {type(layer).__name__}:\n"
        f"  before: {config}\n  after:  {deserialized.get_config()}",
    )


def _check_call_after_build(layer, input_data, call_kwargs):
    num_weights = len(layer.weights)
    try:
        layer(input_data, **call_kwargs)
    except ValueError as error:  # Keras refuses new state once a layer is built
        raise AssertionError(
            f"calling a {type(layer).__name__} built from shapes failed; build() must create "
            f"every weight and sublayer. {error}"
        ) from error
    _expect(
        len(layer.weights) == num_weights,
        f"calling a {type(layer).__name__} built from shapes created new weights: {num_weights} "
        f"after build(), {len(layer.weights)} after the call. build() must create every weight.",
    )


def _check_weight_counts(layer, num_trainable, num_non_trainable, when):
    for expected, actual, kind in (
        (num_trainable, layer.trainable_weights, "trainable"),
        (num_non_trainable, layer.non_trainable_weights, "non-trainable"),
    ):
        _expect(
            expected is None or len(actual) == expected,
            f"{type(layer).__name__} has {len(actual)} {kind} weights {when}, expected "
            f"{expected}: {[w.path for w in actual]}",
        )


def _check_outputs(outputs, expected_shape, expected_dtype, where):
    _check_shapes(keras.tree.map_structure(lambda x: tuple(x.shape), outputs),
                  expected_shape, where)
    flat = keras.tree.flatten(outputs)
    dtypes = keras.tree.flatten(expected_dtype)
    if len(dtypes) == 1:
        dtypes = dtypes * len(flat)
    actual = [keras.backend.standardize_dtype(x.dtype) for x in flat]
    _expect(
        actual == [keras.backend.standardize_dtype(d) for d in dtypes],
        f"{where}: output dtypes {actual}, expected {dtypes}",
    )


def _check_shapes(actual, expected, where):
    actual_list = [tuple(actual)] if _is_shape(actual) else [tuple(s) for s in actual]
    expected_list = [tuple(expected)] if _is_shape(expected) else [tuple(s) for s in expected]
    matches = len(actual_list) == len(expected_list) and all(
        len(a) == len(e) and all(x is None or y is None or x == y for x, y in zip(a, e))
        for a, e in zip(actual_list, expected_list)
    )
    _expect(matches, f"{where}: output shape(s) {actual}, expected {expected}")


def _check_fit_step(model, data, labels, loss, jit_compile):
    before = [np.array(w) for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=jit_compile)
    batch_size = len(keras.tree.flatten(data)[0])
    history = model.fit(data, labels, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    loss_value = history.history["loss"][-1]
    _expect(math.isfinite(loss_value), f"fit: the loss is not finite: {loss_value}")
    changed = [not np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    _expect(any(changed), "fit: one step changed no trainable weight (no gradient flows)")


def _check_save_and_load(model, data, atol, expected_cls):
    expected = model(data, training=False)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    _expect(
        isinstance(loaded, expected_cls),
        f"load_model returned a {type(loaded).__name__}, expected {expected_cls.__name__}",
    )
    actual = loaded(data, training=False)
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected)):
        a, e = _numpy(a).astype("float32"), _numpy(e).astype("float32")
        _expect(
            a.shape == e.shape and np.allclose(a, e, atol=atol, rtol=0),
            f"the reloaded model's outputs differ from the original's "
            f"(max abs difference {np.max(np.abs(a - e)) if a.shape == e.shape else 'shape'})",
        )


def _check_mixed_precision(layer, outputs, expected_shape, expected_dtype):
    _check_outputs(outputs, expected_shape, expected_dtype, f"{MIXED_POLICY} call")
    not_float32 = [w.path for w in layer.weights if w.dtype != "float32"]
    _expect(not not_float32, f"{MIXED_POLICY}: weights must stay float32: {not_float32}")
    for output in keras.tree.flatten(outputs):
        values = _numpy(keras.ops.cast(output, "float32"))
        _expect(np.all(np.isfinite(values)), f"{MIXED_POLICY}: outputs are not all finite")


# Small helpers -------------------------------------------------------------------------------


def _shape_arguments(method, layer, input_data, call_kwargs):
    """Arguments for `build` / `compute_output_shape`, the way Keras maps call arguments.

    The first input's shape goes first; every further parameter named `<arg>_shape` gets the
    shape of call argument `<arg>`, and a parameter named like a non-tensor call argument
    (`reverse`) gets its value.
    """
    parameters = [
        p for p in inspect.signature(method).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY, p.KEYWORD_ONLY)
    ]
    args = (tuple(input_data.shape),)
    kwargs = {}
    for parameter in parameters[1:]:
        name = parameter.name
        argument = name[: -len("_shape")] if name.endswith("_shape") else None
        if argument in call_kwargs and _is_array(call_kwargs[argument]):
            kwargs[name] = tuple(call_kwargs[argument].shape)
        elif name in call_kwargs and not _is_array(call_kwargs[name]):
            kwargs[name] = call_kwargs[name]
    return args, kwargs


def _keras_input(value, name):
    return keras.Input(
        batch_shape=tuple(value.shape), dtype=keras.backend.standardize_dtype(value.dtype),
        name=name,
    )


def _is_array(value):
    return isinstance(value, np.ndarray) or keras.ops.is_tensor(value)


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    )


def _numpy(value):
    return keras.ops.convert_to_numpy(value)


def _expect(condition, message):
    if not condition:
        raise AssertionError(message)
