"""Data sets that ship with scikit-learn: usable offline, in tests and CI."""

from __future__ import annotations

import numpy as np

from benchmark.datasets._base import Dataset


def load_digits() -> Dataset:
    from sklearn.datasets import load_digits as _load

    bunch = _load()
    # Pixels are 0..16 intensities; [0, 1] floats with a channel axis is what a CNN takes.
    images = (bunch.images / 16.0).astype("float32")[..., np.newaxis]
    return Dataset(
        name="digits",
        kind="image",
        x=images,
        y=np.asarray(bunch.target, dtype="int64"),
        class_names=[str(c) for c in bunch.target_names],
        description="scikit-learn handwritten digits, 8x8 grey-scale",
    )


def _tabular(loader_name: str, name: str, description: str) -> Dataset:
    import sklearn.datasets

    bunch = getattr(sklearn.datasets, loader_name)(as_frame=True)
    return Dataset(
        name=name,
        kind="tabular",
        x=bunch.data,
        y=np.asarray(bunch.target, dtype="int64"),
        class_names=[str(c) for c in bunch.target_names],
        description=description,
    )


def load_iris() -> Dataset:
    return _tabular("load_iris", "iris", "scikit-learn iris flowers, 4 features")


def load_wine() -> Dataset:
    return _tabular("load_wine", "wine", "scikit-learn wine cultivars, 13 features")


def load_breast_cancer() -> Dataset:
    return _tabular("load_breast_cancer", "breast_cancer", "scikit-learn breast cancer, 30 features")
