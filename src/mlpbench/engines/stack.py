"""The ``stacklevel`` that points a warning at the user's line, past library frames."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import joblib
import sklearn

# Not resolved: frames carry the file names as imported, symbolic links included.
PACKAGE_FOLDER = str(Path(__file__).parent.parent) + os.sep
"""The mlpbench package; warnings point at the first calling line outside it."""

PASSED_FOLDERS = (
    PACKAGE_FOLDER,
    str(Path(sklearn.__file__).parent) + os.sep,
    str(Path(joblib.__file__).parent) + os.sep,
)
"""Folders whose frames a warning passes over: mlpbench's, and scikit-learn's and
joblib's, through which a Pipeline or cross_val_score calls the estimators."""


def user_stacklevel() -> int:
    """Return the ``stacklevel`` for a warning that the calling function raises.

    The level names the first frame outside mlpbench, scikit-learn and joblib, however
    many of their functions lie between it and the warning.
    """
    frame = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(PASSED_FOLDERS):
        frame = frame.f_back
        level += 1
    return level
