"""The run directory's life in plain Python: states, the lock, setting a run aside, the notes."""

import doctest
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from tfllm import pid_lock, run_directory
from tfllm.errors import ConfigError, TrainingError
from tfllm.pid_lock import PidLock, process_start_time
from tfllm.run_directory import (
    RunDirectory,
    changed_keys,
    check_run_dir,
    inspect_run_dir,
    interruption_note,
)

CONFIG = {"name": "demo", "model": {"class_name": "GPT", "config": {"num_layers": 2}},
          "train": {"steps": 40, "eval_interval": 10, "learning_rate": 0.001}}


@pytest.mark.parametrize("module", [run_directory, pid_lock])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def _write_run(path, *, config=CONFIG, status=None, fit_epoch=None, custom=False, extra=()):
    path.mkdir(parents=True, exist_ok=True)
    (path / "config.json").write_text(json.dumps(config))
    (path / "tokenizer").mkdir(exist_ok=True)
    (path / "tokenizer" / "tokenizer.json").write_text("{}")
    if status:
        (path / "status.json").write_text(json.dumps(status))
    if fit_epoch is not None:
        (path / "backup").mkdir()
        (path / "backup" / "latest.weights.h5").write_bytes(b"weights")
        (path / "backup" / "training_metadata.json").write_text(json.dumps({"epoch": fit_epoch}))
    if custom:
        (path / "checkpoints").mkdir()
        (path / "checkpoints" / "ckpt-3.index").write_bytes(b"index")
    for name in extra:
        (path / name).mkdir(parents=True, exist_ok=True)
    return path


def _dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _lock_contents(pid, **changes):
    return json.dumps({"pid": pid, "host": socket.gethostname(),
                       "process_start": process_start_time(pid), "since": "earlier", **changes})


def test_states_are_read_without_changing_anything(tmp_path):
    assert inspect_run_dir(tmp_path / "absent").state == "new"
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    cases = {
        "foreign": tmp_path / "foreign",
        "unfinished": _write_run(tmp_path / "unfinished", status={"state": "training"}),
        "resumable": _write_run(tmp_path / "fit", fit_epoch=2),
        "trained": _write_run(tmp_path / "trained", custom=True, status={"state": "trained"}),
        "completed": _write_run(tmp_path / "completed", fit_epoch=4,
                                status={"state": "completed", "model_dir": "out"}),
    }
    for expected, path in cases.items():
        before = sorted(p.name for p in path.rglob("*"))
        found = inspect_run_dir(path)
        assert found.state == expected, (expected, found)
        assert sorted(p.name for p in path.rglob("*")) == before
    fit = inspect_run_dir(tmp_path / "fit")
    assert (fit.epoch, fit.epochs, fit.checkpoint) == (2, 4, tmp_path / "fit" / "backup")
    assert inspect_run_dir(tmp_path / "completed").model_dir == "out"
    assert inspect_run_dir(tmp_path / "trained").checkpoint == tmp_path / "trained" / "checkpoints"


def test_only_a_resumable_run_of_another_config_is_refused(tmp_path):
    changed = json.loads(json.dumps(CONFIG))
    changed["train"]["learning_rate"] = 0.002
    changed["model"]["config"]["num_layers"] = 3
    resumable = _write_run(tmp_path / "resumable", fit_epoch=1)
    with pytest.raises(ConfigError, match=r"unfinished run with a different config \(changed: "
                                          r"model\.num_layers, train\.learning_rate\)"):
        check_run_dir(resumable, changed)
    assert check_run_dir(resumable, CONFIG).state == "resumable"
    # Before model arguments are converted (the CLI's early check) only the rest is compared.
    only_model = json.loads(json.dumps(CONFIG))
    only_model["model"]["config"]["num_layers"] = "2"
    assert check_run_dir(resumable, only_model, compare_model=False).state == "resumable"
    for state, path in (("completed", _write_run(tmp_path / "completed",
                                                 status={"state": "completed"})),
                        ("unfinished", _write_run(tmp_path / "unfinished"))):
        assert check_run_dir(path, changed).state == state
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="tfllm did not write it"):
        check_run_dir(tmp_path / "foreign", CONFIG)
    assert (tmp_path / "foreign" / "notes.txt").read_text() == "mine"


def test_changed_keys_name_model_arguments_as_set_does():
    assert changed_keys(CONFIG, CONFIG) == []
    other = json.loads(json.dumps(CONFIG))
    other["model"]["config"]["dropout"] = 0.1
    other["name"] = "other"
    assert changed_keys(CONFIG, other) == ["model.dropout", "name"]


def test_a_live_holder_refuses_and_a_dead_one_is_taken_over(tmp_path):
    lock_path = tmp_path / "lock.json"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock_path.write_text(_lock_contents(sleeper.pid))
        with pytest.raises(TrainingError, match=rf"Another tfllm job \(pid {sleeper.pid}, since "
                                                rf"earlier\) is using .*delete {lock_path}"):
            PidLock(lock_path).acquire()
        # The same pid started at another time: the holder died and its pid was reused.
        lock_path.write_text(_lock_contents(sleeper.pid, process_start="1"))
        notes = []
        lock = PidLock(lock_path, what="the run directory R", print_fn=notes.append).acquire()
        assert notes and "took over the lock of the run directory R" in notes[0]
        assert json.loads(lock_path.read_text())["pid"] == os.getpid()
        lock.release()
        assert not lock_path.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    dead = _dead_pid()
    lock_path.write_text(_lock_contents(dead))
    notes = []
    PidLock(lock_path, print_fn=notes.append).acquire().release()
    assert f"pid {dead}" in notes[0] and not list(tmp_path.iterdir())


