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


def cross_entropy_with_grad(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy over the batch and d(loss)/d(logits).

    For softmax followed by cross-entropy the gradient is ``(probs - onehot(y)) / batch``:
    the division makes it the gradient of the batch mean, not of the sum.
    Subtracting 1 at each label's column avoids building a one-hot matrix.
    """
    batch = logits.shape[0]
    rows = np.arange(batch)
    log_probs = log_softmax(logits)
    loss = -float(log_probs[rows, y].mean(dtype=np.float64))

    dlogits = np.exp(log_probs, out=log_probs)
    dlogits[rows, y] -= 1
    dlogits /= batch
    return loss, dlogits
