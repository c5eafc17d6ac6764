"""Constructive embedding: every node of a tree placed in hyperbolic space, no training.

After Sarkar (2011) and the combinatorial construction of Sala, De Sa, Gu and Ré
(2018), generalised to ``d`` dimensions and shaped for the reconstruction MAP of
:mod:`hyptax.evaluation.ranking` (a node ranks its *ancestors* against every other
node, its own descendants included).

The construction, in polar form
-------------------------------
Each node ``v`` gets a hyperbolic radius ``R[level(v)]`` (its distance from the
origin, one radius per level) and a unit direction ``u_v``; Poincaré coordinates are
``tanh(R / 2) u_v`` at the very end, so nothing near the boundary is ever composed or
subtracted. The root sits at the origin and spreads its children over the whole
sphere (a regular simplex, a cross-polytope, the golden spiral in 3-d, or a
normalised lattice shell). Every other node ``v`` owns a *cap*, the directions within
angle ``A_v`` of ``u_v``, and places its ``K`` children in it, all levels at once:

1. child ``i`` takes point ``z_i`` of a fixed list of lattice points in ``R^(d-1)``
   sorted by norm (the first ``K`` are the family; ``D_(d-1)`` shifted by
   ``(1/2, ..., 1/2)`` for ``d >= 4``, ``Z^(d-1) + 1/2`` below; no point at the
   centre, nearest neighbours ``gap`` = sqrt 2 or 1 apart), scaled so the outermost
   lands at angle ``A_v - a``;
2. a Householder reflection carries ``R^(d-1)`` onto the tangent plane at ``u_v`` and
   the sphere's exponential map takes ``z_i`` to the child's direction;
3. the children's caps are ``a = CAP exp(-R[k+1] / 2)`` (one value per level,
   :func:`level_caps`; at most ``pi / 2`` on the first level).

The ball picture behind it (curvature -1, root at the origin). Let
``B_v`` be the directions within ``2 exp(-R_v / 2)`` of ``u_v``. A node ``u`` with
``u_u`` in ``B_a`` is at distance ``< R_u`` from ``a``, and one outside it at distance
``> R_u`` (to first order: ``cosh d = cosh(R_u - R_a) + 2 sinh R_u sinh R_a
sin^2(t/2)``). Since ``d(u, root) = R_u`` exactly, MAP is 1 when every ``B_v`` holds
the directions of ``v``'s descendants and of no other node. Caps of ``CAP exp(-R/2)``
with ``CAP < 2`` would keep each subtree inside its ``B``; wider caps (``CAP`` = 3.5)
measured better: they let a few rim descendants see an ancestor just beyond the root
but space siblings further apart, which matters once steps are shrunk (below), and
cost nothing where the tree fits. A radial step per level of

    step(K) = max(-2 ln frac(K), 2 ln(2 rho_K / (CAP (1 - frac(K)) r_1))),
    frac(K) = min(q / (1 + q), 1/2),   q = FILL gap / (2 rho_K)

(``rho_K``, ``r_1``: norms of the ``K``-th and of the first lattice point) keeps the
sibling caps ``FILL``-separated, so no sibling subtree enters another's ``B``, and
keeps a parent outside its children's ``B`` (its children, which are negatives for
it, stay farther than the root). Sarkar's caps of ``~ exp(-R)`` give the same local
picture but put a deep node's uncles closer than its root, which costs MAP on the
closure.

Precision: how deep and how wide a tree fits
--------------------------------------------
Every point stays within ``radius_budget(dtype) = 0.995 numerics.max_dist0(dtype)`` of
the origin (float64: 25.9, float32: 12.15; the Poincaré norm is then below
``max_norm``). With ``scale=None`` each level gets ``step(K)`` for its widest node,
and if the sum exceeds the budget every step is shrunk by the same factor: the caps
still follow ``exp(-R/2)``, so sibling caps overlap and MAP degrades (keeping the
caps nested instead, shrinking by ``frac(K)`` per level, measured 0.2 instead of
0.8 on WordNet nouns). Needed step, and how many such levels fit
(``precision_limit``):

=====  ============  ============  ============  ============  ============
dim    K = 1         K = 10        K = 100       K = 1,000     K = 43,705
=====  ============  ============  ============  ============  ============
2      1.39 (18, 8)  5.13 (5, 2)   9.78 (2, 1)   14.4 (1, 0)   22.0 (1, 0)
3      1.39 (18, 8)  3.30 (7, 3)   5.57 (4, 2)   7.75 (3, 1)   11.5 (2, 1)
5      1.39 (18, 8)  2.90 (8, 4)   3.58 (7, 3)   4.53 (5, 2)   6.25 (4, 1)
10     1.39 (18, 8)  2.68 (9, 4)   2.68 (9, 4)   3.17 (8, 3)   3.90 (6, 3)
20     1.39 (18, 8)  3.26 (7, 3)   3.26 (7, 3)   3.26 (7, 3)   3.26 (7, 3)
=====  ============  ============  ============  ============  ============

(levels that fit in float64, float32). From ``d = 14`` on the lattice list is the
first shell only (random sign vectors, relative spacing ``~ 2.8 / sqrt(d)``), which
is why dim 20 needs more than dim 10 for small families.

What that means for the data sets (radius needed, MAP, time, per dataset and
dimension) is measured by ``benchmarks/bench_constructive.py``; the figures are in
``benchmarks/MEASURED.md``. Float precision is not the binding limit inside the
budget: the radial resolution at the rim is ~1e-5 (float64), and caps never shrink
below ``CAP exp(-budget / 2)`` ~ 1e-5, so siblings stay far more than the ~1e-16
resolution of unit vectors apart (all of NCBI's 2.6M points are distinct).

The Lorentz output is the same point set (``x0 = cosh R``, ``xs = sinh R u``); its
coordinates could reach much farther from the origin, but the hyptax numerics cap it
at the same distance, and distances between nearby far points lose precision as fast.

DAGs: the construction runs on a spanning tree that keeps, for every node, its
deepest parent (``depth(parent) = depth(node) - 1`` under the longest-path depth;
ties go to the lowest node index), so every node keeps its depth. The other parent
edges are left to training. Several roots: a virtual root at the origin holds them.

>>> from hyptax.data.taxonomy import Taxonomy
>>> tax = Taxonomy.from_edges(["r", "a", "b"], [1, 2], [0, 0])
>>> x = construct(tax, 2)
>>> tuple(x.shape), bool(x.norm(dim=1).max() < 1)
((3, 2), True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..data.taxonomy import Taxonomy
from ..errors import ConfigError
from ..manifolds import numerics
from ..manifolds.extended import MAX_RADIUS, limbs_for
from .points import Lattice, lattice_gap, lattice_radii, random_rotation, sphere_points
from .tree import Directions, SpanningTree

CAP = 3.5
"""A node's cap is ``CAP * exp(-R/2)``. Below 2 every ancestor would be closer than the
root even from the rim of its cap (module docstring); measured, wider caps space
siblings further apart, which wins when steps are shrunk (WordNet nouns, dim 10:
MAP 0.83 at 1.8, 0.95 at 3.2 to 4) and changes nothing where the tree fits."""

FILL = 0.75
"""Sibling caps take at most this fraction of their centres' spacing (when the steps
are not shrunk). Below ``2 CAP / (2 CAP + 2 exp(-1))`` ~ 0.9 (a step of at least 2
between families), no node of a family's subtree enters a sibling subtree's exclusion
ball (radius ``2 exp(-R/2)``, see the module docstring)."""

MAX_FRAC = 0.5
"""In the step rule, a child's cap is at most this fraction of its parent's (so a
single child still gets a step of ``2 ln 2`` or more)."""

ROOT_STEP_MIN = 1.0
"""Smallest first radius: the root's children are at least this far from the origin."""

