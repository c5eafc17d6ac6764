"""The two geometries side by side, and edge lengths per rank (issue 12's tables).

For each data set: the order construction (the former default) and the metric one
(the default on trees), at dim 10, with every figure of the evaluation report: MAP and
mean rank by distance (the reference convention) and by the ancestor score, the
faithfulness figures (nearest node adjacent, parent rank, 10-NN tree distance against
the best possible, Spearman with tree distance, distortion), depth-norm Pearson and
Spearman, class separation beside the tree's own, and the seconds to build and to
evaluate. Then, on one clade, the metric construction with edge lengths per rank
(``--rank-weights``), with Spearman against the *weighted* tree distance (scipy's
Dijkstra from 300 seeded sources).

    python benchmarks/geometry.py                       # writes benchmarks/GEOMETRY.md
    python benchmarks/geometry.py --data ncbi:Echinodermata --no-save
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import torch
from common import HERE
from report import header, save, table
from scipy import stats
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from hyptax.config import EvalConfig
from hyptax.constructive import construct, edge_weights
from hyptax.data import load_taxonomy
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.report import evaluate

DATA = ("ncbi:small", "ncbi:Echinodermata", "wordnet:mammals")
WEIGHTS = ("", "class=2", "class=2.5", "class=3", "class=3,order=2", "class=4")


def build(tax: Taxonomy, geometry: str, weights: dict[str, float] | None = None) -> Any:
    clock = time.perf_counter()
    x = construct(tax, 10, geometry=geometry, rank_weights=weights)
    return x, time.perf_counter() - clock


def figures(tax: Taxonomy, x: torch.Tensor, sample: int | None) -> dict[str, Any]:
    emb = Embeddings(tax.ids, tax.names, x, "poincare")
    clock = time.perf_counter()
    rep = evaluate(emb, tax, EvalConfig(sample=sample), progress=False)
    seconds = time.perf_counter() - clock
    cls = rep["clades"]["levels"].get("class", {}).get("separation", {})
    f = rep["faithfulness"]
    return {
        "map": rep["reconstruction"]["map"],
        "mean_rank": rep["reconstruction"]["mean_rank"],
        "anc_map": rep["ancestor_reconstruction"]["map"],
        "anc_mean_rank": rep["ancestor_reconstruction"]["mean_rank"],
        "adjacent": f["adjacent_nearest"],
        "parent_rank": f["parent_rank_median"],
        "knn": f["knn_tree_distance"],
        "knn_best": f["knn_tree_distance_best"],
        "spearman_tree": f["spearman_tree"],
        "distortion": f["distortion"],
        "pearson": rep["depth_norm"]["pearson"],
        "spearman_depth": rep["depth_norm"]["spearman"],
        "class_sep": cls.get("ratio"),
        "class_tree": cls.get("tree_ratio"),
        "seconds_eval": seconds,
        "seconds_new": rep["seconds"].get("faithfulness", 0.0)
        + rep["seconds"].get("ancestor_reconstruction", 0.0),
    }


def weighted_spearman(tax: Taxonomy, x: torch.Tensor, weights: dict[str, float] | None) -> float:
    """Spearman of hyperbolic distance with the weighted tree distance (300 sources x
    300 targets, seeded)."""
    w = edge_weights(tax, weights)[tax.child]
    n = tax.n_nodes
    graph = csr_matrix((w, (tax.child, tax.parent)), shape=(n, n))
    rng = np.random.default_rng(0)
    src = np.sort(rng.choice(n, size=min(300, n), replace=False))
    tree = dijkstra(graph, directed=False, indices=src)
    view = ball_view(x, "poincare")
    tgt = rng.integers(0, n, size=(len(src), 300))
    d = view.dist(np.repeat(src, tgt.shape[1]), tgt.ravel())
    t = tree[np.arange(len(src))[:, None], tgt].ravel()
    ok = (t > 0) & np.isfinite(t)
    return float(stats.spearmanr(d[ok], t[ok])[0])


def _pair(value: float | None, reference: float | None) -> str:
    """``"1.764 (1.758)"``, or ``"-"`` where the data has no such rank."""
    return "-" if value is None else f"{value:.3f} ({reference:.3f})"


def parse(text: str) -> dict[str, float] | None:
    if not text:
        return None
    return {k: float(v) for k, v in (item.split("=") for item in text.split(","))}


def section(data: list[str], weights_data: str, sample: int | None) -> list[str]:
    """The two tables, as Markdown lines (printed row by row as they are measured)."""
    doc = ["", "## Two geometries: order and metric constructions (dim 10, float64)", ""]
    rows = []
    for spec in data:
        tax = load_taxonomy(spec)
        for geometry in ("order", "metric"):
            x, build_s = build(tax, geometry)
            f = figures(tax, x, sample)
            rows.append([spec, geometry, f"{build_s:.2f}", f["map"], f["mean_rank"], f["anc_map"],
                         f["anc_mean_rank"], f["adjacent"], f["parent_rank"],
                         f"{f['knn']:.2f} ({f['knn_best']:.2f})", f["spearman_tree"],
                         f["distortion"], f["pearson"], f["spearman_depth"],
                         _pair(f["class_sep"], f["class_tree"]),
                         f"{f['seconds_new']:.1f}"])  # fmt: skip
            print(" | ".join(str(c) for c in rows[-1]), flush=True)
    doc += table(rows, ["data", "geometry", "build s", "MAP by distance", "mean rank",
                        "MAP by ancestor score", "mean rank", "nearest adjacent",
                        "parent rank (median)", "10-NN tree distance (best)",
                        "Spearman(d, tree)", "distortion", "depth Pearson", "depth Spearman",
                        "class separation (tree)", "new figures s"])  # fmt: skip
    doc += ["", "`build s`: the construction alone; `new figures s`: the ancestor-score "
            "ranking and the faithfulness figures of the report (the clade table's tree "
            "column is in its hierarchy time). Faithfulness from 2,000 seeded query nodes "
            "and 100,000 pairs; separation over the report's pairs (1,000 first nodes "
            "uniform over the members, 100 second nodes each)."]  # fmt: skip
    tax = load_taxonomy(weights_data)
    rows = []
    for text in WEIGHTS:
        weights = parse(text)
        x, _ = build(tax, "metric", weights)
        f = figures(tax, x, sample)
        rows.append([text or "none", f["class_sep"], f["class_tree"], f["anc_map"],
                     weighted_spearman(tax, x, weights), f["spearman_tree"], f["pearson"],
                     f["adjacent"]])  # fmt: skip
        print(" | ".join(str(c) for c in rows[-1]), flush=True)
    doc += ["", f"## Edge lengths per rank: {weights_data}, metric, dim 10", ""]
    doc += table(rows, ["--rank-weights", "class separation", "tree's own (unweighted)",
                        "MAP by ancestor score", "Spearman(d, weighted tree)",
                        "Spearman(d, tree)", "depth Pearson", "nearest adjacent"])  # fmt: skip
    return doc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=",".join(DATA))
    ap.add_argument("--weights-data", default="ncbi:Echinodermata")
    ap.add_argument("--sample", type=int, default=None, help="rank a sample of anchors")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    doc = header("The two geometries") + section(args.data.split(","), args.weights_data,
                                                  args.sample)  # fmt: skip
    print("\n".join(doc))
    if not args.no_save:
        save(HERE / "GEOMETRY.md", doc)


if __name__ == "__main__":
    main()
