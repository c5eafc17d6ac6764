"""The text of an edge list, read into columns: bytes (maybe gzipped) -> UTF-8 text ->
separator -> the first two fields of each data line, with their line numbers -> is the
first line a header. The format and its rules are in :mod:`hyptax.data.edgelist`,
which builds the taxonomy from these columns.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path

from ..errors import HyptaxError, InputError
from ..files import os_problem

CHILD_COLUMNS = frozenset(
    {"child", "descendant", "id1", "node", "hyponym", "descendant_taxid", "descendant_idx",
     "child_id", "taxid", "tax_id"}
)  # fmt: skip

PARENT_COLUMNS = frozenset(
    {"parent", "ancestor", "id2", "hypernym", "ancestor_taxid", "ancestor_idx", "parent_id",
     "parent_taxid", "parent_tax_id"}
)  # fmt: skip

_SEPARATOR_NAMES = {",": "commas", "\t": "tabs", None: "whitespace"}


def read_text(path: Path) -> str:
    """The file's text: gunzipped when it ends in ``.gz``, decoded as UTF-8 (a BOM
    dropped); a missing, unreadable, non-UTF-8 or empty file is refused."""
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


def separator_of(path: Path, text: str) -> str | None:
    """``","``, ``"\\t"``, or None for runs of whitespace (see :mod:`hyptax.data.edgelist`)."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ","
    if name.endswith(".tsv"):
        return "\t"
    first = next((s for s in _lines(text) if s.strip() and not _comment(s)), "")
    return "\t" if "\t" in first else "," if "," in first else None


def data_columns(text: str, sep: str | None, path: Path) -> tuple[list[int], list[str], list[str]]:
    """Line numbers and the first two stripped fields of each data line (blank and
    ``#`` lines skipped); every line must have as many fields as the first, and >= 2."""
    lines: list[int] = []
    first: list[str] = []
    second: list[str] = []
    expected = 0
    for k, fields in _split(text, sep, path):
        if len(fields) != expected:
            if expected or len(fields) < 2:
                want = f"{expected}" if expected else "at least 2"
                where = f" (as on line {lines[0]})" if expected else ""
                raise InputError(
                    f"expected {want} fields separated by {_SEPARATOR_NAMES[sep]}{where}, "
                    f"found {len(fields)}",
                    path=path,
                    line=k,
                )
            expected = len(fields)
        lines.append(k)
        first.append(fields[0])
        second.append(fields[1])
    if not lines:
        raise InputError("empty file: no edges", path=path)
    return lines, [f.strip() for f in first], [f.strip() for f in second]


def _split(text: str, sep: str | None, path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of each line that is neither blank nor a comment."""
    if sep != ",":
        for k, line in enumerate(_lines(text), 1):
            stripped = line.strip()
            if stripped and stripped[0] != "#":
                yield k, line.split(sep) if sep else _BLANKS.split(line.strip(" \t"))
        return
    reader = csv.reader(io.StringIO(text))
    start = 1  # a quoted field may span lines: report the line a record starts on
    try:
        for fields in reader:
            if any(f.strip() for f in fields) and not _comment(fields[0]):
                yield start, fields
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", path=path, line=reader.line_num) from None


_BLANKS = re.compile(r"[ \t]+")
"""What separates the fields of a whitespace-separated line: spaces and tabs only."""


def _lines(text: str) -> list[str]:
    """The lines of ``text``, split at ``\n`` (and ``\r\n``) only: ``str.splitlines``
    would also split at U+0085, U+2028, ``\x0b``, ``\x0c`` and ``\x1c``-``\x1e``,
    which a name may hold (CSV, read by the csv module, keeps them too)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r") for line in lines]


def _comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def header_order(first: str, second: str) -> bool | None:
    """None if the first line's two fields are an edge; else whether the columns are
    parent-first."""
    a, b = first.lower(), second.lower()
    if a in CHILD_COLUMNS and b in PARENT_COLUMNS:
        return False
    if a in PARENT_COLUMNS and b in CHILD_COLUMNS:
        return True
    return None
