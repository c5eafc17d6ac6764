"""The evaluation report: :func:`evaluate` (JSON-able dict), :func:`format_report`
(a plain-text table) and :func:`quick_metrics` (cheap enough for every epoch)."""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from ..config import EvalConfig
from ..data.taxonomy import Taxonomy
from ..embeddings import Embeddings
from ..version import __version__
from . import faithful, hierarchy, linkpred
from .geometry import ball_view
from .index import BallIndex, ball_index, indexable, walk_share
from .ranking import Queries, auto_sample, reconstruction

FORMAT = "hyptax-report"

logger = logging.getLogger(__name__)

FAITHFUL_MIN_QUERIES = 100
"""The fewest query nodes of the faithfulness figures, whatever the graph's size."""


# --------------------------------------------------------------------- quick
def quick_metrics(
    weight: torch.Tensor,
    manifold: Any,
    tax: Taxonomy,
    *,
    n_sample: int = 1000,
    seed: int = 0,
    pairs: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, float]:
    """Per-epoch metrics: MAP and mean rank over a seeded sample of ``n_sample``
    anchors (the same anchors every epoch for a fixed seed), Spearman correlation of
    depth with the distance from the origin over all nodes, and Poincaré norms.

    ``weight``: ``(n, coord_dim)`` in the taxonomy's node order; ``manifold``: a name
    or a manifold instance; ``pairs``: the ``(desc, anc)`` pairs to rank (default:
    the whole closure; training passes its training pairs under a holdout).
    Undefined values (a constant depth, no pairs) are NaN, so every value is a float.
    About 0.2 s for 100k nodes on two cores.
    """
    view = ball_view(weight, manifold)
    desc, anc = tax.closure if pairs is None else pairs
    queries = Queries.from_pairs(desc, anc, view.n)
    # fewer anchors where ranking is costly (deep graphs); kept=0: the same each epoch
    fewer = auto_sample(
        view, queries, max_cost=EvalConfig.quick_max_cost, most=n_sample,
        least=min(EvalConfig.min_sample, n_sample), seed=seed, kept=0.0,
    )  # fmt: skip
    rec = reconstruction(view, queries, sample=fewer or n_sample, seed=seed, n_bootstrap=0)
    norms = hierarchy.norm_stats(view, EvalConfig.boundary_band)
    spearman = hierarchy.depth_spearman(view.dist0, tax.depth)
    out = {
        "map_sampled": rec["map"],
        "mean_rank_sampled": rec["mean_rank"],
        "spearman": spearman,
        "max_norm": norms["max_norm"],
        "mean_norm": norms["mean_norm"],
        "outside_frac": norms["outside_frac"],
        "near_boundary_frac": norms["near_boundary_frac"],
    }
    return {k: math.nan if v is None else float(v) for k, v in out.items()}


