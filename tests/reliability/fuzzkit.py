"""Fuzz cases for every hyptax input format: generators, one runner, the oracles.

Shared by ``test_fuzz_parsers.py`` (the CI run) and ``benchmarks/fuzz_long.py`` (the
long run). A generator takes a seeded :class:`random.Random` and a folder, writes the
input files there and returns a :class:`Case`: what to load, and what a correct
outcome is. :func:`run_case` loads it in-process under a time limit and checks:

* the only exception allowed out is :class:`~hyptax.errors.HyptaxError`, with a
  one-line message naming the file;
* a result passes the invariants of its kind (a taxonomy: unique ids, edges in
  range, no self-loop, no duplicate, acyclic, longest-path depths, closure equal to
  a reference closure; a checkpoint: the documented keys, finite float weights);
* "faithful" cases (inputs whose meaning is known exactly) must give exactly the
  expected taxonomy, or an error matching the expected problem.

Every case is counted in :data:`COUNTS` (printed by ``conftest.py``).
"""

from __future__ import annotations

import builtins
import collections
import contextlib
import csv
import gzip
import hashlib
import io
import json
import os
import pickle
import random
import re
import signal
import string
import struct
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from notes import COUNTS

from hyptax.config import MAIN_RANKS, DataOptions
from hyptax.errors import HyptaxError

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

    from hyptax import __version__

    assert ck["format"] == "hyptax-checkpoint" and ck["hyptax_version"] == __version__
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


# ====================================================================== ids, graphs, damage
UNICODE = ["Homo sapiens", "Ærøskøbing", "日本語", "émile", "Ελληνικά", "🦊 fox", "ñandú",
           "Straße", "עברית", "a\u0301b", "Zoë", "Ωmega", "ᐊᐃ", "x\u200by"]  # fmt: skip
TRICKY = ['a,b', 'say "hi"', "it's", "semi;colon", "pipe|bar", "back\\slash", "x#y",
          "  spaced  out ", "comma, space", '"quoted"', "%s", "{}", "NaN", "-1"]  # fmt: skip
HEADERISH = ["child", "parent", "node", "ID1", "ancestor"]
CONTROL = ["\x00", "\x1f", "\x7f", "\u2028", "\x85", "\r", "\n", "\x0b"]

_ID_MAKERS: dict[str, Callable[[random.Random, int], str]] = {
    "int": lambda r, n: str(r.randint(0, 10 * n + 10)),
    "huge": lambda r, n: str(r.randint(10**18, 10**60)),
    "word": lambda r, n: "".join(r.choices(string.ascii_letters + "_.-", k=r.randint(1, 10))),
    "unicode": lambda r, n: r.choice(UNICODE) + str(r.randint(0, 999)),
    "tricky": lambda r, n: r.choice(TRICKY) + str(r.randint(0, 999)),
    "long": lambda r, n: "L" + "".join(r.choices(string.ascii_lowercase, k=r.randint(200, 3000))),
    "headerish": lambda r, n: r.choice(HEADERISH),
    "control": lambda r, n: "c" + r.choice(CONTROL) + str(r.randint(0, 999)),
}
ID_KINDS = list(_ID_MAKERS)


def make_ids(r: random.Random, n: int, kinds: list[str]) -> list[str]:
    """``n`` distinct ids (distinct after stripping), of the given kinds."""
    out: dict[str, None] = {}
    while len(out) < n:
        s = _ID_MAKERS[r.choice(kinds)](r, n).strip() or "e"
        if s in out:  # small pools (headerish) run out: make it unique
            s += f"_{len(out)}"
        out.setdefault(s, None)
    return list(out)


def random_edges(r: random.Random, n: int) -> list[tuple[int, int]]:
    """Acyclic parent edges ``(child, parent)`` over ``0..n-1`` (child > parent)."""
    shape = r.choice(["tree", "tree", "dag", "chain", "star", "forest"])
    edges = []
    for i in range(1, n):
        if shape == "chain":
            edges.append((i, i - 1))
        elif shape == "star":
            edges.append((i, 0))
        elif shape != "forest" or r.random() >= 0.2:
            edges.append((i, r.randrange(i)))
            j = r.randrange(i)
            if shape == "dag" and i > 2 and r.random() < 0.3 and (i, j) not in edges:
                edges.append((i, j))
    return edges


