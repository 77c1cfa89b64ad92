"""The ``mlpbench`` command line: a thin layer over the Python API.

Each subcommand lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``handler`` to a function taking the parsed arguments and
returning an exit status. A subcommand with a ``--config`` flag (see
``options.add_config_arguments``) reads flag values from TOML, and ``--print-config``
prints them instead of running (see ``mlpbench.cli.config``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence

# OpenBLAS's idle threads spin 2**OPENBLAS_THREAD_TIMEOUT cycles before they sleep, and the
# default spin took a core from the engine timed next. OpenBLAS reads the value when NumPy
# loads it, so it is set only before that, and never over a value the user set.
BLAS_SPIN_EXPONENT = "22"
"""2**22 cycles, an estimated 1-2 ms at 2-4 GHz: long enough for the gaps inside a step."""
if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", BLAS_SPIN_EXPONENT)

from mlpbench import __version__  # noqa: E402 (must follow the setting above)
from mlpbench.errors import InvalidArgumentError, MLPBenchError  # noqa: E402

logger = logging.getLogger("mlpbench")

SUBCOMMAND_MODULES = ("train", "compare", "evaluate", "predict", "datasets", "sweep", "profile")


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="mlpbench",
        allow_abbrev=False,
        description="Train one MLP with NumPy and with PyTorch, check they agree, and benchmark them.",
    )
    parser.add_argument("--version", action="version", version=f"mlpbench {__version__}")
    add_verbosity_arguments(parser, default=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"mlpbench.cli.{name}").register(subparsers)
    for subparser in subparsers.choices.values():
        # A shortened flag such as --ep would change meaning if a flag with the same
        # start were added later, and a config file's keys must be whole names anyway.
        subparser.allow_abbrev = False
        # SUPPRESS keeps a -v given before the subcommand from being reset by its default.
        add_verbosity_arguments(subparser, default=argparse.SUPPRESS)
    return parser


def add_verbosity_arguments(parser: argparse.ArgumentParser, default: object) -> None:
    """Add -v/--verbose and -q/--quiet, which are accepted before and after the subcommand."""
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="log debug detail and show tracebacks",
    )
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="log only warnings and errors"
    )


def configure_logging(verbose: bool, quiet: bool) -> None:
    """Send the ``mlpbench`` loggers' records to stderr: debug under -v, warnings only under -q."""
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    elif quiet:
        level = logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LevelFormatter())
    root = logging.getLogger("mlpbench")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class _LevelFormatter(logging.Formatter):
    """Log formatter: "warning: " before warnings, "error: " before errors, progress lines plain."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"error: {message}"
        if record.levelno == logging.WARNING:
            return f"warning: {message}"
        return message


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C is, so that the same clean-up runs and no temporary file is left."""


# Set by the handler, because a library may catch the exception and raise a plain
# KeyboardInterrupt instead (the sklearn engine does, after scikit-learn catches it).
_sigterm_received = threading.Event()


def _raise_terminated(signum: int, frame: object) -> None:
    _sigterm_received.set()
    raise Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into ``Terminated`` while the command runs, then restore the old handler."""
    _sigterm_received.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        # None means a handler that was not set from Python, and the default action is closest to it.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    Status 2 is for invalid arguments, missing input paths, output paths that
    cannot be written and unknown data set names among them (rejected before any
    work starts). Status 1 is for any other error, a failed allocation in NumPy or
    PyTorch included, which is reported in one line on stderr (with a traceback under
    -v). Ctrl-C gives 130 and SIGTERM 143. Until the arguments are parsed, SIGTERM
    keeps its default action and ends the process at once.
    """
    from mlpbench.cli.config import find_subparser, parse_arguments
    from mlpbench.training.chance import NoProgressWarning

    parser = build_parser()
    args = parse_arguments(parser, list(sys.argv[1:] if argv is None else argv))
    subparser = find_subparser(parser, args.command)
    configure_logging(args.verbose, args.quiet)
    try:
        with _sigterm_as_interrupt(), warnings.catch_warnings():
            # train, compare and sweep report a run that did not learn themselves, naming --lr.
            warnings.simplefilter("ignore", NoProgressWarning)
            return _run_command(args, subparser)
    except BrokenPipeError:
        # The reader of stdout has gone (as in `mlpbench evaluate ... | head`). Point stdout
        # at /dev/null so that the flush at exit does not fail again, and exit quietly with
        # status 1, as rich does when a table meets a closed pipe.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except (MLPBenchError, ValueError, OSError) as error:
        if args.verbose:
            logger.exception("mlpbench %s failed", args.command)
        print(f"mlpbench {args.command}: error: {error}", file=sys.stderr)
        # A missing or unwritable path or an unknown data set is found before any work, like a bad flag.
        return 2 if isinstance(error, InvalidArgumentError) else 1
    except (MemoryError, RuntimeError) as error:
        if not isinstance(error, MemoryError) and not _is_allocation_failure(error):
            raise
        if args.verbose:
            logger.exception("mlpbench %s failed", args.command)
        hint = _memory_hint(args)
        print(f"mlpbench {args.command}: error: not enough memory: {error}; {hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if _sigterm_received.is_set():
            print(f"mlpbench {args.command}: terminated", file=sys.stderr)
            return 128 + signal.SIGTERM
        print(f"mlpbench {args.command}: interrupted", file=sys.stderr)
        return 130


def _is_allocation_failure(error: RuntimeError) -> bool:
    """Tell whether ``error`` is PyTorch's report of a failed allocation, which is not a MemoryError.

    The CPU allocator raises a RuntimeError whose message contains "can't allocate memory"
    (PyTorch 2.13 on Linux), and CUDA raises ``torch.OutOfMemoryError``, also a RuntimeError.
    NOTE: the text was read on Linux only; an allocator that words it otherwise still
    ends in a traceback.
    """
    if type(error).__name__ == "OutOfMemoryError":
        return True
    return "can't allocate memory" in str(error)


def _memory_hint(args: argparse.Namespace) -> str:
    """Name the options that set how much memory the command needs."""
    if hasattr(args, "hidden"):
        return "check --hidden for a mistyped size, or choose smaller hidden layers or a smaller --batch-size"
    if args.command == "predict":
        return "give fewer inputs at once"
    return "close other programs, or run it on a machine with more memory"


def _run_command(args: argparse.Namespace, subparser: argparse.ArgumentParser) -> int:
    """Run the parsed subcommand, or print its resolved settings under --print-config."""
    from mlpbench.cli.config import format_config

    if getattr(args, "print_config", False):
        validate = getattr(args, "validate", None)
        if validate is not None:
            validate(args, subparser)
        resolve = getattr(args, "resolve_config", None)
        if resolve is not None:
            resolve(args, subparser)
        sys.stdout.write(format_config(args, subparser))
        return 0
    return int(args.handler(args, subparser) or 0)
