"""The character-level experiments (`architectures`, `likelihood-vs-squared-error`,
`label-smoothing`): their full-run configs hold the budgets the module docstrings state; the
curve helpers, the noise comparison and the readings. (Their smoke runs are in
tests/experiments/test_lab.py, with every experiment.)"""

import dataclasses
import doctest
import math
from types import SimpleNamespace

import numpy as np
import pytest

from tfllm.experiments.lab import architectures, label_smoothing, squared_error
from tfllm.experiments.lab.architectures import crossing_time, interpolate, validation_bits
from tfllm.experiments.lab.seed_noise import compare_to_noise


@pytest.mark.parametrize("module", [architectures, squared_error])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_architecture_arms_are_the_two_presets_on_equal_terms():
    gpt, lstm = (architectures._config(False, label) for label in ("gpt", "lstm"))
    assert (gpt.model.class_name, lstm.model.class_name) == ("GPT", "LSTMLanguageModel")
    assert gpt.train == lstm.train and gpt.data == lstm.data
    assert gpt.train.steps * gpt.train.batch_size * gpt.model.config["sequence_length"] == (
        architectures.TOKENS)
    assert (gpt.train.steps, gpt.train.warmup_steps) == (1200, 100)
    second = architectures._config(False, "lstm", 1338)
    assert second.train == dataclasses.replace(lstm.train, seed=1338)
    smoke = architectures._config(True, "lstm")
    assert smoke.model.class_name == "LSTMLanguageModel" and smoke.train.steps == 10
    assert smoke.train.sample_length == 0 and smoke.train.warmup_steps == 2


def test_squared_error_arms_share_one_half_budget_recipe():
    configs = [squared_error._config(False, overrides, seed)
               for _, overrides, seed in squared_error.ARMS]
    tokens = {c.train.steps * c.train.batch_size * c.model.config["sequence_length"]
              for c in configs}
    assert tokens == {squared_error.TOKENS} and configs[0].train.steps == 1200
    assert {c.train.warmup_steps for c in configs} == {100}
    rescaled = configs[-1].train
    assert (rescaled.loss, rescaled.square_loss_scale, rescaled.square_loss_target) == (
        "square_loss", 1.0, 15.0)
    assert [c.train.seed for c in configs[:2]] == [1337, 1338]
    # Apart from the loss and the seed, every arm trains with the same recipe.
    plain = {dataclasses.replace(c.train, loss="cross_entropy", square_loss_scale=1.0,
                                 square_loss_target=1.0, seed=0) for c in configs}
    assert len(plain) == 1


def test_wide_temperature_grid_reaches_both_square_loss_scales():
    grid = squared_error.WIDE_TEMPERATURES
    assert grid[0] <= 0.01 and grid[-1] >= 100
    assert max(b / a for a, b in zip(grid, grid[1:])) < 1.09


def test_validation_bits_prefers_the_logged_figure():
    curve = [{"tokens": 100, "seconds": 1.0, "val_loss": math.log(2) * 3.0},
             {"tokens": 200, "seconds": None, "val_loss": 9.0, "val_bits_per_character": 2.5}]
    assert validation_bits(curve) == [(100, 1.0, pytest.approx(3.0)), (200, None, 2.5)]


def test_interpolation_and_crossing_time():
    points = [(10.0, 4.0), (20.0, 3.0), (40.0, 2.0)]
    assert interpolate(points, 30.0) == pytest.approx(2.5)
    assert interpolate(points, 10.0) == 4.0 and interpolate(points, 40.0) == 2.0
    assert interpolate(points, 5.0) is None and interpolate(points, 41.0) is None
    assert interpolate([(10.0, 4.0)], 10.0) == 4.0 and interpolate([], 1.0) is None
    assert crossing_time(points, 2.5) == pytest.approx(30.0)
    assert crossing_time(points, 5.0) == 10.0  # already below at the first pass
    assert crossing_time(points, 1.0) is None  # never reached
    # A curve that goes up again: the first crossing counts.
    assert crossing_time([(0.0, 3.0), (10.0, 1.0), (20.0, 2.0)], 2.0) == pytest.approx(5.0)


def test_gaps_are_read_against_the_seed_noise():
    assert compare_to_noise(0.001, 0.002) == "matches"
    assert compare_to_noise(-0.002, 0.002) == "matches"
    assert compare_to_noise(0.003, 0.002) == "better"
    assert compare_to_noise(-0.003, 0.002) == "worse"
    assert compare_to_noise(0.0001, None) == "not judged"


def _square_arm(label, seed, accuracy, nll, temperature=1.0, edge=False):
    overrides = next(o for name, o, _ in squared_error.ARMS if name == label)
    train = squared_error._config(False, overrides, seed).train
    return label, dict(
        arm=SimpleNamespace(config=SimpleNamespace(train=train)),
        objective=squared_error.describe_objective(train), seed=seed,
        scores=dict(accuracy=accuracy, nll=nll + 0.1, ece=0.05),
        scaled=dict(nll=nll, ece=0.02, temperature=temperature, at_grid_edge=edge))


