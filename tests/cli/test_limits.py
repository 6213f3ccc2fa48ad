"""Sizes over tfllm's limits, files that are not regular, OS errors and misleading messages,
through the real `tfllm` command: exit code 2, exactly one line on stderr, nothing written.

Each group runs in one process (`run_cli_cases`): the mistakes found before TensorFlow is
imported, then those that need it. Sizes over a limit are made with sparse files, which are
never read; a FIFO that was opened would block its command until the 300 s timeout.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from cli_process import CliResult, _environment, assert_one_line_error, run_cli_cases

# {name: (argv, fragments of the error line)}; "{x}" is the path `inputs()[x]`.
PRE_TENSORFLOW_CASES = {
    "new tokens over the limit": (
        ["generate", "--model", "{model}", "--prompt", "A", "--max-new-tokens", "1000000000"],
        ["--max-new-tokens=1,000,000,000", "limit of 65,536", "TFLLM_MAX_NEW_TOKENS=N"]),
    "export length over the limit": (
        ["export", "--model", "{model}", "--max-new-tokens", "1000000000"],
        ["--max-new-tokens=1,000,000,000", "limit of 65,536", "TFLLM_MAX_NEW_TOKENS=N"]),
    "vocabulary over the limit": (
        ["tokenizer", "train", "--kind", "wordpiece", "--vocab-size", "100000000", "--output",
         "{folder}/tok"],
        ["--vocab-size=100,000,000", "limit of 262,144 ids", "TFLLM_MAX_VOCABULARY_SIZE=N"]),
    "sequences over the limit": (
        ["generate", "--model", "{model}", "--prompt", "A", "--num-return-sequences", "1000000"],
        ["1 prompt(s) x --num-return-sequences 1,000,000", "limit of 1,024 rows",
         "TFLLM_MAX_GENERATION_ROWS=N"]),
    "prompts x beams over the limit": (
        ["generate", "--model", "{model}", "--prompt-file", "{prompts}", "--num-beams", "2"],
        ["600 prompt(s) x --num-beams 2 = 1,200 rows"]),
    "prompt file over the size limit": (
        ["generate", "--model", "{model}", "--prompt-file", "{huge_prompts}"],
        ["larger than the limit of 16 MB", "TFLLM_MAX_PROMPT_FILE_MB=N"]),
    "prompt file is a folder": (
        ["generate", "--model", "{model}", "--prompt-file", "{folder}"],
        ["is a folder: --prompt-file takes a file"]),
    "corpus is a FIFO": (
        ["train", "--preset", "smoke", "--corpus", "{pipe}"],
        ["is a FIFO (named pipe), not a regular file"]),
    "FIFO inside the corpus folder": (
        ["evaluate", "--model", "{model}", "--corpus", "{pipe_folder}"],
        ["holds 'pipe.txt', which is a FIFO"]),
    "socket as the corpus": (
        ["evaluate", "--model", "{model}", "--corpus", "{socket}"], ["is a socket"]),
    "device as the corpus": (
        ["evaluate", "--model", "{model}", "--corpus", "/dev/zero"], ["is a character device"]),
    "corpus over the size limit": (
        ["train", "--preset", "smoke", "--corpus", "{huge_corpus}"],
        ["holds 513 MB in 1 file(s), over the limit of 512 MB", "TFLLM_MAX_CORPUS_MB=N"]),
    "corpus path under a file": (
        ["train", "--preset", "smoke", "--corpus", "{text}/more.txt"],
        ["Cannot read", "Not a directory"]),
    "corpus symbolic link loop": (
        ["evaluate", "--model", "{model}", "--corpus", "{loop}"],
        ["Cannot read", "Too many levels of symbolic links", "leads back to itself"]),
    "serving export given to generate": (
        ["generate", "--model", "{model}/serving", "--prompt", "A"],
        ["is a serving export (a TensorFlow SavedModel", "exported from ('{model}')",
         "tf.saved_model.load"]),
    "serving export given to evaluate": (
        ["evaluate", "--model", "{model}/serving"], ["is a serving export"]),
    "negative steps": (
        ["train", "--preset", "smoke", "--set", "train.steps=-1"],
        ["`train.steps` must be a positive integer", "Received: train.steps=-1"]),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Paths for the cases: a model directory that passes the checks made before TensorFlow
    (with a fake serving export inside), special files and sparse oversized files."""
    root = tmp_path_factory.mktemp("limits")
    model = root / "model"
    (model / "serving").mkdir(parents=True)
    with zipfile.ZipFile(model / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    (model / "serving" / "saved_model.pb").write_bytes(b"")
    (root / "prompts.txt").write_text("ROMEO:\n" * 600)
    for name, size in (("huge_prompts.txt", 17 * 2**20), ("huge_corpus.txt", 513 * 2**20)):
        with open(root / name, "wb") as handle:
            handle.truncate(size)
    (root / "folder").mkdir()
    os.mkfifo(root / "pipe.txt")
    (root / "pipe_folder").mkdir()
    (root / "pipe_folder" / "a.txt").write_text("To be, or not to be\n" * 50)
    os.mkfifo(root / "pipe_folder" / "pipe.txt")
    (root / "text.txt").write_text("text\n")
    os.symlink(root / "loop.txt", root / "loop.txt")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "socket.txt"))
    paths = {"model": model, "prompts": root / "prompts.txt", "folder": root / "folder",
             "huge_prompts": root / "huge_prompts.txt", "huge_corpus": root / "huge_corpus.txt",
             "pipe": root / "pipe.txt", "pipe_folder": root / "pipe_folder",
             "socket": root / "socket.txt", "text": root / "text.txt", "loop": root / "loop.txt",
             "root": root}
    yield paths
    server.close()


