"""NCBI Taxonomy from a taxdump folder the user brings (``taxdump:DIR``).

Reads ``DIR/nodes.dmp`` and ``DIR/names.dmp`` as NCBI writes them (``taxdump.tar.gz``
or ``new_taxdump.tar.gz``, unpacked):

* fields are separated by ``\\t|\\t`` and lines end with ``\\t|``; the trailing ``\\t|``
  may be missing (some tools drop it), and ``\\r\\n`` line ends and blank lines are
  tolerated;
* ``nodes.dmp``: the classic 13 fields or new_taxdump's 18 (any count of at least 3
  is read, as long as every line has the count of the first line); only tax_id,
  parent tax_id and rank are used. The rank is kept as a plain string;
* ``names.dmp``: 4 fields (tax_id, name, unique name, name class); only the
  ``scientific name`` lines are used. A taxon without one is named by its tax_id
  (counted in ``stats["taxa_without_scientific_name"]``); a second scientific name
  for a taxon is ignored (``stats["extra_scientific_names"]``).

Both files are parsed with vectorised NumPy passes over the raw bytes (the whole
2.6M-taxon dump takes seconds), then :func:`hyptax.data.ncbi.build_ncbi_taxonomy`
applies the same rules as ``ncbi:`` (unknown parents, rank skeleton, cleaning).
Errors name the file and the line: a wrong field count, a tax_id that is not a whole
number, a repeated tax_id, bytes that are not UTF-8, an empty file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import DataOptions
from ..errors import HyptaxError, InputError
from ..files import os_problem
from .taxonomy import Taxonomy

NODES = "nodes.dmp"
NAMES = "names.dmp"
SCIENTIFIC = b"scientific name"
_CHUNK = 1 << 18  # fields per string-gathering pass (bounds its memory)


@dataclass(frozen=True)
class Dump:
    """The columns hyptax uses from a taxdump, one row per ``nodes.dmp`` line.

    Attributes:
        tax_ids, parents: ``(n,)`` int64.
        ranks, names: ``(n,)`` object arrays of str.
        lines: ``(n,)`` each taxon's line number in ``nodes.dmp``.
        stats: counts gathered while reading.
    """

    tax_ids: np.ndarray
    parents: np.ndarray
    ranks: np.ndarray
    names: np.ndarray
    lines: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)


def load(dir: str, options: DataOptions) -> Taxonomy:
    """Load ``taxdump:DIR`` (see the module docstring).

    >>> tax = load("taxdump", DataOptions(ranks="main"))  # doctest: +SKIP
    """
    dump = read_dump(dir)
    from .ncbi import build_ncbi_taxonomy

    tax = build_ncbi_taxonomy(
        dump.tax_ids,
        dump.parents,
        dump.ranks,
        dump.names,
        clade=None,
        options=options,
        source=f"taxdump:{dir}",
        path=str(Path(dir) / NODES),
        lines=dump.lines,
    )
    tax.stats.update(dump.stats)
    return tax


def read_dump(dir: str | Path) -> Dump:
    """Parse ``nodes.dmp`` and ``names.dmp`` in ``dir`` into arrays."""
    folder = Path(dir)
    if not folder.is_dir():
        raise HyptaxError(f"{folder}: folder does not exist (taxdump:DIR needs a folder)")
    for name in (NODES, NAMES):
        if not (folder / name).is_file():
            raise HyptaxError(
                f"{folder}: no {name}; taxdump:DIR needs NCBI's {NODES} and {NAMES} "
                "(unpack taxdump.tar.gz from ftp.ncbi.nih.gov/pub/taxonomy into DIR)"
            )
    tax_ids, parents, ranks, lines = _read_nodes(folder / NODES)
    names, stats = _read_names(folder / NAMES, tax_ids)
    return Dump(tax_ids, parents, ranks, names, lines, stats)


def _read_nodes(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    table = _Table.read(path, n_fields=None, min_fields=3)
    tax_ids = table.ints(0, "tax_id")
    parents = table.ints(1, "parent tax_id")
    order = np.argsort(tax_ids, kind="stable")
    dup = np.flatnonzero(tax_ids[order][1:] == tax_ids[order][:-1])
    if len(dup):
        first, again = order[dup[0]], order[dup[0] + 1]
        raise InputError(
            f"tax_id {tax_ids[again]} appears twice (also on line {table.line[first]})",
            path=path,
            line=int(table.line[again]),
        )
    ranks = np.empty(len(tax_ids), dtype=object)
    ranks[:] = [sys.intern(r) for r in table.strings(2)]
    return tax_ids, parents, ranks, table.line


def _read_names(path: Path, tax_ids: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    table = _Table.read(path, n_fields=4, min_fields=4).where_equal(3, SCIENTIFIC)
    ids = table.ints(0, "tax_id")
    texts = table.strings(1)
    order = np.argsort(ids, kind="stable")  # first scientific name of a tax_id wins
    sorted_ids = ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, tax_ids), max(len(ids) - 1, 0))
    found = sorted_ids[pos] == tax_ids if len(ids) else np.zeros(len(tax_ids), dtype=bool)
    names = np.empty(len(tax_ids), dtype=object)
    names[found] = [texts[i] for i in order[pos[found]].tolist()]
    names[~found] = [str(t) for t in tax_ids[~found].tolist()]
    n_unique = int(np.count_nonzero(np.diff(sorted_ids))) + 1 if len(ids) else 0
    stats = {
        "taxa_without_scientific_name": int((~found).sum()),
        "extra_scientific_names": len(ids) - n_unique,
        "names_without_node": n_unique - int(found.sum()),
    }
    return names, stats


@dataclass(frozen=True)
class _Table:
    """Rows of a ``\t|\t``-separated file, read straight from its bytes.

    Row ``r`` spans ``buf[start[r]:end[r]]`` (line terminators stripped) and is line
    ``line[r]`` of the file; its separators are ``sep[first[r]]``... (positions of the
    ``|`` in each ``\t|\t``), and it has ``n_fields`` fields.
    """

    path: Path
    buf: np.ndarray
    line: np.ndarray
    start: np.ndarray
    end: np.ndarray
    first: np.ndarray
    sep: np.ndarray
    n_fields: int

    @classmethod
    def read(cls, path: Path, *, n_fields: int | None, min_fields: int) -> _Table:
        raw = _read_bytes(path)
        if not raw.endswith(b"\n"):  # strings() needs a byte after every row's last field
            raw += b"\n"
        buf = np.frombuffer(raw, dtype=np.uint8)
        size = len(buf)
        end = np.flatnonzero(buf == ord("\n"))
        if buf[-1] != ord("\n"):
            end = np.append(end, size)
        start = np.concatenate([[0], end[:-1] + 1])
        line = np.arange(1, len(end) + 1)
        end -= (end > start) & (buf[np.maximum(end - 1, 0)] == ord("\r"))
        # The "\t|" that ends a line is optional.
        end -= 2 * ((end - start >= 2) & (buf[end - 1] == ord("|")) & (buf[end - 2] == ord("\t")))
        keep = end > start  # blank lines are skipped
        start, end, line = start[keep], end[keep], line[keep]
        # A separator is the "|" of "\t|\t". Rows hold no separators between them, so a
        # row's separators run from its own first one to the next row's first one.
        mark = np.zeros(size, dtype=bool)
        mark[1:-1] = buf[1:-1] == ord("|")
        mark[1:-1] &= buf[:-2] == ord("\t")
        mark[1:-1] &= buf[2:] == ord("\t")
        sep = np.flatnonzero(mark)
        del mark
        first = np.searchsorted(sep, start)
        count = np.diff(first, append=len(sep)) + 1
        expected = n_fields or max(int(count[0]), min_fields)
        bad = np.flatnonzero(count != expected)
        if len(bad):
            k = bad[0]
            want = f"{expected}" if n_fields or k else f"at least {min_fields}"
            where = f" (as on line {line[0]})" if not n_fields and k else ""
            raise InputError(
                f"expected {want} fields separated by '\\t|\\t'{where}, found {count[k]}",
                path=path,
                line=int(line[k]),
            )
        return cls(path, buf, line, start, end, first, sep, expected)

    def field(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        """``(start, end)`` byte offsets of field ``j`` in every row."""
        s = self.start if j == 0 else self.sep[self.first + j - 1] + 2
        e = self.end if j == self.n_fields - 1 else self.sep[self.first + j] - 1
        return s, e

    def where_equal(self, j: int, value: bytes) -> _Table:
        """The rows whose field ``j`` is exactly ``value``."""
        s, e = self.field(j)
        keep = (e - s) == len(value)
        for i, byte in enumerate(value):
            keep &= self.buf[np.minimum(s + i, len(self.buf) - 1)] == byte
        return replace(
            self,
            line=self.line[keep],
            start=self.start[keep],
            end=self.end[keep],
            first=self.first[keep],
        )

    def ints(self, j: int, what: str) -> np.ndarray:
        """Field ``j`` as int64; a field that is not a whole number raises InputError."""
        s, e = self.field(j)
        width = e - s
        bad = (width < 1) | (width > 18)
        value = np.zeros(len(s), dtype=np.int64)
        for i in range(min(int(width.max(initial=0)), 18)):
            on = i < width
            digit = self.buf[np.minimum(s + i, len(self.buf) - 1)].astype(np.int64) - ord("0")
            bad |= on & ((digit < 0) | (digit > 9))
            value = np.where(on, value * 10 + digit, value)
        if bad.any():
            k = int(np.argmax(bad))
            text = self.buf[s[k] : e[k]].tobytes().decode("utf-8")
            raise InputError(
                f"{what} {text!r} is not a whole number", path=self.path, line=int(self.line[k])
            )
        return value

    def strings(self, j: int) -> list[str]:
        """Field ``j`` of every row as str: the bytes are gathered with a newline after
        each field and decoded in one call per chunk instead of one call per field."""
        s_all, e_all = self.field(j)
        out: list[str] = []
        for lo in range(0, len(s_all), _CHUNK):
            s, e = s_all[lo : lo + _CHUNK], e_all[lo : lo + _CHUNK]
            base = s[0]
            region = self.buf[base : e[-1] + 1]  # e[-1] is a separator or line end byte
            # Keep each field's bytes plus the one after it (which becomes a newline).
            step = np.zeros(len(region) + 1, dtype=np.int8)
            step[s - base] += 1
            step[e + 1 - base] -= 1
            chunk = region[np.cumsum(step[:-1], dtype=np.int8).view(bool)]
            chunk[np.cumsum(e - s + 1) - 1] = ord("\n")
            out.extend(chunk.tobytes().decode("utf-8").split("\n")[:-1])
        return out


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HyptaxError(f"{path}: cannot read: {os_problem(exc)}") from None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {data[exc.start]:#04x})",
            path=path,
            line=data.count(b"\n", 0, exc.start) + 1,
        ) from None
    if not data or data.isspace():
        raise InputError("empty file", path=path)
    return data
