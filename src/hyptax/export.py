"""Export an :class:`~hyptax.embeddings.Embeddings` for the tools people use next.

==========  ===================================================================
format      files
==========  ===================================================================
``w2v``     word2vec text (``n dim`` header, then ``token x1 ... xd``), which
            ``gensim.models.KeyedVectors.load_word2vec_format`` reads; Poincaré-
            ball coordinates (what gensim's ``PoincareKeyedVectors`` expects).
``tsv``     a folder with the TensorFlow embedding projector's ``vectors.tsv``
            (Poincaré coordinates) and ``metadata.tsv`` (name, id, rank, depth,
            phylum or top-level group, with a header row).
``npy``     ``PATH.npy`` (float64 vectors in the manifold's own coordinates),
            ``PATH.names.tsv`` (id, name, rank, depth; tabs, newlines and
            backslashes backslash-escaped) and ``PATH.json`` (manifold,
            sizes, source): a lossless copy that :func:`hyptax.load` reads back,
            except for an embedding in extended precision (plain float vectors
            hold a radius of ~26).
``polar``   ``PATH.npz`` (``radius`` and direction ``limbs``, see
            :data:`POLAR_LAYOUT`), ``PATH.names.tsv`` and ``PATH.json``: lossless
            at any radius; :func:`hyptax.load`, ``hyptax evaluate`` and ``hyptax
            neighbors`` read it.
==========  ===================================================================

Precision. The text formats write each coordinate as the shortest decimal that reads
back as the same float64 (``repr``), so a float64 reader gets the vectors exactly; the
programs people open them with read float32 by default (gensim's ``datatype``, the
projector), and float32 cannot tell apart the points of a deep taxonomy near the
boundary. :data:`READERS` names, per format, the reading a program does by default
and the lossless one; :func:`read_back` gives the values each reading gets, and
:mod:`hyptax.evaluation.fidelity` measures the MAP that is left of them.

word2vec tokens cannot hold spaces: whitespace in a name becomes ``_``, and names
that then collide get their id appended (``Bacillus#1386``), so every token is
unique and free of whitespace; when any token differs from its name,
``PATH.tokens.tsv`` beside the export maps token to id and name. All files are
written atomically.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .data.taxonomy import Taxonomy
from .embeddings import Embeddings
from .errors import HyptaxError
from .files import atomic_write, is_special, is_stdout, os_problem, write_json
from .manifolds.extended import Polar, limbs_for
from .storage import EXPORT_FORMAT_VERSION, NPY_FORMAT, POLAR_FORMAT, escape, npy_paths
from .version import __version__

FORMATS = ("w2v", "tsv", "npy", "polar")
POLAR_LAYOUT = (
    "radius: (n,) float64 distance from the origin; limbs: (n, L, dim) float64, the unit "
    "direction of node i is sum(limbs[i], axis=0), limb l an integer multiple of "
    "2^-(52 (l + 1)); "
    "point = tanh(radius / 2) * direction in the Poincare ball (docs/precision.md)"
)

PARSE_ROWS = 65536
"""Rows parsed at a time by :func:`read_back` (bounds the strings held at once)."""


@dataclass(frozen=True)
class Reader:
    """A program reading an export: the ``dtype`` it reads into and the call that does it.

    ``label`` completes "MAP 0.71 ..." (``"as gensim reads it by default"``); ``call``
    is Python with ``{path}`` for the file it opens (the first :func:`export` returns)."""

    label: str
    dtype: str
    call: str


READERS: dict[str, tuple[Reader, ...]] = {
    "w2v": (
        Reader("as gensim reads it by default", "float32",
               "KeyedVectors.load_word2vec_format({path})"),
        Reader("with datatype=numpy.float64", "float64",
               "KeyedVectors.load_word2vec_format({path}, datatype=numpy.float64)"),
    ),
    "tsv": (
        Reader("as the projector reads it", "float32", "projector.tensorflow.org"),
        Reader("read as float64", "float64", "numpy.loadtxt({path})"),
    ),
    "npy": (Reader("as numpy reads it", "float64", "numpy.load({path})"),),
    "polar": (Reader("as hyptax.load reads it", "extended", "hyptax.load({path})"),),
}  # fmt: skip
"""Per format: first the reading a program does by default, then the lossless ones."""


def export(
    emb: Embeddings, fmt: str, path: str | os.PathLike[str], tax: Taxonomy | None = None
) -> list[Path]:
    """Write ``emb`` in format ``fmt`` (one of :data:`FORMATS`); returns the files written."""
    check_output(fmt, path)
    if fmt == "w2v":
        return write_w2v(emb, path)
    if fmt == "tsv":
        return write_projector(emb, path, tax)
    if fmt == "npy":
        return write_npy(emb, path)
    if fmt == "polar":
        return write_polar(emb, path)
    raise HyptaxError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def check_output(fmt: str, path: str | os.PathLike[str]) -> None:
    """Refuse ``-`` (stdout) for the formats that write several files."""
    if fmt != "w2v" and is_stdout(path):
        raise HyptaxError(f"--format {fmt} writes several files; -o - (stdout) takes w2v only")


# --------------------------------------------------------------------- numbers
def _numbers(row: np.ndarray) -> list[str]:
    """The text of each coordinate of ``row``: the shortest decimal that reads back as
    the same float64 (``repr``). Both text formats write these, and :func:`read_back`
    parses them, so what is measured is what is written."""
    return [repr(x) for x in row.tolist()]


def read_back(emb: Embeddings, fmt: str, dtype: str) -> tuple[np.ndarray, str]:
    """``(n, coord_dim)`` values a reader of ``emb`` exported as ``fmt`` gets, parsed
    into ``dtype`` (``"float32"`` or ``"float64"``), and the manifold whose coordinates
    they are: the text formats' Poincaré coordinates parsed from the digits written
    (numpy parses through float64, as gensim's ``datatype(x)`` does), or npy's own."""
    if fmt == "npy":
        return emb.vectors.numpy().astype(dtype), emb.manifold
    p = emb.poincare()
    out = np.empty(p.shape, dtype=dtype)
    for start in range(0, len(p), PARSE_ROWS):
        block = p[start : start + PARSE_ROWS]
        text = np.array(_numbers(block.ravel()), dtype=str)
        out[start : start + len(block)] = text.astype(dtype).reshape(block.shape)
    return out, "poincare"


def _lines(p: np.ndarray, sep: str) -> Iterator[str]:
    """Each row of ``p`` as its :func:`_numbers` joined by ``sep``."""
    for row in p:
        yield sep.join(_numbers(row))


# --------------------------------------------------------------------- word2vec
def _token(text: str) -> str:
    """``text`` with each run of whitespace (any Unicode space or line break) as ``_``."""
    return re.sub(r"\s+", "_", text.strip()) or "_"


def w2v_tokens(emb: Embeddings) -> list[str]:
    """Unique whitespace-free tokens: names with whitespace as ``_``; ``#id`` (its own
    whitespace as ``_`` too) where two names give one token; ``#2``, ``#3``... in the
    rare case that still clashes."""
    base = [_token(name) for name in emb.names]
    counts = Counter(base)
    first = [
        t if counts[t] == 1 else f"{t}#{_token(i)}" for t, i in zip(base, emb.ids, strict=True)
    ]
    counts = Counter(first)
    used = {t for t in first if counts[t] == 1}
    tokens = []
    for t in first:
        token, k = t, 1
        while counts[t] > 1 and token in used:
            k += 1
            token = f"{t}#{k}"
        used.add(token)
        tokens.append(token)
    return tokens


def w2v_mapping_path(path: str | os.PathLike[str]) -> Path:
    """``PATH.tokens.tsv``: token, id and name of each row, beside a w2v export whose
    tokens differ from the names."""
    path = Path(path)
    return path.with_name(path.name + ".tokens.tsv")


def write_w2v(emb: Embeddings, path: str | os.PathLike[str]) -> list[Path]:
    """word2vec text format of the Poincaré coordinates (:func:`_numbers`), and
    the token mapping (:func:`w2v_mapping_path`) when some name had to change (a
    mapping left by an earlier export is removed otherwise; ``-`` (stdout), a device or a
    FIFO gets none: nothing is written beside them)."""
    path = Path(path)
    p = emb.poincare()
    tokens = w2v_tokens(emb)
    with atomic_write(path, "w") as fh:
        fh.write(f"{emb.n} {p.shape[1]}\n")
        for token, line in zip(tokens, _lines(p, " "), strict=True):
            fh.write(token + " " + line + "\n")
    if is_stdout(path) or is_special(path):  # no file beside stdout, /dev/null, a FIFO
        return [path]
    mapping = w2v_mapping_path(path)
    if tokens == emb.names:
        try:
            mapping.unlink(missing_ok=True)
        except OSError as exc:
            raise HyptaxError(
                f"{mapping}: cannot remove the stale mapping: {os_problem(exc)}"
            ) from None
        return [path]
    with atomic_write(mapping, "w") as fh:
        fh.write("token\tid\tname\n")
        for token, i, name in zip(tokens, emb.ids, emb.names, strict=True):
            fh.write("\t".join(escape(f) for f in (token, i, name)) + "\n")
    return [path, mapping]


# --------------------------------------------------------------------- projector
def write_projector(
    emb: Embeddings, folder: str | os.PathLike[str], tax: Taxonomy | None = None
) -> list[Path]:
    """``folder/vectors.tsv`` (Poincaré coordinates, :func:`_numbers`) and
    ``folder/metadata.tsv`` for projector.tensorflow.org."""
    from .evaluation.hierarchy import color_groups

    folder = Path(folder)
    p = emb.poincare()
    group_title, groups = "group", [""] * emb.n
    if tax is not None:
        labels, title = color_groups(tax)
        pos = emb.rows_in(tax)
        group_title = title.replace(" ", "_")
        names = tax.names
        groups = [names[labels[i]] if i >= 0 and labels[i] >= 0 else "" for i in pos.tolist()]
        emb = emb.with_taxonomy(tax)
    vectors = folder / "vectors.tsv"
    with atomic_write(vectors, "w") as fh:
        for line in _lines(p, "\t"):
            fh.write(line + "\n")
    metadata = folder / "metadata.tsv"
    with atomic_write(metadata, "w") as fh:
        fh.write(f"name\tid\trank\tdepth\t{group_title}\n")
        for i in range(emb.n):
            fields = (emb.names[i], emb.ids[i], _rank(emb, i), _depth(emb, i), groups[i])
            fh.write("\t".join(_cell(f) for f in fields) + "\n")
    return [vectors, metadata]


# --------------------------------------------------------------------- npy
def write_npy(emb: Embeddings, path: str | os.PathLike[str]) -> list[Path]:
    """Vectors, names and a manifest (see the module docstring): lossless unless the
    embedding is in extended precision (then ``polar`` is)."""
    vec_path, names_path, meta_path = npy_paths(path)
    with atomic_write(vec_path, "wb") as fh:
        np.save(fh, emb.vectors.numpy(), allow_pickle=False)
    _write_names(emb, names_path, meta_path, {"format": NPY_FORMAT, "vectors": vec_path.name})
    return [vec_path, names_path, meta_path]


def write_polar(emb: Embeddings, path: str | os.PathLike[str]) -> list[Path]:
    """The lossless export at any radius: ``PATH.npz`` with ``radius`` ``(n,)`` and
    ``limbs`` ``(n, L, dim)`` (float64; :mod:`hyptax.manifolds.extended`), names and a
    manifest as ``npy``. An embedding in plain coordinates is converted exactly
    enough: its directions split into the limbs its largest radius needs."""
    polar = emb.polar
    if polar is None:
        p = emb.poincare()
        norm = np.linalg.norm(p, axis=1)
        radius = 2.0 * np.arctanh(np.minimum(norm, np.nextafter(1.0, 0.0)))
        u = np.where(norm[:, None] > 0, p / np.where(norm > 0, norm, 1.0)[:, None], 0.0)
        u[norm == 0, 0] = 1.0
        polar = Polar.from_directions(radius, u, limbs_for(float(radius.max(initial=0.0))))
    vec_path, names_path, meta_path = npy_paths(path, ".npz")
    with atomic_write(vec_path, "wb") as fh:
        np.savez(fh, radius=polar.radius, limbs=polar.limbs)
    _write_names(emb, names_path, meta_path, {
        "format": POLAR_FORMAT, "points": vec_path.name, "limbs": polar.n_limbs,
        "layout": POLAR_LAYOUT,
    })  # fmt: skip
    return [vec_path, names_path, meta_path]


def _write_names(
    emb: Embeddings, names_path: Path, meta_path: Path, fields: dict[str, Any]
) -> None:
    """``PATH.names.tsv`` (id, name, rank, depth; escaped) and the ``PATH.json``
    manifest with ``fields``."""
    with atomic_write(names_path, "w") as fh:
        fh.write("id\tname\trank\tdepth\n")
        for i in range(emb.n):
            row = (emb.ids[i], emb.names[i], _rank(emb, i), _depth(emb, i))
            fh.write("\t".join(escape(f) for f in row) + "\n")
    data = emb.meta.get("data") or {}
    write_json(
        meta_path,
        {
            "format": fields.pop("format"),
            "format_version": EXPORT_FORMAT_VERSION,
            "hyptax_version": __version__,
            "manifold": emb.manifold,
            "n_nodes": emb.n,
            "dim": emb.dim,
            "coord_dim": emb.coord_dim,
            "data": {
                k: data[k] for k in ("spec", "typed", "options", "hash", "n_nodes") if k in data
            },
            **fields,
            "names": names_path.name,
        },
    )


# --------------------------------------------------------------------- helpers
def _rank(emb: Embeddings, i: int) -> str:
    return emb.ranks[i] if emb.ranks is not None else ""


def _depth(emb: Embeddings, i: int) -> str:
    return str(int(emb.depth[i])) if emb.depth is not None and emb.depth[i] >= 0 else ""


def _cell(value: Any) -> str:
    """A TSV cell: tabs and newlines inside a value become spaces."""
    return re.sub(r"[\t\r\n]+", " ", str(value))
