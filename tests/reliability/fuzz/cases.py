"""One fuzz case: what to load, what a correct outcome is, and the checks.

A format module (``edges``, ``taxdump``, ``pickles``, ``prepared``, ``checkpoints``)
offers a hypothesis strategy of :data:`Writer`: given a folder, a writer puts the
input files there and returns a :class:`Case`. :func:`run_case` loads the case
in-process under a time limit and checks:

* the only exception allowed out is :class:`~hyptax.errors.HyptaxError`, with a
  one-line message naming the file;
* a result passes the invariants of its kind (a taxonomy: unique ids, edges in
  range, no self-loop, no duplicate, acyclic, longest-path depths, closure equal to
  a reference closure; a checkpoint: the documented keys, finite float weights);
* "faithful" cases (inputs whose meaning is known exactly) must give exactly the
  expected taxonomy, or an error matching the expected problem.

Every case is counted in :data:`notes.COUNTS` (printed by ``tests/conftest.py``).
"""

from __future__ import annotations

import contextlib
import re
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from notes import COUNTS

from hyptax.config import DataOptions
from hyptax.errors import HyptaxError

QUICK = settings(
    max_examples=250,  # as many as before the move: a few seconds a test
    deadline=None,
    database=None,
    derandomize=True,  # the same examples in every run: a CI failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Hypothesis settings of the quick tier; the slow tier raises ``max_examples``."""


def examples(n: int) -> settings:
    """:data:`QUICK` with ``n`` examples (the slow tier's generated runs)."""
    return settings(QUICK, max_examples=n)


CASE_SECONDS = 10.0
"""A case that takes longer counts as a hang (inputs are small: milliseconds each)."""

MARKER = "hyptax-payload-ran"
"""The file a payload creates if any of its code runs."""


class CaseTimeout(BaseException):
    """Raised by the alarm when a case runs past :data:`CASE_SECONDS`."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only; a no-op elsewhere)."""

    def _alarm(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"case ran past {seconds} s (a hang?)")

    try:
        old = signal.signal(signal.SIGALRM, _alarm)
    except ValueError:  # not the main thread
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# ====================================================================== cases
@dataclass
class Case:
    """One generated input.

    Attributes:
        fmt: ``edges`` | ``taxdump`` | ``pickle`` | ``prepared`` | ``checkpoint``.
        spec: the dataset spec (or checkpoint path) to load.
        kind: a short label of how it was made (shown when a case fails).
        where: a string every error message must contain (the file or folder).
        options: data options (taxdump only).
        error: regex an error message must match when the input is known bad.
        ok: a check of the result when the input is known good (raises AssertionError).
            Neither set: any correct result or any clean error will do.
        forbidden: paths that must not exist afterwards (a payload's marker file).
    """

    fmt: str
    spec: str
    kind: str
    where: str
    options: DataOptions = field(default_factory=DataOptions)
    error: str | None = None
    ok: Callable[[Any], None] | None = None
    forbidden: tuple[Path, ...] = ()

    def describe(self) -> str:
        return f"[{self.fmt}:{self.kind}] {self.spec} options={self.options}"


def run_case(case: Case) -> tuple[str, Any]:
    """Load ``case`` and check the outcome; returns ``("ok", result)`` or
    ``("error", message)``. Any failed check raises AssertionError naming the case."""
    COUNTS[case.fmt] += 1
    try:
        with time_limit(CASE_SECONDS):
            try:
                result = LOADERS[case.fmt](case)
            except HyptaxError as exc:
                message = str(exc)
                check_message(message, case)
                return "error", message
            check_result(result, case)
            return "ok", result
    except AssertionError as exc:
        raise AssertionError(f"{case.describe()}: {exc}") from exc
    except Exception as exc:  # anything else escaping is the bug we look for
        raise AssertionError(
            f"{case.describe()}: {type(exc).__name__} escaped: {str(exc)[:300]}"
        ) from exc
    except CaseTimeout as exc:
        raise AssertionError(f"{case.describe()}: {exc}") from exc
    finally:
        for path in case.forbidden:
            assert not path.exists(), f"{case.describe()}: the payload ran ({path} exists)"


def check_message(message: str, case: Case) -> None:
    assert message.strip(), "empty error message"
    assert "\n" not in message, f"error message is not one line: {message!r}"
    assert "Traceback" not in message, message
    assert len(message) < 2000, f"error message of {len(message)} characters"
    assert case.where in message, f"error does not name {case.where}: {message}"
    assert case.error is not None or case.ok is None, f"refused a good input: {message}"
    if case.error is not None:
        assert re.search(case.error, message), f"expected /{case.error}/, got: {message}"


def check_result(result: Any, case: Case) -> None:
    assert case.error is None, f"accepted a bad input (expected /{case.error}/)"
    if case.fmt == "checkpoint":
        check_checkpoint(result)
    else:
        check_taxonomy(result)
    if case.ok is not None:
        case.ok(result)


def _load_data(case: Case) -> Any:
    from hyptax.data import load_taxonomy

    return load_taxonomy(case.spec, case.options)


def _load_checkpoint(case: Case) -> Any:
    from hyptax.embeddings import Embeddings
    from hyptax.training.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(case.spec)
    emb = Embeddings.from_checkpoint(case.spec)  # what evaluate/plot/export read
    assert emb.n == len(checkpoint["ids"])
    return checkpoint


LOADERS: dict[str, Callable[[Case], Any]] = {
    "edges": _load_data,
    "taxdump": _load_data,
    "pickle": _load_data,
    "prepared": _load_data,
    "checkpoint": _load_checkpoint,
}


# ====================================================================== oracles
def reference_closure(n: int, child: list[int], parent: list[int]) -> set[tuple[int, int]]:
    """Transitive closure by a plain topological walk; AssertionError on a cycle."""
    return _reference(n, child, parent)[0]


def _reference(
    n: int, child: list[int], parent: list[int]
) -> tuple[set[tuple[int, int]], list[int]]:
    """``(closure pairs, longest-path depths)`` by a plain topological walk."""
    parents: list[list[int]] = [[] for _ in range(n)]
    kids: list[list[int]] = [[] for _ in range(n)]
    for c, p in zip(child, parent, strict=True):
        parents[c].append(p)
        kids[p].append(c)
    waiting = [len(ps) for ps in parents]
    order = [i for i in range(n) if not waiting[i]]
    for x in order:
        for k in kids[x]:
            waiting[k] -= 1
            if not waiting[k]:
                order.append(k)
    assert len(order) == n, "the parent edges have a cycle"
    anc: list[set[int]] = [set() for _ in range(n)]
    depth = [0] * n
    for x in order:
        for p in parents[x]:
            anc[x] |= anc[p] | {p}
            depth[x] = max(depth[x], depth[p] + 1)
    return {(x, a) for x in range(n) for a in anc[x]}, depth


def _sorted_unique(d: np.ndarray, a: np.ndarray, n: int) -> bool:
    key = d.astype(np.int64) * max(n, 1) + a
    return bool((np.diff(key) > 0).all())


def check_taxonomy(tax: Any) -> None:
    """Invariants every loaded taxonomy must satisfy."""
    n = tax.n_nodes
    ids, names = tax.ids.tolist(), tax.names.tolist()
    assert len(names) == n, "ids and names differ in length"
    assert all(isinstance(s, str) for s in ids + names), "an id or name is not a string"
    assert len(set(ids)) == n, "duplicate ids"
    if tax.ranks is not None:
        assert len(tax.ranks) == n and all(isinstance(r, str) for r in tax.ranks.tolist())
    child, parent = tax.child, tax.parent
    assert child.ndim == parent.ndim == 1 and len(child) == len(parent)
    assert child.dtype == np.int32 and parent.dtype == np.int32
    if len(child):
        assert min(child.min(), parent.min()) >= 0 and max(child.max(), parent.max()) < n
    assert not (child == parent).any(), "a self-loop"
    c, p = child.tolist(), parent.tolist()
    assert len(set(zip(c, p, strict=True))) == len(c), "duplicate edges"
    ref, want = _reference(n, c, p)
    assert tax.depth.tolist() == want, "depths are not the longest-path depths"
    d, a = tax.derived_closure()
    assert _sorted_unique(d, a, n), "derived closure not sorted and unique"
    assert set(zip(d.tolist(), a.tolist(), strict=True)) == ref, "derived closure is wrong"
    if tax.given_closure is not None:
        gd, ga = tax.given_closure
        assert _sorted_unique(gd, ga, n), "given closure not sorted and unique"
        given = set(zip(gd.tolist(), ga.tolist(), strict=True))
        assert given <= ref, "the given closure holds pairs the edges do not imply (a cycle?)"
        assert set(zip(c, p, strict=True)) <= given, "a parent edge is not in the given closure"
    assert tax.n_closure == len(tax.closure[0])


def id_pairs(tax: Any, pairs: tuple[np.ndarray, np.ndarray]) -> set[tuple[str, str]]:
    ids = tax.ids
    return set(zip(ids[pairs[0]].tolist(), ids[pairs[1]].tolist(), strict=True))


def check_checkpoint(ck: dict[str, Any]) -> None:
    import torch

    from hyptax.training.checkpoint import FORMAT_VERSION

    assert ck["format"] == "hyptax-checkpoint"
    assert ck.get("format_version", 1) <= FORMAT_VERSION  # any hyptax_version is read
    w = ck["weight"]
    assert isinstance(w, torch.Tensor) and w.ndim == 2 and w.is_floating_point()
    assert w.shape[0] == len(ck["ids"]) == len(ck["names"])
    assert bool(torch.isfinite(w).all()), "non-finite weights loaded"
    for key in ("config", "data"):
        assert isinstance(ck[key], dict)


def transitive(edges: set[tuple[str, str]]) -> set[tuple[str, str]] | None:
    """Closure of string pairs; None when they hold a cycle or a self-pair."""
    if any(x == y for x, y in edges):
        return None
    ids = sorted({x for e in edges for x in e})
    index = {s: i for i, s in enumerate(ids)}
    try:
        ref = reference_closure(
            len(ids), [index[a] for a, _ in edges], [index[b] for _, b in edges]
        )
    except AssertionError:
        return None
    return {(ids[x], ids[y]) for x, y in ref}


Writer = Callable[[Path], "Case"]
"""What a format's strategy draws: writes one input into a folder, returns its case."""


def fresh_folder(root: Path, name: str) -> Path:
    """``root / name``, emptied (one folder reused by every example of a test)."""
    folder = root / name
    if folder.exists():
        for p in sorted(folder.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder
