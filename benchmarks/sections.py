"""The sections of RESULTS.md after the prepared datasets: each prints its tables and
returns what the targets table needs (see :mod:`run_all` for the two phases)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import common
import peers
import torch
from common import CACHE, HERE, Scorer, load_prepared, median
from harness import Run, score, train_hyptax
from lanes import GENSIM_TUNED, MAMMAL_TIMES
from report import CURVE_HEAD, Doc, curve_rows, emit, plot, sep_text, table, time_to_map

from hyptax.config import TrainConfig

MAMMALS_HEAD = ["method", "runs", "wall s (median)", "epochs", "final MAP", "final mean rank",
                "s to MAP >= 0.96", "pairs/s"]  # fmt: skip
LONG_HEAD = ["data", "dim", "run", "threads", "wall s", "epochs", "stopped early", "MAP at start",
             "best MAP", "at s", "final MAP", "final mean rank", "ranked",
             "s to Spearman >= 0.99", "final separation per rank"]  # fmt: skip
WARM_HEAD = ["data", "dim", "init", "budget s", "wall s", "epochs", "stopped early",
             "MAP at start", "final MAP", "ranked"]  # fmt: skip
SPEED_HEAD = ["dim", "tool", "negatives", "runs", "positive pairs/s (median)", "s/epoch",
              "x gensim"]  # fmt: skip
NCBI_HEAD = ["run", "threads", "load s", "constructive s", "setup s", "pairs/s", "s/epoch",
             "epochs done", "wall s", "peak GiB"]  # fmt: skip


def section_mammals(doc: Doc, args: argparse.Namespace, lane: dict[str, Any]) -> dict[str, Any]:
    """hyptax (phase 2, 3 seeds per init) against gensim (phase 1, one run each)."""
    tax, _ = load_prepared("wordnet:mammals")
    scorer = Scorer(tax)
    budget, gbudget = args.budget["mammals"], args.budget["mammals_gensim"]
    runs: dict[str, list[Run]] = {"hyptax constructive": [], "hyptax uniform": []}
    for seed in range(args.runs):
        for init in ("constructive", "uniform"):
            cfg = TrainConfig(data="wordnet:mammals", dim=10, init=init, seed=seed)
            run = train_hyptax(tax, cfg, budget, label=f"hyptax {init}", times=MAMMAL_TIMES)
            runs[f"hyptax {init}"].append(score(run, scorer, clades=False))
    for label in ("gensim defaults", "gensim tuned"):
        runs[label] = [Run.from_json(lane[label])]
    emit(doc, ["", "## WordNet mammals, dim 10: hyptax vs gensim", ""])
    rows = []
    for label, rs in runs.items():
        finals = [r.points[-1] for r in rs]
        reached = [t for t in (time_to_map(r, 0.96) for r in rs) if t is not None]
        speed = (
            median([r.edges_per_s() for r in rs])
            if label.startswith("hyptax")
            else median([tax.n_closure / max(x["epoch_s"], 1e-9) for x in rs[0].records])
        )
        rows.append(
            [
                label,
                len(rs),
                median([r.seconds for r in rs]),
                median([r.epochs for r in rs]),
                median([p["map"] for p in finals]),
                median([p["mean_rank"] for p in finals]),
                median(reached) if len(reached) * 2 > len(rs) else None,
                speed,
            ]
        )
    emit(doc, table(rows, MAMMALS_HEAD))
    emit(doc, ["", f"hyptax: `TrainConfig(data='wordnet:mammals', dim=10)` (defaults: 50 "
               f"negatives, constructive init, early stopping) and `init='uniform'`, seeds "
               f"0..{args.runs - 1}, at most {budget:g} s each, every core (phase 2). gensim 4 "
               f"(phase 1, one thread, while the whole NCBI trained on the other half of the "
               f"cores): PoincareModel size=10, defaults {peers.GENSIM_DEFAULTS}; tuned "
               f"{GENSIM_TUNED} (searched: alpha 0.1 / 0.3 / 1.0 at negative 10 (the first "
               "20 epochs: MAP 0.39 at 30 epochs / 0.74 / 0.70); negative 20 ran over 9x "
               "slower and negative 50 did not finish one epoch in 120 s: for a node with "
               "under 1% positives gensim redraws the whole negative sample until it holds no "
               "duplicate and no positive, which with its degree-weighted distribution on a "
               "hub-heavy closure almost never happens), one run each of at most "
               f"{gbudget:g} s (whole epochs). MAP and mean rank: exact, hyptax's evaluator "
               "for both. Wall time: model setup (including the constructive embedding / "
               "gensim's vocabulary) + training; scoring not counted.", "",
               "MAP against wall time (first run of each):", ""])  # fmt: skip
    rows = [r for rs in runs.values() for r in curve_rows(rs[0], "mammals", 10)]
    emit(doc, table([r[:8] for r in rows], CURVE_HEAD[:8]))
    plot(runs, HERE / "mammals_map_vs_time.png", "WordNet mammals, dim 10")
    emit(doc, ["", "![MAP vs seconds](mammals_map_vs_time.png)"])
    return runs


def section_long(doc: Doc, args: argparse.Namespace, lane: dict[str, Any]) -> dict[str, Run]:
    """Phase 1's hyptax lane: nouns for 30 min (dims 10, 5), ncbi:small for 10 min."""
    runs = {k: Run.from_json(v) for k, v in lane["runs"].items()}
    emit(doc, ["", "## Long runs: WordNet nouns and ncbi:small with the defaults", ""])
    summary, rows = [], []
    for key, run in runs.items():
        spec, dim = key.split()[:2]
        best, last = max(run.points, key=lambda p: p["map"]), run.points[-1]
        summary.append([spec, dim, run.label, run.config.threads, run.seconds, run.epochs,
                        run.stopped_early, run.points[0]["map"], best["map"], best["t"],
                        last["map"], last["mean_rank"], last["mode"],
                        run.time_to("spearman", 0.99), sep_text(last)])  # fmt: skip
        for r in curve_rows(run, spec, int(dim)):
            if r[4] == 0:
                r[2] = "constructive alone"
            rows.append(r)
    emit(doc, table(summary, LONG_HEAD))
    emit(doc, ["", f"`TrainConfig(data=SPEC, dim=DIM, threads={run.config.threads})`: the "
               "defaults (epochs unbounded), on half of the cores (phase 1; the other half "
               "trained the whole NCBI); `no early stopping`: the same with "
               "`early_stopping=None`, so it runs the whole budget. Budgets: nouns "
               f"{args.budget['nouns']:g} s, ncbi:small "
               f"{args.budget['small']:g} s. Snapshots at fixed wall times, scored afterwards; "
               f"`ranked` says exact or how many seeded anchors ({args.sample}, the same for "
               "every snapshot of a dataset); separation per rank = mean distance between "
               "clades / within, 20,000 pairs each, clades of >= 10 members (WordNet: the "
               "top-level subtrees).", ""])  # fmt: skip
    emit(doc, table(rows, CURVE_HEAD))
    nouns = {f"dim {k.split()[1]}, {v.label}": [v] for k, v in runs.items()
             if k.startswith("wordnet")}  # fmt: skip
    plot(nouns, HERE / "nouns_map_vs_time.png", "WordNet nouns, hyptax defaults (half the cores)")
    emit(doc, ["", "![nouns MAP vs seconds](nouns_map_vs_time.png)"])
    return runs


