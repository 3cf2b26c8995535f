"""Thin command-line layer: parse, call the Python API, turn user errors into
one line and exit code 2. Heavy imports happen inside the commands, so
``--help`` answers instantly."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from benchmark.errors import UserError

DEFAULT_STORAGE = "sqlite:///reports/benchmark.db"  # = store.DEFAULT_STORAGE, without importing SQLAlchemy


def _add_storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=DEFAULT_STORAGE, metavar="URL",
                        help="SQLAlchemy URL of the results database (default: %(default)s)")
    parser.add_argument("--reports-dir", default="reports", type=Path, metavar="DIR",
                        help="where reports/<suite>/<run-id>/ folders go (default: %(default)s)")


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a suite key, e.g. --set study.n_trials=50 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Search, evaluate and report a model comparison declared in a YAML suite.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a suite and render its report")
    run.add_argument("suite", type=Path, nargs="?", help="suite file, e.g. suites/cnn.yaml")
    _add_overrides(run)
    _add_storage(run)
    run.add_argument("--resume", metavar="RUN_ID",
                     help="finish an interrupted run instead (keeps its finished trials)")
    run.add_argument("--quiet", action="store_true", help="no progress output")

    validate = commands.add_parser("validate", help="check a suite without running it")
    validate.add_argument("suite", type=Path)
    _add_overrides(validate)

    report = commands.add_parser("report", help="re-render the report of a stored run")
    report.add_argument("run_id", help="a run id, or 'latest'")
    _add_storage(report)

    compare = commands.add_parser(
        "compare", help="verdicts of one run against another (and a comparison report)")
    compare.add_argument("baseline", help="run id, or latest, previous, best")
    compare.add_argument("current", help="run id, or latest, previous, best")
    compare.add_argument("--suite", help="suite name for latest/previous/best (default: the "
                                         "latest run's suite)")
    _add_storage(compare)

    nightly = commands.add_parser(
        "nightly", help="run suites, compare each with its baseline; exit 1 on a regression")
    nightly.add_argument("suites", type=Path, nargs="+", metavar="SUITE")
    nightly.add_argument("--baseline", metavar="RUN_ID",
                         help="compare with this run instead of the last good run on this machine")
    _add_overrides(nightly)
    _add_storage(nightly)
    nightly.add_argument("--quiet", action="store_true", help="no progress output")

    history = commands.add_parser("history", help="every run of a suite with its headline numbers")
    history.add_argument("suite", help="suite name")
    _add_storage(history)

    commands.add_parser("list", help="show registered datasets, models, metrics, samplers, pruners")
    return parser


def _command() -> str:
    return shlex.join(["python", "-m", "benchmark", *sys.argv[1:]])


def _run(args: argparse.Namespace) -> int:
    from benchmark import runner, suite

    if args.resume:
        if args.suite is not None or args.overrides:
            raise UserError("--resume takes the suite from the stored run; give no suite file "
                            "or --set with it")
        result = runner.resume(args.storage, args.resume, reports_dir=args.reports_dir,
                               progress=not args.quiet)
    elif args.suite is None:
        raise UserError("run needs a suite file (e.g. suites/cnn.yaml) or --resume RUN_ID")
    else:
        loaded, text = suite.read(args.suite, args.overrides)
        result = runner.run(loaded, text, storage=args.storage, reports_dir=args.reports_dir,
                            command=_command(), progress=not args.quiet, origin=str(args.suite))
    print(f"run {result.run_id} finished")
    print(f"HTML report: {result.html}")
    print(f"PDF report:  {result.pdf}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from benchmark import runner, suite

    loaded = suite.load(args.suite, args.overrides)
    # The data too: a missing file or column is found now, not minutes into a run.
    for name, data in runner.load_datasets(loaded, str(args.suite)).items():
        for warning in data.dataset.warnings:  # what run warns about (skipped files), word for word
            print(f"warning: datasets.{name}: {warning}", file=sys.stderr)
        sizes = data.summary["split_sizes"]
        features = data.summary.get("tabular", {}).get("preprocessing", {}).get("n_features")
        print(f"{args.suite}: datasets.{name}: {data.summary['n_samples']:,} samples, "
              f"{len(data.dataset.class_names)} classes, split {sizes['train']}/"
              f"{sizes['validation']}/{sizes['test']}"
              + (f", {features} features after preprocessing" if features is not None else ""))
    budget = (f"{loaded.study.n_trials} trials" if loaded.study.n_trials else "") + (
        f"{' / ' if loaded.study.n_trials else ''}{loaded.study.timeout:g} s" if loaded.study.timeout else "")
    print(f"{args.suite}: valid suite {loaded.name!r}: {len(loaded.datasets)} dataset(s) x "
          f"{len(loaded.models)} model(s), {budget} per study, hash {loaded.hash()}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from benchmark.report import render_run
    from benchmark.store import Store

    store = Store(args.storage, create=False)
    record = store.resolve(args.run_id)
    html, pdf = render_run(store, record.id, args.reports_dir / record.suite_name / record.id)
    print(f"HTML report: {html}")
    print(f"PDF report:  {pdf}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from benchmark.datasets import sources
    from benchmark.metrics import metrics
    from benchmark.models import models
    from benchmark.suite import PRUNERS, SAMPLERS, literal_values
    from benchmark.training import TRAINING_DEFAULTS, TRAINING_TYPES

    def knob(name: str, default: Any, annotation: Any) -> str:
        """``pooling=average`` plus the values a category knob accepts: ``(average|max)``."""
        values = literal_values(annotation)
        return f"{name}={default}" + (f" ({'|'.join(map(str, values))})" if values else "")

    print("Datasets (source:)")
    for name, source in sources.items():
        print(f"  {name:<24} {source.kind:<8} {source.description}")
    print("\nModels (model:)")
    for name, spec in models.items():
        print(f"  {name:<24} {spec.family:<8} {spec.description}")
        knobs = {**TRAINING_DEFAULTS.get(spec.family, {}), **spec.architecture_defaults()}
        types = {**TRAINING_TYPES.get(spec.family, {}), **spec.parameter_types()}
        print("  " + " " * 33 + "parameters: " + ", ".join(knob(k, v, types.get(k))
                                                            for k, v in knobs.items()))
    print("\nMetrics (study.metric:)")
    for name, metric in metrics.items():
        print(f"  {name:<24} {metric.direction:<8} {metric.description}")
    print("\nSamplers (study.sampler:)  " + ", ".join(SAMPLERS))
    print("Pruners (study.pruner:)    " + ", ".join(PRUNERS))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from benchmark import nightly
    from benchmark.store import Store

    store = Store(args.storage, create=False)
    baseline = nightly.resolve(store, args.baseline, args.suite)
    current = nightly.resolve(store, args.current, args.suite or baseline.suite_name)
    if baseline.suite_name != current.suite_name:
        print(f"warning: comparing runs of two suites ({baseline.suite_name} and "
              f"{current.suite_name}): only the pairs they share get verdicts", file=sys.stderr)
    comparison = nightly.compare_runs(store, baseline, current, args.reports_dir)
    for line in nightly.summary_lines(comparison):
        print(line)
    print(f"HTML report: {comparison.html}")
    print(f"PDF report:  {comparison.pdf}")
    return 0


def _nightly(args: argparse.Namespace) -> int:
    from benchmark import nightly

    return nightly.nightly(args.suites, storage=args.storage, reports_dir=args.reports_dir,
                           overrides=args.overrides, baseline=args.baseline,
                           progress=not args.quiet, command=_command())


def _history(args: argparse.Namespace) -> int:
    from benchmark import nightly
    from benchmark.store import Store

    for line in nightly.history(Store(args.storage, create=False), args.suite):
        print(line)
    return 0


COMMANDS = {"run": _run, "validate": _validate, "report": _report, "compare": _compare,
            "nightly": _nightly, "history": _history, "list": _list}


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (systemd stopping the service, a CI timeout) ends a run like
    # Ctrl-C: the run is marked 'interrupted' and can be resumed.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    import signal

    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return COMMANDS[args.command](args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted; a run in progress is marked 'interrupted' in the database (finish it "
              "with: python -m benchmark run --resume RUN_ID)", file=sys.stderr)
        return 130
