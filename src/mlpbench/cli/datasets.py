"""``mlpbench datasets``: the named data sets, and whether and where each is available locally."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "datasets",
        help="list the named data sets and where each is found locally",
        description="List the named data sets, whether each is available without a download, "
        "and the folder or file it loads from.",
        epilog="The MNIST-family files are looked for in --data-dir, in $MLPBENCH_DATA, in the "
        "user cache (~/.cache/mlpbench/NAME, following $XDG_CACHE_HOME) and in the folders where "
        "a distribution installs them; each of the first two may hold the four files or a NAME "
        "subfolder with them. Missing files are downloaded into the cache from the built-in "
        "mirrors, or from the base URLs in $MLPBENCH_MIRRORS.",
    )
    parser.add_argument(
        "--data-dir", metavar="DIR", help="folder searched first for the MNIST-family IDX files"
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from mlpbench.data import list_datasets

    rows = list_datasets(args.data_dir)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0

    table = Table(title="data sets")
    table.add_column("name", no_wrap=True)
    table.add_column("available", no_wrap=True)
    table.add_column("location", overflow="fold")
    table.add_column("description")
    for row in rows:
        available = "yes" if row["available"] else "no"
        location = row["location"] or "not found locally; downloaded into the cache on first use"
        if row["problem"] and row["available"]:
            location += f" ({row['problem']})"
        elif row["problem"]:
            location += f" (found, but cannot be loaded: {row['problem']})"
        table.add_row(row["name"], available, location, row["description"])
    console = Console()
    if not console.is_terminal:
        # A pipe or file gets the full table instead of one squeezed into 80 columns.
        console = Console(width=200)
    console.print(table)
    return 0
