"""Bad inputs and failing writes: each ends in one stderr line, a non-zero status, and no lost or
half-written file."""

from __future__ import annotations

import errno
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_support import (
    TINY_TRAINING,
    Result,
    assert_one_line_error,
    run_cli,
    temp_files,
    train_checkpoint,
)
from PIL import Image

from mlpbench import NumpyMLP
from mlpbench.checkpoint import read_checkpoint
from mlpbench.cli import main
from mlpbench.data import load_dataset
from mlpbench.training.chance import smaller_lr_hint

EARLIER_HISTORY = "epoch,lr,train_loss\n1,0.05,0.5\n"
"""An earlier run's history, which a run that adds no epoch must leave as it was."""


@pytest.fixture(scope="module")
def torch_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("errors-pt") / "digits.pt"
    assert main(["train", "-q", *TINY_TRAINING, "--engine", "torch", "--save", str(path)]) == 0
    return path


def save_npz_dataset(path: Path, x_train: np.ndarray, y_train: np.ndarray) -> Path:
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_train[:3], y_test=y_train[:3])
    return path


class NotATensor:
    """Any class outside torch's weights_only allow-list."""


# ----- checkpoints ------------------------------------------------------------------------


def test_corrupt_checkpoint(capsys, tmp_path: Path):
    path = tmp_path / "corrupt.npz"
    path.write_bytes(b"this is not a zip archive" * 10)

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(
        result,
        "evaluate",
        f"{path} is not a readable .npz file",
        "save the model again (with model.save(path) or mlpbench train --save)",
    )


@pytest.mark.parametrize("which", ["npz", "pt"])
def test_truncated_checkpoint(capsys, tmp_path: Path, checkpoint: Path, torch_checkpoint: Path, which: str):
    source = checkpoint if which == "npz" else torch_checkpoint
    path = tmp_path / source.name
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(result, "evaluate", f"{path} is not a readable .{which} file")


@pytest.mark.parametrize("damage", ["central directory", "empty archive"])
def test_pt_zip_archive_damaged(capsys, tmp_path: Path, torch_checkpoint: Path, damage: str):
    path = tmp_path / "model.pt"
    if damage == "central directory":
        # The end record stays intact, so the file still looks like a zip archive at first.
        data = bytearray(torch_checkpoint.read_bytes())
        start = data.rfind(b"PK\x01\x02")
        data[start : start + 4] = b"XXXX"
        path.write_bytes(bytes(data))
    else:
        zipfile.ZipFile(path, "w").close()

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(result, "evaluate", f"{path} is not a readable .pt file")


@pytest.mark.parametrize(("written", "renamed"), [("npz", "pt"), ("pt", "npz")])
def test_checkpoint_with_the_other_suffix(
    capsys, tmp_path: Path, checkpoint: Path, torch_checkpoint: Path, written: str, renamed: str
):
    source = checkpoint if written == "npz" else torch_checkpoint
    path = tmp_path / f"model.{renamed}"
    path.write_bytes(source.read_bytes())

    for command in ("evaluate", "train"):
        arguments = [path] if command == "evaluate" else ["--resume", path]
        result = run_cli(capsys, command, "-q", *arguments)

        assert_one_line_error(result, command, f"{path} is a ", f"rename it to end in .{written}")
    # The hint is right: under its own suffix the same bytes load.
    path.rename(tmp_path / f"model.{written}")
    assert run_cli(capsys, "evaluate", "-q", tmp_path / f"model.{written}").status == 0


def test_pt_with_pickled_object(capsys, tmp_path: Path, torch_checkpoint: Path):
    payload = torch.load(torch_checkpoint, weights_only=True)
    payload["extra"] = NotATensor()
    path = tmp_path / "pickled.pt"
    torch.save(payload, path)

    result = run_cli(capsys, "predict", "-q", path, tmp_path / "unused.npy")

    assert_one_line_error(
        result, "predict", "contains Python objects other than tensors", "weights_only=True"
    )


def test_pt_with_whole_module(capsys, tmp_path: Path):
    path = tmp_path / "module.pt"
    torch.save(torch.nn.Linear(64, 10), path)

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(result, "evaluate", "contains Python objects other than tensors")
    assert "expected a .npz or .pt file written by mlpbench train --save or a model's save()" in result.err


def test_pt_with_plain_state_dict(capsys, tmp_path: Path):
    # A state_dict saved from another network contains tensors only, not in mlpbench's layout.
    path = tmp_path / "state.pt"
    torch.save(torch.nn.Linear(64, 10).state_dict(), path)

    result = run_cli(capsys, "evaluate", "-q", path)

    expected = "has no 'state_dict' and 'layer_sizes', so mlpbench did not write it"
    assert_one_line_error(result, "evaluate", expected)
    assert "written by mlpbench train --save or a model's save()" in result.err


