"""Compressed sparse rows: pairs grouped by their first node, and the one way to
expand a set of rows into positions. Closures, levels, queries and tree walks all
use these two functions.

>>> ptr, idx = group(np.array([2, 0, 2]), np.array([7, 8, 9]), 3)
>>> ptr.tolist(), idx.tolist()  # node 0: [8]; node 1: []; node 2: [7, 9]
([0, 1, 1, 3], [8, 7, 9])
>>> pos, counts = positions(ptr, np.array([2, 0]))
>>> idx[pos].tolist(), counts.tolist()
([7, 9, 8], [2, 1])
"""

from __future__ import annotations

import numpy as np


def group(first: np.ndarray, second: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``second`` grouped by ``first`` (``(m,)`` each, ``0 <= first < n``):
    ``(ptr (n + 1,) int64, idx (m,))``, the values of node ``u`` being
    ``idx[ptr[u]:ptr[u + 1]]`` in their input order. ``idx`` keeps ``second``'s
    dtype; input already sorted by ``first`` (a closure) is not sorted again."""
    first = np.asarray(first, dtype=np.int64)
    second = np.asarray(second)
    if len(first) > 1 and not (first[1:] >= first[:-1]).all():
        order = np.argsort(first, kind="stable")
        first, second = first[order], second[order]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(first, minlength=n), out=ptr[1:])
    return ptr, second


def positions(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The segments ``ptr[r]:ptr[r + 1]`` of every ``r`` in ``rows``, concatenated:
    ``(pos, counts)``. ``pos`` (``counts.sum()`` int64) indexes the values of a CSR
    list, row ``rows[0]``'s first, and ``counts[i]`` is the length of row
    ``rows[i]``'s segment, so ``np.repeat(rows, counts)`` names the row of each
    position."""
    starts = np.asarray(ptr[rows], dtype=np.int64)
    counts = np.asarray(ptr[rows + 1], dtype=np.int64) - starts
    pos = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    return pos, counts
