"""``run(config)``: the whole method as a table of contents.

    check names -> load data -> closure (+ holdout split) -> model -> optimiser
                -> fit (or resume) -> evaluate

Each step is a named function with explicit arguments. A run writes only where it
is told (:class:`RunPaths`): the resolved config (``run.json``), one metrics record
per evaluation (``metrics.jsonl``), checkpoints (``best.pt``, ``last.pt``) and the
final evaluation report (``report.json``).

>>> config = TrainConfig(data="wordnet:mammals")
>>> result = run(config, paths=RunPaths.in_dir("runs/m"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import torch

from .config import EvalConfig, TrainConfig, to_dict
from .data import load_taxonomy, resolve_spec
from .data.taxonomy import Taxonomy
from .errors import ConfigError, HyptaxError
from .files import clear_stale, os_problem, write_json
from .model import EmbeddingTable
from .optim import Optimizer, make_optimizer
from .storage import RunPaths
from .training.checkpoint import save_checkpoint
from .training.fit import FitState, fit
from .training.pairs import TrainData, build_training_data
from .training.resume import (  # noqa: F401  (re-exported: hyptax.pipeline.stored_config ...)
    RESUMABLE_CHANGES,
    checked_checkpoint,
    load_best,
    locked_run,
    resume_state,
    run_files,
    stored_config,
)

if TYPE_CHECKING:
    from .embeddings import Embeddings
from .version import __version__

Echo = Callable[[str], None]
"""Where a run's lines go: the module's logger by default; the CLI passes ``print``."""

logger = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run leaves: the trained table (best weights), its data, state and report;
    ``data`` is the data section of its checkpoints (spec, typed, options, hash, n_nodes)."""

    table: EmbeddingTable
    tax: Taxonomy
    config: TrainConfig
    state: FitState | None
    report: dict[str, Any] | None
    data: dict[str, Any] = field(default_factory=dict)

    def embeddings(self) -> Embeddings:
        """The table as an :class:`~hyptax.embeddings.Embeddings`, with the ranks and
        depths of the data, and ``meta`` holding its config, data, epoch and history."""
        from .embeddings import Embeddings

        tax, table, state = self.tax, self.table, self.state
        meta = {
            "hyptax_version": __version__, "kind": "run", "config": to_dict(self.config),
            "data": self.data, "epoch": 0 if state is None else state.epoch,
            "best_metric": None if state is None else state.stopper.best,
            "history": [] if state is None else list(state.history),
        }  # fmt: skip
        return Embeddings(
            ids=tax.ids, names=tax.names, vectors=table.weight.detach().cpu(),
            manifold=table.manifold.name, ranks=tax.ranks, depth=tax.depth, meta=meta,
            polar=table.polar,
        )  # fmt: skip


def run(
    config: TrainConfig,
    *,
    paths: RunPaths | None = None,
    resume: bool = False,
    progress: bool = False,
    report: bool = True,
    echo: Echo = logger.info,
    evaluation: EvalConfig | None = None,
    tax: Taxonomy | None = None,
) -> RunResult:
    """Train an embedding as ``config`` says; see the module docstring. The run holds
    ``paths.lock`` throughout: a second run into the same files stops at once.
    ``evaluation`` configures the final report (default: :class:`EvalConfig`).
    ``tax``: the data itself, in memory (``config.data`` then only names it, e.g.
    :data:`~hyptax.data.IN_MEMORY`); a resumed run must be given the same data."""
    config, typed = resolve_data(config)
    with locked_run(paths):
        return _run(config, typed, paths, resume, progress, report, echo, evaluation, tax)


