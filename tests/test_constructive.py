"""The constructive embedding: inside the ball, exact MAP on small trees, depth order,
determinism, DAGs and forests, the precision limit, and the point sets it rests on."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.spatial import cKDTree

from hyptax import constructive as C
from hyptax.data.taxonomy import Taxonomy
from hyptax.errors import ConfigError
from hyptax.evaluation.geometry import ball_view
from hyptax.evaluation.ranking import Queries, reconstruction
from hyptax.manifolds import get_manifold, numerics

DTYPES = (torch.float32, torch.float64)


def tree(parent: list[int] | np.ndarray) -> Taxonomy:
    """Node ``i + 1`` has parent ``parent[i]``."""
    parent = np.asarray(parent)
    n = len(parent) + 1
    return Taxonomy.from_edges([f"n{i}" for i in range(n)], np.arange(1, n), parent)


def random_tree(n: int, seed: int, max_depth: int) -> Taxonomy:
    """Random tree, parents drawn uniformly among nodes above ``max_depth``."""
    rng = np.random.default_rng(seed)
    depth, parent = [0], []
    for i in range(1, n):
        while True:
            p = int(rng.integers(0, i))
            if depth[p] < max_depth:
                break
        parent.append(p)
        depth.append(depth[p] + 1)
    return tree(parent)


def chain(n: int) -> Taxonomy:
    return tree(np.arange(n - 1))


def star(k: int) -> Taxonomy:
    return tree(np.zeros(k, dtype=np.int64))


def exact_map(tax: Taxonomy, x: torch.Tensor, manifold: str = "poincare") -> float:
    desc, anc = tax.closure
    res = reconstruction(ball_view(x, manifold), Queries.from_pairs(desc, anc, tax.n_nodes))
    assert res["mode"] == "exact"
    return res["map"]


def assert_inside(x: torch.Tensor, manifold: str, dtype: torch.dtype) -> None:
    assert x.dtype == dtype and torch.isfinite(x).all()
    if manifold == "poincare":
        assert x.norm(dim=1).max().item() <= numerics.max_norm(dtype)
    else:
        m = get_manifold("lorentz")
        assert (m.dist0(x) <= numerics.max_dist0(dtype) * (1 + 1e-6)).all()
        # on the hyperboloid: x0 recomputed from xs by the projection
        xs = x[:, 1:].double()
        assert torch.allclose(x[:, 0].double(), torch.sqrt(1 + (xs * xs).sum(1)), rtol=1e-6)


# ------------------------------------------------------------------ inside the ball
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("manifold", ["poincare", "lorentz"])
@pytest.mark.parametrize("shape", ["random", "chain40", "star40000"])
def test_every_point_inside_and_distinct(shape, manifold, dtype):
    tax = {
        "random": lambda: random_tree(400, 0, 6),
        "chain40": lambda: chain(41),
        "star40000": lambda: star(40_000),
    }[shape]()
    dim = 3 if shape == "star40000" else 5
    x = C.construct(tax, dim, manifold=manifold, dtype=dtype)
    coord = dim + (manifold == "lorentz")
    assert x.shape == (tax.n_nodes, coord)
    assert_inside(x, manifold, dtype)
    assert len(np.unique(x.numpy(), axis=0)) == tax.n_nodes


def test_star_in_ten_dims_reconstructs():
    tax = star(40_000)
    plan = C.plan_construction(tax, 10)
    assert plan.min_sibling_angle[1] > 0.1  # lattice-shell bound
    u = plan.directions[1:]
    brute = np.arccos(np.clip(u[:2000] @ u[:2000].T - 2 * np.eye(2000), -1, 1)).min()
    assert brute >= plan.min_sibling_angle[1]
    x = C.construct(tax, 10)
    desc, anc = tax.closure
    queries = Queries.from_pairs(desc, anc, tax.n_nodes)
    res = reconstruction(ball_view(x, "poincare"), queries, sample=400, n_bootstrap=0)
    assert res["map"] == 1.0  # the root is every sampled leaf's nearest node


# ------------------------------------------------------------------ quality
@pytest.mark.parametrize("dim", [3, 5, 10])
def test_small_tree_exact_map_and_depth_order(dim):
    tax = random_tree(300, 1, 5)
    x = C.construct(tax, dim)
    assert exact_map(tax, x) >= 0.99
    r = ball_view(x, "poincare").dist0
    # levels do not overlap: every node is farther out than every shallower node
    for k in range(int(tax.depth.max())):
        assert r[tax.depth == k].max() < r[tax.depth == k + 1].min()
    # Spearman with radii equal to float resolution counted as ties
    tied = np.round(r, 6)
    assert stats.spearmanr(tax.depth, tied)[0] > 0.999


def test_map_is_one_when_it_fits_and_lorentz_agrees():
    tax = random_tree(250, 2, 4)
    assert tax.depth.max() == 4
    p = C.construct(tax, 10)
    lo = C.construct(tax, 10, manifold="lorentz")
    assert exact_map(tax, p) == 1.0
    assert exact_map(tax, lo, "lorentz") == 1.0
    back = get_manifold("lorentz").to_poincare(lo)
    assert torch.allclose(back, p, atol=1e-12)


def test_over_budget_chain_still_orders_by_depth():
    tax = chain(41)
    plan = C.plan_construction(tax, 4)
    assert plan.radii[-1] <= C.radius_budget(torch.float64) + 1e-12
    assert np.all(np.diff(plan.radii) > 0)
    r = ball_view(C.construct(tax, 4), "poincare").dist0
    assert np.all(np.diff(r) > 0)


# ------------------------------------------------------------------ determinism
def test_deterministic_for_a_seed():
    tax = random_tree(200, 3, 5)
    a = C.construct(tax, 6, seed=7)
    b = C.construct(tax, 6, seed=7)
    c = C.construct(tax, 6, seed=8)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert exact_map(tax, c) >= 0.99


# ------------------------------------------------------------------ DAGs, forests
def test_dag_keeps_deepest_parent_and_embeds():
    # 0 -> 1 -> 2 -> 3, and 4 has parents 1 (depth 1) and 3 (depth 3), then 5 under 4
    ids = [f"n{i}" for i in range(6)]
    tax = Taxonomy.from_edges(ids, [1, 2, 3, 4, 4, 5], [0, 1, 2, 1, 3, 4])
    assert not tax.is_tree
    parent = tax.tree_parent
    assert parent.tolist() == [-1, 0, 1, 2, 3, 4]
    x = C.construct(tax, 3)
    assert_inside(x, "poincare", torch.float64)
    r = ball_view(x, "poincare").dist0
    assert np.all(np.diff(r[np.argsort(tax.depth)]) > 0)


def test_dag_ties_go_to_lowest_parent_index():
    ids = [f"n{i}" for i in range(4)]
    tax = Taxonomy.from_edges(ids, [1, 2, 3, 3], [0, 0, 2, 1])  # 3 under 1 and 2
    assert tax.tree_parent[3] == 1


def test_forest_gets_a_virtual_root():
    ids = [f"n{i}" for i in range(7)]
    tax = Taxonomy.from_edges(ids, [1, 2, 4, 5], [0, 0, 3, 3])  # roots 0, 3, 6
    plan = C.plan_construction(tax, 4)
    assert plan.level.tolist() == [1, 2, 2, 1, 2, 2, 1]
    x = C.construct(tax, 4)
    assert_inside(x, "poincare", torch.float64)
    assert exact_map(tax, x) == 1.0


def test_single_node_and_empty():
    one = Taxonomy.from_edges(["a"], [], [])
    assert torch.equal(C.construct(one, 3), torch.zeros(1, 3, dtype=torch.float64))
    empty = Taxonomy.from_edges([], [], [])
    assert C.construct(empty, 3, manifold="lorentz").shape == (0, 4)


# ------------------------------------------------------------------ scale and errors
def test_given_scale_is_the_level_step():
    tax = random_tree(100, 4, 3)
    plan = C.plan_construction(tax, 5, scale=2.5)
    assert np.allclose(np.diff(plan.radii), 2.5)
    with pytest.raises(ConfigError, match="exceeds the float64 limit"):
        C.construct(chain(41), 5, scale=1.0)
    with pytest.raises(ConfigError, match="exceeds the float32 limit"):
        C.construct(chain(6), 5, scale=3.0, dtype=torch.float32)
    with pytest.raises(ConfigError, match="positive"):
        C.construct(tax, 5, scale=0.0)


def test_bad_arguments():
    tax = chain(3)
    with pytest.raises(ConfigError, match="dim >= 2"):
        C.construct(tax, 1)
    with pytest.raises(ConfigError, match="unknown manifold"):
        C.construct(tax, 3, manifold="sphere")
    with pytest.raises(TypeError):
        C.construct(tax, 3, dtype=torch.float16)


# ------------------------------------------------------------------ precision limit
def test_precision_limit_is_consistent():
    fit = C.precision_limit(7, 1635, 10)
    assert fit["fits"] and fit["shrink"] == 1.0 and fit["max_depth"] >= 7
    deep = C.precision_limit(38, 43_705, 10)
    assert not deep["fits"] and deep["step_used"] * 38 == pytest.approx(deep["budget"])
    f32 = C.precision_limit(7, 1635, 10, torch.float32)
    assert f32["budget"] < fit["budget"] and f32["max_depth"] < fit["max_depth"]
    # wider families need longer steps; more dimensions help (up to d = 13)
    steps = [C.level_step(k, 5) for k in (1, 10, 100, 1000)]
    assert steps == sorted(steps)
    assert C.level_step(1000, 10) < C.level_step(1000, 5) < C.level_step(1000, 3)


def test_schedule_fits_budget_or_uses_needed_steps():
    steps = C.needed_steps(np.array([4, 300, 300, 0]), 10)
    assert steps[1] == pytest.approx(C.level_step(300, 10))
    r = C.radius_schedule(steps)
    assert r[0] == 0 and np.allclose(np.diff(r), steps)
    deep = C.needed_steps(np.array([4] + [300] * 30 + [0]), 10)
    r = C.radius_schedule(deep)
    assert r[-1] == pytest.approx(C.radius_budget(torch.float64))
    assert np.allclose(np.diff(r) / deep, r[-1] / deep.sum())  # one shrink factor
    plan = C.plan_construction(chain(41), 10)
    assert plan.needed_radius > plan.radii[-1]


# ------------------------------------------------------------------ point sets
@pytest.mark.parametrize("m", [1, 2, 3, 4, 9])
def test_lattice_spacing_and_centre(m):
    pts = C.points.lattice_shells(m, 500)
    assert len(pts) >= 500
    gap = C.points.lattice_gap(m)
    nearest = cKDTree(pts).query(pts, k=2)[0][:, 1]
    assert nearest.min() >= gap - 1e-12
    norms = np.linalg.norm(pts, axis=1)
    assert norms.min() > 0 and np.all(np.diff(norms) >= -1e-12)


@pytest.mark.parametrize(("k", "d"), [(2, 5), (6, 5), (10, 5), (200, 5), (2000, 3), (50, 2)])
def test_sphere_points_angle_bound(k, d):
    pts, angle = C.points.sphere_points(k, d, np.random.default_rng(0))
    assert pts.shape == (k, d)
    assert np.allclose(np.linalg.norm(pts, axis=1), 1.0)
    cos = np.clip(pts @ pts.T, -1, 1)
    np.fill_diagonal(cos, -1)
    assert math.acos(cos.max()) >= angle - 1e-9 > 0


def test_sibling_angle_bound_holds():
    tax = random_tree(600, 5, 4)
    plan = C.plan_construction(tax, 4)
    parent = tax.tree_parent
    for k in range(2, len(plan.radii)):
        kids = np.flatnonzero(plan.level == k)
        worst = math.inf
        for p in np.unique(parent[kids]):
            u = plan.directions[kids[parent[kids] == p]]
            if len(u) > 1:
                cos = np.clip(u @ u.T, -1, 1)
                np.fill_diagonal(cos, -1)
                worst = min(worst, math.acos(cos.max()))
        if math.isfinite(worst):
            assert worst >= plan.min_sibling_angle[k] * (1 - 1e-9)


def test_subtrees_stay_in_their_caps():
    tax = random_tree(500, 6, 5)
    plan = C.plan_construction(tax, 5)
    desc, anc = tax.closure
    angle = np.arccos(np.clip((plan.directions[desc] * plan.directions[anc]).sum(1), -1, 1))
    below = tax.depth[anc] > 0
    assert np.all(angle[below] <= plan.caps[plan.level[anc]][below] + 1e-12)
    assert np.all(np.diff(plan.caps[1:]) < 0)


# ------------------------------------------------------------------ any fan-out
@pytest.mark.parametrize(  # one code path: the quick tier runs it at d = 10
    "d", [10, pytest.param(20, marks=pytest.mark.slow), pytest.param(50, marks=pytest.mark.slow)]
)
def test_a_hundred_thousand_directions_on_the_sphere(d):
    """Beyond what one lattice shell can enumerate, a product of two point sets."""
    pts, bound = C.points.sphere_points(100_000, d, np.random.default_rng(0))
    assert pts.shape == (100_000, d)
    assert np.allclose(np.linalg.norm(pts, axis=1), 1.0)
    assert bound > 0.2
    sample = pts[np.random.default_rng(1).choice(len(pts), 3000, replace=False)]
    chord = cKDTree(sample).query(sample, k=2)[0][:, 1].min()
    assert 2 * math.asin(chord / 2) >= bound * (1 - 1e-9)


def test_a_hundred_thousand_children_below_the_root_spread_in_the_ball():
    pts = C.points.lattice_shells(9, 100_000)
    assert len(pts) >= 100_000
    norms = np.linalg.norm(pts, axis=1)
    assert (np.diff(norms) >= -1e-12).all()  # by norm, innermost first
    head = pts[:20_000]
    assert cKDTree(head).query(head, k=2)[0][:, 1].min() >= math.sqrt(2) - 1e-12


@pytest.mark.parametrize("geometry", ["metric", "order"])
def test_any_fan_out_is_placed(geometry):
    """A root with 100,000 children, and a node below it with 100,000 more."""
    k = 100_000
    parent = np.r_[np.zeros(k, dtype=np.int64), np.ones(k, dtype=np.int64)]
    tax = tree(parent)
    x = C.construct(tax, 10, geometry=geometry)
    assert torch.isfinite(x).all() and x.norm(dim=1).max() <= numerics.max_norm(torch.float64)
    kids = x[k + 1 :]
    assert len(torch.unique(kids, dim=0)) == k  # every child placed apart
    res = reconstruction(ball_view(x, "poincare"), Queries.from_pairs(*tax.closure, tax.n_nodes),
                         score="ancestor" if geometry == "metric" else "distance", sample=500,
                         n_bootstrap=0)  # fmt: skip
    assert res["map"] > 0.99
