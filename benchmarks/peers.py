"""gensim's PoincareModel on the same data, clock and evaluator as hyptax.

gensim is a benchmark-only extra (``pip install -e '.[bench]'``). Its model trains
on ``(child, ancestor)`` pairs of the closure (gensim's ``(hyponym, hypernym)``), one
thread (it refuses more), batches of ``batch_size`` pairs. :func:`train_gensim`
calls ``train(epochs=1)`` repeatedly (burn-in runs once, on the first call, as in one
long call), checks the clock between epochs, and keeps snapshots of the vectors at
the snapshot times, re-ordered to the taxonomy's nodes for hyptax's evaluator.
Wall time = model construction (vocabulary, initialisation) + training.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from harness import SNAPSHOT_TIMES, Run

from hyptax.config import TrainConfig
from hyptax.data.taxonomy import Taxonomy

GENSIM_DEFAULTS = {"alpha": 0.1, "negative": 10, "burn_in": 10, "burn_in_alpha": 0.01,
                   "regularization_coeff": 1.0, "batch_size": 10}  # fmt: skip
"""PoincareModel's own defaults (gensim 4.x), ``size`` apart (set per benchmark)."""


def available() -> bool:
    try:
        import gensim  # noqa: F401
    except ImportError:
        return False
    return True


def relations(tax: Taxonomy, pairs: np.ndarray | None = None) -> list[tuple[str, str]]:
    """Closure pairs as gensim's ``(child, ancestor)`` string tuples (node indices)."""
    desc, anc = tax.closure
    if pairs is not None:
        desc, anc = desc[pairs], anc[pairs]
    return list(zip(map(str, desc.tolist()), map(str, anc.tolist()), strict=True))


def vectors_in_order(model: Any, n_nodes: int) -> torch.Tensor:
    """``(n_nodes, size)`` gensim vectors in the taxonomy's node order (nodes gensim
    never saw stay at the origin)."""
    kv = model.kv
    out = np.zeros((n_nodes, kv.vectors.shape[1]), dtype=np.float64)
    out[np.fromiter(map(int, kv.index_to_key), dtype=np.int64)] = kv.vectors
    return torch.from_numpy(out)


def train_gensim(
    tax: Taxonomy,
    dim: int,
    budget_s: float,
    *,
    label: str,
    settings: dict[str, Any] | None = None,
    max_epochs: int = 10_000,
    seed: int = 0,
    times: Iterable[float] = SNAPSHOT_TIMES,
    rels: list[tuple[str, str]] | None = None,
) -> Run:
    """Train gensim's PoincareModel for about ``budget_s`` seconds (whole epochs; the
    burn-in epochs come first, all in the first call)."""
    from gensim.models.poincare import PoincareModel

    logging.getLogger("gensim").setLevel(logging.WARNING)
    s = {**GENSIM_DEFAULTS, **(settings or {})}
    batch = s.pop("batch_size")
    rels = relations(tax) if rels is None else rels
    run = Run(label, TrainConfig(data="gensim", dim=dim))
    t0 = time.perf_counter()
    model = PoincareModel(rels, size=dim, seed=seed, **s)
    run.setup_s = run.init_s = time.perf_counter() - t0
    run.snapshots.append((run.setup_s, 0.0, vectors_in_order(model, tax.n_nodes)))
    pending = [t for t in sorted(times) if t < budget_s]
    trained, epoch = 0.0, 0
    while epoch < max_epochs:
        c0 = time.perf_counter()
        model.train(epochs=1, batch_size=batch, print_every=10**9)
        seconds = time.perf_counter() - c0
        trained += seconds
        first = epoch == 0 and s["burn_in"] > 0
        epoch += 1 + (s["burn_in"] if first else 0)
        run.records.append({"epoch": epoch, "epoch_s": seconds / (1 + (s["burn_in"] if first
                            else 0)), "elapsed": trained})  # fmt: skip
        now = run.setup_s + trained
        if pending and now >= pending[0]:
            run.snapshots.append((now, float(epoch), vectors_in_order(model, tax.n_nodes)))
            while pending and pending[0] <= now:
                pending.pop(0)
        if now >= budget_s:
            break
    now = run.setup_s + trained
    if run.snapshots[-1][1] != epoch:
        run.snapshots.append((now, float(epoch), vectors_in_order(model, tax.n_nodes)))
    run.epochs, run.seconds = float(epoch), now
    run.model = model  # type: ignore[attr-defined]
    return run