def test_checkpoint_of_other_architecture(capsys, tmp_path: Path, checkpoint: Path):
    with np.load(checkpoint, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["W1"] = np.zeros((32, 10), dtype=np.float32)  # layer_sizes declares hidden=16
    path = tmp_path / "mismatch.npz"
    np.savez(path, **arrays)

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(result, "evaluate", "array W1 has shape (32, 10)", "needs (16, 10)")


def test_resume_into_other_architecture(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "--resume", path, "--hidden", "64,32")

    assert result.status == 2
    assert "--hidden 64,32 does not match" in result.err
    assert "hidden 16" in result.err


# ----- inputs -----------------------------------------------------------------------------


def test_undecodable_image(capsys, tmp_path: Path, checkpoint: Path):
    image = tmp_path / "digit.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)

    result = run_cli(capsys, "predict", "-q", checkpoint, image)

    assert_one_line_error(result, "predict", f"cannot decode image {image}", "expected a PNG, JPEG")


def test_oversized_image(capsys, tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch):
    # Pillow's limit is lowered to 100 pixels, so that a 16x16 image takes the place of a 20000x20000 one.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    image = tmp_path / "scan.png"
    Image.new("L", (16, 16)).save(image)

    result = run_cli(capsys, "predict", "-q", checkpoint, image)

    assert_one_line_error(result, "predict", f"cannot read image {image}: it is too large to decode safely")
    assert "shrink it to a few hundred pixels a side first" in result.err
    assert "expected a PNG" not in result.err


def test_truncated_image(capsys, tmp_path: Path, checkpoint: Path):
    image = tmp_path / "digit.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)).save(image)
    data = image.read_bytes()
    image.write_bytes(data[: len(data) // 2])

    result = run_cli(capsys, "predict", "-q", checkpoint, image)

    assert_one_line_error(result, "predict", f"cannot decode image {image}")


def test_input_wrong_feature_count(capsys, tmp_path: Path, checkpoint: Path):
    inputs = tmp_path / "rows.npy"
    np.save(inputs, np.zeros((2, 10)))

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", "shape (2, 10)", "64 features")


def test_input_with_nan(capsys, tmp_path: Path, checkpoint: Path):
    rows = np.zeros((3, 64))
    rows[1, 5] = np.nan
    inputs = tmp_path / "rows.npy"
    np.save(inputs, rows)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(
        result,
        "predict",
        f"{inputs}: 1 sample(s) contain NaN or infinity",
        "first sample 1 at feature 5 (value nan",
    )


def test_input_with_pickled_objects(capsys, tmp_path: Path, checkpoint: Path):
    inputs = tmp_path / "objects.npy"
    np.save(inputs, np.array([{"a": 1}], dtype=object), allow_pickle=True)

    result = run_cli(capsys, "predict", "-q", checkpoint, inputs)

    assert_one_line_error(result, "predict", f"cannot read {inputs}")


def test_missing_input(capsys, tmp_path: Path, checkpoint: Path):
    result = run_cli(capsys, "predict", "-q", checkpoint, tmp_path / "absent.png")

    assert_one_line_error(result, "predict", "absent.png not found; check the path", status=2)


def test_empty_output_name_rejected(capsys, tmp_path: Path, checkpoint: Path):
    rows = tmp_path / "rows.npy"
    np.save(rows, np.zeros((1, 64)))

    predict = run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", "")
    history = run_cli(capsys, "train", "-q", "--epochs", "1", "--history", "")

    assert_one_line_error(predict, "predict", "--out needs a file name, got an empty one", status=2)
    assert_one_line_error(history, "train", "--history needs a file name, got an empty one", status=2)


def test_dangling_save_link_rejected_before_training(capsys, tmp_path: Path):
    link = tmp_path / "model.npz"
    link.symlink_to(tmp_path / "absent" / "model.npz")

    result = run_cli(capsys, "train", "--epochs", "1", "--save", link)

    assert result.status == 2
    assert f"folder {tmp_path / 'absent'} does not exist" in result.err
    assert "data:" not in result.err, "rejected before the data is loaded"
    assert link.is_symlink()


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_sklearn_not_offered_for_checkpoints(capsys, checkpoint: Path, command: str):
    inputs = [checkpoint] if command == "predict" else []
    result = run_cli(capsys, command, "-q", checkpoint, *inputs, "--engine", "sklearn")

    assert result.status == 2
    assert "invalid choice: 'sklearn'" in result.err
    assert "'numpy', 'torch', 'torch-dataloader'" in result.err


def test_folder_as_input(capsys, tmp_path: Path, checkpoint: Path):
    result = run_cli(capsys, "predict", "-q", checkpoint, tmp_path)

    expected = (f"input {tmp_path} is a folder", f"{tmp_path / '*.png'}")
    assert_one_line_error(result, "predict", *expected, status=2)


def test_folder_hint_matches_suffix(capsys, tmp_path: Path, checkpoint: Path):
    folder = tmp_path / "scans"
    folder.mkdir()
    for name in ("a.jpg", "b.JPG", "c.npy", "notes.txt", "more.txt", "one.pdf", "two.pdf", "three.pdf"):
        (folder / name).write_bytes(b"")

    result = run_cli(capsys, "predict", "-q", checkpoint, folder)

    assert_one_line_error(result, "predict", f"input {folder} is a folder", f"{folder / '*.jpg'}", status=2)


def test_training_data_with_infinity(capsys, tmp_path: Path):
    x = np.random.default_rng(0).random((10, 64))
    x[4, 5] = np.inf
    x[7, 0] = np.nan
    data = save_npz_dataset(tmp_path / "inf.npz", x, np.arange(10) % 3)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", data)

    assert_one_line_error(
        result,
        "train",
        f"{data}[x_train]: 2 sample(s) contain NaN or infinity, first sample 4 at feature 5 "
        "(value inf, counting from 0); remove or fill those values first",
    )


def test_test_data_with_nan(capsys, tmp_path: Path):
    x = np.random.default_rng(0).random((10, 64))
    x_test = x[:3].copy()
    x_test[2, 63] = np.nan
    data = tmp_path / "nan.npz"
    np.savez(data, x_train=x, y_train=np.arange(10) % 3, x_test=x_test, y_test=np.arange(3))

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", data)

    assert_one_line_error(
        result, "train", f"{data}[x_test]: 1 sample(s) contain NaN", "sample 2 at feature 63 (value nan"
    )


def test_csv_test_file_with_nan(capsys, tmp_path: Path):
    train = tmp_path / "data_train.csv"
    test = tmp_path / "data_test.csv"
    rows = [f"{index % 3}," + ",".join(["0.5"] * 64) for index in range(10)]
    train.write_text("label,pixels\n" + "\n".join(rows) + "\n", encoding="utf-8")
    broken = rows[:3]
    broken[1] = broken[1].rsplit(",", 2)[0] + ",nan,0.5"
    # A header, then a blank line and a comment, which np.loadtxt skips.
    test.write_text("label,pixels\n\n# copied\n" + "\n".join(broken) + "\n", encoding="utf-8")

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", train)

    # The second sample is on line 5; its 63rd feature is in column 64, after the label.
    assert_one_line_error(
        result, "train", f"{test}, line 5, column 64: NaN or infinity (value nan; 1 line(s) in all)"
    )


def test_training_labels_negative(capsys, tmp_path: Path):
    x = np.random.default_rng(0).random((10, 64))
    labels = np.arange(10) % 3
    labels[6] = -1
    data = save_npz_dataset(tmp_path / "negative.npz", x, labels)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", data)

    assert_one_line_error(result, "train", "label -1 at index 6 is negative")


def test_network_too_large_for_memory(capsys, tmp_path: Path):
    # A mistyped width: 64 x 10**11 float64 weights cannot be allocated, which must not end in a traceback.
    save = tmp_path / "model.npz"

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--hidden", "100000000000", "--save", save)

    assert_one_line_error(result, "train", "error: not enough memory: Unable to allocate")
    assert "check --hidden for a mistyped size" in result.err
    assert not save.exists()


def test_torch_allocation_failure_reported(tmp_path: Path):
    # PyTorch reports a failed allocation as a RuntimeError. A 3 GiB address-space limit
    # makes the 2.3 GB activations of 1,437 rows x 400,000 hidden units fail for real.
    import resource
    import subprocess
    import sys

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))

    command = [sys.executable, "-m", "mlpbench", "train", "-q", "--engine", "torch", "--dataset", "digits"]
    command += ["--epochs", "1", "--batch-size", "1437", "--hidden", "400000", "--threads", "1"]
    result = subprocess.run(
        command, preexec_fn=limit_memory, capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("mlpbench train: error: not enough memory: ")
    assert "can't allocate memory" in result.stderr
    assert "check --hidden for a mistyped size" in result.stderr


def test_training_label_far_too_large(capsys, tmp_path: Path):
    # The class count is the largest label plus one, so this one would need an output layer of 1e11 units.
    x = np.random.default_rng(0).random((10, 64))
    labels = np.arange(10) % 3
    labels[4] = 99_999_999_999
    data = save_npz_dataset(tmp_path / "huge.npz", x, labels)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", data)

    assert_one_line_error(result, "train", "label 99999999999 at index 4 would make 100000000000 classes")



@pytest.mark.parametrize(
    "command",
    [["evaluate", "model.npz"], ["predict", "model.npz", "x.npy"], ["compare"], ["sweep", "--quick"]],
)
def test_unknown_device_rejected_before_work(capsys, command: list[str]):
    result = run_cli(capsys, *command, "--device", "gpu")

    assert result.status == 2
    assert f"mlpbench {command[0]}: error: argument --device: expected cpu, cuda or cuda:N" in result.err


@pytest.mark.parametrize("command", ["train", "compare", "profile", "sweep"])
@pytest.mark.parametrize(
    ("seed", "message"),
    [("-1", "--seed must be an integer >= 0, got -1"), ("4294967296", "--seed must be at most 2**32 - 1")],
)
def test_seed_out_of_range_rejected_before_work(capsys, command: str, seed: str, message: str):
    result = run_cli(capsys, command, "--seed", seed)

    assert result.status == 2
    assert f"mlpbench {command}: error: {message}" in result.err
    assert result.out == ""


def test_label_gap_warns_in_train(capsys, tmp_path: Path):
    data = load_dataset("digits")
    y_train = data.y_train.copy()
    y_train[5] = 12
    path = save_npz_dataset(tmp_path / "stray.npz", data.x_train, y_train)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", path)

    assert result.status == 0, result.err
    assert "no training sample has labels 10, 11, although the two splits together" in result.err
    assert "have labels up to 12" in result.err
    assert "the usual cause is a stray label 12 in the training split (row 5): correct it" in result.err


def test_labels_from_one_warn_renumber(capsys, tmp_path: Path):
    data = load_dataset("digits")
    path = save_npz_dataset(tmp_path / "from-one.npz", data.x_train, data.y_train + 1)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", path)

    assert result.status == 0, result.err
    assert "no training sample has label 0," in result.err
    assert "cannot learn that class; the usual cause is labels that start at 1: renumber them" in result.err


def test_missing_zero_with_zero_in_test_blames_split(capsys, tmp_path: Path):
    data = load_dataset("digits")
    not_zero = data.y_train != 0
    path = tmp_path / "no-zeros.npz"
    np.savez(path, x_train=data.x_train[not_zero], y_train=data.y_train[not_zero],
             x_test=data.x_test, y_test=data.y_test)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", path)

    assert result.status == 0, result.err
    assert "the usual cause is a training split that lacks classes the test split has" in result.err
    assert "start at 1" not in result.err


def test_test_only_classes_not_called_stray(capsys, tmp_path: Path):
    # Training labels 0..4 and test labels 0..9: half the classes are missing, none stray.
    data = load_dataset("digits")
    low = data.y_train < 5
    path = tmp_path / "half.npz"
    x_train, y_train = data.x_train[low], data.y_train[low]
    np.savez(path, x_train=x_train, y_train=y_train, x_test=data.x_test, y_test=data.y_test)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", path)

    in_test = int((data.y_test >= 5).sum())
    expected = f"lacks classes the test split has ({in_test} of its {len(data.y_test)} rows carry them)"
    assert expected in result.err
    assert "stray" not in result.err


def test_stray_test_label_named(capsys, tmp_path: Path):
    data = load_dataset("digits")
    y_test = data.y_test.copy()
    y_test[3] = 12
    path = tmp_path / "stray-test.npz"
    np.savez(path, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test, y_test=y_test)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--dataset", path)

    assert "the usual cause is a stray label 12 in the test split (row 3): correct it" in result.err


def test_batch_larger_than_data_warns(capsys):
    arguments = ("--hidden", "16", "--epochs", "1", "--threads", "1", "--batch-size", "5000")
    result = run_cli(capsys, "train", "-q", *arguments)

    assert result.status == 0, result.err
    assert "--batch-size 5000 is larger than the 1437 training rows" in result.err
    assert "each epoch is a single step" in result.err


def test_label_gap_silent_in_evaluate(capsys, checkpoint: Path, tmp_path: Path):
    data = load_dataset("digits")
    not_eight = data.y_train != 8
    path = save_npz_dataset(tmp_path / "no-eights.npz", data.x_train[not_eight], data.y_train[not_eight])

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--dataset", path)

    assert result.status == 0, result.err
    assert "no training sample" not in result.err

# ----- divergence -------------------------------------------------------------------------


def test_divergence_leaves_existing_save_untouched(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)
    before = path.read_bytes()

    result = run_cli(
        capsys, "train", "-q", *TINY_TRAINING, "--lr", "1e10", "--save", path, "--checkpoint-every", "1"
    )

    assert_one_line_error(
        result, "train", "training diverged", "at epoch 1", "smaller --lr", "--lr 0.05, the default"
    )
    assert f"{path} was not changed" in result.err
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []


def test_divergence_keeps_last_good_checkpoint(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    history = tmp_path / "history.csv"
    train_checkpoint(capsys, path, "--checkpoint-every", "1")
    good = path.read_bytes()

    result = run_cli(
        capsys,
        "train",
        "-q",
        "--resume",
        path,
        "--epochs",
        "4",
        "--lr",
        "1e10",
        "--checkpoint-every",
        "1",
        "--history",
        history,
    )

    assert_one_line_error(
        result, "train", "at epoch 3", "smaller --lr", f"{path} holds the last good checkpoint (epoch 2)"
    )
    assert path.read_bytes() == good
    assert history.read_text().count("\n") == 3  # header and the two good epochs
    assert temp_files(tmp_path) == []



@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_dead_relus_warn_smaller_lr(capsys, engine: str):
    # lr 5 does not overflow on digits, but it drives every hidden ReLU dead, so the
    # network can only learn its output biases and ends at chance accuracy.
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--engine", engine, "--lr", "5")

    assert result.status == 0
    assert "test accuracy 10.00%" in result.out
    warning = result.err.strip()
    assert warning.startswith("warning: the last epoch's mean training loss was ")
    assert "no lower than the 2.302 of always predicting the class frequencies" in warning
    assert "did not learn at --lr 5; try a smaller --lr (for example --lr 0.05, the default)" in warning


@pytest.mark.parametrize("flags", [(), ("--checkpoint-every", "1")], ids=["at-end", "every-epoch"])
def test_model_that_learned_nothing_keeps_earlier_file(capsys, tmp_path: Path, flags: tuple[str, ...]):
    path = tmp_path / "good.npz"
    history = tmp_path / "history.csv"
    train_checkpoint(capsys, path)
    before = path.read_bytes()

    flags += ("--history", str(history))
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--lr", "5", "--save", path, *flags)

    assert result.status == 1
    assert "test accuracy 10.00%" in result.out
    assert "did not learn at --lr 5; try a smaller --lr" in result.err
    assert f"{path} was not changed: it holds an earlier model" in result.err
    assert "--save it under a new name" in result.err
    assert path.read_bytes() == before
    assert temp_files(tmp_path) == []
    # The history of the run is written all the same: it shows how the loss behaved.
    assert history.read_text().count("\n") == 3


def test_model_that_learned_nothing_keeps_earlier_history(capsys, tmp_path: Path):
    path = tmp_path / "good.npz"
    history = tmp_path / "history.csv"
    train_checkpoint(capsys, path)
    history.write_text(EARLIER_HISTORY)

    flags = ("--lr", "5", "--save", path, "--history", history)
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, *flags)

    assert result.status == 1
    assert history.read_text() == EARLIER_HISTORY
    expected = f"which a model that learned nothing does not replace; {history} keeps the earlier history too"
    assert expected in result.err


def test_model_that_learned_nothing_saved_to_new_file(capsys, tmp_path: Path):
    path = tmp_path / "new.npz"

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--lr", "5", "--save", path)

    assert result.status == 0
    assert "did not learn at --lr 5" in result.err
    assert path.is_file()


def test_resumed_run_that_unlearns_keeps_its_checkpoint(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "4", "--stop-after", "2")
    before = path.read_bytes()

    result = run_cli(capsys, "train", "-q", "--resume", path, "--lr", "5", "--momentum", "0")

    assert result.status == 1
    assert f"{path} was not changed: it holds the checkpoint this run resumed (epoch 2)" in result.err
    assert path.read_bytes() == before


def test_checkpoint_that_learned_nothing_may_be_replaced(capsys, tmp_path: Path):
    # Its own history shows that it learned nothing, so there is nothing to protect.
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1", "--lr", "5", "--momentum", "0")

    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 0, result.err
    assert read_checkpoint(path).epoch == 3


def test_other_data_model_kept(capsys, tmp_path: Path):
    # A digits model that learned a little (loss about 2.02, against 2.30 for chance on
    # ten classes) is kept from a run on two-class data that learns nothing. Judged by that
    # data's chance loss, 0.69, the digits model would look as if it had not learned.
    path = tmp_path / "digits.npz"
    train_checkpoint(capsys, path, "--lr", "0.1", "--momentum", "0")
    assert 0.7 < read_checkpoint(path).history[-1]["train_loss"] < 2.2
    before = path.read_bytes()
    other = tmp_path / "other.npz"
    rng = np.random.default_rng(0)
    x_train, x_test = rng.random((40, 64)), rng.random((10, 64))
    np.savez(other, x_train=x_train, y_train=np.arange(40) % 2, x_test=x_test, y_test=np.arange(10) % 2)

    flags = ("--dataset", other, "--epochs", "1", "--lr", "1e-7", "--save", path)
    result = run_cli(capsys, "train", "-q", *flags)

    assert result.status == 1
    assert f"{path} was not changed: it holds an earlier model" in result.err
    assert path.read_bytes() == before


def test_checkpoint_that_learned_outlives_later_epochs(capsys, tmp_path: Path, monkeypatch):
    # Epoch 1 learned and was saved; epochs 2 to 4 learned nothing, so none replaced it.
    import mlpbench.cli.train

    path = tmp_path / "run.npz"
    verdicts = iter([None] + ["the network did not learn"] * 4)
    monkeypatch.setattr(mlpbench.cli.train._Trainer, "learning_problem", lambda self: next(verdicts))

    flags = ("--epochs", "4", "--save", path, "--checkpoint-every", "1")
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, *flags)

    assert result.status == 1
    assert f"{path} keeps epoch 1, the last checkpoint whose model had learned" in result.err
    assert read_checkpoint(path).epoch == 1


def test_empty_save_file_is_not_an_earlier_model(capsys, tmp_path: Path):
    path = tmp_path / "empty.npz"
    path.touch()

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--lr", "5", "--save", path)

    assert result.status == 0
    assert "did not learn" in result.err
    assert read_checkpoint(path).epoch == 2


def test_interrupt_names_checkpoints_skipped_for_learning_nothing(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "good.npz"
    train_checkpoint(capsys, path)
    interrupt_in_third_epoch(monkeypatch)

    flags = ("--epochs", "4", "--lr", "5", "--save", path, "--checkpoint-every", "1")
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, *flags)

    assert result.status == 130
    skipped = "(a checkpoint was skipped, because the model had learned nothing)"
    assert f"{path} was not changed {skipped}" in result.err
    assert "--checkpoint-every 1 keeps every finished epoch" not in result.err
    assert "was being saved" not in result.err


def test_slow_first_epoch_replaces_earlier_file_once_learned(capsys, tmp_path: Path, monkeypatch):
    # A checkpoint is only deferred while the model has learned nothing: once it has,
    # the earlier file is replaced as usual.
    import mlpbench.cli.train

    path = tmp_path / "good.npz"
    train_checkpoint(capsys, path)
    before = path.read_bytes()
    verdicts = iter(["the network did not learn yet", None, None, None])
    monkeypatch.setattr(mlpbench.cli.train._Trainer, "learning_problem", lambda self: next(verdicts))

    flags = ("--save", path, "--checkpoint-every", "1", "--seed", "1")
    result = run_cli(capsys, "train", *TINY_TRAINING, *flags)

    assert result.status == 0, result.err
    assert path.read_bytes() != before
    assert "(it replaced an earlier file of that name)" in result.out


def test_sklearn_huge_lr_warns(capsys):
    # scikit-learn clips its probabilities, so its loss never overflows into a divergence error.
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--engine", "sklearn", "--lr", "50")

    assert result.status == 0
    assert "did not learn at --lr 50; try a smaller --lr" in result.err


def test_tiny_lr_warns_larger_lr(capsys):
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--lr", "1e-7")

    assert result.status == 0
    assert "did not learn at --lr 1e-07; try a larger --lr or more --epochs" in result.err


def test_normal_run_no_warning(capsys):
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING)

    assert result.status == 0
    assert result.err == ""


