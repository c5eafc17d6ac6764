"""The training loop, in plain sight: epoch -> batches -> step, then evaluate, stop,
checkpoint.

One step (:func:`train_step`) takes ``B`` positive pairs ``(u, v)`` and their ``K``
negatives, gathers the *unique* rows they touch (``U <= B (2 + K)``), computes the
ranking loss on those rows only (with autograd, or with the fused kernel of
:mod:`hyptax.training.fused`), and hands the ``(U, coord_dim)`` Euclidean gradient of
the batch's *summed* loss to the sparse Riemannian optimiser: the learning rate is
a step per positive pair, whatever the batch size. Negatives are drawn in bulk for
many batches at once (:data:`SAMPLE_CHUNK`).

Numerical guard: a step whose loss or gradient is not finite is not applied; the
epoch is rolled back to the state at its start (weights, optimiser, random state),
the learning rate is halved for the rest of the run, the user is told, and the
epoch runs again. A checkpoint is never written with NaN in it.

Evaluation (of the starting point, epoch 0, then every ``eval_every`` epochs and
after the last) computes the validation loss on a fixed sample of positives with
fixed negatives and the cheap metrics of :func:`hyptax.evaluation.quick_metrics`
(MAP and mean rank on a fixed sample of nodes), prints one line, appends one record
to ``metrics.jsonl`` (all in :mod:`hyptax.training.record`), feeds early stopping,
and writes ``last.pt`` (and ``best.pt`` when the evaluation is better than the best so
far: by default a higher MAP, near-ties won by a lower mean rank, see
:class:`~hyptax.training.stopping.EarlyStopping`). The start is a candidate like any
epoch: when no epoch beats the construction, ``best.pt`` is the construction.
Everything needed to continue exactly -- weights, optimiser state, random state,
epoch, early stopping, history -- is in the checkpoint, so a resumed run on one
thread is bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..config import EVAL_POSITIVES, TrainConfig
from ..errors import ConfigError, HyptaxError
from ..losses import LOSSES, depth_regulariser
from ..model import EmbeddingTable
from ..optim import Optimizer, lr_at
from ..sampling import RowGatherer
from . import fused
from .pairs import TrainData
from .record import RunFiles, evaluate, format_record, save_record, stop_score
from .stopping import EarlyStopping

logger = logging.getLogger(__name__)

SAMPLE_CHUNK = 1 << 20
"""Negatives drawn per call of the sampler (spread over as many batches as fit)."""

MIN_LR_SCALE = 2.0**-20
"""The guard gives up (HyptaxError) once the learning rate was halved this far."""

UNTRAINED: dict[str, float | None] = {"loss": None, "lr": None, "edges_per_s": None,
                                      "epoch_s": None}  # fmt: skip
"""The training fields of the start's record (epoch 0): no epoch has run."""


@dataclass
class FitState:
    """Everything that changes during training besides weights and optimiser."""

    rng: np.random.Generator
    stopper: EarlyStopping
    epoch: int = 0
    lr_scale: float = 1.0
    elapsed: float = 0.0
    stopped_early: bool = False
    rollbacks: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_weight: torch.Tensor | None = None
    """A copy of the best weights so far, kept when no best checkpoint is written
    (``RunFiles.best`` None): the best of an in-memory run. Not checkpointed."""

    @classmethod
    def start(cls, config: TrainConfig) -> FitState:
        mode = "max" if config.stop_metric == "map" else "min"
        stopper = EarlyStopping(config.early_stopping, mode, tie=config.stop_tie)
        return cls(np.random.default_rng(config.seed), stopper)

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "lr_scale": self.lr_scale,
            "elapsed": self.elapsed,
            "stopped_early": self.stopped_early,
            "rollbacks": self.rollbacks,
            "stopper": self.stopper.state_dict(),
            "rng": self.rng.bit_generator.state,
        }

    @classmethod
    def from_checkpoint(
        cls, checkpoint: dict[str, Any], config: TrainConfig | None = None
    ) -> FitState:
        """The state saved in ``checkpoint``. With the resumed run's ``config``, its
        patience replaces the saved one (``--early-stopping`` may change on resume)
        and decides again whether the run has stopped early."""
        s = checkpoint["train_state"]
        rng = np.random.default_rng()
        rng.bit_generator.state = s["rng"]
        stopper = EarlyStopping.from_state_dict(s["stopper"])
        stopped = s["stopped_early"]
        if config is not None:
            stopper.patience = config.early_stopping
            stopped = stopper.patience is not None and stopper.bad_evals >= stopper.patience
        return cls(
            rng=rng,
            stopper=stopper,
            epoch=s["epoch"],
            lr_scale=s["lr_scale"],
            elapsed=s["elapsed"],
            stopped_early=stopped,
            rollbacks=s["rollbacks"],
            history=list(checkpoint.get("history", [])),
        )


