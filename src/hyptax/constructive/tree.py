"""The spanning tree both constructions walk (each node under
:attr:`~hyptax.data.taxonomy.Taxonomy.tree_parent`), level by level, and the map that turns
a point of a parent's tangent frame into a child's direction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import csr
from ..data.taxonomy import Taxonomy
from ..manifolds import extended


@dataclass(frozen=True, eq=False)
class SpanningTree:
    """The spanning tree, with a virtual root when there are several roots.

    ``n`` nodes (``n_nodes + 1`` with a virtual root, which is then node
    ``n_nodes``), ``level`` per node, ``parent`` (``-1`` at the root), ``widest[k]`` =
    most children of a level-``k`` node, ``keep`` = the real nodes in their original
    order; children of node ``v`` are ``kid_order[kid_start[v]:kid_start[v + 1]]``.
    """

    n: int
    root: int
    level: np.ndarray
    parent: np.ndarray
    widest: np.ndarray
    keep: np.ndarray
    kid_order: np.ndarray
    kid_start: np.ndarray

    @classmethod
    def build(cls, tax: Taxonomy) -> SpanningTree:
        parent = tax.tree_parent  # read-only; a virtual root appends a copy
        level = tax.depth.astype(np.int64)
        n = tax.n_nodes
        roots = np.flatnonzero(parent < 0)
        keep = np.arange(n)
        if len(roots) == 1:
            root = int(roots[0])
        else:  # a virtual root at index n holds the real roots
            parent = np.append(parent, -1)
            parent[roots] = n
            level = np.append(level + 1, 0)
            root = n
            n += 1
        has_parent = parent >= 0
        kid_order = np.flatnonzero(has_parent)[np.argsort(parent[has_parent], kind="stable")]
        kid_start = np.searchsorted(parent[kid_order], np.arange(n + 1))
        n_kids = np.diff(kid_start)
        widest = np.zeros(int(level.max()) + 1, dtype=np.int64)
        np.maximum.at(widest, level, n_kids)
        return cls(n, root, level, parent, widest, keep, kid_order, kid_start)

    @property
    def virtual_root(self) -> bool:
        return self.n > len(self.keep)

    def children_of(
        self, parents: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Children of ``parents`` as flat arrays: ``(kids, owner, rank, count)`` where
        ``parents[owner[i]]`` is the parent of ``kids[i]``, ``rank[i]`` its position
        among its siblings and ``count[i]`` the number of siblings (itself included)."""
        pos, cnt = csr.positions(self.kid_start, parents)
        rank = pos - np.repeat(self.kid_start[parents], cnt)
        owner = np.repeat(np.arange(len(parents)), cnt)
        return self.kid_order[pos], owner, rank, np.repeat(cnt, cnt)


def tangent_directions(u_parent: np.ndarray, z: np.ndarray) -> np.ndarray:
    """``(k, d)`` unit tangent vectors at ``u_parent (k, d)`` (orthogonal to it), one per
    row of ``z (k, d-1)``: ``z / |z|`` carried from ``e_d``'s tangent plane onto the one
    at ``u_parent`` by the reflection that swaps ``e_d`` and ``-s u_parent``."""
    t = z / np.linalg.norm(z, axis=1, keepdims=True)
    s = np.where(u_parent[:, -1] >= 0, 1.0, -1.0)
    v = u_parent.copy()
    v[:, -1] += s
    x = np.concatenate((t, np.zeros((len(t), 1))), axis=1)
    coef = 2.0 * (v * x).sum(1) / (v * v).sum(1)
    return x - coef[:, None] * v


def rotate_towards(u: np.ndarray, tangent: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """``(k, d)`` unit vectors at ``angle (k,)`` from ``u (k, d)`` towards the unit
    ``tangent (k, d)`` (the sphere's exponential map), renormalised."""
    out = np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * tangent
    return out / np.linalg.norm(out, axis=1, keepdims=True)


class Directions:
    """The unit directions of a construction's nodes, as float64 vectors or, with
    ``n_limbs``, in extended precision (:mod:`hyptax.manifolds.extended`).

    ``value`` always holds the float64 directions (rounded, in extended precision);
    ``limbs`` the ``(n, n_limbs, dim)`` fixed-point ones, or ``None``. Every node
    starts at ``e_1``.
    """

    def __init__(self, n: int, dim: int, n_limbs: int | None = None) -> None:
        self.value = np.zeros((n, dim))
        self.value[:, 0] = 1.0
        self.limbs: np.ndarray | None = None
        if n_limbs is not None:
            self.limbs = np.zeros((n, n_limbs, dim))
            self.limbs[:, 0, 0] = 1.0  # exact: a multiple of every quantum

    def set(self, rows: np.ndarray, u: np.ndarray) -> None:
        """Directions ``u (k, dim)`` (unit float64 vectors) for the nodes ``rows``."""
        self.value[rows] = u
        if self.limbs is not None:
            self.limbs[rows] = extended.split(u, self.limbs.shape[1])

    def turn(self, kids: np.ndarray, parents: np.ndarray, angle: np.ndarray, z: np.ndarray) -> None:
        """Each of ``kids`` at ``angle (k,)`` from its parent's direction (``parents
        (k,)``) towards the tangent that ``z (k, dim-1)`` gives
        (:func:`tangent_directions`); a zero angle copies the parent's direction.

        In extended precision the child's limbs are the parent's plus ``(cos a - 1) u
        + sin a e`` (exact addition), which keeps the bits nodes share identical."""
        moved = angle > 0
        u = self.value[parents]
        out = u.copy()
        if moved.any():
            e = tangent_directions(u[moved], z[moved])
            out[moved] = rotate_towards(u[moved], e, angle[moved])
        if self.limbs is None:
            self.value[kids] = out
            return
        block = self.limbs[parents]
        if moved.any():
            a = angle[moved][:, None]
            delta = np.zeros_like(u)
            delta[moved] = -2.0 * np.sin(a / 2.0) ** 2 * u[moved] + np.sin(a) * e
            extended.add(block, delta)
        self.limbs[kids] = block
        self.value[kids] = extended.collapse(block)
