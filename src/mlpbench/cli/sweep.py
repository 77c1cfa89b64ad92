"""``mlpbench sweep``: the comparison over a grid of batch sizes, widths, dtypes and thread counts."""

from __future__ import annotations

import argparse
import datetime
import logging
from pathlib import Path
from typing import Any

from mlpbench.cli.compare import (
    non_negative_int,
    parse_engines,
)
from mlpbench.cli.options import (
    add_config_arguments,
    add_data_arguments,
    add_flags,
    flag_message,
    positive_int,
)
from mlpbench.cli.outputs import RUNS_FOLDER, prepare_run_folder, run_in_new_folder, written_completely
from mlpbench.cli.progress import progress_bar
from mlpbench.threads import oversubscription_warning
from mlpbench.training.hyperparams import DTYPES

logger = logging.getLogger("mlpbench")

DEFAULT_ENGINES = "numpy,torch"
DEFAULT_BATCH_SIZES = "16,32,64,128,256,512,1024"
DEFAULT_HIDDEN_SIZES = "128,1024"
DEFAULT_DTYPES = "float32,float64"
DEFAULT_THREADS_LIST = "1,all"
DEFAULT_DATASET = "fashion-mnist"
DEFAULT_EPOCHS = 1
DEFAULT_REPEATS = 3
DEFAULT_WARMUP = 1

