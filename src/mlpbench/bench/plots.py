"""PNG plots of benchmark results: loss curves, epoch times, accuracy and sweeps.

Figures are built with ``matplotlib.figure.Figure`` and rendered by the Agg
canvas, never through pyplot, so no display or global backend is needed. Each
file is written to a temporary file in the target folder and renamed into place.
An engine with no data (for example one that failed) is left out, and the figure
still renders, with a "no data" note when nothing is left.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter, PercentFormatter

from mlpbench.atomic import atomic_writer

FIGURE_SIZE_INCHES = (7.0, 4.5)
DPI = 100
MAX_LABELLED_X_TICKS = 12


MARKERS = ("o", "s", "^", "D", "v")
"""Marker per engine in line plots, so overlapping lines stay distinguishable."""

MARKER_SIZES = (9, 6, 4, 4, 4)
"""Marker size per engine: the first engines' markers ring the later ones where the lines agree."""


def _new_axes(title: str, xlabel: str, ylabel: str) -> tuple[Figure, Axes]:
    figure = Figure(figsize=FIGURE_SIZE_INCHES, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    return figure, axes


def _note_no_data(axes: Axes) -> None:
    axes.text(0.5, 0.5, "no data", ha="center", va="center", transform=axes.transAxes)


LONG_LEGEND_LABEL = 24
"""Characters above which a legend label gets a column of its own width in a two-column legend."""


def legend_columns(labels: Sequence[str]) -> int:
    """Return how many columns a legend below a plot gets, so that it fits the figure's width.

    Matplotlib fills the columns one after another, so two columns hold the short engine
    names in one and the long peak and CPU-wait labels in the other.
    """
    if any(len(label) > LONG_LEGEND_LABEL for label in labels):
        return min(len(labels), 2)
    return max(min(len(labels), 3), 1)


def _save(figure: Figure, path: str | Path) -> Path:
    with atomic_writer(path) as handle:
        figure.savefig(handle, format="png")
    return Path(path)


def _non_empty(series: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    arrays = {name: np.asarray(values, dtype=np.float64) for name, values in series.items()}
    return {name: values for name, values in arrays.items() if values.size}


def plot_loss_curves(curves: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Plot training loss per epoch, one line per engine, and write a PNG.

    The y axis is logarithmic when every finite loss is positive, and its label then
    reads "(log scale)". Non-finite losses (a diverged run) leave gaps in the line.

    Parameters
    ----------
    curves : engine name to losses, shape (n_epochs,), epoch 1 first.
    path : output file; its folder must exist.
    """
    figure, axes = _new_axes("Training loss", "epoch", "mean training loss")
    data = _non_empty(curves)
    for index, (name, losses) in enumerate(data.items()):
        epochs = np.arange(1, losses.size + 1)
        # Engines that agree (numpy and torch) draw the same line. Hollow markers of
        # shrinking size and dashed lines keep each one visible on top of the others.
        axes.plot(
            epochs,
            losses,
            marker=MARKERS[index % len(MARKERS)],
            markersize=MARKER_SIZES[index % len(MARKER_SIZES)],
            fillstyle="none",
            linestyle="-" if index == 0 else "--",
            label=name,
        )

    if data:
        longest = max(losses.size for losses in data.values())
        axes.set_xlim(0.5, longest + 0.5)
        if longest <= MAX_LABELLED_X_TICKS:
            axes.set_xticks(range(1, longest + 1))
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        finite = np.concatenate([losses[np.isfinite(losses)] for losses in data.values()])
        if finite.size and (finite > 0).all():
            _log_y_axis(axes, "mean training loss")
        axes.legend(title="engine")
    else:
        _note_no_data(axes)
    return _save(figure, path)


PLAIN_NUMBER = FuncFormatter(lambda value, _: f"{value:.3g}")
"""Tick labels such as 0.584, where matplotlib's log axes write 5.84x10^-1."""


def _label_2_3_5(value: float, _position: object) -> str:
    """Label a minor log tick only at 2, 3 or 5 times a power of ten, so that labels do not crowd."""
    leading = round(value / 10 ** math.floor(math.log10(value))) if value > 0 else 0
    return f"{value:.3g}" if leading in (2, 3, 5) else ""


def _log_y_axis(axes: Axes, label: str) -> None:
    """Make the y axis logarithmic, with plain tick labels and "(log scale)" in its label."""
    axes.set_yscale("log")
    axes.set_ylabel(f"{label} (log scale)")
    axes.yaxis.set_major_formatter(PLAIN_NUMBER)
    # The major ticks are the powers of ten. With fewer than two inside the range, the
    # minor ticks at 2, 3 and 5 times a power of ten carry labels too, or every minor
    # tick when that still leaves fewer than two labels (a range such as 0.58 to 0.62).
    bottom, top = axes.get_ylim()
    powers_of_ten = math.floor(math.log10(top)) - math.ceil(math.log10(bottom)) + 1
    if powers_of_ten >= 2:
        axes.yaxis.set_minor_formatter(NullFormatter())
        return
    exponents = range(math.floor(math.log10(bottom)), math.floor(math.log10(top)) + 1)
    sparse = [digit * 10.0**exponent for exponent in exponents for digit in (1, 2, 3, 5)]
    labelled = [value for value in sparse if bottom <= value <= top]
    axes.yaxis.set_minor_formatter(FuncFormatter(_label_2_3_5) if len(labelled) >= 2 else PLAIN_NUMBER)


def plot_epoch_times(times: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Plot seconds per epoch per engine as a bar at the median, with whiskers over the middle half.

    The whiskers span the 25th to 75th percentile, so that one slow epoch (the first
    one of a process, or a moment of interference) does not flatten every bar. The
    results table gives the minimum and maximum.

    Parameters
    ----------
    times : engine name to epoch durations in seconds, shape (n_epochs,).
    path : output file; its folder must exist.
    """
    figure, axes = _new_axes("Time per epoch", "engine", "seconds per epoch")
    data = _non_empty(times)
    if not data:
        _note_no_data(axes)
        return _save(figure, path)

    names = list(data)
    seconds = np.array([np.median(values) for values in data.values()])
    lows = np.array([np.percentile(values, 25) for values in data.values()])
    highs = np.array([np.percentile(values, 75) for values in data.values()])
    # Milliseconds, as on the bar labels, when every bar and whisker is below 1 s.
    scale = 1000.0 if highs.max() < 1 else 1.0
    axes.set_ylabel("milliseconds per epoch" if scale > 1 else "seconds per epoch")
    medians, lows, highs = seconds * scale, lows * scale, highs * scale
    positions = np.arange(len(names))
    axes.bar(positions, medians, color=[f"C{index}" for index in positions])
    axes.errorbar(
        positions,
        medians,
        yerr=[medians - lows, highs - medians],
        fmt="none",
        ecolor="black",
        capsize=6,
        label="25th to 75th percentile",
    )
    axes.set_xticks(positions, names)
    # Room above the tallest whisker for its label, which autoscaling does not count.
    axes.set_ylim(0, highs.max() * 1.15)
    # The median is written above each whisker, since a fast engine's bar can be too
    # short to read, and a label on the bar itself would cross its whisker.
    for position, high, median_seconds in zip(positions, highs, seconds, strict=True):
        axes.annotate(
            _seconds_label(median_seconds),
            (position, high),
            textcoords="offset points",
            xytext=(0, 3),
            ha="center",
            va="bottom",
        )
    axes.legend()
    return _save(figure, path)


def _seconds_label(seconds: float) -> str:
    # Below 0.9995 s, so that 999.7 ms does not round to "1e+03 ms".
    return f"{seconds * 1000:.3g} ms" if seconds < 0.9995 else f"{seconds:.3g} s"


def plot_accuracy(accuracies: Mapping[str, Sequence[float]], path: str | Path) -> Path:
    """Plot test accuracy per engine: a bar at the median and one dot per run.

    Parameters
    ----------
    accuracies : engine name to accuracies as fractions in [0, 1], shape (n_runs,).
    path : output file; its folder must exist.

    Raises ValueError for a value outside [0, 1], such as a percentage.
    """
    figure, axes = _new_axes("Test accuracy", "engine", "test accuracy")
    data = _non_empty(accuracies)
    for name, values in data.items():
        outside = values[~((values >= 0) & (values <= 1))]
        if outside.size:
            raise ValueError(
                f"accuracy of {name!r} must be a fraction in [0, 1], got {outside[0]!r}; "
                "divide percentages by 100"
            )
    if not data:
        _note_no_data(axes)
        return _save(figure, path)

    names = list(data)
    positions = np.arange(len(names))
    medians = [float(np.median(values)) for values in data.values()]
    bars = axes.bar(positions, medians, color=[f"C{index}" for index in positions], alpha=0.6)
    # Bars that start at 0 % hide small differences, so the median is also printed.
    axes.bar_label(bars, labels=[f"{median:.2%}" for median in medians], padding=8)
    for position, values in zip(positions, data.values(), strict=True):
        # Spread the dots sideways, evenly, so that equal accuracies stay visible.
        offsets = np.linspace(-0.2, 0.2, values.size) if values.size > 1 else np.zeros(1)
        axes.plot(position + offsets, values, "o", color="black", markersize=4)
    axes.set_xticks(positions, names)
    # Headroom above 100 % keeps the median labels clear of the title.
    axes.set_ylim(0, 1.1)
    axes.set_yticks(np.linspace(0, 1, 6))
    axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    return _save(figure, path)


def _sweep_series(
    points: Sequence[Mapping[str, Any]], x: str, y: str, group: str, spread: tuple[str, str] | None = None
) -> dict[str, list[tuple[float, float, float | None, float | None]]]:
    """Group rows into (x, y, low, high) tuples sorted by x; rows whose y is missing, None or NaN are skipped.

    ``low`` and ``high`` come from the ``spread`` columns, and are None without them.
    """
    series: dict[str, list[tuple[float, float, float | None, float | None]]] = {}
    for row in points:
        for key in (x, group):
            if key not in row:
                raise ValueError(f"sweep row {dict(row)} has no {key!r} column")
        y_value = row.get(y)
        if y_value is None or not math.isfinite(float(y_value)):
            continue
        low = high = None
        if spread is not None and row.get(spread[0]) is not None and row.get(spread[1]) is not None:
            low, high = float(row[spread[0]]), float(row[spread[1]])
        series.setdefault(str(row[group]), []).append((float(row[x]), float(y_value), low, high))
    return {name: sorted(rows, key=lambda row: row[0]) for name, rows in series.items()}


def _label_log_x_ticks(axes: Axes, x_values: list[float]) -> None:
    """Put ticks at the data's x values (batch sizes) instead of powers of ten."""
    if len(x_values) > MAX_LABELLED_X_TICKS:
        return
    axes.set_xticks(x_values, [f"{value:g}" for value in x_values])
    axes.xaxis.set_minor_formatter(NullFormatter())


def plot_sweep(
    points: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    group: str,
    path: str | Path,
    *,
    loglog: bool = True,
    hline: float | None = None,
    hline_label: str | None = None,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    spread: tuple[str, str] | None = None,
    flag: str | None = None,
    flag_label: str = "flagged",
) -> Path:
    """Plot ``y`` against ``x`` with one line per value of ``group``, and write a PNG.

    Used for time per epoch against batch size (log-log) and for GFLOP/s against
    batch size with the measured peak as ``hline``.

    Parameters
    ----------
    points : rows (dicts); each needs the ``x`` and ``group`` keys. A row whose ``y``
        is missing, None or NaN (a failed run) is skipped.
    x, y, group : the column names to plot and to group by.
    path : output file; its folder must exist.
    loglog : logarithmic x and y axes.
    hline : y value of a horizontal reference line, such as a peak GFLOP/s.
    hline_label : legend entry for ``hline``.
    title, xlabel, ylabel : figure texts; the labels default to the column names.
    spread : the columns of a whisker's low and high ends, such as the 25th and 75th
        percentiles; a row without them gets no whisker.
    flag, flag_label : a column whose true rows get a ring around their point, and
        the ring's legend entry (such as points timed while the CPUs were busy).

    Raises ValueError for a missing ``x`` or ``group`` key, or, with ``loglog``, for a
    value <= 0 (pass ``loglog=False`` for such data).
    """
    figure, axes = _new_axes(title, xlabel or x, ylabel or y)
    series = _sweep_series(points, x, y, group, spread)

    if loglog:
        values = [v for rows in series.values() for row in rows for v in row if v is not None]
        if hline is not None:
            values.append(hline)
        non_positive = [v for v in values if v <= 0]
        if non_positive:
            raise ValueError(
                f"log-log sweep plot needs positive values, got {non_positive[0]}; "
                "pass loglog=False"
            )
        axes.set_xscale("log")
        axes.set_yscale("log")

    for name, rows in series.items():
        xs, ys = [row[0] for row in rows], [row[1] for row in rows]
        (line,) = axes.plot(xs, ys, marker="o", markersize=4, label=name)
        # A point with one run has no spread to draw, and a whisker of length 0 on a log
        # axis upsets matplotlib's limits.
        whiskers = [row for row in rows if row[2] is not None and row[3] > row[2]]
        if whiskers:
            axes.errorbar(
                [row[0] for row in whiskers],
                [row[1] for row in whiskers],
                yerr=[
                    [max(row[1] - row[2], 0.0) for row in whiskers],
                    [max(row[3] - row[1], 0.0) for row in whiskers],
                ],
                fmt="none",
                ecolor=line.get_color(),
                capsize=3,
            )
    if flag is not None:
        plotted = [row for row in points if row.get(y) is not None and math.isfinite(float(row[y]))]
        flagged = [row for row in plotted if row.get(flag)]
        if flagged:
            axes.scatter(
                [float(row[x]) for row in flagged],
                [float(row[y]) for row in flagged],
                s=120,
                facecolors="none",
                edgecolors="red",
                linewidths=1.5,
                label=flag_label,
                zorder=3,
            )
    if loglog and series:
        _label_log_x_ticks(axes, sorted({row[0] for rows in series.values() for row in rows}))
    if hline is not None:
        axes.axhline(hline, color="black", linestyle="--", label=hline_label or f"{hline:g}")
    if loglog:
        axes.set_xlabel(f"{xlabel or x} (log scale)")
        _log_y_axis(axes, ylabel or y)

    if series or hline is not None:
        # Below the axes: inside, the legend can cover the peak line or the points near it.
        labels = axes.get_legend_handles_labels()[1]
        title = group if series else None
        figure.legend(loc="outside lower center", ncols=legend_columns(labels), title=title)
    if not series:
        _note_no_data(axes)
    return _save(figure, path)
