"""``mlpbench profile``: the share of one epoch that each engine spends in matrix multiplies."""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from mlpbench.cli.compare import parse_engines
from mlpbench.cli.options import (
    add_config_arguments,
    add_data_arguments,
    add_flags,
    flag_message,
    positive_int,
)
from mlpbench.cli.sweep import add_optimizer_arguments
from mlpbench.threads import oversubscription_warning
from mlpbench.training.hyperparams import validate_hyperparameters

logger = logging.getLogger("mlpbench")

DEFAULT_ENGINES = "numpy,torch,torch-dataloader,sklearn"
DEFAULT_DATASET = "fashion-mnist"
CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL = 160


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="show where one epoch's time goes per engine: matrix multiplies versus the rest",
        description=(
            "Train each engine for a warm-up epoch and three reference epochs, then profile one "
            "epoch: the time in matrix multiplies, its share of the epoch, and the five "
            "largest other costs. numpy: timing wrappers around numpy.matmul and BLAS gemm (other costs "
            "from a second epoch under cProfile); torch and torch-dataloader: torch.profiler "
            "on the CPU (and, for the DataLoader, the time in collate_fn); sklearn: cProfile. "
            "Profilers add overhead, so the shares are approximate; the median reference "
            "epoch shows how much. Exit status 1 if any engine failed."
        ),
    )
    parser.add_argument(
        "--engines",
        type=parse_engines,
        default=parse_engines(DEFAULT_ENGINES),
        metavar="NAMES",
        help=f"comma list of engines to profile (default: {DEFAULT_ENGINES})",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        help="train on the first N training rows only (default: all rows)",
    )
    parser.add_argument(
        "--json",
        metavar="FILE",
        help="also write the results as JSON to FILE (its folder must exist); a run in which "
        "every engine fails leaves an existing FILE unchanged",
    )
    add_data_arguments(parser)
    parser.set_defaults(dataset=DEFAULT_DATASET)
    add_config_arguments(parser)

    add_flags(parser.add_argument_group("model"), ("hidden", "batch_size", "dtype", "threads"))
    add_optimizer_arguments(parser)
    parser.set_defaults(handler=run, validate=validate_arguments)


