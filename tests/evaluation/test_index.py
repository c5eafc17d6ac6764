"""The kd-tree over the ball: every answer equals the brute force's, ties included."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from conftest import balanced_tree, fan_embedding
from hyptax.evaluation import faithful, hierarchy, index
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.queries import Queries
from hyptax.evaluation.ranking import count_closer
from hyptax.manifolds import get_manifold


def points(case: str) -> torch.Tensor:
    """Random points with exact duplicates, or a tree laid out in fans (clustered,
    near the boundary: the embeddings the index is for)."""
    if case == "fan":
        tax = balanced_tree((3, 3, 3, 3))
        w = fan_embedding(tax, (1.0, 2.0, 3.0, 4.0))
        w[60:70] = w[10:20]  # exact ties between far-apart nodes
        return w
    g = torch.Generator().manual_seed(3)
    w = get_manifold("poincare").random(400, 3, 0.95, g)
    w[100:150] = w[200:250]
    return w


def keys(view, rows):
    """Brute force: ``(len(rows), n)`` keys formed coordinate by coordinate."""
    out = np.zeros((len(rows), view.n))
    for d in range(view.p.shape[1]):
        t = view.p[rows, d, None] - view.p[None, :, d]
        out += t * t
    return out * view.gap_inv


@pytest.mark.parametrize("case", ["random", "fan"])
@pytest.mark.parametrize("leaf", [1, 4, 32])
def test_neighbours_match_the_brute_force_with_ties_and_a_pool(case, leaf):
    view = ball_view(points(case), "poincare")
    ix = index.ball_index(view, leaf=leaf)
    queries = np.arange(0, view.n, 3)
    got = index.knn(ix, view.p[queries], 7, skip=queries)
    assert (got == hierarchy.nearest_neighbours(view, queries, 7)).all()
    pool = np.random.default_rng(0).random(view.n) < 0.4
    got = index.knn(ix, view.p[queries], 5, skip=queries, among=pool)
    k = keys(view, queries)
    k[:, ~pool] = np.inf
    k[np.arange(len(queries)), queries] = np.inf
    want = np.argsort(k, axis=1, kind="stable")[:, :5]  # equal keys: the lower index first
    assert (got == want).all()


@pytest.mark.parametrize("case", ["random", "fan"])
def test_counts_below_a_key_match_the_brute_force(case):
    view = ball_view(points(case), "poincare")
    ix = index.ball_index(view, leaf=4)
    rows = np.arange(0, view.n, 5)
    k = keys(view, rows)
    other = (rows * 7 + 3) % view.n
    thresholds = k[np.arange(len(rows)), other]  # keys of real nodes: ties happen
    assert (ix.keys(view.p[rows], other) == thresholds).all()
    for strict in (True, False):
        got = index.count_closer(ix, view.p[rows], thresholds, strict=strict)
        below = k < thresholds[:, None] if strict else k <= thresholds[:, None]
        assert (got == below.sum(axis=1)).all()


@pytest.mark.parametrize("case", ["random", "fan"])
@pytest.mark.parametrize("score", ["distance", "ancestor"])
def test_ranking_by_the_index_equals_the_scan(case, score):
    view = ball_view(points(case), "poincare")
    n = view.n
    rng = np.random.default_rng(1)
    desc, anc = rng.integers(0, n, 3000), rng.integers(0, n, 3000)
    key = np.unique((desc * n + anc)[desc != anc])
    extra = rng.integers(0, n, (2, 2000))
    q = Queries.from_pairs(key // n, key % n, n, exclude=(extra[0], extra[1]))
    ix = index.ball_index(view, leaf=4)
    got = count_closer(view, q, score=score, index=ix)
    want = count_closer(view, q, score=score, backend="numba")  # checked by brute force
    for field in ("less", "leq", "pos_le"):
        assert (getattr(got, field) == getattr(want, field)).all(), field
    work = np.zeros(len(q.rows), dtype=np.int64)
    index.rank_counts(ix, q, ancestor=score == "ancestor", work=work)
    assert (work > 0).all()


def test_points_outside_the_ball_are_not_indexed():
    w = points("random")
    assert index.indexable(ball_view(w, "poincare"))
    w[5] = 2.0 * w[5] / w[5].norm()
    assert not index.indexable(ball_view(w, "poincare"))


def test_purity_by_the_index_equals_the_scan():
    tax = balanced_tree((3, 3, 3, 3))
    view = ball_view(fan_embedding(tax, (1.0, 1.5, 2.0, 2.5)), "poincare")
    top = tax.top_level().astype(np.int64)
    labels = {"a": top, "b": np.where(tax.depth >= 3, top, -1)}
    ix = index.ball_index(view, leaf=2)
    got = hierarchy.knn_purity(view, labels, k=5, n_queries=30, seed=0, index=ix)
    assert got == hierarchy.knn_purity(view, labels, k=5, n_queries=30, seed=0)


@pytest.mark.parametrize("steps", [(1.0, 2.0, 4.0, 8.0), (0.3, 0.3, 0.3, 0.3), None])
def test_faithfulness_by_the_index_equals_the_scan(steps):
    tax = balanced_tree((3, 3, 2, 2))
    if steps is None:  # a random embedding: the nearest nodes are far in the tree
        w = get_manifold("poincare").random(tax.n_nodes, 3, 0.9, torch.Generator().manual_seed(5))
    else:
        w = fan_embedding(tax, steps)
    view = ball_view(w, "poincare")
    ix = index.ball_index(view, leaf=3)
    args = {"n_queries": 40, "n_pairs": 2000, "k": 4, "seed": 1}
    got = faithful.faithfulness(view, tax, index=ix, **args)
    want = faithful.faithfulness(view, tax, **args)
    for field in dataclasses.fields(dataclasses.make_dataclass("F", list(want))):
        name = field.name
        if name == "seconds":
            continue
        if name == "spearman_tree_raw":  # untied ranks follow last-bit noise
            assert got[name] == pytest.approx(want[name], abs=1e-3)
        elif name in ("spearman_tree", "distortion", "distortion_scale"):
            # pair distances: the manifold's dist here, the key's acosh there (last bits)
            assert got[name] == pytest.approx(want[name], rel=1e-9), name
        else:
            assert got[name] == want[name], name
