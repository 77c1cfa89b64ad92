"""Resident memory (RSS) of this process, peak and current, in bytes.

Linux and macOS only: both read ``resource.getrusage``.
"""

from __future__ import annotations

import os
import resource
import sys

STATM_PATH = "/proc/self/statm"


def peak_rss_bytes() -> int:
    """Return the largest resident set size this process has had, in bytes.

    ``ru_maxrss`` is in kibibytes on Linux and in bytes on macOS.
    """
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        return int(max_rss)
    return int(max_rss) * 1024


def current_rss_bytes() -> int:
    """Return the current resident set size in bytes.

    Reads the resident page count from /proc/self/statm. Where that file does not
    exist (macOS), returns ``peak_rss_bytes()``, which is an upper bound.
    """
    try:
        with open(STATM_PATH, encoding="ascii") as statm:
            fields = statm.read().split()
    except OSError:
        return peak_rss_bytes()
    resident_pages = int(fields[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")
