"""``hyptax evaluate`` before and after, side by side: wall time, CPU time and peak
memory of the whole command, and the report's own seconds per phase.

Each side runs in its own process under ``/usr/bin/time -v`` with the source tree of
a git revision (``--old``, default the commit before the index) or of this checkout
(new), ``--repeats`` times each, alternating; the table gives medians.

    python benchmarks/evaluate_ncbi.py RUN_DIR --data /tmp/ncbi-all.npz --old a977c7e~1
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from report import table

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("setup", "reconstruction", "ancestor_reconstruction", "hierarchy", "faithfulness")


def checkout(rev: str, into: Path) -> Path:
    """The ``src`` tree of ``rev`` extracted under ``into``."""
    archive = into / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def measure(src: Path, run: str, data: str, threads: int) -> dict[str, float]:
    """One ``hyptax evaluate``: wall, user + system seconds, peak RSS (GiB), phases."""
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_NUM_THREADS": str(threads)}
    cmd = ["/usr/bin/time", "-v", sys.executable, "-m", "hyptax", "evaluate", run, "--data", data]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    err = done.stderr
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", err)
    parts = [float(x) for x in wall.group(1).split(":")] if wall else [math_nan()]
    out = {
        "wall": sum(p * 60**i for i, p in enumerate(reversed(parts))),
        "cpu": float(re.search(r"User time \(seconds\): (\S+)", err).group(1))  # type: ignore[union-attr]
        + float(re.search(r"System time \(seconds\): (\S+)", err).group(1)),  # type: ignore[union-attr]
        "peak_gib": int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))  # type: ignore[union-attr]
        / 2**20,
    }
    times = re.search(r"^Time: (.*)$", done.stdout, re.M)
    for item in times.group(1).split(", ") if times else []:
        name, secs, _ = item.split(" ")
        out[name] = float(secs)
    return out


def math_nan() -> float:
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="run folder or checkpoint to evaluate")
    ap.add_argument("--data", required=True, help="prepared dataset (.npz) or spec")
    ap.add_argument("--old", default="a977c7e~1", help="git revision of the old side")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old_src = checkout(args.old, Path(tmp))
        sides: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for _ in range(args.repeats):
            for name, src in (("old", old_src), ("new", ROOT / "src")):
                sides[name].append(measure(src, args.run, args.data, args.threads))
                print(name, sides[name][-1], file=sys.stderr, flush=True)
    rows = []
    for key in ("wall", "cpu", "peak_gib", *PHASES):
        med = [statistics.median(r.get(key, math_nan()) for r in sides[s]) for s in sides]
        rows.append([key, f"{med[0]:.1f}", f"{med[1]:.1f}"])
    head = [f"seconds (median of {args.repeats})", f"old ({args.old})", "new"]
    print("\n".join(table(rows, head)))


if __name__ == "__main__":
    main()
