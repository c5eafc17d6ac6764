"""Shared by every test: a private dataset cache, the small taxonomies the tests
build in memory (``from conftest import balanced_tree, ...``), and the reliability
tier's closing summary."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hyptax.data.taxonomy import Taxonomy


@pytest.fixture(scope="session", autouse=True)
def private_dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests read and fill a cache of their own, never the user's
    (:mod:`hyptax.data.cache`); subprocesses inherit it."""
    before = os.environ.get("HYPTAX_CACHE_DIR")
    os.environ["HYPTAX_CACHE_DIR"] = str(tmp_path_factory.mktemp("dataset-cache"))
    yield
    if before is None:
        os.environ.pop("HYPTAX_CACHE_DIR", None)
    else:
        os.environ["HYPTAX_CACHE_DIR"] = before


# ------------------------------------------------------------------ small taxonomies
def balanced_tree(branching: tuple[int, ...] = (3, 4, 5)) -> Taxonomy:
    """A tree where every node at depth d has ``branching[d]`` children; node 0 (id
    ``t0``) is the root. The default has 1 + 3 + 12 + 60 = 76 nodes."""
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
    return Taxonomy.from_edges([f"t{i}" for i in range(n)], np.array(child), np.array(parent))


def random_taxonomy(
    n: int, seed: int, *, dag: bool = False, reach: int = 30, extra_roots: bool = False
) -> Taxonomy:
    """Nodes 0..n-1, ids ``r0``...; node i > 0 hangs under 1 (or, for a DAG,
    sometimes 2) of the ``reach`` nodes before it, so the hierarchy gets deep.
    ``extra_roots``: up to two more roots, each with one child."""
    rng = np.random.default_rng(seed)
    child, parent = [], []
    for i in range(1, n):
        lo = max(0, i - 1 - int(rng.integers(1, reach)))
        k = 2 if dag and i > 2 and rng.random() < 0.15 else 1
        for p in rng.choice(np.arange(lo, i), size=min(k, i - lo), replace=False):
            child.append(i)
            parent.append(int(p))
    n_roots = int(rng.integers(0, 3)) if extra_roots else 0
    for r in range(n, n + n_roots):
        child.append(r + n_roots)
        parent.append(r)
    ids = [f"r{i}" for i in range(n + 2 * n_roots)]
    return Taxonomy.from_edges(ids, np.array(child), np.array(parent))


def random_dag(n: int, seed: int, *, max_parents: int = 1) -> Taxonomy:
    """Nodes 0..n-1, ids ``n0``...; node i > 0 gets 1..max_parents parents drawn
    uniformly among 0..i-1 (a tree if 1): shallow and bushy, unlike
    :func:`random_taxonomy`."""
    rng = np.random.default_rng(seed)
    child, parent = [], []
    for i in range(1, n):
        k = int(rng.integers(1, min(max_parents, i) + 1))
        for p in rng.choice(i, size=k, replace=False):
            child.append(i)
            parent.append(int(p))
    return Taxonomy.from_edges([f"n{i}" for i in range(n)], np.array(child), np.array(parent))


def write_tsv(tax: Taxonomy, path: Path) -> str:
    """Write the parent edges as ``child<TAB>parent`` lines; returns the path."""
    lines = [f"{tax.ids[c]}\t{tax.ids[p]}" for c, p in zip(tax.child, tax.parent, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def fan_embedding(tax: Taxonomy, steps: tuple[float, ...]) -> Any:
    """A hand-built perfect embedding of a tree in the Poincaré disk (float64 tensor).

    The root sits at the origin. Each node owns an angular interval of its parent's,
    split evenly among siblings, and sits at the middle angle of its interval at
    distance ``sum(steps[:depth])`` from the origin. With steps growing fast enough
    every node's ancestors are closer to it than any other node.
    """
    import torch

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


# ------------------------------------------------------------------ reliability summary
def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """What the reliability tests measured, printed at the end (also with -q): the
    fuzz cases run per format, and the notes tests leave in ``notes.NOTES`` (kills
    survived, boundary fractions of the stress runs...); see tests/reliability/notes.py."""
    notes = sys.modules.get("notes")  # imported only where reliability tests ran
    if notes is None or (not notes.COUNTS and not notes.NOTES):
        return
    terminalreporter.write_sep("-", "hyptax reliability")
    if notes.COUNTS:
        total = sum(notes.COUNTS.values())
        parts = ", ".join(f"{k} {v:,}" for k, v in sorted(notes.COUNTS.items()))
        terminalreporter.write_line(f"fuzz: {total:,} generated cases run ({parts})")
    for line in notes.NOTES:
        terminalreporter.write_line(line)
