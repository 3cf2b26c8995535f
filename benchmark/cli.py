"""Thin command-line layer: parse, call the Python API, turn user errors into
one line and exit code 2. Heavy imports happen inside the commands, so
``--help`` answers instantly."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from benchmark.errors import UserError

DEFAULT_STORAGE = "sqlite:///reports/benchmark.db"  # = store.DEFAULT_STORAGE, without importing SQLAlchemy
# Where the storage URL comes from when --storage is not given: a password in it
# then stays off the command line, which `ps` shows to every user of the machine.
STORAGE_VARIABLE = "BENCHMARK_STORAGE"
# Exit status of a run in which no (dataset, model) pair produced a result
# (= runner.EXIT_NOTHING, without importing the runner).
EXIT_NOTHING = 4


class _Storage(argparse.Action):
    """``--storage URL``, noting that it was given (it then wins over the variable)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        setattr(namespace, self.dest, values)
        namespace.storage_given = True


def _add_storage(parser: argparse.ArgumentParser, reports_dir: bool = True) -> None:
    # The variable is read by main(), so that --help never prints its URL (nor
    # the password in it).
    parser.add_argument("--storage", default=DEFAULT_STORAGE, action=_Storage, metavar="URL",
                        help=f"SQLAlchemy URL of the results database (default: ${STORAGE_VARIABLE}"
                             f" when set, else {DEFAULT_STORAGE})")
    if not reports_dir:
        return
    parser.add_argument("--reports-dir", default="reports", type=Path, metavar="DIR",
                        help="where reports/<suite>/<run-id>/ folders go (default: %(default)s)")


def _workers(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers; valid: 0, 1, "
                                         f"2, ... or auto")
    return value


def _add_workers(parser: argparse.ArgumentParser, local_help: str) -> None:
    parser.add_argument("--workers", type=_workers, metavar="N", help=local_help)
    parser.add_argument("--devices", metavar="DEVICES",
                        help="auto, cpu, or GPU indices such as 0,1 (one per worker, round "
                             "robin; default: the suite's execution.devices)")


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
    _add_workers(run, local_help="trials training at once on this machine: a number, or auto "
                                 "(one per GPU, else one per execution.threads_per_worker "
                                 "cores); 0: none here, `worker` processes train (default: the "
                                 "suite's execution.workers, else 1)")
    run.add_argument("--id", dest="run_id", metavar="RUN_ID",
                     help="the new run's id (letters, digits, . _ -), so that workers started "
                          "at the same time can name it (default: the time and a random suffix)")
    run.add_argument("--templates", type=Path, metavar="DIR",
                     help="report templates looked up before the suite's report.templates "
                          "and the shipped ones (one file per section; see README)")
    run.add_argument("--detach", action="store_true",
                     help="with --workers 0: create the run, print its id and return; finish "
                          "it later with --resume or report")

    worker = commands.add_parser(
        "worker", help="join a run in progress (from any machine) and train its trials")
    worker.add_argument("run_id", help="the run's id (printed by run; see status)")
    _add_storage(worker)
    _add_workers(worker, local_help="trials this process trains at once (default: the run's "
                                    "execution.workers; at least 1)")
    _add_overrides(worker)
    worker.add_argument("--wait", type=float, default=600, metavar="SECONDS",
                        help="wait this long for the run to appear in the database (workers "
                             "started with the job that creates it; default: %(default)g)")

    status = commands.add_parser("status", help="a run's progress, from the database")
    status.add_argument("run_id", help="a run id, or 'latest'")
    _add_storage(status, reports_dir=False)

    cancel = commands.add_parser(
        "cancel", help="stop a run: its workers finish or fail their trial and exit")
    cancel.add_argument("run_id", help="a run id, or 'latest'")
    _add_storage(cancel, reports_dir=False)

    db = commands.add_parser("db", help="the database's format: see it, upgrade it")
    db.add_argument("action", choices=("upgrade", "current"),
                    help="upgrade: migrate the tool's tables to this version (keeps every "
                         "run); current: print their revision")
    _add_storage(db, reports_dir=False)

    dashboard = commands.add_parser(
        "dashboard", help="optuna-dashboard on the database: studies and curves while they train")
    _add_storage(dashboard, reports_dir=False)
    dashboard.add_argument("--host", default="127.0.0.1",
                           help="address to listen on (default: %(default)s)")
    dashboard.add_argument("--port", type=int, default=8080, help="default: %(default)s")

    validate = commands.add_parser("validate", help="check a suite without running it")
    validate.add_argument("suite", type=Path)
    _add_overrides(validate)

    report = commands.add_parser("report", help="re-render the report of a stored run")
    report.add_argument("run_id", help="a run id, or 'latest'")
    _add_storage(report)
    report.add_argument("--templates", type=Path, metavar="DIR",
                        help="report templates looked up before the run's own copy and the "
                             "shipped ones (one file per section; see README)")

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
                         help="compare with this run instead of the last finished run on this "
                              "machine with the same suite hash (else of the suite)")
    _add_overrides(nightly)
    _add_storage(nightly)
    nightly.add_argument("--quiet", action="store_true", help="no progress output")

    history = commands.add_parser("history", help="every run of a suite with its headline numbers")
    history.add_argument("suite", help="suite name")
    _add_storage(history)

    export = commands.add_parser(
        "export", help="a stored run's results as JSON, CSV or a LaTeX table")
    export.add_argument("run_id", help="a run id, or 'latest'")
    export.add_argument("--format", default="json", choices=("json", "csv", "latex"),
                        help="json: everything (like results.json); csv: one row per data set "
                             "and model (like results.csv); latex: a booktabs comparison table "
                             "(default: %(default)s)")
    export.add_argument("--output", type=Path, metavar="FILE",
                        help="write to FILE instead of printing")
    _add_storage(export, reports_dir=False)

    predict = commands.add_parser(
        "predict", help="score new data with a run's selected model (CSV rows or image files)")
    predict.add_argument("run_id", help="a run id, or 'latest'")
    predict.add_argument("file", type=Path, metavar="FILE",
                         help="a CSV file with the training data's columns (tabular models), "
                              "or image files / a folder / an .npy array (image models)")
    predict.add_argument("--model", required=True, help="the model's name in the suite")
    predict.add_argument("--dataset", help="the data set, when the model ran on several")
    predict.add_argument("--output", metavar="FILE", help="write the CSV here instead of printing")
    _add_storage(predict, reports_dir=False)

    commands.add_parser("list", help="show registered datasets, models, metrics, samplers, pruners")
    return parser


