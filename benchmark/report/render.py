"""Context -> figures -> HTML (Jinja2, autoescaped) -> PDF (WeasyPrint)."""

from __future__ import annotations

import base64
import os
import re
import shutil
from pathlib import Path
from typing import Any

import jinja2

from benchmark import __version__
from benchmark.report import context as report_context
from benchmark.report import figures
from benchmark.report.format import roman
from benchmark.templating import (RUN_TEMPLATES, SHIPPED, STYLES, check_templates, environment,
                                  search_path, templates_of)
from benchmark.store import Store

# Rows per model in the Results section's trial tables (the appendix lists all).
TOP_TRIAL_ROWS = 5
# Numbered sections, in the order the template prints them (the appendices are not numbered).
NUMBERED_SECTIONS = ("introduction", "data", "methods", "results", "discussion")
_CITATION = re.compile(r"@@cite:(.+?)@@")

def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def draw(ctx: dict[str, Any], figure_dir: Path | None) -> dict[str, str]:
    """Draws every figure the suite's report asks for; returns name -> data URI
    (and writes the SVGs to figure_dir)."""
    drawn: dict[str, bytes] = {}
    kinds = set(ctx["figure_kinds"])
    if ctx["study"].get("kind") == "ablation":
        # One trial of the base per study: nothing searched to draw.
        kinds -= {"search_history", "budget", "pareto", "importances"}
    classes = {d["name"]: d["class_names"] for d in ctx["datasets"]}
    metric = ctx["study"]["metric"]
    maximize = ctx["maximize"]
    for dataset in ctx["datasets"]:
        name = dataset["name"]
        results = [r for r in ctx["results"] if r.dataset == name]
        if "search_history" in kinds:
            series = {r.label: figures.history_points(r.trials, r.direction) for r in results}
            drawn[f"search-{name}"] = figures.svg(figures.search_history(
                series, metric, label=ctx["score"]["title"]))
        for view in ctx.get("ablations") or []:
            if view["dataset"] == name and "ablation" in kinds:
                drawn[f"ablation-{name}-{view['model']}"] = figures.svg(
                    figures.ablation(view, metric))
        curves = (ctx.get("learning_curves") or {}).get(name)
        if curves and "learning_curve" in kinds:
            drawn[f"learning-{name}"] = figures.svg(figures.learning_curve(curves, metric))
        budget = (ctx.get("budget") or {}).get(name) or {}
        if "budget" in kinds and sum(1 for p in (budget.get("series") or {}).values()
                                     if p["x"]) >= 1:
            drawn[f"budget-{name}"] = figures.svg(figures.score_against_budget(
                budget["series"], metric, "Summed training time (s)"))
        if "class_balance" in kinds:
            drawn[f"balance-{name}"] = figures.svg(figures.class_balance(
                dataset["class_names"], dataset["class_counts"]))
        if dataset.get("samples") and "samples" in kinds:
            drawn[f"samples-{name}"] = figures.svg(figures.sample_grid(dataset["samples"]))
        tabular = dataset.get("tabular") or {}
        if tabular.get("correlation") and "correlation" in kinds:
            drawn[f"correlation-{name}"] = figures.svg(figures.correlation(**{
                k: tabular["correlation"][k] for k in ("columns", "values")}))
        # One searched parameter always has importance 1: nothing to show.
        ranked = {r.label: r.importances for r in results if r.importances and len(r.importances) > 1}
        if ranked and "importances" in kinds:
            drawn[f"importances-{name}"] = figures.svg(figures.importances(ranked))
        timed = {r.label: {"seconds": [t["seconds"] for t in r.trials if _timed(t)],
                           "values": [t["value"] for t in r.trials if _timed(t)]} for r in results}
        timed = {label: points for label, points in timed.items() if points["values"]}
        if timed and "pareto" in kinds:
            points = [(s, v) for p in timed.values() for s, v in zip(p["seconds"], p["values"])]
            front = [points[i] for i in report_context.pareto_front(points, maximize)]
            drawn[f"pareto-{name}"] = figures.svg(figures.trade_off(timed, front, metric,
                                                                   label=ctx["score"]["title"]))
        costed = {r.label: {"latency_ms": r.cost["latency_ms"],
                            "size_mib": r.cost["size_bytes"] / 2**20,
                            "score": r.test[metric], "std": r.test_std.get(metric)}
                  for r in results if r.ok and r.cost and r.test.get(metric) is not None
                  and r.cost.get("latency_ms") and r.cost.get("size_bytes")}
        if len(costed) > 1 and "cost" in kinds:
            fronts = {}
            for key in ("latency_ms", "size_mib"):  # lower cost is better, as time is
                points = [(p[key], p["score"]) for p in costed.values()]
                fronts[key] = [points[i] for i in report_context.pareto_front(points, maximize)]
            drawn[f"cost-{name}"] = figures.svg(figures.cost(costed, fronts, f"Test {metric}"))
        histories = {r.label: r.best_history for r in results
                     if any("val_accuracy" in h and "val_loss" in h for h in r.best_history)}
        if histories and "accuracy_loss" in kinds:
            drawn[f"accloss-{name}"] = figures.svg(figures.accuracy_loss(histories))
        scored = [r for r in results if r.predictions]
        if scored and len(dataset["class_names"]) == 2 and "roc" in kinds:
            drawn[f"roc-{name}"] = figures.svg(figures.roc_pr({
                r.label: figures.roc_pr_points(r.predictions["y_true"],
                                               [row[1] for row in r.predictions["proba"]],
                                               r.prediction_threshold) for r in scored}))
        elif scored and dataset["kind"] == "tabular" and "roc" in kinds:
            for r in scored:
                drawn[f"roc-{name}-{r.label}"] = figures.svg(figures.roc_one_vs_rest(
                    figures.roc_one_vs_rest_points(r.predictions["y_true"], r.predictions["proba"],
                                                   dataset["class_names"])))
        if dataset["kind"] == "tabular" and any(r.confusion for r in results) \
                and "confusion" in kinds:
            drawn[f"confusions-{name}"] = figures.svg(figures.confusion_grid(
                {r.label: r.confusion for r in results if r.confusion}, dataset["class_names"]))
    across = ctx.get("across") or {}
    if across.get("nemenyi") and "critical_difference" in kinds:
        post = across["nemenyi"]
        drawn["critical-difference"] = figures.svg(figures.critical_difference(
            across["average_ranks"], post["cd"], post["cliques"], post["alpha"]))
    for result in ctx["results"]:
        key = f"{result.dataset}-{result.label}"
        if result.best_history and "curves" in kinds:
            drawn[f"curves-{key}"] = figures.svg(figures.curves(result.best_history))
        # Tabular data sets get every model's matrix in one grid (above); image
        # data sets the selected model's, whose classes are many.
        selected = ctx["best"].get(result.dataset) is result
        if result.confusion and "confusion" in kinds and selected and \
                f"confusions-{result.dataset}" not in drawn:
            drawn[f"confusion-{key}"] = figures.svg(figures.confusion(result.confusion,
                                                                      classes[result.dataset]))
    if figure_dir is not None:
        figure_dir.mkdir(parents=True, exist_ok=True)
        for name, image in drawn.items():
            (figure_dir / f"{name}.svg").write_bytes(image)
    return {name: _data_uri(image) for name, image in drawn.items()}