def _run(
    config: TrainConfig, typed: str, paths: RunPaths | None, resume: bool, progress: bool,
    report: bool, echo: Echo, evaluation: EvalConfig | None, given: Taxonomy | None,
) -> RunResult:  # fmt: skip
    device = check_setup(config, paths, resume)
    tax = load_data(config, echo, typed, given=given)
    asked = config.n_negatives
    config = resolve_for(config, tax)
    table = make_model(tax, config, device)
    config = settle_precision(config, table, echo)
    kept = config.geometry == "metric" or table.polar is not None  # never trained
    if resume and paths is not None and kept:
        checked_checkpoint(paths.resume_from(), run_files(tax, config, paths, typed))
    if not resume or kept:
        final = construction_is_final(table, tax, config)
        if final:
            echo(final)
            return _finish_construction(
                table, tax, config, paths, progress, echo, typed, evaluation
            )
    if config.n_negatives != asked:
        echo(f"note: --n-negatives {asked} capped at {config.n_negatives}: "
             f"the data has {tax.n_nodes:,} nodes")  # fmt: skip
    data = prepare_pairs(tax, config)
    optimizer = make_optimizer_for(table, config)
    files = run_files(tax, config, paths, typed)
    if resume and paths is not None:
        state = resume_state(paths.resume_from(), table, optimizer, files, config)
    else:
        state = FitState.start(config)
        if paths is not None:
            try:
                paths.metrics.unlink(missing_ok=True)
            except OSError as exc:
                raise HyptaxError(f"{paths.metrics}: cannot write: {os_problem(exc)}") from None
    if paths is not None:
        write_json(paths.run_json, files.static["config"])
    state = fit(table, optimizer, data, config, state, files=files, progress=progress, echo=echo)
    if state.stopper.best_epoch == 0:
        start = "construction" if config.init == "constructive" else "start"
        what = "MAP and mean rank" if config.stop_metric == "map" else "validation loss"
        echo(f"no epoch beat the {start} on {what}: the result (best.pt) is the {start}")
    best = load_best(paths, table, state)
    result = RunResult(best, tax, config, state, None, files.static["data"])
    if report:
        result.report = evaluate_run(result, paths, progress, echo, evaluation)
    return result


def resolve_data(config: TrainConfig) -> tuple[TrainConfig, str]:
    """``config`` with its data spec resolved (:func:`hyptax.data.resolve_spec`: a
    relative path made absolute, so the run finds its data from any folder), and the
    spec as typed, for display."""
    return replace(config, data=resolve_spec(config.data)), config.data


def check_setup(
    config: TrainConfig, paths: RunPaths | None, resume: bool, *, resumable: bool = True
) -> torch.device:
    """Fail fast, before loading data: names, device, output folder. ``resumable``:
    whether the command has ``--resume`` to suggest (embed has none)."""
    from .manifolds import get_manifold
    from .optim import OPTIMIZERS

    get_manifold(config.manifold)
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(
            f"--optimizer must be one of {', '.join(OPTIMIZERS)}, not {config.optimizer!r}"
        )
    if paths is not None and resume and not paths.resume_from().is_file():
        raise HyptaxError(f"{paths.last}: nothing to resume (no checkpoint there)")
    if paths is not None and not resume and (paths.last.exists() or paths.best.exists()):
        advice = "continue it with --resume or write elsewhere" if resumable else "write elsewhere"
        raise HyptaxError(f"{paths.last.parent}: already holds a run ({paths.best.name}); {advice}")
    if paths is not None and resume:  # temporary files of writes a kill interrupted
        for target in (paths.best, paths.last, paths.run_json, paths.metrics, paths.report):
            clear_stale(target)
    if paths is not None:  # the output folder can be made (without making it yet)
        folder = paths.last.parent.absolute()
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir():
            raise HyptaxError(f"{folder}: cannot create folder: {existing} is not a directory")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise HyptaxError(f"{folder}: cannot write: permission denied")
    return choose_device(config.gpu)


def choose_device(gpu: int) -> torch.device:
    """``cuda:gpu``, or the CPU for -1; asking for a GPU that is not there is an error."""
    if gpu < 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError(f"--gpu {gpu}: no CUDA device is available; use --gpu -1 for the CPU")
    if gpu >= torch.cuda.device_count():
        raise ConfigError(f"--gpu {gpu}: only {torch.cuda.device_count()} CUDA device(s) here")
    return torch.device(f"cuda:{gpu}")


def load_data(
    config: TrainConfig, echo: Echo = logger.info, shown: str | None = None, *,
    training: bool = True, given: Taxonomy | None = None,
) -> Taxonomy:  # fmt: skip
    """The taxonomy of ``config.data`` (named ``shown`` in messages), or the one
    ``given`` in memory; checks that the run (``training`` or not) fits in memory,
    before the closure is built."""
    from .training.memory import check_memory

    tax = given if given is not None else load_taxonomy(
        config.data, config.data_options, cache=config.data_cache
    )
    check_memory(tax, config, training=training)
    echo(f"{shown or config.data}: {tax.n_nodes:,} nodes, {tax.n_closure:,} closure pairs")
    return tax


def resolve_for(config: TrainConfig, tax: Taxonomy) -> TrainConfig:
    """``config`` with the settings that depend on the data resolved, as written to
    ``run.json`` and every checkpoint (so a construction and the run that resumes it
    agree): the geometry, and ``n_negatives`` capped at what a graph this small can
    give (:meth:`TrainConfig.negatives_for`; training says so)."""
    geometry = config.geometry_for(tax.is_tree)
    if config.rank_weights and geometry != "metric":
        raise ConfigError("--rank-weights applies to the metric geometry (trees) only")
    return replace(config, geometry=geometry, n_negatives=config.negatives_for(tax.n_nodes),
                   precision=config.precision_for(tax.is_tree))  # fmt: skip


def settle_precision(config: TrainConfig, table: EmbeddingTable, echo: Echo) -> TrainConfig:
    """``config`` with the precision the construction took (``"auto"`` resolved to
    ``"extended"`` or ``"float64"``), after saying in one line what it chose."""
    if table.note:
        echo(table.note)
    return replace(config, precision="extended" if table.polar is not None else "float64")


def construction_is_final(table: EmbeddingTable, tax: Taxonomy, config: TrainConfig) -> str:
    """Why the constructive start is the result, in one line, or ``""`` to train.

    The metric geometry is never trained: training's objective is an order objective
    and would undo it. The order geometry is not trained on a tree whose construction
    ranks every sampled node's ancestors first (MAP 1 over ``n_valid`` seeded anchors):
    no step can improve it, and every step risks it.
    """
    if config.init != "constructive":
        return ""
    from .evaluation.geometry import ball_view
    from .evaluation.ranking import Queries, reconstruction

    metric = config.geometry == "metric"
    if not metric and not tax.is_tree and table.polar is None:
        return ""
    view = ball_view(table.weight, table.manifold, table.polar)
    score = "ancestor" if metric else "distance"
    queries = Queries.from_pairs(*tax.closure, tax.n_nodes)
    rec = reconstruction(view, queries, score=score, sample=config.n_valid, seed=config.seed,
                         n_bootstrap=0)  # fmt: skip
    found = rec["map"]
    by = "the ancestor score" if metric else "distance"
    which = "sampled" if rec["mode"] == "sampled" else "(all)"
    how = f"MAP {found:.4f} by {by} on {rec['n_nodes_ranked']:,} {which} nodes"
    if found is not None and found >= 1.0:
        return f"the {config.geometry} construction is exact on this tree ({how}): not trained"
    if table.polar is not None:
        return (
            f"the {config.geometry} construction is the result ({how}): it is in extended "
            "precision and training runs in plain coordinates (use --precision float64 "
            "to train)"
        )
    if metric:
        return (
            f"the metric construction is the result ({how}): training's objective is an "
            "order objective and would undo it (use --geometry order to train)"
        )
    return ""


def prepare_pairs(tax: Taxonomy, config: TrainConfig) -> TrainData:
    """Closure pairs -> training positives, validation sample, negative sampler.

    With ``holdout > 0`` the pairs are split by
    :func:`hyptax.evaluation.linkpred.split_edges` (seeded by ``config.seed``).
    """
    if config.holdout <= 0:
        return build_training_data(tax, config)
    from .evaluation.linkpred import split_edges

    desc, anc = tax.closure
    train, valid, _test = split_edges(desc, anc, config.holdout, config.seed, tax.n_nodes)
    return build_training_data(tax, config, train_mask=train, valid_mask=valid)


