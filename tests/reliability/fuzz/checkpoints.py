"""Checkpoints (.pt): the strategy :func:`checkpoint_cases`, and
:func:`valid_checkpoint`, a checkpoint dict as training writes it."""

from __future__ import annotations

import os
import pickle
import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .cases import MARKER, Case, Writer
from .damage import BINARY_DAMAGE
from .pickles import Reduce, deep


def valid_checkpoint(r: random.Random, n: int, dim: int) -> dict[str, Any]:
    """A checkpoint dict as training writes it (plain types and tensors)."""
    import torch

    from hyptax.config import TrainConfig, to_dict

    g = torch.Generator().manual_seed(r.randrange(2**31))
    dtype = r.choice([torch.float32, torch.float64])
    w = (torch.rand(n, dim, generator=g, dtype=dtype) - 0.5) * (0.9 / dim**0.5)
    return {
        "config": to_dict(TrainConfig(data="x.tsv", dim=dim)),
        "data": {"spec": "x.tsv", "options": {}, "hash": "ab" * 16, "n_nodes": n},
        "ids": [f"n{i}" for i in range(n)],
        "names": [f"name {i}" for i in range(n)],
        "manifold": "poincare",
        "weight": w,
        "epoch": r.randint(0, 50),
        "best_metric": r.random(),
        "optimizer": {"step": torch.tensor(3)},
        "rng": {"numpy": np.random.default_rng(0).bit_generator.state},
        "train_state": {"epoch": 1},
        "history": [{"epoch": 1, "loss": 0.5}],
    }


def _poke(w: Any, value: float) -> Any:
    w = w.clone()
    w[0, 0] = value
    return w


# kind -> (the checkpoint dict to save from the full one, or bytes; expected error regex:
# "" for a good file, None for either)
_BAD = "checkpoint|weights"
CHECKPOINT_KINDS: dict[str, tuple[Callable[[dict[str, Any], Path], Any], str | None]] = {
    "valid": (lambda ck, m: ck, ""),
    "version": (lambda ck, m: {**ck, "hyptax_version": "0.0.1"}, ""),  # information only
    "newer-format": (lambda ck, m: {**ck, "format_version": 2}, "newer hyptax .format 2."),
    "format-version-str": (lambda ck, m: {**ck, "format_version": "1"}, "'format_version'"),
    "format": (lambda ck, m: {**ck, "format": "something-else"}, "not a hyptax checkpoint"),
    "missing-weight": (lambda ck, m: {k: v for k, v in ck.items() if k != "weight"}, "'weight'"),
    "missing-ids": (lambda ck, m: {k: v for k, v in ck.items() if k != "ids"}, "'ids'"),
    "ids-str": (lambda ck, m: {**ck, "ids": "n0"}, "'ids'"),
    "weight-list": (lambda ck, m: {**ck, "weight": ck["weight"].tolist()}, "'weight'"),
    "epoch-float": (lambda ck, m: {**ck, "epoch": 1.5}, "'epoch'"),
    "nan": (lambda ck, m: {**ck, "weight": _poke(ck["weight"], float("nan"))}, "finite"),
    "inf": (lambda ck, m: {**ck, "weight": _poke(ck["weight"], float("inf"))}, "finite"),
    "no-rows": (lambda ck, m: {**ck, "weight": ck["weight"][:0]}, "shape"),
    "1d": (lambda ck, m: {**ck, "weight": ck["weight"].flatten()}, "shape"),
    "int": (lambda ck, m: {**ck, "weight": ck["weight"].long()}, "finite floats"),
    "complex": (lambda ck, m: {**ck, "weight": ck["weight"].to(dtype=_complex())}, _BAD),
    "sparse": (lambda ck, m: {**ck, "weight": ck["weight"].to_sparse()}, _BAD),
    "meta": (lambda ck, m: {**ck, "weight": ck["weight"].to("meta")}, _BAD),
    "half": (lambda ck, m: {**ck, "weight": ck["weight"].half()}, None),
    "param": (lambda ck, m: {**ck, "weight": _parameter(ck["weight"])}, ""),
    "ids-int": (lambda ck, m: {**ck, "ids": list(range(len(ck["ids"])))}, None),
    "names-short": (lambda ck, m: {**ck, "names": ck["names"][:-1]}, "shape"),
    "manifold-unknown": (lambda ck, m: {**ck, "manifold": "euclid"}, "unknown manifold 'euclid'"),
    "nested-history": (lambda ck, m: {**ck, "history": [deep(200)]}, ""),
    "zero-rows": (lambda ck, m: {**ck, "ids": [], "names": [], "weight": ck["weight"][:0]}, None),
    "malicious": (lambda ck, m: {**ck, "history": [Reduce(os.system, f"touch {m}")]}, "refused"),
    "legacy-format": (lambda ck, m: ck, ""),
    "plain-pickle": (lambda ck, m: pickle.dumps({"format": "hyptax-checkpoint"}), "checkpoint"),
}


def _complex() -> Any:
    import torch

    return torch.complex64


def _parameter(w: Any) -> Any:
    import torch

    return torch.nn.Parameter(w)


def checkpoint_case(r: random.Random, folder: Path, *, kind: str) -> Case:
    """A checkpoint: ``valid``, damaged bytes (a :data:`BINARY_DAMAGE` kind), or a dict
    with one thing wrong (a :data:`CHECKPOINT_KINDS` kind)."""
    import torch

    from hyptax import __version__
    from hyptax.training.checkpoint import save_checkpoint

    ck = valid_checkpoint(r, r.choice([1, 3, 10]), r.choice([2, 5]))
    path = folder / "ckpt.pt"
    save_checkpoint(path, ck)
    case = Case("checkpoint", str(path), kind, str(path))
    if kind in BINARY_DAMAGE:
        path.write_bytes(BINARY_DAMAGE[kind](r, bytearray(path.read_bytes())))
        return case
    marker = folder / MARKER
    build, expect = CHECKPOINT_KINDS[kind]
    obj = build({"format": "hyptax-checkpoint", "hyptax_version": __version__, **ck}, marker)
    if isinstance(obj, bytes):
        path.write_bytes(obj)
    else:
        with path.open("wb") as fh:
            torch.save(obj, fh, _use_new_zipfile_serialization=kind != "legacy-format")
    if expect == "":
        case.ok = lambda got: None
    elif expect is not None:
        case.error = expect
    case.forbidden = (marker,)
    return case


def checkpoint_cases() -> st.SearchStrategy[Writer]:
    """Checkpoints: the kind drawn by hypothesis; sizes, weights and damage by a
    hypothesis-seeded Random."""
    return st.builds(
        partial,
        st.just(checkpoint_case),
        st.randoms(use_true_random=True),
        kind=st.sampled_from([*CHECKPOINT_KINDS, "valid", "valid", *BINARY_DAMAGE]),
    )
