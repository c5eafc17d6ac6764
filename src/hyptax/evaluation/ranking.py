"""Reconstruction mean rank and MAP (Nickel & Kiela 2017), exact or sampled.

Convention (the reference implementation's). For each node ``u`` with outgoing
pairs, ``N(u)`` is the set of nodes ``u`` points to (for a taxonomy: its ancestors).
The *negatives* of ``u`` are every other node except ``u`` itself and ``N(u)`` (so
``u``'s descendants are negatives). For ``v`` in ``N(u)``:

    rank(u, v) = 1 + #{negatives w : d(u, w) < d(u, v)}          (strictly closer)

and the precision at ``v`` is ``P / (P + rank(u, v) - 1)`` with
``P = #{v' in N(u) : d(u, v') <= d(u, v)}``; ``AP(u)`` is the mean precision over
``N(u)``. MAP is the mean of ``AP(u)`` over the nodes ranked; the mean rank is the
mean of ``rank(u, v)`` over the pairs ranked. For link prediction the positives are
the held-out pairs and every known pair of ``u`` is removed from the negatives.

Tie rule. The headline numbers count a negative only when it is *strictly* closer,
so a negative at exactly the distance of a positive does not hurt it. The
``*_pessimistic`` numbers count ties against the embedding (``<=``); their AP is
then scikit-learn's ``average_precision_score``, which the reference implementation
uses. The two differ only when distances tie exactly, which for a trained embedding
means collapsed points (e.g. everything at the origin gets MAP 1.0 optimistically);
``tied_pairs`` counts the pairs affected, so a collapse never hides.

Exactness. Distances are compared through the float64 key of
:mod:`hyptax.evaluation.geometry`, formed by direct coordinate differences, so two
distances are misordered only if they agree to about 1e-15 relative. "Exact" means
every pair is ranked against every node; nothing is sampled.

Speed and memory. The numba kernel (every core numba is given, ``prange`` over
groups of anchors) walks the nodes in cache-sized tiles shared by a group of 16
anchors, so each worker holds only a few tiles and per-anchor counters: memory is
the pair lists plus ``O(tile)`` per thread, whatever ``n`` (times on WordNet nouns:
``benchmarks/MEASURED.md``). Without numba a torch fallback works in blocks of
anchors whose size follows a memory budget (:data:`.kernels.BLOCK_BYTES`; slower, same numbers).
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .geometry import BallView
from .index import BallIndex, rank_counts
from .kernels import count_numba_chunk, count_torch_chunk
from .queries import Queries

try:  # numba is optional: the torch fallback gives the same numbers, slower.
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

CHUNK_COST = 2**30
"""Predicted cost (:func:`anchor_costs`) of one kernel call: a progress-bar tick,
~0.3 s on two cores."""

PROBE_ANCHORS = 64
"""Anchors whose filter is measured to predict the cost of the others (fewer, down to
8, on graphs above ``PROBE_WORK / 64`` nodes)."""

PROBE_WORK = 2**25
"""Anchor-by-node keys the probe computes at most (~0.3 s)."""

SCALAR_COST = 3
"""Cost of one comparison of a positive with a kept or excluded node's coordinate,
in key operations (measured: key operations run ~3.4e9 a second on two shared
cores, vectorised; the compare loops ~1.1e9)."""

SCORES: tuple[str, ...] = ("distance", "ancestor")
"""What candidates are ranked by. ``"distance"``: ``d(u, v)``, the reference
convention. ``"ancestor"``: the ancestor score ``d(u, v) + d(v, 0) - d(u, 0)``, 0 when
``v`` lies on the geodesic from ``u`` to the origin (where a tree's ancestors lie in
the metric construction, :mod:`hyptax.constructive.metric`), and about twice the
distance from that geodesic otherwise."""

TIE_RULE = (
    "rank = 1 + negatives strictly closer; *_pessimistic counts ties as closer "
    "(its AP is scikit-learn's average_precision_score)"
)


# --------------------------------------------------------------------- counting
@dataclass(frozen=True, eq=False)
class Counts:
    """Per positive pair (CSR order of the queries): negatives strictly closer
    (``less``), closer or equal (``leq``), and positives at most as far (``pos_le``)."""

    less: np.ndarray
    leq: np.ndarray
    pos_le: np.ndarray


def count_closer(
    view: BallView,
    queries: Queries,
    *,
    score: str = "distance",
    progress: bool = False,
    backend: str = "auto",
    index: BallIndex | None = None,
) -> Counts:
    """Count, for every positive pair, the negatives closer to its anchor.

    ``score``: ``"distance"`` (the reference convention) or ``"ancestor"`` (see
    :data:`SCORES`); ``backend``: ``"numba"`` (a pass over every node per anchor),
    ``"torch"``, ``"index"`` (a walk of ``index``, the view's
    :class:`~.index.BallIndex`: work that follows the boxes near the positives'
    distances, not ``n``) or ``"auto"`` (index when given, else numba when installed).
    All give the same counts.
    """
    if score not in SCORES:
        raise ValueError(f"unknown ranking score {score!r}")
    if backend == "auto":
        backend = "index" if index is not None else "numba" if numba is not None else "torch"
    if backend not in ("numba", "torch", "index") or (backend == "index" and index is None):
        raise ValueError(f"unknown ranking backend {backend!r} (index needs an index)")
    m = len(queries.rows)
    n_pairs = len(queries.pos_idx)
    out = Counts(*(np.zeros(n_pairs, dtype=np.int64) for _ in range(3)))
    bar = _progress(m, progress, "ranking")
    kernel = {"numba": count_numba_chunk, "torch": count_torch_chunk}.get(backend)
    pt = view.kernel_points() if backend == "numba" else None  # (hi, rows)
    ancestor = score == "ancestor"
    edges = _chunk_edges(anchor_costs(view, queries, kept=0.0), CHUNK_COST)  # no probe: cheap
    for start, stop in itertools.pairwise(edges):
        r = np.arange(start, stop)
        sub = queries.subset(r)
        lo, hi = queries.pos_ptr[start], queries.pos_ptr[r[-1] + 1]
        if kernel is None:
            counts = rank_counts(index, sub, ancestor=ancestor)  # type: ignore[arg-type]
        else:
            counts = kernel(view, pt, sub, ancestor)
        out.less[lo:hi], out.leq[lo:hi], out.pos_le[lo:hi] = counts
        if bar is not None:
            bar.update(len(r))
    if bar is not None:
        bar.close()
    return out


def anchor_costs(
    view: BallView, queries: Queries, seed: int = 0, *, kept: float | None = None
) -> np.ndarray:
    """``(m,)`` predicted cost of ranking each anchor exactly, in key operations (one
    squared coordinate difference; ~3.4e9 a second on two cores).

    An anchor with ``k`` positives and ``e`` excluded nodes costs ``n * (dim + 1)``
    for the keys of every node, plus :data:`SCALAR_COST` per comparison: ``k * c``
    against the ``c`` nodes its filter keeps (those not farther than its farthest
    positive) and ``k * e * dim`` for the excluded nodes. So the cost follows the
    pairs times the depth, not the nodes: a 5,000-deep chain (12.5M pairs) costs
    more than ``ncbi:small`` (123,487 nodes). ``c`` is measured on a seeded probe
    of :data:`PROBE_ANCHORS` anchors (weighted by their positives), unless ``kept``
    gives it (0: a cost that does not depend on the embedding).
    """
    n, dim = view.p.shape
    k = queries.n_pos.astype(np.float64)
    e = np.diff(queries.excl_ptr).astype(np.float64)
    c = _kept_per_positive(view, queries, seed) if kept is None else kept
    return n * (dim + 1) + SCALAR_COST * k * (c + e * dim)


def _kept_per_positive(view: BallView, queries: Queries, seed: int) -> float:
    """Mean number of nodes the filter keeps, per positive, over a seeded probe."""
    m = len(queries.rows)
    if not m:
        return 0.0
    size = min(m, max(8, min(PROBE_ANCHORS, PROBE_WORK // max(view.n, 1))))
    probe = np.random.default_rng(seed).choice(m, size=size, replace=False)
    kept = total = 0
    for r in probe.tolist():
        pos = queries.pos_idx[queries.pos_ptr[r] : queries.pos_ptr[r + 1]]
        if not len(pos):
            continue
        keys = view.anchor_keys(queries.rows[r : r + 1])[0].numpy()
        kept += len(pos) * int((keys <= keys[pos].max()).sum())
        total += len(pos)
    return kept / total if total else 0.0


def auto_sample(
    view: BallView, queries: Queries, *, max_cost: float, most: int, least: int, seed: int = 0,
    kept: float | None = None, budget: float | None = None,
) -> int | None:  # fmt: skip
    """``None`` (rank every anchor exactly) when the predicted cost (:func:`anchor_costs`,
    with ``kept``) is at most ``max_cost``; else the number of anchors to sample so that
    the sample's expected cost fits ``budget`` (default ``max_cost``), kept within
    ``[least, most]``."""
    total = float(anchor_costs(view, queries, seed, kept=kept).sum())
    if total <= max_cost:
        return None
    m = len(queries.rows)
    return int(min(most, max(least, m * (max_cost if budget is None else budget) / total)))


def _chunk_edges(costs: np.ndarray, budget: float) -> list[int]:
    """Anchor positions ``0 = e0 < e1 < ... = m`` cutting ``costs`` into runs of about
    ``budget`` each (one anchor at least per run)."""
    m = len(costs)
    if not m:
        return [0]
    cum = np.cumsum(costs)
    cuts = np.searchsorted(cum, np.arange(budget, cum[-1], budget), side="right")
    return [0, *sorted({int(c) for c in cuts if 0 < c < m}), m]


# --------------------------------------------------------------------- metrics
def reconstruction(
    view: BallView,
    queries: Queries,
    *,
    sample: int | None = None,
    seed: int = 0,
    n_bootstrap: int = 1000,
    ci_level: float = 0.95,
    score: str = "distance",
    progress: bool = False,
    backend: str = "auto",
    index: BallIndex | None = None,
) -> dict[str, Any]:
    """Mean rank and MAP of ``queries`` (see the module docstring for the convention),
    ranking candidates by ``score`` (:data:`SCORES`).

    ``sample``: rank only a seeded sample of that many anchors (``None`` or at least
    the number of anchors: all, exactly). A sampled result has ``"mode": "sampled"``
    and a bootstrap confidence interval over the sampled anchors.
    """
    start = time.perf_counter()
    m = len(queries.rows)
    sampled = sample is not None and sample < m
    if sampled:
        pick = np.sort(np.random.default_rng(seed).choice(m, size=sample, replace=False))
        queries = queries.subset(pick)
    counts = count_closer(
        view, queries, score=score, progress=progress, backend=backend, index=index
    )
    per_node = per_anchor(queries, counts)
    result: dict[str, Any] = {
        "mode": "sampled" if sampled else "exact",
        "score": score,
        "map": _mean(per_node["ap"], per_node["n_pos"]),
        "mean_rank": _ratio(per_node["rank_sum"], per_node["n_pos"]),
        "map_pessimistic": _mean(per_node["ap_pessimistic"], per_node["n_pos"]),
        "mean_rank_pessimistic": _ratio(per_node["rank_sum_pessimistic"], per_node["n_pos"]),
        "tied_pairs": int((counts.leq != counts.less).sum()),
        "n_nodes_ranked": len(queries.rows),
        "n_nodes_total": m,
        "n_pairs_ranked": len(queries.pos_idx),
        "tie_rule": TIE_RULE,
        "ci": None,
    }
    if sampled and n_bootstrap > 0:
        result["ci"] = bootstrap_ci(per_node, n_bootstrap=n_bootstrap, level=ci_level, seed=seed)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def per_anchor(queries: Queries, counts: Counts) -> dict[str, np.ndarray]:
    """Per anchor: AP (both tie rules), the sum of ranks and the number of positives."""
    k = queries.n_pos
    starts = queries.pos_ptr[:-1]
    ok = k > 0
    out = {"n_pos": k}
    for suffix, closer in (("", counts.less), ("_pessimistic", counts.leq)):
        prec = counts.pos_le / (counts.pos_le + closer)
        ap = np.zeros(len(k))
        rank_sum = np.zeros(len(k))
        if ok.any():
            ap[ok] = np.add.reduceat(prec, starts[ok]) / k[ok]
            rank_sum[ok] = np.add.reduceat(1.0 + closer, starts[ok])
        out["ap" + suffix] = ap
        out["rank_sum" + suffix] = rank_sum
    return out


def bootstrap_ci(
    per_node: dict[str, np.ndarray], *, n_bootstrap: int, level: float, seed: int
) -> dict[str, Any]:
    """Percentile bootstrap over anchors for MAP and for the (pair-weighted) mean rank."""
    m = len(per_node["ap"])
    rng = np.random.default_rng([seed, 1])
    maps = np.empty(n_bootstrap)
    ranks = np.empty(n_bootstrap)
    for b in range(n_bootstrap):
        i = rng.integers(0, m, size=m)
        maps[b] = per_node["ap"][i].mean()
        ranks[b] = per_node["rank_sum"][i].sum() / max(per_node["n_pos"][i].sum(), 1)
    q = [(1 - level) / 2, (1 + level) / 2]
    return {
        "level": level,
        "method": f"percentile bootstrap over the sampled nodes ({n_bootstrap} resamples)",
        "map": [float(v) for v in np.quantile(maps, q)],
        "mean_rank": [float(v) for v in np.quantile(ranks, q)],
    }


def _mean(ap: np.ndarray, n_pos: np.ndarray) -> float | None:
    """MAP over the anchors that have positives (``None`` when none has)."""
    has = n_pos > 0
    return float(ap[has].mean()) if has.any() else None


def _ratio(num: np.ndarray, den: np.ndarray) -> float | None:
    total = den.sum()
    return float(num.sum() / total) if total else None


def _progress(total: int, enabled: bool, desc: str) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="node", file=sys.stderr, leave=False)
