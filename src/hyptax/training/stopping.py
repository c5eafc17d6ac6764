"""Early stopping: a pure decision object, testable without torch.

>>> stop = EarlyStopping(patience=2, mode="min")
>>> [stop.update(m, epoch) for epoch, m in enumerate([3.0, 2.0, 2.5, 2.1])]
[False, False, False, True]
>>> stop.best, stop.best_epoch
(2.0, 1)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class EarlyStopping:
    """Stop after ``patience`` evaluations in a row without improvement.

    Attributes:
        patience: evaluations without improvement before stopping; None never stops.
        mode: ``"min"`` (a loss) or ``"max"`` (MAP).
        min_delta: an improvement must beat the best by more than this.
        best, best_epoch: the best metric so far and its epoch.
        bad_evals: evaluations since the last improvement.
        improved: whether the last :meth:`update` set a new best.

    A NaN metric never counts as an improvement.
    """

    patience: int | None = None
    mode: str = "min"
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int | None = None
    bad_evals: int = 0
    improved: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {self.mode!r}")

    def update(self, metric: float, epoch: int) -> bool:
        """Record ``metric`` at ``epoch``; return True when training should stop."""
        self.improved = not math.isnan(metric) and (
            self.best is None
            or (metric < self.best - self.min_delta if self.mode == "min" else False)
            or (metric > self.best + self.min_delta if self.mode == "max" else False)
        )
        if self.improved:
            self.best, self.best_epoch, self.bad_evals = float(metric), epoch, 0
        else:
            self.bad_evals += 1
        return self.patience is not None and self.bad_evals >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> EarlyStopping:
        return cls(**state)
