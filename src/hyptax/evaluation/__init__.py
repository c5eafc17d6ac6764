"""How well an embedding encodes its hierarchy.

- :mod:`.ranking`: reconstruction mean rank and MAP (exact or sampled with a CI);
- :mod:`.linkpred`: the holdout split, link prediction and its trivial baseline;
- :mod:`.hierarchy`: depth-norm correlation, clade separation, kNN purity, norms;
- :mod:`.report`: :func:`evaluate` (a JSON-able report), :func:`format_report` and
  the every-epoch :func:`quick_metrics`;
- :mod:`.fidelity`: the MAP an export keeps as its readers read it (float32 or float64).
"""

from __future__ import annotations

from .report import evaluate, format_report, quick_metrics

__all__ = ["evaluate", "format_report", "quick_metrics"]
