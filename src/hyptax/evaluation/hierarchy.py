"""Hierarchy metrics: depth against norm, clade separation, kNN purity, norms.

Clades. When the taxonomy has ranks (NCBI), the clade of a node at rank R is its
ancestor of rank R (a node of rank R is its own clade); nodes above R have none.
Otherwise (WordNet, edge lists) the clades are the top-level subtrees of
:meth:`Taxonomy.top_level`. Clades with fewer than ``min_clade_size`` members are
left out (their nodes count as unlabelled).

Every sample is drawn from ``numpy.random.default_rng`` seeded by ``(seed, rank)``
over index arrays in a fixed order, so each number is a function of the embedding,
the taxonomy and the seed alone.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from scipy import stats

from ..data.taxonomy import Taxonomy
from ..manifolds.numerics import max_dist0, radial_resolution
from .geometry import BallView
from .index import BallIndex, knn
from .kernels import kernel_mode, kernel_scale, limb_floors, tile_keys

try:
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

if TYPE_CHECKING:
    from .faithful import TreeGraph

TOP_LEVEL = "top_level"


# --------------------------------------------------------------------- clades
def clade_labels(tax: Taxonomy, rank: str) -> np.ndarray:
    """``(n,)`` int64: each node's clade (the index of its ancestor-or-self of
    ``rank``, or its top-level group for ``rank == "top_level"``), ``-1`` for none."""
    if rank == TOP_LEVEL:
        return tax.top_level().astype(np.int64)
    labels = np.full(tax.n_nodes, -1, dtype=np.int64)
    if tax.ranks is None:
        return labels
    is_rank = np.asarray(tax.ranks == rank, dtype=bool)
    desc, anc = tax.closure
    hit = is_rank[anc]
    labels[desc[hit]] = anc[hit]
    labels[is_rank] = np.flatnonzero(is_rank)
    return labels


def clade_levels(tax: Taxonomy, ranks: tuple[str, ...]) -> list[str]:
    """The clade levels to measure: the ``ranks`` the taxonomy has, else ``["top_level"]``."""
    if tax.ranks is not None:
        present = set(tax.ranks.tolist())
        found = [r for r in ranks if r in present]
        if found:
            return found
    return [TOP_LEVEL]


def keep_large(labels: np.ndarray, min_size: int) -> np.ndarray:
    """``labels`` with clades of fewer than ``min_size`` members set to ``-1``."""
    out = labels.copy()
    valid = out >= 0
    sizes = np.bincount(out[valid], minlength=len(out))
    out[valid & (sizes[np.maximum(out, 0)] < min_size)] = -1
    return out


def color_groups(tax: Taxonomy) -> tuple[np.ndarray, str]:
    """Groups to colour plots and label exports by: phylum when the data has ranks
    with phyla (NCBI), otherwise the top-level group. Returns ``(labels, title)``."""
    level = clade_levels(tax, ("phylum",))[0]
    return clade_labels(tax, level), ("phylum" if level == "phylum" else "top-level group")


def _rng(seed: int, rank: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(rank.encode())])


# --------------------------------------------------------------------- metrics
def depth_correlation(dist0: np.ndarray, depth: np.ndarray) -> dict[str, Any]:
    """Pearson and Spearman correlation of depth with the distance from the origin
    (over nodes with a finite distance; ``None`` when either side is constant).

    Spearman counts distances from the origin that differ by less than the float64
    radial resolution (:func:`~hyptax.manifolds.numerics.radial_resolution`) as ties:
    otherwise last-bit noise between nodes placed at one radius ranks them apart, and
    on a taxonomy whose deepest level holds most nodes (``ncbi:small``: 78% genera)
    that noise alone caps Spearman near 0.72. ``spearman_raw`` is scipy's value on the
    unrounded distances.
    """
    ok = np.isfinite(dist0)
    x, y = depth[ok].astype(np.float64), dist0[ok]
    if not _correlatable(x, y):
        return {"pearson": None, "spearman": None, "spearman_raw": None, "n": int(ok.sum())}
    return {
        "pearson": float(stats.pearsonr(x, y)[0]),
        "spearman": _tied_spearman(x, y),
        "spearman_raw": float(stats.spearmanr(x, y)[0]),
        "n": int(ok.sum()),
    }


def depth_spearman(dist0: np.ndarray, depth: np.ndarray) -> float | None:
    """Only the ``spearman`` of :func:`depth_correlation` (what training logs each
    evaluation, without the Pearson and raw values it does not use)."""
    ok = np.isfinite(dist0)
    x, y = depth[ok].astype(np.float64), dist0[ok]
    return _tied_spearman(x, y) if _correlatable(x, y) else None


def _correlatable(x: np.ndarray, y: np.ndarray) -> bool:
    return len(x) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0


def _tied_spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman with radii within the float64 resolution tied; None when the ties
    leave every radius equal (scipy would warn that the input is constant)."""
    tied = tie_groups(y, radial_resolution(torch.float64))
    return float(stats.spearmanr(x, tied)[0]) if np.ptp(tied) > 0 else None


