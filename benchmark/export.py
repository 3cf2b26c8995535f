"""A stored run's results as files to take away: ``results.json`` (everything,
nested), ``results.csv`` (one row per data set and model), a LaTeX comparison
table, and the compact table ``run`` prints at its end.

Every number comes from the report's context (``benchmark.report.context.build``),
so an export and the report of the same run never disagree. Values are numbers
(or null), never formatted strings such as "0.6718 ± 0.000"."""

from __future__ import annotations

import datetime as _dt
import json
import math
from pathlib import Path
from typing import Any

from benchmark.report.format import seconds

FORMATS = ("json", "csv", "latex")
# Version of the results.json layout; bumped when a key changes meaning.
SCHEMA_VERSION = 1
# Names the report context may give the test-set (bootstrap) interval of a model:
# metric -> (low, high), beside the spread over refits in ``test_ci``.
_TEST_SET_INTERVAL_NAMES = ("test_bootstrap", "test_bootstrap_ci", "bootstrap_ci",
                            "test_set_ci", "bootstrap")


# ------------------------------------------------------------------ plain values


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python numbers, NaN/inf to None, tuples to
    lists, datetimes to ISO 8601; anything else unknown becomes its text."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    try:  # numpy scalars and arrays, without importing numpy here
        import numpy as np

        if isinstance(value, np.generic):
            return _plain(value.item())
        if isinstance(value, np.ndarray):
            return _plain(value.tolist())
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    return str(value)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _pair(value: Any) -> tuple[float | None, float | None] | None:
    """(low, high) from a tuple/list of two numbers or a dict with low/high."""
    if isinstance(value, dict):
        low = next((value[k] for k in ("low", "lo", "lower") if k in value), None)
        high = next((value[k] for k in ("high", "hi", "upper") if k in value), None)
        return (_number(low), _number(high)) if low is not None or high is not None else None
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return _number(value[0]), _number(value[1])
    return None


def _test_set_intervals(result: Any) -> dict[str, tuple[float | None, float | None]]:
    """metric -> the test-set (bootstrap) interval, when the context has one
    (read defensively: the field may be named differently or be missing)."""
    names = list(_TEST_SET_INTERVAL_NAMES) + sorted(
        n for n in dir(type(result)) if "bootstrap" in n and not n.startswith("_")
        and n not in _TEST_SET_INTERVAL_NAMES)
    for name in names:
        try:
            value = getattr(result, name, None)
        except Exception:  # noqa: BLE001 - a property of another version failing
            continue
        if callable(value) or not value:
            continue
        if isinstance(value, dict):
            pairs = {str(k): _pair(v) for k, v in value.items()}
            pairs = {k: v for k, v in pairs.items() if v is not None}
            if pairs:
                return pairs
            single = _pair(value)  # {"low": ..., "high": ...} of the study metric
            if single is not None:
                return {result.metric: single}
        else:
            single = _pair(value)
            if single is not None:
                return {result.metric: single}
    return {}


# ------------------------------------------------------------------ from the context


def _attribute(result: Any, name: str) -> Any:
    """A field of the report's ModelResult that an older context may not have."""
    try:
        return getattr(result, name, None)
    except Exception:  # noqa: BLE001 - a property failing on an odd stored run
        return None


def _validation_kind(ctx: dict[str, Any]) -> str:
    return "cross-validated" if (ctx.get("study") or {}).get("cv_folds") else "validation split"


