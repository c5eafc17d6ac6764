import numpy as np
import pytest
import torch

from hyptax.losses import LOSSES
from hyptax.manifolds import get_manifold
from hyptax.training import fused

pytestmark = pytest.mark.skipif(fused.numba is None, reason="numba is not installed")
BALL = get_manifold("poincare")


def batch(dtype, seed=0, u=300, b=96, k=12):
    x = BALL.random(u, 6, radius=2.5, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    rng = np.random.default_rng(seed)
    local = rng.integers(0, u, (b, 2 + k))
    local[0, 5] = local[0, 0]  # a negative equal to its anchor: zero distance
    mask = rng.random((b, k)) < 0.2
    return x, local, mask


def autograd(x, local, mask, loss, margin):
    x = x.clone().requires_grad_()
    idx = torch.from_numpy(local)
    dist = BALL.dist(x[idx[:, :1]], x[idx[:, 1:]])
    value = LOSSES[loss](dist, None if mask is None else torch.from_numpy(mask), margin=margin)
    value.backward()
    return value.item(), x.grad


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-4)])
@pytest.mark.parametrize("loss", ["softmax", "margin"])
@pytest.mark.parametrize("masked", [False, True])
def test_matches_autograd(dtype, tol, loss, masked):
    x, local, mask = batch(dtype)
    mask = mask if masked else None
    want_loss, want_grad = autograd(x, local, mask, loss, 0.5)
    got_loss, got_grad = fused.loss_and_grad(x, local, mask, loss=loss, margin=0.5)
    assert got_grad.dtype == dtype and got_grad.shape == x.shape
    assert got_loss == pytest.approx(want_loss, rel=tol)
    scale = want_grad.abs().max()
    assert ((got_grad - want_grad).abs().max() / scale).item() < tol * 10


def test_threads_split_deterministically(monkeypatch):
    x, local, mask = batch(torch.float64, b=400)
    monkeypatch.setattr(fused, "PARALLEL_MIN_PAIRS", 100)
    one_loss, one = fused.loss_and_grad(x, local, mask, loss="softmax", threads=1)
    two_loss, two = fused.loss_and_grad(x, local, mask, loss="softmax", threads=2)
    again_loss, again = fused.loss_and_grad(x, local, mask, loss="softmax", threads=2)
    assert torch.equal(two, again) and two_loss == again_loss
    assert torch.allclose(one, two, rtol=1e-12, atol=1e-15)
    assert one_loss == pytest.approx(two_loss, rel=1e-12)


def test_available():
    cpu = torch.device("cpu")
    assert fused.available("poincare", "softmax", cpu)
    assert not fused.available("lorentz", "softmax", cpu)
    assert not fused.available("poincare", "softmax", torch.device("cuda", 0))


@pytest.mark.skipif(fused.numba is None, reason="needs numba")
@pytest.mark.parametrize("chosen", ["default", "omp"])
def test_threading_layer_is_restored(monkeypatch, chosen):
    monkeypatch.setattr(fused.numba.config, "THREADING_LAYER", chosen)
    with fused.calm_numba_threads():
        inside = fused.numba.config.THREADING_LAYER
    assert inside == ("workqueue" if chosen == "default" else chosen)  # a user's choice stays
    assert fused.numba.config.THREADING_LAYER == chosen
