"""Tests of ``mlpbench sweep``: the grid runner, its output files and the command line."""

from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import json

import numpy as np
import pytest
from cli_support import run_cli
from rich.console import Console

from mlpbench.bench import sweep as sweep_module
from mlpbench.bench.compare import MeasuredPeaks, slowed_engine_warnings
from mlpbench.bench.sweep import (
    SweepConfig,
    SweepData,
    load_sweep_data,
    run_sweep,
    synthetic_dataset,
)
from mlpbench.bench.sweep_report import _peak_of, build_table, summary_lines, write_sweep_outputs
from mlpbench.bench.sweep_report import csv_rows as sweep_csv_rows
from mlpbench.cli import main
from mlpbench.cli.sweep import parse_int_list, parse_threads_list
from mlpbench.data import load_dataset
from mlpbench.engines import registry
from mlpbench.engines.numpy_engine import NumpyMLP
from mlpbench.errors import DataError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
QUICK_BATCH_SIZES = (32, 128)
QUICK_SAMPLES = 500
QUICK_ENGINES = ("numpy", "torch")
# --quick with smaller overrides: 2 points x 2 engines x 1 timed run, no warm-up.
# One thread keeps the test steady on a shared machine.
QUICK_ARGUMENTS = [
    "sweep",
    "--quick",
    "--samples",
    str(QUICK_SAMPLES),
    "--batch-sizes",
    ",".join(map(str, QUICK_BATCH_SIZES)),
    "--repeats",
    "1",
    "--warmup",
    "0",
    "--threads-list",
    "1",
]
FAST_PEAK = {"peak_min_seconds": 0.05, "peak_max_seconds": 0.3}


def digits_sweep_results(**settings) -> dict:
    """Run a one-thread sweep of hidden size 16 on the digits; ``settings`` replace the defaults."""
    config = SweepConfig(
        **{
            "engines": ["numpy"],
            "batch_sizes": [64, 256],
            "hidden_sizes": [16],
            "dtypes": ["float32"],
            "threads_list": [1],
            "repeats": 1,
            "warmup": 0,
            **FAST_PEAK,
            **settings,
        }
    )
    return run_sweep(SweepData(data=load_dataset("digits"), requested="digits"), config)


class RaisingMLP(NumpyMLP):
    """An engine whose training step always raises."""

    engine_name = "raising"

    def _train_step(self, X, y, batch, lr):
        raise RuntimeError("step exploded on purpose [code 9]")


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """Run ``sweep --quick`` with small overrides; return (status, folder, results, stdout)."""
    folder = tmp_path_factory.mktemp("sweep") / "out"
    capture = tmp_path_factory.mktemp("stdout") / "stdout.txt"
    with pytest.MonkeyPatch.context() as patch, capture.open("w", encoding="utf-8") as handle:
        patch.setattr("sys.stdout", handle)
        status = main(["-q", *QUICK_ARGUMENTS, "--out", str(folder)])
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return status, folder, results, capture.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def digits_sweep():
    """Sweep the digits with a failing engine over two dtypes, counting peak measurements."""
    calls = []
    measure = sweep_module.measure_peaks
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(registry.ENGINES, "raising", f"{__name__}:RaisingMLP")
        patch.setattr(
            sweep_module, "measure_peaks", lambda config: calls.append(config) or measure(config)
        )
        results = digits_sweep_results(engines=["numpy", "raising"], dtypes=["float32", "float64"])
    return results, calls


# ----- sweep --quick end to end -----------------------------------------------------------


def test_quick_sweep_exits_zero(quick_run):
    status, _, _, _ = quick_run
    assert status == 0


def test_quick_sweep_writes_both_plots(quick_run):
    _, folder, _, _ = quick_run
    for name in ("time_vs_batch.png", "gflops_vs_batch.png"):
        assert (folder / name).read_bytes()[:8] == PNG_SIGNATURE, name
    assert not list(folder.glob(".*.tmp*")), "temporary files left behind"


