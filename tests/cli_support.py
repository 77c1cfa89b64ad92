"""Helpers for the command-line tests: run ``mlpbench`` in-process and check its error output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mlpbench.cli import main

# Small and fast: a 16-unit hidden layer on the 8x8 digits, 2 epochs. One thread,
# because on a busy machine with few cores extra threads mostly wait for each other.
TINY_TRAINING = ("--hidden", "16", "--epochs", "2", "--batch-size", "128", "--threads", "1")

# Written out here rather than read from mlpbench.data.sources, so that a typo there shows.
FASHION_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


@dataclass
class Result:
    """Exit status and captured output of one ``mlpbench`` run."""

    status: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: object) -> Result:
    """Run ``mlpbench ARGS...`` in-process; argparse exits (status 2) are caught too."""
    capsys.readouterr()
    try:
        status = main([str(arg) for arg in args])
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else 1
    captured = capsys.readouterr()
    return Result(status, captured.out, captured.err)


def train_checkpoint(capsys: pytest.CaptureFixture[str], path: Path, *extra: object) -> Result:
    """Train a tiny digits model quietly and save it to ``path``; fail the test on error."""
    result = run_cli(capsys, "train", "-q", *TINY_TRAINING, "--save", path, *extra)
    assert result.status == 0, result.err
    return result


def assert_one_line_error(result: Result, command: str, *fragments: str, status: int = 1) -> None:
    """Check a failed run: ``status``, exactly one stderr line naming each fragment, no traceback.

    The run must have used -q, so informational log lines are off.
    """
    assert result.status == status, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"mlpbench {command}: error: "), lines[0]
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def temp_files(folder: Path) -> list[str]:
    """Return the names of temporary files that an atomic write left behind in ``folder``."""
    return sorted(path.name for path in folder.iterdir() if ".tmp" in path.name)


def load_params(path: Path) -> list[np.ndarray]:
    """Return a checkpoint's parameters as NumPy arrays in (fan_in, fan_out) layout."""
    from mlpbench.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(path)
    return [array for pair in checkpoint.params for array in pair]


def damage_npy_header(path: Path, member: str) -> Path:
    """Rewrite ``member`` of the .npz archive at ``path`` with an unparsable header.

    The archive stays valid (its checksums match the new bytes), so only NumPy's
    header parser reads the damage: an unclosed bracket, which fails in Python's
    tokenizer rather than with a ValueError. Bytes flipped on disk in a large array's
    header do the same when the checksum is only checked at the array's end.
    """
    import zipfile

    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': ((((\n"
    header = header.ljust(118, b" ")[:-1] + b"\n"
    members[f"{member}.npy"] = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path
