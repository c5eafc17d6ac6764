"""Losses on distances: ranking losses and the depth-to-radius regulariser.

Both ranking losses take the distances of a batch of positives and their negatives,
``dist (B, 1 + K)``: column 0 is ``d(u, v)`` for the positive pair, columns ``1..K``
are ``d(u, v'_j)`` for its negatives. ``mask (B, K)`` (optional) marks negative slots
that hold no valid negative (see :mod:`hyptax.sampling`); they are ignored.

- ``softmax`` (Nickel & Kiela 2017, the default): the positive against its
  negatives, a softmax over negated distances,
  ``-log( exp(-d(u, v)) / (exp(-d(u, v)) + sum_j exp(-d(u, v'_j))) )``,
  averaged over the batch.
- ``margin`` (the prototype's): ``max(0, margin + d(u, v) - d(u, v'_j))`` averaged
  over every (positive, negative) slot.

Depth-to-radius regulariser (the prototype's "soft depth penalty"): pulls each
node's distance from the origin ``dist0(x)`` toward a target set by its depth.
The target grows *linearly* in depth, as distances from a root do in a tree:

    target_radius(depth) = depth / max_depth * 2 atanh(reg_max_norm)

so roots sit at the origin and the deepest nodes at Poincaré norm ``reg_max_norm``
(0.9 by default, a hyperbolic distance of 2.94). The penalty is, for each positive
pair ``(u, v)``, ``lambda_reg * ((dist0(u) - target_u)^2 + (dist0(v) - target_v)^2)``,
added to that pair's ranking loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch


def softmax_loss(
    dist: torch.Tensor, mask: torch.Tensor | None = None, *, margin: float = 0.0
) -> torch.Tensor:
    """Mean over the batch of ``-log softmax(-dist)[:, 0]``; ``dist (B, 1 + K) -> ()``.

    ``margin`` is unused (same signature as :func:`margin_loss`).
    """
    logits = -dist
    if mask is not None:
        logits = torch.cat((logits[:, :1], logits[:, 1:].masked_fill(mask, -math.inf)), dim=1)
    return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()


def margin_loss(
    dist: torch.Tensor, mask: torch.Tensor | None = None, *, margin: float = 0.2
) -> torch.Tensor:
    """Mean of ``relu(margin + d_pos - d_neg)`` over valid slots; ``dist (B, 1 + K) -> ()``."""
    hinge = torch.relu(margin + dist[:, :1] - dist[:, 1:])
    if mask is None:
        return hinge.mean()
    valid = ~mask
    return (hinge * valid).sum() / valid.sum().clamp_min(1)


RankingLoss = Callable[..., torch.Tensor]
LOSSES: dict[str, RankingLoss] = {"softmax": softmax_loss, "margin": margin_loss}


def target_radius(depth: np.ndarray, *, max_norm: float) -> np.ndarray:
    """``(n,)`` target distance from the origin for each depth (see the module docstring)."""
    depth = np.asarray(depth, dtype=np.float64)
    deepest = max(float(depth.max(initial=0.0)), 1.0)
    return depth / deepest * 2.0 * math.atanh(max_norm)


def depth_regulariser(dist0: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean of ``(dist0 - target)^2`` over all entries; ``(...), (...) -> ()``."""
    return ((dist0 - target) ** 2).mean()
