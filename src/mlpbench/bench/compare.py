"""The compare runner: train every engine several times on the same data and collect the figures.

This module runs and measures; ``bench.report`` turns the collected results into
a table, files and plots. The results are one JSON-ready dict, documented in
docs/results-schema.md.

Procedure
---------
1. Measure the NumPy matrix-multiply peak (GFLOP/s) in the run's dtype and thread
   count, the yardstick for "% of peak" unless the reading after the runs is higher.
   PyTorch's peak is measured too when a torch engine takes part, for reference.
2. Run ``warmup`` untimed rounds, then ``repeats`` timed rounds. Every round trains
   each engine once from scratch with the same settings and seed. Round ``g``
   (counting warm-up rounds first, from 0) starts with engine ``g mod n`` of the
   ``n`` engines and continues in list order, wrapping around. So no engine always
   runs first, and a slowdown of the machine spreads over all engines alike.
3. Per run: training wall time (the sum of the per-epoch clocks, which cover each
   epoch's shuffle and training steps, see ``TIMING_SCOPE``), throughput, achieved
   GFLOP/s from ``bench.flops.epoch_flops``, the final training loss, test loss and
   accuracy, and the process peak RSS.
4. Parity: the parameters of the last timed ``numpy`` and ``torch`` runs are
   compared (see ``parameter_difference``).

An engine that raises (while being built, trained or evaluated) is marked
``failed`` with its error, its remaining runs are skipped, and the others go on.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpbench import __version__
from mlpbench.bench.contention import (
    WAIT_SHARE_WARNING,
    contention,
    contention_label,
    contention_share,
    contention_warnings,
    cpu_sample,
    largest_share,
    max_run_contention,
)
from mlpbench.bench.environment import collect_environment
from mlpbench.bench.flops import epoch_flops
from mlpbench.bench.memory import peak_rss_bytes
from mlpbench.bench.peak import PeakResult, measure_matmul_peak, measure_torch_matmul_peak
from mlpbench.bench.stats import later_epoch_slowdown, spread_warning, summarize
from mlpbench.engines.base import default_settings
from mlpbench.engines.registry import create_engine, engine_class
from mlpbench.errors import TrainingDivergedError
from mlpbench.training.chance import learning_warning, smaller_lr_hint
from mlpbench.training.init import hidden_sizes, layer_sizes

if TYPE_CHECKING:
    from mlpbench.data import Dataset
    from mlpbench.engines.base import MLPEstimator, Params

PEAK_SIZE = 1024
"""Matrix side the peak is measured on (``measure_matmul_peak`` may reduce it)."""

logger = logging.getLogger("mlpbench")

SCHEMA_VERSION = 1
DEFAULT_ENGINES = ("numpy", "torch", "torch-dataloader", "sklearn")
REFERENCE_ENGINE = "numpy"
"""Engine that "speed vs numpy" divides by."""
PARITY_ENGINES = ("numpy", "torch")
"""The engines that share initial parameters and batch order, so their parameters must agree."""
TORCH_ENGINES = ("torch", "torch-dataloader")

TIMING_SCOPE = (
    "Times cover each epoch's training (time.perf_counter around it): drawing the epoch's "
    "shuffle and the steps. torch-dataloader's time also covers its DataLoader's per-row "
    "indexing and collation, the cost that engine exists to show. sklearn's covers its "
    "partial_fit call, which adds scikit-learn's input checks and label encoding, and on "
    "the first epoch of a run the drawing of its initial parameters. Loading the data, "
    "converting it to the engine's format, building the model, and evaluating on the "
    "test set are not timed."
)
RSS_NOTE = (
    "peak_rss_bytes is the peak resident set size of the whole process, read after the "
    "run. It is cumulative: it includes the data, every engine run before it in the same "
    "process, and the imported libraries, so it bounds the run's memory from above and "
    "does not isolate one engine."
)
PARITY_METRIC = (
    "max over parameter arrays p (each layer's W and b) of "
    "||p_numpy - p_torch||_F / ||p_torch||_F, in float64, after the last timed run of each; "
    "an array whose torch norm is 0 contributes the absolute norm ||p_numpy - p_torch||_F"
)

RunCallback = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class CompareConfig:
    """Settings of one comparison.

    Attributes
    ----------
    engines : engine names as registered in ``engines.registry.ENGINES``, in run order.
    settings : estimator keyword arguments shared by every engine (``cli.options.model_settings``);
        ``threads`` is also the thread count of the peak measurement.
    repeats : timed rounds, >= 1.
    warmup : untimed rounds before them, >= 0.
    device : PyTorch device for the torch engines; the others ignore it.
    peak_min_seconds, peak_max_seconds : time limits of each peak measurement.
    """

    engines: Sequence[str] = DEFAULT_ENGINES
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    repeats: int = 3
    warmup: int = 1
    device: str = "cpu"
    peak_min_seconds: float = 0.3
    peak_max_seconds: float = 3.0

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not self.engines:
            raise ValueError("engines is empty; name at least one engine")
        duplicates = sorted({name for name in self.engines if list(self.engines).count(name) > 1})
        if duplicates:
            raise ValueError(f"engines lists {', '.join(duplicates)} more than once")
        if self.repeats < 1:
            raise ValueError(f"repeats must be >= 1, got {self.repeats}")
        if self.warmup < 0:
            raise ValueError(f"warmup must be >= 0, got {self.warmup}")


@dataclasses.dataclass
class Comparison:
    """The outcome of ``run_comparison``.

    Attributes
    ----------
    results : the JSON-ready results dict (schema in docs/results-schema.md).
    models : the model of each engine's last successful run, for saving parameters.
    """

    results: dict[str, Any]
    models: dict[str, MLPEstimator]

    @property
    def failed_engines(self) -> list[str]:
        """Return the names of the engines whose status is ``failed``."""
        return [name for name, engine in self.results["engines"].items() if engine["status"] == "failed"]


@dataclasses.dataclass(frozen=True)
class MeasuredPeaks:
    """The matrix-multiply peaks of one (dtype, threads) pair.

    Attributes
    ----------
    numpy : NumPy's peak before the runs, the yardstick for "% of peak" unless the
        reading after the runs is higher.
    torch : ``PeakResult.to_dict()`` of PyTorch's peak, for reference; None when no
        torch engine takes part or PyTorch is not installed.
    """

    numpy: PeakResult
    torch: dict[str, Any] | None


def measure_peaks(config: CompareConfig) -> MeasuredPeaks:
    """Measure the peaks in ``config.settings``' dtype and thread count (step 1 of the procedure).

    PyTorch's peak is measured only when a torch engine is among ``config.engines``.
    """
    threads = config.settings.get("threads")
    dtype = config.settings.get("dtype", "float32")
    logger.info("measuring the %s matrix-multiply peak on %s thread(s)", dtype, threads)
    peak = measure_numpy_peak(config, dtype, threads)
    peak_torch = _measure_torch_peak(config, dtype, threads)
    logger.info("peak: %.1f GFLOP/s (%dx%d %s)", peak.gflops, peak.size, peak.size, dtype)
    return MeasuredPeaks(numpy=peak, torch=peak_torch)


def round_order(engines: Sequence[str], round_index: int) -> list[str]:
    """Return the engines in the order round ``round_index`` runs them (rotated by the index)."""
    shift = round_index % len(engines)
    return [*engines[shift:], *engines[:shift]]


def parameter_difference(candidate: Params, reference: Params) -> dict[str, Any]:
    """Compare two parameter lists array by array, as ``PARITY_METRIC`` defines.

    Parameters
    ----------
    candidate, reference : one (W, b) pair per layer, W of shape (fan_in, fan_out).

    Returns
    -------
    dict
        ``max_relative_difference`` (float) and ``arrays``, one entry per array with
        ``name`` (``W0``, ``b0``, ...), ``relative_difference`` and ``absolute_difference``.
        Raises ValueError when the layer counts or shapes differ.
    """
    if len(candidate) != len(reference):
        raise ValueError(f"cannot compare {len(candidate)} layers with {len(reference)} layers")
    arrays = []
    for index, (pair, reference_pair) in enumerate(zip(candidate, reference, strict=True)):
        for kind, value, expected in zip("Wb", pair, reference_pair, strict=True):
            if value.shape != expected.shape:
                raise ValueError(
                    f"{kind}{index} has shape {value.shape} in one model and {expected.shape} in the other"
                )
            value64 = np.asarray(value, dtype=np.float64)
            expected64 = np.asarray(expected, dtype=np.float64)
            absolute = float(np.linalg.norm(value64 - expected64))
            norm = float(np.linalg.norm(expected64))
            relative = absolute / norm if norm > 0 else absolute
            arrays.append(
                {
                    "name": f"{kind}{index}",
                    "relative_difference": relative,
                    "absolute_difference": absolute,
                }
            )
    return {
        "max_relative_difference": max(entry["relative_difference"] for entry in arrays),
        "arrays": arrays,
    }


def run_comparison(
    data: Dataset,
    config: CompareConfig,
    *,
    on_run: RunCallback | None = None,
    peaks: MeasuredPeaks | None = None,
) -> Comparison:
    """Measure the peak, run every engine ``warmup + repeats`` times and collect the results.

    Parameters
    ----------
    data : the data set; every engine trains on ``x_train`` of shape
        (n_train, n_features) and is evaluated on ``x_test``.
    config : engines, shared settings, rounds.
    on_run : called after every run (timed or not, successful or not) with its
        record plus ``engine``, ``done`` and ``total`` keys, for progress display.
        A run skipped because its engine failed earlier has status ``skipped``.
    peaks : peaks measured earlier with the same dtype and threads (``measure_peaks``);
        None measures them now. A sweep passes them to measure each pair once.

    Returns
    -------
    Comparison
        Engines that failed are in the results with status ``failed``. This
        function raises ValueError only for an invalid ``config``, or for ``peaks``
        of another dtype or thread count.

    Before each run the garbage collector runs, and ``gc.freeze()`` moves the
    survivors to the permanent generation, so that collections during a timed run do
    not scan them. ``gc.unfreeze()`` is called at the end, which also unfreezes objects
    that a caller froze.
    """
    config.validate()
    # The defaults fill what the caller left out, so that the FLOP count, the notes and
    # the record describe the settings the engines train with.
    settings = default_settings() | dict(config.settings)
    threads = settings["threads"]
    dtype = settings["dtype"]
    sizes = layer_sizes(data.x_train.shape[1], settings["hidden"], data.n_classes)
    flops_per_epoch = epoch_flops(
        sizes,
        len(data.y_train),
        settings["batch_size"],
        momentum=settings["momentum"] > 0,
        weight_decay=settings["weight_decay"] > 0,
    )

    # CPU counters around everything this call times, peaks included.
    cpu_before = cpu_sample()
    measure_after = peaks is None
    if peaks is None:
        peaks = measure_peaks(config)
    elif (peaks.numpy.dtype, peaks.numpy.threads) != (dtype, threads):
        raise ValueError(
            f"peaks were measured in {peaks.numpy.dtype} on {peaks.numpy.threads} thread(s), "
            f"but the run uses {dtype} on {threads} thread(s); measure them with these settings"
        )
    peak, peak_torch = peaks.numpy, peaks.torch

    engines: dict[str, dict[str, Any]] = {name: _new_engine_entry(name, settings) for name in config.engines}
    models: dict[str, MLPEstimator] = {}
    context = _RunContext(data, settings, config.device, flops_per_epoch, peak.gflops)

    try:
        _run_rounds(context, config, engines, models, on_run)
    finally:
        # Objects frozen by _RunContext.run become collectable again.
        gc.unfreeze()

    # Measured again after the runs, so that a machine whose speed changed during them
    # is noticed. A peak is a best case, so a higher reading after the runs means the
    # first one was disturbed, and "% of peak" then rests on the higher one.
    peak_after = measure_numpy_peak(config, dtype, threads) if measure_after else None
    peak_used = peak.gflops
    if peak_after is not None and peak_after.gflops > peak.gflops:
        peak_used = peak_after.gflops
        rescale_percent_of_peak(engines, peak.gflops / peak_used)
    cpu_contention = contention(cpu_before, cpu_sample())
    # Unmeasured waiting counts as busy: a slowdown is put down to the training only on
    # a machine known to be quiet.
    busy = cpu_contention is None or largest_share(cpu_contention) > WAIT_SHARE_WARNING
    _summarize_engines(engines, data, settings, busy=busy)
    parity = _parity(models, engines, data)
    results = {
        "schema_version": SCHEMA_VERSION,
        "kind": "compare",
        "mlpbench_version": __version__,
        "config": _config_record(config, settings, data, sizes, flops_per_epoch),
        "environment": collect_environment(threads),
        "peak": peak.to_dict(),
        "peak_after_runs": peak_after.to_dict() if peak_after is not None else None,
        "peak_used_gflops": peak_used,
        "peak_torch": peak_torch,
        "cpu_contention": cpu_contention,
        "engines": engines,
        "parity": parity,
        "warnings": (
            _warnings(engines)
            + learning_warnings(engines)
            + _peak_warnings(peaks, engines, peak_after, config.device)
            + _parity_warnings(parity, dtype)
            + contention_warnings(cpu_contention, measures_peak=True)
            + slowed_engine_warnings(engines)
        ),
    }
    return Comparison(results=results, models=models)


def rescale_percent_of_peak(engines: dict[str, dict[str, Any]], factor: float) -> None:
    """Multiply every run's ``percent_of_peak`` by ``factor``, for a new yardstick."""
    for entry in engines.values():
        for run in entry["runs"] + entry["warmup_runs"]:
            if run.get("percent_of_peak") is not None:
                run["percent_of_peak"] *= factor


