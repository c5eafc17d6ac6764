"""Exports: word2vec text read by gensim, projector TSVs, lossless npy round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import hyptax
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.errors import HyptaxError
from hyptax.export import export, npy_paths, w2v_tokens
from hyptax.manifolds import get_manifold

IDS = ["1", "2", "3", "4", "5", "6", "7"]
NAMES = ["root", "Chordata", "Bacillus", "Homo sapiens", "Bacillus", "Pan\ttroglodytes", "x y"]
RANKS = ["no rank", "phylum", "genus", "species", "genus", "species", "species"]


def tax() -> Taxonomy:
    child, parent = np.array([1, 2, 3, 4, 5, 6]), np.array([0, 1, 1, 2, 3, 0])
    return Taxonomy.from_edges(IDS, child, parent, names=NAMES, ranks=RANKS, source="toy")


def emb(manifold: str = "poincare") -> Embeddings:
    p = get_manifold("poincare").random(7, 3, 0.9, torch.Generator().manual_seed(0))
    w = p if manifold == "poincare" else get_manifold("lorentz").from_poincare(p)
    return Embeddings(IDS, NAMES, w, manifold, meta={"data": {"spec": "toy.npz", "hash": "h"}})


def test_tokens_are_unique_and_whitespace_free():
    tokens = w2v_tokens(emb())
    assert len(set(tokens)) == len(tokens)
    assert tokens[3] == "Homo_sapiens" and tokens[6] == "x_y"
    assert tokens[2] == "Bacillus#3" and tokens[4] == "Bacillus#5"
    assert not any(c.isspace() for t in tokens for c in t)


@pytest.mark.parametrize("manifold", ["poincare", "lorentz"])
def test_w2v_loads_in_gensim(tmp_path, manifold):
    from gensim.models import KeyedVectors

    e = emb(manifold)
    path, mapping = export(e, "w2v", tmp_path / "emb.w2v")  # names changed: a mapping too
    assert mapping.name == "emb.w2v.tokens.tsv"
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert kv.vectors.shape == (7, 3)
    assert list(kv.index_to_key) == w2v_tokens(e)
    assert np.allclose(kv["Homo_sapiens"], e.poincare()[3], atol=1e-6)


def test_projector_tsv(tmp_path):
    e = emb().with_taxonomy(tax())
    vectors, metadata = export(e, "tsv", tmp_path / "proj", tax())
    rows = [line.split("\t") for line in vectors.read_text().splitlines()]
    assert len(rows) == 7 and all(len(r) == 3 for r in rows)
    assert np.allclose(np.array(rows, dtype=float), e.poincare(), atol=1e-8)
    meta = [line.split("\t") for line in metadata.read_text().splitlines()]
    assert meta[0] == ["name", "id", "rank", "depth", "phylum"]
    assert len(meta) == 8 and all(len(r) == 5 for r in meta)
    assert meta[4] == ["Homo sapiens", "4", "species", "2", "Chordata"]
    assert meta[6][0] == "Pan troglodytes"  # the tab inside the name became a space
    assert meta[7][4] == ""  # below the root but in no phylum


@pytest.mark.parametrize("manifold", ["poincare", "lorentz"])
def test_npy_round_trip(tmp_path, manifold):
    e = emb(manifold).with_taxonomy(tax())
    files = export(e, "npy", tmp_path / "out.npy")
    assert [f.name for f in files] == ["out.npy", "out.names.tsv", "out.json"]
    back = hyptax.load(tmp_path / "out.npy")
    assert torch.equal(back.vectors, e.vectors)
    assert back.ids == e.ids and back.names == NAMES and back.manifold == manifold
    assert back.ranks == RANKS and back.depth.tolist() == e.depth.tolist()
    assert back.meta["data"]["spec"] == "toy.npz"
    assert json.loads((tmp_path / "out.json").read_text())["coord_dim"] == e.coord_dim


def test_npy_errors_are_one_line(tmp_path):
    export(emb(), "npy", tmp_path / "out")
    vec, _, meta = npy_paths(tmp_path / "out")
    meta.write_text("{}")
    with pytest.raises(HyptaxError, match="not a hyptax npy export manifest"):
        hyptax.load(vec)
    vec.unlink()
    with pytest.raises(HyptaxError, match=r"out\.npy: no such file"):
        hyptax.load(vec)
    with pytest.raises(HyptaxError, match="unknown export format"):
        export(emb(), "csv", tmp_path / "x")


@pytest.mark.parametrize("fmt", ["npy", "polar"])
def test_exports_read_by_format_version_not_by_package_version(tmp_path, fmt):
    extended = Path(__file__).parent / "fixtures" / "checkpoint-v1-extended.pt"
    e = hyptax.load(extended) if fmt == "polar" else emb()
    files = export(e, fmt, tmp_path / "out")
    meta_path = files[-1]
    meta = json.loads(meta_path.read_text())
    assert meta["format_version"] == 1
    del meta["format_version"]  # as hyptax 0.1.0 wrote them
    meta_path.write_text(json.dumps({**meta, "hyptax_version": "0.0.1"}))
    assert hyptax.load(files[0]).ids == e.ids
    meta_path.write_text(json.dumps({**meta, "format_version": 3}))
    with pytest.raises(HyptaxError) as err:
        hyptax.load(files[0])
    assert str(err.value) == (
        f"{meta_path}: written by a newer hyptax (format 3); this one reads format 1: "
        "upgrade hyptax"
    )


def test_an_npy_export_with_bad_points_is_refused(tmp_path):
    export(emb(), "npy", tmp_path / "v")
    vec = np.load(tmp_path / "v.npy")
    vec[2] *= 1.5 / np.linalg.norm(vec[2])
    vec[4, 0] = np.nan
    np.save(tmp_path / "v.npy", vec)
    with pytest.raises(HyptaxError, match=r"v.npy: 1 of 7 rows are not finite"):
        hyptax.load(tmp_path / "v.npy")
    vec[4, 0] = 0.0
    np.save(tmp_path / "v.npy", vec)
    with pytest.raises(HyptaxError, match=r"v.npy: 1 of 7 rows lie outside the Poincaré ball"):
        hyptax.load(tmp_path / "v.npy")


def test_npy_names_with_unicode_line_breaks_round_trip(tmp_path):
    names = [f"n{c}x" for c in "\x85\u2028\u2029\x0b\x0c\x1c\x1d"]
    e = Embeddings(IDS, names, emb().vectors, "poincare")
    export(e, "npy", tmp_path / "v")
    assert hyptax.load(tmp_path / "v.npy").names == names


def test_w2v_tokens_stay_unique_and_whitespace_free_when_names_collide(tmp_path):
    from gensim.models import KeyedVectors

    ids = ["x y", "7", "x_y#x_y", "a b", "9", "10"]
    names = ["x y", "x_y", "x_y#x_y", "p\u2028q", "p q", "plain"]
    e = Embeddings(ids, names, emb().vectors[:6], "poincare")
    tokens = w2v_tokens(e)
    assert len(set(tokens)) == 6 and not any(c.isspace() for t in tokens for c in t), tokens
    assert tokens[5] == "plain"
    path, mapping = export(e, "w2v", tmp_path / "v.w2v")
    kv = KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert list(kv.index_to_key) == tokens
    text = mapping.read_text(encoding="utf-8")
    rows = [line.split("\t") for line in text.removesuffix("\n").split("\n")]
    assert rows[0] == ["token", "id", "name"]
    assert [r[0] for r in rows[1:]] == tokens and [r[1] for r in rows[1:]] == ids
    plain = Embeddings(["1", "2"], ["a", "b"], emb().vectors[:2], "poincare")
    assert export(plain, "w2v", tmp_path / "v.w2v") == [path]  # no change: no mapping,
    assert not mapping.exists()  # and none left from the export before
    assert export(e, "w2v", "/dev/null") == [Path("/dev/null")]  # nothing beside a device
    assert not Path("/dev/null.tokens.tsv").exists()


def deep() -> Embeddings:
    """Points up to 1 - 1e-10 from the origin, where float32 keeps no digits of the gap."""
    g = torch.Generator().manual_seed(1)
    p = get_manifold("poincare").random(7, 3, 0.9, g)
    gap = 10.0 ** -torch.linspace(1, 10, 7, dtype=torch.float64)
    return Embeddings(IDS, NAMES, p / p.norm(dim=1, keepdim=True) * (1 - gap[:, None]), "poincare")


def test_w2v_and_tsv_text_read_back_exactly_as_float64_and_as_gensim_reads_float32(tmp_path):
    from gensim.models import KeyedVectors

    from hyptax.export import read_back

    e = deep()
    path = export(e, "w2v", tmp_path / "v.w2v")[0]
    exact = KeyedVectors.load_word2vec_format(str(path), datatype=np.float64)
    assert exact.vectors.dtype == np.float64
    assert np.array_equal(exact.vectors, e.poincare())  # every digit needed is written
    default = KeyedVectors.load_word2vec_format(str(path))  # float32
    assert np.array_equal(default.vectors, read_back(e, "w2v", "float32")[0])
    assert not np.array_equal(default.vectors.astype(np.float64), e.poincare())
    vectors = export(e, "tsv", tmp_path / "proj")[0]
    assert np.array_equal(np.loadtxt(vectors, delimiter="\t"), e.poincare())
    assert np.array_equal(read_back(e, "tsv", "float64")[0], e.poincare())
