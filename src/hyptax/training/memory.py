"""Will a training run fit in memory? An estimate made before the big arrays exist.

A run that does not fit should stop with a message saying how much it needs, not be
killed by the kernel an hour later. :func:`estimate` counts the large allocations of
a run from the taxonomy's size and the config, :func:`available_bytes` reads what the
machine (or its container's memory limit) can still give, and :func:`check_memory`
refuses a run that needs more.

The coefficients were measured (peak resident growth of a 1-epoch run on random trees
of 50,000 and 200,000 nodes, 0.5M and 2.3M closure pairs, dim 10 and 100): about three
copies of the weight table (the table, the per-epoch rollback snapshot, the best
weights loaded at the end), 2.25 more for RAdam's moments, ~40 bytes per closure pair
(the pairs as int32 and int64, the positives, the shuffle, the sampler's index) and
~100 MB of buffers. The estimate rounds each up.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import TrainConfig
from ..data.taxonomy import Taxonomy
from ..errors import HyptaxError

TABLE_COPIES = 3
RADAM_COPIES = 2.5
PAIR_BYTES = 48
FIXED_BYTES = 128 << 20
STEP_COPIES = {"autograd": 12, "fused": 2}
"""Copies of a batch's ``(B, 1 + K, coord_dim)`` points a step holds."""
ROTATION_COPIES = 5
"""``(dim, dim)`` float64 matrices the constructive start holds at its peak (two random
rotations, and the Gaussian matrix, Q and R of the QR that makes one)."""
CLOSURE_BYTES = 24
"""Peak bytes per pair while a closure is built (int64 keys, their int64 quotient and
the int32 result)."""


def closure_size(tax: Taxonomy) -> int:
    """Closure pairs, without building the closure: exact for a tree (the sum of the
    depths) or a listed closure, a lower bound for a DAG."""
    if tax.given_closure is not None:
        return len(tax.given_closure[0])
    if "closure" in tax.__dict__:  # already built
        return len(tax.closure[0])
    return int(tax.depth.sum(dtype="int64"))


def estimate(tax: Taxonomy, config: TrainConfig, *, training: bool = True) -> dict[str, int]:
    """Bytes a run of ``config`` on ``tax`` needs, by part, and ``total``: a training
    run, or (``training=False``) the embedding built without training."""
    coord = config.dim + (1 if config.manifold == "lorentz" else 0)
    item = 8 if config.dtype == "float64" else 4
    table = tax.n_nodes * coord * item
    batch = config.batch_size * (2 + config.n_negatives)
    autograd = config.backend == "torch" or config.manifold != "poincare"
    copies = STEP_COPIES["autograd" if autograd else "fused"] if training else 0
    parts = {
        "weights": TABLE_COPIES * table,
        "optimizer": int(RADAM_COPIES * table) if training and config.optimizer == "radam" else 0,
        "pairs": PAIR_BYTES * closure_size(tax),
        "construction": ROTATION_COPIES * config.dim**2 * 8 if config.init == "constructive" else 0,
        "buffers": FIXED_BYTES + copies * batch * coord * item,
    }
    return {**parts, "total": sum(parts.values())}


def available_bytes() -> int | None:
    """Memory this process can still get: ``MemAvailable`` of /proc/meminfo, or less
    when a cgroup (container) limit leaves less; None when unknown."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    found.extend(_address_space_left())
    for folder, limit, usage in (
        ("/sys/fs/cgroup", "memory.max", "memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes"),  # v1
    ):
        try:
            cap = (Path(folder) / limit).read_text().strip()
            used = (Path(folder) / usage).read_text().strip()
        except OSError:
            continue
        if cap.isdigit() and used.isdigit() and int(cap) < 1 << 60:
            found.append(max(int(cap) - int(used), 0))
    return min(found) if found else None


def _address_space_left() -> list[int]:
    """What ``ulimit -v`` (RLIMIT_AS) leaves this process, when it is set."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return []
        status = Path("/proc/self/status").read_text()
        used = int(status.split("VmSize:")[1].split()[0]) * 1024
    except (ImportError, OSError, ValueError, IndexError):
        return []
    return [max(soft - used, 0)]


def shortfall(need: int) -> int | None:
    """The bytes available when ``need`` is more than that, else None (it fits, or
    nothing is known)."""
    have = available_bytes()
    return have if have is not None and need > have else None


def check_memory(tax: Taxonomy, config: TrainConfig, *, training: bool = True) -> None:
    """Raise HyptaxError when the run would need more memory than is available."""
    need = estimate(tax, config, training=training)
    have = shortfall(need["total"])
    if have is None:
        return
    parts = ", ".join(f"{k} {size(v)}" for k, v in need.items() if k != "total" and v)
    what = "training" if training else "embedding"
    advice = "--dtype float32, a smaller --dim, --optimizer rsgd" if training else "a smaller --dim"
    raise HyptaxError(
        f"not enough memory: {what} {tax.n_nodes:,} nodes x {config.dim} dims "
        f"({config.dtype}) needs about {size(need['total'])} ({parts}), but only "
        f"{size(have)} is available; try {advice}, or a smaller dataset"
    )


def check_closure(n_pairs: int, source: str) -> None:
    """Raise HyptaxError when building a closure of ``n_pairs`` would not fit in memory."""
    need = CLOSURE_BYTES * n_pairs
    have = shortfall(need)
    if have is not None:
        ncbi = source.startswith(("ncbi", "taxdump"))
        raise HyptaxError(
            f"not enough memory: the closure of {source} ({n_pairs:,} closure pairs) needs "
            f"about {size(need)} to build, but only {size(have)} is available; try a smaller "
            "dataset" + (" (a clade, --lowest-rank, --ranks main)" if ncbi else "")
        )


def size(n: float) -> str:
    """A byte count for people: ``20.0 MB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover
