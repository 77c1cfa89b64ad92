"""Learning-rate schedules, evaluated once at the start of each epoch."""

from __future__ import annotations

import math

SCHEDULES = ("constant", "cosine")


def learning_rate(base_lr: float, schedule: str, epoch: int, total_epochs: int) -> float:
    """Return the learning rate for ``epoch`` (counted from 0) of ``total_epochs``.

    ``cosine`` decays from ``base_lr`` at epoch 0 towards 0, as
    ``base_lr * (1 + cos(pi * epoch / total_epochs)) / 2`` (the closed form of
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` with ``eta_min=0``, stepped per epoch).
    """
    if schedule == "constant":
        return base_lr
    if schedule == "cosine":
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * epoch / total_epochs))
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
