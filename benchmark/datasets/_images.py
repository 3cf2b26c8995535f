"""Image data: arrays in an .npz, pixel columns in a CSV (seed 003), folders of
image files with one sub-folder per class (seeds 000 and 002), and the Keras
data sets. Every loader returns float32 images in [0, 1] with a channel axis."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from benchmark.datasets._base import BadRows, Dataset, PositiveInt, PositiveNumber, valid
from benchmark.datasets._tabular import _first_line, column_list, encode_target, read_csv, shown
from benchmark.errors import DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
PART_FOLDERS = {"train": "train", "validation": "validation", "val": "validation", "test": "test"}


def _as_images(array: np.ndarray, scale: float | None = None) -> np.ndarray:
    images = np.asarray(array)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise DataError("options.images", f"images must be (n, height, width[, channels]), "
                                          f"got an array of shape {images.shape}")
    if scale is None:
        scale = 255.0 if images.dtype == np.uint8 or images.max() > 1 else 1.0
    return (images / scale).astype("float32")


def _encode_labels(values: Any, path: str, key: str) -> tuple[np.ndarray, list[str]]:
    """encode_target, with its errors (a missing label, a single class) placed at
    the option that names the labels: image sources have no ``target``."""
    try:
        return encode_target(values, origin=path)
    except DataError as error:
        raise DataError(key, error.message) from None


# Rows (line numbers or image indices) a bad-row message lists before "...".
LISTED_ROWS = 5

SCALE = "the largest possible pixel value (pixels are divided by it), a positive number such as 255 or 1"
BAD_ROWS = ("'refuse' (a file with bad rows is refused, the default) or 'drop' (they are dropped, "
            "with a warning)")


def _listed(rows: list[int]) -> str:
    return ", ".join(map(str, rows[:LISTED_ROWS])) + (", ..." if len(rows) > LISTED_ROWS else "")


def _bad_rows(path: str, problems: dict[str, list[int]], total: int, unit: str,
              bad_rows: str) -> tuple[tuple[str, ...], dict[str, int]]:
    """Refuse the file (one line: what, where, how many, the option that drops
    them), or, with ``bad_rows: drop``, the warning and the count per reason.
    ``problems`` maps a reason to the rows (line numbers or indices) it covers."""
    seen: set[int] = set()  # each row under its first reason only
    for reason, rows in list(problems.items()):
        problems[reason] = [r for r in rows if r not in seen]
        seen.update(rows)
    problems = {reason: rows for reason, rows in problems.items() if rows}
    if not problems:
        return (), {}
    count = sum(len(rows) for rows in problems.values())
    units = {"line": "lines", "image index": "image indices"}
    noun = "image" if unit == "image index" else "row"
    what = "; ".join(f"{len(rows)} {reason} ({units[unit] if len(rows) > 1 else unit} {_listed(rows)})"
                     for reason, rows in problems.items())
    if count >= total:
        raise DataError("path", f"{path}: every one of its {total} {noun}s is bad: {what}")
    if bad_rows != "drop":
        them = "it" if count == 1 else "them"
        raise DataError("path", f"{path}: {count} of {total} {noun}s {'is' if count == 1 else 'are'} "
                                f"bad: {what}; fix the file, or set options.bad_rows: drop to drop "
                                f"{them}")
    return ((f"dropped {count} bad {noun}{'s' if count > 1 else ''} of {total} in {path} "
             f"(options.bad_rows: drop): {what}"),), {reason: len(rows) for reason, rows in problems.items()}


def _pixel_problems(values: np.ndarray, scale: float, rows: np.ndarray,
                    path: str) -> dict[str, list[int]]:
    """Rows with non-finite values or values outside 0..scale; ``rows`` names
    each row (line number or index). Outside values in most rows are a wrong
    scale, not bad rows: that is refused with the option that fixes it."""
    values = values.reshape(len(values), -1)
    problems: dict[str, list[int]] = {}
    if np.issubdtype(values.dtype, np.floating):
        missing, infinite = np.isnan(values).any(axis=1), np.isinf(values).any(axis=1)
        problems["with missing (NaN) values"] = rows[missing].tolist()
        problems["with infinite values"] = rows[infinite & ~missing].tolist()
        finite = np.where(np.isfinite(values), values, 0)
        low, high = finite.min(axis=1, initial=0), finite.max(axis=1, initial=0)
        checked = ~missing & ~infinite
    else:
        low, high = values.min(axis=1, initial=0), values.max(axis=1, initial=0)
        checked = np.ones(len(values), dtype=bool)
    outside = checked & ((low < 0) | (high > scale))
    if outside.sum() > max(1, checked.sum() // 2):
        top, bottom = float(high[checked].max()), float(low[checked].min())
        fix = (f"set options.scale to the largest possible pixel value (e.g. "
               f"{255 if top <= 255 else 65535})" if bottom >= 0
               else "pixels must not be negative")
        raise DataError("options.scale", f"{path}: pixel values run from {bottom:g} to {top:g} in "
                                         f"{int(outside.sum())} of {int(checked.sum())} rows, "
                                         f"outside 0..{scale:g} that scale {scale:g} implies; {fix}")
    problems[f"with values outside the 0..{scale:g} that options.scale implies"] = rows[outside].tolist()
    return problems


def load_npz(*, path: str, images: str = "x", labels: str = "y",
             class_names: list[str | int | float] | None = None,
             scale: valid(PositiveNumber | None, SCALE + "; default: 255 for uint8 "
                                                 "arrays or values above 1, else 1") = None,
             bad_rows: valid(BadRows, BAD_ROWS) = "refuse") -> Dataset:
    import zipfile

    file = Path(path)
    if not file.is_file():
        raise DataError("path", f"{path}: no such file")
    try:
        archive = np.load(file, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("a single array (.npy), not an .npz archive of named arrays")
        with archive:
            for key, option in ((images, "images"), (labels, "labels")):
                if key not in archive.files:
                    raise DataError(f"options.{option}", f"{path} has no array {key!r}; arrays: "
                                                         f"{', '.join(archive.files)}")
            x, raw = archive[images], archive[labels]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError("path", f"{path}: not a readable .npz archive ({_first_line(error)})") from None
    if x.dtype == bool:  # masks: 1 is white
        x, scale = x.astype("uint8"), 1.0 if scale is None else scale
    if x.ndim not in (3, 4) or not (np.issubdtype(x.dtype, np.integer)
                                    or np.issubdtype(x.dtype, np.floating)):
        raise DataError("options.images", f"{path}: array {images!r} must hold real numbers, "
                                          f"shaped (n, height, width[, channels]); got {x.dtype} "
                                          f"of shape {x.shape}")
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw.reshape(-1)
    if raw.ndim != 1:
        raise DataError("options.labels", f"{path}: array {labels!r} must be one label per image, "
                                          f"got shape {raw.shape}")
    if len(x) != len(raw):
        raise DataError("path", f"{path}: {len(x)} images but {len(raw)} labels")
    if not len(x):
        raise DataError("path", f"{path}: array {images!r} holds no images")
    if scale is None:
        finite = x[np.isfinite(x)] if np.issubdtype(x.dtype, np.floating) else x
        scale = 255.0 if x.dtype == np.uint8 or (finite.size and finite.max() > 1) else 1.0
    import pandas as pd

    index = np.arange(len(x))
    problems = {"without a label": index[pd.isna(raw)].tolist(),
                **_pixel_problems(x, scale, index, path)}
    warnings, dropped = _bad_rows(path, problems, len(x), "image index", bad_rows)
    keep = np.ones(len(x), dtype=bool)
    keep[[i for rows in problems.values() for i in rows]] = False
    x, raw = x[keep], raw[keep]
    y, names = _encode_labels(raw, path, "options.labels")
    if class_names is not None:
        if len(class_names) != len(names):
            raise DataError("options.class_names", f"{len(class_names)} names for "
                                                   f"{len(names)} classes in {path}")
        names = [str(c) for c in class_names]
    return Dataset(name=file.stem, kind="image", x=_as_images(x, scale), y=y, class_names=names,
                   description=f"{file.name}, {x.shape[1]}x{x.shape[2]} images",
                   warnings=warnings, dropped=dropped)


_column_list = column_list


def _no_such_column(path: str, name: Any, columns: list[str]) -> str:
    from benchmark.registry import closest_name

    close = closest_name(name, columns)
    return (f"{path} has no column {shown(name)!r}"
            + (f" (did you mean {shown(close)!r}?)" if close else "")
            + f"; its columns: {_column_list(columns)}")


def _read_rows(path: str) -> tuple[Any, np.ndarray, list[int]]:
    """The CSV, the line number in the file of each of its rows (the header is
    line 1), and the lines with more fields than the header, which pandas skips.
    Blank lines are left out."""
    import re
    import warnings

    import pandas as pd

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        refused: DataError | None = None
        try:
            frame = read_csv(path, skip_blank_lines=False, on_bad_lines="warn", index_col=False)
        except DataError as error:
            frame, refused = None, error
        long = sorted({int(n) for w in caught if issubclass(w.category, pd.errors.ParserWarning)
                       for n in re.findall(r"Skipping line (\d+)", str(w.message))})
        # One field too many in the first row makes pandas cut that field off rows
        # silently (with index_col=False), saying only this:
        truncated = any("does not match length of data" in str(w.message) for w in caught)
    if frame is None or frame.empty:
        if long:
            raise DataError("path", f"{path}: every row has more fields than the header (lines "
                                    f"{_listed(long)})")
        with open(path, "rb") as file:
            if not file.readline().strip() and file.read(1):
                raise DataError("path", f"{path}: line 1 is blank; the header (the column names) "
                                        "must be the first line")
        raise refused or DataError("path", f"{path}: the CSV has no rows")
    lines = np.setdiff1d(np.arange(2, 2 + len(frame) + len(long)), long)
    if truncated:
        counts = _field_counts(path, set(lines.tolist()))
        long = sorted({*long, *(n for n, count in counts.items() if count > frame.shape[1])})
    blank = frame.isna().all(axis=1).to_numpy()
    if blank.all() and not long:
        raise DataError("path", f"{path}: the CSV has no rows (only blank or empty lines)")
    return frame[~blank].reset_index(drop=True), lines[~blank], long


def _field_counts(path: str, lines: set[int]) -> dict[int, int]:
    """How many fields each of ``lines`` has, read with the csv module; {} if it cannot."""
    import csv

    counts: dict[int, int] = {}
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as file:
            reader = csv.reader(file)
            for row in reader:
                if reader.line_num in lines:
                    counts[reader.line_num] = len(row)
                if reader.line_num >= max(lines):
                    break
    except (csv.Error, OSError):
        return {}
    return counts


def load_csv_pixels(*, path: str,
                    image_shape: valid(Annotated[list[PositiveInt], Field(min_length=2, max_length=3)],
                                       "[height, width] or [height, width, channels], positive "
                                       "integers, e.g. [28, 28] or [32, 32, 3]"),
                    label: valid(str | int, "the name of the label column") = "label",
                    ignore: valid(list[str | int] | str | int | None,
                                  "a column name or a list of column names") = None,
                    scale: valid(PositiveNumber, SCALE) = 255.0,
                    bad_rows: valid(BadRows, BAD_ROWS) = "refuse") -> Dataset:
    """One row per image: a label column and one column per pixel (row-major).
    ``ignore`` names the columns that are neither (an id column, as in seed 003's
    ``id, Label, pixel1..pixel784``). Rows cut off, with missing, non-numeric,
    infinite or out-of-range pixels refuse the file, or are dropped with
    ``bad_rows: drop``."""
    import pandas as pd
    from pandas.api.types import is_numeric_dtype

    frame, lines, long = _read_rows(path)
    frame.columns = columns = [str(c) for c in frame.columns]
    for column in columns:  # a stray quote: a field over several lines (and rows off their lines)
        if not is_numeric_dtype(frame[column]) or any(c in column for c in "\r\n"):
            spans = frame[column].astype(str).str.contains("[\r\n]", regex=True).to_numpy()
            if spans.any() or any(c in column for c in "\r\n"):
                line = int(lines[spans.argmax()]) if spans.any() else 1
                raise DataError("path", f"{path}: a quoted field runs over several lines from line "
                                        f"{line} (a stray '\"'?); a pixel CSV has one row per line")
    label = str(label)
    if label not in columns:
        raise DataError("options.label", _no_such_column(path, label, columns))
    ignored = [str(c) for c in ([ignore] if isinstance(ignore, str | int) else ignore or [])]
    for name in ignored:
        if name not in columns:
            raise DataError("options.ignore", _no_such_column(path, name, columns))
        if name == label:
            raise DataError("options.ignore", f"{name!r} is the label column (options.label); "
                                              "list only columns that are neither label nor pixels")
    shape = tuple(int(d) for d in image_shape)
    if len(shape) == 2:
        shape = (*shape, 1)
    pixels = frame.drop(columns=[label, *ignored])
    # A column is text if most of its cells are; a few text cells in a pixel
    # column (a damaged file) make bad rows.
    numbers = {c: pd.to_numeric(pixels[c], errors="coerce") for c in pixels.columns
               if not is_numeric_dtype(pixels[c])}
    text = [c for c, values in numbers.items()
            if 2 * int(values.notna().sum()) <= int(pixels[c].notna().sum())]
    needed = int(np.prod(shape))
    if pixels.shape[1] != needed:
        hint = ""
        if pixels.shape[1] > needed:
            # An id column is the usual extra one: text, or a name without a pixel number.
            extra = [c for c in pixels.columns if c in text or not any(ch.isdigit() for ch in c)]
            hint = ("; list columns that are not pixels (an id) in options.ignore" if not extra
                    else f"; if {_column_list(extra, quote=True)} "
                         + ("is not a pixel column, list it" if len(extra) == 1
                            else "are not pixel columns, list them") + " in options.ignore")
        raise DataError("options.image_shape", (
            f"{path} has {pixels.shape[1]} pixel columns, but image_shape "
            f"{'x'.join(map(str, shape))} needs {needed}{hint}"))
    if text:
        raise DataError("path", f"{path}: pixel columns must be numbers, but "
                                f"{_column_list(text, quote=True)} "
                                f"{'holds' if len(text) == 1 else 'hold'} text; list columns that "
                                "are not pixels in options.ignore")
    non_numeric = np.zeros(len(frame), dtype=bool)
    for column, values in numbers.items():
        non_numeric |= (pixels[column].notna() & values.isna()).to_numpy()
    pixels = pixels.assign(**{c: numbers[c] for c in numbers}) if numbers else pixels
    values = pixels.to_numpy(dtype="float32")

    # A row cut off (a download that stopped mid-row) reads as NaN in its last
    # fields; the csv module confirms that it has fewer fields than the header.
    missing = frame.isna().to_numpy()
    gaps = np.flatnonzero(missing.any(axis=1))
    trailing = np.cumprod(missing[gaps, ::-1], axis=1).sum(axis=1)
    suffix = np.zeros(len(frame), dtype=bool)
    suffix[gaps[trailing == missing[gaps].sum(axis=1)]] = True
    counts = _field_counts(path, set(lines[suffix].tolist())) if suffix.any() else {}
    short = suffix & np.array([counts.get(int(n), 0) < len(columns) for n in lines], dtype=bool)
    problems = {
        "with more fields than the header": long,
        f"cut off: fewer fields than the header's {len(columns)}": lines[short].tolist(),
        "without a label": lines[frame[label].isna().to_numpy()].tolist(),
        "with non-numeric pixel values": lines[non_numeric].tolist(),
        **_pixel_problems(values, scale, lines, path),
    }
    warnings, dropped = _bad_rows(path, problems, len(frame) + len(np.setdiff1d(long, lines)), "line",
                                  bad_rows)
    keep = ~np.isin(lines, [n for rows in problems.values() for n in rows])  # long: truncated ones
    labels = frame[label][keep]
    if pd.api.types.is_float_dtype(labels) and np.all(np.mod(labels, 1) == 0):
        labels = labels.astype("int64")  # integer labels that a missing one had made float
    y, names = _encode_labels(labels.to_numpy(), path, "options.label")
    x = (values[keep] / scale).reshape(-1, *shape)
    return Dataset(name=Path(path).stem, kind="image", x=x, y=y, class_names=names,
                   description=f"{Path(path).name}, {shape[0]}x{shape[1]} pixel rows",
                   warnings=warnings, dropped=dropped)


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _require_images_in_every_class(root: Path, sources: list[tuple[str, Path]], found: set[str],
                                   what: str) -> None:
    """A class folder without images would drop that class from the problem unnoticed."""
    empty = [str(folder.relative_to(root)) for _, folder in sources if folder.name not in found]
    if empty:
        folders, has = ("folder", "has") if len(empty) == 1 else ("folders", "have")
        raise DataError("path", f"{root}: class {folders} {', '.join(map(repr, empty))} {has} no "
                                f"{what}; add images or remove the {folders}")


# Images smaller than this on a side are reported (they are mostly blown up by the resize).
TINY_IMAGE = 8
# Image modes by their channels, for the report of mixed channel counts.
CHANNEL_WORDS = {1: "grey or palette", 2: "grey with alpha", 3: "colour", 4: "colour with alpha"}


def load_image_folder(*, path: str,
                      image_size: valid(Annotated[int, Field(strict=True, gt=0, le=4096)]
                                        | Annotated[list[Annotated[int, Field(strict=True, gt=0,
                                                                              le=4096)]],
                                                    Field(min_length=2, max_length=2)] | None,
                                        "a side in pixels (1 to 4096) or [height, width]; by "
                                        "default the first image's size") = None,
                      color: valid(Literal["rgb", "grayscale"], "'rgb' or 'grayscale'") = "rgb",
                      strict: valid(bool, "true or false") = False) -> Dataset:
    """``path/<class>/*.png``, or ``path/{train,validation,test}/<class>/*.png`` for
    a split the data fixes (a missing validation or test folder is cut from train).
    Unreadable files are skipped (refused with ``strict``); images of another
    channel count than the rest, or tiny ones, are converted and reported."""
    from collections import Counter

    from PIL import Image, UnidentifiedImageError

    root = Path(path)
    if not root.is_dir():
        raise DataError("path", f"{path}: no such folder")
    subfolders = _class_folders(root)
    parts = {f.name: PART_FOLDERS[f.name] for f in subfolders if f.name in PART_FOLDERS}
    if parts and "train" not in parts.values():
        raise DataError("path", f"{path}: split folders {sorted(parts)} but no train folder")
    sources = ([(part, folder) for name, part in parts.items() for folder in _class_folders(root / name)]
               if parts else [("", folder) for folder in subfolders])
    class_names = sorted({folder.name for _, folder in sources})
    files = [(part, folder.name, file) for part, folder in sources for file in sorted(folder.iterdir())
             if file.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DataError("path", f"{path}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in "
                                "class sub-folders (path/<class>/<image>)")
    _require_images_in_every_class(root, sources, {label for _, label, _ in files},
                                   f"image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    if len(class_names) < 2:
        raise DataError("path", f"{path}: one class folder ({class_names[0]!r}); a classifier "
                                "needs at least two")
    size = (image_size, image_size) if isinstance(image_size, int) else \
        (tuple(image_size) if image_size else None)
    mode = "RGB" if color == "rgb" else "L"
    images, labels, split_of, skipped = [], [], [], []
    modes: Counter[tuple[str, int]] = Counter()  # (mode, channels) -> images
    tiny: list[tuple[Path, tuple[int, int]]] = []
    for part, label, file in files:
        try:
            with Image.open(file) as image:
                original = image.mode, len(image.getbands()), image.size
                image = image.convert(mode)
                if size is None:
                    size = image.size[::-1]  # the first image fixes the size
                if image.size != (size[1], size[0]):
                    image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                images.append(np.asarray(image, dtype="uint8"))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
            if strict:
                raise DataError("path", f"{file}: not a readable image ({error}); remove it, or "
                                        "leave options.strict false to skip it") from None
            skipped.append(str(file))
            continue
        labels.append(class_names.index(label))
        split_of.append(part)
        modes[original[:2]] += 1
        if min(original[2]) < TINY_IMAGE:
            tiny.append((file, original[2]))
    if not images:
        raise DataError("path", f"{path}: none of the {len(files)} image files could be read")
    _require_images_in_every_class(root, sources, {class_names[i] for i in labels}, "readable "
                                   "images (each of its image files was skipped as unreadable)")
    warnings = tuple(f"skipped unreadable image {name}" for name in skipped)
    if len({channels for _, channels in modes}) > 1:
        found = ", ".join(f"{count} {name} ({CHANNEL_WORDS.get(channels, f'{channels} channels')})"
                          for (name, channels), count in modes.most_common())
        warnings += (f"images differ in channels: {found}; all are converted to "
                     f"{'RGB (3 channels)' if color == 'rgb' else 'grey (1 channel)'}, as "
                     f"options.color {color!r} asks",)
    if tiny:
        first, (width, height) = tiny[0]
        warnings += (f"{len(tiny)} image{'s' if len(tiny) > 1 else ''} smaller than "
                     f"{TINY_IMAGE}x{TINY_IMAGE} pixels (first: {first}, {width}x{height}); "
                     f"{'they are' if len(tiny) > 1 else 'it is'} resized to {size[0]}x{size[1]}",)
    return Dataset(name=root.name, kind="image", x=_as_images(np.stack(images)),
                   y=np.asarray(labels, dtype="int64"), class_names=class_names,
                   description=f"image folder {root.name}, {len(images)} images resized to "
                               f"{size[0]}x{size[1]}",
                   parts=np.asarray(split_of) if parts else None, warnings=warnings)


@dataclass(frozen=True)
class KerasFile:
    """A file that keras.datasets' ``load_data()`` looks for in the Keras cache
    folder before it downloads (keras 3.15, ``keras/src/datasets/*.py`` through
    ``keras.utils.get_file``). Keras downloads again a file whose sha256 differs."""

    path: str  # under keras_cache()
    url: str
    sha256: str | None = None


_TF_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
KERAS_DATASETS: dict[str, dict[str, Any]] = {
    "mnist": {
        "files": [KerasFile("mnist.npz", _TF_DATASETS + "mnist.npz",
                            "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")],
        "classes": [str(i) for i in range(10)]},
    "fashion_mnist": {
        "files": [KerasFile(f"fashion-mnist/{name}", _TF_DATASETS + name) for name in (
            "train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz")],
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                    "Sneaker", "Bag", "Ankle boot"]},
    "cifar10": {
        # get_file(fname="cifar-10-batches-py-target", extract=True) keeps the
        # downloaded .tar.gz as "<fname>_archive" and extracts it again on every load.
        "files": [KerasFile("cifar-10-batches-py-target_archive",
                            "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                            "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")],
        "classes": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                    "ship", "truck"]},
}


def keras_cache() -> Path:
    """Where keras.utils.get_file keeps data sets: $KERAS_HOME/datasets, else ~/.keras/datasets."""
    import os

    home = os.environ["KERAS_HOME"] if "KERAS_HOME" in os.environ else Path.home() / ".keras"
    return Path(home).expanduser() / "datasets"


def keras_cache_problems(name: str) -> dict[KerasFile, str]:
    """Why keras would go to the network for data set ``name``: each needed file
    that is "missing" or not the one keras expects. Empty when it is cached."""
    import hashlib

    problems = {}
    for file in KERAS_DATASETS[name]["files"]:
        where = keras_cache() / file.path
        if not where.is_file():
            problems[file] = "missing"
        elif file.sha256 is not None:
            with where.open("rb") as stream:
                if hashlib.file_digest(stream, "sha256").hexdigest() != file.sha256:
                    problems[file] = "not the file keras expects (its sha256 differs)"
    return problems


def _how_to_place(files: list[KerasFile]) -> str:
    """'download <names> from <url folder> into <cache folder>' per folder pair."""
    groups: dict[tuple[str, Path], list[str]] = {}
    steps = []
    for file in files:
        target = keras_cache() / file.path
        source, _, name = file.url.rpartition("/")
        if name == target.name:
            groups.setdefault((source + "/", target.parent), []).append(name)
        else:
            steps.append(f"download {file.url} and save it as {target}")
    steps[:0] = [f"download {', '.join(names)} from {source} into {folder}/"
                 for (source, folder), names in groups.items()]
    return "; ".join(steps)


def load_keras(name: str) -> Dataset:
    """A keras.datasets set: its own train / test split, validation cut from train.

    Keras reads its cache (``keras_cache()``) or downloads; with a file not
    there and no network, the error names the file, its URL and where it goes.
    """
    info = KERAS_DATASETS[name]
    problems = keras_cache_problems(name)  # before keras deletes a file it failed to replace
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
    except Exception as error:  # noqa: BLE001 - a failed download has many exception types
        cause = type(error).__name__ + "".join(f": {line}" for line in str(error).splitlines()[:1])
        if problems:
            wrong = "; ".join(f"{keras_cache() / file.path} is {problem}"
                              for file, problem in problems.items() if problem != "missing")
            raise DataError("source", (
                f"keras:{name} is not in the Keras cache{f' ({wrong})' if wrong else ''} and "
                f"could not be downloaded ({cause}); without network, "
                f"{_how_to_place(list(problems))}, then run again")) from None
        raise DataError("source", (
            f"keras:{name} could not be read from the Keras cache ({cause}); if its files are "
            f"damaged, {_how_to_place(info['files'])} again")) from None
    x = np.concatenate([x_train, x_test])
    y = np.concatenate([y_train, y_test]).reshape(-1).astype("int64")
    parts = np.array(["train"] * len(x_train) + ["test"] * len(x_test))
    return Dataset(name=name, kind="image", x=_as_images(x), y=y, class_names=info["classes"],
                   description=f"keras.datasets.{name}, {x.shape[1]}x{x.shape[2]} images",
                   parts=parts)
