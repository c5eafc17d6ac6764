"""Old checkpoints keep working: the fixtures in ``tests/fixtures`` were written by
hyptax 0.1.0, before checkpoints carried a format version (see its README), and must
load, evaluate and resume in every later hyptax that reads format 1."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import hyptax
from hyptax.cli import main
from hyptax.errors import HyptaxError
from hyptax.training import checkpoint as ck

FIXTURES = Path(__file__).parents[1] / "fixtures"
TRAINED = FIXTURES / "checkpoint-v1.pt"
"""``hyptax train`` of ``tree-21.tsv``: 4 epochs from a uniform start, rsgd."""
EXTENDED = FIXTURES / "checkpoint-v1-extended.pt"
"""``hyptax embed --precision extended --dim 2`` of ``deep-80.tsv`` (radius 40)."""
TREE, DEEP = FIXTURES / "tree-21.tsv", FIXTURES / "deep-80.tsv"

MAP_WHEN_WRITTEN = {TRAINED: 0.34643904706404716, EXTENDED: 0.4541361986158048}
"""The reconstruction MAP hyptax 0.1.0 reported for each fixture (report.json)."""


def raw(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=True)


def rewritten(path: Path, tmp_path: Path, **changes: Any) -> Path:
    """A copy of the checkpoint at ``path`` with ``changes`` (None: key removed)."""
    checkpoint = raw(path)
    for key, value in changes.items():
        if value is None:
            checkpoint.pop(key, None)
        else:
            checkpoint[key] = value
    out = tmp_path / path.name
    torch.save(checkpoint, out)
    return out


def test_the_fixtures_predate_format_versions() -> None:
    """What the tests below rely on: files of hyptax 0.1.0, without format_version."""
    for path in (TRAINED, EXTENDED):
        checkpoint = raw(path)
        assert checkpoint["hyptax_version"] == "0.1.0" and "format_version" not in checkpoint
    assert "polar" in raw(EXTENDED) and "polar" not in raw(TRAINED)


def test_the_trained_fixture_loads() -> None:
    emb = hyptax.load(TRAINED)
    assert len(emb) == 21 and "n20" in emb and emb.polar is None
    assert emb.meta["epoch"] == 4 and emb.meta["config"]["dim"] == 2
    assert torch.equal(emb.vectors, raw(TRAINED)["weight"])
    assert 0 < emb.distance("n5", "n1") < emb.distance("n5", "n20")  # a node nearer its parent


def test_the_extended_fixture_loads_its_polar_points() -> None:
    emb = hyptax.load(EXTENDED)
    assert emb.polar is not None and emb.polar.n == len(emb) == 81
    np.testing.assert_array_equal(emb.polar.radius, raw(EXTENDED)["polar"]["radius"].numpy())
    # both leaves sit on the float64 rim; only the polar points tell them apart
    assert 1.0 < emb.distance("l39", "s39") < emb.distance("l39", "l38") < np.inf


@pytest.mark.parametrize(("path", "data"), [(TRAINED, TREE), (EXTENDED, DEEP)])
def test_evaluate_gives_the_numbers_of_the_release_that_wrote_it(
    path: Path, data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert main(["evaluate", str(path), "--data", str(data), "--json", str(out)]) == 0
    capsys.readouterr()
    report = json.loads(out.read_text())
    assert report["reconstruction"]["map"] == pytest.approx(MAP_WHEN_WRITTEN[path], abs=1e-12)


def resume(
    last: Path | dict[str, Any], data: Path, tmp_path: Path, *flags: str, status: int = 0
) -> Path:
    """``hyptax train --resume`` of a run folder holding ``last`` (a file or a
    checkpoint dict) as its ``last.pt``, on ``data``; asserts its exit ``status``;
    returns the folder."""
    run = tmp_path / "run"
    run.mkdir()
    if isinstance(last, Path):
        shutil.copy(last, run / "last.pt")
    else:
        torch.save(last, run / "last.pt")
    assert main(["train", "--quiet", "--threads", "1", "--out", str(run), "--resume",
                 "--data", str(data), *flags]) == status  # fmt: skip
    return run


OLDER_STOPPER = ("best_tiebreak", "best_epoch", "peak", "tie")
"""Early-stopping fields hyptax added after its first checkpoints."""


@pytest.mark.parametrize("older", [False, True], ids=["as-written", "older-stopper"])
def test_resume_continues_the_fixture(
    older: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fixture's data lives elsewhere now: --data names it, checked by its hash."""
    checkpoint = raw(TRAINED)
    if older:
        stopper = checkpoint["train_state"]["stopper"]
        checkpoint["train_state"]["stopper"] = {
            k: v for k, v in stopper.items() if k not in OLDER_STOPPER
        }
    run = resume(checkpoint, TREE, tmp_path, "--epochs", "6", "--eval-every", "2")
    capsys.readouterr()
    last = ck.load_checkpoint(run / "last.pt")
    assert last["epoch"] == 6 and last["format_version"] == ck.FORMAT_VERSION
    assert not torch.equal(last["weight"], checkpoint["weight"])  # it trained
    records = [json.loads(line) for line in (run / "metrics.jsonl").open()]
    assert [r["epoch"] for r in records] == [0, 2, 4, 6]  # the fixture's history kept


