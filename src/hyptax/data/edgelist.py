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
* **Parent list or closure?** Look at the two-step paths ``u -> b -> a`` among the
  edges (duplicates dropped). If there are some and at least half of them have their
  ``u -> a`` edge listed too, the file is a closure: its transitive reduction gives
  the parent edges (:meth:`Taxonomy.from_closure`), exactly even when a few implied
  pairs are missing (the reference WordNet noun closure misses 155), and
  ``stats["closure_pairs_implied"]`` counts those. Otherwise the edges are the parent
  edges as given (:meth:`Taxonomy.from_edges`), shortcuts included.
  ``stats["input_form"]`` says which.
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

import pickle
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HyptaxError, InputError, brief
from ..files import os_problem
from . import csr
from .edgetext import (  # noqa: F401  (re-exported: hyptax.data.edgelist.CHILD_COLUMNS ...)
    CHILD_COLUMNS,
    PARENT_COLUMNS,
    data_columns,
    header_order,
    read_text,
    separator_of,
)
from .taxonomy import Taxonomy, _member, unique_sorted

PICKLE_KEYS = (("descendant_taxid", "ancestor_taxid"), ("descendant_idx", "ancestor_idx"))


def load_edges(path: str | PathLike[str]) -> Taxonomy:
    """Read an edge list (see the module docstring for the format and the rules).

    >>> tax = load_edges("animals.csv")  # doctest: +SKIP
    >>> tax.n_nodes, tax.n_edges, tax.stats["input_form"]  # doctest: +SKIP
    (1180, 1180, 'closure')
    """
    path = Path(path)
    text = read_text(path)
    lines, first, second = data_columns(text, separator_of(path, text), path)
    columns = header_order(first[0], second[0])
    header = columns is not None
    if header:
        lines, first, second = lines[1:], first[1:], second[1:]
    if not lines:
        raise InputError("empty file: no edges after the header", path=path)
    children, parents = (second, first) if columns else (first, second)
    return _from_columns(children, parents, lines, header, path)


def load_pairs(pairs: Iterable[Sequence[str]], source: str) -> Taxonomy:
    """A taxonomy from ``(child, parent)`` pairs in memory, read as the lines of an
    edge list are (parent edges, or a closure reduced to them; see the module
    docstring); ``source`` names the data, and errors count pairs from 1 as lines."""
    children, parents = [], []
    for k, pair in enumerate(pairs, 1):
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise InputError(f"pair {k}: expected (child, parent), not {brief(pair)}")
        children.append(str(pair[0]).strip())
        parents.append(str(pair[1]).strip())
    if not children:
        raise InputError(f"{source}: no (child, parent) pairs")
    return _from_columns(children, parents, list(range(1, len(children) + 1)), False, source)


def _from_columns(
    children: list[str], parents: list[str], lines: list[int], header: bool, path: Path | str
) -> Taxonomy:
    """The taxonomy of an edge list's columns (``path``: the file, or a name for
    pairs given in memory)."""
    ids = list(dict.fromkeys(x for pair in zip(children, parents, strict=True) for x in pair))
    joined = "\x00".join(ids)
    if "\n" in joined or "\r" in joined:  # only a quoted CSV field can hold one
        bad = next(s for s in ids if "\n" in s or "\r" in s)
        k = next(k for k, pair in enumerate(zip(children, parents, strict=True)) if bad in pair)
        raise InputError(
            f"id {brief(bad)} holds a line break (an unclosed quote?)", path=path, line=lines[k]
        )
    index = dict(zip(ids, range(len(ids)), strict=True))
    child = np.array([index[c] for c in children], dtype=np.int64)
    parent = np.array([index[p] for p in parents], dtype=np.int64)
    empty = index.get("", -1)
    bad = np.flatnonzero((child == parent) | (child == empty) | (parent == empty))
    if len(bad):
        k = int(bad[0])
        c = children[k]
        problem = f"empty {'child' if not c else 'parent'} id"
        raise InputError(
            f"self-loop: {brief(c)} is its own parent" if c and c == parents[k] else problem,
            path=path,
            line=lines[k],
        )
    return _build(path, ids, child, parent, np.array(lines), header)


