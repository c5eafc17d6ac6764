"""Edge lists (.csv/.tsv/.txt/.gz) and the prototype's pickle: formats and bad input."""

from __future__ import annotations

import gzip
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from hyptax.data import load_taxonomy
from hyptax.data.edgelist import load_edges, load_pickle, two_step_counts
from hyptax.data.taxonomy import Taxonomy
from hyptax.errors import HyptaxError, InputError


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def parent_pairs(tax) -> set[tuple[str, str]]:
    return set(zip(tax.ids[tax.child].tolist(), tax.ids[tax.parent].tolist(), strict=True))


# ---------------------------------------------------------------- formats
TREE = {("b", "a"), ("c", "a"), ("d", "b"), ("e", "d")}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("t.csv", "b,a\nc,a\nd,b\ne,d\n"),
        ("t.csv", "child,parent\nb,a\nc,a\nd,b\ne,d\n"),
        ("t.csv", "Parent , Child\na,b\na,c\nb,d\nd,e\n"),  # reversed header swaps columns
        ("t.csv", "id1,id2,weight\nb,a,1\nc,a,1\nd,b,1\ne,d,1\n"),  # extra column ignored
        ("t.csv", '"b",a\r\n  c , a \r\n\r\n# comment\nd,"b"\ne,d'),  # quotes, CRLF, spaces
        ("t.tsv", "descendant\tancestor\nb\ta\nc\ta\nd\tb\ne\td\n"),
        ("t.txt", "b\ta\nc\ta\nd\tb\ne\td\n"),
        ("t.txt", "b,a\nc,a\nd,b\ne,d\n"),
        ("t.txt", "b  a\nc a\n d\tb\ne d\n"),
    ],
)
def test_formats_give_same_tree(tmp_path: Path, name: str, text: str) -> None:
    tax = load_edges(write(tmp_path, name, text))
    assert parent_pairs(tax) == TREE
    assert tax.n_nodes == 5
    assert tax.stats["input_form"] == "parent edges"
    assert tax.depth[tax.index["e"]] == 3


def test_header_is_counted_and_ids_keep_inner_spaces(tmp_path: Path) -> None:
    tax = load_edges(write(tmp_path, "t.csv", 'child,parent\n"Homo sapiens, L.",Homo\n'))
    assert tax.stats["header"] == 1
    assert parent_pairs(tax) == {("Homo sapiens, L.", "Homo")}
    assert load_edges(write(tmp_path, "u.csv", "x,y\n")).stats["header"] == 0


