"""What the report's data section shows of a data set, as plain JSON-able data.

Everything is computed on the training split only (except the split sizes and
class counts), so that nothing the report discusses peeks at the test split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmark.datasets._base import Dataset
from benchmark.datasets._split import Splits

# Levels of a categorical column shown in the positive-rate table; the rest are summed.
MAX_LEVELS = 12
# Numeric columns in the correlation heatmap (the most correlated with the target first).
MAX_HEATMAP_COLUMNS = 24


def _tabular(dataset: Dataset, splits: Splits, preprocessed: Any) -> dict[str, Any]:
    import pandas as pd

    frame = splits.train.x
    target = pd.Series(splits.train.y, index=frame.index, name="target")
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    categorical = [c for c in frame.columns if c not in numeric]
    columns = [{"name": str(c), "dtype": "numeric" if c in numeric else "categorical",
                "missing": int(frame[c].isna().sum()),
                "levels": int(frame[c].nunique()) if c not in numeric else None}
               for c in frame.columns]

    heatmap: dict[str, Any] = {}
    if numeric:
        with_target = frame[numeric].assign(**{"(target)": target})
        correlation = with_target.corr(method="pearson", numeric_only=True)
        keep = correlation["(target)"].drop("(target)").abs().sort_values(ascending=False)
        chosen = [c for c in keep.index[:MAX_HEATMAP_COLUMNS]] + ["(target)"]
        correlation = correlation.loc[chosen, chosen]
        heatmap = {"columns": [str(c) for c in chosen],
                   "values": np.round(correlation.to_numpy(dtype=float), 4).tolist(),
                   "omitted": int(len(numeric) - len(chosen) + 1)}

    rates = []
    if dataset.n_classes == 2:
        positive = target == 1
        for column in categorical:
            values = frame[column].astype("string").fillna("(missing)")
            table = positive.groupby(values).agg(["size", "mean"]).sort_values("size", ascending=False)
            levels = [{"level": str(level), "n": int(row["size"]), "rate": float(row["mean"])}
                      for level, row in table.head(MAX_LEVELS).iterrows()]
            rest = table.iloc[MAX_LEVELS:]
            rates.append({"column": str(column), "levels": sorted(levels, key=lambda r: -r["rate"]),
                          "other_levels": int(len(rest)),
                          "other_n": int(rest["size"].sum()) if len(rest) else 0})
    return {
        "columns": columns,
        "correlation": heatmap,
        "positive_rates": rates,
        "positive_class": dataset.class_names[1] if dataset.n_classes == 2 else None,
        "preprocessing": {
            "n_input_columns": preprocessed.n_input_columns,
            "features": preprocessed.features,
            "n_features": preprocessed.n_features,
            "pca_components": preprocessed.pca_components,
            "pca_variance": preprocessed.pca_variance,
            # preprocess.dates: what each date column became, and the earliest
            # training date its "<column>_days" counts from.
            "dates": [{"column": column, "earliest": earliest, "features": [
                f"{column}_{part}" for part in ("year", "month", "weekday", "days")]}
                for column, earliest in getattr(preprocessed, "dates", ())],
            # Searched steps ({choices: [...]}): what each combination of the
            # choices gives (the top-level numbers are None where they differ).
            **({"searched": list(preprocessed.searched)}
               if getattr(preprocessed, "searched", ()) else {}),
        },
    }


# Sample images stored with the summary (the report's grid, seed 000's Fig. 7/8).
SAMPLES_PER_CLASS = 2
MAX_SAMPLES = 20
SAMPLE_PIXELS = 64


def _samples(dataset: Dataset, splits: Splits) -> list[dict[str, str]]:
    """A few training images per class as small base64 PNGs, so the report can
    show them from the database alone."""
    import base64
    import io

    from PIL import Image

    chosen: list[int] = []
    per_class = max(1, min(SAMPLES_PER_CLASS, MAX_SAMPLES // max(1, dataset.n_classes)))
    for k in range(dataset.n_classes):
        chosen += np.flatnonzero(splits.train.y == k)[:per_class].tolist()
    samples = []
    for index in chosen[:MAX_SAMPLES]:
        pixels = np.clip(np.asarray(splits.train.x[index]) * 255, 0, 255).astype("uint8")
        image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels[..., :3])
        image.thumbnail((SAMPLE_PIXELS, SAMPLE_PIXELS))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        samples.append({"label": dataset.class_names[int(splits.train.y[index])],
                        "png": base64.b64encode(buffer.getvalue()).decode()})
    return samples


def fingerprint(parts: dict[str, Any]) -> str:
    """A hash of every split's inputs and labels, in order: two runs that saw the
    same data (same file, same split) have the same fingerprint."""
    import hashlib

    import pandas as pd

    digest = hashlib.sha256()
    for name, part in parts.items():
        digest.update(name.encode())
        for array in (part.x, part.y):
            if isinstance(array, pd.DataFrame):
                digest.update(",".join(map(str, array.columns)).encode())
                digest.update(pd.util.hash_pandas_object(array, index=False).to_numpy().tobytes())
            else:
                array = np.ascontiguousarray(array)
                digest.update(f"{array.dtype}{array.shape}".encode())
                digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def summarize(dataset: Dataset, splits: Splits, preprocessed: Any = None) -> dict[str, Any]:
    parts = {"train": splits.train, "validation": splits.validation, "test": splits.test}
    summary: dict[str, Any] = {
        "fingerprint": fingerprint(parts),
        "description": dataset.description,
        "kind": dataset.kind,
        "n_samples": int(len(dataset.y)),
        "sample_shape": list(dataset.sample_shape),
        "class_names": dataset.class_names,
        "split_sizes": {name: len(part) for name, part in parts.items()},
        # The parts the data fixes itself (separate folders, keras's test set); the
        # report says which parts were cut by the suite's fractions and which not.
        "given_parts": [] if dataset.parts is None else
        [name for name in parts if np.any(dataset.parts == name)],
        "class_counts": {name: np.bincount(part.y, minlength=dataset.n_classes).tolist()
                         for name, part in parts.items()},
    }
    if splits.duplicates is not None:
        # Exact duplicates found, what split.dedupe did, and how many test samples
        # are also training samples (``n_samples`` above counts what was split).
        summary["duplicates"] = splits.duplicates.as_dict()
    # Rows the loader dropped (bad rows), by reason, where the source says so.
    summary["dropped"] = {str(k): int(v) for k, v in dataset.dropped.items()}
    if dataset.kind == "image":
        summary["samples"] = _samples(dataset, splits)
    if dataset.kind == "tabular" and preprocessed is not None:
        summary["tabular"] = _tabular(dataset, splits, preprocessed)
    return summary
