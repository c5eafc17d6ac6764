"""The targets table of the benchmark suite: each target of issues 5 and 7, measured,
marked met or missed, with the peer's number from the same run and the ratio."""

from __future__ import annotations

import argparse
from typing import Any

from common import median
from harness import Run
from report import Doc, emit, map_at, sep_text, table, time_to_map


def section_targets(
    doc: Doc,
    args: argparse.Namespace,
    mammals: dict[str, list[Run]],
    long: dict[str, Run],
    warm: dict[Any, Run],
    speed: dict[str, Any],
    ncbi: dict[str, Any],
) -> None:
    emit(doc, ["", "## Targets (issue 5 part 2, issue 7)", ""])
    rows: list[list[Any]] = []

    def row(target: str, measured: float | None, ok: bool | None, peer: str, note: str = ""):
        verdict = "report" if ok is None else ("met" if ok else "MISSED")
        rows.append([target, measured, verdict, peer, note])

    _mammals(row, mammals)
    for dim in (10, 5):
        hy, g = speed[dim]["hyptax"], speed[dim]["gensim"]["edges_per_s"]
        ok = hy >= 250_000 if dim == 10 else None
        row(
            f"nouns dim {dim}: "
            + (
                f">= 250,000 positive pairs/s (50 negatives), median of {len(speed[dim]['runs'])}"
                if dim == 10
                else "pairs/s (no target)"
            ),
            hy,
            ok,
            f"gensim {g:,.0f}/s with 10 neg. (x{hy / g:.0f})",
            "" if ok is not False else f"{hy / 250_000:.0%} of the target",
        )
    budget = args.budget["nouns"]
    reduced = f"budget {budget:g} s" + (" (REDUCED)" if budget < 1800 else "")

    def where(p: dict[str, Any]) -> str:
        return f"{p['run']}, {p['t']:.0f} s, epoch {p['epoch']:g}, {p['mode']}"

    for dim in (10, 5):
        runs = [r for k, r in long.items() if k.startswith(f"wordnet:nouns {dim}")]
        points = [{**p, "run": r.label} for r in runs for p in r.points]  # budget-limited runs
        best = max(points, key=lambda p: p["map"])
        trained = [p for p in points if p["epoch"] > 0] or points
        bt = max(trained, key=lambda p: p["map"])
        low = min(trained, key=lambda p: p["mean_rank"])
        if dim == 10:
            b15 = max((p for p in points if p["t"] <= 900), key=lambda p: p["map"])
            ok = True if b15["map"] >= 0.87 else (None if budget < 900 else False)
            row("nouns dim 10: MAP >= 0.87 within 15 min (half the cores)", b15["map"], ok,
                "paper 0.851 after ~1 day; gensim's own benchmark 0.63",
                f"{where(b15)}; {reduced}")  # fmt: skip
        row(f"nouns dim {dim}: best MAP within 30 min (half the cores)", best["map"], None,
            "paper " + ("0.851 / mean rank 4.02" if dim == 10 else "0.823 / mean rank 4.9"),
            f"{where(best)}; best after training {bt['map']:.4f} (mean rank "
            f"{bt['mean_rank']:.2f}, {where(bt)}); lowest mean rank {low['mean_rank']:.2f} "
            f"(MAP {low['map']:.4f}, {where(low)}); {reduced}")  # fmt: skip
    ev = speed["eval"]
    gs = ev["gensim"]["extrapolated_s"]
    row(
        f"exact nouns reconstruction <= 30 s (median of {ev['runs']})",
        ev["hyptax_s"],
        ev["hyptax_s"] <= 30,
        f"gensim ~{gs:.0f} s extrapolated (x{gs / ev['hyptax_s']:.0f})",
    )
    if ncbi:
        _ncbi(row, ncbi)
    _small(row, long["ncbi:small 10"], warm[("ncbi:small", 10, "constructive")], args)
    _warm(row, warm)
    emit(doc, table(rows, ["target", "measured", "verdict", "peer (ratio)", "note"]))