def _filled(items, paths):
    return [str(item).format(**paths) for item in items]


def test_pre_tensorflow_cases(inputs):
    root = inputs["root"]
    argvs = {}
    for name, (argv, _) in PRE_TENSORFLOW_CASES.items():
        argv = _filled(argv, inputs)
        if argv[0] == "train":
            argv += ["--run-dir", f"{root}/{name}-run", "--output", f"{root}/{name}-out"]
        argvs[name] = argv
    results = run_cli_cases(argvs)
    for name, result in results.items():
        line = assert_one_line_error(result, *_filled(PRE_TENSORFLOW_CASES[name][1], inputs))
        assert not result.tensorflow_imported, f"{name}: TensorFlow was imported"
        assert "Traceback" not in result.stderr and result.stdout == "", name
        assert "warmup" not in line, name
    assert not list(root.glob("*-run")) and not list(root.glob("*-out"))


# {name: fragments of the error line} of the cases that need TensorFlow, in one process.
TENSORFLOW_CASES = {
    "context over the limit": ["model.sequence_length=100,000", "limit of 8,192",
                               "TFLLM_MAX_SEQUENCE_LENGTH=N"],
    "tokens per batch over the limit": [
        "train.batch_size x model.sequence_length = 131,072", "limit of 32,768",
        "TFLLM_MAX_BATCH_TOKENS=N"],
    "attention scores over the limit": ["1,073,741,824 is over the limit of 536,870,912",
                                        "TFLLM_MAX_ATTENTION_SCORES=N"],
    "sample over the limit": ["train.sample_length=100,000", "TFLLM_MAX_NEW_TOKENS=N"],
    "a text without line breaks": ["has a line of 1,000,000 characters",
                                   "no line break to cut at"],
}


