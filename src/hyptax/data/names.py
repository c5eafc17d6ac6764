"""From what a user typed to a node: the one lookup rule (an id; else a name one node
has; else ``name (id)``), the name index it reads, and the suggestions an unknown
name gets. :meth:`hyptax.data.taxonomy.Taxonomy.lookup` and
:meth:`hyptax.embeddings.Embeddings.lookup` both call :func:`find_node`.
"""

from __future__ import annotations

import re

from ..errors import AmbiguousName

_WITH_ID = re.compile(r"^(?P<name>.*?)\s*\((?P<id>[^()]+)\)$")


def index_names(names: list[str]) -> dict[str, list[int]]:
    """Map from display name to the indices of the nodes that have it."""
    out: dict[str, list[int]] = {}
    for i, s in enumerate(names):
        out.setdefault(s, []).append(i)
    return out


def find_node(
    key: str,
    index: dict[str, int],
    by_name: dict[str, list[int]],
    ids: list[str],
    names: list[str],
    ranks: list[str] | None = None,
) -> int | None:
    """The one rule that turns what a user typed into a node: an id; else a name that
    one node has; else ``name (id)``. None when nothing matches. A name several nodes
    share raises :class:`AmbiguousName` listing them (``name (id, rank)``); ``name
    (id)`` naming the wrong node raises KeyError."""
    row = index.get(key)
    if row is not None:
        return row
    rows = by_name.get(key)
    if rows is not None and len(rows) == 1:
        return rows[0]
    if rows:
        labels = [
            f"{names[i]} ({ids[i]}{f', {ranks[i]}' if ranks and ranks[i] else ''})" for i in rows
        ]
        raise AmbiguousName(key, rows, labels)
    found = _WITH_ID.match(key)
    if found is None:
        return None
    row = index.get(found["id"])
    if row is None or names[row] != found["name"]:
        raise KeyError(f"unknown node {key!r}: no node {found['id']} is named {found['name']!r}")
    return row


def suggest(key: str, candidates: list[str], n: int = 3) -> str:
    """``"; did you mean 'A', 'B'?"`` for close candidates, or ``""``.

    Only candidates sharing the first letter (case-insensitively) are scored, so
    this stays fast over millions of names.
    """
    import difflib

    low = key.lower()
    pool = [c for c in candidates if c[:1].lower() == low[:1]] or candidates[:100_000]
    lower = {}
    for c in pool:
        lower.setdefault(c.lower(), c)
    exact = lower.get(low)
    hits = [exact] if exact else [lower[m] for m in difflib.get_close_matches(low, lower, n=n)]
    return f"; did you mean {', '.join(repr(h) for h in hits)}?" if hits else ""
