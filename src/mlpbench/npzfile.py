"""Recognize NumPy's two file formats by their first bytes.

``np.load`` treats any file that is neither a zip archive nor a ``.npy`` file as
a pickle, so a text file or other stray file named ``*.npz`` fails with a
message about pickled data and ``allow_pickle``, which misleads. Checking the
signature first gives an accurate message.
"""

from __future__ import annotations

import contextlib
import tokenize
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip archive's first local file header, or the end record of an empty archive."""

NPY_SIGNATURE = b"\x93NUMPY"

READ_ERRORS = (zipfile.BadZipFile, EOFError, OSError, ValueError, SyntaxError, tokenize.TokenError)
"""Exceptions that ``np.load`` and reading an array from an archive raise for a damaged file.

A damaged ``.npy`` header inside an archive reaches NumPy's header parser, which
can fail in Python's tokenizer (``tokenize.TokenError``) rather than with a
ValueError, when the archive's checksum is only checked at the end of the array.
"""

MODEL_FORMAT = "mlpbench-checkpoint"
"""The ``format`` entry of every mlpbench model file."""

MODEL_ARCHIVE = "an mlpbench model file (.npz or .pt)"
"""The files that ``is_model_archive`` recognizes, as messages name them."""

MODEL_SNIFF_BYTES = 4096
"""How many of a file's first bytes ``is_model_archive`` needs."""


def model_archive_suffix(start: bytes) -> str | None:
    """Return the suffix (".npz" or ".pt") of an mlpbench model file from its first bytes, else None.

    ``start`` is the file's first ``MODEL_SNIFF_BYTES`` bytes. Both formats are zip
    archives, and the first member's name starts at byte 30. mlpbench's ``.npz``
    files start with format.npy. ``torch.save``'s archives start with
    <name>/data.pkl, stored uncompressed, whose pickle of an mlpbench checkpoint
    names its format near the start. Other ``torch.save`` files do not count.
    """
    if not start.startswith(ZIP_SIGNATURES[0]) or len(start) < 30:
        return None
    name = start[30 : 30 + int.from_bytes(start[26:28], "little")]
    if name == b"format.npy":
        return ".npz"
    if name.endswith(b"/data.pkl") and MODEL_FORMAT.encode() in start:
        return ".pt"
    return None


def is_model_archive(start: bytes) -> bool:
    """Tell whether a file's first ``MODEL_SNIFF_BYTES`` bytes are those of an mlpbench model file."""
    return model_archive_suffix(start) is not None


OBJECT_ARRAY_REASON = (
    "an array holds Python objects, which mlpbench does not load, because unpickling them could run code"
)


def is_object_array_error(error: BaseException) -> bool:
    """Tell whether ``np.load(..., allow_pickle=False)`` raised ``error`` for an object array."""
    # NumPy 1.x and 2.x raise ValueError("Object arrays cannot be loaded when allow_pickle=False").
    return isinstance(error, ValueError) and "allow_pickle" in str(error)


def describe_read_error(error: BaseException) -> str:
    """Return ``error`` as a short reason; a tokenizer error's own text names no file or array."""
    if isinstance(error, tokenize.TokenError | SyntaxError):
        return "an array's header is damaged"
    if is_object_array_error(error):
        return OBJECT_ARRAY_REASON
    return str(error)


def numpy_file_kind(path: str | Path) -> str | None:
    """Return ``"npz"`` or ``"npy"`` from the file's first bytes, or None if it is neither.

    Raises OSError if the file cannot be opened or read.
    """
    with open(path, "rb") as handle:
        start = handle.read(len(NPY_SIGNATURE))
    if start.startswith(ZIP_SIGNATURES):
        return "npz"
    if start == NPY_SIGNATURE:
        return "npy"
    return None


@contextlib.contextmanager
def loaded_numpy_file(path: str | Path) -> Iterator[Any]:
    """Yield ``np.load(..., allow_pickle=False)`` of the file at ``path``: an array or an open archive.

    The file is opened here and closed on every exit. Given a path, ``np.load`` opens
    the file itself and leaves it open when the archive turns out to be damaged.
    An archive's arrays can be read only inside the block.
    """
    with open(path, "rb") as handle:
        loaded = np.load(handle, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                yield loaded
        else:
            yield loaded
