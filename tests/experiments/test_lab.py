"""The objectives lab: every registered experiment's smoke run writes a report whose tables
hold finite numbers and whose plots exist; the report format, token budgets and the refusal to
write into a folder the lab did not make."""

import doctest
import math
import re

import pytest

import tfllm.experiments.lab as lab
from tfllm.errors import ConfigError, OutputPathError
from tfllm.experiments.lab import (Report, experiment_names, get_experiment, run_experiment,
                                   steps_for_tokens)
from tfllm.experiments.lab import experiment, lab_plots, lab_run, report, seed_noise


@pytest.mark.parametrize("module", [experiment, lab_plots, lab_run, report, seed_noise])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


# Every experiment's smoke run, the two word-level generation experiments included (about 45 s
# each on 2 idle cores: two word models traced and trained, then a decoder compiled per arm).
@pytest.mark.parametrize("name", experiment_names())
def test_every_experiment_smoke_run_writes_its_report(name, tmp_path):
    result, path = run_experiment(name, smoke=True, output_root=tmp_path,
                                  print_fn=lambda *_: None)
    text = path.read_text()
    assert path.parent.name == f"{name}-smoke" and text.startswith(f"# {result.title}")
    assert "Smoke run" in text and f"tfllm experiment run {name} --smoke" in text
    assert result.tables and result.reading and result.plots
    numbers = result.numbers()
    assert numbers and all(math.isfinite(value) for value in numbers)
    for plot in result.plots:
        assert (path.parent / plot.filename).stat().st_size > 1000
        assert f"]({plot.filename})" in text
    for key in ("machine", "wall time", "seeds"):
        assert key in result.setup
    assert result.references and not any("not finite" in line for line in result.reading)
    # Every arm logged its hyperparameters for TensorBoard's HParams tab.
    assert list((path.parent / "tensorboard").iterdir())
    if name != "architectures":
        return
    # Running it again reuses every arm (nothing retrains) and rewrites the same tables
    # (checked on one experiment: the code path is the lab's, not the experiment's).
    lines = []
    again, _ = run_experiment(name, smoke=True, output_root=tmp_path, print_fn=lines.append)
    assert all("reused" in line for line in lines if line.startswith("  "))
    assert [t.rows for t in again.tables if "sample" not in t.headers] == [
        t.rows for t in result.tables if "sample" not in t.headers]


def test_report_markdown_and_table_checks():
    document = Report(name="x", title="T", question="Q?", command="tfllm experiment run x")
    document.add_table("Scores", ["arm", "loss (nats)", "tokens"], [["a", 0.123456, 12345]])
    document.add_plot("curve.png", "the curve")
    markdown = document.markdown()
    assert "| a | 0.1235 | 12,345 |" in markdown and "![the curve](curve.png)" in markdown
    assert re.search(r"```\ntfllm experiment run x\n```", markdown)
    with pytest.raises(ValueError, match="needs 3 cells"):
        document.add_table("Bad", ["a", "b", "c"], [[1, 2]])


def test_token_budgets_round_up_to_whole_intervals():
    assert steps_for_tokens(4096 * 100, 32, 128, 50) == 100
    assert steps_for_tokens(4096 * 101, 32, 128, 50) == 150
    with pytest.raises(ValueError, match="tokens"):
        steps_for_tokens(0, 32, 128, 50)


def test_unknown_names_and_foreign_folders_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="Valid experiments: .*label-smoothing"):
        get_experiment("nope")
    foreign = tmp_path / "label-smoothing-smoke"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="was not written by the lab"):
        run_experiment("label-smoothing", smoke=True, output_root=tmp_path)
    assert (foreign / "notes.txt").read_text() == "mine"
    assert lab.LabRun  # the public names stay importable from the package


def test_an_arm_saved_before_a_new_config_field_is_still_the_same_arm():
    from tfllm.config import apply_overrides
    from tfllm.presets import get_preset

    config = get_preset("smoke")
    saved = config.to_dict()
    del saved["train"]["optimizer"]  # as an arm.json written before the field existed
    assert lab_run._same_config(saved, config)
    assert not lab_run._same_config(saved, apply_overrides(config, ["train.optimizer=muon"]))
    assert not lab_run._same_config({"train": {"steps": "many"}}, config)
