"""Stochastic gradient descent with momentum and L2 weight decay, as ``torch.optim.SGD`` does it."""

from __future__ import annotations

import numpy as np

from mlpbench.training.zeroing import ZeroingSchedule, zeroing_threshold


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

    # A class default, so that an SGD pickled before the zeroing existed still trains.
    _zeroing: ZeroingSchedule | None = None

    def __init__(self, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.buffers: list[np.ndarray] | None = None
        self._scratch: list[np.ndarray] | None = None
        self._zeroing = ZeroingSchedule()

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

    @property
    def zeroing(self) -> ZeroingSchedule:
        """The schedule of ``zero_vanishing_momentum``."""
        if self._zeroing is None:
            self._zeroing = ZeroingSchedule()
        return self._zeroing

    def zero_vanishing_momentum(self) -> None:
        """Count a step and, when the ``zeroing`` schedule is due, set near-subnormal buffer values to 0.

        See ``mlpbench.training.zeroing`` for why and when.
        """
        if self.buffers is None or not self.zeroing.step_is_due(self.momentum, self.buffers[0].dtype):
            return
        for buf in self.buffers:
            np.copyto(buf, 0, where=np.abs(buf) < zeroing_threshold(buf.dtype))

    def start_epoch(self) -> None:
        """Zero the vanishing momentum after the next step, and restart the schedule there."""
        self.zeroing.start_epoch()
