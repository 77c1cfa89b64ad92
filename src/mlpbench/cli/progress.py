"""Progress bars on stderr that disappear when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


@contextlib.contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[str], None]]:
    """Yield ``advance(status)``, which moves the bar one step and shows ``status`` beside it.

    Nothing is drawn when stderr is not a terminal, so logs and pipes stay clean.
    """
    console = Console(stderr=True)
    if not sys.stderr.isatty() or not console.is_terminal:
        yield lambda status: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total, status="")

        def advance(status: str) -> None:
            progress.update(task, advance=1, status=status)

        yield advance
