"""Outputs of ``mlpbench compare``: console table, results.json, results.csv, report.md and plots.

Every function here reads the results dict built by ``bench.compare.run_comparison``
(schema in docs/results-schema.md) and does no measuring. Every file is written
atomically: to a temporary file in the output folder, then renamed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlpbench.atomic import atomic_write_text
from mlpbench.bench.compare import PARITY_ENGINES, REFERENCE_ENGINE, TORCH_ENGINES
from mlpbench.bench.contention import (
    WAIT_SHARE_WARNING,
    contention_label,
    contention_share,
    describe_contention,
    largest_share,
    max_run_contention,
)
from mlpbench.bench.plots import plot_accuracy, plot_epoch_times, plot_loss_curves
from mlpbench.checkpoint import save_checkpoint
from mlpbench.errors import CheckpointError

if TYPE_CHECKING:
    from mlpbench.engines.base import MLPEstimator

RESULTS_JSON = "results.json"
RESULTS_CSV = "results.csv"
REPORT_MD = "report.md"
PLOT_FILES = {"loss": "loss.png", "epoch_time": "epoch_time.png", "accuracy": "accuracy.png"}
NO_PARAMETER_FILE = {"sklearn": "the sklearn engine does not write parameter files"}

TRAINING_CSV_COLUMNS = ("lr", "momentum", "weight_decay", "schedule", "seed")
"""The training settings that both commands' CSV files repeat on every row."""

CONFIG_CSV_COLUMNS = (
    "dataset",
    "hidden",
    "batch_size",
    "dtype",
    "threads",
    "n_train",
    "n_train_full",
    *TRAINING_CSV_COLUMNS,
    "standardize",
    "timestamp_utc",
)
"""The settings repeated on every row, and the comparison's timestamp, so that the CSV files
of several runs can be stacked and each row traced to its run."""

CSV_COLUMNS = (
    *CONFIG_CSV_COLUMNS,
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
    "samples_per_s",
    "gflops",
    "percent_of_peak",
    "final_train_loss",
    "test_loss",
    "test_accuracy",
    "peak_rss_bytes",
    "cpu_contention_share",
    "error_type",
    "error",
)

TABLE_COLUMNS = (
    ("engine", "engine"),
    ("status", "status"),
    ("epoch_time", "time/epoch: median (min-max)"),
    ("speed", f"speed vs {REFERENCE_ENGINE}"),
    ("samples_per_s", "samples/s"),
    ("gflops", "GFLOP/s"),
    ("percent_of_peak", "% of peak"),
    ("accuracy", "test accuracy"),
    ("parity", "parity"),
)
CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL = 160

NOT_APPLICABLE = "-"

MIN_RANKING_EPOCHS = 3
"""Timed epochs per engine below which the report does not rank two engines without a caution."""


# ----- formatting -------------------------------------------------------------------------


def format_seconds(seconds: float) -> str:
    """Format a duration with a unit that keeps three significant digits (s, ms or us)."""
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def format_percent(value: float) -> str:
    """Format a percentage with three significant digits, zeros kept (``5.00%``, ``43.3%``, ``123%``)."""
    return f"{value:#.3g}".rstrip(".") + "%"


def format_speed(ratio: float) -> str:
    """Format a speed ratio with two decimals, or two significant digits below 0.1 (``0.017x``)."""
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:#.2g}x"


