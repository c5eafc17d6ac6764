"""The manifold classes: thin dispatch over the pure formula modules
(:mod:`.poincare`, :mod:`.lorentz`); each method is one formula.

Every method that returns points (``project``, ``expmap``, ``retr``, ``random``,
``from_poincare``) returns them projected: strictly inside the ball (norm <=
``numerics.max_norm(dtype)``) or exactly on the hyperboloid within the same maximum
distance from the origin.
"""

from __future__ import annotations

import torch

from . import lorentz, poincare


class PoincareBall:
    """Poincaré ball of curvature -1; points ``(..., dim)``."""

    name = "poincare"
    domain = "outside the Poincaré ball (norm >= 1)"
    """How :meth:`outside` rows are described in messages."""

    def coord_dim(self, dim: int) -> int:
        return dim

    def outside(self, x: torch.Tensor) -> torch.Tensor:
        """``(n,)`` bool: rows of finite ``x (n, dim)`` that are not points of the ball."""
        return ~(x.norm(dim=-1) < 1.0)

    def dist(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return poincare.dist(x, y)

    def dist0(self, x: torch.Tensor) -> torch.Tensor:
        return poincare.dist0(x)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return poincare.project(x)

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return poincare.project(poincare.expmap(x, u))

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """First-order retraction ``project(x + u)`` (the reference implementation's)."""
        return poincare.project(x + u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return poincare.logmap(x, y)

    def egrad2rgrad(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return poincare.egrad2rgrad(x, g)

    def norm(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return poincare.norm(x, u)

    def to_frame(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return poincare.to_frame(x, u)

    def from_frame(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return poincare.from_frame(x, w)

    def egrad_to_frame(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Riemannian gradient of Euclidean gradient g, in origin-frame coordinates."""
        return poincare.egrad_to_frame(x, g)

    def expmap_frame(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``project(exp_x(from_frame(x, w)))``: a step of length ``|w|``."""
        return poincare.expmap_frame(x, w)

    def retr_frame(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``project(x + from_frame(x, w))``."""
        return poincare.retr_frame(x, w)

    def to_poincare(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def from_poincare(self, p: torch.Tensor) -> torch.Tensor:
        return poincare.project(p)

    def origin(
        self, dim: int, dtype: torch.dtype = torch.float64, device: torch.device | None = None
    ) -> torch.Tensor:
        return torch.zeros(dim, dtype=dtype, device=device)

    def random(
        self,
        n: int,
        dim: int,
        radius: float,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | None = None,
    ) -> torch.Tensor:
        """``(n, dim)`` points ``exp_0(u)``, u uniform in ``[-radius, radius]^dim``.

        For a small radius this is the reference initialisation (uniform coordinates).
        """
        u = torch.rand(n, dim, generator=generator, dtype=dtype, device=device)
        return poincare.project(poincare.expmap0((2.0 * u - 1.0) * radius))


class Lorentz:
    """Lorentz (hyperboloid) model of curvature -1; points ``(..., dim + 1)``."""

    name = "lorentz"
    domain = "off the hyperboloid's upper sheet (x0 < 1, or outside the ball once mapped)"
    """How :meth:`outside` rows are described in messages."""

    def coord_dim(self, dim: int) -> int:
        return dim + 1

    def outside(self, x: torch.Tensor) -> torch.Tensor:
        """``(n,)`` bool: rows of finite ``x (n, dim + 1)`` that no point of the upper
        sheet explains: ``x0 < 1``, or a Poincaré image outside the unit ball."""
        return ~(x[..., 0] >= 1.0) | ~(lorentz.to_poincare(x).norm(dim=-1) < 1.0)

    def dist(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return lorentz.dist(x, y)

    def dist0(self, x: torch.Tensor) -> torch.Tensor:
        return lorentz.dist0(x)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return lorentz.project(x)

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return lorentz.project(lorentz.expmap(x, u))

    def retr(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """First-order retraction ``project(x + u)`` (x0 recomputed from the spatial part)."""
        return lorentz.project(x + u)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return lorentz.logmap(x, y)

    def egrad2rgrad(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return lorentz.egrad2rgrad(x, g)

    def norm(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return lorentz.norm(x, u)

    def to_frame(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return lorentz.to_frame(x, u)

    def from_frame(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return lorentz.from_frame(x, w)

    def egrad_to_frame(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Riemannian gradient of Euclidean gradient g, in origin-frame coordinates."""
        return lorentz.egrad_to_frame(x, g)

    def expmap_frame(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``project(exp_x(from_frame(x, w)))``: a step of length ``|w|``."""
        return lorentz.expmap_frame(x, w)

    def retr_frame(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """``project(x + from_frame(x, w))``."""
        return lorentz.retr_frame(x, w)

    def to_poincare(self, x: torch.Tensor) -> torch.Tensor:
        return lorentz.to_poincare(x)

    def from_poincare(self, p: torch.Tensor) -> torch.Tensor:
        return lorentz.from_poincare(p)

    def origin(
        self, dim: int, dtype: torch.dtype = torch.float64, device: torch.device | None = None
    ) -> torch.Tensor:
        o = torch.zeros(dim + 1, dtype=dtype, device=device)
        o[0] = 1.0
        return o

    def random(
        self,
        n: int,
        dim: int,
        radius: float,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float64,
        device: torch.device | None = None,
    ) -> torch.Tensor:
        """``(n, dim + 1)``: the same points as ``PoincareBall.random``, on the hyperboloid."""
        return lorentz.from_poincare(
            PoincareBall().random(n, dim, radius, generator, dtype=dtype, device=device)
        )


Manifold = PoincareBall | Lorentz
