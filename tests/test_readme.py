"""What passes for CI passes for a new user: CI runs the README's test command."""

from __future__ import annotations

import re

from conftest import REPO


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (REPO / "README.md").read_text())


def test_readme_starts_with_the_two_commands() -> None:
    run, test = _commands()[:2]
    assert run.startswith("bash setup.sh && ") and "benchmark run suites/cnn.yaml" in run
    assert test.startswith("bash setup.sh && ") and "pytest" in test


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == _commands()[1]


def test_nightly_recipes_are_commands_the_cli_accepts() -> None:
    import shlex

    from benchmark.cli import build_parser

    sources = [REPO / "README.md", *sorted(p for p in (REPO / "deploy").rglob("*") if p.is_file())]
    commands = [line.split("-m benchmark ", 1)[1].split(">>")[0]
                for source in sources for line in source.read_text().splitlines()
                if "-m benchmark nightly" in line]
    assert len(commands) >= 4  # crontab, README's ExecStart, the service, the workflow
    for command in commands:
        args = build_parser().parse_args(shlex.split(command.replace('"$BENCH_STORAGE"', "x")))
        assert args.command == "nightly" and args.suites and args.storage
