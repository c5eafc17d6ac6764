"""Extended precision (polar points with fixed-point direction limbs) against exact
integer arithmetic and 200-digit mpmath."""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyptax.manifolds import extended as X
from hyptax.manifolds.extended import LIMB_BITS, MAX_RADIUS, Polar, limbs_for, radius_held

DPS = 200


def limbs_of(big: int, n_limbs: int) -> list[float]:
    """The limbs of ``big 2^-(52 L)``: from the top down, each the nearest multiple of
    its quantum to what the limbs above leave (exact: integer arithmetic)."""
    out = []
    for level in range(n_limbs):
        shift = LIMB_BITS * (n_limbs - 1 - level)
        digit = (big + ((1 << shift) >> 1)) >> shift
        big -= digit << shift
        out.append(math.ldexp(digit, -LIMB_BITS * (level + 1)))
    return out


def value(limbs: np.ndarray) -> list[Fraction]:
    """The exact sum of the limbs ``(..., L, dim)`` over the limbs, flattened."""
    flat = np.moveaxis(limbs, -2, -1).reshape(-1, limbs.shape[-2])
    return [sum((Fraction(float(v)) for v in row), Fraction(0)) for row in flat]


def laid_out(limbs: np.ndarray) -> bool:
    """Limb ``l`` a multiple of ``2^-(52 (l + 1))`` and, below the top, in ``[-h, h)``
    for ``h`` half the quantum of the limb above: the layout every function keeps."""
    for level in range(limbs.shape[-2]):
        q = 2.0 ** (-LIMB_BITS * (level + 1))
        limb = limbs[..., level, :]
        if not np.array_equal(np.round(limb / q), limb / q):
            return False
        half = q * 2.0 ** (LIMB_BITS - 1)
        if level and not ((limb >= -half) & (limb < half)).all():
            return False
    return True


# --------------------------------------------------------------------- distances
def _unit(rng: np.random.Generator, dim: int) -> list[mpmath.mpf]:
    v = [mpmath.mpf(float(g)) for g in rng.standard_normal(dim)]
    norm = mpmath.sqrt(mpmath.fsum(c * c for c in v))
    return [c / norm for c in v]


def _turned(u: list, rng: np.random.Generator, angle: mpmath.mpf) -> list:
    g = _unit(rng, len(u))
    dot = mpmath.fsum(a * b for a, b in zip(g, u, strict=True))
    e = [a - dot * b for a, b in zip(g, u, strict=True)]
    norm = mpmath.sqrt(mpmath.fsum(c * c for c in e))
    return [mpmath.cos(angle) * a + mpmath.sin(angle) * b / norm for a, b in zip(u, e, strict=True)]


def _reference(r_a: float, u_a: list, r_b: float, u_b: list) -> mpmath.mpf:
    """The Poincaré-ball distance of ``tanh(r / 2) u``, at :data:`DPS` digits."""
    ta, tb = mpmath.tanh(mpmath.mpf(r_a) / 2), mpmath.tanh(mpmath.mpf(r_b) / 2)
    sq = mpmath.fsum((ta * a - tb * b) ** 2 for a, b in zip(u_a, u_b, strict=True))
    gap_a = 1 - ta**2 * mpmath.fsum(a * a for a in u_a)
    gap_b = 1 - tb**2 * mpmath.fsum(b * b for b in u_b)
    return 2 * mpmath.asinh(mpmath.sqrt(sq / (gap_a * gap_b)))