BUDGET_FRACTION = 0.995
"""Share of ``numerics.max_dist0(dtype)`` the deepest level may use."""


# ------------------------------------------------------------------ public API
def precision_limit(
    depth: int, max_children: int, dim: int, dtype: torch.dtype = torch.float64
) -> dict[str, float | int | bool]:
    """What fits: a tree ``depth`` levels deep whose widest node has ``max_children``.

    Returns a dict with
        ``budget``: the largest radius used (``BUDGET_FRACTION * max_dist0(dtype)``);
        ``step_needed``: the radial step a level of ``max_children``-wide nodes needs
            for the separation behind MAP ~1 (module docstring);
        ``radius_needed``: ``depth * step_needed`` (the root's first step counted the
            same way);
        ``fits``: whether it is within the budget;
        ``max_depth``: how many such levels fit;
        ``step_used``: the step the automatic schedule would use (shrunk to fit);
        ``shrink``: ``step_used / step_needed`` (1.0 when it fits).
    """
    _check_dim(dim)
    budget = radius_budget(dtype)
    step = level_step(max(max_children, 1), dim)
    needed = depth * step
    used = step if needed <= budget else budget / max(depth, 1)
    return {
        "budget": budget,
        "step_needed": step,
        "radius_needed": needed,
        "fits": needed <= budget,
        "max_depth": math.floor(budget / step),
        "step_used": used,
        "shrink": used / step,
    }


