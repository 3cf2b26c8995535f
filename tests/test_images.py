"""Image sources on small generated files, their bad inputs, and an image
suite run end to end through an image folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmark.datasets import load, split
from benchmark.errors import DataError
from benchmark.store import Store
from conftest import run_cli, write_suite


def _png(path: Path, size: tuple[int, int], value: int, mode: str = "RGB") -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    import zlib

    # Each file its own noise: identical images would be duplicates (dropped by split.dedupe).
    rng = np.random.default_rng([value, zlib.crc32("/".join(path.parts[-3:]).encode())])
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    pixels = np.clip(rng.normal(value, 20, shape), 0, 255).astype("uint8")
    Image.fromarray(pixels, mode).save(path)


def _folder(root: Path, classes: dict[str, int], per_class: int = 6, size=(12, 12)) -> Path:
    for name, value in classes.items():
        for i in range(per_class):
            _png(root / name / f"{i}.png", size, value)
    return root


def test_npz_images_scale_to_unit_range_with_a_channel_axis(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(0, 256, (30, 10, 10), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", x=x, y=np.array(["cat", "dog", "eel"] * 10))
    dataset = load("npz", path=str(tmp_path / "d.npz"))
    assert dataset.x.shape == (30, 10, 10, 1) and dataset.x.dtype == np.float32
    assert np.allclose(dataset.x[..., 0], x / 255.0)
    assert dataset.class_names == ["cat", "dog", "eel"] and dataset.y[:3].tolist() == [0, 1, 2]
    with pytest.raises(DataError, match="has no array 'images'; arrays: x, y"):
        load("npz", path=str(tmp_path / "d.npz"), options={"images": "images"})


def test_pixel_csv_reshapes_rows_and_checks_the_column_count(tmp_path: Path) -> None:
    import pandas as pd

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, (20, 16))
    frame = pd.DataFrame(pixels, columns=[f"pixel{i}" for i in range(16)])
    frame.insert(0, "label", ["shirt", "shoe"] * 10)
    frame.to_csv(tmp_path / "train.csv", index=False)
    dataset = load("csv_pixels", path=str(tmp_path / "train.csv"), options={"image_shape": [4, 4]})
    assert dataset.x.shape == (20, 4, 4, 1)
    assert np.allclose(dataset.x[3].reshape(-1), pixels[3] / 255.0)
    assert dataset.class_names == ["shirt", "shoe"]
    with pytest.raises(DataError) as error:
        load("csv_pixels", path=str(tmp_path / "train.csv"), options={"image_shape": [5, 5]})
    assert error.value.key == "options.image_shape"
    assert "has 16 pixel columns, but image_shape 5x5x1 needs 25" in error.value.message


def _seed003_csv(path: Path, rows: int = 6) -> np.ndarray:
    """Seed 003's train.csv layout: id, Label, then 784 pixel columns."""
    import pandas as pd

    pixels = np.random.default_rng(3).integers(0, 256, (rows, 784))
    frame = pd.DataFrame(pixels, columns=[f"pixel{i}" for i in range(1, 785)])
    frame.insert(0, "Label", ["coat", "bag", "shirt"] * (rows // 3))
    frame.insert(0, "id", [f"img{i:04d}" for i in range(rows)])
    frame.to_csv(path, index=False)
    return pixels


def test_pixel_csv_ignores_the_id_column_of_seed_003s_layout(tmp_path: Path) -> None:
    csv = tmp_path / "train.csv"
    pixels = _seed003_csv(csv)
    for ignore in (["id"], "id"):
        dataset = load("csv_pixels", path=str(csv), options={
            "image_shape": [28, 28, 1], "label": "Label", "ignore": ignore})
        assert dataset.x.shape == (6, 28, 28, 1)
        assert np.allclose(dataset.x[4].reshape(-1), pixels[4] / 255.0)
        assert dataset.class_names == ["bag", "coat", "shirt"]
        assert dataset.y.tolist() == [1, 0, 2, 1, 0, 2]


@pytest.mark.parametrize(("options", "key", "message"), [
    ({"label": "Label"}, "options.image_shape",
     "has 785 pixel columns, but image_shape 28x28x1 needs 784; if 'id' is not a pixel column, "
     "list it in options.ignore"),
    ({"label": "Label", "ignore": ["ID"]}, "options.ignore",
     "has no column 'ID' (did you mean 'id'?); its columns: id, Label, pixel1, pixel2, pixel3, "
     "pixel4, pixel5, pixel6, ..., pixel784 (786 columns)"),
    ({"label": "Label", "ignore": ["Label", "id"]}, "options.ignore",
     "'Label' is the label column"),
    ({}, "options.label", "has no column 'label' (did you mean 'Label'?)"),
])
def test_pixel_csv_with_an_id_column_names_the_option_that_fixes_it(
        tmp_path: Path, options: dict, key: str, message: str) -> None:
    csv = tmp_path / "train.csv"
    _seed003_csv(csv)
    with pytest.raises(DataError) as error:
        load("csv_pixels", path=str(csv), options={"image_shape": [28, 28, 1], **options})
    assert error.value.key == key
    assert message in error.value.message


def test_pixel_csv_names_text_columns_and_places_label_errors_at_the_label_option(
        tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(np.zeros((4, 3), dtype=int), columns=["p0", "p1", "p2"])
    frame.insert(0, "label", ["a", "b", "a", "b"])
    frame.insert(1, "note", ["x", "y", "z", "w"])
    frame.to_csv(tmp_path / "px.csv", index=False)
    with pytest.raises(DataError) as error:
        load("csv_pixels", path=str(tmp_path / "px.csv"), options={"image_shape": [2, 2]})
    assert error.value.message.endswith("pixel columns must be numbers, but 'note' holds text; "
                                        "list columns that are not pixels in options.ignore")
    frame["label"] = "a"
    frame.drop(columns="note").to_csv(tmp_path / "one.csv", index=False)
    with pytest.raises(DataError, match="has a single class") as error:
        load("csv_pixels", path=str(tmp_path / "one.csv"), options={"image_shape": [1, 3]})
    assert error.value.key == "options.label"


def test_image_folder_reads_classes_resizes_and_skips_unreadable_files(tmp_path: Path) -> None:
    root = _folder(tmp_path / "pets", {"cat": 40, "dog": 200})
    _png(root / "dog" / "big.png", (30, 20), 200)  # another size: resized to the first
    (root / "cat" / "broken.png").write_bytes(b"not an image")
    dataset = load("image_folder", path=str(root))
    assert dataset.x.shape == (13, 12, 12, 3) and dataset.class_names == ["cat", "dog"]
    assert dataset.x[dataset.y == 0].mean() < 0.3 < 0.6 < dataset.x[dataset.y == 1].mean()
    assert dataset.warnings == (f"skipped unreadable image {root / 'cat' / 'broken.png'}",)
    with pytest.raises(DataError, match="broken.png: not a readable image"):
        load("image_folder", path=str(root), options={"strict": True})
    grey = load("image_folder", path=str(root), options={"image_size": 8, "color": "grayscale"})
    assert grey.x.shape == (13, 8, 8, 1)


def test_image_folder_with_split_folders_keeps_their_split(tmp_path: Path) -> None:
    root = tmp_path / "sets"
    _folder(root / "train", {"a": 30, "b": 220}, per_class=10)
    _folder(root / "val", {"a": 30, "b": 220}, per_class=3)
    dataset = load("image_folder", path=str(root))
    parts = split(dataset, train=0.7, validation=0.15, test=0.15, stratify=True, seed=0)
    assert len(parts.validation) == 6  # the val folder, as given
    assert len(parts.train) + len(parts.test) == 20 and len(parts.test) == 3  # test cut from train


def _class_without_images(root: Path, junk: str, content: bytes) -> None:
    _folder(root, {"cat": 50})
    (root / "dog").mkdir()
    (root / "dog" / junk).write_bytes(content)


@pytest.mark.parametrize(("make", "message"), [
    (lambda root: root.mkdir(), "no image files"),
    (lambda root: _folder(root, {"only": 50}), "one class folder ('only')"),
    (lambda root: _class_without_images(root, "notes.txt", b"a note"),
     "class folder 'dog' has no image files (.bmp, .gif, .jpeg, .jpg, .png, .tif, .tiff, .webp); "
     "add images or remove the folder"),
    (lambda root: _class_without_images(root, "broken.png", b"not an image"),
     "class folder 'dog' has no readable images (each of its image files was skipped as "
     "unreadable)"),
    (lambda root: [_folder(root / "train", {"a": 30}), (root / "train" / "b").mkdir(),
                   (root / "train" / "c").mkdir()],
     "class folders 'train/b', 'train/c' have no image files"),
])
def test_image_folder_without_two_classes_of_images_is_refused(tmp_path: Path, make, message) -> None:
    make(tmp_path / "imgs")
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load("image_folder", path=str(tmp_path / "imgs"))


@pytest.fixture
def keras_home(tmp_path: Path, monkeypatch) -> Path:
    """An empty Keras cache, for us ($KERAS_HOME) and for keras (read once at its
    import), and no network: keras.utils.get_file's download fails at once."""
    import urllib.error

    from keras.src.backend import config
    from keras.src.utils import file_utils

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "keras"))

    def offline(url, *args, **kwargs):
        raise urllib.error.URLError(f"no network in the tests ({url})")

    monkeypatch.setattr(file_utils, "urlretrieve", offline)
    return tmp_path / "keras" / "datasets"


def _fake_keras_files(name: str, cache: Path) -> None:
    """Tiny files where keras_cache_problems says keras looks, in keras's formats."""
    import gzip
    import io
    import tarfile

    from benchmark.datasets._images import KERAS_DATASETS

    rng = np.random.default_rng(0)
    for file in KERAS_DATASETS[name]["files"]:
        target = cache / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == "mnist":
            x, y = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8), np.arange(3, dtype=np.uint8)
            with target.open("wb") as stream:  # np.savez would add ".npz" to the name
                np.savez(stream, x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
        elif name == "fashion_mnist":  # idx files: an 8-byte (labels) or 16-byte header
            labels = "labels" in file.path
            body = (np.arange(3, dtype=np.uint8) if labels
                    else rng.integers(0, 256, 3 * 784, dtype=np.uint8))
            target.write_bytes(gzip.compress(bytes(8 if labels else 16) + body.tobytes()))
        else:  # cifar10: the .tar.gz, with a stand-in first batch
            with tarfile.open(target, "w:gz") as archive:
                member = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
                member.size = len(b"batch")
                archive.addfile(member, io.BytesIO(b"batch"))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "cifar10"])
