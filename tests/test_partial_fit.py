"""partial_fit: one epoch per call, continuing the network, as in scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mlpbench import NumpyMLP, SklearnMLP, TorchDataLoaderMLP, TorchMLP

ENGINES = [NumpyMLP, TorchMLP, TorchDataLoaderMLP, SklearnMLP]
CLASSES = np.arange(10)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _parameters(model) -> list[np.ndarray]:
    return [array for pair in model.get_parameters() for array in pair]


@pytest.mark.parametrize("engine", ENGINES)
def test_partial_fit_calls_match_fit_epochs(engine, digits) -> None:
    # Three calls on the whole data run the same three epochs, batches included, as fit.
    X, y = digits
    fitted = engine(hidden=[16], epochs=3, threads=1).fit(X, y)
    stepped = engine(hidden=[16], epochs=3, threads=1)
    for _ in range(3):
        stepped.partial_fit(X, y, classes=CLASSES)

    assert stepped.epoch_ == 3
    for mine, theirs in zip(_parameters(stepped), _parameters(fitted), strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_partial_fit_continues_past_epochs(digits) -> None:
    # warm_start and epochs bound fit, not partial_fit.
    X, y = digits
    model = NumpyMLP(hidden=[16], epochs=1, threads=1).fit(X, y)
    before = _parameters(model)

    model.partial_fit(X, y)

    assert model.epoch_ == 2
    assert len(model.history_) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, _parameters(model), strict=True))


def test_partial_fit_chunks_without_every_class(digits) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[16], threads=1)
    first = y < 5

    model.partial_fit(X[first], y[first], classes=CLASSES)
    model.partial_fit(X[~first], y[~first])

    assert model.n_classes_ == 10
    assert model.predict_proba(X).shape == (len(y), 10)


def test_partial_fit_learns(digits) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[32], threads=1)
    for _ in range(5):
        model.partial_fit(X, y, classes=CLASSES)

    assert model.score(X, y) > 0.9


@pytest.mark.parametrize(
    ("kwargs", "classes", "message"),
    [
        ({}, None, "classes must be given on the first call to partial_fit"),
        ({}, [1, 2, 3], r"classes must be the integers 0..K-1, each once, got \[1, 2, 3\]"),
        ({}, [0, 0, 1], "each once"),
        ({}, list("abcdefghij"), r"^classes must be the integers 0..K-1, each once, got \['a', 'b',"),
        ({}, [0.5, 1.0], r"^classes must be the integers 0..K-1, each once, got \[0.5, 1.0\]"),
        ({"schedule": "cosine"}, CLASSES, "partial_fit needs schedule='constant', got 'cosine'"),
    ],
    ids=["no-classes", "not-from-zero", "repeated", "text", "fractional", "cosine"],
)
def test_partial_fit_rejects(digits, kwargs, classes, message) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[8], threads=1, **kwargs)

    with pytest.raises(ValueError, match=message):
        model.partial_fit(X, y, classes=classes)

    assert not model.is_fitted


def test_partial_fit_rejects_other_classes_later(digits) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, classes=CLASSES)

    with pytest.raises(ValueError, match="classes has 12 labels, but the fitted network has 10 classes"):
        model.partial_fit(X, y, classes=np.arange(12))

    model.partial_fit(X, y, classes=CLASSES)
    assert model.epoch_ == 2


def test_partial_fit_takes_boolean_classes() -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0]] * 8)
    y = np.array([False, True] * 8)

    model = NumpyMLP(hidden=[4], threads=1).partial_fit(X, y, classes=[False, True])

    assert model.n_classes_ == 2


def test_partial_fit_warning_points_at_caller(digits) -> None:
    from sklearn.exceptions import DataConversionWarning

    X, y = digits

    with pytest.warns(DataConversionWarning) as caught:
        NumpyMLP(hidden=[8], threads=1).partial_fit(X, y.reshape(-1, 1), classes=CLASSES)

    assert caught[0].filename == __file__



def test_partial_fit_chunks_of_other_sizes_keep_shuffling(digits) -> None:
    # A chunk of another row count continues the shuffle sequence instead of starting it
    # again from the seed, so equal chunks later do not repeat the first order.
    X, y = digits
    model = NumpyMLP(hidden=[8], threads=1)
    model.partial_fit(X[:100], y[:100], classes=CLASSES)
    first = model.batch_order_.get_state()

    model.partial_fit(X[100:150], y[100:150])
    model.partial_fit(X[:100], y[:100])

    assert model.batch_order_.get_state() != first


def _state(model) -> dict:
    buffers = model._get_momentum_buffers()
    return {
        "parameters": _parameters(model),
        "momentum": None if buffers is None else [array for pair in buffers for array in pair],
        "batch order": model._get_batch_state(),
        "epoch": model.epoch_,
        "history": len(model.history_),
        "batch losses": len(model.batch_losses_),
    }


def _assert_same_state(mine: dict, theirs: dict) -> None:
    for key in ("parameters", "momentum"):
        assert (mine[key] is None) == (theirs[key] is None), key
        for a, b in zip(mine[key] or [], theirs[key] or [], strict=True):
            np.testing.assert_array_equal(a, b)
    for key in ("batch order", "epoch", "history", "batch losses"):
        assert mine[key] == theirs[key], key


@pytest.mark.parametrize("engine", ENGINES)
def test_diverged_partial_fit_keeps_the_model(engine, digits) -> None:
    # Inputs scaled by 1e30 overflow every engine, scikit-learn's included.
    from mlpbench.errors import TrainingDivergedError

    X, y = digits
    model = engine(hidden=[16], threads=1).partial_fit(X, y, classes=CLASSES)
    before = _state(model)
    accuracy = model.score(X, y)

    with pytest.raises(TrainingDivergedError):
        model.partial_fit(X * 1e30, y)

    _assert_same_state(_state(model), before)
    assert model.score(X, y) == accuracy
    assert model.partial_fit(X, y).epoch_ == 2
    assert model.score(X, y) > 0.5


def _fail_once(engine, monkeypatch, failure: str) -> None:
    """Make the engine's next epoch fail: diverge, or be interrupted after it was counted."""
    from mlpbench.errors import TrainingDivergedError

    run_epoch = engine._run_epoch

    def failing(self, *args, **kwargs):
        monkeypatch.setattr(engine, "_run_epoch", run_epoch)
        run_epoch(self, *args, **kwargs)
        # Both come after the epoch changed the parameters and, for Ctrl-C, the counts.
        raise TrainingDivergedError("training diverged") if failure == "diverge" else KeyboardInterrupt

    monkeypatch.setattr(engine, "_run_epoch", failing)


