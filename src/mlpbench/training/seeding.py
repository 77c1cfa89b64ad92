"""Independent random streams derived from one user seed.

Initial parameters and batch order use separate child streams of
``numpy.random.SeedSequence(seed)``, so changing the number of layers never
changes the sequence of mini-batches.
"""

from __future__ import annotations

import numpy as np

_INIT_STREAM = 0
_BATCH_STREAM = 1


def _child(seed: int, stream: int) -> np.random.Generator:
    children = np.random.SeedSequence(seed).spawn(2)
    return np.random.Generator(np.random.PCG64(children[stream]))


def init_rng(seed: int) -> np.random.Generator:
    """Return the generator for initial parameters."""
    return _child(seed, _INIT_STREAM)


def batch_rng(seed: int) -> np.random.Generator:
    """Return the generator for the per-epoch shuffles."""
    return _child(seed, _BATCH_STREAM)
