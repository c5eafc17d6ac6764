"""Self-describing, atomic checkpoints.

A checkpoint is ``torch.save`` of a dict of plain types, loadable with
``torch.load(weights_only=True)`` (no code runs while loading)::

    {"format": "hyptax-checkpoint", "format_version": 1,
     "hyptax_version": str,              # the writer's, for information only
     "config": dict,                     # resolved TrainConfig (to_dict)
     "data": {"spec", "typed", "options", "hash", "n_nodes"},  # spec resolved, typed as typed
     "ids": list[str], "names": list[str], "manifold": "poincare" | "lorentz",
     "weight": Tensor (n, coord_dim),    # on the CPU, never NaN
     "epoch": int,                       # epochs completed
     "best_metric": float | None,        # the best evaluation's MAP (or loss)
     "optimizer": dict, "rng": dict,     # exact resume
     "train_state": dict,                # lr scale, early stopping (its best, the best's
                                         # mean rank and epoch; older files lack some), ...
     "history": list[dict],              # the metrics records so far
     "polar": {"radius": Tensor (n,), "limbs": Tensor (n, L, dim)}}  # extended precision only

With ``"polar"`` (:mod:`hyptax.manifolds.extended`) the points are those polar ones and
``weight`` holds their plain coordinates, rounded (points past the dtype's radius sit
on its rim).

A checkpoint is read by any hyptax that reads its ``format_version``
(:data:`FORMAT_VERSION`; files written before format versions existed have none and
are version 1), whatever ``hyptax_version`` wrote it; a newer format is refused in
one line. Fields added within a format are optional (``"polar"``, ``"ranks"``,
``"depth"``, the early-stopping fields of ``train_state``): files without them load.

Writing goes through :func:`hyptax.files.atomic_write` (temp file, fsync, rename),
so a crash leaves the old checkpoint or the new one, never half of one.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import HyptaxError, brief
from ..files import atomic_write, check_format_version
from ..manifolds import MANIFOLDS, get_manifold
from ..manifolds.extended import MAX_RADIUS, Polar
from ..version import __version__

FORMAT = "hyptax-checkpoint"
FORMAT_VERSION = 1
"""The checkpoint layout this code writes and the newest it reads. Raise it when a
change would mislead an older reader (a field renamed, a meaning changed); a new
field an older reader may safely ignore needs none."""

REQUIRED: dict[str, type | tuple[type, ...]] = {
    "config": dict,
    "data": dict,
    "ids": list,
    "names": list,
    "manifold": str,
    "weight": torch.Tensor,
    "epoch": int,
}


def save_checkpoint(path: str | os.PathLike[str], checkpoint: dict[str, Any]) -> None:
    """Write ``checkpoint`` atomically; refuse (HyptaxError) weights with NaN or Inf."""
    weight = checkpoint["weight"]
    problem = bad_points(weight, checkpoint.get("manifold", "poincare"))
    if problem:
        raise HyptaxError(f"{path}: refusing to write a checkpoint: {problem}")
    checkpoint = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "hyptax_version": __version__,
        **checkpoint,
    }  # fmt: skip
    checkpoint["weight"] = weight.detach().to("cpu", copy=True).contiguous()
    polar = checkpoint.pop("polar", None)
    if polar is not None:
        checkpoint["polar"] = {
            "radius": torch.from_numpy(polar.radius.copy()),
            "limbs": torch.from_numpy(polar.limbs.copy()),
        }
    with atomic_write(path, "wb") as fh:
        try:
            torch.save(checkpoint, fh)
        except RuntimeError as exc:  # torch's zip writer hides a failed write (disk full)
            if isinstance(exc.__context__, OSError):
                raise exc.__context__ from None  # atomic_write reports it in one line
            raise


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint of a format this code reads, written by any hyptax version
    (``weights_only=True``).

    Raises :class:`HyptaxError` with a one-line message for a missing, truncated,
    damaged or foreign file, or one of a newer format.
    """
    path = Path(path)
    if not path.is_file():
        raise HyptaxError(f"{path}: no such checkpoint")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickles; we refuse them
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for truncated or foreign files
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if found:  # the weights-only unpickler refused a class or function
            raise HyptaxError(
                f"{path}: refused: it asks for {found.group(1)}, which could run code; "
                "hyptax reads checkpoints with weights_only=True (tensors and plain data)"
            ) from None
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise HyptaxError(f"{path}: not a readable hyptax checkpoint ({reason})") from None
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise HyptaxError(f"{path}: not a hyptax checkpoint")
    check_format_version(checkpoint, FORMAT_VERSION, path, "hyptax checkpoint")
    for key, kind in REQUIRED.items():
        if not isinstance(checkpoint.get(key), kind):
            raise HyptaxError(f"{path}: damaged hyptax checkpoint: bad or missing {key!r}")
    _check_points(checkpoint, path)
    if "polar" in checkpoint:
        checkpoint["polar"] = read_polar(checkpoint["polar"], len(checkpoint["ids"]), path)
    return checkpoint


