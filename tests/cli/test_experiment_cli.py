"""`tfllm experiment` through the real command: the list names every experiment; an unknown
name and a folder the lab did not write are one-line errors, and the folder is left as it was."""

from cli_process import assert_one_line_error, run_cli_cases


def test_list_and_refusals(tmp_path):
    foreign = tmp_path / "label-smoothing"
    foreign.mkdir()
    (foreign / "notes.md").write_text("mine")
    results = run_cli_cases({
        "list": ["experiment", "list"],
        "unknown": ["experiment", "run", "sentiment"],
        "foreign folder": ["experiment", "run", "label-smoothing", "--output", tmp_path],
        "output is a file": ["experiment", "run", "architectures", "--output",
                             foreign / "notes.md"],
    })
    assert results["list"].code == 0, results["list"].stderr
    listed = results["list"].stdout
    for name in ("architectures", "likelihood-vs-squared-error", "label-smoothing",
                 "unlikelihood-vs-repetition", "conflicting-objectives",
                 "mismatched-generalisation"):
        assert name in listed
    assert_one_line_error(results["unknown"], "Unknown experiment 'sentiment'",
                          "label-smoothing")
    assert_one_line_error(results["foreign folder"], "was not written by `tfllm experiment`")
    assert_one_line_error(results["output is a file"], "--output must be a folder")
    assert (foreign / "notes.md").read_text() == "mine"
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.md"]
