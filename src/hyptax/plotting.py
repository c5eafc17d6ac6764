"""Pictures of an embedding (matplotlib lives here and nowhere else).

- :func:`plot_disk`: the Poincaré disk, points coloured by phylum (NCBI) or
  top-level group, the largest groups labelled, the unit circle drawn.
- :func:`plot_depth`: distance from the origin against depth, one box per depth.
- :func:`plot_curves`: training curves from ``metrics.jsonl`` records.

The 2-D view (:func:`disk_coordinates`). A dim-2 embedding is drawn as it is. In
higher dimension each point keeps its exact distance from the origin (so depth
against radius reads true) and gets the direction of its log-map vector at the
origin projected onto the first two principal axes of all log-map vectors (PCA
about the origin, not centred, so the origin stays the centre). Points whose
direction is mostly outside that plane are placed by the part that is in it; the
angles are a projection, the radii are not. When more than half of the points
crowd the rim (within 1e-3), all distances are scaled down for display by one
stated factor (``scale="auto"``; ``scale=None`` keeps the true radius).

Figures are built with matplotlib's object API (no pyplot, no global state) and
written atomically; the format follows the file suffix (``.png``, ``.svg``, ``.pdf``).
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

MAX_POINTS = 200_000
"""Points drawn at most in the disk view (a seeded sample beyond that, stated)."""

N_COLOURS = 20
"""Groups coloured (the largest); the rest are drawn grey."""

LABEL_GAP = 0.08
"""Smallest distance (in disk units) between two group labels."""

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


# --------------------------------------------------------------------- geometry
def disk_coordinates(emb: Embeddings, scale: float | str | None = None) -> tuple[np.ndarray, str]:
    """``(n, 2)`` points in the unit disk and one sentence saying how they were made.

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
                2 * np.arctanh(0.95) / np.quantile(2 * np.arctanh(np.minimum(norm, _BELOW_1)), 0.99)
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


_BELOW_1 = np.nextafter(1.0, 0.0)


# --------------------------------------------------------------------- figures
def plot_disk(
    emb: Embeddings,
    tax: Taxonomy | None = None,
    *,
    max_points: int = MAX_POINTS,
    seed: int = 0,
    n_labels: int = N_COLOURS,
    scale: float | str | None = "auto",
) -> Any:
    """The Poincaré disk view (see the module docstring and :func:`disk_coordinates`
    for ``scale``); returns a matplotlib Figure. Labels that would overlap a larger
    group's label are left out."""
    require("matplotlib")
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle

    xy, how = disk_coordinates(emb, scale)
    groups, title = _groups(emb, tax)
    top = _largest(groups, N_COLOURS)
    anchors = _anchor_rows(emb, tax, top)
    shown = np.arange(emb.n)
    if emb.n > max_points:
        pick = np.random.default_rng(seed).choice(emb.n, size=max_points, replace=False)
        shown = np.union1d(pick, anchors[anchors >= 0])
    fig = Figure(figsize=(9.5, 8), layout="constrained")
    ax = fig.add_subplot()
    ax.add_patch(Circle((0, 0), 1.0, fill=False, lw=1.0, color="black"))
    size = float(np.clip(3e4 / max(len(shown), 1), 0.3, 12))
    colour_of = {g: i for i, g in enumerate(top.tolist())}
    rest = shown[~np.isin(groups[shown], top)]
    ax.scatter(
        *xy[rest].T, s=size, c="0.75", lw=0, rasterized=True, label="other" if len(top) else None
    )
    cmap = _palette()
    for g in top.tolist():
        rows = shown[groups[shown] == g]
        ax.scatter(
            *xy[rows].T,
            s=size,
            color=cmap[colour_of[g] % len(cmap)],
            lw=0,
            rasterized=True,
            label=_group_name(tax, g),
        )
    placed: list[np.ndarray] = []
    for g, row in zip(top[:n_labels].tolist(), anchors[:n_labels].tolist(), strict=True):
        if row >= 0 and all(np.linalg.norm(xy[row] - q) > LABEL_GAP for q in placed):
            placed.append(xy[row])
            ax.scatter(*xy[row], s=30, color=cmap[colour_of[g] % len(cmap)], edgecolor="black")
            ax.annotate(
                _group_name(tax, g), xy[row], fontsize=8, xytext=(4, 4), textcoords="offset points"
            )
    ax.set_xlim(-1.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
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
def _groups(emb: Embeddings, tax: Taxonomy | None) -> tuple[np.ndarray, str]:
    """Per embedding row: the taxonomy index of its colour group (-1: none), and the title."""
    if tax is None:
        return np.full(emb.n, -1, dtype=np.int64), ""
    from .evaluation.hierarchy import color_groups

    labels, title = color_groups(tax)
    pos = emb.rows_in(tax)
    return np.where(pos >= 0, labels[np.maximum(pos, 0)], -1), title


def _largest(groups: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` largest group ids, largest first (ties to the lower id)."""
    valid = groups[groups >= 0]
    if not len(valid):
        return np.zeros(0, dtype=np.int64)
    ids, counts = np.unique(valid, return_counts=True)
    order = np.lexsort((ids, -counts))
    return ids[order][:k]


def _anchor_rows(emb: Embeddings, tax: Taxonomy | None, top: np.ndarray) -> np.ndarray:
    """Embedding row of each group's own node (the phylum, the top-level node), or -1."""
    if tax is None or not len(top):
        return np.full(len(top), -1, dtype=np.int64)
    return np.array([emb.index.get(str(tax.ids[g]), -1) for g in top.tolist()], dtype=np.int64)


def _group_name(tax: Taxonomy | None, g: int) -> str:
    return str(tax.names[g]) if tax is not None else str(g)


def _source(emb: Embeddings, tax: Taxonomy | None) -> str:
    if tax is not None and tax.source:
        return tax.source
    data = emb.meta.get("data") or {}
    return str(data.get("typed") or data.get("spec") or "embedding")


def _palette() -> list[Any]:
    """tab20's strong colours first, then its light ones (neighbours stay distinct)."""
    from matplotlib import colormaps

    colours = list(colormaps["tab20"].colors)
    return colours[0::2] + colours[1::2]


def _num(value: Any) -> float | None:
    """A finite float, or None (missing, NaN, not a number)."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None
