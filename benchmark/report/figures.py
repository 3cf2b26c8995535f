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
    # Labels come from suites and data sets: a name such as "$\\alpha$ net" is
    # text, not a formula (mathtext would fail on it and stop the report).
    "text.parse_math": False,
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
    if epochs:
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


def class_balance(class_names: list[str], counts: dict[str, list[int]]) -> bytes:
    """Samples per class in each split (the seed's histogram of the target)."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 1.9), layout="constrained")
    positions = np.arange(len(class_names))
    width = 0.8 / max(1, len(counts))
    for index, (part, values) in enumerate(counts.items()):
        axis.bar(positions + (index - (len(counts) - 1) / 2) * width, values, width, label=part)
    axis.set_xticks(positions, class_names, rotation=30 if len(class_names) > 6 else 0)
    axis.set_ylabel("Samples")
    axis.legend()
    return _png(figure)


def correlation(columns: list[str], values: list[list[float]]) -> bytes:
    """Pearson correlation of the numeric columns and the target."""
    n = len(columns)
    size = min(7.16, max(COLUMN_WIDTH, 0.22 * n + 1.4))
    figure, axis = plt.subplots(figsize=(size, size * 0.85), layout="constrained")
    image = axis.imshow(np.asarray(values, dtype=float), cmap="RdBu_r", vmin=-1, vmax=1)
    labels = [c if len(c) <= 22 else c[:21] + "…" for c in columns]
    axis.set_xticks(range(n), labels, rotation=90, fontsize=6 if n > 12 else 7)
    axis.set_yticks(range(n), labels, fontsize=6 if n > 12 else 7)
    axis.grid(False)
    if n <= 12:
        for i in range(n):
            for j in range(n):
                axis.text(j, i, f"{values[i][j]:.2f}", ha="center", va="center", fontsize=5.5)
    figure.colorbar(image, ax=axis, shrink=0.8)
    return _png(figure)


def roc_pr_points(y_true: list[int], positive_proba: list[float],
                  threshold: float | None) -> dict[str, Any]:
    """ROC and precision-recall curves of one binary classifier, and the point
    where its decision threshold puts it (the figure's data)."""
    from sklearn.metrics import (average_precision_score, confusion_matrix,
                                 precision_recall_curve, roc_auc_score, roc_curve)

    y, p = np.asarray(y_true), np.asarray(positive_proba)
    fpr, tpr, _ = roc_curve(y, p)
    precision, recall, _ = precision_recall_curve(y, p)
    cut = 0.5 if threshold is None else threshold
    tn, fp, fn, tp = confusion_matrix(y, (p >= cut).astype(int), labels=[0, 1]).ravel()
    return {
        "fpr": fpr.tolist(), "tpr": tpr.tolist(),
        "precision": precision.tolist(), "recall": recall.tolist(),
        "auc": float(roc_auc_score(y, p)), "ap": float(average_precision_score(y, p)),
        "threshold": cut,
        "point": {"fpr": fp / max(1, fp + tn), "tpr": tp / max(1, tp + fn),
                  "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / max(1, tp + fn)},
        "prevalence": float(y.mean()),
    }


def roc_pr(series: dict[str, dict[str, Any]]) -> bytes:
    """ROC (left) and precision-recall (right) curves of several models, overlaid,
    each model's operating point marked."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(7.16, 2.5), layout="constrained")
    for index, (label, s) in enumerate(series.items()):
        color = f"C{index}"
        left.plot(s["fpr"], s["tpr"], color=color, linewidth=1, label=f"{label} ({s['auc']:.3f})")
        left.plot(s["point"]["fpr"], s["point"]["tpr"], "o", color=color, markersize=4)
        right.step(s["recall"], s["precision"], where="post", color=color, linewidth=1,
                   label=f"{label} ({s['ap']:.3f})")
        right.plot(s["point"]["recall"], s["point"]["precision"], "o", color=color, markersize=4)
    left.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    if series:
        right.axhline(next(iter(series.values()))["prevalence"], linestyle=":", color="grey",
                      linewidth=0.8)
    left.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC (AUC)")
    right.set(xlabel="Recall", ylabel="Precision", title="Precision-recall (AP)",
              ylim=(0, 1.02))
    left.legend(loc="lower right", fontsize=6)
    right.legend(loc="lower left", fontsize=6)
    return _png(figure)


def roc_one_vs_rest(y_true: list[int], proba: list[list[float]], class_names: list[str]) -> bytes:
    """One-vs-rest ROC curves of one multiclass model, one curve per class."""
    from sklearn.metrics import RocCurveDisplay

    y, p = np.asarray(y_true), np.asarray(proba)
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.6), layout="constrained")
    for k, name in enumerate(class_names):
        if 0 < (y == k).sum() < len(y):
            RocCurveDisplay.from_predictions(y == k, p[:, k], ax=axis, name=name,
                                             plot_chance_level=k == len(class_names) - 1,
                                             curve_kwargs={"linewidth": 1})
    axis.set(xlabel="False positive rate", ylabel="True positive rate")
    axis.legend(fontsize=6, loc="lower right")
    return _png(figure)


def confusion_grid(matrices: dict[str, list[list[int]]], class_names: list[str]) -> bytes:
    """The test-split confusion matrix of every model, side by side."""
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(matrices)
    columns = min(n, 3 if len(class_names) <= 3 else 2)
    rows = -(-n // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(7.16, 2.2 * rows), layout="constrained",
                                squeeze=False)
    for axis, (label, matrix) in zip(axes.flat, matrices.items(), strict=False):
        ConfusionMatrixDisplay(np.asarray(matrix), display_labels=class_names).plot(
            ax=axis, colorbar=False, cmap="Blues", values_format="d", text_kw={"fontsize": 7})
        axis.set_title(label)
        axis.grid(False)
    for axis in list(axes.flat)[n:]:
        axis.set_visible(False)
    return _png(figure)


def sample_grid(samples: list[dict[str, str]]) -> bytes:
    """Training images with their labels (``samples``: base64 PNGs from the summary)."""
    import base64

    from PIL import Image

    columns = min(10, max(1, len(samples)))
    rows = max(1, -(-len(samples) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(COLUMN_WIDTH, 0.42 * rows * COLUMN_WIDTH / columns * 2.2),
                                layout="constrained", squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, sample in zip(axes.flat, samples, strict=False):
        image = np.asarray(Image.open(io.BytesIO(base64.b64decode(sample["png"]))))
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        axis.set_title(sample["label"], fontsize=6, pad=1.5)
    return _png(figure)


def importances(per_model: dict[str, dict[str, float]]) -> bytes:
    """Optuna's fANOVA hyper-parameter importances, one panel per model."""
    heights = [0.35 + 0.16 * len(values) for values in per_model.values()]
    figure, axes = plt.subplots(len(per_model), 1, figsize=(COLUMN_WIDTH, 0.3 + sum(heights)),
                                layout="constrained", squeeze=False,
                                gridspec_kw={"height_ratios": heights})
    for index, (axis, (label, values)) in enumerate(zip(axes[:, 0], per_model.items())):
        names = list(values)[::-1]  # most important on top
        axis.barh(names, [values[n] for n in names], color=f"C{index}", height=0.6)
        axis.set_xlim(0, 1)
        axis.set_title(label, loc="left")
        axis.tick_params(axis="y", labelsize=6.5)
        axis.grid(axis="y", visible=False)
    axes[-1, 0].set_xlabel("Importance (share of the objective's variance, fANOVA)")
    return _png(figure)


def trade_off(series: dict[str, dict[str, list[float]]], front: list[tuple[float, float]],
              metric: str) -> bytes:
    """Validation score against training time of every completed trial, per model,
    with the Pareto front (no trial both faster and better) as a line."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.1), layout="constrained")
    for index, (label, points) in enumerate(series.items()):
        axis.scatter(points["seconds"], points["values"], s=9, color=f"C{index}", alpha=0.7,
                     label=label)
    if front:
        xs, ys = zip(*front)
        axis.step(xs, ys, where="post", color="black", linewidth=0.9, label="Pareto front")
        axis.scatter(xs, ys, s=22, facecolors="none", edgecolors="black", linewidths=0.8)
    times = [t for points in series.values() for t in points["seconds"]]
    if times and max(times) > 20 * max(min(times), 1e-3):  # spans orders of magnitude
        axis.set_xscale("log")
    axis.set_xlabel("Training time of the trial (s)")
    axis.set_ylabel(f"Validation {metric}")
    if series:
        axis.legend(loc="lower right", fontsize=6.5)
    return _png(figure)


def accuracy_loss(histories: dict[str, list[dict[str, float]]]) -> bytes:
    """Accuracy against loss, epoch by epoch, of each model's best trial: training
    (left) and validation (right), as seed 003 plots them; the square marks the
    first epoch."""
    figure, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 1.8), layout="constrained",
                                sharey=True)
    for axis, prefix, name in ((axes[0], "", "Training"), (axes[1], "val_", "Validation")):
        for index, (label, history) in enumerate(histories.items()):
            points = [(h[prefix + "loss"], h[prefix + "accuracy"]) for h in history
                      if prefix + "loss" in h and prefix + "accuracy" in h]
            if not points:
                continue
            xs, ys = zip(*points)
            axis.plot(xs, ys, "-o", markersize=2, linewidth=0.9, color=f"C{index}", label=label)
            axis.plot(xs[0], ys[0], "s", markersize=3.5, color=f"C{index}")
        axis.set_xlabel(f"{name} loss")
        axis.set_title(name, loc="left")
    axes[0].set_ylabel("Accuracy")
    if histories:
        axes[1].legend(loc="lower left", fontsize=6)
    return _png(figure)


def trend(scores: list[float | None], seconds: list[float | None],
          bands: list[tuple[float, float] | None], metric: str) -> bytes:
    """Test score (left) and training time (right) of one model across runs, the
    current run last (red); a band, where given, is the normal night-to-night
    variation of the runs before it."""
    figure, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 1.6), layout="constrained")
    positions = list(range(1, len(scores) + 1))
    for axis, values, band, label in ((axes[0], scores, bands[0], f"Test {metric}"),
                                      (axes[1], seconds, bands[1], "Training time (s)")):
        if band is not None:
            axis.axhspan(*band, color="C0", alpha=0.15, linewidth=0)
        axis.plot(positions, values, "-o", markersize=2.5, color="C0")
        if values and values[-1] is not None:
            axis.plot(positions[-1], values[-1], "o", markersize=4.5, color="C3")
        axis.set_xlabel("Run")
        axis.set_ylabel(label)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(figure)
