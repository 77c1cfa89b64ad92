"""``mlpbench train`` on the bundled digits: accuracy, saved files, rejected arguments, devices."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cli_support import run_cli

import mlpbench.cli.train as train_command
import mlpbench.data
from mlpbench import NumpyMLP, TorchMLP
from mlpbench.bench.contention import cpu_sample
from mlpbench.cli import main
from mlpbench.data import load_dataset

# Every run pins one BLAS/PyTorch thread. The result does not depend on it, and on a
# busy two-core machine two threads once made the 10-epoch digits run take 6.9 s instead of 0.1 s.
ONE_THREAD = ["--threads", "1"]

ACCURACY_PATTERN = re.compile(r"(numpy|torch): test loss [0-9.]+, test accuracy ([0-9.]+)%")


def printed_accuracy(stdout: str, engine: str) -> float:
    """Return the test accuracy that ``mlpbench train`` printed, as a fraction."""
    match = ACCURACY_PATTERN.search(stdout)
    assert match is not None, f"no accuracy line in output: {stdout!r}"
    assert match.group(1) == engine
    return float(match.group(2)) / 100


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error:" in line]


# ----- training runs --------------------------------------------------------------------


def test_python_m_numpy_reaches_95_percent(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mlpbench", "train", "--engine", "numpy", "--dataset", "digits", *ONE_THREAD],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert printed_accuracy(completed.stdout, "numpy") >= 0.95
    assert "10 epochs" in completed.stdout


def test_torch_defaults_reach_95_percent(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["-q", "train", "--engine", "torch", "--dataset", "digits", *ONE_THREAD])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert printed_accuracy(captured.out, "torch") >= 0.95
    assert captured.err == ""


@pytest.mark.parametrize(
    ("engine", "suffix", "reader"),
    [
        pytest.param("numpy", ".npz", NumpyMLP, id="numpy-npz"),
        pytest.param("torch", ".pt", TorchMLP, id="torch-pt"),
        pytest.param("torch", ".npz", NumpyMLP, id="torch-npz-into-numpy"),
    ],
)
def test_save_writes_loadable_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    engine: str,
    suffix: str,
    reader: type[NumpyMLP] | type[TorchMLP],
) -> None:
    path = tmp_path / f"model{suffix}"

    arguments = ["--engine", engine, "--epochs", "3", "--hidden", "32", "--save", str(path)]

    status = main(["-q", "train", *arguments, *ONE_THREAD])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"saved parameters to {path}" in captured.out
    model = reader.load(path)
    assert model.epoch_ == 3
    assert model.layer_sizes_ == [64, 32, 10]
    digits = load_dataset("digits", dtype=model.dtype)
    accuracy = model.score(digits.x_test, digits.y_test)
    assert round(accuracy * 100, 2) == pytest.approx(printed_accuracy(captured.out, engine) * 100)


def test_hidden_zero_trains_softmax_regression(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "softmax.npz"

    status = main(["-q", "train", "--hidden", "0", "--epochs", "5", "--save", str(path), *ONE_THREAD])

    captured = capsys.readouterr()
    assert status == 0, captured.err
    model = NumpyMLP.load(path)
    assert model.hidden == ()
    assert [W.shape for W, _ in model.get_parameters()] == [(64, 10)]
    assert printed_accuracy(captured.out, "numpy") > 0.9


def test_float64_run_saves_float64(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.npz"

    status = main(["-q", "train", "--dtype", "float64", "--epochs", "1", "--save", str(path), *ONE_THREAD])

    assert status == 0, capsys.readouterr().err
    model = NumpyMLP.load(path)
    assert model.dtype == "float64"
    assert model.get_parameters()[0][0].dtype.name == "float64"


def test_save_suffix_case_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.NPZ"

    status = main(["-q", "train", "--epochs", "1", "--save", str(path), *ONE_THREAD])

    assert status == 0, capsys.readouterr().err
    assert NumpyMLP.load(path).epoch_ == 1


def test_save_unknown_suffix_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.h5"

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--save", str(path)])

    assert exit_info.value.code == 2
    assert "the file name must end in .npz or .pt" in capsys.readouterr().err


# ----- rejected arguments ---------------------------------------------------------------

INVALID_ARGUMENTS = [
    pytest.param(["--lr", "-1"], "-1", id="negative-lr"),
    pytest.param(["--lr", "nan"], "nan", id="nan-lr"),
    pytest.param(["--epochs", "0"], "0", id="zero-epochs"),
    pytest.param(["--batch-size", "0"], "0", id="zero-batch-size"),
    pytest.param(["--hidden", "128,0"], "128,0", id="zero-in-hidden"),
    pytest.param(["--hidden", "abc"], "abc", id="letters-in-hidden"),
    pytest.param(["--momentum", "1"], "1", id="momentum-one"),
    pytest.param(["--weight-decay", "-0.5"], "-0.5", id="negative-weight-decay"),
    pytest.param(["--threads", "0"], "0", id="zero-threads"),
    pytest.param(["--dtype", "float16"], "float16", id="float16"),
    pytest.param(["--schedule", "step"], "step", id="unknown-schedule"),
    pytest.param(["--seed", "-1"], "seed must be an integer >= 0, got -1", id="negative-seed"),
    pytest.param(["--save", "model.txt"], "model.txt", id="save-suffix"),
    pytest.param(["--save", ""], "--save needs a file name", id="save-empty"),
    pytest.param(["--resume", " "], "--resume needs a file name", id="resume-empty"),
    pytest.param(["--device", "gpu"], "expected cpu, cuda or cuda:N", id="device-gpu"),
]


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Return the list of data loads and engine builds, which must stay empty."""
    calls: list[str] = []

    def record_load(*args: object, **kwargs: object) -> None:
        calls.append("load_dataset")
        raise AssertionError("data was loaded before the arguments were checked")

    def record_create(*args: object, **kwargs: object) -> None:
        calls.append("create_engine")
        raise AssertionError("an engine was built before the arguments were checked")

    monkeypatch.setattr(mlpbench.data, "load_dataset", record_load)
    monkeypatch.setattr(train_command, "create_engine", record_create)
    return calls


