"""Are the defaults of ``hyptax train`` the ones that reach the best quality soonest?

    python benchmarks/defaults.py                         # mammals 10 s, nouns 60 s per variant
    python benchmarks/defaults.py --nouns-budget 120 --out DEFAULTS.md

Each variant changes one default (learning rate, batch size, negatives, burn-in,
optimiser, initialisation) and trains for the same wall-clock budget with every
core; the embedding it has then is scored exactly (MAP and mean rank, the reference
convention). Prints a table and writes ``benchmarks/DEFAULTS.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, Scorer, load_prepared
from harness import score, train_hyptax
from report import header, save, table

from hyptax.config import TrainConfig

DEFAULT = TrainConfig()
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {}),
    (f"lr {DEFAULT.lr / 4:g} (x1/4)", {"lr": DEFAULT.lr / 4}),
    (f"lr {DEFAULT.lr * 4:g} (x4)", {"lr": DEFAULT.lr * 4}),
    ("batch 128", {"batch_size": 128}),
    ("batch 2048", {"batch_size": 2048}),
    ("10 negatives", {"n_negatives": 10}),
    ("burn-in 0", {"burn_in": 0}),
    ("optimizer radam (lr 0.05)", {"optimizer": "radam", "lr": 0.05}),
    ("init uniform", {"init": "uniform"}),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mammals-budget", type=float, default=10.0, help="seconds per variant")
    ap.add_argument("--nouns-budget", type=float, default=60.0, help="seconds per variant")
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--out", default=str(HERE / "DEFAULTS.md"))
    args = ap.parse_args(argv)
    rows = []
    for spec, budget in (("wordnet:mammals", args.mammals_budget),
                         ("wordnet:nouns", args.nouns_budget)):  # fmt: skip
        tax, _ = load_prepared(spec)
        scorer = Scorer(tax)
        for label, change in VARIANTS:
            cfg = TrainConfig(data=spec, dim=args.dim, epochs=1_000_000, **change)
            run = score(train_hyptax(tax, cfg, budget, label=label, times=()), scorer,
                        clades=False)  # fmt: skip
            last = run.points[-1]
            rows.append([spec, label, run.seconds, run.epochs, run.stopped_early,
                         run.edges_per_s(), last["map"], last["mean_rank"]])  # fmt: skip
            print(" | ".join(map(str, rows[-1])), flush=True)
        del tax, scorer
    head = ["data", "variant", "wall s", "epochs", "stopped early", "pairs/s", "MAP", "mean rank"]
    doc = [*header("Defaults against one-change variants"), "",
           f"dim {args.dim}, every core, one run per variant (seed 0) of at most "
           f"{args.mammals_budget:g} s (mammals) / {args.nouns_budget:g} s (nouns) including "
           "setup (the constructive embedding, where used); epochs unbounded, early stopping "
           "on. MAP and mean rank: exact, at the end of the run.", "",
           *table(rows, head)]  # fmt: skip
    print("\n".join(doc))
    save(args.out, doc)


if __name__ == "__main__":
    main()
