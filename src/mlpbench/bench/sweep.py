"""The sweep runner: the comparison repeated over a grid of batch sizes, widths, dtypes and threads.

Each grid point is one ``bench.compare.run_comparison`` call, so a point is timed
exactly as ``mlpbench compare`` times it: ``warmup`` untimed rounds, then
``repeats`` timed rounds, engines interleaved with a rotating start, and the clock
around each epoch's shuffle and training steps. The sweep adds three things:

- The matrix-multiply peak is measured once per (dtype, threads) pair, before the
  points of that pair, and passed to every one of them. NumPy's peak is measured
  again after the pair's last point, and a change of over 20% gets a warning.
- Points run grouped by that pair: for each dtype, for each thread count, for
  each hidden size, the batch sizes in the given order.
- With ``samples`` set, only the first ``samples`` training rows are timed. Each
  engine's median time per epoch is then also scaled linearly to the full
  training set (``estimated_full_epoch_time_s``), an estimate that ignores cache
  effects of the larger data.

An engine that fails at a point is recorded there with its error, and the sweep
goes on with the next point, where the engine is tried again. The results are one
JSON-ready dict, documented in the "sweep" section of docs/results-schema.md.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlpbench import __version__
from mlpbench.bench.compare import (
    ABOVE_PEAK_START,
    TIMING_SCOPE,
    CompareConfig,
    MeasuredPeaks,
    above_peak_warning,
    fastest_torch_run_gflops,
    is_measured_peak_warning,
    learning_warnings,
    measure_numpy_peak,
    measure_peaks,
    measured_peak_warnings,
    peak_change_warning,
    rescale_percent_of_peak,
    run_comparison,
    slowed_engine_warnings,
)
from mlpbench.bench.contention import contention, contention_warnings, cpu_sample, largest_share
from mlpbench.bench.environment import collect_environment
from mlpbench.bench.peak import PeakResult
from mlpbench.bench.stats import summarize
from mlpbench.data import Dataset, load_dataset
from mlpbench.data.sources import IDX_DATASETS
from mlpbench.engines.registry import ENGINES
from mlpbench.errors import DataError
from mlpbench.training.hyperparams import DTYPES, validate_hyperparameters

logger = logging.getLogger("mlpbench")

SCHEMA_VERSION = 1

DEFAULT_ENGINES = ("numpy", "torch")
DEFAULT_BATCH_SIZES = (16, 32, 64, 128, 256, 512, 1024)
DEFAULT_HIDDEN_SIZES = (128, 1024)
DEFAULT_DTYPES = ("float32", "float64")
DEFAULT_DATASET = "fashion-mnist"

SYNTHETIC_TRAIN_ROWS = 60_000
SYNTHETIC_TEST_ROWS = 10_000
SYNTHETIC_FEATURES = 784
SYNTHETIC_CLASSES = 10
SYNTHETIC_SEED = 0
SYNTHETIC_IMAGE_SHAPE = (28, 28)
SYNTHETIC_NAME = "synthetic"

MAX_LISTED_POINTS = 5
"""How many slowed points a warning names, the most slowed first."""

DEFAULT_TRAINING: dict[str, Any] = {
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "constant",
    "seed": 0,
}
"""Estimator settings of every point unless ``SweepConfig.training`` overrides them."""

SCALING_NOTE = (
    "estimated_full_epoch_time_s = median_epoch_time_s * n_train_full / n_train_timed: "
    "a linear estimate from the timed rows, not a measurement"
)

RunCallback = Callable[[dict[str, Any]], None]


def all_threads() -> int:
    """Return the thread count that ``all`` means: ``os.cpu_count()``, at least 1."""
    return os.cpu_count() or 1


@dataclasses.dataclass(frozen=True)
class SweepPoint:
    """One grid point: a single-hidden-layer width, a batch size, a dtype and a thread count."""

    hidden: int
    batch_size: int
    dtype: str
    threads: int

    @property
    def label(self) -> str:
        """Return a short description such as ``hidden 128, float32, 2 threads, batch 64``."""
        return (
            f"hidden {self.hidden}, {self.dtype}, {self.threads} thread(s), "
            f"batch {self.batch_size}"
        )


@dataclasses.dataclass
class SweepConfig:
    """Settings of one sweep.

    Attributes
    ----------
    engines : engine names as registered in ``engines.registry.ENGINES``, in run order.
    batch_sizes, hidden_sizes : the grid's batch sizes and single-hidden-layer widths.
    dtypes : ``"float32"`` and/or ``"float64"``.
    threads_list : BLAS and PyTorch thread counts, each >= 1.
    epochs : timed epochs per run, >= 1.
    repeats : timed rounds per point, >= 1.
    warmup : untimed rounds per point before them, >= 0.
    samples : time only the first ``samples`` training rows; None times all of them.
    training : estimator settings shared by every point, any of ``lr``, ``momentum``,
        ``weight_decay``, ``schedule`` and ``seed``; the rest come from ``DEFAULT_TRAINING``.
    device : PyTorch device of the torch engines.
    quick : whether the grid is the reduced ``--quick`` one (recorded, not acted on).
    peak_min_seconds, peak_max_seconds : time limits of each peak measurement.
    """

    engines: Sequence[str] = DEFAULT_ENGINES
    batch_sizes: Sequence[int] = DEFAULT_BATCH_SIZES
    hidden_sizes: Sequence[int] = DEFAULT_HIDDEN_SIZES
    dtypes: Sequence[str] = DEFAULT_DTYPES
    threads_list: Sequence[int] = dataclasses.field(default_factory=lambda: [1, all_threads()])
    epochs: int = 1
    repeats: int = 3
    warmup: int = 1
    samples: int | None = None
    training: dict[str, Any] = dataclasses.field(default_factory=dict)
    device: str = "cpu"
    quick: bool = False
    peak_min_seconds: float = 0.3
    peak_max_seconds: float = 3.0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        for name in ("engines", "batch_sizes", "hidden_sizes", "dtypes", "threads_list"):
            values = list(getattr(self, name))
            if not values:
                raise ValueError(f"{name} is empty; give at least one value")
            repeated = sorted({str(value) for value in values if values.count(value) > 1})
            if repeated:
                raise ValueError(f"{name} lists {', '.join(repeated)} more than once")

        unknown = [name for name in self.engines if name not in ENGINES]
        if unknown:
            raise ValueError(f"unknown engine {unknown[0]!r}; choose from {', '.join(ENGINES)}")
        bad_dtypes = [dtype for dtype in self.dtypes if dtype not in DTYPES]
        if bad_dtypes:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {bad_dtypes[0]!r}")

        for name in ("batch_sizes", "hidden_sizes", "threads_list"):
            bad = [value for value in getattr(self, name) if _not_positive_int(value)]
            if bad:
                raise ValueError(f"{name} must be integers >= 1, got {bad[0]!r}")
        if _not_positive_int(self.epochs):
            raise ValueError(f"epochs must be an integer >= 1, got {self.epochs!r}")
        if _not_positive_int(self.repeats):
            raise ValueError(f"repeats must be an integer >= 1, got {self.repeats!r}")
        if isinstance(self.warmup, bool) or not isinstance(self.warmup, int) or self.warmup < 0:
            raise ValueError(f"warmup must be an integer >= 0, got {self.warmup!r}")
        if self.samples is not None and _not_positive_int(self.samples):
            raise ValueError(f"samples must be an integer >= 1 or None, got {self.samples!r}")

        unknown_keys = sorted(set(self.training) - set(DEFAULT_TRAINING))
        if unknown_keys:
            raise ValueError(
                f"training has unknown key {unknown_keys[0]!r}; the keys are "
                f"{', '.join(DEFAULT_TRAINING)}"
            )
        training = {**DEFAULT_TRAINING, **self.training}
        validate_hyperparameters(
            hidden=list(self.hidden_sizes),
            epochs=self.epochs,
            batch_size=min(self.batch_sizes),
            lr=training["lr"],
            momentum=training["momentum"],
            weight_decay=training["weight_decay"],
            schedule=training["schedule"],
            dtype=self.dtypes[0],
            seed=training["seed"],
        )

    def points(self) -> list[SweepPoint]:
        """Return the grid in run order: dtype, then threads, then hidden size, then batch size."""
        return [
            SweepPoint(hidden=hidden, batch_size=batch_size, dtype=dtype, threads=threads)
            for dtype in self.dtypes
            for threads in self.threads_list
            for hidden in self.hidden_sizes
            for batch_size in self.batch_sizes
        ]

    def total_runs(self) -> int:
        """Return the number of runs (warm-up runs included) of the whole sweep."""
        return len(self.points()) * len(self.engines) * (self.warmup + self.repeats)


def _not_positive_int(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int) or value < 1


# ----- data -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SweepData:
    """The data set a sweep runs on, and why it is synthetic if it is.

    Attributes
    ----------
    data : the full data set, features in float32.
    requested : the ``--dataset`` value.
    fallback_reason : why the requested data set could not be loaded; None when it was.
    """

    data: Dataset
    requested: str
    fallback_reason: str | None = None

    @property
    def synthetic(self) -> bool:
        return self.fallback_reason is not None


def synthetic_dataset(seed: int = SYNTHETIC_SEED) -> Dataset:
    """Build a Fashion-MNIST-shaped data set of random images, reproducible from ``seed``.

    Each class has a random prototype image. A sample is half its class prototype
    plus half uniform noise, so the features lie in [0, 1) and the classes can be
    learned, but the content is meaningless: use it for timing only.

    Returns
    -------
    Dataset
        ``x_train`` of shape (60000, 784) and ``x_test`` of shape (10000, 784) in
        float32, labels 0..9 as int64.
    """
    rng = np.random.default_rng(seed)
    half_prototypes = 0.5 * rng.random((SYNTHETIC_CLASSES, SYNTHETIC_FEATURES), dtype=np.float32)

    def draw(rows: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, SYNTHETIC_CLASSES, size=rows, dtype=np.int64)
        features = rng.random((rows, SYNTHETIC_FEATURES), dtype=np.float32)
        features *= 0.5
        features += half_prototypes[labels]
        return features, labels

    x_train, y_train = draw(SYNTHETIC_TRAIN_ROWS)
    x_test, y_test = draw(SYNTHETIC_TEST_ROWS)
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        n_classes=SYNTHETIC_CLASSES,
        name=SYNTHETIC_NAME,
        source=(
            f"{SYNTHETIC_TRAIN_ROWS:,} + {SYNTHETIC_TEST_ROWS:,} random images of "
            f"{SYNTHETIC_FEATURES} features in [0, 1), {SYNTHETIC_CLASSES} classes, seed {seed}"
        ),
        image_shape=SYNTHETIC_IMAGE_SHAPE,
    )


def load_sweep_data(name: str, data_dir: str | None = None) -> SweepData:
    """Load the sweep's data set in float32, falling back to ``synthetic_dataset()``.

    The fallback applies only to the named IDX data sets (``mnist``,
    ``fashion-mnist``), which the sweep never downloads. When loading one raises
    DataError (its files are not found, or fail a checksum), the synthetic data
    set of the same shape is used, and the error's first line is kept as
    ``fallback_reason``. Any other name or path is loaded as ``load_dataset``
    loads it, and its errors propagate.
    """
    key = name.strip().lower().replace("_", "-")
    if key not in IDX_DATASETS:
        return SweepData(data=load_dataset(name, dtype="float32", data_dir=data_dir), requested=name)
    try:
        data = load_dataset(name, dtype="float32", data_dir=data_dir, download=False, progress=False)
    except DataError as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        # The reason is printed inside parentheses within a sentence, so its own full stop goes.
        if reason.endswith(".") and not reason.endswith(".."):
            reason = reason[:-1]
        logger.warning(
            "%s is not available (%s); the sweep uses a synthetic data set of the same shape",
            name,
            reason,
        )
        return SweepData(data=synthetic_dataset(), requested=name, fallback_reason=reason)
    return SweepData(data=data, requested=name)


def _timed_rows(data: Dataset, samples: int | None) -> int:
    n_train = len(data.y_train)
    if samples is not None and samples > n_train:
        raise ValueError(
            f"samples is {samples}, but {data.name} has only {n_train} training rows; "
            f"use --samples {n_train} or fewer"
        )
    return n_train if samples is None else samples


def timed_subset(data: Dataset, samples: int | None, dtype: str) -> Dataset:
    """Return ``data`` with only the first ``samples`` training rows, features cast to ``dtype``.

    The test set is kept whole. Raises ValueError when ``samples`` exceeds the
    training rows.
    """
    rows = _timed_rows(data, samples)
    return dataclasses.replace(
        data,
        x_train=np.ascontiguousarray(data.x_train[:rows], dtype=dtype),
        y_train=data.y_train[:rows],
        x_test=np.ascontiguousarray(data.x_test, dtype=dtype),
    )


# ----- the runner -------------------------------------------------------------------------


def run_sweep(
    sweep_data: SweepData, config: SweepConfig, *, on_run: RunCallback | None = None
) -> dict[str, Any]:
    """Measure every grid point of ``config`` and return the results dict.

    Parameters
    ----------
    sweep_data : the data set; every point trains on the first ``config.samples``
        rows of its ``x_train`` of shape (n_train, n_features).
    config : the grid, the rounds and the training settings.
    on_run : called after every run with the run's record (as ``run_comparison``
        passes it) plus ``point`` (a ``SweepPoint``) and ``done`` and ``total``
        counted over the whole sweep, for progress display.

    Returns
    -------
    dict
        The JSON-ready results described in docs/results-schema.md ("sweep").
        Engines that fail are recorded at their point; this function raises
        ValueError only for an invalid ``config`` or ``samples`` larger than the
        training set.
    """
    config.validate()
    data = sweep_data.data
    n_train_full = len(data.y_train)
    n_train_timed = _timed_rows(data, config.samples)

    total = config.total_runs()
    done = 0
    cpu_before = cpu_sample()
    peaks: dict[tuple[str, int], MeasuredPeaks] = {}
    peaks_after: dict[tuple[str, int], PeakResult] = {}
    subsets: dict[str, Dataset] = {}
    points = config.points()
    records = []

    for index, point in enumerate(points):
        if point.dtype not in subsets:
            # Points are grouped by dtype, so one cast copy of the data is kept at a time.
            subsets = {point.dtype: timed_subset(data, config.samples, point.dtype)}
        compare_config = CompareConfig(
            engines=list(config.engines),
            settings=_point_settings(point, config),
            repeats=config.repeats,
            warmup=config.warmup,
            device=config.device,
            peak_min_seconds=config.peak_min_seconds,
            peak_max_seconds=config.peak_max_seconds,
        )
        pair = (point.dtype, point.threads)
        if pair not in peaks:
            peaks[pair] = measure_peaks(compare_config)

        logger.info("point %d/%d: %s", index + 1, len(points), point.label)

        def on_point_run(record: dict[str, Any], point: SweepPoint = point) -> None:
            nonlocal done
            done += 1
            if on_run is not None:
                on_run({**record, "point": point, "done": done, "total": total})

        comparison = run_comparison(
            subsets[point.dtype], compare_config, on_run=on_point_run, peaks=peaks[pair]
        )
        records.append(_point_record(point, comparison.results, n_train_full))
        following = points[index + 1] if index + 1 < len(points) else None
        if following is None or (following.dtype, following.threads) != pair:
            # Points are grouped by pair, so this pair is done: measure again to notice
            # a machine whose speed changed while its points ran. As in run_comparison,
            # a higher reading becomes the yardstick, since a disturbed one can only read low.
            peaks_after[pair] = measure_numpy_peak(compare_config, point.dtype, point.threads)
            pair_records = [record for record in records if (record["dtype"], record["threads"]) == pair]
            if peaks_after[pair].gflops > peaks[pair].numpy.gflops:
                for record in pair_records:
                    _use_peak(record, peaks_after[pair].gflops)
            _refresh_peak_warnings(pair_records, peaks[pair], peaks_after[pair], config.device)

    cpu_contention = contention(cpu_before, cpu_sample())
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "sweep",
        "mlpbench_version": __version__,
        "config": _config_record(config, n_train_timed, n_train_full),
        "dataset": _dataset_record(sweep_data),
        "environment": collect_environment(max(config.threads_list)),
        "peaks": [
            {
                "dtype": dtype,
                "threads": threads,
                "numpy": measured.numpy.to_dict(),
                "numpy_after_points": peaks_after[(dtype, threads)].to_dict(),
                "torch": measured.torch,
            }
            for (dtype, threads), measured in peaks.items()
        ],
        "cpu_contention": cpu_contention,
        "points": records,
        "warnings": (
            _warnings(sweep_data, records, config, peaks)
            + _pair_peak_warnings(peaks, peaks_after, records, config.device)
            + contention_warnings(cpu_contention, measures_peak=True)
        ),
    }


def _point_settings(point: SweepPoint, config: SweepConfig) -> dict[str, Any]:
    training = {**DEFAULT_TRAINING, **config.training}
    return {
        "hidden": [point.hidden],
        "epochs": config.epochs,
        "batch_size": point.batch_size,
        "dtype": point.dtype,
        "threads": point.threads,
        **training,
    }


def _point_record(
    point: SweepPoint, results: dict[str, Any], n_train_full: int
) -> dict[str, Any]:
    """Condense one ``run_comparison`` result into the sweep's record of the point."""
    n_timed = results["config"]["dataset"]["n_train"]
    engines = {}
    for name, entry in results["engines"].items():
        summary = entry["summary"]
        record = {
            key: entry[key]
            for key in ("status", "error", "error_type", "notes", "runs", "warmup_runs", "summary")
        }
        record.update(
            median_epoch_time_s=None,
            estimated_full_epoch_time_s=None,
            median_gflops=None,
            median_percent_of_peak=None,
        )
        if summary is not None:
            median = summary["epoch_time_s"]["median"]
            record.update(
                median_epoch_time_s=median,
                estimated_full_epoch_time_s=median * n_train_full / n_timed,
                median_gflops=summary["gflops"]["median"],
                median_percent_of_peak=summary["percent_of_peak"]["median"],
            )
        engines[name] = record
    return {
        "hidden": point.hidden,
        "batch_size": point.batch_size,
        "dtype": point.dtype,
        "threads": point.threads,
        "layer_sizes": results["config"]["layer_sizes"],
        "flops_per_epoch": results["config"]["flops_per_epoch"],
        "n_train_timed": n_timed,
        "peak_gflops": results["peak"]["gflops"],
        "engines": engines,
        "parity": results["parity"],
        "cpu_contention": results["cpu_contention"],
        "warnings": results["warnings"],
    }


