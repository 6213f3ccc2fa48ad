"""The checks `run_layer_test` and `run_model_test` are made of, and their argument checks.

The argument checks (`check_common_arguments`, `check_expected_outputs`) raise `TypeError` /
`ValueError` naming the harness argument; every other `check_*` raises `AssertionError` saying
what was expected and what came out. Shared by `tfllm.testing.layer_test` and
`tfllm.testing.model_test`; tests call those two.
"""

import inspect
import math
import os
import tempfile

import keras
import numpy as np

MIXED_POLICY = "mixed_bfloat16"


# Argument checks -----------------------------------------------------------------------------


def check_common_arguments(cls, init_kwargs, call_kwargs, run_mixed_precision_check):
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


def check_expected_outputs(shape, dtype, mixed_dtype, num_trainable, num_non_trainable, atol):
    if not (is_shape(shape) or (isinstance(shape, (tuple, list)) and shape
                                and all(is_shape(s) for s in shape))):
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


def check_config_round_trip(layer, init_kwargs):
    config = layer.get_config()
    missing = sorted(set(init_kwargs) - set(config))
    expect(
        not missing,
        f"{type(layer).__name__}.get_config() misses constructor argument(s) {missing}: a "
        "reloaded instance would silently use their defaults.",
    )
    revived = layer.__class__.from_config(config)
    expect(
        revived.get_config() == config,
        f"{type(layer).__name__}.from_config(get_config()) changed the config:\n"
        f"  before: {config}\n  after:  {revived.get_config()}",
    )
    serialized = keras.saving.serialize_keras_object(layer)
    deserialized = keras.saving.deserialize_keras_object(serialized)
    expect(
        type(deserialized) is type(layer),
        f"deserialize_keras_object returned a {type(deserialized).__name__}, not a "
        f"{type(layer).__name__}: is the class registered with "
        "@keras.saving.register_keras_serializable(package='tfllm')?",
    )
    expect(
        deserialized.get_config() == config,
        f"serialize/deserialize changed the config of {type(layer).__name__}:\n"
        f"  before: {config}\n  after:  {deserialized.get_config()}",
    )


def check_call_after_build(layer, input_data, call_kwargs):
    num_weights = len(layer.weights)
    try:
        layer(input_data, **call_kwargs)
    except ValueError as error:  # Keras refuses new state once a layer is built
        raise AssertionError(
            f"calling a {type(layer).__name__} built from shapes failed; build() must create "
            f"every weight and sublayer. {error}"
        ) from error
    expect(
        len(layer.weights) == num_weights,
        f"calling a {type(layer).__name__} built from shapes created new weights: {num_weights} "
        f"after build(), {len(layer.weights)} after the call. build() must create every weight.",
    )


def check_weight_counts(layer, num_trainable, num_non_trainable, when):
    for expected, actual, kind in (
        (num_trainable, layer.trainable_weights, "trainable"),
        (num_non_trainable, layer.non_trainable_weights, "non-trainable"),
    ):
        expect(
            expected is None or len(actual) == expected,
            f"{type(layer).__name__} has {len(actual)} {kind} weights {when}, expected "
            f"{expected}: {[w.path for w in actual]}",
        )


def check_outputs(outputs, expected_shape, expected_dtype, where):
    check_shapes(keras.tree.map_structure(lambda x: tuple(x.shape), outputs),
                 expected_shape, where)
    flat = keras.tree.flatten(outputs)
    dtypes = keras.tree.flatten(expected_dtype)
    if len(dtypes) == 1:
        dtypes = dtypes * len(flat)
    actual = [keras.backend.standardize_dtype(x.dtype) for x in flat]
    expect(
        actual == [keras.backend.standardize_dtype(d) for d in dtypes],
        f"{where}: output dtypes {actual}, expected {dtypes}",
    )


def check_shapes(actual, expected, where):
    actual_list = [tuple(actual)] if is_shape(actual) else [tuple(s) for s in actual]
    expected_list = [tuple(expected)] if is_shape(expected) else [tuple(s) for s in expected]
    matches = len(actual_list) == len(expected_list) and all(
        len(a) == len(e) and all(x is None or y is None or x == y for x, y in zip(a, e))
        for a, e in zip(actual_list, expected_list)
    )
    expect(matches, f"{where}: output shape(s) {actual}, expected {expected}")


def check_fit_step(model, data, labels, loss, jit_compile):
    before = [np.array(w) for w in model.trainable_weights]
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss, jit_compile=jit_compile)
    batch_size = len(keras.tree.flatten(data)[0])
    history = model.fit(data, labels, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)
    loss_value = history.history["loss"][-1]
    expect(math.isfinite(loss_value), f"fit: the loss is not finite: {loss_value}")
    changed = [not np.array_equal(b, np.array(w)) for b, w in zip(before, model.trainable_weights)]
    expect(any(changed), "fit: one step changed no trainable weight (no gradient flows)")


def check_save_and_load(model, data, atol, expected_cls):
    expected = model(data, training=False)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    expect(
        isinstance(loaded, expected_cls),
        f"load_model returned a {type(loaded).__name__}, expected {expected_cls.__name__}",
    )
    actual = loaded(data, training=False)
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected)):
        a, e = to_numpy(a).astype("float32"), to_numpy(e).astype("float32")
        expect(
            a.shape == e.shape and np.allclose(a, e, atol=atol, rtol=0),
            f"the reloaded model's outputs differ from the original's "
            f"(max abs difference {np.max(np.abs(a - e)) if a.shape == e.shape else 'shape'})",
        )


def check_mixed_precision(layer, outputs, expected_shape, expected_dtype):
    check_outputs(outputs, expected_shape, expected_dtype, f"{MIXED_POLICY} call")
    not_float32 = [w.path for w in layer.weights if w.dtype != "float32"]
    expect(not not_float32, f"{MIXED_POLICY}: weights must stay float32: {not_float32}")
    for output in keras.tree.flatten(outputs):
        values = to_numpy(keras.ops.cast(output, "float32"))
        expect(np.all(np.isfinite(values)), f"{MIXED_POLICY}: outputs are not all finite")


# Small helpers -------------------------------------------------------------------------------


def shape_arguments(method, layer, input_data, call_kwargs):
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
        if argument in call_kwargs and is_array(call_kwargs[argument]):
            kwargs[name] = tuple(call_kwargs[argument].shape)
        elif name in call_kwargs and not is_array(call_kwargs[name]):
            kwargs[name] = call_kwargs[name]
    return args, kwargs


def keras_input(value, name):
    return keras.Input(
        batch_shape=tuple(value.shape), dtype=keras.backend.standardize_dtype(value.dtype),
        name=name,
    )


def is_array(value):
    return isinstance(value, np.ndarray) or keras.ops.is_tensor(value)


def is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        v is None or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    )


def to_numpy(value):
    return keras.ops.convert_to_numpy(value)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)
