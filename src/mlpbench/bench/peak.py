"""Measured matrix-multiply throughput (GFLOP/s) of NumPy's BLAS and of PyTorch.

The figure is the ceiling that the MLP engines are compared against: an engine
whose time is dominated by matrix products cannot run faster than square GEMM of
the same dtype on the same threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

SUPPORTED_DTYPES = ("float32", "float64")

MIN_SIZE = 32
"""Smallest matrix side that the automatic size reduction goes down to."""

PROBE_SIZE = 128
"""Side of the small product that estimates throughput before the first full-size one."""

PROBE_REPEATS = 5
"""Timed probe calls; the fastest one predicts the full-size time."""

CALL_BUDGET_FRACTION = 0.1
"""One product may take at most this fraction of ``max_seconds``, so about 10 fit."""

SEED = 0


@dataclasses.dataclass(frozen=True)
class PeakResult:
    """Throughput of repeated ``size x size`` matrix products.

    Attributes
    ----------
    gflops : the best per-call GFLOP/s. The best is reported, not the median,
        because the peak is a ceiling: the fastest call shows what the hardware and
        library can reach, and slower calls measure interference (other processes,
        frequency changes), not the library.
    median_gflops : the median per-call GFLOP/s, for judging how steady the machine was.
    size : matrix side ``n`` that was timed, smaller than requested if one product
        took too long.
    dtype : ``"float32"`` or ``"float64"``.
    threads : the thread limit applied, or None when the library default was left alone.
    repeats : number of timed calls.
    seconds : sum of the timed calls' durations, excluding set-up and warm-up.
    """

    gflops: float
    median_gflops: float
    size: int
    dtype: str
    threads: int | None
    repeats: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-serializable dict."""
        return dataclasses.asdict(self)


def _validate(dtype: str, threads: int | None, size: int, min_seconds: float, max_seconds: float) -> None:
    if dtype not in SUPPORTED_DTYPES:
        raise ValueError(f"dtype must be one of {SUPPORTED_DTYPES}, got {dtype!r}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1 or None, got {threads}")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, got {max_seconds}")
    if not 0 <= min_seconds <= max_seconds:
        raise ValueError(f"min_seconds must be between 0 and max_seconds ({max_seconds}), got {min_seconds}")


