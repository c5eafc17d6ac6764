"""The full report, its text form and the every-epoch quick metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import balanced_tree, fan_embedding, random_dag
from hyptax.config import EvalConfig
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.errors import HyptaxError
from hyptax.evaluation import evaluate, format_report, quick_metrics
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, reconstruction
from hyptax.manifolds import get_manifold

SMALL = EvalConfig(n_pairs=5000, purity_queries=200, n_bootstrap=200)


def ranked_tree() -> Taxonomy:
    """A tree with phylum / class / genus ranks: 3 phyla x 3 classes x 10 genera."""
    base = balanced_tree((3, 3, 10))
    names = ["root", *[f"name{i}" for i in range(1, base.n_nodes)]]
    ranks = np.array(["no rank", "phylum", "class", "genus"], dtype=object)[base.depth]
    return Taxonomy.from_edges(
        base.ids, base.child, base.parent, names=names, ranks=ranks, source="toy:ranked"
    )


def embeddings(tax, w, manifold="poincare"):
    return Embeddings(tax.ids, tax.names, w, manifold)


def strip_times(report):
    report = json.loads(json.dumps(report))
    report.pop("seconds")
    for part in (report["reconstruction"],):
        part.pop("seconds")
    return report


def test_report_sections_ranks_and_json():
    tax = ranked_tree()
    w = fan_embedding(tax, (1.0, 2.0, 4.0))
    report = evaluate(embeddings(tax, w), tax, SMALL, progress=False)
    json.dumps(report, allow_nan=False)
    assert report["reconstruction"]["mode"] == "exact"
    assert report["reconstruction"]["map"] > 0.9
    assert list(report["clades"]["levels"]) == ["phylum", "class", "genus"]
    phylum = report["clades"]["levels"]["phylum"]
    assert phylum["separation"]["n_clades"] == 3 and phylum["separation"]["ratio"] > 1
    assert phylum["separation"]["tree_ratio"] > 1  # the tree's own separation
    faith = report["faithfulness"]
    assert faith["sampled"] is False and faith["parent_rank_median"] == 1
    assert faith["knn_tree_distance"] >= faith["knn_tree_distance_best"]
    assert phylum["purity"]["purity"] > phylum["purity"]["chance"]
    genus = report["clades"]["levels"]["genus"]
    assert genus["separation"]["n_clades"] == 0 and genus["separation"]["ratio"] is None
    assert report["depth_norm"]["pearson"] > 0.95
    assert report["norms"]["outside_frac"] == 0.0
    assert report["link_prediction"] is None
    text = format_report(report)
    for word in ("MAP 0.9", "phylum", "class", "genus", "Spearman", "outside the ball",
                 "Faithfulness to the tree (all 103 nodes", "parent rank median 1 ("):  # fmt: skip
        assert word in text


def test_report_is_deterministic_and_lorentz_agrees():
    tax = random_dag(150, 2, max_parents=2)
    w = get_manifold("poincare").random(tax.n_nodes, 4, 0.9, torch.Generator().manual_seed(0))
    a = evaluate(embeddings(tax, w), tax, SMALL, holdout=0.1, split_seed=3, progress=False)
    b = evaluate(embeddings(tax, w), tax, SMALL, holdout=0.1, split_seed=3, progress=False)
    assert strip_times(a)["clades"] == strip_times(b)["clades"]
    assert a["link_prediction"]["test"]["map"] == b["link_prediction"]["test"]["map"]
    x = get_manifold("lorentz").from_poincare(w)
    c = evaluate(embeddings(tax, x, "lorentz"), tax, SMALL, progress=False)
    assert c["reconstruction"]["map"] == pytest.approx(a["reconstruction"]["map"], abs=1e-9)
    assert c["embedding"]["dim"] == 4 and c["embedding"]["coord_dim"] == 5
    assert "Link prediction" in format_report(a) and "trivial baseline" in format_report(a)


def test_large_graphs_are_sampled_and_say_so():
    tax = random_dag(300, 4)
    w = get_manifold("poincare").random(tax.n_nodes, 3, 0.9, torch.Generator().manual_seed(1))
    config = EvalConfig(exact_max_cost=1e5, auto_sample=50, n_pairs=1000, purity_queries=50)
    report = evaluate(embeddings(tax, w), tax, config, progress=False)
    rec = report["reconstruction"]
    assert rec["mode"] == "sampled" and rec["n_nodes_ranked"] == 50
    assert rec["ci"]["map"][0] <= rec["map"] <= rec["ci"]["map"][1]
    text = format_report(report)
    assert "SAMPLED: 50 of 299 nodes" in text and "95% CI" in text
    assert any("SAMPLED" in w for w in report["warnings"])


def test_evaluate_aligns_by_id_and_refuses_missing_nodes():
    tax = random_dag(40, 5)
    w = get_manifold("poincare").random(tax.n_nodes, 3, 0.9, torch.Generator().manual_seed(2))
    perm = np.random.default_rng(0).permutation(tax.n_nodes)
    shuffled = Embeddings(tax.ids[perm], tax.names[perm], w[perm], "poincare")
    a = evaluate(embeddings(tax, w), tax, SMALL, progress=False)
    b = evaluate(shuffled, tax, SMALL, progress=False)
    assert a["reconstruction"]["map"] == b["reconstruction"]["map"]
    short = Embeddings(tax.ids[1:], tax.names[1:], w[1:], "poincare")
    with pytest.raises(HyptaxError, match="no vector for 1 of the 40 nodes"):
        evaluate(short, tax, SMALL, progress=False)


def test_quick_metrics_are_floats_and_match_the_sampled_reconstruction():
    tax = random_dag(500, 6, max_parents=2)
    w = get_manifold("poincare").random(tax.n_nodes, 3, 0.9, torch.Generator().manual_seed(3))
    got = quick_metrics(w, get_manifold("poincare"), tax, n_sample=100, seed=4)
    assert set(got) == {"map_sampled", "mean_rank_sampled", "spearman", "max_norm",
                        "mean_norm", "outside_frac", "near_boundary_frac"}  # fmt: skip
    assert all(isinstance(v, float) for v in got.values())
    desc, anc = tax.closure
    want = reconstruction(
        ball_view(w, "poincare"), Queries.from_pairs(desc, anc, tax.n_nodes), sample=100, seed=4
    )
    assert got["map_sampled"] == want["map"]
    assert got["mean_rank_sampled"] == want["mean_rank"]
    train = np.arange(len(desc)) % 2 == 0
    part = quick_metrics(w, "poincare", tax, n_sample=100, seed=4, pairs=(desc[train], anc[train]))
    assert part["map_sampled"] != got["map_sampled"]
    assert got["outside_frac"] == 0.0


def test_quick_metrics_give_nan_not_none_when_undefined():
    tax = random_dag(20, 8)
    w = torch.zeros(tax.n_nodes, 2, dtype=torch.float64)  # constant distance from the origin
    none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    got = quick_metrics(w, "poincare", tax, pairs=none)
    assert np.isnan(got["spearman"]) and np.isnan(got["map_sampled"])
    assert got["max_norm"] == 0.0


def test_progress_goes_to_stderr(capsys):
    tax = random_dag(60, 7)
    w = get_manifold("poincare").random(tax.n_nodes, 3, 0.9, torch.Generator().manual_seed(4))
    evaluate(embeddings(tax, w), tax, SMALL, progress=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "evaluating: reconstruction (exact)" in captured.err and "ranking" in captured.err


@pytest.mark.parametrize(
    ("dtype", "advised"), [("float64", False), ("float32", True), (None, True)]
)
def test_the_clamping_warning_advises_float64_only_when_not_already(dtype, advised):
    from hyptax.evaluation.report import _warnings

    report = {
        "norms": {"n_outside": 0, "at_max_radius_frac": 0.5},
        "reconstruction": {"tied_pairs": 0, "mode": "exact"},
        "embedding": {"dtype": dtype},
    }
    (warning,) = _warnings(report)
    assert "clamped" in warning and ("--dtype float64" in warning) == advised