def _result_entry(result: Any, selected: bool) -> dict[str, Any]:
    test: dict[str, dict[str, Any]] = {}
    scores = getattr(result, "repeat_scores", {}) or {}
    means = result.test if scores else {}
    stds = result.test_std if scores else {}
    intervals = result.test_ci if scores else {}
    test_set = _test_set_intervals(result) if scores else {}
    identical = (_attribute(result, "identical") or {}) if scores else {}
    for name in scores:
        refits = intervals.get(name)
        bootstrap = test_set.get(name)
        entry = {"mean": _number(means.get(name)), "std": _number(stds.get(name)),
                 "ci_low": _number(refits[0]) if refits else None,
                 "ci_high": _number(refits[1]) if refits else None}
        if isinstance(identical, dict) and name in identical:
            # Every refit scored the same (a deterministic model): the interval
            # over refits is no interval; the test-set one is the uncertainty.
            entry["refits_identical"] = bool(identical[name])
        if test_set:
            entry["test_set_ci_low"] = bootstrap[0] if bootstrap else None
            entry["test_set_ci_high"] = bootstrap[1] if bootstrap else None
        entry["values"] = [_number(v) for v in scores[name]]
        test[name] = entry
    counts = getattr(result, "counts", {}) or {}
    return {
        "dataset": result.dataset, "model": result.label, "model_name": result.model_name,
        "family": getattr(result, "family", None), "selected": selected, "ok": bool(result.ok),
        "error": result.error, "metric": result.metric, "direction": result.direction,
        "validation_score": _number(result.best_value), "best_trial": result.best_trial,
        "best_params": _plain(result.best_params), "threshold": _number(result.threshold),
        "threshold_data": _plain(_attribute(result, "threshold_data")),
        "repeats": result.repeats, "n_params": result.n_params,
        "trials": {k: int(v) for k, v in counts.items()},
        "timings": {"search_seconds": _number(result.search_seconds),
                    "fit_seconds": _number(result.fit_seconds),
                    "fit_seconds_std": _number(getattr(result, "fit_seconds_std", None))},
        "test": test,
        "cost": _plain(getattr(result, "cost", None)),
        "saved": _plain(getattr(result, "saved", None)),
    }


def document(ctx: dict[str, Any]) -> dict[str, Any]:
    """The whole of ``results.json``: the run, its environment, every model's
    metrics with their intervals, parameters, threshold and timings."""
    run = ctx["run"]
    best = ctx.get("best") or {}
    selected = {dataset: result.label for dataset, result in best.items()}
    study = ctx.get("study") or {}
    suite = ctx.get("suite") or {}
    datasets = [{key: d.get(key) for key in ("name", "source", "kind", "n_samples", "class_names",
                                             "split_sizes", "class_counts") if key in d}
                for d in ctx.get("datasets") or []]
    return _plain({
        "schema": SCHEMA_VERSION,
        "run": {"id": run["id"], "suite_name": run["suite_name"], "suite_hash": run["suite_hash"],
                "seed": run["seed"], "status": run["status"], "error": run.get("error"),
                "command": run.get("command"), "started_at": run.get("started_at"),
                "finished_at": run.get("finished_at"), "duration_seconds": run.get("duration")},
        "environment": run.get("environment") or {},
        "study": {"metric": study.get("metric"),
                  "direction": "maximize" if ctx.get("maximize", True) else "minimize",
                  "validation": _validation_kind(ctx), "cv_folds": study.get("cv_folds"),
                  "n_trials": study.get("n_trials"), "timeout": study.get("timeout"),
                  "threshold": study.get("threshold"),
                  "repeats": (suite.get("evaluation") or {}).get("repeats")},
        "datasets": datasets,
        "selected": selected,
        "results": [_result_entry(r, r is best.get(r.dataset))
                    for r in ctx["results"]],
        "comparisons": ctx.get("comparisons") or {},
    })