def make_model(tax: Taxonomy, config: TrainConfig, device: torch.device) -> EmbeddingTable:
    from .manifolds import get_manifold

    return EmbeddingTable.create(
        tax,
        dim=config.dim,
        manifold=get_manifold(config.manifold),
        init=config.init,
        scale=config.init_scale,
        dtype=torch.float64 if config.dtype == "float64" else torch.float32,
        device=device,
        seed=config.seed,
        reg_max_norm=config.reg_max_norm,
        geometry=config.geometry_for(tax.is_tree),
        rank_weights=config.rank_weights,
        precision=config.precision_for(tax.is_tree),
    )


def make_optimizer_for(table: EmbeddingTable, config: TrainConfig) -> Optimizer:
    return make_optimizer(
        config.optimizer, table.weight, table.manifold, config.lr,
        max_grad_norm=config.max_grad_norm,
    )  # fmt: skip


def evaluate_run(
    result: RunResult, paths: RunPaths | None, progress: bool, echo: Echo,
    evaluation: EvalConfig | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The full evaluation report of the final embedding; written to ``report.json``."""
    from .evaluation.report import evaluate, format_report

    tax, config = result.tax, result.config
    report = evaluate(result.embeddings(), tax, evaluation or EvalConfig(), holdout=config.holdout,
                      split_seed=config.seed, progress=progress)  # fmt: skip
    if result.state is not None:
        report["training"] = _training_summary(result.state)
    if paths is not None:
        write_json(paths.report, report)
    echo(format_report(report))
    return report


def embed(
    config: TrainConfig, *, paths: RunPaths | None = None, progress: bool = False,
    echo: Echo = logger.info, evaluation: EvalConfig | None = None, tax: Taxonomy | None = None,
) -> RunResult:  # fmt: skip
    """An embedding built without training (``config.init``, e.g. constructive):
    the same checkpoint and report as a training run, at epoch 0. ``tax``: as for
    :func:`run`."""
    config, typed = resolve_data(config)
    with locked_run(paths):
        return _embed(config, typed, paths, progress, echo, evaluation, tax)


def _embed(
    config: TrainConfig, typed: str, paths: RunPaths | None, progress: bool, echo: Echo,
    evaluation: EvalConfig | None, given: Taxonomy | None,
) -> RunResult:  # fmt: skip
    device = check_setup(config, paths, resume=False, resumable=False)
    tax = load_data(config, echo, typed, training=False, given=given)
    config = resolve_for(config, tax)
    table = make_model(tax, config, device)
    config = settle_precision(config, table, echo)
    return _finish_construction(table, tax, config, paths, progress, echo, typed, evaluation)


def _finish_construction(
    table: EmbeddingTable, tax: Taxonomy, config: TrainConfig, paths: RunPaths | None,
    progress: bool, echo: Echo, typed: str | None = None, evaluation: EvalConfig | None = None,
) -> RunResult:  # fmt: skip
    """Write the construction as the run's checkpoints (epoch 0) and report it."""
    files = run_files(tax, config, paths, typed)
    if paths is not None:
        write_json(paths.run_json, files.static["config"])
        checkpoint = {
            **files.static, "manifold": table.manifold.name, "weight": table.weight,
            "epoch": 0, "best_metric": None, "optimizer": {}, "rng": {},
            "train_state": FitState.start(config).state_dict(), "history": [],
        }  # fmt: skip
        if table.polar is not None:
            checkpoint["polar"] = table.polar
        save_checkpoint(paths.best, checkpoint)
        save_checkpoint(paths.last, checkpoint)
    result = RunResult(table, tax, config, None, None, files.static["data"])
    result.report = evaluate_run(result, paths, progress, echo, evaluation)
    return result


def _training_summary(state: FitState) -> dict[str, Any]:
    last = state.history[-1] if state.history else {}
    return {
        "epochs": state.epoch,
        "seconds": state.elapsed,
        "stopped_early": state.stopped_early,
        "best_epoch": state.stopper.best_epoch,
        "best_metric": state.stopper.best,
        "best_mean_rank": state.stopper.best_tiebreak,
        "rollbacks": state.rollbacks,
        "edges_per_s": last.get("edges_per_s"),
    }
