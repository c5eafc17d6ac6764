"""Faithfulness to the tree: hand-known trees and brute force over all pairs."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from conftest import balanced_tree, fan_embedding, random_dag
from hyptax.config import EvalConfig
from hyptax.data.taxonomy import Taxonomy
from hyptax.errors import ConfigError
from hyptax.evaluation import faithful, hierarchy
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.hierarchy import tie_groups
from hyptax.manifolds import get_manifold
from hyptax.manifolds.numerics import radial_resolution

RESOLUTION = radial_resolution(torch.float64)

FIGURES = ("adjacent_nearest", "parent_rank_median", "parent_rank_mean", "n_with_parent",
           "knn_tree_distance", "knn_tree_distance_best")  # fmt: skip


def chain(n: int, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Parent edges of the path offset -> offset + 1 -> ... (node i + 1 below node i)."""
    return np.arange(offset + 1, offset + n), np.arange(offset, offset + n - 1)


def taxonomy(n: int, child: np.ndarray, parent: np.ndarray) -> Taxonomy:
    return Taxonomy.from_edges([f"n{i}" for i in range(n)], child, parent)


def on_a_ray(signed: np.ndarray, dim: int = 2) -> torch.Tensor:
    """Points at signed hyperbolic distances ``signed`` from the origin along e1."""
    w = torch.zeros(len(signed), dim, dtype=torch.float64)
    w[:, 0] = torch.tanh(torch.as_tensor(signed, dtype=torch.float64) / 2)
    return w


