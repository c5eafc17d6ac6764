"""Extended precision end to end: a tree deeper than float64 holds is constructed in
polar form, ranked exactly, stored, reloaded, exported and queried."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hyptax import constructive as C
from hyptax.cli import main
from hyptax.data.taxonomy import Taxonomy
from hyptax.embeddings import load
from hyptax.evaluation import faithful
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, count_closer, reconstruction
from hyptax.manifolds import get_manifold

DEPTH = 80
LEAF, UP = f"s{DEPTH}", f"s{DEPTH - 1}"


def caterpillar(depth: int = DEPTH, width: int = 3) -> Taxonomy:
    """A spine ``depth`` deep whose every node also has ``width - 1`` leaf children:
    far deeper than float64 coordinates hold at a faithful edge length."""
    names, child, parent = ["s0"], [], []
    for d in range(1, depth + 1):
        spine = names.index(f"s{d - 1}")
        for w in range(width):
            names.append(f"s{d}" if w == 0 else f"l{d}.{w}")
            child.append(len(names) - 1)
            parent.append(spine)
    return Taxonomy.from_edges(names, np.array(child), np.array(parent))


@pytest.fixture(scope="module")
def deep() -> Taxonomy:
    return caterpillar()


@pytest.fixture(scope="module")
def deep_tsv(tmp_path_factory, deep):
    path = tmp_path_factory.mktemp("data") / "deep.tsv"
    names = deep.names
    rows = (f"{names[c]}\t{names[p]}\n" for c, p in zip(deep.child, deep.parent, strict=True))
    path.write_text("".join(rows))
    return str(path)


@pytest.mark.parametrize("geometry", ["metric", "order"])
def test_auto_takes_extended_precision_only_when_the_tree_needs_it(deep, geometry):
    built = C.build(deep, 3, geometry=geometry)
    assert built.polar is not None
    assert built.radius_needed > built.radius_held
    assert "extended precision" in built.summary()
    plain = C.build(deep, 3, geometry=geometry, precision="float64")
    assert plain.polar is None and "shrunk" in plain.summary()
    small = caterpillar(depth=3)
    assert C.build(small, 3, geometry=geometry).polar is None


@pytest.mark.parametrize("geometry", ["metric", "order"])
def test_extended_keeps_the_hierarchy_that_float64_loses(deep, geometry):
    q = Queries.from_pairs(*deep.closure, deep.n_nodes)
    score = "ancestor" if geometry == "metric" else "distance"
    ext = C.build(deep, 3, geometry=geometry, precision="extended")
    view = ball_view(ext.points, "poincare", ext.polar)
    assert reconstruction(view, q, score=score, n_bootstrap=0)["map"] == 1.0
    assert view.dist0.max() > 60 if geometry == "metric" else 40  # well past float64's ~26
    # the same radii in plain float64 coordinates collapse onto the rim
    flat = ball_view(torch.from_numpy(ext.polar.poincare()), "poincare")
    assert reconstruction(flat, q, score=score, n_bootstrap=0)["map"] < 0.9


def test_metric_extended_is_faithful_to_the_tree(deep):
    ext = C.build(deep, 3, geometry="metric")
    view = ball_view(ext.points, "poincare", ext.polar)
    fig = faithful.faithfulness(view, deep, n_queries=deep.n_nodes, n_pairs=5000, seed=0)
    assert fig["adjacent_nearest"] == 1.0
    assert fig["distortion"] < 0.05
    # depth becomes radius exactly, at any depth
    radius = ext.polar.radius
    edge = radius[deep.depth == 1][0]
    assert np.allclose(radius, deep.depth * edge, rtol=1e-12)


def test_kernels_agree_with_each_other_and_with_pair_distances(deep):
    ext = C.build(deep, 3, geometry="metric")
    view = ball_view(ext.points, "poincare", ext.polar)
    q = Queries.from_pairs(*deep.closure, deep.n_nodes)
    for score in ("distance", "ancestor"):
        a = count_closer(view, q, score=score, backend="numba")
        b = count_closer(view, q, score=score, backend="torch")
        assert np.array_equal(a.less, b.less) and np.array_equal(a.leq, b.leq)
    # the torch keys are sinh^2(d / 2) of the pair distances
    rows = np.arange(0, deep.n_nodes, 7)
    y = view.anchor_keys(rows).numpy()
    d = np.stack([ext.polar.dist_row(int(r)) for r in rows])
    assert np.allclose(2.0 * np.arcsinh(np.sqrt(y)), d, rtol=1e-9, atol=1e-9)


def test_embed_stores_polar_points_and_everything_reads_them(deep_tsv, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["embed", "--data", deep_tsv, "--out", str(out), "--dim", "3"]) == 0
    printed = capsys.readouterr().out
    assert "extended precision: the tree needs radius" in printed
    config = json.loads((out / "run.json").read_text())
    assert config["precision"] == "extended"
    report = json.loads((out / "report.json").read_text())
    assert report["ancestor_reconstruction"]["map"] == 1.0
    assert report["norms"]["n_outside"] == 0
    emb = load(out)
    assert emb.polar is not None and emb.polar.radius.max() > 60
    # the same family far down the spine: the same distance to the parent
    assert emb.distance(LEAF, UP) == pytest.approx(emb.distance("s60", "s59"), rel=1e-9)
    assert emb.nearest(LEAF, k=1)[0][0] == UP
    spine = {f"s{i}" for i in range(DEPTH)}
    assert {n for n, _ in emb.ancestors(LEAF, k=DEPTH)} == spine
    # train keeps it and says why; resume continues from it
    assert main(["train", "--data", deep_tsv, "--out", str(out), "--dim", "3", "--resume"]) == 0
    assert "construction" in capsys.readouterr().out
    # the polar export is lossless; evaluate and neighbors read it
    base = tmp_path / "exp" / "deep"
    assert main(["export", str(out), "--format", "polar", "-o", str(base)]) == 0
    assert "polar: MAP 1.0000 as hyptax.load reads it" in capsys.readouterr().out
    assert main(["export", str(out), "--format", "npy", "-o", str(base) + "-plain"]) == 0
    said = capsys.readouterr()
    assert "export --format polar" in said.out + said.err  # npy loses the hierarchy
    back = load(str(base) + ".npz")
    assert np.array_equal(back.polar.limbs, emb.polar.limbs)
    assert np.array_equal(back.polar.radius, emb.polar.radius)
    capsys.readouterr()
    assert main(["neighbors", str(base) + ".npz", LEAF, "-k", "1"]) == 0
    assert UP in capsys.readouterr().out
    assert main(["evaluate", str(base) + ".npz", "--data", deep_tsv]) == 0
    assert "MAP 1.0000" in capsys.readouterr().out


def test_precision_float64_keeps_plain_coordinates(deep_tsv, tmp_path, capsys):
    out = tmp_path / "plain"
    assert main(["embed", "--data", deep_tsv, "--out", str(out), "--dim", "3",
                 "--precision", "float64"]) == 0  # fmt: skip
    assert "every step is shrunk" in capsys.readouterr().out
    emb = load(out)
    assert emb.polar is None
    assert get_manifold("poincare").outside(emb.vectors).sum() == 0