# --------------------------------------------------------------------- full
def evaluate(
    emb: Embeddings,
    tax: Taxonomy,
    config: EvalConfig | None = None,
    *,
    holdout: float = 0.0,
    split_seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Evaluate ``emb`` against ``tax``: reconstruction (exact or sampled), link
    prediction when ``holdout > 0`` (the split of :func:`linkpred.split_edges` with
    ``split_seed``), depth-norm correlation, clade separation and kNN purity per
    rank, norms, and faithfulness to the tree (:func:`faithful.faithfulness`).
    Returns a JSON-able dict; see :func:`format_report`."""
    config = config or EvalConfig()
    times: dict[str, float] = {}
    clock = time.perf_counter()
    view = ball_view(emb.aligned(tax), emb.manifold, emb.aligned_polar(tax))
    index = ball_index(view) if indexable(view) else None  # neighbours and counts
    desc, anc = tax.closure
    times["setup"] = time.perf_counter() - clock

    report: dict[str, Any] = {
        "format": FORMAT,
        "hyptax_version": __version__,
        "data": _data_section(tax),
        "embedding": {
            "manifold": emb.manifold,
            "dim": emb.dim,
            "coord_dim": emb.coord_dim,
            "dtype": (emb.meta.get("config") or {}).get("dtype"),
            "geometry": (emb.meta.get("config") or {}).get("geometry"),
            "precision": "float" if emb.polar is None else "extended",
            "limbs": None if emb.polar is None else emb.polar.n_limbs,
            **{k: emb.meta[k] for k in ("path", "epoch") if k in emb.meta},
        },
        "settings": {**asdict(config), "holdout": holdout, "split_seed": split_seed},
    }
    clock = time.perf_counter()
    queries = Queries.from_pairs(desc, anc, tax.n_nodes)
    sample = reconstruction_sample(config, view, queries, "distance")
    _say(progress, f"reconstruction ({'exact' if sample is None else f'{sample} sampled nodes'})")
    ranking = {"seed": config.seed, "n_bootstrap": config.n_bootstrap,
               "ci_level": config.ci_level, "progress": progress}  # fmt: skip
    walk = _walk(index, queries, "distance", config)
    sample = _more_by_walk(sample, walk, view, config)
    report["reconstruction"] = reconstruction(
        view, queries, sample=sample, index=walk[0], **ranking
    )
    times["reconstruction"] = time.perf_counter() - clock

    clock = time.perf_counter()
    walk = _walk(index, queries, "ancestor", config)
    sample = _more_by_walk(reconstruction_sample(config, view, queries, "ancestor"), walk, view,
                           config)  # fmt: skip
    how = "exact" if sample is None else f"{sample} sampled nodes"
    _say(progress, f"reconstruction by the ancestor score ({how})")
    report["ancestor_reconstruction"] = reconstruction(
        view, queries, score="ancestor", sample=sample, index=walk[0], **ranking,
    )  # fmt: skip
    times["ancestor_reconstruction"] = time.perf_counter() - clock

    clock = time.perf_counter()
    report["link_prediction"] = None
    if holdout > 0:
        _say(progress, f"link prediction ({holdout:g} held out)")
        report["link_prediction"] = linkpred.link_prediction(
            view, desc, anc, fraction=holdout, seed=split_seed, progress=progress
        )
    times["link_prediction"] = time.perf_counter() - clock

    clock = time.perf_counter()
    _say(progress, "hierarchy metrics")
    report["depth_norm"] = hierarchy.depth_correlation(view.dist0, tax.depth)
    report["clades"] = _clade_section(view, tax, config, index)
    report["norms"] = hierarchy.norm_stats(view, config.boundary_band)
    times["hierarchy"] = time.perf_counter() - clock

    clock = time.perf_counter()
    cap = config.faithful_max_work // max(tax.n_nodes, 1)
    queries = min(config.faithful_queries, max(FAITHFUL_MIN_QUERIES, cap))
    _say(progress, f"faithfulness to the tree ({queries} query nodes)")
    report["faithfulness"] = faithful.faithfulness(
        view, tax, n_queries=queries, n_pairs=config.n_pairs,
        k=config.faithful_k, seed=config.seed, index=index,
    )  # fmt: skip
    times["faithfulness"] = time.perf_counter() - clock
    report["seconds"] = {k: round(v, 3) for k, v in times.items()}
    report["warnings"] = _warnings(report)
    return report


def reconstruction_sample(
    config: EvalConfig, view: Any, queries: Queries, score: str
) -> int | None:
    """Anchors the report ranks by ``score`` (``None``: all, exactly): ``config.sample``
    when given; else, by distance, all when the predicted cost (pairs x depth, not
    nodes: :func:`auto_sample`) is within ``config.exact_max_cost``; by the ancestor
    score, all when ``anchors x nodes`` is also within ``config.exact_max_work``; else a
    sample sized to ``config.sample_max_cost``. Export's check (:mod:`.fidelity`)
    samples by the same rule."""
    if config.sample is not None:
        return config.sample
    sized = {"most": config.auto_sample, "least": config.min_sample, "seed": config.seed,
             "budget": config.sample_max_cost}  # fmt: skip
    if score == "ancestor" and len(queries.rows) * view.n > config.exact_max_work:
        return auto_sample(view, queries, max_cost=0.0, **sized)
    return auto_sample(view, queries, max_cost=config.exact_max_cost, **sized)


WALK_SHARE = 0.05
"""The index ranks a score when its walks form fewer than this share of the keys a
pass over every node forms (measured on :data:`WALK_PROBE` anchors): a walk's key or
bound costs about 15 of a pass's vectorised keys (``ncbi:small``, metric geometry:
the ancestor score's walks form 1.2% and rank 7x faster, the distance's form 9.5%
and rank 1.5x slower)."""

WALK_PROBE = 16


def _walk(
    index: BallIndex | None, queries: Queries, score: str, config: EvalConfig
) -> tuple[BallIndex | None, float]:
    """``(index, share)`` when walking the index is the cheaper way to rank ``score``
    (the ancestor score of a tree-like embedding: the positives are near), with the
    share of a full pass's keys a walk forms; else ``(None, 1.0)`` (a pass over every
    node; the distance ranking of the metric geometry, where the ancestors are far and
    the walk would open most boxes). Either way the counts are the same."""
    if index is None:
        return None, 1.0
    share = walk_share(index, queries, ancestor=score == "ancestor", probe=WALK_PROBE,
                       seed=config.seed)  # fmt: skip
    return (index, share) if share < WALK_SHARE else (None, 1.0)


def _more_by_walk(
    sample: int | None, walk: tuple[BallIndex | None, float], view: Any, config: EvalConfig
) -> int | None:
    """An automatic sample sized by the pass's cost, grown (up to ``auto_sample``) to
    what ``sample_max_cost`` affords at the walk's cost: the whole NCBI ranks 4,549
    nodes by the ancestor score, not 500. An exact ranking or ``--sample`` stays."""
    index, share = walk
    if sample is None or config.sample is not None or index is None:
        return sample
    per_anchor = max(share / WALK_SHARE, 1e-9) * view.n * (view.p.shape[1] + 1)
    return max(sample, min(config.auto_sample, int(config.sample_max_cost / per_anchor)))


def _data_section(tax: Taxonomy) -> dict[str, Any]:
    return {
        "source": tax.source,
        "n_nodes": tax.n_nodes,
        "n_edges": tax.n_edges,
        "n_closure": tax.n_closure,
        "is_tree": bool(tax.is_tree),
        "max_depth": int(tax.depth.max(initial=0)),
    }


def _clade_section(
    view: Any, tax: Taxonomy, config: EvalConfig, index: BallIndex | None
) -> dict[str, Any]:
    levels = hierarchy.clade_levels(tax, config.clade_ranks)
    labels = {
        r: hierarchy.keep_large(hierarchy.clade_labels(tax, r), config.min_clade_size)
        for r in levels
    }
    tree = faithful.TreeGraph.from_taxonomy(tax)
    separation = {
        r: hierarchy.clade_separation(
            view, lab, n_pairs=config.n_pairs, seed=config.seed, rank=r, tree=tree
        )
        for r, lab in labels.items()
    }
    purity = hierarchy.knn_purity(
        view, labels, k=config.purity_k, n_queries=config.purity_queries, seed=config.seed,
        index=index,
    )  # fmt: skip
    return {
        "kind": "top-level subtrees" if levels == [hierarchy.TOP_LEVEL] else "ranks",
        "min_clade_size": config.min_clade_size,
        "levels": {r: {"separation": separation[r], "purity": purity[r]} for r in levels},
    }


def _warnings(report: dict[str, Any]) -> list[str]:
    out = []
    norms = report["norms"]
    if norms["n_outside"]:
        out.append(f"{norms['n_outside']} points are outside the ball (or not finite)")
    if norms["at_max_radius_frac"] > 0.01:
        wider = "" if report["embedding"].get("dtype") == "float64" else "--dtype float64, "
        out.append(
            f"{norms['at_max_radius_frac']:.1%} of the points are clamped at the largest "
            "radius the precision allows: distances between them stop separating "
            f"(try {wider}a smaller --lr, or --manifold lorentz)"
        )
    rec = report["reconstruction"]
    if rec["tied_pairs"]:
        out.append(
            f"{rec['tied_pairs']:,} ranked pairs tie with a negative; see the pessimistic numbers"
        )
    if rec["mode"] == "sampled":
        out.append("reconstruction numbers are SAMPLED estimates (see the confidence interval)")
    return out


def _say(progress: bool, what: str) -> None:
    """Log the step starting; with ``progress`` (the CLI at a terminal) also show it
    on stderr, as a progress bar would be."""
    logger.info("evaluating: %s ...", what)
    if progress:
        print(f"evaluating: {what} ...", file=sys.stderr, flush=True)


# --------------------------------------------------------------------- text
def format_report(report: dict[str, Any]) -> str:
    """A readable plain-text table of an :func:`evaluate` report."""
    data, emb = report["data"], report["embedding"]
    lines = [
        f"hyptax evaluation of {data['source'] or 'the data'}: {data['n_nodes']:,} nodes, "
        f"{data['n_closure']:,} closure pairs, max depth {data['max_depth']}; "
        f"{emb['manifold']} dim {emb['dim']}" + _geometry_note(emb.get("geometry")),
        "",
        _rank_line("Reconstruction by distance (reference)", report["reconstruction"]),
    ]
    if report.get("ancestor_reconstruction"):
        lines.append(_rank_line(
            "Reconstruction by ancestor score d(u,a) + d(a,0) - d(u,0)",
            report["ancestor_reconstruction"],
        ))  # fmt: skip
    lp = report.get("link_prediction")
    if lp:
        lines.append(
            f"Link prediction: {lp['n_test']:,} test pairs ({lp['holdout']:g} held out, "
            f"seed {lp['split_seed']}), ranked against non-ancestors"
        )
        if lp["test"]:
            lines.append(_rank_line("  all test pairs", lp["test"]))
            lines.append(
                f"  trivial baseline: the training closure already implies "
                f"{lp['trivial_recall']:.1%} of the test pairs"
            )
        if lp.get("test_not_implied"):
            lines.append(_rank_line("  pairs not implied", lp["test_not_implied"]))
    dn = report["depth_norm"]
    lines += [
        "",
        f"Depth vs distance from origin: Pearson {_f(dn['pearson'])}, "
        f"Spearman {_f(dn['spearman'])} (n={dn['n']:,})",
        "",
    ]
    lines += _faithful_lines(report)
    lines += _clade_table(report)
    nm = report["norms"]
    lines += [
        "",
        f"Norms (Poincaré): max {_norm(nm['max_norm'])}, mean {_norm(nm['mean_norm'])}, "
        f"outside the ball {nm['n_outside']} ({nm['outside_frac']:.2%}), "
        f"within {nm['boundary_band']:g} of the boundary {nm['near_boundary_frac']:.2%}, "
        f"clamped at the largest radius {nm['at_max_radius_frac']:.2%}",
    ]
    secs = report.get("seconds", {})
    if secs:
        lines.append("Time: " + ", ".join(f"{k} {v:.1f} s" for k, v in secs.items()))
    for w in report.get("warnings", []):
        lines.append(f"warning: {w}")
    return "\n".join(lines)


def _geometry_note(geometry: str | None) -> str:
    """Which of the two rankings is the embedding's own hierarchy test."""
    if geometry == "metric":
        return "; metric geometry: its hierarchy is ranked by the ancestor score"
    if geometry == "order":
        return "; order geometry: its hierarchy is ranked by distance"
    return ""


