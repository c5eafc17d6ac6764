"""Crash safety: SIGKILL at random moments, including in the middle of checkpoint
writes, then resume.

After every kill the files on disk must be whole: each checkpoint loads (with
``weights_only=True``), checkpoints never go back in time, ``run.json`` parses and
``metrics.jsonl`` reads (a torn last line is skipped). The resumed run must end
exactly where an uninterrupted run ends: on one thread, with the same seed, the
final weights are bit-identical (tolerance 0), so the quality is the same.
``prepare`` and ``export`` killed mid-write leave the old file or the new one, and
their next run clears the temporary files the kills left.

The default run kills training 5 times; ``-m slow`` runs 20 kills (and
``benchmarks/kill_resume.py`` more).
"""

from __future__ import annotations

import json
import random
import zipfile
from pathlib import Path

import killkit
import notes
import pytest
import torch
from fuzz.checkpoints import valid_checkpoint

from hyptax.files import read_jsonl
from hyptax.training.checkpoint import load_checkpoint

EPOCHS = 40


def train_args(epochs: int = EPOCHS) -> list[str]:
    """``hyptax train`` flags: a checkpoint every epoch, one thread, no early stopping."""
    return (
        f"train --quiet --threads 1 --epochs {epochs} --eval-every 1 --dim 20 --batch-size 64 "
        "--n-negatives 10 --early-stopping 0 --seed 3 --lr 0.3 --geometry order --precision float64"
    ).split()


TRAIN = train_args()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return killkit.write_tree(tmp_path_factory.mktemp("data") / "tree.tsv", 400, seed=1)


