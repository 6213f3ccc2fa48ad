"""Runs the real `tfllm` command in a fresh Python process and reads what it printed.

A bad-input test must see what a user sees: TensorFlow's native start-up lines and SentencePiece's
log lines are written to file descriptor 2 by C++, which pytest's in-process capture of
`sys.stderr` never sees. So every CLI bad-input test goes through here and asserts exit code 2
and exactly one line on stderr (`assert_one_line_error`).

- `run_cli(*argv)`: `python -m tfllm.cli.main ARGV`, as the `tfllm` script runs it. Errors found
  before TensorFlow is imported cost well under a second.
- `run_cli_cases({name: argv})`: several commands in ONE process (run as a script, this file
  calls `tfllm.cli.main.main(argv)` for each, with fds 1 and 2 pointed at files of the case's
  own), so commands that need TensorFlow pay its 4-6 s import once. The first case that imports
  TensorFlow sees its start-up; each result also says whether `tensorflow` was in `sys.modules`
  once the command returned.

The environment is the test run's minus TF_CPP_MIN_LOG_LEVEL and TFLLM_DEBUG: the command must
be quiet without help.
"""

import dataclasses
import json
import os
import subprocess
import sys
import tempfile

TIMEOUT_S = 300


@dataclasses.dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    tensorflow_imported: bool = None  # known for `run_cli_cases` results only

    @property
    def stderr_lines(self):
        """The non-blank lines written to stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


def _environment(extra):
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.pop("TFLLM_DEBUG", None)
    env.update(extra or {})
    return env


def run_cli(*argv, env=None):
    """Runs `python -m tfllm.cli.main ARGV` and returns its `CliResult`."""
    completed = subprocess.run(
        [sys.executable, "-m", "tfllm.cli.main", *map(str, argv)],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=_environment(env),
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def run_cli_cases(cases, env=None):
    """Runs each `{name: argv}` command in one fresh process; returns `{name: CliResult}`."""
    request = json.dumps({name: [str(a) for a in argv] for name, argv in cases.items()})
    completed = subprocess.run(
        [sys.executable, os.path.abspath(__file__)], input=request,
        capture_output=True, text=True, timeout=TIMEOUT_S, env=_environment(env),
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(completed.stdout)
    return {name: CliResult(**result) for name, result in results.items()}


def assert_one_line_error(result, *fragments):
    """Asserts exit code 2 and exactly one stderr line, holding each fragment; returns the line."""
    assert result.code == 2, (result.code, result.stderr)
    lines = result.stderr_lines
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}: {result.stderr!r}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def _run_one(main, argv):
    """Calls `main(argv)` with fds 1 and 2 (so native writes too) going to temporary files."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            code = main(argv)
        except SystemExit as exit:  # argparse
            code = exit.code
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
        texts = []
        for file in (out, err):
            file.seek(0)
            texts.append(file.read().decode("utf-8", errors="replace"))
    return {"code": code, "stdout": texts[0], "stderr": texts[1],
            "tensorflow_imported": "tensorflow" in sys.modules}


if __name__ == "__main__":
    from tfllm.cli.main import main as cli_main

    requested = json.loads(sys.stdin.read())
    print(json.dumps({name: _run_one(cli_main, argv) for name, argv in requested.items()}))
