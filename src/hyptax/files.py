"""Atomic file output: write to a temporary file beside the target, then rename.

A crash, a kill or a full disk leaves either the old file or the new one, never a
half-written one. Operating-system failures (read-only folder, disk full) become
one-line :class:`~hyptax.errors.HyptaxError` messages.

Only regular files are replaced. A symlink is followed (its target is replaced, the
link kept); a device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe)
is written in place; ``-`` (:data:`STDOUT`) is standard output.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import math
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import HyptaxError, InputError, brief

_OS_PROBLEMS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "folder does not exist",
}

STDOUT = "-"
"""The output name that means standard output."""


def is_stdout(path: str | os.PathLike[str] | None) -> bool:
    """Whether an output name means standard output (``-``)."""
    return path is not None and os.fspath(path) == STDOUT


def os_problem(exc: OSError) -> str:
    """A short description of an operating-system failure."""
    return _OS_PROBLEMS.get(exc.errno or 0, exc.strerror or str(exc))


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    On any exception the temporary file is removed and ``path`` is untouched. A kill
    leaves the temporary file behind; its name carries the writer's process id, so the
    next write of ``path`` removes it (:func:`clear_stale`). A symlink is followed (the
    file it points to is replaced, the link stays); a device or FIFO is written in
    place, and ``-`` writes to standard output.

    >>> with atomic_write(tmp / "out.txt", "w") as fh:  # doctest: +SKIP
    ...     fh.write("hello")
    """
    if is_stdout(path):
        with _stdout_write(mode) as fh:
            yield fh
        return
    shown = Path(path)
    if is_special(shown):  # through its links: /dev/stdout -> /proc/self/fd/1 -> a pipe
        with _in_place_write(shown, shown, mode) as fh:
            yield fh
        return
    target = Path(os.path.realpath(shown)) if shown.is_symlink() else shown
    if target.parent != Path() and not target.parent.exists():
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise HyptaxError(f"{target.parent}: cannot create folder: {os_problem(exc)}") from None
    clear_stale(target)
    try:
        prefix = f".{target.name}.{os.getpid()}."
        fd, tmp_name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=target.parent)
        os.fchmod(fd, _file_mode(target))  # mkstemp makes 0600; a new file gets the umask's
    except OSError as exc:
        raise HyptaxError(f"{shown}: cannot write: {os_problem(exc)}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise HyptaxError(f"{shown}: cannot write: {os_problem(exc)}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def is_special(target: Path) -> bool:
    """Whether ``target`` exists and is something a rename must not replace: a
    character or block device, a FIFO or a socket (written in place; nothing is
    written beside it)."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


@contextlib.contextmanager
def _in_place_write(target: Path, shown: Path, mode: str) -> Iterator[IO[Any]]:
    """Write straight into a device or FIFO (there is nothing to rename over)."""
    try:
        with open(target, mode) as fh:
            yield fh
    except OSError as exc:
        raise HyptaxError(f"{shown}: cannot write: {os_problem(exc)}") from None


@contextlib.contextmanager
def _stdout_write(mode: str) -> Iterator[IO[Any]]:
    """Standard output, text or binary as ``mode`` says; flushed, never closed."""
    sys.stdout.flush()
    fh: IO[Any] = sys.stdout if "b" not in mode else sys.stdout.buffer
    try:
        yield fh
        fh.flush()
    except OSError as exc:
        raise HyptaxError(f"<stdout>: cannot write: {os_problem(exc)}") from None


def _file_mode(target: Path) -> int:
    """The permissions the written file gets: the replaced file's, else what ``open``
    would give a new file under the current umask."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def clear_stale(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files of ``target`` whose writer is gone (killed before it
    could rename or clean up); returns them. A temporary file of a writer that is still
    running, or of an older hyptax that did not name its process, is left alone."""
    target = Path(target)
    removed = []
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = tmp.name[len(target.name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists (this process's own id counts as gone: it has no
    write in progress before it makes its temporary file)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


@contextlib.contextmanager
def hold_lock(lock: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive lock on the folder of ``lock``, a file holding the holder's pid.

    A second holder gets a one-line HyptaxError naming the first one's pid. The lock is
    an ``flock`` on the file, which the kernel drops when its holder dies, so a lock
    file left by a killed run is taken over. Folders made for the lock are removed
    again on release when they are left empty.
    """
    import fcntl

    lock = Path(lock)
    made = _make_folders(lock.parent)
    try:
        fd = _locked_fd(lock, fcntl)
    except BaseException:
        _remove_empty(made)
        raise
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        lock.unlink(missing_ok=True)  # before closing: no one else holds it now
        os.close(fd)
        _remove_empty(made)


def _locked_fd(lock: Path, fcntl: Any) -> int:
    """An open descriptor of ``lock`` holding its ``flock``; HyptaxError when taken."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise HyptaxError(f"{lock.parent}: cannot write: {os_problem(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise HyptaxError(
                f"{lock.parent}: another hyptax run (pid {holder}) is writing here; "
                "wait for it to finish or write elsewhere"
            ) from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:  # not a file its last holder unlinked while we opened it
            return fd
        os.close(fd)


def _make_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and its missing parents; returns those made, deepest first."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for p in reversed(missing):
        try:
            p.mkdir()
        except FileExistsError:
            pass
        except OSError as exc:
            _remove_empty(missing[missing.index(p) + 1 :])
            raise HyptaxError(f"{folder}: cannot create folder: {os_problem(exc)}") from None
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for p in folders:  # deepest first
        try:
            p.rmdir()
        except OSError:
            return


def plain_json(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: plain_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain_json(v) for v in obj]
    return obj


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (NaN written as null), atomically."""
    with atomic_write(path, "w") as fh:
        json.dump(plain_json(obj), fh, indent=2, sort_keys=False, default=str, allow_nan=False)
        fh.write("\n")


def append_jsonl(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Append one JSON record as a line (a torn last line is skipped by :func:`read_jsonl`)."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(plain_json(record), default=str, allow_nan=False) + "\n")
            fh.flush()
    except OSError as exc:
        raise HyptaxError(f"{path}: cannot write: {os_problem(exc)}") from None


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Read JSON records, one per line, skipping a torn (partially written) final line."""
    records = []
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise HyptaxError(f"{path}: line {i + 1}: not a JSON record") from None
    return records


def check_format_version(
    meta: dict[str, Any], reads: int, path: str | os.PathLike[str], what: str
) -> int:
    """The format version of a file whose self-description is ``meta`` (a checkpoint,
    the manifest of a prepared dataset or of an export), refused (one-line
    :class:`InputError`) when it is newer than ``reads``, the version this code reads,
    or not a whole number >= 1. A file written before format versions existed has no
    ``format_version`` and counts as version 1. The package version a file names is
    information only: a new hyptax reads every format up to its own."""
    found = meta.get("format_version", 1)
    if isinstance(found, bool) or not isinstance(found, int) or found < 1:
        raise InputError(f"damaged {what}: bad 'format_version' {brief(found)}", path=path)
    if found > reads:
        raise InputError(
            f"written by a newer hyptax (format {found}); this one reads format {reads}: "
            "upgrade hyptax",
            path=path,
        )
    return found
