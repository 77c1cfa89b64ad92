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
        dZ = dA * (A > 0)      the ReLU derivative, 1 where the unit was active

    ``grads_out`` and ``deltas_out`` (see ``Workspace``), if given, receive the
    results so that nothing is allocated.
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
            dA = np.matmul(dZ, W.T, out=None if deltas_out is None else deltas_out[index])
            dA *= A > 0
            dZ = dA
    grads.reverse()
    return grads
