"""`run_model_test`: the harness of `tfllm.testing.layer_test`, for `keras.Model` subclasses.

The same eight checks as `run_layer_test` (config round trip, build from shapes, eager and
symbolic calls, `compute_output_shape`, one compiled `fit` step, `.keras` save and load,
`mixed_bfloat16`), on a model whose input may be a dict of arrays (`{"token_ids": ...,
"padding_mask": ...}`) and whose fit check trains on labels (by default a language model's own
token ids) with sparse categorical cross-entropy on logits.
"""

import inspect

import keras

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
    to_numpy,
)


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
    init_kwargs, call_kwargs, labels = _check_model_arguments(
        model_cls, init_kwargs, input_data, call_kwargs, labels, run_training_check,
        run_mixed_precision_check,
    )
    check_expected_outputs(
        expected_output_shape, expected_output_dtype, expected_mixed_precision_dtype,
        expected_num_trainable_weights, expected_num_non_trainable_weights, atol,
    )
    weight_counts = (expected_num_trainable_weights, expected_num_non_trainable_weights)
    shapes = keras.tree.map_structure(lambda x: tuple(x.shape), input_data)
    model = model_cls(**init_kwargs)
    check_config_round_trip(model, init_kwargs)

    shape_built = model_cls(**init_kwargs)
    shape_built.build(shapes)
    check_weight_counts(shape_built, *weight_counts, "after build() from shapes")
    check_call_after_build(shape_built, input_data, call_kwargs)

    outputs = model(input_data, **call_kwargs)
    check_outputs(outputs, expected_output_shape, expected_output_dtype, "eager call")
    check_weight_counts(model, *weight_counts, "after an eager call")
    check_shapes(model.compute_output_shape(shapes), expected_output_shape,
                 "compute_output_shape()")

    symbolic = keras.tree.map_structure(
        lambda x: keras.KerasTensor(x.shape, dtype=keras.backend.standardize_dtype(x.dtype)),
        input_data,
    )
    symbolic_outputs = model_cls(**init_kwargs)(symbolic, **call_kwargs)
    check_outputs(symbolic_outputs, expected_output_shape, expected_output_dtype,
                  "symbolic call")

    if run_training_check:
        loss = loss or keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        check_fit_step(model, input_data, labels, loss=loss, jit_compile=jit_compile)
    if run_saving_check:
        check_save_and_load(model, input_data, atol, expected_cls=model_cls)
    if run_mixed_precision_check:
        mixed = model_cls(**init_kwargs, dtype=MIXED_POLICY)
        check_mixed_precision(
            mixed, mixed(input_data, **call_kwargs), expected_output_shape,
            expected_mixed_precision_dtype,
        )
    return keras.tree.map_structure(to_numpy, outputs)


def _check_model_arguments(model_cls, init_kwargs, input_data, call_kwargs, labels,
                           run_training_check, run_mixed_precision_check):
    """`(init_kwargs, call_kwargs, labels)`, once the class, input and call arguments fit a model.

    `labels` defaults to `input_data["token_ids"]` when the fit check runs.
    """
    if not (inspect.isclass(model_cls) and issubclass(model_cls, keras.Model)):
        raise TypeError(
            f"`model_cls` must be a keras.Model subclass. Received: model_cls={model_cls!r}"
        )
    init_kwargs, call_kwargs = check_common_arguments(
        model_cls, init_kwargs, call_kwargs, run_mixed_precision_check
    )
    if isinstance(input_data, dict):
        bad = [key for key, value in input_data.items() if not is_array(value)]
        if not input_data or bad:
            raise TypeError(
                "`input_data` must be an array or a non-empty dict of arrays. "
                f"Received: input_data with non-array entries {bad}"
            )
    elif not is_array(input_data):
        raise TypeError(
            "`input_data` must be an array or a dict of arrays. "
            f"Received: input_data of type {type(input_data).__name__}"
        )
    if any(is_array(value) for value in call_kwargs.values()):
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
    return init_kwargs, call_kwargs, labels