def _build(
    path: Path | str,
    ids: list[str],
    child: np.ndarray,
    parent: np.ndarray,
    lines: np.ndarray,
    header: bool,
) -> Taxonomy:
    n = len(ids)
    key = unique_sorted(child * n + parent)
    desc, anc = key // n, key % n
    n_two_step, n_missing = two_step_counts(desc, anc, n)
    stats: dict[str, Any] = {"header": int(header)}
    common: dict[str, Any] = {"source": str(path), "path": str(path)}
    named = f"edge list {path.name}" if isinstance(path, Path) else f"{path}, (child, parent) pairs"
    if n_two_step == 0 or 2 * n_missing > n_two_step:
        stats["input_form"] = "parent edges"
        definition = f"{named}: child, parent per line"
        return Taxonomy.from_edges(
            ids, child, parent, lines=lines, definition=definition, stats=stats, **common
        )
    stats |= {"input_form": "closure", "duplicate_edges": len(child) - len(key)}
    definition = f"{named}, read as a closure and reduced to parent edges"
    try:
        return reduce_closure(ids, desc, anc, definition=definition, stats=stats, **common)
    except InputError:
        Taxonomy.from_edges(ids, child, parent, lines=lines, **common)  # the same, with a line
        raise


def reduce_closure(
    ids: np.ndarray | list[str], desc: np.ndarray, anc: np.ndarray, **kwargs: Any
) -> Taxonomy:
    """:meth:`Taxonomy.from_closure` that stays exact when some implied pairs are missing.

    ``(desc, anc)`` are unique closure pairs without self-pairs. The one-step
    reduction drops a pair only if two listed pairs imply it; when the input is not
    quite closed, a pair implied only through a longer path can survive, so the
    closure of that first result (the true closure) is reduced once more.
    ``stats["closure_pairs_in"]`` and ``stats["closure_pairs_implied"]`` (pairs implied
    but not listed) record the difference.
    """
    tax = Taxonomy.from_closure(ids, desc, anc, **kwargs)
    if tax.n_closure != len(desc):
        d, a = tax.closure
        tax = Taxonomy.from_closure(ids, d, a, **kwargs)
    n = len(ids)
    d, a = tax.closure
    if not _member(np.asarray(desc, np.int64) * n + anc, d.astype(np.int64) * n + a).all():
        # Only a cycle hides a listed pair from the closure of the reduction (a cycle's
        # pairs all look redundant): name it as for parent edges.
        Taxonomy.from_edges(ids, desc, anc, **kwargs)
        raise InputError("the closure pairs hold a cycle", path=kwargs.get("path"))
    tax.stats["closure_pairs_in"] = len(desc)
    tax.stats["closure_pairs_implied"] = tax.n_closure - len(desc)
    return tax.with_given_closure(desc, anc)


def two_step_counts(desc: np.ndarray, anc: np.ndarray, n: int) -> tuple[int, int]:
    """Count the two-step paths ``u -> b -> a`` among the unique pairs ``(desc, anc)``
    (sorted by ``desc * n + anc``, no self-pairs), and those whose ``(u, a)`` is missing.

    A transitively closed set misses none; a tree's parent edges miss all.
    """
    key = desc * n + anc
    starts = np.searchsorted(desc, np.arange(n + 1))
    cnt = starts[anc + 1] - starts[anc]
    total, missing = int(cnt.sum()), 0
    if not total:
        return 0, 0
    # In chunks, so a large closure never needs all its two-step pairs in memory at once.
    bounds = np.searchsorted(np.cumsum(cnt), np.arange(0, total, 4_000_000), side="right")
    for lo, hi in zip(bounds, [*bounds[1:], len(cnt)], strict=True):
        pos, c = csr.positions(starts, anc[lo:hi])
        two = np.repeat(desc[lo:hi], c) * n + anc[pos]
        at = np.minimum(np.searchsorted(key, two), len(key) - 1)
        missing += int(np.count_nonzero(key[at] != two))
    return total, missing


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
    key = unique_sorted(desc[~reflexive] * n + anc[~reflexive])
    stats = {
        "input_form": "closure",
        "reflexive_pairs": int(reflexive.sum()),
        "duplicate_edges": int((~reflexive).sum()) - len(key),
    }
    return reduce_closure(
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
            f"record {k}: expected a dict or a (child, ancestor) pair, found {brief(rec)}",
            path=path,
        )
    out = []
    for v in pair:
        if isinstance(v, str) and v.strip():
            out.append(v.strip())
        elif isinstance(v, int) and not isinstance(v, bool) and abs(v) < 10**100:
            out.append(str(v))
        else:
            raise InputError(
                f"record {k}: id {brief(v, 40)} is not a string or whole number "
                "(of at most 100 digits)",
                path=path,
            )
    return out[0], out[1]
