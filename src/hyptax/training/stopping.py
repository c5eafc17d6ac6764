"""Early stopping and the choice of ``best.pt``: a pure decision object, testable
without torch.

Each evaluation gives a *primary* metric (MAP, higher is better; or a loss, lower is
better) and optionally a *tiebreak* (mean rank, lower is better). An evaluation is
**better** than the best so far when

* its primary beats the peak primary by more than ``tie``, or
* its primary is within ``tie`` of the peak (a near-tie) and its tiebreak is lower
  than the best's.

The *peak* is the best primary any chosen best has had. Judging near-ties against it,
not against the current best, keeps a run of near-ties from walking the primary
down by ``tie`` at a time: the best's primary is never more than ``tie`` below the
highest primary it ever had.

>>> stop = EarlyStopping(patience=2, mode="max", tie=0.01)
>>> [stop.update(m, e, tiebreak=r) for e, (m, r) in enumerate(
...     [(0.90, 70.0), (0.895, 5.0), (0.85, 4.0), (0.90, 6.0)])]
[False, False, False, True]
>>> stop.best, stop.best_tiebreak, stop.best_epoch
(0.895, 5.0, 1)
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class EarlyStopping:
    """Stop after ``patience`` evaluations in a row that are not better (see above).

    Attributes:
        patience: evaluations without improvement before stopping; None never stops.
        mode: ``"max"`` (the primary is MAP) or ``"min"`` (a loss).
        tie: primaries this close to the peak are near-ties, decided by the tiebreak
            (without a tiebreak a near-tie is no improvement). 0: only equal ones.
        best, best_tiebreak, best_epoch: the best evaluation so far (None before one).
        peak: the best primary any best has had.
        bad_evals: evaluations since the last improvement.
        improved: whether the last :meth:`update` set a new best.

    A NaN primary never counts as an improvement; a NaN tiebreak never wins a tie.
    """

    patience: int | None = None
    mode: str = "max"
    tie: float = 0.0
    best: float | None = None
    best_tiebreak: float | None = None
    best_epoch: int | None = None
    peak: float | None = None
    bad_evals: int = 0
    improved: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {self.mode!r}")
        if not self.tie >= 0.0:
            raise ValueError(f"tie must be >= 0, not {self.tie}")

    def better(self, metric: float, tiebreak: float | None = None) -> bool:
        """Whether an evaluation of ``metric`` (and ``tiebreak``) beats the best."""
        if math.isnan(metric):
            return False
        if self.best is None or self.peak is None:
            return True
        gain = metric - self.peak if self.mode == "max" else self.peak - metric
        if gain > self.tie:
            return True
        if gain < -self.tie or tiebreak is None or math.isnan(tiebreak):
            return False
        return self.best_tiebreak is None or tiebreak < self.best_tiebreak

    def update(self, metric: float, epoch: int, tiebreak: float | None = None) -> bool:
        """Record an evaluation at ``epoch``; return True when training should stop."""
        self.improved = self.better(metric, tiebreak)
        if self.improved:
            self.best, self.best_epoch, self.bad_evals = float(metric), epoch, 0
            self.best_tiebreak = None if tiebreak is None else float(tiebreak)
            best_of = max if self.mode == "max" else min
            self.peak = self.best if self.peak is None else best_of(self.peak, self.best)
        else:
            self.bad_evals += 1
        return self.patience is not None and self.bad_evals >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> EarlyStopping:
        """Rebuild from :meth:`state_dict`; also reads the state of hyptax versions
        before the tiebreak (``min_delta`` for ``tie``, the best as the peak)."""
        state = dict(state)
        if "min_delta" in state:
            state.setdefault("tie", state.pop("min_delta"))
        state.setdefault("peak", state.get("best"))
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in state.items() if k in names})
