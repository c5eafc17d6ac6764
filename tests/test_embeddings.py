"""The trained artefact: lookups, distances, neighbours, loading from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyptax
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import Embeddings
from hyptax.errors import HyptaxError
from hyptax.manifolds import get_manifold
from hyptax.training.checkpoint import save_checkpoint

IDS = ["1", "2", "3", "4", "5", "6"]
NAMES = ["root", "Mammalia", "Aves", "Homo sapiens", "Pan troglodytes", "Gallus gallus"]


def tax() -> Taxonomy:
    ranks = ["no rank", "class", "class", "species", "species", "species"]
    return Taxonomy.from_edges(
        IDS, np.array([1, 2, 3, 4, 5]), np.array([0, 0, 1, 1, 2]), names=NAMES, ranks=ranks
    )


def vectors(manifold: str = "poincare") -> torch.Tensor:
    p = torch.tensor(
        [[0.0, 0.0], [0.5, 0.0], [-0.5, 0.0], [0.8, 0.1], [0.8, -0.1], [-0.8, 0.05]],
        dtype=torch.float64,
    )
    return p if manifold == "poincare" else get_manifold("lorentz").from_poincare(p)


@pytest.fixture(params=["poincare", "lorentz"])
def emb(request) -> Embeddings:
    return Embeddings(IDS, NAMES, vectors(request.param), request.param)


def test_lookup_by_id_then_name_with_suggestions(emb):
    assert emb.lookup("4") == 3
    assert emb.lookup("Homo sapiens") == 3
    with pytest.raises(KeyError, match="did you mean 'Homo sapiens'"):
        emb.lookup("Homo sapien")
    with pytest.raises(KeyError, match="did you mean 'Pan troglodytes'"):
        emb.lookup("pan")  # a prefix, in any case
    with pytest.raises(KeyError, match="did you mean 'Mammalia'"):
        emb.lookup("Mammalai")


def test_distance_vector_and_nearest(emb):
    m = get_manifold(emb.manifold)
    want = float(m.dist(emb.vectors[3], emb.vectors[4]))
    assert emb.distance("Homo sapiens", "Pan troglodytes") == pytest.approx(want)
    assert emb.distance("4", "5") == emb.distance("5", "4")
    assert emb.vector("Aves").shape == (emb.coord_dim,)
    near = emb.nearest("Homo sapiens", k=3)
    assert [n for n, _ in near] == ["Pan troglodytes", "Mammalia", "root"]
    dists = [d for _, d in near]
    assert dists == sorted(dists) and all(d > 0 for d in dists)
    assert len(emb.nearest("root", k=100)) == 5


def test_poincare_coordinates_and_dims(emb):
    assert np.allclose(emb.poincare(), vectors("poincare").numpy(), atol=1e-12)
    assert emb.dim == 2 and emb.n == len(emb) == 6


def test_taxonomy_alignment_and_metadata(emb):
    t = tax()
    rich = emb.with_taxonomy(t)
    assert rich.ranks[3] == "species" and rich.depth.tolist() == [0, 1, 1, 2, 2, 2]
    perm = [5, 0, 3, 1, 4, 2]
    shuffled = Embeddings([IDS[i] for i in perm], [NAMES[i] for i in perm],
                          emb.vectors[perm], emb.manifold)  # fmt: skip
    assert torch.equal(shuffled.aligned(t), emb.vectors)
    short = Embeddings(IDS[:5], NAMES[:5], emb.vectors[:5], emb.manifold)
    with pytest.raises(HyptaxError, match="no vector for 1 of the 6 nodes"):
        short.aligned(t)


def test_bad_shapes_and_manifold_are_one_line_errors():
    with pytest.raises(HyptaxError, match="6 ids"):
        Embeddings(IDS, NAMES, torch.zeros(5, 2), "poincare")
    with pytest.raises(HyptaxError, match="unknown manifold"):
        Embeddings(IDS, NAMES, torch.zeros(6, 2), "sphere")


def test_load_a_checkpoint(tmp_path):
    path = tmp_path / "best.pt"
    save_checkpoint(path, {
        "config": {"dim": 2, "holdout": 0.0, "seed": 0},
        "data": {"spec": "toy.npz", "options": {}, "hash": "x", "n_nodes": 6},
        "ids": IDS, "names": NAMES, "manifold": "poincare",
        "weight": vectors().to(torch.float32), "epoch": 7, "best_metric": 0.5,
        "optimizer": {}, "rng": {}, "history": [{"epoch": 7, "loss": 1.0}],
    })  # fmt: skip
    emb = hyptax.load(path)
    assert isinstance(emb, hyptax.Embeddings)
    assert emb.ids == IDS and emb.manifold == "poincare"
    assert emb.vectors.dtype == torch.float64
    assert emb.meta["epoch"] == 7 and emb.meta["data"]["spec"] == "toy.npz"
    assert emb.nearest("Gallus gallus", 1)[0][0] == "Aves"


def test_load_refuses_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(HyptaxError, match="no such checkpoint"):
        hyptax.load(tmp_path / "nothing.pt")
    bad = tmp_path / "bad.pt"
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(HyptaxError, match="not a hyptax checkpoint"):
        hyptax.load(bad)


def test_shared_names_are_refused_with_their_candidates():
    from hyptax.errors import AmbiguousName

    names = ["root", "Bacillus", "Bacillus", "Homo sapiens", "Bacillus (x)", "Gallus gallus"]
    ranks = ["no rank", "genus", "genus", "species", "species", "species"]
    emb = Embeddings(IDS, names, vectors(), "poincare", ranks=ranks)
    for call in (
        lambda: emb.lookup("Bacillus"),
        lambda: emb.nearest("Bacillus"),
        lambda: emb.distance("root", "Bacillus"),
        lambda: emb.vector("Bacillus"),
    ):
        with pytest.raises(AmbiguousName) as err:
            call()
        msg = str(err.value)
        assert "'Bacillus' names 2 nodes: Bacillus (2, genus), Bacillus (3, genus)" in msg
        assert "'Bacillus (ID)' or the id" in msg and "\n" not in msg
    assert emb.lookup("Bacillus (3)") == 2 and emb.lookup("3") == 2
    assert emb.lookup("Bacillus (x)") == 4  # a name with brackets of its own
    with pytest.raises(KeyError, match="no node 4 is named 'Bacillus'"):
        emb.lookup("Bacillus (4)")
    shared = Taxonomy.from_edges(IDS, np.array([1, 2, 3, 4, 5]), np.array([0, 0, 1, 1, 2]),
                                 names=names)  # fmt: skip
    with pytest.raises(AmbiguousName):
        shared.lookup("Bacillus")
    assert shared.lookup("Bacillus (2)") == 1
    assert shared.lineage(3) == ["root", "Bacillus"]
