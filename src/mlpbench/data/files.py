"""Load a data set from a path: a folder of IDX files, a ``.npz`` file, or a pair of CSV files.

No checksums apply here; the files are checked for shape, label and pixel ranges.
``n_classes`` is the largest label in train or test plus one, up to ``inferred_class_limit``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mlpbench.data.dataset import (
    Dataset,
    check_labels,
    find_non_finite,
    inferred_class_limit,
    scale_pixels,
    square_shape,
)
from mlpbench.data.idx import is_gzip, read_idx
from mlpbench.data.locate import FolderMatch, log_ignored_copies, match_folder
from mlpbench.data.sources import MNIST
from mlpbench.errors import DataError, InputNotFoundError
from mlpbench.npzfile import (
    READ_ERRORS,
    describe_read_error,
    is_object_array_error,
    loaded_numpy_file,
    numpy_file_kind,
)

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _image_shape(x: np.ndarray) -> tuple[int, int] | None:
    if x.ndim == 3:
        return (int(x.shape[1]), int(x.shape[2]))
    if x.ndim == 2:
        return square_shape(int(x.shape[1]))
    return None


def _build(
    path: Path,
    source: str,
    dtype: np.dtype,
    parts: dict[str, tuple[np.ndarray, str]],
) -> Dataset:
    """Check and scale the four arrays of a file-based data set.

    ``parts`` maps each of ``NPZ_KEYS`` to its array and the name of the file (or
    archive member) it came from, for error messages.
    """
    x_train, x_train_where = parts["x_train"]
    x_test, x_test_where = parts["x_test"]
    for x, where in ((x_train, x_train_where), (x_test, x_test_where)):
        if x.ndim < 2:
            raise DataError(f"{where}: samples must have shape (n, features...), got {x.shape}")
        if x.shape[0] == 0:
            raise DataError(f"{where}: contains no samples")
        if x.dtype.kind not in "biuf":
            raise DataError(
                f"{where}: pixel values must be real numbers, got dtype {x.dtype}; store the "
                "images as an integer or float array"
            )
        found = find_non_finite(x)
        if found is not None:
            raise DataError(f"{where}: {found.describe()}")

    # Images of another shape with as many pixels pass the feature count check, but their
    # pixels would be read in the wrong places. Axes of size 1 (a channel axis) are
    # ignored, and flat rows (one axis left) beside images are accepted.
    same_size = math.prod(x_train.shape[1:]) == math.prod(x_test.shape[1:])
    train_axes, test_axes = _image_axes(x_train), _image_axes(x_test)
    both_images = len(train_axes) > 1 and len(test_axes) > 1
    if same_size and both_images and train_axes != test_axes:
        raise DataError(
            f"{x_test_where}: each test sample has shape {_shape_text(x_test)}, but each training "
            f"sample ({x_train_where}) has shape {_shape_text(x_train)}; both must hold samples "
            "of one shape"
        )

    labels = {}
    class_limit = inferred_class_limit(x_train.shape[0] + x_test.shape[0])
    for key, x, x_where in (("y_train", x_train, x_train_where), ("y_test", x_test, x_test_where)):
        y, where = parts[key]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        labels[key] = check_labels(y, None, where, class_limit=class_limit)
        if labels[key].shape[0] != x.shape[0]:
            raise DataError(
                f"{x_where} contains {x.shape[0]} samples but {where} contains {labels[key].shape[0]} labels"
            )
    n_classes = int(max(labels["y_train"].max(), labels["y_test"].max())) + 1

    scaled_train, scaled_test = scale_pixels(x_train, x_test, dtype, str(path))
    return Dataset(
        x_train=scaled_train,
        y_train=labels["y_train"],
        x_test=scaled_test,
        y_test=labels["y_test"],
        n_classes=n_classes,
        name=str(path),
        source=source,
        image_shape=_image_shape(x_train),
    )


def _image_axes(x: np.ndarray) -> tuple[int, ...]:
    return tuple(size for size in x.shape[1:] if size != 1)


def _shape_text(x: np.ndarray) -> str:
    return " x ".join(str(size) for size in x.shape[1:])


def find_idx_folder(root: Path) -> FolderMatch | None:
    """Return the folder under ``root`` holding the four IDX files, or None.

    Checked in order: ``root``, ``root/raw``, then ``root/*/raw`` (torchvision's
    layout, such as ``root/FashionMNIST/raw``).

    Raises
    ------
    DataError
        If several ``root/*/raw`` folders hold a complete set, so the choice is unclear.
    """
    files = MNIST.files()  # Fashion-MNIST uses the same four file names.
    for folder in (root, root / "raw"):
        if folder.is_dir():
            match = match_folder(folder, files)
            if match.complete:
                return match
    nested = [match_folder(folder, files) for folder in _raw_subfolders(root)]
    complete = [match for match in nested if match.complete]
    if len(complete) > 1:
        folders = ", ".join(str(match.folder) for match in complete)
        raise DataError(f"{root} contains several IDX data sets ({folders}); pass one of these folders")
    return complete[0] if complete else None


def _reject_incomplete_idx_folder(root: Path) -> None:
    """Raise DataError naming the missing files of a folder that has some of the four.

    The folders are those ``find_idx_folder`` searches: ``root``, ``root/raw`` and ``root/*/raw``.
    """
    files = MNIST.files()
    for folder in (root, root / "raw", *_raw_subfolders(root)):
        if not folder.is_dir():
            continue
        match = match_folder(folder, files)
        if match.paths:
            missing = ", ".join(f"{files[role].name} ({role})" for role in match.missing)
            raise DataError(
                f"{folder}: incomplete IDX data set: it lacks {missing}; copy the missing "
                "file(s) into the folder (each may end in .gz)"
            )


def _raw_subfolders(root: Path) -> list[Path]:
    """Return the ``root/*/raw`` folders, torchvision's layout, in name order."""
    return [folder for folder in sorted(root.glob("*/raw")) if folder.is_dir()]