def section_warm_start(doc: Doc, args: argparse.Namespace,
                       mammals: dict[str, list[Run]]) -> dict[Any, Run]:  # fmt: skip
    """Issue 7: constructive + training against uniform + training at equal wall time."""
    out: dict[Any, Run] = {}
    emit(doc, ["", "## Constructive warm start vs random initialisation (issue 7)", ""])
    plan = [("wordnet:nouns", args.budget["warm_nouns"], args.nouns_final_sample),
            ("ncbi:small", args.budget["warm_small"], args.small_final_sample)]  # fmt: skip
    summary, rows = [], []

    def add(spec: str, dim: int, init: str, budget: float, run: Run) -> None:
        first, last = run.points[0], run.points[-1]
        summary.append([spec, dim, init, budget, run.seconds, run.epochs, run.stopped_early,
                        first["map"], last["map"], last["mode"]])  # fmt: skip

    for init in ("constructive", "uniform"):
        add("wordnet:mammals", 10, init, args.budget["mammals"], mammals[f"hyptax {init}"][0])
    for spec, budget, final_sample in plan:
        tax, _ = load_prepared(spec)
        scorer = Scorer(tax, sample=args.sample)
        for dim in (10, 5):
            for init in ("constructive", "uniform"):
                cfg = TrainConfig(data=spec, dim=dim, init=init)
                run = train_hyptax(tax, cfg, budget, label=f"{init} + training",
                                   times=(10, 30, 60, 120, 300, 600))  # fmt: skip
                last = {"sample": final_sample}
                score(run, scorer, final=last, first=last if init == "constructive" else None)
                out[(spec, dim, init)] = run
                for r in curve_rows(run, spec, dim):
                    if r[4] == 0:
                        r[2] = f"{init} alone" if init == "constructive" else "uniform (untrained)"
                    rows.append(r)
                add(spec, dim, init, budget, run)
        del tax, scorer
    emit(doc, table(summary, WARM_HEAD))
    emit(doc, ["", "Every core, one run each (mammals: the first seed above). Against wall "
               "time:", ""])  # fmt: skip
    emit(doc, table(rows, CURVE_HEAD))
    return out


