"""The report's templates (issue 14): one file per section, user overrides
(report.templates in a suite, --templates on run and report) looked up before
the shipped files, the techreport style, and a software line that names only
what the run used. Stored-run tests train nothing; the suite-level ones run a
tiny scikit-learn suite (iris, 2 trials) through the CLI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from benchmark import stats
from benchmark.report import context as report_context
from benchmark.report import render
from benchmark.store import RunRecord, Store

STORED = Path(__file__).resolve().parent / "data" / "stored_run.db"
ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("title", "abstract", "contents", "introduction", "data", "methods", "results",
            "statistics", "discussion", "references", "trials", "architectures",
            "reproducibility")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([sys.executable, "-m", "benchmark", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


@pytest.fixture(autouse=True)
def few_resamples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 100)


@pytest.fixture()
def stored(tmp_path: Path) -> str:
    """A copy of the stored (Keras) run, upgraded to this version's format."""
    copy = tmp_path / "stored.db"
    shutil.copy(STORED, copy)
    url = f"sqlite:///{copy}"
    done = cli("db", "upgrade", "--storage", url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return url


def _set_report(url: str, **keys: object) -> None:
    store = Store(url, create=False)
    with store.session() as session:
        run = session.query(RunRecord).one()
        suite = dict(run.suite)
        suite["report"] = {**suite["report"], **keys}
        session.execute(update(RunRecord).values(suite=suite))


SUITE = """\
name: iris_templates
datasets:
  iris: {{source: "sklearn:iris"}}
models:
  - model: logistic_regression
study: {{n_trials: 2}}
evaluation: {{repeats: 1}}
report:
  templates: {templates}
"""


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One tiny scikit-learn run whose suite replaces the introduction."""
    folder = tmp_path_factory.mktemp("iris")
    (folder / "mine").mkdir()
    (folder / "mine" / "section_introduction.html.j2").write_text(
        '<span class="anchor" id="introduction"></span><h2>Introduction</h2>\n'
        "<p>OUR OWN INTRODUCTION for {{ run.suite_name }}.</p>\n")
    (folder / "suites").mkdir()
    (folder / "suites" / "iris.yaml").write_text(SUITE.format(templates="../mine"))
    url = f"sqlite:///{folder / 'bench.db'}"
    done = cli("run", "suites/iris.yaml", "--storage", url, "--reports-dir", "reports",
               "--quiet", cwd=folder)
    assert done.returncode == 0, done.stderr
    run_dir = next((folder / "reports" / "iris_templates").glob("2*"))
    return {"folder": folder, "url": url, "run_dir": run_dir}


@pytest.mark.slow
def test_a_suite_override_replaces_one_section_and_keeps_the_rest(iris_run: dict) -> None:
    run_dir = iris_run["run_dir"]
    html = (run_dir / "report.html").read_text()
    assert "OUR OWN INTRODUCTION for iris_templates." in html
    assert "pair" not in html.split("<h2>Data</h2>")[0]  # the shipped introduction is gone
    for heading in ("<h2>Data</h2>", "<h2>Methods</h2>", "<h2>Results</h2>",
                    '<h2 class="appendix">Reproducibility</h2>', "Abstract"):
        assert heading in html
    # The run keeps the folder it rendered with, and `report` renders the same
    # from that copy (it never sees the suite's folder).
    assert (run_dir / "templates" / "section_introduction.html.j2").is_file()
    (run_dir / "report.html").unlink()
    done = cli("report", run_dir.name, "--storage", iris_run["url"], "--reports-dir", "reports",
               cwd=iris_run["folder"])
    assert done.returncode == 0, done.stderr
    assert "OUR OWN INTRODUCTION" in (run_dir / "report.html").read_text()


def test_a_scikit_learn_only_report_names_neither_tensorflow_nor_keras(iris_run: dict) -> None:
    run_dir = iris_run["run_dir"]
    for text in ((run_dir / "report.html").read_text(), pdf_text(run_dir / "report.pdf")):
        lowered = text.lower()
        assert "tensorflow" not in lowered and "keras" not in lowered
        assert "scikit-learn" in lowered and "Optuna" in text


def test_a_keras_report_names_tensorflow_and_keras(stored: str) -> None:
    ctx = report_context.build(Store(stored, create=False), "latest")
    html = render.render_html(ctx, {})
    methods = html[html.index("<h2>Methods</h2>"):html.index("<h2>Results</h2>")]
    assert "TensorFlow [" in methods and "Keras [" in methods and "tf.data" in methods
    software_line = methods.split("Hardware and software")[1]
    assert re.search(r"TensorFlow \d", software_line) and re.search(r"Keras \d", software_line)


@pytest.mark.slow
def test_the_templates_option_replaces_the_title_block(stored: str, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "section_title.html.j2").write_text(
        '<header class="custom"><h1 class="title">A TITLE OF OUR OWN</h1>'
        "<p>{{ authors | join(', ') or 'the bench team' }}</p></header>\n")
    done = cli("report", "latest", "--storage", stored, "--reports-dir", "out",
               "--templates", str(mine), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html_path = next((tmp_path / "out").glob("*/*/report.html"))
    html = html_path.read_text()
    assert "A TITLE OF OUR OWN" in html and "the bench team" in html
    assert "Generated by benchmark" not in html
    assert "<h2>Results</h2>" in html and "References" in html
    # --templates on report renders with it but does not replace the run's templates.
    assert not (html_path.parent / "templates").exists()
    assert "A TITLE OF OUR OWN" in pdf_text(html_path.with_suffix(".pdf"))


@pytest.mark.slow
def test_the_techreport_style_has_one_column_and_a_table_of_contents(stored: str,
                                                                     tmp_path: Path) -> None:
    store = Store(stored, create=False)
    ieee = render.render_html(report_context.build(store, "latest"), {})
    assert '<nav class="contents">' not in ieee and "column-count: 2" in ieee
    _set_report(stored, style="techreport")
    html_path, pdf_path = render.render_run(store, "latest", tmp_path / "tr")
    html = html_path.read_text()
    assert '<nav class="contents">' in html and "column-count" not in html
    for anchor in ("introduction", "data", "methods", "results", "discussion", "references",
                   "trials", "reproducibility"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    text = pdf_text(pdf_path)
    assert "TECHNICALREPORT" in text.replace(" ", "").upper()  # the title block's label
    contents = text[text.index("Contents"):]
    for title in ("Introduction", "Data", "Methods", "Results", "Discussion", "References",
                  "Reproducibility"):
        assert title in contents
    assert text.count("Reproducibility") >= 2  # in the contents and as the appendix


@pytest.mark.slow
def test_a_missing_templates_folder_is_one_line_before_anything_runs(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(SUITE.format(templates="nowhere"))
    for command in (["validate", "s.yaml"],
                    ["run", "s.yaml", "--storage", f"sqlite:///{tmp_path / 'b.db'}",
                     "--reports-dir", "reports", "--quiet"]):
        done = cli(*command, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "report.templates" in lines[0] and "nowhere" in lines[0]
    assert not (tmp_path / "reports").exists() and not (tmp_path / "b.db").exists()
    done = cli("run", "s.yaml", "--templates", "elsewhere", "--storage",
               f"sqlite:///{tmp_path / 'b.db'}", cwd=tmp_path)
    assert done.returncode == 2 and "--templates" in done.stderr and "elsewhere" in done.stderr


def test_a_template_with_a_syntax_error_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "section_data.html.j2").write_text(
        "<h2>Data</h2>\n<p>fine</p>\n{% if datasets %}\n<p>never closed</p>\n{% endfor %}\n")
    (tmp_path / "s.yaml").write_text(SUITE.format(templates="tpl"))
    for command in (["validate", "s.yaml"],
                    ["run", "s.yaml", "--storage", f"sqlite:///{tmp_path / 'b.db'}",
                     "--reports-dir", "reports", "--quiet"]):
        done = cli(*command, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert "section_data.html.j2:5:" in lines[0] and "syntax error" in lines[0]
    assert not (tmp_path / "reports").exists()


@pytest.mark.slow
def test_report_templates_option_with_a_syntax_error_exits_2(stored: str, tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "section_title.html.j2").write_text("<h1>{{ title </h1>\n")
    done = cli("report", "latest", "--storage", stored, "--reports-dir", "out",
               "--templates", "bad", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "section_title.html.j2:1:" in lines[0]


def test_every_section_is_its_own_shipped_file() -> None:
    shipped = render.SHIPPED
    assert (shipped / "report.html.j2").is_file() and (shipped / "report.css").is_file()
    for name in SECTIONS:
        assert (shipped / "report" / f"section_{name}.html.j2").is_file(), name
    assert (shipped / "report" / "techreport" / "report.css").is_file()
    # The repository's top-level templates/ is the same folder.
    assert (ROOT / "templates").resolve() == shipped.resolve()
    # No analysis in the templates: no family names tested there.
    for path in shipped.rglob("*.j2"):
        assert 'family == "keras"' not in path.read_text() and '"keras" in' not in path.read_text()
