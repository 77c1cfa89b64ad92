"""Checks of the X and y that users pass to ``fit``, ``predict`` and ``evaluate``."""

from __future__ import annotations

import warnings

import numpy as np
from scipy import sparse
from sklearn.exceptions import DataConversionWarning

from mlpbench.data.dataset import find_non_finite, inferred_class_limit
from mlpbench.engines.stack import user_stacklevel
from mlpbench.errors import DataError, DataTypeError

LABEL_ENCODER_HINT = "encode other labels with sklearn.preprocessing.LabelEncoder"


def as_feature_array(X: object, dtype: np.dtype, *, expected: int | None, owner: str) -> np.ndarray:
    """Return X as a C-contiguous 2-D array of ``dtype``, or raise DataError.

    ``expected`` is the number of features a fitted model takes (None before fitting),
    and ``owner`` names the model in the message about a wrong number of features.
    """
    if sparse.issparse(X):
        raise DataError(
            f"X is a sparse {type(X).__name__}, but the engines take dense arrays only; pass X.toarray()"
        )
    array = np.asarray(X)
    if array.dtype == object:
        array = _numeric_objects(array, getattr(X, "columns", None))
    _reject_complex(array, "X", "pass X.real or abs(X)")
    # Some wordings below follow scikit-learn's, which its estimator checks look for.
    if array.ndim > 2:
        raise DataError(
            f"X must be 2-D (n_samples, n_features), got shape {array.shape}; flatten each sample "
            "with X.reshape(len(X), -1)"
        )
    if array.ndim != 2:
        raise DataError(
            f"X must be 2-D (n_samples, n_features), got shape {array.shape}. Reshape your data "
            "with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample"
        )
    if array.shape[0] == 0:
        raise DataError("X has no rows")
    if array.shape[1] == 0:
        raise DataError(
            f"X has 0 feature(s) (shape={array.shape}) while a minimum of 1 is required; "
            "pass at least one column"
        )
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(f"X must be numeric, got dtype {array.dtype}")
    if expected is not None and array.shape[1] != expected:
        raise DataError(
            f"X has {array.shape[1]} features, but {owner} is expecting {expected} features as input"
        )

    with np.errstate(over="ignore"):  # an overflow is reported below, with its row and column
        converted = np.ascontiguousarray(array, dtype=dtype)
    found = find_non_finite(converted)
    if found is None:
        return converted
    original = array.reshape(array.shape[0], -1)[found.row, found.column]
    if np.isfinite(original):
        limit = float(np.finfo(dtype).max)
        raise DataError(
            f"X: value {original} at row {found.row}, column {found.column} is too large for "
            f"{np.dtype(dtype).name}, whose largest value is {limit:.4g}; scale the features "
            "down, or use a model with dtype='float64'"
        )
    raise DataError(f"X: {found.describe(row_word='row', column_word='column')}")


def _reject_complex(array: np.ndarray, name: str, fix: str) -> None:
    if np.iscomplexobj(array):
        raise DataError(f"Complex data not supported: {name} has dtype {array.dtype}; {fix}")


def _numeric_objects(array: np.ndarray, columns: object = None) -> np.ndarray:
    """Convert an object array of numbers to float64, as scikit-learn's check_array does.

    ``columns``, the column names of a DataFrame, lets the message name the column.
    """
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError) as error:
        where = _first_non_number(array, columns)
        raise DataTypeError(
            f"X must be numeric, but {where}; convert or drop that column (encode categories "
            f"with sklearn.preprocessing.OneHotEncoder) ({error})"
        ) from error


def _first_non_number(array: np.ndarray, columns: object) -> str:
    """Describe the first cell of an object array that float() rejects, by row and column."""
    table = array.reshape(len(array), -1) if array.ndim >= 2 else array.reshape(-1, 1)
    for column in range(table.shape[1]):
        try:
            table[:, column].astype(np.float64)
        except (TypeError, ValueError):
            rejected = [row for row, value in enumerate(table[:, column]) if not _is_number(value)]
            if not rejected:
                continue
            row, value = rejected[0], table[rejected[0], column]
            names = list(columns) if columns is not None and array.ndim == 2 else []
            name = f" ({names[column]!r})" if column < len(names) else ""
            return f"the value {value!r} at row {row}, column {column}{name} is not a number"
    return "its object array contains a value that is not a number"


