"""Dataset registry: ``sources`` maps a suite's ``source:`` name to a loader;
``load`` applies what every source shares (the positive class)."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from benchmark.datasets import _images, _sklearn, _tabular
from benchmark.datasets._base import Dataset, DataKind, Source
from benchmark.datasets._split import Duplicates, Part, Splits, split, take
from benchmark.registry import Registry

sources: Registry[Source] = Registry("dataset source")

for _source in [
    Source("sklearn:digits", "image", _sklearn.load_digits,
           "1,797 handwritten digits, 8x8 grey-scale, 10 classes (ships with scikit-learn)"),
    Source("sklearn:iris", "tabular", _sklearn.load_iris,
           "150 iris flowers, 4 features, 3 classes (ships with scikit-learn)"),
    Source("sklearn:wine", "tabular", _sklearn.load_wine,
           "178 wines, 13 features, 3 classes (ships with scikit-learn)"),
    Source("sklearn:breast_cancer", "tabular", _sklearn.load_breast_cancer,
           "569 tumours, 30 features, 2 classes (ships with scikit-learn)"),
    Source("sklearn:make_classification", "tabular", _sklearn.make_classification,
           "generated classes (scikit-learn's make_classification): options n_samples, "
           "n_features, n_informative, n_redundant, n_classes, n_clusters_per_class, class_sep, "
           "flip_y, weights, random_state"),
    Source("csv", "tabular", _tabular.load_csv,
           "a CSV file with a header row: path, target column, options sep/encoding",
           takes_path=True, takes_target=True),
    Source("npz", "image", _images.load_npz,
           "images and labels in a NumPy .npz archive: path, options images/labels/class_names",
           takes_path=True),
    Source("csv_pixels", "image", _images.load_csv_pixels,
           "one image per CSV row, a label column and one column per pixel: path, options "
           "image_shape/label/ignore/scale", takes_path=True),
    Source("image_folder", "image", _images.load_image_folder,
           "image files in one sub-folder per class (optionally under train/validation/test): "
           "path, options image_size/color/strict", takes_path=True),
    *[Source(f"keras:{name}", "image", partial(_images.load_keras, name),
             f"keras.datasets.{name} (cached in ~/.keras/datasets, or downloaded)", ships=False)
      for name in _images.KERAS_DATASETS],
]:
    sources.register(_source.name, _source)


def load(source: str, *, path: str | None = None, target: str | None = None,
         positive_class: Any = None, options: dict[str, Any] | None = None) -> Dataset:
    """The data set a suite entry describes. Raises DataError (bad file, column,
    class) naming the entry key that is wrong."""
    from dataclasses import replace

    spec = sources.get(source)
    arguments: dict[str, Any] = dict(options or {})
    if spec.takes_path:
        arguments["path"] = path
    if spec.takes_target:
        arguments["target"] = target
    dataset = spec.load(**arguments)
    if positive_class is not None:
        names = [dataset.class_names[i] for i in dataset.y]
        y, class_names = _tabular.encode_target(names, origin=path or source,
                                                positive_class=positive_class)
        dataset = replace(dataset, y=y, class_names=class_names)
    return dataset


def load_splits(entry: Any, seed: int) -> tuple[Dataset, Splits]:
    """The data set a suite's ``datasets:`` entry names, split as it declares.
    The main process and every worker call this, so they see the same rows.
    Exact duplicates are counted (on the pixels, or on the features after
    ``preprocess.drop``) and, with ``split.dedupe`` (the default for images),
    kept in one split only; ``Splits.duplicates`` says what was found and done,
    and the returned data set is the one that was split, its ``warnings``
    extended by the duplicates and class-balance lines."""
    from dataclasses import replace

    from benchmark.datasets._split import (Duplicates, class_balance, count_duplicates,
                                           dedupe_index, sample_hashes, split_index)
    from benchmark.errors import DataError

    dataset = load(entry.source, path=entry.path, target=entry.target,
                   positive_class=entry.positive_class, options=entry.options)
    drop = entry.preprocess.drop if entry.preprocess is not None else []
    hashes = sample_hashes(dataset, drop)
    n_loaded = len(hashes)
    hashed_on = ("pixels" if dataset.kind == "image" else
                 f"features after dropping {', '.join(map(str, drop))}" if drop else "features")
    copies, conflicting = count_duplicates(hashes, dataset.y)
    dedupe = entry.split.dedupe if entry.split.dedupe is not None else dataset.kind == "image"
    dropped: dict[str, int] = {}
    if dedupe and copies:
        keep = dedupe_index(hashes, dataset.parts)
        gone = np.setdiff1d(np.arange(len(hashes)), keep)
        if dataset.parts is None:
            dropped = {"all": int(len(gone))}
        else:
            names, counts = np.unique(dataset.parts[gone], return_counts=True)
            dropped = {str(n): int(c) for n, c in zip(names, counts)}
        dataset = replace(dataset, x=take(dataset.x, keep), y=dataset.y[keep],
                          parts=None if dataset.parts is None else dataset.parts[keep])
        hashes = hashes[keep]
    try:
        index = split_index(dataset, train=entry.split.train, validation=entry.split.validation,
                            test=entry.split.test, stratify=entry.split.stratify, seed=seed)
    except ValueError as error:  # e.g. a test part too small to hold every class
        raise DataError("split", str(error)) from None
    index_of = dict(zip(("train", "validation", "test"), index))
    problem, lines = class_balance(dataset.y, dataset.class_names, index_of)
    if problem:
        raise DataError("split", problem)
    train_hashes = hashes[index_of["train"]]
    found = Duplicates(
        n_loaded=n_loaded, hashed_on=hashed_on, copies=copies, conflicting=conflicting,
        dedupe=dedupe, dedupe_set=entry.split.dedupe is not None, dropped=dropped,
        test_in_train=int(np.isin(hashes[index_of["test"]], train_hashes).sum()),
        validation_in_train=int(np.isin(hashes[index_of["validation"]], train_hashes).sum()),
        test_size=int(len(index_of["test"])))
    lines += duplicate_lines(found, dataset.kind)
    if lines:
        dataset = replace(dataset, warnings=(*dataset.warnings, *lines))
    parts = [Part(take(dataset.x, i), dataset.y[i]) for i in index]
    return dataset, Splits(*parts, duplicates=found)


def duplicate_lines(found: Duplicates, kind: str) -> list[str]:
    """The warning lines ``validate`` and ``run`` print about exact duplicates."""
    if not found.copies and not found.test_in_train:
        return []
    lines = []
    if found.copies:
        default = "" if found.dedupe_set else f", the default for {kind} data"
        done = (f"split.dedupe dropped {sum(found.dropped.values())} of them (true{default}), so "
                f"each sample is in one split only" if found.dedupe else
                f"they are kept (split.dedupe: false{default})")
        are = "is an exact copy" if found.copies == 1 else "are exact copies"
        lines.append(f"{found.copies} of {found.n_loaded} samples {are} of an earlier one (same "
                     f"{found.hashed_on}), {found.conflicting} of them with a different label; "
                     f"{done}")
    if found.test_in_train:
        appear = "appears" if found.test_in_train == 1 else "appear"
        lines.append(f"{found.test_in_train} of {found.test_size} test samples also {appear} in "
                     f"the training split, so the test score is partly measured on training data"
                     + ("" if found.dedupe else "; set split.dedupe: true to keep them apart"))
    return lines


__all__ = ["DataKind", "Dataset", "Duplicates", "Part", "Source", "Splits", "load", "load_splits",
           "sources", "split", "take"]
