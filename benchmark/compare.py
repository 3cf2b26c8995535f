"""Two runs -> verdicts, as pure functions over plain summaries of stored runs.

A verdict per (dataset, model) and metric, in the style of asv: ``better``,
``worse`` (a regression), ``unchanged`` (within the noise), ``newly failing``
(a regression), ``fixed``, ``still failing``, ``new``, ``removed``, or
``not judged`` with the reason (the search space, the data or the metric
changed; for training time, different machines): such a row still shows both
numbers. Training time gets ``slower`` (a regression), ``faster`` or
``unchanged``, between runs on the same machine only (every trial and refit of
both runs on one and the same machine description: a run whose workers spanned
several is not judged on time); a change smaller than
``min_seconds`` is ``unchanged`` whatever its ratio (tiny times are noise).

How a score change is judged (the thresholds come from the suite's
``nightly:`` section):

1. a change smaller than ``min_change`` is ``unchanged``;
2. when both runs have two or more repeated final evaluations, the change must
   also be significant by Welch's t-test at ``alpha``;
3. when at least three earlier comparable nights exist, the current score must
   also lie outside the band of their night-to-night variation (the 95%
   prediction interval of one more night).

With neither 2 nor 3 available, ``min_change`` alone decides.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from scipy import stats

from benchmark.environment import machine
# The suite's nightly: section is the thresholds (and their defaults).
from benchmark.suite import Nightly as Thresholds

REGRESSIONS = {"worse", "newly failing", "slower"}
TIME = "training time"
NOT_JUDGED = "not judged"


def _p(value: float) -> str:
    # Imported here: benchmark.report loads the renderer, which `history` never needs.
    from benchmark.report.format import p_text

    return p_text(value)


def thresholds_of(suite: dict[str, Any]) -> Thresholds:
    """The thresholds of a stored suite (runs stored before nightly: existed get the defaults)."""
    return Thresholds.model_validate(suite.get("nightly") or {})


def band(values: list[float]) -> tuple[float, float] | None:
    """Normal night-to-night variation: the 95% prediction interval of one more
    night from at least three earlier ones (Student's t with n-1 degrees of
    freedom, scale s*sqrt(1 + 1/n)). With three nights that is about +-5 s.d.:
    a mean +- 2 s.d. band would call a third of ordinary nights regressions."""
    if len(values) < 3:
        return None
    centre, spread = statistics.fmean(values), statistics.stdev(values)
    if spread == 0:
        return centre, centre
    low, high = stats.t.interval(0.95, len(values) - 1, loc=centre,
                                 scale=spread * math.sqrt(1 + 1 / len(values)))
    return float(low), float(high)


@dataclass
class Pair:
    """One (dataset, model) of a run, as a comparison needs it."""

    dataset: str
    model: str
    metric: str
    direction: str
    ok: bool
    error: str | None
    scores: dict[str, list[float]]  # metric -> one value per repeated final evaluation
    fit_seconds: list[float]
    searched: dict[str, str]  # the searched parameters and their ranges
    fixed: dict[str, str]  # the parameters the suite fixes
    fingerprint: str | None

    @property
    def score(self) -> float | None:
        """The headline: the study metric, mean over the refits."""
        return _mean(self.scores.get(self.metric, [])) if self.ok else None

    @property
    def seconds(self) -> float | None:
        """The median training time of the refits."""
        return statistics.median(self.fit_seconds) if self.ok and self.fit_seconds else None


@dataclass
class RunSummary:
    id: str
    suite_name: str
    suite_hash: str
    status: str
    started_at: Any
    environment: dict[str, Any]
    suite: dict[str, Any]
    pairs: dict[tuple[str, str], Pair]
    fingerprints: dict[str, str | None] = field(default_factory=dict)
    # The machine descriptions of the run's workers (bench_workers.machine), each
    # once; empty for runs of format 2, which had none.
    worker_machines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def machine(self) -> dict[str, Any]:
        return machine(self.environment)

    @property
    def machines(self) -> list[dict[str, Any]]:
        """Every machine description its trials and refits trained on: its
        workers', or (format 2, no workers) the run's own."""
        return self.worker_machines or [self.machine]


def distinct(descriptions: Any) -> list[dict[str, Any]]:
    """Machine descriptions, each once, in the order given."""
    unique: list[dict[str, Any]] = []
    for description in descriptions:
        if description not in unique:
            unique.append(dict(description))
    return unique


def times_comparable(baseline: RunSummary, current: RunSummary) -> str | None:
    """Why the training times of two runs cannot be judged, or None when every
    trial and refit of both ran on one and the same machine description."""
    for run, name in ((baseline, "the baseline"), (current, "this run")):
        if len(run.machines) > 1:
            return (f"{name} trained on {len(run.machines)} machines; times are compared only "
                    f"between runs on one and the same machine")
    if baseline.machines != current.machines:
        return "different machines"
    return None


def _space(stored: dict[str, Any] | None) -> tuple[dict[str, str], dict[str, str]]:
    """A study's searched distributions and fixed values, each as canonical JSON
    text (comparable and hashable): from the space stored as data (format 4)."""
    import json

    stored = stored or {}
    # Optuna's distribution JSON is text; re-dumped sorted, so key order never differs.
    searched = {k: json.dumps(json.loads(v), sort_keys=True)
                for k, v in stored.get("distributions", {}).items()}
    fixed = {k: json.dumps(v, sort_keys=True) for k, v in stored.get("fixed", {}).items()}
    return searched, fixed


def summarize(run: Any, machines: list[dict[str, Any]] | None = None) -> RunSummary:
    """A stored run (store.RunRecord, records loaded) as plain data; ``machines``:
    the ``machine`` of each of its bench_workers rows (nightly.worker_machines),
    none for a run of format 2."""
    fingerprints = {d.name: d.summary.get("fingerprint") for d in run.datasets}
    pairs = {}
    for study in run.studies:
        scores: dict[str, list[float]] = {}
        for evaluation in study.evaluations:
            for name, value in evaluation.metrics.items():
                scores.setdefault(name, []).append(float(value))
        searched, fixed = _space(study.space)
        pairs[(study.dataset, study.model)] = Pair(
            dataset=study.dataset, model=study.model, metric=study.metric,
            direction=study.direction, error=study.error,
            # A refit that failed after earlier ones succeeded is a failure too.
            ok=bool(study.evaluations) and study.error is None,
            scores=scores, fit_seconds=[e.fit_seconds for e in study.evaluations],
            searched=searched, fixed=fixed,
            fingerprint=fingerprints.get(study.dataset))
    return RunSummary(id=run.id, suite_name=run.suite_name, suite_hash=run.suite_hash,
                      status=run.status, started_at=run.started_at,
                      environment=run.environment or {}, suite=run.suite or {}, pairs=pairs,
                      fingerprints=fingerprints,
                      # Workers that recorded no description are left out (none: the run's own).
                      worker_machines=distinct(m for m in machines or [] if m))


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def judge_score(baseline: list[float], current: list[float], *, higher_is_better: bool,
                thresholds: Thresholds, history: list[float] | None = None) -> dict[str, Any]:
    """Verdict on one metric from the repeated evaluations of both runs and, when
    there are at least three, the means of earlier nights (module docstring)."""
    before, after = _mean(baseline), _mean(current)
    change = after - before
    row: dict[str, Any] = {"baseline": before, "current": after, "change": change,
                           "p_value": None, "band": None}
    gain = change if higher_is_better else -change
    if abs(change) < thresholds.min_change or change == 0:
        return {**row, "verdict": "unchanged",
                "why": f"|change| {abs(change):.4f} < {thresholds.min_change:g} "
                       f"(nightly.min_change)"}
    reasons = [f"|change| {abs(change):.4f} >= {thresholds.min_change:g} (nightly.min_change)"]
    if len(baseline) >= 2 and len(current) >= 2:
        if statistics.pstdev(baseline) == 0 and statistics.pstdev(current) == 0:
            # Every repeat identical within each run: the change is exact, no test needed.
            reasons.append("repeats identical within each run")
        else:
            p_value = float(stats.ttest_ind(current, baseline, equal_var=False).pvalue)
            row["p_value"] = p_value
            if not p_value < thresholds.alpha:
                return {**row, "verdict": "unchanged",
                        "why": f"Welch t-test over the repeats: {_p(p_value)}, not below "
                               f"nightly.alpha {thresholds.alpha:g}"}
            reasons.append(f"Welch t-test {_p(p_value)}, below nightly.alpha {thresholds.alpha:g}")
    row["band"] = band(history or [])
    if row["band"] is not None:
        low, high = row["band"]
        where = f"the night-to-night band {low:.4f}..{high:.4f} of {len(history)} earlier nights"
        if low <= after <= high:
            return {**row, "verdict": "unchanged", "why": f"inside {where}"}
        reasons.append(f"outside {where}")
    return {**row, "verdict": "better" if gain > 0 else "worse", "why": "; ".join(reasons)}


def judge_time(baseline: list[float], current: list[float], factor: float,
               min_seconds: float = 1.0) -> dict[str, Any]:
    """A slowdown counts when the median refit time changed by at least
    ``min_seconds`` (tiny times are noise: 0.11 s -> 0.02 s is not a speed-up),
    grew by more than ``factor``, and every current refit is slower than every
    baseline one (so a single noisy repeat cannot make it); a speed-up likewise.
    The reason says which of the three tests decided."""
    before, after = statistics.median(baseline), statistics.median(current)
    ratio = after / before if before > 0 else math.inf
    row = {"baseline": before, "current": after, "change": ratio, "p_value": None, "band": None}
    difference = after - before
    if abs(difference) < min_seconds:
        return {**row, "verdict": "unchanged",
                "why": f"median changed by {difference:+.2f} s, less than the {min_seconds:g} s "
                       f"floor (nightly.min_seconds)"}
    if 1 / factor <= ratio <= factor:
        return {**row, "verdict": "unchanged",
                "why": f"ratio x{ratio:.2f} is within x{1 / factor:.3g}..x{factor:g} "
                       f"(nightly.slowdown)"}
    slower = ratio > factor
    separated = min(current) > max(baseline) if slower else max(current) < min(baseline)
    beyond = f"ratio x{ratio:.2f} {'>' if slower else '<'} x{factor if slower else 1 / factor:.3g}"
    if not separated:
        return {**row, "verdict": "unchanged",
                "why": f"{beyond}, but the refit times overlap (baseline "
                       f"{min(baseline):.2f}-{max(baseline):.2f} s, this run "
                       f"{min(current):.2f}-{max(current):.2f} s)"}
    return {**row, "verdict": "slower" if slower else "faster",
            "why": f"{beyond}, {difference:+.2f} s, and every refit "
                   f"{'slower' if slower else 'faster'} than every baseline refit"}


def comparable(baseline: Pair, current: Pair) -> str | None:
    """Why two pairs cannot be compared, or None when they can."""
    if baseline.fingerprint != current.fingerprint:
        return "data set fingerprint changed"
    if baseline.metric != current.metric:
        return f"metric changed ({baseline.metric} -> {current.metric})"
    if baseline.searched != current.searched:
        changed = sorted(set(baseline.searched.items()) ^ set(current.searched.items()))
        return "search space changed (" + ", ".join(dict.fromkeys(k for k, _ in changed)) + ")"
    return None


def compare(baseline: RunSummary, current: RunSummary, thresholds: Thresholds,
            history: list[RunSummary] | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, model, metric): the study metric, accuracy (when it
    is not the metric) and training time. ``history`` holds earlier comparable
    runs (oldest first) for the night-to-night band."""
    history = history or []
    # Times are judged only when every trial and refit of both runs ran on one
    # and the same machine description (several workers may span machines).
    machines_differ = times_comparable(baseline, current)
    rows = []
    for key in dict.fromkeys([*baseline.pairs, *current.pairs]):
        dataset, model = key
        before, after = baseline.pairs.get(key), current.pairs.get(key)
        base_row = {"dataset": dataset, "model": model}
        if before is None or after is None:
            rows.append({**base_row, "metric": (after or before).metric,
                         "verdict": "new" if before is None else "removed",
                         "why": "not in the baseline run" if before is None else "not in this run"})
            continue
        reason = comparable(before, after)
        if reason:
            rows.extend(_not_judged(base_row, before, after, reason))
            continue
        if not after.ok or not before.ok:
            verdict = {(True, False): "newly failing", (False, True): "fixed",
                       (False, False): "still failing"}[(before.ok, after.ok)]
            rows.append({**base_row, "metric": after.metric, "verdict": verdict,
                         "why": after.error if not after.ok else before.error})
            continue
        metrics = [after.metric] + (["accuracy"] if after.metric != "accuracy" else [])
        for metric in metrics:
            if not before.scores.get(metric) or not after.scores.get(metric):
                continue
            # Nights that ran this pair as tonight does (a one-off --set of a fixed
            # parameter is another configuration, not night-to-night noise).
            nights = [_mean(run.pairs[key].scores.get(metric, [])) for run in history
                      if key in run.pairs and run.pairs[key].ok
                      and comparable(run.pairs[key], after) is None
                      and run.pairs[key].fixed == after.fixed]
            rows.append({**base_row, "metric": metric, **judge_score(
                before.scores[metric], after.scores[metric],
                higher_is_better=after.direction == "maximize" if metric == after.metric else True,
                thresholds=thresholds, history=[n for n in nights if n is not None])})
        if machines_differ is None:
            rows.append({**base_row, "metric": TIME,
                         **judge_time(before.fit_seconds, after.fit_seconds, thresholds.slowdown,
                                      thresholds.min_seconds)})
        else:
            rows.append({**base_row, **_time_row(before, after), "verdict": NOT_JUDGED,
                         "why": machines_differ})
    return rows


