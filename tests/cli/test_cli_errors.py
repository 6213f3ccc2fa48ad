"""Bad input at the command line: one line on stderr, exit code 2, nothing written.

Every case runs the real command in a fresh process (`cli_process`): TensorFlow and SentencePiece
write their log lines to file descriptor 2, which in-process capture never sees. Mistakes that
need no TensorFlow are reported before it is imported (each case here, and checked with
`sys.modules`); the ones that need it share one process (`tensorflow_errors`).
"""

import shutil
import subprocess
import sys
import zipfile

import pytest
from cli_process import assert_one_line_error, run_cli, run_cli_cases

from tfllm.cli.main import main

# {name: (argv, fragments of the error line)}. "{tmp}" is a fresh directory of the test's own,
# "{models}" the directory of `bad_model_dirs`.
PRE_TENSORFLOW_CASES = {
    "unknown preset": (
        ["train", "--preset", "shakespear"], ["Unknown preset 'shakespear'", "shakespeare-char", "smoke"]),
    "unknown train key": (
        ["train", "--preset", "smoke", "--set", "train.stepz=5"], ["'train.stepz'", "train.steps"]),
    "ill-typed value": (
        ["train", "--preset", "smoke", "--set", "train.steps=many"], ["train.steps", "int", "'many'"]),
    "NaN learning rate": (
        ["train", "--preset", "smoke", "--set", "train.learning_rate=nan"],
        ["train.learning_rate", "finite"]),
    "beta_1 outside (0, 1)": (
        ["train", "--preset", "smoke", "--set", "train.beta_1=2"], ["train.beta_1", "(0, 1)"]),
    "warmup longer than the run": (
        ["train", "--preset", "shakespeare-char", "--set", "train.steps=100"],
        ["train.warmup_steps (200)", "train.steps (100)"]),
    "unknown strategy flag": (
        ["train", "--preset", "smoke", "--strategy", "quantum"], ["--strategy", "'quantum'"]),
    "missing corpus file": (
        ["train", "--preset", "smoke", "--corpus", "{tmp}/nope.txt"],
        ["{tmp}/nope.txt", "does not exist"]),
    "missing corpus set with --set": (
        ["train", "--preset", "smoke", "--set", "data.corpus={tmp}/nope"], ["{tmp}/nope"]),
    "corpus folder without .txt files": (
        ["train", "--preset", "smoke", "--corpus", "{models}"], ["no .txt files"]),
    "missing model directory": (
        ["generate", "--model", "{tmp}/none", "--prompt", "A"], ["No model directory", "tfllm train"]),
    "model path is a file": (
        ["export", "--model", "{models}/a_file"], ["not a file", "{models}/a_file"]),
    "directory without model.keras": (
        ["evaluate", "--model", "{models}/empty"], ["model.keras", "not a tfllm model directory"]),
    "model.keras is not a zip archive": (
        ["generate", "--model", "{models}/not_zip", "--prompt", "A"], ["corrupt"]),
    "evaluate on a missing corpus": (
        ["evaluate", "--model", "{models}/zip", "--corpus", "{tmp}/nope.txt"], ["does not exist"]),
    "evaluate an unknown split": (
        ["evaluate", "--model", "{models}/zip", "--split", "dev"], ["--split", "'dev'"]),
    "missing prompt file": (
        ["generate", "--model", "{models}/zip", "--prompt-file", "{tmp}/none.txt"], ["No prompt file"]),
    "zero new tokens": (
        ["generate", "--model", "x", "--prompt", "A", "--max-new-tokens", "0"],
        ["--max-new-tokens", "positive integer"]),
    "negative new tokens": (
        ["generate", "--model", "x", "--prompt", "A", "--max-new-tokens", "-3"],
        ["--max-new-tokens", "positive integer"]),
    "new tokens not a number": (
        ["generate", "--model", "x", "--prompt", "A", "--max-new-tokens", "ten"],
        ["--max-new-tokens", "positive integer"]),
    "export top-p above 1": (
        ["export", "--model", "{models}/zip", "--top-p", "1.5"], ["--top-p", "1.5"]),
    "missing vectors": (
        ["embeddings", "neighbours", "--vectors", "{tmp}/none", "--word", "king"], ["No vectors at"]),
    "word2vec on a missing corpus": (
        ["embeddings", "train", "--output", "{tmp}/w2v", "--corpus", "{tmp}/nope.txt"],
        ["does not exist"]),
}


