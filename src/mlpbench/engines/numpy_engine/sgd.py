"""Stochastic gradient descent with momentum and L2 weight decay, as ``torch.optim.SGD`` does it."""

from __future__ import annotations

import numpy as np


class SGD:
    """Update parameters in place with the rule of ``torch.optim.SGD`` (dampening 0, no Nesterov).

    For each parameter p with gradient g::

        g = g + weight_decay * p
        buf = g                      on the first step
        buf = momentum * buf + g     afterwards
        p = p - lr * buf             (p = p - lr * g when momentum is 0)
    """

    def __init__(self, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.buffers: list[np.ndarray] | None = None

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        """Apply one update; ``params`` and ``grads`` are matching flat lists of arrays."""
        if self.weight_decay:
            grads = [g + self.weight_decay * p for p, g in zip(params, grads, strict=True)]
        if self.momentum:
            if self.buffers is None:
                self.buffers = [g.copy() for g in grads]
            else:
                for buf, g in zip(self.buffers, grads, strict=True):
                    buf *= self.momentum
                    buf += g
            grads = self.buffers
        for p, g in zip(params, grads, strict=True):
            p -= lr * g
