"""The manifold classes, the registry and the numerics table."""

from __future__ import annotations

import math

import pytest
import torch

from hyptax.errors import ConfigError
from hyptax.manifolds import MANIFOLDS, Lorentz, PoincareBall, get_manifold, numerics

DTYPES = (torch.float32, torch.float64)


def test_registry_and_errors():
    assert set(MANIFOLDS) == {"poincare", "lorentz"}
    assert isinstance(get_manifold("poincare"), PoincareBall)
    assert get_manifold("lorentz").name == "lorentz"
    with pytest.raises(ConfigError, match="poincare, lorentz"):
        get_manifold("sphere")
    with pytest.raises(TypeError, match="float32, float64"):
        numerics.max_norm(torch.float16)


def test_numerics_table():
    for dtype in DTYPES:
        assert 0.99 < numerics.project_norm(dtype) < numerics.max_norm(dtype) < 1.0
        r = numerics.project_norm(dtype)
        assert numerics.max_dist0(dtype) == pytest.approx(2 * math.atanh(r))
    assert numerics.max_dist0(torch.float32) == pytest.approx(12.16, abs=0.01)
    assert numerics.max_dist0(torch.float64) == pytest.approx(26.02, abs=0.01)


@pytest.mark.parametrize("name", sorted(MANIFOLDS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_class_methods_return_valid_points(name, dtype):
    m = get_manifold(name)
    g = torch.Generator().manual_seed(0)
    x = m.random(300, 6, 1e-3, g, dtype=dtype)
    assert x.shape == (300, m.coord_dim(6)) and x.dtype == dtype
    o = m.origin(6, dtype)
    assert torch.all(m.dist(x, o) < 0.01) and torch.all(m.dist(o, o) == 0)
    torch.testing.assert_close(m.dist0(x), m.dist(x, o.expand_as(x)))
    huge = 1e8 * torch.randn(300, m.coord_dim(6), generator=g, dtype=dtype)
    for y in (m.expmap(x, m.egrad2rgrad(x, huge)), m.retr(x, huge), m.project(huge)):
        p = m.to_poincare(y)
        assert torch.isfinite(y).all()
        assert torch.linalg.vector_norm(p, dim=-1).max().item() <= numerics.max_norm(dtype)
    torch.testing.assert_close(m.to_poincare(m.from_poincare(m.to_poincare(x))), m.to_poincare(x))


def test_random_is_the_same_point_set_in_both_models():
    ball, hyp = PoincareBall(), Lorentz()
    a = ball.random(50, 4, 2.0, torch.Generator().manual_seed(3))
    b = hyp.random(50, 4, 2.0, torch.Generator().manual_seed(3))
    torch.testing.assert_close(hyp.to_poincare(b), a)
    # small radius: the reference's uniform initialisation, coordinates in [-r, r]
    c = ball.random(1000, 4, 1e-3, torch.Generator().manual_seed(4))
    assert c.abs().max().item() <= 1e-3 and c.abs().max().item() > 9e-4


def test_broadcasting_anchor_against_candidates():
    for m in (PoincareBall(), Lorentz()):
        g = torch.Generator().manual_seed(5)
        x = m.random(8, 3, 1.0, g)
        y = m.random(8 * 5, 3, 1.0, g).view(8, 5, -1)
        d = m.dist(x[:, None, :], y)
        assert d.shape == (8, 5)
        torch.testing.assert_close(d[2, 3], m.dist(x[2], y[2, 3]))


@pytest.mark.parametrize("name", sorted(MANIFOLDS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_fused_frame_steps_match_their_definitions(name, dtype):
    m = get_manifold(name)
    g = torch.Generator().manual_seed(6)
    x = m.random(200, 5, 1.5, g, dtype=dtype)
    egrad = torch.randn(200, m.coord_dim(5), generator=g, dtype=dtype)
    w = m.egrad_to_frame(x, egrad)
    torch.testing.assert_close(w, m.to_frame(x, m.egrad2rgrad(x, egrad)))
    w = 0.7 * torch.nn.functional.normalize(w, dim=-1)  # steps of length 0.7
    tol = {"rtol": 1e-4, "atol": 1e-4} if dtype == torch.float32 else {}
    u = m.from_frame(x, w)
    torch.testing.assert_close(m.expmap_frame(x, w), m.expmap(x, u), **tol)
    torch.testing.assert_close(m.retr_frame(x, w), m.retr(x, u), **tol)
    torch.testing.assert_close(m.dist(x, m.expmap_frame(x, w)), m.norm(x, u), **tol)
