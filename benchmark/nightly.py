"""``compare``, ``nightly`` and ``history``: runs of a suite against each other.

The verdicts are compare.py's pure functions; this module finds the runs
(``latest``, ``previous``, ``best``, the baseline of a night), renders the
comparison report and turns regressions into the exit code."""

from __future__ import annotations

import statistics
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark import compare as verdicts
from benchmark.errors import UserError
from benchmark.store import Store, scrub


@dataclass
class Comparison:
    baseline: verdicts.RunSummary
    current: verdicts.RunSummary
    rows: list[dict[str, Any]]
    changes: list[str]
    history: list[verdicts.RunSummary]  # every run of the suite, oldest first (trend figures)
    html: Path | None = None
    pdf: Path | None = None
    baseline_why: str | None = None  # how the baseline was chosen, in words

    @property
    def regressions(self) -> list[dict[str, Any]]:
        return verdicts.regressions(self.rows)

    @property
    def counts(self) -> dict[str, int]:
        """How many rows got each verdict."""
        return dict(sorted(Counter(row["verdict"] for row in self.rows).items()))


def _headline(run: verdicts.RunSummary) -> float | None:
    """Mean over the run's evaluated pairs of their metric: how ``best`` ranks runs."""
    values = [p.score * (1 if p.direction == "maximize" else -1)
              for p in run.pairs.values() if p.score is not None]
    return statistics.fmean(values) if values else None


def resolve(store: Store, reference: str, suite_name: str | None = None) -> verdicts.RunSummary:
    """A run id, or ``latest``, ``previous`` (the finished run before the latest)
    or ``best`` (highest mean test score), of ``suite_name`` or of the latest run's suite."""
    if reference not in ("latest", "previous", "best"):
        run = store.resolve(reference)
        return verdicts.summarize(run, worker_machines(store, [run.id]).get(run.id))
    latest = store.resolve("latest", suite_name)
    runs = _summaries(store, latest.suite_name)
    if reference == "latest":
        return runs[-1]
    finished = [r for r in runs if r.status == "finished"]
    if reference == "previous":
        earlier = [r for r in finished if r.started_at < runs[-1].started_at]
        if not earlier:
            raise UserError(f"suite {latest.suite_name!r} has no finished run before its latest "
                            f"({runs[-1].id})")
        return earlier[-1]
    scored = [r for r in finished if _headline(r) is not None]
    if not scored:
        raise UserError(f"suite {latest.suite_name!r} has no finished run with a score")
    return max(scored, key=_headline)


REFERENCES = {
    "latest": "latest: the newest run of the suite",
    "previous": "previous: the last finished run before the suite's newest",
    "best": "best: the finished run with the highest mean test score",
}


def described(reference: str) -> str:
    """How ``resolve`` chose a run for ``reference``, in words."""
    return REFERENCES.get(reference, "given by its id")


def _summaries(store: Store, suite_name: str) -> list[verdicts.RunSummary]:
    runs = store.runs(suite_name)
    machines = worker_machines(store, [r.id for r in runs])
    return [verdicts.summarize(r, machines.get(r.id)) for r in runs]


