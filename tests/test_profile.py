"""Tests of ``mlpbench profile``: the per-engine instrumentation, its figures and the command line."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys

import numpy as np
import pytest
from cli_support import run_cli
from rich.console import Console

from mlpbench.bench.contention import cpu_sample
from mlpbench.bench.profile import (
    BLAS_GEMM_ENTRY,
    REFERENCE_EPOCHS,
    TORCH_GEMM_OPS,
    CallTimer,
    ProfileConfig,
    disturbance_warnings,
    profile_engine,
    run_profile,
    timed_numpy_matmul,
)
from mlpbench.bench.report import format_seconds
from mlpbench.cli import main
from mlpbench.data import load_dataset
from mlpbench.engines.numpy_engine.blas import Blas, numpy_blas

ENGINES = ("numpy", "torch", "torch-dataloader", "sklearn")
SAMPLES = 1000
BATCH_SIZE = 128
HIDDEN = 16
# 1000 rows in batches of 128: 7 full batches and one of 104 rows.
STEPS = math.ceil(SAMPLES / BATCH_SIZE)
TINY = [
    "--dataset",
    "digits",
    "--samples",
    str(SAMPLES),
    "--hidden",
    str(HIDDEN),
    "--batch-size",
    str(BATCH_SIZE),
    "--threads",
    "1",
]


@pytest.fixture(scope="module")
def profile_run(tmp_path_factory):
    """Profile every engine on the digits through the CLI; return (status, results, stdout)."""
    folder = tmp_path_factory.mktemp("profile")
    path = folder / "profile.json"
    capture = folder / "stdout.txt"
    with pytest.MonkeyPatch.context() as patch, capture.open("w", encoding="utf-8") as handle:
        patch.setattr("sys.stdout", handle)
        status = main(["-q", "profile", *TINY, "--engines", ",".join(ENGINES), "--json", str(path)])
    results = json.loads(path.read_text(encoding="utf-8"))
    return status, results, capture.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_profile_exits_zero(profile_run):
    status, results, _ = profile_run
    assert status == 0
    assert list(results["engines"]) == list(ENGINES)
    assert results["dataset"]["n_train"] == SAMPLES


@pytest.mark.parametrize("engine", ENGINES)
def test_profile_share_is_a_percentage(profile_run, engine):
    _, results, _ = profile_run
    entry = results["engines"][engine]
    assert entry["status"] == "ok", entry["error"]
    assert entry["matmul_s"] > 0
    assert entry["matmul_s"] <= entry["epoch_s"]
    assert 0 <= entry["matmul_share_percent"] <= 100
    assert entry["matmul_share_percent"] == pytest.approx(100 * entry["matmul_s"] / entry["epoch_s"])
    assert entry["reference_epoch_s"] > 0
    assert len(entry["reference_epochs_s"]) == REFERENCE_EPOCHS
    assert entry["reference_epoch_s"] == statistics.median(entry["reference_epochs_s"])


def test_profile_table_shows_reference_range(profile_run):
    _, results, output = profile_run

    assert "median (min-max)" in output
    for name, entry in results["engines"].items():
        epochs = entry["reference_epochs_s"]
        cell = (
            f"{format_seconds(entry['reference_epoch_s'])} "
            f"({format_seconds(min(epochs))}-{format_seconds(max(epochs))})"
        )
        assert cell in output, name


@pytest.mark.parametrize("engine", ENGINES)
def test_profile_lists_top_other_costs(profile_run, engine):
    _, results, _ = profile_run
    costs = results["engines"][engine]["other_costs"]
    assert 1 <= len(costs) <= 5
    seconds = [cost["seconds"] for cost in costs]
    assert seconds == sorted(seconds, reverse=True)
    assert all(value >= 0 for value in seconds)
    assert all(0 <= cost["percent"] <= 100 for cost in costs)


def test_numpy_profile_counts_every_product(profile_run):
    _, results, _ = profile_run
    # Per step and layer: forward X @ W and backward dW; backward dX for every layer
    # but the first. One hidden layer gives 2 layers, so 3 * 2 - 1 = 5 per step.
    assert results["engines"]["numpy"]["matmul_calls"] == STEPS * (3 * 2 - 1)


def test_numpy_profile_names_gemm_apart(profile_run):
    _, results, _ = profile_run
    entry = results["engines"]["numpy"]
    calls = {item["name"]: item["calls"] for item in entry["matmul_entries"]}
    if numpy_blas() is None:
        pytest.skip("this NumPy build exports no 64-bit CBLAS symbols")
    # The update adds each layer's weight gradient into its momentum buffer by gemm.
    assert calls == {"numpy.matmul": STEPS * 3, BLAS_GEMM_ENTRY: STEPS * 2}
    assert sum(item["seconds"] for item in entry["matmul_entries"]) == pytest.approx(entry["matmul_s"])


def test_numpy_profile_counts_deeper_network(digits):
    settings = {"hidden": [16, 8], "batch_size": 256, "threads": 1}
    entry = profile_engine("numpy", digits, settings)
    steps = math.ceil(len(digits.y_train) / 256)
    assert entry["status"] == "ok", entry["error"]
    # Three layers: 3 * 3 - 1 = 8 products per step.
    assert entry["matmul_calls"] == steps * 8


def test_numpy_other_costs_exclude_products(profile_run):
    _, results, _ = profile_run
    names = [cost["name"] for cost in results["engines"]["numpy"]["other_costs"]]
    assert not [name for name in names if name.startswith("timed_call")], names


def test_numpy_matmul_is_restored(profile_run):
    assert isinstance(np.matmul, np.ufunc)


def test_timed_matmul_restores_after_error():
    timer = CallTimer()
    original_product = Blas.add_transposed_product
    with pytest.raises(RuntimeError, match="inside the block"), timed_numpy_matmul(timer):
        np.matmul(np.ones((2, 3)), np.ones((3, 4)))
        raise RuntimeError("inside the block")
    assert isinstance(np.matmul, np.ufunc)
    assert Blas.add_transposed_product is original_product
    assert timer.calls == 1


def test_timed_matmul_counts_blas_products():
    blas = numpy_blas()
    if blas is None:
        pytest.skip("this NumPy build exports no 64-bit CBLAS symbols")
    timer = CallTimer()
    with timed_numpy_matmul(timer):
        blas.add_transposed_product(np.ones((2, 3)), np.ones((2, 4)), np.zeros((3, 4)), 0.0)
    assert timer.calls == 1


def test_torch_profile_counts_gemm_operators(profile_run):
    _, results, _ = profile_run
    entry = results["engines"]["torch"]
    names = {item["name"] for item in entry["matmul_entries"]}
    assert names <= TORCH_GEMM_OPS
    assert "aten::mm" in names
    assert entry["matmul_calls"] >= STEPS * (3 * 2 - 1)


def test_dataloader_profile_times_collation(profile_run):
    _, results, _ = profile_run
    entry = results["engines"]["torch-dataloader"]
    assert entry["collate_calls"] == STEPS
    assert 0 < entry["collate_s"] <= entry["epoch_s"]
    assert "collate_s" not in results["engines"]["torch"]
    # The collate figure is inclusive, unlike the self times listed above it.
    from mlpbench.cli.profile import build_profile_table

    console = Console(width=250, record=True)
    console.print(build_profile_table(results))
    assert "collate_fn in total, its operators above included:" in console.export_text()


def test_sklearn_profile_reads_safe_sparse_dot(profile_run):
    _, results, _ = profile_run
    entries = results["engines"]["sklearn"]["matmul_entries"]
    assert [entry["name"].split(" ")[0] for entry in entries] == ["safe_sparse_dot"]
    assert entries[0]["calls"] > 0


def test_profile_prints_table_and_note(profile_run):
    _, results, out = profile_run
    assert "matmul share" in out
    assert "Profilers add overhead, so shares are approximate" in out
    # numpy's other costs come from a separate epoch, whose length the output names.
    other_epoch = format_seconds(results["engines"]["numpy"]["other_costs_epoch_s"])
    text = " ".join(out.split())
    assert f"which took {other_epoch}; the other costs' percentages are of that epoch" in text


def test_profile_names_the_libraries(profile_run):
    _, results, out = profile_run
    environment = results["environment"]
    line = next(line for line in out.splitlines() if line.startswith("Libraries: "))

    assert line.startswith(f"Libraries: NumPy {environment['numpy']} (openblas ")
    assert f"PyTorch {environment['torch']['version']} ({environment['torch']['blas']})" in line
    assert line.endswith(f"scikit-learn {environment['scikit_learn']}.")


def test_libraries_line_without_torch_or_blas_details():
    from mlpbench.bench.environment import describe_libraries

    environment = {"numpy": "2.0.0", "blas": [], "torch": None, "scikit_learn": None}

    assert describe_libraries(environment) == "Libraries: NumPy 2.0.0."


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_torch_profile_keeps_kineto_quiet(tmp_path):
    # In a child process, because Kineto writes to file descriptor 2, outside Python.
    env = {key: value for key, value in os.environ.items() if key != "KINETO_LOG_LEVEL"}
    command = [sys.executable, "-m", "mlpbench", "-q", "profile", *TINY, "--engines", "torch"]

    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, check=False)

    assert done.returncode == 0, done.stderr
    assert "USDT" not in done.stderr
    assert "profiler_start" not in done.stderr


def test_profile_records_failing_engine(digits):
    config = ProfileConfig(engines=["numpy"], settings={"hidden": [8], "lr": 1e30, "threads": 1})
    # lr 1e30 overflows on purpose; NumPy's overflow warnings would only repeat that.
    with np.errstate(over="ignore", invalid="ignore"):
        entry = run_profile(digits, config)["engines"]["numpy"]
    assert entry["status"] == "failed"
    assert entry["error_type"] == "TrainingDivergedError"


def test_profile_all_failed_keeps_earlier_json(capsys, tmp_path):
    path = tmp_path / "profile.json"
    arguments = ["--dataset", "digits", "--hidden", "8", "--engines", "numpy", "--threads", "1"]
    arguments += ["--json", path]
    assert run_cli(capsys, "-q", "profile", *arguments).status == 0
    earlier = path.read_bytes()

    # lr 1e30 makes every engine diverge, so the run measures nothing.
    with np.errstate(over="ignore", invalid="ignore"):
        result = run_cli(capsys, "-q", "profile", *arguments, "--lr", "1e30")

    assert result.status == 1
    assert path.read_bytes() == earlier
    assert f"every engine failed, so {path} was not replaced and keeps its earlier results" in result.err
    # The advice names the flag, as train and compare do, with no Python advice.
    assert "try a smaller --lr (for example --lr 0.05, the default)" in result.err
    assert "lr in Python" not in result.err


def test_profile_rejects_too_many_samples(capsys):
    arguments = ["--dataset", "digits", "--samples", "5000", "--engines", "numpy"]
    result = run_cli(capsys, "-q", "profile", *arguments)
    assert result.status == 2
    assert "--samples 5000 exceeds the 1437 training rows of digits" in result.err


def test_profile_warns_batch_above_rows(capsys, tmp_path):
    path = tmp_path / "profile.json"
    arguments = ["--dataset", "digits", "--samples", "200", "--batch-size", "256", "--hidden", "8"]

    result = run_cli(capsys, "profile", *arguments, "--engines", "numpy", "--threads", "1", "--json", path)

    expected = "--batch-size 256 is larger than the 200 training rows"
    assert result.status == 0, result.err
    assert result.err.count(expected) == 1
    assert any(expected in message for message in json.loads(path.read_text())["warnings"])


def test_call_timer_counts_calls():
    timer = CallTimer()
    doubled = timer.wrap(lambda value: 2 * value)
    assert [doubled(value) for value in range(3)] == [0, 2, 4]
    assert timer.calls == 3
    assert timer.seconds >= 0


def profile_record(reference: float, profiled: float, matmul: float) -> dict:
    return {"status": "ok", "reference_epoch_s": reference, "epoch_s": profiled, "matmul_s": matmul}


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (profile_record(0.35, 0.36, 0.22), None),
        (profile_record(0.62, 0.89, 0.39), None),
        (profile_record(0.32, 1.60, 0.90), "5.0x the 0.32 s without the profiler"),
        # torch on 20,000 rows of an idle machine; 1.73x is the most seen from profiling alone.
        (profile_record(0.19, 0.456, 0.119), "2.4x the 0.19 s without the profiler, more than"),
        (profile_record(0.19, 0.33, 0.10), None),
        (profile_record(0.50, 0.95, 0.60), "longer than the whole 0.5 s median epoch"),
        (profile_record(1.00, 0.50, 0.30), "longer than the profiled one"),
        (profile_record(0.586, 0.406, 0.25), "longer than the profiled one (0.406 s)"),
        (profile_record(0.48, 0.41, 0.25), None),
        ({"status": "failed"}, None),
    ],
)
def test_disturbance_warnings(record, expected):
    messages = disturbance_warnings({"torch": record})

    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert messages[0].startswith("torch: ")
        assert expected in messages[0]


@pytest.mark.parametrize(
    ("engine", "sampled", "advised"),
    [
        ("torch", True, True),
        ("torch", False, False),
        ("torch-dataloader", True, False),
        ("numpy", True, False),
    ],
)
def test_disturbance_advice_all_rows_for_sampled_torch(engine, sampled, advised):
    messages = disturbance_warnings({engine: profile_record(0.19, 0.456, 0.119)}, sampled=sampled)

    assert len(messages) == 1
    assert ("on all rows (without --samples)" in messages[0]) is advised


def test_profile_json_has_warning_list(profile_run):
    _, results, _ = profile_run
    assert isinstance(results["warnings"], list)


@pytest.mark.skipif(cpu_sample() is None, reason="needs Linux scheduler counters")
def test_profile_records_waiting_for_a_cpu(profile_run):
    _, results, out = profile_run
    measured = results["cpu_contention"]

    assert 0.0 <= measured["wait_share"] <= 1.0
    reference = sum(entry["reference_epoch_s"] for entry in results["engines"].values())
    assert measured["seconds"] > reference
    assert "Waiting for a CPU: this process's threads waited" in out


def test_profile_contention_names_no_peak(digits, monkeypatch):
    # profile measures no matmul peak, so its waiting warning speaks of timings only.
    import mlpbench.bench.profile as profile_module

    busy = {"seconds": 1.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": 0.5}
    busy |= {"busiest_thread_wait_share": 0.5, "steal_share": 0.3, "logical_cpus": 2}
    monkeypatch.setattr(profile_module, "contention", lambda before, after: busy)
    config = ProfileConfig(engines=["numpy"], settings={"hidden": [8], "threads": 1})

    messages = run_profile(digits, config)["warnings"]

    assert any("waited for a CPU 50%" in message for message in messages)
    assert any("held back 30%" in message for message in messages)
    assert not any("peak" in message for message in messages)
