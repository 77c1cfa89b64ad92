"""He-normal initial parameters, drawn once in NumPy so that every engine starts from the same numbers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mlpbench.training.seeding import init_rng


def hidden_sizes(hidden: int | Sequence[int]) -> list[int]:
    """Return the hidden layer widths as a list; a single integer is one layer, as in scikit-learn."""
    if isinstance(hidden, int | np.integer) or np.ndim(hidden) == 0:
        return [int(hidden)]  # type: ignore[arg-type]
    return [int(size) for size in hidden]


def layer_sizes(n_features: int, hidden: int | Sequence[int], n_classes: int) -> list[int]:
    """Return the width of every layer, input first and output last."""
    return [int(n_features), *hidden_sizes(hidden), int(n_classes)]


def he_normal_init(
    sizes: Sequence[int], seed: int, dtype: np.dtype | str = np.float32
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw one (W, b) pair per layer with W ~ N(0, 2 / fan_in) and b = 0.

    W has shape (fan_in, fan_out), so a layer computes ``X @ W + b``. The draws are
    made in float64 and then cast, so float32 and float64 runs start from the same
    values up to rounding.
    """
    rng = init_rng(seed)
    dtype = np.dtype(dtype)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        std = np.sqrt(2.0 / fan_in)
        W = (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)
        b = np.zeros(fan_out, dtype=dtype)
        params.append((W, b))
    return params
