"""Plain float64 against extended precision, side by side in one run (issue 13's table).

For each data set, geometry and dim: the construction in plain float64 coordinates
(``--precision float64``: every step shrunk to fit a radius of ~26) and in extended
precision (polar points, :mod:`hyptax.manifolds.extended`), with the radius needed,
the limbs, the seconds and peak memory to build (each build in its own process), and
the sampled figures of the geometry's own ranking (MAP and mean rank with 95%
bootstrap intervals over ``--sample`` seeded anchors; the ancestor score in the
metric geometry, distance in the order one), plus for the metric geometry the
faithfulness figures over ``--sample`` query nodes and the depth-norm Pearson.

    hyptax prepare ncbi -o ncbi.npz
    python benchmarks/extended.py --data ncbi.npz --sample 300   # writes benchmarks/EXTENDED.md
    python benchmarks/extended.py --data ncbi:Echinodermata --no-save
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import HERE
from report import header, save, table

CASES = (("metric", 10), ("order", 10), ("metric", 5), ("order", 5))


def one(spec: str, geometry: str, dim: int, precision: str, sample: int) -> dict[str, Any]:
    """Build and measure one case (run in a child process: its peak memory is its own)."""
    from hyptax.constructive import build
    from hyptax.data import load_taxonomy
    from hyptax.evaluation import faithful, hierarchy
    from hyptax.evaluation.geometry import ball_view
    from hyptax.evaluation.ranking import Queries, reconstruction

    tax = load_taxonomy(spec)
    clock = time.perf_counter()
    built = build(tax, dim, geometry=geometry, precision=precision)
    seconds = time.perf_counter() - clock
    view = ball_view(built.points, "poincare", built.polar)
    queries = Queries.from_pairs(*tax.closure, tax.n_nodes)
    score = "ancestor" if geometry == "metric" else "distance"
    clock = time.perf_counter()
    rec = reconstruction(view, queries, score=score, sample=sample, n_bootstrap=1000)
    rank_s = time.perf_counter() - clock
    out = {
        "radius_needed": built.radius_needed,
        "limbs": None if built.polar is None else built.polar.n_limbs,
        "build_s": seconds,
        "rank_s_per_anchor": rank_s / max(rec["n_nodes_ranked"], 1),
        "map": rec["map"],
        "map_ci": (rec["ci"] or {}).get("map"),
        "mean_rank": rec["mean_rank"],
        "pearson": hierarchy.depth_correlation(view.dist0, tax.depth)["pearson"],
    }
    if geometry == "metric":
        fig = faithful.faithfulness(view, tax, n_queries=sample, n_pairs=100_000, seed=0)
        out.update({k: fig[k] for k in ("adjacent_nearest", "spearman_tree", "distortion")})
    out["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    return out


def run_case(spec: str, geometry: str, dim: int, precision: str, sample: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--one", spec, geometry, str(dim), precision, str(sample)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "?"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _f(x: Any, digits: int = 4) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="ncbi")
    ap.add_argument("--sample", type=int, default=300)
    ap.add_argument("--no-save", action="store_true")
    ap.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        spec, geometry, dim, precision, sample = args.one
        print(json.dumps(one(spec, geometry, int(dim), precision, int(sample))))
        return
    rows = []
    for geometry, dim in CASES:
        for precision in ("float64", "extended"):
            r = run_case(args.data, geometry, dim, precision, args.sample)
            ci = r.get("map_ci")
            rows.append([
                geometry, dim, precision, _f(r.get("radius_needed"), 1), r.get("limbs") or "-",
                _f(r.get("build_s"), 1), _f(r.get("peak_gb"), 2),
                f"{_f(r.get('map'))} ({_f(ci[0])}-{_f(ci[1])})" if ci else _f(r.get("map")),
                _f(r.get("mean_rank"), 3), _f(r.get("adjacent_nearest"), 3),
                _f(r.get("spearman_tree")), _f(r.get("distortion"), 4), _f(r.get("pearson")),
                _f(1000 * r["rank_s_per_anchor"], 1) if "rank_s_per_anchor" in r else "-",
                r.get("error", ""),
            ])  # fmt: skip
            print(rows[-1], flush=True)
    doc = header(f"Plain float64 against extended precision: {args.data}")
    doc += ["", f"Sampled figures over {args.sample} seeded anchors / query nodes.", ""]
    doc += table(rows, [
        "geometry", "dim", "precision", "radius needed", "limbs", "build s", "peak GB",
        "MAP (95% CI)", "mean rank", "adjacent", "Spearman (tree)", "distortion",
        "depth-norm Pearson", "ms / anchor", "error",
    ])  # fmt: skip
    print("\n".join(doc))
    if not args.no_save:
        save(HERE / "EXTENDED.md", doc)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
