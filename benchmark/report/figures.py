"""Figures of the report, in two steps as Optuna's plot functions do: the data a
figure shows is computed first (``*_points``, or the plain data the caller
passes), then drawn into a Matplotlib Figure, which the tests read back. ``svg``
turns a figure into the vector image the HTML and PDF embed, so a figure stays
sharp when zoomed or printed, and can be redrawn from the database alone."""

from __future__ import annotations

import io
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import LogFormatter, MaxNLocator  # noqa: E402

# One IEEE column is 3.5 in wide (a page 7.16 in); figures are drawn at that size
# so that their text prints at the paper's 8 pt, not shrunk.
COLUMN_WIDTH = 3.5
PAGE_WIDTH = 7.16
plt.rcParams.update({
    "font.family": "serif",
    "font.serif": ["TeX Gyre Termes", "Liberation Serif", "DejaVu Serif"],
    "font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "legend.fontsize": 7,
    "xtick.labelsize": 7, "ytick.labelsize": 7, "axes.grid": True, "grid.alpha": 0.3,
    "figure.dpi": 100, "savefig.dpi": 220,
    # Labels come from suites and data sets: a name such as "$\\alpha$ net" is
    # text, not a formula (mathtext would fail on it and stop the report). What
    # Matplotlib itself writes as mathtext (log-axis labels) is replaced in svg().
    "text.parse_math": False,
    # Glyphs as paths: the figure looks the same in every browser and in the PDF
    # whatever fonts the reader's machine has.
    "svg.fonttype": "path", "svg.hashsalt": "benchmark",
})

# Up to ten models are told apart in greyscale print by marker and line style,
# not only by colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINE_STYLES = ("-", "--", "-.", ":")


def style(index: int) -> dict[str, Any]:
    """Colour, marker and line style of the index-th model of a figure."""
    return {"color": f"C{index % 10}", "marker": MARKERS[index % len(MARKERS)],
            "linestyle": LINE_STYLES[index % len(LINE_STYLES)]}


