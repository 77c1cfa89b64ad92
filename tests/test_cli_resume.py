"""``train --resume``, ``--stop-after``, ``--checkpoint-every`` and ``--history`` through the CLI."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from cli_support import TINY_TRAINING, assert_one_line_error, load_params, run_cli, train_checkpoint

from mlpbench.checkpoint import read_checkpoint
from mlpbench.data import load_dataset

# float64 with a cosine schedule, momentum and weight decay: every piece of resume
# state (momentum buffers, schedule position, batch order) affects the result.
EXACT = ("--dtype", "float64", "--schedule", "cosine", "--momentum", "0.9", "--weight-decay", "1e-4")
RESUME_ATOL = 1e-12


@pytest.mark.parametrize(
    "engine, suffix", [("numpy", ".npz"), ("torch", ".pt"), ("torch-dataloader", ".pt")]
)
def test_resume_equals_uninterrupted_run(capsys, tmp_path: Path, engine: str, suffix: str):
    full = tmp_path / f"full{suffix}"
    half = tmp_path / f"half{suffix}"
    resumed = tmp_path / f"resumed{suffix}"
    common = ("--engine", engine, *TINY_TRAINING, "--epochs", "4", *EXACT)

    assert run_cli(capsys, "train", "-q", *common, "--save", full).status == 0
    assert run_cli(capsys, "train", "-q", *common, "--stop-after", "2", "--save", half).status == 0
    # Only --resume: engine, settings and data set come from the checkpoint.
    result = run_cli(capsys, "train", "-q", "--resume", half, "--save", resumed, "--threads", "1")
    assert result.status == 0, result.err
    assert result.err == ""
    assert result.out.startswith(f"{engine}: test loss ")

    assert read_checkpoint(half).epoch == 2
    assert read_checkpoint(resumed).epoch == 4
    for expected, actual in zip(load_params(full), load_params(resumed), strict=True):
        np.testing.assert_allclose(actual, expected, rtol=0, atol=RESUME_ATOL)
    full_momentum = read_checkpoint(full).momentum
    resumed_momentum = read_checkpoint(resumed).momentum
    assert full_momentum is not None and resumed_momentum is not None
    for (W_full, b_full), (W_resumed, b_resumed) in zip(full_momentum, resumed_momentum, strict=True):
        np.testing.assert_allclose(W_resumed, W_full, rtol=0, atol=RESUME_ATOL)
        np.testing.assert_allclose(b_resumed, b_full, rtol=0, atol=RESUME_ATOL)
    full_losses = [record["train_loss"] for record in read_checkpoint(full).history]
    resumed_losses = [record["train_loss"] for record in read_checkpoint(resumed).history]
    np.testing.assert_allclose(resumed_losses, full_losses, rtol=0, atol=RESUME_ATOL)


def test_stop_after_past_schedule_end(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "--resume", path, "--stop-after", "5")

    assert result.status == 0, result.err
    assert read_checkpoint(path).epoch == 3
    assert "--stop-after 5 is more than the 2 epoch(s) left" in result.err
    assert "ran to the end of the 3-epoch schedule" in result.err
    assert "continue with" not in result.err


def test_resume_in_other_engine_warns_fresh_order(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "-q", "--resume", path, "--engine", "torch-dataloader")

    assert result.status == 0, result.err
    assert "no mini-batch order that the torch-dataloader engine can continue" in result.err
    assert "draws a fresh order from the seed" in result.err


def test_print_config_shows_resumed_settings(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "6", "--lr", "0.1", "--batch-size", "32", "--stop-after", "2")

    result = run_cli(capsys, "train", "--resume", path, "--print-config")

    assert result.status == 0, result.err
    lines = result.out.splitlines()
    assert "epochs = 6" in lines
    assert "batch-size = 32" in lines
    assert "lr = 0.1" in lines
    assert "hidden = [16]" in lines


def test_print_config_missing_checkpoint_fails(capsys, tmp_path: Path):
    result = run_cli(capsys, "train", "--resume", tmp_path / "absent.npz", "--print-config")

    assert result.status == 2
    assert result.err.strip() == (
        f"mlpbench train: error: checkpoint {tmp_path / 'absent.npz'} not found; check the path, "
        "or write one with model.save(path) or mlpbench train --save"
    )
    assert result.out == ""


def test_resume_in_sklearn_rejected(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "--resume", path, "--engine", "sklearn")

    assert result.status == 2
    assert "data:" not in result.err, "rejected before the data is loaded"
    assert "the sklearn engine cannot load" in result.err
    assert "because it builds its state only by training; use --engine numpy or torch" in result.err
    assert "call fit()" not in result.err


def replace_npz_arrays(path: Path, **replacements: np.ndarray) -> None:
    """Rewrite the checkpoint at ``path`` with some of its arrays replaced, as a damaged or older file."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = dict(archive)
    arrays.update(replacements)
    np.savez(path, **arrays)


