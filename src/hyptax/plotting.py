"""Pictures of an embedding (matplotlib lives here and nowhere else).

- :func:`plot_disk`: the Poincaré disk, points coloured by phylum (NCBI) or
  top-level group, the largest groups labelled at their mean direction, the tree
  edges of the top levels and the unit circle drawn. Where the points go is
  :mod:`hyptax.layout`'s: by default the taxonomy's own 2-d construction, so clades
  are wedges apart (``layout="pca"``: the run's vectors projected).
- :func:`plot_depth`: distance from the origin against depth, one box per depth.
- :func:`plot_curves`: training curves from ``metrics.jsonl`` records.

Figures are built with matplotlib's object API (no pyplot, no global state) and
written atomically; the format follows the file suffix (``.png``, ``.svg``, ``.pdf``).
The interactive HTML view needs no matplotlib: :mod:`hyptax.viewer`.
"""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from .data.taxonomy import Taxonomy
from .embeddings import Embeddings
from .errors import HyptaxError, require
from .files import atomic_write, is_stdout
from .layout import PALETTE, centroid_angles, disk_coordinates, disk_view, groups, largest

__all__ = ["disk_coordinates", "figure_format", "plot_curves", "plot_depth", "plot_disk",
           "save_figure"]  # fmt: skip

MAX_POINTS = 200_000
"""Points drawn at most in the disk view (a seeded sample beyond that, stated)."""

N_COLOURS = len(PALETTE)
"""Groups coloured (the largest); the rest are drawn grey."""

LABEL_GAP = 0.12
"""Smallest angle (radians) between two group labels on the rim."""

EDGE_LEVELS = 3
"""Tree edges drawn in the disk view: those into the nodes of depth 1 to this."""

TOP_LABEL_GAP = 0.1
"""Smallest distance (disk units) between two names of depth-1 nodes."""

CURVE_PANELS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("loss", ("loss", "valid_loss"), False),
    ("MAP (sampled)", ("map_sampled", "map"), False),
    ("mean rank (sampled)", ("mean_rank_sampled", "mean_rank"), True),
    ("depth-norm Spearman", ("spearman",), False),
    ("Poincaré norm", ("max_norm", "mean_norm"), False),
    ("share of points", ("near_boundary_frac", "outside_frac"), False),
    ("clade separation", ("separation",), False),
)
"""Panels of :func:`plot_curves`: title, metric keys, log scale."""


# --------------------------------------------------------------------- figures
def plot_disk(
    emb: Embeddings,
    tax: Taxonomy | None = None,
    *,
    layout: str = "tree",
    max_points: int = MAX_POINTS,
    seed: int = 0,
    n_labels: int = N_COLOURS,
) -> Any:
    """The Poincaré disk view; returns a matplotlib Figure. ``layout``: ``"tree"``
    (the taxonomy's 2-d construction) or ``"pca"`` (:mod:`hyptax.layout`). Labels sit
    outside the rim at each group's mean direction; one that would crowd a larger
    group's label is left out."""
    require("matplotlib")
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    xy, how = disk_view(emb, tax, layout)
    group, title = groups(emb, tax)
    top = largest(group, N_COLOURS)
    shown = np.flatnonzero(np.isfinite(xy).all(1))
    if len(shown) > max_points:
        pick = np.random.default_rng(seed).choice(len(shown), size=max_points, replace=False)
        shown = shown[np.sort(pick)]
    fig = Figure(figsize=(10.5, 8.5), layout="constrained")
    ax = fig.add_subplot()
    ax.add_patch(Circle((0, 0), 1.0, fill=False, lw=1.0, color="black"))
    edges = _top_edges(emb, tax, xy)
    if len(edges):
        ax.add_collection(LineCollection(edges, colors="0.45", linewidths=0.3, zorder=3))
    size = float(np.clip(3e4 / max(len(shown), 1), 1.0, 12))
    rest = shown[~np.isin(group[shown], top)]
    ax.scatter(
        *xy[rest].T, s=size, c="0.75", lw=0, rasterized=True, label="other" if len(top) else None
    )
    for i, g in enumerate(top.tolist()):
        rows = shown[group[shown] == g]
        ax.scatter(*xy[rows].T, s=size, color=PALETTE[i], lw=0, rasterized=True,
                   label=_group_name(tax, g))  # fmt: skip
    _label_rim(ax, tax, top[:n_labels], centroid_angles(xy, group, top[:n_labels]))
    _label_top_level(ax, emb, tax, xy)
    ax.set_xlim(-1.32, 1.32)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    sub = f"; {len(shown):,} of {emb.n:,} points shown" if len(shown) < emb.n else ""
    head = f"{_source(emb, tax)}: {emb.manifold} dim {emb.dim}, {emb.n:,} nodes{sub}"
    ax.set_title("\n".join([head, *textwrap.wrap(how, 100)]), fontsize=9)
    if len(top):
        ax.legend(
            title=title,
            fontsize=7,
            title_fontsize=8,
            markerscale=max(1.0, 4 / size),
            loc="upper left",
            bbox_to_anchor=(1.0, 1.0),
            frameon=False,
        )
    return fig


