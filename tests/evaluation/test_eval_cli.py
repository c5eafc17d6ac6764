"""``hyptax evaluate | plot | export | neighbors`` on a checkpoint built in a fixture."""

from __future__ import annotations

import json

import numpy as np
import pytest
from evaltrees import balanced_tree, fan_embedding

from hyptax.cli import main
from hyptax.data import prepared
from hyptax.data.taxonomy import Taxonomy
from hyptax.training.checkpoint import save_checkpoint


@pytest.fixture
def checkpoint(tmp_path):
    base = balanced_tree((3, 3, 10))
    ranks = np.array(["no rank", "phylum", "class", "genus"], dtype=object)[base.depth]
    names = ["root", *[f"Taxon {i}" for i in range(1, base.n_nodes)]]
    tax = Taxonomy.from_edges(base.ids, base.child, base.parent, names=names, ranks=ranks)
    data = tmp_path / "toy.npz"
    prepared.save(tax, data)
    path = tmp_path / "run" / "best.pt"
    history = [{"epoch": k, "loss": 1.0 / k, "map_sampled": 0.1 * k} for k in range(1, 5)]
    save_checkpoint(path, {
        "config": {"dim": 2, "holdout": 0.1, "seed": 1},
        "data": {"spec": str(data), "options": {}, "hash": prepared.dataset_hash(tax),
                 "n_nodes": tax.n_nodes},
        "ids": tax.ids.tolist(), "names": names, "manifold": "poincare",
        "weight": fan_embedding(tax, (1.0, 2.0, 4.0)), "epoch": 4, "best_metric": None,
        "optimizer": {}, "rng": {}, "history": history,
    })  # fmt: skip
    return path


def test_evaluate_prints_and_writes_json(checkpoint, tmp_path, capsys):
    out = tmp_path / "report.json"
    assert main(["evaluate", str(checkpoint), "--json", str(out), "--seed", "3"]) == 0
    text = capsys.readouterr().out
    for word in ("(reference) (exact", "Link prediction", "phylum", "class", "Spearman"):
        assert word in text
    report = json.loads(out.read_text())
    assert report["settings"]["seed"] == 3
    assert report["link_prediction"]["holdout"] == 0.1  # rebuilt from the checkpoint's config
    assert report["link_prediction"]["split_seed"] == 1


def test_evaluate_sampled(checkpoint, capsys):
    assert main(["evaluate", str(checkpoint), "--sample", "20"]) == 0
    assert "SAMPLED: 20 of" in capsys.readouterr().out


def test_neighbors_with_rank_depth_and_suggestions(checkpoint, capsys):
    assert main(["neighbors", str(checkpoint), "Taxon 4", "-k", "3"]) == 0
    out = capsys.readouterr().out
    assert "nearest to Taxon 4 (id t4, rank class, depth 2)" in out
    lines = out.strip().splitlines()
    assert len(lines) == 5 and "distance" in lines[1]
    assert main(["neighbors", str(checkpoint), "Taxon 4x"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hyptax: error: unknown node 'Taxon 4x'") and "did you mean" in err
    assert len(err.strip().splitlines()) == 1


def test_export_formats(checkpoint, tmp_path, capsys):
    from gensim.models import KeyedVectors

    assert main(["export", str(checkpoint), "--format", "w2v", "-o", str(tmp_path / "e.txt")]) == 0
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "e.txt"))
    assert "Taxon_4" in kv.key_to_index
    assert main(["export", str(checkpoint), "--format", "tsv", "-o", str(tmp_path / "proj")]) == 0
    header = (tmp_path / "proj" / "metadata.tsv").read_text().splitlines()[0]
    assert header == "name\tid\trank\tdepth\tphylum"
    assert main(["export", str(checkpoint), "--format", "npy", "-o", str(tmp_path / "v")]) == 0
    assert main(["neighbors", str(tmp_path / "v.npy"), "Taxon 4", "-k", "2"]) == 0
    assert "wrote" in capsys.readouterr().out


def test_plot_all(checkpoint, tmp_path, capsys):
    out = tmp_path / "pic.png"
    assert main(["plot", str(checkpoint), "-o", str(out), "--kind", "all"]) == 0
    for kind in ("disk", "depth", "curves"):
        assert (tmp_path / f"pic-{kind}.png").stat().st_size > 10_000
    assert main(["plot", str(checkpoint), "-o", str(tmp_path / "d.svg")]) == 0
    assert (tmp_path / "d.svg").exists()


def test_errors_are_one_line(checkpoint, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    assert main(["plot", str(checkpoint), "-o", str(tmp_path / "x.gif")]) == 2
    assert ".png, .svg or .pdf" in capsys.readouterr().err
    other = Taxonomy.from_edges(["z0", "z1", "t1"], np.array([1, 2]), np.array([0, 0]))
    data = tmp_path / "other.npz"
    prepared.save(other, data)
    assert main(["evaluate", str(checkpoint), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "no vector for 2 of the 3 nodes" in err and "differs from the data" in err
