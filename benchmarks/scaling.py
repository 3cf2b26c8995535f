"""Trials per hour with 1 and 2 local workers, side by side in one run, and the
database's cost per trial (claim, ask, per-epoch reports, tell) on SQLite and
PostgreSQL with 1 and 4 workers.

    python benchmarks/scaling.py [--rounds 2] [--trials 40] [--lenet-trials 6]
                                 [--postgres URL] [--skip-lenet]

Each round runs every configuration once, alternating, so that a machine's
drift affects them alike; the search's throughput is the trials of a run over
the time from its first trial's start to its last trial's end (the tool's own
start-up and report are left out). Without --postgres, a throwaway server is
started from Debian's binaries (as the tests do) when they are installed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SKLEARN = """
name: scaling_sklearn
datasets:
  cancer: {{source: "sklearn:breast_cancer"}}
models:
  - model: random_forest
    search: {{n_estimators: {{low: 150, high: 250}}, max_depth: {{low: 4, high: 16}}}}
study: {{n_trials: {trials}, seed: 0}}
execution: {{threads_per_worker: 1}}
"""

LENET = """
name: scaling_lenet
datasets:
  digits: {{source: "sklearn:digits"}}
models:
  - model: lenet5
    search: {{learning_rate: {{low: 1.0e-3, high: 1.0e-2, log: true}}, epochs: 3}}
study: {{n_trials: {trials}, seed: 0, pruner: none}}
execution: {{threads_per_worker: {threads}}}
"""


def run_suite(text: str, workers: int, workdir: Path) -> tuple[float, int]:
    """(trials per hour of the search, trials) of one run of ``text``."""
    import optuna

    from benchmark.store import Store

    suite = workdir / f"suite-{uuid.uuid4().hex[:6]}.yaml"
    suite.write_text(textwrap.dedent(text))
    storage = f"sqlite:///{workdir / (suite.stem + '.db')}"
    result = subprocess.run([sys.executable, "-m", "benchmark", "run", str(suite), "--workers",
                             str(workers), "--storage", storage, "--quiet",
                             "--reports-dir", str(workdir / "reports")],
                            cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    run = Store(storage, create=False).resolve("latest")
    trials = [t for s in run.studies for t in optuna.load_study(
        study_name=s.optuna_study, storage=storage).trials]
    start = min(t.datetime_start for t in trials)
    end = max(t.datetime_complete for t in trials)
    return len(trials) / (end - start).total_seconds() * 3600, len(trials)


def database_cost(url: str, workers: int, trials_each: int, epochs: int = 10) -> float:
    """Milliseconds of database work per trial, each of ``workers`` threads
    doing what a worker does per trial, with no training in between."""
    import optuna

    from benchmark.execution import StudyPlan, storage_for
    from benchmark.store import RunRecord, Store, StudyRecord, now

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = Store(url)
    run_id = "scaling-" + uuid.uuid4().hex[:8]
    with store.session() as session:
        session.add(RunRecord(id=run_id, suite_name="scaling", suite_yaml="", suite={},
                              suite_hash="", seed=0, status="running", environment={},
                              started_at=now()))
        record = StudyRecord(run_id=run_id, dataset="d", model="m", model_name="m",
                             optuna_study=f"{run_id}/d/m", metric="accuracy",
                             direction="maximize", space={})
        session.add(record)
    optuna.create_study(study_name=f"{run_id}/d/m", storage=url, direction="maximize")
    plan = StudyPlan(record_id=record.id, dataset="d", label="m", model="m",
                     optuna_study=f"{run_id}/d/m", data=None, n_classes=2, search_sample=None)
    distribution = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}

    def work(index: int) -> None:
        import warnings

        storage = storage_for(store, 10, 60)
        study = optuna.load_study(study_name=plan.optuna_study, storage=storage,
                                  sampler=optuna.samplers.TPESampler(seed=index))
        for _ in range(trials_each):
            store.claim_slot(plan.record_id, None, None, f"w{index}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                trial = study.ask(distribution)
            storage.record_heartbeat(trial._trial_id)
            for name in ("worker", "host", "slot", "history", "metrics", "fit_seconds"):
                trial.set_user_attr(name, 1)
            for epoch in range(epochs):
                trial.report(trial.params["x"], epoch)
            study.tell(trial, trial.params["x"])

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Wall time per trial of all workers together: what a trial costs the run.
    return (time.perf_counter() - started) / (workers * trials_each) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--trials", type=int, default=40, help="scikit-learn trials per run")
    parser.add_argument("--lenet-trials", type=int, default=6)
    parser.add_argument("--db-trials", type=int, default=40, help="per worker")
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--skip-lenet", action="store_true")
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    workdir = Path(tempfile.mkdtemp(prefix="scaling-"))
    results: dict[str, list[float]] = {}
    configurations = [("sklearn, 1 worker x 1 thread", SKLEARN.format(trials=args.trials), 1),
                      ("sklearn, 2 workers x 1 thread", SKLEARN.format(trials=args.trials), 2)]
    if not args.skip_lenet:
        configurations += [
            (f"lenet5, 1 worker x {cores} threads",
             LENET.format(trials=args.lenet_trials, threads=cores), 1),
            (f"lenet5, 2 workers x {max(1, cores // 2)} thread(s)",
             LENET.format(trials=args.lenet_trials, threads=max(1, cores // 2)), 2)]
    for round_ in range(args.rounds):
        for name, text, workers in configurations:
            rate, n = run_suite(text, workers, workdir)
            results.setdefault(name, []).append(rate)
            print(f"round {round_ + 1}: {name}: {rate:,.0f} trials/h ({n} trials)", flush=True)
    print(f"\nmachine: {cores} cores; median of {args.rounds} round(s)")
    medians = {name: statistics.median(rates) for name, rates in results.items()}
    for name, rate in medians.items():
        print(f"  {name:<34} {rate:>9,.0f} trials/h")
    names = list(medians)
    for one, two in zip(names[0::2], names[1::2]):
        print(f"  speed-up {two.split(',')[0]}: {medians[two] / medians[one]:.2f}x")

    urls = {"SQLite": f"sqlite:///{workdir / 'cost.db'}"}
    server = None
    if args.postgres:
        urls["PostgreSQL"] = args.postgres
    else:
        sys.path.insert(0, str(REPO / "tests"))
        try:
            import postgres

            server = postgres.server()
            urls["PostgreSQL"] = server.__enter__()
        except Exception as error:  # noqa: BLE001 - no server binaries: SQLite only
            print(f"(no PostgreSQL: {error})")
    print("\ndatabase cost per trial (claim, ask, 6 attributes, 10 reports, tell):")
    try:
        for label, url in urls.items():
            for workers in (1, 4):
                costs = [database_cost(url, workers, args.db_trials) for _ in range(args.rounds)]
                print(f"  {label:<10} {workers} worker(s): {statistics.median(costs):6.1f} ms "
                      f"per trial (wall time / trials)")
    finally:
        if server is not None:
            server.__exit__(None, None, None)


if __name__ == "__main__":
    main()
