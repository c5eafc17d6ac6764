import json

import numpy as np
import pytest
import torch

from hyptax.cli import main


@pytest.fixture(scope="module")
def tsv(tmp_path_factory):
    child = np.arange(1, 121)
    parent = (child - 1) // 4  # a 4-ary tree of 121 nodes
    extra = np.arange(81, 121)  # and a second, shallower parent for 40 of them: a DAG
    child, parent = np.r_[child, extra], np.r_[parent, (extra - 81) % 20 + 1]
    path = tmp_path_factory.mktemp("data") / "dag.tsv"
    path.write_text("".join(f"c{c}\tc{p}\n" for c, p in zip(child, parent, strict=True)))
    return str(path)


TRAINED_ONLY = ("loss", "lr", "edges_per_s", "epoch_s")
"""Record fields of a trained epoch, None in the start's record (epoch 0)."""


def train(*args):
    return main(["train", "--quiet", "--threads", "1", *args])


def test_train_writes_a_run(tsv, tmp_path, capsys):
    out = tmp_path / "run"
    assert train("--data", tsv, "--out", str(out), "--epochs", "6", "--eval-every", "3",
                 "--dim", "5", "--lr", "0.1") == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "Reconstruction" in printed and str(out / "best.pt") in printed
    config = json.loads((out / "run.json").read_text())
    assert config["dim"] == 5 and config["lr"] == 0.1 and config["data"] == tsv
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 3, 6]  # the start (the construction) first
    for key in ("loss", "lr", "max_norm", "mean_norm", "outside_frac", "spearman",
                "map_sampled", "mean_rank_sampled", "edges_per_s", "elapsed"):  # fmt: skip
        assert records[1][key] is not None and (records[0][key] is None) == (key in TRAINED_ONLY)
    # best.pt is the evaluation with the highest MAP (a tie: the lower mean rank), and
    # the report measures best.pt: on 121 nodes both rank every node
    best = max(records, key=lambda r: (r["map_sampled"], -r["mean_rank_sampled"]))
    assert torch.load(out / "best.pt", weights_only=True)["epoch"] == best["epoch"]
    report = json.loads((out / "report.json").read_text())
    assert report["reconstruction"]["map"] == pytest.approx(best["map_sampled"], rel=1e-9)
    assert report["training"]["best_epoch"] == best["epoch"]


def test_resume_continues_and_refuses_changes(tsv, tmp_path, capsys):
    out = str(tmp_path / "run")
    assert train("--data", tsv, "--out", out, "--epochs", "2", "--eval-every", "1") == 0
    assert train("--out", out, "--epochs", "2") == 2  # exists: needs --resume
    assert "--resume" in capsys.readouterr().err
    assert train("--out", out, "--resume", "--lr", "0.5") == 2
    err = capsys.readouterr().err
    assert "--lr" in err and err.count("\n") == 1
    assert train("--out", out, "--resume", "--epochs", "4") == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert [r["epoch"] for r in records] == [0, 1, 2, 3, 4]
    assert train("--out", str(tmp_path / "none"), "--resume") == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dim", "0"], "--dim must be > 0"),
        (["--lr", "-1"], "--lr must be > 0"),
        (["--margin", "-0.1"], "--margin must be >= 0"),
        (["--batch-size", "0"], "--batch-size must be > 0"),
        (["--holdout", "0.5"], "--holdout must be in [0, 0.5)"),
        (["--gpu", "7"], "--gpu 7"),
        (["--lambda-reg", "inf"], "--lambda-reg must be a finite number, not inf"),
        (["--lr", "nan"], "--lr must be a finite number, not nan"),
        (["--early-stopping", "-1"], "--early-stopping must be >= 0 (0 turns it off), not -1"),
        (["--manifold", "klein"], None),  # argparse choices: exit status 2 too
    ],
)
def test_bad_flags_are_one_line_errors(tsv, tmp_path, capsys, flags, message):
    try:
        status = train("--data", tsv, "--out", str(tmp_path / "r"), *flags)
    except SystemExit as exc:  # argparse rejects unknown choices itself
        status = exc.code
    assert status == 2
    err = capsys.readouterr().err
    if message is not None:
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_checkpoint_layout_and_embed(tsv, tmp_path, capsys):
    path = tmp_path / "model.pt"
    assert train("--data", tsv, "--checkpoint", str(path), "--epochs", "2") == 0
    for name in ("model.pt", "model.last.pt", "model.run.json", "model.metrics.jsonl",
                 "model.report.json"):  # fmt: skip
        assert (tmp_path / name).is_file()
    out = tmp_path / "built"
    assert main(["embed", "--method", "constructive", "--data", tsv, "--dim", "4",
                 "--out", str(out), "--quiet"]) == 0  # fmt: skip
    ckpt = torch.load(out / "best.pt", weights_only=True)
    assert ckpt["epoch"] == 0 and ckpt["weight"].shape == (121, 4)
    report = json.loads((out / "report.json").read_text())
    assert report["reconstruction"]["map"] > 0.7  # a DAG: its second parents are left out