def test_gzip_and_dispatch(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv.gz"
    path.write_bytes(gzip.compress(b"b\ta\nc\tb\n"))
    tax = load_taxonomy(str(path))
    assert parent_pairs(tax) == {("b", "a"), ("c", "b")}
    assert tax.source == str(path)


def test_closure_input_is_reduced(tmp_path: Path) -> None:
    closure = {
        ("b", "a"), ("c", "a"), ("d", "b"), ("d", "a"), ("e", "d"), ("e", "b"), ("e", "a"),
    }  # fmt: skip
    text = "".join(f"{c},{p}\n" for c, p in sorted(closure))
    tax = load_edges(write(tmp_path, "c.csv", text))
    assert tax.stats["input_form"] == "closure"
    assert parent_pairs(tax) == TREE
    d, a = tax.closure
    assert set(zip(tax.ids[d].tolist(), tax.ids[a].tolist(), strict=True)) == closure


def test_non_closed_input_with_shortcut_is_kept_as_given(tmp_path: Path) -> None:
    # c -> b -> a plus the shortcut c -> a, but d -> c without d -> b: not closed.
    tax = load_edges(write(tmp_path, "p.csv", "b,a\nc,b\nc,a\nd,c\n"))
    assert tax.stats["input_form"] == "parent edges"
    assert ("c", "a") in parent_pairs(tax)


def test_two_step_counts_random_dags() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(3, 40))
        child = np.arange(1, n)
        parent = np.array([rng.integers(0, i) for i in range(1, n)])
        tax = Taxonomy.from_edges([str(i) for i in range(n)], child, parent)
        d, a = (x.astype(np.int64) for x in tax.closure)
        total, missing = two_step_counts(d, a, n)
        assert missing == 0
        assert (total > 0) == bool((tax.depth >= 2).any())
        key = np.sort(tax.child.astype(np.int64) * n + tax.parent)
        total, missing = two_step_counts(key // n, key % n, n)
        assert missing == total  # a tree's parent edges list none of their shortcuts


def test_almost_closed_input_is_reduced_exactly(tmp_path: Path) -> None:
    # The closure of the chain e -> d -> c -> b -> a, missing (e, a): the one-step
    # reduction would keep e -> a (no two-step path to it); the exact one drops it.
    chain = "abcde"
    pairs = [(chain[i], chain[j]) for i in range(5) for j in range(i) if (i, j) != (4, 0)]
    tax = load_edges(write(tmp_path, "almost.csv", "".join(f"{c},{p}\n" for c, p in pairs)))
    assert tax.stats["input_form"] == "closure"
    assert parent_pairs(tax) == {("b", "a"), ("c", "b"), ("d", "c"), ("e", "d")}
    assert tax.stats["closure_pairs_in"] == 9
    assert tax.stats["closure_pairs_implied"] == 1
    assert tax.n_closure == 9  # the relation as listed is what gets embedded
    assert len(tax.derived_closure()[0]) == 10


def test_cycle_in_a_closure_names_the_line(tmp_path: Path) -> None:
    text = "b,a\nc,b\nc,a\nd,c\nd,b\nd,a\na,d\n"
    with pytest.raises(InputError, match=r"cyc.csv: line \d: cycle: "):
        load_edges(write(tmp_path, "cyc.csv", text))


def test_duplicates_dropped_and_counted(tmp_path: Path) -> None:
    tax = load_edges(write(tmp_path, "d.csv", "b,a\nc,b\nb,a\n b , a\nc,b\n"))
    assert tax.stats["duplicate_edges"] == 3
    assert tax.n_edges == 2
    closure = "b,a\nc,b\nc,a\nc,a\n"
    tax = load_edges(write(tmp_path, "dc.csv", closure))
    assert tax.stats["input_form"] == "closure"
    assert tax.stats["duplicate_edges"] == 1


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("m.csv", "b,a\nc,b,x\n", "m.csv: line 2: expected 2 fields separated by commas"),
        ("m.csv", "b,a\n\n\nc\n", "m.csv: line 4: expected 2 fields"),
        ("m.tsv", "b\n", "m.tsv: line 1: expected at least 2 fields"),
        ("m.tsv", "b\ta\nc\t\n", "m.tsv: line 2: empty parent id"),
        ("m.csv", "b,a\n ,a\n", "m.csv: line 2: empty child id"),
        ("m.csv", "b,a\nc,c\n", "m.csv: line 2: self-loop: 'c' is its own parent"),
        ("m.csv", "", "m.csv: empty file"),
        ("m.csv", "  \n\n", "m.csv: empty file"),
        ("m.csv", "child,parent\n", "m.csv: empty file: no edges after the header"),
        ("m.csv", '"b,a\n', "m.csv: line"),
    ],
)
def test_bad_edge_lists(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as err:
        load_edges(path)
    message = str(err.value)
    assert message.startswith(str(tmp_path / expected)), message
    assert "\n" not in message


def test_cycle_names_nodes_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "cyc.tsv", "x\troot\nb\ta\nc\tb\na\tc\n")
    with pytest.raises(InputError, match=r"cyc.tsv: line \d: cycle: ") as err:
        load_edges(path)
    message = str(err.value)
    for node in ("'a'", "'b'", "'c'"):
        assert node in message
    assert "'x'" not in message


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "latin1.csv", "b,a\nc,b\nd,café\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.csv: line 3: not UTF-8 text \(byte 0xe9\)"):
        load_edges(path)


def test_missing_file_and_bad_gzip(tmp_path: Path) -> None:
    with pytest.raises(HyptaxError, match="no such file"):
        load_edges(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="not a readable gzip file"):
        load_edges(write(tmp_path, "x.csv.gz", b"not gzip"))


# ---------------------------------------------------------------- pickles
def dump(tmp_path: Path, obj: object, name: str = "p.pkl", protocol: int = 4) -> Path:
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj, protocol=protocol))
    return path


