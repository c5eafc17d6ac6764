"""NCBI taxdumps (nodes.dmp + names.dmp): the strategy :func:`taxdump_cases`."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from hyptax.config import DataOptions

from .cases import Case, Writer, id_pairs
from .damage import mutate_text
from .graphs import NAMES, RANKS

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


def taxdump_case(r: random.Random, folder: Path, *, n_fields: int) -> Case:
    """A nodes.dmp + names.dmp pair (NCBI layout, ``n_fields`` fields a node line) in
    ``folder/dump``, faithful or damaged."""
    folder = folder / "dump"
    folder.mkdir(parents=True, exist_ok=True)
    d = _random_dump(r)
    _inject_dump_problems(r, d)
    end = r.choice(["\t|", "\t|", ""])
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


def taxdump_cases() -> st.SearchStrategy[Writer]:
    """Taxdumps: the node line's field count drawn by hypothesis; taxa, names,
    problems, damage and options by a hypothesis-seeded Random."""
    return st.builds(
        partial,
        st.just(taxdump_case),
        st.randoms(use_true_random=True),
        n_fields=st.sampled_from([13, 13, 18, 3, 4]),
    )