def _read_start(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(2)


def load_idx_folder(match: FolderMatch, path: Path, dtype: np.dtype) -> Dataset:
    """Read the four IDX files found by ``find_idx_folder``."""
    log_ignored_copies(match)
    arrays = {role: read_idx(file, role) for role, file in match.paths.items()}
    images = {"x_train": "train images", "x_test": "test images"}
    labels = {"y_train": "train labels", "y_test": "test labels"}
    parts = {key: (arrays[role], str(match.paths[role])) for key, role in (images | labels).items()}
    compressed = {is_gzip(_read_start(file)) for file in match.paths.values()}
    if compressed == {True}:
        compression = "gzip"
    elif compressed == {False}:
        compression = "uncompressed"
    else:
        compression = "gzip and uncompressed"
    return _build(path, f"{match.folder} (IDX, {compression})", dtype, parts)


def load_npz(path: Path, dtype: np.dtype) -> Dataset:
    """Load a ``.npz`` archive with arrays ``x_train, y_train, x_test, y_test``.

    The layout is Keras's ``mnist.npz``: images of shape ``(n, 28, 28)`` uint8 and
    labels of shape ``(n,)``. Images may also be ``(n, n_features)``; float images
    already in [0, 1] are kept as they are.
    """
    try:
        kind = numpy_file_kind(path)
        if kind is None:
            raise DataError(
                f"{path} is not a NumPy .npz archive (no zip signature at its start); expected arrays "
                f"{', '.join(NPZ_KEYS)} saved with numpy.savez"
            )
        with loaded_numpy_file(path) as archive:
            if isinstance(archive, np.ndarray):
                raise DataError(
                    f"{path} contains a single array; expected a .npz archive with {', '.join(NPZ_KEYS)}"
                )
            damaged = [name for name in archive.files if not name.isprintable()]
            if damaged:
                raise DataError(
                    f"cannot read {path} as a .npz archive: its index is damaged (an array name reads "
                    f"{damaged[0]!r}); copy the file again, or save it again with numpy.savez"
                )
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path} is missing arrays {', '.join(missing)}: it contains "
                    f"{', '.join(archive.files) or 'none'} and needs {', '.join(NPZ_KEYS)}"
                )
            arrays = {key: archive[key] for key in NPZ_KEYS}
    except DataError:
        # A DataError is a ValueError too, but it already names the problem.
        raise
    except READ_ERRORS as error:
        raise _npz_read_error(path, error) from error
    parts = {key: (array, f"{path}[{key}]") for key, array in arrays.items()}
    return _build(path, f"{path} (npz)", dtype, parts)


def _npz_read_error(path: Path, error: BaseException) -> DataError:
    """Return the DataError for an archive that NumPy failed to read, with the fix for its cause."""
    if is_object_array_error(error):
        fix = "save numeric arrays, such as x.astype(np.float32) and y.astype(int)"
    elif isinstance(error, OSError):
        fix = "check that the file can be read"
    else:
        fix = "the file is damaged or incomplete; copy it again, or save it again with numpy.savez"
    return DataError(f"cannot read {path} as a .npz archive: {describe_read_error(error)}; {fix}")


def _swap_train_test(name: str) -> str:
    # Only the last "train" names the split: constrained_train.csv pairs with constrained_test.csv.
    start = name.lower().rfind("train")
    word = name[start : start + 5]
    if word.isupper():
        test = "TEST"
    elif word[0].isupper():
        test = "Test"
    else:
        test = "test"
    return name[:start] + test + name[start + 5 :]


