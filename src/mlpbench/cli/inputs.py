"""Read the inputs of ``mlpbench predict``: images, IDX image files, and ``.npy``/``.npz`` arrays.

Every input becomes rows of ``n_features`` values in [0, 1], as the training data
is scaled: integer arrays (IDX files, uint8 arrays) hold 0..255 pixel values and are
divided by 255, and float arrays must already be in [0, 1]. For a model trained on
the digits, whose pixels are 0..16, whole numbers up to 16 are divided by 16.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlpbench.data.dataset import find_non_finite, is_integral, scale_pixels
from mlpbench.data.idx import GZIP_MAGIC, read_idx
from mlpbench.errors import DataError, InputIsFolderError, InputNotFoundError
from mlpbench.images import load_image
from mlpbench.npzfile import READ_ERRORS, describe_read_error, loaded_numpy_file, numpy_file_kind

logger = logging.getLogger(__name__)

PREDICT_FIX = (
    "training divided whole numbers by 255 too, except for the digits; if this model's training "
    "data was scaled another way, scale these inputs the same way first"
)
"""The advice for low whole numbers given to predict, which cannot know how training scaled."""

# Array names tried, in this order, in a .npz file that contains more than one array.
NPZ_KEYS = ("x", "x_test", "images")


@dataclass
class InputRows:
    """Model input rows and a display name per row (the file, with ``[i]`` for arrays)."""

    names: list[str]
    x: np.ndarray  # shape (n_rows, n_features), float64 in [0, 1]


def read_inputs(
    paths: list[str], n_features: int, image_shape: tuple[int, int] | None, pixel_max: int | None = None
) -> InputRows:
    """Read every input file into rows for a model taking ``n_features`` features.

    ``image_shape`` (height, width) is the size images are resized to; when None it
    is a square of side sqrt(n_features). ``pixel_max`` is that of the model's
    training data when it was not 255 (see ``_array_rows``).

    Raises
    ------
    DataError
        If a file is missing or cannot be decoded, has the wrong number of
        features, contains NaN or infinity, or (for images) the model's input is not
        an image.
    """
    names: list[str] = []
    rows: list[np.ndarray] = []
    for path in map(Path, paths):
        if path.is_dir():
            raise InputIsFolderError(
                f"input {path} is a folder; give the files in it instead, "
                f"for example {path / _folder_pattern(path)}"
            )
        if not path.is_file():
            raise InputNotFoundError(f"input {path} not found; check the path")
        file_names, x = read_input(path, n_features, image_shape, pixel_max)
        names += file_names
        rows.append(x)
    return InputRows(names, np.concatenate(rows))


def _folder_pattern(folder: Path) -> str:
    # The most common readable suffix in the folder, so that the hint names files that exist.
    from PIL import Image

    # registered_extensions() also lists formats that Pillow can only write, such as PDF.
    opened = {suffix for suffix, kind in Image.registered_extensions().items() if kind in Image.OPEN}
    readable = opened | {".npy", ".npz"}
    try:
        suffixes = Counter(
            entry.suffix.lower()
            for entry in folder.iterdir()
            if entry.suffix.lower() in readable and entry.is_file()
        )
    except OSError:
        return "*.png"
    if not suffixes:
        return "*.png"
    return "*" + suffixes.most_common(1)[0][0]


def read_input(
    path: Path, n_features: int, image_shape: tuple[int, int] | None, pixel_max: int | None = None
) -> tuple[list[str], np.ndarray]:
    """Read one input file; see ``read_inputs``."""
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        return _array_rows(path, _load_array(path), n_features, image_shape, pixel_max)
    if _looks_like_idx(path):
        return _array_rows(path, read_idx(path), n_features, image_shape)
    if suffix in (".csv", ".txt", ".tsv"):
        raise DataError(
            f"cannot read {path}: predict reads .npy and .npz arrays, IDX files and images, not text "
            f"tables; save the rows as an (n, {n_features}) array with numpy.save and pass the .npy file"
        )
    shape = image_shape or _square_shape(n_features, path)
    return [str(path)], load_image(path, shape)[np.newaxis, :]


def _looks_like_idx(path: Path) -> bool:
    # IDX files start with two zero bytes; a gzip-compressed file is taken as gzipped IDX.
    with path.open("rb") as handle:
        head = handle.read(2)
    return head in (b"\0\0", GZIP_MAGIC)


def _square_shape(n_features: int, path: Path) -> tuple[int, int]:
    side = int(round(n_features**0.5))
    if side * side != n_features:
        raise DataError(
            f"cannot use image {path}: the model takes {n_features} features, which is not a "
            "square image; pass the features as a .npy or .npz array instead"
        )
    return side, side


def _load_array(path: Path) -> np.ndarray:
    try:
        if numpy_file_kind(path) is None:
            raise DataError(
                f"{path} is neither a .npy array nor a .npz archive (its first bytes have neither "
                "signature); save the samples with numpy.save or numpy.savez"
            )
        with loaded_numpy_file(path) as loaded:
            return loaded if isinstance(loaded, np.ndarray) else _archive_array(path, loaded)
    except DataError:
        # A DataError is a ValueError too, but it already names the problem.
        raise
    except READ_ERRORS as error:
        raise DataError(f"cannot read {path} as a NumPy array file: {describe_read_error(error)}") from error


def _archive_array(path: Path, archive: np.lib.npyio.NpzFile) -> np.ndarray:
    """Return the samples of an open archive: its only array, or the first named as a data set's."""
    keys = list(archive.files)
    if len(keys) == 1:
        key = keys[0]
    else:
        found = [key for key in NPZ_KEYS if key in keys]
        if not found:
            raise DataError(
                f"{path} contains arrays {', '.join(keys) or '(none)'}; expected one array, "
                f"or one named {', '.join(NPZ_KEYS)}"
            )
        key = found[0]
    try:
        return archive[key]
    except READ_ERRORS as error:
        raise DataError(
            f"cannot read array {key!r} of {path}: {describe_read_error(error)}; the file is damaged, "
            "so save the samples again with numpy.save or numpy.savez"
        ) from error


