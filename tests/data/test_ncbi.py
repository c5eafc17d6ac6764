"""NCBI source: rank skeleton, lowest rank, cleaning and clades on synthetic arrays,
plus the counts of the bundled 2024-09 snapshot."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hyptax.config import MAIN_RANKS, DataOptions
from hyptax.data import ncbi
from hyptax.errors import HyptaxError, InputError

# (taxid, parent, rank, scientific name): a miniature NCBI with every case in it.
ROWS = [
    (1, 1, "no rank", "root"),
    (131567, 1, "no rank", "cellular organisms"),
    (2, 131567, "superkingdom", "Bacteria"),
    (2759, 131567, "domain", "Eukaryota"),
    (33208, 2759, "kingdom", "Metazoa"),
    (7711, 33208, "phylum", "Chordata"),
    (89593, 7711, "subphylum", "Craniata"),
    (40674, 89593, "class", "Mammalia"),
    (9443, 40674, "order", "Primates"),
    (9604, 9443, "family", "Hominidae"),
    (207598, 9604, "subfamily", "Homininae"),
    (9605, 207598, "genus", "Homo"),
    (170, 9605, "subgenus", "Homo (Subhomo)"),
    (9606, 9605, "species", "Homo sapiens"),
    (63221, 9606, "subspecies", "Homo sapiens neanderthalensis"),
    (2665953, 9605, "species", "Homo sp. Altai"),
    (2665954, 2665953, "no rank", "Homo sp. Altai isolate 1"),
    (160, 9605, "species", "Homo nr. erectus"),
    (161, 9605, "species", "Homo spp."),
    (100, 9604, "no rank", "unclassified Hominidae"),
    (101, 100, "genus", "Ardipithecus"),
    (102, 101, "species", "Ardipithecus sp. X"),
    (1239, 2, "phylum", "Bacillota"),
    (91061, 1239, "class", "Bacilli"),
    (1385, 91061, "order", "Bacillales"),
    (186817, 1385, "family", "Bacillaceae"),
    (1386, 186817, "genus", "Bacillus"),
    (1423, 1386, "species", "Bacillus subtilis"),
    (135461, 1423, "subspecies", "Bacillus subtilis subsp. spizizenii"),
    (1424, 1386, "species", "Bacillus cf. subtilis"),
    (1425, 1386, "species", "Bacillus aff. cereus"),
    (130, 1385, "no rank", "Bacillales Incertae Sedis"),
    (131, 130, "genus", "Exiguobacterium"),
    (110, 2, "no rank", "environmental samples"),
    (111, 110, "species", "uncultured bacterium"),
    (112, 110, "species", "Bacillus sp. 7"),
    (120, 2, "no rank", "uncultured Firmicutes"),
    (121, 120, "species", "uncultured Firmicutes bacterium A"),
    (150, 2, "species", "unidentified eubacterium"),
    (2787854, 1, "no rank", "other entries"),
    (28384, 2787854, "no rank", "other sequences"),
    (32630, 28384, "species", "synthetic construct"),
    (140, 1, "no rank", "metagenomes"),
    (141, 140, "species", "marine metagenome"),
]
LINES = np.arange(1, len(ROWS) + 1)


def arrays(rows=ROWS):
    tax_ids, parents, ranks, names = zip(*rows, strict=True)
    obj = lambda xs: np.array(xs, dtype=object)  # noqa: E731
    return np.array(tax_ids), np.array(parents), obj(ranks), obj(names)


def build(clade=None, rows=ROWS, **options):
    return ncbi.build_ncbi_taxonomy(
        *arrays(rows), clade=clade, options=DataOptions(**options), source="test"
    )


def parent_of(tax) -> dict[str, str]:
    return {tax.ids[c]: tax.ids[p] for c, p in zip(tax.child, tax.parent, strict=True)}


def rank_level(rank: str) -> int:
    rank = "superkingdom" if rank == "domain" else rank
    return MAIN_RANKS.index(rank) if rank in MAIN_RANKS else -1


# ------------------------------------------------------------------ synthetic
def test_whole_tree_keeps_every_taxon_under_one_root():
    tax = build()
    assert tax.n_nodes == len(ROWS) and tax.n_edges == len(ROWS) - 1
    assert tax.ids[tax.roots].tolist() == ["1"]
    assert parent_of(tax) == {str(t): str(p) for t, p, _, _ in ROWS if t != p}
    assert tax.names[tax.index["9606"]] == "Homo sapiens"
    assert tax.ranks[tax.index["2759"]] == "domain"  # kept as spelled
    assert tax.definition.startswith("All taxa of test")


def test_main_ranks_reparent_to_nearest_kept_ancestor():
    tax = build(ranks="main")
    up = parent_of(tax)
    kept_ranks = set(tax.ranks.tolist())
    assert kept_ranks <= {*MAIN_RANKS, "domain", "no rank"}
    assert tax.rank_counts()["no rank"] == 1  # only the root
    assert up["40674"] == "7711"  # Mammalia skips Craniata
    assert up["9605"] == "9604"  # Homo skips Homininae
    assert up["2"] == up["2759"] == "1"  # both domains skip "cellular organisms"
    assert up["101"] == "9604"  # Ardipithecus skips its "unclassified" container
    assert "63221" not in tax.index and "170" not in tax.index
    n_minor = sum(r[2] not in MAIN_RANKS and r[2] != "domain" for r in ROWS) - 1
    assert tax.stats["not_main_rank"] == n_minor
    assert tax.n_nodes == len(ROWS) - n_minor
    level = np.array([rank_level(r) for r in tax.ranks])
    assert (level[tax.parent] < level[tax.child]).all()


def test_lowest_rank_rule_keeps_minor_ranks_strictly_above_it():
    tax = build(lowest_rank="genus")
    kept = set(tax.ids.tolist())
    # main ranks at or above genus stay, species and below go
    assert {"9605", "101", "1386", "131", "9604"} <= kept
    assert not {"9606", "63221", "1423", "135461", "2665953", "111", "32630"} & kept
    # not a main rank: kept iff the nearest main-rank ancestor is strictly above genus
    assert {"207598", "89593", "100", "110", "120", "130"} <= kept
    assert "170" not in kept  # subgenus: nearest main ancestor is the genus itself
    assert "2665954" not in kept  # below a species
    # no main-rank ancestor at all: kept
    assert {"1", "131567", "2787854", "28384", "140"} <= kept
    assert tax.stats["below_lowest_rank"] == len(ROWS) - tax.n_nodes
    assert "every rank down to genus" in tax.definition


def test_lowest_rank_never_drops_the_clade_top():
    tax = build("9606", lowest_rank="genus")
    assert tax.ids.tolist() == ["9606"]


def test_domain_and_superkingdom_are_one_rank():
    tax = build(ranks="main", lowest_rank="domain")
    assert sorted(tax.ids.tolist()) == ["1", "2", "2759"]
    assert DataOptions(lowest_rank="domain").lowest_rank == "superkingdom"


def test_clean_counts_each_rule_and_reparents_container_children():
    tax = build(clean=True)
    expected = {
        "non-organism bins": 3,  # other entries, other sequences, synthetic construct
        "environmental samples": 3,  # the container and both taxa under it
        "metagenome": 2,
        "uncultured": 2,  # uncultured Firmicutes and its child
        "unidentified": 1,
        "sp.": 4,  # Homo sp. Altai (+ its isolate), Homo spp., Ardipithecus sp. X
        "cf.": 1,
        "aff.": 1,
        "nr.": 1,
        "unclassified": 1,
        "incertae sedis": 1,
    }
    assert tax.stats["clean"] == expected
    assert tax.n_nodes == len(ROWS) - sum(expected.values())
    up = parent_of(tax)
    assert up["101"] == "9604" and up["131"] == "1385"  # container children move up
    assert "135461" in tax.index  # "subsp." is not "sp."
    word = re.compile(r"(?<![\w.])(sp|spp|cf|aff|nr)\.", re.I)
    assert not [s for s in tax.names if word.search(s) or s.lower().startswith("unclassified ")]
    assert "CLEAN_RULES" in tax.definition


def test_clean_keeps_the_clade_top_and_counts_only_inside_the_clade():
    tax = build("110", clean=True)
    assert tax.ids.tolist() == ["110"]
    assert tax.stats["clean"]["environmental samples"] == 0
    assert tax.stats["clean"]["uncultured"] == 1 and tax.stats["clean"]["sp."] == 1
    assert tax.stats["outside_clade"] == len(ROWS) - 3


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("uncultured Bacillus sp.", "uncultured"),  # first rule wins
        ("Bacillus sp. marine metagenome", "metagenome"),
        ("unclassified Homo sp.", "sp."),  # subtree rules come before containers
        ("Uncultured marine alveolate", "uncultured"),
        ("ENVIRONMENTAL SAMPLES", "environmental samples"),
        ("environmental samples 2", None),
        ("Homo SP. 2", "sp."),
        ("Buchnera aphidicola (Chaitophorus sp.)", "sp."),
        ("'Digitaria sp.' phytoplasma", "sp."),
        ("Acinetobacter sp.45AAIII", "sp."),
        ("Mazus novaezeelandiae subsp. novaezeelandiae", None),
        ("Mazus subsp. x sp. y", "sp."),  # a later occurrence counts
        ("Wasp. x", None),
        ("Aéspp. x", None),  # non-ASCII letter before
        ("Echinops aff. ritro", "aff."),
        ("Gaff. x", None),
        ("Conus cf. striatus", "cf."),
        ("Chironomus nr. piger", "nr."),
        ("Fungi incertae sedis", "incertae sedis"),
        ("incertae sedis Fungi", None),
        ("unclassified", None),  # a container needs a name after the word
        ("Homo sapiens", None),
    ],
)
def test_clean_rule_matches(name, rule):
    names = np.array(["Homo", name, "Pan"], dtype=object)  # neighbours must not leak
    got = ncbi._clean_rule(names)
    assert got[0] == got[2] == -1
    assert (ncbi.CLEAN_RULES[got[1]][0] if got[1] >= 0 else None) == rule


def test_clade_by_name_taxid_and_case_give_the_same_taxonomy():
    a, b, c = build("Mammalia"), build("40674"), build("mammalia")
    assert a.ids.tolist() == b.ids.tolist() == c.ids.tolist()
    assert a.ids[a.roots].tolist() == ["40674"]
    assert a.n_nodes == 15  # Mammalia .. Ardipithecus sp. X
    assert "Mammalia (taxid 40674)" in a.definition


def test_clade_main_ranks_keeps_its_top_even_when_minor():
    tax = build("207598", ranks="main")  # Homininae, a subfamily
    assert tax.ids[tax.roots].tolist() == ["207598"]
    assert parent_of(tax)["9605"] == "207598"


def test_unknown_clade_suggests_close_names():
    with pytest.raises(HyptaxError, match=r"unknown NCBI clade 'Mamalia'.*'Mammalia'"):
        build("Mamalia")
    with pytest.raises(HyptaxError, match="unknown NCBI taxid 999999"):
        build("999999")


def test_ambiguous_clade_lists_the_taxids():
    rows = [*ROWS, (55087, 33208, "genus", "Bacillus")]  # the stick insect
    with pytest.raises(HyptaxError, match=r"'Bacillus' names 2 taxa: 1386 .*55087 .*TAXID"):
        build("Bacillus", rows=rows)


def test_unknown_parent_names_the_taxid_file_and_line():
    rows = [*ROWS, (777, 778, "species", "Orphan")]
    problem = f"nodes.dmp: line {len(rows)}: taxid 777 has unknown parent id 778"
    with pytest.raises(InputError, match=problem):
        ncbi.build_ncbi_taxonomy(
            *arrays(rows),
            clade=None,
            options=DataOptions(),
            source="t",
            path="nodes.dmp",
            lines=np.arange(1, len(rows) + 1),
        )


@pytest.mark.parametrize("offset", [0, 10**12])  # dense lookup table / sorted fallback
def test_parent_lookup_errors_on_dense_and_sparse_ids(offset):
    rows = [(1, 1, "no rank", "root"), (2, 1, "genus", "g"), (3, 2, "species", "g s")]
    rows = [(t + offset, p + offset, r, s) for t, p, r, s in rows]
    assert build(rows=rows).n_nodes == 3
    with pytest.raises(InputError, match=f"taxid {offset + 4} has unknown parent id {offset + 9}"):
        build(rows=[*rows, (offset + 4, offset + 9, "species", "x")])
    with pytest.raises(InputError, match=f"duplicate taxid {offset + 2}"):
        build(rows=[*rows, (offset + 2, offset + 1, "genus", "again")])


def test_duplicate_taxid_and_cycle_are_input_errors():
    with pytest.raises(InputError, match="duplicate taxid 9606"):
        build(rows=[*ROWS, (9606, 1, "species", "again")])
    cyc = [
        *ROWS,
        (800, 801, "no rank", "a"),
        (801, 802, "no rank", "b"),
        (802, 800, "no rank", "c"),
    ]
    with pytest.raises(InputError, match=r"cycle of parent ids: 80[012] -> 80[012] -> 80[012] -> "):
        build(rows=cyc)


def test_pointer_jumping_on_a_deep_chain_and_several_roots():
    n = 3000  # a chain alternating "genus" and "no rank", plus a second root
    rows = [(1, 1, "no rank", "root")]
    rows += [(k, k - 1, "genus" if k % 2 else "no rank", f"t{k}") for k in range(2, n + 1)]
    rows += [(n + 1, n + 1, "no rank", "other root"), (n + 2, n + 1, "genus", "g")]
    tax = build(rows=rows, ranks="main")
    assert sorted(tax.ids[tax.roots].tolist()) == ["1", str(n + 1)]
    up = parent_of(tax)
    assert up["3"] == "1" and up["5"] == "3" and up[str(n + 2)] == str(n + 1)
    assert tax.depth.max() == (n - 1) // 2
    assert "the 2 roots" in tax.definition


# --------------------------------------------------------------- real snapshot
@pytest.fixture(scope="module")
def snapshot():
    return ncbi.read_snapshot()


def test_snapshot_arrays_agree_with_taxoniq(snapshot):
    import taxoniq

    tax_ids, parents, ranks, names = snapshot
    assert len(tax_ids) == len(parents) == len(ranks) == len(names)
    assert (np.diff(tax_ids) > 0).all() and tax_ids[0] == 1 and parents[0] == 1
    rng = np.random.default_rng(0)
    for k in [*rng.choice(len(tax_ids), 200, replace=False).tolist(), 0]:
        taxon = taxoniq.Taxon(int(tax_ids[k]))
        assert names[k] == taxon.scientific_name
        assert ranks[k] == taxon.rank.name.replace("_", " ")
        if k:
            assert parents[k] == taxon.parent.tax_id
    assert ncbi.read_snapshot() is snapshot  # cached


def test_small_is_all_taxa_at_main_ranks_down_to_genus(snapshot):
    _, _, ranks, _ = snapshot
    tax = ncbi.load("small", DataOptions())
    wanted = [*MAIN_RANKS[: MAIN_RANKS.index("genus") + 1], "domain"]
    assert tax.n_nodes == 1 + np.isin(ranks, wanted).sum()
    assert tax.ids[tax.roots].tolist() == ["1"]
    assert set(np.delete(tax.ranks, tax.roots).tolist()) <= set(wanted)
    level = np.array([rank_level(r) for r in tax.ranks])
    assert (level[tax.parent] < level[tax.child]).all()
    assert tax.rank_counts()["phylum"] == (ranks == "phylum").sum() == 310
    assert tax.n_closure == tax.depth.sum()  # a tree: one pair per ancestor
    assert 800_000 < tax.n_closure < 850_000 and 120_000 < tax.n_nodes < 130_000
    assert tax.stats["snapshot"] == ncbi.SNAPSHOT and tax.source == "ncbi:small"


def test_mammalia_by_name_and_taxid_and_cleaned(snapshot):
    a, b = ncbi.load("Mammalia", DataOptions()), ncbi.load("40674", DataOptions())
    assert a.ids.tolist() == b.ids.tolist() and (a.parent == b.parent).all()
    assert a.names[a.roots].tolist() == ["Mammalia"]
    assert a.source == "ncbi:Mammalia" and b.source == "ncbi:40674"
    opts = DataOptions(ranks="main", lowest_rank="species", clean=True)
    clean = ncbi.load("Mammalia", opts)
    assert 0 < clean.n_nodes < a.n_nodes
    assert clean.stats["clean"]["sp."] > 0
    assert not [s for s in clean.names if re.search(r"(?<![\w.])(sp|cf|aff)\.", s)]
    below = np.delete(clean.ranks, clean.roots).tolist()
    assert set(below) <= set(MAIN_RANKS[MAIN_RANKS.index("class") + 1 :])


@pytest.mark.slow  # the quick tier: test_whole_tree_keeps_every_taxon_under_one_root
def test_whole_tree_counts(snapshot):
    tax = ncbi.load(None, DataOptions())
    assert tax.n_nodes == len(snapshot[0]) == 2_609_295
    assert tax.n_edges == tax.n_nodes - 1 and tax.is_tree
    assert tax.depth.max() == 38


def test_the_readme_clean_numbers_are_what_info_prints(snapshot, capsys):
    """The README's --clean example, checked against the command it names."""
    from pathlib import Path

    from hyptax.cli import main

    readme = Path(__file__).parents[2] / "README.md"
    text = " ".join(readme.read_text(encoding="utf-8").split())
    found = re.search(
        r"`hyptax info ncbi:Mammalia --clean` reports that of the clade's ([\d,]+) taxa "
        r"it keeps ([\d,]+) \(([\d,]+) removed: (.*?);",
        text,
    )
    assert found, "the README's --clean example is gone or reworded"
    num = lambda s: int(s.replace(",", ""))  # noqa: E731
    total, kept, removed = (num(found.group(k)) for k in (1, 2, 3))
    said = {rule: num(n) for n, rule in re.findall(r"([\d,]+) (?:as )?`([^`]+)`", found.group(4))}
    assert main(["info", "ncbi:Mammalia", "--clean"]) == 0
    out = capsys.readouterr().out
    fields = dict(re.findall(r"^(input taxa|outside clade|kept|clean) +(.*)$", out, re.M))
    counts = {rule: num(n) for rule, n in re.findall(r"([^,:]+): ([\d,]*\d)", fields["clean"])}
    counts = {rule.strip(): n for rule, n in counts.items() if n}
    assert total == int(fields["input taxa"]) - int(fields["outside clade"])
    assert kept == int(fields["kept"]) and removed == total - kept == sum(counts.values())
    assert said == counts
