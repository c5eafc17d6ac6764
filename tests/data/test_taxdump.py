"""taxdump:DIR -- NCBI nodes.dmp + names.dmp that users bring."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hyptax.config import DataOptions
from hyptax.data import load_taxonomy, taxdump
from hyptax.errors import HyptaxError, InputError

# tax_id, parent, rank, scientific name
TAXA = [
    (1, 1, "no rank", "root"),
    (2, 131567, "superkingdom", "Bacteria"),
    (131567, 1, "no rank", "cellular organisms"),
    (2759, 131567, "domain", "Eukaryota"),
    (1224, 2, "phylum", "Pseudomonadota"),
    (561, 1224, "genus", "Escherichia"),
    (562, 561, "species", "Escherichia coli"),
    (9606, 2759, "species", "Homo sapiens"),
]


def node_line(tax: int, parent: int, rank: str, n_fields: int = 13, end: str = "\t|") -> str:
    rest = ["", "0", "1", "11", "1", "0", "1", "0", "0", ""] + ["0"] * (n_fields - 13)
    return "\t|\t".join([str(tax), str(parent), rank, *rest][:n_fields]) + end + "\n"


def name_line(tax: int, name: str, kind: str = "scientific name", end: str = "\t|") -> str:
    return f"{tax}\t|\t{name}\t|\t\t|\t{kind}{end}\n"


def write_dump(
    folder: Path,
    taxa=TAXA,
    *,
    n_fields: int = 13,
    end: str = "\t|",
    extra_names: str = "",
    newline: str = "\n",
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nodes = "".join(node_line(t, p, r, n_fields, end) for t, p, r, _ in taxa)
    names = "".join(name_line(t, n, end=end) + name_line(t, n.upper(), "synonym", end)
                    for t, _, _, n in taxa) + extra_names  # fmt: skip
    (folder / "nodes.dmp").write_bytes(nodes.replace("\n", newline).encode())
    (folder / "names.dmp").write_bytes(names.replace("\n", newline).encode())
    return folder


def as_rows(dump: taxdump.Dump) -> list[tuple[int, int, str, str]]:
    return list(
        zip(dump.tax_ids.tolist(), dump.parents.tolist(), dump.ranks.tolist(),
            dump.names.tolist(), strict=True)
    )  # fmt: skip


@pytest.mark.parametrize(
    ("n_fields", "end", "newline"),
    [(13, "\t|", "\n"), (18, "\t|", "\n"), (13, "", "\n"), (18, "\t|", "\r\n"), (3, "", "\n")],
)
def test_read_dump_variants(tmp_path: Path, n_fields: int, end: str, newline: str) -> None:
    dump = taxdump.read_dump(write_dump(tmp_path, n_fields=n_fields, end=end, newline=newline))
    assert as_rows(dump) == TAXA
    assert dump.lines.tolist() == list(range(1, len(TAXA) + 1))
    assert dump.tax_ids.dtype == np.int64 and dump.parents.dtype == np.int64
    assert dump.stats == {
        "taxa_without_scientific_name": 0,
        "extra_scientific_names": 0,
        "names_without_node": 0,
    }


def test_empty_fields_names_with_bars_and_blank_lines(tmp_path: Path) -> None:
    folder = write_dump(tmp_path, extra_names="\n555\t|\tA|B\t|\t\t|\tscientific name\t|\n")
    text = (folder / "nodes.dmp").read_text()
    (folder / "nodes.dmp").write_text("\n" + text.replace("\n", "\n\n", 1))
    dump = taxdump.read_dump(folder)
    assert as_rows(dump) == TAXA
    assert dump.lines.tolist()[:3] == [2, 4, 5]
    assert dump.stats["names_without_node"] == 1


def test_missing_and_extra_scientific_names(tmp_path: Path) -> None:
    taxa = [*TAXA, (563, 561, "species", "")]
    folder = write_dump(tmp_path, taxa, extra_names=name_line(562, "E. coli again"))
    names = (folder / "names.dmp").read_text().replace(name_line(563, ""), "")
    (folder / "names.dmp").write_text(names)
    dump = taxdump.read_dump(folder)
    assert dump.names.tolist()[-1] == "563"  # named by its tax_id
    names = dict(zip(dump.tax_ids.tolist(), dump.names.tolist(), strict=True))
    assert names[562] == "Escherichia coli"  # the first scientific name wins
    assert dump.stats["taxa_without_scientific_name"] == 1
    assert dump.stats["extra_scientific_names"] == 1


def test_load_builds_the_ncbi_taxonomy(tmp_path: Path) -> None:
    folder = write_dump(tmp_path / "dump")
    tax = load_taxonomy(f"taxdump:{folder}")
    assert tax.n_nodes == len(TAXA)
    assert tax.source == f"taxdump:{folder}"
    i = tax.lookup("Escherichia coli")
    assert tax.ids[i] == "562" and tax.ranks[i] == "species"
    assert tax.ids[tax.roots].tolist() == ["1"]
    assert tax.depth[i] == 5
    assert tax.stats["taxa_without_scientific_name"] == 0
    main = taxdump.load(str(folder), DataOptions(ranks="main"))
    assert "cellular organisms" not in main.names.tolist()
    assert main.n_nodes < tax.n_nodes


def test_unknown_parent_names_file_and_line(tmp_path: Path) -> None:
    folder = write_dump(tmp_path, [*TAXA[:4], (77, 999, "genus", "Orphan"), *TAXA[4:]])
    with pytest.raises(InputError) as err:
        taxdump.load(str(folder), DataOptions())
    assert str(err.value).startswith(f"{folder / 'nodes.dmp'}: line 5: ")
    assert "999" in str(err.value)


@pytest.mark.parametrize(
    ("which", "text", "expected"),
    [
        ("nodes.dmp", node_line(1, 1, "no rank") + "2\t|\t1\t|\n", "line 2: expected 13 fields"),
        ("nodes.dmp", "1\t|\t1\n", "line 1: expected at least 3 fields"),
        ("nodes.dmp", node_line(1, 1, "x") + node_line(2, 1, "y", 18), "line 2: expected 13"),
        ("nodes.dmp", node_line(1, 1, "x") + "\n" + node_line(-2, 1, "y"), "line 3: tax_id '-2'"),
        ("nodes.dmp", node_line(1, 1, "x") + node_line(2, 1, "y").replace("\t1\t", "\tone\t", 1),
         "line 2: parent tax_id 'one' is not a whole number"),
        ("nodes.dmp", node_line(1, 1, "x") + node_line(1, 1, "y"),
         "line 2: tax_id 1 appears twice (also on line 1)"),
        ("nodes.dmp", "", "empty file"),
        ("names.dmp", name_line(1, "root") + "2\t|\tBacteria\t|\tscientific name\t|\n",
         "line 2: expected 4 fields"),
        ("names.dmp", name_line(1, "root") + "x1\t|\tBad\t|\t\t|\tscientific name\t|\n",
         "line 2: tax_id 'x1' is not a whole number"),
    ],
)  # fmt: skip
def test_malformed(tmp_path: Path, which: str, text: str, expected: str) -> None:
    folder = write_dump(tmp_path)
    (folder / which).write_text(text)
    with pytest.raises(InputError) as err:
        taxdump.read_dump(folder)
    assert str(err.value).startswith(f"{folder / which}: {expected}"), str(err.value)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    folder = write_dump(tmp_path)
    data = (folder / "names.dmp").read_bytes().replace(b"Homo sapiens", b"Homo s\xe4piens")
    (folder / "names.dmp").write_bytes(data)
    line = data[: data.index(b"\xe4")].count(b"\n") + 1
    with pytest.raises(InputError, match=rf"names.dmp: line {line}: not UTF-8 text \(byte 0xe4\)"):
        taxdump.read_dump(folder)


def test_missing_folder_or_files(tmp_path: Path) -> None:
    with pytest.raises(HyptaxError, match="folder does not exist"):
        taxdump.read_dump(tmp_path / "nope")
    folder = write_dump(tmp_path / "d")
    (folder / "names.dmp").unlink()
    with pytest.raises(HyptaxError, match=r"no names\.dmp; taxdump:DIR needs NCBI's nodes\.dmp"):
        load_taxonomy(f"taxdump:{folder}")
