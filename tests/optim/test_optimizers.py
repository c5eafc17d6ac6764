"""Sparse Riemannian SGD and Adam: closed forms, sparsity, staying inside, checkpoints."""

from __future__ import annotations

import io

import pytest
import torch

from hyptax.errors import ConfigError
from hyptax.manifolds import MANIFOLDS, get_manifold, numerics
from hyptax.manifolds import poincare as P
from hyptax.optim import OPTIMIZERS, RiemannianSGD, make_optimizer, sparse_rows

DTYPES = (torch.float32, torch.float64)
CASES = [(o, m) for o in sorted(OPTIMIZERS) for m in sorted(MANIFOLDS)]


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def egrad_of_distance(manifold, weight, rows, targets):
    """Euclidean gradient of sum_i d(weight[i], targets[i]) over ``rows``: ``(k, c)``."""
    x = weight[rows].clone().requires_grad_()
    manifold.dist(x, targets[rows]).sum().backward()
    return x.grad


def test_rsgd_retraction_is_the_reference_update():
    ball = get_manifold("poincare")
    w = ball.random(20, 5, 0.5, torch.Generator().manual_seed(0))
    x0, g = w.clone(), torch.randn(20, 5, generator=seeded(42), dtype=w.dtype)
    rows = torch.arange(0, 20, 2)
    RiemannianSGD(w, ball, lr=0.3, retraction=True).step(rows, g[rows])
    expected = P.project(x0 - 0.3 * (1 - (x0 * x0).sum(-1, keepdim=True)) ** 2 / 4 * g)
    torch.testing.assert_close(w[rows], expected[rows])
    assert torch.equal(w[1::2], x0[1::2])


