"""Break learning on purpose and list the quick tests that notice (issue 14, item 4).

Each mutant is a copy of ``src/`` with one edit: the trainer's update does nothing,
or goes uphill, in the training loop (``fit.train_step``) or in the optimiser
(``RiemannianSGD.step``). The quick tier of the training-related tests runs on each
copy (``PYTHONPATH``), one after the other, and a table lists what failed::

    python benchmarks/break_learning.py            # about 2 min a mutant on 2 cores
    python benchmarks/break_learning.py noop_step  # one of them

Nothing in the checkout is changed; the copies live in a temporary folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ("tests/training", "tests/test_cli_train.py", "tests/optim", "tests/reliability")

MUTANTS: dict[str, tuple[str, str, str]] = {
    "noop_step": ("hyptax/training/fit.py",
                  "    optimizer.step(rows, grad.mul_(len(batch)), lr=lr)\n", "    pass\n"),
    "sign_step": ("hyptax/training/fit.py", "grad.mul_(len(batch))", "grad.mul_(-len(batch))"),
    "noop_rsgd": ("hyptax/optim/rsgd.py", "        m = self.manifold\n", "        return\n"),
    "sign_rsgd": ("hyptax/optim/rsgd.py", "self.max_grad_norm).mul_(-lr)",
                  "self.max_grad_norm).mul_(lr)"),
}  # fmt: skip
"""name: (file under src/, the text replaced (exactly once), its replacement)."""


def mutate(name: str, into: Path) -> Path:
    """A copy of ``src/`` with mutant ``name`` applied; returns its folder."""
    path, old, new = MUTANTS[name]
    dst = into / name
    shutil.copytree(ROOT / "src", dst, ignore=shutil.ignore_patterns("__pycache__"))
    text = (dst / path).read_text()
    if text.count(old) != 1:
        raise SystemExit(f"{name}: {path} no longer holds the line to mutate; update MUTANTS")
    (dst / path).write_text(text.replace(old, new))
    return dst


def failing_tests(src: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(src), "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    ).stdout  # fmt: skip
    return re.findall(r"^(?:FAILED|ERROR) (\S+)", out, flags=re.M)


def main(names: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="hyptax-mutants-") as tmp:
        for name in names or list(MUTANTS):
            failed = failing_tests(mutate(name, Path(tmp)))
            print(f"\n{name}: {len(failed)} failing tests")
            for test in failed:
                print(f"  {test}")


if __name__ == "__main__":
    main(sys.argv[1:])
