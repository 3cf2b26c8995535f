"""Bad input at scale: the shipped suites, mutated (a key dropped, a value of
another type, unknown keys, the text cut at a random byte, a line repeated,
YAML tags, huge numbers, empty strings, lists where mappings belong, aliases),
validated in-process. Every example either validates or is refused with the
tool's UserError: one line of bounded length, naming the file (or the --set).
Anything else (a traceback's exception, a hang) fails.

Examples per session: 200 in the fast run (test_mutated_suites_validate_or_
give_one_line); 600 more of the same and 250 through the CLI's whole validate
(data loaded) in the slow run; 30 through ``python -m benchmark validate`` in
its own process (slow)."""

from __future__ import annotations

import atexit
import io
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from benchmark import cli, suite
from benchmark.errors import UserError
from conftest import REPO, run_cli

SHIPPED = {path.name: path.read_text() for path in sorted((REPO / "suites").glob("*.yaml"))}
# Suites of unshipped data name a file with --set (suite.read does not open it).
OVERRIDES = {name: [f"datasets.{key}.path=data.csv"
                    for key, entry in yaml.safe_load(text)["datasets"].items()
                    if "path" in entry and entry["path"] is None]
             for name, text in SHIPPED.items()}
# The whole validate (data loaded) runs on the suites whose data ships with scikit-learn.
BUILTIN_DATA = [name for name, overrides in OVERRIDES.items() if not overrides]

ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1, 2**31, 2**32, 2**63, 10**100, -10**100, 0.0, -0.5, 1e308,
    float("nan"), float("inf"), float("-inf"), "", " ", "x" * 300, "..", "a/b", "\x00", "é",
    "<script>", "{{ 7*7 }}", [], [1, "a", None], {}, {"": 1}, {"low": 1, "high": 0},
    {"choices": []}, {"choices": [1, [2]]}, {"low": 0.0, "high": float("nan")},
    {"name": "tpe", "options": {"n_startup_trials": "abc"}}, "tpe", "median", "threshold",
    "sklearn:iris", "svm", "accuracy", "f1", "relu", 1e-300, -2**31,
]
ODD_KEYS = ["n_trails", "", "x" * 200, "name", "model", "low", "choices", "seed", 1, "é", ".."]
TAGS = ["!!python/object/apply:os.system ['echo pwned']", "!!python/name:os.system", "!!binary",
        "!!set", "!!omap", "!!timestamp", "!!str", "!!int", "!!float", "!!bool", "!!null",
        "!custom", "!!map", "!!seq", "&anchor", "*undefined"]
BOMB = ('lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
        + "".join(f"l{n}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]\n"
                  for n in range(8)))


class Chooser:
    """Draws for the mutations: from Hypothesis in the property tests, from a
    seeded random.Random for the CLI sample."""

    def __init__(self, data: Any = None, rng: random.Random | None = None) -> None:
        self.data, self.rng = data, rng

    def pick(self, options: Sequence[Any]) -> Any:
        if self.data is not None:
            return self.data.draw(st.sampled_from(list(options)))
        return self.rng.choice(list(options))

    def number(self, low: int, high: int) -> int:
        if self.data is not None:
            return self.data.draw(st.integers(low, high))
        return self.rng.randint(low, high)

    def value(self) -> Any:
        if self.data is not None:
            return self.data.draw(st.one_of(
                st.sampled_from(ODD_VALUES), st.integers(), st.floats(), st.text(max_size=12),
                st.lists(st.integers(-3, 300), max_size=3),
                st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)))
        return self.rng.choice(ODD_VALUES)


# ---------------------------------------------------------------- mutations

def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else ()
    for key, child in items:
        found.append(prefix + (key,))
        found.extend(_paths(child, prefix + (key,)))
    return found


def _parent(data: Any, path: tuple) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


def drop_key(data: Any, c: Chooser) -> None:
    path = c.pick(_paths(data))
    parent = _parent(data, path)
    del parent[path[-1]]


def swap_type(data: Any, c: Chooser) -> None:
    path = c.pick(_paths(data))
    _parent(data, path)[path[-1]] = c.value()


