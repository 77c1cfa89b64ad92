"""Engine names accepted by --engine, mapped to estimator classes."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from mlpbench.engines.base import MLPEstimator

# name -> "module:class"; modules are imported on first use so that PyTorch loads
# only when a torch engine is asked for.
ENGINES: dict[str, str] = {
    "numpy": "mlpbench.engines.numpy_engine:NumpyMLP",
    "torch": "mlpbench.engines.torch_engine:TorchMLP",
    "torch-dataloader": "mlpbench.engines.torch_dataloader:TorchDataLoaderMLP",
    "sklearn": "mlpbench.engines.sklearn_engine:SklearnMLP",
}

# The engines that can take parameters from a checkpoint. The sklearn engine builds its own by training.
LOADING_ENGINES = tuple(name for name in ENGINES if name != "sklearn")


def engine_class(name: str) -> type[MLPEstimator]:
    """Return the estimator class registered as ``name``."""
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    module_name, class_name = ENGINES[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_engine(name: str, *, device: str = "cpu", **settings: Any) -> MLPEstimator:
    """Build an unfitted estimator; ``device`` is passed only to engines that take one."""
    cls = engine_class(name)
    if "device" in inspect.signature(cls).parameters:
        settings["device"] = device
    return cls(**settings)
