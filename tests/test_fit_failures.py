"""fit after a divergence or Ctrl-C: the failed epoch is undone, the finished ones stay."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from mlpbench import NumpyMLP, SklearnMLP, TorchDataLoaderMLP, TorchMLP
from mlpbench.errors import TrainingDivergedError

ENGINES = [NumpyMLP, TorchMLP, TorchDataLoaderMLP, SklearnMLP]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _parameters(model) -> list[np.ndarray]:
    return [array for pair in model.get_parameters() for array in pair]


def _fail_in_epoch(engine, monkeypatch, epoch: int, failure: type[BaseException]) -> None:
    """Make epoch ``epoch`` (1-based) fail after it changed the parameters and was counted."""
    run_epoch = engine._run_epoch

    def failing(self, *args, **kwargs):
        record = run_epoch(self, *args, **kwargs)
        if self.epoch_ == epoch:
            raise failure("training diverged") if failure is TrainingDivergedError else failure
        return record

    monkeypatch.setattr(engine, "_run_epoch", failing)


@pytest.mark.parametrize("failure", [TrainingDivergedError, KeyboardInterrupt], ids=["diverge", "interrupt"])
@pytest.mark.parametrize("engine", ENGINES)
def test_failed_epoch_is_undone_and_finished_ones_stay(engine, digits, monkeypatch, failure) -> None:
    X, y = digits
    twin = engine(hidden=[16], epochs=2, threads=1).fit(X, y)
    model = engine(hidden=[16], epochs=5, threads=1)

    _fail_in_epoch(engine, monkeypatch, 3, failure)
    with pytest.raises(failure):
        model.fit(X, y)

    assert model.epoch_ == 2
    assert [record["epoch"] for record in model.history_] == [1, 2]
    assert len(model.batch_losses_) == 2
    for mine, theirs in zip(_parameters(model), _parameters(twin), strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_first_epoch_leaves_unfitted(engine, digits, monkeypatch) -> None:
    X, y = digits
    model = engine(hidden=[16], epochs=3, threads=1)

    _fail_in_epoch(engine, monkeypatch, 1, TrainingDivergedError)
    with pytest.raises(TrainingDivergedError):
        model.fit(X, y)

    assert not model.is_fitted
    with pytest.raises(NotFittedError):
        model.predict(X)


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_warm_fit_recovers_after_divergence(engine, digits) -> None:
    # Before, the diverged parameters stayed, and every later fit failed with a NaN loss.
    X, y = digits
    model = engine(hidden=[16], epochs=2, warm_start=True, threads=1).fit(X, y)
    before = _parameters(model)

    with pytest.raises(TrainingDivergedError):
        model.set_params(epochs=4, lr=1e6).fit(X * 1e3, y)

    assert model.epoch_ == 2
    for mine, theirs in zip(_parameters(model), before, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    model.set_params(lr=0.01).fit(X, y)
    assert model.epoch_ == 4
    assert np.isfinite(model.history_[-1]["train_loss"])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"threads": 0}, "threads must be an integer >= 1, got 0"),
        ({"threads": "2"}, "threads must be an integer >= 1, got '2'"),
        ({"warm_start": "no"}, "warm_start must be True or False, got 'no'"),
        ({"standardize": 1}, "standardize must be True or False, got 1"),
        ({"dtype": None}, "dtype must be one of float32, float64, got None"),
    ],
    ids=["threads-zero", "threads-text", "warm-start-text", "standardize-int", "dtype-none"],
)
def test_bad_setting_refused_before_the_model_changes(digits, setting, message) -> None:
    # threads was checked only once training started, after the network was built.
    X, y = digits
    model = NumpyMLP(hidden=[8], epochs=1, **setting)

    with pytest.raises(ValueError, match=message):
        model.fit(X, y)
    assert not model.is_fitted


def test_numpy_integer_thread_count_accepted(digits) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[8], epochs=1, threads=np.int64(1)).fit(X, y)

    assert model.predict(X).shape == y.shape


def test_warm_start_rejects_new_device(digits, monkeypatch) -> None:
    # The device is read when the parameters are installed; a warm start keeps them.
    # No GPU here, so "cuda" is let through the availability check.
    import torch

    import mlpbench.engines.torch_engine.model as torch_model

    X, y = digits
    model = TorchMLP(hidden=[8], epochs=1, warm_start=True, threads=1).fit(X, y)
    monkeypatch.setattr(torch_model, "resolve_device", lambda device: torch.device(device))

    model.set_params(device="cuda", epochs=2)
    with pytest.raises(ValueError, match="network on cpu, which cannot take the new device='cuda'"):
        model.fit(X, y)
    model.set_params(device="cpu:0").fit(X, y)
    assert model.epoch_ == 2


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_failed_first_step_leaves_no_momentum_behind(engine, digits, monkeypatch) -> None:
    # Built by fit(n_epochs=0), the model has no momentum yet; a failed epoch must not
    # leave the momentum it built, or the next fit would differ from a fresh one.
    X, y = digits
    twin = engine(hidden=[16], epochs=2, threads=1).fit(X, y)
    model = engine(hidden=[16], epochs=2, warm_start=True, threads=1).fit(X, y, n_epochs=0)

    _fail_in_epoch(engine, monkeypatch, 1, TrainingDivergedError)
    with pytest.raises(TrainingDivergedError):
        model.fit(X, y)
    # Built before this call, the network stays, at epoch 0.
    assert model.is_fitted and model.epoch_ == 0
    monkeypatch.undo()
    model.fit(X, y)

    for mine, theirs in zip(_parameters(model), _parameters(twin), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_sklearn_zero_weight_batch_undone(digits) -> None:
    from mlpbench.errors import DataError

    X, y = digits
    model = SklearnMLP(hidden=[8], epochs=1, batch_size=4, warm_start=True, threads=1).fit(X, y)
    before = _parameters(model)
    weights = np.zeros(len(y))
    weights[:50] = 1.0

    with pytest.raises(DataError, match="cannot train a batch whose sample weights are all 0"):
        model.set_params(epochs=3).fit(X, y, weights)

    assert model.epoch_ == 1
    for mine, theirs in zip(_parameters(model), before, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    fresh = SklearnMLP(hidden=[8], epochs=1, batch_size=4, threads=1)
    with pytest.raises(DataError):
        fresh.fit(X, y, weights)
    assert not fresh.is_fitted


@pytest.mark.parametrize("engine", ENGINES)
def test_refused_partial_fit_leaves_the_parameters_untouched(engine, digits) -> None:
    # A dtype changed before a warm call is refused; the refusal must not convert them.
    X, y = digits
    model = engine(hidden=[8], threads=1).partial_fit(X, y, classes=np.arange(10))
    before = _parameters(model)

    with pytest.raises(ValueError, match="dtype='float64'"):
        model.set_params(dtype="float64").partial_fit(X, y)

    for mine, theirs in zip(_parameters(model), before, strict=True):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    assert model.set_params(dtype="float32").partial_fit(X, y).epoch_ == 2


def test_error_in_the_undo_keeps_the_original_error(digits, monkeypatch) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[8], epochs=3, threads=1)
    _fail_in_epoch(NumpyMLP, monkeypatch, 2, TrainingDivergedError)

    def broken_restore(self, state):
        raise MemoryError("no room to copy")

    monkeypatch.setattr(NumpyMLP, "_restore_training_state", broken_restore)
    with pytest.raises(TrainingDivergedError) as caught:
        model.fit(X, y)

    note = caught.value.__notes__[0]
    assert "could not be put back as before the epoch: MemoryError('no room to copy')" in note
    assert model.epoch_ == 1
