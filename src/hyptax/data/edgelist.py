"""Taxonomies from files users bring: edge lists (``.csv``, ``.tsv``, ``.txt``) and
the prototype's pickle.

Edge lists
----------
One edge per line, ``child`` then ``parent`` (a DAG is fine: a child may have
several parents). Ids are strings, stripped of surrounding whitespace.

* **Separator:** ``.csv`` is comma-separated with standard CSV quoting
  (``"Homo sapiens, 1758"``); ``.tsv`` is tab-separated, no quoting; ``.txt`` is
  tab-separated if its first data line holds a tab, else comma-separated if it holds
  a comma, else split on runs of whitespace. A ``.gz`` suffix is decompressed first.
* **Columns:** the first two fields are child and parent; further fields (a weight,
  a label) are ignored, but every line must have as many fields as the first one,
  so a truncated or run-together line is reported, not misread.
* **Header:** the first data line is a header when its first two fields are known
  column names, case-insensitively: a child name (``child``, ``descendant``, ``id1``,
  ``node``, ``hyponym``, ...) then a parent name (``parent``, ``ancestor``, ``id2``,
  ``hypernym``, ...). Written the other way round (``parent,child``), the columns are
  read swapped. Any other first line is an edge.
* Blank lines and lines starting with ``#`` are skipped. Line numbers in errors count
  every physical line of the file.
* **Parent list or closure?** If the edges (duplicates dropped) are transitively
  closed -- every ``u -> b -> a`` has ``u -> a`` -- and some edge is implied by two
  others, the file is a closure and its transitive reduction gives the parent edges
  (:meth:`Taxonomy.from_closure`); otherwise the edges are the parent edges as given
  (:meth:`Taxonomy.from_edges`). ``stats["input_form"]`` says which.
* Errors name the file and the line: wrong field count, empty id, self-loop, a cycle
  (naming its nodes), bytes that are not UTF-8, an empty file. Duplicate edges are
  dropped and counted (``stats["duplicate_edges"]``).

Pickles
-------
:func:`load_pickle` reads the prototype's closure pickle: a list of records (dicts)
with ``descendant_taxid``/``ancestor_taxid`` keys (or ``descendant_idx``/
``ancestor_idx``), or a list of ``(child, ancestor)`` pairs. Ids may be strings or
whole numbers. The unpickler refuses every global, so a pickle can build only plain
lists, tuples, dicts, strings, bytes, numbers, booleans and None; one that asks for
any class or function (``os.system``, a numpy array, a DataFrame) is refused before
anything runs. Reflexive pairs ``(x, x)``, a closure convention, are dropped and
counted (``stats["reflexive_pairs"]``).
"""

from __future__ import annotations

import csv
import gzip
import io
import pickle
import zlib
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HyptaxError, InputError
from ..files import os_problem
from .taxonomy import Taxonomy

CHILD_COLUMNS = frozenset(
    {"child", "descendant", "id1", "node", "hyponym", "descendant_taxid", "descendant_idx",
     "child_id", "taxid", "tax_id"}
)  # fmt: skip
PARENT_COLUMNS = frozenset(
    {"parent", "ancestor", "id2", "hypernym", "ancestor_taxid", "ancestor_idx", "parent_id",
     "parent_taxid", "parent_tax_id"}
)  # fmt: skip
PICKLE_KEYS = (("descendant_taxid", "ancestor_taxid"), ("descendant_idx", "ancestor_idx"))
_SEPARATOR_NAMES = {",": "commas", "\t": "tabs", None: "whitespace"}


def load_edges(path: str | PathLike[str]) -> Taxonomy:
    """Read an edge list (see the module docstring for the format and the rules).

    >>> tax = load_edges("animals.csv")  # doctest: +SKIP
    >>> tax.n_nodes, tax.n_edges, tax.stats["input_form"]  # doctest: +SKIP
    (1180, 1180, 'closure')
    """
    path = Path(path)
    text = _read_text(path)
    ids: dict[str, int] = {}
    child: list[int] = []
    parent: list[int] = []
    lines: list[int] = []
    header: bool | None = None  # unknown until the first data line
    swap = False
    for lineno, fields in _rows(text, _separator(path, text), path):
        if header is None:
            columns = _header(fields)
            header = columns is not None
            if header:
                swap = bool(columns)
                continue
        c, p = (fields[1], fields[0]) if swap else (fields[0], fields[1])
        if not c or not p:
            raise InputError(f"empty {'child' if not c else 'parent'} id", path=path, line=lineno)
        if c == p:
            raise InputError(f"self-loop: {c!r} is its own parent", path=path, line=lineno)
        child.append(ids.setdefault(c, len(ids)))
        parent.append(ids.setdefault(p, len(ids)))
        lines.append(lineno)
    if not child:
        raise InputError(
            "empty file: no edges" + (" after the header" if header else ""), path=path
        )
    return _build(path, list(ids), np.array(child), np.array(parent), np.array(lines), bool(header))


