"""An encoder-decoder model through the real `tfllm` command: train the smoke restoration
preset, transform an input, evaluate with BLEU and the restoration scores, and one-line errors
for what it cannot take (a prompt, an empty or over-long input, a serving export)."""

import json

import pytest
from cli_process import assert_one_line_error, run_cli_cases


@pytest.mark.multiprocess  # one process, several commands: about 30 s on 2 cores
def test_train_generate_evaluate_and_refusals(tmp_path, corpus):
    model = tmp_path / "restore"
    lines = tmp_path / "lines.txt"
    lines.write_text("to be or not to be\n\nthat is the question\n", encoding="utf-8")
    train = ["train", "--preset", "smoke-restore-gru", "--quiet", "--corpus", corpus,
             "--run-dir", tmp_path / "run", "--output", model,
             "--set", "train.steps=10", "--set", "train.eval_interval=10",
             "--set", "train.sample_length=0"]  # the sample: tests/tasks/test_seq2seq_tasks.py
    results = run_cli_cases({
        "train": train,
        "generate": ["generate", "--model", model, "--input", "to be or not to be"],
        "file": ["generate", "--model", model, "--input-file", lines],
        "beams": ["generate", "--model", model, "--input", "to be", "--num-beams", "2",
                  "--num-return-sequences", "2", "--json"],
        "evaluate": ["evaluate", "--model", model, "--json"],
        "prompt": ["generate", "--model", model, "--prompt", "ROMEO:"],
        "empty": ["generate", "--model", model, "--input", " "],
        "long": ["generate", "--model", model, "--input", "to be " * 20],
        "export": ["export", "--model", model, "--output", tmp_path / "serving"],
    })
    assert results["train"].code == 0, results["train"].stderr
    assert "BLEU" in results["train"].stdout and "casing accuracy" in results["train"].stdout
    assert results["generate"].code == 0, results["generate"].stderr
    assert not results["generate"].stdout.startswith("to be or not to be")  # no echoed prompt
    assert results["file"].code == 0, results["file"].stderr
    assert len(results["file"].stdout.splitlines()) == 2  # one output line per input line
    beams = [json.loads(line) for line in results["beams"].stdout.splitlines()]
    assert len(beams) == 2 and beams[0]["score"] >= beams[1]["score"]
    evaluation = json.loads(results["evaluate"].stdout)
    assert evaluation["pairs"] > 0 and 0 <= evaluation["bleu"] <= 100
    assert {"casing_accuracy", "punctuation_f1", "f1_comma", "accuracy"} <= set(evaluation)
    assert_one_line_error(results["prompt"], "is an encoder-decoder model",
                          "give it --input TEXT", "Received: --prompt")
    assert_one_line_error(results["empty"], "Input 1 is empty")
    assert_one_line_error(results["long"], "Input 1 has 120 tokens; this model reads at most 64")
    assert_one_line_error(results["export"], "GRUSeq2Seq is an encoder-decoder model: use "
                          "`tfllm generate --input`")
    assert not (tmp_path / "serving").exists()
