"""The optimisers by name, and :func:`make_optimizer`, whose error lists the valid
names when a name is wrong."""

from __future__ import annotations

from typing import Any

import torch

from ..errors import ConfigError
from ..manifolds import Manifold
from .radam import RiemannianAdam
from .rsgd import RiemannianSGD

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
