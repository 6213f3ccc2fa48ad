"""A disk that fills during a real `tfllm train`: one line, the last good checkpoint kept whole,
and the same command, once there is space, resumes and completes.

The disks are size-limited tmpfs mounts, which need root: the tests skip elsewhere.
"""

import subprocess

import pytest
from cli_process import assert_one_line_error, run_cli_cases


@pytest.fixture
def small_disk(tmp_path):
    """`mount(name, size)` makes `tmp_path/name` a tmpfs of `size` ("1600k"); `grow` enlarges it."""
    mounted = []

    def mount(name, size):
        point = tmp_path / name
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a size-limited tmpfs here: {done.stderr.strip()}")
        mounted.append(point)
        return point

    def grow(point, size):
        subprocess.run(["mount", "-o", f"remount,size={size}", str(point)], check=True)

    mount.grow = grow
    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def _train_args(corpus, run_dir, model_dir):
    """Two evaluation intervals of two steps of the smoke preset (a 1 MB backup), no samples."""
    argv = ["train", "--preset", "smoke", "--quiet", "--corpus", corpus, "--run-dir", run_dir,
            "--output", model_dir, "--set", "train.steps=4", "--set", "train.eval_interval=2",
            "--set", "train.warmup_steps=1", "--set", "train.sample_length=0"]
    return [str(a) for a in argv]


@pytest.mark.multiprocess  # two processes, four short runs: about 30 s on 2 shared cores
def test_a_disk_that_fills_during_training_or_the_save_loses_nothing(tmp_path, corpus,
                                                                     small_disk):
    # Room for the first 1 MB backup, not for the second (which first copies the first aside).
    run_disk = small_disk("run_disk", "1600k")
    model_disk = small_disk("model_disk", "600k")  # less than the model directory needs
    full_runs = _train_args(corpus, run_disk / "run", tmp_path / "model_a")
    full_model = _train_args(corpus, tmp_path / "run_b", model_disk / "model")
    results = run_cli_cases({"full_runs": full_runs, "full_model": full_model})

    backup = run_disk / "run" / "backup"
    line = assert_one_line_error(
        results["full_runs"], "The run stopped: no space left on device (ENOSPC: "
        f"{backup / 'latest.weights.h5'}; writing it needs about ", "Free space first. ",
        f"resume from the checkpoint after epoch 1 of 2 in {backup}")
    assert "is free)" in line
    # The first backup is whole (h5py never started the second write) and nothing is left over.
    assert sorted(p.name for p in backup.iterdir()) == ["latest.weights.h5",
                                                        "training_metadata.json"]
    assert (backup / "latest.weights.h5").stat().st_size > 900_000

    assert_one_line_error(
        results["full_model"], f"Cannot write the model directory {model_disk / 'model'}: no "
        "space left on device (ENOSPC). Free space or choose another --output. Training had "
        f"finished and its checkpoint in {tmp_path / 'run_b' / 'backup'} is kept")
    assert list(model_disk.iterdir()) == []  # the staging copy is gone

    small_disk.grow(run_disk, "16m")
    small_disk.grow(model_disk, "16m")
    results = run_cli_cases({"full_runs": full_runs, "full_model": full_model})
    for name, resumed in (("full_runs", "after epoch 1 of 2 (step 2)."),
                          ("full_model", "after epoch 2 of 2 (step 4); training had finished")):
        result = results[name]
        assert result.code == 0, result.stderr
        assert f"from its checkpoint {resumed}" in result.stdout
    assert (tmp_path / "model_a" / "model.keras").is_file()
    assert (model_disk / "model" / "model.keras").is_file()