def _top_edges(emb: Embeddings, tax: Taxonomy | None, xy: np.ndarray) -> np.ndarray:
    """``(k, 2, 2)`` segments parent -> child for the nodes of depth 1..EDGE_LEVELS
    that both have a placed point."""
    if tax is None:
        return np.zeros((0, 2, 2))
    row = np.full(tax.n_nodes, -1, dtype=np.int64)
    pos = emb.rows_in(tax)
    row[pos[pos >= 0]] = np.flatnonzero(pos >= 0)
    child = np.flatnonzero((tax.depth >= 1) & (tax.depth <= EDGE_LEVELS))
    parent = tax.tree_parent[child]
    ok = (parent >= 0) & (row[child] >= 0) & (row[np.maximum(parent, 0)] >= 0)
    seg = np.stack([xy[row[parent[ok]]], xy[row[child[ok]]]], axis=1)
    return seg[np.isfinite(seg).all(axis=(1, 2))]


def _label_top_level(ax: Any, emb: Embeddings, tax: Taxonomy | None, xy: np.ndarray) -> None:
    """The names of the depth-1 nodes (the first split) at their points, largest clade
    first, skipping one within :data:`TOP_LABEL_GAP` of a placed name."""
    if tax is None:
        return
    pos = emb.rows_in(tax)
    rows = np.flatnonzero((pos >= 0) & (tax.depth[np.maximum(pos, 0)] == 1))
    rows = rows[np.isfinite(xy[rows]).all(1)]
    size = np.bincount(np.maximum(tax.top_level(), 0), minlength=tax.n_nodes)[pos[rows]]
    placed: list[np.ndarray] = []
    for row in rows[np.argsort(-size, kind="stable")].tolist():
        if all(np.linalg.norm(xy[row] - q) > TOP_LABEL_GAP for q in placed):
            placed.append(xy[row])
            ax.annotate(
                emb.names[row], xy[row], fontsize=8, ha="center", va="center", zorder=4,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.85},
            )  # fmt: skip


def _label_rim(ax: Any, tax: Taxonomy | None, top: np.ndarray, angle: np.ndarray) -> None:
    """Each group's name just outside the circle at its mean direction, largest first,
    skipping one within :data:`LABEL_GAP` of a placed label."""
    placed: list[float] = []
    for i, (g, a) in enumerate(zip(top.tolist(), angle.tolist(), strict=True)):
        if not np.isfinite(a) or any(
            abs((a - b + np.pi) % (2 * np.pi) - np.pi) < LABEL_GAP for b in placed
        ):
            continue
        placed.append(a)
        c, s = np.cos(a), np.sin(a)
        ax.plot([0.97 * c, 1.03 * c], [0.97 * s, 1.03 * s], color=PALETTE[i], lw=2)
        ax.annotate(
            _group_name(tax, g), (1.05 * c, 1.05 * s), fontsize=8, color="black",
            ha="left" if c >= 0 else "right", va="center",
            rotation=np.degrees(a) if c >= 0 else np.degrees(a) - 180, rotation_mode="anchor",
        )  # fmt: skip