QUICK_PRESET: dict[str, Any] = {
    "batch_sizes": [16, 64, 256, 1024],
    "hidden_sizes": [128],
    "dtypes": ["float32"],
    "threads_list": "all",
    "samples": 6000,
    "repeats": 3,
    "warmup": 1,
}
"""Values that ``--quick`` gives the flags not set on the command line or in --config.

Sized to finish in under 2 minutes on 2 cores. ``mlpbench sweep --quick`` took 36 s
and 50 s of wall time in two runs on a shared 2-core AMD EPYC virtual machine, and
9 s in two runs on a quiet 2-core Intel Xeon one (20 to 29 s while other work ran);
11 s on another quiet one, and 77 s there while its threads waited for a CPU half the time.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run the comparison over a grid of batch sizes, widths, dtypes and thread counts",
        description=(
            "Time every engine at every point of a grid (batch size x hidden size x dtype x "
            "threads), with the same procedure as compare: warm-up rounds, then timed rounds "
            "with the engines interleaved. The matrix-multiply peak is measured once per "
            "(dtype, threads) pair before its points, and NumPy's again after them. Writes "
            "results.json, results.csv, time_vs_batch.png and gflops_vs_batch.png to --out "
            "and prints a table. A named MNIST-family data set "
            "that is not found locally is replaced by synthetic data of the same shape (the "
            "sweep never downloads), and the output says so. Exit status 1 if any engine "
            "failed at any point (all outputs are still written)."
        ),
    )
    # The batch size, dtype and thread flags also accept the names that train and
    # compare use, so that a command line moved over from them sweeps that one value.
    # --hidden has no such alias: there "256,128" is one network with two hidden layers,
    # while --hidden-sizes 256,128 sweeps two networks of one hidden layer each.
    grid = parser.add_argument_group("grid")
    grid.add_argument(
        "--engines",
        type=parse_engines,
        default=parse_engines(DEFAULT_ENGINES),
        metavar="NAMES",
        help=f"comma list of engines, interleaved at each point (default: {DEFAULT_ENGINES})",
    )
    grid.add_argument(
        "--batch-sizes",
        "--batch-size",
        type=parse_int_list,
        default=parse_int_list(DEFAULT_BATCH_SIZES),
        metavar="LIST",
        help=f"comma list of batch sizes (default: {DEFAULT_BATCH_SIZES})",
    )
    grid.add_argument(
        "--hidden-sizes",
        type=parse_int_list,
        default=parse_int_list(DEFAULT_HIDDEN_SIZES),
        metavar="LIST",
        help="comma list of widths of the single hidden layer, one network per width "
        f"(default: {DEFAULT_HIDDEN_SIZES})",
    )
    grid.add_argument(
        "--dtypes",
        "--dtype",
        type=parse_dtype_list,
        default=parse_dtype_list(DEFAULT_DTYPES),
        metavar="LIST",
        help=f"comma list of float32 and float64 (default: {DEFAULT_DTYPES})",
    )
    grid.add_argument(
        "--threads-list",
        "--threads",
        type=parse_threads_list,
        default=DEFAULT_THREADS_LIST,
        metavar="LIST",
        help="comma list of BLAS and PyTorch thread counts; 'all' is the number of logical "
        f"cores, os.cpu_count() (default: {DEFAULT_THREADS_LIST})",
    )

    rounds = parser.add_argument_group("runs")
    rounds.add_argument(
        "--epochs",
        type=positive_int,
        default=DEFAULT_EPOCHS,
        help="timed epochs per run (default: %(default)s)",
    )
    rounds.add_argument(
        "--repeats",
        type=positive_int,
        default=DEFAULT_REPEATS,
        help="timed runs of each engine at each point (default: %(default)s)",
    )
    rounds.add_argument(
        "--warmup",
        type=non_negative_int,
        default=DEFAULT_WARMUP,
        help="untimed runs of each engine at each point before the timed ones (default: %(default)s)",
    )
    rounds.add_argument(
        "--samples",
        type=positive_int,
        metavar="N",
        help="time only the first N training rows; time per epoch is then reported for N "
        "rows and also scaled linearly to all rows, as an estimate (default: all rows)",
    )
    rounds.add_argument(
        "--quick",
        action="store_true",
        help="a reduced grid that took 11 seconds on a quiet 2-core machine, and up to 77 while "
        "other work ran: batch sizes "
        f"{','.join(map(str, QUICK_PRESET['batch_sizes']))}, hidden "
        f"{QUICK_PRESET['hidden_sizes'][0]}, {QUICK_PRESET['dtypes'][0]}, all threads, "
        f"{QUICK_PRESET['samples']} samples, {QUICK_PRESET['repeats']} repeats, "
        f"{QUICK_PRESET['warmup']} warm-up; flags given explicitly override these values",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help=f"output folder; must be new or empty (default: a new {RUNS_FOLDER}/sweep-DATE-TIME)",
    )
    add_data_arguments(parser)
    parser.set_defaults(dataset=DEFAULT_DATASET)
    add_config_arguments(parser)
    add_optimizer_arguments(parser)
    parser.set_defaults(handler=run, validate=validate_arguments)


def add_optimizer_arguments(parser: argparse.ArgumentParser) -> None:
    """Add --lr, --momentum, --weight-decay, --seed and --device with the defaults of ``train``."""
    add_flags(parser.add_argument_group("training"), ("lr", "momentum", "weight_decay", "seed", "device"))


# ----- flag types -------------------------------------------------------------------------


def _split(text: str) -> list[str]:
    parts = [part.strip() for part in str(text).split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError("expected a comma list, got nothing")
    if not all(parts):
        raise argparse.ArgumentTypeError(f"invalid list {text!r}: it has an empty item")
    return parts


def _reject_repeats(values: list[Any], text: str) -> list[Any]:
    repeated = [value for index, value in enumerate(values) if value in values[:index]]
    if repeated:
        raise argparse.ArgumentTypeError(f"invalid list {text!r}: {repeated[0]} appears twice")
    return values


def parse_int_list(text: str) -> list[int]:
    """Parse ``"16,32,64"`` into ``[16, 32, 64]``: positive integers, no repeats."""
    values = []
    for part in _split(text):
        try:
            value = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid list {text!r}: {part!r} is not an integer; write e.g. 16,32,64"
            ) from None
        if value < 1:
            raise argparse.ArgumentTypeError(
                f"invalid list {text!r}: {value} is below 1; every entry must be 1 or more"
            )
        values.append(value)
    return _reject_repeats(values, text)


def parse_dtype_list(text: str) -> list[str]:
    """Parse ``"float32,float64"``; each item must be one of ``DTYPES``."""
    values = _split(text)
    for value in values:
        if value not in DTYPES:
            raise argparse.ArgumentTypeError(
                f"invalid dtype {value!r} in {text!r}; choose from {', '.join(DTYPES)}"
            )
    return _reject_repeats(values, text)


def parse_threads_list(text: str) -> list[int]:
    """Parse ``"1,all"`` into thread counts; ``all`` is ``os.cpu_count()``.

    A count written twice is rejected, as in the other lists. One that appears twice
    only once ``all`` is resolved (``1,all`` on one core) is kept once.
    """
    from mlpbench.bench.sweep import all_threads

    parts = _split(text)
    _reject_repeats([part.lower() for part in parts], text)
    values: list[int] = []
    for part in parts:
        if part.lower() == "all":
            value = all_threads()
        else:
            try:
                value = int(part)
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"invalid thread list {text!r}: {part!r} is neither an integer nor 'all'"
                ) from None
            if value < 1:
                raise argparse.ArgumentTypeError(
                    f"invalid thread list {text!r}: {value} is below 1; give 1 or more threads, or 'all'"
                )
        if value not in values:
            values.append(value)
    return values


# ----- running ----------------------------------------------------------------------------


def apply_quick_preset(args: argparse.Namespace) -> None:
    """Give each ``QUICK_PRESET`` flag its value unless the user set it; no-op without --quick."""
    if not args.quick:
        return
    explicit = getattr(args, "explicit_options", frozenset())
    for dest, value in QUICK_PRESET.items():
        if dest not in explicit:
            setattr(args, dest, parse_threads_list(value) if dest == "threads_list" else value)


def validate_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Apply --quick and reject invalid values before any work starts (exit status 2)."""
    apply_quick_preset(args)
    try:
        sweep_config(args).validate()
    except ValueError as error:
        parser.error(flag_message(str(error), args))