def class_labels(y: object, n_rows: int) -> np.ndarray:
    """Return y as int64 labels of shape (n_rows,), or raise DataError.

    A column vector of shape (n_rows, 1) is flattened with a DataConversionWarning,
    as scikit-learn's classifiers do, and the warning points at the user's call.
    Labels are not yet checked against a number of classes (see ``check_label_range``).
    """
    if y is None:
        raise DataError(
            "this estimator requires y to be passed, but the target y is None; give the class "
            "label of each row of X"
        )
    labels = np.asarray(y)
    _reject_complex(labels, "y", "y must contain integer class labels 0..K-1")
    if labels.ndim == 2 and labels.shape == (n_rows, 1):
        warnings.warn(
            f"A column-vector y was passed when a 1d array was expected: y has shape "
            f"{labels.shape}. It is flattened, and y.ravel() avoids this warning",
            DataConversionWarning,
            stacklevel=user_stacklevel(),
        )
        labels = labels.ravel()
    if labels.ndim != 1 or labels.shape[0] != n_rows:
        raise DataError(f"y must have shape ({n_rows},) to match X, got {labels.shape}")
    return _integer_labels(labels)


def _integer_labels(y: np.ndarray) -> np.ndarray:
    if y.dtype == bool:
        # False and True are classes 0 and 1, as scikit-learn's classifiers take them.
        return y.astype(np.int64)
    if y.dtype == object:
        # float() would read the text "3" as 3, yet predict would then return 3, not "3".
        text_row = next((row for row, value in enumerate(y) if isinstance(value, str | bytes)), None)
        if text_row is not None:
            raise DataError(
                f"y must contain integer class labels 0..K-1, but the label at row {text_row} is "
                f"the text {y[text_row]!r}; convert numbers written as text with y.astype(int), "
                f"or {LABEL_ENCODER_HINT}"
            )
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as error:
            raise DataError(
                f"y must contain integer class labels 0..K-1, got an object array with a value that "
                f"is not a number ({error}); {LABEL_ENCODER_HINT}"
            ) from error
    if np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating):
        # Labels beyond int64 would wrap around in the cast and be reported as other numbers.
        beyond = np.flatnonzero((y >= 2**63) | (y < -(2**63)))
        if beyond.size:
            index = int(beyond[0])
            raise DataError(
                f"label {y.flat[index]} at row {index} is out of the range of class indices; y "
                f"must contain class labels 0..K-1, so {LABEL_ENCODER_HINT}"
            )
    if np.issubdtype(y.dtype, np.integer):
        return y.astype(np.int64, copy=False)
    if np.issubdtype(y.dtype, np.floating):
        fractional = np.flatnonzero(~np.isfinite(y) | (np.mod(y, 1) != 0))
        if not fractional.size:
            return y.astype(np.int64)
        index = int(fractional[0])
        if np.isnan(y.flat[index]):
            raise DataError(
                f"y must contain integer class labels 0..K-1, but the label at row {index} is "
                "missing (NaN); drop the unlabelled rows or fill in their labels"
            )
        raise DataError(
            f"y must contain integer class labels 0..K-1, but label {y.flat[index]} at row {index} "
            "is not a whole number; continuous targets (regression) are not supported"
        )
    if y.dtype.kind in "US":
        raise DataError(
            f"y must contain integer class labels 0..K-1, got text labels of dtype {y.dtype}; convert "
            f"numbers written as text with y.astype(int), or {LABEL_ENCODER_HINT}"
        )
    raise DataError(f"y must contain integer class labels 0..K-1, got dtype {y.dtype}; {LABEL_ENCODER_HINT}")


def check_inferred_class_count(labels: np.ndarray, n_classes: int) -> None:
    """Raise DataError when the largest label requires far more outputs than the data has rows.

    The limit is ``inferred_class_limit``: a stray label such as 2**40 would build an
    output layer of that width, or fail allocating it.
    """
    limit = inferred_class_limit(len(labels))
    if n_classes <= limit:
        return
    row = int(np.argmax(labels))
    raise DataError(
        f"label {labels[row]} at row {row} would make {n_classes} classes for {len(labels)} rows, "
        f"because labels must be 0..K-1; {LABEL_ENCODER_HINT}, or pass n_classes=K to fit if so "
        "many classes are meant"
    )