def _pairs(R: float, dim: int, cs: list[float], offsets: list[float], seed: int) -> tuple:
    """Polar points for pairs ``(2k, 2k + 1)``: the first ``R - 0.5`` from the origin,
    the second ``offsets[k]`` further out and ``cs[k] exp(-R)`` away in angle (a
    negative ``c``: an independent direction); and the 200-digit distances."""
    rng = np.random.default_rng(seed)
    n_limbs = limbs_for(R)
    radius, limbs, ref = [], [], []
    with mpmath.workdps(DPS):
        for c, off in zip(cs, offsets, strict=True):
            r_a = R - 0.5
            r_b = r_a + off
            u_a = _unit(rng, dim)
            u_b = _unit(rng, dim) if c < 0 else _turned(u_a, rng, c * mpmath.exp(-mpmath.mpf(R)))
            for u in (u_a, u_b):
                big = [int(mpmath.nint(mpmath.ldexp(x, LIMB_BITS * n_limbs))) for x in u]
                limbs.append([limbs_of(b, n_limbs) for b in big])
            radius += [r_a, r_b]
            ref.append(_reference(r_a, u_a, r_b, u_b))
    polar = Polar(np.array(radius), np.array(limbs).transpose(0, 2, 1).copy())
    return polar, ref


def _worst(polar: Polar, ref: list) -> float:
    i = np.arange(0, polar.n, 2)
    d = polar.dist(i, i + 1)
    with mpmath.workdps(30):
        return max(float(abs(mpmath.mpf(float(v)) - r) / r) for v, r in zip(d, ref, strict=True))


@pytest.mark.parametrize("dim", [2, 10])
@pytest.mark.parametrize("R", [30.0, radius_held(2), 150.0, 300.0, MAX_RADIUS])
def test_dist_agrees_with_mpmath(R, dim):
    """Siblings (same radius, directions 0.3-300 exp(-R) apart), parents and children
    (0.5-3 apart on nearly one ray) and far pairs, to relative 1e-12; the second radius
    is the largest two limbs hold, where ``limbs_for`` leaves no bits to spare."""
    cs = [0.3, 3.0, 30.0, 300.0, 0.01, 1.0, -1.0, -1.0]
    offsets = [0.0, 0.0, 0.0, 0.0, 0.5, -3.0, -R / 2, -0.2]
    polar, ref = _pairs(R, dim, cs, offsets, seed=int(R) * 10 + dim)
    assert _worst(polar, ref) < 1e-12


def test_close_pairs_at_max_radius_keep_their_digits():
    """Pairs 1e-5 apart at radius 350: their squared direction differences (~1e-314)
    are subnormal unless scaled (:data:`extended.SQ_SCALE`)."""
    polar, ref = _pairs(MAX_RADIUS, 10, [3e-5, 1e-4, 1e-3], [0.0, 0.0, 0.0], seed=7)
    assert float(ref[0]) < 2e-5
    assert _worst(polar, ref) < 1e-12


# --------------------------------------------------------------------- the arithmetic
def test_add_then_subtract_restores_the_limbs():
    rng = np.random.default_rng(0)
    n_limbs = 4
    start = X.split(rng.uniform(-0.5, 0.5, (200, 3)), n_limbs)
    X.add(start, rng.uniform(-1, 1, (200, 3)) * 2.0 ** -rng.integers(1, 200, (200, 3)))
    limbs = start.copy()
    delta = rng.uniform(-1, 1, (200, 3)) * 2.0 ** -rng.integers(1, 200, (200, 3))
    X.add(limbs, delta)
    assert not np.array_equal(limbs, start)
    X.add(limbs, -delta)
    assert np.array_equal(limbs, start)


def test_many_small_deltas_sum_exactly():
    """500 deltas: exactly their sum where each is a multiple of the last quantum,
    within half a quantum each where they reach below it; the layout kept throughout."""
    rng = np.random.default_rng(1)
    n_limbs, n, q_last = 4, 8, 2.0 ** (-LIMB_BITS * 4)
    aligned, rounded = np.zeros((n, n_limbs, 1)), np.zeros((n, n_limbs, 1))
    total_aligned, total_rounded = [Fraction(0)] * n, [Fraction(0)] * n
    for _ in range(500):
        for limbs, totals, low, high in ((aligned, total_aligned, 13, 150),
                                         (rounded, total_rounded, 140, 200)):  # fmt: skip
            mantissa = rng.integers(2**52, 2**53, n).astype(np.float64) * rng.choice([-1, 1], n)
            delta = np.ldexp(mantissa, -rng.integers(low, high, n) - 52)
            X.add(limbs, delta[:, None])
            totals[:] = [t + Fraction(float(d)) for t, d in zip(totals, delta, strict=True)]
    assert value(aligned) == total_aligned
    # one layout per value: the limbs that integer arithmetic gives the same sums
    ints = [int(t * 2 ** (LIMB_BITS * n_limbs)) for t in total_aligned]
    assert np.array_equal(aligned, np.array([limbs_of(b, n_limbs) for b in ints])[:, :, None])
    errors = [abs(v - t) for v, t in zip(value(rounded), total_rounded, strict=True)]
    assert 0 < max(errors) <= 500 * q_last / 2
    assert laid_out(aligned) and laid_out(rounded)


