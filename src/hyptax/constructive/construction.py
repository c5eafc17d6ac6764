"""Building a constructive embedding: :func:`construct` (the points) and :func:`build`
(the points, and the polar form past the dtype's radius, as a :class:`Construction`),
dispatching to the metric (:mod:`.metric`) or order (:mod:`.order`) geometry. The
package docstring (:mod:`hyptax.constructive`) says how the two differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..config import GEOMETRIES, PRECISIONS
from ..data.taxonomy import Taxonomy
from ..errors import ConfigError
from ..manifolds import get_manifold, numerics
from ..manifolds.extended import Polar
from .metric import plan_metric, to_points
from .order import plan_construction, radius_budget


@dataclass(frozen=True, eq=False)
class Construction:
    """A constructive embedding.

    Attributes:
        points: ``(n, coord_dim)`` coordinates of the manifold in the run's dtype
            (lossy where ``polar`` is set: points beyond ``radius_held`` round onto
            the rim).
        polar: the points in extended precision, or ``None``.
        radius_needed: the deepest radius the tree asks for.
        radius_held: the radius plain coordinates of the dtype hold.
        geometry: ``"metric"`` or ``"order"``.
    """

    points: torch.Tensor
    polar: Polar | None
    radius_needed: float
    radius_held: float
    geometry: str

    @property
    def extended(self) -> bool:
        return self.polar is not None

    def summary(self) -> str:
        """One line on the precision chosen, or ``""`` when the tree fits."""
        if self.polar is not None:
            return (
                f"extended precision: the tree needs radius {self.radius_needed:.1f}, plain "
                f"coordinates hold {self.radius_held:.1f}; points are stored in polar form "
                f"with {self.polar.n_limbs} limbs (up to radius {self.polar.radius_held:.0f})"
            )
        if self.radius_needed > self.radius_held * (1 + 1e-9):
            return (
                f"plain precision: the tree needs radius {self.radius_needed:.1f}, the "
                f"coordinates hold {self.radius_held:.1f}, so every step is shrunk "
                "(--precision auto or extended keeps them)"
            )
        return ""


def construct(
    tax: Taxonomy,
    dim: int,
    *,
    geometry: str = "order",
    manifold: str = "poincare",
    dtype: torch.dtype = torch.float64,
    scale: float | None = None,
    rank_weights: dict[str, float] | None = None,
    seed: int = 0,
) -> torch.Tensor:
    """Embed ``tax`` constructively: ``-> (n, coord_dim)`` points of ``manifold``.

    Args:
        tax: the taxonomy (a DAG is embedded on its deepest-parent spanning tree).
        dim: dimension of the hyperbolic space (``>= 2``); ``coord_dim`` is ``dim`` for
            ``"poincare"`` and ``dim + 1`` for ``"lorentz"``.
        geometry: ``"metric"`` or ``"order"`` (:mod:`hyptax.constructive`).
        dtype: float32 or float64; the construction runs in float64 and is
            converted and projected at the end, within the radius budget of ``dtype``.
        scale: ``"order"``: the radial step between levels; ``"metric"``: the edge
            length. ``None`` picks it from the tree and the dtype's budget.
        rank_weights: ``"metric"`` only: edge length per rank (the edge above a node of
            that rank), in units of the base edge; other ranks weigh 1.
        seed: seeds the rotations of the point sets; the result is a deterministic
            function of the arguments.

    Every point is strictly inside the ball (norm ``<= max_norm(dtype)``) or on the
    hyperboloid within the same distance of the origin. :func:`build` does the same
    and, past the dtype's radius, keeps the points in extended precision.
    """
    return build(tax, dim, geometry=geometry, manifold=manifold, dtype=dtype, scale=scale,
                 rank_weights=rank_weights, seed=seed, precision="float64").points  # fmt: skip


def build(
    tax: Taxonomy,
    dim: int,
    *,
    geometry: str = "order",
    manifold: str = "poincare",
    dtype: torch.dtype = torch.float64,
    scale: float | None = None,
    rank_weights: dict[str, float] | None = None,
    seed: int = 0,
    precision: str = "auto",
) -> Construction:
    """:func:`construct`, in the precision ``precision`` (:data:`PRECISIONS`)."""
    if geometry not in GEOMETRIES:
        raise ConfigError(f"--geometry must be one of {', '.join(GEOMETRIES)}, not {geometry!r}")
    if precision not in PRECISIONS:
        raise ConfigError(f"--precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    m = get_manifold(manifold)
    numerics.max_norm(dtype)  # rejects unsupported dtypes early
    budget = radius_budget(dtype)
    if tax.n_nodes == 0:
        return Construction(torch.zeros((0, m.coord_dim(dim)), dtype=dtype), None, 0.0, budget,
                            geometry)  # fmt: skip
    extended = {"auto": None, "float64": False, "extended": True}[precision]
    if geometry == "metric":
        plan = plan_metric(tax, dim, budget=budget, edge=scale, rank_weights=rank_weights,
                           seed=seed, extended=extended)  # fmt: skip
        radius, limbs, needed = plan.radius, plan.limbs, plan.radius_needed
        directions = plan.directions
    else:
        if rank_weights:
            raise ConfigError("--rank-weights applies to the metric geometry only")
        order = plan_construction(tax, dim, dtype=dtype, scale=scale, seed=seed,
                                  extended=extended)  # fmt: skip
        radius, limbs, needed = order.radii[order.level], order.limbs, order.needed_radius
        directions = order.directions
    polar = None if limbs is None else Polar(radius, limbs)
    points = to_points(np.minimum(radius, budget), directions, m, dtype)
    return Construction(points, polar, needed, budget, geometry)
