"""Tests of ``mlpbench compare``: the runner, the output files and the command line."""

from __future__ import annotations

import copy
import csv
import dataclasses
import datetime
import json
import math

import numpy as np
import pytest
from cli_support import run_cli
from rich.console import Console

from mlpbench.bench.compare import (
    CompareConfig,
    MeasuredPeaks,
    parameter_difference,
    round_order,
    run_comparison,
)
from mlpbench.bench.contention import cpu_sample, largest_share
from mlpbench.bench.flops import epoch_flops
from mlpbench.bench.peak import PeakResult
from mlpbench.bench.report import (
    csv_rows,
    fastest_engine_sentence,
    format_percent,
    format_speed,
    print_summary,
    table_rows,
)
from mlpbench.checkpoint import read_checkpoint
from mlpbench.cli import main
from mlpbench.cli.compare import prepare_output_folder
from mlpbench.data import load_dataset
from mlpbench.engines import registry
from mlpbench.engines.numpy_engine import NumpyMLP

ENGINES = ("numpy", "torch", "torch-dataloader", "sklearn")
OUTPUT_FILES = (
    "results.json",
    "results.csv",
    "report.md",
    "loss.png",
    "epoch_time.png",
    "accuracy.png",
    "numpy.npz",
    "torch.pt",
    "torch-dataloader.pt",
)
REPEATS = 2
EPOCHS = 3
# One thread keeps the tests steady on a shared machine; the default is all cores.
FAST_ARGUMENTS = [
    "--repeats",
    str(REPEATS),
    "--warmup",
    "0",
    "--epochs",
    str(EPOCHS),
    "--threads",
    "1",
]


class RaisingMLP(NumpyMLP):
    """An engine whose training step always raises."""

    engine_name = "raising"

    def _train_step(self, X, y, batch, lr):
        raise RuntimeError("step exploded on purpose [code 7]")


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory):
    """Run the default engines once through the CLI and return (status, folder, results)."""
    folder = tmp_path_factory.mktemp("compare") / "out"
    status = main(["-q", "compare", *FAST_ARGUMENTS, "--out", str(folder)])
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return status, folder, results


# ----- end to end -------------------------------------------------------------------------


def test_compare_writes_every_file(compare_run):
    status, folder, _ = compare_run
    assert status == 0
    for name in OUTPUT_FILES:
        assert (folder / name).is_file(), name
        assert (folder / name).stat().st_size > 0, name
    assert not (folder / "sklearn.npz").exists()
    assert not list(folder.glob(".*.tmp*")), "temporary files left behind"


def test_compare_results_hold_every_run(compare_run):
    _, _, results = compare_run
    assert list(results["engines"]) == list(ENGINES)
    for name, entry in results["engines"].items():
        assert entry["status"] == "ok", name
        assert len(entry["runs"]) == REPEATS, name
        assert entry["warmup_runs"] == [], name
        for run in entry["runs"]:
            assert run["epochs"] == EPOCHS, name
            assert len(run["history"]) == EPOCHS, name
            assert len(run["epoch_times_s"]) == EPOCHS, name
            assert all(seconds > 0 for seconds in run["epoch_times_s"]), name
            assert run["train_time_s"] > 0, name
            assert run["samples_per_s"] > 0, name
            assert run["peak_rss_bytes"] > 0, name


def test_compare_accuracy_above_90_percent(compare_run):
    _, _, results = compare_run
    for name, entry in results["engines"].items():
        for run in entry["runs"]:
            assert run["test_accuracy"] > 0.9, name


def test_compare_numpy_torch_parity(compare_run):
    _, _, results = compare_run
    parity = results["parity"]
    assert parity["status"] == "ok"
    assert parity["max_relative_difference"] < 1e-4
    assert [entry["name"] for entry in parity["arrays"]] == ["W0", "b0", "W1", "b1"]
    assert parity["test_prediction_agreement"] > 0.99


def test_compare_gflops_match_flop_count(compare_run):
    _, _, results = compare_run
    config = results["config"]
    model = config["model"]
    flops = epoch_flops(
        config["layer_sizes"],
        config["dataset"]["n_train"],
        model["batch_size"],
        momentum=model["momentum"] > 0,
        weight_decay=model["weight_decay"] > 0,
    )
    assert config["flops_per_epoch"] == flops
    run = results["engines"]["torch"]["runs"][0]
    expected = flops * len(run["epoch_times_s"]) / math.fsum(run["epoch_times_s"]) / 1e9
    assert run["gflops"] == pytest.approx(expected, rel=1e-9)
    peak = results["peak_used_gflops"]
    assert peak == max(results["peak"]["gflops"], results["peak_after_runs"]["gflops"])
    assert run["percent_of_peak"] == pytest.approx(100 * expected / peak, rel=1e-9)


def _fixed_peak(gflops: float) -> PeakResult:
    return PeakResult(
        gflops=gflops, median_gflops=gflops, size=1024, dtype="float32", threads=1, repeats=9, seconds=0.3
    )


def test_percent_of_peak_uses_higher_reading(monkeypatch):
    import mlpbench.bench.compare as compare_module

    # A disturbed first reading of 50 GFLOP/s, then 200 after the runs.
    before, after = _fixed_peak(50.0), _fixed_peak(200.0)
    monkeypatch.setattr(compare_module, "measure_peaks", lambda config: MeasuredPeaks(before, None))
    monkeypatch.setattr(compare_module, "measure_numpy_peak", lambda config, dtype, threads: after)
    config = CompareConfig(engines=["numpy"], settings={"epochs": 1, "hidden": [8], "threads": 1}, repeats=2)

    results = run_comparison(load_dataset("digits"), config).results

    assert results["peak_used_gflops"] == 200.0
    for run in results["engines"]["numpy"]["runs"] + results["engines"]["numpy"]["warmup_runs"]:
        assert run["percent_of_peak"] == pytest.approx(100 * run["gflops"] / 200.0, rel=1e-12)
    used = "'% of peak' uses the higher reading, 200 GFLOP/s"
    assert any(used in message for message in results["warnings"])
    console = Console(record=True, width=200)
    print_summary(results, console)
    printed = console.export_text()
    assert "(peak 200 GFLOP/s)" in printed
    readings = "50 GFLOP/s before the runs, 200 GFLOP/s after them"
    assert f"{readings}; '% of peak' uses the higher reading." in printed


def test_compare_records_positive_peak(compare_run):
    _, _, results = compare_run
    assert results["peak"]["gflops"] > 0
    assert results["peak"]["dtype"] == "float32"
    assert results["peak"]["threads"] == 1
    assert results["peak_torch"]["gflops"] > 0
    assert results["peak_after_runs"]["gflops"] > 0
    assert results["peak_after_runs"]["threads"] == 1


def test_compare_report_shows_peak_after_runs(compare_run):
    _, folder, _ = compare_run
    assert "| NumPy, after the runs |" in (folder / "report.md").read_text(encoding="utf-8")


def test_compare_prints_peak_before_and_after(compare_run):
    _, _, results = compare_run
    console = Console(record=True, width=200)

    print_summary(results, console)

    assert "GFLOP/s before the runs" in console.export_text()


