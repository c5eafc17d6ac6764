"""Lorentz (hyperboloid) model of curvature -1: closed forms as pure torch functions.

Points are ``(..., dim + 1)`` tensors ``x = (x0, xs)`` with ``<x, x>_L = -1`` and
``x0 > 0``, where ``<x, y>_L = -x0 y0 + xs . ys``. Tangent vectors at ``x`` are
``(..., dim + 1)`` tensors with ``<x, u>_L = 0``. All functions broadcast over leading
dimensions and work in float32 and float64.

Distance: the textbook ``arccosh(-<x, y>_L)`` cancels catastrophically far from the
origin (``x0 y0 - xs . ys``, both terms ~ e^(2r)); measured in float64 for points 0.5
apart, its error is 2e-7 at radius 10, 2e-3 at 15 and 3.7 at 20. We use the exact
identity, via the Poincaré coordinates
``p = xs / (1 + x0)`` whose ``1 - |p|^2 = 2 / (1 + x0)`` needs no subtraction::

    d(x, y) = 2 asinh(|p - q| sqrt((1 + x0)(1 + y0)) / 2)

which is exactly 0 at x = y (with zero gradient) and as accurate as the coordinates.
"""

from __future__ import annotations

import torch

from . import numerics
from . import poincare as _poincare


def _norm(x: torch.Tensor) -> torch.Tensor:
    return torch.linalg.vector_norm(x, dim=-1, keepdim=True)


def inner(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Minkowski inner product ``-x0 y0 + xs . ys``: ``-> (..., 1)``."""
    return (x[..., 1:] * y[..., 1:]).sum(-1, keepdim=True) - x[..., :1] * y[..., :1]


def dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Geodesic distance: ``(..., dim+1), (..., dim+1) -> (...)`` (broadcasting)."""
    p = x[..., 1:] / (1.0 + x[..., :1])
    q = y[..., 1:] / (1.0 + y[..., :1])
    half = torch.sqrt((1.0 + x[..., :1]) * (1.0 + y[..., :1])) / 2.0
    return 2.0 * torch.asinh(_norm(p - q) * half).squeeze(-1)


def dist0(x: torch.Tensor) -> torch.Tensor:
    """Distance to the origin ``asinh(|xs|)`` (accurate also near 0, unlike arccosh(x0))."""
    return torch.asinh(_norm(x[..., 1:])).squeeze(-1)


def proju(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Project an ambient vector onto the tangent space at x: ``u + <x, u>_L x``."""
    return u + inner(x, u) * x


def egrad2rgrad(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Riemannian gradient: flip the sign of g0 (inverse metric), then :func:`proju`."""
    g = torch.cat((-g[..., :1], g[..., 1:]), dim=-1)
    return proju(x, g)


def _sinhc(n: torch.Tensor) -> torch.Tensor:
    # n is floored at eps, where sinh(n) / n == 1 in floating point.
    return torch.sinh(n) / n


def expmap(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Exponential map ``cosh(|u|) x + sinh(|u|) u / |u|`` (|u| Riemannian).

    The step length is capped at ``numerics.max_step`` so that cosh cannot overflow;
    any longer step leaves the allowed region anyway and projection brings it back.
    Not projected (the manifold class projects).
    """
    n = norm(x, u).unsqueeze(-1)
    capped = n.clamp(numerics.eps(u.dtype), numerics.max_step(u.dtype))
    u = u * (capped / n.clamp_min(numerics.eps(u.dtype)))
    return torch.cosh(capped) * x + _sinhc(capped) * u


def expmap0(u: torch.Tensor) -> torch.Tensor:
    """Exponential map at the origin; ``u (..., dim+1)`` with u0 ignored (taken as 0)."""
    us = u[..., 1:]
    n = _norm(us).clamp(numerics.eps(u.dtype), numerics.max_step(u.dtype))
    return torch.cat((torch.cosh(n), _sinhc(n) * us), dim=-1)


def logmap(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Logarithmic map ``log_x(y) = d / sinh(d) (y - cosh(d) x)``, projected to T_x."""
    d = dist(x, y).unsqueeze(-1)
    dc = d.clamp_min(numerics.eps(x.dtype))
    return proju(x, (dc / torch.sinh(dc)) * (y - torch.cosh(d) * x))


def logmap0(y: torch.Tensor) -> torch.Tensor:
    """``log_o(y) = (0, asinh(|ys|) ys / |ys|)``: ``(..., dim+1) -> (..., dim+1)``."""
    ys = y[..., 1:]
    n = _norm(ys).clamp_min(numerics.eps(y.dtype))
    return torch.cat((torch.zeros_like(y[..., :1]), torch.asinh(n) * ys / n), dim=-1)


def project(x: torch.Tensor) -> torch.Tensor:
    """Onto the hyperboloid: cap |xs| at ``max_lorentz_spatial``, recompute x0 from xs."""
    return from_spatial(x[..., 1:])


def from_spatial(xs: torch.Tensor) -> torch.Tensor:
    """The hyperboloid point over ``xs (..., dim)`` (capped): ``-> (..., dim+1)``."""
    n = _norm(xs)
    limit = numerics.max_lorentz_spatial(xs.dtype)
    xs = xs * torch.where(n > limit, limit / n.clamp_min(numerics.eps(xs.dtype)), 1.0)
    return torch.cat((torch.sqrt(1.0 + (xs * xs).sum(-1, keepdim=True)), xs), dim=-1)


def to_frame(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Parallel transport of ``u`` (at x) to the origin, as ``(..., dim)`` coordinates.

    ``P_{x->o}(u) = u - u0 / (1 + x0) (x + o)``; its time part is 0 and its spatial
    part is in orthonormal coordinates of T_o (norm preserved).
    """
    return u[..., 1:] - (u[..., :1] / (1.0 + x[..., :1])) * x[..., 1:]


def from_frame(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`to_frame`: ``(..., dim)`` at the origin -> tangent at x."""
    xw = (x[..., 1:] * w).sum(-1, keepdim=True)
    return torch.cat((xw, w + (xw / (1.0 + x[..., :1])) * x[..., 1:]), dim=-1)


def norm(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Riemannian norm of tangent vectors, via :func:`to_frame` (no cancellation)."""
    return _norm(to_frame(x, u)).squeeze(-1)


def to_poincare(x: torch.Tensor) -> torch.Tensor:
    """``p = xs / (1 + x0)``, projected into the ball: ``(..., dim+1) -> (..., dim)``."""
    return _poincare.project(x[..., 1:] / (1.0 + x[..., :1]))


def from_poincare(p: torch.Tensor) -> torch.Tensor:
    """``xs = 2 p / (1 - |p|^2)``, x0 recomputed: ``(..., dim) -> (..., dim+1)``."""
    p = _poincare.project(p)
    return from_spatial(2.0 * p / (1.0 - (p * p).sum(-1, keepdim=True)))


def egrad_to_frame(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``to_frame(x, egrad2rgrad(x, g))``: the Riemannian gradient as ``(..., dim)``."""
    return to_frame(x, egrad2rgrad(x, g))


def expmap_frame(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``project(exp_x(from_frame(x, w)))``; the step length is ``|w|`` (frame is isometric)."""
    u = from_frame(x, w)
    n = _norm(w)
    capped = n.clamp(numerics.eps(w.dtype), numerics.max_step(w.dtype))
    u = u * (capped / n.clamp_min(numerics.eps(w.dtype)))
    return project(torch.cosh(capped) * x + _sinhc(capped) * u)


def retr_frame(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``project(x + from_frame(x, w))``: the first-order retraction."""
    return project(x + from_frame(x, w))
