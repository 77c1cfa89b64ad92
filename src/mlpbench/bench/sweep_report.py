"""Outputs of ``mlpbench sweep``: console table, results.json, results.csv and the sweep plots.

Every function here reads the results dict built by ``bench.sweep.run_sweep``
(schema in the "sweep" section of docs/results-schema.md) and measures nothing.
Every file is written atomically: to a temporary file in the output folder, then
renamed.

Plots come in pairs, time per epoch and GFLOP/s against batch size, one line per
engine. A plot shows one (hidden, dtype, threads) combination, because the peak
line differs per dtype and thread count. ``time_vs_batch.png`` and
``gflops_vs_batch.png`` show the first combination of the grid (first hidden size,
first dtype, first thread count). When the grid has more than one combination,
each combination also gets its own pair, such as
``time_vs_batch-h128-float32-t2.png``.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlpbench.bench.contention import (
    contention_label,
    contention_share,
    describe_contention,
    max_run_contention,
)
from mlpbench.bench.plots import plot_sweep
from mlpbench.bench.report import (
    CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL,
    TRAINING_CSV_COLUMNS,
    format_percent,
    format_seconds,
    learned_flag,
    write_dict_csv,
    write_json,
)

RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
TIME_PLOT = "time_vs_batch.png"
GFLOPS_PLOT = "gflops_vs_batch.png"
NOT_APPLICABLE = "-"

CSV_COLUMNS = (
    "dataset",
    "hidden",
    "batch_size",
    "dtype",
    "threads",
    "n_train_timed",
    "n_train_full",
    *TRAINING_CSV_COLUMNS,
    "timestamp_utc",
    "engine",
    "status",
    "learned",
    "warmup",
    "round",
    "repeat",
    "position",
    "epochs",
    "train_time_s",
    "median_epoch_time_s",
    "estimated_full_epoch_time_s",
    "samples_per_s",
    "gflops",
    "percent_of_peak",
    "peak_gflops",
    "test_accuracy",
    "cpu_contention_share",
    "error_type",
    "error",
)

Combination = tuple[int, str, int]
"""(hidden, dtype, threads): the points that one pair of plots shows."""


def combinations(results: Mapping[str, Any]) -> list[Combination]:
    """Return the grid's (hidden, dtype, threads) combinations, hidden size varying fastest."""
    config = results["config"]
    return [
        (hidden, dtype, threads)
        for dtype in config["dtypes"]
        for threads in config["threads_list"]
        for hidden in config["hidden_sizes"]
    ]


def main_combination(results: Mapping[str, Any]) -> Combination:
    """Return the combination that the main plots show: the first value of each list."""
    config = results["config"]
    return (config["hidden_sizes"][0], config["dtypes"][0], config["threads_list"][0])


def plot_names(results: Mapping[str, Any]) -> dict[Combination, tuple[str, str]]:
    """Return the (time plot, GFLOP/s plot) file names of each combination that gets its own pair."""
    every = combinations(results)
    if len(every) == 1:
        return {}
    names = {}
    for hidden, dtype, threads in every:
        suffix = f"h{hidden}-{dtype}-t{threads}"
        names[(hidden, dtype, threads)] = (
            f"{Path(TIME_PLOT).stem}-{suffix}.png",
            f"{Path(GFLOPS_PLOT).stem}-{suffix}.png",
        )
    return names


def _points_of(results: Mapping[str, Any], combination: Combination) -> list[Mapping[str, Any]]:
    hidden, dtype, threads = combination
    return [
        point
        for point in results["points"]
        if (point["hidden"], point["dtype"], point["threads"]) == (hidden, dtype, threads)
    ]


def _peak_of(results: Mapping[str, Any], dtype: str, threads: int) -> Mapping[str, Any] | None:
    """Return the NumPy peak that a pair's "% of peak" divides by: the higher of its two readings."""
    for peak in results["peaks"]:
        if (peak["dtype"], peak["threads"]) == (dtype, threads):
            readings = [peak["numpy"], peak.get("numpy_after_points") or peak["numpy"]]
            return max(readings, key=lambda reading: reading["gflops"])
    return None


def slowed_cause(point: Mapping[str, Any], entry: Mapping[str, Any] | None = None) -> str | None:
    """Return what probably slowed a point's timings, such as ``CPU wait 45%`` or ``steal 30%``, else None.

    With ``entry``, one engine's record at the point, the engine's most disturbed timed
    run is judged, as the engine's own warning does. Without it, or where its runs
    record no waiting, the whole point is judged.
    """
    worst = max_run_contention(entry.get("runs") or []) if entry is not None else None
    return contention_label(worst if worst is not None else point.get("cpu_contention"))


