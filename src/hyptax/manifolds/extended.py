"""Extended precision: points in polar form with fixed-point directions, at any radius.

Float64 Poincaré coordinates hold points up to about 26 from the origin: a point at
radius ``R`` sits ``2 exp(-R)`` from the rim, and so do the angles between nearby points
at that radius, while a float64 coordinate resolves ``2^-53``. A deep tree needs more
(the whole NCBI Taxonomy: ~150). :class:`Polar` stores every point as

- its distance from the origin ``r`` (float64: the radius itself needs no more than
  its relative precision), and
- its unit direction ``u`` as a fixed-point number per coordinate, held in ``L``
  float64 *limbs*: ``u = sum_l limbs[:, l]``, where limb ``l`` is an integer multiple of
  ``QUANTUM ** (l + 1)`` (``2^-52``, ``2^-104``, ...) and, for ``l >= 1``, in
  ``[-q / 2, q / 2)`` for ``q`` the quantum of limb ``l - 1``: one layout per value, so
  equal directions have equal limbs however they were reached.

Fixed quanta make every limb-wise difference exact (two multiples of the same quantum,
each under ``2^52`` of them), and summing the exact differences from the top limb down
rounds only once where it matters, so ``u_a - u_b`` comes out with a relative error of
about ``2^-51`` however small it is, down to ``QUANTUM ** L``. The distance is then

    d(a, b) = 2 asinh(sqrt(sinh^2((r_a - r_b) / 2) + sinh r_a sinh r_b |u_a - u_b|^2 / 4)),

exact for unit directions (the law of cosines with ``1 - cos t = |u_a - u_b|^2 / 2``),
with full relative precision for small and large distances alike, and finite while
``sinh r_a sinh r_b`` is (``r_a + r_b`` below ~709). Each limb buys
``52 ln 2 ~ 36`` units of radius: :func:`limbs_for` picks how many a radius needs, so
the cost grows with the radius actually used. ``docs/precision.md`` compares this
with other representations against mpmath.

Directions are built by :func:`add` from the parent's, never normalised: a child's
``u_c = u_p + delta`` with ``delta = (cos phi - 1) u_p + sin phi e`` (``e`` the tangent
towards the child) formed in float64, whose relative error is that of float64 however
small ``phi`` is. Nodes that share ancestors share those bits exactly, so their
difference is the difference of their own ``delta``\\ s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from . import numerics

LIMB_BITS = 52
"""Bits per limb: limb ``l`` holds multiples of ``2^-(52 (l + 1))``."""

QUANTUM = 2.0**-LIMB_BITS

GUARD_BITS = 45
"""Bits kept below the smallest angle a radius implies (``exp(-R)``), so the closest
pairs keep a relative precision of ``2^-45 ~ 3e-14``."""

MAX_RADIUS = 350.0
"""Largest distance from the origin supported: ``sinh(r_a) sinh(r_b)`` stays finite in
float64 while ``r_a + r_b < ~709``."""


SQ_SCALE = 2.0**512
"""Direction differences are squared times this power of two (exact), and the scale is
taken out again with the radii: unscaled, the closest pairs past a radius of ~340 have
squares below float64's smallest normal number (``(c exp(-350))^2 ~ c^2 1e-304``
against ``2.2e-308``), which keep fewer bits the smaller ``c`` is."""


def limbs_for(radius: float) -> int:
    """Limbs needed to hold points up to ``radius`` from the origin (at least 2)."""
    if not radius <= MAX_RADIUS:
        raise ValueError(f"extended precision holds radii up to {MAX_RADIUS:g}, not {radius:.4g}")
    bits = max(radius, 0.0) / math.log(2.0) + GUARD_BITS
    return max(2, math.ceil(bits / LIMB_BITS))


def radius_held(n_limbs: int) -> float:
    """The largest radius ``n_limbs`` limbs hold (the inverse of :func:`limbs_for`)."""
    return min((n_limbs * LIMB_BITS - GUARD_BITS) * math.log(2.0), MAX_RADIUS)


def _quantum(level: int) -> float:
    return 2.0 ** (-LIMB_BITS * (level + 1))


def split(x: np.ndarray, n_limbs: int) -> np.ndarray:
    """``(..., n_limbs, dim)`` limbs of float64 ``x (..., dim)`` (``|x| <= 1``), rounded
    to the last limb's quantum."""
    x = np.asarray(x, dtype=np.float64)
    out = np.zeros((*x.shape[:-1], n_limbs, x.shape[-1]))
    add(out, x)
    return out


