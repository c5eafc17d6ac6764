"""Prepared datasets (.npz): the strategy :func:`prepared_cases`: good files, damaged
bytes, foreign files, and forgeries (arrays with one problem and a matching hash)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import random
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .cases import Case, Writer
from .damage import BINARY_DAMAGE
from .graphs import random_taxonomy


def forged_hash(arrays: dict[str, np.ndarray]) -> str:
    """The content hash of raw arrays, computed as ``prepared.dataset_hash`` does
    (re-implemented here so that any array, even a nonsensical one, can be forged)."""
    h = hashlib.sha256()
    for key in ("ids", "names", "ranks"):
        blob = arrays[key].tobytes() if key in arrays else b""
        h.update(len(blob).to_bytes(8, "little"))
        h.update(blob)
    for key in ("child", "parent", "closure_desc", "closure_anc"):
        if key in arrays:
            with contextlib.suppress(Exception):
                h.update(np.ascontiguousarray(arrays[key], dtype="<i4").tobytes())
    return h.hexdigest()[:32]


def _append_edge(a: dict[str, np.ndarray], c: int, p: int, dtype: Any = np.int32) -> None:
    a["child"] = np.append(a["child"], c).astype(dtype)
    a["parent"] = np.append(a["parent"], p).astype(dtype)


def _set(a: dict[str, np.ndarray], **arrays: Any) -> None:
    a.update({k: np.asarray(v) for k, v in arrays.items()})


def _dup_ids(a: dict[str, np.ndarray], n: int) -> None:
    ids = bytes(a["ids"]).split(b"\n")
    a["ids"] = np.frombuffer(b"\n".join([*ids, ids[0]]), np.uint8)
    a["names"] = np.frombuffer(b"\n".join([b"x"] * (len(ids) + 1)), np.uint8)
    a.pop("ranks", None)


def _drop(a: dict[str, np.ndarray], key: str) -> None:
    del a[key]


def _cycle(a: dict[str, np.ndarray], n: int) -> None:
    _append_edge(a, 0, 1 % n)
    _append_edge(a, 1 % n, 0)


def _empty(a: dict[str, np.ndarray], n: int) -> None:
    for key in ("ids", "names", "ranks"):
        if key in a:
            a[key] = np.zeros(0, np.uint8)
    a["child"] = a["parent"] = np.zeros(0, np.int32)
    a.pop("closure_desc", None)
    a.pop("closure_anc", None)


FORGERIES: dict[str, Callable[[dict[str, np.ndarray], int], None]] = {
    "cycle": _cycle,
    "self-loop": lambda a, n: _append_edge(a, 0, 0),
    "dup-edges": lambda a, n: _append_edge(a, a["child"][0], a["parent"][0])
    if len(a["child"])
    else _append_edge(a, 0, 0),
    "dup-ids": _dup_ids,
    "out-of-range": lambda a, n: _append_edge(a, n, 0),
    "negative": lambda a, n: _append_edge(a, -1, 0),
    "huge-index": lambda a, n: _append_edge(a, 2**40, 0, np.int64),
    "float-child": lambda a, n: _set(a, child=a["child"].astype(np.float64) + 0.5),
    "2d-child": lambda a, n: _set(a, child=np.stack([a["child"], a["child"]], axis=1)),
    "bool-child": lambda a, n: _set(a, child=np.ones(len(a["child"]), dtype=bool)),
    "object-array": lambda a, n: _set(a, child=np.array([None] * len(a["child"]), dtype=object)),
    "len-mismatch": lambda a, n: _set(a, child=np.append(a["child"], 0).astype(np.int32)),
    "closure-mismatch": lambda a, n: _set(a, closure_desc=np.array([1 % n], np.int32),
                                          closure_anc=np.array([], np.int32)),
    "closure-cycle": lambda a, n: _set(a, closure_desc=np.array([0, 1 % n], np.int32),
                                       closure_anc=np.array([1 % n, 0], np.int32)),
    "closure-out-of-range": lambda a, n: _set(a, closure_desc=np.array([n + 5], np.int32),
                                              closure_anc=np.array([0], np.int32)),
    "missing-child": lambda a, n: _drop(a, "child"),
    "missing-names": lambda a, n: _drop(a, "names"),
    "names-short": lambda a, n: _set(a, names=np.frombuffer(b"a\nb", np.uint8) if n == 1
                                     else np.zeros(0, np.uint8)),
    "ids-not-utf8": lambda a, n: _set(a, ids=np.frombuffer(bytes(a["ids"]) + b"\n\xff\xfe",
                                                           np.uint8)),
    "empty": _empty,
}  # fmt: skip
"""Arrays rewritten with one problem; :func:`_forge` then gives them a matching hash."""

MANIFEST_FORGERIES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "manifest-not-json": lambda meta: b"{not json",
    "manifest-list": lambda meta: b"[1, 2]",
    "wrong-format": lambda meta: {**meta, "format": "hyptax-dataset-0"},
    "newer-format": lambda meta: {**meta, "format_version": 2},
    "bad-format-version": lambda meta: {**meta, "format_version": [1]},
    "unversioned": lambda meta: {
        **{k: v for k, v in meta.items() if k != "format_version"},
        "format": "hyptax-dataset-1",
    },
    "other-hyptax": lambda meta: {**meta, "hyptax_version": "0.0.1"},
    "no-hash": lambda meta: {k: v for k, v in meta.items() if k != "hash"},
    "bad-hash": lambda meta: {**meta, "hash": "0" * 32},
    "manifest-types": lambda meta: {**meta, "stats": [1, 2], "source": 5},
}

ACCEPTABLE_FORGERIES = {"empty", "unversioned", "other-hyptax"}
"""Forgeries a loader may accept (an empty dataset; training refuses it later)."""


def _forge(r: random.Random, path: Path) -> str:
    """Rewrite the dataset at ``path`` with one problem (and, for array problems, a
    content hash that matches them); returns what was done."""
    a = dict(np.load(path, allow_pickle=False))
    meta = json.loads(bytes(a["manifest"]).decode())
    what = r.choice([*FORGERIES, *MANIFEST_FORGERIES])
    if what in FORGERIES:
        FORGERIES[what](a, len(bytes(a["ids"]).split(b"\n")))
        meta["hash"] = forged_hash(a)
        a["manifest"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    else:
        forged = MANIFEST_FORGERIES[what](meta)
        blob = forged if isinstance(forged, bytes) else json.dumps(forged).encode()
        a["manifest"] = np.frombuffer(blob, np.uint8)
    with path.open("wb") as fh:
        np.savez(fh, **a)
    return what


def _npy(path: Path) -> None:
    with path.open("wb") as fh:
        np.save(fh, np.arange(5))


def _zip_other(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "not numpy")


PREPARED_FOREIGN: dict[str, Callable[[Path], Any]] = {
    "npy": _npy,  # a bare .npy array named .npz
    "zip-other": _zip_other,
    "pickle": lambda path: path.write_bytes(pickle.dumps({"ids": ["a"]})),
}


def prepared_case(r: random.Random, folder: Path, *, kind: str, n: int) -> Case:
    """A prepared .npz of ``n`` nodes written by ``prepared.save``, then left
    ``valid``, damaged (a :data:`BINARY_DAMAGE` kind), replaced by a foreign file (a
    :data:`PREPARED_FOREIGN` kind) or forged (``forge``)."""
    from hyptax.data import prepared

    tax = random_taxonomy(r, n, closure=r.random() < 0.3)
    path = folder / "data.npz"
    prepared.save(tax, path)
    case = Case("prepared", str(path), kind, str(path))
    if kind == "valid":
        case.ok = _expect_same(tax)
    elif kind in BINARY_DAMAGE:
        path.write_bytes(BINARY_DAMAGE[kind](r, bytearray(path.read_bytes())))
    elif kind in PREPARED_FOREIGN:
        PREPARED_FOREIGN[kind](path)
        case.error = "not a prepared dataset"
    else:
        what = _forge(r, path)
        case.kind = f"forge:{what}"
        if what not in ACCEPTABLE_FORGERIES:
            case.error = "damaged|cycle|not a prepared|hash|newer hyptax"
    return case


def _expect_same(tax: Any) -> Callable[[Any], None]:
    from hyptax.data.prepared import dataset_hash

    def ok(got: Any) -> None:
        assert got.ids.tolist() == tax.ids.tolist() and got.names.tolist() == tax.names.tolist()
        assert np.array_equal(got.child, tax.child) and np.array_equal(got.parent, tax.parent)
        assert (got.ranks is None) == (tax.ranks is None)
        assert (got.given_closure is None) == (tax.given_closure is None)
        assert dataset_hash(got) == dataset_hash(tax)

    return ok


PREPARED_KINDS = ["valid"] * 3 + list(BINARY_DAMAGE) + list(PREPARED_FOREIGN) + ["forge"] * 6
"""What becomes of the saved dataset (repeats weight the draw)."""


def prepared_cases() -> st.SearchStrategy[Writer]:
    """Prepared datasets: the kind and size drawn by hypothesis; the taxonomy, damage
    and forgery by a hypothesis-seeded Random."""
    return st.builds(
        partial,
        st.just(prepared_case),
        st.randoms(use_true_random=True),
        kind=st.sampled_from(PREPARED_KINDS),
        n=st.sampled_from([1, 2, 5, 12, 30]),
    )