def _plot_rows(points: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return one row per point and engine with the plotted medians and quartiles.

    Failed engines have None, and so get neither a point nor a whisker.
    """
    rows = []
    for point in points:
        for name, entry in point["engines"].items():
            slowed = slowed_cause(point, entry) is not None
            summary = entry.get("summary") or {}
            epochs, gflops = summary.get("epoch_time_s") or {}, summary.get("gflops") or {}
            rows.append(
                {
                    "batch_size": point["batch_size"],
                    "engine": name,
                    "seconds": entry["median_epoch_time_s"],
                    "seconds_q1": epochs.get("q1"),
                    "seconds_q3": epochs.get("q3"),
                    "gflops": entry["median_gflops"],
                    "gflops_q1": gflops.get("q1"),
                    "gflops_q3": gflops.get("q3"),
                    "slowed": slowed,
                }
            )
    return rows


WHISKERS = "median, with whiskers from the 25th to the 75th percentile"
SLOWED_LABEL = "CPU wait or steal: probably slowed"


def write_combination_plots(
    results: Mapping[str, Any], combination: Combination, time_path: Path, gflops_path: Path
) -> None:
    """Write the time-per-epoch (log-log) and GFLOP/s plots of one combination."""
    hidden, dtype, threads = combination
    rows = _plot_rows(_points_of(results, combination))
    n_timed = results["config"]["n_train_timed"]
    title = f"hidden {hidden}, {dtype}, {threads} thread(s), {results['dataset']['name']}"
    plot_sweep(
        rows,
        "batch_size",
        "seconds",
        "engine",
        time_path,
        loglog=True,
        title=f"Time per epoch: {title}\n{WHISKERS}",
        xlabel="batch size",
        ylabel=f"seconds per epoch over {n_timed:,} rows",
        spread=("seconds_q1", "seconds_q3"),
        flag="slowed",
        flag_label=SLOWED_LABEL,
    )
    peak = _peak_of(results, dtype, threads)
    plot_sweep(
        rows,
        "batch_size",
        "gflops",
        "engine",
        gflops_path,
        loglog=True,
        hline=None if peak is None else peak["gflops"],
        hline_label=None
        if peak is None
        else f"NumPy matmul peak ({peak['size']}x{peak['size']}): {peak['gflops']:.3g} GFLOP/s",
        title=f"Achieved GFLOP/s: {title}\n{WHISKERS}",
        xlabel="batch size",
        ylabel="GFLOP/s of the timed runs",
        spread=("gflops_q1", "gflops_q3"),
        flag="slowed",
        flag_label=SLOWED_LABEL,
    )


def write_plots(results: Mapping[str, Any], folder: str | Path) -> dict[str, Path]:
    """Write the main pair of plots and, for a grid of several combinations, one pair each."""
    folder = Path(folder)
    paths = {"time": folder / TIME_PLOT, "gflops": folder / GFLOPS_PLOT}
    write_combination_plots(results, main_combination(results), paths["time"], paths["gflops"])
    for combination, (time_name, gflops_name) in plot_names(results).items():
        hidden, dtype, threads = combination
        key = f"h{hidden}-{dtype}-t{threads}"
        paths[f"time {key}"] = folder / time_name
        paths[f"gflops {key}"] = folder / gflops_name
        write_combination_plots(results, combination, folder / time_name, folder / gflops_name)
    return paths


def csv_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one row per point, engine and run, warm-up runs included (``warmup`` column true)."""
    n_full = results["config"]["n_train_full"]
    shared = {
        "dataset": results["dataset"]["name"],
        "n_train_full": n_full,
        "timestamp_utc": results.get("environment", {}).get("timestamp_utc"),
    }
    shared |= {key: results["config"]["training"][key] for key in TRAINING_CSV_COLUMNS}
    rows = []
    for point in results["points"]:
        for name, entry in point["engines"].items():
            for run in [*entry["warmup_runs"], *entry["runs"]]:
                row = {column: run.get(column) for column in CSV_COLUMNS}
                for key in ("hidden", "batch_size", "dtype", "threads", "n_train_timed", "peak_gflops"):
                    row[key] = point[key]
                row.update(shared)
                row["engine"] = name
                row["learned"] = learned_flag(entry)
                row["cpu_contention_share"] = contention_share(run.get("cpu_contention"))
                times = run.get("epoch_times_s")
                if times:
                    median = statistics.median(times)
                    row["median_epoch_time_s"] = median
                    row["estimated_full_epoch_time_s"] = median * n_full / point["n_train_timed"]
                rows.append(row)
    return rows


def write_csv(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``csv_rows(results)`` with a header line; missing values are empty cells."""
    return write_dict_csv(path, CSV_COLUMNS, csv_rows(results))


def write_sweep_outputs(results: dict[str, Any], folder: str | Path) -> dict[str, Path]:
    """Write the plots, results.csv and results.json into ``folder``; return their paths.

    The file names are recorded in ``results["files"]`` before results.json is written.
    results.json is written last, so its presence marks a finished run.
    """
    folder = Path(folder)
    paths = write_plots(results, folder)
    paths["csv"] = write_csv(results, folder / RESULTS_CSV)
    results["files"] = {
        "json": RESULTS_JSON,
        "csv": RESULTS_CSV,
        "plots": sorted(path.name for key, path in paths.items() if key != "csv"),
    }
    paths["json"] = write_json(results, folder / RESULTS_JSON)
    return paths


# ----- console ----------------------------------------------------------------------------


def _scaled(results: Mapping[str, Any]) -> bool:
    config = results["config"]
    return config["n_train_timed"] < config["n_train_full"]


def build_table(results: Mapping[str, Any]) -> Table:
    """Return a rich table with one row per point and engine: median time per epoch and % of peak."""
    config = results["config"]
    table = Table(title="mlpbench sweep: median over timed runs")
    for title in ("hidden", "dtype", "threads", "batch", "engine"):
        table.add_column(title, no_wrap=True)
    table.add_column(f"time/epoch ({config['n_train_timed']:,} rows)", justify="right")
    if _scaled(results):
        table.add_column(f"est. time/epoch ({config['n_train_full']:,} rows)", justify="right")
    table.add_column("GFLOP/s", justify="right")
    table.add_column("% of peak", justify="right")
    table.add_column("status")

    for point in results["points"]:
        for name, entry in point["engines"].items():
            cause = slowed_cause(point, entry)
            cells = [
                str(point["hidden"]),
                point["dtype"],
                str(point["threads"]),
                str(point["batch_size"]),
                name,
            ]
            ok = entry["median_epoch_time_s"] is not None
            cells.append(format_seconds(entry["median_epoch_time_s"]) if ok else NOT_APPLICABLE)
            if _scaled(results):
                estimate = entry["estimated_full_epoch_time_s"]
                cells.append(format_seconds(estimate) if ok else NOT_APPLICABLE)
            cells.append(f"{entry['median_gflops']:.3g}" if ok else NOT_APPLICABLE)
            cells.append(format_percent(entry["median_percent_of_peak"]) if ok else NOT_APPLICABLE)
            status = _status(entry)
            if cause is not None:
                status += f" ({cause})"
            cells.append(status)
            table.add_row(*cells)
    return table


def _status(entry: Mapping[str, Any]) -> str:
    """Return the status cell: ok, did not learn (as in compare's table), or the failure's type."""
    if entry["status"] != "ok":
        return f"failed: {entry['error_type']}"
    return "did not learn" if learned_flag(entry) is False else "ok"


def summary_lines(results: Mapping[str, Any]) -> list[str]:
    """Return the lines printed under the table: data set, timed rows, peaks and the clock."""
    config = results["config"]
    dataset = results["dataset"]
    lines = [f"Data: {dataset['name']}: {dataset['source']}."]
    if dataset["synthetic"]:
        lines.append(
            f"SYNTHETIC DATA: {dataset['requested']} was not available "
            f"({dataset['fallback_reason']}). Times are valid; accuracies are not."
        )
    if _scaled(results):
        lines.append(
            f"Timed on the first {config['n_train_timed']:,} of {config['n_train_full']:,} "
            "training rows. The est. column scales each median linearly to all rows; "
            "it is an estimate, not a measurement."
        )
    for peak in results["peaks"]:
        numpy_peak = peak["numpy"]
        line = (
            f"Peak, {peak['dtype']} on {peak['threads']} thread(s): NumPy "
            f"{numpy_peak['gflops']:.3g} GFLOP/s ({numpy_peak['size']}x{numpy_peak['size']})"
        )
        after = peak.get("numpy_after_points")
        if after is not None:
            line += f", {after['gflops']:.3g} GFLOP/s after its points"
        if peak["torch"] is not None:
            line += f", PyTorch {peak['torch']['gflops']:.3g} GFLOP/s"
        lines.append(line + ". % of peak divides by the higher NumPy figure.")
    if "cpu_contention" in results:
        lines.append(describe_contention(results["cpu_contention"]))
    lines.append(
        f"{config['repeats']} timed run(s) of {config['epochs']} epoch(s) per point and engine "
        f"after {config['warmup']} warm-up run(s). "
        "Times cover each epoch's shuffle and training steps; data loading and evaluation are excluded."
    )
    names = plot_names(results)
    if names:
        hidden, dtype, threads = main_combination(results)
        example = next(iter(names.values()))[0]
        lines.append(
            f"Plots: {TIME_PLOT} and {GFLOPS_PLOT} show hidden {hidden}, {dtype}, {threads} thread(s); "
            f"each of the {len(names)} combinations also has its own pair, such as {example}."
        )
    return lines


def print_sweep_summary(results: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the table, the notes under it and every warning.

    Without a ``console``, output goes to stdout, up to
    ``CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL`` characters wide when stdout is not a terminal.
    """
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL)
    console.print(build_table(results))
    for line in summary_lines(results):
        console.print(line, markup=False, highlight=False)
    for message in results["warnings"]:
        console.print(Text.assemble(("warning:", "yellow"), " ", message), highlight=False)
