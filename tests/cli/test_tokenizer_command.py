"""`tfllm tokenizer train | stats` through `tfllm.cli.main.main`: the directory it writes loads as
the asked-for kind, stats agree with the library, and bad input gives one line and exit code 2."""

import json

import pytest

from tfllm.cli.main import main
from tfllm.data.shakespeare import load_plays
from tfllm.tokenizers import load_tokenizer, tokenizer_stats


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "macbeth.txt"
    path.write_text(next(p for p in load_plays() if p.slug == "macbeth").text, encoding="utf-8")
    return path


def run_cli(capsys, *argv):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit:  # argparse rejects bad values itself, with one line
        code = exit.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


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


def test_existing_output_needs_overwrite(capsys, tmp_path, corpus_file):
    args = ["tokenizer", "train", "--kind", "byte", "--output", tmp_path, "--corpus", corpus_file]
    assert run_cli(capsys, *args)[0] == 0
    code, _, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, "already holds a tokenizer", "--overwrite")
    assert run_cli(capsys, *args, "--overwrite")[0] == 0


def test_bad_input(capsys, tmp_path, corpus_file):
    out = tmp_path / "tok"
    code, _, err = run_cli(capsys, "tokenizer", "train", "--kind", "klingon", "--output", out,
                           "--corpus", corpus_file)
    assert_one_line_error(code, err, "'klingon'", "byte, char, sentencepiece-bpe")
    code, _, err = run_cli(capsys, "tokenizer", "train", "--kind", "wordpiece", "--vocab-size",
                           50000, "--output", out, "--corpus", corpus_file)
    assert_one_line_error(code, err, "vocabulary_size=50000 is more than this corpus supports")
    code, _, err = run_cli(capsys, "tokenizer", "train", "--kind", "char", "--vocab-size", 100,
                           "--output", out, "--corpus", corpus_file)
    assert_one_line_error(code, err, "does not take the option(s) vocabulary_size")
    code, _, err = run_cli(capsys, "tokenizer", "train", "--kind", "word", "--vocab-size", 0,
                           "--output", out)
    assert_one_line_error(code, err, "--vocab-size", "positive integer")
    assert not out.exists()  # nothing written by a failed command
    code, _, err = run_cli(capsys, "tokenizer", "stats", "--tokenizer", tmp_path / "missing")
    assert_one_line_error(code, err, "No tokenizer directory")


def test_all_whitespace_corpus(capsys, tmp_path):
    blank = tmp_path / "blank.txt"
    blank.write_text("   \n\n\t\n" * 50, encoding="utf-8")
    code, _, err = run_cli(capsys, "tokenizer", "train", "--kind", "sentencepiece-unigram",
                           "--output", tmp_path / "tok", "--corpus", blank)
    assert_one_line_error(code, err, "blank.txt")


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
    assert metrics["bits_per_char"] == pytest.approx(metrics["loss"] / 0.6931471805599453 / ratio)
    code, out, err = run_cli(capsys, "evaluate", "--model", tmp_path / "model", "--json")
    assert code == 0, err
    evaluated = json.loads(out)
    assert evaluated["bits_per_char"] == pytest.approx(metrics["bits_per_char"], rel=1e-4)
