"""Data loaders for `source: python:data:NAME` (examples/suite.yaml, examples/tabular.yaml).

A loader is called with the entry's `options:` as keyword arguments and
returns either (images, labels) as numpy arrays (images N x H x W [x C],
labels N) or (DataFrame, name of its target column).
"""

from __future__ import annotations


def digits(*, classes: int = 10):
    """scikit-learn's 8x8 handwritten digits as images and labels (the first `classes` digits)."""
    import numpy as np
    from sklearn.datasets import load_digits

    bunch = load_digits(n_class=classes)
    images = (bunch.images * (255 / 16)).round().astype(np.uint8)  # uint8: divided by 255
    return images, np.asarray(bunch.target)


def wine():
    """scikit-learn's wine cultivars as a table with its target column."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame["target"] = frame["target"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    return frame, "target"