def test_keras_reads_the_files_we_name_without_the_network(keras_home: Path, monkeypatch,
                                                           name: str) -> None:
    """Keras 3.15's own load_data, offline, finds the data in the files that
    KERAS_DATASETS names, and checks them against the hashes it lists."""
    import keras
    from keras.src.utils import file_utils

    from benchmark.datasets._images import KERAS_DATASETS

    checked = []
    monkeypatch.setattr(file_utils, "validate_file",
                        lambda path, file_hash, **kwargs: checked.append((path, file_hash)) or True)
    _fake_keras_files(name, keras_home)
    if name == "cifar10":  # 50,000 slots of 32x32x3: stop when keras opens the first batch
        class Reached(Exception):
            pass

        def first_batch(path: str) -> None:
            assert Path(path).read_bytes() == b"batch"  # extracted from the archive we named
            raise Reached

        monkeypatch.setattr("keras.src.datasets.cifar10.load_batch", first_batch)
        with pytest.raises(Reached):
            keras.datasets.cifar10.load_data()
    else:
        (x_train, y_train), (x_test, _) = getattr(keras.datasets, name).load_data()
        assert len(x_train) == len(y_train) == 3 and x_train.shape[1:] == (28, 28)
        dataset = load(f"keras:{name}")
        assert dataset.x.shape == (3 + len(x_test), 28, 28, 1) and len(dataset.class_names) == 10
    assert set(checked) == {(str(keras_home / file.path), file.sha256)
                            for file in KERAS_DATASETS[name]["files"] if file.sha256}