@pytest.mark.parametrize("failure", ["diverge", "interrupt"])
@pytest.mark.parametrize("engine", ENGINES)
def test_failed_call_continues_as_if_it_never_ran(engine, digits, monkeypatch, failure) -> None:
    # After a failed call, three more calls end exactly where a twin without it ends.
    from mlpbench.errors import TrainingDivergedError

    X, y = digits
    twin = engine(hidden=[16], threads=1).partial_fit(X, y, classes=CLASSES)
    model = engine(hidden=[16], threads=1).partial_fit(X, y, classes=CLASSES)
    before = _state(model)

    _fail_once(engine, monkeypatch, failure)
    with pytest.raises((TrainingDivergedError, KeyboardInterrupt)):
        model.partial_fit(X, y)

    _assert_same_state(_state(model), before)
    for _ in range(3):
        model.partial_fit(X, y)
        twin.partial_fit(X, y)
    _assert_same_state(_state(model), _state(twin))


def test_sklearn_partial_fit_after_empty_fit(digits) -> None:
    X, y = digits
    model = SklearnMLP(hidden=[8], threads=1).fit(X, y, n_epochs=0)

    assert model.partial_fit(X, y).epoch_ == 1


def test_first_partial_fit_that_diverges_leaves_model_unfitted(digits) -> None:
    from sklearn.exceptions import NotFittedError

    from mlpbench.errors import TrainingDivergedError

    X, y = digits
    model = NumpyMLP(hidden=[8], lr=1e6, momentum=0.0, threads=1)

    with pytest.raises(TrainingDivergedError):
        model.partial_fit(X, y, classes=CLASSES)

    assert not model.is_fitted
    with pytest.raises(NotFittedError):
        model.predict(X)


