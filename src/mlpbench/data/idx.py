"""Read and write IDX files, the binary array format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, an element type code and the
number of dimensions), one big-endian uint32 per dimension, then the elements in
C order, big-endian. The files may be gzip-compressed, which the reader detects
from the content (gzip's magic bytes ``1f 8b``), not from the file name.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from mlpbench.atomic import atomic_write_bytes
from mlpbench.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

FETCH_AGAIN = "download or copy the file again"
"""The fix named in messages about a damaged or truncated file."""

# Element type code -> big-endian NumPy dtype, as the IDX format defines them.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_TYPE_CODES: dict[np.dtype, int] = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}


def is_gzip(data: bytes) -> bool:
    """Return whether ``data`` starts with the gzip magic bytes."""
    return data[:2] == GZIP_MAGIC


def decompress_if_gzip(data: bytes, path: str | Path, *, fix: str = FETCH_AGAIN) -> bytes:
    """Return ``data`` decompressed when it is a gzip stream, else unchanged.

    Raises
    ------
    DataError
        If the gzip stream is corrupt or truncated; the message names ``path`` and ``fix``.
    """
    if not is_gzip(data):
        return data
    try:
        return gzip.decompress(data)
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip stream ({error}); {fix}") from error


def parse_idx(
    data: bytes, path: str | Path, role: str | None = None, *, fix: str = FETCH_AGAIN
) -> np.ndarray:
    """Parse the uncompressed bytes of an IDX file.

    Parameters
    ----------
    data
        The whole file content, already decompressed.
    path
        The file the bytes came from, used only in error messages.
    role
        What the file should contain, such as ``"train labels"``. A label file must
        have 1 or 2 dimensions and an image file at least 2, and a header that says
        otherwise is named as such.
    fix
        The remedy that messages about a damaged or truncated file name.

    Returns
    -------
    numpy.ndarray
        Array of shape ``dims`` from the header, in native byte order with the
        element type the header names (``uint8`` for MNIST files). The array owns
        its memory and is writable.

    Raises
    ------
    DataError
        If the magic number, the element type, the header or the payload length is
        invalid. The message names ``path`` and the bad value.
    """
    if len(data) < 4:
        raise DataError(f"{path}: not an IDX file: {len(data)} bytes, shorter than the 4-byte magic number")
    if is_gzip(data):
        raise DataError(f"{path}: the file is gzip-compressed twice; decompress one layer with gunzip")
    if data[0] != 0 or data[1] != 0:
        raise DataError(
            f"{path}: not an IDX file: the magic number 0x{data[:4].hex()} does not start with two zero bytes"
        )
    type_code, ndim = data[2], data[3]
    if type_code not in IDX_TYPES:
        supported = ", ".join(f"0x{code:02X}" for code in IDX_TYPES)
        raise DataError(f"{path}: unsupported IDX element type 0x{type_code:02X}; supported: {supported}")
    if ndim == 0:
        raise DataError(f"{path}: invalid IDX header: 0 dimensions")
    # Checked before the sizes, whose product a damaged header can make absurd. Labels
    # are (n,) or (n, 1); images have a sample axis and at least one more.
    if role is not None:
        is_labels = role.endswith("labels")
        if (is_labels and ndim > 2) or (not is_labels and ndim < 2):
            expected = "1 to 2" if is_labels else "at least 2"
            raise DataError(
                f"{path}: its IDX header gives {ndim} dimension(s), but a {role} file has {expected}; "
                f"check that this is the right file, or {fix}"
            )

    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header_size} bytes, "
            f"the file has {len(data)}; {fix}"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))

    dtype = IDX_TYPES[type_code]
    count = math.prod(dims)
    expected = header_size + count * dtype.itemsize
    shape_text = " x ".join(str(d) for d in dims)
    # The magic number and the shape are named, because a damaged header (a changed
    # type byte or dimension count) shows as a wrong length too.
    header_text = (
        f"the header (magic number 0x{data[:4].hex()}: {dtype.newbyteorder('=').name} elements, "
        f"{ndim} dimension(s), shape {shape_text}) needs {expected} bytes"
    )
    if len(data) < expected:
        raise DataError(
            f"{path}: {header_text}, but the file has {len(data)}, so it is truncated or its header "
            f"is damaged; {fix}"
        )
    if len(data) > expected:
        raise DataError(
            f"{path}: {header_text}, but the file has {len(data) - expected} bytes more, so its "
            f"header is damaged or other data follows it; {fix}"
        )

    array = np.frombuffer(data, dtype=dtype, count=count, offset=header_size).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | Path, role: str | None = None) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not.

    Parameters
    ----------
    path
        File to read. Compression is detected from the content, not the name.
    role
        What the file should contain (see ``parse_idx``).

    Returns
    -------
    numpy.ndarray
        Array of the shape the header gives, for example ``(n, 28, 28)`` ``uint8``
        for MNIST images and ``(n,)`` ``uint8`` for labels. No scaling is applied.

    Raises
    ------
    DataError
        If the file cannot be read, the gzip stream is corrupt, or the IDX content
        is invalid (see ``parse_idx``).
    """
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise DataError(f"cannot read IDX file {path}: {error.strerror or error}") from error
    try:
        return parse_idx(decompress_if_gzip(raw, path), path, role)
    except DataError as error:
        if is_gzip(raw) or Path(path).suffix.lower() != ".gz":
            raise
        # An uncompressed IDX file under a .gz name loads; anything else is not the downloaded file.
        message = f"{error}; its name ends in .gz, but it is not gzip-compressed: {FETCH_AGAIN}"
        raise DataError(message) from error


def encode_idx(array: np.ndarray) -> bytes:
    """Return the uncompressed IDX bytes of ``array``.

    Raises
    ------
    ValueError
        If the dtype has no IDX type code, the array has 0 or more than 255
        dimensions, or a dimension does not fit in a uint32.
    """
    array = np.asarray(array)
    native = array.dtype.newbyteorder("=")
    if native not in _TYPE_CODES:
        supported = ", ".join(str(dtype.newbyteorder("=")) for dtype in IDX_TYPES.values())
        raise ValueError(f"IDX cannot store dtype {array.dtype}; convert the array to one of {supported}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX stores 1 to 255 dimensions, got an array with {array.ndim}")
    if any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX dimensions must fit in a uint32, got shape {array.shape}")

    magic = bytes([0, 0, _TYPE_CODES[native], array.ndim])
    dims = np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    return magic + dims + payload


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool = False) -> Path:
    """Write ``array`` to ``path`` as an IDX file, atomically.

    Parameters
    ----------
    path
        Target file. Its folder must exist. The name is used as given: pass a
        ``.gz`` name when ``compress`` is true if you want the usual naming.
    array
        Any shape with 1 to 255 dimensions and a dtype of uint8, int8, int16,
        int32, float32 or float64.
    compress
        Gzip the file (with mtime 0, so equal arrays give equal bytes).

    Returns
    -------
    pathlib.Path
        The written path.

    Raises
    ------
    ValueError
        If the array cannot be stored as IDX (see ``encode_idx``).
    """
    data = encode_idx(array)
    if compress:
        data = gzip.compress(data, mtime=0)
    return atomic_write_bytes(path, data)
