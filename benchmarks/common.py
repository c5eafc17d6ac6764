"""Shared pieces of the benchmark suite: the machine, prepared datasets, timed
subprocesses, and one evaluator for every embedding (hyptax's or gensim's).

Every number the suite reports comes through :func:`measure`, which ranks with
:mod:`hyptax.evaluation.ranking` (the reference convention: a node ranks its
ancestors against every other node, its descendants included) whatever produced
the vectors, so hyptax and gensim are scored by the same code.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hyptax.config import CLADE_RANKS, EvalConfig
from hyptax.data.taxonomy import Taxonomy
from hyptax.evaluation import hierarchy
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, reconstruction

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"

DATASETS = {
    "wordnet:mammals": "wordnet-mammals",
    "wordnet:nouns": "wordnet-nouns",
    "ncbi:small": "ncbi-small",
    "ncbi": "ncbi-all",
}


def machine() -> dict[str, Any]:
    """CPU model, cores, load, library versions, date: the head of RESULTS.md."""
    import numba

    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        first = Path("/proc/meminfo").read_text().splitlines()[0]
        mem = f"{int(first.split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    gensim_version = "not installed"
    try:
        import gensim

        gensim_version = gensim.__version__
    except ImportError:
        pass
    import hyptax

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "numba": numba.__version__,
        "gensim": gensim_version,
        "hyptax": hyptax.__version__,
        "platform": platform.platform(),
    }


# --------------------------------------------------------------------- data
def prepared_path(spec: str) -> Path:
    return CACHE / f"{DATASETS[spec]}.npz"


def prepare(spec: str, force: bool = False) -> dict[str, Any]:
    """``hyptax prepare SPEC`` once into the cache, timed in a subprocess (wall time,
    peak resident memory). A cached file is reused with the timing recorded when it
    was made (``cached: True``)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = prepared_path(spec)
    record_file = path.with_suffix(".prepare.json")
    if path.is_file() and record_file.is_file() and not force:
        return {**json.loads(record_file.read_text()), "cached": True}
    cmd = [sys.executable, "-m", "hyptax", "prepare", spec, "-o", str(path)]
    out = timed_subprocess(cmd)
    if out["returncode"] != 0:
        raise RuntimeError(f"hyptax prepare {spec} failed:\n{out['output'][-2000:]}")
    record = {"spec": spec, "seconds": out["seconds"], "peak_rss_gib": out["peak_rss_gib"],
              "measured": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip
    tmp = record_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.rename(record_file)
    return {**record, "cached": False}


def load_prepared(spec: str) -> tuple[Taxonomy, float]:
    """The cached dataset and the seconds its load took (closure included)."""
    from hyptax.data.prepared import load

    t0 = time.perf_counter()
    tax = load(prepared_path(spec))
    tax.closure  # noqa: B018  (computed lazily: count it here, not in training)
    return tax, time.perf_counter() - t0


def timed_subprocess(cmd: list[str], timeout: float | None = None) -> dict[str, Any]:
    """Run ``cmd``; wall seconds, exit status, output and the peak resident memory of
    that one child (``os.wait4``'s rusage, so other children do not count)."""
    import tempfile

    with tempfile.TemporaryFile("w+") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        output = log.read()
    return {
        "returncode": proc.returncode,
        "seconds": seconds,
        "peak_rss_gib": usage.ru_maxrss / 2**20,  # KiB on Linux
        "output": output,
    }


# --------------------------------------------------------------------- metrics
@dataclass
class Scorer:
    """One evaluator for every embedding of ``tax``: reconstruction (exact, or a fixed
    seeded sample of anchors), depth-norm Spearman and clade separation per rank."""

    tax: Taxonomy
    sample: int | None = None
    n_pairs: int = 20_000

    def __post_init__(self) -> None:
        desc, anc = self.tax.closure
        self.queries = Queries.from_pairs(desc, anc, self.tax.n_nodes)
        levels = hierarchy.clade_levels(self.tax, CLADE_RANKS)
        self.labels = {
            r: hierarchy.keep_large(hierarchy.clade_labels(self.tax, r), EvalConfig.min_clade_size)
            for r in levels
        }

    def __call__(self, weight: torch.Tensor | np.ndarray, *, sample: Any = "default",
                 clades: bool = True) -> dict[str, Any]:  # fmt: skip
        """``weight (n, dim)`` Poincaré coordinates in the taxonomy's node order."""
        t0 = time.perf_counter()
        view = ball_view(torch.as_tensor(weight, dtype=torch.float64), "poincare")
        n = self.sample if sample == "default" else sample
        rec = reconstruction(view, self.queries, sample=n, seed=0, n_bootstrap=0)
        out: dict[str, Any] = {
            "map": rec["map"],
            "mean_rank": rec["mean_rank"],
            "mode": rec["mode"] if rec["mode"] == "exact" else f"{rec['n_nodes_ranked']} anchors",
            "rank_s": rec["seconds"],
            "spearman": hierarchy.depth_correlation(view.dist0, self.tax.depth)["spearman"],
            "max_norm": float(np.nanmax(np.linalg.norm(view_points(weight), axis=1))),
        }
        if clades:
            out["separation"] = {
                r: hierarchy.clade_separation(view, lab, n_pairs=self.n_pairs, seed=0, rank=r)[
                    "ratio"
                ]
                for r, lab in self.labels.items()
            }
        out["eval_s"] = time.perf_counter() - t0
        return out


def view_points(weight: torch.Tensor | np.ndarray) -> np.ndarray:
    return np.asarray(torch.as_tensor(weight).detach().cpu().numpy(), dtype=np.float64)


def median(values: list[float]) -> float:
    vals = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.median(vals)) if vals else float("nan")


if __name__ == "__main__":  # python benchmarks/common.py SPEC...: prepare into the cache
    for spec in sys.argv[1:]:
        print(prepare(spec))
