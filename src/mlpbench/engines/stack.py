"""The ``stacklevel`` that points a warning at the user's line, past mlpbench's own frames."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Not resolved: frames carry the file names as imported, symbolic links included.
PACKAGE_FOLDER = str(Path(__file__).parent.parent) + os.sep
"""The mlpbench package; warnings point at the first calling line outside it."""


def user_stacklevel() -> int:
    """Return the ``stacklevel`` for a warning that the calling function raises.

    The level names the first frame outside mlpbench, however many of the package's
    own functions lie between it and the warning.
    """
    frame = sys._getframe(2)
    level = 2
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE_FOLDER):
        frame = frame.f_back
        level += 1
    return level
