"""Backward pass: the chain rule through the affine layers and ReLUs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Params = list[tuple[np.ndarray, np.ndarray]]


def backward(
    params: Params,
    inputs: list[np.ndarray],
    dlogits: np.ndarray,
    grads_out: Params | None = None,
    deltas_out: Sequence[np.ndarray | None] | None = None,
) -> Params:
    """Return (dW, db) for every layer, given the forward pass's layer inputs.

    ``dlogits`` is d(loss)/d(logits) of shape (batch, n_classes), already divided
    by the batch size when the loss is a mean. Going from the last layer down:

        dW = A.T @ dZ          (fan_in, fan_out)
        db = dZ summed over the batch
        dA = dZ @ W.T          gradient for the previous layer's output
        dZ = dA * (A > 0)      the ReLU derivative: 1 where the unit was active, and 0 at
                               z = 0, where PyTorch's ReLU takes 0 too

    ``grads_out`` and ``deltas_out`` (see ``Workspace``), if given, receive the
    results, so the only arrays allocated are the ReLU masks ``A > 0``.

    With momentum (the default), ``NumpyMLP`` trains through ``fused.py``, which runs
    these same four lines but adds each dW straight into its momentum buffer.
    """
    grads: Params = []
    dZ = dlogits
    for index in range(len(params) - 1, -1, -1):
        W, _ = params[index]
        A = inputs[index]
        dW_out, db_out = grads_out[index] if grads_out is not None else (None, None)
        dW = np.matmul(A.T, dZ, out=dW_out)
        db = np.sum(dZ, axis=0, out=db_out)
        grads.append((dW, db))
        if index > 0:
            dZ = delta_below(dZ, W, A, out=None if deltas_out is None else deltas_out[index])
    grads.reverse()
    return grads


def delta_below(dZ: np.ndarray, W: np.ndarray, A: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Return the gradient for the layer below: ``(dZ @ W.T) * (A > 0)``.

    ``A`` is this layer's input, the ReLU output of the layer below, so ``A > 0``
    is the ReLU derivative. The result has A's shape (batch, fan_in) and is
    written into ``out`` when given.
    """
    dA = np.matmul(dZ, W.T, out=out)
    dA *= A > 0
    return dA