def _command() -> str:
    """The command line as run, for the run record: URLs with their password masked."""
    from benchmark.store import mask_command

    return mask_command(shlex.join(["python", "-m", "benchmark", *sys.argv[1:]]))


def _run(args: argparse.Namespace) -> int:
    import psutil

    from benchmark import runner, suite

    if args.resume:
        if args.suite is not None or args.overrides:
            raise UserError("--resume takes the suite from the stored run; give no suite file "
                            "or --set with it")
        if args.detach or args.run_id:
            raise UserError("--resume finishes a stored run; --detach and --id are for a new one")
        result = runner.resume(args.storage, args.resume, reports_dir=args.reports_dir,
                               progress=not args.quiet, workers=args.workers,
                               devices=args.devices)
    elif args.suite is None:
        raise UserError("run needs a suite file (e.g. suites/cnn.yaml) or --resume RUN_ID")
    else:
        loaded, text = suite.read(args.suite, args.overrides)
        from benchmark.templating import templates_of

        templates_of(loaded, str(args.suite), args.templates)  # checked before any training
        result = runner.run(loaded, text, storage=args.storage, reports_dir=args.reports_dir,
                            command=_command(), progress=not args.quiet, origin=str(args.suite),
                            workers=args.workers, devices=args.devices, run_id=args.run_id,
                            detach=args.detach, templates=args.templates,
                            process_created=psutil.Process().create_time())
    if result.detached:
        print(result.run_id)  # alone on its line, for scripts: RUN_ID=$(... --detach)
        return 0
    if result.nothing:
        print(f"run {result.run_id} finished without a result")
    elif result.empty_pairs:
        names = ", ".join(f"{d} / {m}" for d, m, _ in result.empty_pairs)
        print(f"run {result.run_id} finished; no result from {len(result.empty_pairs)} of "
              f"{result.n_pairs} pairs: {names}")
    else:
        print(f"run {result.run_id} finished")
    for line in result.summary:  # the results table (export.table_lines)
        print(line)
    if result.summary:
        print(f"results:     {result.run_dir / 'results.json'} (and results.csv)")
    print(f"HTML report: {result.html}")
    print(f"PDF report:  {result.pdf}")
    if result.nothing:
        print(f"error: run {result.run_id}: no (data set, model) pair produced a result, so "
              f"there is nothing to compare: {runner.describe_pairs(result.empty_pairs)}",
              file=sys.stderr)
        return EXIT_NOTHING
    return 0


