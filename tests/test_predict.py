"""The cost of each selected model (latency, throughput, size), the model saved
in the run's artifact store, and ``predict`` with it."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.store import Store
from conftest import run_cli, write_suite

TABULAR = """
name: saved
datasets:
  wine: {source: csv, path: wine.csv, target: target}
models:
  - model: random_forest
    search: {n_estimators: {low: 10, high: 30}}
  - model: logistic_regression
study: {n_trials: 2, seed: 1}
evaluation: {repeats: 2}
"""

IMAGES = """
name: saved_images
datasets:
  digits: {source: "sklearn:digits"}
models:
  - model: lenet5
    search: {epochs: 1}
study: {n_trials: 1, seed: 1, pruner: none}
"""


def _run(tmp_path: Path, text: str) -> tuple[str, Store]:
    suite = write_suite(tmp_path, text)
    storage = f"sqlite:///{tmp_path / 'bench.db'}"
    result = run_cli("run", str(suite), "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return storage, Store(storage, create=False)


@pytest.mark.slow
def test_each_selected_model_is_measured_saved_and_predicts(tmp_path: Path) -> None:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame
    frame.to_csv(tmp_path / "wine.csv", index=False)
    storage, store = _run(tmp_path, TABULAR)
    run = store.resolve("latest")
    for study in run.studies:
        first, second = study.evaluations
        for evaluation in (first, second):
            cost = evaluation.cost
            assert cost["latency_ms"] > 0 and cost["latency_p95_ms"] >= cost["latency_ms"]
            assert cost["throughput"] > 0 and cost["size_bytes"] > 0
        # The first refit of each study is kept, once.
        assert first.saved and second.saved is None
        assert first.saved["classes"] == ["0", "1", "2"]  # the CSV target column's values
        assert first.saved["family"] == "sklearn"
        assert Path(first.saved["store"], first.saved["model"]).exists()
    # The report and results.csv carry the cost (medians over the refits) and where
    # each model was saved.
    folder = tmp_path / "reports" / "saved" / run.id
    html = (folder / "report.html").read_text()
    assert "What each selected model costs to run" in html
    # Score against latency and size, with the Pareto front: a figure of its own.
    assert (folder / "figures" / "cost-wine.svg").stat().st_size > 0
    assert "against what it costs to run" in html
    assert run.studies[0].evaluations[0].saved["model"][:8] in html
    table = {row["model"]: row for row in csv.DictReader(open(folder / "results.csv"))}
    for study in run.studies:
        latencies = sorted(e.cost["latency_ms"] for e in study.evaluations)
        assert float(table[study.model]["latency_ms"]) == pytest.approx(np.median(latencies))
        assert int(float(table[study.model]["size_bytes"])) > 0
    # Loaded without this tool (joblib), the forest predicts what predict prints.
    import joblib

    forest = run.studies[0].evaluations[0].saved
    model = joblib.load(Path(forest["store"], forest["model"]))
    rows = frame.sample(12, random_state=0)
    rows.to_csv(tmp_path / "new.csv", index=False)  # with the target column: it is dropped
    result = run_cli("predict", "latest", str(tmp_path / "new.csv"), "--model", "random_forest",
                     "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["input"] for row in table] == [f"line {i}" for i in range(2, 14)]
    expected = model.predict_proba(rows.drop(columns=["target"]))
    got = np.array([[float(row[f"p({k})"]) for k in range(3)] for row in table])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert [row["predicted"] for row in table] == [str(k) for k in expected.argmax(1)]

    bad = tmp_path / "bad.csv"
    rows.drop(columns=["alcohol", "target"]).to_csv(bad, index=False)
    cases = [
        (("predict", "latest", str(bad), "--model", "random_forest"), "missing column(s) alcohol"),
        (("predict", "latest", str(tmp_path / "none.csv"), "--model", "random_forest"),
         "no such file"),
        (("predict", "latest", str(tmp_path / "new.csv"), "--model", "forest"),
         "no model 'forest'; models: logistic_regression, random_forest"),
    ]
    for args, expected_text in cases:
        failed = run_cli(*args, "--storage", storage, cwd=tmp_path)
        assert failed.returncode == 2 and expected_text in failed.stderr, failed.stderr
        assert len(failed.stderr.strip().splitlines()) == 1


@pytest.mark.slow  # ~25-50 s: the default loop keeps its other paths
def test_an_image_model_predicts_image_files_and_arrays(tmp_path: Path) -> None:
    from PIL import Image
    from sklearn.datasets import load_digits

    storage, store = _run(tmp_path, IMAGES)
    saved = store.resolve("latest").studies[0].evaluations[0].saved
    assert saved["family"] == "keras" and saved["file"].endswith(".keras")
    digits = load_digits()
    images = digits.images[:5].astype("uint8")  # 0..16, scaled by the same rule as the source
    np.save(tmp_path / "five.npy", images)
    from_array = run_cli("predict", "latest", str(tmp_path / "five.npy"), "--model", "lenet5",
                         "--storage", storage, cwd=tmp_path)
    assert from_array.returncode == 0, from_array.stderr
    rows = list(csv.DictReader(io.StringIO(from_array.stdout)))
    assert len(rows) == 5 and all(abs(sum(float(v) for k, v in row.items() if k.startswith("p("))
                                      - 1) < 1e-4 for row in rows)
    folder = tmp_path / "pngs"
    folder.mkdir()
    for index in range(3):
        Image.fromarray((digits.images[index] * 255 / 16).astype("uint8")).save(
            folder / f"{index}.png")
    from_files = run_cli("predict", "latest", str(folder), "--model", "lenet5", "--output",
                         str(tmp_path / "out.csv"), "--storage", storage, cwd=tmp_path)
    assert from_files.returncode == 0, from_files.stderr
    written = pd.read_csv(tmp_path / "out.csv")
    assert list(written["input"]) == ["0.png", "1.png", "2.png"]
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros((2, 5, 5)))
    refused = run_cli("predict", "latest", str(wrong), "--model", "lenet5", "--storage", storage,
                      cwd=tmp_path)
    assert refused.returncode == 2 and "the model takes (8, 8, 1)" in refused.stderr


S3_SUITE = """
name: in_s3
datasets:
  iris: {source: "sklearn:iris"}