def worker_machines(store: Store, run_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Run id -> the machine description of each of its workers (bench_workers),
    for the runs that have workers (format 3): what their training times ran on."""
    from sqlalchemy import select

    from benchmark.store import WorkerRecord

    machines: dict[str, list[dict[str, Any]]] = {}
    if not run_ids:
        return machines
    with store.session() as session:
        for start in range(0, len(run_ids), 500):  # SQLite's limit on bound parameters
            rows = session.execute(
                select(WorkerRecord.run_id, WorkerRecord.machine)
                .where(WorkerRecord.run_id.in_(run_ids[start:start + 500]))
                .order_by(WorkerRecord.started_at, WorkerRecord.id))
            for run_id, machine in rows:
                machines.setdefault(run_id, []).append(machine or {})
    return machines


def compare_runs(store: Store, baseline: verdicts.RunSummary, current: verdicts.RunSummary,
                 reports_dir: Path | None,
                 runs: list[verdicts.RunSummary] | None = None,
                 baseline_why: str | None = None) -> Comparison:
    """Verdicts of ``current`` against ``baseline`` (thresholds from the current
    suite), and the comparison report when ``reports_dir`` is given. ``runs``:
    every run of the suite, when the caller has them already; ``baseline_why``:
    how the baseline was chosen (printed and in the report)."""
    thresholds = verdicts.thresholds_of(current.suite)
    runs = runs if runs is not None else _summaries(store, current.suite_name)
    nights = verdicts.history_for(runs, baseline, thresholds.history)
    rows = verdicts.compare(baseline, current, thresholds, nights)
    result = Comparison(baseline, current, rows, verdicts.changes(baseline, current), runs,
                        baseline_why=baseline_why)
    if reports_dir is not None:
        from benchmark.report.render import render_comparison

        folder = reports_dir / current.suite_name / f"compare-{baseline.id}-vs-{current.id}"
        result.html, result.pdf = render_comparison(result, thresholds, folder)
    return result


def summary_lines(comparison: Comparison) -> list[str]:
    """The short text for a CI log or an e-mail."""
    head = (f"{comparison.current.suite_name}: run {comparison.current.id} against baseline "
            f"{comparison.baseline.id}: "
            + ", ".join(f"{n} {v}" for v, n in comparison.counts.items()))
    lines = [head]
    if comparison.baseline_why:
        lines.append(f"  baseline {comparison.baseline.id}: {comparison.baseline_why}")
    order = {v: i for i, v in enumerate(["worse", "newly failing", "slower", verdicts.NOT_JUDGED,
                                         "fixed", "better", "faster"])}
    for row in sorted(comparison.rows, key=lambda r: order.get(r["verdict"], 99)):
        if row["verdict"] in order:
            lines.append("  " + verdicts.line(row))
    if comparison.changes:
        lines.append("  changed since the baseline: " + "; ".join(comparison.changes))
    return lines


# Exit status when a suite's run crashed (not a regression: 1, nor bad input: 2).
EXIT_CRASHED = 3


def nightly(suite_files: list[Path], *, storage: str, reports_dir: Path, overrides: list[str],
            baseline: str | None = None, progress: bool = True, command: str = "") -> int:
    """Run each suite, compare it with its baseline, render both reports, print
    the summary; 1 when any regression was found, 3 when a suite's run crashed
    (the other suites still run), 4 when a suite's run produced no result at
    all (3 before 4 before 1), else 0."""
    from benchmark import runner, suite as suite_module

    # Every suite is read and checked before the first one runs.
    suites = [(path, *suite_module.read(path, overrides)) for path in suite_files]
    store = Store(storage)
    for path, suite, _ in suites:
        pinned = baseline or suite.nightly.baseline
        if pinned and store.suite_of(pinned) != suite.name:
            where = "--baseline" if baseline else f"{path}: nightly.baseline"
            raise UserError(f"{where}: run {pinned!r} is not a run of suite {suite.name!r} "
                            f"in {store.shown}")
    regressed, crashed, empty = False, [], []
    for path, suite, text in suites:
        try:
            with store.lock(suite.name):
                result = runner.run(suite, text, storage=storage, reports_dir=reports_dir,
                                    command=command, progress=progress, origin=str(path))
        except runner.RunNotStarted as error:  # crashed before training: one line is the story
            print(f"{suite.name}: the run FAILED: {error}")
            crashed.append(suite.name)
            continue
        except UserError:
            raise
        except Exception as error:  # noqa: BLE001 - one suite's crash must not hide the others
            # The run is stored as 'failed' with this error; the next suites still run.
            reason = scrub(str(error), storage)
            print(f"{suite.name}: the run FAILED: {type(error).__name__}: {reason}")
            print(scrub(traceback.format_exc(), storage), end="", file=sys.stderr)
            crashed.append(suite.name)
            continue
        runs = _summaries(store, suite.name)
        current = next(run for run in runs if run.id == result.run_id)
        pinned = baseline or suite.nightly.baseline
        base, why = verdicts.choose_baseline(
            runs, current, pinned, "--baseline" if baseline else "nightly.baseline in the suite")
        print(f"{suite.name}: run {result.run_id}, report {result.pdf}")
        if result.empty_pairs:
            print(f"{suite.name}: no result from " + runner.describe_pairs(result.empty_pairs))
        if result.nothing:
            empty.append(suite.name)
        if base is None and result.nothing:
            print(f"{suite.name}: the run produced no result (stored as failed: it is no baseline)")
            continue
        if base is None:
            print(f"{suite.name}: no earlier finished run on this machine: this run is the "
                  f"baseline for the next night")
            continue
        comparison = compare_runs(store, base, current, reports_dir, runs, baseline_why=why)
        for text_line in summary_lines(comparison):
            print(text_line)
        print(f"{suite.name}: comparison report {comparison.pdf}")
        regressed = regressed or bool(comparison.regressions)
    print("nightly: REGRESSION found" if regressed else "nightly: no regression")
    if crashed:
        print(f"nightly: {len(crashed)} suite(s) could not finish: {', '.join(crashed)}")
    if empty:
        print(f"nightly: {len(empty)} suite(s) produced no result at all: {', '.join(empty)}")
    sys.stdout.flush()
    return (EXIT_CRASHED if crashed else runner.EXIT_NOTHING if empty else 1 if regressed
            else 0)


def history(store: Store, suite_name: str) -> list[str]:
    """Every run of a suite with its headline numbers, one line each."""
    runs = _summaries(store, suite_name)
    if not runs:
        raise UserError(f"suite {suite_name!r} has no runs in {store.shown}")
    keys = list(dict.fromkeys(k for run in runs for k in run.pairs))
    # The metric of each column, in the order the runs used them (a suite may change it).
    metrics = {key: list(dict.fromkeys(run.pairs[key].metric for run in runs if key in run.pairs))
               for key in keys}
    names = sorted({m for used in metrics.values() for m in used})
    lines = [f"suite {suite_name}: test {' / '.join(names)} (mean over the final refits) and "
             f"median training time per refit; columns (data set / model, metric):"]
    for number, key in enumerate(keys, 1):
        lines.append(f"  [{number}] {key[0]} / {key[1]}: {', then '.join(metrics[key])}")
    table = []
    for run in runs:
        cells = []
        for key in keys:
            pair = run.pairs.get(key)
            if pair is None:
                cells.append("")
            elif pair.score is None:
                cells.append("failed")
            else:
                cell = f"{pair.score:.4f} {pair.seconds:.1f} s"
                # A column whose metric changed names it in every cell.
                cells.append(f"{pair.metric} {cell}" if len(metrics[key]) > 1 else cell)
        table.append(cells)
    labels = [f"[{n}]" for n in range(1, len(keys) + 1)]
    width = max((len(text) for text in [*labels, *(c for cells in table for c in cells)]),
                default=0)
    hosts = [str(run.environment.get("hostname") or "") for run in runs]
    host_width = max(len("host"), *map(len, hosts))
    lines.append(f"{'run':<24} {'status':<11} {'host':<{host_width}}"
                 + "".join(f"  {label:>{width}}" for label in labels))
    for run, host, cells in zip(runs, hosts, table):
        lines.append(f"{run.id:<24} {run.status:<11} {host:<{host_width}}"
                     + "".join(f"  {cell:>{width}}" for cell in cells))
    return lines
