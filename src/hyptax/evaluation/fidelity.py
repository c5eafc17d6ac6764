"""How much of the hierarchy an export keeps, as the programs that open it read it.

An export is plain numbers; a program reads them into its own precision (gensim's
``load_word2vec_format`` and the TensorFlow projector into float32), and float32
cannot tell apart the points of a deep taxonomy near the boundary of the ball.
:func:`check_export` ranks the values each reading of :data:`hyptax.export.READERS`
gets (:func:`hyptax.export.read_back`) exactly as the model's own report ranks the
model (by distance for the order geometry, by the ancestor score for the metric one;
the same anchors, sampled by :func:`.report.reconstruction_sample` when the data is
large), so the two MAPs differ only by what the reading lost.

A reading is a set of points in the reader's precision: rows that lie farther out
than that precision's ball (``manifolds.numerics``: 12.2 from the origin in float32)
are projected into it, as hyptax projects every point of an embedding in that dtype,
and the ranking itself is float64 (:mod:`.geometry`), the best a reader can do with
those numbers. (Ranked raw, rows that float32 rounds onto or past the boundary have
no distance at all: mammals' MAP 0.996 reads as 0.02 that way, 0.71 pulled in.)
float64 values identical to the model's own (npy; the text of a Poincaré model read
as float64) get the model's MAP without a second ranking.

>>> check = check_export(emb, "w2v", tax)  # doctest: +SKIP
>>> check.summary()  # doctest: +SKIP
'w2v: MAP 0.7114 as gensim reads it by default (float32), 0.9957 with datatype=...'
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from ..config import EvalConfig
from ..data.taxonomy import Taxonomy
from ..embeddings import Embeddings
from ..export import READERS, Reader, read_back
from ..manifolds import get_manifold, numerics
from .geometry import ball_view
from .queries import Queries
from .ranking import reconstruction
from .report import reconstruction_sample

logger = logging.getLogger(__name__)

MAP_TOLERANCE = 0.005
"""A reading that loses more MAP than this (absolute, on the same anchors) is
warned about; sampled anchors are the same for the model and the reading, so the
difference is paired and far tighter than either MAP's confidence interval."""


@dataclass(frozen=True)
class Reading:
    """What one reader of an export keeps.

    Attributes:
        reader: the program and the dtype it reads into.
        map: MAP of the values it reads (``None`` when no anchor has positives).
        moved: rows that lie farther out than the reader's precision holds, projected
            into its ball before ranking.
        identical: the values are the model's own float64 coordinates: its MAP, not
            ranked again.
    """

    reader: Reader
    map: float | None
    moved: int
    identical: bool


