"""``TorchMLP`` against ``NumpyMLP``: same gradients, same training run, no softmax in the module."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn

from mlpbench import NumpyMLP, TorchMLP
from mlpbench.engines.numpy_engine.backward import backward
from mlpbench.engines.numpy_engine.forward import forward
from mlpbench.engines.numpy_engine.loss import cross_entropy_with_grad
from mlpbench.engines.torch_engine import MLPModule
from mlpbench.errors import TrainingDivergedError

Params = list[tuple[np.ndarray, np.ndarray]]
Digits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

# Two hidden layers, momentum, weight decay and the cosine schedule. The 1347
# training rows in batches of 100 leave a partial last batch of 47.
PARITY_CONFIG = {
    "hidden": [32, 16],
    "epochs": 4,
    "batch_size": 100,
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 1e-3,
    "schedule": "cosine",
    "seed": 3,
    "threads": 1,
}


@pytest.fixture(scope="module")
def digits() -> Digits:
    """Return the 8x8 digits scaled to [0, 1]: 1347 training rows, then 450 test rows."""
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return X[:1347], y[:1347], X[1347:], y[1347:]


# With momentum the NumPy engine adds each gradient into its momentum buffer inside
# gemm. Without it, a separate update applies the gradient and the weight decay.
UPDATE_PATHS = [pytest.param(0.9, id="momentum"), pytest.param(0.0, id="plain-sgd")]


@pytest.fixture(scope="module", params=UPDATE_PATHS)
def float64_pair(request: pytest.FixtureRequest, digits: Digits) -> tuple[NumpyMLP, TorchMLP]:
    X_train, y_train, _, _ = digits
    config = {**PARITY_CONFIG, "momentum": request.param, "dtype": "float64"}
    numpy_model = NumpyMLP(**config).fit(X_train, y_train)
    torch_model = TorchMLP(**config).fit(X_train, y_train)
    return numpy_model, torch_model


def max_relative_difference(expected: np.ndarray, actual: np.ndarray, floor: float = 1e-12) -> float:
    return float(np.max(np.abs(actual - expected) / np.maximum(np.abs(expected), floor)))


# ----- whole training runs --------------------------------------------------------------


def test_float64_parameters_agree(float64_pair: tuple[NumpyMLP, TorchMLP]) -> None:
    numpy_model, torch_model = float64_pair

    pairs = zip(numpy_model.get_parameters(), torch_model.get_parameters(), strict=True)
    for layer, ((W_np, b_np), (W_torch, b_torch)) in enumerate(pairs):
        for name, expected, actual in ((f"W{layer}", W_np, W_torch), (f"b{layer}", b_np, b_torch)):
            assert actual.dtype == np.float64
            difference = max_relative_difference(expected, actual)
            np.testing.assert_allclose(
                actual, expected, rtol=1e-9, atol=1e-12,
                err_msg=f"{name}: max relative difference {difference:.3g}",
            )


def test_float64_parameters_moved_from_init(float64_pair: tuple[NumpyMLP, TorchMLP]) -> None:
    """Guard against agreeing only because neither engine trained."""
    numpy_model, _ = float64_pair
    fresh = NumpyMLP(**PARITY_CONFIG, dtype="float64").initialize(64, 10)

    W_trained = numpy_model.get_parameters()[0][0]
    W_initial = fresh.get_parameters()[0][0]

    assert np.abs(W_trained - W_initial).max() > 1e-2


def test_float64_batch_losses_agree(float64_pair: tuple[NumpyMLP, TorchMLP]) -> None:
    numpy_model, torch_model = float64_pair

    numpy_losses = np.concatenate(numpy_model.batch_losses_)
    torch_losses = np.concatenate(torch_model.batch_losses_)

    assert numpy_losses.shape == (4 * 14,)
    assert torch_losses.shape == numpy_losses.shape
    difference = max_relative_difference(numpy_losses, torch_losses)
    np.testing.assert_allclose(
        torch_losses, numpy_losses, rtol=1e-9, atol=1e-12,
        err_msg=f"max relative difference {difference:.3g}",
    )


def test_float64_history_agrees(float64_pair: tuple[NumpyMLP, TorchMLP]) -> None:
    numpy_model, torch_model = float64_pair

    assert [r["lr"] for r in torch_model.history_] == [r["lr"] for r in numpy_model.history_]
    np.testing.assert_allclose(
        [r["train_loss"] for r in torch_model.history_],
        [r["train_loss"] for r in numpy_model.history_],
        rtol=1e-9,
    )


@pytest.mark.parametrize("momentum", [0.9, 0.0], ids=["momentum", "plain-sgd"])
def test_float32_parameters_agree(digits: Digits, momentum: float) -> None:
    # float32 is the default. After four epochs the two engines differ by about one unit in
    # the last place (1.2e-7 at parameters near 1); 2e-6 leaves room for other BLAS builds.
    X_train, y_train, _, _ = digits
    config = {**PARITY_CONFIG, "momentum": momentum, "dtype": "float32"}

    numpy_model = NumpyMLP(**config).fit(X_train, y_train)
    torch_model = TorchMLP(**config).fit(X_train, y_train)

    pairs = zip(numpy_model.get_parameters(), torch_model.get_parameters(), strict=True)
    for layer, ((W_np, b_np), (W_torch, b_torch)) in enumerate(pairs):
        for name, expected, actual in ((f"W{layer}", W_np, W_torch), (f"b{layer}", b_np, b_torch)):
            assert actual.dtype == np.float32
            np.testing.assert_allclose(actual, expected, rtol=0, atol=2e-6, err_msg=name)


def test_float32_predictions_agree(digits: Digits) -> None:
    X_train, y_train, X_test, y_test = digits
    config = {"hidden": [64], "epochs": 10, "batch_size": 32, "lr": 0.05, "momentum": 0.9, "threads": 1}

    numpy_model = NumpyMLP(**config, dtype="float32").fit(X_train, y_train)
    torch_model = TorchMLP(**config, dtype="float32").fit(X_train, y_train)

    agreement = float(np.mean(numpy_model.predict(X_test) == torch_model.predict(X_test)))
    numpy_accuracy = numpy_model.score(X_test, y_test)
    torch_accuracy = torch_model.score(X_test, y_test)
    assert agreement >= 0.999, f"predictions agree on {agreement:.2%} of the test rows"
    assert abs(numpy_accuracy - torch_accuracy) <= 0.002, (
        f"accuracy {numpy_accuracy:.2%} (numpy) vs {torch_accuracy:.2%} (torch)"
    )
    assert numpy_accuracy > 0.85


# ----- one step from identical parameters -----------------------------------------------


def random_params(sizes: list[int], rng: np.random.Generator) -> Params:
    return [
        (rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in), 0.1 * rng.standard_normal(fan_out))
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    ]


def numpy_gradients(params: Params, X: np.ndarray, y: np.ndarray) -> tuple[float, Params]:
    logits, inputs = forward(params, X)
    loss, dlogits = cross_entropy_with_grad(logits, y)
    return loss, backward(params, inputs, dlogits)


def module_from(params: Params) -> MLPModule:
    sizes = [params[0][0].shape[0], *(W.shape[1] for W, _ in params)]
    module = MLPModule(sizes).double()
    with torch.no_grad():
        for layer, (W, b) in zip(module.layers, params, strict=True):
            layer.weight.copy_(torch.from_numpy(W.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    return module


def autograd_gradients(
    params: Params, X: np.ndarray, y: np.ndarray, *, extra_softmax: bool = False
) -> tuple[float, Params]:
    module = module_from(params)
    outputs = module(torch.from_numpy(X))
    if extra_softmax:
        outputs = torch.softmax(outputs, dim=1)
    loss = nn.CrossEntropyLoss()(outputs, torch.from_numpy(y))
    loss.backward()
    grads = [
        (layer.weight.grad.numpy().T.copy(), layer.bias.grad.numpy().copy()) for layer in module.layers
    ]
    return loss.detach().item(), grads


def assert_gradients_equal(expected: Params, actual: Params) -> None:
    for layer, ((dW, db), (dW_t, db_t)) in enumerate(zip(expected, actual, strict=True)):
        scale = max(np.abs(dW).max(), np.abs(db).max())
        np.testing.assert_allclose(dW_t, dW, rtol=1e-12, atol=1e-14 * scale, err_msg=f"dW{layer}")
        np.testing.assert_allclose(db_t, db, rtol=1e-12, atol=1e-14 * scale, err_msg=f"db{layer}")


STEP_CASES = [
    pytest.param([10, 3], 1, id="softmax-regression"),
    pytest.param([10, 20, 4], 2, id="one-hidden"),
    pytest.param([12, 16, 8, 5], 3, id="two-hidden"),
    pytest.param([7, 32, 32, 32, 10], 4, id="three-hidden"),
]


@pytest.mark.parametrize(("sizes", "seed"), STEP_CASES)
@pytest.mark.parametrize("batch", [1, 17])
def test_one_step_gradients_match_autograd(sizes: list[int], seed: int, batch: int) -> None:
    rng = np.random.default_rng(seed)
    params = random_params(sizes, rng)
    X = rng.standard_normal((batch, sizes[0]))
    y = rng.integers(0, sizes[-1], batch)

    numpy_loss, numpy_grads = numpy_gradients(params, X, y)
    torch_loss, torch_grads = autograd_gradients(params, X, y)

    assert numpy_loss == pytest.approx(torch_loss, rel=1e-12)
    assert_gradients_equal(numpy_grads, torch_grads)


def test_dead_relu_columns_match_autograd() -> None:
    rng = np.random.default_rng(5)
    params = random_params([10, 12, 6, 4], rng)
    params[0][1][[2, 7]] = -1e3  # hidden units 2 and 7 of layer 1 never fire
    params[1][1][4] = -1e3  # hidden unit 4 of layer 2 never fires
    X = rng.standard_normal((25, 10))
    y = rng.integers(0, 4, 25)

    _, inputs = forward(params, X)
    numpy_loss, numpy_grads = numpy_gradients(params, X, y)
    torch_loss, torch_grads = autograd_gradients(params, X, y)

    assert not inputs[1][:, [2, 7]].any()
    assert not inputs[2][:, 4].any()
    for grads in (numpy_grads, torch_grads):
        assert not grads[0][0][:, [2, 7]].any()
        assert not grads[0][1][[2, 7]].any()
        assert not grads[1][0][:, 4].any()
        assert not grads[1][1][4].any()
    assert numpy_loss == pytest.approx(torch_loss, rel=1e-12)
    assert_gradients_equal(numpy_grads, torch_grads)


def test_extra_softmax_changes_gradients() -> None:
    """A softmax before CrossEntropyLoss would be noticed: the gradients move far beyond tolerance."""
    rng = np.random.default_rng(6)
    params = random_params([10, 16, 5], rng)
    X = rng.standard_normal((20, 10))
    y = rng.integers(0, 5, 20)

    _, numpy_grads = numpy_gradients(params, X, y)
    _, double_softmax_grads = autograd_gradients(params, X, y, extra_softmax=True)

    for layer, ((dW, _), (dW_wrong, _)) in enumerate(zip(numpy_grads, double_softmax_grads, strict=True)):
        difference = np.abs(dW_wrong - dW).max() / np.abs(dW).max()
        assert difference > 0.1, f"layer {layer}: relative difference only {difference:.3g}"
    with pytest.raises(AssertionError):
        assert_gradients_equal(numpy_grads, double_softmax_grads)


def test_module_returns_raw_logits() -> None:
    rng = np.random.default_rng(7)
    params = random_params([10, 16, 5], rng)
    X = rng.standard_normal((30, 10))

    with torch.no_grad():
        outputs = module_from(params)(torch.from_numpy(X)).numpy()

    logits, _ = forward(params, X)
    assert (outputs < 0).any()
    assert not np.allclose(outputs.sum(axis=1), 1.0)
    np.testing.assert_allclose(outputs, logits, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fused", [False, True], ids=["for-loop", "fused"])
def test_optimizer_matches_numpy_sgd(fused: bool) -> None:
    """torch.optim.SGD applies the same two-step update as the hand-computed NumPy test.

    The torch engine uses the fused kernel, and the textbook training loop the plain one.
    """
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=0.5, momentum=0.9, weight_decay=0.1, fused=fused)

    for grad in ([0.5, 1.0], [-1.0, 0.25]):
        p.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()

    np.testing.assert_allclose(p.detach().numpy(), [0.895, -2.765], rtol=1e-14)


# ----- torch engine behaviour -----------------------------------------------------------


def test_torch_float32_stays_float32(digits: Digits) -> None:
    X_train, y_train, X_test, _ = digits

    model = TorchMLP(hidden=[8], epochs=1, dtype="float32", threads=1).fit(X_train, y_train)

    for layer, (W, b) in enumerate(model.get_parameters()):
        assert W.dtype == np.float32, f"W{layer}"
        assert b.dtype == np.float32, f"b{layer}"
    assert model.predict_proba(X_test).dtype == np.float32


def test_torch_huge_lr_raises_diverged() -> None:
    X, y = load_digits(return_X_y=True)
    model = TorchMLP(hidden=[32], epochs=2, lr=1e6, threads=1)

    with pytest.raises(TrainingDivergedError) as error:
        model.fit(X, y)

    message = str(error.value)
    assert "epoch 1" in message
    assert "batch" in message
    assert "learning rate 1e+06" in message


def test_torch_last_step_overflow_raises() -> None:
    """With one batch and one epoch, the only loss is measured before the step that overflows."""
    X, y = load_digits(return_X_y=True)
    model = TorchMLP(hidden=[4], epochs=1, batch_size=len(y), lr=1e36, seed=0, threads=1)

    with pytest.raises(TrainingDivergedError, match="epoch 1"):
        model.fit(X * 1000, y)


def test_torch_lr_beyond_float32_range() -> None:
    """An lr that float32 cannot hold must give an error the command line reports in one line."""
    X, y = load_digits(return_X_y=True)
    model = TorchMLP(hidden=[4], epochs=1, lr=1e39, dtype="float32", threads=1)

    with pytest.raises((ValueError, TrainingDivergedError), match="1e[+]39"):
        model.fit(X[:100], y[:100])


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_gpu_raises(digits: Digits) -> None:
    X_train, y_train, _, _ = digits
    model = TorchMLP(hidden=[8], epochs=1, device="cuda")

    with pytest.raises(ValueError, match="cuda") as error:
        model.fit(X_train, y_train)

    assert "--device cpu" in str(error.value)


def test_unknown_device_raises(digits: Digits) -> None:
    X_train, y_train, _, _ = digits

    with pytest.raises(ValueError, match="'mps'"):
        TorchMLP(hidden=[8], epochs=1, device="mps").fit(X_train, y_train)


def test_dataloader_step_matches_the_others_on_full_batches() -> None:
    # The DataLoader engine has its own training loop. With one batch per epoch its
    # batches hold the same rows as the others', so a softmax added in front of its
    # CrossEntropyLoss, or a summed loss, would show here directly.
    from sklearn.datasets import load_digits

    from mlpbench import NumpyMLP, TorchDataLoaderMLP

    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    settings = dict(hidden=[16], epochs=3, batch_size=1000, dtype="float64", threads=1)
    numpy_model = NumpyMLP(**settings).fit(X, y)
    loader_model = TorchDataLoaderMLP(**settings).fit(X, y)

    for (W, b), (W_loader, b_loader) in zip(
        numpy_model.get_parameters(), loader_model.get_parameters(), strict=True
    ):
        np.testing.assert_allclose(W_loader, W, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b_loader, b, rtol=1e-10, atol=1e-12)
