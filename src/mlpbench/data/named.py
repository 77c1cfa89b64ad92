"""Load MNIST and Fashion-MNIST by name: find the files, or download them, then verify them."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlpbench.data.dataset import Dataset, check_labels, scale_pixels
from mlpbench.data.download import download_file, make_progress
from mlpbench.data.idx import FETCH_AGAIN, decompress_if_gzip, is_gzip, parse_idx
from mlpbench.data.locate import locate, log_ignored_copies, match_folder
from mlpbench.data.sources import (
    DATA_ENV,
    IDX_DATASETS,
    MIRRORS_ENV,
    IdxDatasetSpec,
    IdxFile,
    cache_dir,
    mirrors_for,
)
from mlpbench.errors import DataError

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class LoadedFile:
    """An IDX array read from ``path``, with how its bytes were checked."""

    path: Path
    array: np.ndarray
    compressed: bool
    verified: bool


def read_verified(path: Path, idx_file: IdxFile, spec: IdxDatasetSpec, role: str) -> LoadedFile:
    """Read one IDX file of ``spec`` and check it against the known checksums.

    A gzip file whose MD5 equals the published one is verified. Otherwise, when the
    SHA-256 of the uncompressed bytes is known, it must match. When neither applies
    (an uncompressed or recompressed MNIST file), the file is accepted unverified
    and only its shape is checked later, unless its checksum is that of another
    named data set's file, or it is a gzip file in mlpbench's download cache, whose
    MD5 was checked when it was downloaded.

    Raises
    ------
    DataError
        If the file cannot be read, is not valid IDX, fails a known checksum, or is
        another named data set's file.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read {path}: {error.strerror or error}") from error

    compressed = is_gzip(raw)
    md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest() if compressed else None
    verified = md5 == idx_file.md5
    in_cache = path.parent == cache_dir(spec.name)
    # A download never replaces a file in the cache, so copying it again does not fix one there.
    fix = "delete it to download it again" if in_cache else FETCH_AGAIN
    content = decompress_if_gzip(raw, path, fix=fix)
    # Parsed before the checksums are compared: a truncated or damaged file fails both,
    # and the parser names what is wrong with it.
    array = parse_idx(content, path, role, fix=fix)
    if not verified:
        sha256 = hashlib.sha256(content).hexdigest()
        owner = _owner(spec, role, md5, sha256)
        if owner is not None:
            raise DataError(
                f"{path} is the {owner.title} {role} file, not {spec.title}'s; "
                f"to train on it, use --dataset {owner.name}"
            )
        if idx_file.sha256 is not None:
            if sha256 != idx_file.sha256:
                finding = (
                    f"{path} is not the published {spec.title} {role} file: the SHA-256 of its "
                    f"uncompressed content is {sha256}, expected {idx_file.sha256}"
                )
                error = DataError(
                    f"{finding}. The file is corrupt or belongs to another data set. Replace it (a "
                    "file in the mlpbench cache can be deleted to download it again), or load its "
                    f"folder as a path, which skips checksum checks: --dataset {path.parent}"
                )
                error.finding = finding
                raise error
            verified = True
        elif compressed and in_cache:
            # mlpbench puts a file in its cache only after checking its MD5, so a
            # mismatch there means the file changed since.
            finding = (
                f"{path} is in mlpbench's download cache, but its MD5 is {md5}, not the published "
                f"{idx_file.md5}"
            )
            error = DataError(f"{finding}, so it changed after the download; delete it to download it again")
            error.finding = finding
            raise error
    return LoadedFile(path, array, compressed, verified)


def _owner(spec: IdxDatasetSpec, role: str, md5: str | None, sha256: str) -> IdxDatasetSpec | None:
    """Return the other named data set whose ``role`` file has these checksums, if any.

    MNIST and Fashion-MNIST use the same file names and shapes, so only the checksums
    tell one's files from the other's.
    """
    for other in IDX_DATASETS.values():
        known = other.files()[role]
        if other.name != spec.name and (md5 == known.md5 or sha256 == known.sha256):
            return other
    return None