def _rank_line(title: str, rec: dict[str, Any]) -> str:
    if rec["mode"] == "sampled" and rec["ci"] is None:
        head = (
            f"{title} (SAMPLED: {rec['n_nodes_ranked']:,} of {rec['n_nodes_total']:,} nodes): "
            f"MAP {_f(rec['map'])}, mean rank {_f(rec['mean_rank'], 2)}"
        )
    elif rec["mode"] == "sampled":
        ci = rec["ci"]
        head = (
            f"{title} (SAMPLED: {rec['n_nodes_ranked']:,} of {rec['n_nodes_total']:,} nodes): "
            f"MAP {_f(rec['map'])} [{ci['level']:.0%} CI {_f(ci['map'][0])}-{_f(ci['map'][1])}]"
            f", mean rank {_f(rec['mean_rank'], 2)} "
            f"[{_f(ci['mean_rank'][0], 2)}-{_f(ci['mean_rank'][1], 2)}]"
        )
    else:
        head = (
            f"{title} (exact, {rec['n_nodes_ranked']:,} nodes, {rec['n_pairs_ranked']:,} pairs): "
            f"MAP {_f(rec['map'])}, mean rank {_f(rec['mean_rank'], 2)}"
        )
    if rec["tied_pairs"]:
        head += (
            f"; ties counted against: MAP {_f(rec['map_pessimistic'])}, "
            f"mean rank {_f(rec['mean_rank_pessimistic'], 2)}"
        )
    return head + f"  [{rec['seconds']:.1f} s]"


