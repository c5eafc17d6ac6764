"""``hyptax evaluate | plot | export | neighbors`` on a checkpoint built in a fixture."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import balanced_tree, fan_embedding
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


def test_plot_html_and_the_pca_layout(checkpoint, tmp_path, capsys):
    assert main(["plot", str(checkpoint), "-o", str(tmp_path / "p.png"), "--layout", "pca"]) == 0
    assert main(["plot", str(checkpoint), "-o", str(tmp_path / "v.html"), "--kind", "html"]) == 0
    page = (tmp_path / "v.html").read_text()
    assert "Taxon 4" in page and "http" not in page
    assert main(["plot", str(checkpoint), "-o", str(tmp_path / "v.png"), "--kind", "html"]) == 2
    assert "must end in .html" in capsys.readouterr().err


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


def test_outputs_to_stdout_devices_and_symlinks(checkpoint, tmp_path, capsys):
    import os
    import stat

    assert main(["export", str(checkpoint), "--format", "w2v", "-o", "-"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0] == "103 2" and len(out.splitlines()) == 104  # the vectors only
    assert "wrote -" in err
    assert main(["evaluate", str(checkpoint), "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert "reconstruction" in json.loads(out) and "Reconstruction" in err
    assert main(["export", str(checkpoint), "--format", "npy", "-o", "-"]) == 2
    assert "takes w2v only" in capsys.readouterr().err
    (tmp_path / "runs").mkdir()
    (tmp_path / "latest.w2v").symlink_to("runs/vectors.w2v")
    assert (
        main(["export", str(checkpoint), "--format", "w2v", "-o", str(tmp_path / "latest.w2v")])
        == 0
    )
    assert (tmp_path / "latest.w2v").is_symlink()
    assert (tmp_path / "runs" / "vectors.w2v").read_text().startswith("103 2\n")
    null = tmp_path / "null"
    try:
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        return  # making a device node needs root
    assert main(["export", str(checkpoint), "--format", "w2v", "-o", str(null)]) == 0
    assert null.is_char_device()


def test_neighbors_of_a_shared_name_lists_the_candidates(tmp_path, capsys):
    ids = ["1", "2", "3", "1386", "55087"]
    names = ["root", "Bacteria", "Insecta", "Bacillus", "Bacillus"]
    ranks = ["no rank", "superkingdom", "class", "genus", "genus"]
    tax = Taxonomy.from_edges(ids, np.array([1, 2, 3, 4]), np.array([0, 0, 1, 2]),
                              names=names, ranks=ranks)  # fmt: skip
    data = tmp_path / "toy.npz"
    prepared.save(tax, data)
    path = tmp_path / "best.pt"
    save_checkpoint(path, {
        "config": {}, "data": {"spec": str(data), "options": {},
                               "hash": prepared.dataset_hash(tax), "n_nodes": 5},
        "ids": ids, "names": names, "manifold": "poincare",
        "weight": fan_embedding(tax, (1.0, 2.0)),
        "epoch": 0, "best_metric": None, "optimizer": {}, "rng": {}, "history": [],
    })  # fmt: skip
    assert main(["neighbors", str(path), "Bacillus"]) == 2
    (err,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("hyptax: error")]
    assert "'Bacillus' names 2 nodes" in err
    assert "Bacillus (1386, genus; root > Bacteria)" in err
    assert "Bacillus (55087, genus; root > Insecta)" in err
    assert "ask for 'Bacillus (ID)' or the id" in err
    assert main(["neighbors", str(path), "Bacillus (55087)", "-k", "1"]) == 0
    assert "nearest to Bacillus (id 55087" in capsys.readouterr().out


def test_flags_are_checked_before_the_data_loads_and_a_run_folder_is_enough(
    checkpoint, tmp_path, capsys
):
    assert main(["evaluate", str(checkpoint.parent), "--sample", "20"]) == 0  # RUN_DIR
    assert "SAMPLED: 20 of" in capsys.readouterr().out
    (tmp_path / "toy.npz").unlink()  # loading the data would now fail
    assert main(["plot", str(checkpoint), "-o", str(tmp_path / "x.gif")]) == 2
    assert ".png, .svg or .pdf" in capsys.readouterr().err
    assert main(["evaluate", str(checkpoint), "--sample", "0"]) == 2
    assert "--sample must be > 0" in capsys.readouterr().err
    assert main(["evaluate", str(checkpoint), "--seed", "-1"]) == 2
    assert "--seed must be in" in capsys.readouterr().err


def test_a_missing_npy_sidecar_is_named(checkpoint, tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["export", str(checkpoint), "--format", "npy", "-o", str(out)]) == 0
    (tmp_path / "v.json").unlink()
    assert main(["neighbors", str(tmp_path / "v.npy"), "Taxon 4"]) == 2
    err = capsys.readouterr().err
    assert "v.json: no such file" in err and "folder does not exist" not in err


def test_a_missing_metrics_file_fails_before_the_data_loads(checkpoint, tmp_path, capsys):
    (tmp_path / "toy.npz").unlink()  # loading the data would fail with another message
    out = str(tmp_path / "p.png")
    assert main(["plot", str(checkpoint), "-o", out, "--kind", "all", "--metrics", "m.jsonl"]) == 2
    assert "m.jsonl: no such metrics file" in capsys.readouterr().err


def test_export_says_what_each_reader_keeps(checkpoint, tmp_path, capsys):
    assert main(["export", str(checkpoint), "--format", "w2v", "-o", str(tmp_path / "e")]) == 0
    out, err = capsys.readouterr()
    (line,) = [x for x in out.splitlines() if x.startswith("w2v: MAP")]
    assert "as gensim reads it by default (float32)" in line and "with datatype=numpy" in line
    assert "the model's" in line and "warning" not in err  # 7 from the origin: float32 holds


def test_export_of_points_past_float32_warns_with_the_fix(tmp_path, capsys):
    from hyptax.constructive import construct

    tax = balanced_tree((2,) * 7)
    data = tmp_path / "bin.npz"
    prepared.save(tax, data)
    path = tmp_path / "deep.pt"
    save_checkpoint(path, {
        "config": {"geometry": "metric"},
        "data": {"spec": str(data), "options": {}, "hash": prepared.dataset_hash(tax)},
        "ids": tax.ids.tolist(), "names": list(tax.names), "manifold": "poincare",
        "weight": construct(tax, 3, geometry="metric"), "epoch": 0, "best_metric": None,
        "optimizer": {}, "rng": {}, "history": [],
    })  # fmt: skip
    out = tmp_path / "v.w2v"
    assert main(["export", str(path), "--format", "w2v", "-o", str(out)]) == 0
    text, err = capsys.readouterr()
    assert "the model's 1.0000 (by the ancestor score, exact over 254 nodes)" in text
    (warning,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert "w2v as gensim reads it by default (float32) loses MAP" in warning
    assert f"load_word2vec_format({str(out)!r}, datatype=numpy.float64) (MAP 1.0000)" in warning
    assert main(["export", str(path), "--format", "tsv", "-o", str(tmp_path / "p")]) == 0
    (warning,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("warning:")]
    assert f"numpy.loadtxt({str(tmp_path / 'p' / 'vectors.tsv')!r}) (MAP 1.0000)" in warning


def test_export_without_its_data_says_the_loss_was_not_measured(checkpoint, tmp_path, capsys):
    (tmp_path / "toy.npz").unlink()
    for fmt in ("w2v", "tsv", "npy"):
        out = tmp_path / f"v-{fmt}"
        assert main(["export", str(checkpoint), "--format", fmt, "-o", str(out)]) == 0
        text, err = capsys.readouterr()
        (line,) = [x for x in text.splitlines() if not x.startswith("wrote ")]
        assert line.startswith(f"{fmt}: the MAP the export keeps was not measured: ")
        assert "toy.npz: no such file" in line and "--data SPEC overrides it" in line
        assert "Traceback" not in err
    assert main(["export", str(checkpoint), "--format", "w2v", "-o", "-"]) == 0
    text, err = capsys.readouterr()
    assert "not measured" in err and "not measured" not in text  # stdout holds the vectors
    args = ["export", str(checkpoint), "--format", "w2v", "-o", str(tmp_path / "x")]
    assert main([*args, "--data", str(tmp_path / "gone.npz")]) == 2  # named: an error
    assert capsys.readouterr().err.splitlines()[-1].startswith("hyptax: error: ")
    other = Taxonomy.from_edges(["z0", "z1", "t1"], np.array([1, 2]), np.array([0, 0]))
    prepared.save(other, tmp_path / "other.npz")
    assert main([*args, "--data", str(tmp_path / "other.npz")]) == 0  # other nodes
    assert "not measured: the embedding has no vector for 2 of the 3" in capsys.readouterr().out
