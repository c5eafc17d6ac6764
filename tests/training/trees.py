"""Small real-shaped taxonomies for the training tests (built in memory)."""

from __future__ import annotations

import numpy as np

from hyptax.data.taxonomy import Taxonomy


def tree(branching: tuple[int, ...] = (3, 4, 5)) -> Taxonomy:
    """A balanced tree: every node at depth d has branching[d] children (root 0).

    The default has 1 + 3 + 12 + 60 = 76 nodes."""
    child, parent, level, n = [], [], [0], 1
    for b in branching:
        nxt = []
        for p in level:
            for _ in range(b):
                child.append(n)
                parent.append(p)
                nxt.append(n)
                n += 1
        level = nxt
    ids = [f"t{i}" for i in range(n)]
    return Taxonomy.from_edges(ids, np.array(child), np.array(parent), source="tree")


def random_taxonomy(n: int, seed: int, *, dag: bool = False) -> Taxonomy:
    """Nodes 0..n-1; node i > 0 hangs under 1 (or, for a DAG, sometimes 2) earlier
    nodes, preferring recent ones so the hierarchy gets deep."""
    rng = np.random.default_rng(seed)
    child, parent = [], []
    for i in range(1, n):
        lo = max(0, i - 1 - int(rng.integers(1, 30)))
        k = 2 if dag and i > 2 and rng.random() < 0.15 else 1
        for p in rng.choice(np.arange(lo, i), size=min(k, i - lo), replace=False):
            child.append(i)
            parent.append(int(p))
    ids = [f"r{i}" for i in range(n)]
    return Taxonomy.from_edges(ids, np.array(child), np.array(parent), source="random")


def write_tsv(tax: Taxonomy, path) -> str:
    """Write the parent edges as ``child<TAB>parent`` lines; returns the path."""
    lines = [f"{tax.ids[c]}\t{tax.ids[p]}" for c, p in zip(tax.child, tax.parent, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)
