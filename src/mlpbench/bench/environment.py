"""A JSON-serializable record of the hardware and software a benchmark ran on."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info

from mlpbench.threads import affinity_cpu_count, limit_threads

THREAD_ENVIRONMENT_VARIABLES = (
    "OPENBLAS_CORETYPE",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_THREAD_TIMEOUT",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
)

# Keys of a threadpoolctl entry worth recording, besides the file name.
THREADPOOL_KEYS = ("internal_api", "version", "num_threads", "threading_layer", "architecture")


def cpu_model() -> str:
    """Return the CPU model name from /proc/cpuinfo, else ``platform.processor()``.

    Returns ``"unknown"`` when neither names it (``platform.processor()`` is empty
    on many Linux systems).
    """
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _threadpools() -> list[dict[str, Any]]:
    pools = []
    for info in threadpool_info():
        pool = {key: info[key] for key in THREADPOOL_KEYS if key in info}
        pool["user_api"] = info.get("user_api")
        # Some BLAS builds report the kernel under another key than "architecture".
        if "kernel" in info:
            pool["kernel"] = info["kernel"]
        path = Path(info.get("filepath") or "")
        pool["file"] = path.name
        pool["package"] = shipping_package(path)
        pools.append(pool)
    return pools


def shipping_package(path: Path) -> str | None:
    """Return the installed package whose wheel contains the library at ``path``, or None.

    Wheels keep their bundled libraries in ``site-packages/<name>.libs`` (numpy,
    scipy, scikit_learn) or inside the package itself (``torch/lib``). Two copies of
    OpenBLAS are often loaded at once, so the package shows which engine calls which.
    """
    parts = path.parts
    for index, part in enumerate(parts[:-1]):
        if part in ("site-packages", "dist-packages") and index + 2 < len(parts):
            return parts[index + 1].removesuffix(".libs")
    return None


def _import_torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    return torch


def _torch_info(torch: Any) -> dict[str, Any]:
    # The build configuration names the BLAS that torch.mm and nn.Linear call, which
    # threadpoolctl does not list when it is linked in statically (MKL in PyPI's wheels).
    blas = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    return {
        "version": torch.__version__,
        "blas": blas.group(1) if blas else None,
        "num_threads": torch.get_num_threads(),
        "num_interop_threads": torch.get_num_interop_threads(),
        "mkldnn_available": bool(torch.backends.mkldnn.is_available()),
        "cuda_available": bool(torch.cuda.is_available()),
    }


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def collect_environment(threads: int | None = None) -> dict[str, Any]:
    """Describe the machine, the libraries and the thread settings as a JSON-ready dict.

    BLAS, OpenMP and PyTorch thread counts are read with ``threads`` applied (as
    the benchmark applies it), so they show what the timed code ran with. PyTorch
    is imported if it is installed.

    Parameters
    ----------
    threads : the thread limit the benchmark uses; None records the library defaults.

    Returns
    -------
    dict
        Keys ``timestamp_utc``, ``cpu`` (model, logical_cores, affinity_cores),
        ``threads``, ``os``, ``python``, ``numpy``, ``torch`` (None if not installed),
        ``scikit_learn``, ``blas`` and ``openmp`` (lists of threadpoolctl entries),
        and ``environment_variables`` (only those that are set).
    """
    # Import PyTorch before limiting threads, so that limit_threads applies to it too.
    torch = _import_torch()
    with limit_threads(threads):
        pools = _threadpools()
        torch_info = _torch_info(torch) if torch is not None else None

    return {
        "timestamp_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu": {
            "model": cpu_model(),
            "logical_cores": os.cpu_count(),
            "affinity_cores": affinity_cpu_count(),
        },
        "threads": threads,
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch_info,
        "scikit_learn": _package_version("scikit-learn"),
        "blas": [pool for pool in pools if pool["user_api"] == "blas"],
        "openmp": [pool for pool in pools if pool["user_api"] == "openmp"],
        "environment_variables": {
            name: os.environ[name] for name in THREAD_ENVIRONMENT_VARIABLES if name in os.environ
        },
    }


def describe_libraries(environment: dict[str, Any]) -> str:
    """Return one line naming NumPy with its BLAS, PyTorch with its BLAS, and scikit-learn."""
    parts = [f"NumPy {environment['numpy']}"]
    numpy_blas = [pool for pool in environment.get("blas", []) if pool.get("package") == "numpy"]
    if numpy_blas:
        pool = numpy_blas[0]
        kernels = pool.get("architecture") or pool.get("kernel")
        detail = f"{pool.get('internal_api')} {pool.get('version') or ''}".strip()
        parts[0] += f" ({detail}{f', {kernels} kernels' if kernels else ''})"
    torch_info = environment.get("torch")
    if torch_info:
        blas = f" ({torch_info['blas']})" if torch_info.get("blas") else ""
        parts.append(f"PyTorch {torch_info['version']}{blas}")
    if environment.get("scikit_learn"):
        parts.append(f"scikit-learn {environment['scikit_learn']}")
    return "Libraries: " + ", ".join(parts) + "."
