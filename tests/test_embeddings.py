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


# ------------------------------------------------------------ KeyedVectors-like access
def polar_emb() -> Embeddings:
    """The tree in extended precision (leaves at a radius of ~26, where float64
    coordinates round onto the rim)."""
    from hyptax import constructive as C

    t = tax()
    built = C.build(t, 2, geometry="metric", precision="extended")
    assert built.polar is not None
    return Embeddings(t.ids, t.names, built.points, "poincare", ranks=t.ranks, polar=built.polar)


def test_mapping_access_like_keyed_vectors(emb):
    assert np.array_equal(emb["Aves"], emb.vectors[2].numpy())
    assert emb[["4", "Aves"]].shape == (2, emb.coord_dim)
    assert np.array_equal(emb[["4", "Aves"]][1], emb["3"])
    assert "Homo sapiens" in emb and "4" in emb and "Homo sapiens (4)" in emb
    assert "Homo sapien" not in emb and 4 not in emb and "Homo sapiens (5)" not in emb
    assert len(emb) == 6 and list(emb) == IDS
    with pytest.raises(KeyError, match="did you mean"):
        emb["Homo sapien"]


def test_a_shared_name_is_in_the_embedding():
    e = Embeddings(["1", "2"], ["Bacillus", "Bacillus"], vectors()[:2], "poincare")
    assert "Bacillus" in e


@pytest.mark.parametrize("make", ["poincare", "lorentz", "polar"])
def test_batch_distance_is_the_scalar_one_pair_by_pair(make):
    e = polar_emb() if make == "polar" else Embeddings(IDS, NAMES, vectors(make), make)
    a, b = ["Homo sapiens", "4", "Aves", "root"], ["Pan troglodytes", "Gallus gallus", "3", "1"]
    got = e.distance(a, b)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == (4,)
    assert got.tolist() == [e.distance(x, y) for x, y in zip(a, b, strict=True)]
    assert got[3] == 0.0 and isinstance(e.distance("4", "5"), float)
    with pytest.raises(ValueError, match="same length"):
        e.distance(a, b[:2])


def test_polar_distances_and_neighbours_come_from_the_polar_points():
    e = polar_emb()
    homo, pan = e.lookup("Homo sapiens"), e.lookup("Pan troglodytes")
    want = float(e.polar.dist(np.array([homo]), np.array([pan]))[0])
    assert e.distance(["Homo sapiens"], ["Pan troglodytes"])[0] == want
    plain = float(get_manifold("poincare").dist(e.vectors[homo], e.vectors[pan]))
    assert plain != want  # the rounded coordinates give another answer
    assert e.nearest("Homo sapiens", 1, rank="species") == [("Pan troglodytes", want)]


def test_nearest_keeps_only_the_rank_asked_for():
    e = Embeddings(IDS, NAMES, vectors(), "poincare").with_taxonomy(tax())
    assert [n for n, _ in e.nearest("Homo sapiens", 5, rank="species")] == [
        "Pan troglodytes", "Gallus gallus"
    ]  # fmt: skip
    assert [n for n, _ in e.nearest("Homo sapiens", 1, rank="class")] == ["Mammalia"]
    assert [n for n, _ in e.nearest("Mammalia", 5, rank="class")] == ["Aves"]
    assert [r for r, _ in e.nearest_rows(3, 5, rank="species")] == [4, 5]
    with pytest.raises(ValueError, match="ranks here are: class, no rank, species"):
        e.nearest("Homo sapiens", 3, rank="genus")
    with pytest.raises(ValueError, match="carry no ranks"):
        Embeddings(IDS, NAMES, vectors(), "poincare").nearest("Aves", rank="class")


@pytest.mark.parametrize("make", ["lorentz", "polar"])
def test_save_and_load_give_back_the_whole_embedding(tmp_path, make):
    e = polar_emb() if make == "polar" else Embeddings(IDS, NAMES, vectors(make), make)
    e = e.with_taxonomy(tax())
    e.meta["data"] = {"spec": "x.tsv", "hash": "abc"}
    path = e.save(tmp_path / "e.pt")
    back = hyptax.load(path)
    assert back.ids == e.ids and back.names == e.names and back.manifold == e.manifold
    assert torch.equal(back.vectors, e.vectors)
    assert back.ranks == e.ranks and np.array_equal(back.depth, e.depth)
    assert back.meta["data"] == e.meta["data"]
    if make == "polar":
        assert np.array_equal(back.polar.radius, e.polar.radius)
        assert np.array_equal(back.polar.limbs, e.polar.limbs)
    else:
        assert back.polar is None
    assert back.distance(IDS[3:], IDS[:3]).tolist() == e.distance(IDS[3:], IDS[:3]).tolist()
    assert Embeddings.load(tmp_path / "e.pt").n == 6


def test_a_saved_file_with_damaged_ranks_is_refused(tmp_path):
    e = Embeddings(IDS, NAMES, vectors(), "poincare", ranks=["r"] * 6)
    ckpt = torch.load(e.save(tmp_path / "e.pt"), weights_only=True)
    ckpt["ranks"] = ["r"] * 5
    torch.save(ckpt, tmp_path / "bad.pt")
    with pytest.raises(HyptaxError, match="bad 'ranks'"):
        hyptax.load(tmp_path / "bad.pt")


def test_no_module_of_hyptax_imports_another_in_a_circle():
    """Module-level and function-level imports alike (a lazy import is still a
    dependency): embeddings -> export -> embeddings and training.checkpoint -> hyptax
    were circles. ``from . import sub`` depends on the submodule; ``from .. import
    name`` on the package."""
    import ast
    from pathlib import Path

    root = Path(hyptax.__file__).parent
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
        imports = found.setdefault(name, [])
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                mod = ".".join([*base, node.module] if node.module else base)
                imports.append((mod, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                imports.extend((a.name, []) for a in node.names)
    graph = {
        m: {f"{mod}.{n}" if f"{mod}.{n}" in found else mod for mod, names in imports
            for n in names or [""]} & set(found) - {m}
        for m, imports in found.items()
    }  # fmt: skip
    circles = []
    for start in ("hyptax.embeddings", "hyptax.export", "hyptax.storage",
                  "hyptax.training.checkpoint", "hyptax.api", "hyptax.version"):  # fmt: skip
        seen, todo = set(), list(graph[start])
        while todo:
            m = todo.pop()
            if m == start:
                circles.append(start)
                break
            if m not in seen:
                seen.add(m)
                todo.extend(graph[m])
    assert circles == []