def _config_record(config: SweepConfig, n_train_timed: int, n_train_full: int) -> dict[str, Any]:
    training = {**DEFAULT_TRAINING, **config.training}
    return {
        "engines": list(config.engines),
        "batch_sizes": list(config.batch_sizes),
        "hidden_sizes": list(config.hidden_sizes),
        "dtypes": list(config.dtypes),
        "threads_list": list(config.threads_list),
        "epochs": config.epochs,
        "repeats": config.repeats,
        "warmup": config.warmup,
        "samples": config.samples,
        "n_train_timed": n_train_timed,
        "n_train_full": n_train_full,
        "quick": config.quick,
        "device": config.device,
        "training": training,
        "order": (
            "points grouped by dtype, then threads, then hidden size, then batch size; the "
            "peaks are measured for each (dtype, threads) pair before its points, and NumPy's "
            "again after them; within a point, round g starts with engine g mod n, warm-up "
            "rounds counted first"
        ),
        "timing_scope": TIMING_SCOPE,
        "scaling_note": SCALING_NOTE,
    }


def _dataset_record(sweep_data: SweepData) -> dict[str, Any]:
    data = sweep_data.data
    return {
        "requested": sweep_data.requested,
        "name": data.name,
        "source": data.source,
        "synthetic": sweep_data.synthetic,
        "fallback_reason": sweep_data.fallback_reason,
        "n_train": int(len(data.y_train)),
        "n_test": int(len(data.y_test)),
        "n_features": int(data.x_train.shape[1]),
        "n_classes": int(data.n_classes),
    }


