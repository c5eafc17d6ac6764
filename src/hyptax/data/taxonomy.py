"""The data model: a taxonomy as parent edges over integer node indices.

A :class:`Taxonomy` holds ``n`` nodes (string ids, display names, optional ranks)
and its *parent edges* ``(child[k], parent[k])``: the transitive reduction of the
hierarchy. A node may have several parents (WordNet does), so the graph is a DAG.
Everything else -- depth, roots, the transitive closure -- is derived, vectorised,
and cached on first use.

Depth rule (DAGs): a root has depth 0 and every other node has depth
``1 + max(depth(parent))``, the length of the *longest* path up to a root. So depth
strictly grows along every edge, which is what depth-to-radius regularisation and
depth-norm correlation need. On a tree this is the usual depth.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from ..errors import InputError, brief
from . import csr
from .names import find_node, index_names, suggest

INDEX = np.int32


@dataclass(frozen=True, eq=False)
class Taxonomy:
    """A hierarchy over ``n`` nodes.

    Attributes:
        ids: ``(n,)`` object array of unique string identifiers (NCBI taxid, WordNet
            synset name, the ids of an edge list).
        names: ``(n,)`` object array of display names (scientific names; equal to ids
            where a source has no names).
        child, parent: ``(m,)`` int32 parent edges, ``child[k]`` is directly below
            ``parent[k]``. No self-loops, no duplicates, no cycles.
        ranks: ``(n,)`` object array of rank strings ("" when unknown), or None.
        source: the dataset spec this came from (``"ncbi:small"``...).
        definition: one sentence saying exactly which nodes and edges were kept.
        stats: counts gathered while loading (duplicates dropped, taxa cleaned...).
        given_closure: ``(desc, anc)`` pairs when the source *is* a closure (WordNet,
            the prototype's pickle): the relation exactly as the source lists it, which
            training and evaluation then use. None: the closure is derived from the
            parent edges. (The reference WordNet noun closure omits 155 pairs its own
            pairs imply; keeping it as given keeps results comparable with the field.)
    """

    ids: np.ndarray
    names: np.ndarray
    child: np.ndarray
    parent: np.ndarray
    ranks: np.ndarray | None = None
    source: str = ""
    definition: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    given_closure: tuple[np.ndarray, np.ndarray] | None = None

    # ------------------------------------------------------------------ build
    @classmethod
    def from_edges(
        cls,
        ids: np.ndarray | list[str],
        child: np.ndarray,
        parent: np.ndarray,
        *,
        names: np.ndarray | list[str] | None = None,
        ranks: np.ndarray | list[str] | None = None,
        source: str = "",
        definition: str = "",
        stats: dict[str, Any] | None = None,
        path: str | None = None,
        lines: np.ndarray | None = None,
    ) -> Taxonomy:
        """Validate parent edges and build a taxonomy.

        Self-loops and cycles raise :class:`InputError` naming ``path`` and the line
        (``lines[k]`` is the input line of edge ``k``); duplicate edges are dropped
        and counted in ``stats["duplicate_edges"]``.
        """
        ids = _object_array(ids)
        n = len(ids)
        child = np.asarray(child, dtype=np.int64)
        parent = np.asarray(parent, dtype=np.int64)
        stats = dict(stats or {})
        loops = np.flatnonzero(child == parent)
        if len(loops):
            k = loops[0]
            raise InputError(
                f"self-loop: {brief(ids[child[k]])} is its own parent",
                path=path,
                line=None if lines is None else int(lines[k]),
            )
        key = child * n + parent
        order = np.argsort(key, kind="stable")
        skey = key[order]
        first = np.sort(order[np.concatenate([[True], skey[1:] != skey[:-1]])[: len(skey)]])
        stats["duplicate_edges"] = stats.get("duplicate_edges", 0) + len(key) - len(first)
        child, parent = child[first].astype(INDEX), parent[first].astype(INDEX)
        if lines is not None:
            lines = np.asarray(lines)[first]
        tax = cls(
            ids=ids,
            names=ids if names is None else _object_array(names),
            child=child,
            parent=parent,
            ranks=None if ranks is None else _object_array(ranks),
            source=source,
            definition=definition,
            stats=stats,
        )
        tax._check_acyclic(path, lines)
        return tax

    @classmethod
    def from_closure(
        cls,
        ids: np.ndarray | list[str],
        desc: np.ndarray,
        anc: np.ndarray,
        *,
        keep_pairs: bool = False,
        **kwargs: Any,
    ) -> Taxonomy:
        """Build from transitive-closure pairs ``(desc[k], anc[k])``.

        The parent edges are the transitive reduction: a pair ``(u, a)`` is kept
        unless some other ancestor ``b`` of ``u`` already has ``a`` as an ancestor.
        If the input is not transitively closed, the missing pairs are implied;
        ``keep_pairs=True`` keeps the input pairs as :attr:`given_closure`.
        """
        n = len(ids)
        desc = np.asarray(desc, dtype=np.int64)
        anc = np.asarray(anc, dtype=np.int64)
        keep = desc != anc
        desc, anc = desc[keep], anc[keep]
        key = unique_sorted(desc * n + anc)
        desc, anc = key // n, key % n
        # Redundant pairs (u, a): u -> b -> a for some b. Join (u, b) with (b, a).
        ptr, above = csr.group(desc, anc, n)
        pos, counts = csr.positions(ptr, anc)
        redundant = unique_sorted(np.repeat(desc, counts) * n + above[pos])
        direct = key[~_member(key, redundant)]
        tax = cls.from_edges(ids, direct // n, direct % n, **kwargs)
        if keep_pairs:
            tax = tax.with_given_closure(desc, anc)
        return tax

    def with_given_closure(self, desc: np.ndarray, anc: np.ndarray) -> Taxonomy:
        """A copy that uses ``(desc, anc)`` as its closure (see :attr:`given_closure`)."""
        n = self.n_nodes
        key = unique_sorted(np.asarray(desc, np.int64) * n + np.asarray(anc, np.int64))
        pairs = ((key // n).astype(INDEX), (key % n).astype(INDEX))
        return replace(self, given_closure=pairs, stats=dict(self.stats))

    # ------------------------------------------------------------ derived
    @property
    def n_nodes(self) -> int:
        return len(self.ids)

    @property
    def n_edges(self) -> int:
        """Number of parent edges (the transitive reduction)."""
        return len(self.child)

    @cached_property
    def is_tree(self) -> bool:
        """True when every node has at most one parent."""
        return len(np.unique(self.child)) == len(self.child)

    @cached_property
    def index(self) -> dict[str, int]:
        """Map from id to node index."""
        return {s: i for i, s in enumerate(self.ids.tolist())}

    @cached_property
    def depth(self) -> np.ndarray:
        """``(n,)`` int32 longest-path depth (roots are 0); see the module docstring."""
        return self._levels()[0]

    @cached_property
    def roots(self) -> np.ndarray:
        """Indices of nodes without a parent."""
        has_parent = np.zeros(self.n_nodes, dtype=bool)
        has_parent[self.child] = True
        return np.flatnonzero(~has_parent).astype(INDEX)

    @cached_property
    def closure(self) -> tuple[np.ndarray, np.ndarray]:
        """The relation to embed: :attr:`given_closure` when the source listed one,
        else :meth:`derived_closure`. ``(desc, anc)`` int32, sorted by desc then anc."""
        if self.given_closure is not None:
            return self.given_closure
        return self.derived_closure()

    def derived_closure(self) -> tuple[np.ndarray, np.ndarray]:
        """Transitive closure of the parent edges, ``(desc, anc)`` int32 sorted by desc, anc.

        Built level by level: the pairs at distance ``k + 1`` are the parents of the
        ancestors at distance ``k``. On a tree no pair can repeat, so no dedup is
        needed; on a DAG each level is deduplicated against the pairs found so far.
        Raises HyptaxError, before building, when the pairs would not fit in memory
        (a tree has exactly ``depth.sum()`` of them, a DAG at least as many).
        """
        from ..training.memory import check_closure

        check_closure(int(self.depth.sum(dtype=np.int64)), self.source or "the data")
        if self.is_tree:
            return self._tree_closure()
        n = self.n_nodes
        ptr, up = csr.group(self.child, self.parent.astype(np.int64), n)
        d, a = np.repeat(np.arange(n), np.diff(ptr)), up
        out_d, out_a = [d], [a]
        seen = np.sort(d * n + a)
        while len(d):
            pos, cnt = csr.positions(ptr, a)
            key = unique_sorted(np.repeat(d, cnt) * n + up[pos])
            key = key[~_member(key, seen)]
            seen = np.sort(np.concatenate([seen, key]))
            d, a = key // n, key % n
            out_d.append(d)
            out_a.append(a)
        key = np.sort(np.concatenate(out_d) * n + np.concatenate(out_a))
        return (key // n).astype(INDEX), (key % n).astype(INDEX)

    def _tree_closure(self) -> tuple[np.ndarray, np.ndarray]:
        """The closure of a tree: node ``u`` has exactly ``depth(u)`` ancestors, so the
        pairs fill one preallocated key array, level by level (47M pairs for all of
        NCBI, ~1 GiB at the peak), sorted once."""
        n = self.n_nodes
        up = np.full(n, -1, dtype=INDEX)
        up[self.child] = self.parent
        keys = np.empty(int(self.depth.sum(dtype=np.int64)), dtype=np.int64)
        d = np.flatnonzero(up >= 0).astype(INDEX)
        a = up[d]
        pos = 0
        while len(d):
            np.add(d.astype(np.int64) * n, a, out=keys[pos : pos + len(d)])
            pos += len(d)
            keep = up[a] >= 0
            d, a = d[keep], up[a[keep]]
        keys.sort()
        return (keys // n).astype(INDEX), (keys % n).astype(INDEX)

    @property
    def n_closure(self) -> int:
        return len(self.closure[0])

    @cached_property
    def tree_parent(self) -> np.ndarray:
        """``(n,)`` int64, read-only: the one parent each node hangs from in the
        hierarchy's spanning tree (``-1`` for roots). The rule: the deepest parent,
        so that ``depth[tree_parent[u]] == depth[u] - 1`` and the tree depth is the
        longest-path depth; ties go to the lowest parent index. On a tree it is the
        parent. Sampling, the constructions, :meth:`top_level` and :meth:`lineage`
        all follow it.

        >>> diamond = Taxonomy.from_edges(list("rabc"), [1, 2, 3, 3], [0, 0, 2, 1])
        >>> diamond.tree_parent.tolist()  # c under a and b, both at depth 1: a
        [-1, 0, 0, 1]
        """
        out = np.full(self.n_nodes, -1, dtype=np.int64)
        child, parent = self.child.astype(np.int64), self.parent.astype(np.int64)
        order = np.lexsort((parent, -self.depth[parent].astype(np.int64), child))
        first = np.ones(len(order), dtype=bool)  # each child's first: deepest, lowest
        first[1:] = child[order][1:] != child[order][:-1]
        out[child[order[first]]] = parent[order[first]]
        out.flags.writeable = False
        return out

    def top_level(self) -> np.ndarray:
        """``(n,)`` int32: each node's top-level group, its depth-1 ancestor along
        :attr:`tree_parent` (``-1`` for roots). With a single root these are the
        root's children; with several roots, the roots themselves."""
        up = self.tree_parent
        level = 0 if len(self.roots) > 1 else 1
        group = np.arange(self.n_nodes)
        for _ in range(int(self.depth.max(initial=0)) - level):
            group = np.where(self.depth[group] > level, up[group], group)
        group[self.depth < level] = -1
        return group.astype(INDEX)

    def lookup(self, key: str) -> int:
        """Node index for an id, a display name or ``name (id)`` (:func:`find_node`);
        KeyError with suggestions when unknown, AmbiguousName when the name is shared."""
        names = self.names.tolist()
        ranks = None if self.ranks is None else self.ranks.tolist()
        row = find_node(key, self.index, self.name_index, self.ids.tolist(), names, ranks)
        if row is None:
            raise KeyError(f"unknown node {key!r}{suggest(key, names)}")
        return row

    @cached_property
    def name_index(self) -> dict[str, list[int]]:
        """Map from display name to the indices of the nodes that have it."""
        return index_names(self.names.tolist())

    def lineage(self, i: int) -> list[str]:
        """Names of node ``i``'s ancestors along :attr:`tree_parent`, root first."""
        out = []
        i = int(self.tree_parent[i])
        while i >= 0:
            out.append(str(self.names[i]))
            i = int(self.tree_parent[i])
        return out[::-1]

    def rank_counts(self) -> Counter[str]:
        return Counter(self.ranks.tolist()) if self.ranks is not None else Counter()

    # ------------------------------------------------------------ checks
    def _levels(self) -> tuple[np.ndarray, np.ndarray]:
        """Longest-path depth by Kahn's algorithm, one vectorised step per level.

        Returns ``(depth, unresolved)``; ``unresolved`` marks nodes on or below a cycle.
        """
        n = self.n_nodes
        depth = np.zeros(n, dtype=INDEX)
        remaining = np.bincount(self.child, minlength=n)  # parents not yet placed
        ptr, below = csr.group(self.parent, self.child, n)
        frontier = np.flatnonzero(remaining == 0)
        level = 0
        while len(frontier):
            depth[frontier] = level
            kids = below[csr.positions(ptr, frontier)[0]]
            np.subtract.at(remaining, kids, 1)
            frontier = unique_sorted(kids[remaining[kids] == 0])
            level += 1
        return depth, remaining > 0

    def _check_acyclic(self, path: str | None, lines: np.ndarray | None) -> None:
        depth, unresolved = self._levels()
        if not unresolved.any():
            self.__dict__["depth"] = depth
            return
        # Walk parent pointers inside the unresolved set until a node repeats.
        first_parent: dict[int, int] = {}
        edge_of: dict[tuple[int, int], int] = {}
        for k in np.flatnonzero(unresolved[self.child] & unresolved[self.parent]).tolist():
            c, p = int(self.child[k]), int(self.parent[k])
            first_parent.setdefault(c, p)
            edge_of.setdefault((c, p), k)
        node = int(np.flatnonzero(unresolved)[0])
        seen: list[int] = []
        while node not in seen:
            seen.append(node)
            node = first_parent[node]
        cycle = [*seen[seen.index(node) :], node]
        shown = [brief(str(self.ids[i])) for i in cycle]
        if len(shown) > 9:  # one readable line, however long the cycle
            shown = [*shown[:4], f"... ({len(cycle) - 1} nodes) ...", *shown[-4:]]
        names = " -> ".join(shown)
        k = edge_of[(cycle[0], cycle[1])]
        raise InputError(
            f"cycle: {names}", path=path, line=None if lines is None else int(lines[k])
        )


def unique_sorted(x: np.ndarray) -> np.ndarray:
    """Sorted unique values. numpy 2.4's ``np.unique`` takes a hash path that is ~15x
    slower than sorting for millions of int64 keys."""
    x = np.sort(x)
    return x[np.concatenate([[True], x[1:] != x[:-1]])] if len(x) else x


def _member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """``keys in sorted_set`` elementwise, by binary search."""
    if not len(sorted_set):
        return np.zeros(len(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, keys), len(sorted_set) - 1)
    return sorted_set[at] == keys


def _object_array(values: np.ndarray | list[str]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = list(values) if not isinstance(values, np.ndarray) else values
    return arr
