"""Anchors with the nodes to rank and the nodes to leave out (:class:`Queries`), as CSR
lists built from pairs: what :mod:`.ranking` and :mod:`.linkpred` rank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import csr


@dataclass(frozen=True, eq=False)
class Queries:
    """Anchors with the nodes to rank and the nodes to leave out, as CSR lists.

    Attributes:
        rows: ``(m,)`` anchor node indices ``u``.
        pos_ptr, pos_idx: positives of ``rows[r]`` are ``pos_idx[pos_ptr[r]:pos_ptr[r+1]]``.
        excl_ptr, excl_idx: nodes removed from the negatives (a superset of the
            positives; ``u`` itself is always removed).
    """

    rows: np.ndarray
    pos_ptr: np.ndarray
    pos_idx: np.ndarray
    excl_ptr: np.ndarray
    excl_idx: np.ndarray

    @property
    def n_pos(self) -> np.ndarray:
        """``(m,)`` positives per anchor."""
        return np.diff(self.pos_ptr)

    @classmethod
    def from_pairs(
        cls,
        desc: np.ndarray,
        anc: np.ndarray,
        n_nodes: int,
        *,
        rows: np.ndarray | None = None,
        exclude: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> Queries:
        """Anchors ``rows`` (default: every node with a pair) ranking their pairs
        ``(desc, anc)``; those pairs and the ``exclude`` pairs leave the negatives."""
        pos = _Csr(desc, anc, n_nodes)
        if rows is None:
            rows = np.flatnonzero(np.diff(pos.ptr) > 0)
        rows = np.asarray(rows, dtype=np.int64)
        pos_ptr, pos_idx = pos.gather(rows)
        if exclude is None:
            excl_ptr, excl_idx = pos_ptr, pos_idx
        else:  # the positives always leave the negatives too
            key = np.unique(np.concatenate([
                np.asarray(desc, dtype=np.int64) * n_nodes + np.asarray(anc, dtype=np.int64),
                np.asarray(exclude[0], dtype=np.int64) * n_nodes + np.asarray(exclude[1]),
            ]))  # fmt: skip
            excl_ptr, excl_idx = _Csr(key // n_nodes, key % n_nodes, n_nodes).gather(rows)
        return cls(rows, pos_ptr, pos_idx, excl_ptr, excl_idx)

    def subset(self, r: np.ndarray) -> Queries:
        """The anchors at positions ``r`` (in that order)."""
        pos_ptr, pos_idx = _segments(self.pos_ptr, self.pos_idx, r)
        excl_ptr, excl_idx = _segments(self.excl_ptr, self.excl_idx, r)
        return Queries(self.rows[r], pos_ptr, pos_idx, excl_ptr, excl_idx)


class _Csr:
    """Pairs grouped by their first node: ``idx[ptr[u]:ptr[u+1]]``."""

    def __init__(self, first: np.ndarray, second: np.ndarray, n_nodes: int) -> None:
        self.ptr, self.idx = csr.group(first, np.asarray(second, dtype=np.int64), n_nodes)

    def gather(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _segments(self.ptr, self.idx, rows)


def _segments(
    ptr: np.ndarray, idx: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``idx[ptr[r]:ptr[r+1]]`` for ``r`` in ``rows``; returns ``(ptr, idx)``."""
    counts = ptr[rows + 1] - ptr[rows]
    new_ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=new_ptr[1:])
    if new_ptr[-1] == len(idx) and (np.diff(rows) > 0).all():
        return new_ptr, idx  # every pair, in order (the whole closure): nothing to gather
    pos, _ = csr.positions(ptr, rows)
    return new_ptr, idx[pos]
