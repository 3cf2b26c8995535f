"""The report's figures, read back from the Matplotlib figures they return: each
shows the data it was given, its legend hides no data for 1 to 10 models,
log axes print plain numbers, user text is never parsed as TeX, and the
result is a vector image."""

from __future__ import annotations

import base64
import io

import matplotlib.collections
import matplotlib.lines
import matplotlib.patches
import matplotlib.text
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from benchmark.report import context as report_context
from benchmark.report import figures


def _history(epochs: int, shift: float = 0.0) -> list[dict[str, float]]:
    return [{"accuracy": 0.5 + 0.1 * e + shift, "val_accuracy": 0.45 + 0.08 * e + shift,
             "loss": 1.0 - 0.1 * e - shift, "val_loss": 1.1 - 0.05 * e - shift}
            for e in range(epochs)]


def _trials(seed: int, n: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{"number": i, "state": "complete" if i % 4 else "pruned",
             "value": float(rng.uniform(0.6, 0.95))} for i in range(n)]


def _timed(n_models: int) -> dict[str, dict[str, list[float]]]:
    rng = np.random.default_rng(n_models)
    # Training times from 0.3 s to 64 s, as the promotion suite's models span.
    return {f"model {i}": {"seconds": (0.3 * 10 ** rng.uniform(0, 2.3, 6)).tolist(),
                           "values": rng.uniform(0.6, 0.95, 6).tolist()} for i in range(n_models)}


def _binary(n_models: int) -> dict[str, dict]:
    rng = np.random.default_rng(n_models)
    y = rng.integers(0, 2, 80)
    return {f"model {i}": figures.roc_pr_points(
        y.tolist(), np.clip(y * rng.uniform(0.1, 0.6) + rng.random(80) * 0.7, 0, 1).tolist(), 0.5)
        for i in range(n_models)}


def _drawn_points(figure) -> np.ndarray:
    """Every plotted data point of the figure in display (pixel) coordinates:
    line vertices, scatter offsets, and the corners and top edge of bars."""
    figure.canvas.draw()
    points = []
    for axes in figure.axes:
        for line in axes.get_lines():
            xy = np.column_stack(line.get_data()).astype(float)
            points.append(axes.transData.transform(xy[np.isfinite(xy).all(axis=1)]))
        for collection in axes.collections:
            if isinstance(collection, matplotlib.collections.PathCollection):
                points.append(collection.get_offset_transform().transform(collection.get_offsets()))
        for patch in axes.patches:
            if isinstance(patch, matplotlib.patches.Rectangle):
                box = patch.get_window_extent()
                points.append(np.array([[box.x0, box.y1], [box.x1, box.y1],
                                        [(box.x0 + box.x1) / 2, box.y1]]))
    return np.concatenate([p for p in points if len(p)]) if points else np.empty((0, 2))


def _legends(figure) -> list:
    return [legend for legend in figure.legends] + \
        [axes.get_legend() for axes in figure.axes if axes.get_legend() is not None]


def _model_figures(n: int) -> dict[str, object]:
    labels = [f"model {i}" for i in range(n)]
    series = {label: figures.history_points(_trials(i, 12), "maximize")
              for i, label in enumerate(labels)}
    timed = _timed(n)
    points = [(s, v) for p in timed.values() for s, v in zip(p["seconds"], p["values"])]
    rng = np.random.default_rng(n)
    y = np.arange(60) % max(n, 2)
    return {
        "search_history": figures.search_history(series, "accuracy"),
        "trade_off": figures.trade_off(timed, [points[i] for i in report_context.pareto_front(points)],
                                       "accuracy"),
        "accuracy_loss": figures.accuracy_loss({label: _history(5, 0.02 * i)
                                                for i, label in enumerate(labels)}),
        "roc_pr": figures.roc_pr(_binary(n)),
        "roc_one_vs_rest": figures.roc_one_vs_rest(figures.roc_one_vs_rest_points(
            y.tolist(), rng.dirichlet([1] * max(n, 2), 60).tolist(),
            [f"class {k}" for k in range(max(n, 2))])),
        "class_balance": figures.class_balance([f"c{k}" for k in range(n)],
                                               {"train": [50 + k for k in range(n)],
                                                "validation": [20] * n, "test": [20] * n}),
        "curves": figures.curves(_history(n + 1)),
    }


