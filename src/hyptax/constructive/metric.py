"""The metric construction: hyperbolic distances that follow the tree's path lengths.

After Sarkar (2011). The root sits at the origin. Every node ``v`` places its children
on the hyperbolic sphere of radius ``ell`` (the edge length) around ``v`` itself, in
directions of ``v``'s tangent space that point away from the origin: within angle
``CAP_ANGLE`` of the outward ray through ``v``. A path in the tree then bends by at
most ``CAP_ANGLE`` at each node on the way out, so

- ``d(u, w)`` is close to ``ell`` times the tree distance (the shortcut at a bend of
  angle ``t`` is ``-2 ln sin(t / 2)`` for long edges, small for bends near ``pi``);
- a node's nearest nodes are its parent, its children and its close relatives;
- an ancestor ``a`` of ``u`` lies (nearly) on the geodesic from ``u`` to the root, so
  the *ancestor score* ``d(u, a) + d(a, 0) - d(u, 0)`` is near 0 for ancestors and
  about ``2 ell`` times the distance from the ancestral line for everything else
  (:mod:`hyptax.evaluation.ranking`): the hierarchy stays exact without putting the
  root nearest to every node, as the order construction (:mod:`.order`) must.

Depth becomes radius exactly: every node sits at ``r_c = r_v + ell`` from the origin,
as if it went straight out, so a child at angle ``t`` from the outward ray stands a
little further than ``ell`` from its parent, at the ``x >= ell`` that solves the
hyperbolic law of cosines ``cosh r_c = cosh r_v cosh x + sinh r_v sinh x cos t``
(at most ``ell + ln(2 / (1 + cos t))``). Measured against children at exactly
``ell``, this gives equal or better figures everywhere (dim 10, 300 seeded queries;
Echinodermata / ncbi:small): depth-norm Pearson 1.000 / 1.000 against 0.997 / 0.998,
distortion 0.018 / 0.009 against 0.021 / 0.012, Spearman with tree distance 0.997 /
0.983 against 0.997 / 0.983, every nearest node adjacent in both, and a depth-norm
Spearman of 1 (radii tie within a level) where it was 0.83 on ``ncbi:small``.

In polar form, with ``u_v`` the unit direction of ``v``, the child towards the unit
tangent ``e`` (orthogonal to ``u_v``) has direction

    u_c = cos(phi) u_v + sin(phi) e,
    tan phi = sinh x sin t / (sinh r_v cosh x + cosh r_v sinh x cos t)

(the boost along ``u_v`` that carries the origin to ``v``). Nothing is composed near
the boundary: Poincaré coordinates are formed only at the end, as in the order
construction.

Siblings. The root's children take well-spread directions over the whole sphere
(:func:`~.points.sphere_points`). Any other family of ``K >= 2`` takes the ``K``
innermost points of the shifted lattice of :class:`~.points.Lattice` in ``R^(d-1)``,
scaled so that the outermost lands at ``CAP_ANGLE``; a single child goes straight out.

Edge length. Longer edges make every figure better (siblings further apart relative
to the edge, bends that cost less), so ``ell`` is the longest that keeps the deepest
node within the dtype's radius budget: the budget over the (weighted) depth. With
per-rank weights (``rank_weights``) the edge above a node of rank ``R`` is
``weight[R] * ell`` and the weighted tree is embedded faithfully. ``needed_edge`` is
the edge length at which the widest family's closest siblings are as far apart as a
parent and child (below it, a leaf's nearest node may be a sibling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data.taxonomy import Taxonomy
from ..errors import ConfigError
from ..manifolds.extended import MAX_RADIUS, limbs_for
from .points import Lattice, lattice_gap, random_rotation, sphere_points
from .tree import Directions, SpanningTree

CAP_ANGLE = 5 * math.pi / 12
"""Largest angle between a child's direction (in its parent's tangent space) and the
outward ray through the parent (75 degrees). Wider spreads siblings further apart;
narrower keeps the ancestral line straighter (depth-norm correlation, ancestor score).
Measured at dim 10 (300 seeded query nodes): on ``ncbi:Echinodermata`` 60 degrees
leaves 86% of nodes with an adjacent nearest node, 75 gives 100% with depth-norm
Pearson 0.9965 and distortion 0.021, 90 gives 100% with 0.992 and 0.029; on
``ncbi:small`` all three give 100%, with Pearson 0.9992, 0.9976, 0.9941."""



EXTENDED_MARGIN = 1.0
"""In extended precision, the edge is this much longer than the widest family needs
(``needed_edge``), so that a node's closest siblings stand clearly further away than
its parent (siblings gain 2 per unit of edge, the parent 1)."""


@dataclass(frozen=True, eq=False)
class MetricPlan:
    """The metric construction in polar form.

    Attributes:
        radius: ``(n,)`` float64 distance of each node from the origin.
        directions: ``(n, dim)`` float64 unit vectors (the root's is arbitrary).
        edge: the base edge length ``ell`` used.
        weight: ``(n,)`` float64 the weight of the edge above each node (1 by default;
            0 at roots).
        needed_edge: the edge length the widest family needs (module docstring).
        budget: the largest radius plain coordinates allow.
        limbs: ``(n, L, dim)`` the directions in extended precision, or ``None``.
        radius_needed: the radius the tree asks for (the deepest node's, at the edge
            length extended precision would use).
    """

    radius: np.ndarray
    directions: np.ndarray
    edge: float
    weight: np.ndarray
    needed_edge: float
    budget: float
    limbs: np.ndarray | None = None
    radius_needed: float = 0.0


def edge_weights(tax: Taxonomy, rank_weights: dict[str, float] | None) -> np.ndarray:
    """``(n,)`` float64: the length of the edge above each node, in units of the base
    edge: ``rank_weights[rank]`` for a node of that rank, 1 otherwise."""
    weight = np.ones(tax.n_nodes)
    if not rank_weights:
        return weight
    if tax.ranks is None:
        raise ConfigError(
            f"--rank-weights needs data with ranks (NCBI); {tax.source or 'this data'} has none"
        )
    present = set(tax.ranks.tolist())
    for rank, w in rank_weights.items():
        if not (w > 0 and math.isfinite(w)):
            raise ConfigError(f"--rank-weights: the weight of {rank} must be > 0, not {w}")
        if rank not in present:
            raise ConfigError(f"--rank-weights: no taxon of rank {rank!r} in {tax.source}")
        weight[np.asarray(tax.ranks == rank, dtype=bool)] = w
    return weight


def plan_metric(
    tax: Taxonomy,
    dim: int,
    *,
    budget: float,
    edge: float | None = None,
    rank_weights: dict[str, float] | None = None,
    seed: int = 0,
    extended: bool | None = False,
) -> MetricPlan:
    """Radii and directions of every node (see the module docstring).

    ``budget``: the largest distance from the origin plain coordinates allow;
    ``edge``: a fixed base edge length (``None``: the longest that fits the budget, or
    in extended precision :data:`EXTENDED_MARGIN` more than the widest family needs if
    that is longer); ``extended``: directions in extended precision (``True``), plain
    (``False``), or extended only when the tree needs more radius than ``budget``
    (``None``). The result is a deterministic function of the arguments.
    """
    if dim < 2:
        raise ConfigError(f"the constructive embedding needs dim >= 2, not {dim}")
    tree = SpanningTree.build(tax)
    weight = np.append(edge_weights(tax, rank_weights), 1.0)[: tree.n]
    weight[tree.parent < 0] = 0.0
    layout = _Layout.build(tree, dim, seed)
    needed = layout.needed_edge()
    depth = layout.weighted_depth(weight)
    fit = budget / depth if depth > 0 else 1.0
    wanted = max(fit, needed + EXTENDED_MARGIN) if math.isfinite(needed) else fit
    radius_needed = (wanted if edge is None else edge) * depth
    if extended is None:
        extended = radius_needed > budget
    held = MAX_RADIUS if extended else budget
    if edge is None:
        edge = min(wanted, held / depth) if extended and depth > 0 else fit
    elif not edge > 0:
        raise ConfigError(f"the edge length must be > 0, not {edge}")
    elif edge * depth > held:
        raise ConfigError(
            f"edge length {edge:g} x weighted depth {depth:g} = {edge * depth:.4g} exceeds the "
            f"{held:.4g} the precision holds; use <= {held / depth:.4g} or leave it unset"
        )
    n_limbs = limbs_for(edge * depth) if extended else None
    radius, directions = layout.place(edge, weight, n_limbs)
    keep = tree.keep
    return MetricPlan(
        radius=radius[keep],
        directions=directions.value[: len(keep)],
        edge=edge,
        weight=weight[keep],
        needed_edge=needed,
        budget=budget,
        limbs=None if directions.limbs is None else directions.limbs[: len(keep)],
        radius_needed=radius_needed,
    )


@dataclass(frozen=True, eq=False)
class _Layout:
    """The directions of every family, fixed before the edge length is chosen:
    ``angle[v]`` (the child's angle from its parent's outward ray; for the root's
    children, unused) and ``slot[v]`` (a unit vector: the root's children's
    directions, or for other nodes the point of ``R^(d-1)`` that gives the tangent)."""

    tree: SpanningTree
    dim: int
    angle: np.ndarray
    slot: np.ndarray
    sibling_angle: float

    @classmethod
    def build(cls, tree: SpanningTree, dim: int, seed: int) -> _Layout:
        rng = np.random.default_rng(seed)
        n = tree.n
        angle = np.zeros(n)
        slot = np.zeros((n, max(dim, 1)))
        root_kids = tree.children_of(np.array([tree.root]))[0]
        root_dirs, root_angle = sphere_points(len(root_kids), dim, rng)
        slot[root_kids] = root_dirs @ random_rotation(dim, rng).T
        min_angle = root_angle if len(root_kids) > 1 else math.pi
        widest = int(tree.widest[1:].max(initial=1))
        lattice = Lattice(dim - 1, max(widest, 1), rng)
        rot = random_rotation(dim - 1, rng)
        inner = np.flatnonzero(tree.parent >= 0)
        inner = inner[tree.parent[inner] != tree.root]
        kids_parents = np.unique(tree.parent[inner])
        kids, _owner, rank, count = tree.children_of(kids_parents)
        z = lattice.points[rank] @ rot.T
        rho = lattice.rho[count - 1]
        angle[kids] = np.where(count > 1, np.linalg.norm(z, axis=1) / rho * CAP_ANGLE, 0.0)
        slot[kids, : dim - 1] = z
        if (count > 1).any():
            spread = CAP_ANGLE / lattice.rho[widest - 1]
            min_angle = min(min_angle, lattice_gap(dim - 1) * spread * np.sinc(CAP_ANGLE / math.pi))
        return cls(tree, dim, angle, slot, float(min_angle))

    def weighted_depth(self, weight: np.ndarray) -> float:
        """The largest sum of edge weights from the root down to a node."""
        total = np.zeros(self.tree.n)
        for k in range(1, int(self.tree.level.max(initial=0)) + 1):
            at = np.flatnonzero(self.tree.level == k)
            total[at] = total[self.tree.parent[at]] + weight[at]
        return float(total.max(initial=0.0))

    def needed_edge(self) -> float:
        """Edge length at which two siblings at the smallest angle are as far apart
        as a parent and child: ``sin(beta / 2) = 1 / (2 cosh(ell / 2))``."""
        s = math.sin(min(self.sibling_angle, math.pi) / 2.0)
        return 2.0 * math.acosh(max(1.0 / (2.0 * s), 1.0)) if s > 0 else math.inf

    def place(
        self, edge: float, weight: np.ndarray, n_limbs: int | None = None
    ) -> tuple[np.ndarray, Directions]:
        """``(radius (n,), directions)`` for base edge length ``edge`` (directions in
        extended precision with ``n_limbs``)."""
        tree = self.tree
        radius = np.zeros(tree.n)
        directions = Directions(tree.n, self.dim, n_limbs)
        top = tree.level.max(initial=0)
        for k in range(1, int(top) + 1):
            kids = np.flatnonzero(tree.level == k)
            if k == 1:
                radius[kids] = edge * weight[kids]
                directions.set(kids, self.slot[kids])
                continue
            par = tree.parent[kids]
            radius[kids], phi = _step_out(
                radius[par], edge * weight[kids], self.angle[kids]
            )
            directions.turn(kids, par, phi, self.slot[kids, : self.dim - 1])
        return radius, directions


def _step_out(r: np.ndarray, ell: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Children ``ell (k,)`` further from the origin than their parents (radius ``r
    (k,)``), at angle ``t (k,)`` from the outward ray: their ``(radius (k,), phi (k,))``,
    ``phi`` the angle between the child's direction and the parent's (module
    docstring)."""
    cos_t, sin_t = np.cos(t), np.sin(t)
    radius = r + ell
    # x solves cosh r cosh x + sinh r sinh x cos t = cosh(radius), a quadratic in e^x,
    # written with every cosh and sinh scaled by exp(-its argument) (sh_, ch_) so that
    # nothing overflows at the radii extended precision reaches.
    s_r = sh_(r) * np.exp(r - radius)
    root = np.sqrt(np.maximum(sh_(radius) ** 2 - (s_r * sin_t) ** 2, 0.0))
    x = ell + np.log(ch_(radius) + root) - np.log(ch_(r) + sh_(r) * cos_t)
    den = sh_(r) * ch_(x) + ch_(r) * sh_(x) * cos_t
    phi = np.arctan2(sh_(x) * sin_t * np.exp(-r), den)
    return radius, phi


def sh_(v: np.ndarray) -> np.ndarray:
    """``sinh(v) exp(-v)`` without overflow."""
    return -np.expm1(-2.0 * v) / 2.0


def ch_(v: np.ndarray) -> np.ndarray:
    """``cosh(v) exp(-v)`` without overflow."""
    return (1.0 + np.exp(-2.0 * v)) / 2.0


def to_points(
    radius: np.ndarray, directions: np.ndarray, manifold: object, dtype: torch.dtype
) -> torch.Tensor:
    """Coordinates of polar points on ``manifold`` (``"poincare"``: ``tanh(r / 2) u``;
    ``"lorentz"``: ``(cosh r, sinh r u)``), converted to ``dtype`` and projected."""
    if manifold.name == "lorentz":  # type: ignore[attr-defined]
        x = np.concatenate((np.cosh(radius)[:, None], np.sinh(radius)[:, None] * directions), 1)
    else:
        x = np.tanh(radius / 2.0)[:, None] * directions
    return manifold.project(torch.as_tensor(x).to(dtype))  # type: ignore[attr-defined]
