"""Learning-rate schedules as a factor of the base rate per epoch: warm-up, then step or cosine."""

from __future__ import annotations

import math
from typing import Sequence


def lr_factor(epoch: int, epochs: int, schedule: str = "cosine", warmup_epochs: int = 0,
              milestones: Sequence[int] = (), gamma: float = 0.1) -> float:
    """The multiplier of the base learning rate during ``epoch`` (0-based).

    Warm-up rises linearly over ``warmup_epochs`` epochs; then ``"cosine"`` decays to 0 over the
    remaining epochs, ``"step"`` multiplies by ``gamma`` at each milestone epoch, ``"constant"`` keeps 1.
    """
    if schedule not in ("cosine", "step", "constant"):
        raise ValueError(f"schedule must be 'cosine', 'step' or 'constant', got {schedule!r}")
    if epoch < warmup_epochs:
        return (epoch + 1) / (warmup_epochs + 1)
    if schedule == "cosine":
        span = max(epochs - warmup_epochs, 1)
        return 0.5 * (1 + math.cos(math.pi * (epoch - warmup_epochs) / span))
    if schedule == "step":
        return gamma ** sum(epoch >= milestone for milestone in milestones)
    return 1.0
