"""benchmarks/ablation.py: two arms of a tiny GPT train through the script's main path and give
a finite table; a rerun reuses them; the arms set what the docstring says; the suggestion
keeps only the options that beat the seed spread."""

import json
import math

import pytest

from tests.benchmarks.script_loader import load_benchmark

benchmark = load_benchmark("ablation.py")

# 1 layer, 4 heads, width 16, context 16, batch 4 (`TINY`); 4 steps in two chunks, no XLA.
TINY = ["--tiny", "--steps", "4", "--jit", "off"]


def test_two_arms_train_into_a_finite_table_and_a_rerun_skips_them(tmp_path, capsys,
                                                                     monkeypatch):
    results, summary_path = tmp_path / "runs" / "ablation.jsonl", tmp_path / "summary.json"
    arguments = TINY + ["--arms", "rope", "--results", str(results), "--json", str(summary_path)]
    summary = benchmark.main(arguments)
    rows = {row["arm"]: row for row in summary["rows"]}
    assert list(rows) == ["baseline", "rope"]
    assert summary["trained"] == [("baseline", 0), ("rope", 0)]
    for row in rows.values():
        assert row["seeds"] == 1 and row["spread"] == 0.0
        # A character model that has seen 64 windows: near uniform over the ~85 characters.
        assert 3.0 < row["validation_loss"] < 5.0
        assert row["tokens_per_second"] > 0 and math.isfinite(row["speed_ratio"])
    assert rows["baseline"]["delta"] == 0.0 and rows["baseline"]["speed_ratio"] == 1.0
    assert rows["rope"]["delta"] == pytest.approx(
        rows["rope"]["validation_loss"] - rows["baseline"]["validation_loss"])
    # Rotary positions replace the (T, D) table: 16 x 16 weights fewer.
    assert rows["baseline"]["parameters"] - rows["rope"]["parameters"] == 16 * 16
    table = capsys.readouterr().out
    assert "| baseline | 1 |" in table and "| rope | 1 |" in table
    assert "4 steps x 4 x 16 = 256 tokens" in table
    assert [json.loads(line)["arm"] for line in results.read_text().splitlines()] == [
        "baseline", "rope"]
    assert json.loads(summary_path.read_text())["rows"][1]["arm"] == "rope"

    def no_training(*args, **kwargs):
        raise AssertionError("an arm that is done was trained again")

    monkeypatch.setattr(benchmark, "train_arm", no_training)
    capsys.readouterr()
    again = benchmark.main(arguments)
    assert again["trained"] == []
    assert "0 arm-seed run(s) trained now" in capsys.readouterr().out
    assert again["rows"] == summary["rows"]
    assert len(results.read_text().splitlines()) == 2


def test_a_different_config_or_seed_is_not_taken_for_a_done_one():
    def key(*extra):
        args = benchmark.parse_arguments(TINY + ["--arms", "rope", *extra])
        arm, config, _ = args.plan[1]
        return benchmark.fingerprint(arm, args.seeds[0], config, args.base, args)

    assert key() == key()
    assert len({key(), key("--steps", "6"), key("--seeds", "1"), key("--jit", "on")}) == 4


def test_each_arm_sets_its_option_at_the_shapes_size():
    args = benchmark.parse_arguments(["--shape", "baby", "--combo", "rope,swiglu"])
    plan = {arm: overrides for arm, _, overrides in args.plan}
    assert plan["swiglu"] == ["model.feed_forward=swiglu", "model.intermediate_dim=344"]
    assert plan["gqa-half"] == ["model.num_key_value_heads=2"]
    assert plan["gqa-quarter"] == ["model.num_key_value_heads=1"]
    assert plan["untied"] == ["model.tie_embeddings=false"]
    assert plan["muon"] == ["train.optimizer=muon"]
    assert plan["rope+swiglu"] == ["model.position_encoding=rope", *plan["swiglu"]]
    assert list(plan)[0] == "baseline" and "keras-hub" in plan
    configs = {arm: config for arm, config, _ in args.plan}
    assert configs["swiglu"].model.config["intermediate_dim"] == 344
    assert configs["muon"].train.optimizer == "muon"
    assert configs["baseline"].train.steps == 2000 and configs["baseline"].train.jit_compile == (
        "true")

    make_run = benchmark.parse_arguments(["--shape", "make-run", "--steps", "400"])
    assert "untied" not in [arm for arm, _, _ in make_run.plan]
    assert any(note.startswith("untied") for note in make_run.notes)
    # The preset's warmup (200 of 2400 steps) shrinks with the run.
    assert (make_run.base.train.steps, make_run.base.train.warmup_steps) == (400, 33)
    assert make_run.tokens == 400 * 32 * 128 and make_run.chunk == 200


def test_arguments_that_cannot_run_are_refused(capsys):
    for arguments in (["--arms", "rope,nope"], ["--combo", "gqa-half,gqa-quarter"],
                      ["--steps", "1"], ["--steps", "30", "--chunk", "20"],
                      ["--seeds", "1,x"], ["--combo", "rope,keras-hub"]):
        with pytest.raises(SystemExit):
            benchmark.parse_arguments(arguments)
    assert "both set model.num_key_value_heads" in capsys.readouterr().err


def test_the_suggestion_keeps_options_that_beat_the_seed_spread():
    def row(arm, delta, spread, overrides):
        return {"arm": arm, "delta": delta, "spread": spread, "overrides": overrides}

    rows = [row("baseline", 0.0, 0.01, []),
            row("rope", -0.05, 0.02, ["model.position_encoding=rope"]),
            row("qk_norm", -0.008, 0.005, ["model.qk_norm=true"]),  # within the baseline's
            row("gqa-quarter", -0.03, 0.0, ["model.num_key_value_heads=1"]),
            row("gqa-half", -0.02, 0.0, ["model.num_key_value_heads=2"]),  # same key: worse
            row("muon", 0.02, 0.0, ["train.optimizer=muon"]),
            row("keras-hub", -0.1, 0.0, [])]  # a reference, not an option
    assert benchmark.suggest(rows) == ["rope", "gqa-quarter"]
