"""Atomic file writes: write a temporary file beside the target, then rename it into place."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[BinaryIO]:
    """Yield a binary file that replaces ``path`` only when the block ends without error.

    The temporary file lives in the target's folder (so ``os.replace`` is a rename on
    one file system) and keeps the target's suffix (some writers check it). On any
    error the temporary file is removed and the old ``path``, if any, is untouched.
    A symbolic link is followed, so its target is replaced and the link kept. A new
    file gets the mode a plain ``open()`` would give it, and a replaced file keeps its
    mode. Raises FileNotFoundError when the folder does not exist.
    """
    path = write_target(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} does not exist; create it first")
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_current_umask()
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{path.suffix}", dir=folder)
    # An exception already being handled when the write starts (an interrupt whose
    # clean-up writes the history) is not one that this write should report.
    handled_before = sys.exc_info()[1]
    try:
        # mkstemp creates the file as 0600.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        interrupt = interrupt_behind(error, handled_before)
        if interrupt is not None and interrupt is not error:
            # torch.save's writer turns a Ctrl-C inside a write into a RuntimeError;
            # the interrupt is what happened, and the caller's clean-up expects it.
            raise interrupt from None
        raise


def interrupt_behind(error: BaseException, stop: BaseException | None = None) -> KeyboardInterrupt | None:
    """Return the KeyboardInterrupt that ``error`` is, or was raised while handling, else None.

    The chain of causes is followed back to ``stop`` at most, which is not searched.
    """
    seen: BaseException | None = error
    while seen is not None and seen is not stop:
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def write_target(path: str | Path) -> Path:
    """Return the file that an atomic write to ``path`` replaces: a symbolic link's target, else ``path``."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _current_umask() -> int:
    # os.umask can only be read by setting it, so it is set back at once.
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_writer(path) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically and return the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(file)`` on a temporary file and rename it to ``path`` on success."""
    with atomic_writer(path) as handle:
        write(handle)
    return Path(path)