def _time_row(before: Pair, after: Pair) -> dict[str, Any]:
    """Both median training times and their ratio, without a verdict."""
    a, b = before.seconds, after.seconds
    return {"metric": TIME, "baseline": a, "current": b, "p_value": None, "band": None,
            "change": b / a if a is not None and b is not None and a > 0 else None}


def _not_judged(base_row: dict[str, Any], before: Pair, after: Pair,
                reason: str) -> list[dict[str, Any]]:
    """The rows of a pair that cannot be judged (``reason``): both runs' numbers
    are shown all the same (a changed range is often the point of a run)."""
    why = reason
    if not before.ok:
        why += f"; the baseline failed: {before.error}"
    if not after.ok:
        why += f"; this run failed: {after.error}"
    rows = []
    metrics = [after.metric] + (["accuracy"] if after.metric != "accuracy" else [])
    for metric in metrics:
        a = _mean(before.scores.get(metric, [])) if before.ok else None
        b = _mean(after.scores.get(metric, [])) if after.ok else None
        if metric != after.metric and (a is None or b is None):
            continue  # accuracy only where both runs have it
        rows.append({**base_row, "metric": metric, "verdict": NOT_JUDGED, "baseline": a,
                     "current": b, "change": b - a if a is not None and b is not None else None,
                     "p_value": None, "band": None, "why": why})
    if before.seconds is not None and after.seconds is not None:
        rows.append({**base_row, **_time_row(before, after), "verdict": NOT_JUDGED, "why": why})
    return rows