def check_label_range(labels: np.ndarray, n_classes: int, fix: str | None = None) -> None:
    """Raise DataError when a label lies outside 0..n_classes-1.

    ``fix`` replaces the advice given for a label that is too large.
    """
    negative = np.flatnonzero(labels < 0)
    if negative.size:
        row = int(negative[0])
        raise DataError(
            f"label {labels[row]} at row {row} is negative; y must contain class labels 0..K-1, so "
            f"{LABEL_ENCODER_HINT}"
        )
    too_large = np.flatnonzero(labels >= n_classes)
    if too_large.size:
        row = int(too_large[0])
        classes = "1 class" if n_classes == 1 else f"{n_classes} classes"
        raise DataError(
            f"label {labels[row]} at row {row} is outside 0..{n_classes - 1}; the model has "
            f"{classes} ({fix or 'when the training labels miss the top classes, pass n_classes=K to fit'})"
        )


def format_labels(labels: np.ndarray, limit: int = 10) -> str:
    """Return the first ``limit`` labels as a comma list, with ``...`` when there are more."""
    return ", ".join(map(str, labels[:limit])) + (", ..." if len(labels) > limit else "")


def warn_about_label_gaps(labels: np.ndarray, n_classes: int) -> None:
    """Warn when labels below the largest one have no sample, since each still gets an output."""
    if labels.size == 0 or labels.min() < 0:
        return
    missing = np.flatnonzero(np.bincount(labels, minlength=n_classes) == 0)
    if not missing.size:
        return
    # A single stray label such as 9999 is the usual cause of many gaps, so it is named.
    row = int(np.argmax(labels))
    warnings.warn(
        f"no training sample has label {format_labels(missing)}, yet the model predicts over all classes "
        f"0..{n_classes - 1} (the largest label is {labels[row]}, at row {row}), because labels must "
        "be 0..K-1; encode the labels with "
        "sklearn.preprocessing.LabelEncoder, or pass n_classes=K to fit to keep the gaps",
        UserWarning,
        stacklevel=user_stacklevel(),
    )


def _is_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _plain(value: object) -> object:
    """Return a NumPy scalar as the Python value, so that messages show 'a' rather than np.str_('a')."""
    return value.item() if isinstance(value, np.generic) else value


def sample_weights(sample_weight: object, n_rows: int, *, shape_fix: str | None = None) -> np.ndarray:
    """Return ``sample_weight`` as float64 of shape (n_rows,), or raise DataError.

    A single number weights every row alike, as in scikit-learn. Weights must be
    finite and >= 0 with a positive sum, as a weighted mean needs. ``shape_fix`` is
    added to the message about a wrong shape.
    """
    try:
        raw = np.asarray(sample_weight)
    except ValueError as error:
        # NumPy rejects nested lists of unequal lengths.
        raise DataError(
            f"sample_weight must be a list or 1-D array of numbers, one per row of X: {error}"
        ) from error
    _reject_complex(raw, "sample_weight", "pass its real part")
    try:
        weights = raw.astype(np.float64)
    except (TypeError, ValueError) as error:
        index, value = next(((i, v) for i, v in enumerate(raw.flat) if not _is_number(v)), (None, None))
        where = "" if index is None else f", but entry {index} is {_plain(value)!r}"
        raise DataError(
            f"sample_weight must contain numbers, one per row of X{where}; fix or drop that row"
        ) from error
    if weights.ndim == 0:
        weights = np.full(n_rows, float(weights))
    if weights.shape != (n_rows,):
        fix = f"; {shape_fix}" if shape_fix else ""
        raise DataError(f"sample_weight must have shape ({n_rows},) to match X, got {weights.shape}{fix}")
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        index = int(bad[0])
        value = _plain(raw.flat[index] if raw.ndim else raw.item())
        raise DataError(
            f"sample_weight must contain finite values >= 0, but entry {index} is {value!r}; "
            "fix or drop that row"
        )
    if not weights.any():
        raise DataError(
            "sample_weight is zero for every row, so no sample counts; give some row a weight above 0"
        )
    return weights
