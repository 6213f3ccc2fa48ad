"""The life of a run through the real `tfllm train`: never lost to a late interruption, never
blocked by its own failure, one job per run directory, and an --output it may not replace
refused before any training.

Interruptions happen at named points (`TFLLM_TEST_PAUSE_AT`, `tfllm.pause_points`): the run
prints a marker there and waits for the test's signal, so no test depends on timing.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading

import pytest
from cli_process import assert_one_line_error, run_cli, run_cli_cases

from tfllm.pause_points import MARKER

INTERRUPTED = 130


def _train_args(corpus, run_dir, model_dir, *settings):
    """Two evaluation intervals of two steps of the smoke preset, without samples."""
    argv = ["train", "--preset", "smoke", "--quiet", "--corpus", corpus, "--run-dir", run_dir,
            "--output", model_dir, "--set", "train.steps=4", "--set", "train.eval_interval=2",
            "--set", "train.warmup_steps=1", "--set", "train.sample_length=0"]
    for setting in settings:
        argv += ["--set", setting]
    return [str(a) for a in argv]


def _hear_ctrl_c():
    """In the child, before exec: SIGINT back to its default. A shell without job control starts
    background jobs (`make test &`) with SIGINT ignored, which every child inherits, and Python
    leaves an ignored SIGINT ignored, so the test's Ctrl-C would never arrive."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_paused(argv, point):
    """Starts `tfllm ARGV` paused at `point`; returns (process, what it printed until then)."""
    env = dict(os.environ, TFLLM_TEST_PAUSE_AT=point)
    env.pop("TFLLM_DEBUG", None)
    process = subprocess.Popen([sys.executable, "-m", "tfllm.cli.main", *argv], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_hear_ctrl_c)
    watchdog = threading.Timer(300, process.kill)  # a run that never pauses fails, not hangs
    watchdog.start()
    printed = []
    try:
        for line in process.stdout:
            printed.append(line)
            if line.startswith(f"{MARKER} {point}"):
                return process, "".join(printed)
    finally:
        watchdog.cancel()
    process.wait()
    pytest.fail(f"the run ended before {point}: {''.join(printed)}{process.stderr.read()}")


def _interrupt(process):
    """Sends SIGINT (Ctrl-C); returns the last stderr line."""
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == INTERRUPTED, stderr
    return stderr.strip().splitlines()[-1]


