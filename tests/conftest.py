"""Shared test set-up: quiet, deterministic TensorFlow on CPU, and one trained smoke model.

Environment variables are set before anything imports TensorFlow (pytest imports this file
first), because TensorFlow reads them once at start-up.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402


def _split_the_cpu_into_two_logical_devices():
    """Two logical CPUs, so MirroredStrategy tests have two replicas on a CPU-only machine.

    TensorFlow refuses to change logical devices once it has initialised ("Virtual devices
    cannot be modified after being initialized"), so this runs when pytest imports this file,
    before any test touches TensorFlow. Ops still run on /cpu:0 unless a strategy says otherwise.
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
        )
    except RuntimeError:  # already initialised by something imported earlier: one device it is
        pass


_split_the_cpu_into_two_logical_devices()


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