def _array_rows(
    path: Path,
    array: np.ndarray,
    n_features: int,
    image_shape: tuple[int, int] | None,
    pixel_max: int | None = None,
) -> tuple[list[str], np.ndarray]:
    """Reshape an array of one or many samples to (n, n_features) and scale it like the training data.

    ``pixel_max`` is set for a data set whose training divided by its own largest
    value instead of 255 (16 for the digits). Whole numbers up to it are divided by it.
    """
    if array.dtype.kind not in "biuf":
        raise DataError(
            f"{path}: values must be real numbers, got dtype {array.dtype}; save the samples as an "
            "integer or float array (numpy.save of the pixel values)"
        )
    original_shape = array.shape
    single_shapes = {(n_features,)}
    if image_shape is not None:
        single_shapes.add(tuple(image_shape))
    if array.shape in single_shapes:
        array = array.reshape(1, -1)
    elif array.ndim >= 2 and int(np.prod(array.shape[1:])) == n_features:
        # Explicit sizes, because reshape cannot infer -1 for an array with no rows.
        array = array.reshape(array.shape[0], n_features)
    else:
        raise DataError(
            f"{path} contains an array of shape {array.shape}, which does not have the model's "
            f"{n_features} features per sample; expected shape (n, {n_features})"
            + (f", (n, {image_shape[0]}, {image_shape[1]})" if image_shape is not None else "")
            + f" or ({n_features},)"
        )
    if array.shape[0] == 0:
        raise DataError(f"{path} contains no samples (shape {original_shape}); pass at least one row")

    found = find_non_finite(array)
    if found is not None:
        raise DataError(f"{path}: {found.describe()}")
    if pixel_max is not None and is_integral(array) and 1 < array.max() <= pixel_max and array.min() >= 0:
        # Raw values of a data set that training divided by its own maximum (the digits' 0..16).
        logger.info("%s: values 0..%d, divided by %d as in the model's training", path, pixel_max, pixel_max)
        rows = array / float(pixel_max)
    else:
        # scale_pixels takes a train and a test part, so the first row serves as the test part.
        float64 = np.dtype(np.float64)
        rows, _ = scale_pixels(
            array, array[:1], float64, str(path), compare_splits=False, low_maximum_fix=PREDICT_FIX
        )
    names = [f"{path}[{index}]" for index in range(rows.shape[0])]
    return names, rows