def _check_pair(images: LoadedFile, labels: LoadedFile, spec: IdxDatasetSpec, count: int) -> None:
    shape = images.array.shape
    if len(shape) != 3 or shape[1:] != spec.image_shape:
        rows, cols = spec.image_shape
        raise DataError(
            f"{images.path}: {spec.title} images must have shape (n, {rows}, {cols}), "
            f"the file contains {shape}"
        )
    if labels.array.ndim != 1:
        raise DataError(f"{labels.path}: labels must be 1-D, the file contains shape {labels.array.shape}")
    if shape[0] != labels.array.shape[0]:
        raise DataError(
            f"{images.path} contains {shape[0]} images but {labels.path} contains "
            f"{labels.array.shape[0]} labels; the two files must come from the same set"
        )
    if shape[0] != count:
        raise DataError(
            f"{images.path} contains {shape[0]} images, {spec.title} has {count}; "
            f"to use a different subset, load its folder as a path: --dataset {images.path.parent}"
        )


def _describe(folder: Path, loaded: list[LoadedFile]) -> str:
    compressed = sum(item.compressed for item in loaded)
    if compressed == len(loaded):
        compression = "gzip"
    elif compressed == 0:
        compression = "uncompressed"
    else:
        compression = "gzip and uncompressed"
    verified = sum(item.verified for item in loaded)
    if verified == len(loaded):
        check = "checksums verified"
    elif verified == 0:
        # MNIST publishes the MD5 of its .gz files only, which a decompressed or
        # recompressed copy no longer matches.
        check = "not the published .gz files, so their checksums could not be verified; shapes checked only"
    else:
        check = f"{verified} of {len(loaded)} files checksum-verified"
    return f"{folder} (IDX, {compression}, {check})"


def missing_files_message(
    spec: IdxDatasetSpec,
    report: list[str],
    reason: str,
    *,
    download_tried: bool,
    missing: Sequence[str] | None = None,
) -> str:
    """Build the error text for a data set found nowhere: what, where looked, how to provide.

    ``missing`` names the roles of the files still missing from the cache after a
    download, when some did arrive; None lists all four.
    """
    files = spec.files()
    names = ", ".join(f"{files[role].name}[.gz]" for role in (missing or files))
    lines = [f"{spec.title} files not found: {names}.", "Searched:"]
    lines += [f"  {line}" for line in report]
    lines.append(reason)
    ways = [
        f"put the four files in a folder DIR (or DIR/{spec.name}) and pass --data-dir DIR "
        f"or set {DATA_ENV}=DIR",
    ]
    if download_tried:
        ways.append(
            f"retry when a mirror is reachable and serves the published files (the download saves "
            f"to {cache_dir(spec.name)})"
        )
    else:
        ways.append(f"allow the download (it saves to {cache_dir(spec.name)})")
    if spec.install_hint:
        ways.append(spec.install_hint)
    lines.append("To provide them: " + "; or ".join(ways) + ".")
    return "\n".join(lines)


