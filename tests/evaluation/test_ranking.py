"""Reconstruction ranks and MAP: the fast kernels against a plain brute force."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import balanced_tree, fan_embedding, random_dag
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, reconstruction
from hyptax.manifolds import get_manifold

BACKENDS = ("numba", "torch")


def brute_force(weight, manifold, desc, anc, n, exclude=None):
    """One anchor at a time, straight from the definition, with the manifold's dist."""
    m = get_manifold(manifold)
    desc, anc = np.asarray(desc), np.asarray(anc)
    exclude = (desc, anc) if exclude is None else exclude
    aps, aps_pess, ranks, ranks_pess = [], [], [], []
    for u in np.unique(desc).tolist():
        pos = anc[desc == u].tolist()
        out = set(exclude[1][exclude[0] == u].tolist()) | {u}
        d = m.dist(weight[u].unsqueeze(0), weight).numpy()
        neg = np.array([w for w in range(n) if w not in out])
        prec, prec_pess = [], []
        for v in pos:
            less = int((d[neg] < d[v]).sum())
            leq = int((d[neg] <= d[v]).sum())
            pos_le = sum(d[p] <= d[v] for p in pos)
            ranks.append(1 + less)
            ranks_pess.append(1 + leq)
            prec.append(pos_le / (pos_le + less))
            prec_pess.append(pos_le / (pos_le + leq))
        aps.append(np.mean(prec))
        aps_pess.append(np.mean(prec_pess))
    return np.mean(aps), np.mean(ranks), np.mean(aps_pess), np.mean(ranks_pess)


