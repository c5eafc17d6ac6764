"""Identities of the Poincaré ball over seeds x {float32, float64}."""

from __future__ import annotations

import math

import mpmath
import pytest
import torch

from hyptax.manifolds import numerics
from hyptax.manifolds import poincare as P

SEEDS = (0, 1, 2)
DTYPES = (torch.float32, torch.float64)
# Loose where the dtype's rim is a few ulps wide; tolerances scale with distance.
RTOL = {torch.float32: 2e-3, torch.float64: 1e-6}


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def points(n: int, dim: int, dtype: torch.dtype, seed: int, rmax: float | None = None):
    """``(n, dim)`` points with hyperbolic radii uniform in [0, rmax] (default: the rim)."""
    g = torch.Generator().manual_seed(seed)
    rmax = numerics.max_dist0(dtype) if rmax is None else rmax
    d = torch.randn(n, dim, generator=g, dtype=torch.float64)
    r = torch.rand(n, 1, generator=g, dtype=torch.float64) * rmax
    return P.project((torch.tanh(r / 2) * d / d.norm(dim=-1, keepdim=True)).to(dtype))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_symmetry_and_self_distance(seed, dtype):
    x, y = points(200, 10, dtype, seed), points(200, 10, dtype, seed + 100)
    assert torch.equal(P.dist(x, y), P.dist(y, x))
    assert torch.all(P.dist(x, x) == 0)
    assert torch.all(P.dist(x, y) > 0)
    assert torch.isfinite(P.dist(x, y)).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_self_distance_gradient_is_finite(dtype):
    x = points(50, 10, dtype, 3).requires_grad_()
    P.dist(x, x.detach()).sum().backward()
    assert torch.isfinite(x.grad).all()


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_triangle_inequality(seed, dtype):
    x, y, z = (points(500, 5, dtype, seed + k) for k in (0, 10, 20))
    lhs, rhs = P.dist(x, z), P.dist(x, y) + P.dist(y, z)
    assert torch.all(lhs <= rhs * (1 + RTOL[dtype]))