def _mammals(row, mammals: dict[str, list[Run]]) -> None:
    hy = mammals["hyptax constructive"]
    t96 = [time_to_map(r, 0.96) for r in hy]
    med = median([t for t in t96 if t is not None]) if all(t is not None for t in t96) else None
    gens = [time_to_map(r[0], 0.96) for k, r in mammals.items() if k.startswith("gensim")]
    gbest = min([t for t in gens if t is not None], default=None)
    gmax = max(r[0].seconds for k, r in mammals.items() if k.startswith("gensim"))
    peer = (
        f"gensim {gbest:.0f} s (x{gbest / max(med, 1e-3):.0f})"
        if gbest and med is not None
        else f"gensim: not reached in {gmax:.0f} s"
        if med is not None
        else "-"
    )
    row(
        f"mammals dim 10: MAP >= 0.96 in <= 20 s (s to reach, median of {len(hy)})",
        med,
        med is not None and med <= 20,
        peer,
        f"final MAP median {median([r.points[-1]['map'] for r in hy]):.4f}; gensim best final "
        f"{max(r[0].points[-1]['map'] for k, r in mammals.items() if k.startswith('gensim')):.4f}",
    )
    hu = mammals["hyptax uniform"]
    reached = [t for t in (time_to_map(r, 0.96) for r in hu) if t is not None]
    ok = len(reached) * 2 > len(hu)
    row(
        f"(info) mammals dim 10, --init uniform: s to MAP >= 0.96 (median of {len(hu)})",
        median(reached) if ok else None,
        (median(reached) <= 20) if ok else False,
        "-",
        f"reached in {len(reached)} of {len(hu)} runs; final MAP median "
        f"{median([r.points[-1]['map'] for r in hu]):.4f}",
    )


def _ncbi(row, ncbi: dict[str, Any]) -> None:
    row("whole NCBI: prepare <= 60 s", ncbi["prepare_s"], ncbi["prepare_s"] <= 60, "-")
    e = ncbi["epoch_s_all_cores"]
    if e is not None:
        row(
            "whole NCBI: an epoch <= 5 min (every core)",
            e,
            e <= 300,
            "-",
            f"{e / 300:.1f}x the target" if e > 300 else f"half the cores: {ncbi['epoch_s']:.0f} s",
        )
    peak = max(ncbi["peak_rss_gib"], ncbi["peak_all_cores"])
    row("whole NCBI: peak memory <= 8 GiB", peak, peak <= 8, "-")
    first, last = ncbi["points"][0], ncbi["points"][-1]
    row(
        f"whole NCBI: hierarchy after {ncbi['budget_s']:g} s (half the cores)",
        last["map"],
        None,
        "-",
        f"MAP {first['map']:.4f} -> {last['map']:.4f} ({last['mode']}), mean rank "
        f"{first['mean_rank']:.0f} -> {last['mean_rank']:.0f}, Spearman {last['spearman']:.4f}, "
        f"separation {sep_text(last)}; {last['epoch']:g} epochs",
    )


def _small(row, run: Run, warm: Run, args: argparse.Namespace) -> None:
    c = warm.points[0]
    ok = c["spearman"] >= 0.99 and c["map"] >= 0.95 and c["t"] < 60
    row(
        "ncbi:small dim 10: constructive alone Spearman >= 0.99 and MAP >= 0.95 in < 1 min",
        c["map"],
        ok,
        "-",
        f"Spearman {c['spearman']:.4f}, MAP {c['map']:.4f} ({c['mode']}), {c['t']:.1f} s",
    )
    t = run.time_to("spearman", 0.99)
    last = run.points[-1]
    row(
        f"ncbi:small dim 10: s to depth-norm Spearman >= 0.99; after {run.seconds:.0f} s",
        t,
        None,
        "prior tool: r 0.99, class separation 1.68x (7.8k taxa)",
        f"final MAP {last['map']:.4f} ({last['mode']}), Spearman {last['spearman']:.4f}, "
        f"separation {sep_text(last)}; budget {args.budget['small']:g} s, half the cores",
    )


def _warm(row, warm: dict[Any, Run]) -> None:
    for dim in (10, 5):
        a, b = (warm[("wordnet:nouns", dim, i)] for i in ("constructive", "uniform"))
        # each trained point of uniform against constructive's last point at or before
        # the same wall time (conservative: constructive never gets more time)
        pairs = [(map_at(a, q["t"]), q) for q in b.points if q["epoch"] > 0]
        pairs = [(p, q) for p, q in pairs if p is not None]
        wins = sum(p["map"] > q["map"] for p, q in pairs)
        last_a, last_b = a.points[-1], b.points[-1]
        row(
            f"nouns dim {dim}: constructive + training > uniform + training at equal wall time",
            last_a["map"],
            wins == len(pairs) and last_a["map"] > last_b["map"],
            f"uniform {last_b['map']:.4f} at {last_b['t']:.0f} s",
            f"constructive {last_a['map']:.4f} at {last_a['t']:.0f} s ({last_a['mode']}); "
            f"ahead at {wins} of {len(pairs)} of uniform's snapshots",
        )