def table_rows(results: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return one row of display strings per engine, keyed by the names in ``TABLE_COLUMNS``."""
    parity = results["parity"]
    rows = []
    for name, entry in results["engines"].items():
        row = dict.fromkeys((key for key, _ in TABLE_COLUMNS), NOT_APPLICABLE)
        row["engine"] = name
        row["status"] = entry["status"]
        summary = entry["summary"]
        if entry["status"] == "failed":
            # The message itself follows the table as a warning, printed once.
            row["status"] = f"failed ({entry['error_type']})"
        elif summary is not None and summary.get("learned") is False:
            row["status"] = "did not learn"
        slowed = slowed_run_label(entry)
        if slowed is not None:
            row["status"] += f" ({slowed})"
        if summary is not None:
            times = summary["epoch_time_s"]
            row["epoch_time"] = (
                f"{format_seconds(times['median'])} "
                f"({format_seconds(times['min'])}-{format_seconds(times['max'])})"
            )
            if summary.get("speed_vs_numpy") is not None:
                row["speed"] = format_speed(summary["speed_vs_numpy"])
            row["samples_per_s"] = f"{summary['samples_per_s']['median']:,.0f}"
            row["gflops"] = f"{summary['gflops']['median']:.3g}"
            row["percent_of_peak"] = format_percent(summary["percent_of_peak"]["median"])
            row["accuracy"] = f"{summary['test_accuracy']['median']:.2%}"
        if name in PARITY_ENGINES and parity["status"] == "ok":
            row["parity"] = f"{parity['max_relative_difference']:.2e}"
        rows.append(row)
    return rows


def slowed_run_label(entry: Mapping[str, Any]) -> str | None:
    """Return what slowed the engine's most slowed timed run, such as ``CPU wait 45%``, else None."""
    return contention_label(max_run_contention(entry.get("runs", [])))


def fastest_engine_sentence(results: Mapping[str, Any]) -> str | None:
    """Return a sentence naming the engine with the smallest median time per epoch, or None.

    Engines that did not learn (``summary["learned"]`` False) are left out: a fast
    epoch that learns nothing is not a result.
    """
    summaries = {
        name: entry["summary"] for name, entry in results["engines"].items() if entry["summary"] is not None
    }
    timed = {
        name: summary["epoch_time_s"]["median"]
        for name, summary in summaries.items()
        if summary.get("learned", True)
    }
    if not timed:
        return None
    ranked = sorted(timed, key=timed.__getitem__)
    fastest = ranked[0]
    sentence = f"Fastest: {fastest}, {format_seconds(timed[fastest])} per epoch (median)"
    speed = summaries[fastest].get("speed_vs_numpy")
    if speed is not None and fastest != REFERENCE_ENGINE:
        sentence += f", {format_speed(speed)} the speed of {REFERENCE_ENGINE}"
    left_out = [name for name in summaries if name not in timed]
    if left_out:
        verb = "was" if len(left_out) == 1 else "were"
        sentence += f", among the engines that learned ({', '.join(left_out)} {verb} left out)"
    # Every slower engine is checked, not only the runner-up: on a busy machine the
    # engine with the fastest undisturbed epochs can end anywhere in the ranking. The
    # strongest reason is given, so that such an engine is named before a mere overlap.
    doubts = [ranking_doubt(fastest, summaries[fastest], other, summaries[other]) for other in ranked[1:]]
    found = [doubt for doubt in doubts if doubt is not None]
    doubt = min(found, key=lambda pair: pair[0])[1] if found else None
    if doubt is None and len(ranked) > 1:
        gap = timed[ranked[1]] / timed[fastest]
        threads = results.get("config", {}).get("threads")
        if threads is None:
            # The libraries' default: every core the process may use.
            threads = results.get("environment", {}).get("cpu", {}).get("affinity_cores")
        # The most disturbed of the whole comparison and each engine's runs, so that the
        # share named is at least the one the table shows.
        measured = [results.get("cpu_contention")]
        measured += [max_run_contention(entry.get("runs") or []) for entry in results["engines"].values()]
        worst = max((item for item in measured if item), key=largest_share, default=None)
        doubt = contention_doubt(worst, gap, threads)
    if doubt:
        return f"{sentence}; but {doubt}."
    return sentence + "."


def contention_doubt(
    measured: Mapping[str, Any] | None, gap: float, threads: int | None = None
) -> str | None:
    """Return why a ranking may not hold when the process waited for CPUs, or None.

    Waiting a share s of the time slows a single thread about 1 / (1 - s) times, so a
    smaller ``gap`` (the runner-up's median over the winner's) is in doubt. With more
    than one thread (``threads`` None, where unknown, counts as several) there
    is no such bound, because threads that meet at every product all wait for the one
    that lost its CPU, so any gap is in doubt. ``measured`` is the most disturbed of
    the whole comparison and each engine's timed runs. The contention warning is shown
    either way.
    """
    if measured is None:
        return None
    share = largest_share(measured)
    if share <= WAIT_SHARE_WARNING:
        return None
    several_threads = threads is None or threads > 1
    within_bound = share >= 1 or gap < 1 / (1 - share)
    if not within_bound and not several_threads:
        return None
    steal = measured.get("steal_share") or 0.0
    if steal >= share:
        cause = f"the hypervisor held back {share:.0%} of the machine's CPU time (steal)"
        advice = "rerun later or on another machine"
    else:
        cause = (
            f"this process's threads waited for a CPU up to {share:.0%} of the time (other processes, "
            "more threads than CPUs or a CPU quota)"
        )
        advice = "stop other work or use fewer --threads, and rerun"
    if within_bound:
        if share >= 1:
            slowdown = "any amount"
        elif several_threads:
            slowdown = f"at least about {1 / (1 - share):.2g} times"
        else:
            slowdown = f"about {1 / (1 - share):.2g} times on average"
        effect = f"which slows the engines by {slowdown}, enough to explain"
    else:
        count = "several" if threads is None else str(threads)
        effect = (
            f"and on {count} threads an engine whose threads wait for one another at every step "
            f"can be slowed far more than the {1 / (1 - share):.2g} times this waiting costs a "
            "single thread, enough to explain even"
        )
    return f"{cause}, {effect} the {gap:.2f}x gap to the runner-up, so the ranking is uncertain; {advice}"


DOUBT_FEW_EPOCHS, DOUBT_FASTER_EPOCH, DOUBT_OVERLAP = range(3)
"""The kinds of ranking doubt, strongest first."""


def ranking_doubt(
    fastest: str, first: Mapping[str, Any], other: str, second: Mapping[str, Any]
) -> tuple[int, str] | None:
    """Return the kind of doubt and why the median ranking of two engines may not hold, or None.

    ``other`` is any slower engine. The ranking is in doubt when either engine was
    timed over fewer than ``MIN_RANKING_EPOCHS`` epochs, when the other engine's fastest
    epoch beat the winner's by 1%, or when the timings of either engine vary widely and
    the middle halves of their epoch times overlap. On a busy machine the last two
    happen when the slow epochs fall more on one engine than on the other. A slower
    engine whose epochs slow down after each run's first (``later_epoch_slowdown``) is
    expected to have a fast first epoch and a wide spread, so neither counts for it.
    """
    mine, theirs = first["epoch_time_s"], second["epoch_time_s"]
    fewest = min(mine["n"], theirs["n"])
    if fewest < MIN_RANKING_EPOCHS:
        # One or two epochs cannot tell a lasting difference from a moment of other work.
        return DOUBT_FEW_EPOCHS, (
            f"{fastest} and {other} were timed over {mine['n']} and {theirs['n']} epoch(s), too few "
            f"to rank them; rerun with more --repeats or --epochs (at least {MIN_RANKING_EPOCHS} epochs each)"
        )
    advice = "so the ranking is uncertain; rerun when the machine is idle, or with more --repeats"
    # A margin of 1%, so that two equal best epochs are not reported as one beating the other.
    if theirs["min"] < 0.99 * mine["min"] and not second.get("later_epoch_slowdown"):
        return DOUBT_FASTER_EPOCH, (
            f"{other}'s fastest epoch ({format_seconds(theirs['min'])}) beat {fastest}'s "
            f"({format_seconds(mine['min'])}), {advice}"
        )
    # The winner's spread counts even when it comes from a slowdown: its median then
    # mixes fast first epochs with slower later ones, which may lose to the other engine.
    noisy = first.get("spread_warning") or (
        second.get("spread_warning") and not second.get("later_epoch_slowdown")
    )
    if noisy and mine.get("q3", mine["max"]) >= theirs.get("q1", theirs["min"]):
        return DOUBT_OVERLAP, (
            f"the timings vary widely and the middle halves of {fastest}'s and {other}'s "
            f"epoch times overlap, {advice}"
        )
    return None


# ----- console ----------------------------------------------------------------------------


def build_console_table(results: Mapping[str, Any]) -> Table:
    """Return a rich Table with one row per engine."""
    dataset = results["config"]["dataset"]["name"]
    peak = results["peak_used_gflops"]
    table = Table(title=Text(f"mlpbench compare on {dataset} (peak {peak:.3g} GFLOP/s)"))
    for key, title in TABLE_COLUMNS:
        justify = "left" if key in ("engine", "status") else "right"
        table.add_column(title, justify=justify, overflow="fold", no_wrap=key != "status")
    for row in table_rows(results):
        style = "red" if row["status"].startswith("failed") else None
        # Text cells, so that brackets in an error message are not read as rich markup.
        table.add_row(*(Text(row[key]) for key, _ in TABLE_COLUMNS), style=style)
    return table


PARITY_EXPLAINED_ABOVE = 1e-6
"""Parity differences above this get ``PARITY_EXPLANATION``, which names the value."""

PARITY_EXPLANATION = (
    "A difference above 1e-6 does not by itself mean that the engines compute different things. "
    "The engines add in different orders (NumPy's BLAS and PyTorch's each order their sums in their "
    "own way, on one thread as on several), so they round differently, and each SGD step "
    "can amplify the difference: more in float32, and more where training is unstable "
    "(a large --lr, standardized data). --dtype float64 shows how close the engines are; "
    "the test suite checks that they agree to 1e-9 in float64 at stable settings."
)


def print_summary(results: Mapping[str, Any], console: Console | None = None) -> None:
    """Print the table, the fastest engine, the parity and peak lines, and every warning.

    Without a ``console``, output goes to stdout. When stdout is not a terminal,
    lines may be up to ``CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL`` characters wide, so
    that rich does not fold the table to its default width of 80.
    """
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL)
    console.print(build_console_table(results))
    lines = []
    dataset = results["config"]["dataset"]
    if dataset.get("n_train_full", dataset["n_train"]) > dataset["n_train"]:
        lines.append(f"Trained on {_training_rows(dataset)} training rows (--samples).")
    sentence = fastest_engine_sentence(results)
    if sentence:
        lines.append(sentence)
    parity = results["parity"]
    if parity["status"] == "ok":
        lines.append(
            f"Parity (numpy vs torch): max relative parameter difference "
            f"{parity['max_relative_difference']:.2e}, test predictions agree on "
            f"{parity['test_prediction_agreement']:.2%}."
        )
        if parity["max_relative_difference"] > PARITY_EXPLAINED_ABOVE:
            lines.append(PARITY_EXPLANATION)
    else:
        lines.append(f"Parity (numpy vs torch) not computed: {parity['reason']}.")
    after = results.get("peak_after_runs")
    if after is not None:
        line = (
            f"Matmul peak: {results['peak']['gflops']:.3g} GFLOP/s before the runs, "
            f"{after['gflops']:.3g} GFLOP/s after them"
        )
        if after["gflops"] > results["peak"]["gflops"]:
            line += "; '% of peak' uses the higher reading"
        lines.append(line + ".")
    if "cpu_contention" in results:
        lines.append(describe_contention(results["cpu_contention"]))
    lines.append(
        "Times cover each epoch's shuffle and training steps; data loading and evaluation are excluded."
    )
    lines.append(
        f"speed vs {REFERENCE_ENGINE} compares median epoch times, while samples/s, GFLOP/s and "
        "% of peak are medians over whole runs, so they can disagree when epoch times vary; "
        "report.md defines every column."
    )
    for line in lines:
        console.print(line, markup=False, highlight=False)
    for message in results["warnings"]:
        console.print(Text.assemble(("warning:", "yellow"), " ", message), highlight=False)