def test_partial_fit_messages_name_its_own_fixes(digits) -> None:
    from mlpbench.errors import DataError

    X, y = digits
    model = NumpyMLP(hidden=[8], threads=1).partial_fit(X[y < 5], y[y < 5], classes=np.arange(5))

    with pytest.raises(DataError, match=r"outside 0..4.*\(give every label in classes on the first call\)"):
        model.partial_fit(X, y)
    model.set_params(dtype="float64")
    with pytest.raises(ValueError, match="partial_fit continues the fitted network.*clone the estimator"):
        model.partial_fit(X[y < 5], y[y < 5])


@pytest.mark.parametrize("classes", [10, [[0, 1]]], ids=["scalar", "2-d"])
def test_partial_fit_rejects_classes_not_1d(digits, classes) -> None:
    X, y = digits

    with pytest.raises(ValueError, match="classes must be a 1-D array of every label"):
        NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, classes=classes)


def test_partial_fit_third_argument_weights(digits) -> None:
    # The order of scikit-learn's partial_fit(X, y, sample_weight=None, classes=None).
    X, y = digits

    with pytest.raises(ValueError, match="the third argument is sample_weight, so pass classes by name"):
        NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, CLASSES)
    model = NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, None, CLASSES)
    assert model.epoch_ == 1


@pytest.mark.parametrize(
    ("standardize", "advice"), [(False, "or inputs scaled"), (True, "standardized already")]
)
def test_divergence_advice_fits_the_inputs(digits, standardize, advice) -> None:
    import warnings

    from mlpbench.errors import TrainingDivergedError

    X, y = digits
    model = NumpyMLP(hidden=[8], lr=1e6, momentum=0.0, standardize=standardize, threads=1)

    # NumPy's overflow warnings would only come before the error, pointing into the engine.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(TrainingDivergedError) as caught:
            model.fit(X, y)

    assert advice in str(caught.value)


def test_callback_runs_with_the_users_numpy_error_settings(digits) -> None:
    # The engine silences overflow warnings while it trains, not in the user's callback.
    X, y = digits
    seen = []

    NumpyMLP(hidden=[8], epochs=1, threads=1).fit(X, y, callback=lambda record: seen.append(np.geterr()))

    assert seen[0]["over"] == np.geterr()["over"]


def test_no_progress_warning_via_cross_val_score(digits) -> None:
    from sklearn.model_selection import cross_val_score

    from mlpbench.training.chance import NoProgressWarning

    X, y = digits

    with pytest.warns(NoProgressWarning) as caught:
        cross_val_score(NumpyMLP(hidden=[8], epochs=1, lr=1e-7, threads=1), X, y, cv=2)

    assert caught[0].filename == __file__


def test_sklearn_divergence_advice_fits_the_inputs(digits) -> None:
    from mlpbench.errors import TrainingDivergedError

    X, y = digits

    model = SklearnMLP(hidden=[8], standardize=True, lr=1e8, threads=1)

    with pytest.raises(TrainingDivergedError, match=r"learning rate 1e\+08; .*standardized already"):
        model.partial_fit(X, y, classes=CLASSES)


def test_dataloader_drops_loader_on_restore(digits) -> None:
    # Its loader drew from the generator that the failed call advanced; iterating it
    # would not give the order that the restored generator gives next.
    from mlpbench.errors import TrainingDivergedError

    X, y = digits
    model = TorchDataLoaderMLP(hidden=[16], threads=1).partial_fit(X, y, classes=CLASSES)
    with pytest.raises(TrainingDivergedError):
        model.partial_fit(X * 1e30, y)

    assert model.loader_ is None
    model.partial_fit(X, y)
    assert model.loader_.generator is model.loader_generator_
