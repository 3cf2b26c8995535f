"""Dataset registry: ``sources`` maps a suite's ``source:`` name to a loader;
``load`` applies what every source shares (the positive class)."""

from __future__ import annotations

from functools import partial
from typing import Any

from benchmark.datasets import _images, _sklearn, _tabular
from benchmark.datasets._base import Dataset, DataKind, Source
from benchmark.datasets._split import Part, Splits, split, take
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
    The main process and every worker call this, so they see the same rows."""
    from benchmark.errors import DataError

    dataset = load(entry.source, path=entry.path, target=entry.target,
                   positive_class=entry.positive_class, options=entry.options)
    try:
        return dataset, split(dataset, train=entry.split.train, validation=entry.split.validation,
                              test=entry.split.test, stratify=entry.split.stratify, seed=seed)
    except ValueError as error:  # too few samples of a class for a stratified split
        raise DataError("split", str(error)) from None


__all__ = ["DataKind", "Dataset", "Part", "Source", "Splits", "load", "load_splits", "sources",
           "split", "take"]
