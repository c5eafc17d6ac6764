"""Resources: a read-only output folder, a disk that fills up mid-write, a dataset
too large for the memory.

CI runs as root, which ignores file permissions, so a read-only folder is simulated
(``mkstemp`` raising EACCES or EROFS), besides a real impossible path (a folder
under a regular file). A full disk is an ENOSPC raised partway through the bytes of
a file (or at its fsync). Each must give exit status 2, one clear line, and leave
no partial file: the target absent or its old bytes intact, no temporary file.
"""

from __future__ import annotations

import errno
import os
import random
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import killkit
import notes
import pytest
import torch
from fuzz.checkpoints import valid_checkpoint

import hyptax.files
from hyptax.cli import main
from hyptax.config import TrainConfig
from hyptax.data import load_taxonomy
from hyptax.training import memory
from hyptax.training.checkpoint import load_checkpoint, save_checkpoint

TRAIN = [
    "train",
    "--quiet",
    "--threads",
    "1",
    "--epochs",
    "4",
    "--eval-every",
    "1",
    "--dim",
    "5",
    "--n-negatives",
    "10",
    "--early-stopping",
    "0",
    "--init",  # a random start: the construction of a tree is exact and is not trained
    "uniform",
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("inputs")
    tree = killkit.write_tree(folder / "tree.tsv", 200, seed=3)
    ckpt = folder / "c.pt"
    save_checkpoint(ckpt, valid_checkpoint(random.Random(0), 500, 4))
    return {"tree": str(tree), "ckpt": str(ckpt)}


def commands(inputs: dict[str, str], out: Path) -> dict[str, list[str]]:
    """Each command writing into ``out`` (a folder)."""
    return {
        "prepare": ["prepare", inputs["tree"], "-o", str(out / "d.npz")],
        "export w2v": ["export", inputs["ckpt"], "--format", "w2v", "-o", str(out / "v.txt")],
        "export npy": [
            "export",
            inputs["ckpt"],
            "--format",
            "npy",
            "-o",
            str(out / "e"),
            "--data",
            inputs["tree"],
        ],
        "train": [*TRAIN, "--data", inputs["tree"], "--out", str(out / "run")],
    }


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("hyptax: error: "), err
    return last


# ------------------------------------------------------------------ read-only output
@pytest.mark.parametrize(
    "code, words", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")]
)
@pytest.mark.parametrize("command", ["prepare", "export w2v", "export npy", "train"])
def test_read_only_output(inputs, tmp_path: Path, monkeypatch, capsys, command, code, words):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("already here")
    before = snapshot(out)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert main(commands(inputs, out)[command]) == 2
    line = one_error_line(capsys)
    assert words in line and "cannot write" in line, line
    after = snapshot(out)
    if command == "train":  # the run folder may have been made, but holds nothing
        assert not any(k.startswith("run/") for k in after)
    assert {k: v for k, v in after.items() if not k.startswith("run/")} == before


@pytest.mark.parametrize("command", ["prepare", "export w2v", "export npy", "train"])
def test_output_under_a_regular_file(inputs, tmp_path: Path, capsys, command: str) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    assert main(commands(inputs, blocker)[command]) == 2
    line = one_error_line(capsys)
    assert str(blocker) in line and "not a directory" in line.lower(), line
    assert blocker.read_text() == "a file, not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


# ------------------------------------------------------------------ full disk
class FullDisk:
    """A file whose writes fail with ENOSPC once ``room`` bytes were written."""

    def __init__(self, fh: Any, room: int) -> None:
        self._fh, self._room = fh, room

    def write(self, data: Any) -> int:
        size = len(data.encode() if isinstance(data, str) else data)
        if size > self._room:
            self._fh.write(data[: self._room])  # a partial write reaches the disk
            self._room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= size
        return self._fh.write(data)

    def __enter__(self) -> FullDisk:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._fh.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def fill_disk(monkeypatch, room: int, after_files: int = 0, only: str = "") -> dict[str, int]:
    """From the ``after_files``-th temporary file on, writes fail after ``room`` bytes;
    with ``only``, just the temporary files whose name holds it count, and fail."""
    real = os.fdopen
    seen = {"files": 0}

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        fh = real(fd, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}")
        if not name.endswith(".tmp") or only not in Path(name).name:
            return fh
        seen["files"] += 1
        return FullDisk(fh, room) if seen["files"] > after_files else fh

    monkeypatch.setattr(os, "fdopen", fdopen)
    return seen


@pytest.mark.parametrize("room", [0, 100, 5000])
@pytest.mark.parametrize("command", ["prepare", "export w2v", "export npy"])
def test_disk_full_mid_write(inputs, tmp_path: Path, monkeypatch, capsys, command, room):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("d.npz", "v.txt", "e.npy"):
        (out / name).write_bytes(b"the old file")
    before = snapshot(out)
    fill_disk(monkeypatch, room)
    assert main(commands(inputs, out)[command]) == 2
    line = one_error_line(capsys)
    assert "no space left on the device" in line, line
    assert snapshot(out) == before  # old files intact, no new or temporary file


def test_disk_full_at_fsync(inputs, tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "out"
    out.mkdir()

    def fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", fsync)
    assert main(commands(inputs, out)["prepare"]) == 2
    assert "no space left on the device" in one_error_line(capsys)
    assert snapshot(out) == {}


def test_disk_full_during_training_then_resume(inputs, tmp_path: Path, monkeypatch, capsys):
    """The disk fills up while epoch 3's checkpoint is written: the run stops with one
    line, last.pt still holds epoch 2; with space again, --resume ends exactly where an
    uninterrupted run ends."""
    out = tmp_path / "out"
    argv = commands(inputs, out)["train"]
    # last.pt of epochs 0 (the start), 1 and 2 are written (best.pt when better)
    seen = fill_disk(monkeypatch, room=2000, after_files=3, only="last.pt")
    assert main(argv) == 2
    assert seen["files"] == 4
    assert "no space left on the device" in one_error_line(capsys)
    run_dir = out / "run"
    assert load_checkpoint(run_dir / "last.pt")["epoch"] == 2
    assert killkit.tmp_files(run_dir) == []
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    reference = tmp_path / "reference"
    assert main(commands(inputs, reference)["train"]) == 0
    capsys.readouterr()
    assert torch.equal(
        load_checkpoint(run_dir / "last.pt")["weight"],
        load_checkpoint(reference / "run" / "last.pt")["weight"],
    )


def test_disk_full_while_logging_metrics(inputs, tmp_path: Path, monkeypatch, capsys) -> None:
    """metrics.jsonl is appended to, not replaced: a full disk stops the run with one
    line, and a resumed run rewrites the log from the checkpoint."""
    out = tmp_path / "out"
    argv = commands(inputs, out)["train"]
    real_open = open
    appends = {"n": 0}

    def full_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        fh = real_open(path, mode, *args, **kwargs)
        if "a" in mode:
            appends["n"] += 1
            if appends["n"] == 3:
                return FullDisk(fh, 10)
        return fh

    monkeypatch.setattr(hyptax.files, "open", full_open, raising=False)
    assert main(argv) == 2
    assert "no space left on the device" in one_error_line(capsys)
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0
    capsys.readouterr()
    lines = (out / "run" / "metrics.jsonl").read_text().splitlines()
    assert [int(line.split('"epoch": ')[1].split(",")[0]) for line in lines] == [0, 1, 2, 3, 4]


# ------------------------------------------------------------------ memory
def test_too_large_for_memory_gets_a_clear_message(inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(memory, "available_bytes", lambda: 50 << 20)
    out = tmp_path / "out"
    assert main(commands(inputs, out)["train"]) == 2
    line = one_error_line(capsys)
    assert "not enough memory" in line and "needs about" in line, line
    assert "only 50.0 MB is available" in line
    assert not out.exists() or snapshot(out) == {}  # refused before writing anything


def test_estimate_follows_the_run(inputs) -> None:
    tax = load_taxonomy(inputs["tree"])
    assert memory.closure_size(tax) == tax.n_closure  # a tree: exact, before building it
    base = memory.estimate(tax, TrainConfig(data="x", dim=10))
    assert memory.estimate(tax, TrainConfig(data="x", dim=100))["weights"] == 10 * base["weights"]
    assert (
        memory.estimate(tax, TrainConfig(data="x", dim=10, dtype="float32"))["weights"] * 2
        == (base["weights"])
    )
    assert memory.estimate(tax, TrainConfig(data="x", optimizer="radam"))["optimizer"] > 0
    assert base["total"] == sum(v for k, v in base.items() if k != "total")
    have = memory.available_bytes()
    assert have is not None and have > 0


MEASURE = r"""
import sys
from hyptax.config import TrainConfig
from hyptax.data import load_taxonomy
from hyptax.pipeline import run
from hyptax.training.memory import estimate
tax = load_taxonomy(sys.argv[1]); tax.depth
import hyptax.pipeline as pipeline
config = TrainConfig(data=sys.argv[1], dim=32, epochs=1, burn_in=0, threads=1,
                     early_stopping=None, init="uniform")
import gc, os
tiny = sys.argv[1] + ".tiny.tsv"
open(tiny, "w").write("".join(f"t{i}\tt{i // 2}\n" for i in range(1, 60)))
warm = TrainConfig(data=tiny, dim=32, epochs=1, burn_in=0, threads=1, n_negatives=10)
run(warm, report=False, echo=lambda line: None)  # compile the kernels first
pipeline.load_data = lambda config, echo=None, shown=None, **kw: tax
gc.collect()
before = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
run(config, report=False, echo=lambda line: None)
# VmHWM, not ru_maxrss: after fork + exec, ru_maxrss starts at the parent's size.
status = open("/proc/self/status").read().split("VmHWM:")[1].split()
grown = int(status[0]) * 1024 - before
print(grown, estimate(tax, config)["total"])
"""


@pytest.mark.slow
def test_estimate_covers_a_measured_run(tmp_path: Path) -> None:
    """Peak memory growth of a real 1-epoch run (30,000 nodes; from the resident size
    before it, kernels compiled by a tiny run first) stays under the estimate, and the
    estimate is not wildly pessimistic."""
    import numpy as np

    n = 30_000
    rng = np.random.default_rng(0)
    parent = (rng.random(n - 1) * np.arange(1, n)).astype(int)
    data = tmp_path / "t.tsv"
    data.write_text("".join(f"n{c}\tn{p}\n" for c, p in zip(range(1, n), parent, strict=True)))
    proc = subprocess.run(
        [killkit.sys.executable, "-c", MEASURE, str(data)],
        capture_output=True,
        text=True,
        env=killkit.ENV,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    grown, estimated = map(int, proc.stdout.split())
    assert grown <= estimated <= 3 * grown + (256 << 20), (grown, estimated)
    notes.NOTES.append(
        f"memory estimate: {n:,}-node run grew {grown / 2**20:.0f} MB, estimated "
        f"{estimated / 2**20:.0f} MB"
    )


def test_a_huge_dim_is_refused_before_the_construction_allocates(
    inputs, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(memory, "available_bytes", lambda: 60 << 30)
    out = tmp_path / "e"
    assert main(["embed", "--data", inputs["tree"], "--out", str(out), "--dim", "100000"]) == 2
    line = one_error_line(capsys)
    assert "not enough memory" in line and "construction" in line and "--dim" in line, line
    assert not out.exists()


def test_a_closure_too_large_for_memory_is_refused_before_it_is_built(
    tmp_path, monkeypatch, capsys
):
    chain = tmp_path / "chain.csv"
    chain.write_text("".join(f"n{i},n{i - 1}\n" for i in range(1, 3000)))  # 4.5M closure pairs
    monkeypatch.setattr(memory, "available_bytes", lambda: 50 << 20)
    assert main(["info", str(chain)]) == 2
    line = one_error_line(capsys)
    assert "not enough memory" in line and "4,498,500 closure pairs" in line, line


def test_a_prepared_file_that_unpacks_too_large_is_refused(inputs, tmp_path, monkeypatch, capsys):
    import numpy as np

    bomb = tmp_path / "bomb.npz"
    np.savez_compressed(
        bomb, ids=np.zeros(20 << 20, dtype=np.uint8)
    )  # 20 MB of zeros, 20 KB packed
    assert bomb.stat().st_size < 1 << 20
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 << 20)
    assert main(["info", str(bomb)]) == 2
    line = one_error_line(capsys)
    assert "bomb.npz" in line and "unpacks to 20.0 MB" in line and "10.0 MB" in line, line


def test_out_of_memory_anywhere_is_one_line(inputs, monkeypatch, capsys):
    import hyptax.cli.data_cmds as data_cmds

    def exhausted(*args, **kwargs):
        raise MemoryError("Unable to allocate 74.5 GiB")

    monkeypatch.setattr(data_cmds, "summarize", exhausted)
    assert main(["info", inputs["tree"]]) == 2
    line = one_error_line(capsys)
    assert line.startswith("hyptax: error: out of memory") and "smaller" in line, line