def radius_budget(dtype: torch.dtype) -> float:
    """Largest distance from the origin the construction uses for ``dtype``."""
    return BUDGET_FRACTION * numerics.max_dist0(dtype)


# ------------------------------------------------------------------ the plan
@dataclass(frozen=True, eq=False)
class Plan:
    """The construction in polar form, before conversion to coordinates.

    Attributes:
        level: ``(n,)`` int64 level of each node (its depth, + 1 with several roots).
        radii: ``(levels,)`` float64 radius of each level (``radii[0] = 0``).
        directions: ``(n, dim)`` float64 unit vectors.
        caps: ``(levels,)`` float64 angular radius of the caps of each level's nodes
            (:func:`level_caps`).
        min_sibling_angle: ``(levels,)`` a lower bound on the angle between two
            siblings' directions on each level (exact for the root's children; ``nan``
            where no node has two children).
        needed_radius: the deepest radius MAP ~1 would need (the sum of
            :func:`needed_steps`); above ``radii[-1]``, the steps were shrunk.
        limbs: ``(n, L, dim)`` the directions in extended precision, or ``None``.
    """

    level: np.ndarray
    radii: np.ndarray
    directions: np.ndarray
    caps: np.ndarray
    min_sibling_angle: np.ndarray
    needed_radius: float
    limbs: np.ndarray | None = None


def plan_construction(
    tax: Taxonomy,
    dim: int,
    *,
    dtype: torch.dtype = torch.float64,
    scale: float | None = None,
    seed: int = 0,
    extended: bool | None = False,
) -> Plan:
    """Radii, directions and caps of every node (see :func:`construct`); directions in
    extended precision with ``extended`` (``None``: when the steps the tree needs exceed
    the dtype's budget)."""
    _check_dim(dim)
    numerics.max_norm(dtype)  # rejects unsupported dtypes early
    tree = SpanningTree.build(tax)
    rng = np.random.default_rng(seed)
    root_kids = tree.children_of(np.array([tree.root]))[0]
    root_dirs, root_angle = sphere_points(len(root_kids), dim, rng)
    steps = needed_steps(tree.widest, dim, root_angle)
    needed = float(steps.sum()) if scale is None else scale * len(steps)
    if extended is None:
        extended = needed > radius_budget(dtype)
    budget = MAX_RADIUS if extended else radius_budget(dtype)
    radii = radius_schedule(steps, dtype=dtype, scale=scale, budget=budget)
    rot_cap = random_rotation(dim - 1, rng)
    rot_root = random_rotation(dim, rng)
    lattice = Lattice(dim - 1, int(tree.widest[1:].max(initial=1)), rng)
    caps = level_caps(radii)
    directions = Directions(tree.n, dim, limbs_for(radii[-1]) if extended else None)
    min_angle = np.full(len(radii), np.nan)
    if len(root_kids):
        directions.set(root_kids, root_dirs @ rot_root.T)
        min_angle[1] = root_angle if len(root_kids) > 1 else np.nan
    for k in range(1, len(radii) - 1):
        parents = np.flatnonzero(tree.level == k)
        kids, owner, rank, count = tree.children_of(parents)
        if not len(kids):
            continue
        spread = (caps[k] - caps[k + 1]) / lattice.rho[count - 1]
        z = lattice.points[rank] @ rot_cap.T
        directions.turn(kids, parents[owner], np.linalg.norm(z, axis=1) * spread, z)
        min_angle[k + 1] = _sibling_angle_bound(spread[count > 1], caps[k] - caps[k + 1], lattice)
    keep = tree.keep
    return Plan(
        level=tree.level[keep],
        radii=radii,
        directions=directions.value[: len(keep)],
        caps=caps,
        min_sibling_angle=min_angle,
        needed_radius=float(steps.sum()),
        limbs=None if directions.limbs is None else directions.limbs[: len(keep)],
    )


