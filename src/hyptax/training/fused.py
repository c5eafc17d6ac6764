"""A fused CPU kernel for the Poincaré ranking losses: loss and gradient in one pass.

The plain path of :func:`hyptax.training.fit.train_step` (autograd over torch ops)
streams ``(B, 1 + K, dim)`` tensors through memory a dozen times per step; this
numba kernel visits each (positive, candidate) pair once, keeps everything in
registers and accumulates the gradient straight into the ``U`` unique rows. On two
cores it is several times faster (see the README's speed table). It computes the
same distance as :func:`hyptax.manifolds.poincare.dist`,

    d(x, y) = 2 asinh(q),   q = |x - y| / sqrt((1 - |x|^2)(1 - |y|^2)),

and its exact gradient (checked against autograd in tests/training/test_fused.py):

    dd/dq = 2 / sqrt(1 + q^2)
    dq/dx = (  (x - y) / |x - y| + |x - y| x / (1 - |x|^2) ) / sqrt((1 - |x|^2)(1 - |y|^2))
    dq/dy = ( -(x - y) / |x - y| + |x - y| y / (1 - |y|^2) ) / sqrt(...)

taking 0 for the direction where ``x == y``. The softmax loss needs no logarithm per
pair: ``exp(-d) = 1 / (q + sqrt(1 + q^2))^2`` exactly, so the softmax weights cost a
square root, and the loss one logarithm per positive.

Used automatically on the CPU for the Poincaré ball when numba is installed (the
``backend`` option of :class:`~hyptax.config.TrainConfig`); the autograd path stays
the reference, and the only path on a GPU and for the Lorentz model. With ``T``
threads a large batch is split into ``T`` fixed blocks, each run by a Python thread
(the kernel releases the GIL) into its own gradient buffer, so results are
deterministic for a given thread count. (numba's own ``parallel=True`` is not used:
its OpenMP layer fights torch's OpenMP threads, measured 100x slower on two cores.)
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

try:  # numba is optional: without it training uses the autograd path.
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

LOSS_CODES = {"softmax": 0, "margin": 1}

PARALLEL_MIN_PAIRS = 1 << 15
"""A batch runs on several threads only with at least this many (positive, candidate)
slots per thread; below that, starting threads costs more than it saves."""

FASTMATH = {"contract", "arcp"}
"""LLVM flags: fused multiply-add and reciprocals. Not "nnan"/"ninf": the NaN guard
of the training loop must still see a NaN. Not "reassoc": with it, the kernel
compiled fresh and the kernel loaded from numba's cache summed in different orders,
so a resumed run (cache warm) drifted from the run it continued (measured: a fresh
clone's kill-and-resume test lost bit-identity; without it, identical). It cost ~3%
of nouns throughput."""


def available(manifold: str, loss: str, device: torch.device) -> bool:
    """Whether the fused kernel can run this configuration."""
    return (
        numba is not None
        and manifold == "poincare"
        and loss in LOSS_CODES
        and (device.type == "cpu")
    )


@contextlib.contextmanager
def calm_numba_threads() -> Iterator[None]:
    """Within the block, numba's parallel code (the evaluator's ranking kernel) uses
    its ``workqueue`` threading layer, unless the user chose one (NUMBA_THREADING_LAYER);
    numba's setting is restored on leaving it.

    numba's default OpenMP layer leaves its worker threads spinning after each
    parallel region; on two cores they starve training for seconds. Measured on
    ncbi:small: a 0.4 s slice of an epoch took 9-26 s after one ``quick_metrics``
    call with the OpenMP layer, 0.4 s with ``workqueue``. Takes effect only before
    numba's first parallel launch in the process (the layer is chosen then, and kept).
    """
    if numba is None or numba.config.THREADING_LAYER != "default":
        yield
        return
    numba.config.THREADING_LAYER = "workqueue"
    try:
        yield
    finally:
        numba.config.THREADING_LAYER = "default"


def loss_and_grad(
    x: torch.Tensor,
    local: np.ndarray,
    mask: np.ndarray | None,
    *,
    loss: str,
    margin: float = 0.0,
    threads: int = 1,
) -> tuple[float, torch.Tensor]:
    """Mean ranking loss of a batch and its gradient with respect to the rows ``x``.

    Args:
        x: ``(U, dim)`` Poincaré points, the unique rows a batch touches (CPU).
        local: ``(B, 2 + K)`` int64 positions in ``x``: ``[u, v, negatives...]``.
        mask: ``(B, K)`` bool, True for negative slots to ignore; or None.
        loss: ``"softmax"`` or ``"margin"`` (as in :mod:`hyptax.losses`).
        threads: split a large batch into this many blocks run on as many threads.

    Returns:
        ``(loss, egrad)``: the mean loss (as :data:`hyptax.losses.LOSSES` defines it)
        and its Euclidean gradient ``(U, dim)``, same dtype as ``x``.
    """
    xs = np.ascontiguousarray(x.detach().numpy())
    local = np.ascontiguousarray(local)
    b = len(local)
    blocks = max(1, min(threads, b * local.shape[1] // PARALLEL_MIN_PAIRS))
    inv_gap = 1.0 / np.sqrt(1.0 - np.einsum("ij,ij->i", xs, xs, dtype=np.float64))
    has_mask = mask is not None
    m = mask if has_mask else np.zeros((1, 1), dtype=np.bool_)
    kernel, code = _batch, LOSS_CODES[loss]
    grads = [np.zeros_like(xs) for _ in range(blocks)]

    def block(t: int) -> tuple[float, float]:
        lo, hi = t * b // blocks, (t + 1) * b // blocks
        return kernel(xs, inv_gap, local, m, has_mask, code, float(margin), lo, hi, grads[t])

    if blocks == 1:
        results = [block(0)]
    else:  # the kernel releases the GIL; fixed blocks keep the sums deterministic
        with ThreadPoolExecutor(blocks) as pool:
            results = list(pool.map(block, range(blocks)))
    grad = grads[0]
    for g in grads[1:]:
        grad += g
    total = sum(r[0] for r in results)
    scale = 1.0 / max(sum(r[1] for r in results), 1.0)
    grad *= scale
    return total * scale, torch.from_numpy(grad)


def _jit(fn):  # numba compiles on the first call and caches the result on disk
    return numba.njit(cache=True, nogil=True, fastmath=FASTMATH)(fn) if numba else fn


@_jit
def _distances(x, inv_gap, local, i, dist, q):
    """``dist[j] = |x_u - x_w|`` and ``q[j]`` for the candidates ``w`` of positive ``i``."""
    iu = local[i, 0]
    for j in range(len(q)):
        iw = local[i, 1 + j]
        r2 = 0.0
        for k in range(x.shape[1]):
            diff = x[iu, k] - x[iw, k]
            r2 += diff * diff
        dist[j] = math.sqrt(r2)
        q[j] = dist[j] * inv_gap[iu] * inv_gap[iw]


@_jit
def _softmax(q, mask, has_mask, i, dd):
    """Set ``dd = dL/dd_j`` of ``-log softmax(-d)[0]``; return the loss."""
    total = 0.0
    for j in range(len(q)):
        if j > 0 and has_mask and mask[i, j - 1]:
            dd[j] = 0.0
        else:
            e = 1.0 / (q[j] + math.sqrt(1.0 + q[j] * q[j]))  # exp(-d_j)
            dd[j] = e * e
            total += e * e
    value = math.log(total / dd[0])
    for j in range(len(q)):
        dd[j] = -dd[j] / total
    dd[0] += 1.0
    return value


@_jit
def _margin(q, mask, has_mask, i, margin, dd):
    """Set ``dd`` for ``sum_j relu(margin + d_0 - d_j)``; return (loss, valid slots)."""
    d0 = 2.0 * math.asinh(q[0])
    dd[0] = 0.0
    value, count = 0.0, 0.0
    for j in range(1, len(q)):
        dd[j] = 0.0
        if has_mask and mask[i, j - 1]:
            continue
        count += 1.0
        h = margin + d0 - 2.0 * math.asinh(q[j])
        if h > 0.0:
            value += h
            dd[0] += 1.0
            dd[j] = -1.0
    return value, count


@_jit
def _accumulate(x, inv_gap, local, i, dist, q, dd, g):
    """``g += dL/dx`` of positive ``i``: ``sum_j dL/dd_j * dd/dq_j * dq_j/dx``."""
    iu = local[i, 0]
    gu2 = inv_gap[iu] * inv_gap[iu]
    for j in range(len(q)):
        r = dist[j]
        if dd[j] == 0.0 or r == 0.0:  # no loss, or x_u == x_w: no direction
            continue
        iw = local[i, 1 + j]
        gw2 = inv_gap[iw] * inv_gap[iw]
        coef = dd[j] * 2.0 / math.sqrt(1.0 + q[j] * q[j]) * inv_gap[iu] * inv_gap[iw]
        c_dir, c_u, c_w = coef / r, coef * r * gu2, coef * r * gw2
        for k in range(x.shape[1]):
            diff = c_dir * (x[iu, k] - x[iw, k])
            g[iu, k] += diff + c_u * x[iu, k]
            g[iw, k] += c_w * x[iw, k] - diff


@_jit
def _batch(x, inv_gap, local, mask, has_mask, code, margin, lo, hi, g):
    """Positives ``lo..hi`` of a batch: gradient into ``g``; return (loss sum, count)."""
    m = local.shape[1] - 1  # 1 + K candidates
    dd, q, dist = np.empty(m), np.empty(m), np.empty(m)
    total, count = 0.0, 0.0
    for i in range(lo, hi):
        _distances(x, inv_gap, local, i, dist, q)
        if code == 0:
            total += _softmax(q, mask, has_mask, i, dd)
            count += 1.0
        else:
            value, slots = _margin(q, mask, has_mask, i, margin, dd)
            total += value
            count += slots
        _accumulate(x, inv_gap, local, i, dist, q, dd, g)
    return total, count