def validate_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Reject invalid values before any work starts (argparse exits with status 2)."""
    try:
        validate_hyperparameters(
            hidden=args.hidden,
            epochs=1,
            batch_size=args.batch_size,
            lr=args.lr,
            momentum=args.momentum,
            weight_decay=args.weight_decay,
            schedule="constant",
            dtype=args.dtype,
            seed=args.seed,
        )
    except ValueError as error:
        parser.error(flag_message(str(error), args))


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from mlpbench.bench.profile import ProfileConfig, run_profile
    from mlpbench.bench.report import write_json
    from mlpbench.cli.loading import first_training_rows, training_data_warnings
    from mlpbench.cli.outputs import (
        JSON_KIND,
        check_output_path,
        non_empty_file,
        replacement_note,
        write_then_show,
    )
    from mlpbench.data import load_dataset

    validate_arguments(args, parser)
    check_output_path(args.json, "--json", kind=JSON_KIND)
    loaded = load_dataset(args.dataset, dtype=args.dtype, data_dir=args.data_dir)
    data, n_train = first_training_rows(loaded, args.samples)
    sampled = len(data.y_train) < n_train
    data_warnings = training_data_warnings(data, args.batch_size, loaded.y_train)
    threads = args.threads if args.threads is not None else (os.cpu_count() or 1)
    thread_warning = oversubscription_warning(threads, measures_peak=False)
    if thread_warning is not None:
        data_warnings.insert(0, thread_warning)
    for message in data_warnings:
        logger.warning(message)
    config = ProfileConfig(
        engines=args.engines,
        settings={
            "hidden": list(args.hidden),
            "batch_size": args.batch_size,
            "dtype": args.dtype,
            "threads": threads,
            "lr": args.lr,
            "momentum": args.momentum,
            "weight_decay": args.weight_decay,
            "seed": args.seed,
        },
        device=args.device,
        sampled=sampled,
    )
    results = run_profile(data, config)
    profile_warnings = results["warnings"]
    # The data warnings were shown before the work; the JSON file keeps them too.
    results["warnings"] = data_warnings + profile_warnings
    failed = [name for name, entry in results["engines"].items() if entry["status"] == "failed"]

    # A run in which every engine failed measured nothing, so it does not replace
    # earlier results. The errors are in the table and the log.
    all_failed = len(failed) == len(results["engines"])
    keep_earlier = args.json is not None and all_failed and non_empty_file(args.json)
    json_written = args.json is not None and not keep_earlier
    if keep_earlier:
        logger.warning("every engine failed, so %s was not replaced and keeps its earlier results", args.json)

    def write() -> None:
        if json_written:
            write_json(results, args.json)

    def show() -> None:
        print_profile(results)
        for message in profile_warnings:
            logger.warning(message)

    replaced = replacement_note(args.json) if json_written else ""
    write_then_show(write, show)
    if json_written:
        print(f"results written to {args.json}{replaced}")
    if failed:
        print(f"failed engine(s): {', '.join(failed)}; see the table")
        return 1
    return 0


def _seconds(value: float | None) -> str:
    from mlpbench.bench.report import format_seconds

    return "-" if value is None else format_seconds(value)


def build_profile_table(results: dict[str, Any]) -> Table:
    """Return a rich table with one row per engine: epoch times, matmul time and share, other costs."""
    table = Table(title="mlpbench profile: one epoch per engine")
    table.add_column("engine", no_wrap=True)
    table.add_column("epoch, no profiler: median (min-max)", justify="right")
    table.add_column("epoch, profiled", justify="right")
    table.add_column("matmul", justify="right")
    table.add_column("matmul share", justify="right")
    table.add_column("top other costs (self time, % of its epoch)")
    for name, entry in results["engines"].items():
        if entry["status"] != "ok":
            table.add_row(name, "-", "-", "-", "-", f"failed: {entry['error_type']}: {entry['error']}")
            continue
        lines = [
            f"{_seconds(cost['seconds'])} ({cost['percent']:.1f}%) {cost['name']}"
            for cost in entry["other_costs"]
        ]
        if "collate_s" in entry:
            lines.append(
                f"collate_fn in total, its operators above included: {_seconds(entry['collate_s'])} "
                f"({entry['collate_share_percent']:.1f}%, {entry['collate_calls']} batches)"
            )
        table.add_row(
            name,
            _reference_cell(entry),
            _seconds(entry["epoch_s"]),
            f"{_seconds(entry['matmul_s'])} ({entry['matmul_calls']} calls)",
            f"{entry['matmul_share_percent']:.1f}%",
            "\n".join(lines),
        )
    return table


def _reference_cell(entry: dict[str, Any]) -> str:
    """Return the median reference epoch with the range of all of them, or the one epoch of older files."""
    median = _seconds(entry["reference_epoch_s"])
    epochs = entry.get("reference_epochs_s")
    if not epochs or len(epochs) < 2:
        return median
    return f"{median} ({_seconds(min(epochs))}-{_seconds(max(epochs))})"


def print_profile(results: dict[str, Any], console: Console | None = None) -> None:
    """Print the profile table, how each engine was measured, and the overhead note."""
    from mlpbench.bench.contention import describe_contention
    from mlpbench.bench.environment import describe_libraries
    from mlpbench.bench.report import format_seconds

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=CONSOLE_WIDTH_WHEN_NOT_A_TERMINAL)
    console.print(build_profile_table(results))
    dataset = results["dataset"]
    settings = results["config"]["settings"]
    console.print(
        f"Data: {dataset['name']}, {dataset['n_train']:,} training rows; hidden {settings['hidden']}, "
        f"batch size {settings['batch_size']}, {settings['dtype']}, {settings['threads']} thread(s).",
        markup=False,
        highlight=False,
    )
    console.print(describe_libraries(results["environment"]), markup=False, highlight=False)
    for name, entry in results["engines"].items():
        line = f"{name}: {entry['method']}"
        other_epoch = entry.get("other_costs_epoch_s")
        if other_epoch is not None and other_epoch != entry.get("epoch_s"):
            took = format_seconds(other_epoch)
            line += f", which took {took}; the other costs' percentages are of that epoch"
        console.print(line + ".", markup=False, highlight=False)
    if "cpu_contention" in results:
        console.print(describe_contention(results["cpu_contention"]), markup=False, highlight=False)
    console.print(Text.assemble(("note:", "yellow"), " ", results["overhead_note"]), highlight=False)
