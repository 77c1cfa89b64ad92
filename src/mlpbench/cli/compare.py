"""``mlpbench compare``: train the same MLP with every engine, time it and write a report."""

from __future__ import annotations

import argparse
import datetime
import logging
from pathlib import Path
from typing import Any

from mlpbench.cli.options import (
    add_data_arguments,
    add_training_arguments,
    model_settings,
    positive_int,
    validate_training_arguments,
)
from mlpbench.cli.outputs import RUNS_FOLDER, prepare_run_folder, run_in_new_folder, written_completely
from mlpbench.cli.progress import progress_bar
from mlpbench.engines.registry import ENGINES
from mlpbench.threads import oversubscription_warning

logger = logging.getLogger("mlpbench")

DEFAULT_ENGINES = "numpy,torch,torch-dataloader,sklearn"
DEFAULT_REPEATS = 3
DEFAULT_WARMUP = 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="train every engine several times and report speed, efficiency and agreement",
        description=(
            "Train the same MLP with every engine on the same data, several times, and "
            "report time per epoch, throughput, GFLOP/s against the measured matrix-multiply "
            "peak, test accuracy and the numpy/torch parameter difference. Writes "
            "results.json, results.csv, report.md, plots and parameter files to --out. "
            "Exit status 1 if any engine failed (all outputs are still written)."
        ),
    )
    parser.add_argument(
        "--engines",
        type=parse_engines,
        default=parse_engines(DEFAULT_ENGINES),
        metavar="NAMES",
        help=f"comma list of engines; each round starts one engine later in this list, so no "
        f"engine always runs first (default: {DEFAULT_ENGINES})",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=DEFAULT_REPEATS,
        help="timed runs of each engine (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=non_negative_int,
        default=DEFAULT_WARMUP,
        help="untimed runs of each engine before the timed ones (default: %(default)s)",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        help="train on the first N training rows only; the test split stays whole (default: all rows)",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"output folder; must be new or empty (default: a new {RUNS_FOLDER}/compare-DATE-TIME)",
    )
    add_data_arguments(parser)
    add_training_arguments(parser)
    parser.set_defaults(handler=run)


def parse_engines(text: str) -> list[str]:
    """Parse ``"numpy,torch"`` into a list of registered engine names, rejecting repeats."""
    names = [part.strip() for part in str(text).split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma list of engine names, got nothing")
    unknown = [name for name in names if name not in ENGINES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown engine {unknown[0]!r}; choose from {', '.join(ENGINES)}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"engine {repeated[0]!r} is listed more than once")
    return names


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def prepare_output_folder(out: str | None, now: datetime.datetime | None = None) -> Path:
    """Create and return the output folder; see ``outputs.prepare_run_folder``."""
    return prepare_run_folder(out, "compare", now)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    validate_training_arguments(args, parser)
    return run_in_new_folder(args.out, "compare", parser, lambda folder: _compare(args, folder))


def _compare(args: argparse.Namespace, folder: Path) -> int:
    from mlpbench.bench.compare import CompareConfig, run_comparison
    from mlpbench.bench.report import print_summary, save_parameter_files, write_outputs
    from mlpbench.cli.loading import (
        dataset_metadata,
        first_training_rows,
        training_data_digest,
        training_data_warnings,
    )
    from mlpbench.data import load_dataset

    loaded = load_dataset(args.dataset, dtype=args.dtype, data_dir=args.data_dir)
    data, n_train_full = first_training_rows(loaded, args.samples)
    logger.info(
        "data: %s (%d of %d train, %d test rows, %d features)",
        data.source,
        len(data.y_train),
        n_train_full,
        len(data.y_test),
        data.x_train.shape[1],
    )
    data_warnings = training_data_warnings(data, args.batch_size, loaded.y_train)
    thread_warning = oversubscription_warning(model_settings(args)["threads"])
    if thread_warning is not None:
        data_warnings.insert(0, thread_warning)
    for message in data_warnings:
        logger.warning(message)
    config = CompareConfig(
        engines=args.engines,
        settings=model_settings(args),
        repeats=args.repeats,
        warmup=args.warmup,
        device=args.device,
    )
    total_runs = (args.warmup + args.repeats) * len(args.engines)
    with progress_bar(total_runs, "compare") as advance:

        def on_run(record: dict[str, Any]) -> None:
            advance(f"{record['engine']} {record['status']}")
            _log_run(record)

        comparison = run_comparison(data, config, on_run=on_run)
    # Saved with the results and repeated in the summary, so the files show them too.
    comparison.results["warnings"] = data_warnings + comparison.results["warnings"]
    comparison.results["config"]["dataset"]["n_train_full"] = n_train_full

    metadata = dataset_metadata(data, args.dataset, training_data_digest(data))
    if len(data.y_train) < n_train_full:
        metadata["samples_of"] = n_train_full
    with written_completely(folder):
        save_parameter_files(comparison.models, comparison.results, folder, metadata)
        write_outputs(comparison.results, folder)
    print_summary(comparison.results)
    print(f"results written to {folder}")

    failed = comparison.failed_engines
    if failed:
        print(f"failed engine(s): {', '.join(failed)}; see the table and results.json")
        return 1
    return 0


def _log_run(record: dict[str, Any]) -> None:
    label = "warm-up" if record.get("warmup") else "timed"
    prefix = f"run {record['done']}/{record['total']} {record['engine']} ({label})"
    if record["status"] == "ok":
        logger.info(
            "%s: %.3f s training, %.0f samples/s, test accuracy %.2f%%",
            prefix,
            record["train_time_s"],
            record["samples_per_s"],
            100 * record["test_accuracy"],
        )
    elif record["status"] == "skipped":
        logger.debug("%s skipped: the engine failed earlier", prefix)
    else:
        # The runner has already logged the error itself.
        logger.debug("%s failed: %s", prefix, record["error"])
