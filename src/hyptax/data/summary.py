"""What a taxonomy holds, in numbers: the content of ``hyptax info``."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from .taxonomy import Taxonomy


def summarize(tax: Taxonomy, *, top: int = 10) -> dict[str, Any]:
    """Counts, depth, ranks and the largest top-level groups of ``tax``.

    Top-level groups are the subtrees under the root (several roots: the roots),
    sized by the number of nodes whose first-parent path passes through them.
    """
    depth = tax.depth
    groups = tax.top_level()
    sizes = Counter(groups[groups >= 0].tolist())
    largest = [
        {"id": str(tax.ids[g]), "name": str(tax.names[g]), "nodes": n}
        for g, n in sizes.most_common(top)
    ]
    return {
        "source": tax.source,
        "definition": tax.definition,
        "nodes": tax.n_nodes,
        "parent_edges": tax.n_edges,
        "closure_edges": tax.n_closure,
        "roots": [str(tax.names[r]) for r in tax.roots[:top]],
        "n_roots": len(tax.roots),
        "is_tree": tax.is_tree,
        "depth_max": int(depth.max(initial=0)),
        "depth_mean": float(depth.mean()) if len(depth) else 0.0,
        "nodes_per_depth": np.bincount(depth).tolist(),
        "ranks": dict(tax.rank_counts().most_common()),
        "top_level_groups": largest,
        "stats": tax.stats,
    }


def format_summary(info: dict[str, Any]) -> str:
    """A readable multi-line rendering of :func:`summarize`."""
    lines = [
        f"dataset        {info['source']}",
        *([f"definition     {info['definition']}"] if info["definition"] else []),
        f"nodes          {info['nodes']:,}",
        f"parent edges   {info['parent_edges']:,}" + ("" if info["is_tree"] else "  (a DAG)"),
        f"closure edges  {info['closure_edges']:,}",
        f"roots          {info['n_roots']:,}: {', '.join(info['roots'])}",
        f"depth          max {info['depth_max']}, mean {info['depth_mean']:.2f}",
    ]
    if info["ranks"]:
        lines.append("ranks")
        lines += [f"  {rank or '(none)':<20} {n:>10,}" for rank, n in info["ranks"].items()]
    lines.append("largest top-level groups")
    lines += [f"  {g['name']:<40} {g['nodes']:>10,}" for g in info["top_level_groups"]]
    for key, value in info["stats"].items():
        if isinstance(value, dict):
            value = ", ".join(
                f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in value.items()
            )
        lines.append(f"{key.replace('_', ' '):<14} {value}")
    return "\n".join(lines)