# Round trips over long geodesics cancel digits (Möbius addition of two points near the
# rim); measured max error after exp(log): float32 2e-4 at radii <= 3, 1.1 at radii <= 6;
# float64 5e-12 at radii <= 4, 4e-4 at radii <= 10. Training only takes short steps.
ROUND_TRIP = {torch.float32: (3.0, 1e-3), torch.float64: (8.0, 1e-6)}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_log_round_trip(seed, dtype):
    rmax, atol = ROUND_TRIP[dtype]
    x, y = points(300, 10, dtype, seed, rmax=rmax), points(300, 10, dtype, seed + 1, rmax=rmax)
    u = P.logmap(x, y)
    torch.testing.assert_close(P.norm(x, u), P.dist(x, y), rtol=RTOL[dtype], atol=atol)
    assert P.dist(P.expmap(x, u), y).max().item() < atol
    torch.testing.assert_close(P.expmap0(P.logmap0(y)), y, atol=atol, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_short_steps_near_the_rim_have_their_length(seed, dtype):
    """d(x, exp_x(u)) = |u|_x for optimiser-sized steps from points up to near the rim.

    The tolerance is the dtype's resolution there (~eps e^r): float32 2e-3, float64 1e-5.
    """
    x = points(500, 10, dtype, seed, rmax=numerics.max_dist0(dtype) - 1.5)
    v = torch.nn.functional.normalize(
        torch.randn(x.shape, generator=seeded(42), dtype=dtype), dim=-1
    )
    y = P.project(P.expmap(x, P.from_frame(x, 0.1 * v)))
    err = (P.dist(x, y) - 0.1).abs().max().item()
    assert err < (2e-3 if dtype == torch.float32 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dist0_matches_dist_to_origin(dtype):
    x = points(300, 10, dtype, 4)
    torch.testing.assert_close(
        P.dist0(x), P.dist(x, torch.zeros_like(x)), rtol=RTOL[dtype], atol=1e-6
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_project_keeps_points_inside(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    far = (
        torch.randn(2000, 10, generator=g, dtype=dtype)
        * torch.logspace(-3, 3, 2000, dtype=dtype)[:, None]
    )
    p = P.project(far)
    norms = torch.linalg.vector_norm(p, dim=-1)
    assert norms.max().item() <= numerics.max_norm(dtype) < 1.0
    inside = torch.linalg.vector_norm(far, dim=-1) < 0.9
    assert torch.equal(p[inside], far[inside])
    # a huge exp-map step from the rim also lands inside after projection
    x = points(500, 10, dtype, seed)
    step = P.project(P.expmap(x, 1e6 * torch.randn(500, 10, generator=g, dtype=dtype)))
    assert torch.linalg.vector_norm(step, dim=-1).max().item() <= numerics.max_norm(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_rim_distances_separate_and_gradients_finite(dtype):
    u = torch.nn.functional.normalize(
        torch.randn(1, 10, generator=seeded(42), dtype=torch.float64), dim=-1
    )
    rmax = numerics.max_dist0(dtype)
    # two points on one ray, 0.5 apart, the outer one at the maximum radius
    a, b = (P.project((math.tanh(r / 2) * u).to(dtype)) for r in (rmax - 0.5, rmax))
    assert P.dist0(b).item() == pytest.approx(rmax, abs=0.02)
    assert P.dist(a, b).item() == pytest.approx(0.5, abs=0.02)
    x = points(100, 10, dtype, 5, rmax=rmax).requires_grad_()
    y = points(100, 10, dtype, 6, rmax=rmax)
    (P.dist(x, y).sum() + P.dist0(x).sum()).backward()
    assert torch.isfinite(x.grad).all()
    assert torch.isfinite(P.egrad2rgrad(x.detach(), x.grad)).all()


def _reference(x, y) -> float:
    with mpmath.workdps(60):
        xs, ys = ([mpmath.mpf(float(v)) for v in t] for t in (x, y))
        d2 = sum((a - b) ** 2 for a, b in zip(xs, ys, strict=True))
        gap = (1 - sum(a * a for a in xs)) * (1 - sum(b * b for b in ys))
        return float(2 * mpmath.asinh(mpmath.sqrt(d2 / gap)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_dist_accuracy(dtype):
    """Against 60-digit mpmath on the same (rounded) coordinates.

    Measured (300 pairs, dim 10): tiny distances, rel. error float64 2.5e-15, float32
    1.2e-6 (arccosh form: rel. error 1.0, i.e. it returns 0); pairs at the rim, abs.
    error float64 4e-6, float32 3.3e-3 (both forms; geoopt's atanh(|-x (+) y|) is NaN).
    """
    g = torch.Generator().manual_seed(7)
    x = points(40, 10, dtype, 8, rmax=8.0)
    scale = 1e-3 if dtype == torch.float32 else 1e-6
    shift = scale * torch.randn(40, 10, generator=g, dtype=dtype)
    tiny = x + shift * (1 - (x * x).sum(-1, keepdim=True))
    rim = points(40, 10, dtype, 9)
    for a, b, rel in ((x, tiny, True), (rim, x, False)):
        got = P.dist(a, b).double()
        ref = [_reference(p, q) for p, q in zip(a, b, strict=True)]
        ref = torch.tensor(ref, dtype=torch.float64)
        assert ref.min().item() > 0
        if rel:  # distances ~1e-3 (float32) and ~1e-6 (float64)
            limit = 1e-4 if dtype == torch.float32 else 1e-12
            assert ((got - ref).abs() / ref).max().item() < limit
        else:
            limit = 1e-2 if dtype == torch.float32 else 1e-5
            assert (got - ref).abs().max().item() < limit


def test_gradcheck_dist():
    x = points(6, 4, torch.float64, 10, rmax=5.0).requires_grad_()
    y = points(6, 4, torch.float64, 11, rmax=5.0).requires_grad_()
    assert torch.autograd.gradcheck(P.dist, (x, y))
    assert torch.autograd.gradcheck(P.dist0, (x,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rgrad_is_steepest_first_order(dtype):
    """f(exp_x(-t g)) - f(x) ~= -t |g|_x^2 for f = sum of distances to fixed targets."""
    x = points(50, 5, torch.float64, 12, rmax=4.0).requires_grad_()
    y = points(50, 5, torch.float64, 13, rmax=4.0)
    P.dist(x, y).sum().backward()
    g = P.egrad2rgrad(x.detach(), x.grad)
    t = 1e-4
    with torch.no_grad():
        change = P.dist(P.expmap(x, -t * g), y) - P.dist(x, y)
    torch.testing.assert_close(change, -t * P.norm(x.detach(), g) ** 2, rtol=1e-3, atol=1e-9)


@pytest.mark.parametrize("dtype", DTYPES)
def test_frame_round_trip_preserves_norm(dtype):
    x = points(100, 10, dtype, 14, rmax=8.0)
    u = torch.randn(100, 10, generator=seeded(42), dtype=dtype) * 1e-3
    w = P.to_frame(x, u)
    torch.testing.assert_close(torch.linalg.vector_norm(w, dim=-1), P.norm(x, u), rtol=1e-5, atol=0)
    torch.testing.assert_close(P.from_frame(x, w), u, rtol=1e-5, atol=0)