CLOSURE = [(2, 1), (3, 1), (4, 2), (4, 1)]


@pytest.mark.parametrize(
    "records",
    [
        [{"descendant_taxid": c, "ancestor_taxid": p, "depth": 0} for c, p in CLOSURE],
        [{"descendant_idx": c, "ancestor_idx": p} for c, p in CLOSURE],
        [(str(c), str(p)) for c, p in CLOSURE],
        tuple([c, p] for c, p in CLOSURE),
    ],
)
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_pickle_forms(tmp_path: Path, records: object, protocol: int) -> None:
    tax = load_pickle(dump(tmp_path, records, protocol=protocol))
    assert parent_pairs(tax) == {("2", "1"), ("3", "1"), ("4", "2")}
    assert tax.n_closure == 4
    assert tax.stats["input_form"] == "closure"


def test_pickle_reflexive_and_duplicates_counted(tmp_path: Path) -> None:
    tax = load_taxonomy(str(dump(tmp_path, [*CLOSURE, (1, 1), (2, 2), (4, 2)])))
    assert tax.stats["reflexive_pairs"] == 2
    assert tax.stats["duplicate_edges"] == 1
    assert tax.n_closure == 4


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))

    def __init__(self, marker: Path) -> None:
        self.marker = marker


def test_pickle_that_runs_a_command_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = dump(tmp_path, [(1, 2), Evil(marker)])
    with pytest.raises(InputError) as err:
        load_pickle(path)
    assert str(err.value) == (
        f"{path}: refused: the pickle asks for '{os.system.__module__}.system'; "
        "hyptax reads only plain lists, dicts and numbers"
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    "obj",
    [
        np.array([[2, 1]]),
        [(np.int64(2), np.int64(1))],
        {frozenset({1, 2})},  # protocol 2 builds sets through a global
        [Path("a"), Path("b")],
    ],
)
def test_pickle_with_objects_is_refused(tmp_path: Path, obj: object) -> None:
    with pytest.raises(InputError, match="refused: the pickle asks for '"):
        load_pickle(dump(tmp_path, obj, protocol=2))


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"a": 1}, "expected a list of records or (child, ancestor) pairs, found dict"),
        ([], "empty: the pickle holds no pairs"),
        ([(1, 2), (1, 2, 3)], "record 1: expected a dict or a (child, ancestor) pair"),
        ([{"child": 1, "parent": 2}], "record 0: no descendant_taxid/ancestor_taxid"),
        ([(1, 2.5)], "record 0: id 2.5 is not a string or whole number"),
        ([(1, None)], "record 0: id None is not a string or whole number"),
        ([(2, 1), (3, 2), (1, 3)], "cycle: "),
    ],
)
def test_pickle_bad_content(tmp_path: Path, obj: object, expected: str) -> None:
    path = dump(tmp_path, obj)
    with pytest.raises(InputError) as err:
        load_pickle(path)
    assert str(err.value).startswith(f"{path}: {expected}"), str(err.value)


def test_truncated_and_garbage_pickles(tmp_path: Path) -> None:
    data = pickle.dumps([(i + 1, i) for i in range(100)])
    for name, blob in [("trunc.pkl", data[: len(data) // 2]), ("junk.pkl", b"\x00garbage\xff")]:
        path = write(tmp_path, name, blob)
        with pytest.raises(InputError, match=r"not a readable pickle \(truncated or corrupt"):
            load_pickle(path)


@pytest.mark.parametrize(
    "char", ["\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
)
@pytest.mark.parametrize(("name", "sep"), [("t.tsv", "\t"), ("t.txt", "\t"), ("t.txt", " "),
                                           ("t.csv", ",")])  # fmt: skip
def test_only_newlines_end_a_line(tmp_path: Path, char: str, name: str, sep: str) -> None:
    odd = f"x{char}y"
    text = f"b{sep}a\r\n{odd}{sep}a\nd{sep}{odd}\n"
    tax = load_edges(write(tmp_path, name, text))
    assert parent_pairs(tax) == {("b", "a"), (odd, "a"), ("d", odd)}
