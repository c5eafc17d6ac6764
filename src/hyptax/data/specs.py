"""Dataset specs: one way to name data everywhere.

==========================  ==========================================================
spec                        what it loads
==========================  ==========================================================
``ncbi``                    the whole NCBI Taxonomy from the bundled snapshot
``ncbi:small``              all life at the main ranks down to genus (the default)
``ncbi:NAME``/``ncbi:ID``   one clade, e.g. ``ncbi:Mammalia``, ``ncbi:40674``
``taxdump:DIR``             NCBI ``nodes.dmp`` + ``names.dmp`` in DIR
``wordnet:nouns[@DIR]``     WordNet 3.0 noun hypernym closure (Debian wordnet-base)
``wordnet:mammals[@DIR]``   its closure below ``mammal.n.01``
``FILE.csv``/``FILE.tsv``   an edge list: child, parent per line
``FILE.pkl``                the prototype's pickle (read with a restricted unpickler)
``FILE.npz``                a dataset written by ``hyptax prepare``
==========================  ==========================================================
"""

from __future__ import annotations

import os
from pathlib import Path

from ..config import DataOptions
from ..errors import HyptaxError
from .taxonomy import Taxonomy

IN_MEMORY = "<in-memory taxonomy>"
"""The spec recorded for data given from Python (a :class:`Taxonomy` or pairs, see
:func:`hyptax.train`); its content hash is recorded beside it, as for any data."""

EDGE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")
PICKLE_SUFFIXES = (".pkl", ".pickle")
PREPARED_SUFFIXES = (".npz",)


def load_taxonomy(spec: str, options: DataOptions | None = None, *, cache: bool = True) -> Taxonomy:
    """Load the taxonomy named by a dataset spec (see the module docstring).

    With ``cache`` (the default), a dataset read from its source is kept in the
    user's cache folder and read from there next time (:mod:`hyptax.data.cache`).

    >>> tax = load_taxonomy("wordnet:mammals")  # doctest: +SKIP
    >>> tax.n_nodes, tax.n_closure  # doctest: +SKIP
    (1180, 6540)
    """
    options = options or DataOptions()
    if spec == IN_MEMORY:
        raise HyptaxError(
            f"{IN_MEMORY}: the data was given from Python, and no file holds it; pass it "
            "again (hyptax.train(data, out=..., resume=True), hyptax.evaluate(emb, data)) "
            "or name a file (--data SPEC)"
        )
    if not cache or spec.lower().endswith(PREPARED_SUFFIXES):  # a prepared file is one
        return _read_source(spec, options)
    from . import cache as store

    return store.load(spec, resolve_spec(spec), options, lambda: _read_source(spec, options))


def _read_source(spec: str, options: DataOptions) -> Taxonomy:
    """``spec`` read from its source (the work the cache saves)."""
    scheme, colon, rest = spec.partition(":")
    if scheme == "ncbi" and not _looks_like_path(spec):
        from . import ncbi

        if colon and not rest.strip():
            raise HyptaxError(
                f"{spec!r} names no clade: use ncbi for the whole NCBI, or ncbi:NAME / ncbi:TAXID"
            )
        return ncbi.load(rest or None, options)
    if scheme == "taxdump" and rest:
        from . import taxdump

        return taxdump.load(rest, options)
    if options != DataOptions():
        raise HyptaxError(
            f"--ranks, --lowest-rank and --clean apply to NCBI sources (ncbi, ncbi:*, "
            f"taxdump:*) only, not to {spec}"
        )
    if scheme == "wordnet" and rest:
        from . import wordnet

        which, _, root = rest.partition("@")
        return wordnet.load(which, root or None)
    path = Path(spec)
    name = path.name.lower()
    if name.endswith(PREPARED_SUFFIXES):
        from . import prepared

        return prepared.load(path)
    if name.endswith(PICKLE_SUFFIXES):
        from . import edgelist

        return edgelist.load_pickle(path)
    if name.endswith(EDGE_SUFFIXES):
        from . import edgelist

        return edgelist.load_edges(path)
    raise HyptaxError(
        f"unknown dataset spec {spec!r}: use ncbi, ncbi:small, ncbi:NAME, taxdump:DIR, "
        "wordnet:nouns, wordnet:mammals, or a .csv/.tsv/.pkl/.npz file"
    )


def resolve_spec(spec: str) -> str:
    """``spec`` with the file or folder it names made absolute, so that a run records
    data it can find again from any working folder; other specs are returned as they are.

    >>> resolve_spec("ncbi:Mammalia")
    'ncbi:Mammalia'
    >>> resolve_spec("taxdump:/data/dump")
    'taxdump:/data/dump'
    """
    scheme, _, rest = spec.partition(":")
    if scheme == "ncbi" and not _looks_like_path(spec):
        return spec
    if scheme == "taxdump" and rest:
        return f"taxdump:{os.path.abspath(rest)}"
    if scheme == "wordnet" and rest:
        which, _, root = rest.partition("@")
        return f"wordnet:{which}@{os.path.abspath(root)}" if root else spec
    return os.path.abspath(spec) if _looks_like_path(spec) else spec


def _looks_like_path(spec: str) -> bool:
    return spec.lower().endswith(EDGE_SUFFIXES + PICKLE_SUFFIXES + PREPARED_SUFFIXES)
