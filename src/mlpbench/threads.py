"""Thread-count control for BLAS (through threadpoolctl) and PyTorch."""

from __future__ import annotations

import contextlib
import numbers
import os
import sys
from collections.abc import Iterator

from threadpoolctl import threadpool_limits


def check_threads(threads: object) -> None:
    """Raise ValueError unless ``threads`` is an integer >= 1 or None."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, numbers.Integral) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1 or None, got {threads!r}")


@contextlib.contextmanager
def limit_threads(threads: int | None) -> Iterator[None]:
    """Limit BLAS and OpenMP pools, and PyTorch's intra-op pool if loaded, inside the block.

    ``None`` leaves every pool as it is.
    """
    if threads is None:
        yield
        return
    check_threads(threads)
    threads = int(threads)
    torch = sys.modules.get("torch")
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(limits=threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None and previous is not None:
                torch.set_num_threads(previous)


def affinity_cpu_count() -> int | None:
    """Return the number of logical CPUs in this process's affinity mask, or None without one."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return len(os.sched_getaffinity(0))


def oversubscription_warning(threads: int, *, measures_peak: bool = True) -> str | None:
    """Return a warning when ``threads`` exceeds the logical CPUs this process may use.

    The CPUs are those of its affinity mask where the platform has one, else ``os.cpu_count()``.
    ``measures_peak`` says whether the command also measures the matmul peak, which the
    warning then names.
    """
    cpus = affinity_cpu_count() or os.cpu_count() or 1
    if threads <= cpus:
        return None
    slowed = "both the engines and the matmul peak run" if measures_peak else "training runs"
    return (
        f"{threads} threads is more than the {cpus} logical CPU(s) this process may use, so the threads "
        f"take turns on the cores and {slowed} slower; use at most "
        f"{cpus} thread(s) to study how training scales"
    )