@pytest.mark.parametrize(("arguments", "shown"), INVALID_ARGUMENTS)
def test_invalid_argument_exits_2(
    capsys: pytest.CaptureFixture[str], no_work: list[str], arguments: list[str], shown: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *arguments])

    captured = capsys.readouterr()
    lines = error_lines(captured.err)
    assert exit_info.value.code == 2
    assert len(lines) == 1, captured.err
    assert shown in lines[0]
    assert captured.out == ""
    assert no_work == []


POST_PARSE_INVALID = [
    pytest.param(["--lr", "-1"], id="negative-lr"),
    pytest.param(["--momentum", "1"], id="momentum-one"),
    pytest.param(["--save", "model.txt"], id="save-suffix"),
]


@pytest.mark.parametrize("arguments", POST_PARSE_INVALID)
def test_checked_value_error_names_train(
    capsys: pytest.CaptureFixture[str], no_work: list[str], arguments: list[str]
) -> None:
    """Values checked after parsing are reported like parse errors: by the train subcommand."""
    with pytest.raises(SystemExit):
        main(["train", *arguments])

    stderr = capsys.readouterr().err
    assert error_lines(stderr)[0].startswith("mlpbench train: error:"), stderr
    assert stderr.startswith("usage: mlpbench train"), stderr


def test_unknown_engine_exits_2(capsys: pytest.CaptureFixture[str], no_work: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--engine", "jax"])

    assert exit_info.value.code == 2
    assert "'jax'" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_gpu_rejected_before_work(
    capsys: pytest.CaptureFixture[str], no_work: list[str], device: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["-q", "train", "--engine", "torch", "--device", device, "--epochs", "1", *ONE_THREAD])

    captured = capsys.readouterr()
    lines = error_lines(captured.err)
    assert exit_info.value.code == 2
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("mlpbench train: error: argument --device:")
    assert "finds no CUDA GPU; use device='cpu' (--device cpu on the command line)" in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""
    assert no_work == []


def test_sklearn_save_rejected_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.npz"

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--engine", "sklearn", "--save", str(path)])

    assert exit_info.value.code == 2
    assert "sklearn engine does not write parameter files" in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.skipif(
    cpu_sample() is None or not hasattr(os, "sched_setaffinity"),
    reason="needs Linux counters and CPU affinity",
)
def test_train_warns_when_sharing_its_cpu(tmp_path: Path):
    # A busy process on the same CPU slows training, so a warning should come with the
    # printed time, except for a run too short for the share to mean much.
    cpu = min(os.sched_getaffinity(0))
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(spinner.pid, {cpu})
        long_run, short_run = (
            subprocess.run(
                [sys.executable, "-m", "mlpbench", "train", "--epochs", epochs, *ONE_THREAD],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
                preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
            )
            # 600 epochs on a shared CPU last several times CONTENTION_MIN_SECONDS; 1 epoch does not.
            for epochs in ("600", "1")
        )
    finally:
        spinner.kill()
        spinner.wait()

    assert long_run.returncode == 0, long_run.stderr
    assert "this process's threads waited for a CPU" in long_run.stderr
    assert short_run.returncode == 0, short_run.stderr
    assert "waited for a CPU" not in short_run.stderr


def test_save_says_when_it_replaced_a_file(capsys, tmp_path: Path):
    path = tmp_path / "model.npz"
    first = run_cli(capsys, "train", "-q", "--epochs", "1", *ONE_THREAD, "--save", path)
    second = run_cli(capsys, "train", "-q", "--epochs", "1", *ONE_THREAD, "--save", path)
    resumed = run_cli(capsys, "train", "-q", "--resume", path, "--epochs", "2")

    assert f"saved parameters to {path}\n" in first.out
    assert f"saved parameters to {path} (it replaced an earlier file of that name)\n" in second.out
    # Resuming into the file it read is the point of --resume, so no note is added.
    assert f"saved parameters to {path}\n" in resumed.out
