"""A storage password stays secret; bad storage is one line; a run's exit code
says whether it produced anything; a run that crashes before its first trial
leaves no half-written report behind (issue 12, part B)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli, write_suite

from benchmark import cli, runner
from benchmark import worker as worker_module
from benchmark.store import RunRecord, Store, mask_command, masked, scrub
from benchmark.worker import Outcome

SECRET = "Hunter2-pw-7c1e"

# A run of seconds: iris, one scikit-learn model searched over one knob, one trial.
IRIS_SUITE = """
    name: {name}
    datasets:
      iris: {{source: 'sklearn:iris'}}
    models:
      - model: knn
        search: {{n_neighbors: {{low: 3, high: 7}}}}
    study: {{n_trials: 1, seed: 3}}
    """

TWO_MODELS = """
    name: {name}
    datasets:
      iris: {{source: 'sklearn:iris'}}
    models:
      - model: knn
        search: {{n_neighbors: {{low: 3, high: 7}}}}
      - model: decision_tree
        search: {{max_depth: {{low: 2, high: 4}}}}
    study: {{n_trials: 1, seed: 3}}
    """

# Kept before any test replaces it: what the worker process runs for the others.
_REAL_RUN_TRIAL = worker_module.run_trial


def fail_knn(task):  # imported by name in the worker process (tests/ is on its sys.path)
    """Every trial of ``knn`` fails as a NaN loss would; other models train."""
    if task.model == "knn":
        return Outcome(state="fail", error="FloatingPointError: loss became nan at epoch 1")
    return _REAL_RUN_TRIAL(task)


def _main(*args: str) -> int:
    return cli.main(list(args))


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


# ------------------------------------------------------------------ masking


def test_masked_urls_and_commands() -> None:
    url = f"postgresql://bench:{SECRET}@db.example:5432/bench"
    assert masked(url) == "postgresql://bench:***@db.example:5432/bench"
    assert masked(masked(url)) == masked(url)  # masking what was masked changes nothing
    assert SECRET not in masked(f"postgresql://bench@h/db?password={SECRET}&sslmode=require")
    assert "sslmode=require" in masked(f"postgresql://bench@h/db?password={SECRET}&sslmode=require")
    assert SECRET not in masked(f"postgresql://bench:{SECRET}@h:notaport/db")  # SQLAlchemy refuses it
    assert masked("sqlite:///reports/benchmark.db") == "sqlite:///reports/benchmark.db"

    for command in (f"python -m benchmark run s.yaml --storage {url} --quiet",
                    f"python -m benchmark run s.yaml --storage={url}",
                    f"python -m benchmark run s.yaml --stor '{url}'"):  # argparse abbreviation
        shown = mask_command(command)
        assert SECRET not in shown and "bench:***@db.example" in shown and "s.yaml" in shown
    plain = "python -m benchmark run suites/cnn.yaml --set study.n_trials=2"
    assert mask_command(plain) == plain
    assert scrub(f"could not reach {url}: {SECRET} refused", url) == (
        f"could not reach {masked(url)}: *** refused")


# ------------------------------------------------------------------ bad storage


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, capsys) -> None:
    table = tmp_path / "a.csv"
    table.write_text("a,b\n1,2\n")
    before = table.read_bytes()
    assert _main("report", "latest", "--storage", f"sqlite:///{table}",
                 "--reports-dir", str(tmp_path / "reports")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == f"error: --storage sqlite:///{table}: cannot open the database (file is not a database)"
    assert table.read_bytes() == before and sorted(tmp_path.iterdir()) == [table]


def test_an_impossible_sqlite_path_is_one_line_and_nothing_is_written(tmp_path: Path, capsys) -> None:
    suite = write_suite(tmp_path, IRIS_SUITE.format(name="proc"))
    code = _main("run", str(suite), "--storage", "sqlite:////proc/x/y.db", "--quiet",
                 "--reports-dir", str(tmp_path / "reports"))
    assert code == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: --storage sqlite:////proc/x/y.db: cannot create the folder /proc/x")
    assert not (tmp_path / "reports").exists()


def test_the_storage_url_comes_from_the_environment_and_is_masked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    # Port 1 on loopback: refused at once; the message names the URL, masked.
    monkeypatch.setenv("BENCHMARK_STORAGE", f"postgresql://bench:{SECRET}@127.0.0.1:1/bench")
    assert _main("history", "anything") == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    assert _one_error_line(err).startswith(
        "error: BENCHMARK_STORAGE=postgresql://bench:***@127.0.0.1:1/bench: cannot open the database (")
    # --storage wins over the variable.
    database = tmp_path / "bench.db"
    Store(f"sqlite:///{database}")
    assert _main("history", "anything", "--storage", f"sqlite:///{database}") == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: suite 'anything' has no runs in sqlite:///{database}")
    # And --help never shows the variable's value.
    with pytest.raises(SystemExit):
        _main("history", "--help")
    assert SECRET not in capsys.readouterr().out


# ------------------------------------------------------------------ compare --suite


def test_compare_names_a_suite_without_runs(tmp_path: Path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    store = Store(storage)
    started = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    with store.session() as session:
        for name in ("cnn", "tabular"):
            session.add(RunRecord(id=f"run-{name}", suite_name=name, suite_yaml="", suite={},
                                  suite_hash="h", seed=0, status="finished", command="",
                                  environment={}, started_at=started))
    assert _main("compare", "best", "latest", "--suite", "nosuchsuite", "--storage", storage,
                 "--reports-dir", str(tmp_path / "reports")) == 2
    assert _one_error_line(capsys.readouterr().err) == (
        f"error: no run of suite 'nosuchsuite' in {storage}; suites with runs: cnn, tabular")


# ------------------------------------------------------------------ before the first trial


@pytest.mark.parametrize("option, key", [("study.pruner.name=threshold", "study.pruner"),
                                         ("study.pruner.options.n_warmup_steps=-1", "study.pruner"),
                                         ("study.sampler.options.n_startup_trials=abc",
                                          "study.sampler")])
def test_optuna_options_that_fail_only_when_used_are_refused_up_front(
        option: str, key: str, tmp_path: Path, capsys) -> None:
    suite = write_suite(tmp_path, IRIS_SUITE.format(name="options"))
    storage = tmp_path / "bench.db"
    code = _main("run", str(suite), "--set", option, "--storage", f"sqlite:///{storage}",
                 "--quiet", "--reports-dir", str(tmp_path / "reports"))
    err = capsys.readouterr().err
    if code == 2 and "fails with these options" not in err:
        # suite validation (suite.py) refused it first: as good, as long as it is one line
        _one_error_line(err)
    else:
        assert code == 2
        assert _one_error_line(err).startswith(f"error: {suite}: {key}: ")
    assert not storage.exists() and not (tmp_path / "reports").exists()


@pytest.mark.filterwarnings("ignore:Query string argument")  # pysqlite ignores ?password=
def test_a_crash_before_the_first_trial_is_one_line_and_leaves_no_report_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def broken(url: str):
        raise RuntimeError(f"cannot reach the trial storage at {url}")

    monkeypatch.setattr(runner, "optuna_storage", broken)  # what _study opens first
    suite = write_suite(tmp_path, IRIS_SUITE.format(name="crash"))
    url = f"sqlite:///{tmp_path / 'bench.db'}?password={SECRET}"
    code = _main("run", str(suite), "--storage", url, "--quiet",
                 "--reports-dir", str(tmp_path / "reports"))
    assert code == runner.EXIT_CRASHED == 3
    err = capsys.readouterr().err
    line = _one_error_line(err)
    [run] = Store(url).runs("crash")
    assert line == (f"error: run {run.id} failed before its first trial and is stored as failed: "
                    f"RuntimeError: cannot reach the trial storage at {masked(url)}")
    assert run.status == "failed" and run.error.startswith("RuntimeError: cannot reach")
    assert SECRET not in err and SECRET not in run.error and SECRET not in run.command
    assert not (tmp_path / "reports").exists()  # no empty reports/crash/<id>/ folder


# ------------------------------------------------------------------ exit codes


@pytest.mark.slow
def test_pairs_without_a_result_are_named_and_a_run_with_none_exits_4(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from benchmark.report.context import build

    import benchmark.report

    monkeypatch.setattr(worker_module, "run_trial", fail_knn)
    # No HTML or PDF (seconds each; the end-to-end tests render them): the paths only.
    monkeypatch.setattr(benchmark.report, "render_run", lambda store, run_id, folder, ctx=None, **_: (
        folder / "report.html", folder / "report.pdf"))
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    reports = str(tmp_path / "reports")

    # knn fails every trial, the tree trains: exit 0, the summary names knn.
    suite = write_suite(tmp_path, TWO_MODELS.format(name="partly"), "partly.yaml")
    assert _main("run", str(suite), "--storage", storage, "--quiet", "--reports-dir", reports) == 0
    out = capsys.readouterr().out
    [run] = Store(storage).runs("partly")
    assert f"run {run.id} finished; no result from 1 of 2 pairs: iris / knn\n" in out
    assert run.status == "finished"
    context = build(Store(storage), run.id)
    [empty] = context["empty_pairs"]
    assert empty["dataset"] == "iris" and empty["model"] == "knn"
    assert empty["reason"].startswith("no trial completed") and "1 failed" in empty["reason"]
    assert "loss became nan" in empty["reason"]

    # Nothing trains: exit 4, one line why, stored as failed (no nightly baseline).
    suite = write_suite(tmp_path, IRIS_SUITE.format(name="nothing"), "nothing.yaml")
    assert _main("run", str(suite), "--storage", storage, "--quiet",
                 "--reports-dir", reports) == runner.EXIT_NOTHING == cli.EXIT_NOTHING == 4
    captured = capsys.readouterr()
    [run] = Store(storage).runs("nothing")
    assert captured.out.startswith(f"run {run.id} finished without a result\n")
    assert "HTML report: " in captured.out
    line = _one_error_line(captured.err)
    assert line.startswith(f"error: run {run.id}: no (data set, model) pair produced a result")
    assert "iris / knn (no trial completed" in line and "loss became nan" in line
    assert run.status == "failed" and run.error.startswith("no (data set, model) pair produced")
    # its report says why, in full (the link of this database: runner.latest_name)
    assert (tmp_path / "reports" / "nothing" / runner.latest_name(storage)).is_symlink()


def test_a_nightly_whose_run_produced_nothing_exits_4(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    import benchmark.report
    from benchmark import nightly

    monkeypatch.setattr(worker_module, "run_trial", fail_knn)
    monkeypatch.setattr(benchmark.report, "render_run", lambda store, run_id, folder, ctx=None, **_: (
        folder / "report.html", folder / "report.pdf"))
    suite = write_suite(tmp_path, IRIS_SUITE.format(name="dark"), "dark.yaml")
    code = nightly.nightly([suite], storage=f"sqlite:///{tmp_path / 'bench.db'}",
                           reports_dir=tmp_path / "reports", overrides=[], progress=False)
    out = capsys.readouterr().out
    assert code == 4
    assert "dark: no result from iris / knn (no trial completed (1 failed, e.g. " in out
    assert "dark: the run produced no result (stored as failed: it is no baseline)" in out
    assert "nightly: 1 suite(s) produced no result at all: dark" in out


def test_readme_lists_every_exit_code() -> None:
    from conftest import REPO

    text = (REPO / "README.md").read_text()
    table = text[text.index("| exit code |"):]
    table = table[:table.index("\n\n")]
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 130 |"):
        assert code in table
    assert "BENCHMARK_STORAGE" in text


# ------------------------------------------------------------------ slow: real runs


@pytest.mark.slow
def test_a_nan_in_one_row_never_ends_as_a_finished_run(tmp_path: Path) -> None:
    """The issue's case: one row of 60 has a missing feature. In the training rows
    the data check refuses it (2); in a validation row every trial fails, in a
    test row every final evaluation does: no pair has a result (4). Never 0."""
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["a,b,label"]
    for index in range(60):
        label = index % 2
        a = "" if index == 31 else f"{rng.normal(2 * label):.3f}"
        rows.append(f"{a},{rng.normal(-2 * label):.3f},{'yes' if label else 'no'}")
    data = tmp_path / "table.csv"
    data.write_text("\n".join(rows) + "\n")
    for seed in (1, 2, 3):
        suite = write_suite(tmp_path, f"""
            name: nan
            datasets:
              table: {{source: csv, path: {data}, target: label, split: {{seed: {seed}}}}}
            models: [{{model: logistic_regression}}]
            study: {{n_trials: 1}}
            """)
        result = run_cli("run", str(suite), "--quiet", cwd=tmp_path, timeout=300)
        assert result.returncode in (2, 4), result.stdout + result.stderr
        _one_error_line(result.stderr)
    database = tmp_path / "reports" / "benchmark.db"
    if database.exists():
        assert all(run.status != "finished" for run in Store(f"sqlite:///{database}").runs("nan"))


def _password_role(server: str, role: str, password: str) -> str:
    """A role that must give ``password`` over TCP (scram-sha-256 in pg_hba.conf,
    for this role only), owning a fresh database; returns its URL, password included."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        connection.execute(text(f'CREATE DATABASE {role} OWNER {role}'))
        hba = Path(connection.execute(text("SHOW hba_file")).scalar())
        hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        connection.execute(text("SELECT pg_reload_conf()"))
    admin.dispose()
    url = make_url(server).set(username=role, password=password, database=role)
    return url.render_as_string(hide_password=False)


