"""The backward pass and the momentum SGD update in one sweep, through BLAS.

``backward`` followed by ``SGD.step`` writes every weight gradient to its own
array, and the update then passes over parameter-sized arrays four to six times
(decay, momentum, scale and subtract).
Here ``gemm`` adds each weight gradient straight into its momentum buffer
(``buf = momentum * buf + A.T @ dZ``), and ``axpy`` applies weight decay and
the update to all parameters at once. The arithmetic is that of ``SGD``, up to
rounding: ``torch.optim.SGD`` adds the decay to the gradient before the
momentum, while this adds it to the buffer after it, which is the same sum.
"""

from __future__ import annotations

import numpy as np

from mlpbench.engines.numpy_engine.backward import delta_below
from mlpbench.engines.numpy_engine.blas import Blas
from mlpbench.engines.numpy_engine.workspace import Params, Workspace


def backward_into_buffers(
    params: Params,
    inputs: list[np.ndarray],
    dlogits: np.ndarray,
    buffers: Params,
    beta: float,
    workspace: Workspace,
    blas: Blas,
) -> None:
    """Set every ``buffers[l] = beta * buffers[l] + gradient of layer l``.

    The chain rule is that of ``backward``: dW = A.T @ dZ, db = dZ summed over
    the batch, dA = dZ @ W.T, and dZ = dA * (A > 0) below each hidden layer.
    """
    dZ = dlogits
    for index in range(len(params) - 1, -1, -1):
        W, _ = params[index]
        A = inputs[index]
        buffer_W, buffer_b = buffers[index]
        blas.add_transposed_product(A, dZ, buffer_W, beta)
        db = np.sum(dZ, axis=0, out=workspace.grads[index][1])
        buffer_b *= beta
        buffer_b += db
        if index > 0:
            dZ = delta_below(dZ, W, A, out=workspace.deltas[index])


def fused_momentum_step(
    params: Params,
    flat_params: np.ndarray,
    buffers: Params,
    flat_buffer: np.ndarray,
    inputs: list[np.ndarray],
    dlogits: np.ndarray,
    *,
    beta: float,
    weight_decay: float,
    lr: float,
    workspace: Workspace,
    blas: Blas,
) -> None:
    """Run the backward pass and one momentum SGD step, updating ``flat_params`` in place.

    ``params`` and ``buffers`` are per-layer views of ``flat_params`` and
    ``flat_buffer``. ``beta`` is the momentum, or 0 on the first step, where the
    buffer becomes the gradient itself as in torch.
    """
    backward_into_buffers(params, inputs, dlogits, buffers, beta, workspace, blas)
    if weight_decay:
        blas.axpy(weight_decay, flat_params, flat_buffer)
    blas.axpy(-lr, flat_buffer, flat_params)
