"""The BLAS path of the NumPy engine: NumPy's own gemm and axpy, and the fused momentum step."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mlpbench import NumpyMLP
from mlpbench.engines.numpy_engine import model as model_module
from mlpbench.engines.numpy_engine.blas import Blas, numpy_blas

# Two hidden layers, weight decay and the cosine schedule. The 1797 rows in batches
# of 100 leave a partial last batch of 97.
CONFIG = {
    "hidden": [32, 16],
    "epochs": 3,
    "batch_size": 100,
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 1e-3,
    "schedule": "cosine",
    "seed": 5,
    "dtype": "float64",
    "threads": 1,
}


@pytest.fixture(scope="module")
def blas() -> Blas:
    found = numpy_blas()
    if found is None:
        pytest.skip("this NumPy build exports no 64-bit CBLAS symbols")
    return found


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_numpy_wheel_blas_is_found() -> None:
    blas_info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    if blas_info.get("name") != "scipy-openblas":
        pytest.skip(f"NumPy is built with {blas_info.get('name')}, not the wheel's scipy-openblas")

    assert numpy_blas() is not None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("beta", [0.0, 0.9])
def test_product_matches_numpy(blas: Blas, dtype: type, order: str, beta: float) -> None:
    rng = np.random.default_rng(1)
    A = rng.normal(size=(7, 4)).astype(dtype)
    B = np.array(rng.normal(size=(7, 3)), dtype=dtype, order=order)
    C = rng.normal(size=(4, 3)).astype(dtype)
    expected = A.T @ B + beta * C

    blas.add_transposed_product(A, B, C, beta)

    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(C, expected, rtol=tolerance)


def test_product_with_zero_beta_ignores_nan(blas: Blas) -> None:
    A = np.ones((2, 3))
    B = np.ones((2, 2))
    C = np.full((3, 2), np.nan)

    blas.add_transposed_product(A, B, C, 0.0)

    np.testing.assert_array_equal(C, np.full((3, 2), 2.0))


def test_product_rejects_mixed_dtypes(blas: Blas) -> None:
    with pytest.raises(ValueError, match="one dtype"):
        blas.add_transposed_product(np.ones((2, 3)), np.ones((2, 2), np.float32), np.ones((3, 2)), 0.0)


def test_product_rejects_strided_input(blas: Blas) -> None:
    A = np.ones((2, 6))[:, ::2]
    with pytest.raises(ValueError, match="contiguous"):
        blas.add_transposed_product(A, np.ones((2, 2)), np.ones((3, 2)), 0.0)


def test_product_rejects_wrong_shapes(blas: Blas) -> None:
    with pytest.raises(ValueError, match="shapes do not match"):
        blas.add_transposed_product(np.ones((2, 3)), np.ones((4, 2)), np.ones((3, 2)), 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_matches_numpy(blas: Blas, dtype: type) -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=11).astype(dtype)
    y = rng.normal(size=11).astype(dtype)
    expected = y - 0.3 * x

    blas.axpy(-0.3, x, y)

    np.testing.assert_allclose(y, expected, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_axpy_rejects_shape_mismatch(blas: Blas) -> None:
    with pytest.raises(ValueError, match="one shape"):
        blas.axpy(1.0, np.ones(3), np.ones(4))


def train(X: np.ndarray, y: np.ndarray, *, use_blas: bool, **overrides: object) -> NumpyMLP:
    model = NumpyMLP(**{**CONFIG, **overrides})
    model.use_blas_update = use_blas
    return model.fit(X, y)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_fused_training_matches_plain(
    blas: Blas, digits: tuple[np.ndarray, np.ndarray], weight_decay: float
) -> None:
    X, y = digits
    plain = train(X, y, use_blas=False, weight_decay=weight_decay)
    fused = train(X, y, use_blas=True, weight_decay=weight_decay)

    for (W, b), (W_fused, b_fused) in zip(plain.get_parameters(), fused.get_parameters(), strict=True):
        np.testing.assert_allclose(W_fused, W, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b_fused, b, rtol=1e-9, atol=1e-12)
    for (W, b), (W_fused, b_fused) in zip(
        plain._get_momentum_buffers(), fused._get_momentum_buffers(), strict=True
    ):
        np.testing.assert_allclose(W_fused, W, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b_fused, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fused.batch_losses_[-1], plain.batch_losses_[-1], rtol=1e-9)


def test_first_fused_step_sets_buffer_to_gradient(blas: Blas, digits: tuple[np.ndarray, np.ndarray]) -> None:
    """On the first step torch's momentum buffer becomes the gradient, with no momentum term."""
    X, y = digits
    one_step = {"batch_size": len(X), "epochs": 1, "weight_decay": 0.0, "schedule": "constant"}
    plain = train(X, y, use_blas=False, **one_step)
    fused = train(X, y, use_blas=True, **one_step)

    for (W, b), (W_fused, b_fused) in zip(
        plain._get_momentum_buffers(), fused._get_momentum_buffers(), strict=True
    ):
        np.testing.assert_allclose(W_fused, W, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(b_fused, b, rtol=1e-10, atol=1e-14)


def test_engine_falls_back_without_blas(
    monkeypatch: pytest.MonkeyPatch, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    X, y = digits
    plain = train(X, y, use_blas=False)
    monkeypatch.setattr(model_module, "numpy_blas", lambda: None)
    without_blas = train(X, y, use_blas=True)

    for (W, b), (W_other, b_other) in zip(plain.get_parameters(), without_blas.get_parameters(), strict=True):
        np.testing.assert_array_equal(W_other, W)
        np.testing.assert_array_equal(b_other, b)