def _check_points(checkpoint: dict[str, Any], path: Path) -> None:
    weight = checkpoint["weight"]
    n = len(checkpoint["ids"])
    if weight.ndim != 2 or weight.shape[0] != n or len(checkpoint["names"]) != n:
        raise HyptaxError(
            f"{path}: damaged hyptax checkpoint: {n} ids but weight of shape {tuple(weight.shape)}"
        )
    dense = weight.layout == torch.strided and weight.device.type == "cpu"
    if not dense or not weight.is_floating_point():
        raise HyptaxError(f"{path}: damaged hyptax checkpoint: weights are not finite floats")
    if checkpoint["manifold"] not in MANIFOLDS:
        raise HyptaxError(
            f"{path}: damaged hyptax checkpoint: unknown manifold {brief(checkpoint['manifold'])}"
        )
    problem = bad_points(weight, checkpoint["manifold"])
    if problem:
        raise HyptaxError(f"{path}: damaged hyptax checkpoint: {problem}")


def read_polar(stored: Any, n: int, path: str | Path) -> Polar:
    """The :class:`~hyptax.manifolds.extended.Polar` points of a checkpoint's
    ``"polar"`` entry, checked: ``n`` finite radii >= 0 and ``(n, L, dim)`` finite
    limbs whose directions are unit vectors."""
    bad = f"{path}: damaged hyptax checkpoint: bad 'polar' entry"
    if not isinstance(stored, dict):
        raise HyptaxError(bad)
    radius, limbs = stored.get("radius"), stored.get("limbs")
    if not (isinstance(radius, torch.Tensor) and isinstance(limbs, torch.Tensor)):
        raise HyptaxError(bad)
    if radius.dtype != torch.float64 or limbs.dtype != torch.float64:
        raise HyptaxError(f"{bad} (not float64)")
    if radius.shape != (n,) or limbs.ndim != 3 or limbs.shape[0] != n or limbs.shape[1] < 1:
        raise HyptaxError(f"{bad} (radius {tuple(radius.shape)}, limbs {tuple(limbs.shape)})")
    r, u = radius.numpy(), limbs.numpy()
    if not (np.isfinite(r).all() and np.isfinite(u).all() and (r >= 0).all()):
        raise HyptaxError(f"{bad} (not finite, or a negative radius)")
    if (r > MAX_RADIUS).any():
        raise HyptaxError(f"{bad} (a radius above {MAX_RADIUS:g})")
    norms = np.linalg.norm(u[:, 0], axis=1) if n else np.ones(0)
    if n and np.abs(norms - 1.0).max() > 1e-6:
        raise HyptaxError(f"{bad} (directions that are not unit vectors)")
    return Polar(r.copy(), u.copy())


def bad_points(weight: torch.Tensor, manifold: str) -> str | None:
    """What is wrong with the rows of ``weight (n, coord_dim)`` as points of
    ``manifold`` (how many are not finite, else how many lie outside it), or None."""
    n = len(weight)
    finite = torch.isfinite(weight).all(dim=-1)
    if not bool(finite.all()):
        return f"{int((~finite).sum()):,} of {n:,} rows are not finite (NaN or Inf)"
    m = get_manifold(manifold)
    outside = m.outside(weight)
    if bool(outside.any()):
        return f"{int(outside.sum()):,} of {n:,} rows lie {m.domain}"
    return None


def check_same_data(checkpoint: dict[str, Any], data: dict[str, Any], path: str | Path) -> None:
    """Refuse to resume a checkpoint on another dataset (compares content hashes)."""
    old = checkpoint["data"]
    if old.get("hash") != data["hash"]:
        raise HyptaxError(
            f"{path}: trained on {old.get('spec')!r} ({old.get('n_nodes')} nodes, "
            f"hash {str(old.get('hash'))[:12]}), not on {data['spec']!r} "
            f"({data['n_nodes']} nodes, hash {data['hash'][:12]})"
        )
