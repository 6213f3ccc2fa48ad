"""Argument checks for the whole package: one message shape, the caller's error class.

Every check returns the value (converted where that is safe: an int for a float argument) or
raises `error` (default `ValueError`) with a message that names the argument, says what was
expected and ends with `Received: name=value`. Layers pass nothing and raise `ValueError`, as
Keras does; the config passes `error=ConfigError` and a dotted name (`train.learning_rate`), so
the CLI prints the same message as one line.

Plain Python: importable before TensorFlow, like `tfllm.config` and `tfllm.errors`.

Example:

>>> from tfllm.validation import check_positive_int
>>> check_positive_int("num_layers", 4)
4
>>> check_positive_int("num_layers", 0)
Traceback (most recent call last):
...
ValueError: `num_layers` must be a positive integer. Received: num_layers=0
"""

import math
import numbers


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _fail(error, name, expected, value):
    raise error(f"`{name}` must be {expected}. Received: {name}={value!r}")


def check_positive_int(name, value, error=ValueError):
    """`value` as an int if it is an integer >= 1."""
    if not _is_int(value) or value < 1:
        _fail(error, name, "a positive integer", value)
    return int(value)


def check_non_negative_int(name, value, error=ValueError):
    """`value` as an int if it is an integer >= 0."""
    if not _is_int(value) or value < 0:
        _fail(error, name, "an integer >= 0", value)
    return int(value)


def check_int(name, value, error=ValueError):
    """`value` as an int if it is an integer (a seed: any sign)."""
    if not _is_int(value):
        _fail(error, name, "an integer", value)
    return int(value)


def check_int_at_least(name, value, minimum, error=ValueError):
    """`value` as an int if it is an integer >= `minimum` (a vocabulary size with room for the
    special tokens)."""
    if not _is_int(value) or value < minimum:
        _fail(error, name, f"an integer >= {minimum}", value)
    return int(value)


def check_int_range(name, value, low, high, error=ValueError):
    """`value` as an int if it is an integer with `low <= value <= high`."""
    if not _is_int(value) or not low <= value <= high:
        _fail(error, name, f"an integer in [{low}, {high}]", value)
    return int(value)


def check_finite(name, value, error=ValueError):
    """`value` as a float if it is a finite number (not NaN, not infinite)."""
    if not _is_real(value) or not math.isfinite(value):
        _fail(error, name, "a finite number", value)
    return float(value)


def check_positive_float(name, value, error=ValueError):
    """`value` as a float if it is a finite number > 0."""
    if not _is_real(value) or not math.isfinite(value) or not value > 0:
        _fail(error, name, "a finite number > 0", value)
    return float(value)


def check_non_negative_float(name, value, error=ValueError):
    """`value` as a float if it is a finite number >= 0."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        _fail(error, name, "a finite number >= 0", value)
    return float(value)


def check_rate(name, value, error=ValueError):
    """`value` as a float if it is a probability in [0, 1) (a dropout rate, a smoothing eps)."""
    if not _is_real(value) or not 0 <= value < 1:
        _fail(error, name, "a number in [0, 1)", value)
    return float(value)


def check_open_unit(name, value, error=ValueError):
    """`value` as a float if it is in (0, 1) (Adam's betas)."""
    if not _is_real(value) or not 0 < value < 1:
        _fail(error, name, "a number in (0, 1)", value)
    return float(value)


def check_bool(name, value, error=ValueError):
    """`value` if it is True or False."""
    if not isinstance(value, bool):
        _fail(error, name, "True or False", value)
    return value


def check_choice(name, value, choices, error=ValueError):
    """`value` if it is one of `choices` (the message lists them)."""
    if value not in choices:
        _fail(error, name, "one of " + ", ".join(repr(choice) for choice in choices), value)
    return value


def check_heads_divide_width(hidden_dim, num_heads, error=ValueError):
    """`hidden_dim // num_heads`, the features per attention head, if `num_heads` divides it."""
    if hidden_dim % num_heads:
        raise error(
            "`hidden_dim` must be divisible by `num_heads` (each head gets "
            f"hidden_dim // num_heads features). Received: hidden_dim={hidden_dim}, "
            f"num_heads={num_heads}"
        )
    return hidden_dim // num_heads
