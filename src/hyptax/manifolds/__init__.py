"""Manifolds: pure formula modules (:mod:`.poincare`, :mod:`.lorentz`, :mod:`.extended`),
thin classes over them (:mod:`.classes`), a registry (:mod:`.registry`), and every
epsilon in :mod:`.numerics`.

>>> import torch
>>> ball = get_manifold("poincare")
>>> x = ball.random(4, 10, radius=1e-3, generator=torch.Generator().manual_seed(0))
>>> ball.dist(x, x).abs().max().item()
0.0
"""

from . import numerics
from .classes import Lorentz, Manifold, PoincareBall
from .registry import MANIFOLDS, get_manifold

__all__ = ["MANIFOLDS", "Lorentz", "Manifold", "PoincareBall", "get_manifold", "numerics"]
