"""The embedding table: one row of coordinates per node, and the manifold it lives on.

``weight`` is a plain ``(n, coord_dim)`` tensor (``coord_dim = dim`` on the
Poincaré ball, ``dim + 1`` on the hyperboloid) that the Riemannian optimisers of
:mod:`hyptax.optim` update row by row; every row is always a valid point (projected).

Initialisations (``init``):

- ``"uniform"``: coordinates uniform in ``[-scale, scale]`` (the reference, 1e-3):
  everything starts near the origin and the hierarchy grows outwards.
- ``"depth"``: each node at the distance from the origin that the depth regulariser
  targets (:func:`hyptax.losses.target_radius`), in a direction that follows its
  parent's with some noise, so subtrees start roughly together.
- ``"constructive"``: a tree embedding built without training
  (:func:`hyptax.constructive.construct`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .data.taxonomy import Taxonomy
from .losses import target_radius
from .manifolds import Manifold
from .manifolds.extended import Polar

DEPTH_INIT_NOISE = 1.0
"""Depth init: a child's direction is its parent's plus Gaussian noise of this norm."""


class EmbeddingTable:
    """``weight (n, coord_dim)`` points on ``manifold``.

    >>> from hyptax.manifolds import get_manifold
    >>> table = EmbeddingTable(torch.zeros(3, 2, dtype=torch.float64), get_manifold("poincare"))
    >>> table.n_nodes, table.dim, table.norms().tolist()
    (3, 2, [0.0, 0.0, 0.0])
    """

    def __init__(
        self,
        weight: torch.Tensor,
        manifold: Manifold,
        polar: Polar | None = None,
        note: str = "",
    ) -> None:
        self.weight = weight
        self.manifold = manifold
        self.polar = polar
        """The points in extended precision (a construction past the dtype's radius):
        then ``weight`` holds their plain coordinates, rounded, and is not trained."""
        self.note = note
        """One line on the construction's precision (``""`` when nothing to say)."""

    @property
    def n_nodes(self) -> int:
        return self.weight.shape[0]

    @property
    def dim(self) -> int:
        """Intrinsic dimension (``coord_dim - 1`` on the hyperboloid)."""
        return self.weight.shape[1] - (self.manifold.coord_dim(0))

    def poincare(self) -> torch.Tensor:
        """``(n, dim)`` Poincaré-ball coordinates of every node."""
        return self.manifold.to_poincare(self.weight)

    def norms(self) -> torch.Tensor:
        """``(n,)`` Poincaré norms (< 1)."""
        return torch.linalg.vector_norm(self.poincare(), dim=-1)

    @classmethod
    def create(
        cls,
        tax: Taxonomy,
        *,
        dim: int,
        manifold: Manifold,
        init: str = "uniform",
        scale: float = 1e-3,
        dtype: torch.dtype = torch.float64,
        device: torch.device | str = "cpu",
        seed: int = 0,
        reg_max_norm: float = 0.9,
        geometry: str = "order",
        rank_weights: dict[str, float] | None = None,
        precision: str = "float64",
    ) -> EmbeddingTable:
        """A table for ``tax`` initialised by ``init`` (see the module docstring);
        ``geometry``, ``rank_weights`` and ``precision`` shape the constructive start
        (:func:`hyptax.constructive.build`)."""
        gen = torch.Generator().manual_seed(seed)
        n = tax.n_nodes
        polar, note = None, ""
        if init == "uniform":
            weight = manifold.random(n, dim, radius=scale, generator=gen, dtype=dtype)
        elif init == "depth":
            radius = target_radius(tax.depth, max_norm=reg_max_norm)
            points = _depth_points(tax, dim, radius, gen)
            weight = manifold.from_poincare(points.to(dtype))
        elif init == "constructive":
            from .constructive import build

            built = build(tax, dim, geometry=geometry, manifold=manifold.name, dtype=dtype,
                          rank_weights=rank_weights, seed=seed, precision=precision)  # fmt: skip
            weight, polar, note = built.points, built.polar, built.summary()
        else:
            raise ValueError(f"unknown init {init!r}")
        weight = manifold.project(weight.to(dtype))
        return cls(weight.to(device).contiguous(), manifold, polar, note)


def _depth_points(
    tax: Taxonomy, dim: int, radius: np.ndarray, gen: torch.Generator
) -> torch.Tensor:
    """Poincaré points at distance ``radius`` from the origin, directions inherited."""
    parent = torch.tensor(tax.tree_parent)
    depth = torch.from_numpy(tax.depth.astype(np.int64))
    noise = torch.randn(tax.n_nodes, dim, generator=gen, dtype=torch.float64)
    direction = noise.clone()
    for d in range(1, int(tax.depth.max(initial=0)) + 1):
        nodes = torch.nonzero(depth == d).squeeze(1)
        up = direction[parent[nodes]]
        up = up / torch.linalg.vector_norm(up, dim=1, keepdim=True)
        direction[nodes] = up + DEPTH_INIT_NOISE * noise[nodes] / math.sqrt(dim)
    direction = direction / torch.linalg.vector_norm(direction, dim=1, keepdim=True)
    norm = torch.tanh(torch.from_numpy(radius) / 2.0).unsqueeze(1)
    return direction * norm
