"""Paths a user names to `tfllm export` and `tfllm tokenizer train`, through the real CLI: a folder
of the user's own files, the source model, a file, a path under a file, a stale staging sibling,
a full disk. Each refusal is exit code 2 and one stderr line; the disk is checked afterwards."""

import os
import shutil
import subprocess
import sys

import pytest
from cli_process import assert_one_line_error, run_cli, run_cli_cases

from tfllm.export.staged_directory import host_label


def listing(path):
    return sorted(p.name for p in path.iterdir())


def earlier_export(path, size=10):
    """A serving export as tfllm marks it (the marker and a SavedModel of `size` bytes)."""
    path.mkdir()
    (path / "tfllm_serving.json").write_text("{}")
    (path / "saved_model.pb").write_bytes(b"\0" * size)
    return path


def dead_pid():
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)
    return int(child.stdout)


@pytest.fixture
def important(tmp_path):
    folder = tmp_path / "important"
    folder.mkdir()
    (folder / "precious.txt").write_text("x")
    return folder


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "lines.txt"
    path.write_text("To be, or not to be, that is the question.\n" * 40, encoding="utf-8")
    return path


def tokenizer_train(output, corpus, *flags):
    return ["tokenizer", "train", "--kind", "byte", "--corpus", corpus, "--output", output, *flags]


def test_a_folder_of_the_users_files_is_refused_even_with_overwrite(untrained_model_dir, important,
                                                                      corpus):
    for flags in ([], ["--overwrite"]):
        line = assert_one_line_error(
            run_cli("export", "--model", untrained_model_dir, "--output", important, *flags),
            str(important), "holds files tfllm did not write (precious.txt)", "--output",
        )
        assert "Traceback" not in line
        assert_one_line_error(run_cli(*tokenizer_train(important, corpus, *flags)),
                              "holds files tfllm did not write (precious.txt)")
        result = run_cli("embeddings", "train", "--corpus", corpus, "--output", important, *flags)
        assert_one_line_error(result, "holds files tfllm did not write (precious.txt)")
    assert listing(important) == ["precious.txt"] and listing(important.parent) == ["important"]
    assert (important / "precious.txt").read_text() == "x"


def test_export_never_writes_over_or_around_its_model(untrained_model_dir):
    before = listing(untrained_model_dir)
    cases = {
        untrained_model_dir: "is",
        untrained_model_dir / "elsewhere": "lies inside",
        untrained_model_dir.parent: "holds",
    }
    for output, relation in cases.items():
        assert_one_line_error(
            run_cli("export", "--model", untrained_model_dir, "--output", output, "--overwrite"),
            f"{relation} {untrained_model_dir}", "even with --overwrite",
        )
    assert listing(untrained_model_dir) == before


def test_a_path_under_a_file_and_a_file_without_overwrite(untrained_model_dir, tmp_path, corpus):
    somefile = tmp_path / "somefile"
    somefile.write_text("x")
    assert_one_line_error(
        run_cli("export", "--model", untrained_model_dir, "--output", somefile / "sub"),
        f"{somefile} is not a directory",
    )
    assert_one_line_error(run_cli(*tokenizer_train(somefile / "sub", corpus)),
                          f"{somefile} is not a directory")
    assert_one_line_error(run_cli(*tokenizer_train(somefile, corpus)),
                          "is a file", "Add --overwrite")
    assert listing(tmp_path) == ["somefile"] and somefile.read_text() == "x"


def test_replacing_what_tfllm_wrote_and_sweeping_what_a_dead_run_left(untrained_model_dir, tmp_path,
                                                                      corpus):
    model = shutil.copytree(untrained_model_dir, tmp_path / "model")
    earlier_export(model / "serving")
    afile = tmp_path / "afile"
    afile.write_text("x")
    host, dead = host_label(), dead_pid()
    stale = tmp_path / f".tok.tmp-{host}-{dead}-1"
    live = tmp_path / f".tok.tmp-{host}-{os.getpid()}-2"  # this test's process is alive
    for sibling in (stale, live):
        sibling.mkdir()
        (sibling / "tokenizer.json").write_text("{")

    results = run_cli_cases({
        "tokenizer": tokenizer_train(tmp_path / "tok", corpus),
        "tokenizer again": tokenizer_train(tmp_path / "tok", corpus),
        "tokenizer over a file": tokenizer_train(afile, corpus, "--overwrite"),
        "export": ["export", "--model", model],
    })
    for name, result in results.items():
        assert result.code == 0, (name, result.stderr)
    assert "Note" not in results["tokenizer"].stdout
    assert f"Note: replacing the tokenizer directory tfllm wrote earlier at {tmp_path / 'tok'}." \
        in results["tokenizer again"].stdout
    assert "Note: replacing the file" in results["tokenizer over a file"].stdout
    assert f"Note: replacing the serving export tfllm wrote earlier at {model / 'serving'}." \
        in results["export"].stdout
    assert listing(tmp_path) == sorted(["afile", "model", "tok", live.name])
    assert listing(afile) == ["tokenizer.json"] and listing(tmp_path / "tok") == ["tokenizer.json"]
    assert "serving" in listing(model) and not [n for n in listing(model) if n.startswith(".")]
    assert "tfllm_serving.json" in listing(model / "serving")
    assert (model / "serving" / "saved_model.pb").stat().st_size > 1000  # the new export


def test_a_full_disk_is_one_line_and_keeps_the_previous_export(untrained_model_dir, tmp_path):
    mount = tmp_path / "mnt"
    mount.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("a size-limited tmpfs needs Linux's mount")
    # The export is about 1.7 MB: it fits in 2.5 MB, but not beside an earlier one of 1.5 MB.
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2500k", "tmpfs", str(mount)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {mounted.stderr.strip()[:200]}")
    try:
        earlier_export(mount / "serving", size=1500 * 1024)
        before = {p.name: p.stat().st_size for p in (mount / "serving").iterdir()}
        assert_one_line_error(
            run_cli("export", "--model", untrained_model_dir, "--output", mount / "serving"),
            f"Cannot write the serving export {mount / 'serving'}: no space left on device "
            f"(ENOSPC). Free space or choose another --output.",
        )
        assert listing(mount) == ["serving"]
        assert {p.name: p.stat().st_size for p in (mount / "serving").iterdir()} == before
    finally:
        subprocess.run(["umount", str(mount)], check=True)
