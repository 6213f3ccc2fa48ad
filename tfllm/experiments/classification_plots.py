"""PNG figures of a classifier's evaluation: the confusion matrix and the reliability diagram.

Both are drawn on a matplotlib `Figure` with the Agg canvas (no pyplot: no global state, no
display) and written atomically (`tfllm.atomic_files`): a reader sees the old file or the new
one, never half a PNG, and nothing else is left in the folder.

Example:

>>> import os, tempfile
>>> import numpy as np
>>> from tfllm.objectives.calibration import reliability_bins
>>> folder = tempfile.mkdtemp()
>>> matrix = np.array([[5, 1], [2, 4]])
>>> path = save_confusion_matrix(os.path.join(folder, "confusion.png"), matrix, ["no", "yes"])
>>> bins = reliability_bins(np.array([[0.9, 0.1], [0.3, 0.7]]), np.array([0, 0]))
>>> _ = save_reliability_diagram(os.path.join(folder, "reliability.png"), bins)
>>> sorted(os.listdir(folder))
['confusion.png', 'reliability.png']
"""

import io
import os

import numpy as np

from tfllm.atomic_files import write_bytes_atomically
from tfllm.objectives.calibration import ReliabilityBins

# Above this many classes the cells are too small to print their counts in.
_MAX_ANNOTATED_CLASSES = 30


def save_confusion_matrix(path, matrix, class_names, title=None):
    """Writes a PNG of a confusion matrix: rows true classes, columns predicted classes.

    Each cell shows its count; the colour is the count as a fraction of its row (the share of
    that true class predicted as each class), so rare classes stay readable.

    Args:
        path: the PNG file to write (its directory is created).
        matrix: (C, C) non-negative counts, e.g. `tfllm.objectives.confusion_matrix(...)`.
        class_names: C names, for the axes.
        title: optional plot title.

    Returns:
        `path`.
    """
    matrix = np.asarray(matrix)
    class_names = [str(name) for name in class_names]
    count = len(class_names)
    if matrix.shape != (count, count):
        raise ValueError(
            f"`matrix` must have shape ({count}, {count}), one row and column per class name. "
            f"Received: matrix.shape={matrix.shape}"
        )
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError(f"`matrix` must hold counts >= 0. Received: matrix={matrix!r}")
    figure = _new_figure(size=(1.6 + 0.55 * count, 1.2 + 0.5 * count))
    axes = figure.add_subplot(1, 1, 1)
    row_sums = matrix.sum(axis=1, keepdims=True)
    shares = matrix / np.where(row_sums > 0, row_sums, 1)
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, label="share of the true class")
    if count <= _MAX_ANNOTATED_CLASSES:
        for row in range(count):
            for column in range(count):
                colour = "white" if shares[row, column] > 0.5 else "black"
                axes.text(column, row, f"{matrix[row, column]:g}", ha="center", va="center",
                          color=colour, fontsize=8)
    axes.set_xticks(range(count), class_names, rotation=45, ha="right")
    axes.set_yticks(range(count), class_names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    if title:
        axes.set_title(title)
    return _write_png(figure, path)


def save_reliability_diagram(path, bins, title=None):
    """Writes a PNG of a reliability diagram: accuracy against confidence per bin.

    The top panel draws each non-empty bin's accuracy as a bar and its mean confidence as a
    marker, with the diagonal of perfect calibration; the gap between them, weighted by the
    bin's share of the examples, is what the expected calibration error (printed in a corner)
    sums. The bottom panel shows that share.

    Args:
        path: the PNG file to write (its directory is created).
        bins: `ReliabilityBins` from `tfllm.objectives.reliability_bins` or
            `ExpectedCalibrationError.reliability_bins()`.
        title: optional plot title.

    Returns:
        `path`.
    """
    if not isinstance(bins, ReliabilityBins):
        raise ValueError(
            "`bins` must be a `ReliabilityBins` (from `reliability_bins`). "
            f"Received: bins={bins!r}"
        )
    edges = np.asarray(bins.edges)
    centres, width = (edges[:-1] + edges[1:]) / 2, edges[1:] - edges[:-1]
    filled = bins.counts > 0
    total = bins.counts.sum()
    shares = bins.counts / total if total > 0 else np.zeros_like(bins.counts)
    figure = _new_figure(size=(5.5, 6.0))
    top = figure.add_axes((0.14, 0.36, 0.8, 0.56))
    bottom = figure.add_axes((0.14, 0.09, 0.8, 0.18), sharex=top)
    top.bar(centres[filled], bins.accuracy[filled], width=width[filled], color="tab:blue",
            edgecolor="white", label="accuracy")
    top.plot(centres[filled], bins.confidence[filled], "o", color="tab:red", markersize=4,
             label="mean confidence")
    top.plot([0, 1], [0, 1], "--", color="gray", linewidth=1, label="perfect calibration")
    top.text(0.97, 0.04, f"ECE = {bins.expected_calibration_error:.3f}", ha="right",
             transform=top.transAxes)
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.legend(loc="upper left", fontsize=8)
    top.grid(True, alpha=0.3)
    top.tick_params(labelbottom=False)
    if title:
        top.set_title(title)
    bottom.bar(centres, shares, width=width, color="tab:gray", edgecolor="white")
    bottom.set_xlabel("confidence")
    bottom.set_ylabel("share")
    bottom.grid(True, alpha=0.3)
    return _write_png(figure, path)


def _new_figure(size):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, dpi=100)
    FigureCanvasAgg(figure)  # attaches itself to the figure; savefig renders through it
    return figure


def _write_png(figure, path):
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    png = io.BytesIO()
    figure.savefig(png, format="png", bbox_inches="tight")
    write_bytes_atomically(path, png.getvalue())
    return path
