"""Poincaré ball of curvature -1: closed forms as pure torch functions.

Points are ``(..., dim)`` tensors with norm < 1; tangent vectors at ``x`` are
``(..., dim)`` tensors in the ambient (Euclidean) coordinates, with the Riemannian
metric ``lambda_x^2 <u, v>`` where ``lambda_x = 2 / (1 - |x|^2)``. All functions
broadcast over leading dimensions and work in float32 and float64. Inputs are assumed
strictly inside the ball (run :func:`project` first); an outside point gives NaN
rather than a silently clamped value.

Distance: ``d(x, y) = 2 asinh(|x - y| / sqrt((1 - |x|^2)(1 - |y|^2)))``. It equals the
textbook ``arccosh(1 + 2 |x-y|^2 / ((1-|x|^2)(1-|y|^2)))`` but keeps full relative
precision for small distances (arccosh(1 + z) loses half the digits of z and its
derivative is infinite at z = 0, so d(x, x) would give NaN gradients), is exactly 0 at
x = y with zero (finite) gradient, and needs no clamp near the rim; its errors against
mpmath, beside those of the arccosh and Möbius forms, are in ``benchmarks/MEASURED.md``.

Exp/log over long geodesics cancel digits (Möbius addition of points near the rim):
exp(log) round trips are good to 1e-6 up to radius 8 in float64 but only up to radius
~3 in float32. The optimisers take short steps (:func:`expmap_frame`), which keep their
length to the dtype's resolution up to the rim (tests/manifolds/).
"""

from __future__ import annotations

import torch

from . import numerics


def _sqnorm(x: torch.Tensor) -> torch.Tensor:
    return (x * x).sum(-1, keepdim=True)


def _norm(x: torch.Tensor) -> torch.Tensor:
    # vector_norm has a zero (not NaN) gradient at 0, which keeps d(x, x) differentiable.
    return torch.linalg.vector_norm(x, dim=-1, keepdim=True)


def conformal_factor(x: torch.Tensor) -> torch.Tensor:
    """``lambda_x = 2 / (1 - |x|^2)``: ``(..., dim) -> (..., 1)``."""
    return 2.0 / (1.0 - _sqnorm(x))


def dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Geodesic distance: ``(..., dim), (..., dim) -> (...)`` (broadcasting).

    For a batch of anchors against candidates pass ``x (b, 1, dim)`` and
    ``y (b, k, dim)``; the conformal terms are computed on the unbroadcast shapes.
    """
    gap = torch.sqrt((1.0 - _sqnorm(x)) * (1.0 - _sqnorm(y)))
    return 2.0 * torch.asinh(_norm(x - y) / gap).squeeze(-1)


def dist0(x: torch.Tensor) -> torch.Tensor:
    """Distance to the origin ``2 atanh(|x|)``: ``(..., dim) -> (...)``."""
    return 2.0 * torch.atanh(_norm(x)).squeeze(-1)


def mobius_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Möbius addition ``x (+) y``: ``(..., dim), (..., dim) -> (..., dim)``."""
    x2, y2, xy = _sqnorm(x), _sqnorm(y), (x * y).sum(-1, keepdim=True)
    num = (1.0 + 2.0 * xy + y2) * x + (1.0 - x2) * y
    # The denominator is >= (1 - |x||y|)^2 > 0 inside the ball; the floor only
    # guards the degenerate x = -y on the rim.
    den = (1.0 + 2.0 * xy + x2 * y2).clamp_min(numerics.eps(x.dtype))
    return num / den


