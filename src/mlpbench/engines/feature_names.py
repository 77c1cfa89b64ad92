"""Column names of a DataFrame X, kept at fit and checked at predict, as scikit-learn does.

A model fitted on a pandas DataFrame reads its columns by position. Without a check,
the same columns in another order would give wrong predictions and no error.
"""

from __future__ import annotations

import warnings

import numpy as np

from mlpbench.errors import DataError

SHOWN_NAMES = 5
"""Column names listed in a message before the rest are counted."""


def feature_names_of(X: object) -> np.ndarray | None:
    """Return X's column names as an object array, or None when X has no string column names.

    As in scikit-learn, only columns that are all strings count as names: a DataFrame
    with the default integer columns, or an array, has none.
    """
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = list(columns)
    if not names or not all(isinstance(name, str) for name in names):
        return None
    return np.asarray(names, dtype=object)


def check_feature_names(
    fitted: np.ndarray | None, names: np.ndarray | None, owner: str, *, stacklevel: int
) -> None:
    """Raise DataError when X's column names differ from the fitted ones; warn when one side has none.

    ``fitted`` is the model's ``feature_names_in_`` (None when fitted without names),
    ``names`` is ``feature_names_of(X)``, and ``owner`` names the model class.
    """
    if fitted is None and names is None:
        return
    if fitted is None or names is None:
        has, had = ("has", "without") if fitted is None else ("has no", "with")
        warnings.warn(
            f"X {has} feature names, but {owner} was fitted {had} feature names; the columns "
            "are read by position",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
        return
    if len(names) == len(fitted) and (names == fitted).all():
        return
    fix = "select the fitted columns in their order: X[model.feature_names_in_]"
    if sorted(names) == sorted(fitted):
        raise DataError(f"X has the columns {owner} was fitted with, but in another order; {fix}")
    fitted_set, given_set = set(fitted), set(names)
    unseen = [name for name in names if name not in fitted_set]
    missing = [name for name in fitted if name not in given_set]
    parts = [
        f"{len(found)} {label} ({_listed(found)})"
        for found, label in ((unseen, "not seen in fit"), (missing, "missing"))
        if found
    ]
    raise DataError(f"X's columns differ from those {owner} was fitted with: {', '.join(parts)}; {fix}")


def _listed(names: list[str]) -> str:
    first = ", ".join(repr(name) for name in names[:SHOWN_NAMES])
    rest = len(names) - SHOWN_NAMES
    return first if rest <= 0 else f"{first} and {rest} more"