def test_resume_damaged_batch_order_rejected(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    replace_npz_arrays(path, batch_rng_state=np.array('{"rng": "not a generator state"'))

    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 1
    assert "the saved mini-batch order is unreadable" in result.err
    assert "resume from an earlier copy or train afresh" in result.err
    # evaluate does not use the order, so the damage does not stop it.
    assert run_cli(capsys, "evaluate", "-q", path).status == 0


def test_resume_without_save_updates_checkpoint(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 0, result.err
    assert f"saved parameters to {path}" in result.out
    assert read_checkpoint(path).epoch == 3


def test_resume_epochs_extends_run(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--epochs", "3")

    assert result.status == 0, result.err
    # The summary separates the resumed run's own epoch from the checkpoint's two.
    summary = r"\(3 epochs, [\d.]+ s training in all; this run trained 1 of them in [\d.]+ s\)"
    assert re.search(summary, result.out)
    checkpoint = read_checkpoint(path)
    assert checkpoint.epoch == 3
    assert checkpoint.config["epochs"] == 3
    assert [record["epoch"] for record in checkpoint.history] == [1, 2, 3]


def test_resumed_divergence_gives_the_command(capsys, tmp_path: Path):
    # The checkpoint survives a divergence, and the error message gives the command to continue.
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)

    diverged = run_cli(capsys, "train", "-q", "--resume", path, "--epochs", "4", "--lr", "1000")

    assert diverged.status == 1
    command = f"mlpbench train --resume {path} --epochs 4 --lr 0.05"
    assert diverged.err.rstrip().endswith(f"; to continue from {path} at a smaller rate: {command}")
    resumed = run_cli(capsys, *command.split()[1:])
    assert resumed.status == 0, resumed.err
    assert read_checkpoint(path).epoch == 4


def test_divergence_to_new_file_names_the_input(capsys, tmp_path: Path):
    # The new --save file was never written, so the command resumes from the file read.
    path, new = tmp_path / "run.npz", tmp_path / "new.npz"
    train_checkpoint(capsys, path)

    arguments = ["--resume", path, "--save", new, "--epochs", "4", "--lr", "1000"]
    diverged = run_cli(capsys, "train", "-q", *arguments)

    assert diverged.status == 1
    assert f"{new} was not written; to continue from {path} at a smaller rate: " in diverged.err
    assert f"mlpbench train --resume {path} --epochs 4 --save {new} --lr 0.05" in diverged.err


def test_resume_finished_run_rejected(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)

    result = run_cli(capsys, "train", "--resume", path)

    assert result.status == 2
    assert "already trained 2 epoch(s), and the schedule has 2" in result.err
    assert "--epochs N with N > 2" in result.err


def test_resume_shorter_schedule_rejected(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3")

    result = run_cli(capsys, "train", "--resume", path, "--epochs", "2")

    assert result.status == 2
    assert "already trained 3 epoch(s), and the schedule has 2" in result.err
    assert "3 of 2" not in result.err
    # The rejected --epochs is not announced as accepted first.
    assert "resuming with" not in result.err


@pytest.mark.parametrize(
    "flag, value, stored",
    [("--hidden", "32", "16"), ("--dtype", "float64", "float32"), ("--seed", "5", "0")],
)
def test_resume_mismatch_names_both_values(capsys, tmp_path: Path, flag: str, value: str, stored: str):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    before = path.read_bytes()

    result = run_cli(capsys, "train", "--resume", path, flag, value)

    assert result.status == 2
    assert f"{flag} {value} does not match the checkpoint" in result.err
    assert f"{flag} {stored}" in result.err
    assert path.read_bytes() == before


@pytest.mark.parametrize(("schedule", "noted"), [("cosine", True), ("constant", False)])
def test_resume_longer_cosine_schedule_noted(capsys, tmp_path: Path, schedule: str, noted: bool):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "2", "--schedule", schedule)

    result = run_cli(capsys, "train", "--resume", path, "--epochs", "5", "--threads", "1")

    assert result.status == 0, result.err
    note = "the cosine schedule now spans 5 epochs instead of 3, so the learning rate from epoch 3 on"
    assert (note in result.err) is noted


def test_resume_new_batch_size_accepted(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "--resume", path, "--batch-size", "64", "--threads", "1")

    assert result.status == 0, result.err
    assert "resuming with --batch-size 64 (the checkpoint has 128)" in result.err
    assert read_checkpoint(path).config["batch_size"] == 64


@pytest.mark.parametrize("flags", [[], ["--standardize"]], ids=["default", "explicit"])
def test_resume_file_without_standardize_setting(capsys, tmp_path: Path, flags: list[str]):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1", "--standardize")
    config = json.loads(str(np.load(path)["config"]))
    del config["standardize"]
    # What a file written before the standardize setting existed looks like.
    replace_npz_arrays(path, config=np.array(json.dumps(config)))

    result = run_cli(capsys, "train", "-q", "--resume", path, *flags)

    assert result.status == 0, result.err
    assert read_checkpoint(path).epoch == 3
    assert read_checkpoint(path).feature_mean is not None


def test_resume_same_fixed_value_accepted(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")

    result = run_cli(capsys, "train", "-q", "--resume", path, "--hidden", "16", "--dtype", "float32")

    assert result.status == 0, result.err


def test_resume_wrong_dataset_rejected(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    other = tmp_path / "other.npz"
    rng = np.random.default_rng(0)
    np.savez(
        other,
        x_train=rng.random((8, 10)),
        y_train=np.arange(8) % 2,
        x_test=rng.random((4, 10)),
        y_test=np.arange(4) % 2,
    )

    result = run_cli(capsys, "train", "-q", "--resume", path, "--dataset", other)

    assert result.status == 1
    assert "has 10 features per sample" in result.err
    assert "takes 64" in result.err


def save_digits_npz(path: Path, scale: float = 1.0) -> Path:
    data = load_dataset("digits")
    np.savez(
        path,
        x_train=data.x_train * scale,
        y_train=data.y_train,
        x_test=data.x_test * scale,
        y_test=data.y_test,
    )
    return path


def test_resume_other_values_same_shape_rejected(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    before = path.read_bytes()
    halved = save_digits_npz(tmp_path / "halved.npz", scale=0.5)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--dataset", halved)

    assert result.status == 1
    assert "differs from the one" in result.err
    assert "(digits)" in result.err
    assert "resume without --dataset" in result.err
    assert path.read_bytes() == before


def test_resume_after_data_changed_in_place_rejected(capsys, tmp_path: Path):
    data_path = save_digits_npz(tmp_path / "digits.npz")
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1", "--dataset", data_path)
    save_digits_npz(data_path, scale=0.5)

    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 1
    assert "has changed since" in result.err
    assert "restore the original files, or train a new model without --resume" in result.err


def test_resume_of_compare_subset_explained(capsys, tmp_path: Path):
    # compare --samples saves a model of the first rows; the data did not change.
    arguments = ["--engines", "numpy", "--samples", "300", "--epochs", "1", "--repeats", "1", "--warmup", "0"]
    assert run_cli(capsys, "compare", "-q", *arguments, "--threads", "1", "--out", tmp_path / "c").status == 0
    path = tmp_path / "c" / "numpy.npz"
    before = path.read_bytes()

    result = run_cli(capsys, "train", "-q", "--resume", path, "--epochs", "2")

    n_train = len(load_dataset("digits").y_train)
    expected = f"was trained on the first 300 of the {n_train:,} training rows of digits (compare --samples)"
    assert_one_line_error(result, "train", expected, "train a new model without --resume")
    assert "has changed" not in result.err
    assert path.read_bytes() == before


def test_resume_after_data_grew(capsys, tmp_path: Path):
    # A train checkpoint whose data set later gained rows is not a compare --samples subset.
    data = load_dataset("digits")
    data_path = tmp_path / "digits.npz"
    arrays = {"x_test": data.x_test, "y_test": data.y_test}
    np.savez(data_path, x_train=data.x_train[:1000], y_train=data.y_train[:1000], **arrays)
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1", "--dataset", data_path)
    np.savez(data_path, x_train=data.x_train, y_train=data.y_train, **arrays)

    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 1
    assert "has changed since" in result.err
    assert "compare --samples" not in result.err


def test_resume_without_recorded_digest_accepted(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    with np.load(path, allow_pickle=False) as archive:
        dataset = json.loads(str(archive["dataset"]))
    del dataset["train_sha256"]
    replace_npz_arrays(path, dataset=np.array(json.dumps(dataset)))

    result = run_cli(capsys, "train", "-q", "--resume", path)

    assert result.status == 0, result.err
    assert read_checkpoint(path).epoch == 3


def test_resume_same_data_moved_accepted(capsys, tmp_path: Path):
    first = save_digits_npz(tmp_path / "first.npz")
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1", "--dataset", first)
    moved = tmp_path / "moved.npz"
    first.rename(moved)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--dataset", moved)

    assert result.status == 0, result.err
    assert read_checkpoint(path).epoch == 3


def test_resume_model_with_more_classes(capsys, tmp_path: Path):
    # A network with outputs for classes the data lacks (fit(..., n_classes=12)) resumes.
    from mlpbench import NumpyMLP

    data = load_dataset("digits")
    path = tmp_path / "wide.npz"
    NumpyMLP(hidden=[16], epochs=2, threads=1).fit(data.x_train, data.y_train, n_classes=12).save(path)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--dataset", "digits", "--epochs", "3")

    assert result.status == 0, result.err
    assert read_checkpoint(path).epoch == 3
    assert read_checkpoint(path).layer_sizes[-1] == 12


def test_stop_after_needs_save(capsys):
    result = run_cli(capsys, "train", *TINY_TRAINING, "--stop-after", "1")

    assert result.status == 2
    assert "--stop-after needs --save" in result.err


def test_checkpoint_every_needs_save(capsys):
    result = run_cli(capsys, "train", *TINY_TRAINING, "--checkpoint-every", "1")

    assert result.status == 2
    assert "--checkpoint-every needs --save" in result.err


def test_checkpoint_every_saves_each_epoch(capsys, tmp_path: Path, monkeypatch):
    import mlpbench.cli.train as train_module

    saved_epochs = []
    real_save = train_module.save_checkpoint

    def recording_save(model, path, **kwargs):
        saved_epochs.append(model.epoch_)
        return real_save(model, path, **kwargs)

    monkeypatch.setattr(train_module, "save_checkpoint", recording_save)
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--checkpoint-every", "1")

    assert saved_epochs == [1, 2, 3]
    assert read_checkpoint(path).epoch == 3


def test_history_csv_has_row_per_epoch(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    history = tmp_path / "history.csv"
    train_checkpoint(capsys, path, "--history", history)

    with history.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "test_loss", "test_accuracy", "time_s"]
    for row in rows:
        assert 0.0 <= float(row["test_accuracy"]) <= 1.0
        assert float(row["train_loss"]) > 0
        assert float(row["test_loss"]) > 0
    stored = read_checkpoint(path).history
    assert [record["test_accuracy"] for record in stored] == [float(row["test_accuracy"]) for row in rows]


def test_checkpoint_records_dataset(capsys, tmp_path: Path):
    path = tmp_path / "run.pt"
    train_checkpoint(capsys, path)

    dataset = read_checkpoint(path).dataset

    assert dataset is not None
    assert dataset["name"] == "digits"
    assert dataset["image_shape"] == [8, 8]
    assert dataset["class_names"] is None


def test_resume_rejects_turning_on_standardize(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    before = path.read_bytes()

    result = run_cli(capsys, "train", "--resume", path, "--standardize")

    assert result.status == 2
    assert "--standardize does not match the checkpoint" in result.err
    assert "which has standardize off" in result.err
    assert "feature statistics" in result.err
    assert "drop --standardize" in result.err
    assert path.read_bytes() == before


def test_resume_rejects_turning_off_standardize(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1", "--standardize")
    config = tmp_path / "off.toml"
    config.write_text("standardize = false\n")

    result = run_cli(capsys, "train", "--resume", path, "--config", config)

    assert result.status == 2
    assert "standardize off does not match the checkpoint" in result.err
    assert "which has standardize on" in result.err
    assert "; pass --standardize" in result.err
    assert "False" not in result.err
    assert "True" not in result.err


def _edit_config(path: Path, **changes: object) -> None:
    """Change settings in the stored config of the .npz checkpoint at ``path``, as an edit would."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    config = json.loads(str(arrays["config"]))
    config.update(changes)
    arrays["config"] = np.array(json.dumps(config))
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    ("setting", "problem", "flag", "valid"),
    [("batch_size", "batch_size", "--batch-size", "64"), ("lr", "lr must be a number", "--lr", "0.05")],
)
def test_resume_invalid_stored_setting_names_flag(
    capsys, tmp_path: Path, setting: str, problem: str, flag: str, valid: str
):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    _edit_config(path, **{setting: "x"})

    result = run_cli(capsys, "train", "-q", "--resume", path)

    expected = f"cannot resume {path}: a setting stored in it is invalid"
    assert_one_line_error(result, "train", expected, problem, "that setting's flag")
    # The flag that the message points to replaces the stored value.
    assert run_cli(capsys, "train", "-q", "--resume", path, flag, valid).status == 0


def test_evaluate_reads_setting_an_older_version_allowed(capsys, tmp_path: Path):
    # A model that only predicts never uses its training settings, so a seed beyond
    # 2**32 - 1, which an older mlpbench wrote, does not stop evaluate.
    path = tmp_path / "old.npz"
    train_checkpoint(capsys, path)
    _edit_config(path, seed=5_000_000_000)

    result = run_cli(capsys, "evaluate", "-q", path)

    assert result.status == 0, result.err
    assert "accuracy" in result.out


def test_resume_stored_seed_out_of_range_names_file(capsys, tmp_path: Path):
    # A resumed run cannot change its seed, so no flag can replace an invalid stored one.
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path, "--epochs", "3", "--stop-after", "1")
    _edit_config(path, seed=5_000_000_000)

    result = run_cli(capsys, "train", "-q", "--resume", path, "--seed", "1")

    expected = f"cannot resume {path}: its stored seed is invalid"
    assert_one_line_error(result, "train", expected, "train a new model")
    assert "--seed 5000000000" not in result.err


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_evaluate_invalid_stored_lr_names_file(capsys, tmp_path: Path, engine: str):
    # The torch engine builds its optimizer from lr, so even evaluating needs a valid one.
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)
    _edit_config(path, lr="x")

    result = run_cli(capsys, "evaluate", "-q", path, "--engine", engine)

    expected = f"{path}: a setting stored in it is invalid"
    assert_one_line_error(result, "evaluate", expected, "lr must be a number")


def test_evaluate_unknown_stored_setting_one_line(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"
    train_checkpoint(capsys, path)
    _edit_config(path, max_iter=3)

    result = run_cli(capsys, "evaluate", "-q", path)

    assert_one_line_error(result, "evaluate", "setting 'max_iter', which mlpbench does not write")


@pytest.mark.parametrize("extra", [(), ("--print-config",)])
def test_resume_from_history_csv_named(capsys, tmp_path: Path, extra: tuple[str, ...]):
    history = tmp_path / "history.csv"
    history.write_text("epoch,lr,train_loss\n1,0.05,0.5\n", encoding="utf-8")

    result = run_cli(capsys, "train", "--resume", history, *extra)

    assert_one_line_error(
        result, "train", f"--resume {history} is not a checkpoint: expected a .npz or .pt file", status=2
    )
    assert "--save " + str(history) not in result.err
    assert history.read_text(encoding="utf-8") == "epoch,lr,train_loss\n1,0.05,0.5\n"


def test_resume_from_foreign_npz_not_named_save(capsys, tmp_path: Path):
    foreign = tmp_path / "arrays.npz"
    np.savez(foreign, weights=np.zeros(3))
    before = foreign.read_bytes()

    result = run_cli(capsys, "train", "-q", "--resume", foreign)

    assert_one_line_error(
        result, "train", f"{foreign} has no 'layer_sizes' array; it was not written by mlpbench"
    )
    assert foreign.read_bytes() == before
