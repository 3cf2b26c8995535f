from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from benchmark.datasets._base import Dataset


@dataclass(frozen=True)
class Part:
    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Duplicates:
    """Exact duplicates in a data set (same pixels, or the same feature row after
    ``preprocess.drop``; the label only counts for conflicts) and what ``dedupe`` did."""

    n_loaded: int  # samples before dedupe
    hashed_on: str  # "pixels", "features" or "features after dropping <columns>"
    copies: int  # samples identical to an earlier sample
    conflicting: int  # of those, the ones whose label differs from the first copy's
    dedupe: bool  # whether duplicates were kept in one split only
    dedupe_set: bool  # whether the suite set split.dedupe (else the default for the kind)
    dropped: dict[str, int]  # samples dedupe dropped, by the part they came from
    test_in_train: int  # test samples identical to a training sample, after the split
    validation_in_train: int
    test_size: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Splits:
    train: Part
    validation: Part
    test: Part
    # Duplicates found and what was done about them (load_splits sets it).
    duplicates: Duplicates | None = None


def take(x, index: np.ndarray):
    """Rows of an array or a DataFrame by position."""
    return x.iloc[index] if hasattr(x, "iloc") else x[index]


def sample_hashes(dataset: Dataset, drop: Any = ()) -> np.ndarray:
    """A 64-bit hash per sample: of its pixels (dtype, shape and bytes), or of
    its feature row without the ``drop`` columns. Labels are not hashed."""
    import hashlib

    import pandas as pd

    x = dataset.x
    if isinstance(x, pd.DataFrame):
        x = x.drop(columns=[c for c in drop if c in x.columns])
        return pd.util.hash_pandas_object(x, index=False).to_numpy(dtype="uint64")
    rows = np.ascontiguousarray(x).reshape(len(x), -1)
    digests = b"".join(hashlib.blake2b(row.tobytes(), digest_size=8).digest() for row in rows)
    return np.frombuffer(digests, dtype="<u8").astype("uint64")


def count_duplicates(hashes: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(samples that repeat an earlier sample, those of them whose label differs
    from the first copy's)."""
    import pandas as pd

    frame = pd.DataFrame({"h": hashes, "y": y})
    copy = frame["h"].duplicated(keep="first").to_numpy()
    first_label = frame.groupby("h")["y"].transform("first").to_numpy()
    return int(copy.sum()), int((copy & (frame["y"].to_numpy() != first_label)).sum())


# A duplicate group is kept in the most held-out part it reaches.
_PRIORITY = {"test": 0, "validation": 1, "train": 2}


def dedupe_index(hashes: np.ndarray, parts: np.ndarray | None) -> np.ndarray:
    """Positions of the samples to keep so that every distinct sample lies in
    one part only. Without parts fixed by the data, the first copy is kept (the
    split comes after). With them, a test sample is never dropped: its copies in
    the training and validation parts are; a validation sample's copies in the
    training part likewise; within the training or validation part the first
    copy is kept."""
    import pandas as pd

    if parts is None:
        return np.flatnonzero(~pd.Series(hashes).duplicated(keep="first").to_numpy())
    rank = np.array([_PRIORITY[str(p)] for p in parts])
    best = pd.Series(rank).groupby(hashes).transform("min").to_numpy()
    keep = rank == best
    held = np.flatnonzero(keep & (rank > 0))
    repeated = pd.DataFrame({"h": hashes[held], "r": rank[held]}).duplicated(keep="first")
    keep[held[repeated.to_numpy()]] = False
    return np.flatnonzero(keep)


def _cut(index: np.ndarray, y: np.ndarray, fraction: float, stratify: bool, seed: int,
         class_names: list[str] | None = None, what: str = ""):
    from sklearn.model_selection import train_test_split

    if stratify and class_names is not None:
        # train_test_split's own message names neither the class nor the counts.
        counts = np.bincount(y[index], minlength=len(class_names))
        alone = [k for k in range(len(class_names)) if counts[k] == 1]
        if alone:
            from benchmark.errors import DataError

            total = np.bincount(y, minlength=len(class_names))
            k = alone[0]
            raise DataError("split", (
                f"class {class_names[k]!r} has {counts[k]} sample in {what} ({total[k]} in all"
                + (f"; {len(alone) - 1} more class(es) likewise" if len(alone) > 1 else "")
                + "): a stratified split needs at least 2 of each class at every cut; add "
                  "samples of it, remove it, or set split.stratify: false"))
    return train_test_split(index, test_size=fraction, random_state=seed,
                            stratify=y[index] if stratify else None)


def split(dataset: Dataset, *, train: float, validation: float, test: float,
          stratify: bool, seed: int) -> Splits:
    """Train / validation / test parts, stratified on the label when asked, seeded.

    A split the data fixes itself (``dataset.parts``) is kept; a part it lacks
    is cut from its training samples by the declared fractions.
    """
    train_index, validation_index, test_index = split_index(
        dataset, train=train, validation=validation, test=test, stratify=stratify, seed=seed)

    def part(index: np.ndarray) -> Part:
        return Part(take(dataset.x, index), dataset.y[index])

    return Splits(part(train_index), part(validation_index), part(test_index))


def class_balance(y: np.ndarray, class_names: list[str],
                  index: dict[str, np.ndarray]) -> tuple[str | None, list[str]]:
    """After the split: (a refusal for a class that has samples but none in the
    training split, or None; a warning line per class missing from another split
    or from the data altogether), each naming the class and its count per split."""
    counts = {name: np.bincount(y[i], minlength=len(class_names)) for name, i in index.items()}
    problem, lines = None, []
    for k, label in enumerate(class_names):
        per = ", ".join(f"{name} {int(c[k])}" for name, c in counts.items())
        absent = [name for name, c in counts.items() if c[k] == 0 and len(index[name])]
        if not absent:
            continue
        if len(absent) == len(counts):
            lines.append(f"class {label!r} has no samples at all ({per})")
        elif "train" in absent:
            problem = problem or (f"class {label!r} has no training samples ({per}): no model can "
                                  f"learn it; give it training samples or remove it")
        else:
            lines.append(f"class {label!r} has no {' or '.join(absent)} samples ({per}): metrics "
                         f"that need every class there (ROC AUC) are undefined")
    return problem, lines


def split_index(dataset: Dataset, *, train: float, validation: float, test: float,
                stratify: bool, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions of the training, validation and test samples (see ``split``)."""
    names = dataset.class_names
    everything = np.arange(len(dataset.y))
    given = dataset.parts
    if given is not None and np.any(given == "test"):
        rest, test_index = everything[given != "test"], everything[given == "test"]
    elif given is not None:
        # Only training samples give up a test part; a given validation part stays whole.
        kept, test_index = _cut(everything[given == "train"], dataset.y, test, stratify, seed,
                                names, "the training part, before the test cut")
        rest = np.sort(np.concatenate([kept, everything[given == "validation"]]))
    else:
        rest, test_index = _cut(everything, dataset.y, test, stratify, seed,
                                names, "the data, before the test cut")
    if given is not None and np.any(given == "validation"):
        train_index, validation_index = rest[given[rest] != "validation"], rest[given[rest] == "validation"]
    else:
        train_index, validation_index = _cut(rest, dataset.y, validation / (train + validation),
                                             stratify, seed, names,
                                             "what the test cut left for training and validation")
    return train_index, validation_index, test_index
