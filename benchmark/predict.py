"""``predict``: score new data with a run's selected model, loaded from the
run's artifact store as a user would load it without this tool
(``keras.models.load_model`` / ``joblib.load``)."""

from __future__ import annotations

import csv
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.errors import UserError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def _study(record: Any, model: str, dataset: str | None) -> Any:
    studies = [s for s in record.studies if s.model == model
               and (dataset is None or s.dataset == dataset)]
    if not studies:
        known = sorted({s.model for s in record.studies})
        datasets = sorted({s.dataset for s in record.studies})
        raise UserError(f"run {record.id}: no model {model!r}"
                        + (f" on data set {dataset!r}" if dataset else "")
                        + f"; models: {', '.join(known)}; data sets: {', '.join(datasets)}")
    if len(studies) > 1:
        names = ", ".join(s.dataset for s in studies)
        raise UserError(f"run {record.id}: model {model!r} ran on several data sets ({names}); "
                        f"choose one with --dataset")
    return studies[0]


def _images(paths: list[Path], shape: tuple[int, ...]) -> np.ndarray:
    """Image files as the model was trained on them: its channels and size,
    scaled to 0..1 (as the image sources load them)."""
    from PIL import Image, UnidentifiedImageError

    height, width = shape[0], shape[1]
    channels = shape[2] if len(shape) > 2 else 1
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                image = image.convert("RGB" if channels == 3 else "L")
                if image.size != (width, height):
                    image = image.resize((width, height), Image.Resampling.BILINEAR)
                images.append(np.asarray(image, dtype="uint8"))
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise UserError(f"{path}: not a readable image ({error})") from None
    array = np.stack(images).astype("float32") / 255.0
    return array.reshape(len(images), height, width, channels)


def read_inputs(file: Path, kind: str, shape: tuple[int, ...] | None,
                target: str | None, columns: list[str] | None) -> tuple[Any, list[str]]:
    """The rows to score and a name for each (CSV row numbers, file names)."""
    import pandas as pd

    if not file.exists():
        raise UserError(f"{file}: no such file or folder")
    if kind == "tabular":
        if file.suffix.lower() != ".csv":
            raise UserError(f"{file}: this model takes tabular data; give a CSV file with the "
                            f"training data's columns")
        try:
            frame = pd.read_csv(file)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
            raise UserError(f"{file}: not a readable CSV file ({str(error).splitlines()[0]})") \
                from None
        if target and target in frame.columns:
            frame = frame.drop(columns=[target])
        if columns:
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise UserError(f"{file}: missing column(s) {', '.join(missing[:10])}"
                                + (" ..." if len(missing) > 10 else "")
                                + f"; the model was trained on: {', '.join(columns[:20])}")
            frame = frame[columns]
        if frame.empty:
            raise UserError(f"{file}: no rows to score")
        # Row numbers as in the file: the header is line 1.
        return frame, [f"line {i + 2}" for i in range(len(frame))]
    assert shape is not None
    if file.is_dir():
        paths = sorted(p for p in file.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not paths:
            raise UserError(f"{file}: no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
        return _images(paths, shape), [p.name for p in paths]
    if file.suffix.lower() in IMAGE_SUFFIXES:
        return _images([file], shape), [file.name]
    if file.suffix.lower() == ".npy":
        from benchmark.datasets._images import _as_images
        from benchmark.errors import DataError

        try:
            array = _as_images(np.load(file, allow_pickle=False))
        except (ValueError, DataError) as error:
            raise UserError(f"{file}: {getattr(error, 'message', error)}") from None
        expected = tuple(shape) if len(shape) == 3 else (*shape, 1)
        if array.shape[1:] != expected:
            raise UserError(f"{file}: images of shape {array.shape[1:]}, the model takes "
                            f"{expected} (height, width, channels)")
        return array, [f"row {i}" for i in range(len(array))]
    raise UserError(f"{file}: this model takes images; give image files, a folder of them, or "
                    f"an .npy array of shape (n, height, width[, channels])")


def command(args: Any) -> int:
    from optuna.artifacts import download_artifact

    from benchmark import artifacts
    from benchmark.families import families
    from benchmark.store import Store

    store = Store(args.storage, create=False)
    record = store.resolve(args.run_id)
    study = _study(record, args.model, args.dataset)
    evaluation = next((e for e in study.evaluations if getattr(e, "saved", None)), None)
    if evaluation is None:
        raise UserError(f"run {record.id}: {study.dataset} / {study.model} has no saved model "
                        f"(its final evaluation failed, or the run predates saved models)")
    saved = evaluation.saved
    summary = next(d.summary for d in record.datasets if d.name == study.dataset)
    entry = (record.suite.get("datasets") or {}).get(study.dataset) or {}
    family = families.get(saved["family"])
    with tempfile.TemporaryDirectory(prefix="benchmark-predict-") as folder:
        path = Path(folder) / saved["file"]
        try:
            download_artifact(artifact_store=artifacts.store(saved["store"], create=False),
                              file_path=str(path), artifact_id=saved["model"])
        except Exception as error:  # noqa: BLE001 - a moved folder, a missing file
            raise UserError(f"run {record.id}: the saved model of {study.dataset} / "
                            f"{study.model} is not in {saved['store']} ({type(error).__name__}); "
                            f"it is saved where the final evaluation ran") from None
        model = family.load(path)
    columns = list(getattr(model, "feature_names_in_", [])) or None
    shape = tuple(summary.get("sample_shape") or ()) or None
    inputs, names = read_inputs(Path(args.file), summary.get("kind", "tabular"), shape,
                                entry.get("target"), columns)
    predict = family.predictor(model)
    proba = np.concatenate([np.asarray(predict(_rows(inputs, i, i + 1024)), dtype="float64")
                            for i in range(0, len(names), 1024)])
    classes = saved.get("classes") or [str(i) for i in range(proba.shape[1])]
    threshold = evaluation.threshold
    if threshold is not None and proba.shape[1] == 2:
        labels = (proba[:, 1] >= threshold).astype(int)
    else:
        labels = proba.argmax(axis=1)
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out)
        writer.writerow(["input", "predicted", *[f"p({c})" for c in classes]])
        for name, label, row in zip(names, labels, proba):
            writer.writerow([name, classes[label], *[f"{p:.6f}" for p in row]])
    finally:
        if args.output:
            out.close()
    if args.output:
        print(f"run {record.id}: {len(names)} prediction(s) of {study.dataset} / {study.model} "
              f"written to {args.output}", file=sys.stderr)
    return 0


def _rows(inputs: Any, start: int, stop: int) -> Any:
    return inputs.iloc[start:stop] if hasattr(inputs, "iloc") else inputs[start:stop]
