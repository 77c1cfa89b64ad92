"""The ``mlpbench`` command line: a thin layer over the Python API.

Each subcommand lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``handler`` to a function taking the parsed arguments and
returning an exit status.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from mlpbench import __version__
from mlpbench.errors import MLPBenchError

logger = logging.getLogger("mlpbench")

SUBCOMMAND_MODULES = ("train",)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    import importlib

    parser = argparse.ArgumentParser(
        prog="mlpbench",
        description="Train one MLP with NumPy and with PyTorch, check they agree, and benchmark them.",
    )
    parser.add_argument("--version", action="version", version=f"mlpbench {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="log debug detail and show tracebacks"
    )
    verbosity.add_argument(
        "-q", "--quiet", action="store_true", help="log only warnings and errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"mlpbench.cli.{name}").register(subparsers)
    return parser


def configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("mlpbench")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status.

    Status 2 is for invalid arguments (rejected before any work starts), 1 for any
    other error, which is reported in one line on stderr (with a traceback under -v).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose, args.quiet)
    try:
        return int(args.handler(args, parser) or 0)
    except (MLPBenchError, ValueError, OSError) as error:
        if args.verbose:
            logger.exception("mlpbench %s failed", args.command)
        print(f"mlpbench {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"mlpbench {args.command}: interrupted", file=sys.stderr)
        return 130