def changes(baseline: RunSummary, current: RunSummary) -> list[str]:
    """What differs between the two runs' circumstances, one line each."""
    lines = []
    if baseline.suite_hash != current.suite_hash:
        lines.append(f"suite hash {baseline.suite_hash} -> {current.suite_hash}"
                     + _suite_difference(baseline.suite, current.suite))
    for name in dict.fromkeys([*baseline.fingerprints, *current.fingerprints]):
        a, b = baseline.fingerprints.get(name), current.fingerprints.get(name)
        if a != b:
            lines.append(f"data set {name}: fingerprint {a} -> {b}")
    packages_a = baseline.environment.get("packages") or {}
    packages_b = current.environment.get("packages") or {}
    for package in dict.fromkeys([*packages_a, *packages_b]):
        if packages_a.get(package) != packages_b.get(package):
            lines.append(f"{package} {packages_a.get(package)} -> {packages_b.get(package)}")
    # User code by import path (python:MODULE:NAME): the sha256 of its source file(s).
    code_a = baseline.environment.get("user_code") or {}
    code_b = current.environment.get("user_code") or {}
    for name in dict.fromkeys([*code_a, *code_b]):
        a, b = code_a.get(name), code_b.get(name)
        if a != b:
            lines.append(f"user code {name}: source {(a or 'none')[:12]} -> {(b or 'none')[:12]}")
    for key in ("python", "platform", "hostname", "cpu", "cpu_count", "memory_gib", "device"):
        a, b = baseline.environment.get(key), current.environment.get(key)
        if a != b:
            lines.append(f"{key}: {a} -> {b}")
    # Runs with workers (format 3): how many trained at once, and on what.
    workers_a, workers_b = (run.environment.get("workers") for run in (baseline, current))
    if (workers_a is not None or workers_b is not None) and (workers_a or 1) != (workers_b or 1):
        lines.append(f"workers: {workers_a or 1} -> {workers_b or 1}")
    if (baseline.worker_machines or current.worker_machines) \
            and baseline.machines != current.machines:
        lines.append(f"training machines: {_described(baseline.machines)} -> "
                     f"{_described(current.machines)}")
    return lines