def _timed(trial: dict[str, Any]) -> bool:
    return trial["state"] == "complete" and trial["value"] is not None and bool(trial["seconds"])


def render_html(ctx: dict[str, Any], figure_uris: dict[str, str],
                templates: Any = ()) -> str:
    """The report's HTML; ``templates``: folders searched before the shipped
    templates (see ``search_path``)."""
    from benchmark.errors import UserError

    style = ctx.get("style") or "ieee"
    try:
        template = environment(style, templates).get_template("report.html.j2")
    except jinja2.TemplateSyntaxError as error:
        raise UserError(f"{error.filename or error.name}:{error.lineno}: template syntax error: "
                        f"{' '.join(str(error.message).split())}") from None
    included = [name for name in NUMBERED_SECTIONS if name in ctx["sections"]]
    numbers = {name: roman(index) for index, name in enumerate(included, start=1)}

    def render(citations: dict[str, Any], references: list[dict[str, str]],
               contents: list[dict[str, Any]]) -> str:
        try:
            return template.render(**{**ctx, "citations": citations, "references": references,
                                      "style": style},
                                   figures=figure_uris, version=__version__,
                                   top_trial_rows=TOP_TRIAL_ROWS, section_numbers=numbers,
                                   contents=contents)
        except jinja2.TemplateSyntaxError as error:  # an included template
            raise UserError(f"{error.filename or error.name}:{error.lineno}: template syntax "
                            f"error: {' '.join(str(error.message).split())}") from None
        except jinja2.TemplateNotFound as error:
            raise UserError(f"report template {error.name!r} not found in "
                            f"{', '.join(str(p) for p in search_path(style, templates))}") from None

    # A first pass finds what the sections (the user's too) printed: the
    # headings of the table of contents and, as IEEE numbers references in
    # order of first citation, which works the text cites first.
    draft = render({e["key"]: f"@@cite:{e['key']}@@" for e in ctx["references"]},
                   ctx["references"], [])
    contents = table_of_contents(draft, numbers)
    if "references" not in ctx["sections"]:
        return render({}, [], contents)
    order = list(dict.fromkeys(_CITATION.findall(draft)))
    cited = sorted((e for e in ctx["references"] if e["key"] in order),
                   key=lambda e: order.index(e["key"]))
    return render({key: n for n, key in enumerate(order, start=1)}, cited, contents)