# ----- one run ----------------------------------------------------------------------------


@dataclasses.dataclass
class _RunContext:
    data: Dataset
    settings: dict[str, Any]
    device: str
    flops_per_epoch: int
    peak_gflops: float

    def run(self, name: str) -> tuple[dict[str, Any], MLPEstimator | None]:
        """Train and evaluate one fresh model; return its record and the model (None on failure)."""
        # Collect the previous run's garbage now, not inside this run's clock. Freezing
        # the survivors (imported modules, the data) keeps later collections short.
        gc.collect()
        gc.freeze()
        try:
            model = create_engine(name, device=self.device, **self.settings)
            cpu_before = cpu_sample()
            model.fit(self.data.x_train, self.data.y_train, n_classes=self.data.n_classes)
            cpu_contention = contention(cpu_before, cpu_sample())
            metrics = model.evaluate(self.data.x_test, self.data.y_test)
        # Any exception of one engine (a missing module, a bug, a diverged run) is
        # reported in its row so that the other engines still run; KeyboardInterrupt
        # is not an Exception and still stops the whole comparison.
        except Exception as error:
            if isinstance(error, TrainingDivergedError):
                error = command_line_divergence(error, name, self.settings)
            # The problem alone: the warnings after the results repeat it with its fix.
            problem = error.problem if isinstance(error, TrainingDivergedError) else str(error)
            kind = type(error).__name__
            logger.error("engine %s failed: %s: %s; it is not run again", name, kind, problem)
            logger.debug("traceback of the %s failure", name, exc_info=True)
            return _failed_record(error), None
        return self._record(model, metrics, cpu_contention), model

    def _record(
        self, model: MLPEstimator, metrics: dict[str, float], cpu_contention: dict[str, Any] | None
    ) -> dict[str, Any]:
        history = [dict(entry) for entry in model.history_]
        epoch_times = [float(entry["time_s"]) for entry in history]
        train_time = math.fsum(epoch_times)
        n_epochs = len(history)
        seconds = max(train_time, 1e-12)
        gflops = self.flops_per_epoch * n_epochs / seconds / 1e9
        return {
            "status": "ok",
            "error": None,
            "error_type": None,
            "epochs": n_epochs,
            "train_time_s": train_time,
            "epoch_times_s": epoch_times,
            "samples_per_s": len(self.data.y_train) * n_epochs / seconds,
            "gflops": gflops,
            "percent_of_peak": 100.0 * gflops / self.peak_gflops,
            "final_train_loss": float(history[-1]["train_loss"]) if history else None,
            "test_loss": float(metrics["loss"]),
            "test_accuracy": float(metrics["accuracy"]),
            "peak_rss_bytes": peak_rss_bytes(),
            # Measured around fit, so the set-up before the first epoch counts too.
            "cpu_contention": cpu_contention,
            "history": history,
        }


