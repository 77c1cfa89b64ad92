"""Per-engine breakdown of one training epoch: time in matrix multiplies against everything else.

Every engine trains a warm-up epoch and ``REFERENCE_EPOCHS`` reference epochs without
instrumentation, then one profiled epoch (two for ``numpy``). The instrumentation is attached to
the engine's ``_train_epoch`` method only, so it covers that epoch's shuffle and
steps and nothing of data conversion or evaluation:

``numpy``
    ``numpy.matmul``, which ``forward.py`` and ``backward.py`` call for every
    product, and ``Blas.add_transposed_product``, the gemm call that ``fused.py``
    uses for weight gradients, are replaced during the epoch by wrappers that read
    ``time.perf_counter`` around each call and count the calls. This adds about
    two clock reads and a list append (well under a microsecond) to each product,
    and nothing to the rest of the step. A second epoch runs under ``cProfile``
    with the wrapper still in place, only to rank the other costs by self time.
``torch``, ``torch-dataloader``
    ``torch.profiler.profile(activities=[ProfilerActivity.CPU])`` without shapes,
    memory or stacks, its cheapest mode. Matrix-multiply time is the self CPU time
    of the GEMM operators in ``TORCH_GEMM_OPS``. ``aten::linear`` and
    ``aten::matmul`` only dispatch to those, so their own self time counts as
    other costs. For ``torch-dataloader`` the loader's ``collate_fn``
    (``default_collate``, which stacks the rows with ``aten::stack``) is also
    timed with a wrapper, once per batch.
``sklearn``
    ``cProfile`` over the epoch's ``partial_fit`` call. scikit-learn computes
    every product of the network as ``a @ b`` inside ``safe_sparse_dot``, so
    matrix-multiply time is the cumulative time of ``safe_sparse_dot``. cProfile
    does not see the ``@`` operator or NumPy's C functions themselves: their time
    counts toward the Python function that calls them.

Profilers add overhead, so every share is approximate: compare ``epoch_s`` (the
profiled epoch's clock) with ``reference_epoch_s`` (the median reference epoch,
without instrumentation) to see how much. The share is ``matmul_s / epoch_s``, both read
in the profiled epoch.
"""

from __future__ import annotations

import contextlib
import cProfile
import dataclasses
import logging
import math
import os
import pstats
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from mlpbench import __version__
from mlpbench.bench.compare import command_line_divergence
from mlpbench.bench.contention import contention, contention_warnings, cpu_sample
from mlpbench.bench.environment import collect_environment
from mlpbench.engines.numpy_engine.blas import Blas
from mlpbench.engines.registry import ENGINES, create_engine
from mlpbench.errors import TrainingDivergedError

if TYPE_CHECKING:
    from mlpbench.data import Dataset
    from mlpbench.engines.base import MLPEstimator

logger = logging.getLogger("mlpbench")

SCHEMA_VERSION = 1
DEFAULT_ENGINES = ("numpy", "torch", "torch-dataloader", "sklearn")
TOP_COSTS = 5

