"""Column names of a DataFrame X, kept at fit and checked at predict, as scikit-learn does.

A model fitted on a pandas DataFrame reads its columns by position. Without a check,
the same columns in another order would give wrong predictions and no error.
"""

from __future__ import annotations

import warnings
from collections import Counter

import numpy as np

from mlpbench.engines.stack import user_stacklevel
from mlpbench.errors import DataError, DataTypeError

SHOWN_NAMES = 5
"""Column names listed in a message before the rest are counted."""



def feature_names_of(X: object) -> np.ndarray | None:
    """Return X's column names as an object array, or None when X has no names.

    As in scikit-learn, columns that are all strings are names, and a DataFrame with
    the default integer columns, an array or MultiIndex columns (tuples) has none.

    Raises
    ------
    DataTypeError
        If some column labels are strings and others are not.
    """
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = list(columns)
    strings = [isinstance(name, str) for name in names]
    if not names or not any(strings):
        return None
    if not all(strings):
        kinds = sorted({type(name).__name__ for name in names})
        raise DataTypeError(
            f"X's column labels mix strings and other types ({', '.join(kinds)}), so they cannot be "
            "kept as feature names; make them all strings, e.g. X.columns = X.columns.astype(str)"
        )
    return np.asarray(names, dtype=object)


def check_feature_names(fitted: np.ndarray | None, names: np.ndarray | None, owner: str) -> None:
    """Raise DataError when X's column names differ from the fitted ones; warn when one side has none.

    ``fitted`` is the model's ``feature_names_in_`` (None when fitted without names),
    ``names`` is ``feature_names_of(X)``, and ``owner`` names the model class.
    """
    if fitted is None and names is None:
        return
    if fitted is None:
        _warn(f"X has feature names, but {owner} was fitted without feature names")
        return
    if names is None:
        _warn(f"X has no feature names, but {owner} was fitted with feature names")
        return
    if len(names) == len(fitted) and (names == fitted).all():
        return
    fix = "select the fitted columns in their order: X[model.feature_names_in_]"
    in_x, in_fit = Counter(names), Counter(fitted)
    if in_x == in_fit:
        raise DataError(f"X has the columns {owner} was fitted with, but in another order; {fix}")
    # Counted with repeats, so a column given twice is named as repeated.
    extra = list((in_x - in_fit).elements())
    unseen = [name for name in extra if name not in in_fit]
    repeated = [name for name in extra if name in in_fit]
    missing = list((in_fit - in_x).elements())
    groups = ((unseen, "not seen in fit"), (repeated, "given more often than in fit"), (missing, "missing"))
    parts = [f"{len(found)} {label} ({_listed(found)})" for found, label in groups if found]
    raise DataError(f"X's columns differ from those {owner} was fitted with: {', '.join(parts)}; {fix}")


def _warn(message: str) -> None:
    warnings.warn(f"{message}; the columns are read by position", UserWarning, stacklevel=user_stacklevel())


def _listed(names: list[str]) -> str:
    first = ", ".join(repr(name) for name in names[:SHOWN_NAMES])
    rest = len(names) - SHOWN_NAMES
    return first if rest <= 0 else f"{first} and {rest} more"
