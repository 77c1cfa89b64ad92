"""Preallocated arrays for the training step, reused from batch to batch.

Without them every step allocates the batch copy, each layer's activations and
every gradient afresh.

NOTE: paired runs on a shared 2-core machine showed no gain beyond the noise
(docs/benchmarks.md); the buffers are kept until a quieter measurement decides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class Workspace:
    """Buffers for one batch size: the batch, every layer's output, and every gradient.

    ``outputs[l]`` receives layer l's output, shape (batch, sizes[l + 1]).
    ``grads[l]`` is (dW, db) for layer l in parameter layout. ``deltas[l]``, for
    l >= 1, receives the gradient with respect to layer l's input, shape
    (batch, sizes[l]).
    """

    def __init__(self, sizes: Sequence[int], batch: int, dtype: np.dtype) -> None:
        self.batch = batch
        self.X = np.empty((batch, sizes[0]), dtype=dtype)
        self.outputs = [np.empty((batch, fan_out), dtype=dtype) for fan_out in sizes[1:]]
        self.grads = [
            (np.empty((fan_in, fan_out), dtype=dtype), np.empty(fan_out, dtype=dtype))
            for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
        ]
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
