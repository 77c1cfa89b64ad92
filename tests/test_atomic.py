"""Atomic writes: the file appears whole or not at all, with the usual permissions."""

from __future__ import annotations

import os
import stat

import pytest

from mlpbench.atomic import atomic_write_bytes, atomic_writer


def test_mode_follows_umask(tmp_path) -> None:
    previous = os.umask(0o022)
    try:
        path = atomic_write_bytes(tmp_path / "report.md", b"hello")
    finally:
        os.umask(previous)

    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_failed_write_keeps_old_file(tmp_path) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(b"old")

    with pytest.raises(RuntimeError), atomic_writer(path) as handle:
        handle.write(b"half")
        raise RuntimeError("disk full")

    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_missing_folder_rejected(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_bytes(tmp_path / "absent" / "file.bin", b"x")


def test_replaced_file_keeps_mode(tmp_path) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"old")
    path.chmod(0o600)

    atomic_write_bytes(path, b"new")

    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_symlink_target_replaced(tmp_path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.npz"
    target.write_bytes(b"old")
    link = tmp_path / "link.npz"
    link.symlink_to(target)

    atomic_write_bytes(link, b"new")

    assert link.is_symlink()
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.npz", "real"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.npz"]


class _InterruptedWriter:
    """A file whose third write raises KeyboardInterrupt, as Ctrl-C in the middle of a save does."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.writes = 0

    def write(self, data) -> int:
        self.writes += 1
        if self.writes == 3:
            raise KeyboardInterrupt
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def test_interrupt_inside_torch_save_stays_an_interrupt(tmp_path) -> None:
    # torch.save's archive writer reports the interrupt as a RuntimeError; the caller's
    # clean-up and the exit status 130 need the KeyboardInterrupt itself.
    import torch

    from mlpbench.atomic import atomic_write_with

    path = tmp_path / "model.pt"
    path.write_bytes(b"the earlier checkpoint")

    def save(handle) -> None:
        torch.save({"w": torch.zeros(1000)}, _InterruptedWriter(handle))

    with pytest.raises(KeyboardInterrupt):
        atomic_write_with(path, save)

    assert path.read_bytes() == b"the earlier checkpoint"
    assert sorted(item.name for item in tmp_path.iterdir()) == ["model.pt"]


def test_error_without_interrupt_is_raised_unchanged(tmp_path) -> None:
    from mlpbench.atomic import atomic_write_with

    def fail(handle) -> None:
        try:
            raise ValueError("first")
        except ValueError:
            raise RuntimeError("second") from None

    with pytest.raises(RuntimeError, match="second"):
        atomic_write_with(tmp_path / "out.bin", fail)
    assert list(tmp_path.iterdir()) == []


def test_write_in_interrupt_handler_keeps_error(tmp_path) -> None:
    # A history written while an interrupt is handled fails on its own: that failure,
    # not the interrupt being handled, is what the write raises.
    from mlpbench.atomic import atomic_write_with

    def fail(handle) -> None:
        raise OSError(28, "No space left on device")

    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        with pytest.raises(OSError, match="No space left"):
            atomic_write_with(tmp_path / "history.csv", fail)