@pytest.fixture(scope="module")
def bad_model_dirs(tmp_path_factory):
    """Paths that are not model directories, and one (`zip`) that passes the checks made
    before TensorFlow is imported."""
    root = tmp_path_factory.mktemp("bad_models")
    (root / "a_file").write_text("not a directory")
    (root / "empty").mkdir()
    (root / "not_zip").mkdir()
    (root / "not_zip" / "model.keras").write_bytes(b"this is not a zip archive")
    (root / "zip").mkdir()
    with zipfile.ZipFile(root / "zip" / "model.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    return root


def _filled(items, tmp, models):
    return [str(item).format(tmp=tmp, models=models) for item in items]


def _argv(name, tmp, models):
    argv = _filled(PRE_TENSORFLOW_CASES[name][0], tmp, models)
    if argv[0] == "train":  # in the test's own directory, to check that nothing is written
        argv += ["--run-dir", f"{tmp}/run", "--output", f"{tmp}/out"]
    return argv


@pytest.mark.parametrize("name", PRE_TENSORFLOW_CASES)
def test_pre_tensorflow_error_is_one_line(name, tmp_path, bad_model_dirs):
    result = run_cli(*_argv(name, tmp_path, bad_model_dirs))
    assert_one_line_error(result, *_filled(PRE_TENSORFLOW_CASES[name][1], tmp_path, bad_model_dirs))
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "run").exists() and not (tmp_path / "out").exists()


def test_pre_tensorflow_errors_are_raised_before_tensorflow_is_imported(tmp_path, bad_model_dirs):
    cases = {name: _argv(name, tmp_path, bad_model_dirs) for name in PRE_TENSORFLOW_CASES}
    results = run_cli_cases(cases)
    for name, result in results.items():
        assert_one_line_error(result)
        assert not result.tensorflow_imported, f"{name}: TensorFlow was imported"


def test_debug_shows_the_traceback(tmp_path):
    result = run_cli("generate", "--model", tmp_path / "none", "--prompt", "A",
                     env={"TFLLM_DEBUG": "1"})
    assert result.code != 0 and "Traceback" in result.stderr and "ModelLoadError" in result.stderr


# {name: fragments of the error line} of the mistakes that need TensorFlow to find; they run in
# one process (one TensorFlow import), in this order.
TENSORFLOW_CASES = {
    # First: it imports TensorFlow, so its one line also shows the start-up lines hidden.
    "unknown model argument": ["GPT has no argument foo", "model.num_layers"],
    "misspelt model argument": ["model.layers", "model.num_layers"],
    "empty corpus": ["empty"],
    "non-UTF-8 corpus": ["latin1.txt", "replace"],
    "zip that is not a Keras archive": ["could not be loaded"],
    "tokenizer of another model": ["not the one this model was trained with"],
    "evaluate with the tokenizer of another model": ["not the one this model was trained with"],
    "top-p above 1": ["top_p"],
    "repetition penalty 0": ["repetition_penalty"],
    "banned text outside the vocabulary": ["banned_words"],
    "stop text outside the vocabulary": ["stop"],
    "more sequences than beams": ["num_return_sequences"],
    "unknown tokenizer kind": ["'klingon'", "byte, char, sentencepiece-bpe"],
    "vocabulary larger than the corpus supports": [
        "vocabulary_size=50000 is more than this corpus supports"],
    "option the kind does not take": ["does not take the option(s) vocabulary_size"],
    "all-whitespace corpus": ["blank.txt"],
    # SentencePiece logs a line from C++ whenever a model loads: these load one, then fail.
    "SentencePiece tokenizer on an empty corpus": ["empty"],
    "SentencePiece model with top-p above 1": ["top_p"],
    "SentencePiece model on an empty corpus": ["empty"],
    "GPU strategy without a GPU": ["train.strategy=gpu needs a GPU"],
}


def _inputs(root, untrained_model_dir, make_untrained_model_dir):
    """Bad text files, broken copies of a model directory, and a SentencePiece tokenizer and
    model (untrained) to fail after loading."""
    from tfllm.data import load_plays
    from tfllm.tokenizers import CharTokenizer, SentencePieceBpeTokenizer

    macbeth = next(p for p in load_plays() if p.slug == "macbeth").text
    (root / "macbeth.txt").write_text(macbeth, encoding="utf-8")
    (root / "empty.txt").write_text("  \n\n ")
    (root / "blank.txt").write_text("   \n\n\t\n" * 50)
    (root / "latin1.txt").write_bytes(("To be, or not to be\n" * 50).encode() + "caf\xe9\n".encode("latin-1"))
    shutil.copytree(untrained_model_dir, root / "not_keras")
    with zipfile.ZipFile(root / "not_keras" / "model.keras", "w") as archive:
        archive.writestr("config.json", "{not json")
    shutil.copytree(untrained_model_dir, root / "swapped")
    shutil.rmtree(root / "swapped" / "tokenizer")
    CharTokenizer.from_texts(["abc"]).save(root / "swapped" / "tokenizer")
    sentencepiece = SentencePieceBpeTokenizer.from_texts(macbeth, vocabulary_size=400)
    sentencepiece.save(root / "spm_tokenizer")
    make_untrained_model_dir(root / "spm_model", sentencepiece)


