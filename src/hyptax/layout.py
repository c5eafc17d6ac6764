"""Where each node goes in a picture of the Poincaré disk (no matplotlib here).

Two layouts (:data:`LAYOUTS`), chosen by :func:`disk_view`:

- ``"tree"`` (the default): a 2-d radial layout of the taxonomy's tree
  (:func:`tree_coordinates`). Every clade is a wedge seen from the origin, sized by
  its leaves, and every level a ring, so the top of the hierarchy reads as it is:
  clades apart, children inside their parent's wedge. It draws the tree, not the
  run's vectors; a run whose embedding is itself 2-d is drawn as it is.
- ``"pca"``: the run's own vectors (:func:`disk_coordinates`): exact radius, and the
  direction of the log map at the origin projected on its first two principal axes.
  It suits the order geometry, whose clades fan out from the origin; in the metric
  geometry a clade's nodes share almost one direction and overlap in projection.

Both compress hyperbolic radius for display by one stated factor where the points
would crowd the rim (the deep levels of a construction sit at radius 30-100).
"""

from __future__ import annotations

import numpy as np

from .data.taxonomy import Taxonomy
from .embeddings import Embeddings
from .errors import ConfigError

LAYOUTS = ("tree", "pca")
"""Layouts of the disk view (module docstring)."""

RIM = 0.95
"""Display radius of the deepest level when radii are compressed for display."""

PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
    "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5",
)  # fmt: skip
"""Group colours: tab20's strong colours first, then its light ones (neighbours stay
distinct); the same in the PNG and the HTML view."""

_BELOW_1 = np.nextafter(1.0, 0.0)