def insert_unknown_key(data: Any, c: Chooser) -> None:
    mappings = [()] + [p for p in _paths(data) if isinstance(_parent(data, p + (0,)), dict)]
    target = _parent(data, c.pick(mappings) + (0,))
    target[c.pick(ODD_KEYS)] = c.value()


def list_for_mapping(data: Any, c: Chooser) -> None:
    paths = [p for p in _paths(data) if isinstance(_parent(data, p + (0,)), dict)]
    if paths:
        path = c.pick(paths)
        mapping = _parent(data, path)[path[-1]]
        _parent(data, path)[path[-1]] = c.pick([[mapping], list(mapping), []])


def share_a_value(data: Any, c: Chooser) -> None:
    """Two keys hold one object: safe_dump writes an anchor and an alias."""
    paths = _paths(data)
    source, target = c.pick(paths), c.pick(paths)
    if target[:len(source)] != source:  # not into itself (the recursive case is in test_bad_suites)
        _parent(data, target)[target[-1]] = _parent(data, source)[source[-1]]


DATA_MUTATIONS: list[Callable[[Any, Chooser], None]] = [
    drop_key, swap_type, insert_unknown_key, list_for_mapping, share_a_value]


def truncate(text: bytes, c: Chooser) -> bytes:
    return text[:c.number(0, len(text))]


def repeat_a_line(text: bytes, c: Chooser) -> bytes:
    lines = text.splitlines(keepends=True)
    line = lines[c.number(0, len(lines) - 1)]
    at = c.number(0, len(lines))
    return b"".join(lines[:at] + [line] + lines[at:])


def tag_a_value(text: bytes, c: Chooser) -> bytes:
    lines = text.splitlines(keepends=True)
    candidates = [i for i, line in enumerate(lines) if b": " in line and not line.lstrip().startswith(b"#")]
    if not candidates:
        return text
    i = c.pick(candidates)
    key, _, value = lines[i].partition(b": ")
    lines[i] = key + b": " + c.pick(TAGS).encode() + b" " + value
    return b"".join(lines)


def insert_a_character(text: bytes, c: Chooser) -> bytes:
    at = c.number(0, len(text))
    char = c.pick(["\x00", "\t", "\ufeff", "\x85", "\u2028", "'", '"', "{", "[", "&", "*", "|",
                   ">", "%", "@", "`", "\\", "#", ":", "-", "\n", " "]).encode()
    if c.number(0, 3) == 0:
        char = bytes([c.number(128, 255)])  # not UTF-8
    return text[:at] + char + text[at:]


def bomb(text: bytes, c: Chooser) -> bytes:
    return BOMB.encode() + text + b"x_bomb: *" + c.pick("abcdefghi").encode() + b"\n"


TEXT_MUTATIONS: list[Callable[[bytes, Chooser], bytes]] = [
    truncate, repeat_a_line, tag_a_value, insert_a_character, bomb]


def mutated(c: Chooser, names: Sequence[str] = tuple(SHIPPED)) -> tuple[str, bytes]:
    """(shipped suite file name, mutated text): 1-3 mutations, those on the data first."""
    name = c.pick(names)
    data = yaml.safe_load(SHIPPED[name])
    steps = [c.pick(DATA_MUTATIONS + TEXT_MUTATIONS) for _ in range(c.number(1, 3))]
    data_steps = [s for s in steps if s in DATA_MUTATIONS]
    if data_steps:
        for step in data_steps:
            if isinstance(data, dict | list) and _paths(data):
                step(data, c)
        text = yaml.safe_dump(data, sort_keys=False).encode()
    else:
        text = SHIPPED[name].encode()
    for step in steps:
        if step in TEXT_MUTATIONS and text:
            text = step(text, c)
    return name, text


# ---------------------------------------------------------------- checks

WORKDIR = Path(tempfile.mkdtemp(prefix="suite-corpus-"))
atexit.register(shutil.rmtree, WORKDIR, ignore_errors=True)


def _write(name: str, text: bytes) -> Path:
    path = WORKDIR / name  # the shipped file name: a suite without name: is named after it
    path.write_bytes(text)
    return path


