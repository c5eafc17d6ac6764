"""Point sets for the constructive embedding: where a family's children point.

A family of ``K`` children takes the ``K`` innermost points of a shifted lattice
(:class:`Lattice`), spread within its parent's cap; the root's children take ``K``
well-separated directions on the whole sphere (:func:`sphere_points`). Both are
deterministic given the random generator (shell order, rotations).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..errors import ConfigError

FPS_LIMIT = 4096
"""Lattice shells are ordered by farthest-point selection up to this many points
(beyond, in a seeded random order); it only improves the spread of small families."""

MAX_ENUMERATED = 2_000_000
"""Largest lattice enumeration attempted (points inside the search ball). A family too
large for it takes its points from a product of two lower-dimensional sets instead
(:func:`_product_shells`, :func:`_product_sphere`), so any fan-out can be placed."""

MIN_PRODUCT_PART = 3
"""Smallest dimension of either factor of a product point set: from 3 on both factors
are checkerboard lattices with the same ``sqrt 2`` spacing as the whole."""


class _TooManyPoints(Exception):
    """The lattice enumeration would exceed :data:`MAX_ENUMERATED` points."""


class Lattice:
    """Points of a shifted lattice in ``R^m`` sorted by norm: the first ``K`` are the
    family of ``K`` children.

    ``m >= 3``: the checkerboard lattice ``D_m`` shifted by ``(1/2, ..., 1/2)``
    (minimum distance ``sqrt 2``, no point at the centre); ``m <= 2``: ``Z^m`` shifted
    by ``1/2`` (minimum distance 1). Within a shell of equal norm the points are
    ordered by farthest-point selection (first ``FPS_LIMIT`` points), then randomly.
    ``rho[K-1]`` is the radius of the first ``K`` points.
    """

    def __init__(self, m: int, k: int, rng: np.random.Generator) -> None:
        self.m = m
        self.gap = lattice_gap(m)
        self.points = _order_shells(lattice_shells(m, max(k, 1)), rng)
        self.rho = np.maximum.accumulate(np.linalg.norm(self.points, axis=1))


def lattice_gap(m: int) -> float:
    return math.sqrt(2.0) if m >= 3 else 1.0


def lattice_radii(m: int, k: int) -> tuple[float, float]:
    """Norms of the innermost and of the ``k``-th lattice point."""
    pts = lattice_shells(m, k)
    return float(np.linalg.norm(pts[0])), float(np.linalg.norm(pts[k - 1]))


@functools.lru_cache(maxsize=16)
def lattice_shells(m: int, k: int) -> np.ndarray:
    """Lattice points by increasing norm: every shell up to the one holding the
    ``k``-th point (``(>= k, m)``, read-only); see :func:`_lattice_ball_shells`. Where
    enumerating the ball would not fit in memory, the first ``k`` points by norm of
    the product of the lattices of ``R^(m // 2)`` and ``R^(m - m // 2)`` (distinct
    points stay ``sqrt 2`` apart)."""
    try:
        return _lattice_ball_shells(m, k)
    except _TooManyPoints:
        if m < 2 * MIN_PRODUCT_PART:
            raise _too_many(k, m + 1) from None
        return _product_shells(m, k)


def _too_many(k: int, dim: int) -> ConfigError:
    return ConfigError(f"cannot spread {k:,} children in dim {dim}: the lattice search needs "
                       f"over {MAX_ENUMERATED:,} points")  # fmt: skip


def _product_shells(m: int, k: int) -> np.ndarray:
    """The ``k`` points of smallest norm among pairs ``(p, q)`` of the first points of
    two lower-dimensional lattices (enough of each for ``k`` pairs), by norm."""
    a = m // 2
    per = 2 * (math.isqrt(k - 1) + 1)  # twice as many of each as k pairs need
    p, q = lattice_shells(a, per), lattice_shells(m - a, per)
    total = (p * p).sum(1)[:, None] + (q * q).sum(1)[None, :]
    cut = np.partition(total.ravel(), k - 1)[k - 1]
    i, j = np.nonzero(total <= cut)
    order = np.lexsort((j, i, total[i, j]))[:k]
    out = np.concatenate((p[i[order]], q[j[order]]), axis=1)
    out.flags.writeable = False
    return out


def _lattice_ball_shells(m: int, k: int) -> np.ndarray:
    """Lattice points by increasing norm: every shell up to the one holding the
    ``k``-th point (``(>= k, m)``, read-only). For ``m > 12`` and ``k <= 2^(m-1)``,
    ``k`` points of the first shell (enumerating it would not fit in memory)."""
    checker = m >= 3
    if checker and m > 12 and k <= 2 ** (m - 1):
        return _sign_vectors(m, k)
    covolume = 2.0 if checker else 1.0
    ball = math.pi ** (m / 2) / math.gamma(m / 2 + 1)
    rho = max((k * covolume / ball) ** (1.0 / m), math.sqrt(m) / 2)
    while True:
        pts = _half_integer_ball(m, rho, checker)
        if len(pts) >= k:
            key = np.round((pts * pts).sum(1) * 4).astype(np.int64)  # exact: 4 |x|^2
            order = np.lexsort((*pts.T[::-1], key))
            pts, key = pts[order], key[order]
            out = pts[key <= key[k - 1]]
            out.flags.writeable = False
            return out
        rho *= 1.1


def _half_integer_ball(m: int, rho: float, checker: bool) -> np.ndarray:
    """Points of ``(Z + 1/2)^m`` (even coordinate sum after the shift if ``checker``)
    with norm ``<= rho``."""
    # In units of 1/2 the coordinates are odd integers and 4 |x|^2 an exact integer.
    top = math.floor(rho - 0.5)
    odd = np.arange(-2 * top - 1, 2 * top + 2, 2, dtype=np.int64)
    sq = odd * odd
    limit = math.floor(4.0 * rho * rho)
    pts = np.zeros((1, 0))
    acc = np.zeros(1, dtype=np.int64)
    for j in range(m):
        new = acc[:, None] + sq[None, :]
        ok = new + (m - j - 1) <= limit  # each later coordinate adds at least 1
        i, v = np.nonzero(ok)
        if len(i) > MAX_ENUMERATED:
            raise _TooManyPoints
        pts = np.concatenate((pts[i], 0.5 * odd[v][:, None]), axis=1)
        acc = new[i, v]
    if checker:
        pts = pts[((pts - 0.5).sum(1).round().astype(np.int64) % 2) == 0]
    return pts


def _sign_vectors(m: int, k: int) -> np.ndarray:
    """``k`` distinct points of ``{+-1/2}^m`` with an even number of minus signs (the
    first shell of the shifted ``D_m``), by a fixed pseudo-random draw."""
    rng = np.random.default_rng(m)
    seen: set[bytes] = set()
    out = []
    while len(out) < k:
        s = rng.integers(0, 2, size=(2 * k, m))
        s[:, -1] = s[:, :-1].sum(1) % 2
        for row in s:
            key = row.tobytes()
            if key not in seen:
                seen.add(key)
                out.append(row)
                if len(out) == k:
                    break
    pts = 0.5 - np.array(out, dtype=np.float64)
    pts.flags.writeable = False
    return pts


def _order_shells(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reorder points inside each shell of equal norm: farthest-point selection while
    the prefix is small, then a seeded shuffle."""
    sq = np.round((pts * pts).sum(1) * 4).astype(np.int64)
    bounds = np.flatnonzero(np.diff(sq)) + 1
    shells = np.split(np.arange(len(pts)), bounds)
    out: list[np.ndarray] = []
    chosen = np.zeros((0, pts.shape[1]))
    for shell in shells:
        p = pts[shell]
        if len(chosen) + len(p) <= FPS_LIMIT:
            p = _farthest_first(p, chosen, rng)
            chosen = np.concatenate((chosen, p))
        else:
            p = p[rng.permutation(len(p))]
        out.append(p)
    return np.concatenate(out)