def plot_depth(emb: Embeddings, tax: Taxonomy) -> Any:
    """Distance from the origin per depth, one box per depth; returns a Figure."""
    require("matplotlib")
    from matplotlib.figure import Figure

    from .manifolds import get_manifold

    pos = emb.rows_in(tax)
    have = pos >= 0
    if not have.any():
        raise HyptaxError("the embedding shares no node with the data: cannot plot depths")
    d0 = get_manifold(emb.manifold).dist0(emb.vectors).numpy()[have]
    depth = tax.depth[pos[have]]
    levels = np.arange(int(depth.max()) + 1)
    boxes = [d0[depth == k] for k in levels]
    fig = Figure(figsize=(max(6.0, 0.45 * len(levels) + 2), 4.5), layout="constrained")
    ax = fig.add_subplot()
    keep = [k for k in levels.tolist() if len(boxes[k])]
    ax.boxplot([boxes[k] for k in keep], positions=keep, widths=0.6, showfliers=False)
    ax.set_xticks(keep, [f"{k}\n({len(boxes[k]):,})" for k in keep], fontsize=7)
    ax.set_xlabel("depth (nodes)")
    ax.set_ylabel("hyperbolic distance from the origin")
    ax.set_title(f"{_source(emb, tax)}: distance from the origin by depth", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    return fig


def plot_curves(records: list[dict[str, Any]]) -> Any:
    """Training curves (one panel per metric family present); returns a Figure."""
    require("matplotlib")
    from matplotlib.figure import Figure

    panels = [
        (title, [k for k in keys if any(_num(r.get(k)) is not None for r in records)], log)
        for title, keys, log in CURVE_PANELS
    ]
    panels = [p for p in panels if p[1]]
    if not records or not panels:
        raise HyptaxError("no training metrics to plot (no metrics.jsonl records)")
    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * rows), layout="constrained")
    x_key = "epoch" if all("epoch" in r for r in records) else None
    for i, (title, keys, log) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        for key in keys:
            pts = [(r[x_key] if x_key else j, _num(r.get(key))) for j, r in enumerate(records)]
            pts = [(x, y) for x, y in pts if y is not None]
            ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", ms=3, label=key)
        if log:
            ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(x_key or "evaluation")
        ax.grid(alpha=0.3)
        if len(keys) > 1:
            ax.legend(fontsize=7)
    return fig


def figure_format(path: str | os.PathLike[str]) -> str:
    """The picture format of ``path``, from its suffix (png, svg, pdf); ``-`` (stdout)
    is a PNG. Raises HyptaxError for any other suffix."""
    if is_stdout(path):
        return "png"
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise HyptaxError(f"{path}: the picture must end in .png, .svg or .pdf")
    return fmt


def save_figure(fig: Any, path: str | os.PathLike[str]) -> Path:
    """Write a Figure atomically; the format follows the suffix (png, svg, pdf)."""
    path = Path(path)
    fmt = figure_format(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    with atomic_write(path, "wb") as fh:
        fh.write(buf.getvalue())
    return path


# --------------------------------------------------------------------- helpers
def _group_name(tax: Taxonomy | None, g: int) -> str:
    return str(tax.names[g]) if tax is not None else str(g)


def _source(emb: Embeddings, tax: Taxonomy | None) -> str:
    if tax is not None and tax.source:
        return tax.source
    data = emb.meta.get("data") or {}
    return str(data.get("typed") or data.get("spec") or "embedding")


def _num(value: Any) -> float | None:
    """A finite float, or None (missing, NaN, not a number)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None