def test_a_relative_data_path_is_stored_resolved(tsv, tmp_path, monkeypatch, capsys):
    import shutil

    a = tmp_path / "a"
    a.mkdir()
    shutil.copy(tsv, a / "tiny.tsv")
    monkeypatch.chdir(a)
    assert main(["embed", "--data", "tiny.tsv", "--dim", "2", "--out", "r", "--quiet"]) == 0
    ckpt = torch.load(a / "r" / "best.pt", weights_only=True)
    assert ckpt["data"]["spec"] == str(a / "tiny.tsv")
    assert ckpt["data"]["typed"] == "tiny.tsv"  # as typed, for display
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["neighbors", "a/r/best.pt", "c5", "-k", "2"]) == 0
    assert main(["evaluate", "a/r/best.pt", "--sample", "20"]) == 0
    assert main(["export", "a/r/best.pt", "--format", "tsv", "-o", "proj"]) == 0
    assert main(["plot", "a/r/best.pt", "-o", "disk.png"]) == 0
    capsys.readouterr()
    (a / "tiny.tsv").rename(a / "moved.tsv")
    assert main(["neighbors", "a/r/best.pt", "c5"]) == 2
    (err,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("hyptax: error")]
    assert "moved.tsv" not in err and "tiny.tsv: no such file" in err
    assert "recorded in a/r/best.pt; --data SPEC overrides it" in err
    assert main(["neighbors", "a/r/best.pt", "c5", "--data", "a/moved.tsv"]) == 0


def test_two_runs_into_one_folder_do_not_mix(tsv, tmp_path, capsys):
    import os

    from hyptax.files import hold_lock
    from hyptax.pipeline import RunPaths

    out = tmp_path / "run"
    paths = RunPaths.in_dir(out)
    with hold_lock(paths.lock):  # another run is writing there
        assert train("--data", tsv, "--out", str(out), "--epochs", "1") == 2
        err = capsys.readouterr().err
        assert f"pid {os.getpid()}" in err and err.count("\n") == 1
        assert not paths.best.exists() and not paths.metrics.exists()
    assert not out.exists()  # the lock is gone with its holder, and the folder made for it
    out.mkdir()
    paths.lock.write_text("999999999\n")  # a killed run's lock: taken over
    assert train("--data", tsv, "--out", str(out), "--epochs", "1") == 0
    assert not paths.lock.exists()


def test_a_lock_refuses_a_second_holder_and_leaves_no_folder(tmp_path):
    from hyptax.errors import HyptaxError
    from hyptax.files import hold_lock

    lock = tmp_path / "new" / "deeper" / ".lock"
    with hold_lock(lock):
        assert lock.read_text().strip() == str(__import__("os").getpid())
        with pytest.raises(HyptaxError, match=r"new/deeper: another hyptax run \(pid \d+\)"):
            with hold_lock(lock):
                pass
    assert not (tmp_path / "new").exists()  # folders made for the lock alone are removed


def test_tiny_graphs_embed_and_train_with_fewer_negatives(tmp_path, capsys):
    tiny = tmp_path / "tiny.csv"
    tiny.write_text("b,a\nc,a\nd,b\ne,b\nf,c\ng,c\n")  # 7 nodes
    assert main(["embed", "--data", str(tiny), "--out", str(tmp_path / "e"), "--dim", "2"]) == 0
    assert "n-negatives" not in capsys.readouterr().out  # a training flag: not embed's concern
    t = str(tmp_path / "t")
    assert main(["train", "--data", str(tiny), "--out", t, "--epochs", "1", "--threads", "1",
                 "--init", "uniform"]) == 0  # a tree's construction would not be trained
    assert "--n-negatives 50 capped at 6: the data has 7 nodes" in capsys.readouterr().out
    ckpt = torch.load(tmp_path / "t" / "best.pt", weights_only=True)
    assert ckpt["config"]["n_negatives"] == 6


@pytest.mark.parametrize("seed", ["-1", "99999999999999999999"])
def test_seeds_out_of_range_are_one_line_errors(tsv, tmp_path, capsys, seed):
    assert train("--data", tsv, "--out", str(tmp_path / "r"), "--seed", seed) == 2
    assert main(["embed", "--data", tsv, "--out", str(tmp_path / "e"), "--seed", seed]) == 2
    err = capsys.readouterr().err
    assert err.count("hyptax: error: --seed must be in [0, 2**63 - 1]") == 2
    assert err.count("\n") == 2


