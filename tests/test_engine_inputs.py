"""What fit, predict and evaluate accept as X, y and counts, and what a failed call leaves behind."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import StandardScaler

from mlpbench import NumpyMLP, TorchMLP
from mlpbench.engines.feature_scale import FeatureScaleWarning
from mlpbench.engines.sklearn_engine import SklearnMLP
from mlpbench.engines.torch_dataloader import TorchDataLoaderMLP
from mlpbench.errors import DataError
from mlpbench.training.chance import NoProgressWarning

ENGINES = [NumpyMLP, TorchMLP, TorchDataLoaderMLP, SklearnMLP]


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _fitted(engine, digits, **settings):
    X, y = digits
    return engine(hidden=[16], epochs=2, batch_size=32, lr=0.05, **settings).fit(X, y)


BAD_FITS = {
    "short-y": lambda X, y: {"X": X, "y": y[:-1]},
    "negative-label": lambda X, y: {"X": X, "y": np.where(np.arange(y.size) == 3, -1, y)},
    "nan-in-X": lambda X, y: {"X": np.where(np.arange(X.size).reshape(X.shape) == 7, np.nan, X), "y": y},
    "y-missing": lambda X, y: {"X": X, "y": None},
}


@pytest.mark.parametrize("warm_start", [False, True], ids=["cold", "warm"])
@pytest.mark.parametrize("bad", BAD_FITS.values(), ids=BAD_FITS.keys())
@pytest.mark.parametrize("engine", ENGINES)
def test_failed_fit_keeps_model(engine, bad, warm_start, digits) -> None:
    X, y = digits
    model = _fitted(engine, digits, warm_start=warm_start)
    before = model.predict_proba(X)
    epochs = model.epoch_

    with pytest.raises(DataError):
        model.fit(**bad(X, y))

    assert model.epoch_ == epochs
    np.testing.assert_array_equal(model.predict_proba(X), before)


@pytest.mark.parametrize("engine", ENGINES)
def test_failed_first_fit_leaves_unfitted(engine, digits) -> None:
    X, y = digits
    model = engine(hidden=[16], epochs=1)

    with pytest.raises(DataError):
        model.fit(X, y[:-1])

    assert not model.is_fitted


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_column_vector_y_is_flattened(engine, digits) -> None:
    X, y = digits

    with pytest.warns(DataConversionWarning, match=r"y has shape \(300, 1\)") as caught:
        column = _fitted(engine, (X, y.reshape(-1, 1)))
    flat = _fitted(engine, digits)

    np.testing.assert_array_equal(column.predict_proba(X), flat.predict_proba(X))
    assert caught[0].filename == __file__


@pytest.mark.parametrize("method", ["score", "evaluate"])
def test_column_vector_warning_names_caller(method, digits) -> None:
    X, y = digits
    model = _fitted(NumpyMLP, digits)

    with pytest.warns(DataConversionWarning) as caught:
        getattr(model, method)(X, y.reshape(-1, 1))

    assert caught[0].filename == __file__


def test_object_X_of_numbers_accepted(digits) -> None:
    X, y = digits

    as_objects = _fitted(NumpyMLP, (X.astype(object), y.astype(object)))
    as_floats = _fitted(NumpyMLP, digits)

    np.testing.assert_array_equal(as_objects.predict_proba(X), as_floats.predict_proba(X))


INVALID_X = {
    "no-features": (np.empty((10, 0)), "X has 0 feature(s) (shape=(10, 0)) while a minimum of 1 is required"),
    "object-with-text": (np.array([[0.5, "dark"], [0.1, 0.2]], dtype=object), "is not a number"),
    "too-large-for-float32": (
        np.array([[0.0, 1e39], [0.5, 0.5]]),
        "value 1e+39 at row 0, column 1 is too large for float32",
    ),
    "infinity": (np.array([[0.0, np.inf], [0.5, 0.5]]), "NaN or infinity"),
    "complex": (np.array([[0.0, 1j], [0.5, 0.5]]), "Complex data not supported: X has dtype complex128"),
}


def test_object_X_with_text_is_type_error() -> None:
    X = np.array([[0.5, 0.3], [0.1, "dark"]], dtype=object)

    with pytest.raises(TypeError, match=r"the value 'dark' at row 1, column 1 is not a number"):
        NumpyMLP(epochs=1).fit(X, [0, 1])


def test_text_column_of_data_frame_named() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"width": [0.5, 0.1, 0.2], "colour": [0.3, 0.4, "dark"]})

    with pytest.raises(TypeError, match=r"'dark' at row 2, column 1 \('colour'\) is not a number; convert"):
        NumpyMLP(epochs=1).fit(frame, [0, 1, 0])


@pytest.mark.parametrize(("X", "message"), INVALID_X.values(), ids=INVALID_X.keys())
def test_fit_rejects_invalid_X(X, message) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        NumpyMLP(epochs=1).fit(X, [0, 1] if X.shape[0] == 2 else np.zeros(10, dtype=int))


def test_float64_model_takes_large_values() -> None:
    X = np.array([[0.0, 1e39], [0.5, 0.5]])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = NumpyMLP(epochs=1, dtype="float64", standardize=True, batch_size=2).fit(X, [0, 1])

    assert model.predict(X).shape == (2,)


def test_predict_1d_X_suggests_reshape(digits) -> None:
    X, _ = digits
    model = _fitted(NumpyMLP, digits)

    with pytest.raises(DataError, match=r"Reshape your data with X.reshape\(-1, 1\) for a single feature"):
        model.predict(X[0])


def test_fit_3d_X_suggests_flatten() -> None:
    images = np.zeros((4, 8, 8))

    with pytest.raises(DataError) as error:
        NumpyMLP(epochs=1).fit(images, [0, 1, 0, 1])

    assert "got shape (4, 8, 8); flatten each sample with X.reshape(len(X), -1)" in str(error.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lr": "0.1"}, "lr must be a number, got '0.1' of type str"),
        ({"momentum": None}, "momentum must be a number, got None"),
        ({"weight_decay": True}, "weight_decay must be a number, got True of type bool"),
    ],
    ids=["lr-text", "momentum-none", "weight-decay-bool"],
)
def test_non_number_setting_named(settings, message, digits) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        NumpyMLP(epochs=1, **settings).fit(*digits)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("n_epochs", -1), ("n_epochs", 1.5), ("n_classes", 0), ("n_classes", "10")],
)
def test_fit_counts_checked(keyword, value, digits) -> None:
    with pytest.raises(ValueError, match=f"{keyword} must be an integer >= "):
        NumpyMLP(epochs=2).fit(*digits, **{keyword: value})


def test_warm_start_rejects_more_classes(digits) -> None:
    model = _fitted(NumpyMLP, digits, warm_start=True)
    model.set_params(epochs=4)

    with pytest.raises(ValueError, match="n_classes=12 exceeds the fitted network's 10 classes"):
        model.fit(*digits, n_classes=12)
    model.fit(*digits, n_classes=10)

    assert model.epoch_ == 4


def test_warm_start_takes_fewer_classes(digits) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[16], epochs=2, warm_start=True).fit(X, y, n_classes=12)
    model.set_params(epochs=4)

    model.fit(X, y, n_classes=10)

    assert model.epoch_ == 4
    assert model.n_classes_ == 12


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_no_progress_warned(engine, digits) -> None:
    # lr 10 kills every ReLU on the digits, so the loss stays above the class-frequency loss.
    with pytest.warns(NoProgressWarning, match=r"did not learn at lr=10; try a smaller lr"):
        engine(hidden=[32], epochs=3, lr=10).fit(*digits)


def test_learning_fit_not_warned(digits) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoProgressWarning)
        model = NumpyMLP(hidden=[32], epochs=5, lr=0.05).fit(*digits)

    assert model.score(*digits) > 0.8


def test_cli_reports_no_progress_once(capsys) -> None:
    from mlpbench.cli import main

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "--epochs", "2", "--lr", "10", "--threads", "1"]) == 0

    assert not [warning for warning in caught if warning.category is NoProgressWarning]
    assert capsys.readouterr().err.count("did not learn at --lr 10") == 1


def test_partial_fit_not_warned(digits) -> None:
    model = NumpyMLP(hidden=[32], epochs=3, lr=10, warm_start=True)

    with warnings.catch_warnings():
        warnings.simplefilter("error", NoProgressWarning)
        model.fit(*digits, n_epochs=2)
    with pytest.warns(NoProgressWarning, match="after epoch 3"):
        model.fit(*digits)


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (None, "this estimator requires y to be passed, but the target y is None"),
        (np.array([0, 1j]), "Complex data not supported: y has dtype complex128"),
        (np.array([0.0, 0.5]), "continuous targets (regression) are not supported"),
    ],
    ids=["none", "complex", "continuous"],
)
def test_fit_rejects_invalid_y(y, message) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        NumpyMLP(epochs=1).fit(np.zeros((2, 3)), y)


def test_fit_training_nothing_not_warned(digits) -> None:
    model = NumpyMLP(hidden=[32], epochs=2, lr=10, warm_start=True)
    with pytest.warns(NoProgressWarning):
        model.fit(*digits)

    with warnings.catch_warnings():
        # The last filter added is checked first, so NoProgressWarning, a UserWarning, fails.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("error", NoProgressWarning)
        model.fit(*digits)

    assert model.epoch_ == 2


def test_hint_omits_standardize_in_use(digits) -> None:
    with pytest.warns(NoProgressWarning, match=r"try a larger lr or more epochs$"):
        NumpyMLP(hidden=[4], epochs=1, lr=1e-4, standardize=True).fit(*digits)


@pytest.mark.parametrize("device", ["gpu", "mps", None])
def test_unknown_device_named(device, digits) -> None:
    with pytest.raises(ValueError, match=rf"^device must be 'cpu' or 'cuda' \(or 'cuda:N'.*got {device!r}"):
        TorchMLP(device=device, epochs=1).fit(*digits)


def test_unusable_device_keeps_model(digits) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("the test needs a machine without a CUDA GPU")
    X, y = digits
    model = _fitted(TorchMLP, digits)
    before = model.predict_proba(X)
    model.set_params(device="cuda")

    with pytest.raises(ValueError, match="finds no CUDA GPU"):
        model.fit(X[:, :10], y)
    model.set_params(device="cpu")

    assert model.layer_sizes_ == [64, 16, 10]
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_warning_through_pipeline_points_at_caller() -> None:
    from sklearn.exceptions import DataConversionWarning
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    pipeline = make_pipeline(StandardScaler(), NumpyMLP(hidden=[8], epochs=1, threads=1))

    with pytest.warns(DataConversionWarning) as caught:
        pipeline.fit(X, y.reshape(-1, 1))

    assert caught[0].filename == __file__


@pytest.mark.parametrize("engine", [NumpyMLP, SklearnMLP])
def test_unscaled_features_warn(engine) -> None:
    X, y = load_digits(return_X_y=True)

    pattern = r"1797 rows of X have a root mean square of 7\.\d\d, above 4, .*standardize=True"
    with pytest.warns(FeatureScaleWarning, match=pattern):
        engine(hidden=[8], epochs=1, threads=1).fit(X, y)


def _scale_warnings(train) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train()
    return [warning for warning in caught if issubclass(warning.category, FeatureScaleWarning)]


@pytest.mark.parametrize(
    ("transform", "settings"),
    [
        (lambda X: X / 16, {}),
        (lambda X: -X / 16, {}),
        (lambda X: X, {"standardize": True}),
        # Standardized digits reach 42, since some pixels are rarely lit.
        (lambda X: StandardScaler().fit_transform(X), {}),
    ],
)
def test_scaled_features_do_not_warn(transform, settings) -> None:
    X, y = load_digits(return_X_y=True)
    model = NumpyMLP(hidden=[8], epochs=1, threads=1, **settings)

    assert _scale_warnings(lambda: model.fit(transform(X), y)) == []


def test_standardized_batches_do_not_warn() -> None:
    # One batch may hold a rare pixel's 42; the batches are judged together.
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    model = NumpyMLP(hidden=[8], threads=1)

    def train() -> None:
        for start in range(0, len(X), 64):
            model.partial_fit(X[start : start + 64], y[start : start + 64], classes=np.arange(10))
        # Row 988 alone has a root mean square of 6, but one row is not judged.
        NumpyMLP(hidden=[8], epochs=1, threads=1).fit(X[988:989], y[988:989], n_classes=10)

    assert _scale_warnings(train) == []


def test_partial_fit_warns_once() -> None:
    X, y = load_digits(return_X_y=True)
    model = NumpyMLP(hidden=[8], threads=1)

    def train() -> None:
        for start in range(0, 320, 16):
            model.partial_fit(X[start : start + 16], y[start : start + 16], classes=np.arange(10))

    (warning,) = _scale_warnings(train)
    assert "root mean square of 7." in str(warning.message)


def test_later_batches_judged_apart() -> None:
    # Raw batches after a fit on scaled data are not averaged with the scaled rows.
    X, y = load_digits(return_X_y=True)
    model = NumpyMLP(hidden=[8], epochs=1, threads=1).fit(X / 16, y)

    def train() -> None:
        model.partial_fit(X[:64], y[:64])

    (warning,) = _scale_warnings(train)
    assert str(warning.message).startswith("64 rows of X have a root mean square of 7.")


def test_zero_weight_rows_not_judged() -> None:
    X, y = load_digits(return_X_y=True)
    X = X / 16
    X[:5] = 100.0
    weights = np.ones(len(X))
    weights[:5] = 0.0
    model = NumpyMLP(hidden=[8], epochs=1, threads=1)

    assert _scale_warnings(lambda: model.fit(X, y, sample_weight=weights)) == []
    assert len(_scale_warnings(lambda: model.fit(X, y))) == 1


def test_scale_check_survives_float32_overflow() -> None:
    from mlpbench.engines.feature_scale import FeatureScaleCheck

    check = FeatureScaleCheck()

    with pytest.warns(FeatureScaleWarning, match=r"root mean square of 1e\+30,"):
        check.add(np.full((40, 3), 1e30, dtype=np.float32))