@pytest.mark.skipif(cpu_sample() is None, reason="needs Linux scheduler counters")
def test_compare_records_waiting_for_a_cpu(compare_run):
    _, folder, results = compare_run
    measured = results["cpu_contention"]
    console = Console(record=True, width=200)

    print_summary(results, console)

    assert 0.0 <= measured["wait_share"] <= 1.0
    # The whole comparison, peaks included, lies inside the measured interval.
    timed = sum(run["train_time_s"] for entry in results["engines"].values() for run in entry["runs"])
    assert measured["seconds"] > timed
    assert measured["run_s"] > timed / 2
    assert "Waiting for a CPU: this process's threads waited" in console.export_text()
    assert "Waiting for a CPU: this process's threads waited" in (folder / "report.md").read_text(
        encoding="utf-8"
    )


def test_compare_records_environment_and_config(compare_run):
    _, _, results = compare_run
    assert results["schema_version"] == 1
    assert results["kind"] == "compare"
    assert results["environment"]["threads"] == 1
    assert results["config"]["dataset"]["name"] == "digits"
    assert results["config"]["repeats"] == REPEATS
    assert results["config"]["model"]["epochs"] == EPOCHS
    assert results["engines"]["numpy"]["summary"]["speed_vs_numpy"] == pytest.approx(1.0)


def test_compare_report_names_every_engine(compare_run):
    _, folder, _ = compare_run
    report = (folder / "report.md").read_text(encoding="utf-8")
    for name in ENGINES:
        assert f"| {name} |" in report, name
    for image in ("loss.png", "epoch_time.png", "accuracy.png"):
        assert f"]({image})" in report, image
    assert "sklearn: no parameter file" in report


def test_compare_report_names_each_engines_blas(compare_run):
    # Two OpenBLAS copies are loaded and torch multiplies through a third library, so
    # the report names the library behind each engine.
    _, folder, results = compare_run
    report = (folder / "report.md").read_text(encoding="utf-8")
    torch_info = results["environment"]["torch"]
    assert (
        f"| PyTorch | {torch_info['version']}, matrix products through {torch_info['blas']}, "
        f"{torch_info['num_threads']} thread(s), {torch_info['num_interop_threads']} inter-op thread(s) |"
    ) in report
    assert "| blas: openblas (shipped with numpy) |" in report


def test_compare_report_describes_whiskers(compare_run):
    # The epoch-time plot draws its whiskers over the middle half of the epochs.
    _, folder, _ = compare_run
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert "whiskers from the 25th to the 75th percentile](epoch_time.png)" in report
    assert "min-max whiskers" not in report