def _validate(args: argparse.Namespace) -> int:
    from benchmark import runner, suite

    loaded = suite.load(args.suite, args.overrides)
    from benchmark.templating import templates_of

    templates_of(loaded, str(args.suite))  # report.templates: exists, and every template parses
    # The data too: a missing file or column is found now, not minutes into a run.
    for name, data in runner.load_datasets(loaded, str(args.suite)).items():
        for warning in data.dataset.warnings:  # what run warns about (skipped files), word for word
            print(f"warning: datasets.{name}: {warning}", file=sys.stderr)
        sizes = data.summary["split_sizes"]
        preprocessing = data.summary.get("tabular", {}).get("preprocessing", {})
        features = preprocessing.get("n_features")
        if features is None and preprocessing.get("searched"):  # as the search chooses
            from benchmark.datasets._preprocess import feature_counts

            features = feature_counts(preprocessing["searched"])
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
    html, pdf = render_run(store, record.id, args.reports_dir / record.suite_name / record.id,
                           templates=args.templates, keep=False)
    print(f"HTML report: {html}")
    print(f"PDF report:  {pdf}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from benchmark import export
    from benchmark.store import Store

    store = Store(args.storage, create=False)
    record = store.resolve(args.run_id)
    text = export.export(store, record.id, args.format)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    except OSError as error:
        raise UserError(f"--output {args.output}: cannot write it ({error.strerror or error})") \
            from None
    print(f"run {record.id}: {args.format} written to {args.output}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from benchmark.datasets import sources
    from benchmark.metrics import metrics
    from benchmark.models import models
    from benchmark.suite import PRUNERS, SAMPLERS, literal_values
    from benchmark.families import family_of

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
        family = family_of(spec)
        knobs = {**family.training_defaults, **spec.architecture_defaults()}
        types = {**family.training_types, **spec.parameter_types()}
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
    comparison = nightly.compare_runs(store, baseline, current, args.reports_dir,
                                      baseline_why=nightly.described(args.baseline))
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


def _worker(args: argparse.Namespace) -> int:
    from benchmark import execution

    return execution.worker_command(args)


def _status(args: argparse.Namespace) -> int:
    from benchmark import execution

    return execution.status_command(args)


def _cancel(args: argparse.Namespace) -> int:
    from benchmark import execution

    return execution.cancel_command(args)


def _db(args: argparse.Namespace) -> int:
    from benchmark import migrate

    return migrate.command(args)


def _predict(args: argparse.Namespace) -> int:
    from benchmark import predict

    return predict.command(args)


def _dashboard(args: argparse.Namespace) -> int:
    from benchmark import dashboard

    return dashboard.command(args)


COMMANDS = {"run": _run, "validate": _validate, "report": _report, "compare": _compare,
            "nightly": _nightly, "history": _history, "list": _list, "export": _export,
            "worker": _worker, "status": _status, "cancel": _cancel, "db": _db,
            "dashboard": _dashboard, "predict": _predict}


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM (systemd stopping the service, a CI timeout) ends a run like
    # Ctrl-C: the run is marked 'interrupted' and can be resumed.
    raise KeyboardInterrupt


MESSAGE_LIMIT = 500


def main(argv: list[str] | None = None) -> int:
    import signal

    args = build_parser().parse_args(argv)
    from_environment = False
    if "storage" in args and not getattr(args, "storage_given", False) and os.environ.get(
            STORAGE_VARIABLE):
        from_environment = True
        args.storage = os.environ[STORAGE_VARIABLE]
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return COMMANDS[args.command](args)
    except UserError as error:
        message = str(error)
        if "storage" in args and "://" in message:
            from benchmark.store import scrub

            message = scrub(message, args.storage)  # whatever the message quoted
        if from_environment and message.startswith("--storage "):
            # Name where the URL came from (messages say --storage wherever it did).
            message = f"{STORAGE_VARIABLE}=" + message.removeprefix("--storage ")
        # One line, of a length a terminal shows: a library's message may quote a
        # whole structure (scikit-learn listed 2,989 classes in 17 KB).
        message = " ".join(message.split())
        if len(message) > MESSAGE_LIMIT:
            message = message[:MESSAGE_LIMIT - 1] + "…"
        print(f"error: {message}", file=sys.stderr)
        return error.exit_code
    except Exception:  # a crash: Python's traceback and exit 1, with the URL's password masked
        import traceback

        text = traceback.format_exc()
        if "storage" in args:
            from benchmark.store import scrub

            text = scrub(text, args.storage)
        print(text, end="", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; a run in progress is marked 'interrupted' in the database (finish it "
              "with: python -m benchmark run --resume RUN_ID)", file=sys.stderr)
        return 130