def disk_view(
    emb: Embeddings, tax: Taxonomy | None, layout: str = "tree"
) -> tuple[np.ndarray, str]:
    """``(emb.n, 2)`` display points (NaN for rows the layout cannot place) and one
    sentence saying how they were made. A 2-d embedding is always drawn as it is;
    ``"tree"`` without a taxonomy falls back to ``"pca"`` and says so."""
    if layout not in LAYOUTS:
        raise ConfigError(f"--layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    if emb.dim <= 2 or layout == "pca" or tax is None:
        xy, how = disk_coordinates(emb, "auto")
        if layout == "tree" and tax is None and emb.dim > 2:
            how += " (no taxonomy to lay out)"
        return xy, how
    txy, how = tree_coordinates(tax)
    pos = emb.rows_in(tax)
    xy = np.where((pos >= 0)[:, None], txy[np.maximum(pos, 0)], np.nan)
    return xy, how


def tree_coordinates(tax: Taxonomy) -> tuple[np.ndarray, str]:
    """``(tax.n_nodes, 2)`` points of a 2-d radial layout of the taxonomy's tree
    (:attr:`Taxonomy.tree_parent`): every clade owns a wedge of angle proportional to
    its number of leaves, inside its parent's wedge (siblings in index order), and
    sits at its wedge's middle direction; depth ``k`` sits at radius
    ``tanh(s k / 2)``, a ring at hyperbolic distance ``s k`` from the origin, with
    ``s`` putting the deepest level at :data:`RIM`. Returns the points and the
    sentence saying so.

    Why not the metric construction in dim 2: with one edge length for the whole
    tree, the length the widest family needs (about 16 on ``ncbi:small``) leaves
    every clade a spoke of near-zero angle; here the angles are shared out instead.
    """
    n = tax.n_nodes
    parent = np.asarray(tax.tree_parent, dtype=np.int64)
    depth = tax.depth.astype(np.int64)
    leaves = np.zeros(n)
    leaves[np.setdiff1d(np.arange(n), parent[parent >= 0])] = 1.0
    for k in range(int(depth.max(initial=0)), 0, -1):  # children pass counts up
        rows = np.flatnonzero((depth == k) & (parent >= 0))
        np.add.at(leaves, parent[rows], leaves[rows])
    start, width = np.zeros(n), np.zeros(n)
    roots = np.flatnonzero(parent < 0)
    width[roots] = 2 * np.pi * leaves[roots] / leaves[roots].sum()
    start[roots] = np.concatenate([[0.0], np.cumsum(width[roots])[:-1]])
    for k in range(1, int(depth.max(initial=0)) + 1):  # parents share their wedge out
        rows = np.flatnonzero((depth == k) & (parent >= 0))
        rows = rows[np.argsort(parent[rows], kind="stable")]
        up = parent[rows]
        width[rows] = width[up] * leaves[rows] / leaves[up]
        before = np.cumsum(width[rows]) - width[rows]  # wedges of earlier rows, all parents
        first = np.ones(len(rows), dtype=bool)
        first[1:] = up[1:] != up[:-1]
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
        start[rows] = start[up] + before - before[group_start]
    top = int(depth.max(initial=0))
    s = 2 * np.arctanh(RIM) / top if top > 0 else 1.0
    angle = start + width / 2
    radius = np.where(depth > 0, np.tanh(s * depth / 2), 0.0)
    how = (
        "2-d layout of the taxonomy's tree: each clade a wedge sized by its leaves, "
        f"each level a ring (depth k at hyperbolic radius {s:.3g} k)"
    )
    return np.column_stack([np.cos(angle), np.sin(angle)]) * radius[:, None], how


def disk_coordinates(emb: Embeddings, scale: float | str | None = None) -> tuple[np.ndarray, str]:
    """``(n, 2)`` points in the unit disk from the run's own vectors, and one sentence
    saying how they were made. A dim-2 embedding is drawn as it is. In higher
    dimension each point keeps its exact distance from the origin and gets the
    direction of its log-map vector at the origin projected onto the first two
    principal axes of all log-map vectors (PCA about the origin, not centred).

    ``scale``: ``None`` draws the true Poincaré radius; a number ``s`` draws radius
    ``tanh(s * d / 2)`` for a point at hyperbolic distance ``d`` from the origin (the
    same picture for a metric scaled by ``s``; ``s = 1`` is the true one); ``"auto"``
    picks ``s`` so the 99th percentile of ``d`` sits at radius 0.95 when more than
    half of the points are within 1e-3 of the boundary (else the true radius).
    """
    p = emb.poincare()
    norm = np.linalg.norm(p, axis=1)
    if scale == "auto":
        scale = None
        if np.mean(norm > 1 - 1e-3) > 0.5:
            scale = (
                2 * np.arctanh(RIM) / np.quantile(2 * np.arctanh(np.minimum(norm, _BELOW_1)), 0.99)
            )
    how = ""
    if scale is not None:
        from .manifolds import get_manifold

        d0 = get_manifold(emb.manifold).dist0(emb.vectors).numpy()
        with np.errstate(invalid="ignore"):
            norm = np.tanh(float(scale) * d0 / 2)
        how = f"; distances scaled by {float(scale):.3g} for display"
    if p.shape[1] <= 2:
        xy = np.column_stack([p[:, 0], p[:, 1] if p.shape[1] == 2 else np.zeros(len(p))])
        if scale is None:
            return xy, f"the embedding itself (dim {p.shape[1]})"
        length = np.linalg.norm(xy, axis=1)
        xy = np.where(length[:, None] > 0, xy / np.where(length > 0, length, 1)[:, None], 0.0)
        return xy * norm[:, None], f"the embedding itself (dim {p.shape[1]}){how}"
    with np.errstate(invalid="ignore", divide="ignore"):
        tangent = (
            np.where(norm[:, None] > 0, p / np.linalg.norm(p, axis=1)[:, None], 0.0)
            * np.arctanh(np.minimum(np.linalg.norm(p, axis=1), _BELOW_1))[:, None]
        )
    ok = np.isfinite(tangent).all(1)
    _, vecs = np.linalg.eigh(tangent[ok].T @ tangent[ok])
    axes = vecs[:, ::-1][:, :2].T  # the two leading principal axes
    axes *= np.sign(axes[np.arange(2), np.abs(axes).argmax(1)])[:, None]  # fixed signs
    plane = tangent @ axes.T
    angle = np.arctan2(plane[:, 1], plane[:, 0])
    xy = np.column_stack([np.cos(angle), np.sin(angle)]) * norm[:, None]
    return xy, (
        f"dim {p.shape[1]} shown by exact radius and the direction of the log map at the "
        f"origin projected on its first two principal axes{how}"
    )


# --------------------------------------------------------------------- groups
def groups(emb: Embeddings, tax: Taxonomy | None) -> tuple[np.ndarray, str]:
    """Per embedding row: the taxonomy index of its colour group (-1: none), and the
    group's title (phylum, or top-level group: :func:`~.evaluation.hierarchy.color_groups`)."""
    if tax is None:
        return np.full(emb.n, -1, dtype=np.int64), ""
    from .evaluation.hierarchy import color_groups

    labels, title = color_groups(tax)
    pos = emb.rows_in(tax)
    return np.where(pos >= 0, labels[np.maximum(pos, 0)], -1), title


def largest(group: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest group ids, largest first (ties to the lower id)."""
    valid = group[group >= 0]
    if not len(valid):
        return np.zeros(0, dtype=np.int64)
    ids, counts = np.unique(valid, return_counts=True)
    order = np.lexsort((ids, -counts))
    return ids[order][:k]


def centroid_angles(xy: np.ndarray, group: np.ndarray, top: np.ndarray) -> np.ndarray:
    """``(len(top),)`` the mean direction (radians) of each group's points: where its
    label goes. NaN for a group without a placed point."""
    out = np.full(len(top), np.nan)
    length = np.linalg.norm(xy, axis=1)
    ok = np.isfinite(length) & (length > 0)
    for i, g in enumerate(top.tolist()):
        rows = ok & (group == g)
        if rows.any():
            mean = (xy[rows] / length[rows, None]).sum(0)
            out[i] = np.arctan2(mean[1], mean[0])
    return out
