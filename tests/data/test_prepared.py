"""Prepared datasets: round trip, integrity checks, atomic writes."""

from __future__ import annotations

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
