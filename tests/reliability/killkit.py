"""SIGKILL a hyptax command at random moments and check what it leaves on disk.

Shared by ``test_crash_safety.py`` (short runs in CI) and ``benchmarks/kill_resume.py``
(the long run). A kill is either after a random delay, or the moment a temporary file
of an atomic write appears (``.NAME.*.tmp`` beside NAME): a kill *during* a write.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}


def hyptax(*args: str) -> list[str]:
    return [sys.executable, "-m", "hyptax", *args]


def tmp_files(folder: Path, name: str = "") -> list[str]:
    """Temporary files of atomic writes in ``folder`` (of target ``name`` if given)."""
    if not folder.is_dir():
        return []
    return [p for p in os.listdir(folder) if p.startswith(f".{name}") and p.endswith(".tmp")]


def write_tree(path: Path, n: int, seed: int = 0, *, reach: int = 40) -> Path:
    """A random tree of ``n`` nodes as a TSV (node i hangs under one of the ``reach``
    nodes before it, so it gets deep)."""
    rng = np.random.default_rng(seed)
    parent = [int(rng.integers(max(0, i - reach), i)) for i in range(1, n)]
    path.write_text("".join(f"n{c}\tn{p}\n" for c, p in zip(range(1, n), parent, strict=True)))
    return path


@dataclass
class KillStats:
    kills: int = 0
    during_write: int = 0  # a temporary file was there right after the kill
    finished_early: int = 0  # the command ended before the planned kill
    attempts: int = 0
    seconds: float = 0.0
    modes: dict[str, int] = field(default_factory=dict)

    def line(self, what: str) -> str:
        return (
            f"{what}: {self.kills} SIGKILLs survived ({self.during_write} during a write, "
            f"by mode {self.modes}), {self.attempts} starts, {self.seconds:.0f} s"
        )


def kill_once(
    argv: list[str],
    folder: Path,
    rng: random.Random,
    *,
    delay: tuple[float, float],
    write_targets: tuple[str, ...] = (),
    timeout: float = 120.0,
    target: str | None = None,
) -> tuple[str, int | None, bool]:
    """Start ``argv``; SIGKILL it after a random delay in ``delay`` or, in "write"
    mode (chosen half the time when ``write_targets`` is given, always for ``target``),
    as soon as a temporary file of the target appears. Returns ``(mode, returncode or
    None if killed, a temporary file present after the kill)``."""
    mode = "delay"
    if target is None and write_targets and rng.random() < 0.5:
        target = rng.choice(write_targets)
    if target is not None:
        mode = f"write:{target}"
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    start = time.monotonic()
    deadline = start + (timeout if mode != "delay" else rng.uniform(*delay))
    while time.monotonic() < deadline and proc.poll() is None:
        if mode != "delay" and tmp_files(folder, target):
            break
        time.sleep(0.0002 if mode != "delay" else 0.005)
    if proc.poll() is not None:
        err = proc.stderr.read().decode() if proc.stderr else ""
        proc.wait()
        assert proc.returncode == 0, f"{argv} failed ({proc.returncode}): {err[-2000:]}"
        return mode, 0, False
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    if proc.stderr:
        proc.stderr.close()
    return mode, None, bool(tmp_files(folder))


def kill_until_done(
    argv_for: Callable[[], list[str]],
    folder: Path,
    n_kills: int,
    rng: random.Random,
    *,
    delay: tuple[float, float],
    write_targets: tuple[str, ...] = (),
    check: Callable[[], None] = lambda: None,
    max_attempts: int = 400,
    rerun: bool = False,
) -> KillStats:
    """Run the command again and again, killing it ``n_kills`` times (``check`` after
    each kill), then let it finish. ``argv_for()`` gives the command for the current
    state of ``folder`` (e.g. with ``--resume`` once a checkpoint exists). A command
    that finishes before its kill ends the loop, unless ``rerun`` (a command that can
    simply run again, like ``prepare``: it then runs until ``n_kills``)."""
    stats = KillStats()
    t0 = time.monotonic()
    while stats.attempts < max_attempts:
        stats.attempts += 1
        if stats.kills >= n_kills:
            proc = subprocess.run(argv_for(), capture_output=True, text=True, env=ENV, timeout=600)
            assert proc.returncode == 0, proc.stderr[-3000:]
            break
        mode, code, during = kill_once(
            argv_for(), folder, rng, delay=delay, write_targets=write_targets
        )
        if code == 0:
            stats.finished_early += 1
            check()
            if rerun:
                continue
            break
        stats.kills += 1
        stats.during_write += during
        stats.modes[mode.split(":")[0]] = stats.modes.get(mode.split(":")[0], 0) + 1
        check()
    stats.seconds = time.monotonic() - t0
    return stats
