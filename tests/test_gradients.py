"""Finite-difference checks of the NumPy engine's forward, loss and backward pass (float64)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from mlpbench.engines.numpy_engine.backward import backward
from mlpbench.engines.numpy_engine.forward import forward
from mlpbench.engines.numpy_engine.loss import cross_entropy_with_grad

Params = list[tuple[np.ndarray, np.ndarray]]
BackwardFn = Callable[[Params, list[np.ndarray], np.ndarray], Params]

# Central differences with this step carry an absolute rounding error near 1e-10
# for these nets, which swamps entries of 1e-5 or less (and dead units give exact
# zeros). So each array's error is taken relative to that array's largest entry.
STEP = 1e-5
MAX_RELATIVE_ERROR = 1e-6

N_FEATURES = 5
N_CLASSES = 4
BATCH = 12


def random_problem(
    hidden: tuple[int, ...], bias_shift: float, seed: int
) -> tuple[Params, np.ndarray, np.ndarray]:
    """Return float64 parameters, X of shape (BATCH, N_FEATURES) and labels of shape (BATCH,)."""
    rng = np.random.default_rng(seed)
    sizes = [N_FEATURES, *hidden, N_CLASSES]
    params = [
        (rng.standard_normal((fan_in, fan_out)), 0.1 * rng.standard_normal(fan_out) + bias_shift)
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    X = rng.standard_normal((BATCH, N_FEATURES))
    y = rng.integers(0, N_CLASSES, BATCH)
    return params, X, y


def mean_loss(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    logits, _ = forward(params, X)
    loss, _ = cross_entropy_with_grad(logits, y)
    return loss


def analytic_gradients(
    params: Params, X: np.ndarray, y: np.ndarray, backward_fn: BackwardFn = backward
) -> Params:
    logits, inputs = forward(params, X)
    _, dlogits = cross_entropy_with_grad(logits, y)
    return backward_fn(params, inputs, dlogits)


def numeric_gradients(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
    """Return central differences of the mean loss for every parameter entry."""
    grads = []
    for W, b in params:
        pair = []
        for array in (W, b):
            grad = np.zeros_like(array)
            for index in np.ndindex(array.shape):
                original = array[index]
                array[index] = original + STEP
                loss_plus = mean_loss(params, X, y)
                array[index] = original - STEP
                loss_minus = mean_loss(params, X, y)
                array[index] = original
                grad[index] = (loss_plus - loss_minus) / (2 * STEP)
            pair.append(grad)
        grads.append((pair[0], pair[1]))
    return grads


def max_relative_error(analytic: Params, numeric: Params) -> float:
    """Return the largest ``max|a - n| / max(|a|, |n|)`` over the parameter arrays."""
    worst = 0.0
    for (dW, db), (nW, nb) in zip(analytic, numeric, strict=True):
        for a, n in ((dW, nW), (db, nb)):
            scale = max(float(np.abs(a).max()), float(np.abs(n).max()))
            if scale == 0.0:
                continue  # both arrays are all zeros, so they agree
            worst = max(worst, float(np.abs(a - n).max()) / scale)
    return worst


def backward_without_relu_mask(params: Params, inputs: list[np.ndarray], dlogits: np.ndarray) -> Params:
    """Backpropagate like ``backward`` but pass gradients through inactive ReLUs (the bug to catch)."""
    grads: Params = []
    dZ = dlogits
    for index in range(len(params) - 1, -1, -1):
        W, _ = params[index]
        grads.insert(0, (inputs[index].T @ dZ, dZ.sum(axis=0)))
        dZ = dZ @ W.T
    return grads


ARCHITECTURES = [
    pytest.param((), 0.0, id="softmax-regression"),
    pytest.param((7,), 0.0, id="one-hidden"),
    pytest.param((6, 5), 0.0, id="two-hidden"),
    pytest.param((6, 5), -1.0, id="two-hidden-negative-bias"),
]


@pytest.mark.parametrize(("hidden", "bias_shift"), ARCHITECTURES)
@pytest.mark.parametrize("seed", [0, 1])
def test_backward_matches_finite_differences(hidden: tuple[int, ...], bias_shift: float, seed: int) -> None:
    params, X, y = random_problem(hidden, bias_shift, seed)

    error = max_relative_error(analytic_gradients(params, X, y), numeric_gradients(params, X, y))

    assert error < MAX_RELATIVE_ERROR, f"max relative error {error:.3g}"


def test_negative_bias_case_has_inactive_units() -> None:
    params, X, _ = random_problem((6, 5), -1.0, seed=0)
    _, inputs = forward(params, X)

    for layer, activations in enumerate(inputs[1:], start=1):
        inactive = float(np.mean(activations == 0))
        assert inactive > 0.5, f"layer {layer}: only {inactive:.0%} of ReLU outputs are zero"


def test_check_rejects_backward_without_relu_mask() -> None:
    params, X, y = random_problem((6, 5), -1.0, seed=0)

    unmasked = analytic_gradients(params, X, y, backward_without_relu_mask)
    error = max_relative_error(unmasked, numeric_gradients(params, X, y))

    assert error > 1e-2, f"max relative error {error:.3g} would pass the check"


def test_gradient_is_of_mean_loss() -> None:
    params, X, y = random_problem((6, 5), 0.0, seed=2)

    grads = analytic_gradients(params, X, y)
    doubled = analytic_gradients(params, np.vstack([X, X]), np.concatenate([y, y]))

    for layer, ((dW, db), (dW2, db2)) in enumerate(zip(grads, doubled, strict=True)):
        np.testing.assert_allclose(dW2, dW, rtol=1e-12, atol=1e-15, err_msg=f"dW{layer}")
        np.testing.assert_allclose(db2, db, rtol=1e-12, atol=1e-15, err_msg=f"db{layer}")


def test_loss_gradient_is_divided_by_batch() -> None:
    logits = np.array([[2.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    y = np.array([0, 2])

    _, dlogits = cross_entropy_with_grad(logits.copy(), y)

    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[[0, 1], y] -= 1
    np.testing.assert_allclose(dlogits, probs / 2, rtol=1e-13)


def test_huge_logits_give_finite_loss() -> None:
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]])
    y = np.array([1, 1])

    loss, dlogits = cross_entropy_with_grad(logits.copy(), y)

    # Row 0 puts its mass on class 0, so its loss is 1e4 - (-1e4); row 1 is right.
    assert np.isfinite(loss)
    assert loss == pytest.approx(1e4, rel=1e-12)
    assert np.isfinite(dlogits).all()
    np.testing.assert_allclose(dlogits, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-15)


def test_huge_logits_give_finite_gradients() -> None:
    params, X, y = random_problem((6,), 0.0, seed=3)
    W, b = params[-1]
    params[-1] = (W * 1e4, b)

    logits, inputs = forward(params, X)
    loss, dlogits = cross_entropy_with_grad(logits, y)
    grads = backward(params, inputs, dlogits)

    assert np.abs(logits).max() > 1e3
    assert np.isfinite(loss)
    for layer, (dW, db) in enumerate(grads):
        assert np.isfinite(dW).all(), f"dW{layer} is not finite"
        assert np.isfinite(db).all(), f"db{layer} is not finite"


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("rows", [1, 7])
def test_loss_is_the_same_for_either_memory_layout(order: str, rows: int) -> None:
    rng = np.random.default_rng(rows)
    logits = rng.normal(size=(rows, 5))
    y = rng.integers(0, 5, size=rows)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected_loss = -np.mean(np.log(probs[np.arange(rows), y]))
    expected_grad = probs.copy()
    expected_grad[np.arange(rows), y] -= 1
    expected_grad /= rows

    buffer = np.array(logits, order=order)
    loss, dlogits = cross_entropy_with_grad(buffer, y, overwrite_logits=True)

    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(dlogits, expected_grad, rtol=1e-12, atol=1e-15)
    assert np.shares_memory(dlogits, buffer), "the gradient should be written into the logits"


@pytest.mark.parametrize("rows", [100, 300])
def test_loss_accepts_uint8_labels(rows: int) -> None:
    # IDX files store labels as uint8, so a label's flat index (label * rows) must not wrap.
    rng = np.random.default_rng(rows)
    logits = rng.normal(size=(rows, 10))
    y = rng.integers(0, 10, size=rows).astype(np.uint8)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected_loss = -np.mean(np.log(probs[np.arange(rows), y]))
    expected_grad = probs.copy()
    expected_grad[np.arange(rows), y] -= 1
    expected_grad /= rows

    loss, dlogits = cross_entropy_with_grad(np.asfortranarray(logits), y, overwrite_logits=True)

    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(dlogits, expected_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("overwrite", [False, True])
def test_loss_leaves_a_strided_view_unchanged(overwrite: bool) -> None:
    # A view with gaps between its columns cannot take the gradient in place, so even
    # overwrite_logits=True must copy it and leave the caller's array alone.
    rng = np.random.default_rng(4)
    wide = rng.normal(size=(6, 8))
    logits = wide[:, ::2]
    before = logits.copy()
    y = np.array([0, 1, 2, 3, 0, 1])
    probs = np.exp(before) / np.exp(before).sum(axis=1, keepdims=True)
    expected_loss = -np.mean(np.log(probs[np.arange(6), y]))
    expected_grad = probs.copy()
    expected_grad[np.arange(6), y] -= 1
    expected_grad /= 6

    loss, dlogits = cross_entropy_with_grad(logits, y, overwrite_logits=overwrite)

    np.testing.assert_array_equal(logits, before)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    np.testing.assert_allclose(dlogits, expected_grad, rtol=1e-12, atol=1e-15)