def section_speed(doc: Doc, args: argparse.Namespace, warm: dict[Any, Run]) -> dict[str, Any]:
    """Nouns throughput (medians of short runs), gensim's epoch and both evaluators."""
    tax, _ = load_prepared("wordnet:nouns")
    emit(doc, ["", "## WordNet nouns: throughput and evaluation time, hyptax vs gensim", ""])
    rows, out = [], {}
    for dim in (10, 5):
        speeds = []
        for seed in range(args.runs):
            cfg = TrainConfig(data="wordnet:nouns", dim=dim, seed=seed)
            speeds.append(train_hyptax(tax, cfg, args.budget["speed"], times=()).edges_per_s())
        g = peers.gensim_epoch_time(tax, dim, fraction=args.gensim_fraction)
        hy = median(speeds)
        out[dim] = {"hyptax": hy, "runs": speeds, "gensim": g}
        rows.append([dim, "hyptax (defaults)", 50, len(speeds), hy, tax.n_closure / hy,
                     hy / g["edges_per_s"]])  # fmt: skip
        rows.append([dim, "gensim", g["negative"], 1, g["edges_per_s"], g["epoch_s"], 1.0])
    emit(doc, table(rows, SPEED_HEAD))
    emit(doc, ["", f"hyptax: {args.runs} runs of {args.budget['speed']:g} s per dim (seeds "
               "0..), every core, float64, batch 512; a run's speed is the median of fit's "
               "per-epoch speed. gensim: one epoch (no burn-in, batch 10, one thread; it "
               "refuses more), the model built on every closure pair, the epoch walking a "
               f"seeded {args.gensim_fraction:.0%} of them, time scaled to the whole closure; "
               "gensim with 50 negatives does not finish (see mammals), so it runs its "
               "default 10.", ""])  # fmt: skip
    exact = [p for k, r in warm.items() if k[0] == "wordnet:nouns" for p in r.points
             if p["mode"] == "exact"]  # fmt: skip
    hy = median([p["rank_s"] for p in exact])
    # gensim's evaluator costs the same whatever the vectors: any points of the ball do
    weight = (torch.rand(tax.n_nodes, 10, generator=torch.Generator().manual_seed(0)) - 0.5) * 0.1
    ge = peers.gensim_eval_time(tax, weight, CACHE / "wordnet-nouns.tsv", max_n=args.gensim_eval_n)
    out["eval"] = {"hyptax_s": hy, "runs": len(exact), "gensim": ge}
    gensim_label = (
        f"gensim ReconstructionEvaluation, {ge['items_timed']} of {ge['items_total']:,} nodes "
        f"timed ({ge['sample_s']:.1f} s) + reading the pairs ({ge['setup_s']:.1f} s), extrapolated"
    )
    rows = [
        ["hyptax exact reconstruction (all 82,115 nodes; numba, every core)", len(exact), hy, 1.0],
        [gensim_label, 1, ge["extrapolated_s"], ge["extrapolated_s"] / hy if hy else None],
    ]
    emit(doc, table(rows, ["evaluator", "runs", "seconds (median)", "x hyptax"]))
    emit(doc, ["", "hyptax's runs: every exact nouns evaluation of the issue-7 section."])
    return out


def section_ncbi(doc: Doc, args: argparse.Namespace, prep: dict[str, Any],
                 lane: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """The whole NCBI: phase 1's hour on half the cores, phase 2's all-core epoch timing."""
    emit(doc, ["", "## The whole NCBI Taxonomy (`ncbi`), dim 10", ""])
    if "ncbi" not in lane:
        emit(doc, f"The long run failed:\n```\n{lane.get('ncbi_error', '')}\n```")
        return {}
    res = {**lane["ncbi"], "prepare_s": prep["ncbi"]["seconds"]}
    path = CACHE / "ncbi-speed.json"
    cmd = [sys.executable, str(HERE / "ncbi_whole.py"), "--budget",
           str(args.budget["ncbi_speed"]), "--pieces", str(args.ncbi_pieces), "--out",
           str(path)]  # fmt: skip
    proc = common.timed_subprocess(cmd)
    speed = json.loads(path.read_text()) if proc["returncode"] == 0 else None
    runs = (("one hour", res, res["peak_rss_gib"]), ("epoch timing", speed, proc["peak_rss_gib"]))
    rows = [[label, r["threads"], r["load_s"], r["init_s"], r["setup_s"], r["edges_per_s"],
             r["epoch_s"], r["epochs"], r["seconds"], peak]
            for label, r, peak in runs if r]  # fmt: skip
    emit(doc, table(rows, NCBI_HEAD))
    res["epoch_s_all_cores"] = speed["epoch_s"] if speed else None
    res["peak_all_cores"] = proc["peak_rss_gib"]
    emit(doc, ["", f"{res['n_nodes']:,} nodes, {res['n_closure']:,} closure pairs. Each epoch "
               f"split into {res['pieces']} fixed slices (s/epoch = median s/slice x "
               f"{res['pieces']}; fit's per-slice validation and quick metrics are in the wall "
               "time, not in s/epoch). `one hour`: phase 1, half of the cores, "
               f"{res['budget_s']:g} s of training; `epoch timing`: phase 2, every core, "
               f"{args.budget['ncbi_speed']:g} s. Peak memory: the whole subprocess (load, "
               "setup, training, scoring), `os.wait4`. Metrics of the one-hour run:",
               ""])  # fmt: skip
    rows = [["ncbi", 10, "constructive alone" if p["epoch"] == 0 else "+ training", p["t"],
             p["epoch"], p["map"], p["mean_rank"], p["mode"], p["spearman"], sep_text(p)]
            for p in res["points"]]  # fmt: skip
    emit(doc, table(rows, CURVE_HEAD))
    return res
