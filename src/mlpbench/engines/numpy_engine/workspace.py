"""Flat parameter storage and the preallocated arrays of a training step.

All parameters live in one flat array and ``(W, b)`` are views into it; the
gradients of a step do the same. SGD then updates every layer with a handful of
whole-array operations instead of several per parameter.

NOTE: the preallocated step buffers alone showed no gain beyond the noise of a
shared 2-core machine (docs/benchmarks.md). They stay because the flat gradient
array below needs them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Params = list[tuple[np.ndarray, np.ndarray]]


def parameter_count(sizes: Sequence[int]) -> int:
    """Return the number of weights and biases of layers ``sizes[0] -> ... -> sizes[-1]``."""
    return sum(fan_in * fan_out + fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True))


def parameter_views(sizes: Sequence[int], flat: np.ndarray) -> Params:
    """Split a flat array of ``parameter_count(sizes)`` values into per-layer (W, b) views.

    W has shape (fan_in, fan_out) and is C-contiguous; writing to a view writes to ``flat``.
    """
    if flat.shape != (parameter_count(sizes),):
        raise ValueError(f"expected a flat array of {parameter_count(sizes)} values, got shape {flat.shape}")
    views: Params = []
    offset = 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        W = flat[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out)
        offset += fan_in * fan_out
        b = flat[offset : offset + fan_out]
        offset += fan_out
        views.append((W, b))
    return views


class Workspace:
    """Buffers for one batch size: the batch, every layer's output, and every gradient.

    ``outputs[l]`` receives layer l's output, shape (batch, sizes[l + 1]). The last
    one (the logits) is column-major because the softmax reduces rows of only
    n_classes values, and NumPy reduces such short rows about four times faster
    (measured at 256 x 10) when each row is spread across memory.
    ``grads[l]`` is (dW, db) for layer l, views into ``flat_grads``. ``deltas[l]``,
    for l >= 1, receives d(loss)/d(Z) of layer l - 1 before its ReLU, that is
    ``(dZ_l @ W_l.T) * (A_l > 0)``, shape (batch, sizes[l]).
    """

    def __init__(self, sizes: Sequence[int], batch: int, dtype: np.dtype) -> None:
        self.batch = batch
        self.X = np.empty((batch, sizes[0]), dtype=dtype)
        self.outputs = [np.empty((batch, fan_out), dtype=dtype) for fan_out in sizes[1:-1]]
        self.outputs.append(np.empty((batch, sizes[-1]), dtype=dtype, order="F"))
        self.flat_grads = np.empty(parameter_count(sizes), dtype=dtype)
        self.grads = parameter_views(sizes, self.flat_grads)
        self.deltas: list[np.ndarray | None] = [None] + [
            np.empty((batch, fan_in), dtype=dtype) for fan_in in sizes[1:-1]
        ]


class WorkspaceCache:
    """One ``Workspace`` per batch size seen (an epoch has at most two: full and last)."""

    def __init__(self, sizes: Sequence[int], dtype: np.dtype) -> None:
        self.sizes = list(sizes)
        self.dtype = np.dtype(dtype)
        self._by_batch: dict[int, Workspace] = {}

    def get(self, batch: int) -> Workspace:
        workspace = self._by_batch.get(batch)
        if workspace is None:
            workspace = Workspace(self.sizes, batch, self.dtype)
            self._by_batch[batch] = workspace
        return workspace
