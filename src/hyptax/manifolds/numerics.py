"""Every epsilon, clamp and max-norm of hyptax, keyed by dtype.

No other module holds a literal epsilon: they all ask here. Only float32 and float64
are supported (float64 is the safe default for deep taxonomies).

Poincaré ball radius (``max_norm``) and what it buys, curvature -1:

============  ================  ==========================  ==============================
dtype         1 - max_norm      max distance from origin    radial resolution at the rim
============  ================  ==========================  ==============================
float32       1e-5              ~12.16                      ~6e-3 (one ulp of the radius)
float64       1e-11             ~26.02                      ~1e-5
============  ================  ==========================  ==============================

The maximum distance is ``2 atanh(project_norm)``: projection aims 4 ulps inside
``max_norm`` so that rounding never takes a projected point past it (measured: 2 ulps
suffice for 1e5 random points in dims 2-300; 4 for margin), which in float32 costs
0.05 of the 12.21 that ``max_norm`` itself would allow.

The radial resolution is ``ulp(1) / (1 - max_norm)``: how far apart (in hyperbolic
distance) two points on the same ray can be told apart at the rim. The values above
keep it small (float64: 1e-5, so a tree ~40 levels deep at ~0.65 per level still
separates) while leaving float32 usable (its ulp near 1 is 6e-8; a tighter rim would
make the rim a few ulps wide). The Lorentz model uses the same maximum distance from
the origin (:func:`max_dist0`), so conversions between the two never leave the ball.
"""

from __future__ import annotations

import math

import torch

SUPPORTED_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float64)

_RIM: dict[torch.dtype, float] = {torch.float32: 1e-5, torch.float64: 1e-11}
"""``1 - max_norm`` per dtype (see the table above)."""

_EPS: dict[torch.dtype, float] = {torch.float32: 1e-15, torch.float64: 1e-30}
"""Floor for norms that are divided by (u / |u| when u = 0); far below any real step."""

_PROJECT_MARGIN_ULPS = 4
"""Projection aims this many ulps below the radius so that the recomputed norm of a
projected point never exceeds ``max_norm`` through rounding."""

ADAM_EPS = 1e-8
"""Default denominator term of Riemannian Adam (the usual Adam value)."""


def _check(dtype: torch.dtype) -> None:
    if dtype not in _RIM:
        names = ", ".join(str(d).removeprefix("torch.") for d in SUPPORTED_DTYPES)
        raise TypeError(f"hyptax geometry supports {names}, not {dtype}")


def eps(dtype: torch.dtype) -> float:
    """Smallest norm used as a divisor (guards 0 / 0, never touches a real value)."""
    _check(dtype)
    return _EPS[dtype]


def max_norm(dtype: torch.dtype) -> float:
    """Radius of the closed ball every Poincaré point is projected into (< 1)."""
    _check(dtype)
    return 1.0 - _RIM[dtype]


def project_norm(dtype: torch.dtype) -> float:
    """Radius a projected point is scaled to: ``max_norm`` less a few ulps."""
    return max_norm(dtype) * (1.0 - _PROJECT_MARGIN_ULPS * torch.finfo(dtype).eps)


def max_dist0(dtype: torch.dtype) -> float:
    """Largest distance from the origin a projected point has, ``2 atanh(project_norm)``.

    float32: ~12.16, float64: ~26.02.
    """
    r = project_norm(dtype)
    return math.log((1.0 + r) / (1.0 - r))


def radial_resolution(dtype: torch.dtype) -> float:
    """``ulp(1) / (1 - max_norm)``: the smallest difference in distance from the origin
    that ``dtype`` can tell apart at the rim (float64: ~2.2e-5, float32: ~1.2e-2).
    Evaluation counts radii closer than this as ties."""
    _check(dtype)
    return torch.finfo(dtype).eps / _RIM[dtype]


def max_lorentz_spatial(dtype: torch.dtype) -> float:
    """Largest spatial norm ``|x_s| = sinh(max_dist0)`` of a Lorentz point (a few ulps less)."""
    return math.sinh(max_dist0(dtype)) * (1.0 - _PROJECT_MARGIN_ULPS * torch.finfo(dtype).eps)


def max_step(dtype: torch.dtype) -> float:
    """Longest tangent vector the Lorentz exp-map follows (cosh must not overflow).

    Twice :func:`max_dist0`: a longer step lands beyond the allowed region from any
    allowed start, and projection brings it back to the rim either way.
    """
    return 2.0 * max_dist0(dtype)
