"""Where an :class:`~hyptax.embeddings.Embeddings` lives on disk: every file format
it is read from, and the one it is saved in, in one module.

==================  ==========================================================
file                what it holds
==================  ==========================================================
``*.pt``            a checkpoint (:mod:`hyptax.training.checkpoint`): one a run
                    wrote, or one :meth:`Embeddings.save` wrote (the same
                    format, at epoch 0 with no optimiser state)
run folder          its ``best.pt`` (:class:`RunPaths`)
``PATH.npy``        an ``npy`` export (``hyptax export --format npy``)
``PATH.npz``        a ``polar`` export (``--format polar``)
==================  ==========================================================

The functions here trade in the constructor arguments of ``Embeddings`` (a dict
of ``ids``, ``names``, ``vectors``, ``manifold``, ``ranks``, ``depth``, ``meta``,
``polar``), so this module does not import :mod:`hyptax.embeddings` and neither
imports the other in a circle.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import HyptaxError
from .files import check_format_version, os_problem
from .manifolds.extended import Polar
from .training.checkpoint import bad_points, load_checkpoint, read_polar, save_checkpoint

NPY_FORMAT = "hyptax-vectors"
POLAR_FORMAT = "hyptax-polar"
EXPORT_FORMAT_VERSION = 1
"""The layout of the ``npy`` and ``polar`` exports this code writes and the newest it
reads (:func:`hyptax.files.check_format_version`; earlier exports have none: 1)."""
SAVED_KIND = "embeddings"
"""``checkpoint["kind"]`` of a file :func:`save` wrote (a run's checkpoints have none)."""


@dataclass(frozen=True)
class RunPaths:
    """The files of a run. ``in_dir(RUN_DIR)``: ``RUN_DIR/{run.json, metrics.jsonl,
    best.pt, last.pt, report.json}``. ``at_checkpoint(PATH)`` (the prototype's
    ``--checkpoint PATH``): the best checkpoint at PATH, the others beside it as
    ``PATH.stem + {.run.json, .metrics.jsonl, .last.pt, .report.json}``."""

    run_json: Path
    metrics: Path
    best: Path
    last: Path
    report: Path
    lock: Path
    """Held while a run writes (:func:`hyptax.files.hold_lock`): ``RUN_DIR/.lock``,
    or ``PATH.stem + .lock``."""

    @classmethod
    def in_dir(cls, out: str | os.PathLike[str]) -> RunPaths:
        d = Path(out)
        return cls(d / "run.json", d / "metrics.jsonl", d / "best.pt", d / "last.pt",
                   d / "report.json", d / ".lock")  # fmt: skip

    @classmethod
    def at_checkpoint(cls, path: str | os.PathLike[str]) -> RunPaths:
        p = Path(path)
        stem = p.with_suffix("") if p.suffix == ".pt" else p
        side = lambda ext: stem.with_name(stem.name + ext)  # noqa: E731
        return cls(side(".run.json"), side(".metrics.jsonl"), p, side(".last.pt"),
                   side(".report.json"), side(".lock"))  # fmt: skip

    def resume_from(self) -> Path:
        """``last``, or ``best`` when ``last`` is missing: a kill while the first
        ``last`` was being written leaves only ``best``, a complete checkpoint of the
        same state."""
        return self.last if self.last.is_file() or not self.best.is_file() else self.best


# --------------------------------------------------------------------- read
def read(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``Embeddings`` arguments stored at ``path``: a checkpoint, a run folder
    (its ``best.pt``), an ``.npy`` export or an ``.npz`` (polar) one."""
    if Path(path).is_dir():
        path = RunPaths.in_dir(path).best
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        return read_npy(path)
    if suffix == ".npz":
        return read_polar_export(path)
    return read_checkpoint(path)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``Embeddings`` arguments of a checkpoint (read with ``weights_only=True``)."""
    ckpt = load_checkpoint(path)
    meta = {
        "path": str(path),
        "kind": "checkpoint",
        "data": ckpt["data"],
        "config": ckpt["config"],
        "epoch": ckpt["epoch"],
        "best_metric": ckpt.get("best_metric"),
        "history": ckpt.get("history") or [],
    }
    ranks, depth, n = ckpt.get("ranks"), ckpt.get("depth"), len(ckpt["ids"])
    if ranks is not None and not (isinstance(ranks, list) and len(ranks) == n):
        raise HyptaxError(f"{path}: damaged hyptax checkpoint: bad 'ranks'")
    if depth is not None and not (isinstance(depth, torch.Tensor) and depth.shape == (n,)):
        raise HyptaxError(f"{path}: damaged hyptax checkpoint: bad 'depth'")
    return {
        "ids": ckpt["ids"], "names": ckpt["names"], "vectors": ckpt["weight"],
        "manifold": ckpt["manifold"], "ranks": ckpt.get("ranks"),
        "depth": None if depth is None else depth.numpy(), "meta": meta,
        "polar": ckpt.get("polar"),
    }  # fmt: skip


# --------------------------------------------------------------------- exports
def npy_paths(path: str | os.PathLike[str], suffix: str = ".npy") -> tuple[Path, Path, Path]:
    """``(PATH.npy, PATH.names.tsv, PATH.json)`` for an export named ``PATH[.npy]``
    (``suffix`` ``.npz`` for a ``polar`` export)."""
    base = Path(path)
    if base.suffix.lower() in (".npy", ".npz"):
        base = base.with_suffix("")
    return (
        base.with_name(base.name + suffix),
        base.with_name(base.name + ".names.tsv"),
        base.with_name(base.name + ".json"),
    )


def read_npy(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``Embeddings`` arguments of an ``npy`` export (``allow_pickle=False``)."""
    vec_path, names_path, meta_path = npy_paths(path)
    meta, rows = _read_names(vec_path, names_path, meta_path, NPY_FORMAT)
    try:
        vectors = np.load(vec_path, allow_pickle=False)
    except OSError as exc:
        raise HyptaxError(f"{vec_path}: cannot read: {os_problem(exc)}") from None
    except ValueError as exc:  # a damaged .npy
        raise HyptaxError(f"{path}: not a hyptax npy export ({exc})") from None
    if (
        vectors.ndim != 2
        or len(vectors) != len(rows)
        or not np.issubdtype(vectors.dtype, np.floating)
    ):
        raise HyptaxError(
            f"{vec_path}: {len(rows)} names but vectors of shape {vectors.shape} ({vectors.dtype})"
        )
    problem = bad_points(torch.as_tensor(vectors), str(meta.get("manifold", "")))
    if problem:
        raise HyptaxError(f"{vec_path}: {problem}")
    return _embeddings(rows, vectors, str(meta.get("manifold", "")), meta, vec_path, "npy")


def read_polar_export(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``Embeddings`` arguments of a ``polar`` export (``allow_pickle=False``)."""
    vec_path, names_path, meta_path = npy_paths(path, ".npz")
    meta, rows = _read_names(vec_path, names_path, meta_path, POLAR_FORMAT)
    try:
        with np.load(vec_path, allow_pickle=False) as z:
            stored = {k: torch.from_numpy(z[k]) for k in ("radius", "limbs")}
    except OSError as exc:
        raise HyptaxError(f"{vec_path}: cannot read: {os_problem(exc)}") from None
    except (ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise HyptaxError(f"{vec_path}: not a hyptax polar export ({exc})") from None
    polar = read_polar(stored, len(rows), vec_path)
    return _embeddings(rows, polar.poincare(), "poincare", meta, vec_path, "polar") | {
        "polar": polar
    }


def _read_names(
    vec_path: Path, names_path: Path, meta_path: Path, fmt: str
) -> tuple[dict[str, Any], list[list[str]]]:
    """The manifest and the rows ``[id, name, rank, depth]`` of an export, checked
    (its three files reported missing first, the one named first)."""
    together = f"an export is {vec_path.name}, {names_path.name} and {meta_path.name} together"
    if not vec_path.exists():
        raise HyptaxError(f"{vec_path}: no such file ({together})")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        lines = names_path.read_text(encoding="utf-8").removesuffix("\n").split("\n")
    except FileNotFoundError as exc:
        raise HyptaxError(f"{exc.filename}: no such file ({together})") from None
    except OSError as exc:
        raise HyptaxError(f"{exc.filename}: cannot read: {os_problem(exc)}") from None
    except ValueError as exc:  # bad JSON
        raise HyptaxError(f"{meta_path}: not a hyptax export manifest ({exc})") from None
    kind = "npy" if fmt == NPY_FORMAT else "polar"
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise HyptaxError(f"{meta_path}: not a hyptax {kind} export manifest")
    check_format_version(meta, EXPORT_FORMAT_VERSION, meta_path, f"hyptax {kind} export manifest")
    rows = [[unescape(f) for f in line.split("\t")] for line in lines[1:]]
    for k, row in enumerate(rows):
        if len(row) != 4 or not (row[3] == "" or row[3].lstrip("-").isdigit()):
            raise HyptaxError(
                f"{names_path}: line {k + 2}: expected id, name, rank, depth separated by tabs"
            )
    return meta, rows


def _embeddings(
    rows: list[list[str]], vectors: np.ndarray, manifold: str, meta: dict[str, Any],
    vec_path: Path, kind: str,
) -> dict[str, Any]:  # fmt: skip
    has_ranks = any(r[2] for r in rows)
    depth = np.array([int(r[3]) if r[3] else -1 for r in rows], dtype=np.int64)
    return {
        "ids": [r[0] for r in rows], "names": [r[1] for r in rows], "vectors": vectors,
        "manifold": manifold, "ranks": [r[2] for r in rows] if has_ranks else None,
        "depth": depth if (depth >= 0).any() else None,
        "meta": {"path": str(vec_path), "kind": kind, "data": meta.get("data") or {}},
    }  # fmt: skip


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}


def escape(value: str) -> str:
    """Backslash-escape tabs, newlines and backslashes (reversed by :func:`unescape`)."""
    return re.sub(r"[\\\t\n\r]", lambda m: _ESCAPES[m.group()], value)


def unescape(value: str) -> str:
    return re.sub(r"\\[\\tnr]", lambda m: _UNESCAPES[m.group()], value)


# --------------------------------------------------------------------- save
def save(
    path: str | os.PathLike[str], *, ids: list[str], names: list[str], vectors: torch.Tensor,
    manifold: str, ranks: list[str] | None = None, depth: np.ndarray | None = None,
    meta: dict[str, Any] | None = None, polar: Polar | None = None,
) -> Path:  # fmt: skip
    """Write an embedding as a checkpoint (atomically) that :func:`read` reads back
    whole: vectors, polar points, ranks, depths, and the data and config it came from.
    A run cannot be resumed from it (it holds no optimiser state)."""
    meta = dict(meta or {})
    checkpoint: dict[str, Any] = {
        "kind": SAVED_KIND, "config": dict(meta.get("config") or {}),
        "data": dict(meta.get("data") or {}), "ids": list(ids), "names": list(names),
        "manifold": manifold, "weight": vectors, "epoch": int(meta.get("epoch") or 0),
        "best_metric": meta.get("best_metric"), "optimizer": {}, "rng": {},
        "history": list(meta.get("history") or []),
    }  # fmt: skip
    if ranks is not None:
        checkpoint["ranks"] = list(ranks)
    if depth is not None:
        checkpoint["depth"] = torch.from_numpy(np.asarray(depth, dtype=np.int64).copy())
    if polar is not None:
        checkpoint["polar"] = polar
    save_checkpoint(path, checkpoint)
    return Path(path)
