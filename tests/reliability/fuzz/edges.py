"""Edge lists (csv, tsv, txt with tabs, commas or spaces; maybe gzipped): the
strategy :func:`edge_cases`, and :func:`edge_file_case` for rows drawn directly."""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from .cases import Case, Writer, id_pairs, transitive
from .damage import mutate_text
from .graphs import ID_KINDS, closure_of, make_ids, random_edges

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


def edges_case(r: random.Random, folder: Path, *, fmt: str, n: int) -> Case:
    """An edge list in ``fmt`` over ``n`` nodes: faithful (exact expected outcome) or
    damaged (invariants only)."""
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


def edge_cases() -> st.SearchStrategy[Writer]:
    """Edge lists: the format and size drawn by hypothesis; ids, shape, problems and
    damage by a hypothesis-seeded Random."""
    return st.builds(
        partial,
        st.just(edges_case),
        st.randoms(use_true_random=True),
        fmt=st.sampled_from(EDGE_FORMATS),
        n=st.sampled_from([2, 3, 4, 6, 9, 14, 22, 41]),
    )