def tie_groups(values: np.ndarray, tol: float) -> np.ndarray:
    """``(n,)`` int64 group index of each value after sorting, where consecutive sorted
    values closer than ``tol`` share a group (so ranks of the groups treat them as ties)."""
    order = np.argsort(values, kind="stable")
    gaps = np.diff(values[order]) >= tol
    groups = np.empty(len(values), dtype=np.int64)
    groups[order] = np.concatenate([[0], np.cumsum(gaps)])
    return groups


N_SOURCES = 1000
"""First nodes per kind of pair in :func:`clade_separation`: each gets
``ceil(n_pairs / sources)`` second nodes, so the tree distances of all the pairs
take one BFS per source."""


def clade_separation(
    view: BallView,
    labels: np.ndarray,
    *,
    n_pairs: int,
    seed: int,
    rank: str = "",
    tree: TreeGraph | None = None,
) -> dict[str, Any]:
    """Mean distance between nodes of different clades over the mean distance within
    a clade, from at least ``n_pairs`` pairs of each kind.

    The pairs are grouped by their first node: ``min(N_SOURCES, pool)`` first nodes
    are drawn without replacement, uniform over the labelled nodes (within: over the
    members of clades with >= 2 members; the same draw when that is every labelled
    node), and each gets ``ceil(n_pairs / sources)`` second nodes, uniform over the
    other members of its clade (within) or over the labelled nodes of every other
    clade (between). ``labels`` should already hold only the clades to use
    (:func:`keep_large`). ``ratio`` > 1 means clades are tighter than the whole.

    With ``tree`` (the taxonomy's :class:`~.faithful.TreeGraph`), the same pairs also
    give the tree's own separation from their tree distances (unreachable pairs left
    out): ``tree_ratio``, ``tree_mean_within``, ``tree_mean_between`` (``None``
    without ``tree``). An embedding whose distances follow the tree has ``ratio``
    near ``tree_ratio``.
    """
    members = np.flatnonzero(labels >= 0)
    members = members[np.argsort(labels[members], kind="stable")]
    lab = labels[members]
    clades, starts, sizes = np.unique(lab, return_index=True, return_counts=True)
    out: dict[str, Any] = {"n_clades": len(clades), "n_members": len(members), "n_pairs": n_pairs}
    tree_none = {"tree_ratio": None, "tree_mean_within": None, "tree_mean_between": None}
    if len(clades) < 2 or sizes.max() < 2:
        return {**out, "ratio": None, "mean_between": None, "mean_within": None, **tree_none}
    rng = _rng(seed, rank)
    src = _sources(rng, np.arange(len(members)))
    # Within: first nodes from clades with >= 2 members (the same first nodes as
    # between when no clade is a singleton, so one BFS serves both), second from the clade.
    pool = np.flatnonzero(sizes[np.searchsorted(clades, lab)] >= 2)
    i = _repeat(src if len(pool) == len(members) else _sources(rng, pool), n_pairs)
    c = np.searchsorted(clades, lab[i])
    j = starts[c] + rng.integers(0, sizes[c] - 1)
    j = j + (j >= i)  # skip the node itself
    w_pairs = (members[i], members[j])
    # Between: first nodes from every labelled node, second from the other clades.
    i = _repeat(src, n_pairs)
    c = np.searchsorted(clades, lab[i])
    j = rng.integers(0, len(members) - sizes[c])
    j = j + np.where(j >= starts[c], sizes[c], 0)  # skip the node's own clade
    b_pairs = (members[i], members[j])
    within, between = view.dist(*w_pairs), view.dist(*b_pairs)
    mean_w, mean_b = float(within.mean()), float(between.mean())
    out.update({
        "ratio": mean_b / mean_w if mean_w > 0 else None,
        "mean_between": mean_b,
        "mean_within": mean_w,
    })  # fmt: skip
    if tree is None:
        return {**out, **tree_none}
    # One BFS per distinct first node serves both kinds of pair.
    t = tree.pair_distances(
        np.concatenate([w_pairs[0], b_pairs[0]]), np.concatenate([w_pairs[1], b_pairs[1]])
    )
    t_w, t_b = t[: len(within)], t[len(within) :]
    tree_w = float(t_w[t_w > 0].mean()) if (t_w > 0).any() else None
    tree_b = float(t_b[t_b > 0].mean()) if (t_b > 0).any() else None
    return {
        **out,
        "tree_ratio": tree_b / tree_w if tree_w and tree_b else None,
        "tree_mean_within": tree_w,
        "tree_mean_between": tree_b,
    }