def test_quick_sweep_json_has_every_point(quick_run):
    _, _, results, _ = quick_run
    assert results["kind"] == "sweep"
    grid = [(point["batch_size"], point["hidden"], point["dtype"]) for point in results["points"]]
    assert grid == [(size, 128, "float32") for size in QUICK_BATCH_SIZES]
    for point in results["points"]:
        assert point["threads"] == 1
        assert point["n_train_timed"] == QUICK_SAMPLES
        assert list(point["engines"]) == list(QUICK_ENGINES)
        for name, entry in point["engines"].items():
            assert entry["status"] == "ok", (name, entry["error"])
            assert len(entry["runs"]) == 1, name
            assert entry["warmup_runs"] == [], name
            assert entry["runs"][0]["train_time_s"] > 0, name
            assert entry["median_epoch_time_s"] > 0, name
            assert entry["median_gflops"] > 0, name


def test_quick_sweep_scales_time_to_full_set(quick_run):
    _, _, results, _ = quick_run
    n_full = results["config"]["n_train_full"]
    assert n_full == results["dataset"]["n_train"]
    assert results["config"]["n_train_timed"] == QUICK_SAMPLES
    for point in results["points"]:
        for entry in point["engines"].values():
            expected = entry["median_epoch_time_s"] * n_full / QUICK_SAMPLES
            assert entry["estimated_full_epoch_time_s"] == pytest.approx(expected)


def test_quick_sweep_measures_one_peak(quick_run):
    _, _, results, _ = quick_run
    assert [(peak["dtype"], peak["threads"]) for peak in results["peaks"]] == [("float32", 1)]
    after = results["peaks"][0]["numpy_after_points"]
    peak = max(results["peaks"][0]["numpy"]["gflops"], after["gflops"])
    assert all(point["peak_gflops"] == peak for point in results["points"])
    assert after["gflops"] > 0
    assert (after["dtype"], after["threads"]) == ("float32", 1)


