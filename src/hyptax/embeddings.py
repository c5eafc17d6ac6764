"""The trained artefact: node names and vectors on a manifold, apart from the trainer.

>>> emb = hyptax.load("run/checkpoint.pt")  # doctest: +SKIP
>>> emb.nearest("Homo sapiens", k=3)  # doctest: +SKIP
[('Homo', 0.41), ('Pan troglodytes', 1.93), ('Pan', 2.05)]
>>> emb.distance("Homo sapiens", "Mus musculus")  # doctest: +SKIP
7.31

Evaluation, plotting and export read an :class:`Embeddings` (plus a taxonomy for
the hierarchy) and nothing else. Nodes are looked up by id first, then by display
name, then as ``name (id)``; a name that several nodes share is refused with the
list of them (:class:`~hyptax.errors.AmbiguousName`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, overload

import numpy as np
import torch

from . import storage
from .data.names import find_node, index_names, suggest
from .data.taxonomy import Taxonomy
from .errors import AmbiguousName, HyptaxError
from .manifolds import get_manifold
from .manifolds.extended import Polar


class Embeddings:
    """Names and vectors of ``n`` nodes on a manifold.

    Args:
        ids: ``n`` unique node ids.
        names: ``n`` display names.
        vectors: ``(n, coord_dim)`` coordinates in the manifold's own model (float64
            kept; other floats are upcast).
        manifold: ``"poincare"`` or ``"lorentz"``.
        ranks, depth: optional per-node rank strings and depths (from a taxonomy).
        meta: where the vectors came from (checkpoint path, data spec, epoch...).
        polar: the points in extended precision (:mod:`hyptax.manifolds.extended`), or
            ``None``. With it every distance and score comes from the polar points,
            and ``vectors`` holds their plain coordinates (rounded: points past a
            radius of ~26 sit on the rim), for plots and plain exports.
    """

    def __init__(
        self,
        ids: list[str] | np.ndarray,
        names: list[str] | np.ndarray,
        vectors: torch.Tensor | np.ndarray,
        manifold: str,
        *,
        ranks: list[str] | np.ndarray | None = None,
        depth: np.ndarray | None = None,
        meta: dict[str, Any] | None = None,
        polar: Polar | None = None,
    ) -> None:
        self.ids = [str(s) for s in ids]
        self.names = [str(s) for s in names]
        self.vectors = torch.as_tensor(vectors).detach().to("cpu", torch.float64)
        self.manifold = get_manifold(manifold).name
        self.ranks = None if ranks is None else [str(r) for r in ranks]
        self.depth = None if depth is None else np.asarray(depth, dtype=np.int64)
        self.meta = dict(meta or {})
        self.polar = polar
        n = len(self.ids)
        if polar is not None and polar.n != n:
            raise HyptaxError(f"embeddings: {n} ids but {polar.n} polar points")
        if self.vectors.ndim != 2 or self.vectors.shape[0] != n or len(self.names) != n:
            raise HyptaxError(
                f"embeddings: {n} ids, {len(self.names)} names but vectors of shape "
                f"{tuple(self.vectors.shape)}"
            )
        for extra, label in ((self.ranks, "ranks"), (self.depth, "depth")):
            if extra is not None and len(extra) != n:
                raise HyptaxError(f"embeddings: {n} nodes but {len(extra)} {label}")

    # ------------------------------------------------------------ files
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Embeddings:
        """Read an embedding: a checkpoint (``.pt``, a run's or one :meth:`save`
        wrote), a run folder (its ``best.pt``), an ``.npy`` export or an ``.npz``
        (polar) one (:mod:`hyptax.storage`)."""
        return cls(**storage.read(path))

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str]) -> Embeddings:
        """The embedding stored in a checkpoint (read with ``weights_only=True``)."""
        return cls(**storage.read_checkpoint(path))

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole embedding (polar points, ranks, depths and ``meta``'s data
        and config included) to one checkpoint file, atomically; :meth:`load` reads
        it back. Returns the path."""
        return storage.save(
            path, ids=self.ids, names=self.names, vectors=self.vectors, manifold=self.manifold,
            ranks=self.ranks, depth=self.depth, meta=self.meta, polar=self.polar,
        )  # fmt: skip

    # ------------------------------------------------------------ shape
    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def coord_dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def dim(self) -> int:
        """Intrinsic dimension (Lorentz stores one coordinate more)."""
        return self.coord_dim - (1 if self.manifold == "lorentz" else 0)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        extra = "" if self.polar is None else f", extended precision ({self.polar.n_limbs} limbs)"
        return f"Embeddings({self.n} nodes, {self.manifold}, dim {self.dim}{extra})"

    # ------------------------------------------------------------ lookups
    @cached_property
    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.ids)}

    @cached_property
    def name_index(self) -> dict[str, list[int]]:
        return index_names(self.names)

    def lookup(self, key: str) -> int:
        """Row of an id, a display name or ``name (id)`` (:func:`~hyptax.data.names.find_node`);
        KeyError with close suggestions when unknown, :class:`~hyptax.errors.AmbiguousName`
        when several nodes share the name."""
        row = find_node(key, self.index, self.name_index, self.ids, self.names, self.ranks)
        if row is None:
            raise KeyError(f"unknown node {key!r}{self._suggestions(key)}")
        return row

    def _suggestions(self, key: str) -> str:
        """Names that start with ``key`` (``dog`` -> ``dog.n.01``), else close spellings."""
        low = key.lower()
        starts = {n for n in self.names if n.lower().startswith(low)} if low else set()
        if starts:
            hits = sorted(starts, key=lambda n: (len(n), n))[:3]
            return f"; did you mean {', '.join(repr(h) for h in hits)}?"
        return suggest(key, self.names)

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` names a node (id, name or ``name (id)``; a shared name counts)."""
        if not isinstance(key, str):
            return False
        try:
            return find_node(key, self.index, self.name_index, self.ids, self.names) is not None
        except AmbiguousName:
            return True
        except KeyError:
            return False

    def __iter__(self) -> Iterator[str]:
        """The node ids, in row order."""
        return iter(self.ids)

    def __getitem__(self, key: str | Sequence[str]) -> np.ndarray:
        """``emb["dog.n.01"]``: the ``(coord_dim,)`` vector of a node (a copy);
        ``emb[["a", "b"]]``: ``(k, coord_dim)``, one row per key."""
        if isinstance(key, str):
            return self.vector(key)
        return self.vectors[self._rows(key)].numpy().copy()

    def vector(self, key: str) -> np.ndarray:
        """``(coord_dim,)`` coordinates of a node (a copy)."""
        return self.vectors[self.lookup(key)].numpy().copy()

    @overload
    def distance(self, a: str, b: str) -> float: ...
    @overload
    def distance(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray: ...
    def distance(self, a: str | Sequence[str], b: str | Sequence[str]) -> float | np.ndarray:
        """Hyperbolic distance between two nodes; given two equally long lists of
        keys, the ``(k,)`` float64 array of distances pair by pair (``a[i]`` to ``b[i]``)."""
        if isinstance(a, str) and isinstance(b, str):
            return float(self._pair_distances(np.array([self.lookup(a)]),
                                              np.array([self.lookup(b)]))[0])  # fmt: skip
        if isinstance(a, str) or isinstance(b, str) or len(a) != len(b):
            raise ValueError("distance: give two keys, or two lists of keys of the same length")
        return self._pair_distances(self._rows(a), self._rows(b))

    def _rows(self, keys: Sequence[str]) -> np.ndarray:
        return np.array([self.lookup(k) for k in keys], dtype=np.int64)

    def _pair_distances(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """``(k,)`` distances between rows ``i[t]`` and ``j[t]``."""
        if self.polar is not None:
            return np.asarray(self.polar.dist(i, j), dtype=np.float64)
        m = get_manifold(self.manifold)
        with torch.no_grad():
            ti, tj = torch.from_numpy(i), torch.from_numpy(j)
            return m.dist(self.vectors[ti], self.vectors[tj]).numpy().astype(np.float64)

    def _row_distances(self, row: int) -> torch.Tensor:
        """``(n,)`` distances from node ``row`` to every node."""
        if self.polar is not None:
            return torch.from_numpy(self.polar.dist_row(row))
        m = get_manifold(self.manifold)
        with torch.no_grad():
            return m.dist(self.vectors[row].unsqueeze(0), self.vectors)

    def _radii(self) -> torch.Tensor:
        """``(n,)`` distances from the origin."""
        if self.polar is not None:
            return torch.from_numpy(self.polar.radius)
        with torch.no_grad():
            return get_manifold(self.manifold).dist0(self.vectors)

    def nearest(self, key: str, k: int = 10, rank: str | None = None) -> list[tuple[str, float]]:
        """The ``k`` nodes closest to ``key`` (itself excluded) as ``(name, distance)``,
        closest first; equal distances go to the lower row. ``rank`` (e.g.
        ``"genus"``) keeps only the nodes of that rank (embeddings with ranks only:
        NCBI data, or :meth:`with_taxonomy`)."""
        rows = self.nearest_rows(self.lookup(key), k, rank)
        return [(self.names[i], d) for i, d in rows]

    def nearest_rows(
        self, row: int, k: int = 10, rank: str | None = None
    ) -> list[tuple[int, float]]:
        """Like :meth:`nearest`, by row: ``[(row, distance), ...]``."""
        d = self._row_distances(row)
        d[row] = torch.inf
        keep = self.n - 1
        if rank is not None:
            other = torch.from_numpy(self._rank_mask(rank) == 0)
            d[other] = torch.inf
            keep = int((~other).sum()) - (0 if other[row] else 1)
        order = torch.sort(d, stable=True).indices[: max(0, min(k, keep))]
        return [(int(i), float(d[i])) for i in order]

    def _rank_mask(self, rank: str) -> np.ndarray:
        """``(n,)`` bool: the nodes of ``rank``; ValueError naming the ranks there are."""
        if self.ranks is None:
            raise ValueError(
                "these embeddings carry no ranks; rank= needs data with ranks (NCBI), "
                "see Embeddings.with_taxonomy"
            )
        ranks = np.asarray(self.ranks, dtype=object)
        mask = ranks == rank
        if not mask.any():
            valid = ", ".join(sorted(set(self.ranks) - {""}))
            raise ValueError(f"no node has rank {rank!r}; the ranks here are: {valid}")
        return mask

    def ancestors(self, key: str, k: int = 10) -> list[tuple[str, float]]:
        """The ``k`` nodes most likely to be ancestors of ``key``, by the ancestor score
        ``d(u, v) + d(v, 0) - d(u, 0)`` (0 when ``v`` lies on the geodesic from ``u`` to
        the origin, where the metric construction puts a node's ancestors), lowest
        first, as ``(name, score)``; equal scores go to the lower row."""
        return [(self.names[i], s) for i, s in self.ancestor_rows(self.lookup(key), k)]

    def ancestor_rows(self, row: int, k: int = 10) -> list[tuple[int, float]]:
        """Like :meth:`ancestors`, by row: ``[(row, score), ...]``."""
        d, d0 = self._row_distances(row), self._radii()
        score = d + d0 - d0[row]
        score[row] = torch.inf
        order = torch.sort(score, stable=True).indices[: min(k, self.n - 1)]
        return [(int(i), float(score[i])) for i in order]

    def poincare(self) -> np.ndarray:
        """``(n, dim)`` Poincaré-ball coordinates (Lorentz points converted)."""
        with torch.no_grad():
            return get_manifold(self.manifold).to_poincare(self.vectors).numpy()

    # ------------------------------------------------------------ taxonomy
    def aligned(self, tax: Taxonomy) -> torch.Tensor:
        """``(tax.n_nodes, coord_dim)`` vectors in the taxonomy's node order.

        Raises HyptaxError when the embedding lacks some of the taxonomy's nodes
        (it was trained on other data).
        """
        tax_ids = tax.ids.tolist()
        if tax_ids == self.ids:
            return self.vectors
        rows = [self.index.get(s, -1) for s in tax_ids]
        missing = [s for s, r in zip(tax_ids, rows, strict=True) if r < 0]
        if missing:
            raise HyptaxError(
                f"the embedding has no vector for {len(missing):,} of the {tax.n_nodes:,} "
                f"nodes of {tax.source or 'the data'} (e.g. {missing[0]!r}); "
                "pass the data it was trained on (--data)"
            )
        return self.vectors[torch.as_tensor(rows)]

    def aligned_polar(self, tax: Taxonomy) -> Polar | None:
        """The polar points in the taxonomy's node order (``None`` without them)."""
        if self.polar is None:
            return None
        if tax.ids.tolist() == self.ids:
            return self.polar
        self.aligned(tax)  # the same check: every node of tax has a point
        return self.polar.subset(np.array([self.index[s] for s in tax.ids.tolist()]))

    def rows_in(self, tax: Taxonomy) -> np.ndarray:
        """``(n,)`` int64: each node's index in ``tax`` (by id), ``-1`` where it lacks one."""
        if tax.ids.tolist() == self.ids:
            return np.arange(self.n, dtype=np.int64)
        return np.array([tax.index.get(s, -1) for s in self.ids], dtype=np.int64)

    def with_taxonomy(self, tax: Taxonomy) -> Embeddings:
        """A copy carrying the ranks and depths of the taxonomy's nodes (by id);
        nodes the taxonomy lacks get rank "" and depth -1."""
        pos = self.rows_in(tax)
        have = pos >= 0
        depth = np.where(have, tax.depth[np.maximum(pos, 0)], -1)
        ranks = None
        if tax.ranks is not None:
            ranks = np.where(have, tax.ranks[np.maximum(pos, 0)], "").tolist()
        return Embeddings(
            self.ids,
            self.names,
            self.vectors,
            self.manifold,
            ranks=ranks,
            depth=depth,
            meta=self.meta,
            polar=self.polar,
        )


def load(path: str | os.PathLike[str]) -> Embeddings:
    """:meth:`Embeddings.load`: a checkpoint, a run folder, an ``.npy`` or ``.npz`` export."""
    return Embeddings.load(path)
