"""The suite's long runs, in two lanes that share the machine.

Run one after another, the issue's long budgets (nouns 30 min at dim 10 and at dim 5,
ncbi:small 10 min, the whole NCBI one hour, gensim on mammals) would take about
three hours on a 2-core machine. :mod:`run_all` runs them as two lanes at once, each
pinned to its own half of the cores and given that many threads:

* ``hyptax``: hyptax's defaults on WordNet nouns (dim 10, then dim 5) and on
  ncbi:small (dim 10), each until early stopping or its wall budget; then nouns
  again (dims 10, 5) with early stopping off, for the whole budget. Snapshots are
  scored afterwards;
* ``peers``: the whole NCBI Taxonomy (:mod:`ncbi_whole`, in its own process so its
  peak memory is its own), then gensim's PoincareModel on mammals (its defaults,
  then its best settings), which runs on one thread whatever it is given.

So a lane's MAP-against-time curve is what half the machine reaches: conservative
for hyptax, whose lone runs use every core, and no handicap for gensim. Throughput
and seconds per epoch come from short runs with every core (:mod:`run_all`).

    python benchmarks/lanes.py hyptax --cpus 0 --out lane-hyptax.json
    python benchmarks/lanes.py peers --cpus 1 --out lane-peers.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import peers
from common import CACHE, HERE, Scorer, load_prepared
from harness import score, train_hyptax

from hyptax.config import TrainConfig
from hyptax.files import atomic_write

LONG_TIMES = (10, 30, 60, 120, 300, 600, 900, 1200, 1500, 1800)
MAMMAL_TIMES = (0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600)
GENSIM_TUNED = {"alpha": 0.3, "negative": 10, "burn_in": 10}
"""The best gensim settings found on mammals dim 10 (see RESULTS.md for the search)."""


def lane_hyptax(args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """hyptax's defaults on nouns (dims 10, 5) and ncbi:small (dim 10), then nouns again
    with early stopping off, so the curve runs the whole budget. Each finished run is
    saved at once; with ``--resume`` the runs already in ``--out`` are kept."""
    done = _saved(args.out)["runs"] if args.resume else {}
    nb, nf = args.nouns_budget, args.nouns_final_sample
    plan = [("wordnet:nouns", 10, nb, nf, {}), ("wordnet:nouns", 5, nb, nf, {}),
            ("ncbi:small", 10, args.small_budget, args.small_final_sample, {}),
            ("wordnet:nouns", 10, nb, nf, NO_STOP),
            ("wordnet:nouns", 5, nb, nf, NO_STOP)]  # fmt: skip
    runs: dict[str, Any] = {}
    loaded: dict[str, tuple[Any, Scorer]] = {}
    for spec, dim, budget, final_sample, change in plan:
        key = f"{spec} {dim}" + (" no-early-stopping" if change else "")
        if key in done:
            runs[key] = done[key]
            continue
        if spec not in loaded:
            loaded.clear()
            tax, _ = load_prepared(spec)
            loaded[spec] = (tax, Scorer(tax, sample=args.sample))
        tax, scorer = loaded[spec]
        # epochs unbounded: the wall budget (or early stopping) ends the run
        cfg = TrainConfig(data=spec, dim=dim, threads=threads, epochs=1_000_000, **change)
        label = "defaults" + (", no early stopping" if change else "")
        run = train_hyptax(tax, cfg, budget, label=label, times=LONG_TIMES)
        last = {"sample": final_sample}
        score(run, scorer, first=last, final=last)
        runs[key] = run.to_json()
        _save(args.out, {"runs": runs, "partial": True})
        print(f"{key}: {run.epochs:g} epochs, MAP {run.points[-1]['map']:.4f}", flush=True)
    return {"runs": runs}


NO_STOP = {"early_stopping": None}


def _saved(path: str) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {"runs": {}}


def _save(path: str, result: dict[str, Any]) -> None:
    with atomic_write(path, "w") as fh:
        json.dump(result, fh, default=float)


def lane_peers(args: argparse.Namespace, threads: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    path = CACHE / "ncbi-whole.json"
    cmd = [
        sys.executable,
        str(HERE / "ncbi_whole.py"),
        "--budget",
        str(args.ncbi_budget),
        "--pieces",
        str(args.ncbi_pieces),
        "--threads",
        str(threads),
        "--out",
        str(path),
    ]
    proc = common.timed_subprocess(cmd)
    if proc["returncode"] == 0:
        out["ncbi"] = {**json.loads(path.read_text()), "peak_rss_gib": proc["peak_rss_gib"]}
    else:
        out["ncbi_error"] = proc["output"][-3000:]
    print(f"whole NCBI: exit {proc['returncode']} after {proc['seconds']:.0f} s", flush=True)
    tax, _ = load_prepared("wordnet:mammals")
    scorer = Scorer(tax)
    for label, settings in (("gensim defaults", {}), ("gensim tuned", GENSIM_TUNED)):
        run = peers.train_gensim(
            tax, 10, args.gensim_budget, label=label, settings=settings, times=MAMMAL_TIMES
        )
        del run.model  # type: ignore[attr-defined]
        out[label] = score(run, scorer, clades=False).to_json()
        print(f"{label}: MAP {run.points[-1]['map']:.4f}", flush=True)
    return out


LANES = {"hyptax": lane_hyptax, "peers": lane_peers}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lane", choices=sorted(LANES))
    ap.add_argument("--cpus", default="", help="comma-separated cores to pin to (default all)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--nouns-budget", type=float, default=1800.0)
    ap.add_argument("--small-budget", type=float, default=600.0)
    ap.add_argument("--ncbi-budget", type=float, default=3600.0)
    ap.add_argument("--gensim-budget", type=float, default=600.0)
    ap.add_argument("--ncbi-pieces", type=int, default=8)
    ap.add_argument("--sample", type=int, default=2000, help="anchors ranked at snapshots")
    ap.add_argument("--nouns-final-sample", type=int, default=None)
    ap.add_argument("--small-final-sample", type=int, default=None)
    ap.add_argument("--resume", action="store_true", help="keep the runs already in --out")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    cpus = {int(c) for c in args.cpus.split(",") if c.strip()} or os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    started = time.perf_counter()
    result = LANES[args.lane](args, len(cpus))
    result.update(lane=args.lane, cpus=sorted(cpus), seconds=time.perf_counter() - started)
    _save(args.out, result)


if __name__ == "__main__":
    main()
