"""Summary statistics of repeated timings, and a warning when they vary too much."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

DEFAULT_SPREAD_THRESHOLD = 0.1

LATER_EPOCH_SLOWDOWN = 1.05
"""Ratio to a run's first epoch that every later epoch must exceed, in every run, for
``spread_warning`` to blame the training instead of the machine."""

MIN_SLOWDOWN_RUNS = 3
"""Runs needed before a slowdown after each run's first epoch is believed.

Suppose a busy machine slowed half of all epochs at random, each by 10-100%. Then a run
of two epochs would show the pattern with probability about 0.36 (by simulation). All
of two runs would show it about 13% of the time, and all of three about 5%.
"""


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Summarize repeated measurements by median and quartiles, keeping the raw values.

    Quartiles use NumPy's default linear interpolation. No value is dropped as an
    outlier: a slow repeat widens the IQR and shows up in ``max`` and ``values``.

    Parameters
    ----------
    values : one or more finite measurements, shape (n,).

    Returns
    -------
    dict
        ``n``, ``median``, ``min``, ``max``, ``mean``, ``q1``, ``q3``, ``iqr``,
        ``relative_spread`` (``iqr / |median|``; 0.0 when both are 0, None when only
        the median is 0) and ``values`` (the input as a list of floats).
        Raises ValueError for an empty input or a non-finite value.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1 or data.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence, got shape {data.shape}")
    bad = data[~np.isfinite(data)]
    if bad.size:
        raise ValueError(f"values must be finite, got {bad[0]!r} among {data.size} values")

    q1, median, q3 = (float(q) for q in np.percentile(data, [25, 50, 75]))
    iqr = q3 - q1
    if median != 0:
        relative_spread: float | None = iqr / abs(median)
    elif iqr == 0:
        relative_spread = 0.0
    else:
        relative_spread = None

    return {
        "n": int(data.size),
        "median": median,
        "min": float(data.min()),
        "max": float(data.max()),
        "mean": float(data.mean()),
        "q1": q1,
        "q3": q3,
        "iqr": iqr,
        "relative_spread": relative_spread,
        "values": [float(value) for value in data],
    }


def spread_warning(
    summary: Mapping[str, Any],
    threshold: float = DEFAULT_SPREAD_THRESHOLD,
    slowdown: float | None = None,
) -> str | None:
    """Return a warning when the IQR exceeds ``threshold`` times the median, else None.

    Parameters
    ----------
    summary : a dict from ``summarize``.
    threshold : largest acceptable ``iqr / median``, e.g. 0.1 for 10 %.
    slowdown : ``later_epoch_slowdown`` of the runs, if the caller believes it (the
        machine was measured to be quiet). The warning then blames the training, which
        a rerun would not change, instead of the machine.

    Returns
    -------
    str or None
        A message for the user; also returned when the spread is undefined
        (median 0 with a non-zero IQR).
    """
    spread = summary["relative_spread"]
    if spread is None:
        return (
            f"timings vary around a median of 0 (IQR {summary['iqr']:.3g}); "
            "the relative spread is undefined"
        )
    if math.isfinite(spread) and spread <= threshold:
        return None
    if slowdown is not None:
        return (
            f"timings vary by {spread:.0%} (IQR/median), probably because training itself slowed "
            f"down: in every run each epoch after the first was slower (median {slowdown:.2f} times "
            "the first), which other work rarely does so evenly; momentum values that decay into "
            "the slow subnormal range do this, and a rerun would not remove it"
        )
    return (
        f"timings vary by {spread:.0%} (IQR/median), so the machine may be busy; "
        "rerun when it is idle, or use more --repeats"
    )


def later_epoch_slowdown(epochs_per_run: Sequence[Sequence[float]]) -> float | None:
    """Return the median ratio of later epochs to their run's first epoch, or None.

    The ratio is returned only when every later epoch is over ``LATER_EPOCH_SLOWDOWN``
    times its run's first, in at least ``MIN_SLOWDOWN_RUNS`` runs of at least two epochs each.
    """
    runs = [list(times) for times in epochs_per_run]
    if len(runs) < MIN_SLOWDOWN_RUNS or any(len(times) < 2 for times in runs):
        return None
    ratios = [later / times[0] for times in runs for later in times[1:]]
    if min(ratios) <= LATER_EPOCH_SLOWDOWN:
        return None
    return float(np.median(ratios))