def rows(ctx: dict[str, Any] | None = None, *, doc: dict[str, Any] | None = None
         ) -> list[dict[str, Any]]:
    """One flat row per data set and model (``results.csv``): the study metric's
    test score first, then every other stored test metric."""
    doc = doc if doc is not None else document(ctx)
    table = []
    for entry in doc["results"]:
        metric = entry["metric"]
        main = entry["test"].get(metric, {})
        row = {"run_id": doc["run"]["id"], "dataset": entry["dataset"], "model": entry["model"],
               "model_name": entry["model_name"], "selected": entry["selected"],
               "ok": entry["ok"], "metric": metric, "direction": entry["direction"],
               "validation_score": entry["validation_score"],
               "test": main.get("mean"), "test_std": main.get("std"),
               "test_ci_low": main.get("ci_low"), "test_ci_high": main.get("ci_high")}
        if any("refits_identical" in m for r in doc["results"] for m in r["test"].values()):
            row["test_refits_identical"] = main.get("refits_identical")
        if any("test_set_ci_low" in m for r in doc["results"] for m in r["test"].values()):
            row["test_set_ci_low"] = main.get("test_set_ci_low")
            row["test_set_ci_high"] = main.get("test_set_ci_high")
        row.update({"repeats": entry["repeats"], "threshold": entry["threshold"],
                    "fit_seconds": entry["timings"]["fit_seconds"],
                    "fit_seconds_std": entry["timings"]["fit_seconds_std"],
                    "search_seconds": entry["timings"]["search_seconds"],
                    "n_params": entry["n_params"], "best_trial": entry["best_trial"],
                    **{f"trials_{k}": v for k, v in entry["trials"].items()},
                    "best_params": json.dumps(entry["best_params"], sort_keys=True)
                    if entry["best_params"] is not None else None,
                    "error": entry["error"]})
        cost = entry.get("cost") or {}
        row.update({key: cost.get(key) for key in
                    ("latency_ms", "latency_p95_ms", "throughput", "size_bytes")})
        table.append(row)
    # Every other test metric, in the same columns for every row.
    others = sorted({name for entry in doc["results"] for name in entry["test"]
                     if name != entry["metric"]})
    for row, entry in zip(table, doc["results"]):
        for name in others:
            values = entry["test"].get(name, {})
            row[f"test_{name}"] = values.get("mean")
            row[f"test_{name}_ci_low"] = values.get("ci_low")
            row[f"test_{name}_ci_high"] = values.get("ci_high")
    return table


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def to_csv(table: list[dict[str, Any]]) -> str:
    import pandas as pd

    frame = pd.DataFrame(table)
    for column in frame.columns:  # counts stay integers beside a missing value
        values = frame[column].dropna()
        if len(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[column] = frame[column].astype("Int64")
    return frame.to_csv(index=False)


def to_latex(doc: dict[str, Any]) -> str:
    """A booktabs comparison table (pandas' Styler): per data set and model the
    validation score, the test score with its 95% interval(s) and the training
    time; the selected model in bold."""
    import pandas as pd

    study = doc["study"]
    metric = study["metric"] or "score"
    validation = "CV" if study.get("cv_folds") else "Validation"
    test_head = f"Test {metric}"
    has_test_set = any("test_set_ci_low" in m for r in doc["results"] for m in r["test"].values())
    records, index, bold = [], [], []
    for entry in doc["results"]:
        main = entry["test"].get(entry["metric"], {})
        record = {(validation, metric): entry["validation_score"],
                  (test_head, "mean"): main.get("mean"),
                  (test_head, "refits low"): main.get("ci_low"),
                  (test_head, "refits high"): main.get("ci_high")}
        if has_test_set:
            record[(test_head, "test-set low")] = main.get("test_set_ci_low")
            record[(test_head, "test-set high")] = main.get("test_set_ci_high")
        record[("Training", "s")] = entry["timings"]["fit_seconds"]
        records.append(record)
        index.append((entry["dataset"], entry["model"]))
        bold.append(entry["selected"])
    frame = pd.DataFrame(records,
                         index=pd.MultiIndex.from_tuples(index, names=["Data set", "Model"]))
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame = frame.astype("float64")
    styler = frame.style.format(precision=4, na_rep="--").format(
        precision=2, na_rep="--", subset=[("Training", "s")])
    styler = styler.format_index(escape="latex", axis=0).format_index(escape="latex", axis=1)
    flags = pd.Series(bold, index=frame.index)
    styler = styler.apply(lambda column: ["font-weight: bold" if flag else "" for flag in flags],
                          axis=0)
    styler = styler.apply_index(lambda labels: ["font-weight: bold" if flag else ""
                                                for flag in flags], axis=0, level=1)
    intervals = "95\\% intervals over the refits" + (
        " and over the test samples (bootstrap)" if has_test_set else "")
    scored = "cross-validated" if study.get("cv_folds") else "validation"
    caption = (f"Run {doc['run']['id']}: {scored} {metric} of the selected "
               f"configuration, test {metric} (mean of the refits, {intervals}) and training "
               f"time per model. Bold: the model selected on each data set."
               + (" A zero-width interval over the refits: every refit scored the same "
                  "(a deterministic model)." if any(
                      m.get("refits_identical") for r in doc["results"] for m in r["test"].values())
                  else ""))
    return styler.to_latex(hrules=True, convert_css=True, multicol_align="c",
                           multirow_align="naive", caption=caption.replace("_", "\\_"),
                           label=f"tab:results-{doc['run']['suite_name']}",
                           position_float="centering")


def export(store: Any, run_id: str, fmt: str) -> str:
    """The text of ``fmt`` (json, csv or latex) for a stored run."""
    from benchmark.report import context

    doc = document(context.build(store, run_id))
    if fmt == "json":
        return to_json(doc)
    if fmt == "csv":
        return to_csv(rows(doc=doc))
    if fmt == "latex":
        return to_latex(doc)
    raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")


# ------------------------------------------------------------------ end of a run


def write_results(store: Any, run_id: str, run_dir: Path,
                  ctx: dict[str, Any] | None = None) -> list[str]:
    """``results.json`` and ``results.csv`` in ``run_dir``; returns the lines of
    the terminal table (from ``ctx`` when the caller built the context already)."""
    from benchmark.report import context

    doc = document(ctx if ctx is not None else context.build(store, run_id))
    run_dir.mkdir(parents=True, exist_ok=True)
    _write(run_dir / "results.json", to_json(doc))
    _write(run_dir / "results.csv", to_csv(rows(doc=doc)))
    return table_lines(doc)


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _fixed(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4f}"


def table_lines(doc: dict[str, Any]) -> list[str]:
    """The compact results table ``run`` prints: data set, model, validation and
    test score with its 95% interval(s), training time; ``*`` marks the model
    selected on each data set."""
    study = doc["study"]
    metric = study["metric"] or "score"
    repeats = max((r["repeats"] for r in doc["results"]), default=0)
    has_test_set = any("test_set_ci_low" in m for r in doc["results"] for m in r["test"].values())
    head = ["", "data set", "model", f"{'CV' if study.get('cv_folds') else 'validation'} {metric}",
            f"test {metric}", "95% CI (refits)"]
    if has_test_set:
        head.append("95% CI (test set)")
    head += ["training", "search"]
    body, notes = [], []
    for entry in doc["results"]:
        mark = "*" if entry["selected"] else ""
        if not entry["ok"]:
            why = (entry["error"] or "no result").split(", so there is")[0]
            notes.append(f"  {entry['dataset']} / {entry['model']}: no result ({why[:100]})")
            continue
        main = entry["test"].get(entry["metric"], {})
        refits = (f"{_fixed(main.get('ci_low'))}–{_fixed(main.get('ci_high'))}"
                  if main.get("ci_low") is not None else "–")
        if main.get("refits_identical"):
            refits = "refits identical"  # not a zero-width interval
        line = [mark, entry["dataset"], entry["model"], _fixed(entry["validation_score"]),
                _fixed(main.get("mean")), refits]
        if has_test_set:
            line.append(f"{_fixed(main.get('test_set_ci_low'))}–"
                        f"{_fixed(main.get('test_set_ci_high'))}"
                        if main.get("test_set_ci_low") is not None else "–")
        line += [seconds(entry["timings"]["fit_seconds"]),
                 seconds(entry["timings"]["search_seconds"])]
        body.append(line)
    if not body and not notes:
        return []
    scored = f"test score: mean of {repeats} refits" if repeats else "test score"
    lines = [f"results ({scored}; * = selected on the "
             f"{'CV' if study.get('cv_folds') else 'validation'} score):"]
    if body:
        widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
        numeric = set(range(3, len(head)))
        for row in [head, *body]:
            cells = [str(cell).rjust(width) if i in numeric else str(cell).ljust(width)
                     for i, (cell, width) in enumerate(zip(row, widths))]
            lines.append("  " + "  ".join(cells).rstrip())
    lines += notes
    return lines


__all__ = ["FORMATS", "document", "export", "rows", "table_lines", "to_csv", "to_json",
           "to_latex", "write_results"]
