"""Shared by every test: a private dataset cache, and the small taxonomies the
tests build in memory (``from conftest import balanced_tree, ...``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_dataset_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The tests read and fill a cache of their own, never the user's
    (:mod:`hyptax.data.cache`); subprocesses inherit it."""
    before = os.environ.get("HYPTAX_CACHE_DIR")
    os.environ["HYPTAX_CACHE_DIR"] = str(tmp_path_factory.mktemp("dataset-cache"))
    yield
    if before is None:
        os.environ.pop("HYPTAX_CACHE_DIR", None)
    else:
        os.environ["HYPTAX_CACHE_DIR"] = before