def closure_of(n: int, edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return sorted(reference_closure(n, [c for c, _ in edges], [p for _, p in edges]))


def _flip(r: random.Random, b: bytearray, most: int = 4) -> bytearray:
    for _ in range(r.randint(1, most)):
        if b:
            b[r.randrange(len(b))] = r.randrange(256)
    return b


def _insert(r: random.Random, b: bytearray) -> bytearray:
    for _ in range(r.randint(1, 4)):
        at = r.randrange(len(b) + 1)
        b[at:at] = bytes(r.randrange(256) for _ in range(r.randint(1, 3)))
    return b


def _delete_separator(r: random.Random, b: bytearray) -> bytearray:
    for sep in (b",", b"\t", b" "):
        at = b.find(sep, r.randrange(len(b) + 1))
        if at >= 0:
            del b[at]
            break
    return b


def _mixed_encodings(r: random.Random, b: bytearray) -> bytearray:
    """One line re-encoded as latin-1."""
    lines = bytes(b).split(b"\n")
    k = r.randrange(len(lines))
    lines[k] = (lines[k].decode("utf-8", "replace") + "é").encode("latin-1", "replace")
    return bytearray(b"\n".join(lines))


def _recode(codec: str) -> Callable[[random.Random, bytearray], bytearray]:
    def recode(r: random.Random, b: bytearray) -> bytearray:
        return bytearray(bytes(b).decode("utf-8", "replace").encode(codec, "replace"))

    return recode


TEXT_DAMAGE: dict[str, Callable[[random.Random, bytearray], bytearray]] = {
    "truncate": lambda r, b: b[: r.randrange(len(b))] if b else b,
    "flip": _flip,
    "insert": _insert,
    "delete-separator": _delete_separator,
    "latin1": _recode("latin-1"),
    "utf16": _recode("utf-16"),
    "mixed-encodings": _mixed_encodings,
    "nul": lambda r, b: b[:0] + b"\x00" + b,
    "swap-delimiters": lambda r, b: bytearray(bytes(b).replace(b"\t", b";").replace(b",", b"\t")),
    "random": lambda r, b: bytearray(r.randbytes(r.randint(1, 400))),
    "empty": lambda r, b: bytearray(),
    "whitespace": lambda r, b: bytearray(b" \n\t\r\n  \n"),
}


def mutate_text(r: random.Random, raw: bytes) -> tuple[str, bytes]:
    """Damage a text file; returns ``(what was done, the bytes)``."""
    kind = r.choice(list(TEXT_DAMAGE))
    return kind, bytes(TEXT_DAMAGE[kind](r, bytearray(raw)))


BINARY_DAMAGE: dict[str, Callable[[random.Random, bytearray], bytearray]] = {
    "truncate": lambda r, b: b[: r.randrange(len(b))] if b else b,
    "flip": lambda r, b: _flip(r, b, 6),
    "append": lambda r, b: b + r.randbytes(r.randint(1, 100)),
    "garbage": lambda r, b: bytearray(r.randbytes(r.randint(1, 600))),
    "empty": lambda r, b: bytearray(),
}


# ====================================================================== edge lists
EDGE_FORMATS = ["csv", "tsv", "txt-tab", "txt-comma", "txt-space"]
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def representable(fmt: str, s: str) -> bool:
    """Whether an id survives writing in ``fmt`` and reading back unchanged (stripped)."""
    if s.startswith("#") or not s.strip():
        return False
    if fmt in ("csv", "txt-comma"):
        return "\r" not in s and "\n" not in s and (fmt == "csv" or "\t" not in s)
    if fmt in ("tsv", "txt-tab"):
        return not any(ch in s for ch in LINE_BREAKS + "\t")
    return not any(ch.isspace() for ch in s) and "," not in s


def _emit_row(r: random.Random, row: tuple[str, ...], fmt: str, noise: bool) -> str:
    if fmt in ("csv", "txt-comma"):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(row)
        return buf.getvalue()
    if fmt in ("tsv", "txt-tab"):
        pad = (lambda s: r.choice(["", " ", "  "]) + s + r.choice(["", " "])) if noise else str
        return "\t".join(pad(s) for s in row)
    line = r.choice([" ", "  ", "\t "]).join(row) if noise else " ".join(row)
    return line.replace("\t", " ")


def emit_edges(
    r: random.Random, rows: list[tuple[str, ...]], fmt: str, header: str | None,
    crlf: bool, noise: bool,
) -> str:  # fmt: skip
    """The text of an edge list in ``fmt`` (``header``: None, "child" or "parent" first)."""
    width = len(rows[0]) if rows else 2
    if header is not None:
        head = [r.choice(["child", "Descendant", "id1", "node"]),
                r.choice(["parent", "ANCESTOR", "id2", "hypernym"])]  # fmt: skip
        head += [f"w{k}" for k in range(width - 2)]
        if header == "parent":
            head[0], head[1] = head[1], head[0]
        rows = [tuple(head), *rows]
    lines = []
    for row in rows:
        lines.append(_emit_row(r, row, fmt, noise))
        if noise and r.random() < 0.1:
            lines.append(r.choice(["", "# a comment, with a comma", "   ", "#"]))
    if noise and r.random() < 0.3:
        lines.insert(0, "# exported by someone")
    nl = "\r\n" if crlf else "\n"
    return nl.join(lines) + (nl if r.random() < 0.8 else "")


def _edge_pairs(r: random.Random, n: int) -> tuple[list[tuple[int, int]], list[str], bool]:
    """Pairs over ``n`` nodes (parent edges, or a closure maybe missing some pairs),
    with problems injected: ``(pairs, problems, as_closure)``."""
    edges = random_edges(r, n)
    as_closure = r.random() < 0.3
    pairs = closure_of(n, edges) if as_closure else list(edges)
    if as_closure and r.random() < 0.3:  # a closure missing some implied pairs
        pairs = [e for e in pairs if e in set(edges) or r.random() < 0.7]
    problems: list[str] = []
    if r.random() < 0.08:
        k = r.randrange(n)
        pairs.append((k, k))
        problems.append("self-loop")
    proper = [e for e in pairs if e[0] != e[1]]
    if r.random() < 0.08 and proper:
        c, p = r.choice(proper)
        pairs.append((p, c))  # the reverse of an edge: a cycle of two
        problems.append("cycle")
    if r.random() < 0.05 and as_closure:  # a whole closure made cyclic: every pair reversed
        pairs += [(p, c) for c, p in proper]
        problems.append("cycle")
    if r.random() < 0.2 and pairs:
        pairs += r.choices(pairs, k=r.randint(1, 5))  # duplicates
    r.shuffle(pairs)
    return pairs, problems, as_closure


def _encode_edges(r: random.Random, text: str, suffix: str) -> tuple[bytes, str, str | None]:
    """Bytes of the file (maybe a BOM, damage, gzip): ``(bytes, suffix, damage)``."""
    raw = text.encode("utf-8")
    if r.random() < 0.1:
        raw = b"\xef\xbb\xbf" + raw  # a BOM
    damage = None
    if r.random() < 0.35:
        damage, raw = mutate_text(r, raw)
    if r.random() < 0.15:
        raw = gzip.compress(raw, mtime=0)
        if r.random() < 0.2:
            raw, damage = raw[: r.randrange(len(raw))], "gzip-truncated"
        suffix += ".gz"
    elif r.random() < 0.02:
        suffix, damage = suffix + ".gz", "not-gzip"
    return raw, suffix, damage


def edges_case(r: random.Random, folder: Path) -> Case:
    """An edge list: faithful (exact expected outcome) or damaged (invariants only)."""
    fmt = r.choice(EDGE_FORMATS)
    n = r.choice([1, 2, 3, 5, 8, 13, 21, 40]) + 1
    ids = make_ids(r, n, r.sample(ID_KINDS, k=r.randint(1, 3)))
    pairs, problems, as_closure = _edge_pairs(r, n)
    rows: list[tuple[str, ...]] = [(ids[c], ids[p]) for c, p in pairs]
    if r.random() < 0.06 and rows:
        k = r.randrange(len(rows))
        rows[k] = ("", rows[k][1]) if r.random() < 0.5 else (rows[k][0], "  ")
        problems.append("empty")
    if r.random() < 0.15:
        rows = [(*row, str(r.random())) for row in rows]  # an extra column
    header = r.choice([None, None, None, "child", "parent"])
    out_rows = [(row[1], row[0], *row[2:]) for row in rows] if header == "parent" else rows
    text = emit_edges(r, out_rows, fmt, header, r.random() < 0.2, r.random() < 0.4)
    raw, suffix, damage = _encode_edges(r, text, {"csv": ".csv", "tsv": ".tsv"}.get(fmt, ".txt"))
    path = folder / f"edges{suffix}"
    path.write_bytes(raw)
    kind = "+".join([fmt, *(["closure"] if as_closure else []), *([damage] if damage else []),
                     *problems])  # fmt: skip
    case = Case("edges", str(path), kind, str(path))
    faithful = damage is None and _faithful(fmt, rows, out_rows, header, text)
    faithful &= not (fmt == "txt-space" and "empty" in problems)
    if faithful:
        expect_edge_rows(case, rows)
    return case


def _faithful(
    fmt: str, rows: list[tuple[str, ...]], out_rows: list[tuple[str, ...]], header: str | None,
    text: str,
) -> bool:  # fmt: skip
    """Whether every id of ``rows`` survives ``fmt`` and the file reads as written."""
    if not all(representable(fmt, s) for row in rows for s in row[:2] if s.strip()):
        return False
    if header is None and out_rows and out_rows[0][0].strip().lower() in _COLUMN_NAMES:
        return False  # a first edge that reads as a header
    return not (fmt.startswith("txt") and rows and fmt != _txt_kind(text))


def expect_edge_rows(case: Case, rows: list[tuple[str, ...]]) -> None:
    """Set the exact expected outcome of a faithfully written edge list of ``rows``
    (child, parent, extra columns...), as the module docstring of edgelist defines it."""
    user = [(row[0].strip(), row[1].strip()) for row in rows]
    if any(not c and not p for c, p in user):
        return  # a line of empty fields reads as blank in some formats: no exact answer
    if not user:
        case.error = "empty"
    elif any(not c or not p or c == p for c, p in user):
        case.error = "self-loop|empty"
    elif transitive(set(user)) is None:
        case.error = "cycle"
    else:
        case.ok = _expect_edges(set(user))


def edge_file_case(
    r: random.Random, rows: list[tuple[str, str]], fmt: str, folder: Path, header: str | None = None
) -> Case:
    """Write ``rows`` as an edge list in ``fmt`` (no noise); exact expectations when
    every id survives the format."""
    out_rows = rows if header != "parent" else [(p, c) for c, p in rows]
    text = emit_edges(r, out_rows, fmt, header, crlf=False, noise=False)
    path = folder / ("edges" + {"csv": ".csv", "tsv": ".tsv"}.get(fmt, ".txt"))
    path.write_bytes(text.encode("utf-8"))
    case = Case("edges", str(path), f"{fmt}+hypothesis", str(path))
    faithful = _faithful(fmt, rows, rows, header, text)
    faithful &= not (fmt == "txt-space" and any(not s.strip() for row in rows for s in row))
    if faithful:
        expect_edge_rows(case, rows)
    return case


def _column_names() -> frozenset[str]:
    from hyptax.data.edgelist import CHILD_COLUMNS, PARENT_COLUMNS

    return CHILD_COLUMNS | PARENT_COLUMNS


_COLUMN_NAMES = _column_names()


def _txt_kind(text: str) -> str:
    first = next((s for s in text.splitlines() if s.strip() and not s.lstrip().startswith("#")), "")
    return "txt-tab" if "\t" in first else "txt-comma" if "," in first else "txt-space"


def _expect_edges(pairs: set[tuple[str, str]]) -> Callable[[Any], None]:
    closure = transitive(pairs)
    ids = {x for e in pairs for x in e}

    def ok(tax: Any) -> None:
        assert set(tax.ids.tolist()) == ids, "node ids differ from the file's"
        assert id_pairs(tax, tax.derived_closure()) == closure, "closure differs from the file's"
        if tax.stats["input_form"] == "closure":
            assert id_pairs(tax, tax.closure) == pairs, "given closure differs from the listed"
        else:
            assert tax.given_closure is None
            assert id_pairs(tax, (tax.child, tax.parent)) == pairs, "parent edges differ"

    return ok


# ====================================================================== taxdump
RANKS = [*MAIN_RANKS, "no rank", "clade", "domain", "subspecies", "", "ränk", "species group"]
NAMES = ["Bacteria", "Homo sapiens", "uncultured bacterium", "Bacillus sp. XYZ",
         "unclassified Bacteria", "environmental samples", "Pinus incertae sedis",
         "soil metagenome", "Aus cf. bus", "Ærø", "🦊", "A|B", "x y  z", "", "root"]  # fmt: skip
BAD_TAX_IDS = ["12a", "-3", "", " 7", "1.5", "9" * 19, "٣", "0x1F"]


@dataclass
class Dump:
    """A generated taxdump, as text fields (``ids``, ``parents``) before writing."""

    tax_ids: list[int]
    parents: list[int]
    ranks: list[str]
    names: list[str]
    ids: list[str] = field(default_factory=list)
    parent_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ids = [str(t) for t in self.tax_ids]
        self.parent_ids = [str(p) for p in self.parents]

    def top(self, i: int) -> int:
        """Index of the self-parented root above taxon ``i``."""
        index = {t: k for k, t in enumerate(self.tax_ids)}
        while self.parents[i] != self.tax_ids[i]:
            i = index[self.parents[i]]
        return i


def _random_dump(r: random.Random) -> Dump:
    n = r.choice([1, 2, 3, 6, 12, 30])
    scale = r.choice([4 * n + 2, 10**6, 10**12, 10**18 - 1])
    if scale < 10**7:
        tax_ids = r.sample(range(1, scale + 1), n)
    else:
        tax_ids = list(dict.fromkeys(r.randint(1, scale) for _ in range(n)))
    n = len(tax_ids)
    parents = [tax_ids[0]] + [tax_ids[r.randrange(i)] for i in range(1, n)]
    for i in range(1, n):
        if r.random() < 0.05:
            parents[i] = tax_ids[i]  # another root
    ranks = [r.choice(RANKS) for _ in range(n)]
    names = [r.choice(NAMES) + (str(r.randint(0, 99)) if r.random() < 0.5 else "")
             for _ in range(n)]  # fmt: skip
    return Dump(tax_ids, parents, ranks, names)


def _inject_dump_problems(r: random.Random, d: Dump) -> None:
    n = len(d.ids)
    if r.random() < 0.06 and n > 1:
        d.ids[r.randrange(1, n)] = d.ids[0]
        d.problems.append("appears twice")
    if r.random() < 0.06:
        d.parent_ids[r.randrange(n)] = str(max(d.tax_ids) + 1)
        d.problems.append("unknown parent")
    if r.random() < 0.06 and n > 2:
        a, b = r.sample(range(1, n), 2)
        d.parent_ids[a], d.parent_ids[b] = d.ids[b], d.ids[a]
        d.problems.append("cycle")
    below_root = [i for i in range(1, n) if d.top(i) == 0]
    if r.random() < 0.05 and below_root:
        d.parent_ids[0] = d.ids[r.choice(below_root)]  # the root under its descendant
        d.problems.append("cycle")
    if r.random() < 0.06:
        k, bad = r.randrange(n), r.choice(BAD_TAX_IDS)
        (d.ids if r.random() < 0.5 else d.parent_ids)[k] = bad
        d.problems.append("not a whole number|appears twice|unknown parent|cycle")


def _node_lines(r: random.Random, d: Dump, n_fields: int, end: str) -> list[str]:
    rest = ["", "0", "1", "11", "1", "0", "1", "0", "0", ""] + ["0"] * max(0, n_fields - 13)
    lines = ["\t|\t".join([t, p, rank, *rest][:n_fields]) + end
             for t, p, rank in zip(d.ids, d.parent_ids, d.ranks, strict=True)]  # fmt: skip
    if r.random() < 0.05:
        k = r.randrange(len(lines))
        lines[k] = lines[k].replace("\t|\t", "\t|\t\t|\t", 1)
        d.problems.append("fields|not a whole number")
    return lines


def _name_rows(r: random.Random, d: Dump, order: list[int]) -> list[tuple[str, str, str]]:
    """names.dmp rows ``(tax_id, name, name class)`` in file order."""
    rows = []
    for i in order:
        if r.random() < 0.9:
            rows.append((d.ids[i], d.names[i], "scientific name"))
        if r.random() < 0.3:
            rows.append((d.ids[i], d.names[i].upper(), "synonym"))
        if r.random() < 0.05:
            rows.append((d.ids[i], f"Second{i}", "scientific name"))
    if r.random() < 0.1:  # a name for a taxon that is not in nodes.dmp
        orphan = next(t for t in range(1, len(order) + 2) if t not in d.tax_ids)
        rows.append((str(orphan), "Orphan", "scientific name"))
    if r.random() < 0.2:
        r.shuffle(rows)
    return rows


def _random_options(r: random.Random) -> DataOptions:
    if r.random() >= 0.35:
        return DataOptions()
    return DataOptions(
        ranks=r.choice(["main", "all"]),
        lowest_rank=r.choice([None, "phylum", "genus", "species"]),
        clean=r.random() < 0.5,
    )


def taxdump_case(r: random.Random, folder: Path) -> Case:
    """A nodes.dmp + names.dmp pair (NCBI layout), faithful or damaged."""
    folder.mkdir(parents=True, exist_ok=True)
    d = _random_dump(r)
    _inject_dump_problems(r, d)
    n_fields, end = r.choice([13, 13, 18, 3, 4]), r.choice(["\t|", "\t|", ""])
    nl = r.choice(["\n", "\n", "\r\n"])
    node_lines = _node_lines(r, d, n_fields, end)
    order = r.sample(range(len(d.ids)), len(d.ids))
    rows = _name_rows(r, d, order)
    name_lines = [f"{t}\t|\t{name}\t|\t\t|\t{kind}{end}" for t, name, kind in rows]
    if r.random() < 0.1:  # a blank line
        name_lines.insert(r.randrange(len(name_lines) + 1), "")
    files = {
        "nodes.dmp": (nl.join(node_lines[i] for i in order) + nl).encode(),
        "names.dmp": (nl.join(name_lines) + (nl if name_lines else "")).encode(),
    }
    damage = None
    if r.random() < 0.3:
        which = r.choice(list(files))
        damage, files[which] = mutate_text(r, files[which])
    if not files["names.dmp"].strip() and damage is None:
        damage = "no-names"
    for name, raw in files.items():
        (folder / name).write_bytes(raw)
    options = _random_options(r)
    kind = "+".join([f"{n_fields}f", *([damage] if damage else []), *d.problems])
    case = Case("taxdump", f"taxdump:{folder}", kind, str(folder), options=options)
    if damage is None and d.problems:
        case.error = "|".join(d.problems)
    elif damage is None:
        case.ok = _expect_dump(d, rows, options)
    return case


def _expect_dump(
    d: Dump, rows: list[tuple[str, str, str]], options: DataOptions
) -> Callable[[Any], None]:
    first_name: dict[str, str] = {}
    for t, name, kind in rows:  # the first scientific name in file order wins
        if kind == "scientific name":
            first_name.setdefault(t, name)
    want_names = {t: first_name.get(t, t) for t in d.ids}  # else the tax_id
    want_pairs = {(c, p) for c, p in zip(d.ids, d.parent_ids, strict=True) if c != p}
    want_ranks = dict(zip(d.ids, d.ranks, strict=True))

    def ok(tax: Any) -> None:
        got_ids = tax.ids.tolist()
        if options != DataOptions():  # options drop and re-parent taxa: a subset
            assert set(got_ids) <= set(d.ids), "ids not in nodes.dmp"
            return
        assert sorted(got_ids) == sorted(d.ids), "taxa differ"
        assert id_pairs(tax, (tax.child, tax.parent)) == want_pairs, "parent edges differ"
        assert dict(zip(got_ids, tax.names.tolist(), strict=True)) == want_names, "names differ"
        assert dict(zip(got_ids, tax.ranks.tolist(), strict=True)) == want_ranks

    return ok


# ====================================================================== pickles
def _deep(depth: int) -> Any:
    x: Any = "a"
    for _ in range(depth):
        x = [x]
    return x


BAD_RECORDS: dict[str, Any] = {
    "float": (1.5, "a"),
    "none": (None, "a"),
    "bool": (True, "a"),
    "bytes": (b"a", "b"),
    "empty-str": ("  ", "a"),
    "triple": ("a", "b", "c"),
    "dict-keys": {"child": "a", "parent": "b"},
    "string-record": "a,b",
    "deep": ("a", _deep(2000)),
    "bigint": (10**5000, "a"),
    "nested-id": (("a",), "b"),
}
"""One record replaced by each of these must be refused."""

BAD_TOP: dict[str, Any] = {"top-dict": {"pairs": []}, "top-int": 42, "empty-list": [],
                           "set": {("a", "b")}}  # fmt: skip
"""Whole pickles that hold no list of records."""


def _pickle_pairs(r: random.Random, n: int) -> tuple[list[tuple[int, int]], list[str]]:
    edges = random_edges(r, n)
    pairs = closure_of(n, edges) if r.random() < 0.7 else list(edges)
    problems = []
    if r.random() < 0.06 and pairs:
        c, p = r.choice(pairs)
        pairs.append((p, c))
        problems.append("cycle")
    if r.random() < 0.04 and len(pairs) > 1:
        pairs += [(p, c) for c, p in list(pairs)]
        problems.append("cycle")
    if r.random() < 0.3:  # reflexive pairs, a closure convention
        pairs += [(k, k) for k in r.sample(range(n), r.randint(1, n))]
    if r.random() < 0.2 and pairs:
        pairs += r.choices(pairs, k=3)
    r.shuffle(pairs)
    return pairs, problems


def _records(r: random.Random, ids: list[str], pairs: list[tuple[int, int]], form: str):
    def rep(k: int) -> Any:
        s = ids[k]
        if s.isdigit() and r.random() < 0.6:
            return int(s)
        return r.choice(["", " ", "\t"]) + s + r.choice(["", "  "]) if r.random() < 0.2 else s

    out: list[Any] = []
    for c, p in pairs:
        a, b = rep(c), rep(p)
        if form == "taxid":
            out.append({"descendant_taxid": a, "ancestor_taxid": b, "distance": 1})
        elif form == "idx":
            out.append({"descendant_idx": a, "ancestor_idx": b})
        else:
            out.append((a, b) if form == "tuple" else [a, b])
    return out


def _pickle_bytes(data: Any, protocol: int) -> bytes:
    try:
        return pickle.dumps(data, protocol=protocol)
    except (RecursionError, ValueError):  # deep nesting or a huge int at a text protocol
        depth = 100_000  # built by opcodes: [("a", "b"), [[[...]]]]
        return (
            b"\x80\x02](X\x01\x00\x00\x00aX\x01\x00\x00\x00bta" + b"]" * depth + b"a" * depth + b"."
        )


def pickle_case(r: random.Random, folder: Path) -> Case:
    """The prototype's closure pickle: lists of records or pairs, good or bad."""
    n = r.choice([1, 2, 4, 9, 20]) + 1
    kinds = ["int"] if r.random() < 0.5 else ["word", "unicode", "tricky", "huge"]
    ids = make_ids(r, n, kinds)
    pairs, problems = _pickle_pairs(r, n)
    form = r.choice(["taxid", "idx", "tuple", "list"])
    data: Any = _records(r, ids, pairs, form)
    bad = r.choice([*BAD_RECORDS, *BAD_TOP, "neg-int"]) if r.random() < 0.15 else None
    if bad in BAD_TOP:
        data = BAD_TOP[bad]
    elif bad is not None:
        record = (-7, "a") if bad == "neg-int" else BAD_RECORDS[bad]  # "-7" is a fine id
        data = [*data[: len(data) // 2], record, *data[len(data) // 2 :]]
    protocol = r.randint(0, pickle.HIGHEST_PROTOCOL)
    raw = _pickle_bytes(data, protocol)
    damage = r.choice([*BINARY_DAMAGE, "tail"]) if r.random() < 0.2 else None
    if damage == "tail":
        raw += r.randbytes(5)
    elif damage is not None:
        raw = bytes(BINARY_DAMAGE[damage](r, bytearray(raw)))
    path = folder / r.choice(["closure.pkl", "closure.pickle"])
    path.write_bytes(raw)
    kind = "+".join([form, f"p{protocol}", *([damage] if damage else []),
                     *([bad] if bad else []), *problems])  # fmt: skip
    case = Case("pickle", str(path), kind, str(path))
    if damage is None and bad is not None and bad != "neg-int":
        case.error = "record|expected|empty|refused"
    elif damage is None and bad is None:
        expect_pairs(case, {(ids[c].strip(), ids[p].strip()) for c, p in pairs})
    return case


def expect_pairs(case: Case, listed: set[tuple[str, str]]) -> None:
    """The exact outcome of a pickle of these (stripped) id pairs."""
    given = {e for e in listed if e[0] != e[1]}
    closure = transitive(given)
    if not listed:
        case.error = "empty"
    elif closure is None:
        case.error = "cycle"
    else:
        all_ids = {x for e in listed for x in e}

        def ok(tax: Any) -> None:
            assert set(tax.ids.tolist()) == all_ids, "ids differ"
            assert id_pairs(tax, tax.closure) == given, "given closure differs from the pairs"
            assert id_pairs(tax, tax.derived_closure()) == closure, "closure differs"

        case.ok = ok


class Reduce:
    """Unpickles as ``fn(*args)``: a payload."""

    def __init__(self, fn: Any, *args: Any) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.fn, self.args


def malicious_pickles(marker: Path) -> dict[str, bytes]:
    """Pickles that would create ``marker`` (or run other code) if any global were
    resolved: every opcode that looks up a class or function, and nested cases."""
    import copyreg

    cmd = f"touch {marker}".encode()
    out = {
        "GLOBAL os.system": b"cos\nsystem\n(S'" + cmd + b"'\ntR.",
        "GLOBAL posix.system": b"cposix\nsystem\n(S'" + cmd + b"'\ntR.",
        "INST os.system": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "OBJ os.system": b"(cos\nsystem\nS'" + cmd + b"'\no.",
        "GLOBAL builtins.eval": b'cbuiltins\neval\n(S\'__import__("os").system("%s")\'\ntR.' % cmd,
        "GLOBAL builtins.exec": b'cbuiltins\nexec\n(S\'open("%s", "w")\'\ntR.'
        % str(marker).encode(),
        "builtins.getattr p0": b"cbuiltins\ngetattr\n(cos\nS'system'\ntR(S'" + cmd + b"'\ntR.",
        "importlib": b"cimportlib\nimport_module\n(S'os'\ntR.",
        "STACK_GLOBAL subprocess.call": pickle.dumps(
            Reduce(subprocess.call, ["touch", str(marker)]), protocol=4
        ),
        "STACK_GLOBAL builtins.open": pickle.dumps(Reduce(builtins.open, str(marker), "w"), 5),
        "REDUCE os.system p2": pickle.dumps(Reduce(os.system, cmd.decode()), protocol=2),
        "getattr chain": pickle.dumps(Reduce(getattr, Reduce(__import__, "os"), "system"), 3),
        "nested in records": pickle.dumps([("a", "b"), ("c", Reduce(os.system, cmd.decode()))]),
        "inside a dict record": pickle.dumps(
            [{"descendant_taxid": Reduce(os.system, cmd.decode()), "ancestor_taxid": 1}]
        ),
        "collections.OrderedDict": pickle.dumps(collections.OrderedDict(a=1)),
        "numpy array": pickle.dumps(np.array([1, 2])),
        "a class instance": pickle.dumps(Case("x", "y", "z", "w"), protocol=2),
    }
    code = 0x7FF0  # an extension code: resolved through find_class too
    with contextlib.suppress(ValueError):
        copyreg.add_extension("os", "system", code)
    short = b"U" + bytes([len(cmd)]) + cmd
    out["EXT2 os.system"] = b"\x80\x02\x83" + struct.pack("<H", code) + short + b"\x85R."
    return out


# ====================================================================== prepared datasets
def random_taxonomy(r: random.Random, n: int, *, closure: bool = False) -> Any:
    from hyptax.data.edgelist import reduce_closure
    from hyptax.data.taxonomy import Taxonomy

    ids = make_ids(r, n, ["int", "word", "unicode", "tricky"])
    edges = random_edges(r, n)
    if closure:
        pairs = np.array(closure_of(n, edges), dtype=np.int64).reshape(-1, 2)
        return reduce_closure(ids, pairs[:, 0], pairs[:, 1], source="fuzz", stats={})
    child = np.array([c for c, _ in edges], dtype=np.int64)
    parent = np.array([p for _, p in edges], dtype=np.int64)
    ranks = [r.choice(RANKS) for _ in range(n)] if r.random() < 0.5 else None
    names = [r.choice(NAMES) for _ in range(n)] if r.random() < 0.5 else None
    return Taxonomy.from_edges(ids, child, parent, names=names, ranks=ranks, source="fuzz",
                               definition="random")  # fmt: skip


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
    "no-hash": lambda meta: {k: v for k, v in meta.items() if k != "hash"},
    "bad-hash": lambda meta: {**meta, "hash": "0" * 32},
    "manifest-types": lambda meta: {**meta, "stats": [1, 2], "source": 5},
}

ACCEPTABLE_FORGERIES = {"empty"}
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


def prepared_case(r: random.Random, folder: Path) -> Case:
    """A prepared .npz: written by ``prepared.save`` and maybe damaged or forged."""
    from hyptax.data import prepared

    tax = random_taxonomy(r, r.choice([1, 2, 5, 12, 30]), closure=r.random() < 0.3)
    path = folder / "data.npz"
    prepared.save(tax, path)
    kind = r.choice(["valid"] * 3 + list(BINARY_DAMAGE) + list(PREPARED_FOREIGN) + ["forge"] * 6)
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
            case.error = "damaged|cycle|not a prepared|hash"
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


# ====================================================================== checkpoints
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
    "version": (lambda ck, m: {**ck, "hyptax_version": "0.0.1"}, r"written by hyptax 0\.0\.1"),
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
    "nested-history": (lambda ck, m: {**ck, "history": [_deep(200)]}, ""),
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


def checkpoint_case(r: random.Random, folder: Path) -> Case:
    """A checkpoint: valid, damaged bytes, or a dict with one thing wrong."""
    import torch

    from hyptax import __version__
    from hyptax.training.checkpoint import save_checkpoint

    ck = valid_checkpoint(r, r.choice([1, 3, 10]), r.choice([2, 5]))
    path = folder / "ckpt.pt"
    save_checkpoint(path, ck)
    kind = r.choice([*CHECKPOINT_KINDS, "valid", "valid", *BINARY_DAMAGE])
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


# ====================================================================== the loop
GENERATORS: dict[str, Callable[[random.Random, Path], Case]] = {
    "edges": edges_case,
    "taxdump": taxdump_case,
    "pickle": pickle_case,
    "prepared": prepared_case,
    "checkpoint": checkpoint_case,
}


def case_folder(root: Path, k: int) -> Path:
    """A fresh, empty folder for case ``k`` (cleared first)."""
    folder = root / f"case{k % 4}"
    if folder.exists():
        for p in sorted(folder.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fuzz(fmt: str, n: int, seed: int, root: Path) -> dict[str, int]:
    """Run ``n`` generated cases of ``fmt``; returns outcome counts (``ok``, ``error``,
    and ``exact``: cases with an exact expected outcome)."""
    outcomes: collections.Counter[str] = collections.Counter()
    generate = GENERATORS[fmt]
    for k in range(n):
        r = random.Random(f"{fmt}-{seed}-{k}")
        folder = case_folder(root, k)
        case = generate(r, folder / "d" if fmt == "taxdump" else folder)
        outcome, _ = run_case(case)
        outcomes[outcome] += 1
        outcomes["exact"] += case.ok is not None or case.error is not None
    return dict(outcomes)
