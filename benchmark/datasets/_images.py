"""Image data: arrays in an .npz, pixel columns in a CSV (seed 003), folders of
image files with one sub-folder per class (seeds 000 and 002), and the Keras
data sets. Every loader returns float32 images in [0, 1] with a channel axis."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.datasets._base import Dataset
from benchmark.datasets._tabular import encode_target, read_csv
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


def load_npz(*, path: str, images: str = "x", labels: str = "y",
             class_names: list[str] | None = None) -> Dataset:
    file = Path(path)
    if not file.is_file():
        raise DataError("path", f"{path}: no such file")
    try:
        archive = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DataError("path", f"{path}: not a readable .npz archive ({error})") from None
    for key, option in ((images, "images"), (labels, "labels")):
        if key not in archive.files:
            raise DataError(f"options.{option}", f"{path} has no array {key!r}; arrays: "
                                                 f"{', '.join(archive.files)}")
    x, raw = archive[images], archive[labels]
    if len(x) != len(raw):
        raise DataError("path", f"{path}: {len(x)} images but {len(raw)} labels")
    y, names = _encode_labels(raw, path, "options.labels")
    if class_names is not None:
        if len(class_names) != len(names):
            raise DataError("options.class_names", f"{len(class_names)} names for "
                                                   f"{len(names)} classes in {path}")
        names = [str(c) for c in class_names]
    return Dataset(name=file.stem, kind="image", x=_as_images(x), y=y, class_names=names,
                   description=f"{file.name}, {x.shape[1]}x{x.shape[2]} images")


def _column_list(columns: list[str], quote: bool = False) -> str:
    names = [repr(c) if quote else c for c in columns]
    if len(names) <= 12:
        return ", ".join(names)
    return ", ".join(names[:8]) + f", ..., {names[-1]} ({len(names)} columns)"


def _no_such_column(path: str, name: Any, columns: list[str]) -> str:
    from benchmark.registry import closest_name

    close = closest_name(name, columns)
    return (f"{path} has no column {name!r}" + (f" (did you mean {close!r}?)" if close else "")
            + f"; its columns: {_column_list(columns)}")


def load_csv_pixels(*, path: str, image_shape: list[int], label: str = "label",
                    ignore: list[str] | str | None = None, scale: float = 255.0) -> Dataset:
    """One row per image: a label column and one column per pixel (row-major).
    ``ignore`` names the columns that are neither (an id column, as in seed 003's
    ``id, Label, pixel1..pixel784``)."""
    from pandas.api.types import is_numeric_dtype

    frame = read_csv(path)
    frame.columns = columns = [str(c) for c in frame.columns]
    label = str(label)
    if label not in columns:
        raise DataError("options.label", _no_such_column(path, label, columns))
    ignored = [str(c) for c in ([ignore] if isinstance(ignore, str) else ignore or [])]
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
    text = [c for c in pixels.columns if not is_numeric_dtype(pixels[c])]
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
    y, names = _encode_labels(frame[label], path, "options.label")
    x = (pixels.to_numpy(dtype="float32") / scale).reshape(-1, *shape)
    return Dataset(name=Path(path).stem, kind="image", x=x, y=y, class_names=names,
                   description=f"{Path(path).name}, {shape[0]}x{shape[1]} pixel rows")


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


def load_image_folder(*, path: str, image_size: list[int] | int | None = None,
                      color: str = "rgb", strict: bool = False) -> Dataset:
    """``path/<class>/*.png``, or ``path/{train,validation,test}/<class>/*.png`` for
    a split the data fixes (a missing validation or test folder is cut from train)."""
    from PIL import Image, UnidentifiedImageError

    root = Path(path)
    if not root.is_dir():
        raise DataError("path", f"{path}: no such folder")
    if color not in {"rgb", "grayscale"}:
        raise DataError("options.color", f"color must be 'rgb' or 'grayscale', got {color!r}")
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
    for part, label, file in files:
        try:
            with Image.open(file) as image:
                image = image.convert(mode)
                if size is None:
                    size = image.size[::-1]  # the first image fixes the size
                if image.size != (size[1], size[0]):
                    image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
                images.append(np.asarray(image, dtype="uint8"))
        except (UnidentifiedImageError, OSError) as error:
            if strict:
                raise DataError("path", f"{file}: not a readable image ({error}); remove it, or "
                                        "leave options.strict false to skip it") from None
            skipped.append(str(file))
            continue
        labels.append(class_names.index(label))
        split_of.append(part)
    if not images:
        raise DataError("path", f"{path}: none of the {len(files)} image files could be read")
    _require_images_in_every_class(root, sources, {class_names[i] for i in labels}, "readable "
                                   "images (each of its image files was skipped as unreadable)")
    warnings = tuple(f"skipped unreadable image {name}" for name in skipped)
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
