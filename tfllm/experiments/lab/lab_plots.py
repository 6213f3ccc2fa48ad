"""The lab's figures: curves, scatter fronts and reliability diagrams, as matplotlib `Figure`s.

Figures are built without pyplot (no global state, no display) and small (about 6 x 4 inches at
80 dpi), so that a report's PNGs stay a few tens of kilobytes;
`LabRun.save_figure` writes them.

Example:

>>> figure = line_figure({"a": ([1, 2, 3], [3.0, 2.0, 1.5])}, "tokens", "loss", "Demo")
>>> len(figure.axes[0].lines)
1
"""

import numpy as np


def _figure():
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 4))
    return figure, figure.add_subplot(1, 1, 1)


def line_figure(series, xlabel, ylabel, title, *, logx=False):
    """One line per entry of `series`: `{label: (xs, ys)}`."""
    figure, axes = _figure()
    for label, (xs, ys) in series.items():
        axes.plot(xs, ys, marker="o", markersize=3, label=label)
    if logx:
        axes.set_xscale("log")
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def scatter_figure(groups, xlabel, ylabel, title, *, annotate=True):
    """One marker style per group: `{group: [(x, y, point_label), ...]}`; points of a group are
    joined in order (a sweep), each labelled with its `point_label`."""
    figure, axes = _figure()
    for group, points in groups.items():
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        axes.plot(xs, ys, marker="o", label=group)
        if annotate:
            for x, y, label in points:
                axes.annotate(str(label), (x, y), fontsize=7, xytext=(3, 3),
                              textcoords="offset points")
    axes.set(xlabel=xlabel, ylabel=ylabel, title=title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure


def reliability_figure(named_bins, title):
    """Accuracy against confidence per bin for each `{label: ReliabilityBins}`, beside the
    diagonal of perfect calibration; empty bins are left out."""
    figure, axes = _figure()
    axes.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="calibrated")
    for label, bins in named_bins.items():
        used = np.asarray(bins.counts) > 0
        axes.plot(np.asarray(bins.confidence)[used], np.asarray(bins.accuracy)[used],
                  marker="o", markersize=3, label=label)
    axes.set(xlabel="confidence (top probability)", ylabel="accuracy", title=title,
             xlim=(0, 1), ylim=(0, 1))
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return figure
