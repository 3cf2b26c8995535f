"""The deployment recipes (deploy/, README's "Deploying workers") are files no
test environment can run (Kubernetes, Slurm, Docker): check what can be checked
here, that they parse and that every benchmark command in them is one the CLI
accepts; and run the dashboard they start."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from conftest import REPO

DEPLOY = REPO / "deploy"
# `python -m benchmark ...`, also as .venv/bin/python or python3.
COMMAND = re.compile(r"python3?\s+-m\s+benchmark\s+(.*)")
# $VAR, ${VAR} and ${VAR:?message} (shell, compose), $(VAR) (Kubernetes).
VARIABLE = re.compile(r"\$\{[^}]*\}|\$\([A-Za-z_][A-Za-z0-9_]*\)|\$[A-Za-z_][A-Za-z0-9_]*")
SHELL_OPERATORS = {"|", "||", "&&", ";", "&", ">", ">>", "2>&1", "<", "2>"}


def _deploy_files() -> list[Path]:
    return sorted(path for path in DEPLOY.rglob("*") if path.is_file())


def _yaml_files() -> list[Path]:
    return [path for path in _deploy_files() if path.suffix in (".yaml", ".yml")]


def _lines(text: str) -> list[str]:
    """Lines with shell continuations (a trailing backslash) joined."""
    return re.sub(r"\\\n\s*", " ", text).splitlines()


def _readme_code() -> str:
    """README.md with every line outside a fenced code block blanked (so line numbers hold)."""
    lines, inside = [], False
    for line in (REPO / "README.md").read_text().splitlines():
        fence = line.startswith("```")
        inside ^= fence
        lines.append(line if inside and not fence else "")
    return "\n".join(lines)


def _from_text(text: str, where: str) -> list[tuple[str, str]]:
    found = []
    for number, line in enumerate(_lines(text), 1):
        match = COMMAND.search(line)
        if not match:
            continue
        rest = match.group(1)
        for quote in "\"'`":  # inside a quoted string (echo "...", `...` in a comment): to its end
            if line[:match.start()].count(quote) % 2:
                rest = rest.split(quote, 1)[0]
        found.append((f"{where}:{number}: {line.strip()}", rest))
    return found


def _from_yaml_lists(path: Path) -> list[tuple[str, str]]:
    """Commands written as YAML lists (a Kubernetes container's command + args),
    which the text search cannot see."""
    found = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            command = node.get("command")
            if isinstance(command, list):
                words = [str(word) for word in command + list(node.get("args") or [])]
                text = shlex.join(words)
                match = COMMAND.search(text)
                if match:
                    found.append((f"{path.relative_to(REPO)}: {text}", match.group(1)))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for document in yaml.safe_load_all(path.read_text()):
        walk(document)
    return found


def _commands() -> dict[str, list[tuple[str, str]]]:
    """Every benchmark command line, by source: (where, the arguments after `-m benchmark`)."""
    found: dict[str, list[tuple[str, str]]] = {"README.md": _from_text(_readme_code(), "README.md")}
    for path in _deploy_files():
        name = str(path.relative_to(REPO))
        found[name] = _from_text(path.read_text(), name)
        if path.suffix in (".yaml", ".yml"):
            found[name] += _from_yaml_lists(path)
    return found


def _arguments(text: str) -> list[str]:
    words = []
    for word in shlex.split(VARIABLE.sub("x", text), comments=True):
        if word in SHELL_OPERATORS or word.startswith((">", "2>")):
            break
        words.append(word)
    return words


def test_every_yaml_file_in_deploy_parses() -> None:
    files = _yaml_files()
    names = {str(path.relative_to(DEPLOY)) for path in files}
    assert {"github-nightly.yml", "kubernetes/benchmark.yaml",
            "compose/docker-compose.yml"} <= names, names
    for path in files:
        documents = [document for document in yaml.safe_load_all(path.read_text()) if document]
        assert documents, path


def test_kubernetes_and_compose_recipes_have_their_parts() -> None:
    kinds = {(document["kind"], document["metadata"]["name"]): document for document in
             yaml.safe_load_all((DEPLOY / "kubernetes" / "benchmark.yaml").read_text())}
    workers = kinds[("Job", "benchmark-workers")]["spec"]
    assert workers["completionMode"] == "Indexed"
    container = workers["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    for job in ("benchmark-create", "benchmark-workers"):
        env = kinds[("Job", job)]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": "BENCHMARK_STORAGE",
                "valueFrom": {"secretKeyRef": {"name": "benchmark-db", "key": "url"}}} in env
    assert "RUN_ID" in kinds[("ConfigMap", "benchmark-run")]["data"]

    services = yaml.safe_load((DEPLOY / "compose" / "docker-compose.yml").read_text())["services"]
    assert {"postgres", "create", "worker", "dashboard"} <= set(services)
    assert "healthcheck" in services["postgres"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name in ("create", "worker", "dashboard"):  # the merge key gave each the URL
        assert "BENCHMARK_STORAGE" in services[name]["environment"], name
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert any("8080" in str(port) for port in services["dashboard"]["ports"])
    assert "FROM python:3.11-slim-bookworm" in (DEPLOY / "compose" / "Dockerfile").read_text()


def test_every_benchmark_command_in_deploy_and_readme_is_accepted() -> None:
    from benchmark.cli import build_parser

    found = _commands()
    # So that the test cannot pass by finding nothing: at least these many lines.
    expected = {"README.md": 7, "deploy/kubernetes/benchmark.yaml": 2,
                "deploy/compose/docker-compose.yml": 4, "deploy/slurm/create.sbatch": 1,
                "deploy/slurm/worker.sbatch": 1, "deploy/slurm/report.sbatch": 1,
                "deploy/benchmark-nightly.service": 1, "deploy/github-nightly.yml": 1}
    for source, least in expected.items():
        assert len(found.get(source, [])) >= least, (source, found.get(source))

    parsed = {}
    for where, text in (entry for entries in found.values() for entry in entries):
        try:
            args = build_parser().parse_args(_arguments(text))
        except (SystemExit, ValueError):  # ValueError: shlex, an unbalanced quote
            pytest.fail(f"the CLI refuses {where}")
        parsed[where] = args
        if getattr(args, "detach", False):
            assert args.workers == 0, f"--detach without --workers 0: {where}"
        if where.startswith(("deploy/kubernetes", "deploy/slurm", "deploy/compose")):
            assert "storage" not in text, f"the URL belongs in BENCHMARK_STORAGE: {where}"

    # Each recipe starts what it says: a run for remote workers, workers, a report.
    deploy = {where: args for where, args in parsed.items() if where.startswith("deploy/")}
    assert any(a.command == "run" and a.workers == 0 and a.run_id for a in deploy.values())
    assert any(a.command == "run" and a.workers == 0 and a.detach for a in deploy.values())
    assert any(a.command == "run" and a.resume for a in deploy.values())
    assert sum(a.command == "worker" for a in deploy.values()) >= 3  # k8s, Slurm, compose
    assert any(a.command == "dashboard" for a in deploy.values())


def test_the_command_extraction_itself() -> None:
    assert _arguments('worker "$RUN_ID" --devices 0 | tee log') == ["worker", "x", "--devices", "0"]
    assert _arguments("worker ${RUN_ID:?set RUN_ID} --wait 600 && echo") == [
        "worker", "x", "--wait", "600"]
    assert _arguments("worker $(RUN_ID) --quiet >> log 2>&1") == ["worker", "x", "--quiet"]
    assert _from_text("a \\\n  python -m benchmark run \\\n  s.yaml\n", "f")[0][1].split() == [
        "run", "s.yaml"]
    assert _from_text('echo "see: python -m benchmark status $ID" >&2', "f")[0][1] == "status $ID"
    assert _from_text("# finish it with `python -m benchmark run --resume ID` later", "f")[0][1] \
        == "run --resume ID"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_dashboard_serves_the_studies_of_the_database(tmp_path: Path) -> None:
    pytest.importorskip("optuna_dashboard")
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    study = optuna.create_study(study_name="run-x/iris/rf", storage=url)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=2)

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmark", "dashboard", "--storage", url, "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=5) as response:
                    body = response.read().decode()
                break
            except OSError:
                time.sleep(0.5)
        assert process.poll() is None, process.communicate()
        assert body is not None, "the dashboard did not answer within 60 s"
        assert "run-x/iris/rf" in body
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert out.splitlines()[0] == (f"dashboard of {url} at http://127.0.0.1:{port}/ "
                                   f"(Ctrl-C to stop)")
    assert process.returncode == 0, err  # SIGTERM is a normal stop, not an interrupted run


@pytest.mark.slow
def test_dashboard_of_a_missing_database_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = subprocess.run(
        [sys.executable, "-m", "benchmark", "dashboard", "--storage", f"sqlite:///{missing}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: --storage sqlite:///{missing}: no database there (run a suite first)"]
    assert result.stdout == ""
    assert not missing.exists()  # nothing written


def test_dashboard_without_optuna_dashboard_says_how_to_install_it(monkeypatch) -> None:
    import argparse

    from benchmark import dashboard
    from benchmark.errors import UserError

    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # import fails
    with pytest.raises(UserError, match=r"pip install -e '\.\[dashboard\]'"):
        dashboard.command(argparse.Namespace(storage="sqlite:///x.db", host="127.0.0.1",
                                             port=8080))
