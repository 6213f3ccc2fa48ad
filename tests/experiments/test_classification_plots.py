"""The confusion-matrix and reliability-diagram PNGs: written whole, nothing else left behind."""

import doctest

import numpy as np
import pytest

import tfllm.experiments.classification_plots as classification_plots
from tfllm.experiments import save_confusion_matrix, save_reliability_diagram
from tfllm.objectives import ExpectedCalibrationError, confusion_matrix, reliability_bins

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def random_bins(num_bins=15):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 4)) * 2
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, 4, 200)
    return reliability_bins(probabilities, labels, num_bins=num_bins), probabilities, labels


def test_confusion_matrix_png(tmp_path):
    _, probabilities, labels = random_bins()
    matrix = confusion_matrix(labels, probabilities.argmax(-1), 4)
    path = tmp_path / "plots" / "confusion.png"  # the folder is created
    assert save_confusion_matrix(path, matrix, ["w", "x", "y", "z"], title="test") == str(path)
    assert path.read_bytes().startswith(PNG_SIGNATURE)
    assert [p.name for p in path.parent.iterdir()] == ["confusion.png"]


def test_reliability_diagram_png_and_an_overwrite(tmp_path):
    bins, _, _ = random_bins()
    path = tmp_path / "reliability.png"
    save_reliability_diagram(path, bins, title="random")
    first = path.read_bytes()
    assert first.startswith(PNG_SIGNATURE)
    # From a metric's bins, with empty bins among them, over the same file.
    metric = ExpectedCalibrationError(num_bins=10, from_logits=False)
    metric.update_state(np.array([0, 1]), np.array([[0.9, 0.1], [0.6, 0.4]], "float32"))
    save_reliability_diagram(path, metric.reliability_bins())
    assert path.read_bytes().startswith(PNG_SIGNATURE) and path.read_bytes() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reliability.png"]


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("tfllm.atomic_files.os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        save_confusion_matrix(tmp_path / "confusion.png", np.eye(2), ["a", "b"])
    assert list(tmp_path.iterdir()) == []


def test_invalid_arguments_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"Received: matrix.shape=\(2, 3\)"):
        save_confusion_matrix(tmp_path / "c.png", np.zeros((2, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="counts >= 0"):
        save_confusion_matrix(tmp_path / "c.png", -np.eye(2), ["a", "b"])
    with pytest.raises(ValueError, match="Received: bins="):
        save_reliability_diagram(tmp_path / "r.png", {"counts": [1]})
    assert list(tmp_path.iterdir()) == []


def test_docstring_examples():
    result = doctest.testmod(classification_plots, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