def _time_call(call: Callable[[], None]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _reduced_size(size: int, seconds: float, budget: float) -> int:
    """Return a side whose product should take about 80 % of ``budget`` (time grows as n^3)."""
    scaled = int(size * (0.8 * budget / seconds) ** (1 / 3))
    return max(MIN_SIZE, min(scaled, size // 2))


def _time_products(
    make_product: Callable[[int], Callable[[], None]],
    size: int,
    min_seconds: float,
    max_seconds: float,
) -> tuple[int, list[float]]:
    """Pick a size that fits the budget, warm up, and time products until min_seconds.

    ``make_product(n)`` allocates the operands and returns a call that computes one
    ``n x n`` product into a preallocated output. Returns the size used and the
    per-call durations in seconds.
    """
    deadline = time.perf_counter() + max_seconds
    call_budget = CALL_BUDGET_FRACTION * max_seconds

    # A cheap probe predicts the full-size time so that a slow machine does not
    # spend the whole budget on one oversized warm-up. The probe runs at a higher
    # per-FLOP cost than large products, so the prediction errs on the long side.
    # The fastest of several probe calls is used because the first calls after start-up
    # (threads being created, caches cold) can be many times slower than the rest.
    if size > PROBE_SIZE:
        probe = make_product(PROBE_SIZE)
        probe()
        fastest = min(_time_call(probe) for _ in range(PROBE_REPEATS))
        predicted = fastest * (size / PROBE_SIZE) ** 3
        if predicted > call_budget:
            size = _reduced_size(size, predicted, call_budget)

    while True:
        product = make_product(size)
        warm_up_seconds = _time_call(product)
        if warm_up_seconds > call_budget and size > MIN_SIZE:
            # One slow call may be a moment of interference, or the first touch of new
            # operands. A second call at the same size separates a slow machine from a hiccup,
            # so the peak is not measured on smaller matrices for a single stall.
            warm_up_seconds = _time_call(product)
        if warm_up_seconds <= call_budget or size <= MIN_SIZE:
            break
        size = _reduced_size(size, warm_up_seconds, call_budget)

    # NOTE: at least one timed call always runs, so max_seconds can be exceeded
    # when even a MIN_SIZE product takes longer than the remaining budget.
    durations: list[float] = []
    last_seconds = warm_up_seconds
    while not durations or (sum(durations) < min_seconds and time.perf_counter() + last_seconds <= deadline):
        last_seconds = _time_call(product)
        durations.append(last_seconds)
    return size, durations


def _result(size: int, durations: list[float], dtype: str, threads: int | None) -> PeakResult:
    flops = 2.0 * size**3
    per_call_gflops = [flops / max(seconds, 1e-12) / 1e9 for seconds in durations]
    return PeakResult(
        gflops=max(per_call_gflops),
        median_gflops=statistics.median(per_call_gflops),
        size=size,
        dtype=dtype,
        threads=threads,
        repeats=len(durations),
        seconds=math.fsum(durations),
    )


def measure_matmul_peak(
    dtype: str = "float32",
    threads: int | None = None,
    *,
    size: int = 1024,
    min_seconds: float = 0.3,
    max_seconds: float = 3.0,
) -> PeakResult:
    """Measure NumPy's square matrix-multiply throughput in GFLOP/s.

    Times ``np.matmul(a, b, out=c)`` on ``size x size`` matrices of random normal
    values: one warm-up call, then timed calls until their total reaches
    ``min_seconds``. ``size`` is reduced when one product would take more than a
    tenth of ``max_seconds`` (a warm-up call that slow is repeated once first), and
    no further timed call starts when the previous call's duration would overrun
    ``max_seconds``, counted from the start of the measurement. The deadline is not
    checked during warm-up, so slow warm-up calls can overrun it, and one timed call
    always runs. Each product counts ``2*n**3`` FLOPs.

    Parameters
    ----------
    dtype : ``"float32"`` or ``"float64"``.
    threads : BLAS threads (set with ``threadpoolctl.threadpool_limits``); None keeps
        the library's default.
    size : requested matrix side ``n``.
    min_seconds : timed seconds to accumulate before stopping.
    max_seconds : wall-clock limit for the whole measurement.

    Returns
    -------
    PeakResult
        Raises ValueError for an unsupported dtype, ``threads < 1`` or inconsistent
        time limits.
    """
    _validate(dtype, threads, size, min_seconds, max_seconds)
    rng = np.random.default_rng(SEED)

    def make_product(n: int) -> Callable[[], None]:
        a = rng.standard_normal((n, n)).astype(dtype)
        b = rng.standard_normal((n, n)).astype(dtype)
        out = np.empty((n, n), dtype=dtype)
        return lambda: np.matmul(a, b, out=out)

    limit = threadpool_limits(limits=threads) if threads is not None else contextlib.nullcontext()
    with limit:
        used_size, durations = _time_products(make_product, size, min_seconds, max_seconds)
    return _result(used_size, durations, dtype, threads)


@contextlib.contextmanager
def _torch_threads(torch: Any, threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def measure_torch_matmul_peak(
    dtype: str = "float32",
    threads: int | None = None,
    *,
    size: int = 1024,
    min_seconds: float = 0.3,
    max_seconds: float = 3.0,
) -> PeakResult:
    """Measure PyTorch's square matrix-multiply throughput on the CPU in GFLOP/s.

    The same procedure as ``measure_matmul_peak`` with ``torch.mm(a, b, out=c)``.
    ``threads`` is applied with ``torch.set_num_threads`` and the previous value is
    restored afterwards. PyTorch is imported on the first call.
    """
    _validate(dtype, threads, size, min_seconds, max_seconds)
    import torch

    torch_dtype = getattr(torch, dtype)
    generator = torch.Generator().manual_seed(SEED)

    def make_product(n: int) -> Callable[[], None]:
        a = torch.randn((n, n), generator=generator, dtype=torch_dtype)
        b = torch.randn((n, n), generator=generator, dtype=torch_dtype)
        out = torch.empty((n, n), dtype=torch_dtype)
        return lambda: torch.mm(a, b, out=out)

    with _torch_threads(torch, threads):
        used_size, durations = _time_products(make_product, size, min_seconds, max_seconds)
    return _result(used_size, durations, dtype, threads)
