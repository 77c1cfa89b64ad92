"""The order of mini-batches: a fresh permutation every epoch, the last partial batch kept."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np

from mlpbench.training.seeding import batch_rng


class BatchOrder:
    """Produce the index arrays of each epoch's mini-batches from a seeded generator.

    Every engine that takes its batches from a ``BatchOrder`` built with the same
    seed trains on the same samples in the same order. The generator state can be saved
    with ``get_state`` and restored with ``set_state`` to resume a run exactly.
    """

    def __init__(self, n_samples: int, batch_size: int, seed: int) -> None:
        if n_samples <= 0:
            raise ValueError(f"n_samples must be positive, got {n_samples}")
        if batch_size <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.n_samples = int(n_samples)
        self.requested_batch_size = int(batch_size)
        # A batch size larger than the data set is one full batch.
        self.batch_size = min(int(batch_size), self.n_samples)
        self._rng = batch_rng(seed)

    @property
    def batches_per_epoch(self) -> int:
        return -(-self.n_samples // self.batch_size)

    def epoch(self) -> Iterator[np.ndarray]:
        """Draw this epoch's permutation and yield it in slices of ``batch_size``."""
        order = self._rng.permutation(self.n_samples)
        for start in range(0, self.n_samples, self.batch_size):
            yield order[start : start + self.batch_size]

    def get_state(self) -> str:
        """Return the sizes and the generator state as a JSON string (storable without pickle)."""
        state = {
            "n_samples": self.n_samples,
            "batch_size": self.requested_batch_size,
            "rng": self._rng.bit_generator.state,
        }
        return json.dumps(state)

    def with_batch_size(self, batch_size: int) -> BatchOrder:
        """Return an order over the same rows with another batch size that continues this shuffle sequence."""
        return self.resized(self.n_samples, batch_size)

    def resized(self, n_samples: int, batch_size: int) -> BatchOrder:
        """Return an order over ``n_samples`` rows and ``batch_size`` that continues this shuffle sequence."""
        order = BatchOrder(n_samples, batch_size, seed=0)
        order._rng.bit_generator.state = self._rng.bit_generator.state
        return order

    @classmethod
    def from_state(cls, state: str) -> BatchOrder:
        """Rebuild a ``BatchOrder`` saved with ``get_state``; it continues the same sequence."""
        fields = json.loads(state)
        order = cls(fields["n_samples"], fields["batch_size"], seed=0)
        order._rng.bit_generator.state = fields["rng"]
        return order