# ----- files ------------------------------------------------------------------------------


def save_parameter_files(
    models: Mapping[str, MLPEstimator],
    results: dict[str, Any],
    folder: str | Path,
    dataset: dict[str, Any] | None = None,
) -> dict[str, Path]:
    """Save the last run's parameters of each engine as ``<engine>.npz`` or ``<engine>.pt``.

    Torch engines get ``.pt``, the others ``.npz``, the formats ``mlpbench train
    --save`` writes. ``dataset`` is stored in each file as ``train --save`` stores it,
    so that ``evaluate`` and ``predict`` find the data set and class names. Engines in
    ``NO_PARAMETER_FILE`` get none. Each engine's ``parameter_file`` (a name relative
    to ``folder``) or ``parameter_file_note`` is set in ``results``. A failed save is
    recorded in the note, not raised.
    """
    folder = Path(folder)
    written = {}
    for name, entry in results["engines"].items():
        if name in NO_PARAMETER_FILE:
            entry["parameter_file_note"] = NO_PARAMETER_FILE[name]
            continue
        if name not in models:
            entry["parameter_file_note"] = "no successful run"
            continue
        suffix = ".pt" if name in TORCH_ENGINES else ".npz"
        try:
            path = save_checkpoint(models[name], folder / f"{name}{suffix}", dataset=dataset)
        except CheckpointError as error:
            entry["parameter_file_note"] = f"not saved: {error}"
            continue
        entry["parameter_file"] = path.name
        written[name] = path
    return written


