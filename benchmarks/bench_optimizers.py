"""hyptax's sparse Riemannian optimisers against geoopt's, on the same job.

Job: a random recursive tree of ``--n`` nodes (parent of i uniform in [0, i)), its
transitive closure as positive (child, ancestor) edges, ``--neg`` uniform negatives
per edge, the Nickel & Kiela softmax ranking loss, a ``(--n, --dim)`` Poincaré table
initialised uniformly in [-1e-3, 1e-3]. Every optimiser sees the same batch stream.

hyptax: gather the unique rows of the batch, loss on them, ``opt.step(rows, grad)``.
geoopt: ``ManifoldParameter`` + ``F.embedding(..., sparse=True)`` + Sparse* optimiser.
The loss code (hyptax's distance) is the same for both; only the gradient plumbing
and the optimiser differ. Prints steps/s, edges/s, the optimiser step's share of the
time, and the mean loss over the last 20% of steps.

    python benchmarks/bench_optimizers.py --steps 300 --threads 2
"""

from __future__ import annotations

import argparse
import time

import geoopt
import torch
import torch.nn.functional as F

from hyptax.manifolds import get_manifold, poincare
from hyptax.optim import make_optimizer


def closure_edges(n: int, gen: torch.Generator) -> torch.Tensor:
    """``(m, 2)`` (descendant, ancestor) pairs of a random recursive tree."""
    parent = torch.cat(
        (torch.tensor([-1]), (torch.rand(n - 1, generator=gen) * torch.arange(1, n)).long())
    )
    edges, node, anc = [], torch.arange(n), parent.clone()
    while True:
        keep = anc >= 0
        if not keep.any():
            return torch.cat(edges)
        node, anc = node[keep], anc[keep]
        edges.append(torch.stack((node, anc), 1))
        anc = parent[anc]


def batches(edges, n, batch, neg, steps, seed):
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        pos = edges[torch.randint(len(edges), (batch,), generator=gen)]
        negs = torch.randint(n, (batch, neg), generator=gen)
        yield torch.cat((pos, negs), 1)  # (batch, 2 + neg): u, v, negatives


def softmax_loss(emb: torch.Tensor) -> torch.Tensor:
    """``emb (batch, 2 + neg, dim)`` -> summed cross-entropy of -d, the positive first.

    Summed (not averaged) so that each edge's gradient does not shrink with the batch.
    """
    d = poincare.dist(emb[:, :1], emb[:, 1:])
    return F.cross_entropy(-d, torch.zeros(len(d), dtype=torch.long), reduction="sum")


def run_hyptax(opt_name, w0, stream, lr, **opts):
    ball = get_manifold("poincare")
    w = w0.clone()
    opt = make_optimizer(opt_name, w, ball, lr=lr, **opts)
    losses, t_step = [], 0.0
    t0 = time.perf_counter()
    for idx in stream:
        rows, inv = torch.unique(idx, return_inverse=True)
        emb = w.index_select(0, rows).requires_grad_()
        loss = softmax_loss(emb[inv])
        loss.backward()
        t1 = time.perf_counter()
        opt.step(rows, emb.grad)
        t_step += time.perf_counter() - t1
        losses.append(loss.item() / len(idx))
    return time.perf_counter() - t0, t_step, losses, w


def run_geoopt(opt_name, w0, stream, lr):
    w = geoopt.ManifoldParameter(w0.clone(), manifold=geoopt.PoincareBall())
    cls = {"rsgd": geoopt.optim.SparseRiemannianSGD, "radam": geoopt.optim.SparseRiemannianAdam}
    opt = cls[opt_name]([w], lr=lr)
    losses, t_step = [], 0.0
    t0 = time.perf_counter()
    for idx in stream:
        opt.zero_grad(set_to_none=True)
        loss = softmax_loss(F.embedding(idx, w, sparse=True))
        loss.backward()
        t1 = time.perf_counter()
        opt.step()
        t_step += time.perf_counter() - t1
        losses.append(loss.item() / len(idx))
    return time.perf_counter() - t0, t_step, losses, w.detach()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=80_000)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--neg", type=int, default=50)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    ap.add_argument("--lr-sgd", type=float, default=0.03)
    ap.add_argument("--lr-adam", type=float, default=0.05)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    gen = torch.Generator().manual_seed(0)
    edges = closure_edges(args.n, gen)
    w0 = (torch.rand(args.n, args.dim, generator=gen, dtype=dtype) * 2 - 1) * 1e-3
    print(
        f"# {args.n} nodes, {len(edges)} closure edges, dim {args.dim}, {args.neg} negatives, "
        f"batch {args.batch}, {args.steps} steps, {args.threads} threads, {args.dtype}"
    )
    runs = [
        ("hyptax rsgd (exp)", lambda s: run_hyptax("rsgd", w0, s, args.lr_sgd)),
        ("hyptax rsgd (retr)", lambda s: run_hyptax("rsgd", w0, s, args.lr_sgd, retraction=True)),
        ("geoopt rsgd (retr)", lambda s: run_geoopt("rsgd", w0, s, args.lr_sgd)),
        ("hyptax radam (exp)", lambda s: run_hyptax("radam", w0, s, args.lr_adam)),
        # geoopt's per-coordinate second moment makes a steady step lr * sqrt(dim) long;
        # ours (one second moment per row) makes it lr: this row matches step lengths.
        ("hyptax radam lr*√d", lambda s: run_hyptax("radam", w0, s, args.lr_adam * args.dim**0.5)),
        ("geoopt radam (retr)", lambda s: run_geoopt("radam", w0, s, args.lr_adam)),
    ]
    stream = list(batches(edges, args.n, args.batch, args.neg, args.steps, seed=1))
    tail = max(1, args.steps // 5)
    cols = ("steps/s", "edges/s", "step ms", "step %", "final loss", "1-max|x|")
    print(f"{'optimiser':<20} " + " ".join(f"{c:>9}" for c in cols))
    results = {}
    for name, fn in runs:
        total, t_step, losses, w = fn(stream)
        results[name] = total
        final = sum(losses[-tail:]) / tail
        print(
            f"{name:<20} {args.steps / total:8.1f} {args.steps * args.batch / total:9.0f} "
            f"{1e3 * t_step / args.steps:8.2f} {100 * t_step / total:6.1f}% {final:10.4f} "
            f"{1 - w.norm(dim=-1).max().item():9.1e}"
        )
    for ours, theirs in (
        ("hyptax rsgd (retr)", "geoopt rsgd (retr)"),
        ("hyptax radam (exp)", "geoopt radam (retr)"),
    ):
        print(f"# speed ratio {ours} / {theirs}: {results[theirs] / results[ours]:.2f}x")


if __name__ == "__main__":
    main()
