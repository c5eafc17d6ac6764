"""Faithfulness to the tree: do hyperbolic distances follow the path lengths?

The *tree distance* ``t(u, w)`` of two nodes is the length of the shortest path
between them over the parent edges, direction ignored: for a tree the usual path
length, for a DAG the undirected shortest path. Nodes in different components of a
forest have no tree distance; such pairs are left out of every figure (each query
is compared only with the nodes it can reach).

:func:`faithfulness` measures, for a seeded sample of query nodes ``q``:

* ``adjacent_nearest``: share of queries whose nearest other node (hyperbolic
  distance; ties to the lower index) is at tree distance 1;
* ``parent_rank_median`` / ``parent_rank_mean``: over queries with a parent,
  ``1 + #{w != q : d(q, w) < d(q, parent)}`` (strictly closer; with several parents
  the closest one);
* ``knn_tree_distance``: mean over queries of the mean tree distance of the ``k``
  nearest nodes; ``knn_tree_distance_best``: the same for the ``k`` nodes nearest in
  the tree (the best any embedding can score);
* ``spearman_tree``: Spearman correlation of ``d`` with ``t`` over uniformly drawn
  (query, target) pairs, counting distances closer than the float64 radial
  resolution as ties, as :func:`.hierarchy.depth_correlation` does (a path laid
  exactly on a geodesic scores 1, not 0.99 from last-bit noise between equal
  distances); ``spearman_tree_raw`` is scipy's value on the unrounded distances;
* ``distortion`` = mean ``|d / (s t) - 1|`` with ``distortion_scale`` ``s`` the
  median of ``d / t``.

Distances are compared through the float64 key of :mod:`.geometry`
(``key_q(w) = |p_q - p_w|^2 g_w``, coordinate differences formed directly), so the
neighbour figures order nodes exactly as :func:`.hierarchy.nearest_neighbours` and
the reconstruction ranks do. One parallel numba pass walks the queries; each worker
holds ``O(n)`` buffers (tree distances, BFS queue, keys, a level histogram), never a
queries-by-nodes matrix.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from scipy import stats

from ..data import csr
from ..data.taxonomy import Taxonomy
from .geometry import BallView
from .hierarchy import _correlatable, _rng, _tied_spearman, insert_sorted
from .index import BallIndex, count_closer, knn
from .kernels import kernel_mode, kernel_scale, key_distance, limb_floors, tile_keys


# --------------------------------------------------------------------- graph
@dataclass(frozen=True, eq=False)
class TreeGraph:
    """The parent edges as CSR lists.

    Attributes:
        ptr, idx: ``(n + 1,)`` int64 and ``(2m,)`` int32; the neighbours of ``u``
            (parents and children, direction ignored) are ``idx[ptr[u]:ptr[u+1]]``.
        par_ptr, par_idx: ``(n + 1,)`` int64 and ``(m,)`` int32; the parents of ``u``
            are ``par_idx[par_ptr[u]:par_ptr[u+1]]``.
        depth: ``(n,)`` int64 depth of each node, or ``None`` for a DAG; on a tree (a
            forest) pair distances walk up to the lowest common ancestor instead of
            searching the graph.
    """

    ptr: np.ndarray
    idx: np.ndarray
    par_ptr: np.ndarray
    par_idx: np.ndarray
    depth: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.ptr) - 1

    @classmethod
    def from_taxonomy(cls, tax: Taxonomy) -> TreeGraph:
        """Build both CSR lists of ``tax`` (vectorised; ``O(m log m)``)."""
        child = np.asarray(tax.child, dtype=np.int64)
        parent = np.asarray(tax.parent, dtype=np.int64)
        ptr, idx = csr.group(
            np.concatenate([child, parent]), np.concatenate([parent, child]).astype(np.int32),
            tax.n_nodes,
        )
        par_ptr, par_idx = csr.group(child, parent.astype(np.int32), tax.n_nodes)
        depth = tax.depth.astype(np.int64) if tax.is_tree else None
        return cls(ptr, idx, par_ptr, par_idx, depth)

    def pair_distances(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """``(m,)`` int32 tree distances of the pairs ``(first[i], second[i])``
        (``-1`` when unreachable): on a tree by walking up to the lowest common
        ancestor (``O(depth)`` a pair), else with one BFS per distinct ``first`` node
        (in parallel), cheap when the pairs are grouped by a few sources."""
        first = np.asarray(first, dtype=np.int64)
        second = np.asarray(second, dtype=np.int64)
        out = np.empty(len(first), dtype=np.int32)
        if len(first) == 0:
            return out
        if self.depth is not None:
            _jit("lca")(self.par_ptr, self.par_idx, self.depth, first, second, out)
            return out
        order = np.argsort(first, kind="stable")
        sources, counts = np.unique(first[order], return_counts=True)
        tptr = np.zeros(len(sources) + 1, dtype=np.int64)
        np.cumsum(counts, out=tptr[1:])
        got = np.empty(len(first), dtype=np.int32)
        workers = min(numba.get_num_threads(), len(sources))
        _jit("pairs")(self.ptr, self.idx, sources, tptr, second[order], workers, got)
        out[order] = got
        return out

    def distances(self, sources: np.ndarray) -> np.ndarray:
        """``(len(sources), n)`` int32 tree distances from each source to every node
        (``-1`` when unreachable). For tests and small graphs: the result is dense."""
        sources = np.asarray(sources, dtype=np.int64)
        first = np.repeat(sources, self.n)
        second = np.tile(np.arange(self.n), len(sources))
        return self.pair_distances(first, second).reshape(len(sources), self.n)


# --------------------------------------------------------------------- metric
def faithfulness(
    view: BallView,
    tax: Taxonomy,
    *,
    n_queries: int,
    n_pairs: int,
    k: int = 10,
    seed: int,
    index: BallIndex | None = None,
) -> dict[str, Any]:
    """How faithfully hyperbolic distances follow the tree distances (module doc).

    ``n_queries`` query nodes are drawn without replacement (all nodes if fewer;
    ``numpy.random.default_rng`` seeded by ``(seed, "faithful")`` as in
    :mod:`.hierarchy`, so the figures are a function of the embedding, the taxonomy
    and the seed alone), and each query gets
    ``ceil(n_pairs / n_queries)`` targets uniform over the other nodes for the
    correlation (targets it cannot reach are dropped; ``n_pairs`` in the result is
    the number used). Undefined figures (no query with a parent, a constant side in
    the correlation) are ``None``, so the result is JSON-safe.

    With ``index`` (the view's :class:`~.index.BallIndex`) and a taxonomy that is one
    tree, each query costs its neighbourhood, not ``n`` (:func:`_indexed`); else one
    pass over every node per query (:func:`_scanned`). Both give the same figures.
    """
    clock = time.perf_counter()
    n = view.n
    m = min(n_queries, n)
    out: dict[str, Any] = {"n_queries": m, "k": k, "seed": seed, "sampled": m < n}
    rng = _rng(seed, "faithful")
    queries = np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)
    per = -(-n_pairs // m) if n >= 2 else 0
    targets = rng.integers(0, max(n - 1, 1), size=(m, per))
    targets += targets >= queries[:, None]  # skip the query itself
    graph = TreeGraph.from_taxonomy(tax)
    if index is not None and graph.depth is not None and len(tax.roots) == 1:
        found = _indexed(view, graph, index, queries, targets, k)
    else:
        found = _scanned(view, graph, queries, targets, k)
    nearest_t, parent_rank, knn_t, best, pair_d, pair_t = found
    has_other = nearest_t > 0
    ranks = parent_rank[parent_rank > 0]
    out.update({
        "adjacent_nearest": _mean(nearest_t[has_other] == 1),
        "parent_rank_median": float(np.median(ranks)) if len(ranks) else None,
        "parent_rank_mean": _mean(ranks),
        "n_with_parent": len(ranks),
        "knn_tree_distance": _mean(knn_t[has_other]),
        "knn_tree_distance_best": _mean(best[has_other]),
    })  # fmt: skip
    out.update(_pair_figures(pair_d.ravel(), pair_t.ravel()))
    out["seconds"] = time.perf_counter() - clock
    return out


Found = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Per query: ``nearest_t``, ``parent_rank``, ``knn``, ``best``, then per (query,
target): ``pair_d``, ``pair_t`` (see :func:`_faithful_kernel_py`)."""


def _scanned(
    view: BallView, graph: TreeGraph, queries: np.ndarray, targets: np.ndarray, k: int
) -> Found:
    """Every figure in one parallel pass over all nodes per query (any graph)."""
    m, per = targets.shape
    nearest_t = np.empty(m, dtype=np.int32)
    parent_rank = np.empty(m, dtype=np.int64)
    knn_t, best = np.empty(m), np.empty(m)
    pair_d = np.empty((m, per))
    pair_t = np.empty((m, per), dtype=np.int32)
    pt, pr = view.kernel_points()
    rs = kernel_scale(view)
    _jit("faithful")(
        pt, pr, view.kernel_scalars(False), kernel_mode(view, False), limb_floors(pr, rs), rs,
        graph.ptr, graph.idx, graph.par_ptr, graph.par_idx, queries, targets, k,
        min(numba.get_num_threads(), max(m, 1)), nearest_t, parent_rank, knn_t, best, pair_d,
        pair_t,
    )  # fmt: skip
    return nearest_t, parent_rank, knn_t, best, pair_d, pair_t


def _indexed(
    view: BallView,
    graph: TreeGraph,
    index: BallIndex,
    queries: np.ndarray,
    targets: np.ndarray,
    k: int,
) -> Found:
    """The figures of :func:`_scanned` on a single tree (every node reachable), each
    query in work that follows its neighbourhood: its ``k`` nearest from the index,
    the nodes strictly closer than its parent counted by the index, tree distances by
    walking to the lowest common ancestor, the ``k`` nearest in the tree by a BFS
    that stops once it has them."""
    m, per = targets.shape
    kk = min(k, graph.n - 1)
    x = view.p[queries]
    nbrs = knn(index, x, kk, skip=queries)
    t_nb = graph.pair_distances(np.repeat(queries, kk), nbrs.ravel()).reshape(m, kk)
    nearest_t = t_nb[:, 0] if kk else np.zeros(m, dtype=np.int32)
    knn_t = t_nb.mean(axis=1) if kk else np.full(m, np.nan)
    best = np.full(m, np.nan)
    if kk:
        workers = min(numba.get_num_threads(), m)
        _jit("best")(graph.ptr, graph.idx, queries, kk, workers, best)
    has = graph.par_ptr[queries + 1] > graph.par_ptr[queries]
    parent_rank = np.zeros(m, dtype=np.int64)
    kp = index.keys(x[has], graph.par_idx[graph.par_ptr[queries[has]]])
    # the query itself is counted (its key is 0) when 0 < kp; the tree has no other
    parent_rank[has] = 1 + count_closer(index, x[has], kp) - (kp > 0)
    second = targets.ravel()
    first = np.repeat(queries, per)
    pair_t = graph.pair_distances(first, second).reshape(m, per)
    pair_t[pair_t <= 0] = -1
    pair_d = view.dist(first, second).reshape(m, per)
    return nearest_t, parent_rank, knn_t, best, pair_d, pair_t


def _pair_figures(d: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    """Spearman and distortion from the ``(d, t)`` pairs (``t <= 0``: left out)."""
    ok = (t > 0) & np.isfinite(d)
    d, t = d[ok], t[ok].astype(np.float64)
    spearman = raw = None
    if _correlatable(t, d):
        spearman = _tied_spearman(t, d)
        raw = float(stats.spearmanr(d, t)[0])
    ratio = d / t
    scale = float(np.median(ratio)) if len(d) else None
    distortion = _mean(np.abs(ratio / scale - 1.0)) if scale else None
    return {
        "spearman_tree": spearman,
        "spearman_tree_raw": raw,
        "distortion": distortion,
        "distortion_scale": scale,
        "n_pairs": len(d),
    }


def _mean(x: np.ndarray) -> float | None:
    return float(np.mean(x)) if len(x) else None


# --------------------------------------------------------------------- kernels
_KERNELS: dict[str, Any] = {}


def _jit(name: str) -> Any:
    """Compile (once, cached on disk) and return a parallel numba kernel."""
    if name not in _KERNELS:
        py = {"faithful": _faithful_kernel_py, "pairs": _pairs_kernel_py,
              "lca": _lca_kernel_py, "best": _best_kernel_py}[name]  # fmt: skip
        _KERNELS[name] = numba.njit(parallel=True, cache=True)(py)
    return _KERNELS[name]


@numba.njit(cache=True)
def _bfs(ptr, idx, source, dist, queue):  # pragma: no cover - compiled
    """Hop counts from ``source`` into ``dist (n,)`` (``-1`` unreachable); the reached
    nodes are ``queue[:count]`` in BFS order (so by distance). Returns ``count``."""
    dist[:] = -1
    dist[source] = 0
    queue[0] = source
    head, tail = 0, 1
    while head < tail:
        u = queue[head]
        head += 1
        du = dist[u] + 1
        for e in range(ptr[u], ptr[u + 1]):
            v = idx[e]
            if dist[v] < 0:
                dist[v] = du
                queue[tail] = v
                tail += 1
    return tail


def _lca_kernel_py(par_ptr, par_idx, depth, first, second, out):
    """Tree distances of pairs on a forest: the deeper node climbs to the other's
    depth, then both climb until they meet (``-1`` when they never do)."""
    for i in numba.prange(first.shape[0]):
        a, b = first[i], second[i]
        hops = 0
        while depth[a] > depth[b]:
            a = par_idx[par_ptr[a]]
            hops += 1
        while depth[b] > depth[a]:
            b = par_idx[par_ptr[b]]
            hops += 1
        while a != b and par_ptr[a + 1] > par_ptr[a]:
            a = par_idx[par_ptr[a]]
            b = par_idx[par_ptr[b]]
            hops += 2
        out[i] = hops if a == b else -1


def _best_kernel_py(ptr, idx, queries, k, workers, out):
    """``out[r]``: the mean tree distance of the ``k`` nodes nearest to ``queries[r]``
    in the tree, by a BFS that stops once it has discovered ``k`` other nodes (they
    come in order of distance, so they are the nearest). Each worker resets only
    the nodes it reached."""
    n = ptr.shape[0] - 1
    for w in numba.prange(workers):
        dist = np.full(n, -1, dtype=np.int32)
        queue = np.empty(n, dtype=np.int32)
        for r in range(w, queries.shape[0], workers):
            q = queries[r]
            dist[q] = 0
            queue[0] = q
            head, tail, s = 0, 1, 0
            while head < tail and tail <= k:
                u = queue[head]
                head += 1
                for e in range(ptr[u], ptr[u + 1]):
                    v = idx[e]
                    if dist[v] < 0:
                        dist[v] = dist[u] + 1
                        s += dist[v]
                        queue[tail] = v
                        tail += 1
                        if tail > k:
                            break
            out[r] = s / k if tail > k else np.nan
            for j in range(tail):
                dist[queue[j]] = -1


def _pairs_kernel_py(ptr, idx, sources, tptr, targets, workers, out):
    """``out[tptr[s]:tptr[s+1]]`` = tree distances from ``sources[s]`` to those targets."""
    n = ptr.shape[0] - 1
    for w in numba.prange(workers):
        dist = np.empty(n, dtype=np.int32)
        queue = np.empty(n, dtype=np.int32)
        for s in range(w, sources.shape[0], workers):
            _bfs(ptr, idx, sources[s], dist, queue)
            for e in range(tptr[s], tptr[s + 1]):
                out[e] = dist[targets[e]]


def _faithful_kernel_py(  # noqa: C901  (one flat loop nest is what numba compiles best)
    pt, pr, sc, mode, floors, rs, ptr, idx, par_ptr, par_idx, queries, targets, k, workers,
    nearest_t, parent_rank, knn, best, pair_d, pair_t,
):  # fmt: skip
    """Per query ``r`` (node ``q``): ``nearest_t`` tree distance of the nearest
    reachable node (0: none), ``parent_rank`` (0: no parent), ``knn`` / ``best`` mean
    tree distance of the k nearest by distance / in the tree (NaN: none), and the
    ``(d, t)`` of each target (``t = -1``: unreachable). Keys and distances as in
    :mod:`.kernels` (``pt``, ``pr``, ``sc``, ``mode`` 0 or 2, ``floors``)."""
    n = pt.shape[1]
    n_q = queries.shape[0]
    for w in numba.prange(workers):
        dist = np.empty(n, dtype=np.int32)
        queue = np.empty(n, dtype=np.int32)
        key = np.empty(n)
        hist = np.zeros(n + 1, dtype=np.int64)
        top = np.empty(max(k, 1))
        top_i = np.empty(max(k, 1), dtype=np.int64)
        for r in range(w, n_q, workers):
            q = queries[r]
            reached = _bfs(ptr, idx, q, dist, queue)
            tile_keys(pt, pr, sc, mode, floors, rs, q, 0, n, key)
            # The closest parent, then how many reachable nodes are strictly closer.
            kp = np.inf
            for e in range(par_ptr[q], par_ptr[q + 1]):
                kp = min(kp, key[par_idx[e]])
            # Nearest, rank and top-k over the reachable others, in index order so
            # that equal keys go to the lower index.
            kk = min(k, reached - 1)
            filled = 0
            nearest, nearest_key, closer = -1, np.inf, 0
            for v in range(n):
                if dist[v] <= 0:
                    continue
                x = key[v]
                if x < nearest_key:
                    nearest, nearest_key = v, x
                if x < kp:
                    closer += 1
                if kk == 0 or (filled == kk and not x < top[kk - 1]):
                    continue
                j = filled if filled < kk else kk - 1
                if filled < kk:
                    filled += 1
                insert_sorted(top, top_i, j, x, v)
            nearest_t[r] = dist[nearest] if nearest >= 0 else 0
            parent_rank[r] = 1 + closer if par_ptr[q + 1] > par_ptr[q] else 0
            if kk > 0:
                s = 0
                for j in range(kk):
                    s += dist[top_i[j]]
                knn[r] = s / kk
                # The k smallest tree distances: a counting sort over the levels.
                deepest = dist[queue[reached - 1]]
                for j in range(1, reached):
                    hist[dist[queue[j]]] += 1
                s, left = 0, kk
                for level in range(1, deepest + 1):
                    take = min(left, hist[level])
                    s += take * level
                    left -= take
                    hist[level] = 0
                best[r] = s / kk
            else:
                knn[r] = np.nan
                best[r] = np.nan
            for j in range(targets.shape[1]):
                v = targets[r, j]
                pair_t[r, j] = dist[v] if dist[v] > 0 else -1
                pair_d[r, j] = key_distance(key[v], sc, q, mode)