def fit(
    table: EmbeddingTable,
    optimizer: Optimizer,
    data: TrainData,
    config: TrainConfig,
    state: FitState,
    *,
    files: RunFiles | None = None,
    progress: bool = False,
    echo: Callable[[str], None] = logger.info,
) -> FitState:
    """Train until ``config.epochs`` or early stopping; returns the final state.

    ``state`` is :meth:`FitState.start` for a new run or
    :meth:`FitState.from_checkpoint` to resume. ``echo`` gets one line per evaluation
    (default: the module's logger, at INFO). Uses ``config.threads`` CPU threads
    (see :func:`compute_threads`) and numba's workqueue threading layer
    (:func:`~hyptax.training.fused.calm_numba_threads`), both restored afterwards.
    """
    files = files or RunFiles()
    every = config.eval_every or max(1, round(EVAL_POSITIVES / max(len(data.u), 1)))
    gatherer = RowGatherer(table.n_nodes)
    fused_kernel = use_fused(table, config)
    with fused.calm_numba_threads(), compute_threads(config.threads, fused_kernel):
        start = time.perf_counter() - state.elapsed
        if state.epoch == 0 and not state.history:  # the start is a candidate for best
            _keep(table, optimizer, data, config, state, files, echo, start, UNTRAINED)
        while state.epoch < config.epochs and not state.stopped_early:
            good = _snapshot(table, optimizer, state)
            lr = state.lr_scale * lr_at(
                state.epoch, lr=config.lr, burn_in=config.burn_in_epochs,
                burn_in_factor=config.burn_in_factor, schedule=config.lr_schedule,
                epochs=config.epochs,
            )  # fmt: skip
            t0 = time.perf_counter()
            loss = train_epoch(table, optimizer, data, config, lr, state.rng, gatherer, progress)
            seconds = time.perf_counter() - t0
            if not math.isfinite(loss) or not bool(torch.isfinite(table.weight).all()):
                _roll_back(table, optimizer, state, good, echo)
                continue
            state.epoch += 1
            if state.epoch % every == 0 or state.epoch == config.epochs:
                speed = len(data.u) / max(seconds, 1e-9)
                trained: dict[str, float | None] = {
                    "loss": loss, "lr": lr, "edges_per_s": speed, "epoch_s": seconds,
                }  # fmt: skip
                _keep(table, optimizer, data, config, state, files, echo, start, trained)
    return state


def _keep(
    table: EmbeddingTable, optimizer: Optimizer, data: TrainData, config: TrainConfig,
    state: FitState, files: RunFiles, echo: Callable[[str], None], start: float,
    trained: dict[str, float | None],
) -> None:  # fmt: skip
    """Evaluate the current weights, record them, feed early stopping, checkpoint.
    ``trained``: the last epoch's loss, lr and speed (:data:`UNTRAINED` at the start)."""
    state.elapsed = time.perf_counter() - start
    record = evaluate(table, data, config, state, trained)
    state.elapsed = record["elapsed"] = time.perf_counter() - start
    state.history.append(record)
    metric, tiebreak = stop_score(record, config)
    state.stopped_early = state.stopper.update(metric, state.epoch, tiebreak=tiebreak)
    echo(format_record(record))
    if state.stopper.improved and files.best is None:  # no best.pt: keep it in memory
        state.best_weight = table.weight.detach().clone()
    save_record(files, table, optimizer, state, record)


