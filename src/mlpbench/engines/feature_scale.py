"""The check that warns when fit and partial_fit get features far from unit scale."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from mlpbench.engines.stack import user_stacklevel


class FeatureScaleWarning(UserWarning):
    """Warning that ``fit`` or ``partial_fit`` got features far from unit scale."""


FEATURE_SCALE_WARNING = 4.0
"""Root mean square over all of X's values above which fit warns that X looks unscaled.

Pixels in [0, 1] have 0.45 (Fashion-MNIST) to 0.48 (the digits). Standardized
features have 1 over the data the scaler saw, and at most 2.1 in the 32-row batches
of standardized Fashion-MNIST's first 20,000 rows. The digits' raw pixels (0..16)
have 7.7, and Fashion-MNIST's 0..255 pixels 116.
NOTE: moderately large features pass. Fashion-MNIST pixels times 5.8 have 2.6, and
NumpyMLP's defaults trained on them to 35% test accuracy where [0, 1] pixels reached
85% (20,000 rows, 5 epochs).
"""

MIN_SCALE_ROWS = 32
"""Rows that the check must have seen before it judges: a single standardized digits row reaches 6."""

ROWS_PER_BLOCK = 4096
"""Rows squared at a time, so that a float64 copy, where float32 overflows, stays small."""


@dataclasses.dataclass
class FeatureScaleCheck:
    """The mean square of the feature values not yet judged, and whether the check warned.

    ``fit`` starts a new check; warm fits and ``partial_fit`` calls continue it. Rows
    are judged once ``MIN_SCALE_ROWS`` have gathered, so small batches are judged
    together, and later rows are judged apart from earlier ones. It warns at most once.
    """

    square_sum: float = 0.0
    weight_sum: float = 0.0
    rows: int = 0
    warned: bool = False

    def add(self, X: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Add the rows of X (weighted by ``weights`` when given) and warn once if the scale is too large."""
        n_rows, n_features = X.shape
        for start in range(0, n_rows, ROWS_PER_BLOCK):
            block = X[start : start + ROWS_PER_BLOCK]
            with np.errstate(over="ignore"):
                row_squares = np.einsum("ij,ij->i", block, block).astype(np.float64)
            if not np.isfinite(row_squares).all():
                # float32 squares overflow above about 1.8e19, and float64 squares do not.
                block = block.astype(np.float64)
                row_squares = np.einsum("ij,ij->i", block, block)
            if weights is None:
                self.square_sum += float(row_squares.sum())
            else:
                self.square_sum += float(np.dot(weights[start : start + ROWS_PER_BLOCK], row_squares))

        self.weight_sum += (n_rows if weights is None else float(weights.sum())) * n_features
        self.rows += n_rows
        if self.rows < MIN_SCALE_ROWS:
            return

        judged_rows = self.rows
        rms = math.sqrt(self.square_sum / self.weight_sum) if self.weight_sum > 0 else 0.0
        self.square_sum = self.weight_sum = 0.0
        self.rows = 0
        if self.warned or not rms > FEATURE_SCALE_WARNING:
            return

        self.warned = True
        rms_text = f"{rms:.3g}"
        if rms_text == f"{FEATURE_SCALE_WARNING:.3g}":
            rms_text = f"{rms:.5g}"
        warnings.warn(
            f"{judged_rows} rows of X have a root mean square of {rms_text}, above "
            f"{FEATURE_SCALE_WARNING:g}, and SGD trains slowly or diverges on features far from unit "
            "scale; scale X to [0, 1] or standardize it (StandardScaler, or standardize=True), or "
            "filter FeatureScaleWarning where the scale is meant",
            FeatureScaleWarning,
            stacklevel=user_stacklevel(),
        )
