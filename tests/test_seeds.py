"""What ``seed`` decides in an engine: its initial parameters and its batch order, apart."""

from __future__ import annotations

import numpy as np
import pytest

from mlpbench import NumpyMLP, TorchMLP
from mlpbench.engines.base import MLPEstimator

ENGINES = [NumpyMLP, TorchMLP]
N_SAMPLES = 50


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(N_SAMPLES, 4)), rng.integers(0, 3, size=N_SAMPLES)


def _batches_seen(model: MLPEstimator, X: np.ndarray, y: np.ndarray) -> list[list[int]]:
    """Fit ``model`` and return, per epoch, the row indices its steps trained on, in order."""
    seen: list[int] = []
    train_step = model._train_step

    def recording_step(X_engine, y_engine, batch, lr):
        seen.extend(np.asarray(batch).tolist())
        return train_step(X_engine, y_engine, batch, lr)

    model._train_step = recording_step
    model.fit(X, y)
    return [seen[start : start + N_SAMPLES] for start in range(0, len(seen), N_SAMPLES)]


def _reference_orders(seed: int, epochs: int) -> list[list[int]]:
    # The batch stream is the second child of SeedSequence(seed), one permutation per epoch.
    stream = np.random.SeedSequence(seed).spawn(2)[1]
    rng = np.random.Generator(np.random.PCG64(stream))
    return [rng.permutation(N_SAMPLES).tolist() for _ in range(epochs)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", [0, 7])
def test_epoch_orders_follow_seed(engine, blobs, seed: int) -> None:
    X, y = blobs

    orders = _batches_seen(engine(hidden=[8], epochs=3, batch_size=16, seed=seed, threads=1), X, y)

    assert orders == _reference_orders(seed, 3)


@pytest.mark.parametrize("engine", ENGINES)
def test_batch_order_ignores_network_shape(engine, blobs) -> None:
    # Initial parameters come from a stream of their own, so drawing more of them
    # leaves the batches as they were.
    X, y = blobs

    small = _batches_seen(engine(hidden=[4], epochs=2, batch_size=16, seed=3, threads=1), X, y)
    large = _batches_seen(engine(hidden=[32, 16], epochs=2, batch_size=16, seed=3, threads=1), X, y)

    assert small == large


@pytest.mark.parametrize("engine", ENGINES)
def test_seed_sets_initial_parameters(engine) -> None:
    def initial(seed: int) -> list[np.ndarray]:
        model = engine(hidden=[8], seed=seed, dtype="float64").initialize(4, 3)
        return [array for pair in model.get_parameters() for array in pair]

    first, again, other = initial(1), initial(1), initial(2)

    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], other[0])


@pytest.mark.parametrize("engine", ["torch", "torch-dataloader"])
def test_fit_leaves_global_torch_rng(engine, blobs) -> None:
    import torch

    from mlpbench.engines.registry import create_engine

    X, y = blobs
    torch.manual_seed(5)
    expected = torch.rand(3)

    torch.manual_seed(5)
    create_engine(engine, hidden=[4], epochs=1, threads=1).fit(X, y)

    assert torch.equal(torch.rand(3), expected)
