"""Untrusted files: nothing a data file or checkpoint holds is ever run.

Every payload below creates a marker file if any code in it runs (``os.system``,
``subprocess``, ``eval``/``exec``, ``open``, any class); each must be refused with a
clear one-line message, and the marker must not exist afterwards. Checkpoints are
read with ``torch.load(weights_only=True)`` only; one written by another hyptax
version, or for another dataset, is refused with a message that says which.
"""

from __future__ import annotations

import builtins
import os
import pickle
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fuzz.cases import MARKER, Case, run_case
from fuzz.pickles import Reduce, malicious_pickles

import hyptax
from hyptax.cli import main
from hyptax.config import TrainConfig
from hyptax.errors import HyptaxError
from hyptax.pipeline import RunPaths, run
from hyptax.training.checkpoint import load_checkpoint


# ------------------------------------------------------------------ pickles
@pytest.mark.parametrize("name", sorted(malicious_pickles(Path("x"))))
def test_pickles_that_run_code_are_refused(tmp_path: Path, name: str) -> None:
    marker = tmp_path / MARKER
    path = tmp_path / "evil.pkl"
    path.write_bytes(malicious_pickles(marker)[name])
    case = Case("pickle", str(path), f"malicious:{name}", str(path), forbidden=(marker,))
    case.error = r"refused: the pickle asks for '[\w.]+'; hyptax reads only plain"
    run_case(case)


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """The same bytes do run code under plain pickle: the refusals above are real."""
    marker = tmp_path / MARKER
    for name in ("GLOBAL os.system", "INST os.system", "STACK_GLOBAL builtins.open"):
        pickle.loads(malicious_pickles(marker)[name])
        assert marker.exists(), name
        marker.unlink()


