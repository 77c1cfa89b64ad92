"""Output files of the commands: checks before any work starts, and atomic writes with clear errors."""

from __future__ import annotations

import argparse
import codecs
import contextlib
import csv
import datetime
import io
import logging
import os
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mlpbench.atomic import atomic_write_with, write_target
from mlpbench.errors import OutputError, OutputPathError
from mlpbench.npzfile import MODEL_ARCHIVE, is_model_archive

logger = logging.getLogger("mlpbench")


@dataclass(frozen=True)
class OutputKind:
    """Kind of file that an output flag writes, which decides whether an existing file may be replaced."""

    description: str
    """Name of the kind, as in "it is not a history CSV"."""
    matches: Callable[[bytes], bool]
    """Test that is True when a file starting with these bytes (up to ``SNIFF_BYTES``) is of this kind."""
    reads_end: bool = False
    """Whether ``matches`` also gets the file's last ``SNIFF_BYTES``, after the first ones."""


SNIFF_BYTES = 4096


def _text_start(start: bytes) -> str | None:
    """Return the UTF-8 text of a file's first bytes, or None when they are not UTF-8."""
    # An incremental decoder keeps a character cut off at the end for later instead of
    # failing on it, so only bytes that are not UTF-8 at all give None.
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(start, final=False)
    except UnicodeDecodeError:
        return None


def csv_kind(description: str, first_column: str) -> OutputKind:
    """Return the kind for a CSV file whose header starts with ``first_column``, as mlpbench writes it."""

    def matches(start: bytes) -> bool:
        text = _text_start(start)
        return text is not None and text.split(",", 1)[0].strip('"') == first_column

    return OutputKind(description, matches)


MODEL_KIND = OutputKind(MODEL_ARCHIVE, is_model_archive)


def _is_results_json(start: bytes) -> bool:
    # Every results file that mlpbench writes names its version among its first keys.
    text = _text_start(start) or ""
    return text.lstrip().startswith("{") and '"mlpbench_version"' in text


JSON_KIND = OutputKind("a JSON file of mlpbench's results", _is_results_json)


def _is_matplotlib_plot(sniffed: bytes) -> bool:
    # Matplotlib names itself in a PNG's first text chunk, in an SVG's opening comment
    # and in a PDF's information dictionary, which comes near the end of the file.
    image = sniffed.lstrip().startswith((b"\x89PNG", b"%PDF", b"<?xml", b"<svg"))
    return image and (b"Matplotlib" in sniffed or b"matplotlib" in sniffed)


PLOT_KIND = OutputKind("a plot that matplotlib wrote (PNG, PDF or SVG)", _is_matplotlib_plot, reads_end=True)


def check_output_path(
    path: str | Path | None,
    flag: str,
    *,
    kind: OutputKind | None = None,
    inputs: Sequence[tuple[str | Path, str]] = (),
) -> None:
    """Raise OutputError unless ``path`` can be created, so a long run does not fail at its end.

    Checks that the folder exists, is writable (by permission bits, which root
    ignores) and that ``path`` is not a folder. A file that already exists may be
    replaced only when it is none of ``inputs`` (pairs of a path and what it is, such
    as the model being read), and, with ``kind``, only when it is empty or is such a
    file: a mistyped ``--out`` must not turn a model or an image into a CSV. Does
    nothing when ``path`` is None.
    """
    if path is None:
        return
    if not str(path).strip():
        raise OutputPathError(f"{flag} needs a file name, got an empty one")
    # The write replaces a link's target, so the target's folder is checked.
    path = write_target(path)
    folder = path.parent
    if not folder.is_dir():
        # A file where a folder should be, such as model.npz in model.npz/copy.npz, cannot be created as one.
        blocking = next((parent for parent in (folder, *folder.parents) if parent.exists()), None)
        if blocking is not None and not blocking.is_dir():
            raise OutputPathError(
                f"cannot write {flag} {path}: {blocking} is a file, not a folder; choose another path"
            )
        raise OutputPathError(f"cannot write {flag} {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"cannot write {flag} {path}: folder {folder} is not writable; choose a writable folder"
        )
    if path.is_dir():
        raise OutputPathError(f"cannot write {flag} {path}: it is a folder; give a file name")
    if not path.exists():
        return
    if not path.is_file():
        # A FIFO or a device such as /dev/null would be replaced by a regular file.
        raise OutputPathError(f"cannot write {flag} {path}: it is not a regular file; give a file name")
    for other, role in inputs:
        if _same_file(path, other):
            raise OutputPathError(
                f"{flag} {path} is also {role}, and writing there would destroy it; "
                "choose another file name"
            )
    if kind is not None:
        try:
            with open(path, "rb") as handle:
                start = handle.read(SNIFF_BYTES)
                if kind.reads_end:
                    handle.seek(max(handle.seek(0, os.SEEK_END) - SNIFF_BYTES, len(start)))
                    start += handle.read()
        except OSError as error:
            reason = error.strerror or error
            raise OutputPathError(
                f"cannot read the existing {flag} {path} to check its contents: {reason}; "
                "choose another file name"
            ) from error
        if start and not kind.matches(start):
            raise OutputPathError(
                f"{flag} {path} already exists and is not {kind.description}, so it was left "
                "alone; choose another file name, or delete that file first if it may go"
            )


