"""The counting kernels behind :mod:`.ranking`: for every positive pair, how many
negatives are closer to its anchor, by distance or by the ancestor score.

A numba kernel (every core it is given, ``prange`` over groups of anchors walking the
nodes in cache-sized tiles) and a torch fallback in blocks of anchors bounded by
:data:`BLOCK_BYTES`; both give the same counts (the brute-force tests check it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ..manifolds.extended import SQ_SCALE
from .geometry import BallView
from .queries import Queries

try:  # numba is optional: the torch fallback gives the same numbers, slower.
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

BLOCK_BYTES = 256 * 2**20
"""Memory budget of one block of anchors in the torch fallback."""

def count_numba_chunk(
    view: BallView, pt: tuple[np.ndarray, np.ndarray], q: Queries, ancestor: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The counts of the queries ``q`` by the numba kernel; ``pt`` is
    :meth:`BallView.kernel_points` (made once per ranking): ``(hi, rows)``."""
    n_pairs = len(q.pos_idx)
    less, leq, pos_le = (np.zeros(n_pairs, dtype=np.int64) for _ in range(3))
    workers = min(numba.get_num_threads(), max(len(q.rows), 1))
    rs = kernel_scale(view)
    _kernel()(
        *pt, view.kernel_scalars(ancestor), kernel_mode(view, ancestor),
        limb_floors(pt[1], rs), rs, q.rows, q.pos_ptr, q.pos_idx, q.excl_ptr, q.excl_idx,
        less, leq, pos_le, workers, GROUP, TILE,
    )  # fmt: skip
    return less, leq, pos_le


def kernel_mode(view: BallView, ancestor: bool) -> int:
    """The key a kernel forms (:func:`_pair_key`): 0/1 distance/ancestor in the ball,
    2/3 the same for polar points."""
    return (2 if view.polar is not None else 0) + (1 if ancestor else 0)


def limb_floors(pr: np.ndarray, rs: float = 1.0) -> np.ndarray:
    """``(L,)`` for the rows ``pr (n, L, dim)``: the squared direction difference (times
    ``rs^2``) from which the first ``l + 1`` limbs suffice, ``dim (2^(44 - 52 (l +
    1)))^2``: what the lower limbs can add is then below ``2^-44`` of it
    (:func:`_sq_pair`)."""
    n_limbs, dim = pr.shape[1], pr.shape[2]
    return np.array([dim * 2.0 ** (2 * (44 - 52 * (lv + 1))) * rs * rs for lv in range(n_limbs)])


def kernel_scale(view: BallView) -> float:
    """The power of two every coordinate difference is multiplied by before it is
    squared: ``sqrt(SQ_SCALE)`` for polar points (the squares of the closest pairs past
    a radius of ~340 would be subnormal, :data:`~hyptax.manifolds.extended.SQ_SCALE`;
    :meth:`BallView.kernel_scalars` takes it out again), 1 in the ball."""
    return math.sqrt(SQ_SCALE) if view.polar is not None else 1.0


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


def _pair_key(sq, sc, u, v, mode):
    """A key monotone in the anchor ``u``'s score of node ``v``, from ``sq``: the
    squared difference of their coordinates (modes 0, 1) or directions (2, 3), and the
    per-node scalars ``sc`` (:meth:`BallView.kernel_scalars`).

    - 0, ball distance: ``sq g_v`` (``sc[0]`` = ``g = 1 / (1 - |p|^2)``);
    - 1, ball ancestor score: :func:`_ancestor_key` (``sc[1]`` = ``exp(dist0)``);
    - 2, polar distance: ``y = sinh^2((r_u - r_v) / 2) + sinh r_u sinh r_v sq / 4``,
      which is ``sinh^2(d / 2)``, with ``sinh((r_u - r_v) / 2)`` from ``sc[0] =
      exp(r / 2)`` and ``sc[1] = exp(-r / 2)`` and ``sc[2] = sinh r``;
    - 3, polar ancestor score: ``exp(d(u, v) + r_v - R)`` with ``exp(d) =
      (sqrt(y) + sqrt(y + 1))^2`` and ``sc[3] = exp(r - R)`` (``R`` the largest radius).

    No transcendental function per pair in modes 0, 2 and 3.
    """
    if mode == 0:
        return sq * sc[0, v]
    if mode == 1:
        return key_of(sq, sc[0, v], sc[0, u], sc[1, v])
    h = (sc[0, u] * sc[1, v] - sc[1, u] * sc[0, v]) / 2.0
    y = h * h + sc[2, u] / 4.0 * sc[2, v] * sq
    if mode == 2:
        return y
    e = np.sqrt(y) + np.sqrt(y + 1.0)
    return e * e * sc[3, v]


