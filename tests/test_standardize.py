"""Feature standardization: learned on the training data, applied everywhere, saved with the model."""

from __future__ import annotations

import numpy as np
import pytest

from mlpbench import NumpyMLP, TorchMLP
from mlpbench.engines.numpy_engine.forward import forward
from mlpbench.engines.numpy_engine.loss import softmax


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=5.0, scale=3.0, size=(200, 6))
    X[:, 2] = 7.0  # a constant feature: its scale must stay 1, not 0
    y = (X[:, 0] > 5.0).astype(np.int64)
    return X, y


def test_statistics_come_from_training_data() -> None:
    X, y = make_data()
    model = NumpyMLP(hidden=[8], epochs=1, dtype="float64", standardize=True).fit(X, y)

    np.testing.assert_allclose(model.feature_mean_, X.mean(axis=0), rtol=1e-12)
    expected_scale = X.std(axis=0)
    expected_scale[2] = 1.0
    np.testing.assert_allclose(model.feature_scale_, expected_scale, rtol=1e-12)


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_training_sees_standardized_features(engine) -> None:
    # Standardizing by hand and training without the option must give the same network.
    X, y = make_data()
    scale = X.std(axis=0)
    scale[2] = 1.0
    settings = {"hidden": [8], "epochs": 2, "dtype": "float64", "seed": 3, "threads": 1}

    built_in = engine(standardize=True, **settings).fit(X, y)
    by_hand = engine(standardize=False, **settings).fit((X - X.mean(axis=0)) / scale, y)

    for (W1, b1), (W2, b2) in zip(built_in.get_parameters(), by_hand.get_parameters(), strict=True):
        np.testing.assert_allclose(W1, W2, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(b1, b2, rtol=1e-10, atol=1e-12)


def test_prediction_applies_standardization() -> None:
    X, y = make_data()
    model = NumpyMLP(hidden=[8], epochs=2, dtype="float64", standardize=True).fit(X, y)

    standardized = (X - model.feature_mean_) / model.feature_scale_
    logits, _ = forward(model.params_, standardized)
    np.testing.assert_allclose(model.predict_proba(X), softmax(logits), rtol=1e-12)


def test_off_by_default() -> None:
    X, y = make_data()
    model = NumpyMLP(hidden=[8], epochs=1).fit(X, y)

    assert model.feature_mean_ is None
    assert model.feature_scale_ is None


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_statistics_survive_save_and_load(tmp_path, suffix: str) -> None:
    X, y = make_data()
    model = NumpyMLP(hidden=[8], epochs=2, dtype="float64", standardize=True).fit(X, y)
    path = model.save(tmp_path / f"model{suffix}")

    loaded = TorchMLP.load(path)

    assert loaded.standardize
    np.testing.assert_array_equal(loaded.feature_mean_, model.feature_mean_)
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), rtol=1e-12, atol=1e-15)


def test_engines_agree_with_standardization() -> None:
    X, y = make_data()
    settings = dict(hidden=[8], epochs=3, batch_size=32, dtype="float64", standardize=True)

    mine = NumpyMLP(**settings).fit(X, y)
    gold = TorchMLP(**settings).fit(X, y)

    for (W_mine, b_mine), (W_gold, b_gold) in zip(mine.get_parameters(), gold.get_parameters(), strict=True):
        np.testing.assert_allclose(W_mine, W_gold, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(b_mine, b_gold, rtol=1e-9, atol=1e-12)


def test_float32_stays_float32() -> None:
    X, y = make_data()
    model = NumpyMLP(hidden=[8], epochs=1, dtype="float32", standardize=True).fit(X, y)

    assert model.feature_mean_.dtype == np.float32
    assert model.predict_proba(X).dtype == np.float32


def test_cli_flag_saves_statistics(tmp_path) -> None:
    from mlpbench.checkpoint import read_checkpoint
    from mlpbench.cli import main

    path = tmp_path / "model.npz"
    status = main(["train", "--epochs", "1", "--threads", "1", "--standardize", "--save", str(path)])

    assert status == 0
    checkpoint = read_checkpoint(path)
    assert checkpoint.config["standardize"] is True
    assert checkpoint.feature_mean is not None
    assert checkpoint.feature_mean.shape == (64,)


def test_config_key_enables_it(tmp_path, capsys) -> None:
    from mlpbench.cli import main

    config = tmp_path / "run.toml"
    config.write_text("standardize = true\nepochs = 1\n")

    status = main(["train", "--config", str(config), "--print-config"])

    assert status == 0
    assert "standardize = true" in capsys.readouterr().out


def test_checkpoint_rejects_zero_scale(tmp_path) -> None:
    from mlpbench.checkpoint import read_checkpoint
    from mlpbench.errors import CheckpointError

    X, y = make_data()
    path = NumpyMLP(hidden=[8], epochs=1, standardize=True).fit(X, y).save(tmp_path / "model.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["feature_scale"][0] = 0.0
    np.savez(path, **arrays)

    with pytest.raises(CheckpointError, match="feature_scale contains invalid values"):
        read_checkpoint(path)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_near_zero_deviation_keeps_scale_one(dtype, weighted) -> None:
    # A column of 0.1 has a computed deviation of about 7e-17, not 0; dividing by it
    # would turn a later 0.2 into about 1e15.
    X, y = make_data()
    X[:, 2] = 0.1
    weights = np.linspace(0.5, 2.0, len(y)) if weighted else None
    model = NumpyMLP(hidden=[8], epochs=1, dtype=dtype, standardize=True, threads=1).fit(X, y, weights)

    assert model.feature_scale_[2] == 1.0
    probe = X[:3].copy()
    probe[:, 2] = 0.2
    assert np.abs(model._standardize(probe.astype(dtype))[:, 2]).max() < 1.0


def test_constant_among_weighted_rows_keeps_scale_one() -> None:
    # Rows of weight 0 do not count, so a feature that varies only there is constant.
    X, y = make_data()
    weights = np.ones(len(y))
    weights[:50] = 0.0
    X[50:, 4] = 0.1  # its computed deviation over those rows is about 1e-17, not 0
    model = NumpyMLP(hidden=[8], epochs=1, dtype="float64", standardize=True, threads=1)
    model.fit(X, y, weights)

    assert model.feature_scale_[4] == 1.0
