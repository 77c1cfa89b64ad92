"""The ``Dataset`` container and the checks and scaling every loader shares."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mlpbench.errors import DataError

logger = logging.getLogger("mlpbench")

LOW_PIXEL_MAXIMUM = 128
"""Maximum below which whole-number data is probably not 8-bit pixels, and scaling it logs a warning."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set split into train and test parts.

    Attributes
    ----------
    x_train, x_test
        Features of shape ``(n_train, n_features)`` and ``(n_test, n_features)``,
        floating point in [0, 1], in the dtype passed to ``load_dataset``.
    y_train, y_test
        Labels of shape ``(n_train,)`` and ``(n_test,)``, int64 in
        ``0 .. n_classes - 1``.
    n_classes
        Number of classes.
    name
        ``"digits"``, ``"mnist"``, ``"fashion-mnist"``, or the path given.
    source
        Where the data came from, for logs and reports.
    class_names
        A name per class index where the data set defines them (Fashion-MNIST),
        else None.
    image_shape
        ``(height, width)`` of one sample when the features are an image, else None.
    """

    x_train: np.ndarray = field(repr=False)
    y_train: np.ndarray = field(repr=False)
    x_test: np.ndarray = field(repr=False)
    y_test: np.ndarray = field(repr=False)
    n_classes: int
    name: str
    source: str
    class_names: tuple[str, ...] | None = None
    image_shape: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        for part, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"{part} arrays must have shapes (n, n_features) and (n,), got {x.shape} and {y.shape}"
                )
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise ValueError(
                f"train and test feature counts differ: {self.x_train.shape[1]} and {self.x_test.shape[1]}"
            )
        if self.class_names is not None and len(self.class_names) != self.n_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.n_classes} classes")

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])


def resolve_dtype(dtype: str | np.dtype | type) -> np.dtype:
    """Return ``dtype`` as a NumPy floating dtype.

    Raises
    ------
    ValueError
        If ``dtype`` is not a NumPy floating type name such as ``"float32"``.
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"invalid dtype {dtype!r}; use float32 or float64") from error
    if not np.issubdtype(resolved, np.floating):
        raise ValueError(f"dtype must be a floating type such as float32 or float64, got {resolved}")
    return resolved


def square_shape(n_features: int) -> tuple[int, int] | None:
    """Return ``(side, side)`` when ``n_features`` is a perfect square, else None."""
    side = math.isqrt(n_features)
    return (side, side) if side > 0 and side * side == n_features else None


def is_integral(array: np.ndarray) -> bool:
    """Return whether ``array`` has an integer dtype or contains only whole numbers."""
    if np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
        return True
    return bool(np.all(np.isfinite(array))) and bool(np.all(np.floor(array) == array))


@dataclass(frozen=True)
class NonFinite:
    """Where a 2-D array contains NaN or infinity: how many rows, and the first row, column and value."""

    rows: int
    row: int
    column: int
    value: float

    def describe(self, row_word: str = "sample", column_word: str = "feature") -> str:
        """Return the shared wording of the error, e.g. '2 samples contain NaN or infinity, ...'."""
        return (
            f"{self.rows} {row_word}(s) contain NaN or infinity, first {row_word} {self.row} "
            f"at {column_word} {self.column} (value {self.value}, counting from 0); "
            "remove or fill those values first"
        )


def find_non_finite(array: np.ndarray) -> NonFinite | None:
    """Return where a float array of shape (n, ...) contains NaN or infinity, or None if nowhere."""
    if array.dtype.kind not in "fc" or array.size == 0:
        return None
    flat = array.reshape(array.shape[0], -1)
    bad = ~np.isfinite(flat)
    if not bad.any():
        return None
    rows, columns = np.nonzero(bad)
    return NonFinite(
        rows=int(np.unique(rows).size),
        row=int(rows[0]),
        column=int(columns[0]),
        value=float(flat[rows[0], columns[0]]),
    )


LOW_MAXIMUM_FIX = (
    "if they are not 8-bit pixels, scale them to [0, 1] before loading them (training with "
    "--standardize also undoes the scaling)"
)
"""The advice for whole numbers that stay low, in data about to be trained on."""