TORCH_GEMM_OPS = frozenset(
    {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::mv", "aten::addmv", "aten::dot"}
)
"""PyTorch operators whose self CPU time is the matrix-multiply kernel itself."""

BLAS_GEMM_ENTRY = "BLAS gemm (weight gradients added into the momentum buffers)"
"""The NumPy engine's direct BLAS products, named apart from ``numpy.matmul``."""

SKLEARN_MATMUL_FUNCTIONS = frozenset({"safe_sparse_dot"})
"""scikit-learn functions that compute the network's matrix products."""

OUTSIDE_OPERATORS = "(outside any recorded operator: Python of the loop and autograd)"

METHODS = {
    "numpy": (
        "timing wrappers around numpy.matmul and the BLAS gemm call; "
        "other costs from a second epoch under cProfile"
    ),
    "torch": "torch.profiler (CPU), self time of GEMM operators",
    "torch-dataloader": "torch.profiler (CPU), self time of GEMM operators; collate_fn timed by a wrapper",
    "sklearn": "cProfile, cumulative time of safe_sparse_dot",
}

OVERHEAD_NOTE = (
    "Profilers add overhead, so shares are approximate. The difference between the profiled "
    "epoch ('epoch, profiled', epoch_s in the JSON) and the median epoch without "
    "instrumentation ('epoch, no profiler', reference_epoch_s) estimates it, within the "
    "machine's run-to-run noise. For sklearn, whose epochs lengthen from one to the next, the "
    "difference also includes two epochs of that growth. The overhead was kept small: numpy's share comes "
    "from timing wrappers around numpy.matmul and the BLAS gemm call (two clock reads per "
    "product, nothing else instrumented), torch's from torch.profiler's CPU mode without "
    "shapes, memory or stacks, and sklearn's from cProfile."
)


@dataclasses.dataclass
class ProfileConfig:
    """Settings of one profile.

    Attributes
    ----------
    engines : engine names as registered in ``engines.registry.ENGINES``.
    settings : estimator keyword arguments (``hidden``, ``batch_size``, ``dtype``,
        ``threads``, ``lr``, ``momentum``, ``weight_decay``, ``seed``); ``epochs``
        and ``warm_start`` are set by the profiler.
    device : PyTorch device for the torch engines.
    top : how many other costs to keep per engine.
    sampled : True when the data are a subset of the training rows (``--samples``).
    """

    engines: Sequence[str] = DEFAULT_ENGINES
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    device: str = "cpu"
    top: int = TOP_COSTS
    sampled: bool = False

    def validate(self) -> None:
        """Raise ValueError naming the first invalid field."""
        if not self.engines:
            raise ValueError("engines is empty; name at least one engine")
        unknown = [name for name in self.engines if name not in ENGINES]
        if unknown:
            raise ValueError(f"unknown engine {unknown[0]!r}; choose from {', '.join(ENGINES)}")
        if self.top < 1:
            raise ValueError(f"top must be >= 1, got {self.top}")
        reserved = sorted({"epochs", "warm_start"} & set(self.settings))
        if reserved:
            raise ValueError(f"settings must not set {reserved[0]!r}; the profiler sets it")


# ----- instrumentation --------------------------------------------------------------------


class CallTimer:
    """Wall time and count of calls to wrapped functions, summed over one epoch."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    @property
    def seconds(self) -> float:
        return math.fsum(self.durations)

    @property
    def calls(self) -> int:
        return len(self.durations)

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``function`` wrapped so that each call's duration is recorded."""
        clock = time.perf_counter
        record = self.durations.append

        def timed_call(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            result = function(*args, **kwargs)
            record(clock() - start)
            return result

        timed_call.__name__ = f"timed_{getattr(function, '__name__', 'call')}"
        return timed_call


@contextlib.contextmanager
def timed_numpy_matmul(timer: CallTimer, gemm_timer: CallTimer | None = None) -> Iterator[None]:
    """Time ``numpy.matmul`` with ``timer`` and ``Blas.add_transposed_product`` inside the block.

    The BLAS ``gemm`` calls go to ``gemm_timer``, or to ``timer`` when it is None.
    Every module that calls ``np.matmul(...)`` looks the attribute up at call time,
    so the NumPy engine's products go through the wrapper. The ``@`` operator does
    not. The originals are restored on exit, also after an error.
    """
    original = np.matmul
    original_product = Blas.add_transposed_product
    np.matmul = timer.wrap(original)
    Blas.add_transposed_product = (gemm_timer or timer).wrap(original_product)  # type: ignore[method-assign]
    try:
        yield
    finally:
        np.matmul = original
        Blas.add_transposed_product = original_product  # type: ignore[method-assign]


EpochWrapper = Callable[[Callable[..., Any], Any, Any, float], Any]


@contextlib.contextmanager
def instrumented_epochs(model: MLPEstimator, wrapper: EpochWrapper) -> Iterator[None]:
    """Route ``model._train_epoch(X, y, lr)`` through ``wrapper(original, X, y, lr)`` inside the block.

    The wrapper is set on the instance, so other models of the same class are
    unaffected, and it is removed on exit.
    """
    original = model._train_epoch

    def train_epoch(X: Any, y: Any, lr: float) -> Any:
        return wrapper(original, X, y, lr)

    model._train_epoch = train_epoch  # type: ignore[method-assign]
    try:
        yield
    finally:
        del model._train_epoch


# ----- cProfile statistics ----------------------------------------------------------------

FunctionKey = tuple[str, int, str]


def function_label(key: FunctionKey) -> str:
    """Return ``name (folder/file.py:line)`` for a cProfile key, or the name alone for a built-in."""
    file, line, name = key
    if file == "~":
        return name
    parts = Path(file).parts[-2:]
    return f"{name} ({'/'.join(parts)}:{line})"


def cprofile_costs(
    profiler: cProfile.Profile, is_matmul: Callable[[FunctionKey], bool], top: int
) -> dict[str, Any]:
    """Split cProfile statistics into matrix-multiply entries and the largest other costs.

    Matrix-multiply time is the cumulative time of the functions ``is_matmul``
    selects, less calls from one such function to another. Each other function
    is ranked by its self time, less the self time of its calls made directly by
    a matrix-multiply function (those are inside the cumulative time already).

    Returns
    -------
    dict
        ``matmul_s``, ``matmul_calls``, ``matmul_entries`` (``name``, ``seconds``,
        ``calls``) and ``other_costs`` (``name``, ``seconds``; at most ``top``,
        largest first).
    """
    stats: dict[FunctionKey, tuple[Any, ...]] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    matmul_keys = {key for key in stats if is_matmul(key)}

    entries = []
    for key in matmul_keys:
        _, calls, _, cumulative, callers = stats[key]
        nested = [value for caller, value in callers.items() if caller in matmul_keys]
        seconds = cumulative - sum(value[3] for value in nested)
        count = calls - sum(value[1] for value in nested)
        entries.append({"name": function_label(key), "seconds": seconds, "calls": count})

    others = []
    for key, (_, _, own, _, callers) in stats.items():
        if key in matmul_keys:
            continue
        inside = sum(value[2] for caller, value in callers.items() if caller in matmul_keys)
        others.append({"name": function_label(key), "seconds": max(own - inside, 0.0)})
    others.sort(key=lambda entry: entry["seconds"], reverse=True)

    return {
        "matmul_s": math.fsum(entry["seconds"] for entry in entries),
        "matmul_calls": sum(entry["calls"] for entry in entries),
        "matmul_entries": sorted(entries, key=lambda entry: entry["seconds"], reverse=True),
        "other_costs": others[:top],
    }


def _is_numpy_wrapper(key: FunctionKey) -> bool:
    return key[0] == __file__ and key[2] == "timed_call"


def _is_sklearn_matmul(key: FunctionKey) -> bool:
    return key[2] in SKLEARN_MATMUL_FUNCTIONS and "sklearn" in key[0]


def _profile_with_cprofile(
    model: MLPEstimator, X: np.ndarray, y: np.ndarray, is_matmul: Callable[[FunctionKey], bool], top: int
) -> tuple[float, dict[str, Any]]:
    """Train one epoch under cProfile; return its clock and ``cprofile_costs``."""
    profiler = cProfile.Profile()

    def wrapper(original: Callable[..., Any], X: Any, y: Any, lr: float) -> Any:
        profiler.enable()
        try:
            return original(X, y, lr)
        finally:
            profiler.disable()

    with instrumented_epochs(model, wrapper):
        model.fit(X, y, n_epochs=1)
    return model.history_[-1]["time_s"], cprofile_costs(profiler, is_matmul, top)


# ----- per engine -------------------------------------------------------------------------


def _profile_numpy(model: MLPEstimator, X: np.ndarray, y: np.ndarray, top: int) -> dict[str, Any]:
    matmul_timer, gemm_timer = CallTimer(), CallTimer()
    with timed_numpy_matmul(matmul_timer, gemm_timer):
        model.fit(X, y, n_epochs=1)
    entries = [
        {"name": name, "seconds": timer.seconds, "calls": timer.calls}
        for name, timer in (("numpy.matmul", matmul_timer), (BLAS_GEMM_ENTRY, gemm_timer))
        if timer.calls
    ]
    record = {
        "epoch_s": model.history_[-1]["time_s"],
        "matmul_s": matmul_timer.seconds + gemm_timer.seconds,
        "matmul_calls": matmul_timer.calls + gemm_timer.calls,
        "matmul_entries": entries,
    }
    with timed_numpy_matmul(CallTimer()):
        cprofile_epoch_s, costs = _profile_with_cprofile(model, X, y, _is_numpy_wrapper, top)
    record["other_costs"] = costs["other_costs"]
    record["other_costs_epoch_s"] = cprofile_epoch_s
    return record


def _profile_sklearn(model: MLPEstimator, X: np.ndarray, y: np.ndarray, top: int) -> dict[str, Any]:
    epoch_s, costs = _profile_with_cprofile(model, X, y, _is_sklearn_matmul, top)
    return {**costs, "epoch_s": epoch_s, "other_costs_epoch_s": epoch_s}


def _profile_torch(model: MLPEstimator, X: np.ndarray, y: np.ndarray, top: int) -> dict[str, Any]:
    from torch.profiler import ProfilerActivity, profile
    from torch.utils.data import DataLoader

    # Kineto, the profiler's backend, prints "USDT: ... profiler_start" lines on stderr
    # below log level 6; it reads the variable when a profile starts. A user's own setting wins.
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    # NOTE: only CPU activity is recorded. With --device cuda the GEMM kernels run on
    # the GPU, so matmul_s counts only their launch cost and the share is too low.
    profiles = []
    collate = CallTimer()

    def wrapper(original: Callable[..., Any], X: Any, y: Any, lr: float) -> Any:
        loader = X if isinstance(X, DataLoader) else None
        collate_fn = None
        if loader is not None:
            collate_fn = loader.collate_fn
            loader.collate_fn = collate.wrap(collate_fn)
        try:
            with profile(activities=[ProfilerActivity.CPU]) as profiler:
                result = original(X, y, lr)
        finally:
            if loader is not None:
                loader.collate_fn = collate_fn
        profiles.append(profiler)
        return result

    with instrumented_epochs(model, wrapper):
        model.fit(X, y, n_epochs=1)
    epoch_s = model.history_[-1]["time_s"]

    events = profiles[-1].key_averages()
    gemm = [event for event in events if event.key in TORCH_GEMM_OPS]
    entries = [
        {"name": event.key, "seconds": event.self_cpu_time_total / 1e6, "calls": event.count}
        for event in sorted(gemm, key=lambda event: event.self_cpu_time_total, reverse=True)
    ]
    others = [
        {"name": event.key, "seconds": event.self_cpu_time_total / 1e6}
        for event in events
        if event.key not in TORCH_GEMM_OPS
    ]
    recorded = math.fsum(event.self_cpu_time_total for event in events) / 1e6
    if epoch_s > recorded:
        others.append({"name": OUTSIDE_OPERATORS, "seconds": epoch_s - recorded})
    others.sort(key=lambda entry: entry["seconds"], reverse=True)

    record = {
        "epoch_s": epoch_s,
        "matmul_s": math.fsum(entry["seconds"] for entry in entries),
        "matmul_calls": sum(entry["calls"] for entry in entries),
        "matmul_entries": entries,
        "other_costs": others[:top],
        "other_costs_epoch_s": epoch_s,
    }
    if collate.calls:
        record["collate_s"] = collate.seconds
        record["collate_calls"] = collate.calls
        record["collate_share_percent"] = 100.0 * collate.seconds / epoch_s
    return record


PROFILERS: dict[str, Callable[[MLPEstimator, np.ndarray, np.ndarray, int], dict[str, Any]]] = {
    "numpy": _profile_numpy,
    "torch": _profile_torch,
    "torch-dataloader": _profile_torch,
    "sklearn": _profile_sklearn,
}


def profile_engine(
    name: str, data: Dataset, settings: dict[str, Any], *, device: str = "cpu", top: int = TOP_COSTS
) -> dict[str, Any]:
    """Profile one epoch of engine ``name`` on ``data.x_train`` of shape (n_train, n_features).

    Trains a warm-up epoch, ``REFERENCE_EPOCHS`` reference epochs without
    instrumentation, then the profiled epoch(s) as the module docstring describes,
    all continuing one model.

    Returns
    -------
    dict
        ``engine``, ``status`` (``"ok"`` or ``"failed"``), ``error``, ``error_type``,
        ``method``, ``reference_epochs_s``, ``reference_epoch_s`` (their median),
        ``epoch_s``, ``matmul_s``, ``matmul_calls``,
        ``matmul_share_percent`` (``100 * matmul_s / epoch_s``), ``matmul_entries``,
        ``other_costs`` (each with ``percent`` of ``other_costs_epoch_s``),
        ``other_costs_epoch_s``, and for ``torch-dataloader`` ``collate_s``,
        ``collate_calls`` and ``collate_share_percent``. Raises ValueError for an
        engine that has no profiler; any error of the engine itself is recorded.
    """
    if name not in PROFILERS:
        raise ValueError(f"no profiler for engine {name!r}; choose from {', '.join(PROFILERS)}")
    record: dict[str, Any] = {
        "engine": name,
        "status": "ok",
        "error": None,
        "error_type": None,
        "method": METHODS[name],
    }
    try:
        # Warm-up, reference, then at most two profiled epochs.
        epochs = 1 + REFERENCE_EPOCHS + 2
        model = create_engine(name, device=device, **settings, epochs=epochs, warm_start=True)
        model.fit(data.x_train, data.y_train, n_classes=data.n_classes, n_epochs=1)
        model.fit(data.x_train, data.y_train, n_epochs=REFERENCE_EPOCHS)
        reference_epochs = [entry["time_s"] for entry in model.history_[-REFERENCE_EPOCHS:]]
        record["reference_epochs_s"] = reference_epochs
        record["reference_epoch_s"] = statistics.median(reference_epochs)
        record.update(PROFILERS[name](model, data.x_train, data.y_train, top))
    # Any exception of one engine (a missing module, a diverged run) is reported in its
    # row so that the other engines are still profiled.
    except Exception as error:
        if isinstance(error, TrainingDivergedError):
            error = command_line_divergence(error, name, settings)
        logger.error("engine %s failed: %s: %s", name, type(error).__name__, error)
        record.update(
            status="failed",
            error=str(error) or type(error).__name__,
            error_type=type(error).__name__,
        )
        return record

    epoch_s = record["epoch_s"]
    record["matmul_share_percent"] = 100.0 * record["matmul_s"] / epoch_s if epoch_s > 0 else None
    total = record["other_costs_epoch_s"]
    for entry in record["other_costs"]:
        entry["percent"] = 100.0 * entry["seconds"] / total if total > 0 else None
    return record


PROFILED_SLOWDOWN_WARNING = 2.0
"""A profiled epoch this many times longer than its reference epoch gets a warning.

On the 2-core development machine the profilers stretched a Fashion-MNIST epoch by
1.07x (numpy) to 1.44x (torch-dataloader), and a 1,000-row digits epoch by up to 1.73x.
On 20,000 Fashion-MNIST rows, torch's profiled epoch took 1.25x to 2.4x its reference
epoch over six runs whose threads waited at most 2% of the time for a CPU, and its
matrix-product share varied with it.
"""

REFERENCE_EPOCHS = 3
"""Epochs timed without instrumentation; their median is the reference for the profiled epoch.

Their range is shown but not warned about: scikit-learn's epochs lengthen from one to
the next on a quiet machine (its momentum values turn subnormal), 1.29x over three
epochs on 20,000 Fashion-MNIST rows.
"""

REFERENCE_SLOWDOWN_WARNING = 1.2
"""A reference epoch this many times longer than the profiled one gets a warning.

Profiling only adds work, so a reference epoch 20% longer than the profiled one means
the machine slowed during it, and the overhead the two imply would be negative.
"""


def disturbance_warnings(engines: dict[str, dict[str, Any]], sampled: bool = False) -> list[str]:
    """Warn about engines whose profiled and reference epochs disagree more than profiling explains.

    ``sampled`` (the profile used a subset of the rows) adds, for the torch engine, the
    advice to profile all rows, where its profiled epochs varied less.
    """
    messages = []
    for name, record in engines.items():
        if record["status"] != "ok":
            continue
        reference, profiled = record["reference_epoch_s"], record["epoch_s"]
        if profiled > PROFILED_SLOWDOWN_WARNING * reference:
            rerun = "rerun, on all rows (without --samples)" if sampled and name == "torch" else "rerun"
            messages.append(
                f"{name}: the profiled epoch took {profiled:.3g} s, {profiled / reference:.1f}x the "
                f"{reference:.3g} s without the profiler, more than profiling usually costs, so its "
                f"shares are unreliable; other work or the profiler itself can cause this, so {rerun}, "
                "when the machine is idle"
            )
        elif record["matmul_s"] > reference:
            messages.append(
                f"{name}: its matrix products alone took {record['matmul_s']:.3g} s, longer than the "
                f"whole {reference:.3g} s median epoch without the profiler; the machine was probably busy, "
                "so rerun when it is idle"
            )
        elif reference > REFERENCE_SLOWDOWN_WARNING * profiled:
            messages.append(
                f"{name}: the median epoch without the profiler took {reference:.3g} s, longer than the "
                f"profiled one ({profiled:.3g} s); the machine was probably busy during it, so rerun "
                "when it is idle"
            )
    return messages


def run_profile(data: Dataset, config: ProfileConfig) -> dict[str, Any]:
    """Profile every engine of ``config`` on ``data`` and return the JSON-ready results.

    Returns
    -------
    dict
        ``schema_version``, ``kind`` (``"profile"``), ``mlpbench_version``, ``config``,
        ``dataset``, ``environment``, ``overhead_note``, ``engines`` (engine name to
        the record of ``profile_engine``), ``cpu_contention`` (as in compare) and
        ``warnings`` (``disturbance_warnings`` and ``contention_warnings``).
        Raises ValueError for an invalid ``config``.
    """
    config.validate()
    engines = {}
    cpu_before = cpu_sample()
    for name in config.engines:
        logger.info("profiling %s", name)
        engines[name] = profile_engine(name, data, config.settings, device=config.device, top=config.top)
    cpu_contention = contention(cpu_before, cpu_sample())
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "profile",
        "mlpbench_version": __version__,
        "config": {
            "engines": list(config.engines),
            "settings": dict(config.settings),
            "device": config.device,
            "epochs": (
                f"1 warm-up, {REFERENCE_EPOCHS} reference, then the profiled epoch (numpy: 2, wrapper "
                "and cProfile)"
            ),
        },
        "dataset": {
            "name": data.name,
            "source": data.source,
            "n_train": int(len(data.y_train)),
            "n_features": int(data.x_train.shape[1]),
            "n_classes": int(data.n_classes),
        },
        "environment": collect_environment(config.settings.get("threads")),
        "overhead_note": OVERHEAD_NOTE,
        "engines": engines,
        "cpu_contention": cpu_contention,
        "warnings": (
            disturbance_warnings(engines, config.sampled)
            + contention_warnings(cpu_contention, measures_peak=False)
        ),
    }