def csv_pair_for_file(path: Path) -> tuple[Path, Path]:
    """Return ``(train_csv, test_csv)`` for a training CSV path, such as ``mnist_train.csv``.

    The test file has the same name with its last ``train`` replaced by ``test``.
    """
    if "train" not in path.name.lower():
        raise DataError(
            f"{path}: a CSV path must name the training file, with 'train' in its name; the "
            "test file is found by replacing its last 'train' with 'test'"
        )
    test = path.with_name(_swap_train_test(path.name))
    if not test.is_file():
        raise InputNotFoundError(
            f"{path}: the matching test file {test} was not found; put the test rows there, "
            "named like the training file with 'test' for its last 'train'"
        )
    return path, test


def csv_pair_in_folder(folder: Path) -> tuple[Path, Path] | None:
    """Return the folder's ``*train*.csv`` and ``*test*.csv``, or None when it has neither.

    The two must be the only CSV files whose names contain ``train`` or ``test``. The
    test file's name is the training file's with the last ``train`` changed to
    ``test``, as for a training file given by path, or else names ``test`` only.

    Raises
    ------
    DataError
        If the folder has several candidates for either, or only one of the two.
    """
    csvs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    candidates = [p for p in csvs if "train" in p.name.lower() or "test" in p.name.lower()]
    if not candidates:
        return None
    by_name = {p.name: p for p in candidates}
    train = [p for p in candidates if "train" in p.name.lower()]
    partners = {p: _swap_train_test(p.name) for p in train}
    pairs = [(p, by_name[partner]) for p, partner in partners.items() if partner in by_name]
    if len(pairs) == 1 and len(candidates) == 2:
        return pairs[0]
    test = [p for p in candidates if p not in train]
    if not pairs and len(train) == 1 and len(test) == 1:
        return train[0], test[0]
    names = ", ".join(p.name for p in candidates)
    raise DataError(f"{folder}: expected exactly one *train*.csv and one *test*.csv, found {names}")


def _header_lines(path: Path) -> int:
    """Return the number of lines ``np.loadtxt`` must skip to pass the header, or 0 without one.

    The header is the first line with data. Blank lines and ``#`` comments may come
    before it, and ``skiprows`` counts them too.
    """
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            data = _data_part(line)
            if data:
                return number if _names_columns(data) else 0
    return 0


def _names_columns(line: str) -> bool:
    """Tell whether a CSV line names the columns instead of containing a sample.

    It does when most of its non-empty fields are not numbers (a data row with a text
    label or an empty field has only one such field), or when its fields count 0, 1,
    2, ... or 1, 2, 3, ..., as pandas names unnamed columns: after one word, or in
    rows of ten fields or more.
    """
    fields = [_unquoted(field) for field in line.split(",")]
    values = []
    for field in fields:
        try:
            values.append(float(field))
        except ValueError:
            if field:
                values.append(None)
    words = values.count(None)
    if words and 2 * words > len(values):
        return True
    if len(values) != len(fields) or len(values) < 2:
        return False
    # Names such as "label,0,1,..." count after their first field. A data row of numbers
    # only may count by chance when it is short, so it must have ten fields or more.
    if values[0] is None:
        numbers = values[1:]
    elif len(values) >= 10:
        numbers = values
    else:
        return False
    return any(numbers == list(range(start, start + len(numbers))) for start in (0, 1))


def _describe_bad_row(path: Path, skip: int) -> str | None:
    """Return the first malformed row of a CSV file as ``line N: problem``, or None."""
    n_columns = None
    with path.open(encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            data = _data_part(line)
            if line_number <= skip or not data:
                continue
            fields = data.split(",")
            for column, field in enumerate(fields, start=1):
                if not _is_number(_unquoted(field)):
                    separator = _other_separator(field)
                    if separator is not None:
                        return (
                            f"line {line_number} is separated by {separator!r}, not by commas; "
                            "save the file with comma separators"
                        )
                    return f"line {line_number}, column {column}: {field.strip()!r} is not a number"
            if n_columns is None:
                n_columns = len(fields)
            elif len(fields) != n_columns:
                return f"line {line_number} has {len(fields)} columns, the first data row has {n_columns}"
    return None


def _other_separator(field: str) -> str | None:
    """Return ``;``, a tab or ``|`` when ``field`` is numbers joined by it, else None."""
    for separator in (";", "\t", "|"):
        parts = field.strip().split(separator)
        if len(parts) > 1 and all(_is_number(_unquoted(part)) for part in parts if part.strip()):
            return separator
    return None


def _unquoted(field: str) -> str:
    """Return a CSV field without surrounding space and double quotes, as ``np.loadtxt`` reads it."""
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1].strip()
    return field


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _data_part(line: str) -> str:
    """Return a CSV line without its ``#`` comment and surrounding space, as ``np.loadtxt`` reads it."""
    return line.split("#", 1)[0].strip()


