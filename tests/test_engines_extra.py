"""Tests of the torch-dataloader and sklearn engines on real data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sklearn.neural_network._multilayer_perceptron as sklearn_mlp
from sklearn.neural_network import MLPClassifier
from torch.utils.data import DataLoader, RandomSampler

from mlpbench.cli import main
from mlpbench.data import load_dataset
from mlpbench.engines.numpy_engine import NumpyMLP
from mlpbench.engines.registry import create_engine, engine_class
from mlpbench.engines.sklearn_engine import SklearnMLP, sklearn_alpha
from mlpbench.engines.torch_dataloader import TorchDataLoaderMLP
from mlpbench.errors import CheckpointError, DataError
from mlpbench.training.batches import BatchOrder


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", dtype="float32")


def row_id_data(n_rows: int = 96, n_features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Return X whose column 0 is the row index and labels 0..2, for recovering batch order."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(n_rows, n_features)).astype(np.float32)
    X[:, 0] = np.arange(n_rows)
    y = np.arange(n_rows) % 3
    return X, y


# ----- registry ---------------------------------------------------------------------------


def test_registry_builds_new_engines():
    assert engine_class("torch-dataloader") is TorchDataLoaderMLP
    assert engine_class("sklearn") is SklearnMLP
    assert isinstance(create_engine("sklearn", device="cpu", epochs=1), SklearnMLP)
    assert create_engine("torch-dataloader", device="cpu", epochs=1).device == "cpu"


def test_train_command_runs_sklearn(capsys):
    status = main(["-q", "train", "--engine", "sklearn", "--epochs", "2", "--threads", "1"])
    assert status == 0
    assert "sklearn: test loss" in capsys.readouterr().out


# ----- torch-dataloader -------------------------------------------------------------------


def test_dataloader_engine_accuracy_digits(digits):
    model = create_engine("torch-dataloader", epochs=3, lr=0.05, seed=0, threads=1)
    model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    assert model.epoch_ == 3
    assert all(record["time_s"] > 0 for record in model.history_)
    assert model.score(digits.x_test, digits.y_test) > 0.9


def record_epoch_orders(model: TorchDataLoaderMLP, X: np.ndarray, y: np.ndarray) -> list[list[int]]:
    """Fit ``model`` and return the row ids its first layer saw, one list per epoch."""
    model.initialize(X.shape[1], 3)
    orders: list[list[int]] = [[]]

    def record_input(module, inputs):
        orders[-1].extend(int(round(value)) for value in inputs[0][:, 0].tolist())

    model.module_.layers[0].register_forward_pre_hook(record_input)
    model.warm_start = True
    model.fit(X, y, callback=lambda record: orders.append([]))
    return orders[:-1]


def test_dataloader_engine_shuffles_each_epoch():
    X, y = row_id_data()
    settings = {"hidden": [8], "epochs": 2, "batch_size": 16, "lr": 1e-3, "seed": 3, "threads": 1}
    model = TorchDataLoaderMLP(**settings)
    first, second = record_epoch_orders(model, X, y)
    shared_order = next(BatchOrder(len(y), 16, seed=3).epoch())

    assert isinstance(model.loader_, DataLoader)
    assert isinstance(model.loader_.sampler, RandomSampler)
    assert sorted(first) == list(range(len(y)))
    assert sorted(second) == list(range(len(y)))
    assert first != list(range(len(y)))
    assert first != second
    # Its own shuffling: not the batch order that numpy and torch share.
    assert first[:16] != shared_order.tolist()


def test_dataloader_engine_order_is_seeded():
    X, y = row_id_data()
    settings = {"hidden": [8], "epochs": 1, "batch_size": 16, "lr": 1e-3, "threads": 1}
    (seed_3,) = record_epoch_orders(TorchDataLoaderMLP(seed=3, **settings), X, y)
    (seed_3_again,) = record_epoch_orders(TorchDataLoaderMLP(seed=3, **settings), X, y)
    (seed_4,) = record_epoch_orders(TorchDataLoaderMLP(seed=4, **settings), X, y)

    assert seed_3 == seed_3_again
    assert seed_3 != seed_4


def test_dataloader_engine_starts_from_shared_init(digits):
    settings = {"hidden": [16], "epochs": 1, "seed": 5}
    loader_model = TorchDataLoaderMLP(**settings).initialize(digits.n_features, 10)
    numpy_model = NumpyMLP(**settings).initialize(digits.n_features, 10)

    for (W, b), (W_ref, b_ref) in zip(
        loader_model.get_parameters(), numpy_model.get_parameters(), strict=True
    ):
        np.testing.assert_array_equal(W, W_ref)
        np.testing.assert_array_equal(b, b_ref)


# ----- sklearn ----------------------------------------------------------------------------


def test_sklearn_alpha_scales_by_batch():
    assert sklearn_alpha(0.01, 64) == pytest.approx(0.64)
    assert sklearn_alpha(0.0, 64) == 0.0


def test_sklearn_weight_decay_matches_numpy_step(digits):
    """One full-batch SGD step from the same parameters gives the NumPy engine's weights."""
    X = digits.x_train[:200].astype(np.float64)
    y = digits.y_train[:200]
    lr, weight_decay = 0.1, 0.01
    settings = {
        "hidden": [16],
        "batch_size": len(y),
        "lr": lr,
        "momentum": 0.0,
        "weight_decay": weight_decay,
        "dtype": "float64",
        "seed": 0,
        "threads": 1,
        "warm_start": True,
    }
    sk_model = SklearnMLP(epochs=2, **settings)
    sk_model.fit(X, y, n_classes=10, n_epochs=1)
    start = sk_model.get_parameters()
    sk_model.fit(X, y, n_epochs=1)
    sk_after = sk_model.get_parameters()

    np_model = NumpyMLP(epochs=1, **settings).initialize(X.shape[1], 10)
    np_model._set_parameters(start)
    np_model.fit(X, y)
    np_after = np_model.get_parameters()

    for (W_sk, b_sk), (W_np, b_np), (_, b_start) in zip(sk_after, np_after, start, strict=True):
        np.testing.assert_allclose(W_sk, W_np, rtol=1e-10, atol=1e-12)
        # scikit-learn does not decay intercepts; torch.optim.SGD (and numpy) decays biases.
        np.testing.assert_allclose(b_sk, b_np + lr * weight_decay * b_start, rtol=1e-10, atol=1e-12)


