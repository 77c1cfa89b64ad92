"""Both engines keep their momentum out of the subnormal range within long epochs."""

from __future__ import annotations

import numpy as np
import pytest

from mlpbench import NumpyMLP, TorchMLP


@pytest.mark.parametrize(
    ("engine", "use_blas_update"), [(NumpyMLP, True), (NumpyMLP, False), (TorchMLP, None)]
)
def test_long_epoch_momentum_stays_normal(engine: type, use_blas_update: bool | None) -> None:
    # One epoch of 3,000 steps (batch size 1), with feature 0 active in one row only. After
    # that row, its weights' momentum decays by 0.9 per step. Without the zeroing every
    # 203 steps, it turns subnormal about 800 steps later, within the same epoch.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 4)).astype(np.float32)
    X[1:, 0] = 0
    y = np.arange(3000) % 3
    model = engine(hidden=[8], epochs=1, batch_size=1, lr=0.01, dtype="float32", seed=0, threads=1)
    if use_blas_update is not None:
        model.use_blas_update = use_blas_update

    model.fit(X, y)

    (W1_buffer, _), _ = model._get_momentum_buffers()
    subnormal = (W1_buffer != 0) & (np.abs(W1_buffer) < np.finfo(np.float32).tiny)
    assert not subnormal.any(), W1_buffer[0]
