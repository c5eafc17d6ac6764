"""hyptax under a wall-clock budget, with snapshots to score afterwards.

``fit`` has no wall-clock option, so :func:`train_hyptax` runs it in chunks: each
call continues the same :class:`~hyptax.training.fit.FitState` (weights, optimiser,
random state, early stopping) for the epochs between two of fit's own evaluations,
so the run is the one ``hyptax train`` would make (same evaluations, same early
stopping; the default constant learning rate does not depend on ``epochs``). Between
chunks the harness checks the clock and copies the weights at the snapshot times;
the snapshots are scored after training, so scoring never counts as training time.

Wall time of a point = setup (model with its initialisation, e.g. the constructive
embedding; training pairs; optimiser) + the time spent inside ``fit`` (which
includes fit's own per-epoch validation and quick metrics).

``pieces > 1`` (the whole NCBI, whose epoch outlasts a short budget) splits each
epoch's positives into that many fixed random slices and runs fit on one slice at a
time, burn-in counted in whole epochs; a point's ``epoch`` is then fractional.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import torch

from hyptax import pipeline
from hyptax.config import EVAL_POSITIVES, TrainConfig, from_dict, to_dict
from hyptax.data.taxonomy import Taxonomy
from hyptax.training.fit import FitState, fit

SNAPSHOT_TIMES = (1, 2, 5, 10, 20, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 2700, 3600)
"""Seconds of wall time at which a run's weights are kept for scoring (plus 0: the
initialisation alone, and the end of the run)."""


@dataclass
class Run:
    """One training run: its snapshots, fit's per-evaluation records and timings."""

    label: str
    config: TrainConfig
    setup_s: float = 0.0
    init_s: float = 0.0
    snapshots: list[tuple[float, float, torch.Tensor]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)
    epochs: float = 0.0
    seconds: float = 0.0
    stopped_early: bool = False
    points: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The scored run as plain JSON (snapshots must have been scored and freed)."""
        if self.snapshots:
            raise ValueError("score the run before saving it")
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "snapshots"}
        return {**out, "config": to_dict(self.config)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        return cls(**{**data, "config": from_dict(TrainConfig, data["config"])})

    def edges_per_s(self) -> float:
        """Median positive pairs per second over the run's epochs (fit's own count)."""
        values = [r["edges_per_s"] for r in self.records if r.get("edges_per_s")]
        return float(np.median(values)) if values else math.nan

    def epoch_s(self) -> float:
        values = [r["epoch_s"] for r in self.records if r.get("epoch_s")]
        return float(np.median(values)) if values else math.nan

    def time_to(self, key: str, threshold: float) -> float | None:
        """Wall seconds of the first of fit's records with ``key >= threshold``
        (including the initialisation's point at ``setup_s`` when scored)."""
        for p in self.points:
            if p["epoch"] == 0 and (p.get(key) or -1) >= threshold:
                return p["t"]
        for r in self.records:
            if (r.get(key) or -1) >= threshold:
                return self.setup_s + r["elapsed"]
        return None


def train_hyptax(
    tax: Taxonomy,
    config: TrainConfig,
    budget_s: float,
    *,
    label: str = "",
    times: tuple[float, ...] = SNAPSHOT_TIMES,
    pieces: int = 1,
    seed_perm: int = 0,
) -> Run:
    """Train ``config`` on ``tax`` until early stopping, ``config.epochs`` or about
    ``budget_s`` wall seconds (the last chunk finishes); returns the snapshots.

    These runs measure training, which :func:`hyptax.pipeline.run` skips where the
    construction is final (the metric geometry, or an exact one on a tree): an unset
    geometry is taken as ``"order"``, the geometry training optimises, so the curves
    stay comparable with earlier results."""
    quiet: Callable[[str], None] = lambda _line: None  # noqa: E731
    if config.geometry is None:
        config = replace(config, geometry="order")
    run = Run(label or config.init, config)
    t0 = time.perf_counter()
    device = pipeline.choose_device(config.gpu)
    table = pipeline.make_model(tax, config, device)
    run.init_s = time.perf_counter() - t0
    data = pipeline.prepare_pairs(tax, config)
    optimizer = pipeline.make_optimizer_for(table, config)
    run.setup_s = time.perf_counter() - t0
    run.snapshots.append((run.setup_s, 0.0, table.weight.detach().clone()))

    slices = [data]
    if pieces > 1:
        perm = np.random.default_rng([config.seed, seed_perm, 7]).permutation(len(data.u))
        slices = [replace(data, u=data.u[perm[i::pieces]], v=data.v[perm[i::pieces]])
                  for i in range(pieces)]  # fmt: skip
        config = replace(
            config, burn_in=config.burn_in_epochs * pieces, epochs=config.epochs * pieces
        )
    every = config.eval_every or max(1, round(EVAL_POSITIVES / max(len(slices[0].u), 1)))
    if pieces > 1:
        every = 1
    state = FitState.start(config)
    pending = [t for t in sorted(times) if t < budget_s]
    trained = 0.0
    while state.epoch < config.epochs and not state.stopped_early:
        chunk = replace(config, epochs=min(state.epoch + every, config.epochs))
        piece = slices[state.epoch % len(slices)]
        c0 = time.perf_counter()
        state = fit(table, optimizer, piece, chunk, state, echo=quiet)
        trained += time.perf_counter() - c0
        now = run.setup_s + trained
        if pending and now >= pending[0]:
            run.snapshots.append((now, state.epoch / pieces, table.weight.detach().clone()))
            while pending and pending[0] <= now:
                pending.pop(0)
        if now >= budget_s:
            break
    now = run.setup_s + trained
    if run.snapshots[-1][1] != state.epoch / pieces:
        run.snapshots.append((now, state.epoch / pieces, table.weight.detach().clone()))
    run.records = list(state.history)
    run.epochs = state.epoch / pieces
    run.seconds = now
    run.stopped_early = state.stopped_early
    return run


def score(run: Run, scorer: Callable[..., dict[str, Any]], *, final: dict[str, Any] | None = None,
          first: dict[str, Any] | None = None, **kwargs: Any) -> Run:  # fmt: skip
    """Score every snapshot of ``run`` (``first``, ``final``: other scorer options for
    the initialisation's snapshot and for the last one)."""
    for i, (t, epoch, weight) in enumerate(run.snapshots):
        options = dict(kwargs)
        if i == 0 and first:
            options.update(first)
        if i == len(run.snapshots) - 1 and final:
            options.update(final)
        run.points.append({"t": t, "epoch": epoch, **scorer(weight, **options)})
    run.snapshots = []  # free the weights
    return run