def add(limbs: np.ndarray, delta: np.ndarray) -> None:
    """``limbs += delta`` in place, exactly up to the last limb's quantum.

    ``limbs`` is ``(..., L, dim)``, ``delta`` float64 ``(..., dim)``; the sum must stay
    within ``[-1, 1]`` per coordinate (directions do). ``delta`` is cut into multiples
    of each quantum (exact), each part added to its limb (exact: both are multiples of
    the quantum below ``2^53`` of them), then carries move every limb back into
    ``[-q / 2, q / 2)`` for ``q`` the quantum of the limb above (half-open, so that a
    value has one layout: rounding half to even would leave ``+q / 2`` and ``-q / 2``
    both, and a value reached two ways could differ in its limbs).
    """
    if not limbs.flags.c_contiguous:
        work = np.ascontiguousarray(limbs)
        add(work, delta)
        limbs[...] = work
        return
    n_limbs, dim = limbs.shape[-2], limbs.shape[-1]
    flat = limbs.reshape(-1, n_limbs, dim)
    rest = np.array(delta, dtype=np.float64).reshape(-1, dim)
    if _ADD is not None:
        _ADD(flat, rest)
        return
    for level in range(n_limbs):  # pragma: no cover - without numba: the same, by rows
        q = _quantum(level)
        part = np.rint(rest / q) * q
        rest -= part
        flat[:, level] += part
    for level in range(n_limbs - 1, 0, -1):  # pragma: no cover
        q = _quantum(level - 1)
        carry = np.floor(flat[:, level] / q + 0.5) * q  # exact: |limbs / q| <= 1 + 2^-52
        flat[:, level] -= carry
        flat[:, level - 1] += carry


def _add_py(limbs: np.ndarray, delta: np.ndarray) -> None:
    """:func:`add` on ``(m, L, dim)`` limbs and ``(m, dim)`` deltas, element by element
    (numba compiles it)."""
    n_limbs = limbs.shape[1]
    for j in range(limbs.shape[0]):
        for k in range(limbs.shape[2]):
            rest = delta[j, k]
            for level in range(n_limbs):
                q = 2.0 ** (-LIMB_BITS * (level + 1))
                part = np.rint(rest / q) * q
                rest -= part
                limbs[j, level, k] += part
            for level in range(n_limbs - 1, 0, -1):
                q = 2.0 ** (-LIMB_BITS * level)
                carry = np.floor(limbs[j, level, k] / q + 0.5) * q
                limbs[j, level, k] -= carry
                limbs[j, level - 1, k] += carry


try:
    import numba

    _ADD = numba.njit(cache=True)(_add_py)
except ImportError:  # pragma: no cover - numba is optional
    _ADD = None