@pytest.mark.parametrize("n_models", range(1, 11))
def test_legends_hide_no_plotted_point(n_models: int) -> None:
    for name, figure in _model_figures(n_models).items():
        points = _drawn_points(figure)
        legends = _legends(figure)
        assert legends, f"{name} has no legend"
        for legend in legends:
            box = legend.get_window_extent()
            inside = ((points[:, 0] >= box.x0) & (points[:, 0] <= box.x1)
                      & (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1))
            assert not inside.any(), f"{name} with {n_models} models: legend covers {points[inside]}"
        # Every model (or class, or split) is named in the legend.
        texts = [t.get_text() for legend in legends for t in legend.get_texts()]
        assert len(texts) >= min(n_models, 1)
        plt.close(figure)


def test_models_differ_in_marker_and_line_style_for_greyscale_print() -> None:
    looks = [figures.style(i) for i in range(10)]
    assert len({look["marker"] for look in looks}) == 10
    figure = figures.search_history({f"m{i}": figures.history_points(_trials(i, 8), "maximize")
                                     for i in range(4)}, "accuracy")
    steps = [line for line in figure.axes[0].get_lines()]
    assert len({(line.get_marker(), line.get_linestyle()) for line in steps}) == 4
    figures.svg(figure)


def test_log_axis_prints_plain_numbers_and_dollar_names_stay_text() -> None:
    # Training times 0.3 s to 64 s switch the axis to a log scale; a model
    # named with dollar signs must neither crash the figure nor turn into TeX.
    timed = {r"$\alpha$ net": {"seconds": [0.3, 2.0, 64.0], "values": [0.7, 0.8, 0.9]},
             r"$\foo$ net": {"seconds": [1.0, 5.0], "values": [0.75, 0.85]}}
    figure = figures.trade_off(timed, [(0.3, 0.7), (2.0, 0.8), (64.0, 0.9)], "f1")
    assert figure.axes[0].get_xscale() == "log"
    image = figures.svg(figure)
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels(minor=False)
              if t.get_text()] + [t.get_text() for t in figure.axes[0].get_xticklabels(minor=True)
                                  if t.get_text()]
    assert {"1", "10"} <= set(labels), labels
    for label in labels:
        assert "$" not in label and "mathdefault" not in label and float(label) > 0
    every_text = [t.get_text() for t in figure.findobj(matplotlib.text.Text)]
    assert r"$\alpha$ net" in every_text and r"$\foo$ net" in every_text
    assert not any("mathdefault" in text for text in every_text)
    assert image.lstrip().startswith(b"<?xml") and b"<svg" in image


def test_a_log_axis_under_one_decade_labels_its_minor_ticks_plainly() -> None:
    figure = figures.trade_off({"a": {"seconds": [2.0, 50.0], "values": [0.5, 0.6]}}, [], "f1")
    figures.svg(figure)
    axis = figure.axes[0]
    texts = [t.get_text() for t in axis.get_xticklabels() + axis.get_xticklabels(minor=True)]
    assert any(texts) and not any("$" in t or "mathdefault" in t for t in texts)


def test_search_history_draws_each_completed_trial_and_the_best_so_far() -> None:
    trials = [{"number": 0, "state": "complete", "value": 0.7},
              {"number": 1, "state": "failed", "value": None},
              {"number": 2, "state": "complete", "value": 0.6},
              {"number": 3, "state": "complete", "value": 0.9}]
    points = figures.history_points(trials, "maximize")
    assert points == {"numbers": [0, 2, 3], "values": [0.7, 0.6, 0.9], "best": [0.7, 0.7, 0.9]}
    assert figures.history_points(trials, "minimize")["best"] == [0.7, 0.6, 0.6]
    figure = figures.search_history({"a": points, "empty": {"numbers": [], "values": [],
                                                            "best": []}}, "accuracy")
    axis = figure.axes[0]
    np.testing.assert_allclose(axis.collections[0].get_offsets(), [[0, 0.7], [2, 0.6], [3, 0.9]])
    line = axis.get_lines()[0]
    assert list(line.get_xdata()) == [0, 2, 3] and list(line.get_ydata()) == [0.7, 0.7, 0.9]
    # A model without a completed trial is neither drawn nor in the legend.
    assert [t.get_text() for t in figure.legends[0].get_texts()] == ["a"]
    assert axis.get_ylabel() == "Validation accuracy"
    image = figures.svg(figure)
    assert b"<image" not in image  # lines and markers stay vectors