def _farthest_first(p: np.ndarray, chosen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Order ``p`` so each point is the farthest from all earlier ones (and ``chosen``)."""
    if len(chosen):  # lattice points: small exact values, no cancellation
        sq = (p * p).sum(1)[:, None] + (chosen * chosen).sum(1)[None, :] - 2.0 * p @ chosen.T
        best = sq.min(1)
    else:
        best = np.full(len(p), np.inf)
    order = []
    left = np.ones(len(p), dtype=bool)
    i = int(rng.integers(len(p))) if not len(chosen) else int(np.argmax(best))
    for _ in range(len(p)):
        order.append(i)
        left[i] = False
        best = np.minimum(best, ((p - p[i]) ** 2).sum(1))
        best[~left] = -1.0
        i = int(np.argmax(best))
    return p[order]


def sphere_points(k: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``k`` well-spread unit vectors in ``R^d`` and their smallest angle (a lower
    bound for the lattice shell).

    1 point: ``e_1``; ``d = 2``: evenly spaced on the circle; ``k <= d + 1``: a
    regular simplex; ``k <= 2d``: vertices of the cross-polytope; more: the golden
    spiral (``d = 3``) or a normalised shell of the shifted lattice (points with norm
    within ``gap/4`` of a radius).
    """
    if k <= 1:
        e = np.zeros((max(k, 0), d))
        e[:, 0] = 1.0
        return e, math.pi
    if d == 2:
        t = 2.0 * math.pi * np.arange(k) / k
        return np.stack((np.cos(t), np.sin(t)), axis=1), 2.0 * math.pi / k
    if k <= d + 1:
        v = np.eye(k) - 1.0 / k
        basis = np.linalg.svd(v)[2][: k - 1]
        pts = np.zeros((k, d))
        pts[:, : k - 1] = v @ basis.T
        pts /= np.linalg.norm(pts, axis=1, keepdims=True)
        return pts, math.acos(-1.0 / (k - 1))
    if k <= 2 * d:
        pts = np.zeros((k, d))
        idx = np.arange(k)
        pts[idx, idx // 2] = np.where(idx % 2 == 0, 1.0, -1.0)
        return pts, math.pi / 2
    if d == 3:
        pts = _fibonacci_sphere(k)
        return pts, _min_angle(pts)
    try:
        return _lattice_shell(d, k, rng)
    except _TooManyPoints:
        if d < 2 * MIN_PRODUCT_PART:
            raise _too_many(k, d) from None
        return _product_sphere(k, d, rng)


def _product_sphere(k: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``k`` unit vectors ``(u, v) / sqrt 2`` from well-spread sets on the spheres of
    ``R^(d // 2)`` and ``R^(d - d // 2)`` (for families whose lattice shell would not
    fit in memory). Two of them differ in ``u`` or in ``v``, so their chord is at least
    the smaller of the factors' chords over ``sqrt 2``."""
    a = d // 2
    k1 = math.isqrt(k - 1) + 1
    k2 = -(-k // k1)
    u, angle_u = sphere_points(k1, a, rng)
    v, angle_v = sphere_points(k2, d - a, rng)
    i, j = np.divmod(np.arange(k), k2)
    pts = np.concatenate((u[i], v[j]), axis=1) / math.sqrt(2.0)
    chord = 2.0 * math.sin(min(angle_u, angle_v) / 2.0) / math.sqrt(2.0)
    return pts, 2.0 * math.asin(chord / 2.0)


def _fibonacci_sphere(k: int) -> np.ndarray:
    """``k`` points of the golden-angle spiral on the unit 2-sphere: ``(k, 3)``."""
    i = np.arange(k) + 0.5
    z = 1.0 - 2.0 * i / k
    phi = math.pi * (3.0 - math.sqrt(5.0)) * i
    r = np.sqrt(1.0 - z * z)
    return np.stack((r * np.cos(phi), r * np.sin(phi), z), axis=1)


def _lattice_shell(d: int, k: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """``k`` unit vectors: lattice points with norm in ``(rho - h, rho + h]`` (smallest
    such ``rho``), normalised, a seeded subset; and a lower bound on their angles.

    Two lattice points ``x, y`` are ``>= gap`` apart, so ``4 |x||y| sin^2(t/2) =
    |x - y|^2 - (|x| - |y|)^2 >= gap^2 - 4 h^2``: the angle ``t`` is at least
    ``2 asin(sqrt(gap^2 - 4 h^2) / (2 (rho + h)))``.
    """
    checker = d >= 3
    gap = math.sqrt(2.0) if checker else 1.0
    h = gap / 4.0
    density = 0.5 if checker else 1.0
    sphere = 2.0 * math.pi ** (d / 2) / math.gamma(d / 2)
    guess = (k / (density * sphere * 2.0 * h)) ** (1.0 / (d - 1))
    reach = max(1.25 * guess, math.sqrt(d) / 2) + h
    while True:
        pts = _half_integer_ball(d, reach, checker)
        norm = np.sort(np.linalg.norm(pts, axis=1))
        rho = np.arange(math.sqrt(d) / 2 + h, reach - h, 0.05 * h)
        count = np.searchsorted(norm, rho + h, "right") - np.searchsorted(norm, rho - h, "right")
        ok = np.flatnonzero(count >= k)
        if len(ok):
            r = float(rho[ok[0]])
            norm = np.linalg.norm(pts, axis=1)
            shell = pts[(norm > r - h) & (norm <= r + h)]
            shell = shell[np.sort(rng.choice(len(shell), size=k, replace=False))]
            bound = 2.0 * math.asin(math.sqrt(gap * gap - 4.0 * h * h) / (2.0 * (r + h)))
            return shell / np.linalg.norm(shell, axis=1, keepdims=True), bound
        reach *= 1.25


def random_rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    """A random orthogonal ``(d, d)`` matrix (QR of a Gaussian, signs fixed)."""
    if d == 0:
        return np.zeros((0, 0))
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    return q * np.sign(np.diag(r))


def _min_angle(u: np.ndarray) -> float:
    """Smallest angle between rows of ``u (k, d)`` (unit vectors), via a k-d tree."""
    from scipy.spatial import cKDTree

    if len(u) < 2:
        return math.pi
    dist, _ = cKDTree(u).query(u, k=2)
    chord = float(dist[:, 1].min())
    return 2.0 * math.asin(min(chord / 2.0, 1.0))
