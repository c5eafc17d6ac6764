import math

import numpy as np
import pytest
import torch

from hyptax.losses import (
    LOSSES,
    depth_regulariser,
    margin_loss,
    softmax_loss,
    target_radius,
)

DIST = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]], dtype=torch.float64)


def test_softmax_loss_by_hand():
    rows = [[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]]
    by_hand = [d[0] + math.log(sum(math.exp(-x) for x in d)) for d in rows]
    assert softmax_loss(DIST).item() == pytest.approx(sum(by_hand) / 2, rel=1e-12)


def test_softmax_loss_mask_drops_the_slot():
    mask = torch.tensor([[False, True], [False, False]])
    masked = softmax_loss(DIST, mask)
    row0 = 1.0 + math.log(math.exp(-1.0) + math.exp(-2.0))
    row1 = 0.5 + math.log(2 * math.exp(-0.5) + math.exp(-4.0))
    assert masked.item() == pytest.approx((row0 + row1) / 2, rel=1e-12)


def test_margin_loss_by_hand():
    # hinge = relu(0.2 + d_pos - d_neg): row0: 0, 0; row1: 0.2, 0
    assert margin_loss(DIST, margin=0.2).item() == pytest.approx(0.2 / 4)
    mask = torch.tensor([[True, True], [False, True]])
    assert margin_loss(DIST, mask, margin=0.2).item() == pytest.approx(0.2)


def test_losses_share_a_signature():
    for loss in LOSSES.values():
        assert torch.isfinite(loss(DIST, None, margin=0.1))


def test_softmax_loss_gradcheck():
    d = (torch.rand(4, 6, dtype=torch.float64) * 3).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: softmax_loss(x), (d,))


def test_softmax_prefers_close_positives():
    near = torch.tensor([[0.1, 3.0, 3.0]], dtype=torch.float64)
    far = torch.tensor([[3.0, 0.1, 0.1]], dtype=torch.float64)
    assert softmax_loss(near) < 0.2 < 3.0 < softmax_loss(far)


def test_target_radius_is_linear_in_depth():
    r = target_radius(np.array([0, 1, 2, 4]), max_norm=0.9)
    top = 2 * math.atanh(0.9)
    assert r.tolist() == pytest.approx([0.0, top / 4, top / 2, top])
    assert target_radius(np.array([0, 0]), max_norm=0.5).tolist() == [0.0, 0.0]


def test_depth_regulariser():
    d0 = torch.tensor([1.0, 2.0], dtype=torch.float64)
    t = torch.tensor([1.5, 1.0], dtype=torch.float64)
    assert depth_regulariser(d0, t).item() == pytest.approx((0.25 + 1.0) / 2)
