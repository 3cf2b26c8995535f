"""Data that lies (issue 12, part C): per-source checks of what a file holds,
refused with one line or dropped with ``options.bad_rows: drop``; option values
that used to end in a traceback; and a generated corpus of broken CSV files,
every one of which must load cleanly or be refused with one line."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmark.cli import main
from benchmark.datasets import _preprocess, load, split
from benchmark.errors import DataError, UserError
from benchmark.suite import Preprocess
from conftest import run_cli, write_suite

# ---------------------------------------------------------------- helpers


def _pixel_text(rows: int = 120, classes: int = 10, side: int = 4, seed: int = 0) -> str:
    """A pixel CSV as text: ``label, p0..p{side*side-1}``, labels 0..classes-1, pixels 0..255."""
    rng = np.random.default_rng(seed)
    header = ",".join(["label", *(f"p{i}" for i in range(side * side))])
    lines = [",".join([str(i % classes), *map(str, rng.integers(0, 256, side * side))])
             for i in range(rows)]
    return header + "\n" + "\n".join(lines) + "\n"


def _edit_line(text: str, line: int, change) -> str:
    """``text`` with its 1-based ``line`` (header = 1) replaced by change(fields)."""
    lines = text.split("\n")
    lines[line - 1] = ",".join(change(lines[line - 1].split(",")))
    return "\n".join(lines)


def _write(path: Path, text: str | bytes) -> str:
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


def _pixels(path: str, **options):
    return load("csv_pixels", path=path, options={"image_shape": [4, 4], **options})


def _validate(tmp_path: Path, capsys, body: str) -> tuple[int, list[str], str]:
    """``validate`` in-process (cli.main, as the command line runs it): exit code,
    stderr lines, stdout."""
    model = ("logistic_regression" if "source: csv\n" in body + "\n"
             else "simple_cnn, search: {image_size: 32}")
    suite = write_suite(tmp_path, "name: bad\ndatasets:\n  d:\n" + "".join(
        f"    {line}\n" for line in body.strip().splitlines()) + "models: [{model: %s}]\n" % model)
    code = main(["validate", str(suite)])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines(), captured.out


# ---------------------------------------------------------------- pixel CSV


def test_the_issues_case_a_10_class_pixel_csv_cut_in_the_middle_of_its_last_row(tmp_path: Path) -> None:
    text = _pixel_text(rows=120, classes=10)
    cut = text[:len(text) - 25]  # the download stopped in the middle of line 121
    assert cut.count("\n") == 120 and not cut.endswith("\n")
    path = _write(tmp_path / "fashion.csv", cut)
    with pytest.raises(DataError) as error:
        _pixels(path)
    assert error.value.key == "path"
    assert error.value.message == (
        f"{path}: 1 of 120 rows is bad: 1 cut off: fewer fields than the header's 17 (line 121); "
        "fix the file, or set options.bad_rows: drop to drop it")

    dataset = _pixels(path, bad_rows="drop")
    assert dataset.x.shape == (119, 4, 4, 1) and np.isfinite(dataset.x).all()
    assert dataset.class_names == [str(i) for i in range(10)]  # not "0.0": no NaN label left
    assert dataset.dropped == {"cut off: fewer fields than the header's 17": 1}
    assert dataset.warnings == (f"dropped 1 bad row of 120 in {path} (options.bad_rows: drop): "
                                "1 cut off: fewer fields than the header's 17 (line 121)",)
    # Nothing dropped: nothing said.
    whole = _pixels(_write(tmp_path / "whole.csv", text))
    assert whole.dropped == {} and whole.warnings == () and len(whole.y) == 120


def test_validate_refuses_the_cut_file_with_one_line_and_exit_2(tmp_path: Path) -> None:
    text = _pixel_text(rows=120, classes=10)
    path = _write(tmp_path / "fashion.csv", text[:len(text) - 25])
    suite = write_suite(tmp_path, f"""
        name: fashion
        datasets:
          fashion: {{source: csv_pixels, path: {path}, options: {{image_shape: [4, 4]}}}}
        models: [{{model: simple_cnn}}]
        """)
    result = run_cli("validate", str(suite), cwd=tmp_path, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: {suite}: datasets.fashion.path: {path}: 1 of 120 rows is bad: 1 cut off: fewer "
        "fields than the header's 17 (line 121); fix the file, or set options.bad_rows: drop to "
        "drop it"]


def test_validate_with_bad_rows_drop_warns_and_counts_what_is_left(tmp_path: Path, capsys) -> None:
    text = _pixel_text(rows=120, classes=10)
    path = _write(tmp_path / "fashion.csv", text[:len(text) - 25])
    code, err, out = _validate(tmp_path, capsys, f"""