@dataclass(frozen=True)
class ExportCheck:
    """The model's MAP beside the MAP of each reading of one export format.

    ``score``, ``mode``, ``n_ranked`` and ``n_total`` say how both were ranked
    (:func:`.ranking.reconstruction`); ``n_rows`` is the number of vectors exported;
    ``extended``: the model is in extended precision (its plain vectors are lossy).
    """

    fmt: str
    score: str
    mode: str
    n_ranked: int
    n_total: int
    n_rows: int
    model_map: float | None
    readings: tuple[Reading, ...]
    extended: bool = False

    def loss(self, reading: Reading) -> float:
        """MAP the reading loses against the model (0 when either is undefined)."""
        if reading.map is None or self.model_map is None:
            return 0.0
        return self.model_map - reading.map

    def lossy(self) -> list[Reading]:
        """Readings that lose more than :data:`MAP_TOLERANCE`."""
        return [r for r in self.readings if self.loss(r) > MAP_TOLERANCE]

    def summary(self) -> str:
        """One line: each reading's MAP, then the model's and how both were ranked."""
        parts = [
            f"{_f(r.map)} {r.reader.label}" + (f" ({r.reader.dtype})" if k == 0 else "")
            for k, r in enumerate(self.readings)
        ]
        by = "the ancestor score" if self.score == "ancestor" else "distance"
        how = (
            f"exact over {self.n_ranked:,} nodes"
            if self.mode == "exact"
            else f"the same {self.n_ranked:,} sampled of {self.n_total:,} nodes"
        )
        model = f"the model's {_f(self.model_map)} (by {by}, {how})"
        return f"{self.fmt}: MAP {', '.join(parts)}; {model}"

    def warnings(self, path: str | None = None) -> list[str]:
        """One line per lossy reading: the measured loss, why, and the fix (the call
        that reads ``path``, the file a reader opens, when given)."""
        out = []
        for r in self.lossy():
            why = ""
            if r.moved:
                radius = numerics.max_dist0(getattr(torch, r.reader.dtype))
                why = (
                    f": {r.moved:,} of {self.n_rows:,} rows lie farther from the origin "
                    f"than {r.reader.dtype} holds ({radius:.1f})"
                )
            out.append(
                f"{self.fmt} {r.reader.label} ({r.reader.dtype}) loses MAP "
                f"{self.loss(r):.4f} ({_f(self.model_map)} -> {_f(r.map)}){why}; " + self._fix(path)
            )
        return out

    def _fix(self, path: str | None) -> str:
        """The reading that keeps the MAP, else the lossless format."""
        for r in self.readings:
            if self.loss(r) <= MAP_TOLERANCE:
                call = r.reader.call.format(path="PATH" if path is None else repr(path))
                return f"read it with {call} (MAP {_f(r.map)})"
        if self.extended and self.fmt != "polar":
            return "export --format polar: the extended-precision points, read by hyptax.load"
        if self.fmt not in ("npy", "polar"):
            return "export --format npy: the manifold's own float64 coordinates"
        return "no reading of this export keeps it"


def check_export(
    emb: Embeddings, fmt: str, tax: Taxonomy, config: EvalConfig | None = None
) -> ExportCheck:
    """Measure what each reading of ``emb`` exported as ``fmt`` keeps of its MAP on
    ``tax`` (see the module docstring). ``config``: the sample and seed of the ranking
    (default: the report's). Raises HyptaxError when ``emb`` lacks nodes of ``tax``."""
    config = config or EvalConfig()
    geometry = (emb.meta.get("config") or {}).get("geometry")
    score = "ancestor" if geometry == "metric" else "distance"
    view = ball_view(emb.aligned(tax), emb.manifold, emb.aligned_polar(tax))
    queries = Queries.from_pairs(*tax.closure, tax.n_nodes)
    sample = reconstruction_sample(config, view, queries, score)
    rank = {"sample": sample, "seed": config.seed, "n_bootstrap": 0, "score": score}
    model = reconstruction(view, queries, **rank)
    readings = []
    for reader in READERS[fmt]:
        if fmt == "polar":  # the points themselves, bit for bit
            readings.append(Reading(reader, model["map"], 0, identical=True))
            continue
        values, manifold = read_back(emb, fmt, reader.dtype)
        same = values.dtype == np.float64 and manifold == emb.manifold and emb.polar is None
        if same and np.array_equal(values, emb.vectors.numpy()):  # float64, as in the model
            readings.append(Reading(reader, model["map"], 0, identical=True))
            continue
        read = torch.as_tensor(values)
        inside = get_manifold(manifold).project(read)  # in the reader's own dtype
        moved = int((inside != read).any(dim=1).sum())
        points = Embeddings(emb.ids, emb.names, inside, manifold)
        got = reconstruction(ball_view(points.aligned(tax), manifold), queries, **rank)
        readings.append(Reading(reader, got["map"], moved, identical=False))
    check = ExportCheck(
        fmt=fmt, score=score, mode=model["mode"], n_ranked=model["n_nodes_ranked"],
        n_total=model["n_nodes_total"], n_rows=emb.n, model_map=model["map"],
        readings=tuple(readings), extended=emb.polar is not None,
    )  # fmt: skip
    logger.info("%s", check.summary())
    return check


def _f(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"
