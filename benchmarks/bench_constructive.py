"""The constructive embedding alone: time, reconstruction MAP, depth order, per data set.

For each data set and dimension: the wall time of :func:`hyptax.constructive.construct`
(the data loading is not counted), the largest radius used and the budget it had to fit
(``shrink`` < 1 means the levels' steps were shrunk to fit, see the module docstring),
reconstruction MAP and mean rank (:mod:`hyptax.evaluation.ranking`: exact, or over a
seeded sample of anchors with ``--sample N``), and two depth-norm Spearman numbers:

- ``spearman``: scipy's, on the distance from the origin, as the evaluation report
  computes it. All nodes of a level sit at one radius, but their float64 norms differ
  in the last bits, so scipy ranks them apart, and with one dominant level (ncbi:small:
  78% of nodes at depth 7) that caps the number far below 1 for *any* embedding whose
  norms are all distinct: ``cap = sqrt(1 - sum_k p_k^3)`` (``p_k`` the share of level
  ``k``), printed as ``cap``.
- ``spearman_res``: the same with radii closer than the dtype's radial resolution
  (``ulp(1) / (1 - max_norm)``, float64: 2.2e-5) counted as ties.

    python benchmarks/bench_constructive.py --data ncbi:small --dims 10,5
    python benchmarks/bench_constructive.py --data wordnet:mammals,wordnet:nouns --sample 5000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from scipy import stats

from hyptax.constructive import construct, plan_construction, radius_budget
from hyptax.data import load_taxonomy
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, reconstruction
from hyptax.manifolds import numerics


def resolved_ranks(r: np.ndarray, tol: float) -> np.ndarray:
    """Group ids of ``r`` where neighbours (in sorted order) closer than ``tol`` tie."""
    order = np.argsort(r, kind="stable")
    group = np.concatenate(([0], np.cumsum(np.diff(r[order]) > tol)))
    out = np.empty(len(r), dtype=np.int64)
    out[order] = group
    return out


def spearman_cap(depth: np.ndarray) -> float:
    p = np.bincount(depth) / len(depth)
    return float(np.sqrt(1.0 - (p**3).sum()))


def run(spec: str, dims: list[int], sample: int | None, dtype: torch.dtype, manifold: str) -> None:
    t0 = time.perf_counter()
    tax = load_taxonomy(spec)
    desc, anc = tax.closure
    load = time.perf_counter() - t0
    print(
        f"\n{spec}: {tax.n_nodes:,} nodes, {len(desc):,} closure pairs, depth "
        f"{tax.depth.max()}, {'tree' if tax.is_tree else 'DAG'} (loaded in {load:.1f} s); "
        f"budget {radius_budget(dtype):.2f} ({str(dtype).removeprefix('torch.')}), "
        f"spearman cap {spearman_cap(tax.depth):.3f}"
    )
    head = (
        f"{'dim':>4} {'seconds':>8} {'radius':>7} {'needed':>7} {'MAP':>7} {'mode':>8} "
        f"{'mean rank':>10} {'spearman':>9} {'spearman_res':>13} {'eval s':>7}"
    )
    print(head)
    print("-" * len(head))
    tol = torch.finfo(dtype).eps / (1.0 - numerics.max_norm(dtype))
    queries = Queries.from_pairs(desc, anc, tax.n_nodes)
    for dim in dims:
        t0 = time.perf_counter()
        x = construct(tax, dim, manifold=manifold, dtype=dtype)
        seconds = time.perf_counter() - t0
        needed = plan_construction(tax, dim, dtype=dtype).needed_radius
        t0 = time.perf_counter()
        view = ball_view(x, manifold)
        rec = reconstruction(view, queries, sample=sample, n_bootstrap=0)
        sp = stats.spearmanr(tax.depth, view.dist0)[0]
        sp_res = stats.spearmanr(tax.depth, resolved_ranks(view.dist0, 2 * tol))[0]
        evaluate = time.perf_counter() - t0
        print(
            f"{dim:>4} {seconds:>8.2f} {view.dist0.max():>7.2f} {needed:>7.2f} "
            f"{rec['map']:>7.4f} {rec['mode']:>8} {rec['mean_rank']:>10.3f} {sp:>9.4f} "
            f"{sp_res:>13.4f} {evaluate:>7.1f}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="ncbi:small", help="comma-separated dataset specs")
    ap.add_argument("--dims", default="10,5", help="comma-separated dimensions")
    ap.add_argument("--sample", type=int, default=None, help="anchors to rank (default: all)")
    ap.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    ap.add_argument("--manifold", choices=("poincare", "lorentz"), default="poincare")
    ap.add_argument("--threads", type=int, default=None, help="torch threads")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    dims = [int(d) for d in args.dims.split(",")]
    for spec in args.data.split(","):
        run(spec, dims, args.sample, dtype, args.manifold)


if __name__ == "__main__":
    main()