@pytest.mark.parametrize("name", sorted(MANIFOLDS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_rsgd_exact_step_length_and_clipping(name, dtype):
    m = get_manifold(name)
    w = m.random(50, 4, 2.0, torch.Generator().manual_seed(1), dtype=dtype)
    x0, rows = w.clone(), torch.arange(50)
    g = torch.randn(w.shape, generator=seeded(42), dtype=dtype)
    RiemannianSGD(w, m, lr=0.01).step(rows, g)
    length = 0.01 * m.norm(x0, m.egrad2rgrad(x0, g))
    rtol = 5e-3 if dtype == torch.float32 else 1e-6
    torch.testing.assert_close(m.dist(x0, w), length, rtol=rtol, atol=rtol * 0.01)
    w.copy_(x0)
    RiemannianSGD(w, m, lr=0.01, max_grad_norm=1.0).step(rows, 1e3 * g)
    assert m.dist(x0, w).max().item() <= 0.01 * (1 + rtol)


@pytest.mark.parametrize(("opt", "name"), CASES)
def test_only_touched_rows_move(opt, name):
    m = get_manifold(name)
    w = m.random(100, 3, 0.1, torch.Generator().manual_seed(2))
    x0 = w.clone()
    o = make_optimizer(opt, w, m, lr=0.1)
    rows = torch.tensor([3, 7, 50])
    o.step(rows, torch.ones(3, w.shape[1], dtype=w.dtype))
    moved = (w != x0).any(-1).nonzero().flatten()
    assert moved.tolist() == [3, 7, 50]
    if opt == "radam":
        assert o.steps.nonzero().flatten().tolist() == [3, 7, 50]
        assert torch.all(o.exp_avg[[0, 1, 99]] == 0)


@pytest.mark.parametrize(("opt", "name"), CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_converges_on_random_batches(opt, name, dtype):
    m = get_manifold(name)
    g = torch.Generator().manual_seed(3)
    w = m.random(200, 5, 1e-3, g, dtype=dtype)
    targets = m.random(200, 5, 3.0, g, dtype=dtype)
    o = make_optimizer(opt, w, m, lr=0.3 if opt == "radam" else 0.5)
    start = m.dist(w, targets).mean().item()
    for _ in range(300):
        rows = torch.randperm(200, generator=g)[:50].sort().values
        o.step(rows, egrad_of_distance(m, w, rows, targets))
    assert start > 2.0
    assert m.dist(w, targets).mean().item() < 0.1 * start


@pytest.mark.parametrize(("opt", "name"), CASES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_stays_inside_under_absurd_learning_rates(opt, name, dtype):
    m = get_manifold(name)
    g = torch.Generator().manual_seed(4)
    w = m.random(300, 10, 1e-3, g, dtype=dtype)
    o = make_optimizer(opt, w, m, lr=100.0)
    for _ in range(30):
        rows = torch.randperm(300, generator=g)[:100]
        o.step(rows, 1e6 * torch.randn(100, w.shape[1], generator=g, dtype=dtype))
        assert torch.isfinite(w).all()
        norms = torch.linalg.vector_norm(m.to_poincare(w), dim=-1)
        assert norms.max().item() <= numerics.max_norm(dtype) < 1.0
    if name == "lorentz":
        assert torch.equal(w[:, 0], torch.sqrt(1 + (w[:, 1:] ** 2).sum(-1)))


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_both_models_follow_the_same_trajectory(opt):
    """Same objective, same start: the Poincaré and Lorentz runs agree (the frame at the
    origin is the same orthonormal frame in both models)."""
    ball, hyp = get_manifold("poincare"), get_manifold("lorentz")
    g = seeded(5)
    wp = ball.random(40, 3, 0.5, g)
    tp = ball.random(40, 3, 2.0, g)
    wl, tl = hyp.from_poincare(wp), hyp.from_poincare(tp)
    start = ball.dist(wp, tp).mean().item()
    op, ol = make_optimizer(opt, wp, ball, lr=0.1), make_optimizer(opt, wl, hyp, lr=0.1)
    for _ in range(40):
        rows = torch.randperm(40, generator=g)[:15]
        op.step(rows, egrad_of_distance(ball, wp, rows, tp))
        ol.step(rows, egrad_of_distance(hyp, wl, rows, tl))
    assert ball.dist(wp, tp).mean().item() < 0.7 * start
    assert ball.dist(wp, hyp.to_poincare(wl)).max().item() < 1e-8


@pytest.mark.parametrize(("opt", "name"), CASES)
def test_state_dict_resumes_exactly(opt, name):
    m = get_manifold(name)

    def run(w, o, seed, steps):
        g = torch.Generator().manual_seed(seed)
        targets = m.random(60, 4, 2.0, torch.Generator().manual_seed(99))
        for _ in range(steps):
            rows = torch.randperm(60, generator=g)[:20]
            o.step(rows, egrad_of_distance(m, w, rows, targets), lr=0.07)

    w1 = m.random(60, 4, 0.01, torch.Generator().manual_seed(6))
    o1 = make_optimizer(opt, w1, m, lr=0.1, max_grad_norm=1.0)
    run(w1, o1, 0, 10)
    buf = io.BytesIO()
    torch.save({"w": w1.clone(), "opt": o1.state_dict()}, buf)
    run(w1, o1, 1, 10)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)
    w2 = saved["w"]
    o2 = make_optimizer(opt, w2, m, lr=5.0)
    o2.load_state_dict(saved["opt"])
    assert o2.lr == 0.1 and o2.max_grad_norm == 1.0
    run(w2, o2, 1, 10)
    assert torch.equal(w1, w2)


def test_errors_and_helpers():
    m = get_manifold("poincare")
    w = m.random(5, 2, 0.1)
    with pytest.raises(ConfigError, match="rsgd, radam"):
        make_optimizer("adagrad", w, m, lr=0.1)
    with pytest.raises(ConfigError, match="learning rate"):
        make_optimizer("rsgd", w, m, lr=0.0)
    with pytest.raises(ConfigError, match="betas"):
        make_optimizer("radam", w, m, lr=0.1, betas=(1.0, 0.9))
    with pytest.raises(ConfigError, match="'radam', not 'rsgd'"):
        make_optimizer("rsgd", w, m, lr=0.1).load_state_dict({"kind": "radam"})
    with pytest.raises(ValueError, match="egrad must have shape"):
        make_optimizer("rsgd", w, m, lr=0.1).step(torch.tensor([0, 1]), torch.ones(3, 2))
    rows, summed = sparse_rows(torch.tensor([4, 1, 4]), torch.tensor([[1.0], [2.0], [3.0]]))
    assert rows.tolist() == [1, 4] and summed.flatten().tolist() == [2.0, 4.0]


@pytest.mark.parametrize("name", sorted(MANIFOLDS))
def test_radam_moves_lr_per_step_and_corrects_bias_per_row(name):
    """A steady gradient moves each row by lr per step, whenever the row first appears."""
    m = get_manifold(name)
    w = m.random(10, 4, 1.0, seeded(7))
    g = torch.randn(10, w.shape[1], generator=seeded(8), dtype=w.dtype)
    o = make_optimizer("radam", w, m, lr=0.05)
    for _ in range(5):  # rows 0-4 only
        o.step(torch.arange(5), g[:5])
    before = w.clone()
    o.step(torch.arange(10), g)  # rows 5-9 take their first step, 0-4 their sixth
    torch.testing.assert_close(
        m.dist(before, w), torch.full((10,), 0.05, dtype=w.dtype), rtol=0.05, atol=0
    )
    assert o.steps.tolist() == [6] * 5 + [1] * 5
