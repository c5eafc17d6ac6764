"""Ids, acyclic parent edges and whole taxonomies, the raw material of every format."""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from typing import Any

import numpy as np

from hyptax.config import MAIN_RANKS

from .cases import reference_closure

UNICODE = ["Homo sapiens", "Ærøskøbing", "日本語", "émile", "Ελληνικά", "🦊 fox", "ñandú",
           "Straße", "עברית", "a\u0301b", "Zoë", "Ωmega", "ᐊᐃ", "x\u200by"]  # fmt: skip
TRICKY = ['a,b', 'say "hi"', "it's", "semi;colon", "pipe|bar", "back\\slash", "x#y",
          "  spaced  out ", "comma, space", '"quoted"', "%s", "{}", "NaN", "-1"]  # fmt: skip
HEADERISH = ["child", "parent", "node", "ID1", "ancestor"]
CONTROL = ["\x00", "\x1f", "\x7f", "\u2028", "\x85", "\r", "\n", "\x0b"]

_ID_MAKERS: dict[str, Callable[[random.Random, int], str]] = {
    "int": lambda r, n: str(r.randint(0, 10 * n + 10)),
    "huge": lambda r, n: str(r.randint(10**18, 10**60)),
    "word": lambda r, n: "".join(r.choices(string.ascii_letters + "_.-", k=r.randint(1, 10))),
    "unicode": lambda r, n: r.choice(UNICODE) + str(r.randint(0, 999)),
    "tricky": lambda r, n: r.choice(TRICKY) + str(r.randint(0, 999)),
    "long": lambda r, n: "L" + "".join(r.choices(string.ascii_lowercase, k=r.randint(200, 3000))),
    "headerish": lambda r, n: r.choice(HEADERISH),
    "control": lambda r, n: "c" + r.choice(CONTROL) + str(r.randint(0, 999)),
}
ID_KINDS = list(_ID_MAKERS)


def make_ids(r: random.Random, n: int, kinds: list[str]) -> list[str]:
    """``n`` distinct ids (distinct after stripping), of the given kinds."""
    out: dict[str, None] = {}
    while len(out) < n:
        s = _ID_MAKERS[r.choice(kinds)](r, n).strip() or "e"
        if s in out:  # small pools (headerish) run out: make it unique
            s += f"_{len(out)}"
        out.setdefault(s, None)
    return list(out)


def random_edges(r: random.Random, n: int) -> list[tuple[int, int]]:
    """Acyclic parent edges ``(child, parent)`` over ``0..n-1`` (child > parent)."""
    shape = r.choice(["tree", "tree", "dag", "chain", "star", "forest"])
    edges = []
    for i in range(1, n):
        if shape == "chain":
            edges.append((i, i - 1))
        elif shape == "star":
            edges.append((i, 0))
        elif shape != "forest" or r.random() >= 0.2:
            edges.append((i, r.randrange(i)))
            j = r.randrange(i)
            if shape == "dag" and i > 2 and r.random() < 0.3 and (i, j) not in edges:
                edges.append((i, j))
    return edges


def closure_of(n: int, edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted(reference_closure(n, [c for c, _ in edges], [p for _, p in edges]))


RANKS = [*MAIN_RANKS, "no rank", "clade", "domain", "subspecies", "", "ränk", "species group"]
NAMES = ["Bacteria", "Homo sapiens", "uncultured bacterium", "Bacillus sp. XYZ",
         "unclassified Bacteria", "environmental samples", "Pinus incertae sedis",
         "soil metagenome", "Aus cf. bus", "Ærø", "🦊", "A|B", "x y  z", "", "root"]  # fmt: skip


def random_taxonomy(r: random.Random, n: int, *, closure: bool = False) -> Any:
    from hyptax.data.edgelist import reduce_closure
    from hyptax.data.taxonomy import Taxonomy

    ids = make_ids(r, n, ["int", "word", "unicode", "tricky"])
    edges = random_edges(r, n)
    if closure:
        pairs = np.array(closure_of(n, edges), dtype=np.int64).reshape(-1, 2)
        return reduce_closure(ids, pairs[:, 0], pairs[:, 1], source="fuzz", stats={})
    child = np.array([c for c, _ in edges], dtype=np.int64)
    parent = np.array([p for _, p in edges], dtype=np.int64)
    ranks = [r.choice(RANKS) for _ in range(n)] if r.random() < 0.5 else None
    names = [r.choice(NAMES) for _ in range(n)] if r.random() < 0.5 else None
    return Taxonomy.from_edges(ids, child, parent, names=names, ranks=ranks, source="fuzz",
                               definition="random")  # fmt: skip
