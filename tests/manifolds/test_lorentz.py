"""Identities of the Lorentz model and its agreement with the Poincaré ball."""

from __future__ import annotations

import pytest
import torch

from hyptax.manifolds import lorentz as L
from hyptax.manifolds import numerics
from hyptax.manifolds import poincare as P

SEEDS = (0, 1, 2)
DTYPES = (torch.float32, torch.float64)
RTOL = {torch.float32: 2e-3, torch.float64: 1e-6}


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def points(n, dim, dtype, seed, rmax=None, rmin=0.0):
    """``(n, dim + 1)`` hyperboloid points, hyperbolic radii uniform in [rmin, rmax]."""
    g = torch.Generator().manual_seed(seed)
    rmax = numerics.max_dist0(dtype) if rmax is None else rmax
    d = torch.nn.functional.normalize(torch.randn(n, dim, generator=g, dtype=torch.float64), dim=-1)
    r = rmin + torch.rand(n, 1, generator=g, dtype=torch.float64) * (rmax - rmin)
    return L.project(torch.cat((torch.cosh(r), torch.sinh(r) * d), dim=-1).to(dtype))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_project_is_exactly_on_the_hyperboloid(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    x = (
        torch.randn(1000, 11, generator=g, dtype=dtype)
        * torch.logspace(-2, 8, 1000, dtype=dtype)[:, None]
    )
    p = L.project(x)
    xs = p[:, 1:]
    assert torch.equal(p[:, 0], torch.sqrt(1 + (xs * xs).sum(-1)))
    assert torch.all(L.dist0(p) <= numerics.max_dist0(dtype) * (1 + RTOL[dtype]))
    q = L.to_poincare(p)
    assert torch.linalg.vector_norm(q, dim=-1).max().item() <= numerics.max_norm(dtype)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_distance_agrees_with_poincare(seed, dtype):
    x, y = points(300, 10, dtype, seed), points(300, 10, dtype, seed + 50)
    torch.testing.assert_close(
        L.dist(x, y), P.dist(L.to_poincare(x), L.to_poincare(y)), rtol=RTOL[dtype], atol=1e-5
    )
    torch.testing.assert_close(L.dist0(x), P.dist0(L.to_poincare(x)), rtol=RTOL[dtype], atol=1e-5)
    p = P.project(L.to_poincare(x))
    torch.testing.assert_close(L.to_poincare(L.from_poincare(p)), p, rtol=0, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_metric_identities(seed, dtype):
    x, y, z = (points(400, 5, dtype, seed + k) for k in (0, 10, 20))
    assert torch.equal(L.dist(x, y), L.dist(y, x))
    assert torch.all(L.dist(x, x) == 0)
    assert torch.all(L.dist(x, z) <= (L.dist(x, y) + L.dist(y, z)) * (1 + RTOL[dtype]))
    xg = x.clone().requires_grad_()
    (L.dist(xg, x).sum() + L.dist(xg, y).sum()).backward()
    assert torch.isfinite(xg.grad).all()


def test_textbook_arccosh_is_worse_far_out():
    """Why dist is not arccosh(-<x, y>): for points 0.5 apart at radius ~18 (float64) the
    textbook form is off by > 0.1 (cancellation in x0 y0 - xs . ys), ours by < 1e-5."""
    x = points(200, 10, torch.float64, 3, rmin=17.0, rmax=19.0)
    v = torch.nn.functional.normalize(
        torch.randn(200, 10, generator=seeded(42), dtype=torch.float64), dim=-1
    )
    y = L.project(L.expmap(x, L.from_frame(x, 0.5 * v)))
    ref = P.dist(L.to_poincare(x), L.to_poincare(y))
    textbook = torch.acosh((-L.inner(x, y)).clamp_min(1.0)).squeeze(-1)
    assert (L.dist(x, y) - ref).abs().max() < 1e-5 < 0.1 < (textbook - ref).abs().max()


ROUND_TRIP = {torch.float32: (2.0, 1e-3), torch.float64: (6.0, 1e-6)}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_exp_log_round_trip(seed, dtype):
    """Measured max error of exp(log): float32 5e-5 at radii <= 2, 2e-3 at <= 3;
    float64 5e-7 at radii <= 6 (the hyperboloid cancels more digits than the ball)."""
    rmax, atol = ROUND_TRIP[dtype]
    x, y = points(300, 10, dtype, seed, rmax=rmax), points(300, 10, dtype, seed + 1, rmax=rmax)
    u = L.logmap(x, y)
    assert L.inner(x, u).abs().max().item() < atol * L.dist0(x).exp().max().item() ** 2
    torch.testing.assert_close(L.norm(x, u), L.dist(x, y), rtol=RTOL[dtype], atol=atol)
    assert L.dist(L.project(L.expmap(x, u)), y).max().item() < atol
    assert L.dist(L.project(L.expmap0(L.logmap0(y))), y).max().item() < atol


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_short_steps_near_the_rim_have_their_length(seed, dtype):
    x = points(500, 10, dtype, seed, rmax=numerics.max_dist0(dtype) - 1.5)
    v = torch.nn.functional.normalize(
        torch.randn(500, 10, generator=seeded(42), dtype=dtype), dim=-1
    )
    y = L.project(L.expmap(x, L.from_frame(x, 0.1 * v)))
    assert (L.dist(x, y) - 0.1).abs().max().item() < (2e-3 if dtype == torch.float32 else 1e-5)


@pytest.mark.parametrize("dtype", DTYPES)
def test_frame_is_an_isometry_onto_tangent_vectors(dtype):
    x = points(200, 10, dtype, 5, rmax=8.0)
    w = torch.randn(200, 10, generator=seeded(42), dtype=dtype)
    u = L.from_frame(x, w)
    scale = L.dist0(x).exp().max().item()
    assert L.inner(x, u).abs().max().item() < 1e-5 * scale**2
    torch.testing.assert_close(L.to_frame(x, u), w, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(L.norm(x, u), torch.linalg.vector_norm(w, dim=-1), rtol=1e-4, atol=0)


def test_rgrad_is_steepest_first_order():
    x = points(50, 5, torch.float64, 12, rmax=4.0).requires_grad_()
    y = points(50, 5, torch.float64, 13, rmax=4.0)
    L.dist(x, y).sum().backward()
    g = L.egrad2rgrad(x.detach(), x.grad)
    assert L.inner(x.detach(), g).abs().max().item() < 1e-8
    t = 1e-4
    with torch.no_grad():
        change = L.dist(L.project(L.expmap(x, -t * g)), y) - L.dist(x, y)
    torch.testing.assert_close(change, -t * L.norm(x.detach(), g) ** 2, rtol=1e-3, atol=1e-9)


def test_gradcheck_dist():
    x = points(6, 4, torch.float64, 10, rmax=5.0).requires_grad_()
    y = points(6, 4, torch.float64, 11, rmax=5.0).requires_grad_()
    assert torch.autograd.gradcheck(L.dist, (x, y))
    assert torch.autograd.gradcheck(L.dist0, (x,))