def test_compare_csv_one_row_per_run(compare_run):
    _, folder, _ = compare_run
    with open(folder / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(ENGINES) * REPEATS
    assert {row["engine"] for row in rows} == set(ENGINES)
    assert all(float(row["train_time_s"]) > 0 for row in rows)
    assert {row["learned"] for row in rows} == {"True"}


def test_compare_csv_repeats_the_settings(compare_run):
    # Every row names its data set and model, so the CSVs of several runs can be stacked.
    _, folder, results = compare_run
    with open(folder / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = {"dataset": "digits", "hidden": "128", "batch_size": "64", "dtype": "float32", "threads": "1"}
    expected |= {"lr": "0.05", "momentum": "0.9", "weight_decay": "0.0", "schedule": "constant", "seed": "0"}
    expected |= {"standardize": "False", "timestamp_utc": results["environment"]["timestamp_utc"]}
    assert results["config"]["threads"] == 1
    assert all({key: row[key] for key in expected} == expected for row in rows)

    deeper = copy.deepcopy(results)
    deeper["config"]["model"]["hidden"] = [256, 128]
    assert {row["hidden"] for row in csv_rows(deeper)} == {"256,128"}
    deeper["config"]["model"]["hidden"] = []
    assert {row["hidden"] for row in csv_rows(deeper)} == {"0"}


def test_compare_saves_loadable_parameters(compare_run):
    _, folder, results = compare_run
    model = NumpyMLP.load(folder / "numpy.npz")
    last = results["engines"]["numpy"]["runs"][-1]
    assert model.epoch_ == EPOCHS
    assert results["engines"]["numpy"]["parameter_file"] == "numpy.npz"
    assert [record["train_loss"] for record in model.history_] == pytest.approx(
        [record["train_loss"] for record in last["history"]]
    )


@pytest.mark.parametrize("engine, suffix", [("numpy", ".npz"), ("torch", ".pt")])
def test_compare_files_record_dataset(compare_run, capsys, engine, suffix):
    # evaluate needs no --dataset: the file names the data set it was trained on.
    _, folder, results = compare_run
    checkpoint = read_checkpoint(folder / f"{engine}{suffix}")
    assert checkpoint.dataset["name"] == "digits"
    assert checkpoint.dataset["n_classes"] == 10

    result = run_cli(capsys, "evaluate", folder / f"{engine}{suffix}", "--json")

    assert result.status == 0, result.err
    accuracy = json.loads(result.out)["accuracy"]
    assert accuracy == pytest.approx(results["engines"][engine]["runs"][-1]["test_accuracy"])


# ----- failures ---------------------------------------------------------------------------


def test_compare_reports_failing_engines(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.ENGINES, "raising", f"{__name__}:RaisingMLP")
    monkeypatch.setitem(registry.ENGINES, "missing", "mlpbench.no_such_module:MissingMLP")
    folder = tmp_path / "out"
    arguments = ["--engines", "numpy,raising,missing", "--repeats", "2", "--warmup", "1"]
    status = main(["-q", "compare", *arguments, "--epochs", "1", "--threads", "1", "--out", str(folder)])
    table = capsys.readouterr().out
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    engines = results["engines"]

    assert status == 1
    assert engines["numpy"]["status"] == "ok"
    assert len(engines["numpy"]["runs"]) == 2
    assert engines["raising"]["status"] == "failed"
    assert engines["raising"]["error"] == "step exploded on purpose [code 7]"
    assert engines["raising"]["error_type"] == "RuntimeError"
    assert engines["raising"]["summary"] is None
    assert len(engines["raising"]["warmup_runs"]) == 1
    assert engines["raising"]["runs"] == []
    assert engines["missing"]["status"] == "failed"
    assert engines["missing"]["error_type"] == "ModuleNotFoundError"
    assert "step exploded on purpose [code 7]" in table
    assert table.count("step exploded on purpose") == 1, "the error should be printed once"
    assert "failed (RuntimeError)" in table
    assert any("raising failed" in message for message in results["warnings"])
    assert "ModuleNotFoundError" in table
    assert (folder / "report.md").is_file()
    assert "failed" in (folder / "report.md").read_text(encoding="utf-8")
    assert (folder / "numpy.npz").is_file()
    assert results["parity"]["status"] == "unavailable"
    assert results["parity"]["reason"] == "torch not among the engines run"


def test_compare_names_a_divergence_fix_once(tmp_path, capsys):
    # The line logged when the run fails names the problem; the fix comes once, after the table.
    arguments = ["--engines", "numpy", "--lr", "1000", "--epochs", "1", "--repeats", "1", "--warmup", "0"]
    result = run_cli(capsys, "compare", *arguments, "--threads", "1", "--out", tmp_path / "out")

    assert "error: engine numpy failed: TrainingDivergedError: training diverged: loss is" in result.err
    assert "; it is not run again" in result.err
    output = result.out + result.err
    assert output.count("try a smaller --lr") == 1
    # The command-line form, as train gives it: the flag and an lr to try, no Python advice.
    assert "try a smaller --lr (for example --lr 0.05, the default)" in output
    assert "lr in Python" not in output
    assert "scaled to [0, 1]" not in output


def test_compare_samples_trains_on_first_rows(tmp_path, capsys):
    arguments = ["--engines", "numpy", "--samples", "300", "--epochs", "1", "--repeats", "1", "--warmup", "0"]
    result = run_cli(capsys, "compare", *arguments, "--threads", "1", "--out", tmp_path / "out")

    assert result.status == 0, result.err
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    dataset = results["config"]["dataset"]
    assert dataset["n_train"] == 300
    assert dataset["n_train_full"] == len(load_dataset("digits").y_train)
    assert dataset["n_test"] == len(load_dataset("digits").y_test)
    model = results["config"]["model"]
    flops = epoch_flops(
        results["config"]["layer_sizes"],
        300,
        model["batch_size"],
        momentum=model["momentum"] > 0,
        weight_decay=model["weight_decay"] > 0,
    )
    assert results["config"]["flops_per_epoch"] == flops
    expected = f"the first 300 of {dataset['n_train_full']:,}"
    assert f"Trained on {expected} training rows (--samples)." in result.out
    assert f"| rows | {expected} train," in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    with open(tmp_path / "out" / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {(row["n_train"], row["n_train_full"]) for row in rows} == {("300", str(dataset["n_train_full"]))}


def test_compare_samples_blamed_for_missing_class(tmp_path, capsys):
    # The first five digits rows hold only some classes; the labels themselves are fine.
    arguments = ["--engines", "numpy", "--samples", "5", "--batch-size", "5", "--epochs", "1"]
    arguments += ["--repeats", "1", "--warmup", "0", "--threads", "1", "--out", str(tmp_path / "out")]
    result = run_cli(capsys, "compare", *arguments)

    assert "--samples 5 keeps only the first 5 training rows: raise it, or leave it out" in result.err
    assert "stray label" not in result.err


def test_compare_samples_not_blamed_for_absent_class(tmp_path, capsys):
    # The training split has no 9 at all, so fewer rows are not the cause.
    data = load_dataset("digits")
    keep = data.y_train != 9
    path = tmp_path / "no9.npz"
    arrays = {"x_test": data.x_test, "y_test": data.y_test}
    np.savez(path, x_train=data.x_train[keep], y_train=data.y_train[keep], **arrays)
    arguments = ["--dataset", str(path), "--engines", "numpy", "--samples", "1000", "--epochs", "1"]
    arguments += ["--repeats", "1", "--warmup", "0", "--threads", "1", "--out", str(tmp_path / "out")]

    result = run_cli(capsys, "compare", *arguments)

    assert "no training sample has label 9" in result.err
    assert "the usual cause is a training split that lacks classes the test split has" in result.err
    assert "--samples 1000 keeps" not in result.err


def test_compare_samples_above_rows_rejected(tmp_path, capsys):
    result = run_cli(capsys, "compare", "--samples", "100000", "--out", tmp_path / "out")

    assert result.status == 2
    assert "--samples 100000 exceeds the 1437 training rows of digits; use 1437 or fewer" in result.err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ----- output folder and arguments --------------------------------------------------------


def test_compare_rejects_non_empty_out(tmp_path, capsys):
    (tmp_path / "old.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "is not empty" in capsys.readouterr().err
    assert (tmp_path / "old.txt").read_text(encoding="utf-8") == "keep me"
    assert [path.name for path in tmp_path.iterdir()] == ["old.txt"]


def test_compare_rejects_unknown_engine(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--engines", "numpy,tensorflow"])
    assert exit_info.value.code == 2
    assert "unknown engine 'tensorflow'" in capsys.readouterr().err


def test_compare_rejects_repeated_engine(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--engines", "numpy,numpy"])
    assert exit_info.value.code == 2
    assert "more than once" in capsys.readouterr().err


def test_default_output_folder_is_unique(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    now = datetime.datetime(2026, 12, 4, 19, 55, 1)
    first = prepare_output_folder(None, now)
    second = prepare_output_folder(None, now)

    assert first == tmp_path.joinpath("runs", "compare-20261204-195501").relative_to(tmp_path)
    assert second.name == "compare-20261204-195501-2"
    assert first.is_dir()
    assert second.is_dir()


def test_empty_out_folder_is_accepted(tmp_path):
    assert prepare_output_folder(str(tmp_path)) == tmp_path


# ----- runner pieces ----------------------------------------------------------------------


def test_round_order_rotates():
    engines = ["a", "b", "c"]
    assert round_order(engines, 0) == ["a", "b", "c"]
    assert round_order(engines, 1) == ["b", "c", "a"]
    assert round_order(engines, 2) == ["c", "a", "b"]
    assert round_order(engines, 3) == ["a", "b", "c"]


def test_parameter_difference_by_hand():
    reference = [(np.array([[3.0, 4.0]]), np.array([0.0, 0.0]))]
    candidate = [(np.array([[3.0, 4.5]]), np.array([0.0, 0.25]))]
    difference = parameter_difference(candidate, reference)

    # ||[0, 0.5]|| / ||[3, 4]|| = 0.5 / 5; the zero bias falls back to the absolute norm 0.25.
    assert difference["arrays"][0]["relative_difference"] == pytest.approx(0.1)
    assert difference["arrays"][1]["relative_difference"] == pytest.approx(0.25)
    assert difference["max_relative_difference"] == pytest.approx(0.25)


def test_parameter_difference_rejects_shape_mismatch():
    with pytest.raises(ValueError, match="shape"):
        parameter_difference([(np.zeros((2, 3)), np.zeros(3))], [(np.zeros((3, 2)), np.zeros(2))])


def test_peak_warnings_flag_suspect_yardstick() -> None:
    from mlpbench.bench.compare import _peak_warnings
    from mlpbench.bench.peak import PeakResult

    shrunk = PeakResult(
        gflops=5.0, median_gflops=4.0, size=315, dtype="float32", threads=2, repeats=3, seconds=0.3
    )
    engines = {"numpy": {"runs": [{"percent_of_peak": 107.6}, {"percent_of_peak": 40.0}]}}

    messages = _peak_warnings(MeasuredPeaks(numpy=shrunk, torch=None), engines)

    assert any("315x315" in message for message in messages)
    assert any("108% of the measured matmul peak" in message for message in messages)


def test_peak_warnings_silent_for_sound_peak() -> None:
    from mlpbench.bench.compare import _peak_warnings
    from mlpbench.bench.peak import PeakResult

    full = PeakResult(
        gflops=140.0, median_gflops=130.0, size=1024, dtype="float32", threads=2, repeats=9, seconds=0.3
    )

    torch_peak = {"gflops": 135.0}
    peaks = MeasuredPeaks(numpy=full, torch=torch_peak)

    assert _peak_warnings(peaks, {"numpy": {"runs": [{"percent_of_peak": 40.0}]}}) == []


@pytest.mark.parametrize(
    ("torch_gflops", "warned"), [(6.0, True), (69.0, True), (71.0, False), (180.0, False)]
)
def test_peak_warnings_flag_slow_torch_peak(torch_gflops, warned) -> None:
    from mlpbench.bench.compare import _peak_warnings
    from mlpbench.bench.peak import PeakResult

    numpy_peak = PeakResult(
        gflops=140.0, median_gflops=130.0, size=1024, dtype="float32", threads=2, repeats=9, seconds=0.3
    )
    peaks = MeasuredPeaks(numpy=numpy_peak, torch={"gflops": torch_gflops})

    messages = _peak_warnings(peaks, {"numpy": {"runs": []}})
    on_gpu = _peak_warnings(peaks, {"numpy": {"runs": []}}, device="cuda")

    assert any("PyTorch's matmul peak" in message for message in messages) is warned
    assert not any("PyTorch's matmul peak" in message for message in on_gpu)


def test_torch_peak_below_engine_disturbed() -> None:
    from mlpbench.bench.compare import _peak_warnings
    from mlpbench.bench.peak import PeakResult

    numpy_peak = PeakResult(
        gflops=205.0, median_gflops=200.0, size=1024, dtype="float32", threads=2, repeats=9, seconds=0.3
    )
    peaks = MeasuredPeaks(numpy=numpy_peak, torch={"gflops": 3.95})
    engines = {
        "numpy": {"runs": [{"gflops": 130.0}]},
        "torch": {"runs": [{"gflops": 99.1}, {"gflops": 90.0}]},
    }

    (message,) = [message for message in _peak_warnings(peaks, engines) if "PyTorch's matmul peak" in message]

    assert "a torch engine's run reached 99.1 GFLOP/s" in message
    assert "multiplies slowly" not in message


@pytest.mark.parametrize(
    ("after", "warned"), [(100.0, True), (190.0, True), (170.0, True), (165.0, False), (115.0, False)]
)
def test_peak_warnings_flag_peak_change(after, warned) -> None:
    from mlpbench.bench.compare import _peak_warnings
    from mlpbench.bench.peak import PeakResult

    def peak(gflops: float) -> PeakResult:
        return PeakResult(
            gflops=gflops, median_gflops=gflops, size=1024, dtype="float32", threads=2, repeats=9, seconds=0.3
        )

    peaks = MeasuredPeaks(numpy=peak(140.0), torch=None)
    messages = _peak_warnings(peaks, {"numpy": {"runs": []}}, peak(after))

    assert any("before the runs" in message for message in messages) is warned


def test_peak_change_names_shrunk_reading() -> None:
    from mlpbench.bench.compare import peak_change_warning

    before = PeakResult(
        gflops=15.7, median_gflops=15.0, size=397, dtype="float32", threads=2, repeats=9, seconds=0.3
    )
    after = dataclasses.replace(before, gflops=206.0, median_gflops=200.0, size=1024)

    message = peak_change_warning(before, after)

    assert message is not None
    expected = (
        "15.7 GFLOP/s before the runs (on 397x397 matrices, shrunk from 1024x1024 because the machine "
        "was slow then) and 206 GFLOP/s after them, so"
    )
    assert expected in message


@pytest.mark.parametrize(("difference", "explained"), [(3e-2, True), (2e-6, True), (1e-15, False)])
def test_summary_explains_large_parity_gap(compare_run, difference, explained):
    _, _, results = compare_run
    results = copy.deepcopy(results)
    results["parity"]["max_relative_difference"] = difference
    console = Console(record=True, width=200)

    print_summary(results, console)

    text = console.export_text()
    # The console wraps long lines wherever they reach its width.
    flat = " ".join(text.split())
    assert "Parity (numpy vs torch): max relative parameter difference" in text
    assert ("each SGD step can amplify the difference" in flat) is explained
    assert ("on one thread as on several" in flat) is explained
    assert ("does not by itself mean that the engines compute different things" in flat) is explained
    assert "speed vs numpy compares median epoch times, while samples/s" in text


@pytest.mark.parametrize(("difference", "explained"), [(3e-2, True), (1e-15, False)])
def test_report_explains_large_parity_gap(compare_run, difference, explained):
    from mlpbench.bench.report import _markdown_parity

    _, _, results = compare_run
    results = copy.deepcopy(results)
    results["parity"]["max_relative_difference"] = difference

    text = _markdown_parity(results)

    assert ("each SGD step can amplify the difference" in text) is explained


@pytest.mark.parametrize(
    ("agreement", "dtype", "expected"),
    [
        (0.556, "float32", "rerun with --dtype float64 to check that the engines agree"),
        (0.556, "float64", "a smaller --lr usually brings them together"),
        (0.995, "float32", None),
        (0.986, "float32", None),
        (0.941, "float32", None),
        (0.899, "float32", "rerun with --dtype float64 to check that the engines agree"),
        (0.986, "float64", "a smaller --lr usually brings them together"),
    ],
)
def test_parity_gap_warning(agreement, dtype, expected):
    from mlpbench.bench.compare import _parity_warnings

    parity = {"status": "ok", "test_prediction_agreement": agreement, "max_relative_difference": 1.1}

    messages = _parity_warnings(parity, dtype)

    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1
        assert f"predict the same test class for only {agreement:.1%} of samples" in messages[0]
        assert expected in messages[0]


def test_compare_saves_data_warnings(tmp_path):
    data = load_dataset("digits")
    path = tmp_path / "from-one.npz"
    np.savez(path, x_train=data.x_train, y_train=data.y_train + 1, x_test=data.x_test, y_test=data.y_test + 1)
    arguments = ["--dataset", str(path), "--engines", "numpy", "--repeats", "1", "--warmup", "0"]
    arguments += ["--epochs", "1", "--hidden", "8", "--threads", "1", "--out", str(tmp_path / "out")]

    assert main(["-q", "compare", *arguments]) == 0

    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert any("no training sample has label 0" in message for message in results["warnings"])
    assert "labels that start at 1" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_compare_warns_more_threads_than_cpus(tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    arguments = ["--engines", "numpy", "--repeats", "1", "--warmup", "0", "--epochs", "1", "--hidden", "8"]

    assert main(["-q", "compare", *arguments, "--threads", "2", "--out", str(tmp_path / "out")]) == 0

    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    first = results["warnings"][0]
    assert first.startswith("2 threads is more than the 1 logical CPU(s) this process may use")
    assert "use at most 1 thread(s)" in first


def test_interrupted_compare_says_nothing_saved(tmp_path, capsys, monkeypatch):
    import mlpbench.bench.compare as compare_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_module, "run_comparison", interrupted)
    out = tmp_path / "out"

    status = main(["-q", "compare", *FAST_ARGUMENTS, "--out", str(out)])

    assert status == 130
    assert "interrupted before compare had written all its results" in capsys.readouterr().err
    assert not out.exists()


def test_compare_stopped_after_writing_says_results_complete(tmp_path, capsys, monkeypatch):
    import mlpbench.bench.report as report_module

    def interrupted(results):
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "print_summary", interrupted)
    out = tmp_path / "out"

    status = main(["-q", "compare", *FAST_ARGUMENTS, "--out", str(out)])

    assert status == 130
    err = capsys.readouterr().err
    assert f"interrupted after compare had written all its results; they are complete in {out}" in err
    assert (out / "results.json").is_file()


@pytest.mark.parametrize(
    "stop", [KeyboardInterrupt, OSError(28, "No space left on device")], ids=["ctrl-c", "disk"]
)
@pytest.mark.parametrize("existed", [False, True], ids=["new-out", "empty-out"])
def test_compare_stopped_while_writing_leaves_no_partial(tmp_path, capsys, monkeypatch, stop, existed):
    import mlpbench.bench.report as report_module

    def write_some_then_stop(results, folder):
        (folder / "loss.png").write_bytes(b"part of a plot")
        raise stop

    monkeypatch.setattr(report_module, "write_outputs", write_some_then_stop)
    out = tmp_path / "out"
    if existed:
        out.mkdir()

    status = main(["-q", "compare", *FAST_ARGUMENTS, "--out", str(out)])

    assert status == (130 if stop is KeyboardInterrupt else 1)

    err = capsys.readouterr().err
    # The parameter files written before the plots are gone too, and a rerun may use --out again.
    if existed:
        assert list(out.iterdir()) == []
    else:
        assert not out.exists()
    if stop is KeyboardInterrupt:
        assert "interrupted before compare had written all its results" in err
    else:
        # numpy.npz, torch.pt, torch-dataloader.pt and the plot.
        assert f"removed the 4 partial result file(s) from {out}" in err
        assert "No space left on device" in err


def test_compare_writes_results_json_last(tmp_path, capsys, monkeypatch):
    # A folder containing results.json must hold a finished run, so it comes after report.md.
    import mlpbench.bench.report as report_module

    out = tmp_path / "out"
    seen = []
    render_markdown = report_module.render_markdown

    def render_and_look(results):
        seen.append((out / "results.json").exists())
        return render_markdown(results)

    monkeypatch.setattr(report_module, "render_markdown", render_and_look)

    assert main(["-q", "compare", *FAST_ARGUMENTS, "--engines", "numpy", "--out", str(out)]) == 0
    assert seen == [False]
    assert (out / "results.json").is_file()


def test_failed_write_keeps_other_files(tmp_path, capsys, monkeypatch):
    import mlpbench.bench.compare as compare_module
    import mlpbench.bench.report as report_module

    out = tmp_path / "out"
    run_comparison = compare_module.run_comparison

    def user_adds_a_file(*args, **kwargs):
        comparison = run_comparison(*args, **kwargs)
        (out / "my-notes.txt").write_text("mine", encoding="utf-8")
        return comparison

    def render_fails(results):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(compare_module, "run_comparison", user_adds_a_file)
    monkeypatch.setattr(report_module, "render_markdown", render_fails)

    status = main(["-q", "compare", *FAST_ARGUMENTS, "--engines", "numpy", "--out", str(out)])

    assert status == 1
    # The parameter file, the plots and results.csv were this run's, and results.json
    # never came, so only the user's file is left.
    assert [path.name for path in out.iterdir()] == ["my-notes.txt"]
    assert "No space left on device" in capsys.readouterr().err


@pytest.mark.parametrize(
    "out", [None, "new/parents/out", "new/x/../y"], ids=["default-folder", "new-parents", "dot-dot"]
)
def test_interrupted_compare_removes_folders_it_created(tmp_path, capsys, monkeypatch, out):
    # The first run in a folder creates runs/ for its dated folder; an interrupted run
    # leaves no empty folder behind, at any level it created.
    import mlpbench.bench.compare as compare_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_module, "run_comparison", interrupted)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("kept\n")

    status = main(["-q", "compare", *FAST_ARGUMENTS, *(["--out", out] if out else [])])

    assert status == 130
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_interrupted_compare_keeps_existing_runs_folder(tmp_path, capsys, monkeypatch):
    import mlpbench.bench.compare as compare_module

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(compare_module, "run_comparison", interrupted)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()

    assert main(["-q", "compare", *FAST_ARGUMENTS]) == 130
    assert (tmp_path / "runs").is_dir()
    assert list((tmp_path / "runs").iterdir()) == []


def test_shrunk_peak_warning_follows_yardstick():
    from mlpbench.bench.compare import PEAK_SIZE, MeasuredPeaks, measured_peak_warnings
    from mlpbench.bench.peak import PeakResult

    def reading(gflops, size):
        fields = {"dtype": "float32", "threads": 2, "repeats": 3, "seconds": 0.1}
        return PeakResult(gflops=gflops, median_gflops=gflops, size=size, **fields)

    shrunk = MeasuredPeaks(numpy=reading(15.7, 397), torch=None)

    assert measured_peak_warnings(shrunk, after=reading(386.0, PEAK_SIZE)) == []
    (message,) = measured_peak_warnings(shrunk, after=reading(10.0, PEAK_SIZE))
    assert message.startswith("the matmul peak used for '% of peak' (15.7 GFLOP/s, read before the runs)")
    assert "measured on 397x397 matrices" in message
    # The lower reading after the runs was taken and did not replace it.
    assert "unless" not in message
    (message,) = measured_peak_warnings(shrunk)
    assert "unless a later reading replaced it" in message
    # A higher reading that was shrunk too is the yardstick, and is reported.
    (message,) = measured_peak_warnings(shrunk, after=reading(40.0, 256))
    assert message.startswith("the matmul peak used for '% of peak' (40 GFLOP/s, read after the runs)")
    assert "measured on 256x256 matrices" in message


def test_unsteady_peak_warned():
    from mlpbench.bench.compare import (
        PEAK_SIZE,
        MeasuredPeaks,
        is_measured_peak_warning,
        measured_peak_warnings,
    )
    from mlpbench.bench.peak import PeakResult

    fields = {"size": PEAK_SIZE, "dtype": "float32", "threads": 2, "repeats": 9, "seconds": 0.3}
    unsteady = MeasuredPeaks(numpy=PeakResult(gflops=137.0, median_gflops=59.8, **fields), torch=None)
    steady = MeasuredPeaks(numpy=PeakResult(gflops=303.0, median_gflops=290.0, **fields), torch=None)

    (message,) = measured_peak_warnings(unsteady)
    assert message.startswith("the matmul peak used for '% of peak' (137 GFLOP/s, read before the runs)")
    assert "whose median reached only 59.8 GFLOP/s" in message
    assert is_measured_peak_warning(message)
    assert measured_peak_warnings(steady) == []


def test_compare_marks_learning_engines(compare_run):
    _, _, results = compare_run
    for name, entry in results["engines"].items():
        assert entry["summary"]["learned"] is True, name
    assert not any("did not learn" in message for message in results["warnings"])


def test_compare_warns_when_nothing_learned(tmp_path):
    # lr 5 kills every ReLU on digits: the loss ends above the class-frequency loss.
    arguments = ["--engines", "numpy,torch", "--repeats", "1", "--warmup", "0", "--epochs", "2"]
    arguments += ["--lr", "5", "--threads", "1", "--out", str(tmp_path / "out")]

    assert main(["-q", "compare", *arguments]) == 0

    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    for name in ("numpy", "torch"):
        assert results["engines"][name]["summary"]["learned"] is False
        assert any(
            message.startswith(f"{name}: the last epoch's mean training loss was") and "--lr 5" in message
            for message in results["warnings"]
        )
    assert fastest_engine_sentence(results) is None
    assert "did not learn" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    # The CSV marks it too, on every row, as the table's status column does.
    with open(tmp_path / "out" / "results.csv", encoding="utf-8", newline="") as handle:
        assert {row["learned"] for row in csv.DictReader(handle)} == {"False"}


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (2.914, "2.91x"),
        (1.0, "1.00x"),
        (0.1, "0.10x"),
        (0.0999, "0.10x"),
        (0.0171, "0.017x"),
        (0.0217, "0.022x"),
    ],
)
def test_speed_keeps_two_digits(ratio, expected):
    assert format_speed(ratio) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(5.0, "5.00%"), (26.0, "26.0%"), (0.229, "0.229%"), (43.31, "43.3%"), (123.4, "123%")],
)
def test_percent_keeps_three_digits(value, expected):
    assert format_percent(value) == expected


def test_fastest_skips_engines_not_learning():
    def entry(seconds, learned):
        median = {"median": 1.0}
        summary = {
            "epoch_time_s": {"median": seconds, "min": seconds, "max": seconds},
            "speed_vs_numpy": None,
            "learned": learned,
        }
        summary |= dict.fromkeys(("samples_per_s", "gflops", "percent_of_peak", "test_accuracy"), median)
        return {"status": "ok", "summary": summary}

    results = {"engines": {"numpy": entry(0.5, True), "sklearn": entry(0.1, False)}}

    sentence = fastest_engine_sentence(results)

    assert sentence.startswith("Fastest: numpy")
    assert sentence.endswith("among the engines that learned (sklearn was left out).")
    assert table_rows(results | {"parity": {"status": "skipped"}})[1]["status"] == "did not learn"


def _timed(epoch_times, spread_warning=None):
    from mlpbench.bench.stats import summarize

    return {"summary": {"epoch_time_s": summarize(epoch_times), "spread_warning": spread_warning}}


def _sentence(**engines):
    return fastest_engine_sentence({"engines": engines})


def test_fastest_doubted_runner_up_best_epoch():
    # A busy machine slowed more of numpy's epochs, so its median lost although its
    # undisturbed epochs were the fastest.
    numpy = _timed([0.285, 0.30, 1.5, 2.0, 3.0], "timings vary")
    torch = _timed([0.412, 0.42, 0.43, 0.44, 2.0], "timings vary")

    sentence = _sentence(numpy=numpy, torch=torch)

    assert sentence.startswith("Fastest: torch, 430 ms per epoch (median); but ")
    assert "numpy's fastest epoch (285 ms) beat torch's (412 ms), so the ranking is uncertain" in sentence


def test_fastest_doubted_when_noisy_timings_overlap():
    numpy = _timed([0.30, 0.32, 0.40, 0.50, 0.52], "timings vary")
    torch = _timed([0.31, 0.36, 0.42, 0.45, 0.50])

    sentence = _sentence(numpy=numpy, torch=torch)

    assert sentence.startswith("Fastest: numpy, 400 ms")
    assert "the middle halves of numpy's and torch's epoch times overlap" in sentence


def test_fastest_doubted_with_one_epoch_each():
    # One epoch per engine: a clear gap in a single sample may be a moment of other work.
    sentence = _sentence(numpy=_timed([14.5]), torch=_timed([5.65]))

    assert sentence.startswith("Fastest: torch, 5.65 s per epoch (median); but ")
    assert "torch and numpy were timed over 1 and 1 epoch(s), too few to rank them" in sentence
    assert "more --repeats or --epochs (at least 3 epochs each)" in sentence


def test_fastest_doubted_by_slower_third_engine():
    # numpy's median fell to third place, but its undisturbed epochs beat the winner's.
    numpy = _timed([0.31, 0.32, 1.5, 2.0, 18.8], "timings vary")
    torch = _timed([0.454, 0.48, 0.481, 0.49, 0.509])
    sklearn = _timed([0.70, 0.72, 0.75, 0.78, 0.80])

    sentence = _sentence(numpy=numpy, torch=torch, sklearn=sklearn)

    assert sentence.startswith("Fastest: torch, 481 ms per epoch (median); but ")
    assert "numpy's fastest epoch (310 ms) beat torch's (454 ms)" in sentence


def test_fastest_doubt_prefers_faster_best_epoch():
    # The runner-up's spread overlaps the winner's, but the third engine's undisturbed
    # epochs beat the winner's: that engine is the one to name.
    torch = _timed([0.195, 0.199, 0.204, 0.60, 8.87], "timings vary")
    dataloader = _timed([0.30, 0.31, 0.40, 0.50, 0.52], "timings vary")
    numpy = _timed([0.188, 0.19, 0.192, 1.1, 1.2, 1.4], "timings vary")

    sentence = _sentence(torch=torch, **{"torch-dataloader": dataloader}, numpy=numpy)

    assert sentence.startswith("Fastest: torch, 204 ms per epoch (median); but ")
    assert "numpy's fastest epoch (188 ms) beat torch's (195 ms)" in sentence
    assert "middle halves" not in sentence


def test_fastest_doubted_on_busy_machine():
    engines = {"numpy": _timed([0.30, 0.301, 0.302]), "torch": _timed([0.40, 0.401, 0.402])}
    busy = {"wait_share": 0.47, "busiest_thread_wait_share": 0.52, "steal_share": 0.0}
    quiet = {"wait_share": 0.01, "busiest_thread_wait_share": 0.02, "steal_share": None}

    one_thread = {"threads": 1}

    doubted = fastest_engine_sentence({"engines": engines, "cpu_contention": busy, "config": one_thread})
    plain = fastest_engine_sentence({"engines": engines, "cpu_contention": quiet, "config": one_thread})
    several = fastest_engine_sentence({"engines": engines, "cpu_contention": busy, "config": {"threads": 2}})

    assert doubted.startswith("Fastest: numpy, 301 ms per epoch (median); but this process's threads waited")
    assert "up to 52% of the time (other processes, more threads than CPUs or a CPU quota)" in doubted
    assert "about 2.1 times on average, enough to explain the 1.33x gap to the runner-up" in doubted
    assert doubted.endswith("stop other work or use fewer --threads, and rerun.")
    assert plain == "Fastest: numpy, 301 ms per epoch (median)."
    assert "by at least about 2.1 times, enough to explain the 1.33x gap" in several


@pytest.mark.parametrize(
    ("measured", "expected"),
    [
        # Steal is the hypervisor's, so fewer --threads would not help.
        (
            {"wait_share": 0.0, "busiest_thread_wait_share": 0.0, "steal_share": 0.3},
            "the hypervisor held back 30% of the machine's CPU time (steal)",
        ),
        # A thread that waited and never ran: no finite bound, and no division by zero.
        (
            {"wait_share": 0.2, "busiest_thread_wait_share": 1.0, "steal_share": 0.0},
            "which slows the engines by any amount",
        ),
    ],
)
def test_fastest_doubt_names_contention_cause(measured, expected):
    engines = {"numpy": _timed([0.30, 0.301, 0.302]), "torch": _timed([0.40, 0.401, 0.402])}

    sentence = fastest_engine_sentence({"engines": engines, "cpu_contention": measured})

    assert expected in sentence


def test_fastest_kept_when_gap_exceeds_waiting():
    # Waiting 52% of the time slows one thread about 2.1 times, not 8.6 times.
    engines = {"torch": _timed([0.80, 0.81, 0.82]), "numpy": _timed([6.9, 6.95, 7.0])}
    busy = {"wait_share": 0.47, "busiest_thread_wait_share": 0.52, "steal_share": 0.0}
    results = {"engines": engines, "cpu_contention": busy, "config": {"threads": 1}}

    sentence = fastest_engine_sentence(results)

    assert sentence == "Fastest: torch, 810 ms per epoch (median)."


def test_fastest_doubt_names_worst_run_share():
    # The comparison waited 38% in all, but one sklearn run 44%, which its table row shows.
    engines = {"numpy": _timed([0.30, 0.301, 0.302]), "sklearn": _timed([0.80, 0.81, 0.82])}
    engines["sklearn"]["runs"] = [
        {"cpu_contention": {"wait_share": share, "busiest_thread_wait_share": share, "steal_share": 0.0}}
        for share in (0.30, 0.445)
    ]
    overall = {"wait_share": 0.38, "busiest_thread_wait_share": 0.38, "steal_share": 0.0}
    results = {"engines": engines, "cpu_contention": overall, "config": {"threads": 2}}

    sentence = fastest_engine_sentence(results)

    assert "waited for a CPU up to 44% of the time" in sentence


def test_default_threads_read_from_cores():
    # threads None means every core the process may use: one core is one thread.
    engines = {"torch": _timed([0.80, 0.81, 0.82]), "numpy": _timed([6.9, 6.95, 7.0])}
    busy = {"wait_share": 0.47, "busiest_thread_wait_share": 0.52, "steal_share": 0.0}
    results = {"engines": engines, "cpu_contention": busy, "config": {"threads": None}}
    results["environment"] = {"cpu": {"affinity_cores": 1}}

    assert fastest_engine_sentence(results) == "Fastest: torch, 810 ms per epoch (median)."
    results["environment"] = {"cpu": {"affinity_cores": 2}}
    assert "on 2 threads an engine" in fastest_engine_sentence(results)


@pytest.mark.parametrize(("threads", "count"), [(2, "2"), (None, "several")])
def test_fastest_doubted_on_busy_threads(threads, count):
    # Threads that wait for one another have no 1 / (1 - share) bound: a loaded 2-core
    # machine slowed torch's 2-thread epochs far beyond it.
    engines = {"numpy": _timed([0.80, 0.81, 0.82]), "torch": _timed([6.9, 6.95, 7.0])}
    busy = {"wait_share": 0.47, "busiest_thread_wait_share": 0.52, "steal_share": 0.0}
    results = {"engines": engines, "cpu_contention": busy, "config": {"threads": threads}}

    sentence = fastest_engine_sentence(results)

    assert sentence.startswith("Fastest: numpy, 810 ms per epoch (median); but this process's threads")
    assert f"on {count} threads an engine whose threads wait for one another" in sentence
    assert "far more than the 2.1 times this waiting costs a single thread" in sentence
    assert "enough to explain even the 8.58x gap to the runner-up" in sentence


@pytest.mark.parametrize(
    ("dataloader_times", "sklearn_times", "expected"),
    [
        # sklearn, the slower engine, has fast first epochs; they raise no doubt.
        (
            [0.698, 0.70, 0.71, 0.70, 0.705, 0.702],
            [0.688, 0.85, 0.69, 0.86, 0.689, 0.855],
            "Fastest: torch-dataloader, 701 ms per epoch (median).",
        ),
        # As in a two-epoch run, the winner sklearn's median mixes fast first epochs with
        # later ones that are all slower than every DataLoader epoch, so it is doubted.
        (
            [0.748, 0.75, 0.753, 0.749, 0.751, 0.752],
            [0.688, 0.80, 0.69, 0.798, 0.689, 0.799],
            "Fastest: sklearn, 744 ms per epoch (median); but the timings vary widely and the "
            "middle halves of sklearn's and torch-dataloader's epoch times overlap",
        ),
    ],
)
def test_fastest_with_later_epoch_slowdown(dataloader_times, sklearn_times, expected):
    sklearn = _timed(sklearn_times, "timings vary")
    sklearn["summary"]["later_epoch_slowdown"] = 1.2

    sentence = _sentence(**{"torch-dataloader": _timed(dataloader_times), "sklearn": sklearn})

    assert sentence.startswith(expected)


def test_fastest_stated_plainly_when_clear():
    # Overlapping but steady timings, or a clear gap despite noise, keep the plain sentence.
    steady = _sentence(numpy=_timed([0.300, 0.301, 0.302]), torch=_timed([0.301, 0.3015, 0.303]))
    gap = _sentence(
        numpy=_timed([0.30, 0.31, 0.32, 0.33, 0.90], "timings vary"), torch=_timed([0.40, 0.41, 0.42])
    )

    assert steady == "Fastest: numpy, 301 ms per epoch (median)."
    assert gap == "Fastest: numpy, 320 ms per epoch (median)."


def test_summary_flags_chance_accuracy():
    from mlpbench.bench.compare import _summarize_engines

    data = load_dataset("digits")
    run = {key: 1.0 for key in ("train_time_s", "samples_per_s", "gflops", "percent_of_peak", "test_loss")}
    run.update(final_train_loss=0.5, test_accuracy=0.05, epoch_times_s=[0.1], peak_rss_bytes=1)
    engines = {"numpy": {"status": "ok", "runs": [run], "summary": None}}

    _summarize_engines(engines, data, {"lr": 0.05})

    assert engines["numpy"]["summary"]["learned"] is False
    assert "most common class" in engines["numpy"]["summary"]["learning_warning"]


@pytest.mark.parametrize(
    ("busy", "blamed"), [(False, "training itself slowed"), (True, "machine may be busy")]
)
def test_summary_slowdown_only_on_quiet_machine(busy, blamed):
    from mlpbench.bench.compare import _summarize_engines

    data = load_dataset("digits")
    runs = []
    for first, second in ((0.714, 0.833), (0.715, 0.838), (0.668, 0.770)):
        keys = ("train_time_s", "samples_per_s", "gflops", "percent_of_peak", "test_loss")
        run = dict.fromkeys(keys, 1.0)
        run.update(final_train_loss=0.1, test_accuracy=0.9, epoch_times_s=[first, second], peak_rss_bytes=1)
        runs.append(run)
    engines = {"sklearn": {"status": "ok", "runs": runs, "summary": None}}

    _summarize_engines(engines, data, {"lr": 0.05}, busy=busy)

    summary = engines["sklearn"]["summary"]
    assert (summary["later_epoch_slowdown"] is None) is busy
    assert blamed in summary["spread_warning"]


def test_ctrl_c_inside_sklearn_stops_compare(tmp_path, capsys, monkeypatch):
    from sklearn.neural_network import MLPClassifier

    def interrupted_backprop(self, *args, **kwargs):
        # Ctrl-C arriving while scikit-learn trains a batch.
        raise KeyboardInterrupt

    monkeypatch.setattr(MLPClassifier, "_backprop", interrupted_backprop)
    out = tmp_path / "out"

    status = main(["-q", "compare", *FAST_ARGUMENTS, "--engines", "sklearn", "--out", str(out)])

    assert status == 130
    assert "interrupted before compare had written all its results" in capsys.readouterr().err
    assert not out.exists()


def test_train_thread_warning_names_no_peak(tmp_path, capsys, monkeypatch):
    # train measures no matmul peak, so its warning speaks of training only.
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})

    assert main(["train", "--hidden", "8", "--epochs", "1", "--threads", "2"]) == 0

    err = capsys.readouterr().err
    assert "2 threads is more than the 1 logical CPU(s)" in err
    assert "training runs slower" in err
    assert "peak" not in err


