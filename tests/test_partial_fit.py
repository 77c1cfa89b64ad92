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
        ({"schedule": "cosine"}, CLASSES, "partial_fit needs schedule='constant', got 'cosine'"),
    ],
    ids=["no-classes", "not-from-zero", "repeated", "cosine"],
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


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_diverged_partial_fit_keeps_the_model(engine, digits) -> None:
    from mlpbench.errors import TrainingDivergedError

    X, y = digits
    model = engine(hidden=[16], threads=1, momentum=0.0).partial_fit(X, y, classes=CLASSES)
    before = _parameters(model)
    order = model.batch_order_.get_state()
    accuracy = model.score(X, y)

    model.set_params(lr=1e6)
    with pytest.raises(TrainingDivergedError):
        model.partial_fit(X, y)

    assert model.epoch_ == 1
    assert len(model.history_) == 1
    assert model.batch_order_.get_state() == order
    for mine, theirs in zip(_parameters(model), before, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert model.score(X, y) == accuracy
    model.set_params(lr=0.05)
    assert model.partial_fit(X, y).epoch_ == 2


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


def test_partial_fit_takes_classes_by_name_only(digits) -> None:
    # scikit-learn's third positional argument is sample_weight; it must not be read as classes.
    X, y = digits

    with pytest.raises(TypeError):
        NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, CLASSES)


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
