"""The two geometries: the metric construction (distances that follow the tree, the
hierarchy found by the ancestor score), ranking by that score, and how train, embed
and neighbors use them."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from hyptax import constructive as C
from hyptax.cli import main
from hyptax.config import EvalConfig, TrainConfig
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.errors import ConfigError
from hyptax.evaluation import faithful, hierarchy
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, reconstruction
from hyptax.manifolds import get_manifold, numerics


def wide_and_deep(n: int = 10_000, seed: int = 0) -> Taxonomy:
    """A tree with a wide part (one node with 2,000 children), a deep part (a chain
    of 14 levels with side branches) and a random bushy rest."""
    rng = np.random.default_rng(seed)
    parent = [-1, 0, 0, 0]  # root; 1: the wide node, 2: the deep line, 3: the bush
    parent += [1] * 2000
    line = 2
    for _ in range(14):
        parent.append(line)
        line = len(parent) - 1
        parent += [line] * 3  # side branches along the line
    bush = [3]
    depth = {3: 1}
    while len(parent) < n:
        p = bush[int(rng.integers(len(bush)))]
        parent.append(p)
        if depth[p] < 7:
            bush.append(len(parent) - 1)
            depth[len(parent) - 1] = depth[p] + 1
    child = np.arange(1, len(parent))
    return Taxonomy.from_edges([f"n{i}" for i in range(len(parent))], child,
                               np.array(parent[1:]))  # fmt: skip


@pytest.fixture(scope="module")
def big_tree() -> Taxonomy:
    return wide_and_deep()


def figures(tax: Taxonomy, x: torch.Tensor) -> tuple[dict, dict]:
    view = ball_view(x, "poincare")
    faith = faithful.faithfulness(view, tax, n_queries=1000, n_pairs=50_000, seed=0)
    rec = reconstruction(view, Queries.from_pairs(*tax.closure, tax.n_nodes),
                         score="ancestor", sample=2000, seed=0, n_bootstrap=0)  # fmt: skip
    return faith, rec


def test_metric_construction_follows_the_tree_and_keeps_the_hierarchy(big_tree):
    faith, rec = figures(big_tree, C.construct(big_tree, 10, geometry="metric"))
    assert faith["adjacent_nearest"] >= 0.95
    assert faith["spearman_tree"] >= 0.97
    assert faith["distortion"] <= 0.05
    assert faith["knn_tree_distance"] <= 1.1 * faith["knn_tree_distance_best"]
    assert rec["map"] >= 0.999


def test_order_construction_does_not(big_tree):
    """The same figures on the order geometry: its nearest nodes are ancestors far
    up the tree, and the ancestor score does not find the ancestors."""
    faith, rec = figures(big_tree, C.construct(big_tree, 10, geometry="order"))
    assert faith["adjacent_nearest"] < 0.5
    assert rec["map"] < 0.9


def test_depth_becomes_radius_exactly(big_tree):
    x = C.construct(big_tree, 10, geometry="metric")
    r = get_manifold("poincare").dist0(x).numpy()
    depth = big_tree.depth
    tol = numerics.radial_resolution(torch.float64)  # what the Poincaré coordinates resolve
    for d in range(1, int(depth.max()) + 1):
        assert np.ptp(r[depth == d]) <= tol
    step = np.diff([r[depth == d].mean() for d in range(int(depth.max()) + 1)])
    assert np.allclose(step, step[0], atol=tol)
    assert r.max() <= C.radius_budget(torch.float64) + tol
    assert hierarchy.depth_correlation(r, depth)["spearman"] == pytest.approx(1.0)


def test_a_single_child_goes_straight_out():
    tax = Taxonomy.from_edges(["a", "b", "c", "d"], [1, 2, 3], [0, 1, 2])  # a chain
    x = C.construct(tax, 3, geometry="metric")
    u = x / x.norm(dim=1, keepdim=True).clamp_min(1e-300)
    assert torch.allclose(u[2], u[1]) and torch.allclose(u[3], u[1])
    m = get_manifold("poincare")
    d = [float(m.dist(x[i], x[i + 1])) for i in range(3)]
    tol = 10 * numerics.radial_resolution(torch.float64)  # rounding at the rim
    assert d == pytest.approx([d[0]] * 3, abs=tol)  # equal edges, on one geodesic
    assert float(m.dist(x[0], x[3])) == pytest.approx(sum(d), abs=tol)


def test_siblings_are_farther_apart_than_parent_and_child():
    tax = Taxonomy.from_edges([f"n{i}" for i in range(41)], np.arange(1, 41),
                              np.r_[np.zeros(5, int), np.repeat(np.arange(1, 6), 7)])  # fmt: skip
    x = C.construct(tax, 5, geometry="metric")
    m = get_manifold("poincare")
    kids = np.arange(6, 13)  # the children of node 1
    to_parent = m.dist(x[kids], x[1].expand(len(kids), -1))
    sib = m.dist(x[kids][:, None], x[kids][None, :])
    sib = sib + torch.diag(torch.full((len(kids),), math.inf, dtype=sib.dtype))
    assert float(sib.min()) > float(to_parent.max())


def test_rank_weights_lengthen_the_edges_above_a_rank():
    ranks = ["no rank"] + ["class"] * 3 + ["genus"] * 12
    parent = np.r_[[0, 0, 0], np.repeat([1, 2, 3], 4)]
    tax = Taxonomy.from_edges([f"n{i}" for i in range(16)], np.arange(1, 16), parent,
                              ranks=ranks)  # fmt: skip
    plain = C.plan_metric(tax, 5, budget=20.0)
    heavy = C.plan_metric(tax, 5, budget=20.0, rank_weights={"class": 3.0})
    assert plain.radius[1] == pytest.approx(plain.edge)
    assert heavy.radius[1] == pytest.approx(3 * heavy.edge)
    assert heavy.radius[4] - heavy.radius[1] == pytest.approx(heavy.edge)
    labels = hierarchy.keep_large(hierarchy.clade_labels(tax, "class"), 2)
    sep = []
    for plan in (plain, heavy):
        x = torch.as_tensor(np.tanh(plan.radius / 2)[:, None] * plan.directions)
        sep.append(hierarchy.clade_separation(ball_view(x, "poincare"), labels, n_pairs=2000,
                                              seed=0)["ratio"])  # fmt: skip
    assert sep[1] > 1.3 * sep[0]
    with pytest.raises(ConfigError, match="no taxon of rank"):
        C.plan_metric(tax, 5, budget=20.0, rank_weights={"phylum": 2.0})
    no_ranks = Taxonomy.from_edges(["a", "b"], [1], [0])
    with pytest.raises(ConfigError, match="needs data with ranks"):
        C.plan_metric(no_ranks, 5, budget=20.0, rank_weights={"class": 2.0})


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_metric_points_stay_inside_the_budget(big_tree, dtype):
    x = C.construct(big_tree, 10, geometry="metric", dtype=dtype)
    assert torch.isfinite(x).all()
    assert x.norm(dim=1).max().item() <= numerics.max_norm(dtype)


# --------------------------------------------------------------- ancestor score
@pytest.mark.parametrize("backend", ["numba", "torch"])
def test_ancestor_ranking_agrees_with_brute_force(backend):
    rng = np.random.default_rng(3)
    n = 60
    parent = [int(rng.integers(0, i)) for i in range(1, n)]
    tax = Taxonomy.from_edges([f"n{i}" for i in range(n)], np.arange(1, n), np.array(parent))
    gen = torch.Generator().manual_seed(0)
    x = get_manifold("poincare").random(n, 4, radius=0.9, generator=gen, dtype=torch.float64)
    desc, anc = tax.closure
    got = reconstruction(ball_view(x, "poincare"), Queries.from_pairs(desc, anc, n),
                         score="ancestor", backend=backend)  # fmt: skip
    m = get_manifold("poincare")
    d = m.dist(x[:, None], x[None, :]).numpy()
    d0 = m.dist0(x).numpy()
    aps, ranks = [], []
    for u in np.unique(desc):
        score = d[u] + d0 - d0[u]
        pos = anc[desc == u]
        neg = np.setdiff1d(np.arange(n), np.r_[pos, u])
        prec = []
        for v in pos:
            closer = int((score[neg] < score[v]).sum())
            ranks.append(1 + closer)
            p_le = int((score[pos] <= score[v]).sum())
            prec.append(p_le / (p_le + closer))
        aps.append(np.mean(prec))
    assert got["map"] == pytest.approx(np.mean(aps))
    assert got["mean_rank"] == pytest.approx(np.mean(ranks))
    assert got["score"] == "ancestor"


def test_embeddings_ancestors_come_first_in_the_metric_geometry(big_tree):
    x = C.construct(big_tree, 10, geometry="metric")
    emb = Embeddings(big_tree.ids, big_tree.names, x, "poincare")
    deep = int(np.argmax(big_tree.depth))
    desc, anc = big_tree.closure
    truth = {big_tree.names[a] for a in anc[desc == deep]}
    got = emb.ancestors(big_tree.names[deep], k=len(truth))
    assert {name for name, _ in got} == truth
    assert [s for _, s in got] == sorted(s for _, s in got)
    near = emb.nearest(big_tree.names[deep], k=1)[0][0]
    parent = big_tree.names[big_tree.parent[big_tree.child == deep][0]]
    assert near == parent


# --------------------------------------------------------------- commands
@pytest.fixture(scope="module")
def tree_tsv(tmp_path_factory):
    child = np.arange(1, 341)
    parent = (child - 1) // 4  # a 4-ary tree of 341 nodes
    path = tmp_path_factory.mktemp("data") / "tree.tsv"
    path.write_text("".join(f"c{c}\tc{p}\n" for c, p in zip(child, parent, strict=True)))
    return str(path)


def test_train_keeps_an_exact_construction_on_a_tree(tree_tsv, tmp_path, capsys):
    for geometry in ("metric", "order"):
        out = tmp_path / geometry
        assert main(["train", "--data", tree_tsv, "--out", str(out), "--dim", "5",
                     "--geometry", geometry]) == 0  # fmt: skip
        printed = capsys.readouterr().out
        assert f"the {geometry} construction is exact on this tree" in printed
        config = json.loads((out / "run.json").read_text())
        assert config["geometry"] == geometry
        report = json.loads((out / "report.json").read_text())
        key = "ancestor_reconstruction" if geometry == "metric" else "reconstruction"
        assert report[key]["map"] == 1.0
        assert not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").read_text()


def test_the_default_geometry_follows_the_data(tree_tsv):
    assert TrainConfig(data=tree_tsv).geometry_for(True) == "metric"
    assert TrainConfig(data=tree_tsv).geometry_for(False) == "order"
    assert TrainConfig(init="uniform").geometry_for(True) == "order"
    with pytest.raises(ConfigError, match="needs --init constructive"):
        TrainConfig(geometry="metric", init="uniform")
    with pytest.raises(ConfigError, match="metric construction only"):
        TrainConfig(geometry="order", rank_weights={"class": 2.0})


def test_rank_weights_flag_is_checked(tree_tsv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["embed", "--data", tree_tsv, "--out", str(tmp_path / "e"), "--rank-weights", "class"])
    assert exc.value.code == 2
    assert "RANK=WEIGHT" in capsys.readouterr().err
    assert main(["embed", "--data", tree_tsv, "--out", str(tmp_path / "e"),
                 "--rank-weights", "class=2"]) == 2  # fmt: skip
    assert "needs data with ranks" in capsys.readouterr().err


def test_neighbors_shows_tree_distances_and_ancestors(tree_tsv, tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["embed", "--quiet", "--data", tree_tsv, "--out", str(out), "--dim", "5"]) == 0
    capsys.readouterr()
    assert main(["neighbors", str(out / "best.pt"), "c100", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "tree distance" in lines[1]
    first = lines[2].split()
    assert first[2] == "c24" and first[-2] == "1"  # c100's parent, one edge away
    assert main(["neighbors", str(out / "best.pt"), "c100", "-k", "4", "--ancestors"]) == 0
    names = [line.split()[2] for line in capsys.readouterr().out.splitlines()[2:]]
    assert set(names) == {"c24", "c5", "c1", "c0"}  # (i - 1) // 4 up to the root


def test_report_labels_both_rankings(tree_tsv, tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["embed", "--quiet", "--data", tree_tsv, "--out", str(out), "--dim", "5"]) == 0
    printed = capsys.readouterr().out
    assert "Reconstruction by distance (reference)" in printed
    assert "Reconstruction by ancestor score" in printed
    assert "metric geometry: its hierarchy is ranked by the ancestor score" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["ancestor_reconstruction"]["score"] == "ancestor"
    assert report["reconstruction"]["score"] == "distance"
    assert EvalConfig().exact_max_work > 340 * 341


def test_faithfulness_queries_shrink_on_large_graphs(big_tree):
    from hyptax.evaluation.report import FAITHFUL_MIN_QUERIES, evaluate

    emb = Embeddings(big_tree.ids, big_tree.names, C.construct(big_tree, 5, geometry="metric"),
                     "poincare")  # fmt: skip
    small = EvalConfig(faithful_max_work=300 * big_tree.n_nodes, sample=200, n_pairs=5000,
                       n_bootstrap=10)  # fmt: skip
    assert evaluate(emb, big_tree, small, progress=False)["faithfulness"]["n_queries"] == 300
    tiny = EvalConfig(faithful_max_work=10, sample=200, n_pairs=5000, n_bootstrap=10)
    got = evaluate(emb, big_tree, tiny, progress=False)["faithfulness"]["n_queries"]
    assert got == FAITHFUL_MIN_QUERIES
