"""mlpbench: one multilayer perceptron, trained by a hand-written NumPy engine and by PyTorch.

The engines share initial parameters, batch order and learning-rate schedule, so
they compute the same thing: their results differ only by floating-point rounding,
which float32 lets grow over a long run, and they differ in speed.
"""

from __future__ import annotations

from types import ModuleType as _ModuleType
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["NumpyMLP", "SklearnMLP", "TorchDataLoaderMLP", "TorchMLP", "__version__"]

if TYPE_CHECKING:
    from mlpbench.engines.numpy_engine import NumpyMLP
    from mlpbench.engines.sklearn_engine import SklearnMLP
    from mlpbench.engines.torch_dataloader import TorchDataLoaderMLP
    from mlpbench.engines.torch_engine import TorchMLP


def __dir__() -> list[str]:
    # The public names, the submodules imported so far and the dunders, not the typing imports above.
    names = set(__all__)
    for name, value in globals().items():
        if isinstance(value, _ModuleType) or name.startswith("__"):
            names.add(name)
    return sorted(names)


def __getattr__(name: str) -> Any:
    # The engines are imported on first use: PyTorch takes about a second to import,
    # and the command line must set OpenBLAS's settings before NumPy loads it.
    if name == "NumpyMLP":
        from mlpbench.engines.numpy_engine import NumpyMLP

        return NumpyMLP
    if name == "TorchMLP":
        from mlpbench.engines.torch_engine import TorchMLP

        return TorchMLP
    # The two baselines that compare runs beside the engines.
    if name == "SklearnMLP":
        from mlpbench.engines.sklearn_engine import SklearnMLP

        return SklearnMLP
    if name == "TorchDataLoaderMLP":
        from mlpbench.engines.torch_dataloader import TorchDataLoaderMLP

        return TorchDataLoaderMLP
    raise AttributeError(f"module 'mlpbench' has no attribute {name!r}")
