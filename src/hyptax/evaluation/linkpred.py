"""Link prediction: a seeded train / validation / test split of the closure pairs,
the ranking of held-out pairs, and the trivial baseline that gives it meaning.

On a taxonomy the closure of the training pairs often already implies a held-out
pair (``u -> parent`` and ``parent -> grandparent`` imply ``u -> grandparent``), so a
high link-prediction MAP may only show that the embedding learnt transitivity. The
report therefore states what share of the test pairs the training closure implies
(``trivial_recall``, what a model that only closes the training pairs recovers) and
the MAP on the test pairs it does not imply.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.taxonomy import Taxonomy
from .geometry import BallView
from .ranking import Queries, reconstruction


def split_edges(
    desc: np.ndarray, anc: np.ndarray, fraction: float, seed: int, n_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks ``(train, valid, test)`` over the closure pairs ``(desc, anc)``.

    Every node keeps at least one training pair: each node with pairs of its own
    keeps one of them (drawn at random), and a node seen only as an ancestor keeps
    one pair that points to it. Of the other pairs, ``round(fraction * m)`` go to
    validation and as many to test, at random; if fewer are free, the free pairs are
    split evenly between the two. The masks depend only on the set of pairs, the
    fraction and the seed (not on the order the pairs come in).
    """
    if not 0.0 <= fraction < 0.5:
        raise ValueError(f"holdout fraction must be in [0, 0.5), not {fraction}")
    desc = np.asarray(desc, dtype=np.int64)
    anc = np.asarray(anc, dtype=np.int64)
    m = len(desc)
    order = np.lexsort((anc, desc))  # work in a canonical order
    d, a = desc[order], anc[order]
    rng = np.random.default_rng(seed)
    draw = rng.random(m)
    keep = np.zeros(m, dtype=bool)
    by_desc = np.lexsort((draw, d))
    first = np.r_[True, d[by_desc][1:] != d[by_desc][:-1]]
    keep[by_desc[first]] = True
    covered = np.zeros(n_nodes, dtype=bool)
    covered[d[keep]] = True
    covered[a[keep]] = True
    need = ~covered[a]
    if need.any():
        cand = np.flatnonzero(need)
        cand = cand[np.lexsort((draw[cand], a[cand]))]
        first = np.r_[True, a[cand][1:] != a[cand][:-1]]
        keep[cand[first]] = True
    free = rng.permutation(np.flatnonzero(~keep))
    n_hold = min(round(fraction * m), len(free) // 2)
    valid_c = np.zeros(m, dtype=bool)
    test_c = np.zeros(m, dtype=bool)
    valid_c[free[:n_hold]] = True
    test_c[free[n_hold : 2 * n_hold]] = True
    train, valid, test = (np.empty(m, dtype=bool) for _ in range(3))
    train[order], valid[order], test[order] = ~(valid_c | test_c), valid_c, test_c
    return train, valid, test


def implied_by(
    desc: np.ndarray, anc: np.ndarray, known: np.ndarray, query: np.ndarray, n_nodes: int
) -> np.ndarray:
    """``(query.sum(),)`` bool: which ``query`` pairs the transitive closure of the
    ``known`` pairs contains."""
    ids = np.arange(n_nodes).astype(str)
    closed = Taxonomy.from_closure(ids, desc[known], anc[known]).closure
    have = np.asarray(closed[0], dtype=np.int64) * n_nodes + closed[1]
    want = desc[query].astype(np.int64) * n_nodes + anc[query]
    return np.isin(want, have)


def link_prediction(
    view: BallView,
    desc: np.ndarray,
    anc: np.ndarray,
    *,
    fraction: float,
    seed: int,
    progress: bool = False,
) -> dict[str, Any]:
    """Rank the test pairs of :func:`split_edges` against every node that is not a
    known ancestor (filtered setting), and report the trivial closure baseline."""
    n = view.n
    train, valid, test = split_edges(desc, anc, fraction, seed, n)
    out: dict[str, Any] = {
        "holdout": fraction,
        "split_seed": seed,
        "n_train": int(train.sum()),
        "n_valid": int(valid.sum()),
        "n_test": int(test.sum()),
    }
    if not test.any():
        return {**out, "test": None, "trivial_recall": None, "test_not_implied": None}
    q = Queries.from_pairs(desc[test], anc[test], n, exclude=(desc, anc))
    out["test"] = reconstruction(view, q, progress=progress)
    implied = implied_by(desc, anc, train, test, n)
    out["trivial_recall"] = float(implied.mean())
    out["n_test_implied"] = int(implied.sum())
    hard = np.flatnonzero(test)[~implied]
    if len(hard):
        q = Queries.from_pairs(desc[hard], anc[hard], n, exclude=(desc, anc))
        out["test_not_implied"] = reconstruction(view, q, progress=progress)
    else:
        out["test_not_implied"] = None
    return out
