"""Recognize NumPy's two file formats by their first bytes.

``np.load`` treats any file that is neither a zip archive nor a ``.npy`` file as
a pickle, so a text file or other stray file named ``*.npz`` fails with a
message about pickled data and ``allow_pickle``, which misleads. Checking the
signature first gives an accurate message.
"""

from __future__ import annotations

from pathlib import Path

ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
"""A zip archive's first local file header, or the end record of an empty archive."""

NPY_SIGNATURE = b"\x93NUMPY"


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
