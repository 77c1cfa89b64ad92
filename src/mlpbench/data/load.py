"""``load_dataset`` and ``list_datasets``: the entry points of the data package."""

from __future__ import annotations

import difflib
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from mlpbench.data.dataset import Dataset, resolve_dtype
from mlpbench.data.digits import DESCRIPTION as DIGITS_DESCRIPTION
from mlpbench.data.digits import digits_location, load_digits_dataset
from mlpbench.data.files import load_path
from mlpbench.data.locate import locate
from mlpbench.data.named import copy_beyond_cache, load_idx_dataset, read_checked_files
from mlpbench.data.sources import IDX_DATASETS, IdxDatasetSpec
from mlpbench.errors import DataError, UnknownDatasetError

logger = logging.getLogger("mlpbench")

SHORT_NAMES = {"fmnist": "fashion-mnist", "fashion": "fashion-mnist", "fashionmnist": "fashion-mnist"}
"""Abbreviations of data set names, which a spelling match would take for another name
(``fmnist`` is closest to ``mnist``). They are only suggested, never loaded in place of the name."""


def dataset_names() -> list[str]:
    """Return the names that ``load_dataset`` takes as named data sets, not as paths."""
    return ["digits", *IDX_DATASETS]


def load_dataset(
    name_or_path: str | os.PathLike[str] = "digits",
    *,
    dtype: str | np.dtype = "float32",
    data_dir: str | Path | None = None,
    download: bool = True,
    progress: bool = True,
) -> Dataset:
    """Load a named data set or one stored at a path.

    Parameters
    ----------
    name_or_path
        A name: ``"digits"`` (scikit-learn's bundled 8x8 digits, no download),
        ``"mnist"`` or ``"fashion-mnist"``. Or a path, which may be:

        - a folder of the four IDX files, also inside ``raw/`` or ``*/raw/``
          (torchvision's layout);
        - a folder with one ``*train*.csv`` and one ``*test*.csv``;
        - a training CSV file, whose test file has ``test`` in place of ``train``
          in its name;
        - a ``.npz`` file with arrays ``x_train, y_train, x_test, y_test``.

        A string equal to a name is taken as the name, so write ``./mnist`` for a
        folder called ``mnist``. An ``os.PathLike`` is always taken as a path.
    dtype
        Floating dtype of the features, ``"float32"`` or ``"float64"``.
    data_dir
        Folder searched first for the MNIST and Fashion-MNIST files, before
        ``$MLPBENCH_DATA``, the user cache and system folders.
    download
        Download missing MNIST or Fashion-MNIST files into the user cache.
    progress
        Show a download progress bar on stderr.

    Returns
    -------
    Dataset
        Features of shape ``(n, n_features)`` scaled to [0, 1] in ``dtype``, int64
        labels of shape ``(n,)``.

    Raises
    ------
    DataError
        If the data set is unknown, not found, cannot be downloaded, fails a
        checksum, or contains invalid data. The message names the fix.
    ValueError
        If ``dtype`` is not a floating type.
    """
    resolved = resolve_dtype(dtype)
    if not isinstance(name_or_path, str):
        return load_path(Path(name_or_path), resolved)

    key = name_or_path.strip().lower().replace("_", "-")
    if not key:
        raise UnknownDatasetError(
            f"the data set name is empty; give one of {', '.join(dataset_names())}, "
            "or the path of a folder, a .npz file or a training .csv file"
        )
    if key in IDX_DATASETS:
        return load_idx_dataset(IDX_DATASETS[key], resolved, data_dir, download, progress)
    if data_dir is not None:
        logger.warning(
            "the data folder %s is searched only for %s; it is not used for %r",
            data_dir,
            " and ".join(IDX_DATASETS),
            name_or_path,
        )
    if key == "digits":
        return load_digits_dataset(resolved)

    path = Path(name_or_path).expanduser()
    if not path.exists() and os.sep not in name_or_path and not path.suffix:
        short = SHORT_NAMES.get(key.replace("-", ""))
        close = [short] if short else difflib.get_close_matches(key, dataset_names(), n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise UnknownDatasetError(
            f"unknown data set {name_or_path!r}; {guess}the named data sets are "
            f"{', '.join(dataset_names())}, or pass the path of a folder, a .npz file "
            "or a training .csv file"
        )
    return load_path(path, resolved)


def list_datasets(data_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Report each named data set and whether it is available without a download.

    Parameters
    ----------
    data_dir
        Searched first, as in ``load_dataset``.

    Returns
    -------
    list of dict
        One dict per named data set with keys ``name`` (str), ``available``
        (bool), ``location`` (the folder or file it loads from, or None),
        ``problem`` (why files that were found cannot be loaded, or None) and
        ``description`` (str). Found IDX files are read and checked as loading
        checks them (checksums, shapes and counts), which takes about a second.
        When the files in mlpbench's cache fail that check, the row names the
        copy that loading uses instead, and ``problem`` describes what failed in the cache.
    """
    digits_path = digits_location()
    rows = [
        {
            "name": "digits",
            "available": digits_path is not None,
            "location": str(digits_path) if digits_path is not None else None,
            "problem": None,
            "description": DIGITS_DESCRIPTION,
        }
    ]
    for spec in IDX_DATASETS.values():
        found = locate(spec, data_dir).found
        folder = None if found is None else found.folder
        available, problem = folder is not None, None
        if folder is not None:
            available, problem, folder = _check_folder(spec, data_dir, folder)
        rows.append(
            {
                "name": spec.name,
                "available": available,
                "location": str(folder) if folder is not None else None,
                "problem": problem,
                "description": spec.description,
            }
        )
    return rows


def _check_folder(
    spec: IdxDatasetSpec, data_dir: str | Path | None, folder: Path
) -> tuple[bool, str | None, Path]:
    """Return whether ``spec`` loads from ``folder``, the problem if any, and the folder loading would use.

    As in ``load_dataset``, a cache whose files fail their check gives way to a
    complete copy further down the search. The problem then describes the cache.
    """
    try:
        read_checked_files(spec, folder)
        return True, None, folder
    except DataError as error:
        problem = str(error).splitlines()[0]
        finding = error.finding or problem
    later = copy_beyond_cache(spec, data_dir, folder)
    if later is None:
        return False, problem, folder
    try:
        read_checked_files(spec, later)
    except DataError:
        return False, problem, folder
    # The finding alone: the error's advice (such as loading the cache as a path) concerns
    # files that are not used.
    note = (
        f"used because the files in the cache {folder} failed their check ({finding}); deleting "
        f"{folder} lets a later download replace them"
    )
    return True, note, later
