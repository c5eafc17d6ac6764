"""Prepared datasets: round trip, integrity checks, atomic writes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hyptax.data import load_taxonomy, prepared
from hyptax.data.taxonomy import Taxonomy
from hyptax.errors import HyptaxError, InputError


@pytest.fixture
def tax() -> Taxonomy:
    ids = ["1", "2", "3", "4", "5"]
    names = ["root", "Mammalia", "Aves", "Homo sapiens", "Pan troglodytes"]
    ranks = ["no rank", "class", "class", "species", "species"]
    return Taxonomy.from_edges(
        ids, [1, 2, 3, 4], [0, 0, 1, 1], names=names, ranks=ranks, source="test", definition="d"
    )


def test_round_trip(tax: Taxonomy, tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    meta = prepared.save(tax, path)
    back = load_taxonomy(str(path))
    assert back.ids.tolist() == tax.ids.tolist()
    assert back.names.tolist() == tax.names.tolist()
    assert back.ranks.tolist() == tax.ranks.tolist()
    assert np.array_equal(back.child, tax.child) and np.array_equal(back.parent, tax.parent)
    assert back.source == "test"
    assert meta["n_closure"] == tax.n_closure == back.n_closure
    assert prepared.dataset_hash(back) == meta["hash"]
    assert prepared.read_manifest(path)["n_nodes"] == 5


def test_is_not_a_pickle(tax: Taxonomy, tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    prepared.save(tax, path)
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            assert b"\x80\x04\x95" not in zf.read(name)[:3]  # no pickle protocol header


def test_hash_changes_with_content(tax: Taxonomy) -> None:
    other = Taxonomy.from_edges(tax.ids, [1, 2, 3, 4], [0, 0, 1, 2], names=tax.names)
    assert prepared.dataset_hash(other) != prepared.dataset_hash(tax)


def test_altered_file_is_refused(tax: Taxonomy, tmp_path: Path) -> None:
    path = tmp_path / "t.npz"
    prepared.save(tax, path)
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["parent"] = np.array([0, 0, 2, 1], dtype=np.int32)
    np.savez(path, **arrays)
    with pytest.raises(InputError, match="hash"):
        prepared.load(path)


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04broken"])
def test_garbage_is_a_one_line_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(InputError, match=r"bad\.npz") as err:
        prepared.load(path)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(HyptaxError, match="no such file"):
        prepared.load(tmp_path / "none.npz")


def test_failed_write_keeps_old_file(tax: Taxonomy, tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "t.npz"
    prepared.save(tax, path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(HyptaxError, match="no space left"):
        prepared.save(tax, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.npz"]


# ------------------------------------------------------------------ old files
FIXTURE = Path(__file__).parents[1] / "fixtures" / "dataset-v1.npz"
"""``hyptax prepare tree-21.tsv`` by hyptax 0.1.0: format ``hyptax-dataset-1``, no
format_version (see tests/fixtures/README.md)."""


def test_a_dataset_of_hyptax_0_1_0_loads() -> None:
    meta = prepared.read_manifest(FIXTURE)
    assert meta["format"] == prepared.FORMAT_1 and "format_version" not in meta
    tax = prepared.load(FIXTURE)
    edges = load_taxonomy(str(FIXTURE.with_name("tree-21.tsv")), cache=False)
    assert prepared.dataset_hash(tax) == prepared.dataset_hash(edges) == meta["hash"]


def test_this_code_writes_and_reads_format_version_1(tax: Taxonomy, tmp_path: Path) -> None:
    meta = prepared.save(tax, tmp_path / "t.npz")
    assert (meta["format"], meta["format_version"]) == (prepared.FORMAT, 1)
    assert prepared.load(tmp_path / "t.npz").n_nodes == 5


def _with_manifest(path: Path, out: Path, **changes: object) -> Path:
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = {**json.loads(bytes(arrays["manifest"]).decode()), **changes}
    arrays["manifest"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(out, **arrays)
    return out


def test_another_hyptax_version_loads_a_newer_format_is_refused(tmp_path: Path) -> None:
    older = _with_manifest(FIXTURE, tmp_path / "older.npz", hyptax_version="0.0.1")
    assert prepared.load(older).n_nodes == 21
    newer = _with_manifest(FIXTURE, tmp_path / "newer.npz", format="hyptax-dataset",
                           format_version=99, n_nodes="a new layout")  # fmt: skip
    with pytest.raises(InputError) as err:
        prepared.load(newer)
    assert str(err.value) == (
        f"{newer}: written by a newer hyptax (format 99); this one reads format 1: upgrade hyptax"
    )
    bad = _with_manifest(FIXTURE, tmp_path / "bad.npz", format_version="2")
    with pytest.raises(InputError, match="damaged prepared dataset: bad 'format_version'"):
        prepared.load(bad)
