"""An interactive view of the disk: one self-contained HTML file, no dependency.

:func:`html_view` lays the nodes out as :func:`hyptax.layout.disk_view` does and
writes them, with names, ranks and tree parents, as JSON inside the page; a little
inline JavaScript draws them on a canvas and shows, under the pointer, the nearest
node's name, rank and lineage (root first), and the wheel zooms. No network is
needed to view it: no CDN, no external script, font or image.

The shallowest levels are kept whole up to :data:`MAX_NODES` nodes (a stated
cut), so that every shown node's lineage is in the page.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .data.taxonomy import Taxonomy
from .embeddings import Embeddings
from .errors import HyptaxError
from .files import atomic_write, is_stdout
from .layout import PALETTE, disk_view, groups, largest

MAX_NODES = 150_000
"""Nodes written at most (whole levels, shallowest first)."""


def html_view(
    emb: Embeddings, tax: Taxonomy, *, layout: str = "tree", max_nodes: int = MAX_NODES
) -> str:
    """The page as a string: the taxonomy's nodes that the embedding holds, placed by
    ``layout`` (:mod:`hyptax.layout`), coloured by phylum or top-level group."""
    pos = emb.rows_in(tax)
    if not (pos >= 0).any():
        raise HyptaxError("the embedding shares no node with the data: nothing to show")
    xy_rows, how = disk_view(emb, tax, layout)
    group_rows, title = groups(emb, tax)
    keep = _shallowest(tax, max_nodes)  # taxonomy rows, ancestor-closed
    xy = np.full((tax.n_nodes, 2), np.nan)
    xy[pos[pos >= 0]] = xy_rows[pos >= 0]
    colour = np.full(tax.n_nodes, -1, dtype=np.int64)
    top = largest(group_rows, len(PALETTE))
    for i, g in enumerate(top.tolist()):
        colour[pos[(pos >= 0) & (group_rows == g)]] = i
    new = np.full(tax.n_nodes, -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    parent = tax.tree_parent[keep]
    ranks = tax.ranks[keep].tolist() if tax.ranks is not None else [""] * len(keep)
    cut = (
        f"; the top {len(keep):,} of {tax.n_nodes:,} nodes (whole levels)"
        if len(keep) < tax.n_nodes
        else ""
    )
    data = {
        "title": f"{tax.source or 'taxonomy'}: {emb.manifold} dim {emb.dim}, {emb.n:,} nodes",
        "how": how + cut,
        "x": [_round(v) for v in xy[keep, 0].tolist()],
        "y": [_round(v) for v in xy[keep, 1].tolist()],
        "name": [str(v) for v in tax.names[keep].tolist()],
        "rank": [str(r) for r in ranks],
        "parent": np.where(parent >= 0, new[np.maximum(parent, 0)], -1).tolist(),
        "colour": colour[keep].tolist(),
        "palette": list(PALETTE),
        "groups": [str(tax.names[g]) for g in top.tolist()],
        "group_title": title,
    }
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _PAGE.replace("__DATA__", payload)


def check_html_path(path: str | os.PathLike[str]) -> Path:
    """``path`` if it ends in ``.html`` (or is ``-``, stdout); else a HyptaxError."""
    path = Path(path)
    if not is_stdout(path) and path.suffix.lower() not in (".html", ".htm"):
        raise HyptaxError(f"{path}: the interactive view must end in .html")
    return path


def write_html(path: str | os.PathLike[str], page: str) -> Path:
    """Write the page atomically (:func:`check_html_path` first)."""
    path = check_html_path(path)
    with atomic_write(path, "w") as fh:
        fh.write(page)
    return path


def _shallowest(tax: Taxonomy, max_nodes: int) -> np.ndarray:
    """Taxonomy rows of the shallowest whole levels holding at most ``max_nodes``
    (at least the first level), in index order."""
    counts = np.bincount(tax.depth.astype(np.int64))
    levels = max(1, int(np.searchsorted(np.cumsum(counts), max_nodes, side="right")))
    return np.flatnonzero(tax.depth < levels)


def _round(v: float) -> float | None:
    return round(v, 5) if np.isfinite(v) else None


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>hyptax disk</title>
<style>
body{font:13px sans-serif;margin:12px;color:#222}
#wrap{position:relative;display:inline-block}
canvas{border:1px solid #ddd;cursor:crosshair}
#tip{position:absolute;pointer-events:none;background:#fff;border:1px solid #888;
padding:4px 6px;max-width:420px;display:none;box-shadow:1px 1px 4px #aaa}
#legend span{display:inline-block;margin:2px 8px 2px 0}
#legend i{display:inline-block;width:10px;height:10px;margin-right:3px}
</style></head><body>
<div id="head"></div><div id="wrap"><canvas id="disk" width="820" height="820"></canvas>
<div id="tip"></div></div><div id="legend"></div>
<script id="data" type="application/json">__DATA__</script>
<script>
const D = JSON.parse(document.getElementById("data").textContent);
const N = D.name.length, cv = document.getElementById("disk"), ctx = cv.getContext("2d");
const tip = document.getElementById("tip");
let zoom = 1, cx = 0, cy = 0;
document.getElementById("head").textContent = D.title + " \\u2014 " + D.how +
  ". Hover for name, rank and lineage; wheel to zoom, drag to pan.";
const leg = document.getElementById("legend");
leg.textContent = D.group_title ? D.group_title + ": " : "";
D.groups.forEach((g, i) => { const s = document.createElement("span");
  const b = document.createElement("i"); b.style.background = D.palette[i];
  s.appendChild(b); s.appendChild(document.createTextNode(g)); leg.appendChild(s); });
function px(i) { const h = cv.width / 2 * 0.96 * zoom;
  return [cv.width / 2 + (D.x[i] - cx) * h, cv.height / 2 - (D.y[i] - cy) * h]; }
function draw() {
  ctx.clearRect(0, 0, cv.width, cv.height);
  const h = cv.width / 2 * 0.96 * zoom;
  ctx.strokeStyle = "#000"; ctx.beginPath();
  ctx.arc(cv.width / 2 - cx * h, cv.height / 2 + cy * h, h, 0, 2 * Math.PI); ctx.stroke();
  for (let i = 0; i < N; i++) {
    if (D.x[i] === null) continue;
    const p = px(i), c = D.colour[i];
    ctx.fillStyle = c >= 0 ? D.palette[c] : "#bbb";
    ctx.fillRect(p[0] - 1, p[1] - 1, 2.5, 2.5);
  }
}
function lineage(i) { const out = []; let j = D.parent[i];
  while (j >= 0) { out.push(D.name[j]); j = D.parent[j]; } return out.reverse(); }
let drag = null;
cv.addEventListener("mousedown", e => { drag = [e.offsetX, e.offsetY]; });
window.addEventListener("mouseup", () => { drag = null; });
cv.addEventListener("mousemove", e => {
  if (drag) { const h = cv.width / 2 * 0.96 * zoom;
    cx -= (e.offsetX - drag[0]) / h; cy += (e.offsetY - drag[1]) / h;
    drag = [e.offsetX, e.offsetY]; draw(); return; }
  let best = -1, bd = 49;
  for (let i = 0; i < N; i++) { if (D.x[i] === null) continue;
    const p = px(i), d = (p[0] - e.offsetX) ** 2 + (p[1] - e.offsetY) ** 2;
    if (d < bd) { bd = d; best = i; } }
  if (best < 0) { tip.style.display = "none"; return; }
  tip.textContent = "";
  const b = document.createElement("b"); b.textContent = D.name[best]; tip.appendChild(b);
  tip.appendChild(document.createTextNode((D.rank[best] ? " (" + D.rank[best] + ")" : "") +
    " \\u2014 " + (lineage(best).join(" \\u203a ") || "root")));
  tip.style.left = (e.offsetX + 14) + "px"; tip.style.top = (e.offsetY + 14) + "px";
  tip.style.display = "block";
});
cv.addEventListener("wheel", e => { e.preventDefault();
  zoom = Math.min(200, Math.max(1, zoom * (e.deltaY < 0 ? 1.25 : 0.8))); draw(); });
draw();
</script></body></html>
"""
