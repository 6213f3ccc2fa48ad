"""A full disk or a permission error while a run writes becomes one TrainingError line that
says what the run left (the checkpoint is kept)."""

import errno

import pytest

import tfllm.experiments.training_run as training_run
from tfllm.errors import TrainingError
from tfllm.presets import get_preset


@pytest.mark.parametrize("code, meaning", [(errno.ENOSPC, "no space left on device (ENOSPC"),
                                           (errno.EACCES, "permission denied (EACCES")])
def test_an_os_error_while_training_is_one_line_naming_the_file(tmp_path, monkeypatch, code,
                                                                meaning):
    def failing_train(*args, **kwargs):
        raise OSError(code, "from the OS", str(tmp_path / "run" / "loss_curve.png"))

    monkeypatch.setattr(training_run, "train", failing_train)
    with pytest.raises(TrainingError) as raised:
        training_run.run_training(get_preset("smoke"), run_dir=tmp_path / "run",
                                  output_dir=tmp_path / "model", print_fn=lambda *_: None)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"The run stopped: {meaning}")
    assert "loss_curve.png" in message
    assert not (tmp_path / "model").exists()


def test_other_errors_pass_through(tmp_path, monkeypatch):
    def failing_train(*args, **kwargs):
        raise OSError(errno.EIO, "input/output error")  # not one a user can fix

    monkeypatch.setattr(training_run, "train", failing_train)
    with pytest.raises(OSError):
        training_run.run_training(get_preset("smoke"), run_dir=tmp_path / "run",
                                  output_dir=tmp_path / "model", print_fn=lambda *_: None)