def write_json(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``results`` as indented JSON; NaN and infinity become null (strict JSON has neither)."""
    text = json.dumps(_jsonable(results), indent=2, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def csv_rows(results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one row per engine and run, warm-up runs included (``warmup`` column true)."""
    config = results["config"]
    model = config["model"]
    settings = {
        "dataset": config["dataset"]["name"],
        # The --hidden notation: a comma list, or 0 for no hidden layer.
        "hidden": ",".join(str(size) for size in model["hidden"]) or "0",
        "batch_size": model["batch_size"],
        "dtype": model["dtype"],
        "threads": config["threads"],
        "n_train": config["dataset"]["n_train"],
        "n_train_full": config["dataset"].get("n_train_full", config["dataset"]["n_train"]),
        "timestamp_utc": results.get("environment", {}).get("timestamp_utc"),
    }
    for key in (*TRAINING_CSV_COLUMNS, "standardize"):
        settings[key] = model[key]
    rows = []
    for name, entry in results["engines"].items():
        for run in [*entry["warmup_runs"], *entry["runs"]]:
            row = {column: run.get(column) for column in CSV_COLUMNS}
            row.update(settings)
            row["engine"] = name
            row["learned"] = learned_flag(entry)
            times = run.get("epoch_times_s")
            if times:
                row["median_epoch_time_s"] = statistics.median(times)
            row["cpu_contention_share"] = contention_share(run.get("cpu_contention"))
            rows.append(row)
    return rows


def learned_flag(entry: Mapping[str, Any]) -> bool | None:
    """Return the engine's ``summary.learned``, the same for each of its runs; None when it failed."""
    summary = entry.get("summary")
    return None if summary is None else summary.get("learned")


def write_csv(results: Mapping[str, Any], path: str | Path) -> Path:
    """Write ``csv_rows(results)`` with a header line; missing values are empty cells."""
    return write_dict_csv(path, CSV_COLUMNS, csv_rows(results))


def write_dict_csv(path: str | Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """Write dict rows under a header of ``columns`` atomically; None becomes an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if value is None else value for key, value in row.items()})
    return atomic_write_text(path, buffer.getvalue())


def write_plots(results: Mapping[str, Any], folder: str | Path) -> dict[str, Path]:
    """Write loss.png, epoch_time.png and accuracy.png; failed engines are left out.

    The loss curve is that of each engine's last timed run, the epoch times are
    every epoch of every timed run, and the accuracies are one per timed run.
    """
    folder = Path(folder)
    ok = {
        name: entry["runs"]
        for name, entry in results["engines"].items()
        if entry["status"] == "ok" and entry["runs"]
    }
    losses = {name: [epoch["train_loss"] for epoch in runs[-1]["history"]] for name, runs in ok.items()}
    times = {name: [t for run in runs for t in run["epoch_times_s"]] for name, runs in ok.items()}
    accuracies = {name: [run["test_accuracy"] for run in runs] for name, runs in ok.items()}
    return {
        "loss": plot_loss_curves(losses, folder / PLOT_FILES["loss"]),
        "epoch_time": plot_epoch_times(times, folder / PLOT_FILES["epoch_time"]),
        "accuracy": plot_accuracy(accuracies, folder / PLOT_FILES["accuracy"]),
    }


def write_outputs(results: dict[str, Any], folder: str | Path) -> dict[str, Path]:
    """Write the plots, results.csv, report.md and results.json into ``folder``; return their paths.

    results.json is written last, so its presence marks a finished run.
    """
    folder = Path(folder)
    paths = {f"plot_{key}": path for key, path in write_plots(results, folder).items()}
    paths["csv"] = write_csv(results, folder / RESULTS_CSV)
    paths["markdown"] = atomic_write_text(folder / REPORT_MD, render_markdown(results))
    paths["json"] = write_json(results, folder / RESULTS_JSON)
    return paths


# ----- report.md --------------------------------------------------------------------------


def render_markdown(results: Mapping[str, Any]) -> str:
    """Return report.md: the table, notes, parity, plots, files, configuration and environment.

    Plots are linked by relative path, so the report renders beside them.
    """
    sections = [
        _markdown_title(results),
        _markdown_results(results),
        _markdown_parity(results),
        _markdown_plots(),
        _markdown_files(results),
        _markdown_configuration(results),
        _markdown_peak(results),
        _markdown_environment(results),
    ]
    return "\n\n".join(sections) + "\n"


def _cell(value: Any) -> str:
    """Escape a value for a Markdown table cell."""
    return str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = [
        "| " + " | ".join(_cell(title) for title in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _mebibytes(count: int | None) -> str:
    return NOT_APPLICABLE if count is None else f"{count / 2**20:.0f} MiB"


def _markdown_title(results: Mapping[str, Any]) -> str:
    config = results["config"]
    return (
        f"# mlpbench compare on {config['dataset']['name']}\n\n"
        f"Run at {results['environment']['timestamp_utc']} (UTC) with mlpbench "
        f"{results['mlpbench_version']}: engines {', '.join(config['engines'])}, "
        f"{config['repeats']} timed run(s) of each after {config['warmup']} warm-up run(s), "
        f"{config['threads']} thread(s), {config['model']['dtype']}."
    )


def _markdown_results(results: Mapping[str, Any]) -> str:
    rows = table_rows(results)
    header = [title for _, title in TABLE_COLUMNS] + ["process peak RSS"]
    body = []
    for row, entry in zip(rows, results["engines"].values(), strict=True):
        rss = entry["summary"]["peak_rss_bytes"] if entry["summary"] is not None else None
        body.append([row[key] for key, _ in TABLE_COLUMNS] + [_mebibytes(rss)])
    parts = ["## Results", _markdown_table(header, body)]
    sentence = fastest_engine_sentence(results)
    if sentence:
        parts.append(sentence)
    parts.append(_markdown_definitions(results))

    if results["warnings"]:
        parts.append("### Warnings\n\n" + "\n".join(f"- {message}" for message in results["warnings"]))
    notes = [f"- {name}: {note}" for name, entry in results["engines"].items() for note in entry["notes"]]
    if notes:
        parts.append("### Engine notes\n\n" + "\n".join(notes))
    return "\n\n".join(parts)


def _markdown_definitions(results: Mapping[str, Any]) -> str:
    """Return a bullet list defining every column of the results table."""
    flops = results["config"]["flops_per_epoch"]
    return "\n".join(
        [
            f"- {results['config']['timing_scope']}",
            "- status: ok, or did not learn when the training loss or the test accuracy "
            "ended no better than chance (the warnings give details), or failed, with the "
            "error's type. A share such as (CPU wait 45%) or (steal 30%) after it marks an "
            "engine whose most slowed timed run waited for a CPU, or lost CPU time to the "
            f"hypervisor, above the {WAIT_SHARE_WARNING:.0%} warning level.",
            "- time/epoch: median over every epoch of every timed run, with the minimum "
            "and maximum in parentheses.",
            f"- speed vs {REFERENCE_ENGINE}: {REFERENCE_ENGINE}'s median time per epoch "
            "divided by the engine's; above 1 is faster. The columns after it are medians "
            "over whole runs, so they can disagree with it when epoch times vary.",
            "- samples/s: training samples per second of training time (the epochs' rows "
            "times the epochs, divided by the training time); median over the timed runs.",
            f"- GFLOP/s: {flops:,} FLOPs per epoch (forward, loss, backward and SGD update, "
            "counted as in `mlpbench/bench/flops.py`) times the epochs, divided by the "
            "training time; median over the timed runs. Every engine is credited with the "
            "same count, so extra work such as the DataLoader's collation lowers its figure.",
            "- % of peak: GFLOP/s divided by the measured NumPy matrix-multiply peak (see Peak below).",
            "- test accuracy: median over the timed runs.",
            "- parity: the max relative parameter difference of numpy and torch (see Parity below).",
            f"- process peak RSS: the largest value over the timed runs. {results['config']['rss_note']}",
        ]
    )


def _markdown_parity(results: Mapping[str, Any]) -> str:
    parity = results["parity"]
    parts = ["## Parity of numpy and torch", f"Metric: {parity['metric']}."]
    if parity["status"] != "ok":
        parts.append(f"Not computed: {parity['reason']}.")
        return "\n\n".join(parts)
    parts.append(
        f"Max relative difference: {parity['max_relative_difference']:.3e}. "
        f"The two models predict the same class for {parity['test_prediction_agreement']:.2%} "
        "of the test set."
    )
    if parity["max_relative_difference"] > PARITY_EXPLAINED_ABOVE:
        parts.append(PARITY_EXPLANATION)
    rows = [
        [
            entry["name"],
            f"{entry['relative_difference']:.3e}",
            f"{entry['absolute_difference']:.3e}",
        ]
        for entry in parity["arrays"]
    ]
    parts.append(_markdown_table(["array", "relative difference", "absolute difference"], rows))
    return "\n\n".join(parts)


def _markdown_plots() -> str:
    return "\n\n".join(
        [
            "## Plots",
            f"![Training loss per epoch, last timed run of each engine]({PLOT_FILES['loss']})",
            "![Time per epoch, median with whiskers from the 25th to the 75th percentile]"
            f"({PLOT_FILES['epoch_time']})",
            f"![Test accuracy per engine, one dot per timed run]({PLOT_FILES['accuracy']})",
        ]
    )


def _markdown_files(results: Mapping[str, Any]) -> str:
    lines = [
        f"- `{RESULTS_JSON}`: every figure of every run and epoch, the configuration and the environment.",
        f"- `{RESULTS_CSV}`: one row per engine and run (warm-up runs marked).",
    ]
    for name, entry in results["engines"].items():
        if entry.get("parameter_file"):
            lines.append(f"- `{entry['parameter_file']}`: parameters after the last timed run of {name}.")
        else:
            note = entry.get("parameter_file_note") or "not saved"
            lines.append(f"- {name}: no parameter file ({note}).")
    return "## Files\n\n" + "\n".join(lines)


def _training_rows(dataset: Mapping[str, Any]) -> str:
    """Return the training row count, as "the first N of M" when --samples took a subset."""
    full = dataset.get("n_train_full", dataset["n_train"])
    if full > dataset["n_train"]:
        return f"the first {dataset['n_train']:,} of {full:,}"
    return f"{dataset['n_train']:,}"


def _markdown_configuration(results: Mapping[str, Any]) -> str:
    config = results["config"]
    dataset = config["dataset"]
    rows = [
        ["dataset", f"{dataset['name']} ({dataset['source']})"],
        ["rows", f"{_training_rows(dataset)} train, {dataset['n_test']:,} test"],
        ["features, classes", f"{dataset['n_features']}, {dataset['n_classes']}"],
        ["layer sizes", config["layer_sizes"]],
    ]
    rows += [[key, value] for key, value in config["model"].items()]
    rows += [
        ["threads", config["threads"]],
        ["device", config["device"]],
        ["timed runs per engine", config["repeats"]],
        ["warm-up runs per engine", config["warmup"]],
        ["run order", config["order"]],
        ["FLOPs per epoch", f"{config['flops_per_epoch']:,}"],
    ]
    return "## Configuration\n\n" + _markdown_table(["setting", "value"], rows)


def _markdown_peak(results: Mapping[str, Any]) -> str:
    rows = []
    measured = (
        ("NumPy", results["peak"]),
        ("NumPy, after the runs", results.get("peak_after_runs")),
        ("PyTorch", results.get("peak_torch")),
    )
    for label, peak in measured:
        if peak is None:
            continue
        rows.append(
            [
                label,
                f"{peak['gflops']:.3g}",
                f"{peak['median_gflops']:.3g}",
                f"{peak['size']}x{peak['size']}",
                peak["dtype"],
                peak["threads"],
                peak["repeats"],
            ]
        )
    header = ["library", "best GFLOP/s", "median GFLOP/s", "matrix", "dtype", "threads", "calls"]
    return (
        "## Peak\n\nSquare matrix-multiply throughput measured before the runs. NumPy's is "
        "measured again after the runs, when this run measured its own peaks, to show whether "
        "the machine's speed changed meanwhile. The higher of NumPy's best figures is the "
        "yardstick for % of peak, because a disturbed measurement can only read low.\n\n"
        + _markdown_table(header, rows)
    )


def _markdown_environment(results: Mapping[str, Any]) -> str:
    environment = results["environment"]
    cpu = environment["cpu"]
    torch_info = environment.get("torch")
    rows = [
        ["CPU", cpu["model"]],
        ["logical cores (usable)", f"{cpu['logical_cores']} ({cpu['affinity_cores']})"],
        ["OS", environment["os"]],
        ["Python", environment["python"]],
        ["NumPy", environment["numpy"]],
        ["PyTorch", _torch_description(torch_info)],
        ["scikit-learn", environment.get("scikit_learn")],
    ]
    for pool in environment.get("blas", []) + environment.get("openmp", []):
        shipped = f" (shipped with {pool['package']})" if pool.get("package") else ""
        rows.append(
            [
                f"{pool.get('user_api')}: {pool.get('internal_api')}{shipped}",
                # threadpoolctl reports no version for OpenMP runtimes.
                f"{pool.get('version') or 'version unknown'}, {pool.get('num_threads')} thread(s), "
                f"{pool.get('file')}",
            ]
        )
    for name, value in environment.get("environment_variables", {}).items():
        rows.append([name, value])
    table = "## Environment\n\n" + _markdown_table(["item", "value"], rows)
    if "cpu_contention" in results:
        table += "\n\n" + describe_contention(results["cpu_contention"])
    return table


def _torch_description(torch_info: Mapping[str, Any] | None) -> str:
    """Describe PyTorch's version, BLAS and thread counts for the environment table."""
    if not torch_info:
        return "not installed"
    parts = [torch_info["version"]]
    # Results written before these keys were recorded lack them.
    if torch_info.get("blas"):
        parts.append(f"matrix products through {torch_info['blas']}")
    if "num_threads" in torch_info:
        parts.append(f"{torch_info['num_threads']} thread(s)")
    if torch_info.get("num_interop_threads") is not None:
        parts.append(f"{torch_info['num_interop_threads']} inter-op thread(s)")
    return ", ".join(str(part) for part in parts)


def _jsonable(value: Any) -> Any:
    """Convert NumPy scalars, tuples and non-finite floats into strict-JSON values."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