def _described(machines: list[dict[str, Any]]) -> str:
    """Machine descriptions in words: "cpu, 8 cores, 31.0 GiB, CPU" each."""
    return " + ".join(f"{m.get('cpu')}, {m.get('cpu_count')} cores, {m.get('memory_gib')} GiB, "
                      f"{m.get('device') or 'device not recorded'}" for m in machines)


def _suite_difference(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> str:
    """The suite keys that differ, as dotted paths (at most five)."""
    paths: list[str] = []

    def walk(x: Any, y: Any, path: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in dict.fromkeys([*x, *y]):
                walk(x.get(k), y.get(k), f"{path}.{k}" if path else str(k))
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y)):
                walk(u, v, f"{path}[{i}]")
        elif x != y:
            paths.append(f"{path}: {x!r} -> {y!r}")

    walk(a, b, prefix)
    if not paths:
        return ""
    return " (" + "; ".join(paths[:5]) + (f"; {len(paths) - 5} more" if len(paths) > 5 else "") + ")"


def regressions(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in rows if row["verdict"] in REGRESSIONS]


def choose_baseline(runs: list[RunSummary], current: RunSummary, pinned: str | None = None,
                    pinned_by: str = "--baseline") -> tuple[RunSummary | None, str]:
    """The baseline of ``current`` and why it was chosen, in words:

    1. the pinned run (``pinned_by`` names where the pin came from);
    2. else the last finished run on the same machine before ``current`` with
       the same suite hash: a one-off ``--set`` experiment (another hash) in
       between is skipped, and so is no baseline for the next night;
    3. else, when no such run exists (the suite itself changed), the last
       finished run of the suite on the same machine.

    Interrupted and failed runs are never a baseline."""
    if pinned:
        run = next((run for run in runs if run.id == pinned), None)
        return run, f"pinned by {pinned_by}"
    earlier = [run for run in runs if run.id != current.id and run.status == "finished"
               and run.machine == current.machine and run.started_at < current.started_at]
    if not earlier:
        return None, "no earlier finished run of the suite on this machine"
    same = [run for run in earlier if run.suite_hash == current.suite_hash]
    if same:
        skipped = earlier.index(same[-1])
        later = len(earlier) - 1 - skipped
        return same[-1], ("the last finished run on this machine with the same suite hash "
                          f"({current.suite_hash})"
                          + (f"; {later} later run{'s' if later != 1 else ''} with another "
                             f"suite hash (e.g. a --set experiment) skipped" if later else ""))
    return earlier[-1], (f"no earlier finished run on this machine has this suite hash "
                         f"({current.suite_hash}): the suite changed, so the last finished run "
                         f"of the suite (hash {earlier[-1].suite_hash})")


