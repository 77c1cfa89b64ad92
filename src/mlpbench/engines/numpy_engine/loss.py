"""Softmax cross-entropy on integer labels, and its gradient with respect to the logits."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Return log-probabilities along axis 1, stable for logits of any magnitude.

    Subtracting the row maximum before ``exp`` (the log-sum-exp trick) keeps every
    exponent <= 0, so logits of +-1e4 give finite results.
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return class probabilities along axis 1."""
    return np.exp(log_softmax(logits))


def cross_entropy_with_grad(
    logits: np.ndarray, y: np.ndarray, *, overwrite_logits: bool = False
) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy over the batch and d(loss)/d(logits).

    The gradient is ``(softmax(logits) - onehot(y)) / batch``. The division makes it
    the gradient of the batch mean, not of the sum. Subtracting 1 at each label's
    column avoids building a one-hot matrix.

    With ``overwrite_logits=True`` the gradient is written into ``logits`` (saving
    an allocation per step); otherwise ``logits`` is left unchanged.
    """
    if not overwrite_logits:
        logits = logits.copy()
    batch = logits.shape[0]
    rows = np.arange(batch)

    # Log-sum-exp: with the row maximum subtracted every exponent is <= 0.
    logits -= logits.max(axis=1, keepdims=True)
    label_logits = logits[rows, y].astype(np.float64)
    probs = np.exp(logits, out=logits)
    row_sums = probs.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(row_sums[:, 0], dtype=np.float64) - label_logits))

    dlogits = probs
    dlogits /= row_sums
    dlogits[rows, y] -= 1
    dlogits /= batch
    return loss, dlogits