def _line_finder(path: Path, skip: int) -> Callable[[int], int]:
    """Return a function from a data row's index to its line number, read only when called.

    It skips what ``np.loadtxt`` skips: the header, blank lines and ``#`` comments.
    """

    def line_of(index: int) -> int:
        row = -1
        with path.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if number > skip and _data_part(line):
                    row += 1
                    if row == index:
                        return number
        raise IndexError(f"{path} has no data row {index}")

    return line_of


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, Callable[[int], int]]:
    """Read a CSV file of ``label, pixel, pixel, ...`` rows, with an optional header row.

    Returns
    -------
    tuple
        Pixels of shape ``(n, n_columns - 1)``, labels of shape ``(n,)`` (both
        int64, or float64 when a value has a fraction), and a function from a row
        index to its line number in the file, for error messages.
    """
    try:
        skip = _header_lines(path)
        # Files written with Python's csv.QUOTE_ALL have every field, numbers included, in double quotes.
        options = {"delimiter": ",", "quotechar": '"', "skiprows": skip, "ndmin": 2, "encoding": "utf-8-sig"}
        with warnings.catch_warnings():
            # An empty file is reported below; loadtxt's own warning would only repeat it.
            warnings.filterwarnings("ignore", message=".*input contained no data")
            try:
                table = np.loadtxt(path, dtype=np.int64, **options)
            except ValueError:
                # A fractional value or a malformed row: parse again as floats, which
                # accepts the former and rejects the latter.
                table = np.loadtxt(path, dtype=np.float64, **options)
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read {path} as a UTF-8 CSV file: {error}") from error
    except ValueError as error:
        problem = _describe_bad_row(path, skip) or str(error)
        raise DataError(f"{path}: invalid CSV data: {problem}") from error
    if table.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    if table.shape[1] < 2:
        raise DataError(f"{path}: rows have {table.shape[1]} column(s); expected the label, then the pixels")
    return table[:, 1:], table[:, 0], _line_finder(path, skip)


def load_csv_pair(train: Path, test: Path, path: Path, dtype: np.dtype) -> Dataset:
    """Load a training and a test CSV file, label in the first column."""
    x_train, y_train, train_line_of = read_csv(train)
    x_test, y_test, test_line_of = read_csv(test)
    if x_test.shape[1] == x_train.shape[1] - 1:
        # Kaggle's MNIST test.csv, for one, comes without the label column.
        raise DataError(
            f"{test} has {x_test.shape[1] + 1} columns and {train} has {x_train.shape[1] + 1}; the test "
            "file probably lacks its label column, which must come first"
        )
    # Checked here first so that errors give the line in the file.
    class_limit = inferred_class_limit(len(y_train) + len(y_test))
    y_train = check_labels(y_train, None, str(train), line_of=train_line_of, class_limit=class_limit)
    y_test = check_labels(y_test, None, str(test), line_of=test_line_of, class_limit=class_limit)
    for x, file, line_of in ((x_train, train, train_line_of), (x_test, test, test_line_of)):
        found = find_non_finite(x)
        if found is not None:
            # Column 1 is the label, so feature j is column j + 2.
            raise DataError(
                f"{file}, line {line_of(found.row)}, column {found.column + 2}: NaN or infinity "
                f"(value {found.value}; {found.rows} line(s) in all); remove or fill those values first"
            )
    parts = {
        "x_train": (x_train, str(train)),
        "y_train": (y_train, str(train)),
        "x_test": (x_test, str(test)),
        "y_test": (y_test, str(test)),
    }
    return _build(path, f"{train} and {test} (CSV)", dtype, parts)


def load_path(path: Path, dtype: np.dtype) -> Dataset:
    """Load a data set from a folder of IDX or CSV files, a ``.npz`` file or a training CSV.

    Raises
    ------
    DataError
        If the path does not exist, is of an unsupported kind, or contains invalid data.
    """
    if path.is_dir():
        match = find_idx_folder(path)
        if match is not None:
            return load_idx_folder(match, path, dtype)
        pair = csv_pair_in_folder(path)
        if pair is not None:
            return load_csv_pair(*pair, path, dtype)
        _reject_incomplete_idx_folder(path)
        raise DataError(
            f"{path}: no data set found; the folder (or its raw/ or */raw/ subfolder) needs "
            "the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz), or one "
            "*train*.csv and one *test*.csv"
        )
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return load_npz(path, dtype)
        if suffix == ".csv":
            return load_csv_pair(*csv_pair_for_file(path), path, dtype)
        raise DataError(
            f"{path}: unsupported file type {path.suffix or '(no suffix)'}; pass a .npz file, "
            "a training .csv file, or a folder of IDX or CSV files"
        )
    raise InputNotFoundError(
        f"{path}: no such file or folder; check the path, or use a named data set "
        "(mlpbench datasets lists them)"
    )