def level_step(max_children: int, dim: int) -> float:
    """Radial step a level needs when its widest node has ``max_children`` children."""
    if max_children <= 0:
        return 0.0
    m = dim - 1
    r_min, rho = lattice_radii(m, max_children)
    frac = _frac(max_children, rho, lattice_gap(m))
    # The innermost child sits at angle >= (r_min / rho)(1 - frac) A from its parent;
    # it must stay outside the child's exclusion ball 2 exp(-R_child / 2).
    inner = r_min / rho * (1.0 - frac) * CAP
    return max(-2.0 * math.log(frac), 2.0 * math.log(2.0 / inner))


def needed_steps(widest: np.ndarray, dim: int, root_angle: float | None = None) -> np.ndarray:
    """``(levels - 1,)`` radial steps for MAP ~1, from ``widest[k]``, the most children
    of a level-``k`` node (``widest[0]`` is the root's; ``root_angle`` the smallest
    angle between its children, if known)."""
    steps = np.zeros(max(len(widest) - 1, 0))
    if len(steps):
        if root_angle is None:
            root_angle = sphere_points(int(widest[0]), dim, np.random.default_rng(0))[1]
        steps[0] = max(ROOT_STEP_MIN, 2.0 * math.log(2.0 * CAP / (FILL * root_angle)))
        steps[1:] = [level_step(int(w), dim) for w in widest[1:-1]]
    return steps


def radius_schedule(
    steps: np.ndarray,
    *,
    dtype: torch.dtype = torch.float64,
    scale: float | None = None,
    budget: float | None = None,
) -> np.ndarray:
    """``(levels,)`` radius of each level (``radii[0] = 0``): the ``steps`` (from
    :func:`needed_steps`), all shrunk by one factor if they exceed the budget (the
    dtype's, unless ``budget`` is given), or ``scale`` per level when given."""
    levels = len(steps) + 1
    budget = radius_budget(dtype) if budget is None else budget
    if scale is not None:
        if not scale > 0:
            raise ConfigError(f"scale must be positive, not {scale}")
        if (levels - 1) * scale > budget:
            raise ConfigError(
                f"scale {scale:g} x {levels - 1} levels = {(levels - 1) * scale:.4g} exceeds the "
                f"{_dtype_name(dtype)} limit {budget:.4g}; use scale <= "
                f"{budget / max(levels - 1, 1):.4g} or leave it unset"
            )
        return scale * np.arange(levels, dtype=np.float64)
    total = steps.sum()
    shrink = budget / total if total > budget else 1.0
    return np.concatenate(([0.0], np.cumsum(steps * shrink)))


def level_caps(radii: np.ndarray) -> np.ndarray:
    """``(levels,)`` cap of each level's nodes: ``CAP exp(-R / 2)`` (at most ``pi / 2``
    for the first level), shrinking by ``exp(-step / 2)`` from level to level. The
    root's entry is ``pi`` (the whole sphere)."""
    caps = np.full(len(radii), math.pi)
    if len(radii) > 1:
        first = min(CAP * math.exp(-radii[1] / 2.0), math.pi / 2)
        caps[1:] = first * np.exp(-(radii[1:] - radii[1]) / 2.0)
    return caps


# ------------------------------------------------------------------ placement
def _frac(count: int, rho: float, gap: float) -> float:
    """Largest child cap, as a fraction of the parent's, that keeps ``count`` sibling
    caps (centres ``gap / rho`` of the parent's cap apart) ``FILL``-separated."""
    if count <= 1:
        return MAX_FRAC
    q = FILL * gap / (2.0 * rho)
    return min(q / (1.0 + q), MAX_FRAC)


def _sibling_angle_bound(spread: np.ndarray, reach: float, lattice: Lattice) -> float:
    """Smallest angle two siblings can have: lattice points ``gap`` apart times the
    ``spread`` of their family, shrunk by at most ``sin(t) / t`` by the sphere's
    exponential map out to ``t = reach``."""
    if not len(spread):
        return float("nan")
    return float(lattice.gap * spread.min() * np.sinc(reach / math.pi))


# ------------------------------------------------------------------ checks
def _check_dim(dim: int) -> None:
    if dim < 2:
        raise ConfigError(f"the constructive embedding needs dim >= 2, not {dim}")


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
