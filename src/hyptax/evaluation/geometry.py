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

from dataclasses import dataclass

import numpy as np
import torch

from ..manifolds import get_manifold


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
    """

    weight: torch.Tensor
    manifold: str
    p: np.ndarray
    gap_inv: np.ndarray
    norm: np.ndarray
    dist0: np.ndarray

    @property
    def n(self) -> int:
        return len(self.p)

    def subset(self, rows: np.ndarray) -> BallView:
        """The view of the nodes ``rows`` only (in that order)."""
        return BallView(
            weight=self.weight[torch.as_tensor(rows)],
            manifold=self.manifold,
            p=np.ascontiguousarray(self.p[rows]),
            gap_inv=np.ascontiguousarray(self.gap_inv[rows]),
            norm=self.norm[rows],
            dist0=self.dist0[rows],
        )

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Distances between the rows ``i`` and ``j`` (index arrays of one shape)."""
        m = get_manifold(self.manifold)
        with torch.no_grad():
            d = m.dist(self.weight[torch.as_tensor(i)], self.weight[torch.as_tensor(j)])
        return d.numpy()


def ball_view(weight: torch.Tensor | np.ndarray, manifold: str | object) -> BallView:
    """Build the :class:`BallView` of ``weight (n, coord_dim)`` on ``manifold``
    (a name or a manifold instance)."""
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
