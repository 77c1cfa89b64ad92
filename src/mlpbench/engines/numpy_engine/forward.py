"""Forward pass: affine layers with ReLU between them, logits out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Params = list[tuple[np.ndarray, np.ndarray]]


def forward(
    params: Params, X: np.ndarray, out: Sequence[np.ndarray] | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the logits and the input of every layer.

    X has shape (batch, n_features); each layer computes ``A @ W + b`` with W of
    shape (fan_in, fan_out). Hidden layers apply ReLU; the last layer returns raw
    logits of shape (batch, n_classes). ``inputs[l]`` is what layer l received
    (``inputs[0]`` is X), which is all the backward pass needs: for l > 0 it is a
    ReLU output, so ``inputs[l] > 0`` is also the ReLU derivative's mask.

    ``out``, if given, contains one preallocated array per layer of shape
    (batch, fan_out) that receives the layer's output, so no layer-sized array is
    allocated (NumPy may still use a small internal buffer for the bias add).
    """
    inputs = [X]
    A = X
    last = len(params) - 1
    for index, (W, b) in enumerate(params):
        Z = np.matmul(A, W, out=None if out is None else out[index])
        Z += b
        if index < last:
            np.maximum(Z, 0, out=Z)
            inputs.append(Z)
        A = Z
    return A, inputs
