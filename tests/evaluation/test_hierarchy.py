"""Hierarchy metrics on constructed cases: clades, separation, purity, norms."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hyptax.data.taxonomy import Taxonomy
from hyptax.evaluation import hierarchy
from hyptax.evaluation.geometry import ball_view
from hyptax.manifolds import get_manifold


def ranked_taxonomy() -> Taxonomy:
    """root -> phyla P, Q -> classes -> genera (a tiny NCBI-shaped tree)."""
    ids = ["root", "P", "Q", "P1", "P2", "Q1", "g1", "g2", "g3", "g4"]
    ranks = ["no rank", "phylum", "phylum", "class", "class", "class"] + ["genus"] * 4
    edges = [("P", "root"), ("Q", "root"), ("P1", "P"), ("P2", "P"), ("Q1", "Q"),
             ("g1", "P1"), ("g2", "P1"), ("g3", "P2"), ("g4", "Q1")]  # fmt: skip
    idx = {s: i for i, s in enumerate(ids)}
    child = np.array([idx[c] for c, _ in edges])
    parent = np.array([idx[p] for _, p in edges])
    return Taxonomy.from_edges(ids, child, parent, ranks=ranks)


def test_clade_labels_are_the_ancestor_at_the_rank():
    tax = ranked_taxonomy()
    at = {s: i for i, s in enumerate(tax.ids.tolist())}
    phylum = hierarchy.clade_labels(tax, "phylum")
    assert phylum[at["root"]] == -1
    assert phylum[at["P"]] == at["P"]
    assert phylum[at["g3"]] == at["P"]
    assert phylum[at["g4"]] == at["Q"]
    klass = hierarchy.clade_labels(tax, "class")
    assert klass[at["g1"]] == klass[at["g2"]] == at["P1"]
    assert klass[at["P"]] == -1
    assert hierarchy.clade_levels(tax, ("phylum", "class", "order")) == ["phylum", "class"]


def test_top_level_is_used_without_ranks():
    tax = Taxonomy.from_edges(["r", "a", "b", "a1"], np.array([1, 2, 3]), np.array([0, 0, 1]))
    assert hierarchy.clade_levels(tax, ("phylum",)) == ["top_level"]
    assert hierarchy.clade_labels(tax, "top_level").tolist() == [-1, 1, 2, 1]


def test_keep_large_drops_small_clades():
    labels = np.array([0, 0, 0, 3, 3, -1, 5])
    assert hierarchy.keep_large(labels, 2).tolist() == [0, 0, 0, 3, 3, -1, -1]
    assert hierarchy.keep_large(labels, 3).tolist() == [0, 0, 0, -1, -1, -1, -1]


def clusters(sizes, spread, seed):
    """Clusters of points around well separated centres at radius 0.6 in the disk."""
    g = np.random.default_rng(seed)
    pts, labels = [], []
    for c, size in enumerate(sizes):
        angle = 2 * np.pi * c / len(sizes)
        centre = 0.6 * np.array([np.cos(angle), np.sin(angle)])
        pts.append(centre + spread * g.normal(size=(size, 2)))
        labels += [c] * size
    return torch.tensor(np.concatenate(pts)), np.array(labels)


def exact_separation(w, labels):
    """Mean distances with the sampling weights of clade_separation, by brute force."""
    d = get_manifold("poincare").dist(w[:, None], w[None]).numpy()
    n = len(labels)
    within, between = [], []
    for i in range(n):
        same = (labels == labels[i]) & (np.arange(n) != i)
        within.append(d[i, same].mean())
        between.append(d[i, labels != labels[i]].mean())
    return np.mean(between) / np.mean(within), np.mean(within), np.mean(between)


def test_separation_matches_the_exact_expectation_and_is_seeded():
    w, labels = clusters([20, 30, 25], 0.05, 0)
    view = ball_view(w, "poincare")
    got = hierarchy.clade_separation(view, labels, n_pairs=200_000, seed=0, rank="x")
    ratio, within, between = exact_separation(w, labels)
    assert got["ratio"] == pytest.approx(ratio, rel=0.02)
    assert got["mean_within"] == pytest.approx(within, rel=0.02)
    assert got["mean_between"] == pytest.approx(between, rel=0.02)
    assert got["ratio"] > 3
    again = hierarchy.clade_separation(view, labels, n_pairs=200_000, seed=0, rank="x")
    other = hierarchy.clade_separation(view, labels, n_pairs=200_000, seed=1, rank="x")
    assert again == got
    assert other["ratio"] != got["ratio"]


def test_separation_of_random_labels_is_near_one():
    w = get_manifold("poincare").random(120, 3, 0.8, torch.Generator().manual_seed(1))
    labels = np.random.default_rng(2).integers(0, 3, size=len(w))
    got = hierarchy.clade_separation(ball_view(w, "poincare"), labels, n_pairs=50_000, seed=0)
    assert got["ratio"] == pytest.approx(1.0, abs=0.06)


def test_separation_needs_two_clades():
    w, _ = clusters([15], 0.1, 3)
    got = hierarchy.clade_separation(
        ball_view(w, "poincare"), np.zeros(15, int), n_pairs=10, seed=0
    )
    assert got["ratio"] is None and got["n_clades"] == 1


@pytest.mark.parametrize("use_numba", [True, False])
def test_nearest_neighbours_match_brute_force_with_ties(monkeypatch, use_numba):
    if not use_numba:
        monkeypatch.setattr(hierarchy, "numba", None)
    g = torch.Generator().manual_seed(4)
    w = (torch.rand(50, 3, generator=g, dtype=torch.float64) - 0.5) * 1.2
    w[10:20] = w[20:30]  # duplicates: ties go to the lower index
    view = ball_view(w, "poincare")
    queries = np.arange(0, 50, 3)
    got = hierarchy.nearest_neighbours(view, queries, 6)
    d = get_manifold("poincare").dist(w[:, None], w[None]).numpy()
    for q, row in zip(queries, got, strict=True):
        dq = d[q].copy()
        dq[q] = np.inf
        want = np.lexsort((np.arange(50), dq))[:6]
        assert row.tolist() == want.tolist()


def test_purity_of_separated_clusters_is_one_and_chance_is_reported():
    w, labels = clusters([12, 12, 16], 0.02, 5)
    view = ball_view(w, "poincare")
    got = hierarchy.knn_purity(view, {"c": labels}, k=5, n_queries=1000, seed=0)["c"]
    assert got["purity"] == 1.0
    assert got["n_queries"] == len(labels)
    sizes = np.bincount(labels)
    assert got["chance"] == pytest.approx(np.mean((sizes[labels] - 1) / (len(labels) - 1)))
    shuffled = np.random.default_rng(0).permutation(labels)
    low = hierarchy.knn_purity(view, {"c": shuffled}, k=5, n_queries=1000, seed=0)["c"]
    assert low["purity"] < 0.6


def test_norm_stats():
    w = torch.tensor([[0.0, 0.0], [0.5, 0.0], [0.0, 0.9995], [1.2, 0.0]], dtype=torch.float64)
    got = hierarchy.norm_stats(ball_view(w, "poincare"), 1e-3)
    assert got["max_norm"] == pytest.approx(1.2)
    assert got["outside_frac"] == 0.25 and got["n_outside"] == 1
    assert got["near_boundary_frac"] == 0.5  # 0.9995 and the escaped point
    inside = hierarchy.norm_stats(ball_view(w[:3], "poincare"), 1e-3)
    assert inside["outside_frac"] == 0.0
    assert inside["mean_norm"] == pytest.approx((0.5 + 0.9995) / 3)


def test_lorentz_view_matches_the_poincare_view():
    p = clusters([10, 10], 0.1, 6)[0]
    x = get_manifold("lorentz").from_poincare(p)
    a, b = ball_view(p, "poincare"), ball_view(x, "lorentz")
    assert np.allclose(a.p, b.p, atol=1e-12)
    assert np.allclose(a.gap_inv, b.gap_inv, rtol=1e-9)
    assert np.allclose(a.dist0, b.dist0, atol=1e-9)


def test_depth_correlation():
    depth = np.array([0, 1, 1, 2, 2, 3])
    got = hierarchy.depth_correlation(2.0 * depth + 0.1, depth)
    assert got["pearson"] == pytest.approx(1.0) and got["spearman"] == pytest.approx(1.0)
    anti = hierarchy.depth_correlation(-1.0 * depth, depth)
    assert anti["spearman"] == pytest.approx(-1.0)
    assert hierarchy.depth_correlation(np.ones(6), depth)["pearson"] is None


def test_purity_pool_leaves_out_nodes_without_a_clade():
    w, labels = clusters([12, 12], 0.02, 7)
    w = torch.cat([w, w[:12] + 1e-4])  # unlabelled twins right beside clade 0
    labels = np.r_[labels, -np.ones(12, dtype=int)]
    got = hierarchy.knn_purity(ball_view(w, "poincare"), {"c": labels}, k=5, n_queries=100, seed=0)
    assert got["c"]["purity"] == 1.0 and got["c"]["pool"] == 24 and got["c"]["n_queries"] == 24
    assert got["c"]["chance"] == pytest.approx(11 / 23)


def test_spearman_counts_radii_within_resolution_as_ties() -> None:
    from hyptax.evaluation.hierarchy import depth_correlation, tie_groups

    rng = np.random.default_rng(0)
    depth = np.repeat([0, 1, 2, 3], [1, 10, 100, 2000])
    noise = rng.uniform(-1e-9, 1e-9, size=len(depth))  # last-bit noise, far below 2e-5
    dist0 = depth * 2.5 + noise
    corr = depth_correlation(dist0, depth)
    assert corr["spearman"] > 0.9999
    assert corr["spearman_raw"] < 0.9  # the noise alone breaks the ties
    # Real differences are kept.
    assert tie_groups(np.array([0.0, 1e-6, 1.0, 1.0 + 1e-3]), 2e-5).tolist() == [0, 0, 1, 2]


def test_radii_equal_within_resolution_give_no_scipy_warning():
    import warnings

    from hyptax.evaluation.hierarchy import depth_correlation
    from hyptax.manifolds.numerics import radial_resolution

    r = radial_resolution(torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = depth_correlation(np.array([1.0, 1 + r / 4, 1 + r / 3, 1 + r / 2]), np.arange(4))
    assert got["spearman"] is None and got["n"] == 4
