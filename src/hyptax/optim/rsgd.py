"""Riemannian SGD with sparse (row-wise) updates of an embedding table.

Each row of ``weight (n, coord_dim)`` is a point of ``manifold``. A step touches only
the rows of the batch::

    x     = weight[rows]                          (k, coord_dim)
    w     = manifold.egrad_to_frame(x, egrad)     Riemannian gradient, (k, dim)
    w     = clip_rows(w, max_grad_norm)           (optional)
    x_new = manifold.expmap_frame(x, -lr w)       exp_x (or retr_frame), projected
    weight[rows] = x_new                          index_copy_, in place

The Riemannian gradient is handled in orthonormal coordinates of the tangent space at
the origin (``manifold.to_frame``: parallel transport x -> 0), where its Euclidean norm
is its Riemannian norm and the fused ``expmap_frame`` costs a handful of passes.

>>> import torch
>>> from hyptax.manifolds import get_manifold
>>> ball = get_manifold("poincare")
>>> w = ball.random(5, 2, 1e-3, torch.Generator().manual_seed(0))
>>> opt = RiemannianSGD(w, ball, lr=0.1)
>>> opt.step(torch.tensor([0, 3]), torch.ones(2, 2, dtype=w.dtype))
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from ..manifolds import Manifold


def check_lr(lr: float) -> float:
    if not lr > 0.0:
        raise ConfigError(f"learning rate must be > 0, not {lr}")
    return float(lr)


def check_max_grad_norm(value: float | None) -> float | None:
    if value is not None and not value > 0.0:
        raise ConfigError(f"max_grad_norm must be > 0 (or None), not {value}")
    return None if value is None else float(value)


def check_step_args(weight: torch.Tensor, rows: torch.Tensor, egrad: torch.Tensor) -> None:
    """Cheap shape/dtype checks (uniqueness of ``rows`` is the caller's promise)."""
    if rows.dim() != 1 or rows.dtype != torch.long:
        raise ValueError(f"rows must be a 1-d LongTensor, got {rows.dtype} {tuple(rows.shape)}")
    if egrad.shape != (rows.shape[0], weight.shape[1]):
        raise ValueError(
            f"egrad must have shape {(rows.shape[0], weight.shape[1])}, got {tuple(egrad.shape)}"
        )


def clip_rows(w: torch.Tensor, max_norm: float | None) -> torch.Tensor:
    """Scale each frame row ``w (k, dim)`` to norm <= max_norm (None: unchanged).

    Frame norms are Riemannian norms, so a step ``lr * w`` then moves a point by at
    most ``lr * max_norm`` in hyperbolic distance. This is a training knob;
    projection is what keeps points inside.
    """
    if max_norm is None:
        return w
    n = torch.linalg.vector_norm(w, dim=-1, keepdim=True)
    return w * torch.where(n > max_norm, max_norm / n, 1.0)


def sparse_rows(index: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum the gradient rows that share an index: ``(m,), (m, d) -> (k,), (k, d)``.

    For callers that have a gradient per occurrence (e.g. of ``weight[index]``)
    rather than per unique row; ``rows`` come out sorted and unique.
    """
    rows, inverse = torch.unique(index, return_inverse=True)
    summed = grad.new_zeros(rows.shape[0], grad.shape[1]).index_add_(0, inverse, grad)
    return rows, summed


class RiemannianSGD:
    """Sparse Riemannian SGD on the rows of ``weight``.

    Args:
        weight: ``(n, coord_dim)`` table of points, updated in place.
        manifold: a ``PoincareBall`` or ``Lorentz`` instance.
        lr: learning rate (used when ``step`` gets ``lr=None``).
        max_grad_norm: clip each row's Riemannian gradient norm to this (None: off;
            the prototype used 1.0).
        retraction: use the first-order retraction ``project(x + u)`` instead of the
            exact exponential map.
    """

    kind = "rsgd"

    def __init__(
        self,
        weight: torch.Tensor,
        manifold: Manifold,
        *,
        lr: float,
        max_grad_norm: float | None = None,
        retraction: bool = False,
    ) -> None:
        self.weight = weight
        self.manifold = manifold
        self.lr = check_lr(lr)
        self.max_grad_norm = check_max_grad_norm(max_grad_norm)
        self.retraction = bool(retraction)

    @torch.no_grad()
    def step(self, rows: torch.Tensor, egrad: torch.Tensor, lr: float | None = None) -> None:
        """Update ``weight[rows]`` in place; ``rows (k,)`` unique, ``egrad (k, coord_dim)``."""
        check_step_args(self.weight, rows, egrad)
        lr = self.lr if lr is None else lr
        m = self.manifold
        x = self.weight.index_select(0, rows)
        w = clip_rows(m.egrad_to_frame(x, egrad.to(x.dtype)), self.max_grad_norm).mul_(-lr)
        new = m.retr_frame(x, w) if self.retraction else m.expmap_frame(x, w)
        self.weight.index_copy_(0, rows, new)

    def state_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "lr": self.lr,
            "max_grad_norm": self.max_grad_norm,
            "retraction": self.retraction,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise ConfigError(f"optimizer state is for {state.get('kind')!r}, not {self.kind!r}")
        self.lr = check_lr(state["lr"])
        self.max_grad_norm = check_max_grad_norm(state["max_grad_norm"])
        self.retraction = bool(state["retraction"])