def train_epoch(
    table: EmbeddingTable,
    optimizer: Optimizer,
    data: TrainData,
    config: TrainConfig,
    lr: float,
    rng: np.random.Generator,
    gatherer: RowGatherer,
    progress: bool = False,
) -> float:
    """One pass over the shuffled positives; the mean loss, or NaN at the first
    non-finite step (whose update is not applied)."""
    from tqdm import tqdm

    n, b = len(data.u), config.batch_size
    chunk = max(1, SAMPLE_CHUNK // (b * config.n_negatives)) * b
    perm = rng.permutation(n)
    total = 0.0
    with tqdm(total=n, unit="pair", unit_scale=True, leave=False, disable=not progress,
              file=sys.stderr) as bar:  # fmt: skip
        for c in range(0, n, chunk):
            idx = perm[c : c + chunk]
            u, v = data.u[idx], data.v[idx]
            neg = data.sampler.sample(u, v, rng)
            for s in range(0, len(idx), b):
                mask = None if neg.mask is None else neg.mask[s : s + b]
                batch = np.concatenate(
                    (u[s : s + b, None], v[s : s + b, None], neg.nodes[s : s + b]), axis=1
                )
                loss = train_step(table, optimizer, gatherer, batch, mask, lr, config, data.target)
                if not math.isfinite(loss):
                    return math.nan
                total += loss * len(batch)
                bar.update(len(batch))
    return total / max(n, 1)


def train_step(
    table: EmbeddingTable,
    optimizer: Optimizer,
    gatherer: RowGatherer,
    batch: np.ndarray,
    mask: np.ndarray | None,
    lr: float,
    config: TrainConfig,
    target: torch.Tensor | None = None,
) -> float:
    """One sparse step on ``batch (B, 2 + K)`` = ``[u, v, negatives...]``; the loss.

    The step is skipped (and NaN returned) when the loss or the gradient is not finite.
    """
    device = table.weight.device
    rows_np, local_np = gatherer.gather(batch)
    rows = torch.from_numpy(rows_np).to(device)
    x = table.weight.index_select(0, rows)  # (U, c)
    if use_fused(table, config):
        value, grad = fused.loss_and_grad(
            x, local_np, mask, loss=config.loss, margin=config.margin,
            threads=config.threads or os.cpu_count() or 1,
        )  # fmt: skip
    else:
        local = torch.from_numpy(local_np).to(device)
        x.requires_grad_()
        # Two gathers rather than slices of one: a slice's backward zero-fills the whole.
        dist = table.manifold.dist(x[local[:, :1]], x[local[:, 1:]])  # (B, 1 + K)
        mask_t = None if mask is None else torch.from_numpy(mask).to(device)
        loss = LOSSES[config.loss](dist, mask_t, margin=config.margin)
        loss.backward()
        value, grad = loss.item(), x.grad
        x = x.detach()
    if target is not None:
        pair = torch.from_numpy(np.ascontiguousarray(local_np[:, :2]))  # (B, 2): u, v
        pair_target = target[torch.from_numpy(batch[:, :2])]
        value += _regulariser_step(table, x, pair.to(device), pair_target.to(device),
                                   config.lambda_reg, grad)  # fmt: skip
    if not math.isfinite(value) or not math.isfinite(grad.sum().item()):  # NaN/Inf propagate
        return math.nan
    # The step follows the *sum* of the per-positive losses, so --lr and
    # --max-grad-norm mean the same whatever the batch size.
    optimizer.step(rows, grad.mul_(len(batch)), lr=lr)
    return value


def use_fused(table: EmbeddingTable, config: TrainConfig) -> bool:
    """Whether steps run the fused kernel (:mod:`hyptax.training.fused`)."""
    if config.backend == "torch":
        return False
    ok = fused.available(table.manifold.name, config.loss, table.weight.device)
    if config.backend == "fused" and not ok:
        raise ConfigError(
            "--backend fused needs numba, the Poincaré ball, the CPU and the softmax or "
            "margin loss; use --backend torch"
        )
    return ok


def _regulariser_step(
    table: EmbeddingTable, x: torch.Tensor, pair: torch.Tensor, target: torch.Tensor,
    weight: float, grad: torch.Tensor,
) -> float:  # fmt: skip
    """Add the depth regulariser's gradient to ``grad`` in place; return its loss.

    It acts on the two nodes of every positive pair (``pair (B, 2)`` positions in
    ``x``), so its weight per pair does not depend on how many rows a batch touches.
    """
    x = x.detach().requires_grad_()
    reg = 2.0 * weight * depth_regulariser(table.manifold.dist0(x[pair]), target)
    reg.backward()
    grad += x.grad
    return reg.item()


@contextlib.contextmanager
def compute_threads(threads: int, fused_kernel: bool = False) -> Iterator[None]:
    """Threads inside the block (restored afterwards; 0: the machine's cores).

    With the fused kernel, torch runs on one thread and the kernel on ``threads``:
    the rest of a step is many small tensor ops, for which a second OpenMP thread
    only adds barriers (measured: up to 100x slower on a busy two-core machine).
    """
    before = torch.get_num_threads()
    threads = threads or os.cpu_count() or 1
    torch.set_num_threads(1 if fused_kernel else threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _snapshot(table: EmbeddingTable, optimizer: Optimizer, state: FitState) -> dict[str, Any]:
    return {
        "weight": table.weight.clone(),
        "optimizer": optimizer.state_dict(),
        "rng": state.rng.bit_generator.state,
    }


def _roll_back(
    table: EmbeddingTable,
    optimizer: Optimizer,
    state: FitState,
    good: dict[str, Any],
    echo: Callable[[str], None],
) -> None:
    table.weight.copy_(good["weight"])
    optimizer.load_state_dict(good["optimizer"])
    state.rng.bit_generator.state = good["rng"]
    state.lr_scale /= 2.0
    state.rollbacks += 1
    if state.lr_scale < MIN_LR_SCALE:
        raise HyptaxError(
            f"training diverged: NaN or Inf at epoch {state.epoch + 1} even after halving "
            f"the learning rate {state.rollbacks} times; lower --lr"
        )
    echo(
        f"epoch {state.epoch + 1}: NaN or Inf in the loss or the weights; rolled back to "
        f"the start of the epoch and halved the learning rate (now x{state.lr_scale:g})"
    )