def test_eval_seed_out_of_range_is_refused():
    from hyptax.config import EvalConfig
    from hyptax.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--seed must be in \[0, 2\*\*63 - 1\], not -1"):
        EvalConfig(seed=-1)


def test_train_and_embed_take_sample(tsv, tmp_path, capsys):
    out = tmp_path / "e"
    assert main(["embed", "--data", tsv, "--out", str(out), "--sample", "20", "--quiet"]) == 0
    rec = json.loads((out / "report.json").read_text())["reconstruction"]
    assert rec["mode"] == "sampled" and rec["n_nodes_ranked"] == 20
    out = tmp_path / "t"
    assert train("--data", tsv, "--out", str(out), "--epochs", "1", "--sample", "30") == 0
    rec = json.loads((out / "report.json").read_text())["reconstruction"]
    assert rec["mode"] == "sampled" and rec["n_nodes_ranked"] == 30
    assert train("--data", tsv, "--out", str(tmp_path / "z"), "--sample", "0") == 2
    assert "--sample must be > 0" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()


def test_every_command_takes_a_positional_spec_or_data(tsv, tmp_path, capsys):
    assert train(tsv, "--out", str(tmp_path / "t"), "--epochs", "1") == 0
    assert main(["embed", tsv, "--out", str(tmp_path / "e"), "--quiet"]) == 0
    assert main(["info", "--data", tsv]) == 0
    assert main(["prepare", "--data", tsv, "-o", str(tmp_path / "d.npz")]) == 0
    assert json.loads((tmp_path / "t" / "run.json").read_text())["data"] == tsv
    capsys.readouterr()
    assert main(["info"]) == 2
    assert "no dataset given" in capsys.readouterr().err
    assert train(tsv, "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "x")) == 2
    assert "two datasets given" in capsys.readouterr().err


def test_embed_over_a_run_does_not_suggest_a_flag_it_lacks(tsv, tmp_path, capsys):
    out = str(tmp_path / "e")
    assert main(["embed", tsv, "--out", out, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["embed", tsv, "--out", out, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--resume" not in err


def test_clade_options_on_other_sources_and_an_empty_clade_are_refused(tsv, capsys):
    assert main(["info", tsv, "--ranks", "main"]) == 2
    err = capsys.readouterr().err
    assert "--ranks, --lowest-rank and --clean apply to NCBI sources" in err and tsv in err
    assert main(["info", tsv, "--clean"]) == 2
    assert "apply to NCBI sources" in capsys.readouterr().err
    assert main(["info", "ncbi:"]) == 2
    assert "'ncbi:' names no clade" in capsys.readouterr().err


def test_embed_then_resume_trains_from_the_construction(tsv, tmp_path, capsys):
    """A construction (an empty optimizer state, epoch 0) is a start to resume from."""
    out = str(tmp_path / "run")
    assert main(["embed", "--quiet", "--data", tsv, "--out", out, "--dim", "5"]) == 0
    assert train("--out", out, "--resume", "--epochs", "2", "--eval-every", "1") == 0
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert [r["epoch"] for r in records] == [0, 1, 2]  # the construction is evaluated
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 2


def test_a_metric_run_is_not_trained_on_resume(tmp_path, capsys):
    tree = tmp_path / "tree.tsv"
    tree.write_text("".join(f"c{c}\tc{(c - 1) // 3}\n" for c in range(1, 40)))
    out = str(tmp_path / "run")
    assert main(["embed", "--quiet", "--data", str(tree), "--out", out, "--dim", "5"]) == 0
    capsys.readouterr()
    assert main(["train", "--out", out, "--resume", "--epochs", "2", "--threads", "1"]) == 0
    assert "the metric construction is exact on this tree" in capsys.readouterr().out
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["epoch"] == 0


def test_flag_choices_are_the_registries(monkeypatch):
    from hyptax import export, manifolds, optim
    from hyptax.cli import build_parser

    monkeypatch.setitem(optim.OPTIMIZERS, "new-opt", optim.RiemannianSGD)
    monkeypatch.setitem(manifolds.MANIFOLDS, "new-ball", manifolds.PoincareBall)
    monkeypatch.setattr(export, "FORMATS", (*export.FORMATS, "new-format"))
    parser = build_parser()
    args = parser.parse_args(["train", "--out", "x", "--optimizer", "new-opt",
                              "--manifold", "new-ball"])  # fmt: skip
    assert (args.optimizer, args.manifold) == ("new-opt", "new-ball")
    args = parser.parse_args(["export", "ck.pt", "--format", "new-format", "-o", "x"])
    assert args.fmt == "new-format"
