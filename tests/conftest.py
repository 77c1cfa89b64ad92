"""Shared fixtures: an isolated data environment, a tiny IDX data set and a trained checkpoint."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from cli_support import TINY_TRAINING

from mlpbench.cli import main
from mlpbench.data.idx import encode_idx
from mlpbench.data.sources import IdxDatasetSpec, IdxFile

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user cache at a temporary folder and clear mlpbench's variables.

    Returns the cache root, ``XDG_CACHE_HOME/mlpbench``.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv("MLPBENCH_DATA", raising=False)
    monkeypatch.delenv("MLPBENCH_MIRRORS", raising=False)
    return tmp_path / "xdg-cache" / "mlpbench"


@dataclass
class TinyIdx:
    """A 3-class data set of 4x4 images (6 train, 3 test) and its IDX file bytes."""

    arrays: dict[str, np.ndarray]
    raw: dict[str, bytes] = field(default_factory=dict)
    gz: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, name in IDX_NAMES.items():
            self.raw[name] = encode_idx(self.arrays[key])
            self.gz[name] = gzip.compress(self.raw[name], mtime=0)

    def write(self, folder: Path, *, compress: bool = True) -> Path:
        """Write the four files into ``folder`` (created) and return it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in IDX_NAMES.values():
            if compress:
                (folder / f"{name}.gz").write_bytes(self.gz[name])
            else:
                (folder / name).write_bytes(self.raw[name])
        return folder

    def spec(
        self,
        name: str = "tiny",
        *,
        mirrors: tuple[str, ...] = (),
        system_dirs: tuple[Path, ...] = (),
        md5: dict[str, str] | None = None,
    ) -> IdxDatasetSpec:
        """Return a spec with this data's checksums; ``md5`` overrides some by file name."""

        def idx_file(key: str) -> IdxFile:
            file_name = IDX_NAMES[key]
            digest = hashlib.md5(self.gz[file_name]).hexdigest()
            if md5 and file_name in md5:
                digest = md5[file_name]
            return IdxFile(file_name, digest, hashlib.sha256(self.raw[file_name]).hexdigest())

        return IdxDatasetSpec(
            name=name,
            title="Tiny",
            description="tiny test data set",
            train_images=idx_file("train_images"),
            train_labels=idx_file("train_labels"),
            test_images=idx_file("test_images"),
            test_labels=idx_file("test_labels"),
            mirrors=mirrors,
            n_classes=3,
            n_train=6,
            n_test=3,
            image_shape=(4, 4),
            torchvision_folder="Tiny",
            system_dirs=system_dirs,
            install_hint="apt install dataset-tiny",
        )


@pytest.fixture
def tiny_idx() -> TinyIdx:
    rng = np.random.default_rng(7)
    arrays = {
        "train_images": rng.integers(0, 256, size=(6, 4, 4), dtype=np.uint8),
        "train_labels": np.array([0, 1, 2, 0, 1, 2], dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(3, 4, 4), dtype=np.uint8),
        "test_labels": np.array([2, 1, 0], dtype=np.uint8),
    }
    arrays["train_images"][0, 0, 0] = 255  # so scaling by 255 is exercised
    return TinyIdx(arrays)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a tiny digits model saved as .npz, trained once per test module."""
    path = tmp_path_factory.mktemp("checkpoint") / "digits.npz"
    assert main(["train", "-q", *TINY_TRAINING, "--save", str(path)]) == 0
    return path