def test_trade_off_draws_every_trial_and_the_front() -> None:
    timed = {"a": {"seconds": [1.0, 2.0, 3.0], "values": [0.8, 0.9, 0.85]},
             "b": {"seconds": [0.5], "values": [0.5]}}
    points = [(s, v) for p in timed.values() for s, v in zip(p["seconds"], p["values"])]
    front = [points[i] for i in report_context.pareto_front(points)]
    assert front == [(0.5, 0.5), (1.0, 0.8), (2.0, 0.9)]
    figure = figures.trade_off(timed, front, "accuracy")
    axis = figure.axes[0]
    np.testing.assert_allclose(axis.collections[0].get_offsets(), [[1, 0.8], [2, 0.9], [3, 0.85]])
    np.testing.assert_allclose(axis.collections[1].get_offsets(), [[0.5, 0.5]])
    front_line = axis.get_lines()[0]
    assert list(front_line.get_xdata()) == [0.5, 1.0, 2.0]
    assert axis.get_xscale() == "linear"  # 0.5 s to 3 s: no log axis
    figures.svg(figure)


def test_roc_pr_draws_each_models_curves_and_operating_point() -> None:
    y = [0, 0, 1, 1, 0, 1]
    p = [0.1, 0.6, 0.4, 0.8, 0.2, 0.9]
    data = figures.roc_pr_points(y, p, 0.5)
    # At 0.5: predicted positives are 0.6, 0.8, 0.9: tp 2, fp 1, fn 1, tn 2.
    assert data["point"] == {"fpr": 1 / 3, "tpr": 2 / 3, "precision": 2 / 3, "recall": 2 / 3}
    assert data["auc"] == pytest.approx(8 / 9)
    figure = figures.roc_pr({"a": data})
    roc, pr = figure.axes
    assert list(roc.get_lines()[0].get_xdata()) == data["fpr"]
    assert list(roc.get_lines()[0].get_ydata()) == data["tpr"]
    assert list(pr.get_lines()[0].get_xdata()) == data["recall"]
    assert (roc.get_lines()[1].get_xdata()[0], roc.get_lines()[1].get_ydata()[0]) == (1 / 3, 2 / 3)
    assert [t.get_text() for t in figure.legends[0].get_texts()] == [
        f"a (AUC {data['auc']:.3f}, AP {data['ap']:.3f})"]
    figures.svg(figure)


def test_one_vs_rest_draws_a_curve_per_class_present() -> None:
    y = [0, 1, 2, 0, 1, 2, 0, 1]
    proba = np.eye(3)[[0, 1, 2, 1, 1, 2, 0, 0]] * 0.8 + 0.2 / 3
    data = figures.roc_one_vs_rest_points(y, proba.tolist(), ["a", "b", "c", "absent"])
    assert list(data) == ["a", "b", "c"]
    figure = figures.roc_one_vs_rest(data)
    lines = figure.axes[0].get_lines()
    for line, name in zip(lines, data):
        assert list(line.get_xdata()) == data[name]["fpr"]
    assert [t.get_text() for t in figure.legends[0].get_texts()][-1] == "chance"
    figures.svg(figure)