def _run_rounds(
    context: _RunContext,
    config: CompareConfig,
    engines: dict[str, dict[str, Any]],
    models: dict[str, MLPEstimator],
    on_run: RunCallback | None,
) -> None:
    """Run every round, appending each run's record to ``engines`` and keeping the last models."""
    total = (config.warmup + config.repeats) * len(config.engines)
    done = 0
    for round_index in range(config.warmup + config.repeats):
        warmup = round_index < config.warmup
        for position, name in enumerate(round_order(config.engines, round_index)):
            entry = engines[name]
            done += 1
            if entry["status"] == "failed":
                if on_run is not None:
                    on_run({"status": "skipped", "engine": name, "done": done, "total": total})
                continue
            record, model = context.run(name)
            record.update(
                round=round_index,
                repeat=None if warmup else round_index - config.warmup,
                position=position,
                warmup=warmup,
            )
            (entry["warmup_runs"] if warmup else entry["runs"]).append(record)
            if record["status"] == "failed":
                entry["status"] = "failed"
                entry["error"] = record["error"]
                entry["error_type"] = record["error_type"]
            elif model is not None:
                models[name] = model
            if on_run is not None:
                on_run({**record, "engine": name, "done": done, "total": total})


def command_line_divergence(
    error: TrainingDivergedError, name: str, settings: dict[str, Any]
) -> TrainingDivergedError:
    """Return ``error`` with the advice that train gives: the --lr flag and a value to try.

    The engine's own advice is written for Python and the command line alike.
    """
    default_lr = engine_class(name)().lr
    lr = settings.get("lr", default_lr)
    return TrainingDivergedError(error.problem, f"try a smaller --lr ({smaller_lr_hint(lr, default_lr)})")