def _sq_pair(pr, floors, rs, u, v):
    """``|x_u - x_v|^2`` for the rows ``pr (n, L, dim)``: coordinates (``L = 1``) or
    direction limbs, one node's contiguous. The exact limb-wise differences are summed
    from the top limb down, one more limb at a time until the result is at least
    ``floors[l]`` (:func:`limb_floors`): far pairs cost one limb, only close ones all.
    Each difference is scaled by ``rs`` (a power of two: exact) before it is squared,
    :func:`kernel_scale`."""
    acc = 0.0
    for k in range(pr.shape[2]):
        t = (pr[u, 0, k] - pr[v, 0, k]) * rs
        acc += t * t
    return sq_more(pr, floors, rs, u, v, acc)


def _sq_more(pr, floors, rs, u, v, acc):
    """:func:`_sq_pair` given ``acc``, the top limb's sum (the same value)."""
    n_limbs, dim = pr.shape[1], pr.shape[2]
    used = 1
    while used < n_limbs and acc < floors[used - 1]:
        used += 1
        acc = 0.0
        for k in range(dim):
            t = pr[u, 0, k] - pr[v, 0, k]
            for level in range(1, used):
                t += pr[u, level, k] - pr[v, level, k]
            t *= rs
            acc += t * t
    return acc


if numba is None:  # pragma: no cover - exercised only where numba is missing
    key_of, pair_key, sq_more, sq_pair = _ancestor_key, _pair_key, _sq_more, _sq_pair
else:
    key_of = numba.njit(inline="always", cache=True)(_ancestor_key)
    pair_key = numba.njit(inline="always", cache=True)(_pair_key)
    sq_more = numba.njit(inline="always", cache=True)(_sq_more)
    sq_pair = numba.njit(inline="always", cache=True)(_sq_pair)


def _tile_keys(pt, pr, sc, mode, floors, rs, u, t0, t1, kb):  # noqa: C901  (flat loops compile best)
    """``kb[i]`` = the key of node ``t0 + i`` for anchor ``u`` (:func:`_pair_key`),
    bit-identical to ``pair_key(sq_pair(...))``: the top limb's squared differences
    coordinate by coordinate over the tile (``pt (dim, n)``; direct differences: no
    cancellation), then :func:`_sq_pair` on the rows ``pr`` for the close pairs it
    leaves below the floor."""
    n_limbs, dim = pr.shape[1], pt.shape[0]
    kb[:] = 0.0
    for k in range(dim):
        xk = pt[k, u]
        coord = pt[k, t0:t1]
        for i in range(t1 - t0):
            t = (xk - coord[i]) * rs
            kb[i] += t * t
    if mode == 0:
        g = sc[0, t0:t1]
        for i in range(t1 - t0):
            kb[i] *= g[i]
        return
    if mode == 1:
        for i in range(t1 - t0):
            kb[i] = pair_key(kb[i], sc, u, t0 + i, mode)
        return
    if n_limbs > 1:  # the close pairs, limb by limb (few: a branch, not a pass)
        f0 = floors[0]
        for i in range(t1 - t0):
            if kb[i] < f0:
                kb[i] = sq_more(pr, floors, rs, u, t0 + i, kb[i])
    # polar keys over the tile, branch-free (the same operations as _pair_key)
    e_u, f_u, s_u = sc[0, u], sc[1, u], sc[2, u] / 4.0
    e_v, f_v, s_v, w_v = sc[0, t0:t1], sc[1, t0:t1], sc[2, t0:t1], sc[3, t0:t1]
    for i in range(t1 - t0):
        h = (e_u * f_v[i] - f_u * e_v[i]) / 2.0
        kb[i] = h * h + s_u * s_v[i] * kb[i]
    if mode == 3:
        for i in range(t1 - t0):
            e = np.sqrt(kb[i]) + np.sqrt(kb[i] + 1.0)
            kb[i] = e * e * w_v[i]


tile_keys = _tile_keys if numba is None else numba.njit(inline="always", cache=True)(_tile_keys)


def _key_distance(key, sc, u, mode):
    """The distance from anchor ``u`` that a distance key (mode 0 or 2) stands for."""
    if mode == 0:
        c = 1.0 + 2.0 * key * sc[0, u]
        return np.arccosh(c) if not c < 1.0 else 0.0  # NaN stays NaN
    return 2.0 * np.arcsinh(np.sqrt(key))


key_distance = (
    _key_distance if numba is None else numba.njit(inline="always", cache=True)(_key_distance)
)


