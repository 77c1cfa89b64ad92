"""scikit-learn's digits, the default data set."""

from __future__ import annotations

import numpy as np
import pytest

from mlpbench.data import load_dataset


@pytest.fixture(scope="module")
def digits():
    return load_dataset()


def test_digits_is_default(digits) -> None:
    assert digits.name == "digits"
    assert "random_state=0" in digits.source


def test_digits_split_sizes(digits) -> None:
    assert digits.x_train.shape == (1437, 64)
    assert digits.x_test.shape == (360, 64)
    assert digits.image_shape == (8, 8)
    assert digits.n_classes == 10
    assert digits.class_names is None


def test_digits_split_is_stratified(digits) -> None:
    train_share = np.bincount(digits.y_train) / len(digits.y_train)
    test_share = np.bincount(digits.y_test) / len(digits.y_test)
    np.testing.assert_allclose(train_share, test_share, atol=0.01)


def test_digits_scaled_by_16(digits) -> None:
    assert digits.x_train.dtype == np.float32
    assert digits.x_train.min() == 0.0
    assert digits.x_train.max() == 1.0
    pixels = digits.x_train * 16
    np.testing.assert_array_equal(pixels, np.round(pixels))


def test_digits_split_is_fixed(digits) -> None:
    again = load_dataset("digits", dtype="float64")
    assert again.x_train.dtype == np.float64
    np.testing.assert_array_equal(again.x_train, digits.x_train.astype(np.float64))
    np.testing.assert_array_equal(again.y_test, digits.y_test)
