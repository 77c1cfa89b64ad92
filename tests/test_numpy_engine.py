"""``NumpyMLP`` as a user drives it: training, dtypes, divergence, input checks, chunked predict."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import mlpbench.engines.base as base
from mlpbench import NumpyMLP, SklearnMLP, TorchMLP
from mlpbench.engines.numpy_engine.forward import forward
from mlpbench.engines.numpy_engine.loss import softmax
from mlpbench.errors import DataError, TrainingDivergedError
from mlpbench.training.chance import NoProgressWarning


def gaussian_blobs(n_per_class: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return three well-separated 2-D Gaussian clusters: X (3 * n_per_class, 2) and labels."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    X = np.concatenate([center + rng.standard_normal((n_per_class, 2)) for center in centers])
    y = np.repeat(np.arange(3), n_per_class)
    return X, y


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    return gaussian_blobs()


@pytest.fixture(scope="module")
def fitted(blobs: tuple[np.ndarray, np.ndarray]) -> NumpyMLP:
    X, y = blobs
    return NumpyMLP(hidden=[16], epochs=3, batch_size=32, lr=0.05, seed=0).fit(X, y)


# ----- training -------------------------------------------------------------------------


def test_separable_problem_is_learned(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    model = NumpyMLP(hidden=[16], epochs=15, batch_size=32, lr=0.05, seed=0).fit(X, y)

    losses = [record["train_loss"] for record in model.history_]
    assert len(losses) == 15
    assert losses[-1] < 0.5 * losses[0], f"loss went from {losses[0]:.4f} to {losses[-1]:.4f}"
    assert model.score(X, y) > 0.95


def test_history_and_batch_losses_recorded(fitted: NumpyMLP) -> None:
    assert fitted.epoch_ == 3
    assert [record["epoch"] for record in fitted.history_] == [1, 2, 3]
    # 300 rows in batches of 32: nine full batches and one of 12.
    assert [losses.shape for losses in fitted.batch_losses_] == [(10,)] * 3
    assert fitted.history_[0]["lr"] == 0.05


def test_epoch_loss_is_row_weighted_batch_mean(fitted: NumpyMLP) -> None:
    losses = fitted.batch_losses_[0]
    sizes = np.array([32] * 9 + [12])

    expected = float(np.dot(losses, sizes) / 300)

    assert fitted.history_[0]["train_loss"] == pytest.approx(expected, rel=1e-12)


def test_n_epochs_caps_one_call(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    model = NumpyMLP(hidden=[4], epochs=5, seed=0)

    model.fit(X, y, n_epochs=2)

    assert model.epoch_ == 2
    assert len(model.history_) == 2


def test_softmax_regression_without_hidden(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    model = NumpyMLP(hidden=[], epochs=10, lr=0.05, seed=0).fit(X, y)

    assert [W.shape for W, _ in model.get_parameters()] == [(2, 3)]
    assert model.score(X, y) > 0.95


def test_same_seed_same_model(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    first = NumpyMLP(hidden=[8], epochs=2, seed=5).fit(X, y)
    second = NumpyMLP(hidden=[8], epochs=2, seed=5).fit(X, y)

    for (W1, b1), (W2, b2) in zip(first.get_parameters(), second.get_parameters(), strict=True):
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP])
def test_evaluate_loss_uses_true_labels(engine, blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    model = engine(hidden=[8], epochs=2, dtype="float64", seed=0, threads=1).fit(X, y)
    # The forward pass and the loss written out here, apart from the engines' code.
    *hidden_layers, (W_out, b_out) = model.get_parameters()
    activations = X
    for W, b in hidden_layers:
        activations = np.maximum(activations @ W + b, 0.0)
    logits = activations @ W_out + b_out
    top = logits.max(axis=1, keepdims=True)
    log_probs = logits - top - np.log(np.exp(logits - top).sum(axis=1, keepdims=True))

    result = model.evaluate(X, y)

    assert result["loss"] == pytest.approx(-log_probs[np.arange(len(y)), y].mean(), rel=1e-10)
    assert result["accuracy"] == np.mean(logits.argmax(axis=1) == y)
    assert 0.0 < result["accuracy"] < 1.0, "a score of 0 or 1 would not tell the labels apart"


# ----- dtypes ---------------------------------------------------------------------------


def test_float32_model_stays_float32(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    assert X.dtype == np.float64

    model = NumpyMLP(hidden=[8], epochs=2, dtype="float32", seed=0).fit(X, y)

    for layer, (W, b) in enumerate(model.get_parameters()):
        assert W.dtype == np.float32, f"W{layer}"
        assert b.dtype == np.float32, f"b{layer}"
    assert model.predict_proba(X).dtype == np.float32
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float32
    assert model.predict(X).dtype == np.int64


def test_float32_momentum_buffers_stay_float32(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    model = NumpyMLP(hidden=[8], epochs=2, momentum=0.9, weight_decay=1e-3, seed=0).fit(X, y)

    buffers = model._get_momentum_buffers()
    assert buffers is not None
    for layer, (W, b) in enumerate(buffers):
        assert W.dtype == np.float32, f"momentum W{layer}"
        assert b.dtype == np.float32, f"momentum b{layer}"


def test_float64_model_stays_float64(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    model = NumpyMLP(hidden=[8], epochs=2, dtype="float64", seed=0).fit(X.astype(np.float32), y)

    for layer, (W, b) in enumerate(model.get_parameters()):
        assert W.dtype == np.float64, f"W{layer}"
        assert b.dtype == np.float64, f"b{layer}"
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float64


def test_numpy_dtype_object_accepted(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    model = NumpyMLP(hidden=[4], epochs=1, dtype=np.float64).fit(X, y)

    assert model.dtype_name == "float64"
    assert model.predict_proba(X).dtype == np.float64
    assert clone(model).get_params()["dtype"] is np.float64


# ----- divergence -----------------------------------------------------------------------


def test_huge_lr_raises_diverged(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    model = NumpyMLP(hidden=[32], epochs=3, lr=1e6, seed=0)

    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDivergedError) as error:
        model.fit(X * 100, y)

    message = str(error.value)
    assert re.search(r"epoch \d+", message), message
    assert re.search(r"batch \d+ of \d+", message), message
    assert "learning rate 1e+06" in message


def test_diverged_message_names_fixes(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDivergedError) as error:
        NumpyMLP(hidden=[32], epochs=3, lr=1e6, seed=0).fit(X * 100, y)

    message = str(error.value)
    assert "smaller learning rate (lr in Python, --lr on the command line)" in message
    assert "scaled to [0, 1] or standardized (standardize=True in Python, --standardize in" in message


def test_diverged_error_survives_pickle() -> None:
    error = TrainingDivergedError("training diverged at epoch 2", "try a smaller lr")

    copy = pickle.loads(pickle.dumps(error))

    assert str(copy) == "training diverged at epoch 2; try a smaller lr"
    assert copy.problem == "training diverged at epoch 2"


def test_last_step_overflow_raises(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    """With one batch and one epoch, the only loss is measured before the step that overflows."""
    X, y = blobs
    model = NumpyMLP(hidden=[4], epochs=1, batch_size=len(y), lr=1e36, seed=0)

    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDivergedError, match="epoch 1"):
        model.fit(X * 1000, y)


def test_exploding_but_finite_loss_raises() -> None:
    """A finite loss far past any learning model (here about 1e5) still stops training."""
    X, y = gaussian_blobs(n_per_class=20)
    model = NumpyMLP(hidden=[4], epochs=1, batch_size=len(y), lr=0.1, seed=0)

    with pytest.raises(TrainingDivergedError, match="batch 1 of 1"):
        model.fit(X * 1e5, y)


# ----- input validation -----------------------------------------------------------------


def test_predict_rejects_wrong_feature_count(fitted: NumpyMLP) -> None:
    with pytest.raises(DataError, match="X has 5 features, but NumpyMLP is expecting 2 features as input"):
        fitted.predict(np.zeros((3, 5)))


def test_fit_rejects_nan(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    X = X.copy()
    X[7, 1] = np.nan

    expected = r"X: 1 row\(s\) contain NaN or infinity, first row 7 at column 1 \(value nan"
    with pytest.raises(DataError, match=expected):
        NumpyMLP(hidden=[4], epochs=1).fit(X, y)


def test_predict_rejects_infinity(fitted: NumpyMLP) -> None:
    X = np.zeros((4, 2))
    X[2, 0] = np.inf

    with pytest.raises(DataError, match="first row 2 at column 0"):
        fitted.predict(X)


def test_fit_rejects_label_above_range(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    y = y.copy()
    y[4] = 3

    with pytest.raises(DataError, match=r"label 3 at row 4 is outside 0\.\.2"):
        NumpyMLP(hidden=[4], epochs=1).fit(X, y, n_classes=3)


def test_fit_rejects_negative_label(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs
    y = y.copy()
    y[9] = -1

    with pytest.raises(DataError, match="label -1 at row 9 is negative") as error:
        NumpyMLP(hidden=[4], epochs=1).fit(X, y)

    assert "LabelEncoder" in str(error.value)
    assert "n_classes=K" not in str(error.value)


def test_all_negative_labels_rejected() -> None:
    with pytest.raises(DataError, match="label -1 at row 0 is negative"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.zeros((4, 2)), np.array([-1, 0, -1, 0]))


def test_single_class_message_is_singular() -> None:
    model = NumpyMLP(hidden=[4], epochs=1).fit(np.zeros((3, 2)), np.zeros(3, dtype=int))

    with pytest.raises(DataError, match=r"the model has 1 class \("):
        model.evaluate(np.zeros((2, 2)), np.array([0, 1]))


def test_label_gaps_warn() -> None:
    X = np.random.default_rng(0).random((30, 4))
    y = np.array([3, 7, 9] * 10)

    with pytest.warns(UserWarning, match=r"no training sample has label 0, 1, 2, 4, 5, 6, 8, yet"):
        model = NumpyMLP(hidden=[4], epochs=1).fit(X, y)

    assert model.n_classes_ == 10


def test_label_gap_warning_names_largest_label() -> None:
    X = np.random.default_rng(0).random((3000, 4))
    y = np.arange(3000) % 10
    y[5] = 999

    with pytest.warns(UserWarning, match=r"0\.\.999 \(the largest label is 999, at row 5\)"):
        NumpyMLP(hidden=[4], epochs=1).fit(X, y)


def test_label_gaps_silent_with_n_classes() -> None:
    X = np.random.default_rng(0).random((30, 4))
    y = np.array([3, 7, 9] * 10)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Random features teach nothing in one epoch; only the label-gap warning is checked.
        warnings.simplefilter("ignore", NoProgressWarning)
        NumpyMLP(hidden=[4], epochs=1).fit(X, y, n_classes=10)


def test_data_error_is_value_error() -> None:
    with pytest.raises(ValueError, match="X has no rows"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.zeros((0, 2)), np.zeros(0, dtype=int))


def test_sparse_input_rejected_with_hint() -> None:
    X = sparse.csr_matrix(np.eye(3))

    with pytest.raises(DataError, match=r"X is a sparse csr_matrix.*pass X\.toarray\(\)"):
        NumpyMLP(hidden=[4], epochs=1).fit(X, np.array([0, 1, 2]))


def test_evaluate_rejects_label_above_range(fitted: NumpyMLP) -> None:
    with pytest.raises(DataError, match="label 7 at row 1"):
        fitted.evaluate(np.zeros((2, 2)), np.array([0, 7]))


def test_fit_rejects_fractional_labels(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    with pytest.raises(DataError, match=r"label \d+\.5 at row 0 is not a whole number"):
        NumpyMLP(hidden=[4], epochs=1).fit(X, y + 0.5, n_classes=4)


def test_fit_rejects_label_count_mismatch(blobs: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = blobs

    with pytest.raises(DataError, match=r"y must have shape \(300,\)"):
        NumpyMLP(hidden=[4], epochs=1).fit(X, y[:-1])


def test_fit_rejects_one_dimensional_x() -> None:
    with pytest.raises(DataError, match=r"got shape \(4,\)"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.zeros(4), np.zeros(4, dtype=int))


def test_predict_before_fit_raises() -> None:
    with pytest.raises(NotFittedError, match="not fitted"):
        NumpyMLP().predict(np.zeros((1, 2)))


def test_unfitted_model_has_no_classes() -> None:
    assert not hasattr(NumpyMLP(), "classes_")
    assert not hasattr(clone(NumpyMLP(hidden=[4])), "n_features_in_")


def test_string_labels_rejected_with_encoder_hint() -> None:
    with pytest.raises(DataError, match="text labels of dtype <U3; .* or encode other labels with sklearn"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.zeros((3, 2)), np.array(["cat", "dog", "cat"]))


@pytest.mark.parametrize(
    "labels",
    [
        np.array([0, "1", 2], dtype=object),
        pd.Series(["0", "1", "2"]),
        pd.Series(["0", "1", "2"], dtype="string"),
        np.array([0, 1, b"2"], dtype=object),
    ],
    ids=["object-array", "pandas-object", "pandas-string", "bytes"],
)
def test_numbers_written_as_text_rejected_like_other_text(labels) -> None:
    # As a NumPy text array they were refused; in an object array they were read as numbers.
    with pytest.raises(DataError, match=r"label at row \d is the text .*; convert numbers written as text"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.eye(3), labels)


def test_missing_top_class_error_names_n_classes() -> None:
    model = NumpyMLP(hidden=[4], epochs=1).fit(np.eye(3), np.array([0, 1, 2]))

    with pytest.raises(DataError, match="pass n_classes=K to fit"):
        model.evaluate(np.eye(3), np.array([0, 1, 3]))


def test_fractional_label_named() -> None:
    with pytest.raises(DataError, match="label 0.5 at row 1 is not a whole number"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.eye(3), np.array([0.0, 0.5, 2.0]))


def test_missing_label_named() -> None:
    with pytest.raises(DataError, match=r"the label at row 1 is missing \(NaN\); drop the unlabelled rows"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.eye(3), np.array([0.0, np.nan, 2.0]))


def test_boolean_labels_are_classes_0_and_1() -> None:
    X = np.array([[0.0, 1.0], [1.0, 0.0]] * 4)
    flags = np.array([True, False] * 4)
    model = NumpyMLP(hidden=[4], epochs=2, seed=0).fit(X, flags)
    twin = NumpyMLP(hidden=[4], epochs=2, seed=0).fit(X, flags.astype(np.int64))

    assert model.n_classes_ == 2
    assert model.score(X, flags) == twin.score(X, flags.astype(np.int64))
    for (W, b), (W_twin, b_twin) in zip(model.get_parameters(), twin.get_parameters(), strict=True):
        assert np.array_equal(W, W_twin)
        assert np.array_equal(b, b_twin)


def test_string_hidden_rejected_with_list_hint() -> None:
    with pytest.raises(ValueError, match=r"or one integer, such as \[256, 128\] or 64, got '256,128'"):
        NumpyMLP(hidden="256,128", epochs=1).fit(np.eye(3), np.array([0, 1, 2]))


def test_warm_start_zero_epochs_is_silent() -> None:
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    model = NumpyMLP(hidden=[4], epochs=4, warm_start=True).fit(X, y, n_epochs=1)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y, n_epochs=0)

    assert model.epoch_ == 1


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP, SklearnMLP])
def test_integer_hidden_is_one_layer(engine, blobs) -> None:
    # As hidden_layer_sizes=16 in scikit-learn's MLPClassifier.
    X, y = blobs
    single = engine(hidden=16, epochs=2, threads=1).fit(X, y)
    listed = engine(hidden=[16], epochs=2, threads=1).fit(X, y)

    assert single.layer_sizes_ == listed.layer_sizes_ == [X.shape[1], 16, 3]
    assert single.get_config()["hidden"] == [16]
    for (W, b), (W_listed, b_listed) in zip(single.get_parameters(), listed.get_parameters(), strict=True):
        np.testing.assert_array_equal(W, W_listed)
        np.testing.assert_array_equal(b, b_listed)


@pytest.mark.parametrize("hidden", [0, -4, np.int64(0)])
def test_integer_hidden_below_one_rejected(hidden) -> None:
    with pytest.raises(ValueError, match="hidden must be a positive layer size or a list of them"):
        NumpyMLP(hidden=hidden, epochs=1).fit(np.eye(3), np.array([0, 1, 2]))


def test_integer_hidden_saves_and_loads(tmp_path, blobs) -> None:
    X, y = blobs
    model = NumpyMLP(hidden=np.int64(8), epochs=1, threads=1).fit(X, y)
    path = model.save(tmp_path / "one-layer.npz")

    assert NumpyMLP.load(path).layer_sizes_ == [X.shape[1], 8, 3]
    assert NumpyMLP.load(path, hidden=8).predict(X).tolist() == model.predict(X).tolist()


def test_warm_start_fit_past_epochs_warns() -> None:
    X, y = np.eye(4), np.array([0, 1, 0, 1])
    model = NumpyMLP(hidden=[4], epochs=2, warm_start=True).fit(X, y)
    before = [W.copy() for W, _ in model.get_parameters()]

    message = "fit\\(\\) trained nothing: .* already run 2 epochs, and its epochs=2 is the total"
    with pytest.warns(UserWarning, match=message):
        model.fit(X, y)

    assert model.epoch_ == 2
    for W_before, (W_after, _) in zip(before, model.get_parameters(), strict=True):
        np.testing.assert_array_equal(W_after, W_before)


@pytest.mark.parametrize(
    ("engine", "use_blas_update"), [(NumpyMLP, True), (NumpyMLP, False), (TorchMLP, None)]
)
def test_momentum_of_idle_input_stays_normal(engine: type, use_blas_update: bool | None) -> None:
    # Feature 0 is active only in the first fit, so the first layer's momentum for it then
    # decays by 0.9 per step. From about 1e-2 it would reach float32's subnormal range,
    # where arithmetic is many times slower, after about 790 of these 900 steps. Each
    # epoch here is one step, so the zeroing at each epoch's first step does the work.
    # test_zeroing.py checks the zeroing within long epochs.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = np.arange(64) % 3
    model = engine(hidden=[8], epochs=1, batch_size=64, dtype="float32", warm_start=True, threads=1)
    if use_blas_update is not None:
        model.use_blas_update = use_blas_update
    model.fit(X, y)
    X[:, 0] = 0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoProgressWarning)
        model.set_params(epochs=900).fit(X, y)

    (W1_buffer, _), _ = model._get_momentum_buffers()
    subnormal = (W1_buffer != 0) & (np.abs(W1_buffer) < np.finfo(np.float32).tiny)
    assert not subnormal.any(), W1_buffer[0]
    np.testing.assert_array_equal(W1_buffer[0], 0)


# ----- chunked predict ------------------------------------------------------------------


def test_predict_proba_in_chunks(monkeypatch: pytest.MonkeyPatch, fitted: NumpyMLP) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(scale=4.0, size=(10_000, 2)).astype(np.float32)
    chunk_rows: list[int] = []
    original = fitted._predict_proba_chunk

    def recording_chunk(chunk: np.ndarray) -> np.ndarray:
        chunk_rows.append(chunk.shape[0])
        return original(chunk)

    monkeypatch.setattr(base, "PREDICT_CHUNK_ROWS", 3000)
    monkeypatch.setattr(fitted, "_predict_proba_chunk", recording_chunk)

    chunked = fitted.predict_proba(X)

    whole = softmax(forward(fitted.params_, X)[0])
    assert chunk_rows == [3000, 3000, 3000, 1000]
    assert chunked.shape == (10_000, 3)
    np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(chunked.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("labels", "shown"),
    [
        (np.array([0, 1, 2, 2**63], dtype=np.uint64), "9223372036854775808"),
        (np.array([0.0, 1.0, 2.0, 1e19]), "1e+19"),
        (np.array([0.0, 1.0, 2.0, -1e30]), "-1e+30"),
    ],
    ids=["uint64", "float", "negative-float"],
)
def test_label_beyond_int64_named_as_given(labels, shown) -> None:
    # Cast to int64 first, it wrapped round and was reported as another number.
    with pytest.raises(DataError, match=re.escape(f"label {shown} at row 3 is out of the range")):
        NumpyMLP(hidden=[4], epochs=1).fit(np.eye(4), labels)


def test_one_stray_large_label_refused_before_allocating() -> None:
    # K = 2**40 + 1 outputs once needed terabytes before any message.
    with pytest.raises(DataError, match=r"label 1099511627776 at row 3 would make 1099511627777 classes"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.eye(4), np.array([0, 1, 2, 2**40]))


def test_many_classes_allowed_when_justified() -> None:
    with pytest.warns(UserWarning, match="no training sample has label 3, 4"):
        assert NumpyMLP(hidden=[4], epochs=1).fit(np.eye(4), np.array([0, 1, 2, 999])).n_classes_ == 1000
    model = NumpyMLP(hidden=[4], epochs=1).fit(np.eye(4), np.array([0, 1, 2, 1500]), n_classes=1501)
    assert model.n_classes_ == 1501
    # Ten classes per row: 200 rows may bring a label of 1500 (limit 2000), 100 rows may not.
    labels = np.arange(200) % 10
    labels[-1] = 1500
    with pytest.warns(UserWarning, match="no training sample has label"):
        assert NumpyMLP(hidden=[4], epochs=1).fit(np.eye(200), labels).n_classes_ == 1501
    with pytest.raises(DataError, match="would make 1501 classes for 100 rows"):
        NumpyMLP(hidden=[4], epochs=1).fit(np.eye(100), labels[-100:])
