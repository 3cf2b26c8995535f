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


def split(dataset: Dataset, *, train: float, validation: float, test: float,
          stratify: bool, seed: int) -> Splits:
    """Train / validation / test parts, stratified on the label when asked, seeded."""
    from sklearn.model_selection import train_test_split

    x_rest, x_test, y_rest, y_test = train_test_split(
        dataset.x, dataset.y, test_size=test, random_state=seed,
        stratify=dataset.y if stratify else None)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation / (train + validation), random_state=seed,
        stratify=y_rest if stratify else None)
    return Splits(Part(x_train, y_train), Part(x_val, y_val), Part(x_test, y_test))
