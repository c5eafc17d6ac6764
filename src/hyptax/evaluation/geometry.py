"""The Poincaré-ball view that every metric reads.

Both models are measured in Poincaré coordinates ``p`` (Lorentz points are converted
with ``p = xs / (1 + x0)``). Ranking only needs, for a fixed anchor ``u``, a key that
is monotone in the distance ``d(u, v)``:

    cosh d(u, v) = 1 + 2 |p_u - p_v|^2 * g_u * g_v,    g = 1 / (1 - |p|^2),

so ``key_u(v) = |p_u - p_v|^2 * g_v`` orders the candidates of ``u`` exactly as the
distance does. ``g`` is computed without cancellation for Lorentz points
(``g = (1 + x0) / 2`` exactly), and the squared difference is formed coordinate by
coordinate (never as ``|x|^2 + |y|^2 - 2 x.y``, which cancels catastrophically near
the boundary). Everything is float64: float32 embeddings are upcast, never ranked in
float32, where keys of points near the boundary collide and create false ties.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from ..manifolds import get_manifold
from ..manifolds.extended import SQ_SCALE, Polar


@dataclass(frozen=True, eq=False)
class BallView:
    """An embedding seen in the Poincaré ball.

    Attributes:
        weight: ``(n, coord_dim)`` float64 tensor in the manifold's own coordinates.
        manifold: ``"poincare"`` or ``"lorentz"``.
        p: ``(n, dim)`` float64 C-contiguous Poincaré coordinates (not projected, so a
            point that escaped the ball shows up in :attr:`norm`).
        gap_inv: ``(n,)`` ``1 / (1 - |p|^2)``.
        norm: ``(n,)`` Euclidean norm of ``p``.
        dist0: ``(n,)`` hyperbolic distance from the origin (the manifold's ``dist0``).
        polar: the points in extended precision (:mod:`hyptax.manifolds.extended`), or
            ``None``. With it, distances, radii and every key come from the polar
            points; ``p``, ``gap_inv`` and ``norm`` are their lossy ball coordinates.
    """

    weight: torch.Tensor
    manifold: str
    p: np.ndarray
    gap_inv: np.ndarray
    norm: np.ndarray
    dist0: np.ndarray
    polar: Polar | None = None

    @property
    def n(self) -> int:
        return len(self.p)

    @cached_property
    def _kernel_points(self) -> tuple[np.ndarray, np.ndarray]:
        if self.polar is None:
            return np.ascontiguousarray(self.p.T), self.p.reshape(self.n, 1, self.p.shape[1])
        limbs = self.polar.limbs
        return np.ascontiguousarray(limbs[:, 0].T), np.ascontiguousarray(limbs)

    def kernel_points(self) -> tuple[np.ndarray, np.ndarray]:
        """``(hi, rows)`` for the kernels: ``hi (dim, n)`` the Poincaré coordinates or
        the polar directions' top limb, transposed, and ``rows (n, L, dim)`` every
        limb (``L = 1``: the coordinates), one node's contiguous; both C-contiguous.
        Made once per view (the rankings, their probes and the neighbour searches all
        read them)."""
        return self._kernel_points

    def kernel_scalars(self, ancestor: bool) -> np.ndarray:
        """``(k, n)`` C-contiguous per-node scalars of the kernels' key
        (:func:`hyptax.evaluation.kernels._pair_key`): ``g`` and ``exp(dist0)`` in
        the ball; ``exp(r / 2)``, ``exp(-r / 2)``, ``sinh r`` and ``exp(r - max r)``
        for polar points."""
        key = ancestor and self.polar is None  # polar points: one set serves both scores
        made = self.__dict__.setdefault("_scalars", {})  # made once per view and score
        if key not in made:
            r = self.dist0
            if self.polar is not None:  # sinh r over sqrt(SQ_SCALE): the kernels' sq has it
                top = float(r.max(initial=0.0))
                s = np.sinh(r) / math.sqrt(SQ_SCALE)
                made[key] = np.stack((np.exp(r / 2), np.exp(-r / 2), s, np.exp(r - top)))
            else:
                made[key] = np.stack((self.gap_inv, np.exp(r) if key else self.gap_inv))
        return made[key]

    def anchor_keys(self, rows: np.ndarray, ancestor: bool = False) -> torch.Tensor:
        """``(len(rows), n)`` float64 keys of every node for each anchor of ``rows``,
        monotone in the distance (or with ``ancestor`` the ancestor score): the numba
        kernels' keys (:func:`hyptax.evaluation.kernels._pair_key`), limb by limb as they are."""
        rows = torch.as_tensor(np.asarray(rows, dtype=np.int64))
        sc = torch.from_numpy(self.kernel_scalars(ancestor))
        from .kernels import kernel_scale, limb_floors

        pr = torch.from_numpy(self.kernel_points()[1])
        rs = kernel_scale(self)
        sq = self._sq(pr, rows, 1, rs)
        if pr.shape[1] > 1:  # limb by limb where the top limbs leave the pair below the floor
            floors = limb_floors(pr.numpy(), rs)
            for used in range(2, pr.shape[1] + 1):
                needy = sq < floors[used - 2]
                if not bool(needy.any()):
                    break
                sq = torch.where(needy, self._sq(pr, rows, used, rs), sq)
        if self.polar is None:
            key = sq * sc[0]
            if not ancestor:
                return key
            x = 1.0 + 2.0 * key * sc[0, rows, None]
            return (x + torch.sqrt((x - 1.0) * (x + 1.0))) * sc[1]
        h = (sc[0, rows, None] * sc[1] - sc[1, rows, None] * sc[0]) / 2.0
        y = h * h + sc[2, rows, None] / 4.0 * sc[2] * sq
        if not ancestor:
            return y
        e = torch.sqrt(y) + torch.sqrt(y + 1.0)
        return e * e * sc[3]

    @staticmethod
    def _sq(pr: torch.Tensor, rows: torch.Tensor, used: int, rs: float) -> torch.Tensor:
        """``(len(rows), n)`` squared differences (times ``rs^2``) from the first ``used``
        limbs of the rows ``pr (n, L, dim)``, in the kernels' order
        (:func:`hyptax.evaluation.kernels._sq_pair`)."""
        sq = torch.zeros(len(rows), pr.shape[0], dtype=torch.float64)
        for k in range(pr.shape[2]):  # direct differences, as the numba kernel
            t = pr[rows, None, 0, k] - pr[:, 0, k]
            for level in range(1, used):
                t += pr[rows, None, level, k] - pr[:, level, k]
            t *= rs
            sq += t * t
        return sq

    def subset(self, rows: np.ndarray) -> BallView:
        """The view of the nodes ``rows`` only (in that order)."""
        return BallView(
            weight=self.weight[torch.as_tensor(rows)],
            manifold=self.manifold,
            p=np.ascontiguousarray(self.p[rows]),
            gap_inv=np.ascontiguousarray(self.gap_inv[rows]),
            norm=self.norm[rows],
            dist0=self.dist0[rows],
            polar=None if self.polar is None else self.polar.subset(rows),
        )

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Distances between the rows ``i`` and ``j`` (index arrays of one shape)."""
        if self.polar is not None:
            return self.polar.dist(i, j)
        m = get_manifold(self.manifold)
        with torch.no_grad():
            d = m.dist(self.weight[torch.as_tensor(i)], self.weight[torch.as_tensor(j)])
        return d.numpy()


def ball_view(
    weight: torch.Tensor | np.ndarray, manifold: str | object, polar: Polar | None = None
) -> BallView:
    """Build the :class:`BallView` of ``weight (n, coord_dim)`` on ``manifold``
    (a name or a manifold instance); with ``polar``, of those polar points (``weight``
    is then ignored: the view's ball coordinates are the polar points', rounded)."""
    if polar is not None:
        p = polar.poincare()
        norm = np.linalg.norm(p, axis=1)
        with np.errstate(divide="ignore"):
            gap_inv = 1.0 / ((1.0 - norm) * (1.0 + norm))
        return BallView(
            weight=torch.from_numpy(p),
            manifold="poincare",
            p=np.ascontiguousarray(p),
            gap_inv=gap_inv,
            norm=norm,
            dist0=polar.radius,
            polar=polar,
        )
    name = manifold if isinstance(manifold, str) else manifold.name  # type: ignore[attr-defined]
    m = get_manifold(name)
    w = torch.as_tensor(weight).detach().to("cpu", torch.float64)
    with torch.no_grad():
        if name == "lorentz":
            x0 = w[:, :1]
            p = w[:, 1:] / (1.0 + x0)
            gap_inv = ((1.0 + x0[:, 0]) / 2.0).numpy()
        else:
            p = w
            gap_inv = (1.0 / (1.0 - (w * w).sum(1))).numpy()
        dist0 = m.dist0(w).numpy()
    p_np = np.ascontiguousarray(p.numpy())
    return BallView(
        weight=w,
        manifold=name,
        p=p_np,
        gap_inv=np.ascontiguousarray(gap_inv),
        norm=np.linalg.norm(p_np, axis=1),
        dist0=dist0,
    )