@settings(max_examples=150, deadline=None)
@given(
    n_limbs=st.sampled_from([2, 4, 11]),
    start=st.integers(-(2**600), 2**600),
    bits=st.integers(10, 571),
    low=st.integers(0, 2**600),
    sign=st.sampled_from([-1, 1]),
    across=st.integers(0, 10),
)
def test_difference_keeps_relative_precision(n_limbs, start, bits, low, sign, across):
    """``b - a`` to relative ``2^-50`` for differences from ``2^-(52 L - 10)`` up: ``a``
    and ``b`` built from exact integers, ``2^bits`` to ``2^(bits + 1)`` last quanta
    apart and, with ``across``, on either side of an odd multiple of half the quantum of
    limb ``L - 1 - across`` (their upper limbs then differ although their values nearly
    agree)."""
    scale = LIMB_BITS * n_limbs
    bits = min(bits, scale - 2)
    a_big = start >> (600 - scale + 1)  # |a| <= 1/2
    gap = sign * ((1 << bits) + (low >> (600 - bits)))
    if across:
        shift = LIMB_BITS * min(across, n_limbs - 1)
        # limbs round to nearest: their digits change half way between multiples
        a_big = ((a_big >> shift) << shift) + (1 << (shift - 1)) - sign * (low % abs(gap))
    b_big = a_big + gap
    a = np.array(limbs_of(a_big, n_limbs))[:, None]
    b = np.array(limbs_of(b_big, n_limbs))[:, None]
    exact = Fraction(gap, 2**scale)
    got = Fraction(float(X.difference(b, a)[0]))
    assert abs(got - exact) <= abs(exact) * 2.0**-50


def test_split_and_collapse_round_trip():
    x = np.random.default_rng(2).uniform(-1, 1, (50, 4))
    limbs = X.split(x, 3)
    assert laid_out(limbs)
    assert np.array_equal(X.collapse(limbs), x)


# --------------------------------------------------------------------- sizes and shapes
def test_limbs_for_and_radius_held_agree():
    for n in range(2, limbs_for(MAX_RADIUS)):
        held = radius_held(n)
        assert limbs_for(held) == n
        assert limbs_for(held * (1 + 1e-12)) == n + 1
    for R in np.linspace(0.0, MAX_RADIUS, 701):
        n = limbs_for(R)
        assert radius_held(n) >= R
        # the guard: the last quantum is 2^-45 of the smallest angle exp(-R)
        assert LIMB_BITS * n >= R / math.log(2.0) + X.GUARD_BITS
    assert radius_held(limbs_for(MAX_RADIUS)) == MAX_RADIUS
    for bad in (MAX_RADIUS + 1e-9, math.nan, math.inf):
        with pytest.raises(ValueError, match="radii up to"):
            limbs_for(bad)


@pytest.mark.parametrize(
    ("radius", "limbs"),
    [
        ((3, 1), (3, 2, 4)),  # radius not (n,)
        ((3,), (3, 4)),  # limbs not (n, L, dim)
        ((3,), (4, 2, 4)),  # n disagrees
        ((3,), (3, 0, 4)),  # no limb
    ],
)
def test_polar_rejects_wrong_shapes(radius, limbs):
    with pytest.raises(ValueError, match="want \\(n,\\) and \\(n, L, dim\\)"):
        Polar(np.zeros(radius), np.zeros(limbs))
