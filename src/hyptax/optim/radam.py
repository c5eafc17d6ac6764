"""Riemannian Adam (Becigneul & Ganea 2019) with lazy, row-wise updates.

Where the moments live: Adam needs the first moment of a row to follow its point.
We keep it in the tangent space at the *origin*, in
orthonormal coordinates (``manifold.to_frame``): the gradient at x is parallel-
transported along the geodesic x -> 0, the moments are updated there, and the Adam
direction is transported back 0 -> x for the step. For the Poincaré ball this
transport is just the conformal scaling ``lambda_x u`` (and its inverse); for
Lorentz it is the closed-form hyperboloid transport. Compared with transporting the
moment directly x -> x_new (geoopt), this skips the gyration, i.e. it differs by the
holonomy of the triangle (0, x, x_new), a rotation of the order of the step length.
The moments never need re-projecting and cost nothing to carry between steps.

The second moment is one scalar per row, the squared Riemannian norm of the gradient
(Becigneul & Ganea's Adam on a product of manifolds: adaptivity across the factors,
none within one, where coordinates carry no meaning). A steady gradient thus moves a
point ``lr`` per step in hyperbolic distance (geoopt's per-coordinate second moment
moves it up to ``lr sqrt(dim)``: scale lr by sqrt(dim) to compare). Updates are
lazy: a row's moments decay only when the row is in a batch, and bias correction uses
the row's own step count.

State per row, kept in one ``(n, dim + 2)`` tensor so that a step gathers and
scatters it once: ``exp_avg (n, dim)``, ``exp_avg_sq (n,)`` and the row's step count
(stored in the weight's dtype; in float32 it stops counting at 2^24, long after the
bias corrections have reached 1). ``state_dict`` returns them as three tensors.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..errors import ConfigError
from ..manifolds import Manifold, numerics
from .rsgd import check_lr, check_max_grad_norm, check_step_args, clip_rows


def _frame_dim(manifold: Manifold, weight: torch.Tensor) -> int:
    return weight.shape[1] - (manifold.coord_dim(1) - 1)


class RiemannianAdam:
    """Sparse Riemannian Adam on the rows of ``weight``.

    Args:
        weight: ``(n, coord_dim)`` table of points, updated in place.
        manifold: a ``PoincareBall`` or ``Lorentz`` instance.
        lr: learning rate, in units of hyperbolic distance per step for a
            steady gradient (used when ``step`` gets ``lr=None``).
        betas: decay rates of the first and second moments.
        eps: added to the root of the second moment.
        max_grad_norm: clip each row's Riemannian gradient norm before the moments
            (None: off).
        retraction: use ``project(x + u)`` instead of the exact exponential map.
    """

    kind = "radam"

    def __init__(
        self,
        weight: torch.Tensor,
        manifold: Manifold,
        *,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = numerics.ADAM_EPS,
        max_grad_norm: float | None = None,
        retraction: bool = False,
    ) -> None:
        self.weight = weight
        self.manifold = manifold
        self.lr = check_lr(lr)
        self.betas = self._check_betas(betas)
        if not eps > 0.0:
            raise ConfigError(f"Adam eps must be > 0, not {eps}")
        self.eps = float(eps)
        self.max_grad_norm = check_max_grad_norm(max_grad_norm)
        self.retraction = bool(retraction)
        self.dim = _frame_dim(manifold, weight)
        self.state = weight.new_zeros(weight.shape[0], self.dim + 2)

    @property
    def exp_avg(self) -> torch.Tensor:
        """``(n, dim)`` view: first moments, origin-frame coordinates."""
        return self.state[:, : self.dim]

    @property
    def exp_avg_sq(self) -> torch.Tensor:
        """``(n,)`` view: second moments (squared Riemannian gradient norms)."""
        return self.state[:, self.dim]

    @property
    def steps(self) -> torch.Tensor:
        """``(n,)`` int64 copy: how many steps each row has taken."""
        return self.state[:, -1].long()

    @staticmethod
    def _check_betas(betas: tuple[float, float] | list[float]) -> tuple[float, float]:
        b1, b2 = (float(b) for b in betas)
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ConfigError(f"Adam betas must lie in [0, 1), not {tuple(betas)}")
        return b1, b2

    @torch.no_grad()
    def step(self, rows: torch.Tensor, egrad: torch.Tensor, lr: float | None = None) -> None:
        """Update ``weight[rows]`` and their moments; ``rows (k,)`` unique, ``egrad (k, c)``."""
        check_step_args(self.weight, rows, egrad)
        lr = self.lr if lr is None else lr
        b1, b2 = self.betas
        m, d = self.manifold, self.dim
        x = self.weight.index_select(0, rows)
        g = clip_rows(m.egrad_to_frame(x, egrad.to(x.dtype)), self.max_grad_norm)  # (k, dim)
        st = self.state.index_select(0, rows)  # (k, dim + 2): avg | avg_sq | steps
        avg, avg_sq, t = st[:, :d], st[:, d : d + 1], st[:, d + 1 :]
        avg.mul_(b1).add_(g, alpha=1.0 - b1)
        avg_sq.mul_(b2).add_((g * g).sum(-1, keepdim=True), alpha=1.0 - b2)
        t.add_(1.0)
        self.state.index_copy_(0, rows, st)
        # per-row scalars (k, 1); 1 - b^t = -expm1(t log b) (b = 0 gives 1)
        bc1 = -torch.expm1(t * math.log(b1)) if b1 > 0 else 1.0
        bc2 = -torch.expm1(t * math.log(b2)) if b2 > 0 else 1.0
        scale = -lr / (bc1 * ((avg_sq / bc2).sqrt_() + self.eps))
        direction = avg * scale
        new = m.retr_frame(x, direction) if self.retraction else m.expmap_frame(x, direction)
        self.weight.index_copy_(0, rows, new)

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors and numbers (``torch.load(weights_only=True)`` safe)."""
        return {
            "kind": self.kind,
            "lr": self.lr,
            "betas": list(self.betas),
            "eps": self.eps,
            "max_grad_norm": self.max_grad_norm,
            "retraction": self.retraction,
            "exp_avg": self.exp_avg.clone(),
            "exp_avg_sq": self.exp_avg_sq.clone(),
            "steps": self.steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore moments, step counts and hyperparameters (as torch optimisers do)."""
        if state.get("kind") != self.kind:
            raise ConfigError(f"optimizer state is for {state.get('kind')!r}, not {self.kind!r}")
        for name in ("exp_avg", "exp_avg_sq", "steps"):
            if tuple(state[name].shape) != tuple(getattr(self, name).shape):
                raise ConfigError(
                    f"optimizer state {name} has shape {tuple(state[name].shape)}, "
                    f"expected {tuple(getattr(self, name).shape)} (another table or dim?)"
                )
        self.lr = check_lr(state["lr"])
        self.betas = self._check_betas(state["betas"])
        self.eps = float(state["eps"])
        self.max_grad_norm = check_max_grad_norm(state["max_grad_norm"])
        self.retraction = bool(state["retraction"])
        self.exp_avg.copy_(state["exp_avg"])
        self.exp_avg_sq.copy_(state["exp_avg_sq"])
        self.state[:, -1].copy_(state["steps"])