@pytest.fixture(scope="module")
def reference(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return reference_run(tree, tmp_path_factory.mktemp("reference") / "run")


def reference_run(tree: Path, out: Path, epochs: int = EPOCHS) -> Path:
    """The same run, never interrupted."""
    import subprocess

    proc = subprocess.run(
        killkit.hyptax(*train_args(epochs), "--data", str(tree), "--out", str(out)),
        capture_output=True,
        text=True,
        env=killkit.ENV,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


class RunChecker:
    """What must hold in a run folder after any kill."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.last_epoch = -1
        self.loads = 0

    def __call__(self) -> None:
        epochs = {}
        for name in ("last.pt", "best.pt"):
            path = self.out / name
            if path.exists():
                ck = load_checkpoint(path)  # weights_only=True; raises if torn
                assert torch.isfinite(ck["weight"]).all()
                epochs[name] = ck["epoch"]
                self.loads += 1
        if "last.pt" in epochs:
            assert epochs["last.pt"] >= self.last_epoch, "the checkpoint went back in time"
            self.last_epoch = epochs["last.pt"]
        if (self.out / "run.json").exists():
            json.loads((self.out / "run.json").read_text())
        if (self.out / "metrics.jsonl").exists():
            read_jsonl(self.out / "metrics.jsonl")


def train_with_kills(
    tree: Path, out: Path, n_kills: int, seed: int, epochs: int = EPOCHS
) -> killkit.KillStats:
    def argv() -> list[str]:
        started = (out / "last.pt").exists() or (out / "best.pt").exists()
        resume = ["--resume"] if started else []
        return killkit.hyptax(*train_args(epochs), "--data", str(tree), "--out", str(out), *resume)

    checker = RunChecker(out)
    stats = killkit.kill_until_done(
        argv,
        out,
        n_kills,
        random.Random(seed),
        delay=(0.5, 2.5),
        write_targets=("last.pt", "best.pt"),
        check=checker,
    )
    checker()
    return stats


def check_same_as_reference(
    out: Path, reference: Path, epochs: int = EPOCHS, *, exact: bool = True
) -> bool:
    """The resumed run against the uninterrupted one: the same epochs and records and
    the same quality (MAP within 0.01); with ``exact``, bit-identical weights too.
    Returns whether the weights are bit-identical."""
    got, want = load_checkpoint(out / "last.pt"), load_checkpoint(reference / "last.pt")
    assert got["epoch"] == want["epoch"] == epochs
    identical = torch.equal(got["weight"], want["weight"]) and torch.equal(
        load_checkpoint(out / "best.pt")["weight"], load_checkpoint(reference / "best.pt")["weight"]
    )
    assert identical or not exact, "resumed weights differ"
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["epoch"] for r in records] == list(range(epochs + 1))  # the start, then each
    report = json.loads((out / "report.json").read_text())
    ref_report = json.loads((reference / "report.json").read_text())
    assert abs(report["reconstruction"]["map"] - ref_report["reconstruction"]["map"]) <= 0.01
    return identical


@pytest.mark.parametrize(
    "n_kills, epochs", [pytest.param(5, EPOCHS, marks=pytest.mark.slow),
                        pytest.param(20, 2 * EPOCHS, marks=pytest.mark.slow)]
)
def test_training_killed_and_resumed(tree, reference, tmp_path: Path, n_kills: int, epochs: int):
    if epochs != EPOCHS:
        reference = reference_run(tree, tmp_path / "reference", epochs)
    out = tmp_path / "run"
    stats = train_with_kills(tree, out, n_kills, seed=n_kills, epochs=epochs)
    notes.NOTES.append(stats.line(f"crash safety, train ({n_kills} planned)"))
    assert stats.kills == n_kills, stats
    identical = check_same_as_reference(out, reference, epochs)
    notes.NOTES.append(f"crash safety, train ({n_kills} kills): bit-identical {identical}")
    assert killkit.tmp_files(out) == [], "--resume leaves no temporary file of a killed write"


@pytest.mark.slow
def test_killed_while_writing_the_first_last_checkpoint(tree: Path, tmp_path: Path) -> None:
    """A kill between the first best.pt and the first last.pt used to leave a run that
    could neither restart ("already holds a run") nor resume ("nothing to resume")."""
    import subprocess

    for attempt in range(5):  # the kill must land inside a ~2 ms write: retry if late
        out = tmp_path / f"run{attempt}"
        args = [*TRAIN, "--epochs", "3", "--data", str(tree), "--out", str(out)]
        killkit.kill_once(
            killkit.hyptax(*args), out, random.Random(0), delay=(0, 0), target="last.pt"
        )
        if (out / "best.pt").exists() and not (out / "last.pt").exists():
            break
    else:
        pytest.skip("could not kill inside the write of last.pt")
    proc = subprocess.run(
        killkit.hyptax(*args, "--resume"), capture_output=True, text=True, env=killkit.ENV
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_checkpoint(out / "last.pt")["epoch"] == 3


def npz_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in sorted(z.namelist())}


@pytest.mark.slow  # the quick tier: atomic writes in process (test_files.py, test_resources.py)
def test_prepare_killed_leaves_old_or_new(tmp_path: Path, n_kills: int = 3, seed: int = 7):
    import subprocess

    import numpy as np

    big = tmp_path / "big.tsv"
    rng = np.random.default_rng(0)
    n = 150_000
    parent = (rng.random(n - 1) * np.arange(1, n)).astype(int)
    big.write_text("".join(f"n{c}\tn{p}\n" for c, p in zip(range(1, n), parent, strict=True)))
    small = killkit.write_tree(tmp_path / "small.tsv", 30)
    out_dir = tmp_path / "out"
    target, ref = out_dir / "data.npz", tmp_path / "ref.npz"
    for spec, path in ((str(small), target), (str(big), ref)):
        proc = subprocess.run(
            killkit.hyptax("prepare", spec, "-o", str(path)), capture_output=True, env=killkit.ENV
        )
        assert proc.returncode == 0
    old, new = target.read_bytes(), npz_members(ref)
    outcome = {"old": 0, "new": 0}

    def check() -> None:
        data = target.read_bytes()
        if data == old:
            outcome["old"] += 1
        else:
            assert npz_members(target) == new, "neither the old file nor the new one"
            outcome["new"] += 1
        target.write_bytes(old)  # the next run replaces the old file again

    stats = killkit.kill_until_done(
        lambda: killkit.hyptax("prepare", str(big), "-o", str(target)),
        out_dir,
        n_kills,
        random.Random(seed),
        delay=(0.3, 1.2),
        write_targets=("data.npz",),
        check=check,
        rerun=True,
    )
    assert npz_members(target) == new
    assert stats.kills == n_kills
    assert killkit.tmp_files(out_dir) == [], "the last run clears the killed runs' temporaries"
    notes.NOTES.append(stats.line("crash safety, prepare") + f"; after a kill: {outcome}")


@pytest.mark.slow
def test_export_killed_leaves_old_or_new(tmp_path: Path, n_kills: int = 3, seed: int = 8):
    import subprocess

    from hyptax.training.checkpoint import save_checkpoint

    ckpt = tmp_path / "c.pt"
    save_checkpoint(ckpt, valid_checkpoint(random.Random(0), 40_000, 10))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target, ref = out_dir / "v.txt", tmp_path / "ref.txt"
    old = b"3 2\nold file\n"
    target.write_bytes(old)
    proc = subprocess.run(
        killkit.hyptax("export", str(ckpt), "--format", "w2v", "-o", str(ref)),
        capture_output=True,
        env=killkit.ENV,
    )
    assert proc.returncode == 0
    new = ref.read_bytes()
    outcome = {"old": 0, "new": 0}

    def check() -> None:
        data = target.read_bytes()
        assert data in (old, new), "neither the old file nor the new one"
        outcome["old" if data == old else "new"] += 1
        target.write_bytes(old)  # the next run replaces the old file again

    stats = killkit.kill_until_done(
        lambda: killkit.hyptax("export", str(ckpt), "--format", "w2v", "-o", str(target)),
        out_dir,
        n_kills,
        random.Random(seed),
        delay=(0.5, 2.0),
        write_targets=("v.txt",),
        check=check,
        rerun=True,
    )
    assert target.read_bytes() == new and stats.kills == n_kills
    assert killkit.tmp_files(out_dir) == [], "the last run clears the killed runs' temporaries"
    notes.NOTES.append(stats.line("crash safety, export") + f"; after a kill: {outcome}")
