"""Formatting for the benchmark suite: Markdown tables echoed to stdout, curves, plots."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from common import machine
from harness import Run

from hyptax.files import atomic_write

Doc = list[str]


def header(title: str) -> Doc:
    """A results file's head: the title, the machine, and the command that made it."""
    command = " ".join(["python", f"benchmarks/{Path(sys.argv[0]).name}", *sys.argv[1:]])
    rows = [[k, v] for k, v in machine().items()]
    return [f"# {title}", "", *table(rows, ["machine", ""]), "", f"Command: `{command}`"]


def save(path: str | Path, doc: Doc) -> None:
    """Write ``doc`` to ``path`` atomically (the old file or the new one, never half)."""
    with atomic_write(path, "w") as fh:
        fh.write("\n".join(doc) + "\n")


# --------------------------------------------------------------------- formatting
def table(rows: list[list[Any]], head: list[str]) -> list[str]:
    """A Markdown table (also readable as plain text)."""
    cells = [[_cell(c) for c in r] for r in rows]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    return out + ["| " + " | ".join(r) + " |" for r in cells]


def _cell(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        if abs(x) >= 1000:
            return f"{x:,.0f}"
        return f"{x:.4f}" if abs(x) < 10 else f"{x:.1f}"
    return str(x)


def emit(doc: Doc, lines: list[str] | str) -> None:
    lines = [lines] if isinstance(lines, str) else lines
    for line in lines:
        print(line, flush=True)
    doc.extend(lines)


def sep_text(p: dict[str, Any]) -> str:
    sep = p.get("separation") or {}
    return ", ".join(f"{k} {v:.2f}" for k, v in sep.items() if v is not None) or "-"


def curve_rows(run: Run, dataset: str, dim: int) -> list[list[Any]]:
    return [
        [dataset, dim, run.label, p["t"], p["epoch"], p["map"], p["mean_rank"], p["mode"],
         p["spearman"], sep_text(p)]
        for p in run.points
    ]  # fmt: skip


CURVE_HEAD = ["data", "dim", "method", "wall s", "epoch", "MAP", "mean rank", "ranked",
              "depth-norm Spearman", "separation per rank"]  # fmt: skip


def time_to_map(run: Run, level: float) -> float | None:
    for p in run.points:
        if p["map"] is not None and p["map"] >= level:
            return p["t"]
    return None


def map_at(run: Run, t: float) -> dict[str, Any] | None:
    """The last scored point at or before wall time ``t``."""
    best = None
    for p in run.points:
        if p["t"] <= t + 1e-9:
            best = p
    return best


def plot(runs: dict[str, list[Run]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, rs in runs.items():
        for i, r in enumerate(rs):
            ts = [max(p["t"], 1e-2) for p in r.points]
            ax.plot(ts, [p["map"] for p in r.points], marker="o", ms=3,
                    label=label if i == 0 else None, alpha=1.0 if i == 0 else 0.4,
                    color=f"C{list(runs).index(label)}")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("wall seconds (setup + training)")
    ax.set_ylabel("MAP (reconstruction, hyptax evaluator)")
    ax.set_title(title)
    ax.set_ylim(0, 1.01)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.rename(path)