def _build(
    path: Path,
    ids: list[str],
    child: np.ndarray,
    parent: np.ndarray,
    lines: np.ndarray,
    header: bool,
) -> Taxonomy:
    n = len(ids)
    key = _unique(child * n + parent)
    closed = is_closure(key // n, key % n, n)
    stats: dict[str, Any] = {"input_form": "closure" if closed else "parent edges"}
    stats["header"] = int(bool(header))
    common = {"source": str(path), "path": str(path)}
    if closed:
        stats["duplicate_edges"] = len(child) - len(key)
        definition = f"edge list {path.name}, read as a closure and reduced to parent edges"
        return Taxonomy.from_closure(
            ids, key // n, key % n, definition=definition, stats=stats, **common
        )
    definition = f"edge list {path.name}: child, parent per line"
    return Taxonomy.from_edges(
        ids, child, parent, lines=lines, definition=definition, stats=stats, **common
    )


def is_closure(desc: np.ndarray, anc: np.ndarray, n: int) -> bool:
    """True when the unique pairs ``(desc, anc)`` (sorted by ``desc * n + anc``, no
    self-pairs) are transitively closed and at least one pair is implied by two others.

    A set with no two-step path at all is both a closure and a reduction; it is
    treated as parent edges.
    """
    key = desc * n + anc
    starts = np.searchsorted(desc, np.arange(n + 1))
    cnt = starts[anc + 1] - starts[anc]
    if not cnt.any():
        return False
    # Every two-step pair u -> b -> a must itself be an edge. Checked in chunks so a
    # large closure never needs all its two-step pairs in memory at once.
    bounds = np.searchsorted(np.cumsum(cnt), np.arange(0, cnt.sum(), 4_000_000), side="right")
    for lo, hi in zip(bounds, [*bounds[1:], len(cnt)], strict=True):
        c = cnt[lo:hi]
        pos = np.repeat(starts[anc[lo:hi]] - np.cumsum(c) + c, c) + np.arange(c.sum())
        two = np.repeat(desc[lo:hi], c) * n + anc[pos]
        at = np.minimum(np.searchsorted(key, two), len(key) - 1)
        if not np.array_equal(key[at], two):
            return False
    return True


# ------------------------------------------------------------------ reading text
def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise HyptaxError(f"{path}: no such file") from None
    except OSError as exc:
        raise HyptaxError(f"{path}: cannot read: {os_problem(exc)}") from None
    if path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"not a readable gzip file ({exc})", path=path) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"not UTF-8 text (byte {raw[exc.start]:#04x}); save the file as UTF-8",
            path=path,
            line=line,
        ) from None
    if not text.strip():
        raise InputError("empty file: no edges", path=path)
    return text


def _separator(path: Path, text: str) -> str | None:
    """``","``, ``"\\t"``, or None for runs of whitespace (see the module docstring)."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ","
    if name.endswith(".tsv"):
        return "\t"
    first = next((s for s in text.splitlines() if s.strip() and not _comment(s)), "")
    return "\t" if "\t" in first else "," if "," in first else None


def _rows(text: str, sep: str | None, path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, stripped fields)`` for each data line; checks the field count."""
    expected = 0
    for lineno, fields in _split(text, sep, path):
        if not expected:
            expected = len(fields)
            if expected < 2:
                raise InputError(
                    f"expected at least 2 fields (child, parent) separated by "
                    f"{_SEPARATOR_NAMES[sep]}, found 1",
                    path=path,
                    line=lineno,
                )
        elif len(fields) != expected:
            raise InputError(
                f"expected {expected} fields separated by {_SEPARATOR_NAMES[sep]} "
                f"(as on the first line), found {len(fields)}",
                path=path,
                line=lineno,
            )
        yield lineno, [f.strip() for f in fields]


def _split(text: str, sep: str | None, path: Path) -> Iterator[tuple[int, list[str]]]:
    if sep == ",":
        yield from _split_csv(text, path)
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip() and not _comment(line):
            yield lineno, line.split(sep) if sep else line.split()


