"""`tfllm generate` and its controls through the CLI, on the smoke model trained on the plays.

Bad controls (one line on stderr, exit code 2) are among the cases of test_cli_errors.py."""

import json

from tfllm.cli.main import main


def run_cli(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_stream_prints_the_same_text_as_a_plain_run(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    common = ["generate", "--model", model_dir, "--prompt", "ROMEO:", "--max-new-tokens", "60",
              "--top-p", "0.9", "--temperature", "0.8", "--repetition-penalty", "1.2",
              "--seed", "5"]
    code, plain, _ = run_cli(capsys, *common)
    assert code == 0
    code, streamed, _ = run_cli(capsys, *common, "--stream")
    assert code == 0 and streamed == plain and plain.startswith("ROMEO:")


def test_stop_sequence_from_the_shell_ends_the_text(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    code, out, _ = run_cli(capsys, "generate", "--model", model_dir, "--prompt", "ROMEO:",
                           "--max-new-tokens", "400", "--stop", "\\n\\n", "--seed", "1", "--json")
    result = json.loads(out)
    assert code == 0 and "\n\n" not in result["text"]
    assert result["finish_reason"] in ("stop", "length")


def test_prompt_file_json_and_several_sequences(capsys, smoke_run, tmp_path):
    model_dir, _, _ = smoke_run
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("ROMEO:\n\nJULIET:\n", encoding="utf-8")
    code, out, _ = run_cli(capsys, "generate", "--model", model_dir, "--prompt-file", prompts,
                           "--num-return-sequences", "3", "--max-new-tokens", "20", "--json",
                           "--seed", "2")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["prompt"] for r in rows] == ["ROMEO:"] * 3 + ["JULIET:"] * 3
    assert all(r["tokens"] <= 20 and r["log_probability"] < 0 for r in rows)


def test_beam_search_and_banned_text(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    code, out, _ = run_cli(capsys, "generate", "--model", model_dir, "--prompt", "ROMEO:",
                           "--max-new-tokens", "40", "--num-beams", "3", "--ban", "e", "--json")
    result = json.loads(out)
    assert code == 0 and "e" not in result["text"] and "score" in result


def test_over_long_prompt_is_cropped_with_a_note(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    code, out, err = run_cli(capsys, "generate", "--model", model_dir, "--prompt", "ROMEO: " * 40,
                             "--max-new-tokens", "5")
    assert code == 0 and "were dropped" in err and out.startswith("ROMEO: ")
