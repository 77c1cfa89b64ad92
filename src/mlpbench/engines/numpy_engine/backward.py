"""Backward pass: the chain rule through the affine layers and ReLUs."""

from __future__ import annotations

import numpy as np

Params = list[tuple[np.ndarray, np.ndarray]]


def backward(params: Params, inputs: list[np.ndarray], dlogits: np.ndarray) -> Params:
    """Return (dW, db) for every layer, given the forward pass's layer inputs.

    ``dlogits`` is d(loss)/d(logits) of shape (batch, n_classes), already divided
    by the batch size when the loss is a mean. Going from the last layer down:

        dW = A.T @ dZ          (fan_in, fan_out)
        db = dZ summed over the batch
        dA = dZ @ W.T          gradient for the previous layer's output
        dZ = dA * (A > 0)      the ReLU derivative, 1 where the unit was active
    """
    grads: Params = [None] * len(params)  # type: ignore[list-item]
    dZ = dlogits
    for index in range(len(params) - 1, -1, -1):
        W, _ = params[index]
        A = inputs[index]
        dW = A.T @ dZ
        db = dZ.sum(axis=0)
        grads[index] = (dW, db)
        if index > 0:
            dA = dZ @ W.T
            dA *= A > 0
            dZ = dA
    return grads