source: csv_pixels
path: {path}
options: {{image_shape: [4, 4], bad_rows: drop}}
split: {{stratify: false}}
""")
    assert code == 0, err
    assert err[0].startswith(f"warning: datasets.d: dropped 1 bad row of 120 in {path}")
    assert "(line 121)" in err[0]
    assert "datasets.d: 119 samples, 10 classes" in out


OUTSIDE = "with values outside the 0..255 that options.scale implies"


@pytest.mark.parametrize(("line", "change", "reason"), [
    (5, lambda f: f[:8] + [""] + f[9:], "1 with missing (NaN) values (line 5)"),
    (7, lambda f: f[:3] + ["nan"] + f[4:], "1 with missing (NaN) values (line 7)"),
    (9, lambda f: f[:3] + ["inf"] + f[4:], "1 with infinite values (line 9)"),
    (11, lambda f: f[:3] + ["-4"] + f[4:], f"1 {OUTSIDE} (line 11)"),
    (13, lambda f: f[:3] + ["256"] + f[4:], f"1 {OUTSIDE} (line 13)"),
    (15, lambda f: f[:3] + ["12x"] + f[4:], "1 with non-numeric pixel values (line 15)"),
    (17, lambda f: [*f, "7"], "1 with more fields than the header (line 17)"),
    # In the first row, pandas (index_col=False) would cut the extra field off silently.
    (2, lambda f: [*f, "7"], "1 with more fields than the header (line 2)"),
    (19, lambda f: [""] + f[1:], "1 without a label (line 19)"),
    (21, lambda f: f[:10], "1 cut off: fewer fields than the header's 17 (line 21)"),
])
def test_each_kind_of_bad_row_is_named_by_its_line_and_dropped_on_request(
        tmp_path: Path, line: int, change, reason: str) -> None:
    path = _write(tmp_path / "p.csv", _edit_line(_pixel_text(rows=40, classes=4), line, change))
    with pytest.raises(DataError) as error:
        _pixels(path)
    assert error.value.message == (f"{path}: 1 of 40 rows is bad: {reason}; fix the file, or set "
                                   "options.bad_rows: drop to drop it")
    dataset = _pixels(path, bad_rows="drop")
    assert len(dataset.y) == 39 and np.isfinite(dataset.x).all()
    assert 0 <= dataset.x.min() and dataset.x.max() <= 1
    assert sum(dataset.dropped.values()) == 1


def test_line_numbers_count_blank_lines_and_the_message_lists_a_few_of_many(tmp_path: Path) -> None:
    text = _pixel_text(rows=60, classes=3)
    lines = text.split("\n")
    lines.insert(3, "")  # a blank line 4: harmless, but it moves every later line
    for number in (10, 20, 30, 40, 50, 55, 60):
        fields = lines[number - 1].split(",")
        lines[number - 1] = ",".join(fields[:5] + ["nan"] + fields[6:])
    path = _write(tmp_path / "p.csv", "\n".join(lines))
    with pytest.raises(DataError) as error:
        _pixels(path)
    assert "7 of 60 rows are bad: 7 with missing (NaN) values (lines 10, 20, 30, 40, 50, ...); " \
           "fix the file, or set options.bad_rows: drop to drop them" in error.value.message
    dataset = _pixels(path, bad_rows="drop")
    assert len(dataset.y) == 53 and dataset.dropped == {"with missing (NaN) values": 7}


def test_several_reasons_each_count_their_rows_once(tmp_path: Path) -> None:
    text = _pixel_text(rows=30, classes=3)
    text = _edit_line(text, 3, lambda f: f[:2] + ["inf", "nan"] + f[4:])  # NaN counts first
    text = _edit_line(text, 4, lambda f: f[:2] + ["999"] + f[3:])
    path = _write(tmp_path / "p.csv", text[:-20])
    with pytest.raises(DataError) as error:
        _pixels(path)
    assert error.value.message.startswith(
        f"{path}: 3 of 30 rows are bad: 1 cut off: fewer fields than the header's 17 (line 31); "
        "1 with missing (NaN) values (line 3); 1 with values outside the 0..255 that options.scale "
        "implies (line 4)")
    dropped = _pixels(path, bad_rows="drop").dropped
    assert dropped == {"cut off: fewer fields than the header's 17": 1, "with missing (NaN) values": 1,
                       "with values outside the 0..255 that options.scale implies": 1}


def test_a_file_whose_values_do_not_fit_its_scale_names_the_scale_option(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.csv", _pixel_text(rows=20, classes=2))
    for options in ({"scale": 1}, {"scale": 1, "bad_rows": "drop"}):
        with pytest.raises(DataError) as error:
            _pixels(path, **options)  # a 0-255 file declared 0-1: every row is outside
        assert error.value.key == "options.scale"
        assert "pixel values run from 0 to 255 in 20 of 20 rows, outside 0..1 that scale 1 implies; " \
               "set options.scale to the largest possible pixel value (e.g. 255)" in error.value.message
    unit = _pixels(_write(tmp_path / "u.csv", "label,a,b,c,d\n0,0,.5,1,.25\n1,1,1,0,0\n"), scale=1,
                   image_shape=[2, 2])
    assert unit.x.max() == 1.0
    negative = "label,a,b,c,d\n" + "".join(f"{i % 2},-1,-2,3,4\n" for i in range(6))
    with pytest.raises(DataError, match="pixels must not be negative"):
        _pixels(_write(tmp_path / "n.csv", negative), image_shape=[2, 2])


def test_nothing_usable_left_is_refused_even_with_drop(tmp_path: Path) -> None:
    text = "label,a,b,c,d\n" + "".join(f"{i % 2},1,2\n" for i in range(4))
    path = _write(tmp_path / "p.csv", text)
    with pytest.raises(DataError, match="every one of its 4 rows is bad: 4 cut off"):
        _pixels(path, bad_rows="drop", image_shape=[2, 2])


@pytest.mark.parametrize(("text", "message"), [
    # Defects the generated corpus found (each was a traceback or a multi-line error):
    ("label,a,b,c,d\n\n\n", "{path}: the CSV has no rows (only blank or empty lines)"),
    ('label,a,b,c,d\n0,1,2,3,4\n"1,1,2,3,4\n0,1,2,3,4\n1",1,2,3,4\n0,1,2,3,4\n',
     "{path}: a quoted field runs over several lines from line 3 (a stray '\"'?); a pixel CSV has "
     "one row per line"),
    ('"lab\nel",a,b,c,d\n0,1,2,3,4\n1,1,2,3,4\n', "{path}: a quoted field runs over several lines"),
    ("\nlabel,a,b,c,d\n0,1,2,3,4\n", "{path}: line 1 is blank; the header (the column names) must be "
                                     "the first line"),
])
def test_files_the_corpus_found_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "p.csv", text)
    with pytest.raises(DataError) as error:
        _pixels(path, image_shape=[2, 2])
    assert error.value.message.startswith(message.format(path=path))
    assert "\n" not in str(error.value)


def test_column_names_in_messages_are_escaped_and_short(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", '"y\nz",' + "a" * 300 + "\n1,2\n3,4\n")
    with pytest.raises(DataError) as error:
        load("csv", path=path, target="y")
    assert error.value.message == (f"{path}: unknown column 'y'; valid: y\\nz, "
                                   + "a" * 37 + "...")


# ---------------------------------------------------------------- npz


def test_npz_bad_images_are_named_by_index_and_scale_is_an_option(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (30, 6, 6)).astype("float32")
    x[4, 2, 2], x[9, 0, 0], x[12, 1, 1], x[20, 3, 3] = np.nan, np.inf, 300, -1
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(30) % 3)
    path = str(tmp_path / "d.npz")
    with pytest.raises(DataError) as error:
        load("npz", path=path)
    assert error.value.message == (
        f"{path}: 4 of 30 images are bad: 1 with missing (NaN) values (image index 4); 1 with "
        "infinite values (image index 9); 2 with values outside the 0..255 that options.scale "
        "implies (image indices 12, 20); fix the file, or set options.bad_rows: drop to drop them")
    dataset = load("npz", path=path, options={"bad_rows": "drop"})
    assert len(dataset.y) == 26 and np.isfinite(dataset.x).all()
    assert 0 <= dataset.x.min() and dataset.x.max() <= 1
    assert sum(dataset.dropped.values()) == 4
    assert dataset.warnings[0].startswith(f"dropped 4 bad images of 30 in {path} (options.bad_rows: drop)")
    assert "(image indices 12, 20)" in dataset.warnings[0]
    # An explicit scale replaces the guess; a wrong one names the option.
    clean = rng.integers(0, 256, (20, 6, 6)).astype("uint8")
    np.savez(tmp_path / "c.npz", x=clean, y=np.arange(20) % 2)
    assert np.allclose(load("npz", path=str(tmp_path / "c.npz"), options={"scale": 510}).x.max(),
                       clean.max() / 510)
    with pytest.raises(DataError) as error:
        load("npz", path=str(tmp_path / "c.npz"), options={"scale": 1})
    assert error.value.key == "options.scale"
    # 16-bit values: the guess (255) does not fit; the message names the option and a value.
    np.savez(tmp_path / "w.npz", x=(clean.astype("uint16") * 200), y=np.arange(20) % 2)
    with pytest.raises(DataError, match=r"options.scale .*\(e.g. 65535\)"):
        load("npz", path=str(tmp_path / "w.npz"))
    assert load("npz", path=str(tmp_path / "w.npz"), options={"scale": 65535}).x.max() <= 1


@pytest.mark.parametrize("make", ["npy", "object", "text", "zip", "strings", "scalar"])
def test_npz_files_that_are_not_image_archives_are_one_line(tmp_path: Path, make: str) -> None:
    path = tmp_path / "d.npz"
    if make == "npy":
        np.save(path.with_suffix(".npy"), np.zeros((4, 2, 2)))
        path.with_suffix(".npy").rename(path)
    elif make == "object":
        np.savez(path, x=np.array([[1], "a"], dtype=object), y=np.array([0, 1]))
    elif make == "text":
        path.write_text("label,p\n1,2\n")
    elif make == "zip":
        np.savez(path, x=np.zeros((4, 2, 2)), y=np.arange(4) % 2)
        path.write_bytes(path.read_bytes()[:100])
    elif make == "strings":
        np.savez(path, x=np.array([[["a"]]] * 4), y=np.arange(4) % 2)
    else:
        np.savez(path, x=np.float64(3), y=np.array(1))
    with pytest.raises(DataError) as error:
        load("npz", path=str(path))
    assert "\n" not in str(error.value) and len(str(error.value)) < 400


# ---------------------------------------------------------------- tabular CSV


def _table(tmp_path: Path, n: int = 60) -> str:
    import pandas as pd

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"employee": [f"e{i:03d}" for i in range(n)], "number": np.arange(n) * 7,
                          "a": rng.normal(size=n).round(3), "b": rng.normal(size=n).round(3),
                          "site": "HQ", "y": np.arange(n) % 2})
    frame.loc[n - 1, "a"] = np.nan  # one gap, in the last row
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_tabular_gaps_are_found_in_every_split_not_only_the_training_rows(tmp_path: Path) -> None:
    dataset = load("csv", path=_table(tmp_path), target="y")
    seed = next(s for s in range(50) if 59 not in split(
        dataset, train=0.6, validation=0.2, test=0.2, stratify=True, seed=s).train.x.index)
    parts = split(dataset, train=0.6, validation=0.2, test=0.2, stratify=True, seed=seed)
    spec = Preprocess(drop=["employee"], one_hot=["site"])
    assert parts.train.x["a"].notna().all()
    _preprocess.check(spec, parts.train.x)  # the training rows alone look fine
    with pytest.raises(DataError) as error:
        _preprocess.check(spec, parts.train.x, dataset.x)
    assert error.value.key == "preprocess"
    assert error.value.message == (
        "column 'a' has 1 missing value(s) after preprocessing in the data set's 60 rows (1 of "
        "them outside the training rows); give it a value in preprocess.fill (a constant or "
        "{strategy: median}) or list it in preprocess.drop")
    for fill in (0, {"strategy": "median"}):  # a gap the fill imputes is fine
        _preprocess.check(Preprocess(drop=["employee"], one_hot=["site"], fill={"a": fill}),
                          parts.train.x, dataset.x)


def test_validate_names_the_gap_and_warns_of_constant_and_id_columns(tmp_path: Path, capsys) -> None:
    path = _table(tmp_path)
    code, err, out = _validate(tmp_path, capsys, f"""
