"""Small taxonomies and embeddings shared by the evaluation tests."""

from __future__ import annotations

import math

import numpy as np
import torch

from hyptax.data.taxonomy import Taxonomy


def random_dag(n: int, seed: int, *, max_parents: int = 1) -> Taxonomy:
    """Nodes 0..n-1; node i > 0 gets 1..max_parents parents among 0..i-1 (a tree if 1)."""
    rng = np.random.default_rng(seed)
    child, parent = [], []
    for i in range(1, n):
        k = int(rng.integers(1, min(max_parents, i) + 1))
        for p in rng.choice(i, size=k, replace=False):
            child.append(i)
            parent.append(int(p))
    ids = [f"n{i}" for i in range(n)]
    return Taxonomy.from_edges(ids, np.array(child), np.array(parent))


def balanced_tree(branching: tuple[int, ...]) -> Taxonomy:
    """A tree where every node at depth d has branching[d] children; node 0 is the root."""
    child, parent, level = [], [], [0]
    n = 1
    for b in branching:
        nxt = []
        for p in level:
            for _ in range(b):
                child.append(n)
                parent.append(p)
                nxt.append(n)
                n += 1
        level = nxt
    return Taxonomy.from_edges([f"t{i}" for i in range(n)], np.array(child), np.array(parent))


def fan_embedding(tax: Taxonomy, steps: tuple[float, ...]) -> torch.Tensor:
    """A hand-built perfect embedding of a tree in the Poincaré disk.

    The root sits at the origin. Each node owns an angular interval of its parent's,
    split evenly among siblings, and sits at the middle angle of its interval at
    distance ``sum(steps[:depth])`` from the origin. With steps growing fast enough
    every node's ancestors are closer to it than any other node.
    """
    n = tax.n_nodes
    lo, hi = np.zeros(n), np.zeros(n)
    hi[0] = 2 * math.pi
    kids: dict[int, list[int]] = {}
    for c, p in zip(tax.child.tolist(), tax.parent.tolist(), strict=True):
        kids.setdefault(p, []).append(c)
    order = np.argsort(tax.depth, kind="stable")
    for p in order.tolist():
        cs = kids.get(p, [])
        for k, c in enumerate(cs):
            w = (hi[p] - lo[p]) / len(cs)
            lo[c], hi[c] = lo[p] + k * w, lo[p] + (k + 1) * w
    radius = np.array([math.tanh(sum(steps[:d]) / 2) for d in tax.depth.tolist()])
    angle = (lo + hi) / 2
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    return torch.tensor(x, dtype=torch.float64)
