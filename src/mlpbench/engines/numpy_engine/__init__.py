"""The hand-written NumPy engine: forward pass, loss, backward pass and SGD, one file each."""

from mlpbench.engines.numpy_engine.model import NumpyMLP

__all__ = ["NumpyMLP"]
