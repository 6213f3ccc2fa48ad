"""Bad input at the command line: one line on stderr, exit code 2, nothing written."""

import subprocess
import sys
import zipfile

import pytest

from tfllm.cli.main import main


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from tfllm.cli.main import main; "
        "main(['presets']); assert 'tensorflow' not in sys.modules, 'TF imported'; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "smoke" in result.stdout and result.stdout.strip().endswith("ok")


def test_presets_lists_the_default(capsys):
    code, out, _ = run_cli(capsys, "presets")
    assert code == 0
    assert "shakespeare-char " in out and "shakespeare-char-lstm" in out and "smoke" in out


def test_unknown_preset_lists_valid_ones(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--preset", "shakespear", "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(code, err, "Unknown preset 'shakespear'", "shakespeare-char", "smoke")
    assert not (tmp_path / "r").exists()


def test_unknown_set_key_lists_valid_keys(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--set", "model.layers=2",
                           "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(code, err, "model.layers", "model.num_layers")


def test_ill_typed_set_value(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--set", "train.steps=many",
                           "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(code, err, "train.steps", "int", "'many'")


def test_fewer_steps_than_warmup_is_a_config_error_whatever_the_order(capsys, tmp_path):
    code, _, err = run_cli(capsys, "train", "--preset", "shakespeare-char", "--set",
                           "train.steps=100", "--run-dir", str(tmp_path / "r"))
    assert_one_line_error(code, err, "train.warmup_steps (200)", "train.steps (100)")
    from tfllm.config import apply_overrides
    from tfllm.presets import get_preset

    config = apply_overrides(get_preset("shakespeare-char"),
                             ["train.steps=100", "train.warmup_steps=10"])
    assert (config.train.steps, config.train.warmup_steps) == (100, 10)


def test_missing_corpus_path(capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--corpus", str(missing),
                           "--run-dir", str(tmp_path / "r"), "--output", str(tmp_path / "m"))
    assert_one_line_error(code, err, str(missing))
    assert not (tmp_path / "m").exists()


def test_empty_corpus_file(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n\n ")
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--corpus", str(empty),
                           "--run-dir", str(tmp_path / "r"), "--output", str(tmp_path / "m"))
    assert_one_line_error(code, err, "empty")
    assert not (tmp_path / "m").exists()


def test_non_utf8_corpus_under_strict_names_the_file(capsys, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(("To be, or not to be\n" * 50).encode() + "caf\xe9\n".encode("latin-1"))
    code, _, err = run_cli(capsys, "train", "--preset", "smoke", "--corpus", str(bad),
                           "--run-dir", str(tmp_path / "r"), "--output", str(tmp_path / "m"))
    assert_one_line_error(code, err, "latin1.txt", "replace")


def test_model_dir_missing(capsys, tmp_path):
    code, _, err = run_cli(capsys, "generate", "--model", str(tmp_path / "none"), "--prompt", "A")
    assert_one_line_error(code, err, "No model directory", "tfllm train")


def test_model_dir_without_model(capsys, tmp_path):
    (tmp_path / "empty_dir").mkdir()
    code, _, err = run_cli(capsys, "evaluate", "--model", str(tmp_path / "empty_dir"))
    assert_one_line_error(code, err, "model.keras", "not a tfllm model directory")


def test_corrupt_model_file(capsys, tmp_path, smoke_run):
    import shutil

    model_dir, _, _ = smoke_run
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "model.keras").write_bytes(b"this is not a zip archive")
    code, _, err = run_cli(capsys, "generate", "--model", str(broken), "--prompt", "A")
    assert_one_line_error(code, err, "corrupt")

    # A valid zip that is not a Keras archive is refused by Keras; we still give one line.
    with zipfile.ZipFile(broken / "model.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    code, _, err = run_cli(capsys, "generate", "--model", str(broken), "--prompt", "A")
    assert_one_line_error(code, err, "could not be loaded")


def test_tokenizer_that_does_not_match_the_model(capsys, tmp_path, smoke_run):
    import shutil

    from tfllm.tokenizers import CharTokenizer

    model_dir, _, _ = smoke_run
    swapped = tmp_path / "swapped"
    shutil.copytree(model_dir, swapped)
    shutil.rmtree(swapped / "tokenizer")
    CharTokenizer.from_texts(["abc"]).save(swapped / "tokenizer")
    code, _, err = run_cli(capsys, "generate", "--model", str(swapped), "--prompt", "A")
    assert_one_line_error(code, err, "not the one this model was trained with")


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_max_new_tokens_must_be_positive(value):
    result = subprocess.run(
        [sys.executable, "-m", "tfllm", "generate", "--model", "x", "--prompt", "A",
         "--max-new-tokens", value],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--max-new-tokens" in result.stderr and "positive integer" in result.stderr


def test_prompt_with_unknown_characters_says_which_and_what_was_done(capsys, smoke_run):
    model_dir, _, _ = smoke_run
    code, out, err = run_cli(capsys, "generate", "--model", str(model_dir), "--prompt", "ROMEO€:",
                             "--max-new-tokens", "5", "--seed", "1")
    assert code == 0
    assert "'€'" in err and "removed" in err
    assert out.startswith("ROMEO€:")
