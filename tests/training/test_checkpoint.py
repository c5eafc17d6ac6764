import pickle

import pytest
import torch

import hyptax
from hyptax.errors import HyptaxError
from hyptax.training import checkpoint as ck


def sample(n: int = 5) -> dict:
    return {
        "config": {"dim": 3, "lr": 0.1},
        "data": {"spec": "x.tsv", "options": {}, "hash": "abc123", "n_nodes": n},
        "ids": [f"i{k}" for k in range(n)],
        "names": [f"name {k}" for k in range(n)],
        "manifold": "poincare",
        "weight": torch.rand(n, 3, dtype=torch.float64) * 0.5,
        "epoch": 7,
        "best_metric": 0.25,
        "optimizer": {"kind": "radam", "exp_avg": torch.zeros(n, 3), "steps": torch.ones(n)},
        "rng": {"numpy": {"state": {"state": 2**100 + 3, "inc": 5}}},
        "train_state": {"lr_scale": 0.5},
        "history": [{"epoch": 1, "loss": 3.0}],
    }


def test_round_trip(tmp_path):
    path = tmp_path / "a.pt"
    data = sample()
    ck.save_checkpoint(path, data)
    back = ck.load_checkpoint(path)
    assert back["format"] == ck.FORMAT and back["format_version"] == ck.FORMAT_VERSION
    assert back["hyptax_version"] == hyptax.__version__
    assert torch.equal(back["weight"], data["weight"])
    assert torch.equal(back["optimizer"]["exp_avg"], data["optimizer"]["exp_avg"])
    assert back["rng"] == data["rng"] and back["history"] == data["history"]
    assert back["ids"] == data["ids"] and back["epoch"] == 7
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left


def test_a_crash_mid_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "a.pt"
    ck.save_checkpoint(path, sample())
    before = path.read_bytes()

    def exploding_save(obj, fh):
        fh.write(b"partial bytes")
        raise RuntimeError("killed mid-write")

    monkeypatch.setattr(ck.torch, "save", exploding_save)
    with pytest.raises(RuntimeError):
        ck.save_checkpoint(path, sample())
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_never_writes_nan(tmp_path):
    data = sample()
    data["weight"][2, 1] = float("nan")
    with pytest.raises(HyptaxError, match="NaN"):
        ck.save_checkpoint(tmp_path / "a.pt", data)
    assert not list(tmp_path.iterdir())


def test_reads_another_version_but_not_a_newer_format(tmp_path, monkeypatch):
    """The package version is information; the format version decides (more with
    the fixtures of hyptax 0.1.0 in test_checkpoint_formats.py)."""
    path = tmp_path / "a.pt"
    monkeypatch.setattr(ck, "__version__", "0.0.1")
    ck.save_checkpoint(path, sample())
    monkeypatch.setattr(ck, "FORMAT_VERSION", 2)
    newer = tmp_path / "newer.pt"
    ck.save_checkpoint(newer, sample())
    monkeypatch.undo()
    assert ck.load_checkpoint(path)["hyptax_version"] == "0.0.1"
    with pytest.raises(HyptaxError, match=r"newer\.pt: written by a newer hyptax \(format 2\); "
                       r"this one reads format 1: upgrade hyptax$"):  # fmt: skip
        ck.load_checkpoint(newer)


def test_refuses_another_dataset(tmp_path):
    path = tmp_path / "a.pt"
    ck.save_checkpoint(path, sample())
    other = {"spec": "y.tsv", "hash": "def456", "n_nodes": 9}
    with pytest.raises(HyptaxError, match=r"trained on 'x.tsv' .*not on 'y.tsv'"):
        ck.check_same_data(ck.load_checkpoint(path), other, path)
    ck.check_same_data(ck.load_checkpoint(path), {**other, "hash": "abc123"}, path)


class Boom:
    def __reduce__(self):
        return (print, ("pwned",))


@pytest.mark.parametrize(
    "content",
    [b"", b"not a checkpoint at all", pickle.dumps(Boom()), pickle.dumps({"format": "x"})],
)
def test_bad_files_give_one_line_errors(tmp_path, content):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(HyptaxError) as err:
        ck.load_checkpoint(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_truncated_and_damaged(tmp_path):
    path = tmp_path / "a.pt"
    ck.save_checkpoint(path, sample())
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(HyptaxError, match="not a readable hyptax checkpoint"):
        ck.load_checkpoint(path)
    data = sample()
    data["ids"] = data["ids"][:3]
    torch.save({"format": ck.FORMAT, "hyptax_version": hyptax.__version__, **data}, path)
    with pytest.raises(HyptaxError, match="damaged"):
        ck.load_checkpoint(path)
    with pytest.raises(HyptaxError, match="no such checkpoint"):
        ck.load_checkpoint(tmp_path / "missing.pt")


def _forge(path, data):
    """Write a checkpoint past save_checkpoint's own refusals (a foreign writer)."""
    torch.save({"format": ck.FORMAT, "hyptax_version": hyptax.__version__, **data}, path)


def test_points_outside_the_ball_or_not_finite_are_refused_with_a_count(tmp_path):
    from hyptax.manifolds import get_manifold

    path = tmp_path / "a.pt"
    data = sample()
    data["weight"][1] *= 1.5 / data["weight"][1].norm()  # a row at norm 1.5
    data["weight"][3] = torch.tensor([0.0, 1.0, 0.0])  # and one on the boundary itself
    _forge(path, data)
    with pytest.raises(HyptaxError, match=r"a.pt: .*2 of 5 rows lie outside the Poincaré ball"):
        ck.load_checkpoint(path)
    data = sample()
    data["weight"][0, 0] = float("nan")
    data["weight"][4, 2] = float("inf")
    _forge(path, data)
    with pytest.raises(HyptaxError, match=r"2 of 5 rows are not finite"):
        ck.load_checkpoint(path)
    data = sample()  # a Lorentz point on the lower sheet, and one off the hyperboloid
    data["manifold"] = "lorentz"
    data["weight"] = get_manifold("lorentz").from_poincare(data["weight"] * 0.9)
    data["weight"][0, 0] *= -1
    data["weight"][2, 0] = 0.5
    _forge(path, data)
    with pytest.raises(HyptaxError, match=r"2 of 5 rows lie off the hyperboloid"):
        ck.load_checkpoint(path)


def test_saving_refuses_points_outside_the_ball(tmp_path):
    data = sample()
    data["weight"][1] *= 1.5 / data["weight"][1].norm()
    with pytest.raises(HyptaxError, match="1 of 5 rows lie outside the Poincaré ball"):
        ck.save_checkpoint(tmp_path / "a.pt", data)
