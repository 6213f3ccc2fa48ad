"""Shared test set-up: quiet, deterministic TensorFlow on CPU, and one trained smoke model.

Environment variables are set before anything imports TensorFlow (pytest imports this file
first), because TensorFlow reads them once at start-up.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)
    yield


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory):
    """The `smoke` preset trained once on the real plays through the CLI, shared by CLI tests.

    Returns (model_dir, run_dir, stdout of `tfllm train`).
    """
    import contextlib
    import io

    from tfllm.cli.main import main

    root = tmp_path_factory.mktemp("smoke")
    model_dir, run_dir = root / "model", root / "run"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main([
            "train", "--preset", "smoke", "--quiet",
            "--run-dir", str(run_dir), "--output", str(model_dir),
        ])
    assert code == 0, stdout.getvalue()
    return model_dir, run_dir, stdout.getvalue()