def sklearn_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """scikit-learn's average_precision_score: a step per distinct score threshold."""
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # the end of each tie group
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def points(n, dim, seed, manifold="poincare"):
    """Random points at all radii, some within 1e-6 of the boundary."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(n, dim, generator=g, dtype=torch.float64)
    direction /= direction.norm(dim=1, keepdim=True)
    radius = 1 - torch.rand(n, 1, generator=g, dtype=torch.float64) ** 3
    radius = radius.clamp(max=1 - 1e-6)
    x = direction * radius
    return x if manifold == "poincare" else get_manifold("lorentz").from_poincare(x)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("manifold", ["poincare", "lorentz"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_agrees_with_brute_force_on_random_dags(backend, manifold, seed):
    tax = random_dag(60, seed, max_parents=1 + seed)  # seed 0: a tree
    desc, anc = tax.closure
    w = points(tax.n_nodes, 3, seed, manifold)
    got = reconstruction(
        ball_view(w, manifold), Queries.from_pairs(desc, anc, tax.n_nodes), backend=backend
    )
    want = brute_force(w, manifold, desc, anc, tax.n_nodes)
    assert got["mode"] == "exact"
    assert got["map"] == pytest.approx(want[0], abs=1e-12)
    assert got["mean_rank"] == pytest.approx(want[1], abs=1e-12)
    assert got["map_pessimistic"] == pytest.approx(want[2], abs=1e-12)
    assert got["mean_rank_pessimistic"] == pytest.approx(want[3], abs=1e-12)
    assert got["n_pairs_ranked"] == len(desc)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ties_follow_the_documented_rule(backend):
    tax = random_dag(40, 3, max_parents=2)
    desc, anc = tax.closure
    w = points(tax.n_nodes, 2, 3)
    w[10:20] = w[0:10]  # exact duplicates tie in every formula
    w[20:25] = 0.0  # several points at the origin tie too
    w[25] = torch.tensor([0.5, 0.0], dtype=torch.float64)
    w[26] = torch.tensor([0.0, -0.5], dtype=torch.float64)  # same distance from the origin
    got = reconstruction(
        ball_view(w, "poincare"), Queries.from_pairs(desc, anc, tax.n_nodes), backend=backend
    )
    want = brute_force(w, "poincare", desc, anc, tax.n_nodes)
    assert got["tied_pairs"] > 0
    assert got["map"] > got["map_pessimistic"]
    assert got["map"] == pytest.approx(want[0], abs=1e-12)
    assert got["mean_rank"] == pytest.approx(want[1], abs=1e-12)
    assert got["map_pessimistic"] == pytest.approx(want[2], abs=1e-12)
    assert got["mean_rank_pessimistic"] == pytest.approx(want[3], abs=1e-12)


def test_pessimistic_ap_is_sklearns_average_precision():
    tax = random_dag(50, 4, max_parents=2)
    desc, anc = tax.closure
    w = points(tax.n_nodes, 2, 4)
    w[5:15] = w[30:40]
    m = get_manifold("poincare")
    aps = []
    for u in np.unique(desc).tolist():
        labels = np.zeros(tax.n_nodes)
        labels[anc[desc == u]] = 1
        keep = np.arange(tax.n_nodes) != u
        d = m.dist(w[u].unsqueeze(0), w).numpy()
        aps.append(sklearn_ap(labels[keep], -d[keep]))
    got = reconstruction(ball_view(w, "poincare"), Queries.from_pairs(desc, anc, tax.n_nodes))
    assert got["map_pessimistic"] == pytest.approx(np.mean(aps), abs=1e-12)


def test_collapsed_embedding_is_exposed_by_the_pessimistic_numbers():
    tax = balanced_tree((3, 3))
    desc, anc = tax.closure
    w = torch.zeros(tax.n_nodes, 2, dtype=torch.float64)
    got = reconstruction(ball_view(w, "poincare"), Queries.from_pairs(desc, anc, tax.n_nodes))
    assert got["map"] == 1.0
    assert got["tied_pairs"] == len(desc)
    assert got["map_pessimistic"] < 0.5
    assert got["mean_rank_pessimistic"] > 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_perfect_tree_embedding_has_map_one(backend):
    tax = balanced_tree((3, 3, 2))
    w = fan_embedding(tax, (1.0, 2.0, 4.0))
    desc, anc = tax.closure
    brute = brute_force(w, "poincare", desc, anc, tax.n_nodes)
    got = reconstruction(
        ball_view(w, "poincare"), Queries.from_pairs(desc, anc, tax.n_nodes), backend=backend
    )
    assert brute[:2] == (1.0, 1.0)
    assert got["map"] == 1.0
    assert got["mean_rank"] == 1.0
    assert got["tied_pairs"] == 0


def expected_random_ap(k: int, n_items: int) -> float:
    """Expected AP of a uniformly random ranking of k positives among n_items."""
    harmonic = np.sum(1.0 / np.arange(1, n_items + 1))
    return ((k - 1) / (n_items - 1) * (n_items - harmonic) + harmonic) / n_items


def test_random_embedding_is_near_chance():
    tax = random_dag(400, 5)
    desc, anc = tax.closure
    w = get_manifold("poincare").random(
        tax.n_nodes, 5, radius=0.5, generator=torch.Generator().manual_seed(5)
    )
    got = reconstruction(ball_view(w, "poincare"), Queries.from_pairs(desc, anc, tax.n_nodes))
    k = np.bincount(desc, minlength=tax.n_nodes)
    k = k[k > 0]
    chance = np.mean([expected_random_ap(int(x), tax.n_nodes - 1) for x in k])
    n_neg = tax.n_nodes - 1 - k
    chance_rank = np.sum(k * (1 + n_neg / 2)) / k.sum()
    assert 0.5 * chance < got["map"] < 2.0 * chance
    assert got["mean_rank"] == pytest.approx(chance_rank, rel=0.25)


def test_sampled_is_seeded_labelled_and_brackets_the_exact_value():
    tax = random_dag(400, 6, max_parents=2)
    desc, anc = tax.closure
    view = ball_view(points(tax.n_nodes, 4, 6), "poincare")
    q = Queries.from_pairs(desc, anc, tax.n_nodes)
    exact = reconstruction(view, q)
    a = reconstruction(view, q, sample=150, seed=7)
    b = reconstruction(view, q, sample=150, seed=7)
    c = reconstruction(view, q, sample=150, seed=8)
    assert a["mode"] == "sampled" and a["n_nodes_ranked"] == 150
    assert a["map"] == b["map"] and a["ci"] == b["ci"]
    assert a["map"] != c["map"]
    lo, hi = a["ci"]["map"]
    assert lo < a["map"] < hi
    assert lo - 0.05 < exact["map"] < hi + 0.05
    assert reconstruction(view, q, sample=10_000)["mode"] == "exact"


def test_link_prediction_queries_leave_known_pairs_out_of_the_negatives():
    tax = random_dag(80, 8, max_parents=2)
    desc, anc = tax.closure
    test = np.arange(len(desc)) % 5 == 0
    w = points(tax.n_nodes, 3, 8)
    q = Queries.from_pairs(desc[test], anc[test], tax.n_nodes, exclude=(desc, anc))
    got = reconstruction(ball_view(w, "poincare"), q)
    want = brute_force(w, "poincare", desc[test], anc[test], tax.n_nodes, exclude=(desc, anc))
    assert got["map"] == pytest.approx(want[0], abs=1e-12)
    assert got["mean_rank"] == pytest.approx(want[1], abs=1e-12)


def test_positives_always_leave_the_negatives():
    tax = random_dag(50, 9, max_parents=2)
    desc, anc = tax.closure
    view = ball_view(points(tax.n_nodes, 3, 9), "poincare")
    plain = reconstruction(view, Queries.from_pairs(desc, anc, tax.n_nodes))
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    merged = reconstruction(view, Queries.from_pairs(desc, anc, tax.n_nodes, exclude=empty))
    assert merged["map"] == plain["map"] and merged["mean_rank"] == plain["mean_rank"]


def _chain(n: int):
    from hyptax.data.taxonomy import Taxonomy

    return Taxonomy.from_edges([f"c{i}" for i in range(n)], np.arange(1, n), np.arange(n - 1))


def _queries_and_view(tax, seed=0):
    w = get_manifold("poincare").random(tax.n_nodes, 10, 0.9, torch.Generator().manual_seed(seed))
    desc, anc = tax.closure
    return Queries.from_pairs(desc, anc, tax.n_nodes), ball_view(w, "poincare")


def test_exact_or_sampled_follows_the_predicted_cost_not_the_node_count():
    from hyptax.config import EvalConfig
    from hyptax.evaluation.ranking import auto_sample

    config = EvalConfig()

    def choice(tax):
        q, view = _queries_and_view(tax)
        return auto_sample(view, q, max_cost=config.exact_max_cost, most=config.auto_sample,
                           least=config.min_sample)  # fmt: skip

    deep = choice(_chain(3000))  # 3,000 nodes, 4.5M pairs: costly
    assert deep is not None and config.min_sample <= deep < 3000
    assert choice(random_dag(30_000, 1)) is None  # ten times the nodes, cheap: exact


def test_a_deep_chain_ticks_the_progress_bar_as_it_goes(monkeypatch):
    from hyptax.evaluation import ranking

    ticks = []

    class Bar:
        def update(self, k):
            ticks.append(k)

        def close(self):
            pass

    monkeypatch.setattr(ranking, "_progress", lambda total, enabled, desc: Bar())
    monkeypatch.setattr(ranking, "CHUNK_COST", 1e8, raising=False)
    q, view = _queries_and_view(_chain(600))
    ranking.count_closer(view, q, progress=True)
    assert sum(ticks) == 599 and len(ticks) >= 10  # not one tick at the very end


def test_per_epoch_metrics_rank_fewer_anchors_on_a_costly_graph(monkeypatch):
    from hyptax.evaluation import report

    asked = []
    real = report.reconstruction

    def spy(view, queries, *, sample=None, **kwargs):
        asked.append(sample)
        return real(view, queries, sample=sample, **kwargs)

    monkeypatch.setattr(report, "reconstruction", spy)
    monkeypatch.setattr(report.EvalConfig, "quick_max_cost", 1e8)
    monkeypatch.setattr(report.EvalConfig, "min_sample", 20)
    for tax in (_chain(800), random_dag(800, 2)):
        w = get_manifold("poincare").random(tax.n_nodes, 10, 0.9, torch.Generator().manual_seed(0))
        report.quick_metrics(w, "poincare", tax, n_sample=200)
    assert asked == [20, 200]  # the chain's anchors cost far more: fewer of them


def test_the_ancestor_score_is_sampled_on_a_costly_graph_too():
    from hyptax.config import EvalConfig
    from hyptax.evaluation.report import reconstruction_sample

    q, view = _queries_and_view(_chain(3000))  # 9M anchor x node pairs: under exact_max_work
    assert len(q.rows) * view.n <= EvalConfig().exact_max_work
    config = EvalConfig()
    assert reconstruction_sample(config, view, q, "ancestor") is not None  # 4.5M pairs x depth
    q, view = _queries_and_view(random_dag(3000, 1))
    assert reconstruction_sample(config, view, q, "ancestor") is None
