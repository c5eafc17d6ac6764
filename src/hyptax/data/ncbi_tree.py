"""The NCBI tree as parent pointers: ``par[i]`` is the index of taxon ``i``'s parent
(a root points to itself). Building the pointers from taxids (refusing duplicates,
unknown parents and cycles), the nearest kept ancestor by pointer jumping, subtrees,
and the main-rank levels the lowest-rank rule reads. :mod:`hyptax.data.ncbi` keeps,
cleans and re-parents taxa with these.
"""

from __future__ import annotations

import numpy as np

from ..config import MAIN_RANKS, RANK_ALIASES
from ..errors import InputError


def parent_index(
    tax_ids: np.ndarray, parents: np.ndarray, path: str | None, lines: np.ndarray | None
) -> np.ndarray:
    """``(n,)`` int64 index of each taxon's parent (a root points to itself).

    Taxids are small dense integers (under 4 million in 2024), so a direct lookup
    table is used; sparse or negative ids fall back to sorting.
    """
    n = len(tax_ids)
    top = int(max(tax_ids.max(initial=0), parents.max(initial=0)))
    if n and tax_ids.min() >= 0 and parents.min() >= 0 and top <= 4 * n + 1_000_000:
        counts = np.bincount(tax_ids, minlength=top + 1)
        slot = np.full(top + 1, -1, dtype=np.int64)
        slot[tax_ids] = np.arange(n)
        dup = np.flatnonzero(counts[tax_ids] > 1)
        pos = slot[parents]
        unknown = np.flatnonzero(pos < 0)
    else:
        order = np.argsort(tax_ids, kind="stable")
        sorted_ids = tax_ids[order]
        dup = order[np.flatnonzero(sorted_ids[1:] == sorted_ids[:-1]) + 1]
        at = np.minimum(np.searchsorted(sorted_ids, parents), max(n - 1, 0))
        unknown = np.flatnonzero(sorted_ids[at] != parents) if n else dup
        pos = order[at] if n else at
    if len(dup):
        k = int(dup.max())  # the later of two records with one taxid
        raise InputError(f"duplicate taxid {tax_ids[k]}", path=path, line=_line(lines, k))
    if len(unknown):
        k = int(unknown[0])
        raise InputError(
            f"taxid {tax_ids[k]} has unknown parent id {parents[k]}",
            path=path,
            line=_line(lines, k),
        )
    return pos.astype(np.int64)


def check_no_cycle(
    par: np.ndarray, tax_ids: np.ndarray, path: str | None, lines: np.ndarray | None
) -> None:
    """Raise InputError naming a cycle if some taxon never reaches a self-parented root."""
    top = nearest_kept(par, np.zeros(len(par), dtype=bool))
    stuck = np.flatnonzero(par[top] != top)
    if not len(stuck):
        return
    node, seen = int(stuck[0]), []
    while node not in seen:  # error path only: walk up to the repeat
        seen.append(node)
        node = int(par[node])
    cycle = [*seen[seen.index(node) :], node]
    shown = [str(tax_ids[i]) for i in cycle]
    if len(shown) > 9:  # one readable line, however long the cycle
        shown = [*shown[:4], f"... ({len(cycle) - 1} taxa) ...", *shown[-4:]]
    chain = " -> ".join(shown)
    raise InputError(f"cycle of parent ids: {chain}", path=path, line=_line(lines, cycle[0]))


def _line(lines: np.ndarray | None, k: int) -> int | None:
    return None if lines is None else int(lines[k])


def nearest_kept(par: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``(n,)`` nearest node at or above each node with ``keep`` set (itself if kept).

    Where no such node exists the result is the root the node hangs from, which is
    not kept. Pointer jumping: kept nodes and roots are fixed points, every other
    node points up, and squaring the pointer map doubles the reach, so
    ``log2(depth) + 1`` rounds suffice. A cycle never settles; the round cap stops it.
    """
    up = np.where(keep, np.arange(len(par)), par)
    for _ in range(int(np.log2(max(len(par), 2))) + 2):
        nxt = up[up]
        if np.array_equal(nxt, up):
            break
        up = nxt
    return up


def in_subtree(par: np.ndarray, tops: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: the node is one of ``tops`` or below one."""
    mark = np.zeros(len(par), dtype=bool)
    mark[tops] = True
    return mark[nearest_kept(par, mark)]


def main_level(ranks: np.ndarray) -> np.ndarray:
    """``(n,)`` int: position of the rank in MAIN_RANKS (domain = superkingdom), or -1."""
    level = np.full(len(ranks), -1, dtype=np.int64)
    aliases = [(a, MAIN_RANKS.index(r)) for a, r in RANK_ALIASES.items()]
    for name, k in [*((r, k) for k, r in enumerate(MAIN_RANKS)), *aliases]:
        level[ranks == name] = k
    return level


def at_or_above(par: np.ndarray, level: np.ndarray, lowest: int) -> np.ndarray:
    """The lowest-rank rule: main rank at or above ``lowest``, or not a main rank and
    the nearest main-rank strict ancestor is strictly above ``lowest`` (or absent)."""
    is_main = level >= 0
    anc = nearest_kept(par, is_main)[par]
    anc_level = np.where(is_main[anc] & (anc != np.arange(len(par))), level[anc], -1)
    return np.where(is_main, level <= lowest, anc_level < lowest)