models:
  - model: knn
    search: {n_neighbors: {low: 3, high: 9}}
study: {n_trials: 2, seed: 1}
execution: {artifacts: "s3://bench-models"}
"""


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch):
    """An S3-compatible server (moto's) on loopback, and the environment that
    points boto3 at it, as a user points it at MinIO: AWS_ENDPOINT_URL."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}",
                        "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket="bench-models")
    yield client
    server.stop()


@pytest.mark.slow  # ~15-30 s: a run and two predict processes
def test_the_selected_model_goes_to_an_s3_bucket_and_predicts_from_it(
        tmp_path: Path, s3_server) -> None:
    """execution.artifacts: s3://BUCKET: the refitted model is uploaded through
    Optuna's Boto3ArtifactStore by the process that evaluated it, and predict
    (on any machine with the database and the bucket) downloads it from there."""
    import joblib
    from sklearn.datasets import load_iris

    storage, store = _run(tmp_path, S3_SUITE)
    saved = store.resolve("latest").studies[0].evaluations[0].saved
    assert saved["store"] == "s3://bench-models" and saved["family"] == "sklearn"
    keys = [item["Key"] for item in s3_server.list_objects_v2(Bucket="bench-models")["Contents"]]
    assert keys == [saved["model"]]
    assert not (tmp_path / "reports" / "artifacts").exists()  # nothing saved locally instead
    s3_server.download_file("bench-models", saved["model"], str(tmp_path / "model.joblib"))
    model = joblib.load(tmp_path / "model.joblib")  # the file a user gets from the bucket

    frame = load_iris(as_frame=True).data.head(6)
    frame.to_csv(tmp_path / "new.csv", index=False)
    result = run_cli("predict", "latest", str(tmp_path / "new.csv"), "--model", "knn",
                     "--storage", storage, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    got = np.array([[float(row[f"p({k})"]) for k in ("setosa", "versicolor", "virginica")]
                    for row in csv.DictReader(io.StringIO(result.stdout))])
    np.testing.assert_allclose(got, model.predict_proba(frame), atol=1e-6)

    s3_server.delete_object(Bucket="bench-models", Key=saved["model"])
    gone = run_cli("predict", "latest", str(tmp_path / "new.csv"), "--model", "knn",
                   "--storage", storage, cwd=tmp_path)
    assert gone.returncode == 2 and "is not in s3://bench-models" in gone.stderr, gone.stderr


@pytest.mark.parametrize(("location", "expected"), [
    ("s3://bench-models/knn", "writes at the top of a bucket; give s3://BUCKET"),
    ("s3://Bench_Models", "is not an S3 bucket name"),
])
def test_a_bad_s3_location_is_one_line(tmp_path: Path, location: str, expected: str) -> None:
    from benchmark import suite
    from benchmark.errors import UserError

    path = write_suite(tmp_path, S3_SUITE.replace("s3://bench-models", location))
    with pytest.raises(UserError) as error:
        suite.read(path)
    message = str(error.value)
    assert "\n" not in message and "execution.artifacts" in message and expected in message
