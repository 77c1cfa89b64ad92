"""Stochastic gradient descent with momentum and L2 weight decay, as ``torch.optim.SGD`` does it."""

from __future__ import annotations

import math

import numpy as np

# Momentum values below np.finfo(dtype).tiny times this margin are set to 0 (see
# SGD.zero_vanishing_momentum). For float32 that is about 5e-29. With lr <= 1, the update
# skipped per step is smaller than float32 rounding for any parameter above about 1e-21.
VANISHING_MARGIN = 2.0**32


class SGD:
    """Update parameters in place with the rule of ``torch.optim.SGD`` (dampening 0, no Nesterov).

    For each parameter p with gradient g::

        g = g + weight_decay * p
        buf = g                      on the first step
        buf = momentum * buf + g     afterwards
        p = p - lr * buf             (p = p - lr * g when momentum is 0)

    The gradient arrays are overwritten (they hold ``g + weight_decay * p`` after
    a step), and one scratch array per parameter is kept, so a step allocates
    nothing after the first, apart from the periodic ``zero_vanishing_momentum``.

    ``NumpyMLP`` uses this class when momentum is 0 or the BLAS update is off. With
    momentum (0.9 by default) it runs the same rule through ``fused.py`` instead, and
    then calls ``zero_vanishing_momentum`` on the buffer that this class keeps.
    """

    # Class defaults, so that an SGD pickled before the zeroing existed still trains.
    _steps_since_zeroing = 0
    _zero_at_next_step = False

    def __init__(self, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.buffers: list[np.ndarray] | None = None
        self._scratch: list[np.ndarray] | None = None
        self._steps_since_zeroing = 0
        self._zero_at_next_step = False

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        """Apply one update; ``params`` and ``grads`` are matching flat lists of arrays."""
        if self._scratch is None or any(
            s.shape != p.shape or s.dtype != p.dtype for s, p in zip(self._scratch, params, strict=True)
        ):
            self._scratch = [np.empty_like(p) for p in params]

        if self.weight_decay:
            for p, g, scratch in zip(params, grads, self._scratch, strict=True):
                np.multiply(p, self.weight_decay, out=scratch)
                g += scratch
        if self.momentum:
            if self.buffers is None:
                self.buffers = [g.copy() for g in grads]
            else:
                for buf, g in zip(self.buffers, grads, strict=True):
                    buf *= self.momentum
                    buf += g
            grads = self.buffers
        for p, g, scratch in zip(params, grads, self._scratch, strict=True):
            np.multiply(g, lr, out=scratch)
            p -= scratch
        self.zero_vanishing_momentum()

    def zero_vanishing_momentum(self) -> None:
        """Count a step and, every ``zeroing_period`` steps and at the first step of each
        epoch, set buffer values below ``tiny * VANISHING_MARGIN`` to 0.

        A weight whose gradient stays 0 for many steps, such as one fed by a pixel that is
        rarely anything but blank, keeps only its momentum, which shrinks by the factor
        ``momentum`` each step until it becomes subnormal (below ``np.finfo(dtype).tiny``).
        Rounding then keeps it there: with momentum 0.9 in float32, 1 to 4 times the
        smallest subnormal round back to themselves. The CPU computes with subnormal
        numbers many times slower. On Fashion-MNIST at batch size 64 (float32, 2-core
        Xeon, OpenBLAS), 5% of the buffer was subnormal after one epoch, and each later
        epoch took about 1.4 times as long as with this zeroing. The CPU's flush-to-zero
        mode would not help: OpenBLAS's worker threads did not take it from the main
        thread, whether it was set before or after NumPy was imported.

        Only values at or above the margin at the last zeroing are sure to stay normal
        until the next. A gradient that leaves a value below it can still make it subnormal
        for a few steps, which is rare.
        """
        if self.buffers is None or not 0 < self.momentum < 1:
            return
        period = zeroing_period(self.momentum, self.buffers[0].dtype)
        if period is None:
            return
        self._steps_since_zeroing += 1
        if self._steps_since_zeroing < period and not self._zero_at_next_step:
            return
        for buf in self.buffers:
            threshold = np.finfo(buf.dtype).tiny * VANISHING_MARGIN
            np.copyto(buf, 0, where=np.abs(buf) < threshold)
        self._steps_since_zeroing = 0
        self._zero_at_next_step = False

    def start_epoch(self) -> None:
        """Make the next step zero the vanishing momentum and restart the count of steps.

        Checkpoints are written between epochs, so a schedule that restarts with each
        epoch zeroes the same values in a resumed run as in an uninterrupted one.
        """
        self._zero_at_next_step = True


def zeroing_period(momentum: float, dtype: np.dtype) -> int | None:
    """Return how many steps a buffer value at the margin stays normal under the momentum's decay.

    The buffer is multiplied by ``momentum`` rounded to ``dtype``, and each product is
    rounded again, so the period is computed for half the margin. Returns None when the
    momentum rounds to 1 in ``dtype``, because the buffer then does not decay.
    """
    factor = float(np.dtype(dtype).type(momentum))
    if factor >= 1:
        return None
    return max(1, int(math.log(VANISHING_MARGIN / 2) / -math.log(factor)))