def expmap(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Exponential map ``exp_x(u) = x (+) tanh(lambda_x |u| / 2) u / |u|``.

    Shapes ``(..., dim), (..., dim) -> (..., dim)``. Not projected: a long step from
    near the rim may land on it; the manifold class projects.
    """
    un = _norm(u).clamp_min(numerics.eps(u.dtype))
    second = torch.tanh(conformal_factor(x) * un / 2.0) * (u / un)
    return mobius_add(x, second)


def expmap0(u: torch.Tensor) -> torch.Tensor:
    """``exp_0(u) = tanh(|u|) u / |u|``: ``(..., dim) -> (..., dim)``."""
    un = _norm(u).clamp_min(numerics.eps(u.dtype))
    return torch.tanh(un) * (u / un)


def logmap(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Logarithmic map ``log_x(y)``: tangent vector at x of Riemannian length d(x, y).

    Direction from ``-x (+) y``, length from the stable :func:`dist` (the textbook
    ``atanh(|-x (+) y|)`` loses digits when the result is near the rim).
    """
    w = mobius_add(-x, y)
    wn = _norm(w).clamp_min(numerics.eps(w.dtype))
    return (dist(x, y).unsqueeze(-1) / conformal_factor(x)) * (w / wn)


def logmap0(y: torch.Tensor) -> torch.Tensor:
    """``log_0(y) = atanh(|y|) y / |y|``: ``(..., dim) -> (..., dim)``."""
    yn = _norm(y).clamp_min(numerics.eps(y.dtype))
    return torch.atanh(yn) * (y / yn)


def project(x: torch.Tensor) -> torch.Tensor:
    """Scale rows with norm > max_norm(dtype) back to that radius (others untouched)."""
    n = _norm(x)
    limit = numerics.project_norm(x.dtype)
    scale = torch.where(n > limit, limit / n.clamp_min(numerics.eps(x.dtype)), 1.0)
    return x * scale


def egrad2rgrad(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Riemannian gradient ``g / lambda_x^2 = g (1 - |x|^2)^2 / 4``."""
    return g * ((1.0 - _sqnorm(x)) ** 2 / 4.0)


def norm(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Riemannian norm of tangent vectors ``lambda_x |u|``: ``-> (...)``."""
    return (conformal_factor(x) * _norm(u)).squeeze(-1)


def to_frame(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Parallel transport of ``u`` (at x) to the origin, in orthonormal coordinates.

    The transport x -> 0 is ``u lambda_x / 2`` and the orthonormal coordinates at 0
    are twice the Euclidean ones, so the result is ``lambda_x u`` (norm preserved).
    """
    return conformal_factor(x) * u


def from_frame(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_frame`: orthonormal coordinates at 0 -> tangent at x."""
    return w * ((1.0 - _sqnorm(x)) / 2.0)


def egrad_to_frame(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``to_frame(x, egrad2rgrad(x, g)) = g (1 - |x|^2) / 2`` in one pass: ``-> (..., dim)``."""
    return g * ((1.0 - _sqnorm(x)) / 2.0)


def expmap_frame(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``project(exp_x(from_frame(x, w)))``, fused: the optimisers' step.

    With ``u = from_frame(x, w)`` the exp-map's second operand is
    ``tanh(|w| / 2) w / |w|``, so the step needs only the per-row scalars ``|x|^2``,
    ``|w|`` and ``x . w`` before one Möbius combination ``(a x + b w) / den``.
    Shapes ``(k, dim), (k, dim) -> (k, dim)``.
    """
    x2 = _sqnorm(x)
    wn = _norm(w).clamp_min(numerics.eps(w.dtype))
    t = torch.tanh(wn / 2.0)
    xy = (x * w).sum(-1, keepdim=True) * (t / wn)  # <x, y> with y = t w / |w|
    y2 = t * t
    den = (1.0 + 2.0 * xy + x2 * y2).clamp_min(numerics.eps(x.dtype))
    a = (1.0 + 2.0 * xy + y2) / den
    b = (1.0 - x2) * t / (wn * den)
    return project(torch.addcmul(a * x, b, w))


def retr_frame(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``project(x + from_frame(x, w))``: the first-order retraction in frame coordinates."""
    return project(torch.addcmul(x, w, (1.0 - _sqnorm(x)) / 2.0))
