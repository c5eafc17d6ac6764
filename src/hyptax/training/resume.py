"""The files of a run and picking a run up again: what every checkpoint carries,
loading the last one back into a table and optimiser (refused on other data or a
config a resumed run may not change), and the best weights at the end.

:mod:`hyptax.pipeline` calls these; they are named here so the pipeline reads as a
table of contents.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import torch

from ..config import TrainConfig, to_dict
from ..data.taxonomy import Taxonomy
from ..errors import ConfigError, HyptaxError
from ..files import atomic_write, hold_lock, plain_json
from ..model import EmbeddingTable
from ..optim import Optimizer
from ..storage import RunPaths
from .checkpoint import check_same_data, load_checkpoint
from .fit import FitState
from .record import RunFiles

RESUMABLE_CHANGES = (
    "epochs", "early_stopping", "eval_every", "threads", "gpu", "backend", "data_cache", "data",
)  # fmt: skip
"""Config fields a resumed run may change; any other difference is refused. ``data``
may name the same data elsewhere (moved, or another machine): its content hash must
match the checkpoint's (:func:`~hyptax.training.checkpoint.check_same_data`)."""


def run_files(
    tax: Taxonomy, config: TrainConfig, paths: RunPaths | None, typed: str | None = None
) -> RunFiles:
    """The fixed part of every checkpoint, and where records and checkpoints go.
    ``data.spec`` is the resolved spec, ``data.typed`` the one the user typed."""
    from ..data.prepared import dataset_hash

    static = {
        "config": to_dict(config),
        "data": {
            "spec": config.data,
            "typed": typed or config.data,
            "options": to_dict(config.data_options),
            "hash": dataset_hash(tax),
            "n_nodes": tax.n_nodes,
        },
        "ids": [str(s) for s in tax.ids.tolist()],
        "names": [str(s) for s in tax.names.tolist()],
    }
    if paths is None:
        return RunFiles(static=static)
    return RunFiles(paths.metrics, paths.best, paths.last, static)


def resume_state(
    last: Path, table: EmbeddingTable, optimizer: Optimizer, files: RunFiles,
    config: TrainConfig | None = None,
) -> FitState:  # fmt: skip
    """Load ``last`` into ``table`` and ``optimizer``; rewrite the metrics log from it.
    ``config`` (the resumed run's) brings the patience it may have changed."""
    checkpoint = checked_checkpoint(last, files)
    table.weight.copy_(checkpoint["weight"].to(table.weight.device, table.weight.dtype))
    if checkpoint["optimizer"]:  # empty in a construction (hyptax embed): start afresh
        optimizer.load_state_dict(to_device(checkpoint["optimizer"], table.weight.device))
    state = FitState.from_checkpoint(checkpoint, config)
    if files.metrics is not None:  # drop records written after this checkpoint
        with atomic_write(files.metrics, "w") as fh:
            fh.writelines(
                json.dumps(plain_json(r), default=str, allow_nan=False) + "\n"
                for r in state.history
            )
    return state


def checked_checkpoint(last: Path, files: RunFiles) -> dict[str, Any]:
    """The checkpoint at ``last``, refused unless it was made on the same data with a
    config a resumed run may continue."""
    checkpoint = load_checkpoint(last)
    if not isinstance(checkpoint.get("train_state"), dict):  # Embeddings.save wrote it
        raise HyptaxError(
            f"{last}: an embedding saved without its training state, not a run's "
            "checkpoint; it cannot be resumed (train anew, or export it)"
        )
    check_same_data(checkpoint, files.static["data"], last)
    check_resumable(TrainConfig.from_dict(checkpoint["config"]),
                    TrainConfig.from_dict(files.static["config"]), last)  # fmt: skip
    return checkpoint


def check_resumable(old: TrainConfig, new: TrainConfig, path: Path) -> None:
    for f in fields(TrainConfig):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if f.name not in RESUMABLE_CHANGES and a != b:
            flag = f.name.replace("_", "-")
            raise ConfigError(
                f"{path}: this run was trained with --{flag} {a}, not {b}; "
                "a resumed run may only change " + ", ".join(RESUMABLE_CHANGES)
            )


def stored_config(paths: RunPaths, **changes: Any) -> TrainConfig:
    """The config of the run at ``paths`` (from its last checkpoint), with ``changes``."""
    if not paths.resume_from().is_file():
        raise HyptaxError(f"{paths.last}: nothing to resume (no checkpoint there)")
    checkpoint = load_checkpoint(paths.resume_from())
    return replace(TrainConfig.from_dict(checkpoint["config"]), **changes)


def load_best(
    paths: RunPaths | None, table: EmbeddingTable, state: FitState | None = None
) -> EmbeddingTable:
    """The table with the best weights: those of the best checkpoint, else those
    training kept in memory (``state.best_weight``), else the current ones."""
    if paths is not None and paths.best.is_file():
        weight = load_checkpoint(paths.best)["weight"]
    elif state is not None and state.best_weight is not None:
        weight = state.best_weight
    else:
        return table
    return EmbeddingTable(weight.to(table.weight.device, table.weight.dtype), table.manifold)


def locked_run(paths: RunPaths | None) -> contextlib.AbstractContextManager[None]:
    """The run's lock (nothing to lock without files)."""
    return hold_lock(paths.lock) if paths is not None else contextlib.nullcontext()


def to_device(state: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in state.items()}
