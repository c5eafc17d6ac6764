"""Learning-rate schedules: pure functions of the epoch (0-based).

>>> lr_at(0, lr=1.0, burn_in=10, burn_in_factor=0.01)
0.01
>>> lr_at(10, lr=1.0, burn_in=10, burn_in_factor=0.01)
1.0
>>> round(lr_at(15, lr=1.0, burn_in=10, schedule="cosine", epochs=21), 3)
0.5
"""

from __future__ import annotations

import math

from ..config import LR_SCHEDULES, TrainConfig
from ..errors import ConfigError

SCHEDULES: tuple[str, ...] = LR_SCHEDULES
"""``constant``: lr after burn-in. ``cosine``/``linear``: decay from lr at the end of
burn-in to ``lr * final_factor`` at the last epoch (``epochs - 1``). The names live in
:data:`hyptax.config.LR_SCHEDULES`."""


def lr_at(
    epoch: int,
    *,
    lr: float,
    burn_in: int = 0,
    burn_in_factor: float = TrainConfig.burn_in_factor,
    schedule: str = TrainConfig.lr_schedule,
    epochs: int | None = None,
    final_factor: float = 0.0,
) -> float:
    """The learning rate of ``epoch``.

    During the first ``burn_in`` epochs it is ``lr * burn_in_factor`` (the reference
    method's burn-in: settle the angular layout with small steps); afterwards it
    follows ``schedule``. ``epochs`` (the total, burn-in included) is needed by the
    decaying schedules. The defaults are :class:`~hyptax.config.TrainConfig`'s.
    """
    if schedule not in SCHEDULES:
        raise ConfigError(
            f"unknown lr schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)}"
        )
    if epoch < burn_in:
        return lr * burn_in_factor
    if schedule == "constant":
        return lr
    if epochs is None:
        raise ConfigError(f"the {schedule!r} lr schedule needs the number of epochs")
    span = max(epochs - 1 - burn_in, 1)
    frac = min(max((epoch - burn_in) / span, 0.0), 1.0)
    if schedule == "cosine":
        shape = 0.5 * (1.0 + math.cos(math.pi * frac))
    else:
        shape = 1.0 - frac
    return lr * (final_factor + (1.0 - final_factor) * shape)