def test_a_lock_from_another_host_or_still_being_written_counts_as_held(tmp_path):
    lock_path = tmp_path / "lock.json"
    lock_path.write_text(_lock_contents(_dead_pid(), host="elsewhere"))
    with pytest.raises(TrainingError, match="on host elsewhere"):
        PidLock(lock_path).acquire()
    lock_path.write_text("")  # just created by another process, not yet written
    with pytest.raises(TrainingError, match="Another tfllm job"):
        PidLock(lock_path).acquire()
    old = time.time() - 60
    os.utime(lock_path, (old, old))  # left empty by a process killed as it wrote
    PidLock(lock_path, print_fn=None).acquire().release()
    assert not lock_path.exists()


def test_a_run_that_never_starts_leaves_nothing(tmp_path):
    path = tmp_path / "runs" / "new"
    directory = RunDirectory(path, print_fn=None).open(CONFIG)
    assert (path / "lock.json").exists()
    with pytest.raises(TrainingError, match="Another tfllm job"):
        RunDirectory(path, print_fn=None).open(CONFIG)  # one job per run directory
    directory.release()
    assert not (tmp_path / "runs").exists(), "the folders it created are removed too"
    # A directory that existed before is kept, only the lock goes.
    resumable = _write_run(tmp_path / "resumable", fit_epoch=1)
    before = sorted(p.name for p in resumable.rglob("*"))
    RunDirectory(resumable, print_fn=None).open(CONFIG).release()
    assert sorted(p.name for p in resumable.rglob("*")) == before


def test_start_sets_a_completed_run_aside_and_keeps_a_resumable_one(tmp_path):
    notes = []
    completed = _write_run(tmp_path / "run", fit_epoch=None, extra=("logs/train",),
                           status={"state": "completed", "model_dir": "saved/run"})
    directory = RunDirectory(completed, print_fn=notes.append).open(CONFIG)
    assert sorted(p.name for p in completed.iterdir()) == [
        "config.json", "lock.json", "logs", "status.json", "tokenizer"], "open writes only a lock"
    directory.start()
    (aside,) = tmp_path.glob("run.previous-*")
    assert notes == [f"The run directory {completed} held a completed run (its model is in "
                     f"saved/run): moved it to {aside}."]
    assert (aside / "logs" / "train").is_dir() and (aside / "tokenizer").is_dir()
    assert json.loads((completed / "config.json").read_text()) == CONFIG
    assert json.loads((completed / "status.json").read_text())["state"] == "training"
    directory.release()

    resumable = _write_run(tmp_path / "resumable", fit_epoch=1, extra=("logs",))
    directory = RunDirectory(resumable, print_fn=notes.append).open(CONFIG)
    directory.start()
    assert directory.resumable and (resumable / "backup" / "latest.weights.h5").exists()
    directory.mark_trained()
    assert inspect_run_dir(resumable).state == "trained"
    directory.complete(model_dir="saved/resumable")
    directory.release()
    found = inspect_run_dir(resumable)
    assert (found.state, found.model_dir) == ("completed", "saved/resumable")
    assert not (resumable / "backup").exists() and not (resumable / "lock.json").exists()


def test_set_up_files_alone_are_removed_and_a_partial_run_is_moved(tmp_path):
    notes = []
    set_up_only = _write_run(tmp_path / "set-up", status={"state": "training"})
    directory = RunDirectory(set_up_only, print_fn=notes.append).open(CONFIG)
    directory.start()
    directory.release()
    assert notes[0] == (f"The run directory {set_up_only} held only the set-up files of a run "
                        f"that never trained (config.json, status.json, tokenizer): removed them.")
    assert not list(tmp_path.glob("set-up.previous-*"))
    partial = _write_run(tmp_path / "partial", extra=("logs/steps",))
    directory = RunDirectory(partial, print_fn=notes.append).open(CONFIG)
    directory.start()
    directory.release()
    (aside,) = tmp_path.glob("partial.previous-*")
    assert "moved it to" in notes[1] and (aside / "logs" / "steps").is_dir()


def test_the_interruption_note_is_what_the_disk_holds(tmp_path):
    assert interruption_note(tmp_path / "absent", started=False) == (
        f"The run had not started: nothing was written to {tmp_path / 'absent'}.")
    fit = _write_run(tmp_path / "fit", fit_epoch=3)
    assert interruption_note(fit) == ("Run the same command again to resume from the checkpoint "
                                      f"after epoch 3 of 4 in {fit / 'backup'}.")
    assert interruption_note(fit, started=False).startswith(
        "The run had not started; run the same command again to resume from the checkpoint")
    custom = _write_run(tmp_path / "custom", custom=True)
    assert "resume from the last checkpoint in" in interruption_note(custom)
    trained = _write_run(tmp_path / "trained", fit_epoch=4, status={"state": "trained"})
    assert "Training had finished" in interruption_note(trained)
    assert "evaluate and save the model" in interruption_note(trained)
    unfinished = _write_run(tmp_path / "unfinished")
    assert interruption_note(unfinished).startswith("No checkpoint had been written yet")
    assert "resume" not in interruption_note(unfinished).replace("nothing to resume", "")
    assert interruption_note(unfinished, started=False) == (
        f"The run had not started; {unfinished} is as it was.")
    completed = _write_run(tmp_path / "completed", status={"state": "completed", "model_dir": "m"})
    assert interruption_note(completed) == f"The run in {completed} had completed and its model " \
                                           "is saved in m."


def test_a_run_dir_that_is_a_file_or_under_one_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    with pytest.raises(ConfigError, match="is a file"):
        RunDirectory(notes, print_fn=None).open(CONFIG)
    with pytest.raises(TrainingError, match=r"Cannot create the run directory .*notes.txt/run"):
        RunDirectory(notes / "run", print_fn=None).open(CONFIG)
    assert notes.read_text() == "mine"
