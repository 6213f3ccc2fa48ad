"""benchmarks/tokenizer_comparison.py: the wall-clock budget callback and, marked slow, a whole run."""

import json
import math

import keras
import numpy as np
import pytest

from tests.benchmarks.script_loader import load_benchmark

comparison = load_benchmark("tokenizer_comparison.py")


class _Tick(keras.callbacks.Callback):
    """A fake clock that advances one second at each batch end (runs before the budget)."""

    def __init__(self):
        super().__init__()
        self.now = 0.0

    def on_train_batch_end(self, batch, logs=None):
        self.now += 1.0


class _RecordRate(keras.callbacks.Callback):
    """Records the optimizer's learning rate as the step is about to read it."""

    def __init__(self):
        super().__init__()
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def _tiny_model(learning_rate):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse", jit_compile=True)
    return model


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 3)).astype("float32")


def test_budget_stops_after_its_seconds_and_follows_the_clock_schedule():
    tick, record = _Tick(), _RecordRate()
    budget = comparison.WallClockBudget(
        4, peak_learning_rate=1e-2, min_learning_rate=1e-3, warmup_fraction=0.25,
        clock=lambda: tick.now,
    )
    x, y = _data()
    _tiny_model(0.5).fit(x, y, batch_size=1, epochs=1, verbose=0, shuffle=False,
                         callbacks=[tick, budget, record])
    # The first step starts the clock; 4 more seconds (one per step) spend the budget.
    assert budget.steps == 5
    assert budget.train_seconds == 4.0
    assert budget.first_step_seconds == 1.0
    # Step k (k >= 1) begins (k - 1) seconds after the clock started.
    expected = [budget.learning_rate_at(0.0)] + [budget.learning_rate_at((k - 1) / 4) for k in range(1, 5)]
    np.testing.assert_allclose(record.rates, expected, rtol=1e-6)
    np.testing.assert_allclose(expected[:3], [1e-3, 1e-3, 1e-2], rtol=1e-6)  # warmup, then peak
    assert budget.learning_rate_at(1.0) == pytest.approx(1e-3)
    assert budget.learning_rate_at(0.625) == pytest.approx(1e-3 + 9e-3 * 0.5)  # half-way down the cosine


def test_budget_rate_reaches_the_compiled_step():
    # The optimizer was compiled with 0.5; the budget's rate of 0 must be what the XLA step uses.
    tick = _Tick()
    budget = comparison.WallClockBudget(3, peak_learning_rate=0.0, min_learning_rate=0.0,
                                        clock=lambda: tick.now)
    model = _tiny_model(0.5)
    before = [w.copy() for w in model.get_weights()]
    x, y = _data()
    model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[tick, budget])
    assert budget.steps == 4
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


@pytest.mark.parametrize("arguments", [
    dict(seconds=0, peak_learning_rate=1e-3, min_learning_rate=0.0),
    dict(seconds=1, peak_learning_rate=1e-3, min_learning_rate=0.0, warmup_fraction=1.0),
    dict(seconds=1, peak_learning_rate=1e-3, min_learning_rate=1e-2),
])
def test_budget_refuses_bad_arguments(arguments):
    seconds = arguments.pop("seconds")
    with pytest.raises(ValueError, match="Received"):
        comparison.WallClockBudget(seconds, **arguments)


def test_plan_gives_subword_kinds_each_vocabulary_size():
    assert comparison._plan(["char", "wordpiece", "byte"], [1000, 4000]) == [
        ("char", None), ("wordpiece", 1000), ("wordpiece", 4000), ("byte", None)]


@pytest.mark.parametrize("argv", [["--kinds", "char,nope"], ["--vocab-sizes", "0"], ["--seconds", "-1"],
                                  ["--warmup-fraction", "1"]])
def test_bad_command_lines_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as raised:
        comparison.parse_args(argv)
    assert raised.value.code == 2
    assert "Received" in capsys.readouterr().err


@pytest.mark.slow
def test_a_whole_tiny_comparison(tmp_path, capsys):
    output = tmp_path / "rows.json"
    code = comparison.main(["--preset", "smoke", "--seconds", "2", "--kinds", "char,sentencepiece-bpe",
                            "--vocab-sizes", "500", "--train-characters", "200000", "--xla", "off",
                            "--json", str(output)])
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("$ python benchmarks/tokenizer_comparison.py --preset smoke")
    result = json.loads(output.read_text())
    assert [row["kind"] for row in result["rows"]] == ["char", "sentencepiece-bpe"]
    for row in result["rows"]:
        assert f"| `{row['kind']}` | {row['vocabulary_size']:,} |" in printed
        assert row["steps"] >= 2 and row["train_seconds"] >= 2.0
        assert row["tokens_seen"] == row["steps"] * 32 * 32
        assert row["bits_per_character"] == pytest.approx(
            row["validation_loss_per_token"] / math.log(2) / row["characters_per_token"])
        assert row["evaluated_tokens"] == row["validation_tokens"] - 1  # every label scored once
        assert row["final_learning_rate"] < 2e-3  # close to the smoke preset's floor of 1e-3
    assert result["rows"][1]["characters_per_token"] > 1.5
