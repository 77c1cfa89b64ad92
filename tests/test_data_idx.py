"""The IDX reader and writer: round trips and every malformed-file error."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from mlpbench.data import read_idx, write_idx
from mlpbench.data.idx import encode_idx
from mlpbench.errors import DataError


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    "array",
    [
        np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4),
        np.array([0, 9, 3, 255], dtype=np.uint8),
        np.array([[-128, 5], [127, 0]], dtype=np.int8),
        np.array([-30000, 30000], dtype=np.int16),
        np.array([[1 << 30, -5]], dtype=np.int32),
        np.array([0.5, -1.25, 3e38], dtype=np.float32),
        np.array([[1e-300], [2.5]], dtype=np.float64),
    ],
    ids=["uint8-images", "uint8-labels", "int8", "int16", "int32", "float32", "float64"],
)
def test_idx_round_trip(tmp_path: Path, array: np.ndarray, compress: bool) -> None:
    path = write_idx(tmp_path / "data.idx", array, compress=compress)
    result = read_idx(path)
    assert result.dtype == array.dtype
    assert result.shape == array.shape
    np.testing.assert_array_equal(result, array)
    assert result.flags.writeable


def test_idx_writer_compresses_when_asked(tmp_path: Path) -> None:
    array = np.zeros((3, 2), dtype=np.uint8)
    plain = write_idx(tmp_path / "plain", array).read_bytes()
    packed = write_idx(tmp_path / "packed.gz", array, compress=True).read_bytes()
    assert plain[:4] == b"\x00\x00\x08\x02"
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == plain


def test_idx_header_is_big_endian(tmp_path: Path) -> None:
    data = encode_idx(np.array([[1, 2, 3]], dtype=np.int16))
    assert data[:4] == b"\x00\x00\x0b\x02"
    assert struct.unpack(">II", data[4:12]) == (1, 3)
    assert struct.unpack(">3h", data[12:]) == (1, 2, 3)


def test_idx_gzip_detected_by_content(tmp_path: Path) -> None:
    array = np.arange(6, dtype=np.uint8)
    gz_without_suffix = tmp_path / "labels"
    gz_without_suffix.write_bytes(gzip.compress(encode_idx(array)))
    raw_with_suffix = tmp_path / "labels.gz"
    raw_with_suffix.write_bytes(encode_idx(array))
    np.testing.assert_array_equal(read_idx(gz_without_suffix), array)
    np.testing.assert_array_equal(read_idx(raw_with_suffix), array)


def test_idx_writer_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
    assert list(tmp_path.iterdir()) == []


def test_idx_writer_leaves_nothing_on_failure(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_idx(tmp_path / "missing-folder" / "x", np.zeros(3, dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


def _write(tmp_path: Path, data: bytes, name: str = "bad-idx1-ubyte") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


LABELS = encode_idx(np.arange(10, dtype=np.uint8))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x00\x00", "shorter than the 4-byte magic number"),
        (b"\x01\x00\x08\x01" + LABELS[4:], "magic number 0x01000801 does not start with two zero bytes"),
        (b"label,pixel0\n3,0\n", "magic number 0x6c616265 does not start with two zero bytes"),
        (b"\x00\x00\x07\x01" + LABELS[4:], "unsupported IDX element type 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "the file has 8; download or copy the file again"),
        (LABELS[:-3], "needs 18 bytes, but the file has 15, so it is truncated or its header is damaged"),
        (LABELS + b"\x00\x00", "needs 18 bytes, but the file has 2 bytes more"),
        (LABELS[:4] + struct.pack(">I", 12) + LABELS[8:], "shape 12) needs 20 bytes, but the file has 18"),
        # A changed type byte: 10 float32 labels would need 48 bytes.
        (b"\x00\x00\x0d\x01" + LABELS[4:], "0x00000d01: float32 elements, 1 dimension(s), shape 10"),
    ],
    ids=[
        "too-short",
        "bad-magic",
        "text-file",
        "bad-type",
        "zero-dims",
        "short-header",
        "short-payload",
        "trailing-bytes",
        "count-too-big",
        "changed-type",
    ],
)
def test_idx_malformed_file_rejected(tmp_path: Path, data: bytes, expected: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)


def test_idx_text_named_gz_rejected(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(b"<html>Not Found</html>\n")

    with pytest.raises(DataError) as caught:
        read_idx(path)

    message = str(caught.value)
    assert message.startswith(f"{path}: not an IDX file: the magic number 0x3c68746d")
    assert message.endswith("ends in .gz, but it is not gzip-compressed: download or copy the file again")


def test_idx_uncompressed_named_gz_read(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(LABELS)

    np.testing.assert_array_equal(read_idx(path), np.arange(10))


def test_idx_gzipped_twice_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, gzip.compress(gzip.compress(LABELS)))
    with pytest.raises(DataError, match="gzip-compressed twice; decompress one layer with gunzip"):
        read_idx(path)


def test_idx_malformed_inside_gzip_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, gzip.compress(LABELS[:-1]))
    with pytest.raises(DataError, match="so it is truncated or its header is damaged"):
        read_idx(path)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda gz: gz[: len(gz) // 2],  # stream cut short: EOFError
        lambda gz: gz[:10] + b"\xff" * (len(gz) - 10),  # invalid deflate data: zlib.error
        lambda gz: gz[:2] + b"\x07" + gz[3:],  # unknown compression method: BadGzipFile
        lambda gz: gz[:-8] + b"\x00" * 8,  # wrong CRC: BadGzipFile
        lambda gz: gz + b"xyz",  # trailing bytes after the gzip member: BadGzipFile
    ],
    ids=["truncated", "bad-deflate", "bad-method", "bad-crc", "trailing-garbage"],
)
def test_idx_corrupt_gzip_rejected(tmp_path: Path, mangle) -> None:
    payload = encode_idx(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8))
    path = _write(tmp_path, mangle(gzip.compress(payload)), "labels.gz")
    with pytest.raises(DataError) as caught:
        read_idx(path)
    assert "corrupt gzip stream" in str(caught.value)
    assert str(path) in str(caught.value)


def test_idx_missing_file_rejected(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read IDX file .*nothing-here"):
        read_idx(tmp_path / "nothing-here")
