"""Riemannian optimisers with sparse row updates, a registry and lr schedules.

``make_optimizer("radam", weight, manifold, lr=0.3)`` builds one; each exposes
``step(rows, egrad, lr=None)``, ``state_dict()`` and ``load_state_dict(d)``.
"""

from .radam import RiemannianAdam
from .registry import OPTIMIZERS, Optimizer, make_optimizer
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