def interrupt_in_third_epoch(monkeypatch: pytest.MonkeyPatch, engine: type = NumpyMLP) -> None:
    """Make ``engine`` raise KeyboardInterrupt, as Ctrl-C does, when its third epoch starts."""
    original = engine._run_epoch

    def stop_in_third_epoch(self, X, y):
        if self.epoch_ == 2:
            raise KeyboardInterrupt
        return original(self, X, y)

    monkeypatch.setattr(engine, "_run_epoch", stop_in_third_epoch)


def test_interrupt_without_checkpoints_names_the_flag(capsys, tmp_path: Path, monkeypatch):
    interrupt_in_third_epoch(monkeypatch)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--epochs", "4", "--save", tmp_path / "run.npz")

    assert result.status == 130
    assert "run.npz was not written, so the 2 epoch(s) finished in this run are lost" in result.err
    assert "--checkpoint-every 1" in result.err


def test_interrupt_in_resumed_run_counts_its_own_epochs(capsys, tmp_path: Path, monkeypatch):
    first = tmp_path / "first.npz"
    train_checkpoint(capsys, first, "--epochs", "4", "--stop-after", "1")
    interrupt_in_third_epoch(monkeypatch)

    result = run_cli(capsys, "train", "-q", "--resume", first, "--save", tmp_path / "second.npz")

    assert result.status == 130
    assert "so the 1 epoch(s) finished in this run are lost" in result.err