@pytest.mark.slow
def test_a_postgres_password_appears_nowhere(postgres_server: str, tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    url = _password_role(postgres_server, "secretive", SECRET)
    wrong = url.replace(SECRET, "Wrong-pw-1234")
    suite = write_suite(tmp_path, IRIS_SUITE.format(name="secret"), "secret.yaml")
    # The password is needed: a wrong one is refused, in one line that shows neither.
    refused = run_cli("run", str(suite), "--storage", wrong, cwd=tmp_path, timeout=300)
    assert refused.returncode == 2
    assert "Wrong-pw-1234" not in refused.stderr + refused.stdout
    assert "password authentication failed" in _one_error_line(refused.stderr)

    ran = run_cli("run", str(suite), "--storage", url, cwd=tmp_path, timeout=300)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "secretive:***@127.0.0.1" in ran.stderr  # the progress line names the database, masked
    # The same through the environment: the password is on no command line.
    env_run = subprocess.run([sys.executable, "-m", "benchmark", "run", str(suite)], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "BENCHMARK_STORAGE": url})
    assert env_run.returncode == 0, env_run.stderr[-3000:]
    report_again = run_cli("report", "nosuchrun", "--storage", url, cwd=tmp_path, timeout=120)
    assert report_again.returncode == 2 and "secretive:***@" in report_again.stderr

    texts = {"stdout": ran.stdout + env_run.stdout + report_again.stdout,
             "stderr": ran.stderr + env_run.stderr + report_again.stderr}
    for folder in (tmp_path / "reports" / "secret").iterdir():
        if folder.is_symlink() or not folder.is_dir():
            continue
        texts[f"{folder.name}/worker.log"] = (folder / "worker.log").read_text()
        texts[f"{folder.name}/report.html"] = (folder / "report.html").read_text()
        texts[f"{folder.name}/report.pdf"] = subprocess.run(
            ["pdftotext", "-layout", str(folder / "report.pdf"), "-"], capture_output=True,
            text=True, check=True).stdout
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM bench_runs")).all()
    engine.dispose()
    assert len(rows) == 2
    texts["bench_runs"] = "\n".join(repr(tuple(row)) for row in rows)
    assert "--storage" in texts["bench_runs"]  # the first run's command, its URL masked
    assert any("secretive:***@" in content for where, content in texts.items()
               if where.endswith("report.html"))  # the reproducibility section's command
    for where, content in texts.items():
        assert SECRET not in content, where