def check_in_process(name: str, text: bytes) -> str | None:
    """suite.read: a valid suite that run can build its studies from, or one line."""
    from benchmark.space import Space

    path = _write(name, text)
    try:
        loaded = suite.read(path, OVERRIDES[name])[0]
    except UserError as error:
        message = str(error)
        assert "\n" not in message and len(message) <= suite.MAX_MESSAGE, message
        assert message.startswith((f"{path}: ", "--set ")), message
        return message
    loaded.hash()
    for model in loaded.models:
        Space.from_spec(model.search)
    loaded.study.sampler.create(seed=loaded.study.seed)
    loaded.study.pruner.create()
    return None


def check_whole_validate(name: str, text: bytes) -> None:
    """cli.main validate, data loaded: exit 0, or exit 2 with one line on stderr."""
    path = _write(name, text)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["validate", str(path), *[a for o in OVERRIDES[name] for a in ("--set", o)]])
    lines = [line for line in err.getvalue().splitlines() if not line.startswith("warning: ")]
    if code == 0:
        assert "valid suite" in out.getvalue()
    else:
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err.getvalue()
        assert len(lines[0]) <= suite.MAX_MESSAGE + len("error: ")


# No shrinking: a failure prints its draws (the suite, the mutations) at once, where
# shrinking these examples can take minutes.
CORPUS = settings(deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@settings(CORPUS, max_examples=200)
@given(st.data())
def test_mutated_suites_validate_or_give_one_line(data: st.DataObject) -> None:
    check_in_process(*mutated(Chooser(data)))


@pytest.mark.slow
@settings(CORPUS, max_examples=600, derandomize=False)
@given(st.data())
def test_more_mutated_suites_validate_or_give_one_line(data: st.DataObject) -> None:
    check_in_process(*mutated(Chooser(data)))


@pytest.mark.slow
@settings(CORPUS, max_examples=250, derandomize=False)
@given(st.data())
def test_mutated_suites_through_the_whole_validate(data: st.DataObject) -> None:
    check_whole_validate(*mutated(Chooser(data), BUILTIN_DATA))


def test_the_corpus_makes_bad_suites_of_every_kind() -> None:
    """The mutations reach the checks they are for (else the corpus proves little)."""
    rng = random.Random(1)
    messages = [check_in_process(*mutated(Chooser(rng=rng))) for _ in range(250)]
    refused = [m for m in messages if m]
    assert 150 < len(refused) < 250  # most mutations are refused, some still validate
    for fragment in ("duplicate key", "invalid YAML", "aliases (*name) expand", "unknown key",
                     "cannot read the suite", "Input should be", "required key is missing",
                     "could not determine a constructor"):
        assert any(fragment in m for m in refused), fragment


@pytest.mark.slow
def test_a_sample_of_bad_suites_through_the_real_cli(tmp_path: Path) -> None:
    """30 refused suites, each by ``python -m benchmark validate`` in its own
    process: exit 2, the in-process line on stderr alone, no traceback, nothing written."""
    rng = random.Random(30)
    sample: list[tuple[str, bytes, str]] = []
    while len(sample) < 30:
        name, text = mutated(Chooser(rng=rng))
        message = check_in_process(name, text)
        if message and not message.startswith("--set"):
            sample.append((name, text, message))
    for index, (name, text, message) in enumerate(sample):
        work = tmp_path / str(index)
        work.mkdir()
        (work / name).write_bytes(text)
        sets = [a for o in OVERRIDES[name] for a in ("--set", o)]
        result = run_cli("validate", name, *sets, cwd=work, timeout=120)
        assert result.returncode == 2, (name, text, result.stderr)
        assert "Traceback" not in result.stderr
        # (scikit-learn lists a set's members in hash order, which differs between processes)
        expected = f"error: {message.replace(str(WORKDIR / name), name)}"
        assert [re.sub(r"\{[^{}]*\}", "{...}", line) for line in result.stderr.splitlines()] == \
            [re.sub(r"\{[^{}]*\}", "{...}", expected)]
        assert result.stdout == ""
        assert sorted(p.name for p in work.iterdir()) == [name]  # no reports/, no database
