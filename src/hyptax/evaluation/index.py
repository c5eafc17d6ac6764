"""A kd-tree over the Poincaré coordinates: exact nearest neighbours and counts of
the nodes closer than a distance, in work that follows the answer, not ``n``.

Every figure that asks "which nodes are nearest to ``u``" or "how many nodes are
closer to ``u`` than ``v``" compares the float64 key of :mod:`.geometry`,
``key_u(v) = |p_u - p_v|^2 g_v`` (monotone in ``d(u, v)``). A brute-force pass forms
the key of every node, ``O(n dim)`` a query: on the whole NCBI (2.6M nodes) about
10 ms, so the 10,000 purity queries of a report took minutes. The tree cuts the
nodes into boxes (median splits on the widest coordinate, :data:`LEAF` nodes a
leaf) and keeps, per box, the bounds of its coordinates and of ``g``; then for any
``v`` in a box

    box_low(u) = |p_u - box|^2 min g  <=  key_u(v)  <=  |p_u - far corner|^2 max g,

each bound formed by the same float64 operations in the same order as the key, so
rounding (monotone) never lets a bound cross a key. A box whose lower bound is past
what a query wants is skipped whole; in a counting query, a box whose upper bound
is below the threshold counts whole. The answers equal the brute force's exactly,
ties included (equal keys go to the lower node index), which the tests check.

Why it is fast on a taxonomy embedding: a clade sits in a small region of the ball,
so a query's neighbours lie in a few boxes, and the boxes between are skipped. On
an embedding with no such structure (random points) it degrades to a scan of every
box, about the brute force's cost, never worse in its answers.

The raw coordinates ``p`` and ``gap_inv`` are read in one place, :func:`ball_index`
(the build); the query kernels read only the index's own copies, so an embedding
stored another way (extended precision) needs only a build of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from .geometry import BallView
from .kernels import key_of
from .queries import Queries

LEAF = 32
"""Nodes per leaf box at most (the boxes of one leaf are scanned by brute force)."""


@dataclass(frozen=True, eq=False)
class BallIndex:
    """A kd-tree over a :class:`~.geometry.BallView` (build with :func:`ball_index`).

    Attributes:
        order: ``(n,)`` int64 node indices in leaf order (box ``b`` holds
            ``order[start[b]:stop[b]]``); ``at``: its inverse (node -> leaf position).
        pt: ``(dim, n)`` float64 coordinates in leaf order.
        g: ``(n,)`` ``gap_inv`` in leaf order.
        start, stop, left, right: ``(boxes,)`` int64; ``left == -1`` for a leaf;
            box 0 is the root and every child comes after its parent.
        lo, hi: ``(boxes, dim)`` the bounds of the box's coordinates.
        gmin, gmax: ``(boxes,)`` the bounds of its ``g``.
        e0: ``(n,)`` ``exp(dist0)`` in leaf order (the ancestor score's factor), and
        e0min, e0max: ``(boxes,)`` its bounds.
    """

    order: np.ndarray
    at: np.ndarray
    pt: np.ndarray
    g: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    left: np.ndarray
    right: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    gmin: np.ndarray
    gmax: np.ndarray
    e0: np.ndarray
    e0min: np.ndarray
    e0max: np.ndarray

    @property
    def n(self) -> int:
        return len(self.order)

    def keys(self, x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """``(m,)`` the key of node ``nodes[r]`` for the query point ``x[r]``, formed
        as every search forms it (so a threshold taken from it is exact)."""
        out = np.empty(len(nodes))
        _jit("keys")(self.pt, self.g, self.at[np.asarray(nodes, dtype=np.int64)],
                     np.ascontiguousarray(x, dtype=np.float64), out)  # fmt: skip
        return out


def indexable(view: BallView) -> bool:
    """Whether the bounds hold: every point finite and strictly inside the ball (an
    escaped point has ``g < 0``, and a key that can fall as a point moves out breaks
    the bounds; such embeddings go to the brute force). Polar points (extended
    precision) are not indexed: the index works on plain coordinates."""
    if view.polar is not None:
        return False
    return bool(np.isfinite(view.p).all() and (view.gap_inv > 0).all()
                and np.isfinite(view.gap_inv).all())  # fmt: skip


def ball_index(view: BallView, leaf: int = LEAF) -> BallIndex:
    """Build the kd-tree of ``view`` (``O(n log n)``, one thread; 5 to 10 s for the whole
    NCBI on a busy machine). Only for a view :func:`indexable` accepts."""
    if not indexable(view):
        raise ValueError("the index needs plain points, finite and inside the ball")
    n, dim = view.p.shape
    order = np.arange(n, dtype=np.int64)
    cap = 2 * (n // max(1, (leaf + 1) // 2)) + 3
    start, stop, left, right = (np.empty(cap, dtype=np.int64) for _ in range(4))
    lo, hi = np.empty((cap, dim)), np.empty((cap, dim))
    boxes = _jit("build")(view.p, order, leaf, start, stop, left, right, lo, hi)
    g = np.ascontiguousarray(view.gap_inv[order])
    e0 = np.exp(view.dist0)[order]
    bounds = [np.empty(boxes) for _ in range(4)]
    for values, low, high in ((g, *bounds[:2]), (e0, *bounds[2:])):
        _jit("bounds")(values, start[:boxes], stop[:boxes], left[:boxes], right[:boxes], low, high)
    at = np.empty(n, dtype=np.int64)
    at[order] = np.arange(n)
    return BallIndex(
        order=order,
        at=at,
        pt=np.ascontiguousarray(view.p[order].T),
        g=g,
        start=start[:boxes],
        stop=stop[:boxes],
        left=left[:boxes],
        right=right[:boxes],
        lo=np.ascontiguousarray(lo[:boxes]),
        hi=np.ascontiguousarray(hi[:boxes]),
        gmin=bounds[0],
        gmax=bounds[1],
        e0=e0,
        e0min=bounds[2],
        e0max=bounds[3],
    )


def knn(
    index: BallIndex, x: np.ndarray, k: int, *, skip: np.ndarray, among: np.ndarray | None = None
) -> np.ndarray:
    """``(m, k)`` node indices of the ``k`` nodes nearest to each query point, closest
    first, equal keys to the lower node index; ``-1`` where fewer nodes qualify.

    ``x``: ``(m, dim)`` query coordinates (those of nodes, as in ``view.p``);
    ``skip``: ``(m,)`` the node each query leaves out (itself; ``-1``: none);
    ``among``: ``(n,)`` bool in node order, the nodes that may be neighbours (default all).
    """
    out = np.full((len(x), k), -1, dtype=np.int64)
    ok = np.ones(index.n, dtype=np.bool_) if among is None else np.asarray(among, bool)[index.order]
    box_ok = _jit("masks")(index.start, index.stop, index.left, index.right, ok)
    _jit("knn")(
        index.pt, index.g, index.order, index.start, index.stop, index.left, index.right,
        index.lo, index.hi, index.gmin, ok, box_ok, np.ascontiguousarray(x, dtype=np.float64),
        np.asarray(skip, dtype=np.int64), out,
    )  # fmt: skip
    return out


def count_closer(
    index: BallIndex, x: np.ndarray, threshold: np.ndarray, *, strict: bool = True
) -> np.ndarray:
    """``(m,)`` int64: per query point ``x[r]``, the nodes whose key is below
    ``threshold[r]`` (``<`` when ``strict``, else ``<=``). The query's own node is
    counted like any other (its key is 0)."""
    out = np.zeros(len(x), dtype=np.int64)
    _jit("count")(
        index.pt, index.g, index.start, index.stop, index.left, index.right,
        index.lo, index.hi, index.gmin, index.gmax,
        np.ascontiguousarray(x, dtype=np.float64), np.asarray(threshold, dtype=np.float64),
        strict, out,
    )  # fmt: skip
    return out


def rank_counts(
    index: BallIndex, q: Queries, *, ancestor: bool, work: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per positive pair of ``q`` (CSR order): the negatives strictly closer to its
    anchor, closer or equal, and the positives at most as far, by distance or by the
    ancestor score: the counts of :func:`.kernels.count_numba_chunk`, equal to them,
    from one walk of the tree per anchor that carries all its positives' keys.

    ``work``: ``(m,)`` filled, when given, with the keys and box bounds each anchor's
    walk formed (a brute-force pass forms ``n`` keys)."""
    n_pairs = len(q.pos_idx)
    less, leq, pos_le = (np.zeros(n_pairs, dtype=np.int64) for _ in range(3))
    work = np.zeros(len(q.rows), dtype=np.int64) if work is None else work
    _jit("rank")(
        index.pt, index.g, index.e0, index.at, index.start, index.stop, index.left,
        index.right, index.lo, index.hi, index.gmin, index.gmax, index.e0min, index.e0max,
        ancestor, q.rows, q.pos_ptr, q.pos_idx, q.excl_ptr, q.excl_idx, less, leq, pos_le,
        work,
    )  # fmt: skip
    return less, leq, pos_le


def walk_share(index: BallIndex, q: Queries, *, ancestor: bool, probe: int, seed: int) -> float:
    """The keys and bounds a walk of the index forms per anchor over ``n`` (what a
    pass over every node forms), averaged over a seeded probe of ``probe`` anchors:
    below about 1 the walk is the cheaper way to rank these queries."""
    m = len(q.rows)
    if not m:
        return 0.0
    pick = np.random.default_rng([seed, 2]).choice(m, size=min(probe, m), replace=False)
    work = np.zeros(len(pick), dtype=np.int64)
    rank_counts(index, q.subset(np.sort(pick)), ancestor=ancestor, work=work)
    return float(work.mean()) / max(index.n, 1)


# --------------------------------------------------------------------- kernels
_KERNELS: dict[str, Any] = {}


def _jit(name: str) -> Any:
    """Compile (once, cached on disk) and return a numba kernel."""
    if name not in _KERNELS:
        py, parallel = {
            "build": (_build_py, False),
            "bounds": (_bounds_py, False),
            "masks": (_masks_py, False),
            "knn": (_knn_py, True),
            "count": (_count_py, True),
            "keys": (_keys_py, True),
            "rank": (_rank_py, True),
        }[name]
        _KERNELS[name] = numba.njit(parallel=parallel, cache=True)(py)
    return _KERNELS[name]


@numba.njit(cache=True)
def _select(p, order, s, e, mid, d):  # pragma: no cover - compiled
    """Reorder ``order[s:e]`` so that ``order[mid]`` holds the node whose coordinate
    ``d`` would be there sorted, smaller-or-equal before, larger-or-equal after."""
    while e - s > 1:
        a, b, c = p[order[s], d], p[order[(s + e - 1) // 2], d], p[order[e - 1], d]
        pivot = max(min(a, b), min(max(a, b), c))  # median of three
        i, j = s, e - 1
        while i <= j:
            while p[order[i], d] < pivot:
                i += 1
            while p[order[j], d] > pivot:
                j -= 1
            if i <= j:
                order[i], order[j] = order[j], order[i]
                i += 1
                j -= 1
        if mid <= j:
            e = j + 1
        elif mid >= i:
            s = i
        else:
            return


def _build_py(p, order, leaf, start, stop, left, right, lo, hi):
    """Median splits on the widest coordinate until a box holds at most ``leaf``
    nodes (or all its points are equal); returns the number of boxes."""
    dim = p.shape[1]
    start[0], stop[0] = 0, p.shape[0]
    boxes = 1
    stack = [0]
    while len(stack):
        b = stack.pop()
        s, e = start[b], stop[b]
        for d in range(dim):
            lo[b, d] = np.inf
            hi[b, d] = -np.inf
        for i in range(s, e):
            v = order[i]
            for d in range(dim):
                lo[b, d] = min(lo[b, d], p[v, d])
                hi[b, d] = max(hi[b, d], p[v, d])
        widest, width = 0, -1.0
        for d in range(dim):
            if hi[b, d] - lo[b, d] > width:
                widest, width = d, hi[b, d] - lo[b, d]
        left[b] = right[b] = -1
        if e - s <= leaf or not width > 0:
            continue
        mid = (s + e) // 2
        _select(p, order, s, e, mid, widest)
        left[b], right[b] = boxes, boxes + 1
        start[boxes], stop[boxes] = s, mid
        start[boxes + 1], stop[boxes + 1] = mid, e
        stack.append(boxes + 1)
        stack.append(boxes)
        boxes += 2
    return boxes


def _bounds_py(values, start, stop, left, right, low, high):
    """Bounds of ``values`` (leaf order) per box, children before parents (they come
    after them)."""
    for b in range(start.shape[0] - 1, -1, -1):
        if left[b] < 0:
            low[b], high[b] = np.inf, -np.inf
            for i in range(start[b], stop[b]):
                low[b] = min(low[b], values[i])
                high[b] = max(high[b], values[i])
        else:
            low[b] = min(low[left[b]], low[right[b]])
            high[b] = max(high[left[b]], high[right[b]])


def _masks_py(start, stop, left, right, ok):
    """Per box, whether any of its nodes is ``ok`` (nodes in leaf order)."""
    out = np.zeros(start.shape[0], dtype=np.bool_)
    for b in range(start.shape[0] - 1, -1, -1):
        if left[b] < 0:
            for i in range(start[b], stop[b]):
                out[b] |= ok[i]
        else:
            out[b] = out[left[b]] | out[right[b]]
    return out


@numba.njit(inline="always", cache=True)
def _low(x, lo, hi, b):  # pragma: no cover - compiled
    """``|x - box b|^2``, per coordinate as the key forms it (``x_d - p_d``)."""
    acc = 0.0
    for d in range(x.shape[0]):
        if x[d] < lo[b, d]:
            t = x[d] - lo[b, d]
            acc += t * t
        elif x[d] > hi[b, d]:
            t = x[d] - hi[b, d]
            acc += t * t
        else:
            acc += 0.0
    return acc


@numba.njit(inline="always", cache=True)
def _high(x, lo, hi, b):  # pragma: no cover - compiled
    """``|x - farthest corner of box b|^2``."""
    acc = 0.0
    for d in range(x.shape[0]):
        t = x[d] - lo[b, d]
        u = x[d] - hi[b, d]
        acc += max(t * t, u * u)
    return acc


@numba.njit(inline="always", cache=True)
def _sq(pt, i, x):  # pragma: no cover - compiled
    """``|x - p|^2`` of the node at leaf position ``i``, coordinate by coordinate."""
    acc = 0.0
    for d in range(x.shape[0]):
        t = x[d] - pt[d, i]
        acc += t * t
    return acc


@numba.njit(inline="always", cache=True)
def _key(pt, g, i, x):  # pragma: no cover - compiled
    """The key of the node at leaf position ``i`` for the query point ``x``."""
    return _sq(pt, i, x) * g[i]


def _knn_py(pt, g, order, start, stop, left, right, lo, hi, gmin, ok, box_ok, x, skip, out):
    """Depth-first, the nearer child first; a box is skipped when its lower bound is
    past the k-th best (strictly: an equal key of a lower index may still enter)."""
    k = out.shape[1]
    for r in numba.prange(x.shape[0]):
        xr = x[r]
        top = np.full(k, np.inf)
        top_i = np.full(k, np.iinfo(np.int64).max)
        stack = np.empty(128, dtype=np.int64)
        stack[0] = 0
        depth = 1
        while depth:
            depth -= 1
            b = stack[depth]
            if not box_ok[b] or _low(xr, lo, hi, b) * gmin[b] > top[k - 1]:
                continue
            if left[b] >= 0:
                near, far = left[b], right[b]
                if _low(xr, lo, hi, far) < _low(xr, lo, hi, near):
                    near, far = far, near
                stack[depth] = far
                stack[depth + 1] = near
                depth += 2
                continue
            for i in range(start[b], stop[b]):
                v = order[i]
                if v == skip[r] or not ok[i]:
                    continue
                key = _key(pt, g, i, xr)
                if key < top[k - 1] or (key == top[k - 1] and v < top_i[k - 1]):
                    j = k - 1
                    while j > 0 and (top[j - 1] > key or (top[j - 1] == key and top_i[j - 1] > v)):
                        top[j] = top[j - 1]
                        top_i[j] = top_i[j - 1]
                        j -= 1
                    top[j] = key
                    top_i[j] = v
        for j in range(k):
            out[r, j] = top_i[j] if top[j] < np.inf else -1


def _count_py(pt, g, start, stop, left, right, lo, hi, gmin, gmax, x, threshold, strict, out):
    """Nodes below each threshold: boxes wholly below count whole, boxes wholly at or
    above are skipped, the others split."""
    for r in numba.prange(x.shape[0]):
        xr = x[r]
        t = threshold[r]
        stack = np.empty(128, dtype=np.int64)
        stack[0] = 0
        depth = 1
        c = 0
        while depth:
            depth -= 1
            b = stack[depth]
            low = _low(xr, lo, hi, b) * gmin[b]
            if (low >= t) if strict else (low > t):
                continue
            high = _high(xr, lo, hi, b) * gmax[b]
            if (high < t) if strict else (high <= t):
                c += stop[b] - start[b]
                continue
            if left[b] >= 0:
                stack[depth] = left[b]
                stack[depth + 1] = right[b]
                depth += 2
                continue
            for i in range(start[b], stop[b]):
                key = _key(pt, g, i, xr)
                c += (key < t) if strict else (key <= t)
        out[r] = c


def _keys_py(pt, g, at, x, out):
    for r in numba.prange(at.shape[0]):
        out[r] = _key(pt, g, at[r], x[r])


@numba.njit(inline="always", cache=True)
def _score(sq, gv, gu, e0v, ancestor):  # pragma: no cover - compiled
    """The ranking key from ``sq = |p_u - p_v|^2``, as :mod:`.kernels` forms it."""
    return key_of(sq, gv, gu, e0v) if ancestor else sq * gv


@numba.njit(inline="always", cache=True)
def _leaf_key(pt, g, e0, i, x, gu, ancestor):  # pragma: no cover - compiled
    return _score(_sq(pt, i, x), g[i], gu, e0[i], ancestor)


def _rank_py(
    pt, g, e0, at, start, stop, left, right, lo, hi, gmin, gmax, e0min, e0max, ancestor,
    rows, pos_ptr, pos_idx, excl_ptr, excl_idx, less, leq, pos_le, work,
):  # fmt: skip
    """Per anchor: its positives' keys sorted; a walk of the boxes carrying the range
    ``[j1, j2)`` of those keys a box leaves undecided (a key above the box's upper
    bound counts the whole box, one below its lower bound none of it); at a leaf,
    each node adds 1 to the keys above it (``less``) or at least it (``leq``), by
    binary search, into difference arrays. Then the anchor and its excluded nodes
    are taken off, their keys formed the same way."""
    for r in numba.prange(rows.shape[0]):
        s0, s1 = pos_ptr[r], pos_ptr[r + 1]
        k = s1 - s0
        if k == 0:
            continue
        iu = at[rows[r]]
        x = pt[:, iu].copy()
        gu = g[iu]
        keys = np.empty(k)
        for j in range(k):
            keys[j] = _leaf_key(pt, g, e0, at[pos_idx[s0 + j]], x, gu, ancestor)
        order = np.argsort(keys, kind="mergesort")
        ts = keys[order]
        d_lt = np.zeros(k + 1, dtype=np.int64)
        d_le = np.zeros(k + 1, dtype=np.int64)
        stack = np.empty((128, 3), dtype=np.int64)
        stack[0, 0], stack[0, 1], stack[0, 2] = 0, 0, k
        depth = 1
        formed = 0
        while depth:
            depth -= 1
            b, j1, j2 = stack[depth, 0], stack[depth, 1], stack[depth, 2]
            formed += 2
            low = _score(_low(x, lo, hi, b), gmin[b], gu, e0min[b], ancestor)
            high = _score(_high(x, lo, hi, b), gmax[b], gu, e0max[b], ancestor)
            a = j1 + np.searchsorted(ts[j1:j2], low, side="left")  # keys >= low
            c = j1 + np.searchsorted(ts[j1:j2], high, side="right")  # keys > high
            if c < j2:  # the whole box is below these keys
                size = stop[b] - start[b]
                d_lt[c] += size
                d_lt[j2] -= size
                d_le[c] += size
                d_le[j2] -= size
            if a == c:
                continue
            if left[b] >= 0:
                stack[depth, 0], stack[depth, 1], stack[depth, 2] = left[b], a, c
                stack[depth + 1, 0], stack[depth + 1, 1], stack[depth + 1, 2] = right[b], a, c
                depth += 2
                continue
            formed += stop[b] - start[b]
            for i in range(start[b], stop[b]):
                key = _leaf_key(pt, g, e0, i, x, gu, ancestor)
                p = a + np.searchsorted(ts[a:c], key, side="right")  # keys > key
                d_lt[p] += 1
                d_lt[c] -= 1
                p = a + np.searchsorted(ts[a:c], key, side="left")  # keys >= key
                d_le[p] += 1
                d_le[c] -= 1
        k_self = _score(0.0, gu, gu, e0[iu], ancestor)
        n_lt, n_le = 0, 0
        for j in range(k):
            n_lt += d_lt[j]
            n_le += d_le[j]
            v = s0 + order[j]
            t = ts[j]
            a = n_lt - (k_self < t)
            c = n_le - (k_self <= t)
            for e in range(excl_ptr[r], excl_ptr[r + 1]):
                ke = _leaf_key(pt, g, e0, at[excl_idx[e]], x, gu, ancestor)
                a -= ke < t
                c -= ke <= t
            less[v] = a
            leq[v] = c
            pos_le[v] = np.searchsorted(ts, t, side="right")
        work[r] = formed