def test_resume_refuses_other_data_under_the_fixture(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.tsv"
    other.write_text(TREE.read_text().replace("n20\tn4", "n20\tn3"))
    resume(TRAINED, other, tmp_path, status=2)
    assert "trained on '/tmp/hyptax-fixture/tree-21.tsv'" in capsys.readouterr().err


def test_the_extended_fixture_resumes_as_the_construction_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An extended-precision construction is never trained: resuming keeps it."""
    run = resume(EXTENDED, DEEP, tmp_path, "--epochs", "2")
    capsys.readouterr()
    assert ck.load_checkpoint(run / "last.pt")["epoch"] == 0


def test_a_saved_embedding_is_not_resumed_but_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = hyptax.load(TRAINED).save(tmp_path / "saved.pt")  # same format, no train_state
    resume(saved, TREE, tmp_path, status=2)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "saved without its training state" in lines[0]


def test_another_hyptax_version_still_loads(tmp_path: Path) -> None:
    path = rewritten(TRAINED, tmp_path, hyptax_version="0.0.1")
    emb = hyptax.load(path)
    assert torch.equal(emb.vectors, hyptax.load(TRAINED).vectors)
    assert ck.load_checkpoint(path)["hyptax_version"] == "0.0.1"  # kept, as information


def test_format_version_1_loads_and_is_what_this_code_writes(tmp_path: Path) -> None:
    path = rewritten(TRAINED, tmp_path, format_version=1)
    assert len(hyptax.load(path)) == 21
    hyptax.load(TRAINED).save(tmp_path / "saved.pt")
    assert raw(tmp_path / "saved.pt")["format_version"] == ck.FORMAT_VERSION == 1


NEWER = "written by a newer hyptax (format 99); this one reads format 1: upgrade hyptax"


def test_a_newer_format_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rewritten(TRAINED, tmp_path, format_version=99, weight=None)  # and a new layout
    with pytest.raises(HyptaxError) as err:
        hyptax.load(path)
    assert str(err.value) == f"{path}: {NEWER}"
    assert main(["evaluate", str(path), "--data", str(TREE)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and NEWER in lines[0]
    resume(path, TREE, tmp_path, status=2)
    assert NEWER in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1", 1.0, True, 0, -1, None])
def test_a_bad_format_version_is_damage(value: Any, tmp_path: Path) -> None:
    checkpoint = raw(TRAINED)
    checkpoint["format_version"] = value
    path = tmp_path / "bad.pt"
    torch.save(checkpoint, path)
    with pytest.raises(HyptaxError, match=r"damaged hyptax checkpoint: bad 'format_version'"):
        ck.load_checkpoint(path)