def test_train_contention_warning_names_no_peak(capsys, monkeypatch):
    import mlpbench.cli.train as train_module

    busy = {"seconds": 1.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": 0.5}
    busy |= {"busiest_thread_wait_share": 0.5, "steal_share": 0.3, "logical_cpus": 2}
    monkeypatch.setattr(train_module, "contention", lambda before, after: busy)

    assert main(["train", "--hidden", "8", "--epochs", "1", "--threads", "1"]) == 0

    err = capsys.readouterr().err
    assert "waited for a CPU 50%" in err
    assert "held back 30%" in err
    assert "peak" not in err


def test_runner_fills_default_settings(monkeypatch):
    import mlpbench.bench.compare as compare_module

    # Settings without momentum: the engines train with the default 0.9, and the FLOP
    # count must include the momentum update they run.
    peak = _fixed_peak(100.0)
    monkeypatch.setattr(compare_module, "measure_peaks", lambda config: MeasuredPeaks(peak, None))
    monkeypatch.setattr(compare_module, "measure_numpy_peak", lambda config, dtype, threads: peak)
    # hidden as one integer, as scikit-learn's hidden_layer_sizes takes it.
    config = CompareConfig(engines=["numpy"], settings={"epochs": 1, "hidden": 8}, repeats=1, warmup=0)
    data = load_dataset("digits")

    results = run_comparison(data, config).results

    assert results["config"]["model"]["momentum"] == 0.9
    assert results["config"]["model"]["batch_size"] == 64
    assert results["config"]["model"]["hidden"] == [8]
    assert "warm_start" not in results["config"]["model"]
    assert {row["hidden"] for row in csv_rows(results)} == {"8"}
    expected = epoch_flops([64, 8, 10], len(data.y_train), 64, momentum=True, weight_decay=False)
    assert results["config"]["flops_per_epoch"] == expected


def test_baseline_notes_name_kept_subnormals(compare_run):
    _, _, results = compare_run

    for name in ("torch-dataloader", "sklearn"):
        assert any("subnormal" in note for note in results["engines"][name]["notes"]), name
    for name in ("numpy", "torch"):
        assert not any("subnormal" in note for note in results["engines"][name]["notes"]), name
    assert "drawing the epoch's shuffle and the steps" in results["config"]["timing_scope"]


def test_runs_record_own_waiting(compare_run):
    _, folder, results = compare_run
    keys = {"seconds", "run_s", "wait_s", "wait_share", "busiest_thread_wait_share", "steal_share"}

    with open(folder / "results.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for name, entry in results["engines"].items():
        shares = []
        for run in entry["runs"]:
            measured = run["cpu_contention"]
            assert keys <= set(measured), name
            assert measured["seconds"] >= run["train_time_s"], name
            shares.append(largest_share(measured))
        assert entry["summary"]["cpu_contention_share"] == max(shares), name
        written = [float(row["cpu_contention_share"]) for row in rows if row["engine"] == name]
        assert len(written) == len(entry["runs"]) + len(entry["warmup_runs"]), name


def test_slowed_engine_warned():
    from mlpbench.bench.compare import slowed_engine_warnings

    def runs(*shares):
        return [
            {"cpu_contention": {"wait_share": share, "busiest_thread_wait_share": share, "steal_share": 0.0}}
            for share in shares
        ]

    engines = {"numpy": {"runs": runs(0.01, 0.02)}, "sklearn": {"runs": runs(0.03, 0.104)}}

    (message,) = slowed_engine_warnings(engines)

    assert message.startswith("sklearn: a timed run's threads lost CPU time (CPU wait 10.4%, marked in")
    assert message.endswith("stop other work or use fewer --threads, and rerun")


def test_comparison_warns_slowed_engine(monkeypatch):
    import mlpbench.bench.compare as compare_module

    busy = {"seconds": 1.0, "run_s": 1.0, "wait_s": 1.0, "wait_share": 0.3}
    busy |= {"busiest_thread_wait_share": 0.3, "steal_share": 0.0, "logical_cpus": 2}
    peak = _fixed_peak(100.0)
    monkeypatch.setattr(compare_module, "measure_peaks", lambda config: MeasuredPeaks(peak, None))
    monkeypatch.setattr(compare_module, "measure_numpy_peak", lambda config, dtype, threads: peak)
    monkeypatch.setattr(compare_module, "contention", lambda before, after: busy)
    settings = {"epochs": 1, "hidden": [8], "threads": 1}
    config = CompareConfig(engines=["numpy"], settings=settings, repeats=1, warmup=0)

    results = run_comparison(load_dataset("digits"), config).results

    expected = "numpy: a timed run's threads lost CPU time (CPU wait 30%, marked in the table)"
    assert any(message.startswith(expected) for message in results["warnings"])
    # One epoch of 8 units learns too little to pass the learning check, which the mark follows.
    assert table_rows(results)[0]["status"] == "did not learn (CPU wait 30%)"


def test_table_marks_slowed_engine():
    def entry(wait_share):
        seconds = {"median": 0.5, "min": 0.5, "max": 0.5}
        summary = {"epoch_time_s": seconds, "speed_vs_numpy": None, "learned": True}
        medians = ("samples_per_s", "gflops", "percent_of_peak", "test_accuracy")
        summary |= dict.fromkeys(medians, {"median": 1.0})
        measured = {"wait_share": wait_share, "busiest_thread_wait_share": wait_share, "steal_share": 0.0}
        runs = [{"cpu_contention": measured}, {"cpu_contention": None}]
        return {"status": "ok", "summary": summary, "runs": runs}

    results = {"engines": {"numpy": entry(0.02), "torch": entry(0.45)}, "parity": {"status": "skipped"}}

    rows = table_rows(results)

    assert rows[0]["status"] == "ok"
    assert rows[1]["status"] == "ok (CPU wait 45%)"