@pytest.fixture(scope="module")
def tensorflow_results(tmp_path_factory, untrained_model_dir):
    root = tmp_path_factory.mktemp("limits_tf")
    (root / "one_line.txt").write_text("word " * 200_000)
    # Not one character (not even a line break) that the model's tokenizer knows.
    (root / "greek.txt").write_text("αβγδεζηθικλμνξοπρστυφχψω" * 40, encoding="utf-8")
    (root / "known.txt").write_text("ROMEO: But soft, what light through yonder window?\n" * 40)

    def train(name, *overrides):
        argv = ["train", "--preset", "smoke", "--quiet", "--run-dir", root / f"{name}-run",
                "--output", root / f"{name}-out"]
        for override in overrides:
            argv += ["--set", override]
        return argv

    evaluate = ["evaluate", "--model", untrained_model_dir, "--json", "--corpus"]
    argvs = {
        "context over the limit": train("context", "model.sequence_length=100000"),
        "tokens per batch over the limit": train("tokens", "train.batch_size=4096"),
        "attention scores over the limit": train(
            "attention", "model.sequence_length=8192", "train.batch_size=4"),
        "sample over the limit": train("sample", "train.sample_length=100000"),
        "a text without line breaks": train("lines") + ["--corpus", root / "one_line.txt"],
        "unknown text": evaluate + [root / "greek.txt"],
        "known text": evaluate + [root / "known.txt"],
    }
    return root, run_cli_cases(argvs)


@pytest.mark.parametrize("name", TENSORFLOW_CASES)
def test_tensorflow_cases(tensorflow_results, name):
    root, results = tensorflow_results
    assert_one_line_error(results[name], *TENSORFLOW_CASES[name])
    assert not list(root.glob("*-out"))


def test_evaluate_warns_when_the_tokenizer_does_not_know_the_text(tensorflow_results):
    _, results = tensorflow_results
    unknown, known = results["unknown text"], results["known text"]
    assert unknown.code == 0 and known.code == 0, (unknown.stderr, known.stderr)
    scored = json.loads(unknown.stdout)
    assert scored["unknown_tokens"] == scored["tokens"] > 0
    assert len(unknown.stderr_lines) == 1
    line = unknown.stderr_lines[0]
    assert line.startswith("tfllm evaluate: warning: ") and f"{scored['tokens']:,} tokens" in line
    assert "(100%) are unknown to the model's tokenizer" in line
    assert json.loads(known.stdout)["unknown_tokens"] == 0 and known.stderr_lines == []


def _as_another_user():
    """The command prefix that runs as a user without root's override of file permissions."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permissions cannot be denied")
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_permission_denied_is_one_line_naming_the_path(untrained_model_dir):
    prefix = _as_another_user()
    # A folder the other user can enter (pytest's own temporary folders are private to root).
    root = Path(tempfile.mkdtemp(prefix="tfllm-permissions-"))
    try:
        root.chmod(0o755)
        (root / "secret.txt").write_text("text\n")
        (root / "secret.txt").chmod(0)
        (root / "corpus" / "locked").mkdir(parents=True)
        (root / "corpus" / "a.txt").write_text("text\n")
        (root / "corpus" / "locked" / "b.txt").write_text("text\n")
        for folder in (root / "corpus", root / "corpus" / "locked"):
            folder.chmod(0o755)
        (root / "corpus" / "locked").chmod(0)
        for name in ("model", "locked_model"):
            shutil.copytree(untrained_model_dir, root / name)
            for path in [root / name, *(root / name).rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        (root / "locked_model" / "model.keras").chmod(0)
        cases = {
            "corpus file": (["train", "--preset", "smoke", "--corpus", "secret.txt"],
                            ["Cannot read 'secret.txt': Permission denied"]),
            "folder in the corpus": (["train", "--preset", "smoke", "--corpus", "corpus"],
                                     ["Cannot list 'corpus/locked': Permission denied"]),
            "prompt file": (["generate", "--model", "model", "--prompt-file", "secret.txt"],
                            ["Cannot read 'secret.txt': Permission denied"]),
            "model file": (["evaluate", "--model", "locked_model"],
                           ["Cannot read 'locked_model/model.keras': Permission denied"]),
        }
        for name, (argv, fragments) in cases.items():
            completed = subprocess.run(
                [*prefix, sys.executable, "-m", "tfllm.cli.main", *argv], cwd=root,
                capture_output=True, text=True, timeout=120, env=_environment(None))
            result = CliResult(completed.returncode, completed.stdout, completed.stderr)
            assert_one_line_error(result, *fragments)
            assert "check the permissions" in completed.stderr, name
    finally:
        for path in [root, *root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o700)
        shutil.rmtree(root)
