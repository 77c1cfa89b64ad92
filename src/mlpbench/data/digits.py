"""scikit-learn's bundled 8x8 digits, the default data set: it needs no download."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np

from mlpbench.data.dataset import Dataset, check_labels

TEST_FRACTION = 0.2
SPLIT_SEED = 0
# load_digits stores pixel intensities as whole numbers 0..16.
MAX_PIXEL = 16

DESCRIPTION = "scikit-learn's bundled handwritten digits, 8x8, 1,797 images, 10 classes"


def digits_location() -> Path | None:
    """Return the file scikit-learn loads the digits from, or None where it is not found."""
    try:
        path = Path(str(resources.files("sklearn.datasets") / "data" / "digits.csv.gz"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def load_digits_dataset(dtype: np.dtype) -> Dataset:
    """Load the digits with a fixed stratified 80/20 train/test split.

    Returns
    -------
    Dataset
        1,437 training and 360 test samples of 64 features in [0, 1] (pixel
        value / 16), labels 0..9, ``image_shape`` (8, 8).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        bunch.data,
        bunch.target,
        test_size=TEST_FRACTION,
        random_state=SPLIT_SEED,
        stratify=bunch.target,
    )
    scale = dtype.type(MAX_PIXEL)
    return Dataset(
        x_train=np.divide(x_train, scale, dtype=dtype),
        y_train=check_labels(y_train, 10, "sklearn digits"),
        x_test=np.divide(x_test, scale, dtype=dtype),
        y_test=check_labels(y_test, 10, "sklearn digits"),
        n_classes=10,
        name="digits",
        source=(
            f"scikit-learn bundled digits, stratified {1 - TEST_FRACTION:.0%}/{TEST_FRACTION:.0%} "
            f"split (random_state={SPLIT_SEED})"
        ),
        image_shape=(8, 8),
    )