source: csv
path: {path}
target: y
preprocess: {{drop: [employee], one_hot: [site]}}
""")
    assert code == 2 and out == ""
    assert err == [f"error: {tmp_path / 'suite.yaml'}: datasets.d.preprocess: column 'a' has 1 "
                   "missing value(s) after preprocessing in the data set's 60 rows (1 of them "
                   "outside the training rows); give it a value in preprocess.fill (a constant or "
                   "{strategy: median}) or list it in preprocess.drop"]
    code, err, out = _validate(tmp_path, capsys, f"""
source: csv
path: {path}
target: y
preprocess: {{drop: [employee], fill: {{a: 0}}, one_hot: [site]}}
""")
    assert code == 0, err
    assert "warning: datasets.d: column 'site' has one value in every row, so it carries no " \
           "information; list it in preprocess.drop" in err
    assert "warning: datasets.d: column 'number' is unique per row (an ID?), which cannot " \
           "generalise; list it in preprocess.drop" in err
    assert not any("employee" in line for line in err)  # dropped: not warned about
    assert "datasets.d: 60 samples, 2 classes" in out


def test_infinite_tabular_values_are_named_not_passed_to_the_model(tmp_path: Path) -> None:
    # Found by the generated corpus: "inf" (or 1e400) in a numeric column passed every check.
    rows = "".join(f"{i / 2},{'1e400' if i == 7 else i},k{i % 2}\n" for i in range(30))
    dataset = load("csv", path=_write(tmp_path / "t.csv", "a,b,y\n" + rows), target="y")
    with pytest.raises(DataError) as error:
        _preprocess.check(Preprocess(), dataset.x.iloc[:5], dataset.x)
    assert error.value.message == (
        "column 'b' has 1 infinite value(s) (inf, or a number too large for a float) in the data "
        "set's 30 rows; correct them in the file or list the column in preprocess.drop")
    _preprocess.check(Preprocess(drop=["b"]), dataset.x.iloc[:5], dataset.x)


def test_a_fill_that_cannot_apply_to_its_column_names_it(tmp_path: Path) -> None:
    dataset = load("csv", path=_table(tmp_path), target="y")
    for fill, text in (({"employee": {"strategy": "median"}}, "the median needs numbers"),
                       ({"a": "none"}, "holds numbers; fill it with a number, not 'none'")):
        with pytest.raises(DataError) as error:
            _preprocess.check(Preprocess(fill=fill), dataset.x)
        assert error.value.key == f"preprocess.fill.{next(iter(fill))}" and text in error.value.message


# ---------------------------------------------------------------- image folders


def test_image_folder_reports_mixed_channels_and_tiny_images(tmp_path: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("cat", "dog"):
        (tmp_path / "pets" / name).mkdir(parents=True)
        for i in range(6):
            grey = i < 2
            shape = (16, 16) if grey else (16, 16, 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), "L" if grey else "RGB").save(
                tmp_path / "pets" / name / f"{i}.png")
    tiny = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    Image.fromarray(tiny).save(tmp_path / "pets" / "dog" / "tiny.png")
    dataset = load("image_folder", path=str(tmp_path / "pets"))
    assert dataset.x.shape == (13, 16, 16, 3)
    assert dataset.warnings == (
        "images differ in channels: 9 RGB (colour), 4 L (grey or palette); all are converted to "
        "RGB (3 channels), as options.color 'rgb' asks",
        f"1 image smaller than 8x8 pixels (first: {tmp_path / 'pets' / 'dog' / 'tiny.png'}, 5x4); "
        "it is resized to 16x16")
    grey = load("image_folder", path=str(tmp_path / "pets"), options={"color": "grayscale"})
    assert grey.x.shape == (13, 16, 16, 1) and "converted to grey (1 channel)" in grey.warnings[0]


# ---------------------------------------------------------------- option values


@pytest.mark.parametrize(("source", "options", "line"), [
    ("csv", "{encoding: klingon}", "options.encoding: 'klingon' is not a valid encoding; valid: a "
                                   "Python codec name, e.g. utf-8, latin-1 or cp1252"),
    ("csv", "{sep: ''}", "options.sep: '' is not a valid sep; valid: a non-empty string"),
    ("csv_pixels", "{image_shape: [8, a]}", "options.image_shape: [8, 'a'] is not a valid "
                                            "image_shape; valid: [height, width] or [height, width, "
                                            "channels], positive integers"),
    ("csv_pixels", "{image_shape: 8}", "options.image_shape: 8 is not a valid image_shape"),
    ("csv_pixels", "{image_shape: [-8, -8, 1]}", "options.image_shape: [-8, -8, 1] is not a valid"),
    ("csv_pixels", "{image_shape: [64]}", "options.image_shape: [64] is not a valid image_shape"),
    ("csv_pixels", "{image_shape: [2, 2], scale: big}", "options.scale: 'big' is not a valid scale; "
                                                        "valid: the largest possible pixel value"),
    ("csv_pixels", "{image_shape: [2, 2], scale: .nan}", "options.scale: nan is not a valid scale"),
    ("csv_pixels", "{image_shape: [2, 2], ignore: 5}", "options.ignore: {path} has no column '5'"),
    ("csv_pixels", "{image_shape: [2, 2], bad_rows: skip}", "options.bad_rows: 'skip' is not a valid "
                                                            "bad_rows; valid: 'refuse'"),
    ("image_folder", "{image_size: 0}", "options.image_size: 0 is not a valid image_size; valid: a "
                                        "side in pixels (1 to 4096) or [height, width]"),
    ("image_folder", "{image_size: -5}", "options.image_size: -5 is not a valid image_size"),
    ("image_folder", "{image_size: abc}", "options.image_size: 'abc' is not a valid image_size"),
    ("image_folder", "{image_size: [8, 0]}", "options.image_size: [8, 0] is not a valid image_size"),
    ("image_folder", "{color: blue}", "options.color: 'blue' is not a valid color; valid: 'rgb' or "
                                      "'grayscale'"),
    ("npz", "{scale: -1}", "options.scale: -1 is not a valid scale"),
])
def test_a_bad_option_value_is_one_line_naming_it(tmp_path: Path, capsys, source: str, options: str,
                                                  line: str) -> None:
    path = tmp_path / "data"
    if source == "image_folder":
        path.mkdir()
    else:
        path.write_text("label,a,b,c,d\n0,1,2,3,4\n1,1,2,3,4\n")
    code, err, out = _validate(tmp_path, capsys, f"source: {source}\npath: {path}\n"
                                                 + ("target: label\n" if source == "csv" else "")
                                                 + f"options: {options}")
    assert code == 2 and out == ""
    assert len(err) == 1 and err[0].startswith(
        f"error: {tmp_path / 'suite.yaml'}: datasets.d." + line.format(path=path)), err


def test_a_bad_option_value_through_the_real_command_line(tmp_path: Path) -> None:
    (tmp_path / "pets").mkdir()
    suite = write_suite(tmp_path, f"""
        name: pets
        datasets: {{pets: {{source: image_folder, path: {tmp_path / 'pets'}, options: {{image_size: abc}}}}}}
        models: [{{model: simple_cnn}}]
        """)
    result = run_cli("validate", str(suite), cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {suite}: datasets.pets.options.image_size: 'abc' is not a valid image_size; valid: "
        "a side in pixels (1 to 4096) or [height, width]; by default the first image's size"]


# ---------------------------------------------------------------- generated corpus
# Broken CSV files (tabular and pixel), made by Hypothesis: random cuts, NaN and
# other bad cells, rows with too few or too many fields, blank lines, stray
# quotes, non-UTF-8 bytes, binary files, empty files, a header only, a single
# class. Each is loaded through runner.load_datasets, what ``validate`` and
# ``run`` call: it loads (and then nothing that reaches a model is NaN or out of
# range) or it is refused with one line; any other exception fails the test.

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Derandomized: the same examples every session, so CI passes or fails the same way.
CORPUS = settings(deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
# Examples per test in the fast run (two CSV tests: 300 per session), and in the slow one;
# generated .npz files besides.
FAST_EXAMPLES, SLOW_EXAMPLES, NPZ_EXAMPLES = 150, 1000, 100
MAX_MESSAGE = 500

BAD_CELLS = ["", "nan", "NaN", "NA", "null", "inf", "-inf", "1e400", "-5", "999", "x", "é", '"',
             "1,2", " ", "0x1F", "True"]


@st.composite
def _broken(draw, lines: list[str]) -> bytes:
    """The CSV ``lines`` with a few random damages."""
    whole = draw(st.sampled_from(["keep"] * 12 + ["empty", "header", "binary", "utf16"]))
    if whole == "empty":
        return b""
    if whole == "header":
        return (lines[0] + draw(st.sampled_from(["", "\n"]))).encode()
    if whole == "binary":
        return draw(st.binary(min_size=1, max_size=300))
    lines = list(lines)
    for _ in range(draw(st.sampled_from([0, 0, 1, 1, 2, 4]))):
        kind = draw(st.sampled_from(["cell", "number", "short", "long", "blank", "quote", "header"]))
        at = draw(st.integers(0, len(lines) - 1))
        fields = lines[at].split(",")
        if kind == "cell":
            fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(BAD_CELLS))
        elif kind == "number":  # a number that is not one, in a data row
            at = draw(st.integers(1, len(lines) - 1)) if len(lines) > 1 else 0
            fields = lines[at].split(",")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(
                ["inf", "-inf", "1e400", "-1e400", "nan", "", "1e30", "-0"]))
        elif kind == "short":
            fields = fields[:draw(st.integers(0, len(fields) - 1))]
        elif kind == "long":
            fields += draw(st.lists(st.sampled_from(["1", "", "x"]), min_size=1, max_size=3))
        elif kind == "blank":
            lines.insert(at, "")
        elif kind == "quote":  # a stray quote: the field runs on over the next lines
            at_field = draw(st.integers(0, len(fields) - 1))
            fields[at_field] = '"' + fields[at_field]
        else:
            lines.insert(at, lines[0])  # the header again, in the data
        if kind not in {"blank", "header"}:
            lines[at] = ",".join(fields)
    data = ("\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))).encode()
    if whole == "utf16":
        return data.decode().encode("utf-16")
    if draw(st.integers(0, 2)) == 0:  # cut off anywhere, as an interrupted download
        data = data[:draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 5)) == 0:  # bytes that are not UTF-8
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    return data


@st.composite
def _tabular_case(draw) -> tuple[bytes, dict]:
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n = draw(st.integers(20, 60)) if draw(st.integers(0, 5)) else draw(st.integers(0, 5))
    kinds = draw(st.lists(st.sampled_from(["float", "int", "text"]), min_size=1, max_size=4))
    classes = draw(st.sampled_from([1, 2, 2, 3]))
    columns = [f"f{i}" for i in range(len(kinds))]
    rows = []
    for _ in range(n):
        row = [f"{rng.normal():.3f}" if kind == "float" else str(rng.integers(0, 5)) if kind == "int"
               else str(rng.choice(["a", "b", "c"])) for kind in kinds]
        rows.append(",".join([*row, f"k{rng.integers(0, classes)}"]))
    data = draw(_broken([",".join([*columns, "y"]), *rows]))
    text = [c for c, kind in zip(columns, kinds) if kind == "text"]
    fill_numbers = {c: draw(st.sampled_from([0, {"strategy": "median"}])) for c in columns
                    if c not in text}
    preprocess = draw(st.sampled_from([
        {"one_hot": text, "fill": fill_numbers}, {"one_hot": text, "fill": fill_numbers},
        {"drop": text, "fill": fill_numbers}, {"one_hot": text},
        {"fill": {c: {"strategy": "most_frequent"} for c in columns}, "one_hot": text},
        None, {"fill": {c: "none" for c in columns}}, {"drop": columns[:1]}]))
    entry = {"source": "csv", "target": "y",
             "split": {"stratify": draw(st.booleans())}, **({"preprocess": preprocess} if preprocess else {})}
    return data, entry


@st.composite
def _pixel_case(draw) -> tuple[bytes, dict]:
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    n = draw(st.integers(20, 60)) if draw(st.integers(0, 5)) else draw(st.integers(0, 5))
    unit = draw(st.booleans())  # 0..1 floats (scale 1), else 0..255 integers
    classes = draw(st.sampled_from([1, 2, 2, 3]))
    rows = [",".join([str(rng.integers(0, classes)),
                      *(f"{v:.3f}" if unit else str(int(v))
                        for v in (rng.random(4) if unit else rng.integers(0, 256, 4)))])
            for _ in range(n)]
    data = draw(_broken([",".join(["label", "p0", "p1", "p2", "p3"]), *rows]))
    options = {"image_shape": [2, 2], **({"scale": 1} if unit else {}),
               **({"bad_rows": "drop"} if draw(st.booleans()) else {})}
    return data, {"source": "csv_pixels", "options": options,
                  "split": {"stratify": draw(st.booleans())}}


def _load_case(data: bytes, entry: dict) -> str:
    """Load one generated file as ``validate`` does: loaded and clean, or one line."""
    from benchmark import runner
    from benchmark.suite import parse

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("data.npz" if entry["source"] == "npz" else "data.csv")
        path.write_bytes(data)
        model = {"model": "logistic_regression"} if entry["source"] == "csv" else \
            {"model": "simple_cnn", "search": {"image_size": 32}}
        suite = parse({"name": "corpus", "datasets": {"d": {**entry, "path": str(path)}},
                       "models": [model]}, origin="corpus.yaml")
        try:
            loaded = runner.load_datasets(suite, "corpus.yaml")["d"]
        except UserError as error:
            message = str(error)
            assert "\n" not in message and len(message) <= MAX_MESSAGE, message
            assert message.startswith("corpus.yaml: "), message
            return "refused"
    parts = loaded.splits
    if entry["source"] == "csv":
        spec = suite.datasets["d"].preprocess or Preprocess()
        pipeline = _preprocess.build(spec, list(parts.train.x.columns)).fit(parts.train.x)
        for part in (parts.train, parts.validation, parts.test):
            matrix = pipeline.transform(part.x).to_numpy(dtype="float64")
            assert np.isfinite(matrix).all()
    else:
        for part in (parts.train, parts.validation, parts.test):
            assert np.isfinite(part.x).all() and part.x.min() >= 0 and part.x.max() <= 1
    assert loaded.dataset.n_classes >= 2
    return "loaded"


def _corpus(cases, examples: int) -> Counter:
    """Run ``examples`` generated cases; how many loaded and how many were refused."""
    outcomes: Counter = Counter()

    @settings(CORPUS, max_examples=examples)
    @given(cases)
    def check(case) -> None:
        outcomes[_load_case(*case)] += 1

    check()
    return outcomes


@pytest.mark.slow
def test_generated_broken_tabular_csvs_load_cleanly_or_are_one_line() -> None:
    outcomes = _corpus(_tabular_case(), FAST_EXAMPLES)
    # Both sides are exercised: files that load, and files that are refused
    # (typically 5-20% load: most damage is refused).
    assert outcomes["loaded"] >= 3 and outcomes["refused"] >= 3, outcomes


def test_generated_broken_pixel_csvs_load_cleanly_or_are_one_line() -> None:
    outcomes = _corpus(_pixel_case(), FAST_EXAMPLES)
    assert outcomes["loaded"] >= 3 and outcomes["refused"] >= 3, outcomes


@pytest.mark.slow
def test_more_generated_broken_csvs() -> None:
    outcomes = _corpus(st.one_of(_tabular_case(), _pixel_case(), _npz_case()), SLOW_EXAMPLES)
    assert sum(outcomes.values()) >= SLOW_EXAMPLES, outcomes


@st.composite
def _npz_case(draw) -> tuple[bytes, dict]:
    """An .npz with damaged images (NaN, inf, out of range), odd dtypes and
    shapes, labels that do not fit, or bytes that are no archive at all."""
    import io

    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    if draw(st.integers(0, 7)) == 0:
        return draw(st.binary(max_size=300)), {"source": "npz"}
    n = draw(st.integers(20, 50)) if draw(st.integers(0, 5)) else draw(st.integers(0, 3))
    odd = draw(st.integers(0, 3)) == 3  # a shape, dtype or range that does not fit
    shape = draw(st.sampled_from([(n, 9), (n, 3, 3, 1, 1), (n, 3, 3, 3)] if odd else
                                 [(n, 3, 3), (n, 3, 3, 1), (n, 3, 3, 3)]))
    dtype = draw(st.sampled_from(["int64", "bool", "U1"] if odd else ["uint8", "float32", "float64"]))
    high = draw(st.sampled_from([300, 70000] if odd else [255, 1]))
    x = (rng.random(shape) * high).astype(dtype)
    if x.dtype.kind == "f":
        for _ in range(draw(st.integers(0, 3))):
            if x.size:
                x.reshape(-1)[rng.integers(0, x.size)] = draw(st.sampled_from(
                    [np.nan, np.inf, -np.inf, -1.0, 1e9]))
    classes = draw(st.sampled_from([1, 2, 3]))
    y = rng.integers(0, classes, n + draw(st.sampled_from([0, 0, 0, 1])))
    if draw(st.integers(0, 3)) == 0:
        y = y.astype("float64")
        if y.size:
            y[0] = np.nan
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    data = buffer.getvalue()
    if draw(st.integers(0, 5)) == 0:
        data = data[:draw(st.integers(0, len(data)))]
    options = {**({"bad_rows": "drop"} if draw(st.booleans()) else {}),
               **({"scale": draw(st.sampled_from([1, 255, 65535]))} if draw(st.booleans()) else {})}
    return data, {"source": "npz", "options": options, "split": {"stratify": draw(st.booleans())}}


def test_generated_broken_npz_files_load_cleanly_or_are_one_line() -> None:
    outcomes = _corpus(_npz_case(), NPZ_EXAMPLES)
    assert outcomes["loaded"] >= 3 and outcomes["refused"] >= 3, outcomes