def _failed_record(error: Exception) -> dict[str, Any]:
    return {
        "status": "failed",
        "error": str(error) or type(error).__name__,
        "error_type": type(error).__name__,
        "peak_rss_bytes": peak_rss_bytes(),
    }


def slowed_engine_warnings(engines: dict[str, dict[str, Any]]) -> list[str]:
    """Warn about each engine whose timed runs lost CPU time (waiting or steal) above the warning level."""
    messages = []
    for name, entry in engines.items():
        label = contention_label(max_run_contention(entry["runs"]))
        if label is not None:
            messages.append(
                f"{name}: a timed run's threads lost CPU time ({label}, marked in the table), so its "
                "timings are probably slower than on a quiet machine; stop other work or use fewer "
                "--threads, and rerun"
            )
    return messages


def measure_numpy_peak(config: CompareConfig, dtype: str, threads: int | None) -> PeakResult:
    """Measure NumPy's matmul peak in ``dtype`` on ``threads`` within ``config``'s time limits."""
    return measure_matmul_peak(
        dtype, threads, min_seconds=config.peak_min_seconds, max_seconds=config.peak_max_seconds
    )


def _measure_torch_peak(config: CompareConfig, dtype: str, threads: int | None) -> dict[str, Any] | None:
    if not any(name in TORCH_ENGINES for name in config.engines):
        return None
    try:
        result = measure_torch_matmul_peak(
            dtype, threads, min_seconds=config.peak_min_seconds, max_seconds=config.peak_max_seconds
        )
    except ImportError as error:
        logger.warning("PyTorch matrix-multiply peak not measured: %s", error)
        return None
    return result.to_dict()


