"""The counting kernels behind :mod:`.ranking`: for every positive pair, how many
negatives are closer to its anchor, by distance or by the ancestor score.

A numba kernel (every core it is given, ``prange`` over groups of anchors walking the
nodes in cache-sized tiles) and a torch fallback in blocks of anchors bounded by
:data:`BLOCK_BYTES`; both give the same counts (the brute-force tests check it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .geometry import BallView
from .queries import Queries

try:  # numba is optional: the torch fallback gives the same numbers, slower.
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

BLOCK_BYTES = 256 * 2**20
"""Memory budget of one block of anchors in the torch fallback."""

def count_numba_chunk(
    view: BallView, pt: np.ndarray, q: Queries, e0: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_pairs = len(q.pos_idx)
    less, leq, pos_le = (np.zeros(n_pairs, dtype=np.int64) for _ in range(3))
    workers = min(numba.get_num_threads(), max(len(q.rows), 1))
    ancestor = e0 is not None
    _kernel()(
        pt, view.gap_inv, view.gap_inv if e0 is None else e0, ancestor, q.rows, q.pos_ptr,
        q.pos_idx, q.excl_ptr, q.excl_idx, less, leq, pos_le, workers, GROUP, TILE,
    )  # fmt: skip
    return less, leq, pos_le


GROUP = 16
"""Anchors that share one pass over a tile of nodes (the tile is reused from cache)."""

TILE = 1024
"""Nodes per tile: ``TILE * (dim + 2)`` float64 stay in the L2 cache."""

_KERNEL: list[Any] = []


def _kernel() -> Any:
    """Compile (once, cached on disk) and return the numba counting kernel."""
    if not _KERNEL:
        _KERNEL.append(numba.njit(parallel=True, cache=True)(_count_kernel_py))
    return _KERNEL[0]


def _ancestor_key(sq, g_v, g_u, e0_v):
    """``exp(d(u, v) + d(v, 0))`` from ``sq = |p_u - p_v|^2``: monotone in the ancestor
    score for a fixed anchor ``u`` (``cosh d = 1 + 2 sq g_u g_v``)."""
    x = 1.0 + 2.0 * sq * g_v * g_u
    return (x + np.sqrt((x - 1.0) * (x + 1.0))) * e0_v


key_of = (
    _ancestor_key if numba is None else numba.njit(inline="always", cache=True)(_ancestor_key)
)


def _count_kernel_py(  # noqa: C901  (one flat loop nest is what numba compiles best)
    pt, gap_inv, e0, ancestor, rows, pos_ptr, pos_idx, excl_ptr, excl_idx, less, leq, pos_le,
    workers, group, tile,
):  # fmt: skip
    """Numba kernel; ``pt`` holds the ``(dim, n)`` transposed Poincaré coordinates.

    The key of node ``v`` for anchor ``u`` is ``|p_u - p_v|^2 g_v`` (monotone in the
    distance), or with ``ancestor`` :func:`_ancestor_key` (``e0 = exp(dist0)``).

    Workers take groups of ``group`` anchors in turn (round-robin, so costly and
    cheap anchors spread evenly). For a group it walks the nodes tile by tile; per
    anchor it forms the keys of the tile, keeps those not farther than the anchor's
    farthest positive (branch-free), and counts them below / at each positive's key.
    The anchor and the excluded nodes are counted like any other node and subtracted
    at the end, their keys recomputed by the same operations in the same order (so
    bit-identical; the brute-force tests would catch a mismatch). Memory per worker:
    ``2 * tile + 3 * group * max_positives`` numbers.
    """
    dim, n = pt.shape
    m = rows.shape[0]
    kmax = 0
    for r in range(m):
        kmax = max(kmax, pos_ptr[r + 1] - pos_ptr[r])
    for w in numba.prange(workers):
        keys = np.empty(tile)
        buf = np.empty(tile)
        p = np.empty((group, kmax))
        lt = np.zeros((group, kmax), dtype=np.int64)
        le = np.zeros((group, kmax), dtype=np.int64)
        top = np.empty(group)
        sorted_keys = np.empty((group, kmax))
        d_lt = np.zeros((group, kmax + 1), dtype=np.int64)
        d_le = np.zeros((group, kmax + 1), dtype=np.int64)
        for gi in range(w, (m + group - 1) // group, workers):  # groups dealt round-robin
            g0 = gi * group
            g1 = min(g0 + group, m)
            for r in range(g0, g1):  # the positives' keys and the farthest of them
                u, s = rows[r], pos_ptr[r]
                top[r - g0] = -np.inf
                for j in range(pos_ptr[r + 1] - s):
                    v = pos_idx[s + j]
                    acc = 0.0
                    for k in range(dim):
                        t = pt[k, u] - pt[k, v]
                        acc += t * t
                    if ancestor:
                        p[r - g0, j] = key_of(acc, gap_inv[v], gap_inv[u], e0[v])
                    else:
                        p[r - g0, j] = acc * gap_inv[v]
                    top[r - g0] = max(top[r - g0], p[r - g0, j])
                    lt[r - g0, j] = 0
                    le[r - g0, j] = 0
                kr = pos_ptr[r + 1] - s
                sorted_keys[r - g0, :kr] = np.sort(p[r - g0, :kr])
                d_lt[r - g0, :] = 0
                d_le[r - g0, :] = 0
            for t0 in range(0, n, tile):
                t1 = min(t0 + tile, n)
                gg = gap_inv[t0:t1]
                kb = keys[: t1 - t0]
                for r in range(g0, g1):
                    u = rows[r]
                    kb[:] = 0.0
                    for k in range(dim):  # direct differences: no cancellation
                        xk = pt[k, u]
                        coord = pt[k, t0:t1]
                        for i in range(t1 - t0):
                            t = xk - coord[i]
                            kb[i] += t * t
                    tp = top[r - g0]
                    c = 0
                    if ancestor:
                        gu = gap_inv[u]
                        eb = e0[t0:t1]
                        for i in range(t1 - t0):
                            x = key_of(kb[i], gg[i], gu, eb[i])
                            buf[c] = x
                            c += x <= tp
                    else:
                        for i in range(t1 - t0):
                            x = kb[i] * gg[i]
                            buf[c] = x
                            c += x <= tp
                    kr = pos_ptr[r + 1] - pos_ptr[r]
                    if c * kr <= 16 * (c + kr):  # few kept or few positives: compare all
                        for j in range(kr):
                            pj = p[r - g0, j]
                            a = 0
                            b = 0
                            for i in range(c):
                                a += buf[i] < pj
                                b += buf[i] <= pj
                            lt[r - g0, j] += a
                            le[r - g0, j] += b
                    else:  # each kept key finds its place among the sorted positives
                        srt = sorted_keys[r - g0, :kr]
                        for i in range(c):
                            d_lt[r - g0, np.searchsorted(srt, buf[i], side="right")] += 1
                            d_le[r - g0, np.searchsorted(srt, buf[i], side="left")] += 1
            for r in range(g0, g1):  # remove the anchor (key 0) and the excluded nodes
                u, s = rows[r], pos_ptr[r]
                kk = pos_ptr[r + 1] - s
                # the keys placed by binary search: a key below sorted positive j counts
                # for it and every later one (a difference array, summed here)
                order = np.argsort(p[r - g0, :kk], kind="mergesort")
                n_lt, n_le = 0, 0
                for jj in range(kk):
                    n_lt += d_lt[r - g0, jj]
                    n_le += d_le[r - g0, jj]
                    lt[r - g0, order[jj]] += n_lt
                    le[r - g0, order[jj]] += n_le
                if ancestor:
                    k_self = key_of(0.0, gap_inv[u], gap_inv[u], e0[u])
                else:
                    k_self = 0.0 * gap_inv[u]
                for j in range(kk):
                    pj = p[r - g0, j]
                    a = lt[r - g0, j] - (k_self < pj)
                    b = le[r - g0, j] - (k_self <= pj)
                    for e in range(excl_ptr[r], excl_ptr[r + 1]):
                        v = excl_idx[e]
                        acc = 0.0
                        for k in range(dim):
                            t = pt[k, u] - pt[k, v]
                            acc += t * t
                        if ancestor:
                            ke = key_of(acc, gap_inv[v], gap_inv[u], e0[v])
                        else:
                            ke = acc * gap_inv[v]
                        a -= ke < pj
                        b -= ke <= pj
                    c_pos = 0
                    for i in range(kk):
                        c_pos += p[r - g0, i] <= pj
                    less[s + j] = a
                    leq[s + j] = b
                    pos_le[s + j] = c_pos


def count_torch_chunk(
    view: BallView, pt: np.ndarray | None, q: Queries, e0: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same counts with torch, in blocks of anchors bounded by :data:`BLOCK_BYTES`."""
    p = torch.from_numpy(view.p)
    g = torch.from_numpy(view.gap_inv)
    block = max(1, BLOCK_BYTES // (8 * 4 * max(view.n, 1)))
    parts = []
    for start in range(0, len(q.rows), block):
        parts.append(
            _torch_block(p, g, e0, q.subset(np.arange(start, min(start + block, len(q.rows)))))
        )
    return tuple(np.concatenate(c) for c in zip(*parts, strict=True))  # type: ignore[return-value]


def _torch_block(
    p: torch.Tensor, g: torch.Tensor, e0: np.ndarray | None, q: Queries
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b, n = len(q.rows), len(p)
    rows = torch.from_numpy(q.rows)
    key = torch.zeros(b, n, dtype=p.dtype)
    for k in range(p.shape[1]):  # direct differences, as the numba kernel
        t = p[rows, k : k + 1] - p[:, k]
        key += t * t
    key *= g
    if e0 is not None:  # _ancestor_key, in torch
        x = 1.0 + 2.0 * key * g[rows, None]
        key = (x + torch.sqrt((x - 1.0) * (x + 1.0))) * torch.from_numpy(e0)
    k_pos = torch.from_numpy(q.n_pos)
    kmax = int(k_pos.max())
    pos_row = torch.repeat_interleave(torch.arange(b), k_pos)
    slot = torch.arange(len(q.pos_idx)) - torch.from_numpy(q.pos_ptr[:-1]).repeat_interleave(k_pos)
    pos_key = torch.full((b, kmax), torch.inf, dtype=key.dtype)
    pos_key[pos_row, slot] = key[pos_row, torch.from_numpy(q.pos_idx)]
    excl_row = torch.repeat_interleave(torch.arange(b), torch.from_numpy(np.diff(q.excl_ptr)))
    key[excl_row, torch.from_numpy(q.excl_idx)] = torch.inf
    key[torch.arange(b), rows] = torch.inf
    sorted_key, order = pos_key.sort(1)
    offsets = (torch.arange(b) * (kmax + 1))[:, None]
    out = []
    for right in (True, False):  # bin of x: positives <= x (for <), positives < x (for <=)
        bins = torch.searchsorted(sorted_key, key, right=right) + offsets
        hist = torch.bincount(bins.view(-1), minlength=b * (kmax + 1)).view(b, kmax + 1)
        below = hist.cumsum(1)[:, :kmax]  # x with fewer than j+1 positives below it
        counts = torch.empty_like(below)
        counts.scatter_(1, order, below)
        out.append(counts[pos_row, slot].numpy())
    pos_le = torch.searchsorted(sorted_key, pos_key, right=True)
    return out[0], out[1], pos_le[pos_row, slot].numpy()