@pytest.fixture(scope="module")
def tensorflow_errors(tmp_path_factory, untrained_model_dir, make_untrained_model_dir):
    root = tmp_path_factory.mktemp("tensorflow_errors")
    _inputs(root, untrained_model_dir, make_untrained_model_dir)

    def train(name, *argv):
        return ["train", "--preset", "smoke", "--quiet", "--run-dir", root / f"{name}-run",
                "--output", root / f"{name}-model", *argv]

    def generate(model_dir, *argv):
        return ["generate", "--model", model_dir, "--prompt", "ROMEO:", *argv]

    def tokenizer_train(kind, *argv):
        return ["tokenizer", "train", "--kind", kind, "--output", root / f"tok-{kind}", *argv]

    model, macbeth = untrained_model_dir, root / "macbeth.txt"
    argvs = {
        "unknown model argument": train("foo", "--set", "model.foo=1"),
        "misspelt model argument": train("layers", "--set", "model.layers=2"),
        "empty corpus": train("empty", "--corpus", root / "empty.txt"),
        "non-UTF-8 corpus": train("latin1", "--corpus", root / "latin1.txt"),
        "zip that is not a Keras archive": generate(root / "not_keras"),
        "tokenizer of another model": generate(root / "swapped"),
        "evaluate with the tokenizer of another model": ["evaluate", "--model", root / "swapped"],
        "top-p above 1": generate(model, "--top-p", "1.5"),
        "repetition penalty 0": generate(model, "--repetition-penalty", "0"),
        "banned text outside the vocabulary": generate(model, "--ban", "€"),
        "stop text outside the vocabulary": generate(model, "--stop", "€"),
        "more sequences than beams": generate(model, "--num-beams", "2",
                                              "--num-return-sequences", "3"),
        "unknown tokenizer kind": tokenizer_train("klingon", "--corpus", macbeth),
        "vocabulary larger than the corpus supports": tokenizer_train(
            "wordpiece", "--vocab-size", "50000", "--corpus", macbeth),
        "option the kind does not take": tokenizer_train("char", "--vocab-size", "100",
                                                         "--corpus", macbeth),
        "all-whitespace corpus": tokenizer_train("sentencepiece-unigram",
                                                 "--corpus", root / "blank.txt"),
        "SentencePiece tokenizer on an empty corpus": [
            "tokenizer", "stats", "--tokenizer", root / "spm_tokenizer", "--corpus", root / "empty.txt"],
        "SentencePiece model with top-p above 1": generate(root / "spm_model", "--top-p", "1.5"),
        "SentencePiece model on an empty corpus": [
            "evaluate", "--model", root / "spm_model", "--corpus", root / "empty.txt"],
        "GPU strategy without a GPU": train("gpu", "--corpus", macbeth, "--strategy", "gpu"),
    }
    assert list(argvs) == list(TENSORFLOW_CASES)
    return root, run_cli_cases(argvs)


@pytest.mark.parametrize("name", TENSORFLOW_CASES)
def test_errors_found_with_tensorflow_are_one_line(tensorflow_errors, name):
    _, results = tensorflow_errors
    assert_one_line_error(results[name], *TENSORFLOW_CASES[name])
    assert results[name].tensorflow_imported


def test_failed_commands_write_nothing(tensorflow_errors):
    root, _ = tensorflow_errors
    for name in ("foo", "layers", "empty", "latin1"):
        assert not (root / f"{name}-model").exists(), name
    # Model arguments are checked before the run directory is made and the corpus read.
    assert not (root / "foo-run").exists() and not (root / "layers-run").exists()
    assert not list(root.glob("tok-*"))


def test_fewer_steps_than_warmup_is_fine_once_warmup_is_set_too():
    from tfllm.config import apply_overrides
    from tfllm.presets import get_preset

    config = apply_overrides(get_preset("shakespeare-char"),
                             ["train.steps=100", "train.warmup_steps=10",
                              "train.eval_interval=50"])
    assert (config.train.steps, config.train.warmup_steps) == (100, 10)


def test_help_does_not_import_tensorflow():
    code = (
        "import sys; from tfllm.cli.main import main; "
        "main(['presets']); assert 'tensorflow' not in sys.modules, 'TF imported'; print('ok')"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "smoke" in result.stdout and result.stdout.strip().endswith("ok")


def test_presets_lists_the_default(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "shakespeare-char " in out and "shakespeare-char-lstm" in out and "smoke" in out


def test_prompt_with_unknown_characters_says_which_and_what_was_done(capsys, untrained_model_dir):
    code = main(["generate", "--model", str(untrained_model_dir), "--prompt", "ROMEO€:",
                 "--max-new-tokens", "5", "--seed", "1"])
    captured = capsys.readouterr()
    assert code == 0
    assert "'€'" in captured.err and "removed" in captured.err
    assert captured.out.startswith("ROMEO€:")