def gensim_epoch_time(tax: Taxonomy, dim: int, *, fraction: float = 1.0,
                      negative: int = 10, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Seconds of one gensim epoch on ``tax``'s closure (no burn-in). The model is
    built on every pair (its vocabulary, each node's relations and the negative
    distribution are the real ones); with ``fraction < 1`` the epoch then walks a
    seeded random ``fraction`` of the pairs (gensim's ``all_relations``, which is all
    its epoch loop reads) and the time is scaled up. Building the model on a subset
    instead understates the cost (nouns dim 10: 25.8 s against 31.7 s per
    epoch), since negative sampling depends on each node's relations and the vocabulary."""
    from gensim.models.poincare import PoincareModel

    logging.getLogger("gensim").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    model = PoincareModel(relations(tax), size=dim, negative=negative, burn_in=0, seed=seed)
    build = time.perf_counter() - t0
    n = len(model.all_relations)
    if fraction < 1:
        pick = np.random.default_rng(seed).permutation(n)[: max(1, int(n * fraction))]
        model.all_relations = [model.all_relations[i] for i in np.sort(pick)]
    timed = len(model.all_relations)
    t0 = time.perf_counter()
    model.train(epochs=1, batch_size=GENSIM_DEFAULTS["batch_size"], print_every=10**9)
    seconds = time.perf_counter() - t0
    return {
        "dim": dim,
        "negative": negative,
        "pairs_timed": timed,
        "fraction": timed / n,
        "build_s": build,
        "epoch_s": seconds * n / timed,
        "edges_per_s": timed / seconds,
    }


def gensim_eval_time(tax: Taxonomy, weight: torch.Tensor, tsv: Path, *,
                     max_n: int = 200) -> dict[str, Any]:  # fmt: skip
    """Time gensim's ``ReconstructionEvaluation`` over its first ``max_n`` items (its
    own iteration order) with ``weight`` as the vectors of every node, and scale to all
    nodes that have pairs. Its cost does not depend on the vectors' values."""
    from gensim.models.poincare import PoincareKeyedVectors, ReconstructionEvaluation

    desc, anc = tax.closure
    if not tsv.is_file():
        tmp = tsv.with_suffix(".tmp")
        np.savetxt(tmp, np.stack((desc, anc), 1), fmt="%d", delimiter="\t")
        tmp.rename(tsv)
    kv = PoincareKeyedVectors(weight.shape[1], tax.n_nodes)
    kv.add_vectors([str(i) for i in range(tax.n_nodes)], weight.numpy().astype(np.float64))
    t0 = time.perf_counter()
    evaluation = ReconstructionEvaluation(str(tsv), kv)
    setup = time.perf_counter() - t0
    with_pairs = len(evaluation.relations)
    t0 = time.perf_counter()
    result = evaluation.evaluate(max_n=max_n)
    seconds = time.perf_counter() - t0
    # gensim walks its item set, skipping items without pairs, and stops after item max_n + 1
    done = sum(1 for i, it in enumerate(evaluation.items, 1)
               if i <= max_n + 1 and it in evaluation.relations)  # fmt: skip
    return {
        "setup_s": setup,
        "items_timed": done,
        "items_total": with_pairs,
        "sample_s": seconds,
        "extrapolated_s": setup + seconds * with_pairs / done,
        "sample_map": float(result["MAP"]),
        "sample_mean_rank": float(result["mean_rank"]),
        "ok": math.isfinite(seconds),
    }
