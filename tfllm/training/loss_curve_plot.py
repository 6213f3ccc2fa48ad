"""Loss curves as PNG files: training loss per step and validation loss per epoch."""

import io
import math
import os

import keras

from tfllm.atomic_files import write_bytes_atomically


def plot_loss_curve(train_points, val_points, path, title=None):
    """Writes a PNG of loss against optimizer step, atomically (readers never see half a file).

    Args:
        train_points: iterable of (step, training loss in nats per token).
        val_points: iterable of (step, validation loss).
        path: the PNG file to write (its directory is created).
        title: optional plot title.

    Returns:
        `path`.

    Example:

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "loss_curve.png")
    >>> plot_loss_curve([(10, 3.2), (20, 2.6)], [(20, 2.8)], path) == path
    True
    """
    # Figure without pyplot: no global state, no display, the Agg canvas renders the PNG.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = os.fspath(path)
    train_points = [(int(s), float(v)) for s, v in train_points if math.isfinite(float(v))]
    val_points = [(int(s), float(v)) for s, v in val_points if math.isfinite(float(v))]
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    if train_points:
        steps, losses = zip(*train_points)
        axes.plot(steps, losses, label="training", color="tab:blue", linewidth=1.2)
    if val_points:
        steps, losses = zip(*val_points)
        axes.plot(steps, losses, label="validation", color="tab:orange", marker="o", linewidth=1.5)
    axes.set_xlabel("step")
    axes.set_ylabel("loss (nats per token)")
    if title:
        axes.set_title(title)
    if train_points or val_points:
        axes.legend()
    axes.grid(True, alpha=0.3)
    figure.tight_layout()

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    png = io.BytesIO()
    figure.savefig(png, format="png")
    write_bytes_atomically(path, png.getvalue())
    return path


class LossCurvePlot(keras.callbacks.Callback):
    """Rewrites a loss-curve PNG at every epoch end and at the end of training.

    Training points come from a `ThroughputLogger` (its mean loss per `log_every` steps) when one is
    given, else from the epoch-end `loss`; validation points are `val_loss` at each epoch end.
    Both are plotted against the optimizer step.

    Args:
        path: the PNG file.
        throughput_logger: optional `ThroughputLogger` of the same `fit`, for per-step points.
        title: optional plot title.

    Example:

    >>> throughput = ThroughputLogger(tokens_per_step=64 * 256)  # doctest: +SKIP
    >>> plot = LossCurvePlot(
    ...     "runs/demo/loss_curve.png", throughput_logger=throughput
    ... )  # doctest: +SKIP
    >>> # model.fit(data, validation_data=val, callbacks=[throughput, plot])
    """

    def __init__(self, path, throughput_logger=None, title=None):
        super().__init__()
        self.path = os.fspath(path)
        self.throughput_logger = throughput_logger
        self.title = title
        self.epoch_train_points = []  # [(step, loss)] at epoch ends
        self.val_points = []  # [(step, val_loss)]

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        step = int(self.model.optimizer.iterations.numpy())
        if "loss" in logs:
            self.epoch_train_points.append((step, float(logs["loss"])))
        if "val_loss" in logs:
            self.val_points.append((step, float(logs["val_loss"])))
        self.write()

    def on_train_end(self, logs=None):
        self.write()

    def write(self):
        """Writes the PNG now with the points collected so far; returns its path."""
        if self.throughput_logger is not None and self.throughput_logger.history:
            train_points = self.throughput_logger.history
        else:
            train_points = self.epoch_train_points
        return plot_loss_curve(train_points, self.val_points, self.path, title=self.title)
