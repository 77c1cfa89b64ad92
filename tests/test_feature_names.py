"""Column names of a pandas DataFrame: kept at fit, checked at predict, saved in parameter files."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlpbench import NumpyMLP, TorchMLP
from mlpbench.checkpoint import read_checkpoint
from mlpbench.data import load_dataset
from mlpbench.engines.sklearn_engine import SklearnMLP
from mlpbench.engines.torch_dataloader import TorchDataLoaderMLP
from mlpbench.errors import CheckpointError, DataError, DataTypeError

ENGINES = [NumpyMLP, TorchMLP]
ALL_ENGINES = [NumpyMLP, TorchMLP, TorchDataLoaderMLP, SklearnMLP]
COLUMNS = [f"px{index}" for index in range(64)]


@pytest.fixture(scope="module")
def digits() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_dataset("digits")
    return pd.DataFrame(data.x_train, columns=COLUMNS), data.y_train


def fitted(engine, frame: pd.DataFrame, y: np.ndarray, **settings):
    return engine(hidden=[16], epochs=2, threads=1, **settings).fit(frame, y)


@pytest.mark.parametrize("engine", ENGINES)
def test_fit_keeps_column_names(engine, digits):
    frame, y = digits
    model = fitted(engine, frame, y)
    assert list(model.feature_names_in_) == COLUMNS
    assert model.feature_names_in_.dtype == object


@pytest.mark.parametrize("engine", ENGINES)
def test_reordered_columns_rejected(engine, digits):
    # Read by position, the reversed columns would give wrong predictions without a word.
    frame, y = digits
    model = fitted(engine, frame, y)
    with pytest.raises(DataError, match="in another order; select the fitted columns"):
        model.predict(frame[COLUMNS[::-1]])
    with pytest.raises(DataError, match="in another order"):
        model.score(frame[COLUMNS[::-1]], y)
    assert model.score(frame[list(model.feature_names_in_)], y) > 0.5


def test_renamed_and_missing_columns_listed(digits):
    frame, y = digits
    model = fitted(NumpyMLP, frame, y)
    renamed = frame.rename(columns={"px0": "pixel0", "px1": "pixel1"})
    with pytest.raises(DataError) as renamed_error:
        model.predict(renamed)
    message = str(renamed_error.value)
    assert "2 not seen in fit ('pixel0', 'pixel1')" in message
    assert "2 missing ('px0', 'px1')" in message

    with pytest.raises(DataError, match=r"1 missing \('px5'\)") as dropped_error:
        model.predict(frame.drop(columns=["px5"]))
    assert "not seen in fit" not in str(dropped_error.value)


def test_many_missing_columns_counted(digits):
    frame, y = digits
    model = fitted(NumpyMLP, frame, y)
    with pytest.raises(DataError, match=r"8 missing \('px0', 'px1', 'px2', 'px3', 'px4' and 3 more\)"):
        model.predict(frame.drop(columns=COLUMNS[:8]).assign(**{f"new{i}": 0.0 for i in range(8)}))


def test_names_on_one_side_warn(digits):
    frame, y = digits
    named = fitted(NumpyMLP, frame, y)
    unnamed = fitted(NumpyMLP, frame.to_numpy(), y)

    with pytest.warns(UserWarning, match="X has no feature names, but NumpyMLP was fitted with"):
        named.predict(frame.to_numpy()[:3])
    with pytest.warns(UserWarning, match="X has feature names, but NumpyMLP was fitted without"):
        unnamed.predict(frame[:3])


def test_integer_columns_are_not_names(digits):
    # A DataFrame built from an array has integer column labels, which name nothing.
    frame, y = digits
    model = fitted(NumpyMLP, pd.DataFrame(frame.to_numpy()), y)
    assert not hasattr(model, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(frame.to_numpy()[:3])


@pytest.mark.parametrize("engine", ALL_ENGINES)
def test_refit_on_array_forgets_names(engine, digits):
    frame, y = digits
    model = fitted(engine, frame, y)
    model.fit(frame.to_numpy(), y)
    assert not hasattr(model, "feature_names_in_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.predict(frame.to_numpy()[:3])


def test_repeated_column_named(digits):
    frame, y = digits
    model = fitted(NumpyMLP, frame, y)
    repeated = pd.concat([frame.drop(columns=["px63"]), frame[["px0"]]], axis=1)
    with pytest.raises(DataError, match=r"1 given more often than in fit \('px0'\), 1 missing \('px63'\)"):
        model.predict(repeated)


def test_mixed_column_labels_rejected(digits):
    frame, y = digits
    mixed = frame.rename(columns={"px0": 0})
    with pytest.raises(DataTypeError, match=r"mix strings and other types \(int, str\).*astype\(str\)"):
        NumpyMLP(hidden=[4], epochs=1).fit(mixed, y)


@pytest.mark.parametrize("call", ["predict", "predict_proba", "score", "warm fit"])
def test_warning_points_at_the_caller(call, digits):
    frame, y = digits
    model = fitted(NumpyMLP, frame, y, warm_start=True)
    model.set_params(epochs=3)
    X = frame.to_numpy()
    # Called here directly, so that one frame too far up would land in pytest, not in this file.
    with pytest.warns(UserWarning, match="X has no feature names") as caught:
        if call == "predict":
            model.predict(X)
        elif call == "predict_proba":
            model.predict_proba(X)
        elif call == "score":
            model.score(X, y)
        else:
            model.fit(X, y)
    assert [Path(warning.filename) for warning in caught] == [Path(__file__)]


def test_warm_start_checks_names_first(digits):
    frame, y = digits
    model = fitted(NumpyMLP, frame, y, warm_start=True)
    model.set_params(epochs=4)
    before = [W.copy() for W, _ in model.get_parameters()]

    with pytest.raises(DataError, match="in another order"):
        model.fit(frame[COLUMNS[::-1]], y)

    assert model.epoch_ == 2
    assert all(np.array_equal(W, old) for (W, _), old in zip(model.get_parameters(), before, strict=True))


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_saved_file_keeps_names(digits, tmp_path, suffix):
    frame, y = digits
    path = fitted(NumpyMLP, frame, y).save(tmp_path / f"model{suffix}")

    assert read_checkpoint(path).feature_names == COLUMNS
    for engine in ENGINES:
        loaded = engine.load(path)
        assert list(loaded.feature_names_in_) == COLUMNS
        with pytest.raises(DataError, match="in another order"):
            loaded.predict(frame[COLUMNS[::-1]])


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_file_without_names_loads_without(digits, tmp_path, suffix):
    frame, y = digits
    path = fitted(NumpyMLP, frame.to_numpy(), y).save(tmp_path / f"model{suffix}")
    assert read_checkpoint(path).feature_names is None
    assert not hasattr(NumpyMLP.load(path), "feature_names_in_")


def test_edited_names_rejected(digits, tmp_path):
    frame, y = digits
    path = fitted(NumpyMLP, frame, y).save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["feature_names"] = np.array('["px0", "px1"]')
    np.savez(path, **arrays)

    expected = "'feature_names' entry must list 64 column names, one per input feature, but contains 2 names"
    with pytest.raises(CheckpointError, match=expected):
        NumpyMLP.load(path)


def test_pickle_keeps_names(digits):
    frame, y = digits
    model = pickle.loads(pickle.dumps(fitted(NumpyMLP, frame, y)))
    with pytest.raises(DataError, match="in another order"):
        model.predict(frame[COLUMNS[::-1]])
