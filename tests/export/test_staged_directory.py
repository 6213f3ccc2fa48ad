"""`staged_directory`: the swap is atomic, no sibling outlives it, stale ones are swept, and OS
errors a user can cause are one line with the previous directory kept."""

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tfllm.export import OutputPathError
from tfllm.export.staged_directory import host_label, staged_directory, sweep_stale_siblings


def dead_pid():
    """The id of a process that has exited and been reaped."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


def write(path, text):
    with staged_directory(path) as staging:
        (staging / "a.txt").write_text(text)


def test_replacing_leaves_only_the_new_directory(tmp_path):
    write(tmp_path / "out", "one")
    write(tmp_path / "out", "two")
    assert (tmp_path / "out" / "a.txt").read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failure_keeps_the_previous_directory_and_leaves_no_sibling(tmp_path):
    write(tmp_path / "out", "one")
    with pytest.raises(RuntimeError, match="boom"):
        with staged_directory(tmp_path / "out") as staging:
            (staging / "a.txt").write_text("half")
            raise RuntimeError("boom")
    assert (tmp_path / "out" / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replacing_a_regular_file_leaves_no_backup(tmp_path):
    (tmp_path / "out").write_text("a file")
    write(tmp_path / "out", "dir")
    assert (tmp_path / "out" / "a.txt").read_text() == "dir"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_replacing_a_link_leaves_what_it_points_to(tmp_path):
    write(tmp_path / "target", "kept")
    (tmp_path / "out").symlink_to(tmp_path / "target")
    write(tmp_path / "out", "new")
    assert not (tmp_path / "out").is_symlink() and (tmp_path / "out" / "a.txt").read_text() == "new"
    assert (tmp_path / "target" / "a.txt").read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "target"]


def test_a_failed_swap_moves_the_previous_directory_back(tmp_path, monkeypatch):
    write(tmp_path / "out", "one")
    real_rename = os.rename
    calls = []

    def rename(source, destination):
        calls.append(Path(source).name)
        if Path(source).name.startswith(".out.tmp-"):
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(source, destination)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OSError, match="cross-device"):
        write(tmp_path / "out", "two")
    assert len(calls) == 3  # out -> .old, .tmp -> out (fails), .old -> out
    assert (tmp_path / "out" / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_stale_siblings_of_dead_processes_are_swept_and_live_ones_kept(tmp_path):
    host, dead = host_label(), dead_pid()
    stale = [f".out.tmp-{host}-{dead}-1", f".out.old-{host}-{dead}-1"]
    kept = [
        f".out.tmp-{host}-{os.getppid()}-2",  # a live process (this one's parent)
        f".out.tmp-otherhost-{dead}-3",  # another host on a shared file system
        f".other.tmp-{host}-{dead}-4",  # another path's sibling
        "out.tmp-notes",  # the user's own file
    ]
    for name in stale + kept:
        (tmp_path / name).mkdir()
        (tmp_path / name / "x").write_text("x")
    write(tmp_path / "out", "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["out"])


def test_a_kill_between_the_two_renames_restores_the_previous_directory(tmp_path):
    # Killed after `out` was moved aside and before the new one was renamed in: the next run
    # finds no `out` and a stale `.out.old-*`, which is the previous directory.
    host, dead = host_label(), dead_pid()
    previous = tmp_path / f".out.old-{host}-{dead}-1"
    previous.mkdir()
    (previous / "a.txt").write_text("previous")
    (tmp_path / f".out.tmp-{host}-{dead}-1").mkdir()
    assert sweep_stale_siblings(tmp_path / "out") == [f".out.tmp-{host}-{dead}-1"]
    assert (tmp_path / "out" / "a.txt").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("code, name", [(errno.ENOSPC, "ENOSPC"), (errno.EACCES, "EACCES"),
                                        (errno.EROFS, "EROFS"), (errno.EISDIR, "EISDIR")])
def test_os_errors_a_user_can_cause_are_one_line(tmp_path, code, name):
    # Simulated in-process; a real full disk is tested on a small tmpfs below.
    write(tmp_path / "out", "one")
    with pytest.raises(OutputPathError) as caught:
        with staged_directory(tmp_path / "out", what="model directory") as staging:
            raise OSError(code, os.strerror(code), str(staging / "model.keras"))
    message = str(caught.value)
    assert message.startswith(f"Cannot write the model directory {tmp_path / 'out'}: ")
    assert f"({name})" in message and "--output" in message and "\n" not in message
    assert (tmp_path / "out" / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_tensorflow_file_system_errors_are_recognised_by_their_wording(tmp_path):
    class ResourceExhaustedError(Exception):
        __module__ = "tensorflow.python.framework.errors_impl"

    with pytest.raises(OutputPathError, match=r"no space left on device \(ENOSPC\)"):
        with staged_directory(tmp_path / "out", create=False):
            raise ResourceExhaustedError("out/variables; No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_pass_through_unchanged(tmp_path):
    with pytest.raises(OSError, match="disk full") as caught:
        with staged_directory(tmp_path / "out"):
            raise OSError("disk full")  # no errno: not one the user can be told how to fix
    assert not isinstance(caught.value, OutputPathError)


def test_a_path_under_a_regular_file_is_one_line(tmp_path):
    (tmp_path / "somefile").write_text("x")
    expected = r"somefile/sub: a part of the path is not a directory \(ENOTDIR: .*somefile\)"
    with pytest.raises(OutputPathError, match=expected):
        write(tmp_path / "somefile" / "sub", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefile"]


def small_mount(path, size):
    """Mounts a tmpfs of `size` at `path`, or skips the test with the reason."""
    path.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("a size-limited tmpfs needs Linux's mount")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {result.stderr.strip()[:200]}")
    return path


@pytest.fixture
def full_disk(tmp_path):
    mount = small_mount(tmp_path / "mnt", "256k")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_keeps_the_previous_directory(full_disk):
    write(full_disk / "out", "one")
    with pytest.raises(OutputPathError, match=r"no space left on device \(ENOSPC\)\. Free space"):
        with staged_directory(full_disk / "out") as staging:
            (staging / "big.bin").write_bytes(b"\0" * 512 * 1024)
    assert (full_disk / "out" / "a.txt").read_text() == "one"
    assert sorted(p.name for p in full_disk.iterdir()) == ["out"]