def _assert_complete(model_dir, run_dir):
    for name in ("model.keras", "tokenizer/tokenizer.json", "config.json", "metrics.json",
                 "tfllm.json", "README.md", "loss_curve.png"):
        assert (model_dir / name).is_file(), name
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "completed" and status["model_dir"] == str(model_dir)
    assert not (run_dir / "backup").exists() and not (run_dir / "lock.json").exists()
    leftovers = [p.name for p in model_dir.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers


@pytest.mark.multiprocess  # three training processes: about 40 s on 2 shared cores
def test_a_run_interrupted_after_training_resumes_to_the_save(tmp_path, corpus):
    run_dir, model_dir = tmp_path / "run", tmp_path / "model"
    argv = _train_args(corpus, run_dir, model_dir)

    # Killed after the last epoch, before the final evaluation: the checkpoint is still there.
    process, printed = _start_paused(argv, "after_fit")
    assert "Epoch 2/2" in printed
    busy = run_cli(*argv)  # a second job on the same run directory, while the first runs
    assert_one_line_error(busy, f"(pid {process.pid}, since ", f"the run directory {run_dir}")
    process.kill()
    process.wait()
    assert (run_dir / "backup" / "latest.weights.h5").is_file() and not model_dir.exists()
    assert json.loads((run_dir / "lock.json").read_text())["pid"] == process.pid

    # The same command takes over the dead job's lock, trains nothing and saves the model;
    # Ctrl-C after the save (before the run is marked complete) says what is true then.
    process, printed = _start_paused(argv, "after_save")
    assert f"Note: took over the lock of the run directory {run_dir}" in printed
    assert (f"Resuming {run_dir} from its checkpoint after epoch 2 of 2 (step 4); training had "
            f"finished: on to the final evaluation.") in printed
    assert "Epoch" not in printed
    assert (model_dir / "model.keras").is_file()
    assert _interrupt(process) == (
        f"tfllm train: interrupted. Training had finished and its checkpoint in "
        f"{run_dir / 'backup'} is kept: run the same command again to evaluate and save the model.")

    # Once more: evaluates, replaces the model directory it wrote (and says so), completes.
    result = run_cli(*argv)
    assert result.code == 0, result.stderr
    assert (f"Note: replacing the model directory tfllm wrote earlier at {model_dir}"
            in result.stdout)
    assert "training had finished: on to the final evaluation" in result.stdout
    _assert_complete(model_dir, run_dir)


@pytest.mark.multiprocess  # two processes, four runs: about 40 s on 2 shared cores
def test_a_failed_or_completed_run_does_not_block_the_next_command(tmp_path, corpus):
    run_dir, model_dir = tmp_path / "run", tmp_path / "model"
    argv = _train_args(corpus, run_dir, model_dir)
    process, _ = _start_paused(argv, "after_start")
    assert _interrupt(process) == (
        "tfllm train: interrupted. No checkpoint had been written yet (one is written every "
        "train.eval_interval steps), so there is nothing to resume: the same command starts "
        "over and moves this partial run aside.")
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.json", "status.json", "tokenizer"]

    tiny = tmp_path / "tiny.txt"
    tiny.write_text("ROMEO: Good night.\n", encoding="utf-8")
    other_run, other_model = tmp_path / "other-run", tmp_path / "other-model"
    results = run_cli_cases({
        "fails": _train_args(tiny, other_run, other_model),
        "fixed": _train_args(corpus, other_run, other_model),
        "restarts": argv,
        "changed": _train_args(corpus, run_dir, model_dir, "train.learning_rate=0.002"),
    })
    assert_one_line_error(results["fails"], "too small")
    assert results["fixed"].code == 0, results["fixed"].stderr
    _assert_complete(other_model, other_run)
    assert not list(tmp_path.glob("other-run.previous-*")), "the failed run left nothing"

    restarted = results["restarts"]
    assert restarted.code == 0, restarted.stderr
    assert (f"The run directory {run_dir} held only the set-up files of a run that never "
            f"trained (config.json, status.json, tokenizer): removed them.") in restarted.stdout
    assert "Epoch 1/2" in restarted.stdout

    changed = results["changed"]
    assert changed.code == 0, changed.stderr
    (aside,) = tmp_path.glob("run.previous-*")
    assert (f"The run directory {run_dir} held a completed run (its model is in {model_dir}): "
            f"moved it to {aside}.") in changed.stdout
    assert json.loads((aside / "config.json").read_text())["train"]["learning_rate"] != 0.002
    assert (aside / "logs").is_dir() and (aside / "loss_curve.png").is_file()
    assert json.loads((run_dir / "config.json").read_text())["train"]["learning_rate"] == 0.002
    _assert_complete(model_dir, run_dir)


def test_refusals_come_before_tensorflow_and_change_nothing(tmp_path):
    from tfllm.config import apply_overrides
    from tfllm.presets import get_preset

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("ROMEO: Good night.\n" * 50, encoding="utf-8")
    busy = tmp_path / "busy"
    busy.mkdir()
    # This test's own process is alive: its lock is held.
    (busy / "lock.json").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("mine")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    resumable = tmp_path / "resumable"
    (resumable / "backup").mkdir(parents=True)
    (resumable / "backup" / "latest.weights.h5").write_bytes(b"weights")
    (resumable / "backup" / "training_metadata.json").write_text('{"epoch": 1}')
    args = _train_args(corpus, resumable, tmp_path / "model")
    settings = [a for a in args[args.index("--set"):] if a != "--set"]
    config = apply_overrides(get_preset("smoke"), [f"data.corpus={corpus}", *settings])
    (resumable / "config.json").write_text(config.to_json())
    before = {path: sorted(p.name for p in path.rglob("*")) for path in (busy, foreign, resumable)}

    results = run_cli_cases({
        "busy": _train_args(corpus, busy, tmp_path / "model"),
        "foreign": _train_args(corpus, foreign, tmp_path / "model"),
        "changed": _train_args(corpus, resumable, tmp_path / "model", "train.learning_rate=0.002",
                               "train.seed=7"),
        "output": _train_args(corpus, tmp_path / "run", foreign),
        "output_file": _train_args(corpus, tmp_path / "run", a_file),
        "output_is_run": _train_args(corpus, resumable, resumable),
    })
    assert_one_line_error(results["busy"], f"Another tfllm job (pid {os.getpid()}",
                          f"delete {busy / 'lock.json'}")
    assert_one_line_error(results["foreign"], f"{foreign} holds files but no config.json")
    assert_one_line_error(results["changed"],
                          "(changed: train.learning_rate, train.seed). Resume it with the same")
    assert_one_line_error(results["output"], "holds files tfllm did not write (precious.txt)")
    assert_one_line_error(results["output_file"], "is a file", "Add --overwrite")
    assert_one_line_error(results["output_is_run"], "which tfllm must not replace")
    for name, result in results.items():
        assert result.tensorflow_imported is False, name
    assert before == {path: sorted(p.name for p in path.rglob("*")) for path in before}
    assert not (tmp_path / "run").exists() and not (tmp_path / "model").exists()
    assert a_file.read_text() == "mine"
