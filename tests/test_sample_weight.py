"""sample_weight in fit and partial_fit: each batch's loss is a weighted mean, as in scikit-learn."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from mlpbench import NumpyMLP, SklearnMLP, TorchDataLoaderMLP, TorchMLP
from mlpbench.errors import DataError
from mlpbench.training.chance import class_frequency_loss

ENGINES = [NumpyMLP, TorchMLP, TorchDataLoaderMLP, SklearnMLP]
CLASSES = np.arange(10)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@pytest.fixture(scope="module")
def weights(digits) -> np.ndarray:
    return np.random.default_rng(3).uniform(0.0, 2.0, len(digits[1]))


def _parameters(model) -> list[np.ndarray]:
    return [array for pair in model.get_parameters() for array in pair]


def _assert_same_parameters(first, second, rtol: float) -> None:
    for mine, theirs in zip(_parameters(first), _parameters(second), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("momentum", [0.0, 0.9], ids=["plain", "momentum"])
def test_numpy_and_torch_agree_with_weights(digits, weights, momentum) -> None:
    # Same batches, same weighted gradients: the hand-written backward pass against autograd.
    X, y = digits
    settings = dict(hidden=[32], epochs=3, batch_size=32, momentum=momentum, dtype="float64", threads=1)
    numpy_model = NumpyMLP(**settings).fit(X, y, weights)
    torch_model = TorchMLP(**settings).fit(X, y, weights)

    _assert_same_parameters(numpy_model, torch_model, rtol=1e-9)
    unweighted = NumpyMLP(**settings).fit(X, y)
    assert not np.allclose(_parameters(numpy_model)[0], _parameters(unweighted)[0])


@pytest.mark.parametrize("engine", ENGINES)
def test_equal_weights_change_nothing(engine, digits) -> None:
    # A weighted mean with equal weights is the plain mean, whatever the weight.
    X, y = digits
    settings = dict(hidden=[16], epochs=2, batch_size=50, dtype="float64", threads=1)
    plain = engine(**settings).fit(X, y)
    weighted = engine(**settings).fit(X, y, np.full(len(y), 3.0))

    _assert_same_parameters(plain, weighted, rtol=1e-12)
    assert weighted.history_[-1]["train_loss"] == pytest.approx(plain.history_[-1]["train_loss"], rel=1e-12)


@pytest.mark.parametrize("standardize", [False, True], ids=["raw", "standardized"])
@pytest.mark.parametrize("engine", ENGINES)
def test_weights_match_dropped_and_repeated_rows(engine, standardize, digits) -> None:
    # With one batch per epoch the batch is the whole data set, so weight 0 must act as
    # dropping the row and weight 2 as repeating it, as scikit-learn's own check requires.
    # standardize=True must weight the feature means and scales alike.
    X, y = digits
    counts = np.random.default_rng(5).integers(0, 3, len(y))
    settings = dict(
        hidden=[16], epochs=3, batch_size=10_000, dtype="float64", standardize=standardize, threads=1
    )
    weighted = engine(**settings).fit(X, y, counts)
    repeated = engine(**settings).fit(X.repeat(counts, axis=0), y.repeat(counts))

    _assert_same_parameters(weighted, repeated, rtol=1e-10)
    for mine, theirs in zip(weighted.history_, repeated.history_, strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-10)


def test_passes_scikit_learns_equivalence_check_in_float64() -> None:
    from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

    check_sample_weight_equivalence_on_dense_data(
        "NumpyMLP", NumpyMLP(hidden=[16], epochs=5, dtype="float64", threads=1)
    )


def test_epoch_loss_weighted_before_step(digits, weights) -> None:
    # One full batch: the epoch's loss is measured on the initial parameters.
    X, y = digits
    untrained = NumpyMLP(hidden=[16], dtype="float64", seed=4).initialize(X.shape[1], 10)
    picked = untrained.predict_proba(X)[np.arange(len(y)), y]
    expected = float(-np.average(np.log(picked), weights=weights))

    model = NumpyMLP(hidden=[16], epochs=1, batch_size=10_000, dtype="float64", seed=4, threads=1)
    model.fit(X, y, weights)

    assert model.history_[0]["train_loss"] == pytest.approx(expected, rel=1e-12)


def test_epoch_loss_weights_batches_by_sum(digits, weights) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[16], epochs=1, batch_size=64, dtype="float64", threads=1)
    order = [batch.copy() for batch in _first_epoch_batches(model, X, y)]
    model.fit(X, y, weights)

    sums = np.array([weights[batch].sum() for batch in order])
    expected = np.dot(model.batch_losses_[0], sums) / weights.sum()
    assert model.history_[0]["train_loss"] == pytest.approx(expected, rel=1e-12)
    assert len(order) > 1


def _first_epoch_batches(model: NumpyMLP, X: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    from mlpbench.training.batches import BatchOrder

    return list(BatchOrder(len(y), model.batch_size, model.seed).epoch())


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP, TorchDataLoaderMLP])
def test_zero_weight_batches_keep_parameters(engine, digits) -> None:
    # Without momentum or decay, a step on rows of weight 0 changes nothing, so training
    # on every row with only row 0 weighted equals training on row 0 alone.
    X, y = digits
    only_first = np.zeros(len(y))
    only_first[0] = 1.0
    settings = dict(hidden=[16], epochs=2, batch_size=1, momentum=0.0, dtype="float64", threads=1)
    weighted = engine(**settings).fit(X, y, only_first)
    alone = engine(**settings).fit(X[:1], y[:1], n_classes=10)

    _assert_same_parameters(weighted, alone, rtol=1e-12)
    assert all(np.isfinite(record["train_loss"]) for record in weighted.history_)


def test_sklearn_engine_names_a_batch_of_zero_weight(digits) -> None:
    X, y = digits
    weights = np.ones(len(y))
    weights[::2] = 0.0

    with pytest.raises(DataError, match="cannot train a batch whose sample weights are all 0"):
        SklearnMLP(hidden=[8], epochs=1, batch_size=1, threads=1).fit(X, y, weights)


@pytest.mark.parametrize("engine", ENGINES)
def test_partial_fit_calls_match_weighted_fit(engine, digits, weights) -> None:
    X, y = digits
    fitted = engine(hidden=[16], epochs=3, threads=1).fit(X, y, weights)
    stepped = engine(hidden=[16], epochs=3, threads=1)
    stepped.partial_fit(X, y, weights, CLASSES)
    for _ in range(2):
        stepped.partial_fit(X, y, sample_weight=weights)

    for mine, theirs in zip(_parameters(stepped), _parameters(fitted), strict=True):
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (np.ones(3), r"sample_weight must have shape \(400,\)"),
        (-np.ones(400), "entry 0 is -1.0"),
        (np.zeros(400), "zero for every row"),
        (np.full(400, np.nan), "entry 0 is nan"),
    ],
    ids=["shape", "negative", "zero", "nan"],
)
def test_bad_weights_leave_a_fitted_model_unchanged(digits, bad, fragment) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, classes=CLASSES)
    before = _parameters(model)

    with pytest.raises(DataError, match=fragment):
        model.partial_fit(X, y, sample_weight=bad)
    with pytest.raises(DataError, match=fragment):
        model.set_params(warm_start=True, epochs=3).fit(X, y, bad)

    assert model.epoch_ == 1
    for mine, theirs in zip(_parameters(model), before, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_no_progress_baseline_uses_the_weights() -> None:
    y = np.array([0, 0, 1])
    assert class_frequency_loss(y) == pytest.approx(-(2 / 3) * np.log(2 / 3) - (1 / 3) * np.log(1 / 3))
    # Weighted, the two classes weigh the same, so the baseline is log 2.
    assert class_frequency_loss(y, np.array([1.0, 1.0, 2.0])) == pytest.approx(np.log(2))


def test_weights_pass_through_cross_val_score_and_pipeline(digits, weights) -> None:
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = digits
    scores = cross_val_score(
        NumpyMLP(hidden=[16], epochs=2, threads=1), X, y, cv=2, params={"sample_weight": weights}
    )
    assert scores.shape == (2,)

    pipeline = make_pipeline(StandardScaler(), NumpyMLP(hidden=[16], epochs=2, threads=1))
    pipeline.fit(X, y, numpymlp__sample_weight=weights)
    direct = NumpyMLP(hidden=[16], epochs=2, threads=1).fit(StandardScaler().fit_transform(X), y, weights)
    np.testing.assert_array_equal(pipeline[-1].get_parameters()[0][0], direct.get_parameters()[0][0])


@pytest.mark.parametrize("engine", [NumpyMLP, TorchMLP, TorchDataLoaderMLP])
def test_epoch_loss_weighted_across_batches(engine, digits, weights) -> None:
    # At a learning rate of 1e-12 the parameters stay where they started. So every batch's
    # loss is measured on the initial network, whatever rows the shuffle put in it, and
    # the epoch's loss must be the weighted mean of the rows' initial losses.
    X, y = digits
    settings = dict(hidden=[16], epochs=1, batch_size=7, lr=1e-12, momentum=0.0, dtype="float64", seed=2)
    untrained = NumpyMLP(**settings).initialize(X.shape[1], 10)
    picked = untrained.predict_proba(X)[np.arange(len(y)), y]
    uneven = weights * np.where(y < 5, 10.0, 1.0)

    model = engine(**settings, threads=1).fit(X, y, uneven)

    expected = float(-np.average(np.log(picked), weights=uneven))
    assert model.history_[0]["train_loss"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("engine", ENGINES)
def test_only_the_ratios_of_the_weights_matter(engine, digits, weights) -> None:
    X, y = digits
    settings = dict(hidden=[16], epochs=2, batch_size=50, weight_decay=1e-2, dtype="float64", threads=1)
    small = engine(**settings).fit(X, y, weights)
    large = engine(**settings).fit(X, y, weights * 1e306)  # their sum overflows float64

    _assert_same_parameters(small, large, rtol=1e-12)
    assert np.isfinite(large.history_[-1]["train_loss"])


def test_zero_weight_batches_apply_momentum(digits) -> None:
    # Most batches of 2 have only rows of weight 0; both engines must still take the
    # momentum and weight-decay step for them, and agree on it.
    X, y = digits
    sparse = np.where(np.random.default_rng(8).random(len(y)) < 0.15, 1.0, 0.0)
    settings = dict(hidden=[16], epochs=2, batch_size=2, weight_decay=1e-3, dtype="float64", threads=1)
    numpy_model = NumpyMLP(**settings).fit(X, y, sparse)
    torch_model = TorchMLP(**settings).fit(X, y, sparse)

    _assert_same_parameters(numpy_model, torch_model, rtol=1e-9)
    skipped = NumpyMLP(**settings).fit(X[sparse > 0], y[sparse > 0], n_classes=10)
    assert not np.allclose(_parameters(numpy_model)[0], _parameters(skipped)[0])


def test_no_progress_warning_compares_with_the_weighted_baseline(digits) -> None:
    import warnings

    from mlpbench.training.chance import NoProgressWarning

    # Class 0 has most rows, and the weights balance the classes again. So the weighted
    # baseline is log(10) = 2.303, against 1.29 without the weights.
    X, y = digits
    rows = np.concatenate([np.flatnonzero(y == 0).repeat(20), np.flatnonzero(y != 0)])
    X, y = X[rows], y[rows]
    balancing = 1.0 / np.bincount(y)[y]
    model = NumpyMLP(hidden=[8], epochs=1, threads=1).fit(X, y, balancing)

    model.history_[-1]["train_loss"] = 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoProgressWarning)
        model._warn_if_no_progress(y, balancing)
    model.history_[-1]["train_loss"] = 2.3
    with pytest.warns(NoProgressWarning, match="within 2% of the 2.303 of always predicting"):
        model._warn_if_no_progress(y, balancing)


def test_sklearn_engine_gives_no_false_no_progress_warning(digits) -> None:
    import warnings

    from mlpbench.training.chance import NoProgressWarning

    # scikit-learn's loss_ is not the weighted mean, so it must not be held against the
    # weighted baseline (0.009 here), which a network that learned would seem to miss.
    X, y = digits
    favour_zeros = np.where(y == 0, 100.0, 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoProgressWarning)
        model = SklearnMLP(hidden=[32], epochs=10, threads=1).fit(X, y, favour_zeros)
    assert model.score(X, y, sample_weight=favour_zeros) > 0.99


def test_cross_val_score_uses_fold_weights(digits, weights) -> None:
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    X, y = digits
    settings = dict(hidden=[16], epochs=2, threads=1)
    folds = StratifiedKFold(2)
    scores = cross_val_score(NumpyMLP(**settings), X, y, cv=folds, params={"sample_weight": weights})

    expected = [
        NumpyMLP(**settings).fit(X[train], y[train], weights[train]).score(X[test], y[test])
        for train, test in folds.split(X, y)
    ]
    assert scores.tolist() == expected
    unweighted = cross_val_score(NumpyMLP(**settings), X, y, cv=folds)
    assert scores.tolist() != unweighted.tolist()


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        (["a"] * 400, "must contain numbers, one per row of X, but entry 0 is 'a'"),
        ([1.0] * 399 + [None], "entry 399 is None"),
        (np.full(400, 1j), "sample_weight has dtype complex128; pass its real part"),
        ([[1.0, 2.0], [3.0]], "must be a list or 1-D array of numbers"),
    ],
    ids=["text", "none", "complex", "ragged"],
)
def test_weights_that_are_not_numbers_named(digits, bad, fragment) -> None:
    X, y = digits
    with pytest.raises(DataError, match=re.escape(fragment)):
        NumpyMLP(hidden=[8], epochs=1, threads=1).fit(X, y, bad)


def test_classes_in_the_weights_place_gets_a_hint(digits) -> None:
    X, y = digits
    model = NumpyMLP(hidden=[8], threads=1).partial_fit(X, y, classes=CLASSES)

    with pytest.raises(DataError, match=r"got \(10,\); it looks like the classes, which come fourth"):
        model.partial_fit(X, y, CLASSES)
    # Weights of the wrong length given by name get no such hint.
    with pytest.raises(DataError, match=r"got \(3,\)$"):
        model.partial_fit(X, y, sample_weight=np.ones(3))


def test_sklearn_engine_passes_weights_scaled_to_mean_one(digits, weights) -> None:
    # scikit-learn divides its L2 term by each batch's weight sum, so the engine gives
    # it weights of mean 1, keeping the decay near weight_decay whatever their scale.
    from sklearn.neural_network import MLPClassifier

    X, y = digits
    model = SklearnMLP(hidden=[8], epochs=2, batch_size=32, weight_decay=1e-2, dtype="float64", threads=1)
    model.fit(X, y, weights * 7.0)

    reference = MLPClassifier(
        hidden_layer_sizes=[8],
        solver="sgd",
        alpha=1e-2 * 32,
        batch_size=32,
        learning_rate_init=model.lr,
        momentum=model.momentum,
        nesterovs_momentum=False,
        random_state=np.random.RandomState(model.seed),
    )
    for _ in range(2):
        reference.partial_fit(X, y, sample_weight=weights / weights.mean(), classes=CLASSES)
    ours = _parameters(model)
    theirs = [array for pair in zip(reference.coefs_, reference.intercepts_, strict=True) for array in pair]
    for mine, expected in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-12)