# ----- results assembly -------------------------------------------------------------------


def _new_engine_entry(name: str, settings: dict[str, Any]) -> dict[str, Any]:
    notes: list[str] = []
    if name == "sklearn":
        from mlpbench.engines.sklearn_engine import SklearnMLP

        notes = SklearnMLP.notes(settings["schedule"], settings["weight_decay"], settings["momentum"])
    elif name == "torch-dataloader":
        notes = [
            "torch-dataloader shares the initial parameters of numpy and torch but shuffles "
            "with its own DataLoader generator, so its parameters are not compared."
        ]
        if settings["momentum"] > 0:
            notes.append(
                "torch-dataloader, a textbook loop, keeps momentum values that decay into the "
                "subnormal range, which numpy and torch set to 0."
            )
    return {
        "status": "ok",
        "error": None,
        "error_type": None,
        "notes": notes,
        "parameter_file": None,
        "parameter_file_note": None,
        "runs": [],
        "warmup_runs": [],
        "summary": None,
    }


def _summarize_engines(
    engines: dict[str, dict[str, Any]], data: Dataset, settings: dict[str, Any], *, busy: bool = False
) -> None:
    """Add each engine's ``summary``.

    With ``busy`` (the process waited for CPUs) slow epochs are put down to the machine,
    never to the training.
    """
    for name, entry in engines.items():
        if entry["status"] != "ok" or not entry["runs"]:
            continue
        runs = entry["runs"]
        epoch_times = [seconds for run in runs for seconds in run["epoch_times_s"]]
        summary = {
            key: summarize([run[key] for run in runs])
            for key in (
                "train_time_s",
                "samples_per_s",
                "gflops",
                "percent_of_peak",
                "final_train_loss",
                "test_loss",
                "test_accuracy",
            )
        }
        summary["epoch_time_s"] = summarize(epoch_times)
        summary["peak_rss_bytes"] = max(run["peak_rss_bytes"] for run in runs)
        summary["cpu_contention_share"] = contention_share(max_run_contention(runs))
        # On a busy machine a slowdown after each run's first epoch may be chance.
        slowdown = None if busy else later_epoch_slowdown([run["epoch_times_s"] for run in runs])
        summary["later_epoch_slowdown"] = slowdown
        summary["spread_warning"] = spread_warning(summary["epoch_time_s"], slowdown=slowdown)
        default_lr = engine_class(name)().lr
        warning = learning_warning(
            summary["final_train_loss"]["median"],
            data.y_train,
            summary["test_accuracy"]["median"],
            data.y_test,
            settings.get("lr", default_lr),
            default_lr,
        )
        summary["learned"] = warning is None
        summary["learning_warning"] = warning
        entry["summary"] = summary

    reference = engines.get(REFERENCE_ENGINE)
    reference_time = None
    if reference is not None and reference["summary"] is not None:
        reference_time = reference["summary"]["epoch_time_s"]["median"]
    for entry in engines.values():
        if entry["summary"] is not None:
            own = entry["summary"]["epoch_time_s"]["median"]
            speed = reference_time / own if reference_time is not None and own > 0 else None
            entry["summary"]["speed_vs_numpy"] = speed