def test_quick_sweep_csv_has_a_row_per_run(quick_run):
    _, folder, results, _ = quick_run
    with (folder / "results.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(QUICK_BATCH_SIZES) * len(QUICK_ENGINES) * 1
    pairs = sorted((int(row["batch_size"]), row["engine"]) for row in rows)
    assert pairs == sorted((size, name) for size in QUICK_BATCH_SIZES for name in QUICK_ENGINES)
    assert all(float(row["median_epoch_time_s"]) > 0 for row in rows)
    # Every row names its data, so the CSVs of several sweeps can be stacked. The
    # default is Fashion-MNIST, or synthetic data of its shape where it is not installed.
    expected = "synthetic" if results["dataset"]["synthetic"] else "fashion-mnist"
    assert {row["dataset"] for row in rows} == {expected}
    training = {key: str(value) for key, value in results["config"]["training"].items()}
    assert training.keys() == {"lr", "momentum", "weight_decay", "schedule", "seed"}
    for row in rows:
        assert {key: row[key] for key in training} == training
        assert row["n_train_full"] == str(results["config"]["n_train_full"])
        assert row["timestamp_utc"] == results["environment"]["timestamp_utc"]
        # Empty where the per-thread counters are missing (not Linux).
        if row["cpu_contention_share"]:
            assert 0 <= float(row["cpu_contention_share"]) <= 1


def test_quick_sweep_prints_the_table(quick_run):
    _, folder, results, out = quick_run
    assert f"time/epoch ({QUICK_SAMPLES} rows)" in out
    assert f"est. time/epoch ({results['config']['n_train_full']:,} rows)" in out
    assert "% of peak" in out
    after = results["peaks"][0]["numpy_after_points"]["gflops"]
    assert f"{after:.3g} GFLOP/s after its points" in out
    assert f"results written to {folder}" in out


# ----- data -------------------------------------------------------------------------------


def test_sweep_falls_back_to_synthetic_data(tmp_path, monkeypatch, capsys):
    def missing(*args, **kwargs):
        raise DataError("Fashion-MNIST files not found: train-images-idx3-ubyte[.gz].\nSearched: ...")

    monkeypatch.setattr(sweep_module, "load_dataset", missing)
    folder = tmp_path / "out"
    arguments = ["--samples", "300", "--batch-sizes", "64", "--engines", "numpy"]
    result = run_cli(capsys, *QUICK_ARGUMENTS, *arguments, "--out", folder)

    assert result.status == 0, result.err
    dataset = json.loads((folder / "results.json").read_text(encoding="utf-8"))["dataset"]
    assert dataset["synthetic"] is True
    assert dataset["name"] == "synthetic"
    assert dataset["requested"] == "fashion-mnist"
    assert dataset["fallback_reason"] == "Fashion-MNIST files not found: train-images-idx3-ubyte[.gz]"
    assert (dataset["n_train"], dataset["n_test"], dataset["n_features"]) == (60000, 10000, 784)
    assert "SYNTHETIC DATA: fashion-mnist was not available" in result.out
    assert "Data: synthetic: 60,000 + 10,000 random images" in " ".join(result.out.split())
    assert "[.gz].)" not in result.out
    assert "synthetic data set" in result.err


def test_sweep_never_replaces_a_path(tmp_path):
    with pytest.raises(DataError):
        load_sweep_data(str(tmp_path / "no-such-data.npz"))


def test_synthetic_dataset_shape_and_range():
    data = synthetic_dataset(seed=3)
    assert data.x_train.shape == (60000, 784)
    assert data.x_test.shape == (10000, 784)
    assert data.x_train.dtype == np.float32
    assert data.x_train.min() >= 0
    assert data.x_train.max() < 1
    assert set(np.unique(data.y_train)) == set(range(10))
    again = synthetic_dataset(seed=3)
    assert np.array_equal(data.x_test[:50], again.x_test[:50])
    assert np.array_equal(data.y_train, again.y_train)


# ----- the runner -------------------------------------------------------------------------


def test_sweep_measures_peak_once_per_pair(digits_sweep):
    results, calls = digits_sweep
    assert [(call.settings["dtype"], call.settings["threads"]) for call in calls] == [
        ("float32", 1),
        ("float64", 1),
    ]
    assert len(results["points"]) == 4
    assert len(results["peaks"]) == 2


def test_sweep_measures_numpy_peak_again_after_each_pair(monkeypatch):
    events = []
    measure_before, compare, measure_after = (
        sweep_module.measure_peaks,
        sweep_module.run_comparison,
        sweep_module.measure_numpy_peak,
    )

    def before(config):
        events.append(("before", config.settings["dtype"]))
        return measure_before(config)

    def point(data, config, **kwargs):
        events.append(("point", config.settings["dtype"], config.settings["batch_size"]))
        return compare(data, config, **kwargs)

    def after(config, dtype, threads):
        events.append(("after", dtype))
        return measure_after(config, dtype, threads)

    monkeypatch.setattr(sweep_module, "measure_peaks", before)
    monkeypatch.setattr(sweep_module, "run_comparison", point)
    monkeypatch.setattr(sweep_module, "measure_numpy_peak", after)
    results = digits_sweep_results(dtypes=["float32", "float64"])

    assert events == [
        ("before", "float32"),
        ("point", "float32", 64),
        ("point", "float32", 256),
        ("after", "float32"),
        ("before", "float64"),
        ("point", "float64", 64),
        ("point", "float64", 256),
        ("after", "float64"),
    ]
    after_peaks = [peak["numpy_after_points"] for peak in results["peaks"]]
    assert [(peak["dtype"], peak["threads"]) for peak in after_peaks] == [("float32", 1), ("float64", 1)]
    assert all(peak["gflops"] > 0 for peak in after_peaks)


@pytest.mark.parametrize(("factor", "warned"), [(0.5, True), (1.3, True), (0.9, False)])
def test_sweep_warns_when_peak_changes_over_a_pair(monkeypatch, factor, warned):
    before = []
    measure = sweep_module.measure_peaks
    monkeypatch.setattr(
        sweep_module, "measure_peaks", lambda config: before.append(measure(config)) or before[-1]
    )
    # What a machine that changed speed during the pair's points would measure afterwards.
    monkeypatch.setattr(
        sweep_module,
        "measure_numpy_peak",
        lambda config, dtype, threads: dataclasses.replace(
            before[-1].numpy, gflops=before[-1].numpy.gflops * factor
        ),
    )
    results = digits_sweep_results(batch_sizes=[64])

    peak = before[0].numpy.gflops
    assert results["peaks"][0]["numpy_after_points"]["gflops"] == pytest.approx(peak * factor)
    changed = [message for message in results["warnings"] if "after them" in message]
    assert len(changed) == int(warned)
    if warned:
        assert changed[0].startswith(f"float32 on 1 thread(s): the matmul peak was {peak:.3g} GFLOP/s")
    # The higher reading is the yardstick for every "% of peak" of the pair.
    used = peak * max(factor, 1.0)
    point = results["points"][0]
    assert point["peak_gflops"] == pytest.approx(used)
    for entry in point["engines"].values():
        shares = [100 * run["gflops"] / used for run in entry["runs"]]
        assert [run["percent_of_peak"] for run in entry["runs"]] == pytest.approx(shares)
        assert entry["median_percent_of_peak"] == pytest.approx(np.median(shares))
        assert entry["summary"]["percent_of_peak"]["values"] == pytest.approx(shares)


def test_sweep_rescales_own_pair_only(monkeypatch):
    # float32's first reading is disturbed to 0.1 GFLOP/s, so its runs "reach" far over
    # 100%; the reading after its points is 1000x higher. float64's later reading is lower.
    before = {}
    measure = sweep_module.measure_peaks

    def disturbed(config):
        measured = measure(config)
        dtype = config.settings["dtype"]
        if dtype == "float32":
            measured = dataclasses.replace(measured, numpy=dataclasses.replace(measured.numpy, gflops=0.1))
        before[dtype] = measured.numpy
        return measured

    def after(config, dtype, threads):
        factor = 1000 if dtype == "float32" else 0.9
        return dataclasses.replace(before[dtype], gflops=before[dtype].gflops * factor)

    monkeypatch.setattr(sweep_module, "measure_peaks", disturbed)
    monkeypatch.setattr(sweep_module, "measure_numpy_peak", after)
    # float64 first, so that float32's rescale runs when float64's points exist too.
    results = digits_sweep_results(batch_sizes=[64], dtypes=["float64", "float32"])

    float64, float32 = results["points"]
    assert float32["peak_gflops"] == pytest.approx(100.0)
    assert float64["peak_gflops"] == before["float64"].gflops
    for point in (float32, float64):
        runs = point["engines"]["numpy"]["runs"]
        expected = [100 * run["gflops"] / point["peak_gflops"] for run in runs]
        assert [run["percent_of_peak"] for run in runs] == pytest.approx(expected)
        # A 64-16-10 network on the digits runs far below 100 GFLOP/s.
        assert max(expected) < 100
    # The plots draw the peak that the shares divide by.
    assert _peak_of(results, "float32", 1)["gflops"] == pytest.approx(100.0)
    assert _peak_of(results, "float64", 1)["gflops"] == before["float64"].gflops
    # Against 0.1 GFLOP/s the float32 runs had been far above the peak; that warning is gone.
    assert [message for message in results["warnings"] if "a run reached" in message] == []


def test_sweep_takes_compare_style_single_values():
    # Flags must be written in full, so the names train and compare use are aliases of
    # the grid's list flags rather than shortened forms of them.
    from mlpbench.cli import build_parser
    from mlpbench.cli.config import parse_arguments

    argv = ["sweep", "--batch-size", "64", "--dtype", "float64", "--threads", "1"]
    args = parse_arguments(build_parser(), argv)

    grid = (args.batch_sizes, args.dtypes, args.threads_list)
    assert grid == ([64], ["float64"], [1])


def test_sweep_hidden_is_not_an_alias(capsys):
    # compare's --hidden 256,128 is one network of two layers; sweep must not read it as two.
    result = run_cli(capsys, "sweep", "--hidden", "256,128")

    assert result.status == 2
    assert "sweep has no --hidden: sweep times networks of one hidden layer" in result.err
    assert "--hidden-sizes lists their widths, so 512,256 there means two networks" in result.err
    assert "use compare --hidden 512,256 for one network with both layers" in result.err
    assert "did you mean" not in result.err


def test_sweep_config_hidden_explained(capsys, tmp_path):
    config = tmp_path / "compare.toml"
    config.write_text("hidden = [64]\n", encoding="utf-8")

    result = run_cli(capsys, "sweep", "--config", config, "--print-config")

    assert result.status == 2
    assert "not of sweep; sweep times networks of one hidden layer, and hidden-sizes lists" in result.err
    assert "did you mean" not in result.err


def test_sweep_plots_whiskers_over_the_quartiles(quick_run):
    from mlpbench.bench.sweep_report import _plot_rows

    _, _, results, _ = quick_run
    rows = _plot_rows(results["points"])
    point = results["points"][0]
    first = [row for row in rows if row["batch_size"] == point["batch_size"]]
    numpy_row = next(row for row in first if row["engine"] == "numpy")
    summary = point["engines"]["numpy"]["summary"]
    assert numpy_row["seconds_q1"] == summary["epoch_time_s"]["q1"]
    assert numpy_row["seconds_q3"] == summary["epoch_time_s"]["q3"]
    assert numpy_row["gflops_q1"] <= numpy_row["gflops"] <= numpy_row["gflops_q3"]


def test_sweep_names_runs_above_the_peak_once(monkeypatch):
    # Both readings of the float32 peak are disturbed to 0.1 GFLOP/s, so every point's
    # runs exceed it: one summary line, not one warning per point as well.
    measure = sweep_module.measure_numpy_peak

    def disturbed(config, dtype="float32", threads=1):
        return dataclasses.replace(measure(config, dtype, threads), gflops=0.1)

    monkeypatch.setattr(sweep_module, "measure_peaks", lambda config: MeasuredPeaks(disturbed(config), None))
    monkeypatch.setattr(sweep_module, "measure_numpy_peak", disturbed)

    results = digits_sweep_results()

    above = [message for message in results["warnings"] if "100% of the measured NumPy peak" in message]
    assert len(above) == 1, results["warnings"]
    assert above[0].startswith(f"{len(results['points'])} result(s) exceed 100%")
    assert not [message for message in results["warnings"] if "a run reached" in message]
    for point in results["points"]:
        assert any("a run reached" in message for message in point["warnings"])


def test_sweep_warns_about_peaks_once_per_pair(monkeypatch):
    measure = sweep_module.measure_peaks

    def disturbed(config):
        # What a busy machine would measure: a shrunk NumPy matrix and a slow torch.mm. Its
        # reading stays above the one after the points, so it remains the yardstick.
        measured = measure(config)
        numpy_peak = dataclasses.replace(measured.numpy, size=315, gflops=measured.numpy.gflops * 100)
        return MeasuredPeaks(numpy=numpy_peak, torch={"gflops": numpy_peak.gflops / 20})

    monkeypatch.setattr(sweep_module, "measure_peaks", disturbed)

    results = digits_sweep_results()

    shrunk = [message for message in results["warnings"] if "measured on 315x315" in message]
    slow_torch = [message for message in results["warnings"] if "PyTorch's matmul peak" in message]
    assert len(shrunk) == 1
    assert len(slow_torch) == 1
    assert shrunk[0].startswith("float32 on 1 thread(s): the matmul peak used for '% of peak' (")
    assert "measured on 315x315 matrices" in shrunk[0]
    assert all(any("315x315" in message for message in point["warnings"]) for point in results["points"])


def test_point_warnings_drop_peak_replaced_after_the_points(monkeypatch):
    # The reading before the points shrank its matrices. The full-size one after them is
    # higher and becomes the yardstick, so no point may still warn about the shrunk one.
    measure = sweep_module.measure_peaks

    def shrunk_before(config):
        measured = measure(config)
        return MeasuredPeaks(
            numpy=dataclasses.replace(measured.numpy, size=315, gflops=measured.numpy.gflops / 10),
            torch=measured.torch,
        )

    monkeypatch.setattr(sweep_module, "measure_peaks", shrunk_before)

    results = digits_sweep_results()

    for point in results["points"]:
        assert not any("315x315" in message for message in point["warnings"]), point["warnings"]
        assert point["peak_gflops"] == results["peaks"][0]["numpy_after_points"]["gflops"]


def test_sweep_names_disturbed_torch_peak_once(monkeypatch):
    measure = sweep_module.measure_peaks

    def torch_peak_stalled(config):
        # A torch.mm peak below anything the torch engines reach: its measurement stalled.
        return MeasuredPeaks(numpy=measure(config).numpy, torch={"gflops": 1e-6})

    monkeypatch.setattr(sweep_module, "measure_peaks", torch_peak_stalled)

    results = digits_sweep_results(engines=["numpy", "torch"])

    slow_torch = [message for message in results["warnings"] if "PyTorch's matmul peak" in message]
    assert len(slow_torch) == 1, slow_torch
    assert "yet a torch engine's run reached" in slow_torch[0]


def test_sweep_counts_points_on_a_busy_machine(monkeypatch):
    import mlpbench.bench.compare as compare_module

    busy = {"seconds": 2.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": 0.45, "logical_cpus": 2}
    busy.update(busiest_thread_wait_share=0.45, steal_share=0.0)
    # What compare and sweep would measure with another process on the same CPU throughout.
    monkeypatch.setattr(compare_module, "contention", lambda before, after: dict(busy))
    monkeypatch.setattr(sweep_module, "contention", lambda before, after: dict(busy))

    results = digits_sweep_results()

    per_point = [message for message in results["warnings"] if "point(s) ran while" in message]
    assert per_point == [
        "2 point(s) ran while the process waited for a CPU or the hypervisor held CPU time back: "
        "hidden 16, float32, 1 thread(s), batch 64 at 45%; hidden 16, float32, 1 thread(s), batch 256 "
        "at 45%. Their timings are probably slowed (the table marks them, and the plots ring them), "
        "so rerun them on a quiet machine or with fewer threads"
    ]
    console = Console(width=200, record=True)
    console.print(build_table(results))
    assert console.export_text().count("(CPU wait 45%)") == 2
    # The sweep-wide warning appears once, not once per point.
    assert sum("waited for a CPU 45%" in message for message in results["warnings"]) == 1
    assert all(point["cpu_contention"] == busy for point in results["points"])
    assert results["cpu_contention"] == busy


@pytest.mark.parametrize(
    ("shares", "expected"),
    [
        ((0.45, 0.45, 0.0), "CPU wait 45%"),
        ((0.02, 0.03, 0.30), "steal 30%"),
        ((0.02, 0.03, None), None),
    ],
    ids=["waiting", "steal", "quiet"],
)
def test_slowed_cause_names_wait_or_steal(shares, expected):
    from mlpbench.bench.sweep_report import slowed_cause

    wait, busiest, steal = shares
    measured = {"wait_share": wait, "busiest_thread_wait_share": busiest, "steal_share": steal}

    assert slowed_cause({"cpu_contention": measured}) == expected


def test_table_marks_each_engine_by_its_worst_run(digits_sweep):
    # The point waited 48% in all; one numpy run waited 50%, which its own warning names.
    results = copy.deepcopy(digits_sweep[0])
    point = results["points"][0]

    def measured(share: float) -> dict:
        return {"wait_share": share, "busiest_thread_wait_share": share, "steal_share": 0.0}

    point["cpu_contention"] = measured(0.483)
    for run in point["engines"]["numpy"]["runs"]:
        run["cpu_contention"] = measured(0.2)
    point["engines"]["numpy"]["runs"][-1]["cpu_contention"] = measured(0.503)
    for run in point["engines"]["raising"]["runs"]:
        run["cpu_contention"] = measured(0.01)

    console = Console(width=200, record=True)
    console.print(build_table({**results, "points": [point]}))
    rows = [line for line in console.export_text().splitlines() if "numpy" in line or "raising" in line]

    assert "(CPU wait 50%)" in rows[0]
    assert "CPU wait" not in rows[1]
    expected = "numpy: a timed run's threads lost CPU time (CPU wait 50%, marked in the table)"
    assert slowed_engine_warnings(point["engines"])[0].startswith(expected)


def test_sweep_records_failing_engine_and_continues(digits_sweep):
    results, _ = digits_sweep
    for point in results["points"]:
        failed = point["engines"]["raising"]
        assert failed["status"] == "failed"
        assert failed["error"] == "step exploded on purpose [code 9]"
        assert failed["median_epoch_time_s"] is None
        assert point["engines"]["numpy"]["status"] == "ok"
        assert point["engines"]["numpy"]["median_epoch_time_s"] > 0
    assert any("raising failed" in message for message in results["warnings"])


def test_sweep_writes_plots_per_combination(digits_sweep, tmp_path):
    results, _ = digits_sweep
    write_sweep_outputs(results, tmp_path)
    expected = [
        "gflops_vs_batch-h16-float32-t1.png",
        "gflops_vs_batch-h16-float64-t1.png",
        "gflops_vs_batch.png",
        "time_vs_batch-h16-float32-t1.png",
        "time_vs_batch-h16-float64-t1.png",
        "time_vs_batch.png",
    ]
    assert sorted(path.name for path in tmp_path.glob("*.png")) == expected
    written = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert written["files"]["plots"] == expected
    plots_line = [line for line in summary_lines(results) if line.startswith("Plots:")]
    assert plots_line == [
        "Plots: time_vs_batch.png and gflops_vs_batch.png show hidden 16, float32, 1 thread(s); "
        "each of the 2 combinations also has its own pair, such as time_vs_batch-h16-float32-t1.png."
    ]


def test_sweep_rejects_too_many_samples(tmp_path, capsys):
    folder = tmp_path / "out"
    arguments = ["--dataset", "digits", "--samples", "5000", "--out", folder]
    result = run_cli(capsys, *QUICK_ARGUMENTS, *arguments)
    assert result.status == 2
    assert "--samples 5000 exceeds the 1437 training rows of digits; use 1437 or fewer" in result.err
    # Rejected before the grid is announced.
    assert "points x" not in result.err
    assert not folder.exists()


# ----- flags ------------------------------------------------------------------------------


def test_quick_sweep_times_small_data_whole(capsys, tmp_path):
    out = tmp_path / "out"

    result = run_cli(capsys, "sweep", "--quick", "--dataset", "digits", "--threads", "1", "--out", out)

    assert result.status == 0, result.err
    assert "--quick times 6000 rows, but digits has 1437 training rows; timing all of them" in result.err
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {point["n_train_timed"] for point in results["points"]} == {1437}


def test_quick_preset_keeps_explicit_flags(capsys):
    result = run_cli(capsys, "sweep", "--quick", "--samples", "700", "--print-config")
    assert result.status == 0, result.err
    assert "samples = 700" in result.out
    assert "batch-sizes = [16, 64, 256, 1024]" in result.out
    assert "hidden-sizes = [128]" in result.out
    assert 'dtypes = ["float32"]' in result.out


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("16,x", "'x' is not an integer"),
        ("16,0", "0 is below 1; every entry must be 1 or more"),
        ("8,8", "8 appears twice"),
        ("16,,32", "empty item"),
        ("", "got nothing"),
    ],
)
def test_parse_int_list_rejects(text, fragment):
    with pytest.raises(argparse.ArgumentTypeError, match=fragment):
        parse_int_list(text)


