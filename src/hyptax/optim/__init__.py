"""Riemannian optimisers with sparse row updates, a registry and lr schedules.

``make_optimizer("radam", weight, manifold, lr=0.3)`` builds one; each exposes
``step(rows, egrad, lr=None)``, ``state_dict()`` and ``load_state_dict(d)``.
"""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from ..manifolds import Manifold
from .radam import RiemannianAdam
from .rsgd import RiemannianSGD, sparse_rows
from .schedule import SCHEDULES, lr_at

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "Optimizer",
    "RiemannianAdam",
    "RiemannianSGD",
    "lr_at",
    "make_optimizer",
    "sparse_rows",
]

Optimizer = RiemannianSGD | RiemannianAdam

OPTIMIZERS: dict[str, type[RiemannianSGD] | type[RiemannianAdam]] = {
    "rsgd": RiemannianSGD,
    "radam": RiemannianAdam,
}


def make_optimizer(
    name: str, weight: torch.Tensor, manifold: Manifold, lr: float, **opts: Any
) -> Optimizer:
    """Build the named optimiser; unknown names raise ConfigError listing valid ones."""
    try:
        cls = OPTIMIZERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}"
        ) from None
    return cls(weight, manifold, lr=lr, **opts)