def test_interrupted_resume_counts_lost_epochs(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "4", "--stop-after", "1")
    before = path.read_bytes()
    interrupt_in_third_epoch(monkeypatch)

    # No --save: the resumed run writes back to its checkpoint, but only at the end.
    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 130
    assert (
        f"{path} holds the last good checkpoint (epoch 1), so the 1 epoch(s) finished after it are lost"
    ) in result.err
    assert f"continue with: mlpbench train --resume {path}\n" in result.err
    assert path.read_bytes() == before


def test_interrupt_names_checkpoint_and_resume(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"
    interrupt_in_third_epoch(monkeypatch)

    result = run_cli(
        capsys, "train", "-q", *TINY_TRAINING, "--epochs", "4", "--save", path, "--checkpoint-every", "1"
    )

    assert result.status == 130
    assert f"interrupted during epoch 3: {path} holds the last good checkpoint (epoch 2)" in result.err
    assert f"continue with: mlpbench train --resume {path} --checkpoint-every 1\n" in result.err
    assert temp_files(tmp_path) == []


def test_interrupt_while_saving_gives_no_advice_already_taken(capsys, tmp_path: Path, monkeypatch):
    # Ctrl-C lands in the second checkpoint's write: with --checkpoint-every 1 given,
    # advising that flag would be wrong.
    import mlpbench.cli.train

    path = tmp_path / "run.npz"
    save = mlpbench.cli.train.save_checkpoint
    calls = []

    def interrupted_second_save(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return save(*args, **kwargs)

    monkeypatch.setattr(mlpbench.cli.train, "save_checkpoint", interrupted_second_save)

    result = run_cli(
        capsys, "train", "-q", *TINY_TRAINING, "--epochs", "4", "--save", path, "--checkpoint-every", "1"
    )

    assert result.status == 130
    assert (
        f"{path} holds the last good checkpoint (epoch 1), so the 1 epoch(s) finished after it are lost "
        "(the interrupt came while epoch 2 was being saved)"
    ) in result.err
    assert "keeps every finished epoch" not in result.err


def test_interrupt_names_unwritten_history(capsys, tmp_path: Path, monkeypatch):
    interrupt_in_third_epoch(monkeypatch)
    _fill_disk(monkeypatch)
    history = tmp_path / "history.csv"

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--epochs", "4", "--history", history)

    assert result.status == 130
    assert "interrupted during epoch 3" in result.err
    assert f"cannot write history {history}: No space left on device" in result.err
    assert not history.exists()


def train_until_third_epoch(capsys, monkeypatch, *flags) -> Result:
    """Run a 4-epoch training with ``flags`` that Ctrl-C stops in its third epoch."""
    interrupt_in_third_epoch(monkeypatch)
    return run_cli(capsys, "train", "-q", *TINY_TRAINING, "--epochs", "4", *flags)


def test_interrupt_keeps_history(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"
    history = tmp_path / "my history.csv"

    result = train_until_third_epoch(
        capsys, monkeypatch, "--save", path, "--checkpoint-every", "1", "--history", history
    )

    assert result.status == 130
    assert history.read_text().count("\n") == 3  # header and the two finished epochs
    assert f"{history} lists the 2 epoch(s) trained so far" in result.err
    expected = f"continue with: mlpbench train --resume {path} --checkpoint-every 1 --history '{history}'\n"
    assert expected in result.err


def test_interrupt_without_saved_model_keeps_earlier_history(capsys, tmp_path: Path, monkeypatch):
    # The run saves no model, so the earlier history still describes the earlier model.
    history = tmp_path / "history.csv"
    history.write_text(EARLIER_HISTORY)

    flags = ("--save", tmp_path / "run.npz", "--history", history)
    result = train_until_third_epoch(capsys, monkeypatch, *flags)

    assert result.status == 130
    assert history.read_text() == EARLIER_HISTORY
    assert f"{history} was left as it was, because this run saved no model to match it" in result.err


def test_interrupt_after_checkpoint_replaces_earlier_history(capsys, tmp_path: Path, monkeypatch):
    history = tmp_path / "history.csv"
    history.write_text(EARLIER_HISTORY)

    flags = ("--save", tmp_path / "run.npz", "--checkpoint-every", "1", "--history", history)
    result = train_until_third_epoch(capsys, monkeypatch, *flags)

    assert result.status == 130
    assert history.read_text().count("\n") == 3
    assert f"{history} lists the 2 epoch(s) trained so far" in result.err


def test_interrupt_names_replaced_earlier_file(capsys, tmp_path: Path, monkeypatch):
    # The first checkpoint replaces a model that was there before; Ctrl-C cannot bring it back.
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)

    result = train_until_third_epoch(capsys, monkeypatch, "--save", path, "--checkpoint-every", "1")

    assert result.status == 130
    # Epoch 1 had learned too little to replace a model that learned, so epoch 2 replaced it.
    assert f"the checkpoint of epoch 2 replaced the earlier file {path}" in result.err
    assert result.err.count("replaced the earlier file") == 2
    expected = "holds the last good checkpoint (epoch 2) (the first checkpoint replaced the earlier file)"
    assert expected in result.err


def test_checkpoints_into_new_file_name_no_replacement(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"

    result = train_until_third_epoch(capsys, monkeypatch, "--save", path, "--checkpoint-every", "1")

    assert result.status == 130
    assert "replaced" not in result.err


def test_interrupt_blames_no_history(capsys, tmp_path: Path, monkeypatch):
    history = tmp_path / "history.csv"

    result = train_until_third_epoch(
        capsys, monkeypatch, "--save", tmp_path / "run.npz", "--history", history
    )

    assert result.status == 130
    assert "run.npz was not written, so the 2 epoch(s) finished in this run are lost" in result.err
    expected = f"every finished epoch of an interrupted run; {history} lists the 2 epoch(s) trained so far"
    assert expected in result.err


def test_interrupt_in_first_epoch_keeps_history(capsys, tmp_path: Path, monkeypatch):
    history = tmp_path / "history.csv"
    history.write_text(EARLIER_HISTORY)

    def stop_at_once(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(NumpyMLP, "_run_epoch", stop_at_once)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--history", history)

    assert result.status == 130
    assert history.read_text() == EARLIER_HISTORY
    assert "lists the" not in result.err


def test_interrupt_without_save_names_both_flags(capsys, tmp_path: Path, monkeypatch):
    result = train_until_third_epoch(capsys, monkeypatch)

    assert result.status == 130
    assert "nothing was saved, so the 2 epoch(s) finished in this run are lost; --save PATH" in result.err


def test_interrupted_resume_names_changed_flags(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "2", "--stop-after", "1")
    interrupt_in_third_epoch(monkeypatch)

    flags = ["--epochs", "5", "--lr", "0.02", "--threads", "1"]
    result = run_cli(capsys, "train", "-q", "--resume", path, *flags)

    assert result.status == 130
    assert f"continue with: mlpbench train --resume {path} --epochs 5 --lr 0.02\n" in result.err


def test_interrupted_resume_to_new_file_resumes_input(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "2", "--stop-after", "1")
    interrupt_in_third_epoch(monkeypatch)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--epochs", "5", "--save", tmp_path / "new.npz")

    assert result.status == 130
    expected = f"continue with: mlpbench train --resume {path} --epochs 5 --save {tmp_path / 'new.npz'}\n"
    assert expected in result.err


def test_resumed_interrupt_before_new_epoch_keeps_history(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"
    history = tmp_path / "history.csv"
    train_checkpoint(capsys, path, "--epochs", "4", "--stop-after", "2")
    history.write_text(EARLIER_HISTORY)
    interrupt_in_third_epoch(monkeypatch)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--history", history)

    assert result.status == 130
    assert history.read_text() == EARLIER_HISTORY


def test_sklearn_interrupt_offers_no_checkpoints(capsys, monkeypatch):
    from mlpbench.engines.sklearn_engine import SklearnMLP

    interrupt_in_third_epoch(monkeypatch, SklearnMLP)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--engine", "sklearn", "--epochs", "4")

    assert result.status == 130
    assert "so the 2 epoch(s) finished in this run are lost" in result.err
    assert "--checkpoint-every" not in result.err


def test_divergence_in_first_epoch_keeps_history(capsys, tmp_path: Path):
    history = tmp_path / "history.csv"
    history.write_text(EARLIER_HISTORY)

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--lr", "1e10", "--history", history)

    assert result.status == 1
    assert history.read_text() == EARLIER_HISTORY


def test_later_divergence_keeps_earlier_history(capsys, tmp_path: Path, monkeypatch):
    history = tmp_path / "history.csv"
    history.write_text(EARLIER_HISTORY)
    original = NumpyMLP._run_epoch

    def diverge_in_third_epoch(self, X, y):
        if self.epoch_ == 2:
            self.set_params(lr=1e10)
        return original(self, X, y)

    monkeypatch.setattr(NumpyMLP, "_run_epoch", diverge_in_third_epoch)
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--epochs", "4", "--history", history)

    assert result.status == 1
    assert "training diverged" in result.err
    assert history.read_text() == EARLIER_HISTORY
    assert f"{history} was left as it was" in result.err


def test_resume_command_names_data_dir(capsys, tmp_path: Path, monkeypatch):
    path = tmp_path / "run.npz"

    result = train_until_third_epoch(
        capsys, monkeypatch, "--save", path, "--checkpoint-every", "1", "--data-dir", tmp_path
    )

    assert result.status == 130
    expected = f"continue with: mlpbench train --resume {path} --checkpoint-every 1 --data-dir {tmp_path}\n"
    assert expected in result.err


# ----- output paths -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["train", *TINY_TRAINING, "--save", "{missing}/run.npz"],
        ["train", *TINY_TRAINING, "--history", "{missing}/history.csv"],
        ["evaluate", "{checkpoint}", "--plot", "{missing}/confusion.png"],
        ["predict", "{checkpoint}", "{checkpoint}", "--out", "{missing}/predictions.csv"],
    ],
    ids=["save", "history", "plot", "out"],
)
def test_output_folder_missing(capsys, tmp_path: Path, checkpoint: Path, command: list[str]):
    missing = tmp_path / "no-such-folder"
    args = [part.format(missing=missing, checkpoint=checkpoint) for part in command]

    result = run_cli(capsys, args[0], "-q", *args[1:])

    # A path that cannot be written is an invalid argument, found before any work.
    assert_one_line_error(result, args[0], f"folder {missing} does not exist", status=2)
    assert result.out == ""  # rejected before any work
    assert not missing.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["train", *TINY_TRAINING, "--save", "{file}/copy.npz"],
        ["train", *TINY_TRAINING, "--history", "{file}/logs/history.csv"],
        ["predict", "{checkpoint}", "{checkpoint}", "--out", "{file}/predictions.csv"],
    ],
    ids=["save", "history-deeper", "out"],
)
def test_output_folder_is_a_file(capsys, tmp_path: Path, checkpoint: Path, command: list[str]):
    file = tmp_path / "good.npz"
    shutil.copyfile(checkpoint, file)
    before = file.read_bytes()
    args = [part.format(file=file, checkpoint=checkpoint) for part in command]

    result = run_cli(capsys, args[0], "-q", *args[1:])

    assert_one_line_error(result, args[0], f"{file} is a file, not a folder; choose another path", status=2)
    assert file.read_bytes() == before


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (["train", *TINY_TRAINING, "--save", "{folder}"], "it is a folder; give a .npz or .pt file name"),
        (["evaluate", "{checkpoint}", "--plot", "{folder}"], "it is a folder; give an image file name"),
    ],
    ids=["save", "plot"],
)
def test_output_path_is_a_folder(capsys, tmp_path: Path, checkpoint: Path, command: list[str], expected: str):
    folder = tmp_path / "out"
    folder.mkdir()
    args = [part.format(folder=folder, checkpoint=checkpoint) for part in command]

    result = run_cli(capsys, args[0], "-q", *args[1:])

    assert result.status == 2
    assert expected in result.err
    assert list(folder.iterdir()) == []