def test_parse_int_list_accepts_spaces():
    assert parse_int_list("16, 32,64") == [16, 32, 64]


@pytest.mark.parametrize("text", ["1,1", "all,ALL"])
def test_parse_threads_list_rejects_repeats(text):
    with pytest.raises(argparse.ArgumentTypeError, match="appears twice"):
        parse_threads_list(text)


def test_parse_threads_list_resolves_all(monkeypatch):
    monkeypatch.setattr(sweep_module.os, "cpu_count", lambda: 6)
    assert parse_threads_list("1,all") == [1, 6]
    assert parse_threads_list("6,all") == [6]


def test_sweep_rejects_invalid_flag(capsys):
    result = run_cli(capsys, "sweep", "--dtypes", "float16")
    assert result.status == 2
    assert "invalid dtype 'float16'" in result.err


def test_sweep_counts_runs_without_learning():
    # lr 5 kills every ReLU on the digits, so no point learns.
    results = digits_sweep_results(training={"lr": 5.0})

    learning = [message for message in results["warnings"] if "did not learn" in message]
    assert len(learning) == 1
    expected = "2 of the 2 results (one per engine and point) did not learn, first hidden 16"
    assert learning[0].startswith(expected)
    for point in results["points"]:
        assert point["engines"]["numpy"]["summary"]["learned"] is False
    # The table and the CSV mark it per point, as compare's do.
    assert {row["learned"] for row in sweep_csv_rows(results)} == {False}
    table = Console(width=200, record=True)
    table.print(build_table(results))
    assert table.export_text().count("did not learn") == len(results["points"])


def test_sweep_names_config_key_of_bad_value(capsys, tmp_path):
    # A value from --config is named by its file and key, as train and compare do.
    config = tmp_path / "bad.toml"
    config.write_text("momentum = 1.5\n", encoding="utf-8")

    result = run_cli(capsys, "sweep", "--config", config)

    assert result.status == 2
    assert f"{config}, key 'momentum': momentum must be in [0, 1), got 1.5" in result.err
    assert "--momentum" not in result.err.splitlines()[-1]


def test_sweep_counts_slowed_points_once(monkeypatch):
    # Each point's engines repeat the busy machine; the sweep gives one line for all points.
    import mlpbench.bench.compare as compare_module

    busy = {"seconds": 1.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": 0.3}
    busy |= {"busiest_thread_wait_share": 0.3, "steal_share": 0.0, "logical_cpus": 2}
    monkeypatch.setattr(compare_module, "contention", lambda before, after: busy)

    messages = digits_sweep_results()["warnings"]

    assert not any("a timed run's threads lost CPU time" in message for message in messages)
    assert sum("2 point(s)" in message for message in messages) == 1
