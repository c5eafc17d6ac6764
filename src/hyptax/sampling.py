"""Negative sampling: for each positive pair, ``K`` nodes it is *not* related to.

A positive is a closure pair ``(u, v)``: ``u`` a descendant, ``v`` one of its
ancestors. Its negatives replace ``v`` (as in the reference implementation of
Nickel & Kiela 2017): nodes ``w`` with no ancestor/descendant relation to ``u``
either way, and ``w != u``. They are filtered against the *whole* closure (held-out
pairs too), so a true pair is never pushed apart.

Relatedness is answered in O(1) per pair, vectorised, without searching the
closure: a spanning tree of the hierarchy (:attr:`Taxonomy.tree_parent`) is
numbered in depth-first order, so ``w`` is a tree descendant of ``u`` exactly when
``tin[u] <= tin[w] < tout[u]``. On a DAG the few closure pairs the spanning tree
misses are kept as sorted int64 keys and searched only for nodes that have any.

Sampling draws all negatives of a chunk of positives at once (uniform over the
nodes), then redraws only the collisions, up to :data:`MAX_ROUNDS` times. A
negative still related after that -- possible only for a node related to almost
every other node, as near the root of a chain -- is *masked*: the loss ignores it.

Shared draws (``share = G > 1``): each uniform draw of ``K`` nodes serves ``G``
consecutive positives (collisions are still redrawn per positive). A batch then
touches about ``G`` times fewer rows, and on a large taxonomy the per-row work
(gather, optimiser update) is what an epoch costs; each positive still sees ``K``
negatives of its own distribution.

Hard negatives (``hard_fraction`` of the ``K``) are "cousins" of the positive: half
are drawn from the subtree of ``v`` (relatives of the pair that are not ancestors
of ``u``: its siblings, cousins and their descendants), half from the nodes at the
same depth as ``u`` (mostly under other parents). A draw that turns out related to
``u`` is replaced by a uniform one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data.taxonomy import Taxonomy

MAX_ROUNDS = 64
"""Redraws of colliding negatives before the rest are masked."""


class RelationIndex:
    """Vectorised "is ``w`` an ancestor or a descendant of ``u`` (or ``u`` itself)?".

    >>> rel = RelationIndex(tax)  # doctest: +SKIP
    >>> rel.related(np.array([[3]]), np.array([[0, 5, 7]]))  # doctest: +SKIP
    array([[ True, False,  True]])
    """

    def __init__(self, tax: Taxonomy) -> None:
        n = tax.n_nodes
        self.n = n
        self.depth = tax.depth.astype(np.int64)
        self.tree_parent = tax.tree_parent
        self.tin, self.size = _euler_numbering(self.tree_parent, self.depth)
        self.tout = self.tin + self.size
        self.node_at = np.empty(n, dtype=np.int64)
        self.node_at[self.tin] = np.arange(n)
        desc, anc = (a.astype(np.int64) for a in tax.closure)
        missed = ~self._tree_related(desc, anc)
        self.extra = np.sort(desc[missed] * n + anc[missed])  # DAG-only pairs, desc * n + anc
        self.has_extra = np.zeros(n, dtype=bool)
        self.has_extra[desc[missed]] = True

    def _tree_related(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        tu, tw = self.tin[u], self.tin[w]
        return ((tu <= tw) & (tw < self.tout[u])) | ((tw <= tu) & (tu < self.tout[w]))

    def related(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Boolean array (broadcast shape of ``u`` and ``w``): related, or equal."""
        rel = self._tree_related(u, w)
        if len(self.extra):
            u, w = np.broadcast_arrays(u, w)
            check = ~rel & (self.has_extra[u] | self.has_extra[w])
            if check.any():
                cu, cw = u[check], w[check]
                rel[check] = _isin_sorted(cu * self.n + cw, self.extra) | _isin_sorted(
                    cw * self.n + cu, self.extra
                )
        return rel

    def ancestor_or_self(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Boolean array (broadcast shape): ``w`` is ``u`` or one of its ancestors."""
        tu, tw = self.tin[u], self.tin[w]
        rel = (tw <= tu) & (tu < self.tout[w])
        if len(self.extra):
            u, w = np.broadcast_arrays(u, w)
            check = ~rel & self.has_extra[u]
            if check.any():
                rel[check] = _isin_sorted(u[check] * self.n + w[check], self.extra)
        return rel


@dataclass
class Negatives:
    """``nodes``: ``(P, K)`` int64 negatives; ``mask``: ``(P, K)`` bool, True where a
    slot holds no valid negative (the loss ignores it), or None when all are valid."""

    nodes: np.ndarray
    mask: np.ndarray | None


class NegativeSampler:
    """Draws ``n_negatives`` per positive, never a node related to the positive's ``u``.

    >>> sampler = NegativeSampler(RelationIndex(tax), n_negatives=50)  # doctest: +SKIP
    >>> neg = sampler.sample(u, v, np.random.default_rng(0))  # doctest: +SKIP
    >>> neg.nodes.shape  # doctest: +SKIP
    (len(u), 50)
    """

    def __init__(
        self,
        relations: RelationIndex,
        *,
        n_negatives: int,
        hard_fraction: float = 0.0,
        exclude: str = "related",
        share: int = 1,
    ) -> None:
        self.rel = relations
        self.excluded = relations.related if exclude == "related" else relations.ancestor_or_self
        self.k = n_negatives
        self.k_hard = round(hard_fraction * n_negatives)
        self.share = max(1, share)
        depth = relations.depth
        self.by_depth = np.argsort(depth, kind="stable")
        self.depth_start = np.searchsorted(depth[self.by_depth], np.arange(depth.max() + 2))

    def sample(self, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> Negatives:
        """Negatives for the positives ``(u[i], v[i])``: ``(P, K)`` nodes and a mask."""
        u = np.asarray(u, dtype=np.int64)
        groups = -(-len(u) // self.share)  # each draw serves `share` consecutive positives
        nodes = rng.integers(0, self.rel.n, size=(groups, self.k), dtype=np.int64)
        if self.share > 1:
            nodes = np.repeat(nodes, self.share, axis=0)[: len(u)]
        if self.k_hard:
            nodes[:, : self.k_hard] = self._hard(u, np.asarray(v, dtype=np.int64), rng)
        bad = self.excluded(u[:, None], nodes)
        flat_bad = np.flatnonzero(bad)
        uu = np.repeat(u, self.k)  # u of every slot, for the few redraws
        for _ in range(MAX_ROUNDS):
            if not len(flat_bad):
                break
            draw = rng.integers(0, self.rel.n, size=len(flat_bad), dtype=np.int64)
            nodes.flat[flat_bad] = draw
            flat_bad = flat_bad[self.excluded(uu[flat_bad], draw)]
        if not len(flat_bad):
            return Negatives(nodes, None)
        mask = np.zeros(nodes.shape, dtype=bool)
        mask.flat[flat_bad] = True
        nodes.flat[flat_bad] = uu[flat_bad]  # a valid index; ignored by the loss
        return Negatives(nodes, mask)

    def _hard(self, u: np.ndarray, v: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``(P, k_hard)`` cousins: from the subtree of ``v``, then from ``u``'s depth."""
        rel = self.rel
        p, k_sub = len(u), (self.k_hard + 1) // 2
        below = rel.size[v][:, None] - 1  # 0 when, in a DAG, u hangs under v off the tree
        pick = (rng.random((p, k_sub)) * below).astype(np.int64)
        # v itself where its subtree is empty: rejected below, and redrawn uniformly
        sub = rel.node_at[rel.tin[v][:, None] + np.where(below > 0, 1 + pick, 0)]
        d = rel.depth[u][:, None]
        start, count = self.depth_start[d], self.depth_start[d + 1] - self.depth_start[d]
        pick = (rng.random((p, self.k_hard - k_sub)) * count).astype(np.int64)
        same = self.by_depth[start + pick]
        return np.concatenate([sub, same], axis=1)


class RowGatherer:
    """The unique rows a batch touches, without sorting: ``O(n_touched)`` per batch.

    ``gather(index)`` returns ``rows`` (sorted unique node ids, ``(U,)``) and ``local``
    (``index`` mapped to positions in ``rows``, same shape as ``index``).
    """

    def __init__(self, n_nodes: int) -> None:
        self.mark = np.zeros(n_nodes, dtype=bool)
        self.pos = np.zeros(n_nodes, dtype=np.int64)

    def gather(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = index.ravel()
        self.mark[flat] = True
        rows = np.flatnonzero(self.mark)
        self.mark[rows] = False
        self.pos[rows] = np.arange(len(rows))
        return rows, self.pos[flat].reshape(index.shape)


def _isin_sorted(keys: np.ndarray, table: np.ndarray) -> np.ndarray:
    pos = np.searchsorted(table, keys)
    pos[pos == len(table)] = 0
    return table[pos] == keys


def _euler_numbering(parent: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Depth-first pre-order numbers ``tin`` and subtree sizes of a forest, level by level."""
    n = len(parent)
    order = np.lexsort((parent, depth))  # by depth, then parent: siblings contiguous
    level_start = np.searchsorted(depth[order], np.arange(depth.max(initial=0) + 2))
    size = np.ones(n, dtype=np.int64)
    for d in range(len(level_start) - 2, 0, -1):
        nodes = order[level_start[d] : level_start[d + 1]]
        size += np.bincount(parent[nodes], weights=size[nodes], minlength=n).astype(np.int64)
    tin = np.zeros(n, dtype=np.int64)
    for d in range(len(level_start) - 1):
        nodes = order[level_start[d] : level_start[d + 1]]
        s = size[nodes]
        before = np.cumsum(s) - s  # exclusive prefix sums over the level
        group = parent[nodes]
        first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        offset = before - np.repeat(before[first], np.diff(np.r_[first, len(nodes)]))
        tin[nodes] = offset if d == 0 else tin[group] + 1 + offset
    return tin, size