def collapse(limbs: np.ndarray) -> np.ndarray:
    """``(..., dim)``: the float64 value nearest ``sum(limbs)`` over the limbs axis
    (``-2``), the top limb first."""
    out = limbs[..., -1, :].copy()
    for level in range(limbs.shape[-2] - 2, -1, -1):
        out = limbs[..., level, :] + out
    return out


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a - b`` for limbs ``(..., L, dim)`` of one shape, as float64 ``(..., dim)`` with
    relative error ``~2^-51``: limb-wise differences are exact and are summed from the
    top down."""
    out = a[..., 0, :] - b[..., 0, :]
    for level in range(1, a.shape[-2]):
        out = out + (a[..., level, :] - b[..., level, :])
    return out


def dist_from(
    r_a: np.ndarray, r_b: np.ndarray, sq: np.ndarray, sq_scale: float = 1.0
) -> np.ndarray:
    """Distance between points at radii ``r_a``, ``r_b`` whose unit directions differ by
    ``sq = |u_a - u_b|^2 * sq_scale`` (all broadcast): the module docstring's formula.
    ``sq_scale`` is a power of two (:data:`SQ_SCALE` keeps the closest squares normal)."""
    h = np.sinh((r_a - r_b) / 2.0)
    y = h * h + (np.sinh(r_a) * np.sinh(r_b) / (4.0 * sq_scale)) * sq
    return 2.0 * np.arcsinh(np.sqrt(y))


@dataclass(frozen=True, eq=False)
class Polar:
    """``n`` points in polar form with fixed-point directions (module docstring).

    Attributes:
        radius: ``(n,)`` float64 distance from the origin.
        limbs: ``(n, L, dim)`` float64 direction limbs, one node's contiguous.
    """

    radius: np.ndarray
    limbs: np.ndarray

    def __post_init__(self) -> None:
        r, u = self.radius, self.limbs
        if r.ndim != 1 or u.ndim != 3 or u.shape[0] != len(r) or u.shape[1] < 1:
            raise ValueError(
                f"polar points: radius of shape {r.shape} and limbs of shape {u.shape} "
                "(want (n,) and (n, L, dim))"
            )

    @classmethod
    def from_directions(cls, radius: np.ndarray, directions: np.ndarray, n_limbs: int) -> Polar:
        """Points from float64 radii ``(n,)`` and unit directions ``(n, dim)``."""
        return cls(np.asarray(radius, dtype=np.float64), split(directions, n_limbs))

    @property
    def n(self) -> int:
        return len(self.radius)

    @property
    def dim(self) -> int:
        return int(self.limbs.shape[2])  # (n, L, dim)

    @property
    def n_limbs(self) -> int:
        return int(self.limbs.shape[1])

    @property
    def radius_held(self) -> float:
        return radius_held(self.n_limbs)

    def directions(self) -> np.ndarray:
        """``(n, dim)`` float64 directions (rounded)."""
        return collapse(self.limbs)

    def poincare(self) -> np.ndarray:
        """``(n, dim)`` float64 Poincaré coordinates ``tanh(r / 2) u``, strictly inside
        the ball: lossy beyond the ~26 float64 holds (such points are placed at that
        radius), for plots and plain exports."""
        top = numerics.max_dist0(torch.float64)
        u = self.directions()
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        return np.tanh(np.minimum(self.radius, top) / 2.0)[:, None] * u

    def subset(self, rows: np.ndarray) -> Polar:
        rows = np.asarray(rows)
        return Polar(self.radius[rows], self.limbs[rows])

    def sq_diff(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``|u_i - u_j|^2 * SQ_SCALE`` for index arrays of one shape (:data:`SQ_SCALE`)."""
        diff = difference(self.limbs[i], self.limbs[j]) * math.sqrt(SQ_SCALE)
        return (diff * diff).sum(-1)

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Distances between the rows ``i`` and ``j`` (index arrays of one shape)."""
        i, j = np.asarray(i), np.asarray(j)
        return dist_from(self.radius[i], self.radius[j], self.sq_diff(i, j), SQ_SCALE)

    def dist_row(self, row: int, chunk: int = 1 << 16) -> np.ndarray:
        """``(n,)`` distances from node ``row`` to every node."""
        out = np.empty(self.n)
        for start in range(0, self.n, chunk):
            j = np.arange(start, min(start + chunk, self.n))
            out[j] = self.dist(np.full(len(j), row), j)
        return out