def sweep_config(args: argparse.Namespace) -> Any:
    """Return the ``SweepConfig`` of parsed (and validated) flags."""
    from mlpbench.bench.sweep import SweepConfig

    return SweepConfig(
        engines=list(args.engines),
        batch_sizes=list(args.batch_sizes),
        hidden_sizes=list(args.hidden_sizes),
        dtypes=list(args.dtypes),
        threads_list=list(args.threads_list),
        epochs=args.epochs,
        repeats=args.repeats,
        warmup=args.warmup,
        samples=args.samples,
        training={
            "lr": args.lr,
            "momentum": args.momentum,
            "weight_decay": args.weight_decay,
            "seed": args.seed,
        },
        device=args.device,
        quick=args.quick,
    )


def prepare_sweep_folder(out: str | None, now: datetime.datetime | None = None) -> Path:
    """Create and return the output folder; see ``outputs.prepare_run_folder``."""
    return prepare_run_folder(out, "sweep", now)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    validate_arguments(args, parser)
    return run_in_new_folder(args.out, "sweep", parser, lambda folder: _sweep(args, folder))


def _sweep(args: argparse.Namespace, folder: Path) -> int:
    from mlpbench.bench.sweep import load_sweep_data, run_sweep
    from mlpbench.bench.sweep_report import print_sweep_summary, write_sweep_outputs
    from mlpbench.cli.loading import check_samples

    sweep_data = load_sweep_data(args.dataset, args.data_dir)
    data = sweep_data.data
    logger.info(
        "data: %s (%d train, %d test rows, %d features)",
        data.source,
        len(data.y_train),
        len(data.y_test),
        data.x_train.shape[1],
    )
    quick_samples = args.quick and "samples" not in getattr(args, "explicit_options", frozenset())
    if quick_samples and args.samples > len(data.y_train):
        # The preset's row count suits Fashion-MNIST; a smaller data set is timed whole.
        logger.warning(
            "--quick times %d rows, but %s has %d training rows; timing all of them",
            args.samples,
            data.name,
            len(data.y_train),
        )
        args.samples = len(data.y_train)
    if args.samples is not None:
        check_samples(data, args.samples)
    config = sweep_config(args)
    thread_warnings = []
    for threads in sorted(set(config.threads_list)):
        message = oversubscription_warning(threads)
        if message is not None:
            logger.warning(message)
            thread_warnings.append(message)
    logger.info(
        "%d points x %d engine(s) x %d run(s)",
        len(config.points()),
        len(config.engines),
        config.warmup + config.repeats,
    )
    with progress_bar(config.total_runs(), "sweep") as advance:

        def on_run(record: dict[str, Any]) -> None:
            advance(f"{record['point'].label}: {record['engine']} {record['status']}")
            _log_run(record)

        results = run_sweep(sweep_data, config, on_run=on_run)
    results["warnings"] = thread_warnings + results["warnings"]

    with written_completely(folder):
        write_sweep_outputs(results, folder)
    print_sweep_summary(results)
    print(f"results written to {folder}")

    failed = sorted(
        {
            f"{name} at {point['batch_size']}/{point['hidden']}/{point['dtype']}/{point['threads']}"
            for point in results["points"]
            for name, entry in point["engines"].items()
            if entry["status"] == "failed"
        }
    )
    if failed:
        print(
            f"{len(failed)} engine run(s) failed (engine at batch/hidden/dtype/threads): "
            f"{', '.join(failed)}; see the warnings and results.json"
        )
        return 1
    return 0


def _log_run(record: dict[str, Any]) -> None:
    label = "warm-up" if record.get("warmup") else "timed"
    prefix = f"run {record['done']}/{record['total']} {record['point'].label}, {record['engine']} ({label})"
    if record["status"] == "ok":
        logger.debug("%s: %.3f s training", prefix, record["train_time_s"])
    elif record["status"] == "skipped":
        logger.debug("%s skipped: the engine failed earlier at this point", prefix)
    else:
        logger.debug("%s failed: %s", prefix, record["error"])
