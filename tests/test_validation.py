"""tfllm.validation: what each check accepts, what it returns, and the one message shape."""

import doctest
import math
import re

import numpy as np
import pytest

import tfllm.validation as validation
from tfllm.errors import ConfigError
from tfllm.validation import (
    check_bool,
    check_choice,
    check_finite,
    check_int,
    check_int_at_least,
    check_int_range,
    check_non_negative_float,
    check_non_negative_int,
    check_open_unit,
    check_positive_float,
    check_positive_int,
    check_rate,
)

# (check, extra arguments, accepted values, rejected values, the expected phrase)
CASES = [
    (check_positive_int, (), [1, 7, np.int64(3)], [0, -1, 1.0, True, "2", None],
     "a positive integer"),
    (check_non_negative_int, (), [0, 5, np.int32(0)], [-1, 0.5, False, None], "an integer >= 0"),
    (check_int, (), [-3, 0, 2**40, np.int16(-2)], [1.5, True, "1", None], "an integer"),
    (check_int_at_least, (6,), [6, 100], [5, -1, 6.0, True], "an integer >= 6"),
    (check_int_range, (2, 4), [2, 3, 4], [1, 5, 3.0, True], "an integer in [2, 4]"),
    (check_finite, (), [0, -1.5, np.float32(2)], [math.nan, math.inf, -math.inf, "1", True],
     "a finite number"),
    (check_positive_float, (), [1e-9, 3, np.float64(0.5)], [0, -1.0, math.inf, math.nan, True],
     "a finite number > 0"),
    (check_non_negative_float, (), [0, 0.0, 2.5], [-1e-9, math.inf, math.nan, False],
     "a finite number >= 0"),
    (check_rate, (), [0, 0.0, 0.999], [1, 1.0, -0.1, math.nan, True], "a number in [0, 1)"),
    (check_open_unit, (), [0.5, 0.999], [0, 1, 1.5, math.nan, True], "a number in (0, 1)"),
    (check_bool, (), [True, False], [0, 1, "True", None, np.bool_(True)], "True or False"),
    (check_choice, (("a", None),), ["a", None], ["b", 0], "one of 'a', None"),
]


@pytest.mark.parametrize("check, extra, accepted, rejected, phrase", CASES,
                         ids=[case[0].__name__ for case in CASES])
def test_accepts_and_rejects(check, extra, accepted, rejected, phrase):
    for value in accepted:
        assert check("arg", value, *extra) == value
    for value in rejected:
        message = f"`arg` must be {phrase}. Received: arg={value!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            check("arg", value, *extra)


def test_returns_plain_python_numbers():
    assert type(check_positive_int("n", np.int64(3))) is int
    assert type(check_int("seed", np.int32(-1))) is int
    assert type(check_positive_float("lr", 3)) is float
    assert type(check_rate("dropout", 0)) is float


@pytest.mark.parametrize("error", [TypeError, ConfigError])
def test_raises_the_callers_error_class(error):
    message = "`train.steps` must be a positive integer. Received: train.steps=0"
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        check_positive_int("train.steps", 0, error=error)


def test_docstring_examples_run():
    result = doctest.testmod(validation)
    assert result.attempted > 0 and result.failed == 0