def _sources(rng: np.random.Generator, pool: np.ndarray) -> np.ndarray:
    """First nodes of the pairs: ``min(N_SOURCES, len(pool))`` of ``pool``, drawn
    without replacement."""
    return rng.choice(pool, size=min(N_SOURCES, len(pool)), replace=False)


def _repeat(src: np.ndarray, n_pairs: int) -> np.ndarray:
    """Each first node ``ceil(n_pairs / len(src))`` times (at least ``n_pairs`` pairs)."""
    return np.repeat(src, -(-n_pairs // len(src)))


def knn_purity(
    view: BallView,
    labels_by_rank: dict[str, np.ndarray],
    *,
    k: int,
    n_queries: int,
    seed: int,
    index: BallIndex | None = None,
) -> dict[str, dict[str, Any]]:
    """Share of a node's ``k`` nearest neighbours that are in its own clade.

    At each rank the neighbours are looked up (by hyperbolic distance; ties to the
    lower node index) among the nodes that have a clade there (``labels >= 0``), for
    a seeded sample of ``n_queries`` of them. Nodes above the rank are left out of
    the pool: in a good embedding the shallow nodes sit near the origin, close to
    everything, and would otherwise crowd every neighbourhood. ``chance`` is the
    expected share for neighbours drawn at random from the pool: the mean over the
    queries of ``(clade size - 1) / (pool size - 1)``.

    With ``index`` (the view's :class:`~.index.BallIndex`) the neighbours come from
    its exact search, the same ones as the brute force's in a fraction of the time.
    """
    out = {}
    for rank, labels in labels_by_rank.items():
        pool = np.flatnonzero(labels >= 0)
        if len(pool) < 2:
            out[rank] = {"purity": None, "chance": None, "k": k, "n_queries": 0, "pool": len(pool)}
            continue
        kk = min(k, len(pool) - 1)
        rng = _rng(seed, "knn:" + rank)
        pick = rng.choice(len(pool), size=min(n_queries, len(pool)), replace=False)
        queries = pool[np.sort(pick)]
        if index is None:
            at = np.searchsorted(pool, queries)
            nbrs = pool[nearest_neighbours(view.subset(pool), at, kk)]
        else:
            nbrs = knn(index, view.p[queries], kk, skip=queries, among=labels >= 0)
        sizes = np.bincount(labels[pool])
        out[rank] = {
            "purity": float((labels[nbrs] == labels[queries, None]).mean()),
            "chance": float(np.mean((sizes[labels[queries]] - 1) / (len(pool) - 1))),
            "k": kk,
            "n_queries": len(queries),
            "pool": len(pool),
        }
    return out


_MAX_RADII = np.round([max_dist0(torch.float32), max_dist0(torch.float64)], 3)


def norm_stats(view: BallView, band: float) -> dict[str, Any]:
    """Poincaré norms: max, mean, the share outside the ball (must be 0: non-finite
    points count as outside), the share within ``band`` of the boundary, and the share
    clamped at the largest radius the training precision allows (``at_max_radius_frac``:
    points piled there no longer separate, the real sign of precision loss)."""
    norm = view.norm
    outside = ~(norm < 1.0)
    if view.polar is not None:  # inside at any finite radius; norms of 1 are rounding
        norm = np.tanh(view.dist0 / 2.0)
        outside = ~np.isfinite(view.dist0)
    finite = np.isfinite(norm)
    return {
        "max_norm": float(norm[finite].max()) if finite.any() else None,
        "mean_norm": float(norm[finite].mean()) if finite.any() else None,
        "outside_frac": float(outside.mean()),
        "n_outside": int(outside.sum()),
        "near_boundary_frac": float((norm > 1.0 - band).mean()),
        "boundary_band": band,
        "at_max_radius_frac": float(np.isin(np.round(view.dist0, 3), _MAX_RADII).mean()),
        "max_dist0": float(np.nanmax(np.where(finite, view.dist0, np.nan)))
        if finite.any()
        else None,
    }


# --------------------------------------------------------------------- kNN
def nearest_neighbours(view: BallView, queries: np.ndarray, k: int) -> np.ndarray:
    """``(len(queries), k)`` node indices of each query's nearest other nodes,
    closest first; equal distances go to the lower index."""
    queries = np.asarray(queries, dtype=np.int64)
    out = np.empty((len(queries), k), dtype=np.int64)
    if numba is not None:
        pt, pr = view.kernel_points()
        rs = kernel_scale(view)
        _knn_kernel()(pt, pr, view.kernel_scalars(False), kernel_mode(view, False),
                      limb_floors(pr, rs), rs, queries, out)  # fmt: skip
        return out
    block = max(1, 2**25 // max(view.n, 1))
    for s in range(0, len(queries), block):
        q = torch.from_numpy(queries[s : s + block])
        key = view.anchor_keys(q.numpy())
        key[torch.arange(len(q)), q] = torch.inf
        # a stable sort keeps the lower index first among equal keys
        out[s : s + block] = key.sort(dim=1, stable=True).indices[:, :k].numpy()
    return out


_KNN: list[Any] = []


def _knn_kernel() -> Any:
    if not _KNN:
        _KNN.append(numba.njit(parallel=True, cache=True)(_knn_kernel_py))
    return _KNN[0]


def _insert_sorted_py(top, top_i, j, x, v):
    """Insert key ``x`` of node ``v`` into the ascending ``top[:j + 1]``, dropping what
    was at slot ``j`` (equal keys keep the earlier node first)."""
    while j > 0 and top[j - 1] > x:
        top[j] = top[j - 1]
        top_i[j] = top_i[j - 1]
        j -= 1
    top[j] = x
    top_i[j] = v


def _inline(fn: Any) -> Any:
    return fn if numba is None else numba.njit(inline="always", cache=True)(fn)


insert_sorted = _inline(_insert_sorted_py)


def _knn_kernel_py(pt, pr, sc, mode, floors, rs, queries, out):
    """Numba kernel: keys as in :mod:`.kernels` (``mode`` 0 or 2), an insertion-sorted
    top-k per query."""
    n = pt.shape[1]
    k = out.shape[1]
    for r in numba.prange(queries.shape[0]):
        u = queries[r]
        key = np.empty(n)
        tile_keys(pt, pr, sc, mode, floors, rs, u, 0, n, key)
        best = np.full(k, np.inf)
        idx = np.full(k, -1)
        for v in range(n):
            x = key[v]
            if v == u or not x < best[k - 1]:
                continue
            insert_sorted(best, idx, k - 1, x, v)
        out[r] = idx