def _download_missing(spec: IdxDatasetSpec, report: list[str], progress: bool) -> Path:
    folder = cache_dir(spec.name)
    # Read first, so that an invalid MLPBENCH_MIRRORS creates no folder.
    mirrors = mirrors_for(spec)
    # The folders this call creates, deepest first, which a failed download removes again.
    created = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(
            f"cannot create the cache folder {folder} ({error.strerror or error}); "
            f"set XDG_CACHE_HOME, or pass --data-dir with the files already in it"
        ) from error
    present = match_folder(folder, spec.files())
    try:
        with make_progress(progress) as display:
            for role in present.missing:
                download_file(spec.files()[role], folder, mirrors, display)
    except DataError as error:
        still_missing = match_folder(folder, spec.files()).missing
        _remove_empty(created)
        reason = (
            f"Download failed: {error}\nThe mirrors come from {MIRRORS_ENV} when it is "
            "set, else from the built-in list."
        )
        message = missing_files_message(spec, report, reason, download_tried=True, missing=still_missing)
        raise DataError(message) from error
    except BaseException:
        # Ctrl-C or SIGTERM: the download removed its partial file.
        _remove_empty(created)
        raise
    return folder


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty, keeping any file that did arrive."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def read_checked_files(spec: IdxDatasetSpec, folder: Path) -> dict[str, LoadedFile]:
    """Read ``spec``'s four files from ``folder``, check their checksums and shapes, and return them by role.

    The label arrays come back as int64, each label checked to be one of the classes.

    Raises
    ------
    DataError
        If a file cannot be read, fails a known checksum, the images and labels do
        not have the data set's shapes and counts, or a label is not a class.
    """
    paths = match_folder(folder, spec.files()).paths
    files = spec.files()
    loaded = {role: read_verified(paths[role], files[role], spec, role) for role in files}
    _check_pair(loaded["train images"], loaded["train labels"], spec, spec.n_train)
    _check_pair(loaded["test images"], loaded["test labels"], spec, spec.n_test)
    for role in ("train labels", "test labels"):
        labels = loaded[role]
        checked = check_labels(labels.array, spec.n_classes, str(labels.path))
        loaded[role] = dataclasses.replace(labels, array=checked)
    return loaded


def copy_beyond_cache(spec: IdxDatasetSpec, data_dir: str | Path | None, folder: Path) -> Path | None:
    """Return the next complete folder after mlpbench's own cache, when ``folder`` is that cache.

    The cache is the one place mlpbench writes, so a damaged file there should not hide
    a good copy in a system folder. Any other folder returns None: a folder that the
    user named, or a system copy, is what they meant to load.
    """
    if folder != cache_dir(spec.name):
        return None
    later = locate(spec, data_dir, skip=folder).found
    return None if later is None else later.folder


def load_idx_dataset(
    spec: IdxDatasetSpec,
    dtype: np.dtype,
    data_dir: str | Path | None,
    download: bool,
    progress: bool,
) -> Dataset:
    """Find (or download) ``spec``'s four files, verify and read them into a ``Dataset``.

    Raises
    ------
    DataError
        If the files are not found and cannot be downloaded, fail a checksum, or
        hold invalid or inconsistent data.
    """
    search = locate(spec, data_dir)
    if search.found is not None:
        folder = search.found.folder
        log_ignored_copies(search.found)
        # A folder the user named but that was passed over is most likely a mistake.
        for line in search.passed_over:
            logger.warning("%s, so the files in %s were used instead", line, folder)
    elif download:
        folder = _download_missing(spec, search.report, progress)
    else:
        message = missing_files_message(spec, search.report, "Download is disabled.", download_tried=False)
        raise DataError(message)

    try:
        loaded = read_checked_files(spec, folder)
    except DataError as error:
        later = copy_beyond_cache(spec, data_dir, folder)
        if later is None:
            raise
        # The finding alone: the error's advice (such as loading the cache as a path)
        # concerns files that are no longer used.
        logger.warning(
            "the %s files in the cache %s failed their check (%s); the copy in %s is used instead, and "
            "deleting %s lets a later download replace the cached files",
            spec.title,
            folder,
            error.finding or error,
            later,
            folder,
        )
        folder = later
        loaded = read_checked_files(spec, folder)
    train_images, train_labels = loaded["train images"], loaded["train labels"]
    test_images, test_labels = loaded["test images"], loaded["test labels"]

    where = str(folder)
    x_train, x_test = scale_pixels(train_images.array, test_images.array, dtype, where)
    return Dataset(
        x_train=x_train,
        y_train=train_labels.array,
        x_test=x_test,
        y_test=test_labels.array,
        n_classes=spec.n_classes,
        name=spec.name,
        source=_describe(folder, list(loaded.values())),
        class_names=spec.class_names,
        image_shape=spec.image_shape,
    )
