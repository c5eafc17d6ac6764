"""Constructive embeddings: every node of a tree placed in hyperbolic space, no training.

Two geometries, chosen on purpose (``geometry=``):

- ``"metric"`` (:mod:`.metric`, the default for trees): distances follow the tree's
  path lengths (Sarkar 2011). A node's nearest nodes are its relatives, and its
  ancestors are the nodes on its geodesic to the root, found by the *ancestor score*
  ``d(u, a) + d(a, 0) - d(u, 0)``.
- ``"order"`` (:mod:`.order`): every ancestor closer to a node than every other node,
  the reference reconstruction convention (rank by raw distance, Nickel & Kiela
  2017). It wins that MAP, at the price of distances that no longer follow the tree
  (a deep node's nearest nodes are the root and the top of its lineage).

Both run on the deepest-parent spanning tree of a DAG (``Taxonomy.tree_parent``) and
in polar form, with Poincaré or Lorentz coordinates formed only at the end.

>>> from hyptax.data.taxonomy import Taxonomy
>>> tax = Taxonomy.from_edges(["r", "a", "b"], [1, 2], [0, 0])
>>> x = construct(tax, 2)
>>> tuple(x.shape), bool(x.norm(dim=1).max() < 1)
((3, 2), True)
"""

from ..config import GEOMETRIES, PRECISIONS
from . import points
from .construction import Construction, build, construct
from .metric import MetricPlan, edge_weights, plan_metric
from .order import (
    Plan,
    level_caps,
    level_step,
    needed_steps,
    plan_construction,
    precision_limit,
    radius_budget,
    radius_schedule,
)
from .tree import SpanningTree

__all__ = [
    "GEOMETRIES",
    "PRECISIONS",
    "Construction",
    "MetricPlan",
    "Plan",
    "SpanningTree",
    "build",
    "construct",
    "edge_weights",
    "level_caps",
    "level_step",
    "needed_steps",
    "plan_construction",
    "plan_metric",
    "points",
    "precision_limit",
    "radius_budget",
    "radius_schedule",
]