def test_squared_error_reading_follows_its_numbers():
    results = dict([
        _square_arm("cross-entropy", 1337, 0.550, 1.10),
        _square_arm("cross-entropy-seed1338", 1338, 0.546, 1.11),
        _square_arm("brier", 1337, 0.548, 1.20),
        _square_arm("square-loss", 1337, 0.400, 2.00, 0.01, True),
        _square_arm("square-loss-k1-m15", 1337, 0.530, 1.40, 2.0),
    ])
    reading = squared_error._reading(results)
    text = "\n".join(reading)
    assert "differed by 0.40 points of accuracy" in text
    assert "-0.20 points against cross-entropy, within the seed noise" in text  # brier
    assert "at the edge of the grid" in text
    verdict = next(line for line in reading if line.startswith("Does square loss"))
    assert "square-loss-k1-m15, is -2.00 points" in verdict and "less accurate" in verdict
    assert "0.3000 nats/char (27.3%) higher" in verdict
    assert any(line.startswith("Rescaling moved accuracy from 0.4000") for line in reading)


def _timed_result(tokens, train_seconds, bits, curve):
    return dict(arm=SimpleNamespace(tokens=tokens, train_seconds=train_seconds),
                parameters=1000, scores=dict(bits_per_character=bits), curve=curve)


def test_architectures_reading_compares_at_equal_tokens_and_time():
    results = {
        "gpt": {1337: _timed_result(1000, 100.0, 1.60, [(500, 50.0, 2.0), (1000, 100.0, 1.7)])},
        "lstm": {1337: _timed_result(1000, 250.0, 1.50, [(500, 80.0, 2.2), (1000, 160.0, 1.9),
                                                         (1500, 240.0, 1.6)])},
    }
    reading = architectures._reading(results)
    assert "LSTM reached the lower held-out bits per character: 1.5000 against 1.6000" in (
        reading[1])
    assert "not compared with seed noise" in reading[2]
    assert "GPT processed" not in reading[3] and "2.50x slower per token" in reading[3]
    # At 100 s the LSTM's curve is 2.2 + (1.9 - 2.2) * 20 / 80 = 2.125; it reaches 1.7 at 213 s.
    assert reading[4].startswith("Seed 1337: At equal wall time")
    assert "2.1250 for LSTM" in reading[4] and "GPT was lower by 0.4250" in reading[4]
    assert "after 213 s (2.13x the time)" in reading[4]


def test_architectures_gap_is_read_against_the_seed_spread():
    def arms(*bits):
        return {seed: _timed_result(1000, 100.0, b, [(1000, 100.0, b)])
                for seed, b in zip((1337, 1338), bits)}

    close = architectures._reading({"gpt": arms(2.00, 2.02), "lstm": arms(2.005, 2.035)})
    assert "2.0100 against 2.0200 (means over 2 seeds)" in close[1]
    assert "within the seeds' own spread (±0.0100 for GPT, ±0.0150 for LSTM)" in close[2]
    assert sum(line.startswith("Seed ") for line in close) == 2
    apart = architectures._reading({"gpt": arms(2.00, 2.02), "lstm": arms(2.10, 2.12)})
    assert "larger than the seeds' spread" in apart[2] and "GPT learns more per token" in apart[2]
    assert not any("shared the cores unevenly" in line for line in apart)
    uneven = {"gpt": arms(2.00, 2.02), "lstm": arms(2.10, 2.12)}
    uneven["lstm"][1338]["arm"] = SimpleNamespace(tokens=1000, train_seconds=200.0)
    line = architectures._reading(uneven)[4]
    assert line.startswith("GPT's speed over LSTM's was 1.00x at seed 1337 and 2.00x at seed 1338")


def _smoothed(nll, ece, overconfidence):
    return dict(nll=nll, ece=ece, overconfidence=overconfidence, temperature=1.1,
                ece_at_temperature=0.004, nll_at_temperature=nll - 0.001)


def test_label_smoothing_reading_weighs_seeds_and_says_when_it_contradicts_the_claim():
    seeds, epsilons = (1, 2), (0.0, 0.2)
    scores = {(0.0, 1): _smoothed(1.500, 0.010, 0.005), (0.0, 2): _smoothed(1.502, 0.012, 0.007),
              (0.2, 1): _smoothed(1.540, 0.080, -0.070), (0.2, 2): _smoothed(1.544, 0.082, -0.072)}
    reading = label_smoothing._reading(scores, seeds, epsilons)
    assert reading[0].endswith("nats/char (eps=0.2): it worsened, as expected.")
    assert "no smoothing was best calibrated here" in reading[1]
    assert reading[2].startswith("This contradicts the usual claim")
    assert "+0.0060 at eps=0.0, -0.0710 at eps=0.2" in reading[2]
    assert "became underconfident" in reading[2]
    assert "moved its NLL from 1.5010 to 1.5000 and its ECE from 0.0110 to 0.0040" in reading[3]
    assert "neither smoothing nor one temperature made it better calibrated" in reading[3]
    assert "(eps=0.2, T=1.100) took its ECE from 0.0810 to 0.0040, at or below" in reading[3]
    assert "at most ±0.0020 nats/char and the ECE by at most ±0.0010" in reading[4]
    # A change within the seeds' spread is not called a change.
    scores[0.2, 1]["nll"], scores[0.2, 2]["nll"] = 1.499, 1.503
    assert "not shown to change" in label_smoothing._reading(scores, seeds, epsilons)[0]


def test_overconfidence_is_mean_confidence_minus_accuracy():
    bins = SimpleNamespace(counts=np.array([1.0, 3.0, 0.0]), confidence=np.array([0.2, 0.8, 0.0]),
                           accuracy=np.array([0.0, 0.6, 0.0]))
    assert label_smoothing.overconfidence(bins) == pytest.approx((0.2 + 3 * 0.2) / 4)
    assert label_smoothing.overconfidence(SimpleNamespace(counts=np.zeros(2))) == 0.0