def _clade_table(report: dict[str, Any]) -> list[str]:
    clades = report["clades"]
    size = clades["min_clade_size"]
    rows = [("clades by", "clades", "members", "separation", "tree", "purity@k", "chance", "")]
    k = report["settings"]["purity_k"]
    n_pairs = report["settings"]["n_pairs"]
    n_queries = 0
    for level, m in clades["levels"].items():
        sep, pur = m["separation"], m["purity"]
        n_queries = max(n_queries, pur["n_queries"])
        note = f"fewer than 2 clades of >= {size} members" if sep["ratio"] is None else ""
        rows.append((
            level.replace("_", "-"), f"{sep['n_clades']:,}", f"{sep['n_members']:,}",
            _f(sep["ratio"], 3), _f(sep.get("tree_ratio"), 3), _f(pur["purity"], 3),
            _f(pur["chance"], 3), note,
        ))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [
        "  ".join(c.ljust(w) if i in (0, 7) else c.rjust(w)
                  for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
        for r in rows
    ]  # fmt: skip
    out.insert(1, "-" * len(out[0]))
    out.append(
        f"(clades with >= {size} members; separation = mean distance between clades / "
        f"within a clade over {n_pairs:,} pairs of each; tree: the same ratio of tree "
        f"distances (path lengths) over the same pairs; purity@{k}: share of the {k} "
        "nearest taxa with a clade at that rank that share the node's clade, over up to "
        f"{n_queries:,} sampled nodes)"
    )
    return out


def _faithful_lines(report: dict[str, Any]) -> list[str]:
    fa = report.get("faithfulness")
    if not fa:  # reports written before faithfulness was measured
        return []
    n_nodes = report["data"]["n_nodes"]
    which = (
        f"SAMPLED: {fa['n_queries']:,} of {n_nodes:,} nodes as queries"
        if fa["sampled"]
        else f"all {fa['n_queries']:,} nodes as queries"
    )
    adjacent = "-" if fa["adjacent_nearest"] is None else f"{fa['adjacent_nearest']:.1%}"
    median = "-" if fa["parent_rank_median"] is None else f"{fa['parent_rank_median']:g}"
    return [
        f"Faithfulness to the tree ({which}, {fa['n_pairs']:,} pairs, seed {fa['seed']}):",
        f"  nearest node adjacent {adjacent}, parent rank median {median} "
        f"(mean {_f(fa['parent_rank_mean'], 2)}), {fa['k']}-NN tree distance "
        f"{_f(fa['knn_tree_distance'], 2)} (best {_f(fa['knn_tree_distance_best'], 2)})",
        f"  Spearman(distance, tree distance) {_f(fa['spearman_tree'])}, "
        f"mean distortion {_f(fa['distortion'], 3)} (scale {_f(fa['distortion_scale'], 2)})"
        f"  [{fa['seconds']:.1f} s]",
        "",
    ]


def _norm(x: float | None) -> str:
    """A Poincaré norm; near 1 as ``1 - 3.2e-09`` (``0.999999`` would hide the digits)."""
    if x is None:
        return "-"
    return f"1 - {1 - x:.1e}" if 0.999 < x < 1 else f"{x:.4f}"


def _f(x: float | None, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"
