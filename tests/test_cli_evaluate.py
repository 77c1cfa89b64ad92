"""``mlpbench evaluate``: metrics, JSON, plot, class names and data checks, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from cli_support import FASHION_NAMES, TINY_TRAINING, assert_one_line_error, run_cli, temp_files

from mlpbench import NumpyMLP
from mlpbench.checkpoint import save_checkpoint
from mlpbench.cli.confusion import confusion_matrix, per_class_scores
from mlpbench.data import load_dataset

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def expected_metrics(path: Path) -> tuple[dict[str, float], np.ndarray]:
    model = NumpyMLP.load(path)
    data = load_dataset("digits")
    matrix = confusion_matrix(data.y_test, model.predict(data.x_test), 10)
    return model.evaluate(data.x_test, data.y_test), matrix


def test_text_report_matches_api(capsys, checkpoint: Path):
    metrics, matrix = expected_metrics(checkpoint)

    result = run_cli(capsys, "evaluate", "-q", checkpoint)

    assert result.status == 0, result.err
    assert f"test loss {metrics['loss']:.4f}, test accuracy {metrics['accuracy']:.2%}" in result.out
    assert "class  precision  recall  support" in result.out
    assert "confusion matrix (rows: true class, columns: predicted class)" in result.out
    last_row = result.out.strip().splitlines()[-1].split()
    assert [int(count) for count in last_row] == [9, *matrix[9].tolist()]


def test_json_report(capsys, checkpoint: Path):
    metrics, matrix = expected_metrics(checkpoint)

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--json")

    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert report["loss"] == pytest.approx(metrics["loss"], rel=1e-12)
    assert report["accuracy"] == pytest.approx(metrics["accuracy"], rel=1e-12)
    assert report["dataset"] == "digits"
    assert report["n_samples"] == 360
    assert report["confusion_matrix"] == matrix.tolist()
    assert [row["support"] for row in report["per_class"]] == matrix.sum(axis=1).tolist()
    for row, scores in zip(report["per_class"], per_class_scores(matrix), strict=True):
        assert row["precision"] == scores["precision"]
        assert row["recall"] == scores["recall"]


def test_other_engine_gives_same_metrics(capsys, checkpoint: Path):
    numpy_report = json.loads(run_cli(capsys, "evaluate", "-q", checkpoint, "--json").out)

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--json", "--engine", "torch")

    assert result.status == 0, result.err
    torch_report = json.loads(result.out)
    assert torch_report["engine"] == "torch"
    assert torch_report["accuracy"] == numpy_report["accuracy"]
    assert torch_report["loss"] == pytest.approx(numpy_report["loss"], rel=1e-5)


def test_plot_written_atomically(capsys, checkpoint: Path, tmp_path: Path):
    plot = tmp_path / "confusion.png"

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--plot", plot)

    assert result.status == 0, result.err
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
    assert temp_files(tmp_path) == []


def test_plot_suffix_checked_first(capsys, checkpoint: Path, tmp_path: Path):
    result = run_cli(capsys, "evaluate", checkpoint, "--plot", tmp_path / "confusion.gif")

    assert result.status == 2
    assert "must end in .png, .pdf or .svg" in result.err


def test_recorded_class_names_used(capsys, tmp_path: Path):
    data = load_dataset("digits")
    model = NumpyMLP(hidden=[8], epochs=1, seed=0).fit(data.x_train, data.y_train)
    path = tmp_path / "named.npz"
    save_checkpoint(model, path, dataset={"name": "digits", "class_names": FASHION_NAMES})

    result = run_cli(capsys, "evaluate", "-q", path, "--json")

    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert report["class_names"] == FASHION_NAMES
    assert report["per_class"][9]["name"] == "Ankle boot"


def test_per_class_scores_undefined_when_never_predicted():
    matrix = confusion_matrix(np.array([0, 0, 1]), np.array([0, 0, 0]), 3)

    scores = per_class_scores(matrix)

    assert scores[0] == {"precision": 2 / 3, "recall": 1.0, "support": 2}
    assert scores[1] == {"precision": None, "recall": 0.0, "support": 1}
    assert scores[2] == {"precision": None, "recall": None, "support": 0}


def test_dataset_feature_mismatch(capsys, checkpoint: Path, tmp_path: Path):
    other = tmp_path / "ten_features.npz"
    rng = np.random.default_rng(0)
    np.savez(
        other,
        x_train=rng.random((6, 10)),
        y_train=np.arange(6) % 3,
        x_test=rng.random((3, 10)),
        y_test=np.arange(3),
    )

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--dataset", other)

    assert_one_line_error(result, "evaluate", "has 10 features per sample", "takes 64", "trained on digits")


def test_labels_outside_model_classes(capsys, checkpoint: Path, tmp_path: Path):
    other = tmp_path / "twelve_classes.npz"
    rng = np.random.default_rng(0)
    y_test = np.array([0, 1, 12])
    np.savez(
        other, x_train=rng.random((3, 64)), y_train=np.arange(3), x_test=rng.random((3, 64)), y_test=y_test
    )

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--dataset", other)

    assert_one_line_error(result, "evaluate", "test label 12 at row 2 is outside 0..9")


def test_recorded_dataset_gone_names_flag(capsys, tmp_path: Path):
    data = load_dataset("digits")
    data_file = tmp_path / "subset.npz"
    np.savez(data_file, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=data.y_test)
    model = tmp_path / "model.npz"
    assert run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", data_file, "--save", model).status == 0
    data_file.unlink()

    result = run_cli(capsys, "evaluate", "-q", model)

    expected = f"{model} was trained on {data_file}, which is not there any more; pass --dataset"
    assert_one_line_error(result, "evaluate", expected, status=2)


def test_unrecorded_dataset_needs_flag(capsys, tmp_path: Path):
    data = load_dataset("digits")
    path = tmp_path / "bare.npz"
    NumpyMLP(hidden=[8], epochs=1).fit(data.x_train, data.y_train).save(path)

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(result, "evaluate", "does not record its data set", "--dataset", status=2)
    assert run_cli(capsys, "evaluate", "-q", path, "--dataset", "digits").status == 0