PARITY_AGREEMENT_WARNING = {"float32": 0.90, "float64": 0.99}
"""Below this share of equal test predictions, compare warns about the parity gap.

float32 is allowed more because rounding alone moves the engines apart, by an amount
that depends on the BLAS kernels. After two Fashion-MNIST epochs at batch 64 and the
default settings, 1.4% of test predictions differed on a host where OpenBLAS used its
Haswell kernels, and 5.9% on one where it used its SkylakeX kernels. In float64 the
engines agree to about 1e-15 on both.
"""


def _parity(models: dict[str, MLPEstimator], engines: dict[str, Any], data: Dataset) -> dict[str, Any]:
    parity: dict[str, Any] = {
        "engines": list(PARITY_ENGINES),
        "metric": PARITY_METRIC,
        "status": "unavailable",
        "reason": None,
        "max_relative_difference": None,
        "arrays": [],
        "test_prediction_agreement": None,
    }
    candidate_name, reference_name = PARITY_ENGINES
    not_selected = [name for name in PARITY_ENGINES if name not in engines]
    if not_selected:
        parity["reason"] = f"{' and '.join(not_selected)} not among the engines run"
        return parity
    failed = [name for name in PARITY_ENGINES if name not in models or engines[name]["status"] != "ok"]
    if failed:
        parity["reason"] = f"{' and '.join(failed)} failed"
        return parity
    candidate, reference = models[candidate_name], models[reference_name]
    parity.update(parameter_difference(candidate.get_parameters(), reference.get_parameters()))
    agreement = np.mean(candidate.predict(data.x_test) == reference.predict(data.x_test))
    parity["test_prediction_agreement"] = float(agreement)
    parity["status"] = "ok"
    return parity


def _parity_warnings(parity: dict[str, Any], dtype: str) -> list[str]:
    """Warn when numpy and torch end far apart, which looks like a bug but rarely is one."""
    if parity["status"] != "ok" or parity["test_prediction_agreement"] >= PARITY_AGREEMENT_WARNING[dtype]:
        return []
    if dtype == "float32":
        cause = (
            "both run the same steps, but the two libraries round float32 differently and the "
            "gap grows with every step, faster at large learning rates; rerun with --dtype "
            "float64 to check that the engines agree"
        )
    else:
        cause = (
            "in float64 a gap this large means that training is unstable; a smaller --lr "
            "usually brings them together"
        )
    return [
        f"numpy and torch predict the same test class for only "
        f"{parity['test_prediction_agreement']:.1%} of samples (parameters differ by up to "
        f"{parity['max_relative_difference']:.2g}); {cause}"
    ]