def _warnings(
    sweep_data: SweepData,
    records: list[dict[str, Any]],
    config: SweepConfig,
    peaks: dict[tuple[str, int], MeasuredPeaks],
) -> list[str]:
    messages = []
    if sweep_data.synthetic:
        messages.append(
            f"{sweep_data.requested} was not available ({sweep_data.fallback_reason}); "
            "the sweep ran on synthetic data of the same shape"
        )
    n_timed = records[0]["n_train_timed"] if records else 0
    too_large = [size for size in config.batch_sizes if size > n_timed]
    if too_large:
        messages.append(
            f"batch size(s) {', '.join(map(str, too_large))} exceed the {n_timed} timed rows, "
            "so each epoch there is one step over all rows"
        )
    above_peak = []
    not_learned = []
    busy = []
    for record in records:
        point = SweepPoint(record["hidden"], record["batch_size"], record["dtype"], record["threads"])
        # Short sweep points often end before the network learns, a busy machine
        # disturbs many points, and one disturbed peak puts every point of its pair
        # above it, so those warnings are counted in one line each below.
        # Warnings about a pair's peaks are given once per pair by _pair_peak_warnings.
        learning = learning_warnings(record["engines"])
        contended = contention_warnings(record["cpu_contention"], measures_peak=True)
        # The sweep table marks each engine's slowed runs, as these warnings do, and the
        # busy line below counts the points, so they are left out. results.csv gives each run's share.
        slowed_engines = slowed_engine_warnings(record["engines"])
        messages += [
            f"{point.label}: {message}"
            for message in record["warnings"]
            if message not in learning
            and message not in contended
            and message not in slowed_engines
            and not is_measured_peak_warning(message)
            and not message.startswith(ABOVE_PEAK_START)
        ]
        not_learned += [f"{point.label}: {message}" for message in learning]
        if contended:
            busy.append((largest_share(record["cpu_contention"]), point.label))
        for name, entry in record["engines"].items():
            shares = [run.get("percent_of_peak") for run in entry["runs"]]
            percent = max((share for share in shares if share is not None), default=None)
            if percent is not None and percent > 100:
                above_peak.append((percent, f"{name} at {point.label}"))
    if not_learned:
        messages.append(
            f"{len(not_learned)} of the {sum(len(record['engines']) for record in records)} results "
            f"(one per engine and point) did not learn, first {not_learned[0]}. Their times are "
            "valid, but with this few rows and epochs their accuracies mean nothing"
        )
    if busy:
        busy.sort(key=lambda item: item[0], reverse=True)
        listed = "; ".join(f"{where} at {share:.0%}" for share, where in busy[:MAX_LISTED_POINTS])
        more = f" and {len(busy) - MAX_LISTED_POINTS} more" if len(busy) > MAX_LISTED_POINTS else ""
        messages.append(
            f"{len(busy)} point(s) ran while the process waited for a CPU or the hypervisor held "
            f"CPU time back: {listed}{more}. Their timings are probably slowed (the table marks "
            "them, and the plots ring them), so rerun them on a quiet machine or with fewer threads"
        )
    if above_peak:
        percent, where = max(above_peak)
        messages.append(
            f"{len(above_peak)} result(s) exceed 100% of the measured NumPy peak in at least one "
            f"timed run (highest: {percent:.0f}%, {where}). Either other processes slowed the "
            "peak measurement (rerun on a quiet machine), or the engine's library multiplies "
            "faster than NumPy's BLAS (compare the PyTorch peak)"
        )
    return messages