def test_class_balance_bars_are_the_counts() -> None:
    counts = {"train": [5, 3, 9], "test": [2, 1, 4]}
    figure = figures.class_balance(["x", "y", "z"], counts)
    bars = [p for p in figure.axes[0].patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert [b.get_height() for b in bars] == [5, 3, 9, 2, 1, 4]
    # Splits differ by hatch, not only colour.
    assert len({b.get_hatch() for b in bars}) == 2
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["x", "y", "z"]
    figures.svg(figure)


def test_curves_and_accuracy_loss_draw_the_history() -> None:
    history = _history(4)
    figure = figures.curves(history)
    left, right = figure.axes
    assert [list(line.get_ydata()) for line in left.get_lines()] == [
        [h["accuracy"] for h in history], [h["val_accuracy"] for h in history]]
    assert [list(line.get_ydata()) for line in right.get_lines()] == [
        [h["loss"] for h in history], [h["val_loss"] for h in history]]
    figures.svg(figure)
    empty = figures.curves([])
    assert "no epochs recorded" in [t.get_text() for t in empty.findobj(matplotlib.text.Text)]
    figures.svg(empty)
    figure = figures.accuracy_loss({"a": history, "none": []})
    training = figure.axes[0].get_lines()
    assert list(training[0].get_xdata()) == [h["loss"] for h in history]
    assert list(training[0].get_ydata()) == [h["accuracy"] for h in history]
    # The first epoch's hollow marker sits on the first point.
    assert (training[1].get_xdata()[0], training[1].get_markerfacecolor()) == (history[0]["loss"],
                                                                              "none")
    figures.svg(figure)


def test_matrices_importances_and_trend_show_their_numbers() -> None:
    figure = figures.confusion([[3, 1], [0, 4]], ["no", "yes"])
    cells = sorted(t.get_text() for t in figure.axes[0].texts)
    assert cells == ["0", "1", "3", "4"]
    figures.svg(figure)
    figure = figures.confusion_grid({"a": [[5, 1], [2, 4]], "b": [[6, 0], [1, 5]]}, ["no", "yes"])
    assert [axis.get_title() for axis in figure.axes[:2]] == ["a", "b"]
    assert sorted(t.get_text() for t in figure.axes[1].texts) == ["0", "1", "5", "6"]
    figures.svg(figure)
    figure = figures.correlation(["x", "y"], [[1.0, 0.3], [0.3, 1.0]])
    np.testing.assert_allclose(figure.axes[0].images[0].get_array(), [[1.0, 0.3], [0.3, 1.0]])
    figures.svg(figure)
    figure = figures.importances({"a": {"learning_rate": 0.7, "batch_size": 0.3}})
    bars = figure.axes[0].patches
    assert sorted(b.get_width() for b in bars) == [0.3, 0.7]
    figures.svg(figure)
    figure = figures.trend([None, 0.9, 0.91, 0.88], [None, 2.0, 2.1, 2.0],
                           [(0.89, 0.92), None], "accuracy")
    scores = figure.axes[0].get_lines()[0]
    assert list(scores.get_ydata())[1:] == [0.9, 0.91, 0.88]
    assert figure.axes[0].get_ylabel() == "Test accuracy"
    figures.svg(figure)
    figure = figures.trend([0.9], [3.0], [None, None], "accuracy")  # a first night alone
    figures.svg(figure)


def test_sample_grid_shows_each_image_with_its_label() -> None:
    rng = np.random.default_rng(0)
    samples = []
    for label in ("a", "b", "c"):
        buffer = io.BytesIO()
        Image.fromarray((rng.random((8, 8)) * 255).astype("uint8")).save(buffer, format="PNG")
        samples.append({"label": label, "png": base64.b64encode(buffer.getvalue()).decode()})
    figure = figures.sample_grid(samples)
    shown = [axis for axis in figure.axes if axis.images]
    assert [axis.get_title() for axis in shown] == ["a", "b", "c"]
    assert shown[0].images[0].get_array().shape == (8, 8)
    figures.svg(figure)


@pytest.mark.parametrize("case", ["single model", "all failed", "one trial"])
def test_every_figure_draws_for_degenerate_runs(case: str) -> None:
    trials = {"single model": [(0, 0.8, 1.0), (1, 0.9, 2.0)], "all failed": [],
              "one trial": [(0, 0.8, 1.0)]}[case]
    series = {"a": figures.history_points(
        [{"number": n, "state": "complete", "value": v} for n, v, _ in trials], "maximize")}
    timed = {"a": {"seconds": [s for *_, s in trials], "values": [v for _, v, _ in trials]}}
    drawn = [figures.search_history(series, "accuracy"),
             figures.trade_off(timed, [], "accuracy"),
             figures.accuracy_loss({"a": _history(len(trials))}),
             figures.curves(_history(len(trials)))]
    for figure in drawn:
        assert b"<svg" in figures.svg(figure)