class _PlainLogFormatter(LogFormatter):
    """Log-axis labels as plain numbers (0.1, 1, 10, 100): Matplotlib's default
    writes them as mathtext ($\\mathdefault{10^{1}}$), which text.parse_math=False
    would print raw."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:g}"


def _plain_log_labels(figure: Figure) -> None:
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            if axis.get_scale() == "log":
                axis.set_major_formatter(_PlainLogFormatter())
                axis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))


def svg(figure: Figure) -> bytes:
    """The figure as SVG (closed afterwards; its artists can still be read)."""
    _plain_log_labels(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


def _legend_below(figure: Figure, handles: list, labels: list[str], width: float) -> None:
    """A legend under the axes, outside them, so it covers no data whatever the
    number of models: as many columns as the longest label allows."""
    if not handles:
        return
    longest = max(len(label) for label in labels)
    columns = max(1, min(len(labels), int(width / (0.4 + 0.045 * longest))))
    figure.legend(handles, labels, loc="outside lower center", ncols=columns, fontsize=6.5,
                  frameon=False, handlelength=2.2, columnspacing=1.2)


def curves(history: list[dict[str, float]], title: str = "") -> Figure:
    """Training and validation accuracy (left) and loss (right) against epoch."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 1.9), layout="constrained")
    epochs = list(range(1, len(history) + 1))
    for axis, key, label in ((left, "accuracy", "Accuracy"), (right, "loss", "Loss")):
        for index, (prefix, name) in enumerate((("", "training"), ("val_", "validation"))):
            values = [h.get(prefix + key) for h in history]
            if any(v is not None for v in values):
                axis.plot(epochs, values, **{**style(index), "linestyle": "-" if index == 0 else "--"},
                          markersize=2.5, label=name)
        axis.set_xlabel("Epoch")
        axis.set_ylabel(label)
        if epochs:
            axis.set_xticks(epochs if len(epochs) <= 10 else epochs[:: max(1, len(epochs) // 5)])
    if not epochs:
        for axis in (left, right):
            axis.text(0.5, 0.5, "no epochs recorded", ha="center", va="center",
                      transform=axis.transAxes)
    _legend_below(figure, *max(left.get_legend_handles_labels(), right.get_legend_handles_labels(),
                               key=lambda pair: len(pair[0])), COLUMN_WIDTH)
    if title:
        figure.suptitle(title)
    return figure


def confusion(matrix: list[list[int]], class_names: list[str]) -> Figure:
    from sklearn.metrics import ConfusionMatrixDisplay

    size = min(COLUMN_WIDTH, 1.0 + 0.28 * len(class_names))
    figure, axis = plt.subplots(figsize=(size, size), layout="constrained")
    ConfusionMatrixDisplay(confusion_matrix=np.asarray(matrix),
                           display_labels=class_names).plot(
        ax=axis, colorbar=False, cmap="Blues", values_format="d",
        text_kw={"fontsize": 6 if len(class_names) > 6 else 7})
    axis.grid(False)
    return figure


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


def search_history(series: dict[str, dict[str, list]], metric: str,
                   label: str | None = None) -> Figure:
    """Search score of every completed trial, and the best so far, per model;
    ``label`` names the score on the axis (e.g. "Cross-validated f1")."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.3), layout="constrained")
    for index, (model, points) in enumerate(series.items()):
        if not points["numbers"]:
            continue  # no completed trial: nothing to draw (the caption's table says so)
        look = style(index)
        axis.scatter(points["numbers"], points["values"], s=9, color=look["color"],
                     marker=look["marker"], alpha=0.6, linewidths=0)
        axis.step(points["numbers"], points["best"], where="post", color=look["color"],
                  linestyle=look["linestyle"], marker=look["marker"], markersize=3,
                  markevery=[len(points["best"]) - 1], label=model)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("Trial")
    axis.set_ylabel(label or f"Validation {metric}")
    _legend_below(figure, *axis.get_legend_handles_labels(), COLUMN_WIDTH)
    return figure


# Line hatches: dotted ones make SVG patterns of thousands of circles.
BAR_HATCHES = ("", "////", "\\\\\\\\", "xxx")


def class_balance(class_names: list[str], counts: dict[str, list[int]]) -> Figure:
    """Samples per class in each split (the seed's histogram of the target)."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.1), layout="constrained")
    positions = np.arange(len(class_names))
    width = 0.8 / max(1, len(counts))
    for index, (part, values) in enumerate(counts.items()):
        axis.bar(positions + (index - (len(counts) - 1) / 2) * width, values, width, label=part,
                 color=f"C{index}", hatch=BAR_HATCHES[index % len(BAR_HATCHES)],
                 edgecolor="white", linewidth=0)
    axis.set_xticks(positions, class_names, rotation=30 if len(class_names) > 6 else 0)
    axis.set_ylabel("Samples")
    axis.grid(axis="x", visible=False)
    _legend_below(figure, *axis.get_legend_handles_labels(), COLUMN_WIDTH)
    return figure


def correlation(columns: list[str], values: list[list[float]]) -> Figure:
    """Pearson correlation of the numeric columns and the target."""
    n = len(columns)
    size = min(PAGE_WIDTH, max(COLUMN_WIDTH, 0.22 * n + 1.4))
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
    return figure


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


def roc_pr(series: dict[str, dict[str, Any]]) -> Figure:
    """ROC (left) and precision-recall (right) curves of several models, overlaid,
    each model's operating point marked by a large marker of its shape."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 2.7), layout="constrained")
    for index, (label, s) in enumerate(series.items()):
        look = style(index)
        curve = {**look, "linewidth": 1, "markersize": 3, "markevery": 0.1}
        left.plot(s["fpr"], s["tpr"], **curve, label=f"{label} (AUC {s['auc']:.3f}, AP {s['ap']:.3f})")
        right.plot(s["recall"], s["precision"], drawstyle="steps-post", **curve)
        point = {"marker": look["marker"], "color": look["color"], "markersize": 6,
                 "markeredgecolor": "black", "markeredgewidth": 0.6, "linestyle": "none"}
        left.plot(s["point"]["fpr"], s["point"]["tpr"], **point)
        right.plot(s["point"]["recall"], s["point"]["precision"], **point)
    left.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8)
    if series:
        right.axhline(next(iter(series.values()))["prevalence"], linestyle=":", color="grey",
                      linewidth=0.8)
    left.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC")
    right.set(xlabel="Recall", ylabel="Precision", title="Precision-recall", ylim=(0, 1.02))
    _legend_below(figure, *left.get_legend_handles_labels(), PAGE_WIDTH)
    return figure


def roc_one_vs_rest_points(y_true: list[int], proba: list[list[float]],
                           class_names: list[str]) -> dict[str, dict[str, Any]]:
    """One-vs-rest ROC curve and AUC per class present in the test split (the
    figure's data); a class absent from it, or alone in it, has no curve."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y, p = np.asarray(y_true), np.asarray(proba)
    curves_by_class = {}
    for k, name in enumerate(class_names):
        if 0 < (y == k).sum() < len(y):
            fpr, tpr, _ = roc_curve(y == k, p[:, k])
            curves_by_class[name] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(),
                                     "auc": float(roc_auc_score(y == k, p[:, k]))}
    return curves_by_class


def roc_one_vs_rest(per_class: dict[str, dict[str, Any]]) -> Figure:
    """One-vs-rest ROC curves of one multiclass model, one curve per class."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.8), layout="constrained")
    for index, (name, s) in enumerate(per_class.items()):
        axis.plot(s["fpr"], s["tpr"], **style(index), linewidth=1, markersize=3, markevery=0.1,
                  label=f"{name} (AUC {s['auc']:.3f})")
    axis.plot([0, 1], [0, 1], ":", color="grey", linewidth=0.8, label="chance")
    axis.set(xlabel="False positive rate", ylabel="True positive rate")
    _legend_below(figure, *axis.get_legend_handles_labels(), COLUMN_WIDTH)
    return figure


def confusion_grid(matrices: dict[str, list[list[int]]], class_names: list[str]) -> Figure:
    """The test-split confusion matrix of every model, side by side."""
    from sklearn.metrics import ConfusionMatrixDisplay

    n = len(matrices)
    columns = min(n, 3 if len(class_names) <= 3 else 2)
    rows = -(-n // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(PAGE_WIDTH, 2.2 * rows),
                                layout="constrained", squeeze=False)
    for axis, (label, matrix) in zip(axes.flat, matrices.items(), strict=False):
        ConfusionMatrixDisplay(np.asarray(matrix), display_labels=class_names).plot(
            ax=axis, colorbar=False, cmap="Blues", values_format="d", text_kw={"fontsize": 7})
        axis.set_title(label)
        axis.grid(False)
    for axis in list(axes.flat)[n:]:
        axis.set_visible(False)
    return figure


def sample_grid(samples: list[dict[str, str]]) -> Figure:
    """Training images with their labels (``samples``: base64 PNGs from the summary)."""
    import base64

    from PIL import Image

    columns = min(10, max(1, len(samples)))
    rows = max(1, -(-len(samples) // columns))
    figure, axes = plt.subplots(rows, columns,
                                figsize=(COLUMN_WIDTH, 0.42 * rows * COLUMN_WIDTH / columns * 2.2),
                                layout="constrained", squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, sample in zip(axes.flat, samples, strict=False):
        image = np.asarray(Image.open(io.BytesIO(base64.b64decode(sample["png"]))))
        axis.imshow(image, cmap="gray" if image.ndim == 2 else None, interpolation="nearest")
        axis.set_title(sample["label"], fontsize=6, pad=1.5)
    return figure


def importances(per_model: dict[str, dict[str, float]]) -> Figure:
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
    return figure


def spans_decades(values: list[float]) -> bool:
    """Whether positive values span enough orders of magnitude for a log axis."""
    return bool(values) and max(values) > 20 * max(min(values), 1e-3)


def trade_off(series: dict[str, dict[str, list[float]]], front: list[tuple[float, float]],
              metric: str, label: str | None = None) -> Figure:
    """Search score (``label``) against training time of every completed trial, per model,
    with the Pareto front (no trial both faster and better) as a line."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.4), layout="constrained")
    for index, (model, points) in enumerate(series.items()):
        look = style(index)
        axis.scatter(points["seconds"], points["values"], s=10, color=look["color"],
                     marker=look["marker"], alpha=0.75, linewidths=0, label=model)
    if front:
        xs, ys = zip(*front)
        axis.step(xs, ys, where="post", color="black", linewidth=0.9, label="Pareto front")
        axis.scatter(xs, ys, s=24, facecolors="none", edgecolors="black", linewidths=0.8)
    if spans_decades([t for points in series.values() for t in points["seconds"]]):
        axis.set_xscale("log")
    axis.set_xlabel("Training time of the trial (s)")
    axis.set_ylabel(label or f"Validation {metric}")
    _legend_below(figure, *axis.get_legend_handles_labels(), COLUMN_WIDTH)
    return figure


def cost(points: dict[str, dict[str, float]], fronts: dict[str, list[tuple[float, float]]],
         label: str) -> Figure:
    """Test score of each selected model against its prediction latency (left)
    and its size on disk (right), ± the s.d. over refits, with each panel's
    Pareto front (no model both cheaper and better than a point on it)."""
    figure, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 2.3), layout="constrained",
                                sharey=True)
    for axis, key, title in ((axes[0], "latency_ms", "Latency per sample (ms)"),
                             (axes[1], "size_mib", "Size on disk (MiB)")):
        for index, (model, point) in enumerate(points.items()):
            look = style(index)
            axis.errorbar([point[key]], [point["score"]], yerr=[point.get("std") or 0.0],
                          fmt=look["marker"], color=look["color"], markersize=4, capsize=2,
                          elinewidth=0.8, label=model)
        front = sorted(fronts.get(key) or [])
        if len(front) > 1:
            xs, ys = zip(*front)
            axis.step(xs, ys, where="post", color="black", linewidth=0.8, label="Pareto front")
        if spans_decades([point[key] for point in points.values()]):
            axis.set_xscale("log")
        axis.set_xlabel(title)
        axis.tick_params(labelsize=7)
    axes[0].set_ylabel(label)
    _legend_below(figure, *axes[0].get_legend_handles_labels(), COLUMN_WIDTH)
    return figure


def accuracy_loss(histories: dict[str, list[dict[str, float]]]) -> Figure:
    """Accuracy against loss, epoch by epoch, of each model's best trial: training
    (left) and validation (right), as seed 003 plots them; a large hollow marker
    marks the first epoch."""
    figure, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 2.1), layout="constrained",
                                sharey=True)
    for axis, prefix, name in ((axes[0], "", "Training"), (axes[1], "val_", "Validation")):
        for index, (label, history) in enumerate(histories.items()):
            points = [(h[prefix + "loss"], h[prefix + "accuracy"]) for h in history
                      if prefix + "loss" in h and prefix + "accuracy" in h]
            if not points:
                continue
            xs, ys = zip(*points)
            look = style(index)
            axis.plot(xs, ys, **look, markersize=2.5, linewidth=0.9, label=label)
            axis.plot(xs[0], ys[0], marker=look["marker"], markersize=6, linestyle="none",
                      markerfacecolor="none", markeredgecolor=look["color"])
        axis.set_xlabel(f"{name} loss")
        axis.set_title(name, loc="left")
    axes[0].set_ylabel("Accuracy")
    _legend_below(figure, *max((a.get_legend_handles_labels() for a in axes),
                               key=lambda pair: len(pair[0])), COLUMN_WIDTH)
    return figure