def pick_baseline(runs: list[RunSummary], current: RunSummary,
                  pinned: str | None = None) -> RunSummary | None:
    """The baseline ``choose_baseline`` chooses, without the reason."""
    return choose_baseline(runs, current, pinned)[0]


def history_for(runs: list[RunSummary], baseline: RunSummary, nights: int) -> list[RunSummary]:
    """The baseline and the finished runs on its machine before it with its suite
    hash: the nights whose spread is the normal night-to-night variation (a
    one-off experiment with another configuration is no such night)."""
    earlier = [run for run in runs if run.status == "finished" and run.machine == baseline.machine
               and run.started_at <= baseline.started_at and run.suite_hash == baseline.suite_hash]
    return earlier[-nights:] if nights else []


def line(row: dict[str, Any]) -> str:
    """One row as a line of the nightly summary."""
    where = f"{row['dataset']} / {row['model']}"
    before, after = row.get("baseline"), row.get("current")
    if before is None and after is None:
        return f"{row['verdict'].upper():<15} {where}: {row['why']}"
    if row["metric"] == TIME:
        values = " -> ".join("–" if v is None else f"{v:.2f} s" for v in (before, after))
    else:
        values = " -> ".join("–" if v is None else f"{v:.4f}" for v in (before, after))
        if before is not None and after is not None:
            values += f" ({after - before:+.4f})"
    return f"{row['verdict'].upper():<15} {where}: {row['metric']} {values}; {row['why']}"