def test_sklearn_wrong_alpha_misses_numpy_step(digits, monkeypatch):
    """The same comparison fails when alpha is not scaled by the batch size."""
    monkeypatch.setattr(
        "mlpbench.engines.sklearn_engine.sklearn_alpha", lambda weight_decay, batch: weight_decay
    )
    X = digits.x_train[:200].astype(np.float64)
    y = digits.y_train[:200]
    settings = {
        "hidden": [16],
        "batch_size": len(y),
        "lr": 0.1,
        "momentum": 0.0,
        "weight_decay": 0.01,
        "dtype": "float64",
        "threads": 1,
        "warm_start": True,
    }
    sk_model = SklearnMLP(epochs=2, **settings)
    sk_model.fit(X, y, n_classes=10, n_epochs=1)
    start = sk_model.get_parameters()
    sk_model.fit(X, y, n_epochs=1)
    np_model = NumpyMLP(epochs=1, **settings).initialize(X.shape[1], 10)
    np_model._set_parameters(start)
    np_model.fit(X, y)

    W_sk = sk_model.get_parameters()[0][0]
    W_np = np_model.get_parameters()[0][0]
    assert not np.allclose(W_sk, W_np, rtol=1e-6, atol=1e-9)


def test_sklearn_keeps_float32(digits):
    model = SklearnMLP(hidden=[32], epochs=1, dtype="float32", threads=1)
    model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    assert digits.x_train.dtype == np.float32
    for W, b in model.get_parameters():
        assert W.dtype == np.float32
        assert b.dtype == np.float32
    assert model.classifier_.predict_proba(digits.x_test).dtype == np.float32
    assert model.predict_proba(digits.x_test).dtype == np.float32


def test_sklearn_accuracy_digits_without_warnings(digits):
    model = SklearnMLP(hidden=[128], epochs=10, lr=0.05, seed=0, threads=1)
    with warnings.catch_warnings():
        # Any warning, ConvergenceWarning included, fails the test.
        warnings.simplefilter("error")
        model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    assert model.epoch_ == 10
    assert len(model.history_) == 10
    assert len(model.classifier_.loss_curve_) == 10
    assert model.classifier_.t_ == 10 * len(digits.y_train)
    assert model.score(digits.x_test, digits.y_test) > 0.9


