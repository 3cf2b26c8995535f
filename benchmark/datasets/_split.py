from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.datasets._base import Dataset


@dataclass(frozen=True)
class Part:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Splits:
    train: Part
    validation: Part
    test: Part


def take(x, index: np.ndarray):
    """Rows of an array or a DataFrame by position."""
    return x.iloc[index] if hasattr(x, "iloc") else x[index]


def _cut(index: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed: int):
    from sklearn.model_selection import train_test_split

    return train_test_split(index, test_size=fraction, random_state=seed,
                            stratify=y[index] if stratify else None)


def split(dataset: Dataset, *, train: float, validation: float, test: float,
          stratify: bool, seed: int) -> Splits:
    """Train / validation / test parts, stratified on the label when asked, seeded.

    A split the data fixes itself (``dataset.parts``) is kept; a part it lacks
    is cut from its training samples by the declared fractions.
    """
    everything = np.arange(len(dataset.y))
    given = dataset.parts
    if given is not None and np.any(given == "test"):
        rest, test_index = everything[given != "test"], everything[given == "test"]
    elif given is not None:
        # Only training samples give up a test part; a given validation part stays whole.
        kept, test_index = _cut(everything[given == "train"], dataset.y, test, stratify, seed)
        rest = np.sort(np.concatenate([kept, everything[given == "validation"]]))
    else:
        rest, test_index = _cut(everything, dataset.y, test, stratify, seed)
    if given is not None and np.any(given == "validation"):
        train_index, validation_index = rest[given[rest] != "validation"], rest[given[rest] == "validation"]
    else:
        train_index, validation_index = _cut(rest, dataset.y, validation / (train + validation),
                                             stratify, seed)

    def part(index: np.ndarray) -> Part:
        return Part(take(dataset.x, index), dataset.y[index])

    return Splits(part(train_index), part(validation_index), part(test_index))