def _same_file(path: Path, other: str | Path) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


def non_empty_file(path: str | Path) -> bool:
    """Tell whether ``path`` exists with content; an empty file has nothing to lose."""
    try:
        return Path(path).stat().st_size > 0
    except OSError:
        return False


REPLACED_NOTE = " (it replaced an earlier file of that name)"
"""Added to the line that names a written file which replaced one the user had."""


def replacement_note(path: str | Path | None) -> str:
    """Return ``REPLACED_NOTE`` when writing ``path`` now would replace a file with content, else "".

    Called before the write, so that a replaced file never goes unnoticed.
    """
    return REPLACED_NOTE if path is not None and non_empty_file(path) else ""


def write_output(path: str | Path, write: Callable[[BinaryIO], object], description: str) -> Path:
    """Call ``write(file)`` on a temporary file and rename it to ``path``; raise OutputError on failure.

    On any failure the temporary file is removed and an existing ``path`` is unchanged.
    """
    try:
        return atomic_write_with(path, write)
    except FileNotFoundError as error:
        raise OutputError(f"cannot write {description} {path}: {error}") from error
    except OSError as error:
        raise OutputError(
            f"cannot write {description} {path}: {error.strerror or error}; any previous file is unchanged"
        ) from error


def write_csv(
    path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], description: str
) -> Path:
    """Write a UTF-8 CSV file atomically (see ``write_output``)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = text.getvalue().encode("utf-8")
    return write_output(path, lambda handle: handle.write(data), description)


HISTORY_COLUMNS = ("epoch", "lr", "train_loss", "test_loss", "test_accuracy", "time_s")
HISTORY_KIND = csv_kind("a history CSV", HISTORY_COLUMNS[0])


def write_then_show(write: Callable[[], object], show: Callable[[], object]) -> None:
    """Run ``write`` (an output file), then ``show`` (the results on stdout).

    The file comes first, so that a reader that closes the pipe early (as in
    ``| head``) cannot stop it. When the write fails, the results are still shown
    before the error propagates.
    """
    try:
        write()
    except (OutputError, OSError):
        show()
        raise
    show()


def write_history(path: str | Path, history: Sequence[dict[str, Any]]) -> Path:
    """Write per-epoch history records as CSV, one row per epoch in ``HISTORY_COLUMNS`` order.

    A column a record lacks (test metrics of epochs trained before they were
    recorded) is left empty.
    """
    rows = [[record.get(column, "") for column in HISTORY_COLUMNS] for record in history]
    return write_csv(path, HISTORY_COLUMNS, rows, "history")


RUNS_FOLDER = "runs"
"""Parent of the dated output folders of ``compare`` and ``sweep``."""


def prepare_run_folder(out: str | None, kind: str, now: datetime.datetime | None = None) -> Path:
    """Create and return the output folder of a ``compare`` or ``sweep`` run.

    A given ``out`` may exist only as an empty folder; otherwise FileExistsError is
    raised, so that no earlier result is overwritten. Without ``out`` the folder is
    ``runs/KIND-YYYYmmdd-HHMMSS``, with ``-2``, ``-3``, ... appended when that name
    is taken. A folder that cannot be created or written to raises OutputError, so
    the run stops before its work instead of at its end.
    """
    if out is not None:
        folder = Path(out)
        if folder.exists() and not folder.is_dir():
            raise FileExistsError(f"--out {folder} exists and is not a folder; choose another path")
        if folder.is_dir() and any(folder.iterdir()):
            raise FileExistsError(
                f"--out {folder} is not empty; choose a new folder or remove the old results"
            )
        with _creating(folder, "--out", OUT_HINT):
            folder.mkdir(parents=True, exist_ok=True)
        _check_writable(folder, "--out", OUT_HINT)
        return folder

    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = Path(RUNS_FOLDER) / f"{kind}-{stamp}"
    if base.parent.exists() and not base.parent.is_dir():
        raise FileExistsError(
            f"{base.parent.absolute()} exists and is not a folder, so the results cannot go "
            "there; move that file or give --out"
        )
    # The default folder is relative to the working folder, so messages show where that is.
    with _creating(base.parent.absolute(), "the results folder", DEFAULT_FOLDER_HINT):
        base.parent.mkdir(parents=True, exist_ok=True)
    folder, suffix = base, 1
    while True:
        try:
            with _creating(folder.absolute(), "the results folder", DEFAULT_FOLDER_HINT):
                folder.mkdir()
        except FileExistsError:
            suffix += 1
            folder = base.with_name(f"{base.name}-{suffix}")
            continue
        try:
            _check_writable(folder.absolute(), "the results folder", DEFAULT_FOLDER_HINT)
        except OutputError:
            folder.rmdir()
            raise
        return folder


OUT_HINT = "choose a writable folder"
DEFAULT_FOLDER_HINT = "give --out a writable folder"


@contextlib.contextmanager
def _creating(folder: Path, name: str, hint: str) -> Iterator[None]:
    """Turn an OSError from creating ``folder`` (other than FileExistsError) into OutputError."""
    try:
        yield
    except FileExistsError:
        raise
    except OSError as error:
        raise OutputPathError(f"cannot create {name} {folder}: {error.strerror or error}; {hint}") from error


def _check_writable(folder: Path, name: str, hint: str) -> None:
    # An existing empty folder passes mkdir, and a read-only one would otherwise fail only
    # when the results are written, after the whole run.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write to {name} {folder}: it is not writable; {hint}")


def run_in_new_folder(
    out: str | None, kind: str, parser: argparse.ArgumentParser, body: Callable[[Path], int]
) -> int:
    """Prepare the run folder (see ``prepare_run_folder``) and return ``body(folder)``.

    A non-empty ``--out`` is a usage error (exit status 2). A folder this call created
    is removed again when ``body`` fails before writing into it.
    """
    existed = out is not None and Path(out).is_dir()
    # Folders that preparing the run folder creates above it (runs/ on a first run, or
    # the parents of a new --out), which a failed run removes too when they stay empty.
    parents = _missing_folders(Path(out if out is not None else RUNS_FOLDER).absolute())
    if out is not None:
        parents = parents[1:]
    try:
        folder = prepare_run_folder(out, kind)
    except FileExistsError as error:
        parser.error(str(error))
    with removed_if_left_empty(folder, existed, parents):
        try:
            return body(folder)
        except KeyboardInterrupt:
            if not any(folder.iterdir()):
                logger.warning(
                    "interrupted before %s had written all its results, which it does at the end; "
                    "nothing was saved",
                    kind,
                )
            elif (folder / "results.json").is_file():
                # results.json is written last, and removed with the rest when the writing was cut.
                logger.warning(
                    "interrupted after %s had written all its results; they are complete in %s", kind, folder
                )
            raise


@contextlib.contextmanager
def written_completely(folder: Path) -> Iterator[None]:
    """Remove the files that the block adds to ``folder`` when it fails, so that no partial results stay.

    The block must write results.json last: without it, a folder of plots and
    parameter files would look like a finished run and block a rerun with that
    --out. Entries that were in the folder before the block are kept.
    """
    before = set(folder.iterdir())
    try:
        yield
    except BaseException as error:
        added = sorted(set(folder.iterdir()) - before) if folder.is_dir() else []
        try:
            for entry in added:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
        except OSError as cleanup_error:
            logger.warning(
                "the results in %s are incomplete and could not be removed (%s); remove them before "
                "using that folder again",
                folder,
                cleanup_error,
            )
        else:
            if added and not isinstance(error, KeyboardInterrupt):
                logger.warning(
                    "removed the %d partial result file(s) from %s, written before the error",
                    len(added),
                    folder,
                )
        raise


def _missing_folders(path: Path) -> list[Path]:
    """Return ``path`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        # In new/x/../y, "new/x/.." names new, which comes again as a parent of its own.
        if folder.name != "..":
            missing.append(folder)
    return missing


@contextlib.contextmanager
def removed_if_left_empty(folder: Path, existed: bool, parents: Sequence[Path] = ()) -> Iterator[Path]:
    """Remove ``folder`` when the block fails before writing into it (unless it existed before).

    ``parents``, folders created for it (deepest first), are removed too while empty.
    """
    try:
        yield folder
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            for parent in parents:
                if not parent.is_dir() or any(parent.iterdir()):
                    break
                parent.rmdir()
        raise
