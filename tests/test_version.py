"""The package version lives in one place, src/hyptax/version.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import hyptax
from hyptax import version

ROOT = Path(__file__).parents[1]

READ = """
import sys
sys.modules["torch"] = sys.modules["numpy"] = None  # a build environment has neither
from setuptools.config.pyprojecttoml import read_configuration
print(read_configuration("pyproject.toml", expand=True)["project"]["version"])
"""


def test_packaging_reads_the_version_without_importing_hyptax() -> None:
    done = subprocess.run(
        [sys.executable, "-c", READ], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.strip() == version.__version__ == hyptax.__version__
