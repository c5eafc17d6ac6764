"""Prepared datasets: a taxonomy stored once as plain arrays, loaded in a second.

``hyptax prepare SPEC -o FILE.npz`` writes a NumPy ``.npz`` archive (no pickles:
it is read back with ``allow_pickle=False``) holding

===============  ===========================================================
``ids``          uint8: the node ids, UTF-8, joined by newlines
``names``        uint8: the display names, likewise
``ranks``        uint8: the rank strings, likewise (absent when unknown)
``child``        int32 ``(m,)``: parent edges, child side
``parent``       int32 ``(m,)``: parent edges, parent side
``closure_desc``, ``closure_anc``  int32: the closure as the source listed it
                 (only for sources that are closures, see ``Taxonomy.given_closure``)
``manifest``     uint8: UTF-8 JSON: format and format version, hyptax version
                 (information only), source, snapshot, definition, counts,
                 stats, and the content hash
===============  ===========================================================

Any hyptax reads a dataset whose ``format_version`` it reads (:data:`FORMAT_VERSION`),
whichever hyptax version wrote it; files written before format versions existed name
their format ``hyptax-dataset-1`` (:data:`FORMAT_1`) and count as version 1.

The content hash (:func:`dataset_hash`) covers ids, names, ranks and edges, so a
checkpoint can tell whether it was trained on the same data.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HyptaxError, InputError, brief
from ..files import atomic_write, check_format_version
from ..version import __version__
from .taxonomy import Taxonomy, unique_sorted

FORMAT = "hyptax-dataset"
FORMAT_VERSION = 1
"""The layout this code writes and the newest it reads (see the checkpoint's
:data:`~hyptax.training.checkpoint.FORMAT_VERSION` for when to raise it)."""
FORMAT_1 = "hyptax-dataset-1"
"""The ``format`` of the files written before format versions existed (version 1)."""

_DAMAGE = (
    KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile,
    NotImplementedError,  # a damaged zip header naming an unknown compression method
    RuntimeError,  # ... or flagging a member as encrypted
)  # fmt: skip
"""What reading a damaged or foreign .npz can raise."""


def dataset_hash(tax: Taxonomy) -> str:
    """SHA-256 over the ids, names, ranks and parent edges (hex, first 16 bytes)."""
    h = hashlib.sha256()
    for blob in (
        _join(tax.ids),
        _join(tax.names),
        _join(tax.ranks) if tax.ranks is not None else b"",
    ):
        h.update(len(blob).to_bytes(8, "little"))
        h.update(blob)
    h.update(np.ascontiguousarray(tax.child, dtype="<i4").tobytes())
    h.update(np.ascontiguousarray(tax.parent, dtype="<i4").tobytes())
    if tax.given_closure is not None:
        for arr in tax.given_closure:
            h.update(np.ascontiguousarray(arr, dtype="<i4").tobytes())
    return h.hexdigest()[:32]


def manifest(tax: Taxonomy) -> dict[str, Any]:
    """The self-description stored with a prepared dataset."""
    depth = tax.depth
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hyptax_version": __version__,
        "source": tax.source,
        "definition": tax.definition,
        "n_nodes": tax.n_nodes,
        "n_edges": tax.n_edges,
        "n_closure": tax.n_closure,
        "n_roots": len(tax.roots),
        "depth_max": int(depth.max(initial=0)),
        "stats": tax.stats,
        "hash": dataset_hash(tax),
    }


def save(tax: Taxonomy, path: str | Path) -> dict[str, Any]:
    """Write ``tax`` to ``path`` (``.npz``) atomically; returns the manifest."""
    if "\n" in "".join(tax.ids.tolist()):  # ids are stored one per line
        bad = next(s for s in tax.ids.tolist() if "\n" in s)
        raise HyptaxError(f"{path}: cannot store the node id {brief(bad)}: it holds a line break")
    meta = manifest(tax)
    arrays = {
        "ids": _bytes_array(_join(tax.ids)),
        "names": _bytes_array(_join(tax.names)),
        "child": tax.child.astype(np.int32),
        "parent": tax.parent.astype(np.int32),
        "manifest": _bytes_array(json.dumps(meta, default=str).encode()),
    }
    if tax.ranks is not None:
        arrays["ranks"] = _bytes_array(_join(tax.ranks))
    if tax.given_closure is not None:
        arrays["closure_desc"], arrays["closure_anc"] = tax.given_closure
    with atomic_write(path, "wb") as fh:
        np.savez(fh, **arrays)
    return meta


def read_manifest(path: str | Path) -> dict[str, Any]:
    """The manifest of a prepared dataset, without loading the arrays."""
    with _open(path) as npz:
        return _manifest(npz, path)


def load(path: str | Path) -> Taxonomy:
    """Load a prepared dataset; checks the format and the content hash."""
    with _open(path) as npz:
        meta = _manifest(npz, path)
        try:
            ids = _split(npz["ids"])
            names = _split(npz["names"], len(ids))
            ranks = _split(npz["ranks"], len(ids)) if "ranks" in npz.files else None
            child, parent = npz["child"], npz["parent"]
            given = None
            if "closure_desc" in npz.files:
                given = (npz["closure_desc"], npz["closure_anc"])
        except _DAMAGE as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__  # one short line
            reason = reason if len(reason) <= 100 else reason[:97] + "..."
            raise InputError(f"damaged prepared dataset ({reason})", path=path) from None
    n = len(ids)
    edges = (child, parent, *(given or ()))
    if any(a.ndim != 1 or not np.issubdtype(a.dtype, np.integer) for a in edges):
        raise InputError("damaged prepared dataset (edges are not whole-number arrays)", path=path)
    if (
        len(names) != n
        or (ranks is not None and len(ranks) != n)
        or len(child) != len(parent)
        or (given is not None and len(given[0]) != len(given[1]))
    ):
        raise InputError("damaged prepared dataset (array lengths disagree)", path=path)
    for arr in edges:
        if len(arr) and (arr.min() < 0 or arr.max() >= n):
            raise InputError("damaged prepared dataset (node index out of range)", path=path)
    if len(set(ids)) != n:
        raise InputError("damaged prepared dataset (a node id appears twice)", path=path)
    if given is not None:
        given = (given[0].astype(np.int32), given[1].astype(np.int32))
    tax = Taxonomy(
        ids=_objects(ids),
        names=_objects(names),
        child=child.astype(np.int32),
        parent=parent.astype(np.int32),
        ranks=None if ranks is None else _objects(ranks),
        source=meta.get("source", str(path)),
        definition=meta.get("definition", ""),
        stats=meta.get("stats", {}),
        given_closure=given,
    )
    if dataset_hash(tax) != meta.get("hash"):
        raise InputError("content hash does not match its manifest (file altered?)", path=path)
    _check_structure(tax, path)
    return tax


def _check_structure(tax: Taxonomy, path: str | Path) -> None:
    """Refuse what no loader builds (the hash is no seal: a file can be forged with a
    matching one): self-loops, repeated edges, cycles, closure pairs against the edges."""
    n = tax.n_nodes
    key = tax.child.astype(np.int64) * n + tax.parent
    if (tax.child == tax.parent).any() or len(unique_sorted(key)) != len(key):
        raise InputError("damaged prepared dataset (a self-loop or a repeated edge)", path=path)
    tax._check_acyclic(str(path), None)
    if tax.given_closure is not None:
        desc, anc = tax.given_closure
        if (tax.depth[desc] <= tax.depth[anc]).any():  # depth grows along every path
            raise InputError(
                "damaged prepared dataset (closure pairs against the edges)", path=path
            )


def _open(path: str | Path) -> Any:
    try:
        npz = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise HyptaxError(f"{path}: no such file") from None
    except _DAMAGE as exc:
        raise InputError(f"not a prepared dataset ({type(exc).__name__})", path=path) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):  # a bare .npy array
        raise InputError("not a prepared dataset (a .npy array, not an .npz archive)", path=path)
    _check_unpacked(npz, path)
    return npz


def _check_unpacked(npz: Any, path: str | Path) -> None:
    """Refuse an archive whose arrays, unpacked, would not fit in memory (a few MB of
    zip can unpack to many GB)."""
    from ..training.memory import shortfall, size

    unpacked = sum(info.file_size for info in npz.zip.infolist())
    have = shortfall(unpacked)
    if have is not None:
        npz.close()
        raise InputError(
            f"unpacks to {size(unpacked)}, but only {size(have)} of memory is available",
            path=path,
        )


def _manifest(npz: Any, path: str | Path) -> dict[str, Any]:
    try:
        meta = json.loads(bytes(npz["manifest"]).decode())
    except _DAMAGE:
        raise InputError("not a prepared dataset (no readable manifest)", path=path) from None
    if not isinstance(meta, dict) or meta.get("format") not in (FORMAT, FORMAT_1):
        raise InputError(f"not a prepared dataset (format is not {FORMAT})", path=path)
    check_format_version(meta, FORMAT_VERSION, path, "prepared dataset")
    if not isinstance(meta.get("stats", {}), dict) or not all(
        isinstance(meta.get(k, ""), str) for k in ("source", "definition")
    ):
        raise InputError("damaged prepared dataset (manifest fields of the wrong type)", path=path)
    return meta


def _join(values: np.ndarray) -> bytes:
    text = "\n".join(str(v).replace("\n", " ") for v in values.tolist())
    return text.encode("utf-8")


def _split(arr: np.ndarray, n: int | None = None) -> list[str]:
    """The strings joined by :func:`_join` (``n``: how many, to tell one empty string
    from none)."""
    text = arr.tobytes().decode("utf-8")
    return text.split("\n") if text or n == 1 else []


def _bytes_array(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint8)


def _objects(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out
