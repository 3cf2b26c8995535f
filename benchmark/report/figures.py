"""Figures of the report. Each takes plain data (lists, dicts) and returns PNG
bytes, so a figure can be redrawn from the database alone."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

# One IEEE column is 3.5 in wide; figures are drawn at that size so that their
# text prints at the paper's 8 pt, not shrunk.
COLUMN_WIDTH = 3.5
plt.rcParams.update({
    "font.family": "serif",
    "font.serif": ["TeX Gyre Termes", "Liberation Serif", "DejaVu Serif"],
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.3,
    "figure.dpi": 100, "savefig.dpi": 220,
})


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def curves(history: list[dict[str, float]], title: str = "") -> bytes:
    """Training and validation accuracy (left) and loss (right) against epoch."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 1.7), layout="constrained")
    epochs = list(range(1, len(history) + 1))
    for axis, key, label in ((left, "accuracy", "Accuracy"), (right, "loss", "Loss")):
        for prefix, name, style in (("", "train", "-"), ("val_", "validation", "--")):
            values = [h.get(prefix + key) for h in history]
            if any(v is not None for v in values):
                axis.plot(epochs, values, style, marker="o", markersize=2.5, label=name)
        axis.set_xlabel("Epoch")
        axis.set_ylabel(label)
        if epochs:
            axis.set_xticks(epochs if len(epochs) <= 10 else epochs[:: max(1, len(epochs) // 5)])
    if not epochs:
        for axis in (left, right):
            axis.text(0.5, 0.5, "no epochs recorded", ha="center", va="center",
                      transform=axis.transAxes)
    left.legend(loc="lower right")
    if title:
        figure.suptitle(title)
    return _png(figure)


def confusion(matrix: list[list[int]], class_names: list[str]) -> bytes:
    from sklearn.metrics import ConfusionMatrixDisplay

    size = min(COLUMN_WIDTH, 1.0 + 0.28 * len(class_names))
    figure, axis = plt.subplots(figsize=(size, size), layout="constrained")
    ConfusionMatrixDisplay(confusion_matrix=np.asarray(matrix),
                           display_labels=class_names).plot(
        ax=axis, colorbar=False, cmap="Blues", values_format="d",
        text_kw={"fontsize": 6 if len(class_names) > 6 else 7})
    axis.grid(False)
    return _png(figure)


def history_points(trials: list[dict[str, Any]], direction: str) -> dict[str, list]:
    """Per completed trial its value, and the best value so far (the figure's data)."""
    numbers, values, best_so_far = [], [], []
    best = None
    better = max if direction == "maximize" else min
    for trial in trials:
        if trial["state"] != "complete" or trial["value"] is None:
            continue
        best = trial["value"] if best is None else better(best, trial["value"])
        numbers.append(trial["number"])
        values.append(trial["value"])
        best_so_far.append(best)
    return {"numbers": numbers, "values": values, "best": best_so_far}


def search_history(series: dict[str, dict[str, list]], metric: str) -> bytes:
    """Validation score of every completed trial, and the best so far, per model."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.0), layout="constrained")
    for index, (label, points) in enumerate(series.items()):
        color = f"C{index}"
        axis.scatter(points["numbers"], points["values"], s=8, color=color, alpha=0.6)
        axis.step(points["numbers"], points["best"], where="post", color=color, label=label)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("Trial")
    axis.set_ylabel(f"Validation {metric}")
    if series:
        axis.legend(loc="lower right")
    return _png(figure)