def _count_kernel_py(  # noqa: C901  (one flat loop nest is what numba compiles best)
    pt, pr, sc, mode, floors, rs, rows, pos_ptr, pos_idx, excl_ptr, excl_idx, less, leq, pos_le,
    workers, group, tile,
):  # fmt: skip
    """Numba kernel; ``pt (dim, n)`` and ``pr (n, L, dim)`` are
    :meth:`BallView.kernel_points`, ``sc`` the per-node scalars of key ``mode``
    (:func:`_pair_key`), ``floors`` the limb floors (:func:`limb_floors`).

    Workers take groups of ``group`` anchors in turn (round-robin, so costly and
    cheap anchors spread evenly). For a group it walks the nodes tile by tile; per
    anchor it forms the keys of the tile, keeps those not farther than the anchor's
    farthest positive (branch-free), and counts them below / at each positive's key.
    The anchor and the excluded nodes are counted like any other node and subtracted
    at the end, their keys recomputed by the same operations in the same order (so
    bit-identical; the brute-force tests would catch a mismatch). Memory per worker:
    ``2 * tile + 3 * group * max_positives`` numbers.
    """
    n = pt.shape[1]
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
                    p[r - g0, j] = pair_key(sq_pair(pr, floors, rs, u, v), sc, u, v, mode)
                    top[r - g0] = max(top[r - g0], p[r - g0, j])
                    lt[r - g0, j] = 0
                    le[r - g0, j] = 0
                kr = pos_ptr[r + 1] - s
                sorted_keys[r - g0, :kr] = np.sort(p[r - g0, :kr])
                d_lt[r - g0, :] = 0
                d_le[r - g0, :] = 0
            for t0 in range(0, n, tile):
                t1 = min(t0 + tile, n)
                kb = keys[: t1 - t0]
                for r in range(g0, g1):
                    u = rows[r]
                    tile_keys(pt, pr, sc, mode, floors, rs, u, t0, t1, kb)
                    tp = top[r - g0]
                    c = 0
                    for i in range(t1 - t0):
                        x = kb[i]
                        buf[c] = x
                        c += x <= tp
                    kr = pos_ptr[r + 1] - pos_ptr[r]
                    if c * kr <= 16 * (c + kr):  # few kept or few positives: compare all
                        for j in range(kr):
                            pj = p[r - g0, j]
                            lo = 0
                            hi = 0
                            for i in range(c):
                                lo += buf[i] < pj
                                hi += buf[i] <= pj
                            lt[r - g0, j] += lo
                            le[r - g0, j] += hi
                    else:  # each kept key finds its place among the sorted positives
                        srt = sorted_keys[r - g0, :kr]
                        for i in range(c):
                            d_lt[r - g0, np.searchsorted(srt, buf[i], side="right")] += 1
                            d_le[r - g0, np.searchsorted(srt, buf[i], side="left")] += 1
            for r in range(g0, g1):  # remove the anchor and the excluded nodes
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
                k_self = pair_key(0.0, sc, u, u, mode)
                for j in range(kk):
                    pj = p[r - g0, j]
                    lo = lt[r - g0, j] - (k_self < pj)
                    hi = le[r - g0, j] - (k_self <= pj)
                    for e in range(excl_ptr[r], excl_ptr[r + 1]):
                        v = excl_idx[e]
                        ke = pair_key(sq_pair(pr, floors, rs, u, v), sc, u, v, mode)
                        lo -= ke < pj
                        hi -= ke <= pj
                    c_pos = 0
                    for i in range(kk):
                        c_pos += p[r - g0, i] <= pj
                    less[s + j] = lo
                    leq[s + j] = hi
                    pos_le[s + j] = c_pos


def count_torch_chunk(
    view: BallView, pt: tuple[np.ndarray, np.ndarray] | None, q: Queries, ancestor: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same counts with torch, in blocks of anchors bounded by :data:`BLOCK_BYTES`."""
    block = max(1, BLOCK_BYTES // (8 * 4 * max(view.n, 1)))
    parts = []
    for start in range(0, len(q.rows), block):
        sub = q.subset(np.arange(start, min(start + block, len(q.rows))))
        parts.append(_torch_block(view.anchor_keys(sub.rows, ancestor), sub))
    return tuple(np.concatenate(c) for c in zip(*parts, strict=True))  # type: ignore[return-value]


def _torch_block(key: torch.Tensor, q: Queries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts from the keys ``(b, n)`` of the ``b`` anchors of ``q``."""
    b = len(q.rows)
    rows = torch.from_numpy(q.rows)
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