def _split_csv(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text))
    start = 1  # a quoted field may span lines: report the line a record starts on
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from None
        if any(f.strip() for f in fields) and not _comment(fields[0]):
            yield start, fields
        start = reader.line_num + 1


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _header(fields: list[str]) -> bool | None:
    """None if ``fields`` is an edge; else whether the columns are parent-first."""
    a, b = fields[0].lower(), fields[1].lower()
    if a in CHILD_COLUMNS and b in PARENT_COLUMNS:
        return False
    if a in PARENT_COLUMNS and b in CHILD_COLUMNS:
        return True
    return None


def _unique(x: np.ndarray) -> np.ndarray:
    """Sorted unique values. numpy 2.4's ``np.unique`` takes a hash path that is ~15x
    slower than sorting for millions of int64 keys."""
    x = np.sort(x)
    return x[np.concatenate([[True], x[1:] != x[:-1]])] if len(x) else x


# ------------------------------------------------------------------ pickles
class _PlainUnpickler(pickle.Unpickler):
    """Builds only what pickle's own opcodes build (lists, tuples, dicts, str, bytes,
    int, float, bool, None); every class or function lookup is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise _Refused(f"{module}.{name}")


class _Refused(Exception):
    pass


def load_pickle(path: str | PathLike[str]) -> Taxonomy:
    """Read the prototype's closure pickle (see the module docstring).

    Raises:
        InputError: the pickle asks for any object, is truncated or corrupt, or does
            not hold a list of records or pairs.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = _PlainUnpickler(fh).load()
    except FileNotFoundError:
        raise HyptaxError(f"{path}: no such file") from None
    except _Refused as exc:
        raise InputError(
            f"refused: the pickle asks for {exc.args[0]!r}; "
            "hyptax reads only plain lists, dicts and numbers",
            path=path,
        ) from None
    except OSError as exc:
        raise HyptaxError(f"{path}: cannot read: {os_problem(exc)}") from None
    except Exception as exc:  # a corrupt pickle can raise almost anything
        raise InputError(
            f"not a readable pickle (truncated or corrupt: {type(exc).__name__})", path=path
        ) from None
    ids, desc, anc = _closure_pairs(data, path)
    n = len(ids)
    reflexive = desc == anc
    key = _unique(desc[~reflexive] * n + anc[~reflexive])
    stats = {
        "input_form": "closure",
        "reflexive_pairs": int(reflexive.sum()),
        "duplicate_edges": int((~reflexive).sum()) - len(key),
    }
    return Taxonomy.from_closure(
        ids,
        key // n,
        key % n,
        source=str(path),
        definition=f"closure pickle {path.name}, reduced to parent edges",
        stats=stats,
        path=str(path),
    )


def _closure_pairs(data: Any, path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    if not isinstance(data, list | tuple):
        raise InputError(
            f"expected a list of records or (child, ancestor) pairs, found {type(data).__name__}",
            path=path,
        )
    if not data:
        raise InputError("empty: the pickle holds no pairs", path=path)
    ids: dict[str, int] = {}
    desc = np.empty(len(data), dtype=np.int64)
    anc = np.empty(len(data), dtype=np.int64)
    for k, rec in enumerate(data):
        d, a = _pair(rec, k, path)
        desc[k] = ids.setdefault(d, len(ids))
        anc[k] = ids.setdefault(a, len(ids))
    return list(ids), desc, anc


def _pair(rec: Any, k: int, path: Path) -> tuple[str, str]:
    if isinstance(rec, dict):
        keys = next((ks for ks in PICKLE_KEYS if ks[0] in rec and ks[1] in rec), None)
        if keys is None:
            raise InputError(
                f"record {k}: no descendant_taxid/ancestor_taxid "
                "(or descendant_idx/ancestor_idx) keys",
                path=path,
            )
        pair = (rec[keys[0]], rec[keys[1]])
    elif isinstance(rec, list | tuple) and len(rec) == 2:
        pair = (rec[0], rec[1])
    else:
        raise InputError(
            f"record {k}: expected a dict or a (child, ancestor) pair, found {rec!r:.60}",
            path=path,
        )
    out = []
    for v in pair:
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
        elif isinstance(v, int) and not isinstance(v, bool):
            out.append(str(v))
        else:
            raise InputError(f"record {k}: id {v!r:.40} is not a string or whole number", path=path)
    return out[0], out[1]
