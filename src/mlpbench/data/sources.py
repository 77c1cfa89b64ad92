"""The named IDX data sets: their files, published checksums, mirrors and usual locations.

``IDX_DATASETS`` is a plain dict, so tests (and users with a private mirror) can add
entries of their own.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from mlpbench.errors import DataError

MIRRORS_ENV = "MLPBENCH_MIRRORS"
DATA_ENV = "MLPBENCH_DATA"


@dataclass(frozen=True)
class IdxFile:
    """One of the four files of an IDX data set.

    ``md5`` is the published MD5 of the gzip-compressed file ``name + ".gz"`` as
    the mirrors serve it. ``sha256``, when known, is the SHA-256 of the
    uncompressed IDX bytes. It verifies copies that were decompressed or
    recompressed, such as those of Debian's package, whose gzip bytes differ from
    the published ones.
    """

    name: str
    md5: str
    sha256: str | None = None

    @property
    def gz_name(self) -> str:
        return self.name + ".gz"

    def accepted_names(self) -> tuple[str, ...]:
        """Return the file names searched for, compressed before uncompressed.

        Besides the published names (``train-images-idx3-ubyte``) this accepts the
        variant with a dot before ``idx`` (``train-images.idx3-ubyte``) that some
        redistributions use.
        """
        dotted = self.name.replace("-idx", ".idx", 1)
        names = [self.name + ".gz", self.name]
        if dotted != self.name:
            names += [dotted + ".gz", dotted]
        return tuple(names)


@dataclass(frozen=True)
class IdxDatasetSpec:
    """A named data set stored as four IDX files, and how to find or fetch them."""

    name: str
    title: str
    description: str
    train_images: IdxFile
    train_labels: IdxFile
    test_images: IdxFile
    test_labels: IdxFile
    mirrors: tuple[str, ...]
    n_classes: int
    n_train: int
    n_test: int
    image_shape: tuple[int, int]
    class_names: tuple[str, ...] | None = None
    # Folder name torchvision uses under its root, with the files in its raw/ subfolder.
    torchvision_folder: str | None = None
    # Folders where an operating system package installs the files.
    system_dirs: tuple[Path, ...] = ()
    # How to install the system package, for error messages.
    install_hint: str | None = None

    def files(self) -> dict[str, IdxFile]:
        """Return the four files keyed by role: ``"train images"``, ``"train labels"``, ..."""
        return {
            "train images": self.train_images,
            "train labels": self.train_labels,
            "test images": self.test_images,
            "test labels": self.test_labels,
        }


# The MD5 values of the .gz files are the ones torchvision's MNIST class lists for
# its downloads.
# NOTE: no checksum of the uncompressed MNIST files is published, so a local MNIST
# copy that is uncompressed or recompressed is checked for shape only.
MNIST = IdxDatasetSpec(
    name="mnist",
    title="MNIST",
    description="MNIST handwritten digits, 28x28 grayscale, 60,000 train + 10,000 test, 10 classes",
    train_images=IdxFile("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    train_labels=IdxFile("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
    test_images=IdxFile("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    test_labels=IdxFile("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
    n_classes=10,
    n_train=60_000,
    n_test=10_000,
    image_shape=(28, 28),
    torchvision_folder="MNIST",
)

# The MD5 values are the ones in the "MD5 Checksum" column of Fashion-MNIST's README
# (github.com/zalandoresearch/fashion-mnist, also installed by Debian's package as
# /usr/share/doc/dataset-fashion-mnist/README.md.gz). The SHA-256 values are of the
# uncompressed files, computed from Debian's dataset-fashion-mnist package
# (0.0~git20200523.55506a9-1). Its .gz files hold the upstream deflate streams
# unchanged; only the gzip header differs (file name field dropped, mtime reset).
# With the upstream header put back they match the published MD5 values, which
# tests/test_data_fashion_debian.py checks.
FASHION_MNIST = IdxDatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    description="Zalando article images, 28x28 grayscale, 60,000 train + 10,000 test, 10 classes",
    train_images=IdxFile(
        "train-images-idx3-ubyte",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    ),
    train_labels=IdxFile(
        "train-labels-idx1-ubyte",
        "25c81989df183df01b3e8a0aad5dffbe",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    ),
    test_images=IdxFile(
        "t10k-images-idx3-ubyte",
        "bef4ecab320f06d8554ea6380940ec79",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    ),
    test_labels=IdxFile(
        "t10k-labels-idx1-ubyte",
        "bb300cfdad3c16e7a12a480ee83cd310",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    ),
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    ),
    n_classes=10,
    n_train=60_000,
    n_test=10_000,
    image_shape=(28, 28),
    class_names=(
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
    ),
    torchvision_folder="FashionMNIST",
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    install_hint="on Debian or Ubuntu: apt install dataset-fashion-mnist",
)

# NOTE: the download from the mirrors above is tested only against local HTTP
# servers. The URLs were not reachable from the machine this was written on.
IDX_DATASETS: dict[str, IdxDatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}


def mirrors_for(spec: IdxDatasetSpec) -> tuple[str, ...]:
    """Return the base URLs to download ``spec``'s files from, in the order to try them.

    The ``MLPBENCH_MIRRORS`` environment variable, when set and not blank, replaces
    the built-in list for every data set. It contains base URLs separated by spaces or
    commas, and ``{dataset}`` in a URL is replaced by the data set name, so one variable
    can serve both MNIST and Fashion-MNIST, whose file names are the same.

    Raises
    ------
    DataError
        If a URL in the variable lacks its scheme or contains an unknown placeholder.
    """
    override = os.environ.get(MIRRORS_ENV, "").strip()
    if not override:
        return spec.mirrors
    mirrors = []
    for url in re.split(r"[\s,]+", override):
        if not url:
            continue
        if not re.match(r"(https?|ftp|file)://", url, flags=re.IGNORECASE):
            raise DataError(
                f"{MIRRORS_ENV}: {url!r} does not start with http://, https://, ftp:// or "
                "file://; give each mirror as a full URL in one of those schemes"
            )
        placeholder = re.search(r"\{[^}]*\}", url.replace("{dataset}", ""))
        if placeholder:
            raise DataError(
                f"{MIRRORS_ENV}: {url!r} contains the unknown placeholder {placeholder.group()}; "
                "the only placeholder is {dataset}"
            )
        mirrors.append(url.replace("{dataset}", spec.name))
    return tuple(mirrors)


def file_url(mirror: str, file_name: str) -> str:
    """Join a mirror base URL and a file name."""
    return mirror.rstrip("/") + "/" + file_name


def cache_root() -> Path:
    """Return mlpbench's cache folder: ``$XDG_CACHE_HOME/mlpbench`` or ``~/.cache/mlpbench``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG Base Directory
    specification requires.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mlpbench"


def cache_dir(name: str) -> Path:
    """Return the cache folder of data set ``name`` (it may not exist yet)."""
    return cache_root() / name