def _use_peak(record: dict[str, Any], peak_gflops: float) -> None:
    """Recompute a point record's "% of peak" figures against ``peak_gflops``."""
    factor = record["peak_gflops"] / peak_gflops
    record["peak_gflops"] = peak_gflops
    rescale_percent_of_peak(record["engines"], factor)
    for entry in record["engines"].values():
        summary = entry["summary"]
        if summary is not None:
            shares = [value * factor for value in summary["percent_of_peak"]["values"]]
            summary["percent_of_peak"] = summarize(shares)
            entry["median_percent_of_peak"] = summary["percent_of_peak"]["median"]
    # The point's warning about runs above the peak was judged against the old peak.
    warnings = [message for message in record["warnings"] if not message.startswith(ABOVE_PEAK_START)]
    above = above_peak_warning(record["engines"])
    record["warnings"] = warnings + ([above] if above is not None else [])


def _refresh_peak_warnings(
    records: list[dict[str, Any]], measured: MeasuredPeaks, after: PeakResult, device: str
) -> None:
    """Replace the peak warnings of one pair's point records with ones that know the reading after them.

    Each point's comparison judged the peak before the pair's reading after its points
    existed, so its warnings name a reading that may since have been replaced.
    """
    fastest = max(
        (gflops for record in records if (gflops := fastest_torch_run_gflops(record["engines"])) is not None),
        default=None,
    )
    current = measured_peak_warnings(measured, device, fastest, after)
    for record in records:
        other_warnings = [message for message in record["warnings"] if not is_measured_peak_warning(message)]
        record["warnings"] = other_warnings + current


def _pair_peak_warnings(
    peaks: dict[tuple[str, int], MeasuredPeaks],
    peaks_after: dict[tuple[str, int], PeakResult],
    records: list[dict[str, Any]],
    device: str,
) -> list[str]:
    """Return the warnings about each (dtype, threads) pair's peaks, once per pair."""
    messages = []
    for (dtype, threads), measured in peaks.items():
        pair = f"{dtype} on {threads} thread(s)"
        torch_runs = [
            fastest_torch_run_gflops(record["engines"])
            for record in records
            if (record["dtype"], record["threads"]) == (dtype, threads)
        ]
        fastest = max((gflops for gflops in torch_runs if gflops is not None), default=None)
        after = peaks_after[(dtype, threads)]
        warnings = measured_peak_warnings(measured, device, fastest, after)
        messages += [f"{pair}: {message}" for message in warnings]
        change = peak_change_warning(measured.numpy, after)
        if change is not None:
            messages.append(f"{pair}: {change}")
    return messages
