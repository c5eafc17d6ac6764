"""Evaluating and recording one point of training: the validation loss of the fixed
sample, the per-evaluation record and its printed line, what early stopping follows in
it, and the checkpoint written from it.

:func:`hyptax.training.fit.fit` calls these after every ``eval_every`` epochs; the
loop itself stays in :mod:`hyptax.training.fit`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..config import TrainConfig
from ..files import append_jsonl
from ..losses import LOSSES
from ..model import EmbeddingTable
from ..optim import Optimizer
from .checkpoint import save_checkpoint
from .pairs import TrainData, ValidSet

if TYPE_CHECKING:
    from .fit import FitState

VALID_CHUNK = 1 << 18
"""(positive, negative) slots per chunk of the validation loss (memory ~ 8 dim bytes each)."""


@dataclass
class RunFiles:
    """Where a run writes: metrics records, checkpoints, and the checkpoints' fixed part
    (config, data description, node vocabulary). Any path may be None (not written)."""

    metrics: Path | None = None
    best: Path | None = None
    last: Path | None = None
    static: dict[str, Any] = field(default_factory=dict)


def stop_score(record: dict[str, Any], config: TrainConfig) -> tuple[float, float | None]:
    """What early stopping and ``best.pt`` follow in an evaluation ``record``: the
    primary metric and its tiebreak (``config.stop_metric``)."""
    if config.stop_metric == "map":
        return record["map_sampled"], record["mean_rank_sampled"]
    return record["valid_loss"], None


@torch.no_grad()
def validation_loss(table: EmbeddingTable, valid: ValidSet, config: TrainConfig) -> float:
    """Mean ranking loss of the fixed validation sample (chunked, no gradients)."""
    device, w = table.weight.device, table.weight
    total, n = 0.0, len(valid.u)
    step = max(1, VALID_CHUNK // config.n_negatives)
    for s in range(0, n, step):
        idx = np.concatenate(
            (valid.u[s : s + step, None], valid.v[s : s + step, None], valid.neg[s : s + step]),
            axis=1,
        )
        pts = w[torch.from_numpy(idx).to(device)]
        dist = table.manifold.dist(pts[:, :1], pts[:, 1:])
        mask = None if valid.mask is None else torch.from_numpy(valid.mask[s : s + step])
        loss = LOSSES[config.loss](dist, mask if mask is None else mask.to(device),
                                   margin=config.margin)  # fmt: skip
        total += loss.item() * len(idx)
    return total / max(n, 1)


def evaluate(
    table: EmbeddingTable,
    data: TrainData,
    config: TrainConfig,
    state: FitState,
    trained: dict[str, float | None],
) -> dict[str, Any]:
    """The per-evaluation record: epoch, ``trained`` (the last epoch's loss, lr and
    speed; None at the start), validation loss, quick metrics, time."""
    from ..evaluation import quick_metrics

    t0 = time.perf_counter()
    valid = validation_loss(table, data.valid, config)
    quick = quick_metrics(
        table.weight, table.manifold, data.tax, seed=config.seed, pairs=data.eval_pairs
    )
    return {
        "epoch": state.epoch,
        **trained,
        "valid_loss": valid,
        **{k: float(v) for k, v in quick.items()},
        "eval_s": time.perf_counter() - t0,
        "elapsed": state.elapsed,
    }


def format_record(r: dict[str, Any]) -> str:
    """One line per evaluation (the start's, epoch 0, has no training loss or speed)."""
    trained = r.get("loss") is not None
    loss = f"loss {r['loss']:.4f}" if trained else "start      "
    speed = f"{r['edges_per_s']:,.0f} pairs/s  lr {r['lr']:.3g}  " if trained else ""
    return (
        f"epoch {r['epoch']:4d}  {loss}  valid {r['valid_loss']:.4f}  "
        f"MAP~ {r.get('map_sampled', math.nan):.3f}  "
        f"MR~ {r.get('mean_rank_sampled', math.nan):.2f}  rho {r.get('spearman', math.nan):.3f}  "
        f"max|x| {r.get('max_norm', math.nan):.6f}  out {r.get('outside_frac', math.nan):.0%}  "
        f"{speed}{r['elapsed']:.1f}s"
    )


def checkpoint_dict(
    files: RunFiles, table: EmbeddingTable, optimizer: Optimizer, state: FitState
) -> dict[str, Any]:
    """The checkpoint of the current state (see :mod:`hyptax.training.checkpoint`)."""
    return {
        **files.static,
        "manifold": table.manifold.name,
        "weight": table.weight,
        "epoch": state.epoch,
        "best_metric": state.stopper.best,
        "optimizer": optimizer.state_dict(),
        "rng": {"numpy": state.rng.bit_generator.state},
        "train_state": state.state_dict(),
        "history": state.history,
    }


def save_record(
    files: RunFiles,
    table: EmbeddingTable,
    optimizer: Optimizer,
    state: FitState,
    record: dict[str, Any],
) -> None:
    """Append ``record`` to the metrics log; write ``last.pt``, and ``best.pt`` when
    this evaluation is the best so far."""
    if files.metrics is not None:
        append_jsonl(files.metrics, record)
    if files.best is None and files.last is None:
        return
    checkpoint = checkpoint_dict(files, table, optimizer, state)
    # before any comparable evaluation (a NaN metric), the latest weights stand in
    unchosen = state.stopper.best_epoch is None
    if files.best is not None and (state.stopper.improved or unchosen):
        save_checkpoint(files.best, checkpoint)
    if files.last is not None:
        save_checkpoint(files.last, checkpoint)
