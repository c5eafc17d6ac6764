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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hyptax.config import MAIN_RANKS, DataOptions
from hyptax.errors import HyptaxError

COUNTS: collections.Counter[str] = collections.Counter()
"""Fuzz cases run in this process, by format."""

CASE_SECONDS = 10.0
"""A case that takes longer counts as a hang (inputs are small: milliseconds each)."""


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
        error: regex an error message must match when the input is known bad;
            ``None`` with ``ok`` set: the input is known good.
        ok: a check of the result for a known-good input (raises AssertionError).
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
    except BaseException as exc:  # noqa: BLE001 - anything else is the bug we look for
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise AssertionError(
            f"{case.describe()}: {type(exc).__name__} escaped: {str(exc)[:300]}"
        ) from exc
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


def _reference(n: int, child: list[int], parent: list[int]) -> tuple[set[tuple[int, int]], list[int]]:
    """``(closure pairs, longest-path depth)`` by a plain topological walk."""
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
    key = d.astype(np.int64) * max(n, 1) + a
    assert (np.diff(key) > 0).all(), "derived closure not sorted and unique"
    assert set(zip(d.tolist(), a.tolist(), strict=True)) == ref, "derived closure is wrong"
    if tax.given_closure is not None:
        gd, ga = tax.given_closure
        gkey = gd.astype(np.int64) * max(n, 1) + ga
        assert (np.diff(gkey) > 0).all(), "given closure not sorted and unique"
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
    ids = sorted({x for e in edges for x in e})
    index = {s: i for i, s in enumerate(ids)}
    c = [index[a] for a, _ in edges]
    p = [index[b] for _, b in edges]
    try:
        ref = reference_closure(len(ids), c, p)
    except AssertionError:
        return None
    if any(x == y for x, y in edges):
        return None
    return {(ids[x], ids[y]) for x, y in ref}


# ====================================================================== ids
UNICODE = ["Homo sapiens", "Ærøskøbing", "日本語", "émile", "Ελληνικά", "🦊 fox", "ñandú",
           "Straße", "עברית", "a\u0301b", "Zoë", "Ωmega", "ᐊᐃ", "x\u200by"]  # fmt: skip
TRICKY = ['a,b', 'say "hi"', "it's", "semi;colon", "pipe|bar", "back\\slash", "x#y",
          "  spaced  out ", "comma, space", '"quoted"', "tab-free", "%s", "{}", "NaN", "-1"]  # fmt: skip
HEADERISH = ["child", "parent", "node", "ID1", "ancestor"]


def make_ids(r: random.Random, n: int, kinds: list[str]) -> list[str]:
    """``n`` distinct ids (distinct after stripping), of the given kinds."""
    out: dict[str, None] = {}
    while len(out) < n:
        kind = r.choice(kinds)
        if kind == "int":
            s = str(r.randint(0, 10 * n + 10))
        elif kind == "huge":
            s = str(r.randint(10**18, 10**60))
        elif kind == "word":
            s = "".join(r.choices(string.ascii_letters + "_.-", k=r.randint(1, 10)))
        elif kind == "unicode":
            s = r.choice(UNICODE) + str(r.randint(0, 999))
        elif kind == "tricky":
            s = r.choice(TRICKY) + str(r.randint(0, 999))
        elif kind == "long":
            s = "L" + "".join(r.choices(string.ascii_lowercase, k=r.randint(200, 3000)))
        elif kind == "headerish":
            s = r.choice(HEADERISH)
        elif kind == "control":
            s = "c" + r.choice(["\x00", "\x1f", "\x7f", "\u2028", "\x85", "\r", "\n", "\x0b"])
            s += str(r.randint(0, 999))
        else:
            raise ValueError(kind)
        s = s.strip() or "e"
        out.setdefault(s, None)
    return list(out)


ID_KINDS = ["int", "huge", "word", "unicode", "tricky", "long", "headerish", "control"]


def random_edges(r: random.Random, n: int) -> list[tuple[int, int]]:
    """Acyclic parent edges ``(child, parent)`` over ``0..n-1`` (child > parent)."""
    shape = r.choice(["tree", "tree", "dag", "chain", "star", "forest"])
    edges = []
    for i in range(1, n):
        if shape == "chain":
            edges.append((i, i - 1))
        elif shape == "star":
            edges.append((i, 0))
        elif shape == "forest" and r.random() < 0.2:
            continue
        else:
            edges.append((i, r.randrange(i)))
            if shape == "dag" and i > 2 and r.random() < 0.3:
                j = r.randrange(i)
                if (i, j) not in edges:
                    edges.append((i, j))
    return edges