def trend(scores: list[float | None], seconds: list[float | None],
          bands: list[tuple[float, float] | None], metric: str) -> Figure:
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
            axis.plot(positions[-1], values[-1], "D", markersize=4.5, color="C3")
        axis.set_xlabel("Run")
        axis.set_ylabel(label)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def _text_width(text: str, size: float) -> float:
    """Width in inches of ``text`` at ``size`` points in the figures' font."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    width, _, _ = TextToPath().get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False)
    return width / 72


def critical_difference(avg_ranks: dict[str, float], cd: float, cliques: list[list[str]],
                        alpha: float, best_right: bool = True) -> Figure:
    """Critical-difference diagram of the Nemenyi test (Demšar, JMLR 7 (2006),
    Fig. 1): the average ranks on an axis from 1 to k, rank 1 (best) on the
    right as Demšar draws it (``best_right=False``: on the left); each model's
    name, with its average rank, at the end of a line from its rank out to the
    side of the better or the worse half; under the axis a thick bar joins the
    models of each clique (not significantly different at ``alpha``), and above
    it a bar as long as the CD, from rank 1, with its value."""
    ranked = sorted(avg_ranks.items(), key=lambda item: item[1])
    k = len(ranked)
    low, high = 1, max(k, 2)
    size = 7
    labels = [f"{name} ({rank:.2f})" for name, rank in ranked]
    half = -(-k // 2)  # the better half (rounded up) goes to the best side
    best_names, worst_names = labels[:half], labels[half:]
    # Horizontal room, in inches: a line runs `reach` beyond the axis' end,
    # then the longest name on that side; the axis gets what is left.
    reach, gap = 0.12, 0.04
    best_room = reach + gap + max((_text_width(t, size) for t in best_names), default=0)
    worst_room = reach + gap + max((_text_width(t, size) for t in worst_names), default=0)
    width = COLUMN_WIDTH
    if width - 0.15 - best_room - worst_room < 0.45 * (high - low):
        width = PAGE_WIDTH  # long names: the axis would be too short in a column
    unit = max(0.2, (width - 0.15 - best_room - worst_room) / (high - low))  # inches per rank
    # Vertical layout in inches, y growing downwards from the axis at 0: the CD
    # bar and the tick labels above it, clique bars and then the name rows below.
    # Clique bars share a level where they do not overlap (cliques come in rank
    # order, so the first level free at a bar's left end is the one).
    overhang = 0.06 / unit
    spans = [(min(avg_ranks[n] for n in c) - overhang, max(avg_ranks[n] for n in c) + overhang)
             for c in cliques]
    level_ends: list[float] = []
    levels = []
    for start, end in spans:
        level = next((i for i, last in enumerate(level_ends) if start > last + 0.08 / unit),
                     len(level_ends))
        if level == len(level_ends):
            level_ends.append(end)
        level_ends[level] = end
        levels.append(level)
    row, bar_step = 0.16, 0.09
    first_bar = 0.1
    first_row = first_bar + bar_step * max(0, len(level_ends) - 1) + 0.14
    rows = max(len(best_names), len(worst_names))
    bottom = first_row + row * (rows - 1) + 0.06
    top = -0.42
    figure, axis = plt.subplots(figsize=(width, bottom - top + 0.1), layout="constrained")
    axis.set_axis_off()
    axis.grid(False)
    # x in ranks, converted to inches by `unit`; the best end first on the left
    # unless best_right, when the axis is turned as in Demšar's figure.
    best_end = low - best_room / unit
    worst_end = high + worst_room / unit
    axis.set_xlim((worst_end, best_end) if best_right else (best_end, worst_end))
    axis.set_ylim(bottom, top)
    line = {"color": "black", "linewidth": 0.8, "solid_capstyle": "butt", "clip_on": False}
    axis.plot([low, high], [0, 0], **line)
    for tick in range(low, high + 1):
        axis.plot([tick, tick], [0, -0.05], **line)
        axis.text(tick, -0.07, str(tick), ha="center", va="bottom", fontsize=size)
    for tick in np.arange(low + 0.5, high, 1.0):
        axis.plot([tick, tick], [0, -0.03], **{**line, "linewidth": 0.6})
    # The CD, from rank 1 inwards, above the tick labels.
    y_cd = -0.3
    axis.plot([low, low + cd], [y_cd, y_cd], **{**line, "linewidth": 1.0})
    for x in (low, low + cd):
        axis.plot([x, x], [y_cd - 0.03, y_cd + 0.03], **line)
    axis.text(low + cd / 2, y_cd - 0.03, f"CD = {cd:.2f} (α = {alpha:g})", ha="center",
              va="bottom", fontsize=size)
    # Names: the better half to the best side, the worse half to the other,
    # the ones nearest the middle of the axis on the lowest rows.
    outward_best = "left" if best_right else "right"
    outward_worst = "right" if best_right else "left"
    for position, ((name, rank), label) in enumerate(zip(ranked, labels)):
        if position < half:
            y, end, align = first_row + row * position, low - reach / unit, outward_best
        else:
            y, end, align = first_row + row * (k - 1 - position), high + reach / unit, outward_worst
        axis.plot([rank, rank, end], [0, y, y], **{**line, "linewidth": 0.7})
        axis.text(end + (-1 if position < half else 1) * gap / unit, y, label, ha=align,
                  va="center", fontsize=size)
    for (start, end), level in zip(spans, levels):
        y = first_bar + level * bar_step
        axis.plot([start, end], [y, y], **{**line, "linewidth": 2.2})
    return figure


def score_against_budget(series: dict[str, dict[str, list[float]]], metric: str,
                         x_label: str) -> Figure:
    """For one data set, each model's best validation score so far (a step
    that rises, or falls, at each improving trial) against the cumulative
    trial seconds spent on it (left) and against the number of trials (right):
    which model gets good fastest, and whether more budget still pays.
    ``series[model]`` = {"x": seconds, "trials": trial counts, "best": scores}."""
    figure, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 2.3), layout="constrained",
                                sharey=True)
    for index, (model, points) in enumerate(series.items()):
        if not points["x"]:
            continue  # no completed trial: nothing to draw
        look = style(index)
        for axis, key in zip(axes, ("x", "trials")):
            axis.step(points[key], points["best"], where="post", color=look["color"],
                      linestyle=look["linestyle"], marker=look["marker"], markersize=3,
                      markevery=[len(points["best"]) - 1], linewidth=1, label=model)
    if spans_decades([x for points in series.values() for x in points["x"] if x > 0]):
        axes[0].set_xscale("log")
    axes[0].set_xlabel(x_label)
    axes[1].set_xlabel("Trials")
    axes[0].set_ylabel(f"Best validation {metric}\nso far")
    _legend_below(figure, *axes[0].get_legend_handles_labels(), PAGE_WIDTH)
    return figure


def learning_curve(series: dict[str, dict[str, list[float]]], metric: str) -> Figure:
    """For one data set, each model's test score (mean over the refits, bars:
    s.d.) against the number of training samples it was fitted on: whether
    the curve still rises at the full training split (more data would help)
    or has flattened. ``series[model]`` = {"samples", "mean", "std"}."""
    figure, axis = plt.subplots(figsize=(COLUMN_WIDTH, 2.3), layout="constrained")
    for index, (model, points) in enumerate(series.items()):
        look = style(index)
        axis.errorbar(points["samples"], points["mean"], yerr=points["std"], capsize=2,
                      color=look["color"], linestyle=look["linestyle"], marker=look["marker"],
                      markersize=3, linewidth=1, label=model)
    if spans_decades([x for points in series.values() for x in points["samples"] if x]):
        axis.set_xscale("log")
    axis.set_xlabel("Training samples")
    axis.set_ylabel(f"Test {metric}")
    _legend_below(figure, *axis.get_legend_handles_labels(), COLUMN_WIDTH)
    return figure


def ablation(view: dict[str, Any], metric: str) -> Figure:
    """One model's ablation: a panel per factor, each level's mean test score
    with its 95% interval over the repeats (a bar, where there are two or more),
    the base configuration's level as a black square with its mean as a dotted
    line across the panel, and a level that differs from the base (paired test,
    adjusted p < 0.05) drawn filled, the others hollow."""
    factors = view["factors"]
    columns = min(len(factors), 4)
    rows = -(-len(factors) // columns)
    width = min(PAGE_WIDTH, max(COLUMN_WIDTH, 1.8 * columns))
    figure, axes = plt.subplots(rows, columns, figsize=(width, 1.9 * rows), squeeze=False,
                                sharey=True, layout="constrained")
    for axis in axes.flat[len(factors):]:
        axis.set_visible(False)
    for axis, factor in zip(axes.flat, factors):
        shown = [row for row in factor["rows"] if row["mean"] is not None]
        base = next((row for row in shown if row["base"]), None)
        if base is not None:
            axis.axhline(base["mean"], color="0.3", linestyle=":", linewidth=0.8)
        for x, row in enumerate(shown):
            low, high = row["ci"] or (row["mean"], row["mean"])
            look = {"marker": "s", "color": "black"} if row["base"] else {"marker": "o",
                                                                          "color": "C0"}
            differs = row.get("better") or row.get("worse")
            axis.errorbar([x], [row["mean"]], yerr=[[row["mean"] - low], [high - row["mean"]]],
                          capsize=2, linewidth=1, markersize=4, color=look["color"],
                          marker=look["marker"],
                          markerfacecolor=look["color"] if row["base"] or differs else "white")
        axis.set_xticks(range(len(shown)), [row["level"] for row in shown])
        axis.set_xlim(-0.5, len(shown) - 0.5)
        axis.set_xlabel(factor["factor"])
        axis.grid(axis="x", visible=False)
    for axis in axes[:, 0]:
        axis.set_ylabel(f"Test {metric}")
    return figure