# A section's heading, after the anchor the table of contents links to.
_HEADING = re.compile(r'<span class="anchor" id="(?P<id>[^"]+)"></span>\s*'
                      r'<h2(?P<attrs>[^>]*)>(?P<title>.*?)</h2>', re.S)


def table_of_contents(html: str, numbers: dict[str, str]) -> list[dict[str, Any]]:
    """The sections the report printed, in order (every ``<h2>`` after a
    ``<span class="anchor" id=...>``):
    id, title, Roman number (numbered sections) and whether an appendix."""
    entries = []
    for match in _HEADING.finditer(html):
        title = re.sub(r"<[^>]+>|@@cite:.+?@@", "", match["title"]).strip()
        entries.append({"id": match["id"], "title": title,
                        "number": numbers.get(match["id"]),
                        "appendix": "appendix" in match["attrs"]})
    return entries


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def render_run(store: Store, run_id: str, run_dir: Path,
               ctx: dict[str, Any] | None = None, templates: Path | None = None,
               keep: bool = True) -> tuple[Path, Path]:
    """Render ``report.html`` and ``report.pdf`` of a stored run into ``run_dir``
    (from ``ctx`` when the caller built the context already). ``templates``
    (report.templates or --templates) is searched before the shipped templates;
    with ``keep`` it is copied to ``run_dir/templates``, which a later render
    without one uses (``report RUN_ID`` renders as the run did)."""
    if templates is not None:
        templates = check_templates(Path(templates))
    ctx = ctx if ctx is not None else report_context.build(store, run_id)
    run_dir.mkdir(parents=True, exist_ok=True)
    kept = run_dir / RUN_TEMPLATES
    folders: list[Path] = []
    if templates is not None:
        if keep and templates.resolve() != kept.resolve():
            if kept.exists():
                shutil.rmtree(kept)
            shutil.copytree(templates, kept)
        folders.append(templates)
    if kept.is_dir() and kept not in folders:
        folders.append(check_templates(kept, "the run's templates"))
    html = render_html(ctx, draw(ctx, run_dir / "figures"), folders)
    from benchmark.report import tables

    tables.write(html, run_dir)  # every table as CSV and LaTeX, for papers
    return _write_html_and_pdf(html, run_dir, "report")


def _write_html_and_pdf(html: str, folder: Path, stem: str) -> tuple[Path, Path]:
    """``<stem>.html`` and its PDF (WeasyPrint), each replaced atomically."""
    import weasyprint

    folder.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path = folder / f"{stem}.html", folder / f"{stem}.pdf"
    pdf = weasyprint.HTML(string=html, base_url=str(folder)).write_pdf()
    _write_atomically(html_path, html.encode())
    _write_atomically(pdf_path, pdf)
    return html_path, pdf_path


def render_comparison(comparison: Any, thresholds: Any, folder: Path) -> tuple[Path, Path]:
    """``comparison.html`` and ``comparison.pdf`` of a compare or nightly run."""
    from benchmark.compare import REGRESSIONS

    # The band each score verdict used (earlier finished nights on the baseline's
    # machine); the time verdict uses a factor, not a band.
    score_bands = {(row["dataset"], row["model"], row["metric"]): row.get("band")
                   for row in comparison.rows}
    trends = {}
    for key, pair in comparison.current.pairs.items():
        runs = []  # the suite's runs up to the current one, oldest first
        for run in comparison.history:
            runs.append(run.pairs.get(key))
            if run.id == comparison.current.id:
                break
        scores = [p.score if p else None for p in runs]
        times = [p.seconds if p else None for p in runs]
        if sum(score is not None for score in scores) >= 2:
            bands = [score_bands.get((key[0], key[1], pair.metric)), None]
            trends[f"{key[1]} on {key[0]}: test {pair.metric} (left) and training time (right) "
                   f"across runs"] = _data_uri(figures.svg(figures.trend(scores, times, bands,
                                                                        pair.metric)))
    html = environment().get_template("compare.html.j2").render(
        baseline=comparison.baseline, baseline_why=getattr(comparison, "baseline_why", ""),
        current=comparison.current, rows=comparison.rows,
        changes=comparison.changes, history=comparison.history, trends=trends,
        counts=comparison.counts, regressions=comparison.regressions,
        regression_names=REGRESSIONS, thresholds=thresholds, version=__version__)
    return _write_html_and_pdf(html, folder, "comparison")
