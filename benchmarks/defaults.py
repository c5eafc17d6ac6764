"""Are the defaults of ``hyptax train`` the ones that reach the best quality soonest?

    python benchmarks/defaults.py                  # mammals 8 s, nouns 45 s, ncbi:small 20 s
    python benchmarks/defaults.py --seeds 5 --finalists 6 --nouns-budget 120

Each variant changes one default (learning rate, batch size, negatives, burn-in,
optimiser, initialisation) and trains for the same wall-clock budget with every
core on ``wordnet:mammals``, ``wordnet:nouns`` and ``ncbi:small``; the embedding
it has then is scored exactly (MAP and mean rank, the reference convention, and
depth-norm Spearman).

Two rounds, so that the seeds go where the decision is: a screen runs every
variant once (seed 0); the defaults and the ``--finalists`` variants with the best
mean MAP gain over the defaults then run ``--seeds - 1`` more seeds, and the
finals report medians with their range. Prints tables and writes
``benchmarks/DEFAULTS.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, Scorer, load_prepared, median
from harness import score, train_hyptax
from report import header, save, table

from hyptax.config import TrainConfig

DEFAULT = TrainConfig()
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {}),
    (f"lr {DEFAULT.lr / 4:g} (x1/4)", {"lr": DEFAULT.lr / 4}),
    (f"lr {DEFAULT.lr * 2:g} (x2)", {"lr": DEFAULT.lr * 2}),
    (f"lr {DEFAULT.lr * 4:g} (x4)", {"lr": DEFAULT.lr * 4}),
    ("batch 2048", {"batch_size": 2048}),
    ("10 negatives", {"n_negatives": 10}),
    # the default is no burn-in from the constructive start; 10 epochs is the alternative
    ("burn-in 10", {"burn_in": 10}),
    ("radam lr 0.02", {"optimizer": "radam", "lr": 0.02}),
    ("radam lr 0.05", {"optimizer": "radam", "lr": 0.05}),
    ("radam lr 0.1", {"optimizer": "radam", "lr": 0.1}),
    ("init uniform", {"init": "uniform"}),
]
DATASETS = ("wordnet:mammals", "wordnet:nouns", "ncbi:small")
COLUMNS = ["wall s", "epochs", "pairs/s", "MAP", "mean rank", "Spearman"]


def run_one(tax: Any, scorer: Scorer, spec: str, change: dict[str, Any], seed: int,
            budget: float, dim: int, label: str) -> list[Any]:  # fmt: skip
    cfg = TrainConfig(data=spec, dim=dim, epochs=1_000_000, seed=seed, **change)
    run = score(train_hyptax(tax, cfg, budget, label=label, times=()), scorer, clades=False)
    last = run.points[-1]
    return [run.seconds, run.epochs, run.edges_per_s(), last["map"], last["mean_rank"],
            last["spearman"]]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mammals-budget", type=float, default=8.0, help="seconds per run")
    ap.add_argument("--nouns-budget", type=float, default=45.0, help="seconds per run")
    ap.add_argument("--ncbi-budget", type=float, default=20.0, help="seconds per run")
    ap.add_argument("--seeds", type=int, default=3, help="runs per finalist (seeds 0..N-1)")
    ap.add_argument("--finalists", type=int, default=4, help="variants besides the defaults")
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--out", default=str(HERE / "DEFAULTS.md"))
    args = ap.parse_args(argv)
    times = (args.mammals_budget, args.nouns_budget, args.ncbi_budget)
    budgets = dict(zip(DATASETS, times, strict=True))
    loaded = {spec: load_prepared(spec)[0] for spec in DATASETS}
    scorers = {spec: Scorer(tax) for spec, tax in loaded.items()}
    # runs[(spec, label)] = one row per seed
    runs: dict[tuple[str, str], list[list[Any]]] = {}

    def play(labels: list[str], seed: int) -> None:
        for spec in DATASETS:
            for label, change in VARIANTS:
                if label in labels:
                    row = run_one(loaded[spec], scorers[spec], spec, change, seed,
                                  budgets[spec], args.dim, label)  # fmt: skip
                    runs.setdefault((spec, label), []).append(row)
                    print(spec, label, f"seed {seed}", *row, sep=" | ", flush=True)

    play([label for label, _ in VARIANTS], 0)
    gain = {label: sum(runs[(s, label)][0][3] - runs[(s, "defaults")][0][3] for s in DATASETS)
            / len(DATASETS) for label, _ in VARIANTS if label != "defaults"}  # fmt: skip
    finalists = ["defaults", *sorted(gain, key=gain.get, reverse=True)[: args.finalists]]
    for seed in range(1, args.seeds):
        play(finalists, seed)

    screen = [[s, label, *runs[(s, label)][0]] for s in DATASETS for label, _ in VARIANTS]
    finals, verdict = [], []
    base = {s: (median([r[3] for r in runs[(s, "defaults")]]),
                median([r[5] for r in runs[(s, "defaults")]])) for s in DATASETS}  # fmt: skip
    for label in finalists:
        line: list[Any] = [label]
        gains = []
        for s in DATASETS:
            rows = runs[(s, label)]
            maps = [r[3] for r in rows]
            finals.append([s, label, len(rows), median([r[2] for r in rows]), median(maps),
                           f"{min(maps):.4f}-{max(maps):.4f}", median([r[4] for r in rows]),
                           median([r[5] for r in rows])])  # fmt: skip
            gains.append(median(maps) - base[s][0])
            spearman = median([r[5] for r in rows]) - base[s][1]
            line.append(f"{gains[-1]:+.4f} / {spearman:+.4f}")
        line.append(f"{sum(gains) / len(gains):+.4f}")
        verdict.append(line)
    budget_text = ", ".join(f"{s} {b:g} s" for s, b in budgets.items())
    doc = [*header("Defaults against one-change variants"), "",
           f"dim {args.dim}, every core; each run trains for at most {budget_text} of wall "
           "time including setup (the constructive embedding, where used); epochs "
           "unbounded, early stopping on. MAP, mean rank and Spearman: exact, at the end.",
           "", "## Screen: every variant, seed 0", "",
           *table(screen, ["data", "variant", *COLUMNS]), "",
           f"## Finals: the defaults and the {args.finalists} variants with the best mean "
           f"MAP gain in the screen, seeds 0-{args.seeds - 1}, medians", "",
           *table(finals, ["data", "variant", "runs", "pairs/s", "MAP", "MAP range",
                           "mean rank", "Spearman"]), "",
           "## Median change against the defaults: MAP / depth-norm Spearman", "",
           *table(verdict, ["variant", *DATASETS, "mean MAP change"])]  # fmt: skip
    print("\n".join(doc))
    save(args.out, doc)


if __name__ == "__main__":
    main()