# ------------------------------------------------------------------ checkpoints
def payloads(marker: Path) -> dict[str, Any]:
    touch = f"touch {marker}"
    return {
        "os.system": Reduce(os.system, touch),
        "subprocess.call": Reduce(subprocess.call, ["touch", str(marker)]),
        "builtins.eval": Reduce(builtins.eval, f"__import__('os').system('{touch}')"),
        "builtins.exec": Reduce(builtins.exec, f"open('{marker}', 'w')"),
        "builtins.open": Reduce(builtins.open, str(marker), "w"),
        "a class": Reduce(Case, "x", str(marker), "z", "w"),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny finished run: (its folder, its data file)."""
    folder = tmp_path_factory.mktemp("trained")
    data = folder / "tree.tsv"
    data.write_text("".join(f"n{i}\tn{(i - 1) // 3}\n" for i in range(1, 40)))
    out = folder / "run"
    config = TrainConfig(
        data=str(data),
        epochs=2,
        eval_every=1,
        dim=4,
        threads=1,
        n_negatives=10,
        early_stopping=None,
        init="uniform",  # the construction of a tree is exact and is not trained
    )
    run(config, paths=RunPaths.in_dir(out), report=False, echo=lambda line: None)
    return out, data


def rewrite(path: Path, **changes: Any) -> None:
    checkpoint = torch.load(path, weights_only=True)
    checkpoint.update(changes)
    torch.save(checkpoint, path)


READERS = {
    "load_checkpoint": lambda p: load_checkpoint(p),
    "hyptax.load": lambda p: hyptax.load(p),
    "cli evaluate": lambda p: main(["evaluate", str(p)]),
    "cli export": lambda p: main(["export", str(p), "--format", "w2v", "-o", str(p) + ".txt"]),
}


@pytest.mark.parametrize("payload", sorted(payloads(Path("x"))))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_checkpoint_with_a_payload_is_refused(trained, tmp_path: Path, capsys, payload, reader):
    out, _ = trained
    marker = tmp_path / MARKER
    path = tmp_path / "evil.pt"
    path.write_bytes((out / "last.pt").read_bytes())
    rewrite(path, history=[{"epoch": 1, "note": payloads(marker)[payload]}])
    try:
        code = READERS[reader](path)
    except HyptaxError as exc:
        message = str(exc)
    else:
        assert code == 2
        message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "refused: it asks for" in message and "weights_only=True" in message, message
    assert "\n" not in message and str(path) in message
    assert not marker.exists(), "the payload ran"
    assert not Path(str(path) + ".txt").exists()


def test_resume_refuses_a_payload(trained, tmp_path: Path, capsys) -> None:
    out, _ = trained
    marker = tmp_path / MARKER
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("last.pt", "best.pt"):
        (run_dir / name).write_bytes((out / name).read_bytes())
        rewrite(run_dir / name, optimizer={"state": payloads(marker)["os.system"]})
    assert main(["train", "--out", str(run_dir), "--resume", "--quiet"]) == 2
    assert "refused: it asks for" in capsys.readouterr().err
    assert not marker.exists()


def test_every_torch_load_is_weights_only(trained, tmp_path: Path, monkeypatch, capsys) -> None:
    """Spy on torch.load while the commands that read checkpoints run."""
    out, _ = trained
    calls: list[dict[str, Any]] = []
    real = torch.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("last.pt", "best.pt", "run.json"):
        (run_dir / name).write_bytes((out / name).read_bytes())
    assert main(["evaluate", str(out / "best.pt")]) == 0
    assert main(["export", str(out / "best.pt"), "--format", "w2v", "-o", str(tmp_path / "v")]) == 0
    assert main(["neighbors", str(out / "best.pt"), "n1", "-k", "3"]) == 0
    assert main(["train", "--out", str(run_dir), "--resume", "--epochs", "3", "--quiet"]) == 0
    capsys.readouterr()
    assert len(calls) >= 4
    assert all(kw.get("weights_only") is True for kw in calls), calls


# ------------------------------------------------------------------ numpy files
def test_prepared_dataset_with_a_pickled_object_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / MARKER
    path = tmp_path / "evil.npz"
    evil = np.empty(1, dtype=object)
    evil[0] = payloads(marker)["os.system"]
    np.savez(path, ids=evil, names=evil, child=evil, parent=evil, manifest=evil)
    with pytest.raises(HyptaxError, match=r"not a prepared dataset|damaged"):
        hyptax.load_taxonomy(str(path))
    assert not marker.exists()


def test_npy_export_with_a_pickled_object_is_refused(trained, tmp_path: Path) -> None:
    out, _ = trained
    marker = tmp_path / MARKER
    assert main(["export", str(out / "best.pt"), "--format", "npy", "-o", str(tmp_path / "e")]) == 0
    evil = np.empty(3, dtype=object)
    evil[:] = [payloads(marker)["os.system"]] * 3
    np.save(tmp_path / "e.npy", evil, allow_pickle=True)
    with pytest.raises(HyptaxError, match="not a hyptax npy export"):
        hyptax.load(str(tmp_path / "e.npy"))
    assert not marker.exists()


# ------------------------------------------------------------------ provenance
def test_checkpoint_from_another_version_is_read_a_newer_format_refused(
    trained, tmp_path: Path, capsys
) -> None:
    """The package version that wrote a checkpoint is information; its format decides."""
    out, _ = trained
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("last.pt", "best.pt"):
        (run_dir / name).write_bytes((out / name).read_bytes())
        rewrite(run_dir / name, hyptax_version="0.0.9")
    assert main(["evaluate", str(run_dir / "best.pt")]) == 0
    epoch = torch.load(run_dir / "last.pt", weights_only=True)["epoch"]
    assert main(["train", "--out", str(run_dir), "--resume", "--quiet",
                 "--epochs", str(epoch + 1)]) == 0  # fmt: skip
    capsys.readouterr()
    for name in ("last.pt", "best.pt"):
        rewrite(run_dir / name, format_version=2)
    want = "written by a newer hyptax (format 2); this one reads format 1: upgrade hyptax"
    assert main(["train", "--out", str(run_dir), "--resume", "--quiet"]) == 2
    assert want in capsys.readouterr().err
    assert main(["evaluate", str(run_dir / "best.pt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and want in err[0] and str(run_dir / "best.pt") in err[0]


def test_checkpoint_from_another_dataset_is_refused(trained, tmp_path: Path, capsys) -> None:
    out, data = trained
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("last.pt", "best.pt", "run.json"):
        (run_dir / name).write_bytes((out / name).read_bytes())
    other = tmp_path / "other.tsv"
    other.write_text("".join(f"m{i}\tm{(i - 1) // 2}\n" for i in range(1, 30)))
    assert main(["train", "--out", str(run_dir), "--resume", "--data", str(other), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"trained on {str(data)!r} (40 nodes" in err, err
    assert f"not on {str(other)!r} (30 nodes" in err, err
    # The same file name, edited since: told apart by the content hash.
    edited = tmp_path / "edited"
    edited.mkdir()
    copy = edited / "tree.tsv"
    copy.write_text(data.read_text())
    config = TrainConfig(data=str(copy), epochs=1, dim=4, threads=1, n_negatives=10)
    run(config, paths=RunPaths.in_dir(edited / "run"), report=False, echo=lambda line: None)
    copy.write_text(data.read_text() + "n40\tn39\n")
    assert main(["train", "--out", str(edited / "run"), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "(40 nodes, hash" in err and "(41 nodes, hash" in err, err