def _deny_writes(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` unwritable: by permission bits, or, for root (which ignores them), by
    failing the creation of the temporary file as the kernel would."""
    folder.chmod(0o500)
    if not os.access(folder, os.W_OK):
        return
    import mlpbench.atomic

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(folder))

    monkeypatch.setattr(mlpbench.atomic.tempfile, "mkstemp", denied)


def test_permission_denied_keeps_old_file(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint: Path
):
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "run.npz"
    shutil.copyfile(checkpoint, path)
    before = path.read_bytes()
    _deny_writes(monkeypatch, folder)
    # Without root the permission bits reject the path before training (status 2); root
    # ignores them, so its write fails after training (status 1).
    status = 1 if os.access(folder, os.W_OK) else 2
    try:
        result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--save", path)
    finally:
        folder.chmod(0o700)

    assert_one_line_error(result, "train", status=status)
    assert "Permission denied" in result.err or "is not writable" in result.err
    assert path.read_bytes() == before
    assert temp_files(folder) == []


def _read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Make ``folder`` reject new entries as a read-only mount does.

    Root ignores permission bits, so for root mkdir and os.access are patched to fail
    as the kernel would."""
    folder.chmod(0o500)
    if not os.access(folder, os.W_OK):
        return
    import mlpbench.cli.outputs

    mkdir = Path.mkdir

    def failing_mkdir(self: Path, *args, **kwargs) -> None:
        if folder in self.absolute().parents:
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", failing_mkdir)
    access = os.access
    monkeypatch.setattr(
        mlpbench.cli.outputs.os, "access", lambda path, mode: Path(path) != folder and access(path, mode)
    )


@pytest.mark.parametrize("command", ["compare", "sweep"])
@pytest.mark.parametrize("where", ["new --out", "empty --out", "default folder"])
def test_unwritable_results_folder_stops_before_work(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, where: str
):
    locked = tmp_path / "locked"
    locked.mkdir()
    arguments = [command, "-q", "--epochs", "1"] if command == "compare" else [command, "-q", "--quick"]
    if where == "new --out":
        arguments += ["--out", str(locked / "results")]
        expected = f"cannot create --out {locked / 'results'}"
    elif where == "empty --out":
        arguments += ["--out", str(locked)]
        expected = f"cannot write to --out {locked}: it is not writable"
    else:
        monkeypatch.chdir(locked)
        expected = f"cannot create the results folder {locked / 'runs'}"
    _read_only(monkeypatch, locked)
    try:
        result = run_cli(capsys, *arguments)
    finally:
        locked.chmod(0o700)

    assert_one_line_error(result, command, expected, "writable folder", status=2)
    assert result.out == ""  # stopped before any engine ran
    assert list(locked.iterdir()) == []


def test_file_named_runs_is_kept(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").write_text("notes", encoding="utf-8")

    result = run_cli(capsys, "compare", "-q", "--epochs", "1")

    assert result.status == 2
    assert f"{tmp_path / 'runs'} exists and is not a folder" in result.err
    assert "give --out" in result.err
    assert (tmp_path / "runs").read_text(encoding="utf-8") == "notes"


def _fill_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the flush of every atomic write with ENOSPC, after data has gone to the temporary file."""
    import mlpbench.atomic

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mlpbench.atomic.os, "fsync", no_space)


@pytest.mark.parametrize(
    "command, target",
    [
        (["train", *TINY_TRAINING, "--save", "{target}"], "run.npz"),
        (["train", *TINY_TRAINING, "--save", "{target}", "--checkpoint-every", "1"], "run.pt"),
        (["train", *TINY_TRAINING, "--history", "{target}"], "history.csv"),
        (["evaluate", "{checkpoint}", "--plot", "{target}"], "confusion.png"),
        (["predict", "{checkpoint}", "{checkpoint}", "--out", "{target}"], "predictions.csv"),
    ],
    ids=["save", "checkpoint-every", "history", "plot", "out"],
)
def test_disk_full_keeps_old_file(
    capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoint: Path, command: list[str], target: str
):
    folder = tmp_path / "out"
    folder.mkdir()
    path = folder / target
    # An earlier file of the kind the flag writes, which it may replace.
    previous = {
        ".npz": checkpoint.read_bytes(),
        ".csv": b"epoch,lr\n1,0.05\n" if "history" in target else b"input,predicted_class\n",
    }.get(path.suffix)
    if path.suffix == ".pt":
        NumpyMLP.load(checkpoint).save(path)
    elif path.suffix == ".png":
        import matplotlib.pyplot as plt

        plt.figure().savefig(path)
        plt.close("all")
    else:
        path.write_bytes(previous)
    previous = path.read_bytes()
    args = [part.format(target=path, checkpoint=checkpoint) for part in command]
    if args[0] == "predict":
        # An input the model accepts: one row of 64 features.
        args[2] = str(tmp_path / "row.npy")
        np.save(args[2], np.zeros((1, 64)))
    _fill_disk(monkeypatch)

    result = run_cli(capsys, args[0], "-q", *args[1:])

    assert_one_line_error(result, args[0], "No space left on device", str(path))
    assert path.read_bytes() == previous
    assert temp_files(folder) == []


def test_verbose_shows_traceback(capsys, tmp_path: Path):
    result = run_cli(capsys, "evaluate", "-v", tmp_path / "absent.npz")

    assert result.status == 2
    assert "Traceback" in result.err
    assert "checkpoint" in result.err.strip().splitlines()[-1]


def test_divergence_hint_divides_a_modest_lr_by_ten():
    assert smaller_lr_hint(0.3, NumpyMLP().lr) == "for example --lr 0.03"
    assert smaller_lr_hint(50.0, NumpyMLP().lr) == "for example --lr 0.05, the default"


def test_sigterm_in_sklearn_training_exits_143(tmp_path: Path):
    # scikit-learn catches the interrupt that SIGTERM raises and the engine raises a plain
    # KeyboardInterrupt in its place, which must still end as a SIGTERM does.
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "mlpbench", "train", "--engine", "sklearn", "--epochs", "5000"]
    process = subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stderr:
            if line.startswith("data:"):
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()

    assert process.returncode == 128 + signal.SIGTERM, err
    assert err.strip().splitlines()[-1] == "mlpbench train: terminated"


@pytest.mark.parametrize(
    ("arguments", "fix"),
    [
        (["train", "--dataset", "{missing}/rows_train.csv"], "no such file or folder; check the path"),
        (["train", "--dataset", "{tmp}/lonely_train.csv"], "put the test rows there"),
        (["evaluate", "{missing}/model.npz"], "not found; check the path"),
    ],
    ids=["dataset path", "csv without test file", "checkpoint"],
)
def test_missing_input_paths_exit_2(capsys, tmp_path: Path, arguments: list[str], fix: str):
    # Named paths that are not there are invalid arguments, found before any work.
    (tmp_path / "lonely_train.csv").write_text("0,1,2\n")
    args = [part.format(missing=tmp_path / "absent", tmp=tmp_path) for part in arguments]

    result = run_cli(capsys, args[0], "-q", *args[1:])

    assert_one_line_error(result, args[0], fix, status=2)


def test_missing_files_are_file_not_found_errors(tmp_path: Path):
    # In Python too, as open() raises for a missing file.
    with pytest.raises(FileNotFoundError, match="not found; check the path"):
        NumpyMLP.load(tmp_path / "absent.npz")
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_dataset(str(tmp_path / "absent_train.csv"))
