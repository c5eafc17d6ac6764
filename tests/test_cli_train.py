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
    assert [r["epoch"] for r in records] == [3, 6]
    for key in ("loss", "lr", "max_norm", "mean_norm", "outside_frac", "spearman",
                "map_sampled", "edges_per_s", "elapsed"):  # fmt: skip
        assert key in records[0]
    assert json.loads((out / "report.json").read_text())["reconstruction"]["map"] > 0


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
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert train("--out", str(tmp_path / "none"), "--resume") == 2


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--dim", "0"], "--dim must be > 0"),
        (["--lr", "-1"], "--lr must be > 0"),
        (["--margin", "-0.1"], "--margin must be >= 0"),
        (["--batch-size", "0"], "--batch-size must be > 0"),
        (["--holdout", "0.5"], "--holdout must be in [0, 0.5)"),
        (["--n-negatives", "500"], "must be below the number of nodes (121)"),
        (["--gpu", "7"], "--gpu 7"),
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
