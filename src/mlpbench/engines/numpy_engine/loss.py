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
    logits: np.ndarray,
    y: np.ndarray,
    *,
    overwrite_logits: bool = False,
    row_weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray]:
    """Return the mean cross-entropy over the batch and d(loss)/d(logits).

    The gradient is ``(softmax(logits) - onehot(y)) / batch``. The division makes it
    the gradient of the batch mean, not of the sum. Subtracting 1 at each label's
    column avoids building a one-hot matrix.

    ``row_weights``, one per row and summing to 1, turn the mean into a weighted
    mean: row i's loss and gradient are multiplied by ``row_weights[i]`` instead of
    divided by the batch size.

    With ``overwrite_logits=True`` the gradient is written into ``logits`` (saving
    an allocation per step) when ``logits`` is C- or F-contiguous. Otherwise, or
    with the default False, it goes to a new array and ``logits`` is left unchanged.
    """
    if not overwrite_logits or not (logits.flags.c_contiguous or logits.flags.f_contiguous):
        logits = logits.copy()
    batch = logits.shape[0]
    # The labels' positions in memory, for row- or column-major logits alike (training
    # passes column-major ones, see workspace.py). A flat index costs about a third of
    # indexing with (rows, y) pairs (measured at 256 x 10).
    row_step, column_step = (stride // logits.itemsize for stride in logits.strides)
    # intp, so that narrow labels (uint8 from IDX files) cannot overflow the product.
    label_index = np.arange(batch) * row_step + np.asarray(y, dtype=np.intp) * column_step
    flat = logits.ravel(order="K")

    # Log-sum-exp: -log p_y = log(sum_j exp(z_j - m)) - (z_y - m), with m the row
    # maximum, so every exponent is <= 0.
    logits -= logits.max(axis=1, keepdims=True)
    label_logits = flat[label_index]
    probs = np.exp(logits, out=logits)
    row_sums = probs.sum(axis=1, keepdims=True)
    row_losses = np.log(row_sums[:, 0], dtype=np.float64) - label_logits
    if row_weights is None:
        loss = float(row_losses.sum()) / batch
    else:
        loss = float(np.dot(row_weights.astype(np.float64), row_losses))

    # d(loss)/d(logits) = (softmax - onehot(y)) times each row's share of the loss,
    # which is 1/batch for the mean, or the row's weight. The -1 at the label is
    # scaled alike.
    dlogits = probs
    if row_weights is None:
        row_sums *= batch  # one division then gives softmax / batch
        dlogits /= row_sums
        flat[label_index] -= 1 / batch
    else:
        dlogits /= row_sums
        dlogits *= row_weights[:, np.newaxis]
        flat[label_index] -= row_weights
    return loss, dlogits
