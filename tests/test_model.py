import math

import numpy as np
import pytest
import torch

from hyptax.data.taxonomy import Taxonomy
from hyptax.losses import target_radius
from hyptax.manifolds import get_manifold, numerics
from hyptax.model import EmbeddingTable


def small_tree() -> Taxonomy:
    child = np.arange(1, 40)
    parent = (child - 1) // 3  # a ternary tree
    return Taxonomy.from_edges([f"n{i}" for i in range(40)], child, parent)


@pytest.mark.parametrize("manifold", ["poincare", "lorentz"])
@pytest.mark.parametrize("init", ["uniform", "depth", "constructive"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_init_gives_points_inside(manifold, init, dtype):
    tax = small_tree()
    m = get_manifold(manifold)
    table = EmbeddingTable.create(tax, dim=4, manifold=m, init=init, dtype=dtype, seed=1)
    assert table.weight.shape == (40, m.coord_dim(4))
    assert table.weight.dtype == dtype and table.dim == 4 and table.n_nodes == 40
    norms = table.norms()
    assert torch.isfinite(table.weight).all()
    assert norms.max().item() <= numerics.max_norm(dtype)


def test_uniform_init_is_the_reference():
    tax = small_tree()
    table = EmbeddingTable.create(tax, dim=5, manifold=get_manifold("poincare"), scale=1e-3)
    w = table.weight
    assert w.abs().max().item() <= 1e-3 * (1 + 1e-6)
    assert w.abs().max().item() > 5e-4  # spread over the box, not collapsed
    again = EmbeddingTable.create(tax, dim=5, manifold=get_manifold("poincare"), scale=1e-3)
    assert torch.equal(w, again.weight)  # seeded


def test_depth_init_puts_nodes_at_the_target_radius_near_their_parent():
    tax = small_tree()
    ball = get_manifold("poincare")
    table = EmbeddingTable.create(tax, dim=6, manifold=ball, init="depth", reg_max_norm=0.9)
    target = target_radius(tax.depth, max_norm=0.9)
    got = ball.dist0(table.weight).numpy()
    assert got == pytest.approx(target, abs=1e-9)
    p = table.weight[torch.from_numpy(tax.parent.astype(np.int64))]
    c = table.weight[torch.from_numpy(tax.child.astype(np.int64))]
    keep = tax.depth[tax.parent] > 0  # the root has no direction
    cos = torch.nn.functional.cosine_similarity(p, c)[torch.from_numpy(keep)]
    assert cos.mean().item() > 0.4  # children start near their parent's direction
    assert math.isclose(table.norms().max().item(), 0.9, rel_tol=1e-9)