def closure_of(n: int, edges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    ref = reference_closure(n, [c for c, _ in edges], [p for _, p in edges])
    return sorted(ref)


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


def emit_edges(r: random.Random, rows: list[tuple[str, ...]], fmt: str, header: str | None,
               crlf: bool, noise: bool) -> str:  # fmt: skip
    """The text of an edge list in ``fmt`` (``header``: None, "child" or "parent")."""
    nl = "\r\n" if crlf else "\n"
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
        if fmt in ("csv", "txt-comma"):
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(row)
            line = buf.getvalue()
        elif fmt in ("tsv", "txt-tab"):
            pad = (lambda s: r.choice(["", " ", "  "]) + s + r.choice(["", " "])) if noise else str
            line = "\t".join(pad(s) for s in row)
        else:
            line = r.choice([" ", "  ", "\t "]).join(row) if noise else " ".join(row)
            line = line.replace("\t", " ") if fmt == "txt-space" else line
        lines.append(line)
        if noise and r.random() < 0.1:
            lines.append(r.choice(["", "# a comment, with a comma", "   ", "#"]))
    if noise and r.random() < 0.3:
        lines.insert(0, "# exported by someone")
    return nl.join(lines) + (nl if r.random() < 0.8 else "")


def edges_case(r: random.Random, folder: Path) -> Case:
    """An edge list: faithful (exact expected outcome) or mutated (invariants only)."""
    fmt = r.choice(EDGE_FORMATS)
    n = r.choice([1, 2, 3, 5, 8, 13, 21, 40])
    kinds = r.sample(ID_KINDS, k=r.randint(1, 3))
    ids = make_ids(r, n + 1, kinds)
    edges = random_edges(r, n + 1)
    as_closure = r.random() < 0.3
    pairs = closure_of(n + 1, edges) if as_closure else list(edges)
    if as_closure and r.random() < 0.3:  # a closure missing some implied pairs
        direct = set(edges)
        pairs = [e for e in pairs if e in direct or r.random() < 0.7]
    problems: list[str] = []
    if r.random() < 0.08:
        k = r.randrange(n + 1)
        pairs.append((k, k))
        problems.append("self-loop")
    if r.random() < 0.08 and pairs:
        c, p = r.choice([e for e in pairs if e[0] != e[1]] or [(0, 0)])
        if c != p:
            pairs.append((p, c))  # the reverse of an edge: a cycle of two
            problems.append("cycle")
    if r.random() < 0.05 and as_closure:  # a whole closure made cyclic: every pair
        pairs += [(p, c) for c, p in list(pairs) if c != p]
        problems.append("cycle")
    if r.random() < 0.2 and pairs:
        pairs += r.choices(pairs, k=r.randint(1, 5))  # duplicates
    r.shuffle(pairs)
    rows: list[tuple[str, ...]] = [(ids[c], ids[p]) for c, p in pairs]
    if r.random() < 0.06 and rows:
        k = r.randrange(len(rows))
        rows[k] = ("", rows[k][1]) if r.random() < 0.5 else (rows[k][0], "  ")
        problems.append("empty")
    extra = r.random() < 0.15
    if extra:
        rows = [(*row, str(r.random())) for row in rows]
    header = r.choice([None, None, None, "child", "parent"])
    if header == "parent":
        rows = [(row[1], row[0], *row[2:]) for row in rows]
    crlf, noise = r.random() < 0.2, r.random() < 0.4
    text = emit_edges(r, rows, fmt, header, crlf, noise)
    suffix = {"csv": ".csv", "tsv": ".tsv"}.get(fmt, ".txt")
    faithful = all(representable(fmt, s) for row in rows for s in row[:2] if s.strip())
    if header is None and rows and rows[0][0].lower() in HEADERISH + ["id1"]:
        faithful = False  # a first edge that reads as a header
    if fmt.startswith("txt") and rows and fmt != _txt_kind(text):
        faithful = False
    raw = text.encode("utf-8")
    if r.random() < 0.1:
        raw = b"\xef\xbb\xbf" + raw  # a BOM
    mutation = None
    if r.random() < 0.35:
        mutation, raw, faithful = mutate_text(r, raw)
    gz = r.random() < 0.15
    if gz:
        raw = gzip.compress(raw, mtime=0)
        if r.random() < 0.2:
            raw = raw[: r.randrange(len(raw))]
            mutation, faithful = "gz-truncated", False
        suffix += ".gz"
    elif r.random() < 0.02:
        suffix += ".gz"  # named .gz, not gzip
        mutation, faithful = "not-gzip", False
    path = folder / f"edges{suffix}"
    path.write_bytes(raw)
    kind = f"{fmt}{'+closure' if as_closure else ''}{'+' + mutation if mutation else ''}"
    kind += "".join(f"+{p}" for p in problems)
    case = Case("edges", str(path), kind, str(path))
    if not faithful:
        return case
    user = [(row[0].strip(), row[1].strip()) for row in rows]
    user_pairs = {(c, p) for c, p in user if c or p}
    if not user_pairs:
        case.error = "empty"
    elif problems and ("self-loop" in problems or "empty" in problems):
        case.error = "self-loop|empty"
    elif transitive(user_pairs) is None:
        case.error = "cycle"
    else:
        case.ok = _expect_edges(user_pairs)
    return case


def _txt_kind(text: str) -> str:
    first = next((s for s in text.splitlines() if s.strip() and not s.lstrip().startswith("#")),
                 "")  # fmt: skip
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


def mutate_text(r: random.Random, raw: bytes) -> tuple[str, bytes, bool]:
    """Damage a text file; returns (label, bytes, still faithful)."""
    kind = r.choice(["truncate", "flip", "insert", "delete-line-sep", "latin1", "utf16",
                     "mixed", "nul", "swap-delim", "random", "empty", "whitespace"])  # fmt: skip
    b = bytearray(raw)
    if kind == "truncate" and b:
        b = b[: r.randrange(len(b))]
    elif kind == "flip" and b:
        for _ in range(r.randint(1, 4)):
            b[r.randrange(len(b))] = r.randrange(256)
    elif kind == "insert":
        for _ in range(r.randint(1, 4)):
            at = r.randrange(len(b) + 1)
            b[at:at] = bytes(r.randrange(256) for _ in range(r.randint(1, 3)))
    elif kind == "delete-line-sep":
        for sep in (b",", b"\t", b" "):
            at = b.find(sep, r.randrange(len(b) + 1))
            if at >= 0:
                del b[at]
                break
    elif kind == "latin1":
        b = bytearray(raw.decode("utf-8", "replace").encode("latin-1", "replace"))
    elif kind == "utf16":
        b = bytearray(raw.decode("utf-8", "replace").encode("utf-16"))
    elif kind == "mixed":  # one line re-encoded as latin-1
        lines = raw.split(b"\n")
        k = r.randrange(len(lines))
        lines[k] = (lines[k].decode("utf-8", "replace") + "é").encode("latin-1", "replace")
        b = bytearray(b"\n".join(lines))
    elif kind == "nul":
        b[r.randrange(len(b) + 1) : 0] = b"\x00"
    elif kind == "swap-delim":
        b = bytearray(raw.replace(b"\t", b";").replace(b",", b"\t"))
    elif kind == "random":
        b = bytearray(r.randbytes(r.randint(1, 400)))
    elif kind == "empty":
        b = bytearray()
    elif kind == "whitespace":
        b = bytearray(b" \n\t\r\n  \n")
    return kind, bytes(b), False


# ====================================================================== taxdump
RANKS = [*MAIN_RANKS, "no rank", "clade", "domain", "subspecies", "", "ränk", "species group"]
NAMES = ["Bacteria", "Homo sapiens", "uncultured bacterium", "Bacillus sp. XYZ",
         "unclassified Bacteria", "environmental samples", "Pinus incertae sedis",
         "soil metagenome", "Aus cf. bus", "Ærø", "🦊", "A|B", "x y  z", "", "root"]  # fmt: skip


def taxdump_case(r: random.Random, folder: Path) -> Case:
    """A nodes.dmp + names.dmp pair (NCBI layout), faithful or damaged."""
    folder.mkdir(parents=True, exist_ok=True)
    n = r.choice([1, 2, 3, 6, 12, 30])
    scale = r.choice([4 * n + 2, 10**6, 10**12, 10**18 - 1])
    tax_ids = r.sample(range(1, scale + 1), n) if scale < 10**7 else [
        r.randint(1, scale) for _ in range(n)]  # fmt: skip
    if len(set(tax_ids)) < n:
        tax_ids = list(dict.fromkeys(tax_ids))
        n = len(tax_ids)
    parents = [tax_ids[0]] + [tax_ids[r.randrange(i)] for i in range(1, n)]
    for i in range(1, n):
        if r.random() < 0.05:
            parents[i] = tax_ids[i]  # another root
    ranks = [r.choice(RANKS) for _ in range(n)]
    names = [r.choice(NAMES) + (str(r.randint(0, 99)) if r.random() < 0.5 else "")
             for _ in range(n)]  # fmt: skip
    problems: list[str] = []
    id_text = [str(t) for t in tax_ids]
    parent_text = [str(p) for p in parents]
    if r.random() < 0.06 and n > 1:
        id_text[r.randrange(1, n)] = id_text[0]
        problems.append("appears twice")
    if r.random() < 0.06:
        parent_text[r.randrange(n)] = str(max(tax_ids) + 1)
        problems.append("unknown parent")
    if r.random() < 0.06 and n > 2:
        a, b = r.sample(range(1, n), 2)
        parent_text[a], parent_text[b] = id_text[b], id_text[a]
        problems.append("cycle")
    if r.random() < 0.05:
        parent_text[0] = id_text[-1] if n > 1 else parent_text[0]
        if n > 1:
            problems.append("cycle")
    if r.random() < 0.06:
        k = r.randrange(n)
        bad = r.choice(["12a", "-3", "", " 7", "1.5", "9" * 19, "٣", "0x1F"])
        if r.random() < 0.5:
            id_text[k] = bad
        else:
            parent_text[k] = bad
        problems.append("not a whole number|appears twice|unknown parent|cycle")
    n_fields = r.choice([13, 13, 18, 3, 4])
    end = r.choice(["\t|", "\t|", ""])
    nl = r.choice(["\n", "\n", "\r\n"])
    rest = ["", "0", "1", "11", "1", "0", "1", "0", "0", ""] + ["0"] * max(0, n_fields - 13)
    node_lines = []
    for i in range(n):
        fields = [id_text[i], parent_text[i], ranks[i], *rest][:n_fields]
        node_lines.append("\t|\t".join(fields) + end)
    if r.random() < 0.05:
        k = r.randrange(n)
        node_lines[k] = node_lines[k].replace("\t|\t", "\t|\t\t|\t", 1)
        problems.append("fields")
    order = list(range(n))
    r.shuffle(order)
    node_text = nl.join(node_lines[i] for i in order) + nl
    first_name: dict[str, str] = {}
    name_lines = []
    for i in order:
        if r.random() < 0.9:
            name_lines.append(f"{id_text[i]}\t|\t{names[i]}\t|\t\t|\tscientific name{end}")
            first_name.setdefault(id_text[i], names[i])
        if r.random() < 0.3:
            name_lines.append(f"{id_text[i]}\t|\t{names[i].upper()}\t|\t\t|\tsynonym{end}")
        if r.random() < 0.05:
            name_lines.append(f"{id_text[i]}\t|\tSecond{i}\t|\t\t|\tscientific name{end}")
            first_name.setdefault(id_text[i], f"Second{i}")
    if r.random() < 0.1:
        name_lines.append(f"{scale + 7}\t|\tOrphan\t|\t\t|\tscientific name{end}")
    r.shuffle(name_lines) if r.random() < 0.2 else None
    if r.random() < 0.1:  # blank lines
        name_lines.insert(r.randrange(len(name_lines) + 1), "")
    name_text = nl.join(name_lines) + (nl if name_lines else "")
    nodes, names_raw = node_text.encode(), name_text.encode()
    mutation = None
    if r.random() < 0.3:
        if r.random() < 0.5:
            mutation, nodes, _ = mutate_text(r, nodes)
        else:
            mutation, names_raw, _ = mutate_text(r, names_raw)
    if not name_lines and mutation is None:
        mutation = "no-names"
    (folder / "nodes.dmp").write_bytes(nodes)
    (folder / "names.dmp").write_bytes(names_raw)
    options = DataOptions()
    if r.random() < 0.35:
        options = DataOptions(
            ranks=r.choice(["main", "all"]),
            lowest_rank=r.choice([None, "phylum", "genus", "species"]),
            clean=r.random() < 0.5,
        )
    kind = f"{n_fields}f{'+' + mutation if mutation else ''}" + "".join(f"+{p}" for p in problems)
    case = Case("taxdump", f"taxdump:{folder}", kind, str(folder), options=options)
    if mutation is not None:
        return case
    if problems:
        case.error = "|".join(problems)
        return case
    # Names: the first scientific name in file order, else the id (found by tax_id).
    want_names = {t: first_name.get(t, t) for t in id_text}
    want_pairs = {(c, p) for c, p in zip(id_text, parent_text, strict=True) if c != p}
    want_ranks = dict(zip(id_text, ranks, strict=True))
    if options != DataOptions():

        def subset(tax: Any) -> None:
            assert set(tax.ids.tolist()) <= set(id_text), "ids not in nodes.dmp"

        case.ok = subset
        return case

    def ok(tax: Any) -> None:
        assert sorted(tax.ids.tolist()) == sorted(id_text), "taxa differ"
        assert id_pairs(tax, (tax.child, tax.parent)) == want_pairs, "parent edges differ"
        got = dict(zip(tax.ids.tolist(), tax.names.tolist(), strict=True))
        assert got == want_names, "names differ"
        assert dict(zip(tax.ids.tolist(), tax.ranks.tolist(), strict=True)) == want_ranks

    case.ok = ok
    return case


# ====================================================================== pickles
def pickle_case(r: random.Random, folder: Path) -> Case:
    """The prototype's closure pickle: lists of records or pairs, good or bad."""
    n = r.choice([1, 2, 4, 9, 20])
    numeric = r.random() < 0.5
    ids = make_ids(r, n + 1, ["int"] if numeric else ["word", "unicode", "tricky", "huge"])
    edges = random_edges(r, n + 1)
    pairs = closure_of(n + 1, edges) if r.random() < 0.7 else list(edges)
    problems: list[str] = []
    if r.random() < 0.06 and pairs:
        c, p = r.choice(pairs)
        pairs.append((p, c))
        problems.append("cycle")
    if r.random() < 0.04 and len(pairs) > 1:
        pairs += [(p, c) for c, p in list(pairs)]
        problems.append("cycle")
    reflexive = r.random() < 0.3
    if reflexive:
        pairs += [(k, k) for k in r.sample(range(n + 1), r.randint(1, n + 1))]
    if r.random() < 0.2 and pairs:
        pairs += r.choices(pairs, k=3)
    r.shuffle(pairs)

    def rep(k: int) -> Any:
        s = ids[k]
        if numeric and r.random() < 0.6:
            return int(s)
        return r.choice(["", " ", "\t"]) + s + r.choice(["", "  "]) if r.random() < 0.2 else s

    form = r.choice(["taxid", "idx", "tuple", "list"])
    records: list[Any] = []
    for c, p in pairs:
        a, b = rep(c), rep(p)
        if form == "taxid":
            records.append({"descendant_taxid": a, "ancestor_taxid": b, "distance": 1})
        elif form == "idx":
            records.append({"descendant_idx": a, "ancestor_idx": b})
        else:
            records.append((a, b) if form == "tuple" else [a, b])
    data: Any = records
    bad = None
    if r.random() < 0.15:
        bad = r.choice(["float", "none", "bool", "bytes", "empty-str", "triple", "dict-keys",
                        "string-record", "top-dict", "top-int", "empty-list", "deep", "bigint",
                        "neg-int", "nested-id", "set"])  # fmt: skip
        data = _bad_pickle_data(r, records, bad)
        problems.append(bad)
    protocol = r.randint(0, pickle.HIGHEST_PROTOCOL)
    try:
        raw = pickle.dumps(data, protocol=protocol)
    except RecursionError:  # "deep" at a low protocol: build by opcodes instead
        raw = _deep_pickle(records)
    mutation = None
    if r.random() < 0.2:
        mutation = r.choice(["truncate", "flip", "random", "empty", "tail"])
        b = bytearray(raw)
        if mutation == "truncate":
            b = b[: r.randrange(len(b))]
        elif mutation == "flip":
            for _ in range(r.randint(1, 3)):
                b[r.randrange(len(b))] = r.randrange(256)
        elif mutation == "random":
            b = bytearray(r.randbytes(r.randint(1, 200)))
        elif mutation == "empty":
            b = bytearray()
        else:
            b += r.randbytes(5)
        raw = bytes(b)
    path = folder / r.choice(["closure.pkl", "closure.pickle"])
    path.write_bytes(raw)
    kind = f"{form}+p{protocol}{'+' + mutation if mutation else ''}" + "".join(
        f"+{p}" for p in problems
    )
    case = Case("pickle", str(path), kind, str(path))
    if mutation is not None:
        return case
    if bad is not None:
        if bad != "neg-int":  # a negative whole number is a valid id ("-7")
            case.error = "record|expected|empty"
        return case
    listed = {(ids[c], ids[p]) for c, p in pairs}
    given = {e for e in listed if e[0] != e[1]}
    closure = transitive(given)
    if closure is None:
        case.error = "cycle"
        return case
    all_ids = {x for e in listed for x in e}

    def ok(tax: Any) -> None:
        assert set(tax.ids.tolist()) == all_ids, "ids differ"
        assert id_pairs(tax, tax.closure) == given, "given closure differs from the pairs"
        assert id_pairs(tax, tax.derived_closure()) == closure, "closure differs"

    case.ok = ok
    return case


def _bad_pickle_data(r: random.Random, records: list[Any], bad: str) -> Any:
    recs = list(records) or [("a", "b")]
    k = r.randrange(len(recs))
    if bad == "float":
        recs[k] = (1.5, "a")
    elif bad == "none":
        recs[k] = (None, "a")
    elif bad == "bool":
        recs[k] = (True, "a")
    elif bad == "bytes":
        recs[k] = (b"a", "b")
    elif bad == "empty-str":
        recs[k] = ("  ", "a")
    elif bad == "triple":
        recs[k] = ("a", "b", "c")
    elif bad == "dict-keys":
        recs[k] = {"child": "a", "parent": "b"}
    elif bad == "string-record":
        recs[k] = "a,b"
    elif bad == "top-dict":
        return {"pairs": recs}
    elif bad == "top-int":
        return 42
    elif bad == "empty-list":
        return []
    elif bad == "deep":
        x: Any = "a"
        for _ in range(2000):
            x = [x]
        recs[k] = ("a", x)
    elif bad == "bigint":
        recs[k] = (10**5000, "a")
    elif bad == "neg-int":
        recs[k] = (-7, "a")  # a whole number: accepted as the id "-7"
    elif bad == "nested-id":
        recs[k] = (("a",), "b")
    elif bad == "set":
        return {("a", "b")}
    return recs


def _deep_pickle(records: list[Any]) -> bytes:
    """A record nested 100,000 lists deep, built by opcodes (pickle.dumps would recurse)."""
    depth = 100_000
    return b"\x80\x02](X\x01\x00\x00\x00aX\x01\x00\x00\x00bta" + b"]" * depth + b"a" * depth + b"."


MARKER = "hyptax-payload-ran"


def malicious_pickles(marker: Path) -> dict[str, bytes]:
    """Pickles that would create ``marker`` (or run other code) if any global were
    resolved: every opcode that looks up a class or function, and nested cases."""
    import copyreg

    cmd = f"touch {marker}".encode()

    def short(s: bytes) -> bytes:
        return b"U" + bytes([len(s)]) + s

    class Reduce:
        def __init__(self, fn: Any, args: tuple[Any, ...]) -> None:
            self.fn, self.args = fn, args

        def __reduce__(self) -> tuple[Any, ...]:
            return self.fn, self.args

    import builtins
    import subprocess

    out = {
        "GLOBAL os.system": b"cos\nsystem\n(S'" + cmd + b"'\ntR.",
        "GLOBAL posix.system": b"cposix\nsystem\n(S'" + cmd + b"'\ntR.",
        "INST os.system": b"(S'" + cmd + b"'\nios\nsystem\n.",
        "OBJ os.system": b"(cos\nsystem\nS'" + cmd + b"'\no.",
        "GLOBAL builtins.eval": b"cbuiltins\neval\n(S'__import__(\"os\").system(\"" + cmd
        + b"\")'\ntR.",
        "GLOBAL builtins.exec": b"cbuiltins\nexec\n(S'open(\"" + str(marker).encode()
        + b"\", \"w\")'\ntR.",
        "STACK_GLOBAL subprocess.call": pickle.dumps(
            Reduce(subprocess.call, (["touch", str(marker)],)), protocol=4
        ),
        "STACK_GLOBAL builtins.open": pickle.dumps(Reduce(builtins.open, (str(marker), "w")),
                                                   protocol=5),  # fmt: skip
        "REDUCE os.system p2": pickle.dumps(Reduce(os.system, (cmd.decode(),)), protocol=2),
        "getattr chain": pickle.dumps(Reduce(getattr, (os, "system")), protocol=3),
        "nested in records": pickle.dumps(
            [("a", "b"), ("c", Reduce(os.system, (cmd.decode(),)))], protocol=4
        ),
        "inside a dict record": pickle.dumps(
            [{"descendant_taxid": Reduce(os.system, (cmd.decode(),)), "ancestor_taxid": 1}]
        ),
        "collections.OrderedDict": pickle.dumps(collections.OrderedDict(a=1)),
        "numpy array": pickle.dumps(np.array([1, 2])),
        "a class instance": pickle.dumps(Case("x", "y", "z", "w"), protocol=2),
        "builtins.getattr p0": b"cbuiltins\ngetattr\n(cos\nS'system'\ntR(S'" + cmd + b"'\ntR.",
        "importlib": b"cimportlib\nimport_module\n(S'os'\ntR.",
    }
    code = 0x7FF0  # an extension code: resolved through find_class too
    with contextlib.suppress(ValueError):
        copyreg.add_extension("os", "system", code)
    out["EXT2 os.system"] = (
        b"\x80\x02\x83" + struct.pack("<H", code) + short(cmd) + b"\x85R."
    )
    return out


# ====================================================================== prepared
def random_taxonomy(r: random.Random, n: int, *, closure: bool = False) -> Any:
    from hyptax.data.edgelist import reduce_closure
    from hyptax.data.taxonomy import Taxonomy

    ids = make_ids(r, n, ["int", "word", "unicode", "tricky"])
    edges = random_edges(r, n)
    if closure:
        pairs = closure_of(n, edges)
        d = np.array([c for c, _ in pairs], dtype=np.int64)
        a = np.array([p for _, p in pairs], dtype=np.int64)
        return reduce_closure(ids, d, a, source="fuzz", stats={"input_form": "closure"})
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


FORGERIES = ["cycle", "self-loop", "dup-edges", "dup-ids", "out-of-range", "negative",
             "float-child", "2d-child", "len-mismatch", "closure-mismatch", "closure-cycle",
             "missing-array", "object-array", "manifest-not-json", "manifest-list",
             "wrong-format", "no-hash", "bad-hash", "ids-not-utf8", "empty", "names-short",
             "closure-out-of-range", "huge-index", "bool-child"]  # fmt: skip


def prepared_case(r: random.Random, folder: Path) -> Case:
    """A prepared .npz: written by ``prepared.save`` and maybe damaged or forged."""
    from hyptax.data import prepared

    tax = random_taxonomy(r, r.choice([1, 2, 5, 12, 30]), closure=r.random() < 0.3)
    path = folder / "data.npz"
    prepared.save(tax, path)
    kind = r.choice(["valid"] * 3 + ["truncate", "flip", "append", "garbage", "empty", "npy",
                     "zip-other", "pickle"] + ["forge"] * 6)  # fmt: skip
    case = Case("prepared", str(path), kind, str(path))
    raw = bytearray(path.read_bytes())
    if kind == "valid":
        case.ok = _expect_same(tax)
    elif kind == "truncate":
        path.write_bytes(raw[: r.randrange(len(raw))])
    elif kind == "flip":
        for _ in range(r.randint(1, 6)):
            raw[r.randrange(len(raw))] = r.randrange(256)
        path.write_bytes(raw)
    elif kind == "append":
        path.write_bytes(raw + r.randbytes(r.randint(1, 100)))
    elif kind == "garbage":
        path.write_bytes(r.randbytes(r.randint(1, 500)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "npy":  # a bare .npy array named .npz
        with path.open("wb") as fh:
            np.save(fh, np.arange(5))
    elif kind == "zip-other":
        import zipfile

        with zipfile.ZipFile(path, "w") as z:
            z.writestr("hello.txt", "not numpy")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps({"ids": ["a"]}))
    else:
        what = r.choice(FORGERIES)
        case.kind = f"forge:{what}"
        arrays = dict(np.load(path, allow_pickle=False))
        case.error = _forge(r, arrays, what, path)
    return case


def _expect_same(tax: Any) -> Callable[[Any], None]:
    from hyptax.data.prepared import dataset_hash

    def ok(got: Any) -> None:
        assert got.ids.tolist() == [s.replace("\n", " ") for s in tax.ids.tolist()]
        assert got.names.tolist() == [s.replace("\n", " ") for s in tax.names.tolist()]
        assert np.array_equal(got.child, tax.child) and np.array_equal(got.parent, tax.parent)
        assert (got.ranks is None) == (tax.ranks is None)
        assert (got.given_closure is None) == (tax.given_closure is None)
        assert dataset_hash(got) == dataset_hash(tax)

    return ok


def _forge(r: random.Random, a: dict[str, np.ndarray], what: str, path: Path) -> str | None:
    """Rewrite the arrays with one problem and a content hash that matches them.
    Returns the regex the error must match (None: accepting is also fine)."""
    meta = json.loads(bytes(a["manifest"]).decode())
    n = len(bytes(a["ids"]).split(b"\n"))
    child, parent = a["child"], a["parent"]
    expect: str | None = "damaged|cycle|self-loop|duplicate|not a prepared|hash|empty"
    if what == "cycle":
        a["child"] = np.concatenate([child, [0, 1 % n]]).astype(np.int32)
        a["parent"] = np.concatenate([parent, [1 % n, 0]]).astype(np.int32)
    elif what == "self-loop":
        a["child"] = np.append(child, 0).astype(np.int32)
        a["parent"] = np.append(parent, 0).astype(np.int32)
    elif what == "dup-edges":
        if len(child):
            a["child"], a["parent"] = np.append(child, child[0]), np.append(parent, parent[0])
        else:
            expect = None
    elif what == "dup-ids":
        ids = bytes(a["ids"]).split(b"\n")
        ids = ids + [ids[0]]
        a["ids"] = np.frombuffer(b"\n".join(ids), np.uint8)
        a["names"] = np.frombuffer(b"\n".join([b"x"] * len(ids)), np.uint8)
        a.pop("ranks", None)
    elif what == "out-of-range":
        a["child"] = np.append(child, n).astype(np.int32)
        a["parent"] = np.append(parent, 0).astype(np.int32)
    elif what == "negative":
        a["child"] = np.append(child, -1).astype(np.int32)
        a["parent"] = np.append(parent, 0).astype(np.int32)
    elif what == "float-child":
        a["child"] = child.astype(np.float64) + 0.5
    elif what == "2d-child":
        a["child"] = np.stack([child, child], axis=1)
    elif what == "len-mismatch":
        a["child"] = np.append(child, 0).astype(np.int32)
    elif what == "closure-mismatch":
        a["closure_desc"] = np.array([1 % n], np.int32)
        a["closure_anc"] = np.array([], np.int32)
    elif what == "closure-cycle":
        a["closure_desc"] = np.array([0, 1 % n], np.int32)
        a["closure_anc"] = np.array([1 % n, 0], np.int32)
    elif what == "closure-out-of-range":
        a["closure_desc"] = np.array([n + 5], np.int32)
        a["closure_anc"] = np.array([0], np.int32)
    elif what == "missing-array":
        a.pop(r.choice(["ids", "names", "child", "parent"]))
    elif what == "object-array":
        a["child"] = np.array([object()] * len(child), dtype=object)
    elif what == "manifest-not-json":
        a["manifest"] = np.frombuffer(b"{not json", np.uint8)
    elif what == "manifest-list":
        a["manifest"] = np.frombuffer(b"[1, 2]", np.uint8)
    elif what == "wrong-format":
        meta["format"] = "hyptax-dataset-0"
    elif what == "no-hash":
        meta.pop("hash")
    elif what == "bad-hash":
        meta["hash"] = "0" * 32
    elif what == "ids-not-utf8":
        a["ids"] = np.frombuffer(bytes(a["ids"]) + b"\n\xff\xfe", np.uint8)
    elif what == "empty":
        for key in ("ids", "names", "ranks"):
            if key in a:
                a[key] = np.zeros(0, np.uint8)
        a["child"] = a["parent"] = np.zeros(0, np.int32)
        a.pop("closure_desc", None)
        a.pop("closure_anc", None)
        expect = None  # an empty dataset may load (training refuses it later)
    elif what == "names-short":
        a["names"] = np.zeros(0, np.uint8) if n > 1 else np.frombuffer(b"a\nb", np.uint8)
    elif what == "huge-index":
        a["child"] = np.append(child, 2**40).astype(np.int64)
        a["parent"] = np.append(parent, 0).astype(np.int64)
    elif what == "bool-child":
        a["child"] = np.ones(len(child), dtype=bool)
    if what not in ("bad-hash", "no-hash", "wrong-format") and "manifest" in a:
        with contextlib.suppress(Exception):
            meta["hash"] = forged_hash(a)
            if what not in ("manifest-not-json", "manifest-list"):
                a["manifest"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    with path.open("wb") as fh:
        np.savez(fh, **a)
    return expect


# ====================================================================== checkpoints
def valid_checkpoint(r: random.Random, n: int, dim: int) -> dict[str, Any]:
    """A checkpoint dict as training writes it (plain types and tensors)."""
    import torch

    from hyptax.config import TrainConfig, to_dict

    ids = [f"n{i}" for i in range(n)]
    g = torch.Generator().manual_seed(r.randrange(2**31))
    dtype = r.choice([torch.float32, torch.float64])
    w = (torch.rand(n, dim, generator=g, dtype=dtype) - 0.5) * (0.9 / dim**0.5)
    return {
        "config": to_dict(TrainConfig(data="x.tsv", dim=dim)),
        "data": {"spec": "x.tsv", "options": {}, "hash": "ab" * 16, "n_nodes": n},
        "ids": ids,
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


CHECKPOINT_DAMAGE = ["valid", "valid", "valid", "truncate", "flip", "garbage", "empty", "legacy",
                     "version", "format", "missing", "ids-str", "weight-list", "epoch-float",
                     "nan", "inf", "shape", "1d", "int", "complex", "sparse", "half", "ids-int",
                     "malicious", "plain-pickle", "nested-history", "names-short",
                     "manifold-unknown", "param", "zero-rows"]  # fmt: skip


def checkpoint_case(r: random.Random, folder: Path) -> Case:
    import torch

    from hyptax.training.checkpoint import save_checkpoint

    ck = valid_checkpoint(r, r.choice([1, 3, 10]), r.choice([2, 5]))
    path = folder / "ckpt.pt"
    kind = r.choice(CHECKPOINT_DAMAGE)
    case = Case("checkpoint", str(path), kind, str(path))
    marker = folder / MARKER
    expect = "checkpoint|version|weights"
    save_checkpoint(path, ck)
    raw = bytearray(path.read_bytes())

    def write(obj: Any, **kw: Any) -> None:
        with path.open("wb") as fh:
            torch.save(obj, fh, **kw)

    full = {"format": "hyptax-checkpoint", "hyptax_version": _version(), **ck}
    if kind == "valid":
        case.ok = lambda got: None
        return case
    if kind == "truncate":
        path.write_bytes(raw[: r.randrange(len(raw))])
        return case
    if kind == "flip":
        for _ in range(r.randint(1, 6)):
            raw[r.randrange(len(raw))] = r.randrange(256)
        path.write_bytes(raw)
        return case
    if kind == "garbage":
        path.write_bytes(r.randbytes(r.randint(1, 600)))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "legacy":
        write(full, _use_new_zipfile_serialization=False)
        case.ok = lambda got: None
        return case
    elif kind == "version":
        write({**full, "hyptax_version": "0.0.1"})
        expect = r"written by hyptax 0\.0\.1"
    elif kind == "format":
        write({**full, "format": "something-else"})
    elif kind == "missing":
        key = r.choice(["ids", "names", "weight", "epoch", "config", "data", "manifold"])
        write({k: v for k, v in full.items() if k != key})
    elif kind == "ids-str":
        write({**full, "ids": "n0"})
    elif kind == "weight-list":
        write({**full, "weight": full["weight"].tolist()})
    elif kind == "epoch-float":
        write({**full, "epoch": 1.5})
    elif kind in ("nan", "inf"):
        w = full["weight"].clone()
        w[r.randrange(len(w)), 0] = float(kind)
        write({**full, "weight": w})
    elif kind == "shape":
        write({**full, "weight": full["weight"][:0]})
        if not len(full["ids"]):
            case.ok = lambda got: None
    elif kind == "1d":
        write({**full, "weight": full["weight"].flatten()})
    elif kind == "int":
        write({**full, "weight": full["weight"].to(torch.int64)})
    elif kind == "complex":
        write({**full, "weight": full["weight"].to(torch.complex64)})
    elif kind == "sparse":
        write({**full, "weight": full["weight"].to_sparse()})
    elif kind == "half":
        write({**full, "weight": full["weight"].half()})
        expect = "checkpoint|weights|float"
        case.ok = None
        case.error = None
        return case
    elif kind == "ids-int":
        write({**full, "ids": list(range(len(full["ids"])))})
        case.error = None
        return case
    elif kind == "malicious":
        payload = _Payload(marker)
        write({**full, "history": [payload]})
        case.forbidden = (marker,)
        expect = "checkpoint"
    elif kind == "plain-pickle":
        path.write_bytes(pickle.dumps({"format": "hyptax-checkpoint"}))
    elif kind == "nested-history":
        x: Any = 1
        for _ in range(200):
            x = [x]
        write({**full, "history": [x]})
        case.ok = lambda got: None
        return case
    elif kind == "names-short":
        write({**full, "names": full["names"][:-1]})
    elif kind == "manifold-unknown":
        write({**full, "manifold": "euclid"})
        expect = "manifold|checkpoint"
    elif kind == "param":
        write({**full, "weight": torch.nn.Parameter(full["weight"])})
        case.ok = lambda got: None
        return case
    elif kind == "zero-rows":
        write({**full, "ids": [], "names": [], "weight": full["weight"][:0]})
        return case  # accepting an empty checkpoint is also fine
    case.error = expect
    return case


class _Payload:
    """An object whose unpickling would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return os.system, (f"touch {self.marker}",)


def _version() -> str:
    from hyptax import __version__

    return __version__


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


def fuzz(fmt: str, n: int, seed: int, root: Path,
         on_case: Callable[[int, Case, tuple[str, Any]], None] | None = None) -> dict[str, int]:  # fmt: skip
    """Run ``n`` generated cases of ``fmt``; returns outcome counts."""
    outcomes: collections.Counter[str] = collections.Counter()
    gen = GENERATORS[fmt]
    for k in range(n):
        r = random.Random(f"{fmt}-{seed}-{k}")
        folder = case_folder(root, k)
        case = gen(r, folder / "d" if fmt == "taxdump" else folder)
        result = run_case(case)
        outcomes[result[0]] += 1
        if case.ok is not None or case.error is not None:
            outcomes["exact"] += 1
        if on_case is not None:
            on_case(k, case, result)
    return dict(outcomes)
