"""Where a training epoch's time goes: pyinstrument over whole epochs, per backend.

    python benchmarks/profile_epoch.py                       # wordnet:nouns, dim 10
    python benchmarks/profile_epoch.py --data ncbi:small --epochs 2 --out PROFILE.md

For each backend (``fused``: the numba kernel, the default on the CPU; ``torch``:
autograd, the path the GPU takes) it trains one epoch to warm up (numba compiles or
loads its cache), then profiles ``--epochs`` epochs with the defaults and splits the
time into the stages of :func:`hyptax.training.fit.train_epoch`. Prints a table and
writes it to ``--out`` (default ``benchmarks/PROFILE.md``).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, load_prepared
from report import header, save, table

from hyptax import pipeline
from hyptax.config import TrainConfig
from hyptax.training.fit import FitState, fit

STAGES = {
    "negative sampling": ("sample",),
    "row gathering (unique rows, local indices)": ("gather",),
    "fused loss + gradient (numba, its worker threads included)": ("loss_and_grad", "_batch"),
    "autograd forward + backward (torch)": ("dist", "backward", "softmax_loss", "margin_loss"),
    "optimiser step (Riemannian, sparse rows)": ("step",),
    "validation loss + quick metrics": ("evaluate",),
}
"""Stage -> function names; a frame counts for the first stage whose name it has (its
children are not counted again)."""


def stage_times(root: Any) -> dict[str, float]:
    out = dict.fromkeys(STAGES, 0.0)
    names = {name: stage for stage, fns in STAGES.items() for name in fns}

    def walk(frame: Any) -> None:
        stage = names.get(frame.function)
        if stage is not None:
            out[stage] += frame.time
            return
        for child in frame.children:
            walk(child)

    walk(root)
    return out


def profile(tax: Any, config: TrainConfig, epochs: int) -> dict[str, Any]:
    from pyinstrument import Profiler

    table_ = pipeline.make_model(tax, config, pipeline.choose_device(config.gpu))
    data = pipeline.prepare_pairs(tax, config)
    optimizer = pipeline.make_optimizer_for(table_, config)
    state = FitState.start(config)
    quiet = lambda _line: None  # noqa: E731
    state = fit(table_, optimizer, data, replace(config, epochs=1), state, echo=quiet)
    profiler = Profiler(interval=0.001)
    t0 = time.perf_counter()
    profiler.start()
    state = fit(table_, optimizer, data, replace(config, epochs=1 + epochs, eval_every=epochs),
                state, echo=quiet)  # fmt: skip
    profiler.stop()
    wall = time.perf_counter() - t0
    root = profiler.last_session.root_frame()
    stages = stage_times(root)
    return {"wall": wall, "profiled": root.time, "stages": stages,
            "pairs_per_s": epochs * len(data.u) / wall}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="wordnet:nouns", help="a dataset of benchmarks/.cache")
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=3, help="epochs profiled per backend")
    ap.add_argument("--torch-epochs", type=int, default=1, help="epochs for the torch backend")
    ap.add_argument("--out", default=str(HERE / "PROFILE.md"))
    args = ap.parse_args(argv)
    tax, _ = load_prepared(args.data)
    results = {}
    for backend, epochs in (("fused", args.epochs), ("torch", args.torch_epochs)):
        config = TrainConfig(data=args.data, dim=args.dim, backend=backend)
        results[backend] = profile(tax, config, epochs)
        print(f"{backend}: {results[backend]['pairs_per_s']:,.0f} pairs/s", flush=True)
    other = "other (batch assembly, Python, threads)"
    for r in results.values():
        r["stages"][other] = r["profiled"] - sum(r["stages"].values())
    rows = [[stage] + [f"{r['stages'][stage]:.2f} s ({r['stages'][stage] / r['profiled']:.0%})"
                       for r in results.values()]
            for stage in results["fused"]["stages"]]  # fmt: skip
    rows.append(["wall"] + [f"{r['wall']:.2f} s" for r in results.values()])
    rows.append(["positive pairs/s"] + [f"{r['pairs_per_s']:,.0f}" for r in results.values()])
    fused_speed = results["fused"]["pairs_per_s"] / results["torch"]["pairs_per_s"]
    doc = [*header("Where an epoch's time goes"), "",
           f"`{args.data}`, dim {args.dim}, the defaults (50 negatives, batch 512, float64, "
           f"every core); pyinstrument (1 ms interval) over {args.epochs} epoch(s) with the "
           f"fused kernel and {args.torch_epochs} with autograd, after one warm-up epoch "
           "each, the evaluation at the end included. Seconds are sampled time summed over "
           "the main thread and the kernel's worker threads (so they can exceed the wall "
           "time); percentages are shares of that sum.", "",
           *table(rows, ["stage", f"fused ({args.epochs} epochs)",
                         f"torch ({args.torch_epochs} epochs)"]), "",
           f"The fused kernel trains {fused_speed:.1f}x as many pairs per second as autograd "
           "on this machine."]  # fmt: skip
    print("\n".join(doc))
    save(args.out, doc)


if __name__ == "__main__":
    main()