def test_keras_cache_detection_checks_each_file_and_its_hash(keras_home: Path, monkeypatch) -> None:
    import hashlib

    from benchmark.datasets._images import KERAS_DATASETS, KerasFile, keras_cache_problems

    assert keras_cache_problems("fashion_mnist") == {
        file: "missing" for file in KERAS_DATASETS["fashion_mnist"]["files"]}
    _fake_keras_files("fashion_mnist", keras_home)
    assert keras_cache_problems("fashion_mnist") == {}  # no hash: any four files will do
    (keras_home / "fashion-mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    assert [file.path for file in keras_cache_problems("fashion_mnist")] == [
        "fashion-mnist/t10k-labels-idx1-ubyte.gz"]

    _fake_keras_files("mnist", keras_home)
    [problem] = keras_cache_problems("mnist").values()
    assert problem == "not the file keras expects (its sha256 differs)"  # keras would download it
    fake = KerasFile("mnist.npz", "https://example.org/mnist.npz",
                     hashlib.sha256((keras_home / "mnist.npz").read_bytes()).hexdigest())
    monkeypatch.setitem(KERAS_DATASETS, "mnist", {**KERAS_DATASETS["mnist"], "files": [fake]})
    assert keras_cache_problems("mnist") == {}


@pytest.mark.parametrize(("name", "place"), [
    ("mnist", "download mnist.npz from https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
              " into {cache}/, then run again"),
    ("fashion_mnist", "download train-labels-idx1-ubyte.gz, train-images-idx3-ubyte.gz, "
                      "t10k-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz from "
                      "https://storage.googleapis.com/tensorflow/tf-keras-datasets/ into "
                      "{cache}/fashion-mnist/, then run again"),
    ("cifar10", "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and save it as "
                "{cache}/cifar-10-batches-py-target_archive, then run again"),
])
def test_keras_dataset_offline_says_which_files_go_where(keras_home: Path, name: str,
                                                         place: str) -> None:
    with pytest.raises(DataError) as error:
        load(f"keras:{name}")
    assert error.value.key == "source"
    assert error.value.message.startswith(f"keras:{name} is not in the Keras cache and could not "
                                          "be downloaded (Exception: URL fetch failure on https://")
    assert error.value.message.endswith("; without network, " + place.format(cache=keras_home))


