"""Output flags never replace a file the user still needs: an input, a model, an image."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_support import TINY_TRAINING, assert_one_line_error, run_cli, train_checkpoint

from mlpbench import TorchMLP
from mlpbench.cli.outputs import HISTORY_KIND, JSON_KIND, MODEL_KIND, PLOT_KIND
from mlpbench.cli.predict import PREDICTIONS_KIND
from mlpbench.errors import OutputError


@pytest.fixture
def rows(tmp_path: Path) -> Path:
    path = tmp_path / "rows.npy"
    np.save(path, np.zeros((2, 64)))
    return path


def _copy(source: Path, target: Path) -> tuple[Path, bytes]:
    shutil.copyfile(source, target)
    return target, target.read_bytes()


def test_predict_out_refuses_the_model(capsys, checkpoint: Path, rows: Path, tmp_path: Path):
    model, before = _copy(checkpoint, tmp_path / "model.npz")

    result = run_cli(capsys, "predict", "-q", model, rows, "--out", model)

    assert_one_line_error(result, "predict", f"--out {model} is also the model being read", status=2)
    assert "choose another file name" in result.err
    assert model.read_bytes() == before


def test_predict_out_refuses_an_input(capsys, checkpoint: Path, rows: Path):
    before = rows.read_bytes()

    result = run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", rows)

    assert_one_line_error(result, "predict", f"--out {rows} is also an input being classified", status=2)
    assert rows.read_bytes() == before


def test_predict_out_refuses_another_model(capsys, checkpoint: Path, rows: Path, tmp_path: Path):
    # Not an input of this command, but a model all the same: a typo must not turn it into a CSV.
    other, before = _copy(checkpoint, tmp_path / "other.npz")

    result = run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", other)

    assert_one_line_error(
        result, "predict", f"--out {other} already exists and is not a predictions CSV", status=2
    )
    assert other.read_bytes() == before


def test_predict_out_replaces_its_own_csv(capsys, checkpoint: Path, rows: Path, tmp_path: Path):
    out = tmp_path / "predictions.csv"
    assert run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", out).status == 0
    out.write_text(out.read_text() + "an extra line\n")

    assert run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", out).status == 0

    assert "an extra line" not in out.read_text()


@pytest.mark.parametrize(
    ("flag", "name"),
    [("predict --out", "predictions.csv"), ("evaluate --plot", "matrix.png"), ("profile --json", "p.json")],
)
def test_replaced_output_named(capsys, checkpoint: Path, rows: Path, tmp_path: Path, flag: str, name: str):
    out = tmp_path / name
    command, option = flag.split()
    arguments = {
        "predict": ["predict", checkpoint, rows],
        "evaluate": ["evaluate", checkpoint],
        "profile": ["profile", "--engines", "numpy", "--samples", "200", "--threads", "1"],
    }[command]

    first = run_cli(capsys, *arguments, option, out)
    second = run_cli(capsys, *arguments, option, out)

    assert first.status == second.status == 0, second.err
    assert "replaced an earlier file" not in first.out + first.err
    assert f"{out} (it replaced an earlier file of that name)\n" in second.out + second.err


def test_replaced_history_named(capsys, tmp_path: Path):
    history = tmp_path / "history.csv"

    first = run_cli(capsys, "train", *TINY_TRAINING, "--history", history)
    second = run_cli(capsys, "train", *TINY_TRAINING, "--history", history)

    assert "replaced an earlier file" not in first.err
    expected = f"wrote the per-epoch history to {history} (it replaced an earlier file of that name)"
    assert expected in second.err


def test_history_refuses_a_model(capsys, checkpoint: Path, tmp_path: Path):
    model, before = _copy(checkpoint, tmp_path / "model.npz")

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--history", model)

    expected = f"--history {model} already exists and is not a history CSV"
    assert_one_line_error(result, "train", expected, status=2)
    assert model.read_bytes() == before


def test_history_and_save_must_differ(capsys, tmp_path: Path):
    path = tmp_path / "run.npz"

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--save", path, "--history", path)

    assert result.status == 2
    assert f"--history {path} and --save {path} name the same file; give each its own" in result.err
    assert not path.exists()


def test_save_refuses_a_data_archive(capsys, tmp_path: Path):
    data = tmp_path / "data.npz"
    np.savez(data, x_train=np.zeros((2, 4)), y_train=[0, 1], x_test=np.zeros((1, 4)), y_test=[0])
    before = data.read_bytes()

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--save", data)

    assert_one_line_error(
        result,
        "train",
        f"--save {data} already exists and is not an mlpbench model file (.npz or .pt)",
        status=2,
    )
    assert data.read_bytes() == before


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_save_replaces_a_model(capsys, tmp_path: Path, suffix: str):
    path = tmp_path / f"model{suffix}"
    engine = "numpy" if suffix == ".npz" else "torch"
    train_checkpoint(capsys, path, "--engine", engine)

    result = run_cli(capsys, "train", *TINY_TRAINING, "--engine", engine, "--seed", "1", "--save", path)

    assert result.status == 0, result.err
    assert "(it replaced an earlier file of that name)" in result.out


def test_plot_refuses_non_image(capsys, checkpoint: Path, tmp_path: Path):
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture\n")

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--plot", notes)

    expected = "is not a plot that matplotlib wrote (PNG, PDF or SVG)"
    assert_one_line_error(result, "evaluate", expected, status=2)
    assert notes.read_text() == "not a picture\n"


def test_plot_refuses_picture_of_another_program(capsys, checkpoint: Path, tmp_path: Path):
    # A PNG that mlpbench did not write, such as a digit drawn for predict.
    from PIL import Image

    picture = tmp_path / "my_digit.png"
    Image.new("L", (8, 8)).save(picture)
    before = picture.read_bytes()

    result = run_cli(capsys, "evaluate", "-q", checkpoint, "--plot", picture)

    assert_one_line_error(result, "evaluate", "is not a plot that matplotlib wrote", status=2)
    assert picture.read_bytes() == before


def test_save_refuses_foreign_torch_file(capsys, tmp_path: Path):
    foreign = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(3)}, foreign)
    before = foreign.read_bytes()

    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--engine", "torch", "--save", foreign)

    assert_one_line_error(result, "train", "is not an mlpbench model file (.npz or .pt)", status=2)
    assert foreign.read_bytes() == before


def test_profile_json_refuses_other_json(capsys, tmp_path: Path):
    mine = tmp_path / "mine.json"
    mine.write_text('{"mine": 1}\n')

    result = run_cli(capsys, "profile", "-q", "--dataset", "digits", "--engines", "numpy", "--json", mine)

    assert_one_line_error(result, "profile", "is not a JSON file of mlpbench's results", status=2)
    assert mine.read_text() == '{"mine": 1}\n'


def test_profile_json_refuses_a_model(capsys, checkpoint: Path, tmp_path: Path):
    model, before = _copy(checkpoint, tmp_path / "model.npz")

    result = run_cli(capsys, "profile", "-q", "--json", model)

    expected = f"--json {model} already exists and is not a JSON file"
    assert_one_line_error(result, "profile", expected, status=2)
    assert model.read_bytes() == before


def test_empty_file_may_be_replaced(capsys, checkpoint: Path, rows: Path, tmp_path: Path):
    out = tmp_path / "empty.csv"
    out.touch()

    assert run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", out).status == 0
    assert out.read_text().startswith("input,")


def test_kinds_recognize_the_files_mlpbench_writes(checkpoint: Path, tmp_path: Path):
    torch_file = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(2)}, torch_file)
    torch_checkpoint = TorchMLP(hidden=[4], epochs=1, threads=1).fit(np.eye(4), [0, 1, 0, 1]).save(
        tmp_path / "model.pt"
    )
    image = tmp_path / "plot.png"
    pdf = tmp_path / "plot.pdf"
    import matplotlib.pyplot as plt

    plt.figure().savefig(image)
    plt.figure().savefig(pdf)
    plt.close("all")

    def start(path: Path) -> bytes:
        return path.read_bytes()[:4096]

    assert MODEL_KIND.matches(start(checkpoint))
    assert MODEL_KIND.matches(start(torch_checkpoint))
    assert not MODEL_KIND.matches(start(torch_file))
    assert not MODEL_KIND.matches(b"epoch,lr\n")
    assert PLOT_KIND.matches(start(image))
    # A PDF names matplotlib near its end, which the check reads too.
    assert PLOT_KIND.matches(start(pdf) + pdf.read_bytes()[-4096:])
    assert PLOT_KIND.matches(b'<?xml version="1.0"?>\n<!-- Created with matplotlib -->\n<svg>')
    assert not PLOT_KIND.matches(b'<?xml version="1.0"?>\n<svg>')
    assert not PLOT_KIND.matches(start(checkpoint))
    assert HISTORY_KIND.matches(b"epoch,lr,train_loss\n1,0.05,0.4\n")
    assert not HISTORY_KIND.matches(b"epochs,lr\n")
    assert PREDICTIONS_KIND.matches(b"input,predicted_class\n")
    assert not PREDICTIONS_KIND.matches(start(checkpoint))
    assert JSON_KIND.matches(b'  {"schema_version": 1, "kind": "profile", "mlpbench_version": "0.1.0"}')
    assert not JSON_KIND.matches(b'  {"engines": {}}')
    assert not JSON_KIND.matches(b"\x89PNG")


def test_csv_kind_reads_cut_character():
    # A non-ASCII input name that straddles the end of the bytes read is still text.
    text = "input,predicted_class\nx" + "手書き数字の画像" * 600
    start = text.encode()[:4096]
    # 23 ASCII bytes, then 3 bytes a character: the last character is cut after 2 bytes.
    assert (4096 - 23) % 3 == 2

    assert PREDICTIONS_KIND.matches(start)


def test_fifo_output_rejected(capsys, checkpoint: Path, rows: Path, tmp_path: Path):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)

    result = run_cli(capsys, "predict", "-q", checkpoint, rows, "--out", fifo)

    assert_one_line_error(result, "predict", f"cannot write --out {fifo}: it is not a regular file", status=2)
    assert fifo.is_fifo()



@pytest.mark.parametrize(
    ("command", "output"),
    [
        (["evaluate", "{model}", "--plot", "{out}"], "confusion.png"),
        (["predict", "{model}", "{rows}", "--out", "{out}"], "predictions.csv"),
        (["train", *TINY_TRAINING, "--history", "{out}"], "history.csv"),
        (["profile", "--dataset", "digits", "--engines", "numpy", "--json", "{out}"], "profile.json"),
    ],
)
def test_closed_stdout_keeps_written_file(checkpoint: Path, rows: Path, tmp_path: Path, command, output):
    # The reading end of stdout is closed before the child prints, as when `| head` has
    # exited. The file the user asked for must still be written.
    out = tmp_path / output
    arguments = [part.format(model=checkpoint, rows=rows, out=out) for part in command]
    child = subprocess.Popen(
        [sys.executable, "-m", "mlpbench", "-q", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    assert child.stdout is not None
    child.stdout.close()
    _, stderr = child.communicate(timeout=300)

    assert child.returncode == 1, stderr
    assert out.is_file(), stderr
    assert out.stat().st_size > 0


@pytest.mark.parametrize(
    ("command", "output", "patched", "printed"),
    [
        (
            ["evaluate", "{model}", "--plot", "{out}"],
            "c.png",
            "mlpbench.cli.evaluate.plot_confusion_matrix",
            "accuracy",
        ),
        (
            ["predict", "{model}", "{rows}", "--out", "{out}"],
            "p.csv",
            "mlpbench.cli.predict.write_csv",
            "rows.npy",
        ),
        (
            ["train", *TINY_TRAINING, "--save", "{out}.npz", "--history", "{out}"],
            "h.csv",
            "mlpbench.cli.train.write_history",
            "test accuracy",
        ),
        (
            ["profile", "--dataset", "digits", "--engines", "numpy", "--threads", "1", "--json", "{out}"],
            "p.json",
            "mlpbench.bench.report.write_json",
            "matmul share",
        ),
    ],
)
def test_failed_output_file_keeps_text(
    capsys, monkeypatch, checkpoint: Path, rows: Path, tmp_path: Path, command, output, patched, printed
):
    # A disk that fills up during the write: the results must still reach the terminal.
    def full_disk(*args, **kwargs):
        raise OutputError(f"cannot write {tmp_path / output}: No space left on device")

    monkeypatch.setattr(patched, full_disk)
    arguments = [part.format(model=checkpoint, rows=rows, out=tmp_path / output) for part in command]

    result = run_cli(capsys, "-q", *arguments)

    assert result.status == 1
    assert printed in result.out
    assert result.err.strip().endswith("No space left on device")
    if command[0] == "train":
        assert f"saved parameters to {tmp_path / output}.npz" in result.out
