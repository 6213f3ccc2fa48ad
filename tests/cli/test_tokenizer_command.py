"""`tfllm tokenizer train | stats` through `tfllm.cli.main.main`: the directory it writes loads as
the asked-for kind, stats agree with the library, and bad input gives one line and exit code 2."""

import json

import pytest
from cli_process import assert_one_line_error
from cli_process import run_cli as run_cli_process

from tfllm.cli.main import main
from tfllm.data.shakespeare import load_plays
from tfllm.tokenizers import load_tokenizer, tokenizer_stats


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "macbeth.txt"
    path.write_text(next(p for p in load_plays() if p.slug == "macbeth").text, encoding="utf-8")
    return path


def run_cli(capsys, *argv):
    """`tfllm ARGV` in this process, for commands that succeed; bad input goes through
    `cli_process.run_cli` (named `run_cli_process` here), which sees native stderr too."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("kind, size", [("sentencepiece-bpe", 400), ("word", 500), ("byte", None)])
def test_train_then_stats(capsys, tmp_path, corpus_file, kind, size):
    output = tmp_path / "tok"
    args = ["tokenizer", "train", "--kind", kind, "--output", output, "--corpus", corpus_file]
    if size:
        args += ["--vocab-size", size]
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    tokenizer = load_tokenizer(output, kind=kind)
    assert f"vocabulary size {tokenizer.vocabulary_size}" in out and tokenizer.fingerprint in out
    if kind != "word":
        assert tokenizer.vocabulary_size == (size or 261)
    else:
        assert tokenizer.vocabulary_size == 500

    code, out, err = run_cli(capsys, "tokenizer", "stats", "--tokenizer", output,
                             "--corpus", corpus_file, "--json", "--top", 3)
    assert code == 0, err
    stats = json.loads(out)
    from tfllm.data import load_corpus

    text = load_corpus(str(corpus_file)).split_text("validation")
    expected = tokenizer_stats(tokenizer, text, top=3)
    assert stats["tokens"] == expected["tokens"] and stats["characters"] == len(text)
    assert stats["characters_per_token"] == pytest.approx(len(text) / stats["tokens"])
    assert stats["top_pieces"] == expected["top_pieces"] and len(stats["top_pieces"]) == 3
    assert stats["split"] == "validation" and stats["vocabulary_size"] == tokenizer.vocabulary_size
    if kind == "word":  # 500 words of Macbeth's first 90% leave a fifth of its end unknown
        assert 0.05 < stats["unknown_rate"] < 0.3
    else:  # bytes, and SentencePiece with byte fallback, know every character
        assert stats["unknown_rate"] == 0 and stats["unknown_tokens"] == 0

    code, out, err = run_cli(capsys, "tokenizer", "stats", "--tokenizer", output,
                             "--corpus", corpus_file, "--split", "test")
    assert code == 0, err
    for label in ("vocabulary size", "tokens", "characters/token", "unknown rate", "top pieces"):
        assert label in out


def test_running_twice_replaces_the_tokenizer_it_wrote(capsys, tmp_path, corpus_file):
    # What else --output may hold is tested in test_output_paths.py.
    output = tmp_path / "tok"
    args = ["tokenizer", "train", "--kind", "byte", "--output", output, "--corpus", corpus_file]
    assert run_cli(capsys, *args)[0] == 0
    code, out, err = run_cli(capsys, *args)
    assert code == 0, err
    assert f"Note: replacing the tokenizer directory tfllm wrote earlier at {output}." in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tok"]


def test_bad_input_found_before_tensorflow(tmp_path):
    """Kinds, vocabulary sizes and corpora that need TensorFlow to judge are cases of
    test_cli_errors.py (one process for all of them)."""
    out = tmp_path / "tok"
    result = run_cli_process("tokenizer", "train", "--kind", "word", "--vocab-size", 0,
                             "--output", out)
    assert_one_line_error(result, "--vocab-size", "positive integer")
    result = run_cli_process("tokenizer", "train", "--kind", "word", "--output", out,
                             "--corpus", tmp_path / "missing.txt")
    assert_one_line_error(result, "missing.txt", "does not exist")
    assert not out.exists()  # nothing written by a failed command
    result = run_cli_process("tokenizer", "stats", "--tokenizer", tmp_path / "missing")
    assert_one_line_error(result, "No tokenizer directory")
    (tmp_path / "no_file").mkdir()
    result = run_cli_process("tokenizer", "stats", "--tokenizer", tmp_path / "no_file")
    assert_one_line_error(result, "has no tokenizer.json")


@pytest.mark.slow  # about 10 s on 2 cores: it trains (10 steps) and evaluates a model
def test_training_with_a_saved_subword_tokenizer(capsys, tmp_path, corpus_file):
    """`tfllm train --set data.tokenizer=DIR` trains on the saved tokenizer's ids, keeps its
    fingerprint in the model directory, and reports bits per character with the characters per
    token of the validation text (not 1, as for characters)."""
    tokenizer_dir = tmp_path / "tok"
    code, _, err = run_cli(capsys, "tokenizer", "train", "--kind", "sentencepiece-bpe",
                           "--vocab-size", 400, "--output", tokenizer_dir, "--corpus", corpus_file)
    assert code == 0, err
    code, out, err = run_cli(
        capsys, "train", "--preset", "smoke", "--quiet", "--corpus", corpus_file,
        "--set", f"data.tokenizer={tokenizer_dir}", "--set", "train.steps=10",
        "--set", "train.eval_interval=10", "--set", "train.sample_length=5",
        "--run-dir", tmp_path / "run", "--output", tmp_path / "model",
    )
    assert code == 0, err
    tokenizer = load_tokenizer(tokenizer_dir)
    from tfllm.data import load_corpus

    assert load_tokenizer(tmp_path / "model" / "tokenizer").fingerprint == tokenizer.fingerprint
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    ratio = tokenizer_stats(tokenizer, load_corpus(str(corpus_file)).split_text("validation"))[
        "characters_per_token"]
    assert ratio > 1.5 and metrics["characters_per_token"] == pytest.approx(ratio)
    assert metrics["bits_per_character"] == pytest.approx(
        metrics["loss"] / 0.6931471805599453 / ratio)
    code, out, err = run_cli(capsys, "evaluate", "--model", tmp_path / "model", "--json")
    assert code == 0, err
    evaluated = json.loads(out)
    assert evaluated["bits_per_character"] == pytest.approx(metrics["bits_per_character"], rel=1e-4)