def learning_warnings(engines: dict[str, dict[str, Any]]) -> list[str]:
    """Return one warning per engine whose summary says it did not learn, prefixed with its name."""
    return [
        f"{name}: {entry['summary']['learning_warning']}"
        for name, entry in engines.items()
        if entry.get("summary") and entry["summary"].get("learning_warning")
    ]


def _warnings(engines: dict[str, dict[str, Any]]) -> list[str]:
    messages = []
    for name, entry in engines.items():
        if entry["status"] == "failed":
            messages.append(f"{name} failed: {entry['error']}")
        elif entry["summary"] is not None and entry["summary"]["spread_warning"]:
            messages.append(f"{name}: {entry['summary']['spread_warning']}")
    return messages


PEAK_DRIFT_WARNING = 0.2
"""Change of the matmul peak after the runs, relative to the peak before them, that gets a warning."""

TORCH_PEAK_SHORTFALL = 0.5
"""Fraction of NumPy's peak below which PyTorch's peak gets a warning."""


def peak_change_warning(before: PeakResult, after: PeakResult) -> str | None:
    """Return a warning when the peak after some runs differs from the one before by too much.

    The warning names the higher reading, which compare and sweep divide by.
    """
    change = abs(after.gflops - before.gflops) / before.gflops
    if change <= PEAK_DRIFT_WARNING:
        return None
    return (
        f"the matmul peak was {before.gflops:.3g} GFLOP/s before the runs{_shrunk_note(before)} and "
        f"{after.gflops:.3g} GFLOP/s after them{_shrunk_note(after)}, so the machine's speed changed "
        "while they ran; "
        f"'% of peak' uses the higher reading, {max(before.gflops, after.gflops):.3g} GFLOP/s, "
        "but the runs may have been slowed too; rerun on a quieter machine"
    )


def _shrunk_note(peak: PeakResult) -> str:
    """Say that ``peak`` was read on smaller matrices than asked for, or return ""."""
    if peak.size >= PEAK_SIZE:
        return ""
    return (
        f" (on {peak.size}x{peak.size} matrices, shrunk from {PEAK_SIZE}x{PEAK_SIZE} because the machine "
        "was slow then)"
    )


SHRUNK_PEAK_START = "the matmul peak used for '% of peak'"
"""The start of the warnings about a shrunk or unsteady NumPy peak."""
UNSTEADY_PEAK_SHARE = 0.5
"""A peak whose median call reached less than this share of its best call is warned about."""
SLOW_TORCH_PEAK_START = "PyTorch's matmul peak"


def is_measured_peak_warning(message: str) -> bool:
    """Tell whether ``message`` is one of the warnings of ``measured_peak_warnings``."""
    return message.startswith((SHRUNK_PEAK_START, SLOW_TORCH_PEAK_START))


def fastest_torch_run_gflops(engines: dict[str, dict[str, Any]]) -> float | None:
    """Return the most GFLOP/s that a run of a torch engine reached, or None without such runs."""
    return max(
        (
            run["gflops"]
            for name, entry in engines.items()
            if name.startswith("torch")
            for run in entry.get("runs") or []
            if run.get("gflops") is not None
        ),
        default=None,
    )