def test_sklearn_shuffles_differently_each_epoch(monkeypatch):
    X, y = row_id_data()
    permutations = []
    original_shuffle = sklearn_mlp.shuffle

    def recording_shuffle(*arrays, **kwargs):
        result = original_shuffle(*arrays, **kwargs)
        permutations.append(np.array(result))
        return result

    monkeypatch.setattr(sklearn_mlp, "shuffle", recording_shuffle)
    SklearnMLP(hidden=[8], epochs=2, batch_size=16, seed=0, threads=1).fit(X, y)

    assert len(permutations) == 2
    assert sorted(permutations[0].tolist()) == list(range(len(y)))
    assert not np.array_equal(permutations[0], permutations[1])


def test_sklearn_cosine_records_constant_rate(digits):
    model = SklearnMLP(hidden=[8], epochs=2, lr=0.05, schedule="cosine", threads=1)
    model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    assert [record["lr"] for record in model.history_] == [0.05, 0.05]
    assert any("cosine" in note for note in SklearnMLP.notes("cosine"))
    assert not any("cosine" in note for note in SklearnMLP.notes("constant"))


def test_sklearn_cosine_substitution_logged_once(digits, monkeypatch, caplog):
    import mlpbench.engines.sklearn_engine as sklearn_engine

    monkeypatch.setattr(sklearn_engine, "_SCHEDULES_WARNED", set())
    with caplog.at_level("WARNING", logger="mlpbench"):
        for _ in range(2):
            model = SklearnMLP(hidden=[8], epochs=1, schedule="cosine", lr=0.03, threads=1)
            model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    logged = [record.getMessage() for record in caplog.records if "no cosine schedule" in record.getMessage()]
    assert logged == [
        "sklearn engine: scikit-learn has no cosine schedule; training at the constant learning rate 0.03"
    ]


def test_sklearn_notes_weight_decay():
    assert not any("alpha" in note for note in SklearnMLP.notes("constant", 0.0))
    assert any("alpha" in note for note in SklearnMLP.notes("constant", 1e-4))


def test_sklearn_notes_subnormal_momentum():
    assert any("subnormal" in note for note in SklearnMLP.notes("constant", 0.0, 0.9))
    assert not any("subnormal" in note for note in SklearnMLP.notes("constant", 0.0, 0.0))
    # The defaults are the estimator's, whose momentum is 0.9.
    assert any("subnormal" in note for note in SklearnMLP.notes())


def test_sklearn_save_raises(tmp_path, digits):
    model = SklearnMLP(hidden=[8], epochs=1, threads=1)
    model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    with pytest.raises(CheckpointError, match="does not write parameter files"):
        model.save(tmp_path / "sklearn.npz")
    assert not (tmp_path / "sklearn.npz").exists()


def test_sklearn_rejects_single_class():
    X = np.ones((10, 3), dtype=np.float32)
    with pytest.raises(DataError, match="at least 2 classes"):
        SklearnMLP(hidden=[4], epochs=1).fit(X, np.zeros(10, dtype=np.int64))


def test_sklearn_ctrl_c_raises_keyboard_interrupt(digits, monkeypatch):
    model = SklearnMLP(hidden=[8], epochs=3, batch_size=64, threads=1)
    original_backprop = MLPClassifier._backprop
    calls = []

    def interrupted_backprop(self, *args, **kwargs):
        # Ctrl-C in the middle of the second epoch, inside scikit-learn's batch loop.
        calls.append(1)
        if len(calls) == len(digits.y_train) // 64 + 3:
            raise KeyboardInterrupt
        return original_backprop(self, *args, **kwargs)

    monkeypatch.setattr(MLPClassifier, "_backprop", interrupted_backprop)
    with pytest.raises(KeyboardInterrupt):
        model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    assert model.epoch_ == 1
    assert len(model.history_) == 1


def test_sklearn_other_warnings_still_warn(digits, monkeypatch):
    original_backprop = MLPClassifier._backprop

    def warning_backprop(self, *args, **kwargs):
        warnings.warn("a warning from scikit-learn", UserWarning, stacklevel=1)
        return original_backprop(self, *args, **kwargs)

    monkeypatch.setattr(MLPClassifier, "_backprop", warning_backprop)
    model = SklearnMLP(hidden=[8], epochs=1, threads=1)
    with pytest.warns(UserWarning, match="a warning from scikit-learn"):
        model.fit(digits.x_train, digits.y_train, n_classes=digits.n_classes)

    assert model.epoch_ == 1
