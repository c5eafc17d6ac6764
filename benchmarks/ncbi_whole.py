"""The whole NCBI Taxonomy, in its own process (so its peak memory is its own):
load the prepared dataset, build the default model (constructive initialisation),
train for a wall-clock budget, score, and write one JSON file.

    python benchmarks/ncbi_whole.py --budget 3600 --pieces 8 --out result.json

With ``--pieces P`` each epoch's positives are split into P fixed slices so that a
budget shorter than an epoch still ends (see :mod:`harness`); seconds per epoch are
then the median seconds per slice times P.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Scorer, load_prepared
from harness import score, train_hyptax

from hyptax.config import TrainConfig
from hyptax.files import atomic_write


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=3600.0, help="training wall seconds")
    ap.add_argument("--pieces", type=int, default=8, help="slices per epoch")
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--sample", type=int, default=1000, help="anchors ranked for MAP")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: all)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    tax, load_s = load_prepared("ncbi")
    config = TrainConfig(data="ncbi", dim=args.dim, threads=args.threads)
    times = tuple(t for t in (60, 300, 900, 1800, 3600) if t < args.budget)
    run = train_hyptax(tax, config, args.budget, label="constructive + training",
                       pieces=args.pieces, times=times)  # fmt: skip
    t0 = time.perf_counter()
    score(run, Scorer(tax, sample=args.sample, n_pairs=20_000))
    out = {
        "n_nodes": tax.n_nodes,
        "n_closure": tax.n_closure,
        "load_s": load_s,
        "init_s": run.init_s,
        "setup_s": run.setup_s,
        "pieces": args.pieces,
        "slice_s": run.epoch_s(),
        "epoch_s": run.epoch_s() * args.pieces,
        "edges_per_s": run.edges_per_s(),
        "epochs": run.epochs,
        "seconds": run.seconds,
        "points": run.points,
        "score_s": time.perf_counter() - t0,
        "budget_s": args.budget,
        "threads": args.threads or len(os.sched_getaffinity(0)),
    }
    with atomic_write(args.out, "w") as fh:
        json.dump(out, fh, default=float)


if __name__ == "__main__":
    main()