def measured_peak_warnings(
    peaks: MeasuredPeaks,
    device: str = "cpu",
    torch_engine_gflops: float | None = None,
    after: PeakResult | None = None,
) -> list[str]:
    """Warn when a peak measurement itself looks disturbed.

    PyTorch's peak is measured on the CPU, so it is judged only when ``device``, where
    the torch engines train, is the CPU too. ``torch_engine_gflops``, the most that a
    torch engine's run reached, shows whether a low PyTorch peak was a disturbance.
    A NumPy peak measured on smaller matrices is reported only when it is the
    yardstick: ``after``, the reading after the runs, replaces it when higher.
    """
    messages = []
    peak = peaks.numpy
    yardstick = after if after is not None and after.gflops > peak.gflops else peak
    if yardstick.size < PEAK_SIZE:
        # Name the reading: the progress line shows the one before the runs, which an
        # unshrunk reading after them may have replaced.
        when = "after the runs" if yardstick is after else "before the runs"
        # Only a reading before the runs with none after them may still be replaced.
        unless = " unless a later reading replaced it" if after is None else ""
        messages.append(
            f"{SHRUNK_PEAK_START} ({yardstick.gflops:.3g} GFLOP/s, read {when}) was measured on "
            f"{yardstick.size}x{yardstick.size} matrices instead of {PEAK_SIZE}x{PEAK_SIZE} because "
            f"the machine was slow at that moment, so it is probably too low and '% of peak' too "
            f"high{unless}; run again on a quieter machine"
        )
    elif yardstick.median_gflops < UNSTEADY_PEAK_SHARE * yardstick.gflops:
        when = "after the runs" if yardstick is after else "before the runs"
        messages.append(
            f"{SHRUNK_PEAK_START} ({yardstick.gflops:.3g} GFLOP/s, read {when}) is the best of calls "
            f"whose median reached only {yardstick.median_gflops:.3g} GFLOP/s, so other work shared "
            "the CPUs while it was measured, and the peak is probably too low and '% of peak' too "
            "high; run again on a quieter machine"
        )
    slow_torch = peaks.torch is not None and peaks.torch["gflops"] < TORCH_PEAK_SHORTFALL * peak.gflops
    if slow_torch and device == "cpu":
        torch_peak = peaks.torch["gflops"]  # type: ignore[index]
        comparison = (
            f"{SLOW_TORCH_PEAK_START} ({torch_peak:.3g} GFLOP/s) was under "
            f"{TORCH_PEAK_SHORTFALL:.0%} of NumPy's ({peak.gflops:.3g} GFLOP/s)"
        )
        if torch_engine_gflops is not None and torch_engine_gflops > torch_peak:
            messages.append(
                f"{comparison}, yet a torch engine's run reached {torch_engine_gflops:.3g} GFLOP/s, "
                "so other work slowed torch.mm while its peak was measured and the PyTorch peak "
                "is too low; run again on a quieter machine"
            )
        else:
            messages.append(
                f"{comparison}. Either other work slowed torch.mm while it was measured, which would "
                "slow the torch engines too, or this PyTorch build multiplies slowly on this CPU; "
                "run again on a quieter machine to tell"
            )
    return messages


def _peak_warnings(
    peaks: MeasuredPeaks,
    engines: dict[str, dict[str, Any]],
    peak_after: PeakResult | None = None,
    device: str = "cpu",
) -> list[str]:
    """Warn when the yardstick itself looks wrong, since every "% of peak" depends on it."""
    messages = []
    if peak_after is not None:
        changed = peak_change_warning(peaks.numpy, peak_after)
        if changed is not None:
            messages.append(changed)
    messages += measured_peak_warnings(peaks, device, fastest_torch_run_gflops(engines), peak_after)
    above = above_peak_warning(engines)
    if above is not None:
        messages.append(above)
    return messages


ABOVE_PEAK_START = "a run reached"


def above_peak_warning(engines: dict[str, dict[str, Any]]) -> str | None:
    """Return a warning when a timed run's "% of peak" exceeds 100, else None."""
    highest = max(
        (
            run["percent_of_peak"]
            for entry in engines.values()
            for run in entry.get("runs", [])
            if run.get("percent_of_peak") is not None
        ),
        default=None,
    )
    if highest is None or highest <= 100:
        return None
    return (
        f"{ABOVE_PEAK_START} {highest:.0f}% of the measured matmul peak, which means the peak "
        "measurement was disturbed; '% of peak' figures in this run are not reliable"
    )


def _config_record(
    config: CompareConfig,
    settings: dict[str, Any],
    data: Dataset,
    sizes: list[int],
    flops_per_epoch: int,
) -> dict[str, Any]:
    return {
        "engines": list(config.engines),
        "repeats": config.repeats,
        "warmup": config.warmup,
        "order": "rotating: round g starts with engine g mod n, warm-up rounds counted first",
        "device": config.device,
        # Every run trains from scratch, so warm_start carries no information here.
        "model": {key: value for key, value in settings.items() if key not in ("threads", "warm_start")}
        | {"hidden": hidden_sizes(settings["hidden"])},
        "threads": settings.get("threads"),
        "dataset": {
            "name": data.name,
            "source": data.source,
            "n_train": int(len(data.y_train)),
            "n_test": int(len(data.y_test)),
            "n_features": int(data.x_train.shape[1]),
            "n_classes": int(data.n_classes),
        },
        "layer_sizes": sizes,
        "flops_per_epoch": int(flops_per_epoch),
        "timing_scope": TIMING_SCOPE,
        "rss_note": RSS_NOTE,
    }
