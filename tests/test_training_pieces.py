"""The pieces both engines share: He-normal init, batch order, schedule, hyperparameter checks."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from mlpbench import NumpyMLP
from mlpbench.training.batches import BatchOrder
from mlpbench.training.chance import class_frequency_loss, learning_warning, made_no_progress, majority_share
from mlpbench.training.hyperparams import validate_hyperparameters
from mlpbench.training.init import he_normal_init, layer_sizes
from mlpbench.training.schedule import learning_rate

# ----- He-normal init -------------------------------------------------------------------


def test_he_init_std_matches_fan_in() -> None:
    fan_in, fan_out = 1000, 500
    (W, _), = he_normal_init([fan_in, fan_out], seed=0, dtype="float64")

    expected = math.sqrt(2.0 / fan_in)
    # 500,000 draws: the sample std is within about 0.1% of the true one, the mean within 5 standard errors.
    assert W.std() == pytest.approx(expected, rel=0.01)
    assert abs(W.mean()) < 5 * expected / math.sqrt(W.size)


def test_he_init_shapes_and_zero_biases() -> None:
    sizes = layer_sizes(64, [32, 16], 10)

    params = he_normal_init(sizes, seed=0)

    assert sizes == [64, 32, 16, 10]
    assert [W.shape for W, _ in params] == [(64, 32), (32, 16), (16, 10)]
    assert [b.shape for _, b in params] == [(32,), (16,), (10,)]
    for layer, (_, b) in enumerate(params):
        assert not b.any(), f"bias {layer} is not zero"


def test_he_init_std_per_layer() -> None:
    params = he_normal_init([400, 300, 200], seed=1, dtype="float64")

    assert params[0][0].std() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert params[1][0].std() == pytest.approx(math.sqrt(2 / 300), rel=0.02)


def test_he_init_same_seed_same_numbers() -> None:
    first = he_normal_init([20, 10, 3], seed=7)
    second = he_normal_init([20, 10, 3], seed=7)

    for (W1, b1), (W2, b2) in zip(first, second, strict=True):
        np.testing.assert_array_equal(W1, W2)
        np.testing.assert_array_equal(b1, b2)


def test_he_init_different_seed_differs() -> None:
    (W1, _), = he_normal_init([20, 10], seed=7)
    (W2, _), = he_normal_init([20, 10], seed=8)

    assert not np.array_equal(W1, W2)


def test_he_init_dtype_rounds_same_draws() -> None:
    (W64, b64), = he_normal_init([20, 10], seed=3, dtype="float64")
    (W32, b32), = he_normal_init([20, 10], seed=3, dtype="float32")

    assert W64.dtype == np.float64
    assert W32.dtype == np.float32
    assert b32.dtype == np.float32
    np.testing.assert_array_equal(W32, W64.astype(np.float32))


# ----- batch order ----------------------------------------------------------------------


def test_batch_order_epoch_is_permutation() -> None:
    order = BatchOrder(n_samples=103, batch_size=10, seed=0)

    for _ in range(3):
        rows = np.concatenate(list(order.epoch()))
        assert rows.shape == (103,)
        np.testing.assert_array_equal(np.sort(rows), np.arange(103))


def test_batch_order_epochs_differ() -> None:
    order = BatchOrder(n_samples=100, batch_size=10, seed=0)

    first = np.concatenate(list(order.epoch()))
    second = np.concatenate(list(order.epoch()))

    assert not np.array_equal(first, second)


def test_batch_order_keeps_partial_batch() -> None:
    order = BatchOrder(n_samples=10, batch_size=4, seed=0)

    sizes = [len(batch) for batch in order.epoch()]

    assert sizes == [4, 4, 2]
    assert order.batches_per_epoch == 3


def test_batch_beyond_rows_is_one_batch() -> None:
    order = BatchOrder(n_samples=10, batch_size=64, seed=0)

    batches = list(order.epoch())

    assert len(batches) == 1
    assert len(batches[0]) == 10
    assert order.batches_per_epoch == 1


def test_batch_order_same_seed_same_sequence() -> None:
    first = BatchOrder(50, 8, seed=4)
    second = BatchOrder(50, 8, seed=4)

    for _ in range(3):
        for a, b in zip(first.epoch(), second.epoch(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_batch_order_different_seed_differs() -> None:
    first = np.concatenate(list(BatchOrder(50, 8, seed=4).epoch()))
    second = np.concatenate(list(BatchOrder(50, 8, seed=5).epoch()))

    assert not np.array_equal(first, second)


def test_batch_order_state_round_trip() -> None:
    original = BatchOrder(50, 8, seed=4)
    list(original.epoch())

    restored = BatchOrder.from_state(original.get_state())

    assert restored.n_samples == 50
    assert restored.batch_size == 8
    for _ in range(2):
        for a, b in zip(original.epoch(), restored.epoch(), strict=True):
            np.testing.assert_array_equal(a, b)


def test_batch_order_rejects_zero_sizes() -> None:
    with pytest.raises(ValueError, match="n_samples must be positive, got 0"):
        BatchOrder(0, 4, seed=0)
    with pytest.raises(ValueError, match="batch_size must be positive, got 0"):
        BatchOrder(10, 0, seed=0)


# ----- learning-rate schedule -----------------------------------------------------------


def test_cosine_starts_at_base_lr() -> None:
    assert learning_rate(0.1, "cosine", 0, 10) == pytest.approx(0.1, rel=1e-15)


def test_cosine_is_half_at_midpoint() -> None:
    assert learning_rate(0.1, "cosine", 5, 10) == pytest.approx(0.05, rel=1e-15)


def test_cosine_decreases() -> None:
    rates = [learning_rate(0.1, "cosine", epoch, 10) for epoch in range(10)]

    assert all(later < earlier for earlier, later in zip(rates, rates[1:], strict=False))
    assert rates[-1] > 0


def test_constant_schedule_is_constant() -> None:
    rates = {learning_rate(0.1, "constant", epoch, 10) for epoch in range(10)}

    assert rates == {0.1}


def test_unknown_schedule_raises() -> None:
    with pytest.raises(ValueError, match="'step'"):
        learning_rate(0.1, "step", 0, 10)


# ----- hyperparameter validation --------------------------------------------------------

VALID: dict[str, Any] = {
    "hidden": [16],
    "epochs": 2,
    "batch_size": 8,
    "lr": 0.1,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "schedule": "constant",
    "dtype": "float32",
}

INVALID = [
    pytest.param("lr", -0.1, "-0.1", id="negative-lr"),
    pytest.param("lr", 0.0, "0.0", id="zero-lr"),
    pytest.param("lr", float("nan"), "nan", id="nan-lr"),
    pytest.param("epochs", 0, "0", id="zero-epochs"),
    pytest.param("batch_size", 0, "0", id="zero-batch-size"),
    pytest.param("hidden", [128, 0], "[128, 0]", id="zero-hidden"),
    pytest.param("hidden", [-4], "[-4]", id="negative-hidden"),
    pytest.param("momentum", 1.0, "1.0", id="momentum-one"),
    pytest.param("momentum", -0.5, "-0.5", id="negative-momentum"),
    pytest.param("weight_decay", -1e-4, "-0.0001", id="negative-weight-decay"),
    pytest.param("dtype", "float16", "'float16'", id="float16"),
    pytest.param("dtype", "banana", "'banana'", id="unknown-dtype"),
    pytest.param("schedule", "step", "'step'", id="unknown-schedule"),
    pytest.param("seed", -1, "-1", id="negative-seed"),
    pytest.param("seed", 1.5, "1.5", id="fractional-seed"),
    pytest.param("seed", 2**32, "4294967296", id="seed-above-32-bits"),
]


def test_valid_hyperparameters_accepted() -> None:
    validate_hyperparameters(**VALID)


@pytest.mark.parametrize(("name", "value", "shown"), INVALID)
def test_invalid_hyperparameter_named(name: str, value: Any, shown: str) -> None:
    settings = {**VALID, name: value}

    with pytest.raises(ValueError, match=re.escape(shown)) as error:
        validate_hyperparameters(**settings)

    assert name.split("_")[0] in str(error.value)


@pytest.mark.parametrize(("name", "value", "shown"), INVALID)
def test_fit_rejects_invalid_hyperparameter(name: str, value: Any, shown: str) -> None:
    settings = {**VALID, name: value}
    X = np.zeros((4, 3))
    y = np.array([0, 1, 0, 1])

    with pytest.raises(ValueError, match=re.escape(shown)):
        NumpyMLP(**settings).fit(X, y)


# ----- the loss of learning nothing ------------------------------------------------------


def test_chance_loss_balanced_is_log_k() -> None:
    y = np.repeat(np.arange(10), 7)

    assert class_frequency_loss(y) == pytest.approx(math.log(10), rel=1e-12)


def test_chance_loss_matches_cross_entropy() -> None:
    y = np.array([0, 0, 0, 1, 2, 2, 5])  # classes 3 and 4 never occur
    shares = np.bincount(y) / len(y)
    # The mean cross-entropy of a model that outputs `shares` for every row.
    expected = -np.mean(np.log(shares[y]))

    assert class_frequency_loss(y) == pytest.approx(expected, rel=1e-12)
    assert class_frequency_loss(np.zeros(5, dtype=np.int64)) == 0.0


def test_no_progress_threshold() -> None:
    y = np.repeat(np.arange(10), 3)
    chance = math.log(10)

    assert made_no_progress(chance * 1.3, y)
    assert made_no_progress(chance * 0.99, y)
    assert not made_no_progress(chance * 0.97, y)
    assert not made_no_progress(0.4, y)


def test_single_class_never_counts_as_no_progress() -> None:
    assert not made_no_progress(0.0, np.zeros(5, dtype=np.int64))


def test_majority_share() -> None:
    assert majority_share(np.array([0, 1, 1, 2])) == 0.5
    assert majority_share(np.repeat(np.arange(10), 3)) == pytest.approx(0.1)


def test_learning_warning_silent_when_learned() -> None:
    y = np.repeat(np.arange(10), 3)
    assert learning_warning(0.4, y, 0.85, y, lr=0.05, default_lr=0.05) is None


def test_learning_warning_for_stalled_loss() -> None:
    y = np.repeat(np.arange(10), 3)
    message = learning_warning(2.4, y, 0.5, y, lr=5.0, default_lr=0.05)

    assert message.startswith("the last epoch's mean training loss was 2.400, no lower than the 2.303")
    assert "did not learn at --lr 5" in message
    assert "try a smaller --lr (for example --lr 0.05, the default)" in message


def test_learning_warning_for_chance_accuracy() -> None:
    y = np.repeat(np.arange(10), 3)
    message = learning_warning(1.2, y, 0.1, y, lr=0.01, default_lr=0.05)

    assert message.startswith("the test accuracy ended at 10.0%, no better than the 10.0%")
    assert message.endswith("try a larger --lr or more --epochs")


def test_learning_warning_names_untrained_classes() -> None:
    # A stray test label 20 gives 21 outputs, 11 of which no training sample teaches.
    y_train = np.repeat(np.arange(10), 3)
    y_test = np.append(y_train, 20)
    message = learning_warning(3.1, y_train, 0.5, y_test, lr=0.05, default_lr=0.05)

    assert "try a larger --lr or more --epochs. Also, 11 of the 21 classes have no training sample" in message
    assert message.endswith("and no --lr teaches those")


def test_learning_warning_singular_class() -> None:
    y_train = np.repeat(np.arange(9), 3)
    y_test = np.arange(10)
    message = learning_warning(3.1, y_train, 0.05, y_test, lr=0.05, default_lr=0.05)

    assert "1 of the 10 classes has no training sample" in message


def test_oversubscription_warning_above_cpu_count(monkeypatch) -> None:
    import os

    from mlpbench.threads import oversubscription_warning

    # Three CPUs in the machine, but this process may use two of them.
    monkeypatch.setattr(os, "cpu_count", lambda: 3)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})

    assert oversubscription_warning(1) is None
    assert oversubscription_warning(2) is None
    assert "3 threads is more than the 2 logical CPU(s)" in oversubscription_warning(3)


def test_learning_warning_for_loss_just_below_chance() -> None:
    # 2.263 is under the 2.303 of balanced classes, but within the 2% margin.
    y = np.repeat(np.arange(10), 3)
    message = learning_warning(2.263, y, 0.5, y, lr=0.05, default_lr=0.05)

    assert message.startswith("the last epoch's mean training loss was 2.263, within 2% of the 2.303")


def test_epoch_clock_covers_shuffle(monkeypatch):
    # The DataLoader and scikit-learn engines time their own shuffles, so the shared
    # loop must time drawing the permutation too.
    import time

    original = BatchOrder.epoch

    def slow_epoch(self):
        time.sleep(0.2)
        return original(self)

    monkeypatch.setattr(BatchOrder, "epoch", slow_epoch)
    rng = np.random.default_rng(0)
    X = rng.random((32, 4))
    y = np.arange(32) % 2

    model = NumpyMLP(hidden=[4], epochs=1, batch_size=16).fit(X, y)

    assert model.history_[0]["time_s"] >= 0.2