def path_embedding(n: int, tau: float) -> torch.Tensor:
    """A path on a geodesic through the origin, centred; each step a hair longer than
    the one above it (1e-7, far above float noise and far below the resolution at which
    Spearman counts distances as ties), so a node's parent is strictly closer than its
    child."""
    steps = tau * (1 + 1e-7 * np.arange(n - 1))
    s = np.r_[0.0, np.cumsum(steps)]
    return on_a_ray(s - s[n // 2])


def brute_force(w: torch.Tensor, tax: Taxonomy, k: int) -> dict:
    """Every figure of faithfulness() over all queries, from dense all-pairs matrices.

    Nodes are ordered by the key ``|p_q - p_w|^2 g_w`` (monotone in the distance for a
    fixed ``q``): exact ties in the distance (mirror-image siblings) then break the
    same way in the last bit as they do in the kernel."""
    n = tax.n_nodes
    adj = csr_matrix((np.ones(tax.n_edges), (tax.child, tax.parent)), shape=(n, n))
    t = shortest_path(adj, directed=False, unweighted=True)
    p = w.numpy()
    g = 1 / (1 - (p * p).sum(1))
    sq = ((p[:, None] - p[None]) ** 2).sum(-1)
    d = np.arccosh(np.maximum(1 + 2 * sq * g[:, None] * g[None], 1))
    key = sq * g[None]
    parents = {u: [] for u in range(n)}
    for c, a in zip(tax.child.tolist(), tax.parent.tolist(), strict=True):
        parents[c].append(a)
    adjacent, ranks, knn, best = [], [], [], []
    for q in range(n):
        others = np.flatnonzero((np.arange(n) != q) & np.isfinite(t[q]))
        by_d = others[np.lexsort((others, key[q, others]))]  # ties to the lower index
        adjacent.append(t[q, by_d[0]] == 1)
        if parents[q]:
            kp = min(key[q, a] for a in parents[q])
            ranks.append(1 + int((key[q, others] < kp).sum()))
        knn.append(t[q, by_d[:k]].mean())
        best.append(np.sort(t[q, others])[:k].mean())
    off = ~np.eye(n, dtype=bool) & np.isfinite(t)
    ratio = d[off] / t[off]
    scale = np.median(ratio)
    return {
        "t": t,
        "d": d,
        "adjacent_nearest": float(np.mean(adjacent)),
        "parent_rank_median": float(np.median(ranks)),
        "parent_rank_mean": float(np.mean(ranks)),
        "n_with_parent": len(ranks),
        "knn_tree_distance": float(np.mean(knn)),
        "knn_tree_distance_best": float(np.mean(best)),
        "spearman_tree": stats.spearmanr(tie_groups(d[off], RESOLUTION), t[off])[0],
        "distortion": np.mean(np.abs(ratio / scale - 1)),
        "distortion_scale": scale,
    }


def run(w, tax, **kw):
    args = {"n_queries": 10_000, "n_pairs": 200_000, "k": 3, "seed": 0, **kw}
    return faithful.faithfulness(ball_view(w, "poincare"), tax, **args)


# --------------------------------------------------------------------- hand-known
def test_a_path_on_a_geodesic_is_faithful():
    n, tau = 12, 0.5
    tax = taxonomy(n, *chain(n))
    got = run(path_embedding(n, tau), tax)
    assert got["adjacent_nearest"] == 1.0
    assert got["parent_rank_median"] == 1.0 and got["parent_rank_mean"] == 1.0
    assert got["n_with_parent"] == n - 1
    # Ends: 1, 2, 3; inside: 1, 1, 2 (by distance and in the tree alike).
    assert got["knn_tree_distance"] == got["knn_tree_distance_best"]
    assert got["knn_tree_distance"] == pytest.approx((2 * 6 + (n - 2) * 4) / 3 / n)
    assert got["spearman_tree"] == pytest.approx(1.0, abs=1e-12)
    assert got["spearman_tree_raw"] < 0.999  # last-bit noise breaks the exact ties
    assert got["distortion"] < 1e-5
    assert got["distortion_scale"] == pytest.approx(tau, rel=2e-3)
    assert got["n_pairs"] >= 200_000 and got["sampled"] is False and got["n_queries"] == n


def test_a_star_is_faithful_by_hand():
    tau = 1.0
    tax = taxonomy(5, np.arange(1, 5), np.zeros(4, dtype=int))
    r = math.tanh(tau / 2)
    w = torch.tensor([[0, 0], [r, 0], [0, r], [-r, 0], [0, -r]], dtype=torch.float64)
    got = run(w, tax)
    assert got["adjacent_nearest"] == 1.0  # leaves -> root, root -> a leaf
    assert got["parent_rank_median"] == 1.0 and got["parent_rank_mean"] == 1.0
    assert got["n_with_parent"] == 4
    # A leaf's 3 nearest: the root (1) and its two orthogonal neighbours (2); the root's
    # 3 nearest are leaves (1). Nothing closer in the tree exists.
    assert got["knn_tree_distance"] == pytest.approx((4 * 5 / 3 + 1) / 5)
    assert got["knn_tree_distance_best"] == pytest.approx((4 * 5 / 3 + 1) / 5)
    # Ordered pairs, uniform: 8 root-leaf (d = tau, t = 1), 4 opposite leaves
    # (d = 2 tau, t = 2), 8 orthogonal leaves (cosh d = cosh^2 tau, t = 2).
    ortho = math.acosh(math.cosh(tau) ** 2)
    assert got["distortion_scale"] == pytest.approx(tau)  # 12 of 20 ratios are tau
    assert got["distortion"] == pytest.approx(0.4 * (1 - ortho / (2 * tau)), rel=0.03)
    d = np.repeat([tau, 2 * tau, ortho], [8, 4, 8])
    t = np.repeat([1, 2, 2], [8, 4, 8])
    assert got["spearman_tree"] == pytest.approx(stats.spearmanr(d, t)[0], abs=0.01)


def brute_force_cases(case: str) -> tuple[torch.Tensor, Taxonomy]:
    if case == "dag":  # several parents: the closest one counts
        tax = random_dag(40, 5, max_parents=3)
        gen = torch.Generator().manual_seed(0)
        return get_manifold("poincare").random(tax.n_nodes, 3, 0.9, gen), tax
    tax = balanced_tree((2, 2, 2))
    if case == "duplicates":  # the leaves on top of the inner nodes: exact ties
        w = fan_embedding(tax, (1.0, 2.0, 4.0))
        w[8:15] = w[1:8]
        return w, tax
    return fan_embedding(tax, {"fan": (1.0, 2.0, 4.0), "short": (0.3, 0.3, 0.3)}[case]), tax


@pytest.mark.parametrize("case", ["fan", "short", "duplicates", "dag"])
def test_every_figure_matches_brute_force(case):
    w, tax = brute_force_cases(case)
    got = run(w, tax)
    want = brute_force(w, tax, 3)
    for key in ("adjacent_nearest", "parent_rank_median", "parent_rank_mean", "n_with_parent"):
        assert got[key] == want[key], key
    assert got["knn_tree_distance"] == pytest.approx(want["knn_tree_distance"], rel=1e-12)
    assert got["knn_tree_distance_best"] == pytest.approx(want["knn_tree_distance_best"], rel=1e-12)
    # Every ordered pair is equally likely, so the sampled figures estimate these.
    assert got["spearman_tree"] == pytest.approx(want["spearman_tree"], abs=0.01)
    assert got["distortion"] == pytest.approx(want["distortion"], rel=0.03)
    assert got["distortion_scale"] == pytest.approx(want["distortion_scale"], rel=0.03)
    graph = faithful.TreeGraph.from_taxonomy(tax)
    assert (graph.distances(np.arange(tax.n_nodes)) == want["t"]).all()


def test_bfs_on_a_dag_and_a_forest_matches_scipy():
    dag = random_dag(80, 3, max_parents=2)
    assert not dag.is_tree
    c2, p2 = chain(10, offset=80)
    forest = taxonomy(90, np.r_[dag.child, c2], np.r_[dag.parent, p2])  # two components
    for tax in (dag, forest):
        n = tax.n_nodes
        adj = csr_matrix((np.ones(tax.n_edges), (tax.child, tax.parent)), shape=(n, n))
        want = shortest_path(adj, directed=False, unweighted=True)
        want = np.where(np.isfinite(want), want, -1).astype(np.int32)
        graph = faithful.TreeGraph.from_taxonomy(tax)
        assert (graph.distances(np.arange(n)) == want).all()
        # Pairs in any order come back in their own order.
        rng = np.random.default_rng(0)
        first, second = rng.integers(0, n, 500), rng.integers(0, n, 500)
        assert (graph.pair_distances(first, second) == want[first, second]).all()
    assert (forest.n_nodes, (want < 0).sum()) == (90, 2 * 80 * 10)


def test_unreachable_nodes_are_left_out():
    """Two copies of a path at the same points: each node's twin (distance 0) sits
    in the other component and must not count, so the figures are the path's."""
    n = 10
    one = taxonomy(n, *chain(n))
    c1, p1 = chain(n)
    c2, p2 = chain(n, offset=n)
    two = taxonomy(2 * n, np.r_[c1, c2], np.r_[p1, p2])
    w = path_embedding(n, 0.5)
    single, double = run(w, one), run(torch.cat([w, w]), two)
    for key in FIGURES:
        want = single[key] * (2 if key == "n_with_parent" else 1)
        assert double[key] == pytest.approx(want, rel=1e-12), key
    assert double["spearman_tree"] == pytest.approx(1.0, abs=1e-12)
    assert double["distortion"] < 1e-5


def test_a_scrambled_embedding_scores_clearly_worse():
    tax = balanced_tree((3, 3, 3))
    w = fan_embedding(tax, (1.0, 2.0, 4.0))
    perm = np.random.default_rng(0).permutation(tax.n_nodes)
    good, bad = run(w, tax, k=5), run(w[perm], tax, k=5)
    assert good["adjacent_nearest"] > 0.8 > 0.4 > bad["adjacent_nearest"]
    assert good["parent_rank_median"] == 1 and bad["parent_rank_median"] > 5
    assert good["knn_tree_distance"] < bad["knn_tree_distance"] - 1
    assert good["knn_tree_distance_best"] == bad["knn_tree_distance_best"]  # the tree's own
    assert good["spearman_tree"] > 0.7 and bad["spearman_tree"] < 0.3
    assert good["distortion"] < bad["distortion"] - 0.1


def test_queries_are_seeded_and_sampled():
    tax = random_dag(300, 1, max_parents=2)
    w = fan_embedding(balanced_tree((2, 2, 2, 2, 2, 2, 2, 2)), (1.0,) * 8)[:300]
    a = run(w, tax, n_queries=50, n_pairs=1000, seed=4)
    b = run(w, tax, n_queries=50, n_pairs=1000, seed=4)
    c = run(w, tax, n_queries=50, n_pairs=1000, seed=5)
    a.pop("seconds"), b.pop("seconds"), c.pop("seconds")
    assert a == b and a != c
    assert a["sampled"] is True and a["n_queries"] == 50 and a["n_pairs"] == 1000
    assert a["n_with_parent"] <= 50


@pytest.mark.parametrize("field", ["faithful_queries", "faithful_k"])
def test_config_refuses_non_positive_settings(field):
    assert getattr(EvalConfig(), field) > 0
    with pytest.raises(ConfigError, match=field.replace("_", "-")):
        EvalConfig(**{field: 0})


# --------------------------------------------------------------------- clades
def exact_tree_separation(t: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    """Mean tree distances with the sampling weights of clade_separation."""
    n = len(labels)
    within, between = [], []
    for i in np.flatnonzero(labels >= 0):
        same = (labels == labels[i]) & (np.arange(n) != i)
        within.append(t[i, same].mean())
        between.append(t[i, (labels >= 0) & (labels != labels[i])].mean())
    return np.mean(between) / np.mean(within), np.mean(within), np.mean(between)


def test_clade_tree_ratio_matches_the_exact_expectation_and_is_seeded():
    tax = balanced_tree((3, 3, 3))
    labels = hierarchy.clade_labels(tax, hierarchy.TOP_LEVEL)
    view = ball_view(fan_embedding(tax, (1.0, 2.0, 4.0)), "poincare")
    tree = faithful.TreeGraph.from_taxonomy(tax)
    ratio, within, between = exact_tree_separation(tree.distances(np.arange(tax.n_nodes)), labels)
    kw = {"n_pairs": 200_000, "rank": "x", "tree": tree}
    got = hierarchy.clade_separation(view, labels, seed=0, **kw)
    assert got["tree_ratio"] == pytest.approx(ratio, rel=0.02)
    assert got["tree_mean_within"] == pytest.approx(within, rel=0.02)
    assert got["tree_mean_between"] == pytest.approx(between, rel=0.02)
    assert hierarchy.clade_separation(view, labels, seed=0, **kw) == got
    assert hierarchy.clade_separation(view, labels, seed=1, **kw)["tree_ratio"] != got["tree_ratio"]
    plain = hierarchy.clade_separation(view, labels, n_pairs=1000, seed=0)
    assert plain["tree_ratio"] is None and plain["ratio"] is not None


def test_clade_pairs_are_grouped_by_few_sources(monkeypatch):
    """With fewer sources than members the tree figures still estimate the exact ones."""
    tax = balanced_tree((4, 4, 4))
    labels = hierarchy.clade_labels(tax, hierarchy.TOP_LEVEL)
    view = ball_view(fan_embedding(tax, (1.0, 2.0, 4.0)), "poincare")
    tree = faithful.TreeGraph.from_taxonomy(tax)
    t = tree.distances(np.arange(tax.n_nodes))
    monkeypatch.setattr(hierarchy, "N_SOURCES", 40)
    calls = []
    pair_distances = faithful.TreeGraph.pair_distances

    def spy(self, first, second):
        calls.append(len(np.unique(first)))
        return pair_distances(self, first, second)

    monkeypatch.setattr(faithful.TreeGraph, "pair_distances", spy)
    got = hierarchy.clade_separation(view, labels, n_pairs=20_000, seed=0, rank="x", tree=tree)
    assert calls == [40]  # one shared list of 40 first nodes: one BFS each
    assert got["tree_ratio"] == pytest.approx(exact_tree_separation(t, labels)[0], rel=0.05)


def test_tree_pairs_walk_to_the_common_ancestor_as_the_search_finds():
    """On a forest, pair distances by the common-ancestor walk equal the BFS ones."""
    forest = random_dag(300, 4)  # a tree on nodes 0..299
    child = np.r_[forest.child, np.arange(301, 320)]  # and a second tree under 300
    parent = np.r_[forest.parent, np.full(19, 300)]
    tax = Taxonomy.from_edges([f"n{i}" for i in range(320)], child, parent)
    walk = faithful.TreeGraph.from_taxonomy(tax)
    assert walk.depth is not None
    search = dataclasses.replace(walk, depth=None)
    rng = np.random.default_rng(0)
    first, second = rng.integers(0, 320, 5000), rng.integers(0, 320, 5000)
    got = walk.pair_distances(first, second)
    assert np.array_equal(got, search.pair_distances(first, second))
    assert (got == -1).any() and (got == 0).any()