def scale_pixels(
    train: np.ndarray,
    test: np.ndarray,
    dtype: np.dtype,
    where: str,
    *,
    compare_splits: bool = True,
    low_maximum_fix: str = LOW_MAXIMUM_FIX,
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten pixel arrays to ``(n, n_features)`` and scale them to [0, 1] in ``dtype``.

    Integer data (or floats holding whole numbers only) with a maximum above 1 is
    divided by 255, with a warning when the maximum stays below ``LOW_PIXEL_MAXIMUM``;
    the test data is scaled by the same rule as the training data.
    Integer data with maximum 0 or 1, and float data already in [0, 1], is kept as
    it is. The division runs in ``dtype``, with no float64 copy for float32 output.

    Parameters
    ----------
    train, test
        Arrays of shape ``(n, ...)``; every axis after the first is flattened.
    dtype
        Floating output dtype.
    where
        The data's origin (a path), used only in error messages.
    compare_splits
        Warn when one part holds only 0 and 1 while the other reaches above 1, which
        suggests that the two were stored with different scales.

    Raises
    ------
    DataError
        If a value is negative, not finite, above 255 for integer data, or outside
        [0, 1] for fractional float data.
    """
    train = train.reshape(train.shape[0], -1)
    test = test.reshape(test.shape[0], -1)
    if train.shape[1] != test.shape[1]:
        raise DataError(
            f"{where}: training samples have {train.shape[1]} features, test samples have {test.shape[1]}"
        )
    parts = [part for part in (train, test) if part.size]
    if not parts:
        return train.astype(dtype), test.astype(dtype)

    for name, part in (("training", train), ("test", test)):
        found = find_non_finite(part)
        if found is not None:
            raise DataError(f"{where}: {found.describe(row_word=f'{name} sample')}")
    low = min(part.min() for part in parts)
    # Each split's maximum (None when empty), kept because the binary-split warning compares them.
    maxima = {name: part.max() if part.size else None for name, part in (("training", train), ("test", test))}
    high = max(value for value in maxima.values() if value is not None)
    if low < 0:
        raise DataError(
            f"{where}: pixel values must be >= 0, found {low}; pass raw pixels in 0..255 or [0, 1], "
            "not standardized ones (mlpbench scales them itself, and --standardize centres them)"
        )

    if all(is_integral(part) for part in parts):
        if high > 255:
            raise DataError(
                f"{where}: integer pixel values must lie in 0..255, found {high}; "
                "scale the data to [0, 1] or 0..255 first"
            )
        if high > 1:
            if high < LOW_PIXEL_MAXIMUM:
                logger.warning(
                    "%s: the whole-number values reach only %s, yet they are divided by 255 as 8-bit "
                    "pixels, so the features end up in [0, %.3f]; %s",
                    where,
                    high,
                    high / 255,
                    low_maximum_fix,
                )
            if compare_splits:
                _warn_about_binary_split(maxima, where)
            scale = dtype.type(255)
            return np.divide(train, scale, dtype=dtype), np.divide(test, scale, dtype=dtype)
    elif high > 1:
        # Name the split that contains the maximum. Whole numbers up to 255 in one split
        # beside fractions in [0, 1] in the other are two scales, which gets its own message.
        splits = {"training": train, "test": test}
        above = next(name for name, value in maxima.items() if value is not None and value > 1)
        other = "test" if above == "training" else "training"
        if is_integral(splits[above]) and splits[other].size and not is_integral(splits[other]):
            raise DataError(
                f"{where}: the {other} values are fractional, in [0, {maxima[other]}], but the {above} "
                f"values are whole numbers up to {maxima[above]}; store both splits on one scale, "
                "both in [0, 1] or both 0..255"
            )
        if not compare_splits:
            # One array passed as both parts (predict's inputs), so the split names do not apply.
            above, splits = "input", {"input": train}
        culprit = _out_of_range_value(splits)
        raise DataError(
            f"{where}: fractional pixel values must lie in [0, 1], but the {above} values reach "
            f"{maxima.get(above, high)}{culprit}; scale the data to [0, 1] or store whole numbers 0..255"
        )
    return train.astype(dtype), test.astype(dtype)


STRAY_FRACTION_SHARE = 0.01
STRAY_FRACTION_COUNT = 2
"""Up to this share of fractional values, or this many (and always fewer than half of
the values), fractions among whole numbers count as typos."""


def _out_of_range_value(splits: dict[str, np.ndarray]) -> str:
    """Return a clause naming the first value to correct in fractional data that exceeds 1.

    Whole numbers with a few fractions among them (such as one 0.5 among pixels 0..16)
    point at the first fraction. Otherwise the first value above 1 is named.
    """
    fractional = {name: np.floor(array) != array for name, array in splits.items()}
    count = sum(int(mask.sum()) for mask in fractional.values())
    size = sum(array.size for array in splits.values())
    stray = count <= max(STRAY_FRACTION_COUNT, STRAY_FRACTION_SHARE * size) and 2 * count < size
    for name, array in splits.items():
        rows, columns = np.nonzero(fractional[name] if stray else array > 1)
        if rows.size:
            value = array[rows[0], columns[0]]
            kind = "the first value with a fraction" if stray else "the first value above 1"
            return f" ({kind} is {value}, {name} sample {rows[0]} at feature {columns[0]}, counting from 0)"
    return ""


def _warn_about_binary_split(maxima: dict[str, float | None], where: str) -> None:
    """Warn when one split contains only 0 and 1 but the other reaches above 1.

    ``maxima`` maps "training" and "test" to each split's maximum (None when empty).
    Both are divided by 255, so the binary split would end up near zero. That split
    was probably stored as binary images and the other as 8-bit pixels.
    """
    high = max(value for value in maxima.values() if value is not None)
    for name, other in (("training", "test"), ("test", "training")):
        if maxima[name] is not None and maxima[name] <= 1:
            logger.warning(
                "%s: the %s values are all 0 or 1, but the %s values reach %s, so both are "
                "divided by 255 and the %s features end up at most %.4f; store both splits "
                "as 8-bit pixels, or both in [0, 1]",
                where,
                name,
                other,
                high,
                name,
                1 / 255,
            )


MAX_INFERRED_CLASSES = 1000
"""The largest class count taken from labels as meant, whatever the row count.

See ``inferred_class_limit``, which also allows ten classes per row.
"""


def inferred_class_limit(n_rows: int) -> int:
    """Return the largest class count that labels of ``n_rows`` rows may imply.

    The class count is the largest label plus one, so one stray label such as 2**40
    would build an output layer of that width, or fail allocating it. Up to
    ``MAX_INFERRED_CLASSES`` classes, or ten per row, are taken as meant.
    """
    return max(MAX_INFERRED_CLASSES, 10 * n_rows)


def check_labels(
    labels: np.ndarray,
    n_classes: int | None,
    where: str,
    *,
    line_of: Callable[[int], int] | None = None,
    class_limit: int | None = None,
) -> np.ndarray:
    """Validate class labels and return them as int64.

    Parameters
    ----------
    labels
        Array of shape ``(n,)`` with whole numbers.
    n_classes
        When given, every label must be below it.
    where
        The file the labels came from, used in error messages.
    line_of
        For text files: maps an index in ``labels`` to its line in the file, so
        that errors name the line. Otherwise errors name the index in the array.
    class_limit
        Where the class count comes from the labels (``n_classes`` is None): the
        most classes they may imply, usually ``inferred_class_limit`` of the rows.

    Raises
    ------
    DataError
        If the array is not 1-D, a label is not a whole number, is negative, is
        ``n_classes`` or more, implies more than ``class_limit`` classes, or lies beyond
        the int64 range. The message names the first bad value (the largest, for the
        class limit and the int64 range) and its position.
    """

    def position(index: int) -> str:
        return f"on line {line_of(index)}" if line_of is not None else f"at index {index}"

    if labels.ndim != 1:
        one_hot = labels.ndim == 2 and labels.shape[1] > 1
        fix = "; for one-hot rows, store the class indices, y.argmax(axis=1)" if one_hot else ""
        raise DataError(f"{where}: labels must be a 1-D array, got shape {labels.shape}{fix}")
    if labels.dtype == np.bool_:
        # False and True are classes 0 and 1, as the estimators take them.
        labels = labels.astype(np.int64)
    if labels.dtype.kind not in "biuf":
        raise DataError(
            f"{where}: labels must be whole numbers, got dtype {labels.dtype}; store them as integers "
            "0..K-1 (y.astype(int) for numbers written as text, sklearn.preprocessing.LabelEncoder "
            "for class names)"
        )
    if not is_integral(labels):
        bad = int(np.flatnonzero(~np.isfinite(labels) | (np.floor(labels) != labels))[0])
        raise DataError(f"{where}: label {labels[bad]} {position(bad)} is not a whole number")
    # The checks read the labels in their own dtype: casting first would wrap uint64 or
    # float labels beyond int64's range into negative numbers.
    negative = np.flatnonzero(labels < 0)
    if negative.size:
        index = int(negative[0])
        raise DataError(f"{where}: label {int(labels[index])} {position(index)} is negative")
    if class_limit is not None and labels.size and labels.max() >= class_limit:
        index = int(np.argmax(labels))
        value = int(labels[index])
        raise DataError(
            f"{where}: label {value} {position(index)} would make {value + 1} classes, "
            f"because the class count is the largest label plus one; number the classes 0..K-1 "
            f"(at most {class_limit:,} classes are accepted for this many samples)"
        )
    if n_classes is not None:
        too_big = np.flatnonzero(labels >= n_classes)
        if too_big.size:
            index = int(too_big[0])
            raise DataError(
                f"{where}: label {int(labels[index])} {position(index)} is outside "
                f"0..{n_classes - 1} ({n_classes} classes)"
            )
    # 2**63 itself, not int64's maximum: float64 rounds that maximum up to 2**63.
    if labels.size and labels.max() >= 2**63:
        index = int(np.argmax(labels))
        raise DataError(f"{where}: label {int(labels[index])} {position(index)} is beyond the int64 range")
    return labels.astype(np.int64)
