"""Atomic writes: the target is replaced whole or not at all, and temporary files of
killed writers are cleared by the next write."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from hyptax.errors import HyptaxError
from hyptax.files import atomic_write, clear_stale, read_jsonl, write_json


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(proc.stdout)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as fh:
        fh.write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_the_temporary_file_names_its_writer(tmp_path: Path) -> None:
    import os

    target = tmp_path / "out.txt"
    with atomic_write(target, "w") as fh:
        fh.write("new")
        (tmp,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert tmp.name.startswith(f".out.txt.{os.getpid()}.")
    assert target.read_text() == "new"


def test_written_files_get_the_usual_permissions(tmp_path: Path) -> None:
    import os

    new, kept = tmp_path / "new.txt", tmp_path / "kept.txt"
    kept.write_text("old")
    kept.chmod(0o640)
    mask = os.umask(0o022)
    try:
        for path in (new, kept):
            with atomic_write(path, "w") as fh:
                fh.write("x")
    finally:
        os.umask(mask)
    assert new.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0600
    assert kept.stat().st_mode & 0o777 == 0o640  # a replaced file keeps its mode


def test_the_next_write_clears_a_killed_writers_temporary(tmp_path: Path) -> None:
    target = tmp_path / "data.npz"
    stale = tmp_path / f".data.npz.{dead_pid()}.x1y2.tmp"
    stale.write_text("half")
    live = tmp_path / ".data.npz.1.k3j4.tmp"  # process 1 is running: its write is in progress
    live.write_text("busy")
    other = tmp_path / f".data.npz.bak.{dead_pid()}.a.tmp"  # another target's temporary
    other.write_text("x")
    legacy = tmp_path / ".data.npz.abcdef.tmp"  # no process id: left alone
    legacy.write_text("x")
    with atomic_write(target, "wb") as fh:
        fh.write(b"new")
    assert not stale.exists()
    assert live.exists() and other.exists() and legacy.exists()
    assert clear_stale(target) == []


def test_unwritable_folder_is_one_line(tmp_path: Path) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(HyptaxError, match="cannot write: permission denied"):
            write_json(folder / "x.json", {"a": 1})
    finally:
        folder.chmod(0o700)


def test_json_never_holds_nan(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json(path, {"a": math.nan, "b": [1.0, math.inf], "c": 2.5})
    assert json.loads(path.read_text()) == {"a": None, "b": [1.0, None], "c": 2.5}


def test_a_torn_last_jsonl_line_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"epoch": 1}\n{"epoch": 2}\n{"epo')
    assert read_jsonl(path) == [{"epoch": 1}, {"epoch": 2}]


# ------------------------------------------------ targets that are not regular files
def test_a_symlinked_output_keeps_the_link_and_replaces_its_target(tmp_path: Path) -> None:
    runs = tmp_path / "runs" / "7"
    runs.mkdir(parents=True)
    real = runs / "vectors.w2v"
    real.write_text("old")
    link = tmp_path / "latest.w2v"
    link.symlink_to(Path("runs/7/vectors.w2v"))
    with atomic_write(link, "w") as fh:
        fh.write("new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert sorted(p.name for p in runs.iterdir()) == ["vectors.w2v"]  # no temporary left


def test_a_dangling_symlink_gets_its_target_made(tmp_path: Path) -> None:
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "new.json")
    write_json(link, {"a": 1})
    assert link.is_symlink()
    assert json.loads((tmp_path / "new.json").read_text()) == {"a": 1}


def test_a_fifo_is_written_in_place(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    with atomic_write(fifo, "wb") as fh:
        fh.write(b"through the pipe")
    assert fifo.is_fifo()  # not replaced by a regular file
    reader.join(timeout=10)
    assert got == [b"through the pipe"]
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def char_device(path: Path, minor: int) -> Path:
    """A character device node like /dev/null (minor 3) or /dev/full (7); skips
    without root."""
    import os
    import stat

    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        pytest.skip("making a device node needs root")
    return path


@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    return char_device(tmp_path / "null", 3)


def test_a_device_is_written_in_place_not_replaced(null_device: Path) -> None:
    with atomic_write(null_device, "w") as fh:
        fh.write("discarded")
    assert null_device.is_char_device()


def test_a_full_device_is_one_line(tmp_path: Path) -> None:
    node = char_device(tmp_path / "full", 7)
    with pytest.raises(HyptaxError, match="full: cannot write: no space left"):
        write_json(node, {"a": 1})
    assert node.is_char_device()


def test_dash_writes_to_stdout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_json("-", {"a": 1})
    assert json.loads(capsys.readouterr().out) == {"a": 1}
    assert list(tmp_path.iterdir()) == []


def test_a_link_to_a_pipe_like_dev_stdout_is_written_in_place(tmp_path: Path) -> None:
    import os

    read, write = os.pipe()
    link = tmp_path / "stdout"
    link.symlink_to(f"/proc/self/fd/{write}")  # what /dev/stdout is when piped
    try:
        write_json(link, {"a": 1})
        os.close(write)
        with os.fdopen(read) as fh:
            assert json.loads(fh.read()) == {"a": 1}
    finally:
        for fd in (read, write):
            try:
                os.close(fd)
            except OSError:
                pass
    assert link.is_symlink()