def test_keras_dataset_with_a_stale_file_offline_names_it(keras_home: Path) -> None:
    _fake_keras_files("mnist", keras_home)
    with pytest.raises(DataError) as error:
        load("keras:mnist")
    assert error.value.message.startswith(
        f"keras:mnist is not in the Keras cache ({keras_home}/mnist.npz is not the file keras "
        "expects (its sha256 differs)) and could not be downloaded")


IMAGE_SUITE = """
    name: pets
    datasets:
      pets:
        source: image_folder
        path: {path}
        split: {{train: 0.5, validation: 0.25, test: 0.25}}
    models:
      - model: simple_cnn
        search: {{filters_1: {{choices: [4, 8]}}, padding: same, epochs: 2, batch_size: 8}}
      - model: resnet
        search: {{blocks_per_stage: 1, width: 0.5, max_pooling: {{choices: [false, true]}}, epochs: 2, batch_size: 8}}
    study: {{n_trials: 2, pruner: none, seed: 3}}
    """


@pytest.mark.slow
def test_image_folder_suite_runs_and_reports_samples_and_layers(tmp_path: Path) -> None:
    root = _folder(tmp_path / "pets", {"cat": 40, "dog": 200}, per_class=12)
    suite = write_suite(tmp_path, IMAGE_SUITE.format(path=root))
    result = run_cli("run", str(suite), "--quiet", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    store = Store(f"sqlite:///{tmp_path / 'reports' / 'benchmark.db'}", create=False)
    run = store.resolve("latest")
    assert [s["label"] for s in run.datasets[0].summary["samples"]] == ["cat"] * 2 + ["dog"] * 2
    html = (tmp_path / "reports" / "pets" / run.id / "report.html").read_text()
    assert "Training images of pets with their labels" in html
    for study in run.studies:
        layers = study.evaluations[0].architecture
        assert layers["total"] == study.evaluations[0].n_params
        assert sum(layer["params"] for layer in layers["layers"]) == layers["total"]
        assert f"Layers of {study.model}: {layers['total']:,} parameters" in html
        assert layers["flops"] >= layers["total"]  # every weight takes part in the forward pass
    assert "MFLOPs /image" in html


@pytest.mark.parametrize(("body", "message"), [
    ("source: csv_pixels\n            path: {csv}\n            options: {{image_shape: [5, 5]}}",
     "datasets.px.options.image_shape: {csv} has 16 pixel columns, but image_shape 5x5x1 needs 25"),
    ("source: csv_pixels\n            path: {csv}",
     "datasets.px.options: source 'csv_pixels' needs options.image_shape"),
    ("source: image_folder\n            path: {empty}", "datasets.px.path: {empty}: no image files"),
    ("source: csv_pixels\n            path: {csv}\n            options: {{image_shape: [4, 4], "
     "ignore: [Id]}}", "datasets.px.options.ignore: {csv} has no column 'Id'; its columns: label, "
                       "p0, p1, p2, p3, p4, p5, p6, ..., p15 (17 columns)"),
])
@pytest.mark.slow
def test_bad_image_data_is_one_line_exit_2(tmp_path: Path, body: str, message: str) -> None:
    import pandas as pd

    csv = tmp_path / "px.csv"
    frame = pd.DataFrame(np.zeros((4, 16), dtype=int), columns=[f"p{i}" for i in range(16)])
    frame.insert(0, "label", [0, 1, 0, 1])
    frame.to_csv(csv, index=False)
    (tmp_path / "empty").mkdir()
    suite = write_suite(tmp_path, f"""
        name: px
        datasets:
          px:
            {body.format(csv=csv, empty=tmp_path / 'empty')}
        models: [{{model: lenet5}}]
        """)
    result = run_cli("run", str(suite), cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {suite}: " + message.format(csv=csv, empty=tmp_path / "empty"))
    assert not (tmp_path / "reports").exists()


FOLDER_SUITE = """
    name: pets
    datasets:
      pets:
        source: image_folder
        path: {path}
        options: {{strict: {strict}}}
    models: [{{model: simple_cnn}}]
    """


@pytest.mark.parametrize(("case", "strict", "stderr"), [
    ("unreadable", "false",
     "warning: datasets.pets: skipped unreadable image {root}/cat/broken.png"),
    ("unreadable", "true", "error: {suite}: datasets.pets.path: {root}/cat/broken.png: not a "
                           "readable image (cannot identify image file"),
    ("one class", "false", "error: {suite}: datasets.pets.path: {root}: one class folder ('cat'); "
                           "a classifier needs at least two"),
    ("class without images", "false", "error: {suite}: datasets.pets.path: {root}: class folder "
                                      "'dog' has no image files"),
])
@pytest.mark.slow
def test_validate_reports_image_folder_problems_as_run_does(tmp_path: Path, case: str, strict: str,
                                                            stderr: str) -> None:
    classes = {"cat": 40} if case == "one class" else {"cat": 40, "dog": 200}
    root = _folder(tmp_path / "pets", classes, size=(32, 32))  # above every model's minimum size
    if case == "unreadable":
        (root / "cat" / "broken.png").write_bytes(b"not an image")
    if case == "class without images":
        for image in (root / "dog").iterdir():
            image.rename(image.with_suffix(".txt"))
    suite = write_suite(tmp_path, FOLDER_SUITE.format(path=root, strict=strict))
    result = run_cli("validate", str(suite), cwd=tmp_path, timeout=120)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(stderr.format(root=root, suite=suite)), result.stderr
    if stderr.startswith("warning"):
        assert result.returncode == 0
        assert f"{suite}: datasets.pets: 12 samples, 2 classes" in result.stdout  # 13 files
    else:
        assert result.returncode == 2 and result.stdout == ""


def test_architecture_below_its_minimum_input_size_is_refused(tmp_path: Path) -> None:
    suite = write_suite(tmp_path, """
        name: small
        datasets: {digits: {source: sklearn:digits}}
        models:
          - model: alexnet
            search: {image_size: {choices: [14, 64]}}
        """)
    result = run_cli("validate", str(suite), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {suite}: models[0].search.image_size: alexnet needs images of at least 15x15 "
        "pixels (its layers shrink smaller ones to nothing), got image_size 14; use a larger one")
