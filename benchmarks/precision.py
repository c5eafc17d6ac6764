"""Distances far from the origin: hyptax's polar points against float64 Poincaré and
Lorentz coordinates, double-double Poincaré coordinates and mpmath itself, each
measured against a 400-digit mpmath reference.

    python benchmarks/precision.py            # prints the tables (about 2 min on 2 cores)
    python benchmarks/precision.py --write    # and writes them into docs/precision.md

The test pairs, seeded, for each radius ``R`` and dim: a first point 0.05-1 inside
``R``, and a second

- *near*: within 0.05 of its radius, the directions ``c exp(-R)`` apart with ``c``
  log-uniform in [0.1, 1000] (distances ~0.05-12: siblings and cousins deep down);
- *ray*: 0.5-4 further in, directions ``c exp(-R)`` apart with ``c`` log-uniform in
  [0.01, 10] (a parent and its child);
- *far*: anywhere in [0, R], in an independent direction;
- *close*: at the same radius, directions ``c exp(-R)`` apart with ``c`` in [1e-4, 0.1]
  (distances ~5e-5-0.05, closer than a tree's nodes come; reported apart, for hyptax's
  polar points only: where their accuracy runs out).

Radii are float64 numbers (every representation starts from the same radius);
directions are unit vectors exact to 400 digits, which each representation rounds its
own way. Times are per distance between two stored points given by index arrays,
vectorised over 2^17 pairs in chunks of 4,096 (best of 3, one thread); mpmath's over
the test pairs, one at a time.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import mpmath
import numpy as np
import torch
from common import machine
from mpmath import mpf
from report import table

from hyptax.evaluation import kernels
from hyptax.evaluation.geometry import ball_view
from hyptax.files import atomic_write
from hyptax.manifolds import get_manifold, lorentz, poincare
from hyptax.manifolds.extended import LIMB_BITS, Polar, limbs_for

RADII = (5.0, 20.0, 26.0, 40.0, 80.0, 150.0, 300.0, 350.0)
DIMS = (2, 10, 64)
REF_DPS = 400
TIMED_PAIRS = 1 << 17
CHUNK = 4096
ANCHORS = 3
"""Anchors per case whose kernel keys are checked against every other point."""

DOC = Path(__file__).resolve().parents[1] / "docs" / "precision.md"
BEGIN = "<!-- begin: measured by benchmarks/precision.py -->"
END = "<!-- end: measured by benchmarks/precision.py -->"

Vec = list[mpf]


# --------------------------------------------------------------------- test points
@dataclass
class Case:
    """Test points at one radius and dim; pair ``k`` is points ``2k`` and ``2k + 1``.

    ``x`` and ``gap`` are the points' Poincaré coordinates ``tanh(r / 2) u`` and
    ``1 - |x|^2`` at :data:`REF_DPS` digits, from which the reference distances come.
    """

    R: float
    dim: int
    radius: np.ndarray
    dirs: list[Vec]
    kinds: list[str]
    x: list[Vec] = field(default_factory=list)
    gap: list[mpf] = field(default_factory=list)
    ref: list[mpf] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.radius)

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        return np.arange(0, self.n, 2), np.arange(1, self.n, 2)

    def ref_dist(self, a: int, b: int) -> mpf:
        """``2 asinh(sqrt(|x_a - x_b|^2 / ((1 - |x_a|^2)(1 - |x_b|^2))))`` at 400 digits."""
        with mpmath.workdps(REF_DPS):
            sq = mpmath.fsum((p - q) ** 2 for p, q in zip(self.x[a], self.x[b], strict=True))
            return 2 * mpmath.asinh(mpmath.sqrt(sq / (self.gap[a] * self.gap[b])))


def _unit(rng: np.random.Generator, dim: int) -> Vec:
    v = [mpf(float(g)) for g in rng.standard_normal(dim)]
    norm = mpmath.sqrt(mpmath.fsum(c * c for c in v))
    return [c / norm for c in v]


def _turn(u: Vec, rng: np.random.Generator, angle: mpf) -> Vec:
    """``u`` turned by ``angle`` towards a random tangent direction."""
    g = _unit(rng, len(u))
    dot = mpmath.fsum(a * b for a, b in zip(g, u, strict=True))
    e = [a - dot * b for a, b in zip(g, u, strict=True)]
    norm = mpmath.sqrt(mpmath.fsum(c * c for c in e))
    cos, sin = mpmath.cos(angle), mpmath.sin(angle)
    return [cos * a + sin * b / norm for a, b in zip(u, e, strict=True)]


KINDS: dict[str, tuple[float, float, float, float] | None] = {
    "near": (-1.0, 3.0, -0.05, 0.05),
    "ray": (-2.0, 1.0, -4.0, -0.5),
    "far": None,
    "close": (-4.0, -1.0, 0.0, 0.0),
}
"""Per kind of pair: ``log10 c`` range (directions ``c exp(-R)`` apart) and the second
point's radius less the first's, or ``None`` for independent points."""


def make_case(R: float, dim: int, per_kind: int, seed: int) -> Case:
    """The seeded test pairs of one radius and dim (module docstring)."""
    rng = np.random.default_rng([seed, int(R), dim])
    radius: list[float] = []
    dirs: list[Vec] = []
    kinds: list[str] = []
    with mpmath.workdps(REF_DPS):
        for kind, spec in KINDS.items():
            for _ in range(per_kind):
                r_a = R - rng.uniform(0.05, 1.0)
                u_a = _unit(rng, dim)
                if spec is None:
                    r_b, u_b = rng.uniform(0.0, R), _unit(rng, dim)
                else:
                    c = 10.0 ** rng.uniform(spec[0], spec[1])
                    r_b = max(r_a + rng.uniform(spec[2], spec[3]), 0.0)
                    u_b = _turn(u_a, rng, mpf(c) * mpmath.exp(-mpf(R)))
                radius += [r_a, r_b]
                dirs += [u_a, u_b]
                kinds.append(kind)
        case = Case(R, dim, np.array(radius), dirs, kinds)
        for r, u in zip(case.radius, dirs, strict=True):
            t = mpmath.tanh(mpf(r) / 2)
            case.x.append([t * c for c in u])
            case.gap.append(1 - mpmath.fsum(t * t * c * c for c in u))
    case.ref = [case.ref_dist(a, b) for a, b in zip(*case.pairs(), strict=True)]
    return case


def rel_errors(d: np.ndarray, ref: list[mpf]) -> np.ndarray:
    """``|d - ref| / ref`` per pair (infinite where ``d`` is not finite)."""
    out = np.full(len(ref), np.inf)
    with mpmath.workdps(30):
        for k, (v, r) in enumerate(zip(d, ref, strict=True)):
            if math.isfinite(v):
                out[k] = float(abs(mpf(float(v)) - r) / r)
    return out


# --------------------------------------------------------------------- representations
class Stored(Protocol):
    """Points held by one representation."""

    bytes_per_point: float

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray: ...


def _floats(case: Case, rows: Callable[[float, Vec, Vec], list[mpf]]) -> np.ndarray:
    """``(n, k)`` float64 (correctly rounded) of ``rows(r, u, x)`` per point."""
    with mpmath.workdps(REF_DPS):
        return np.array(
            [[float(v) for v in rows(float(r), u, x)]
             for r, u, x in zip(case.radius, case.dirs, case.x, strict=True)]
        )  # fmt: skip


@dataclass
class Ball64:
    """float64 Poincaré coordinates, projected into the ball as hyptax does."""

    x: torch.Tensor
    bytes_per_point: float

    @classmethod
    def of(cls, case: Case) -> Ball64:
        x = torch.from_numpy(_floats(case, lambda r, u, x: x))
        return cls(get_manifold("poincare").project(x), 8.0 * case.dim)

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return poincare.dist(self.x[i], self.x[j]).numpy()


@dataclass
class Lorentz64:
    """float64 hyperboloid coordinates ``(cosh r, sinh r u)``, not projected (hyptax
    caps them at the float64 ball's radius, ~26; unprojected shows the model's own
    limit), with hyptax's ``lorentz.dist``."""

    x: torch.Tensor
    bytes_per_point: float

    @classmethod
    def of(cls, case: Case) -> Lorentz64:
        def row(r: float, u: Vec, x: Vec) -> list[mpf]:
            s = mpmath.sinh(mpf(r))
            return [mpmath.cosh(mpf(r))] + [s * c for c in u]

        return cls(torch.from_numpy(_floats(case, row)), 8.0 * (case.dim + 1))

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return lorentz.dist(self.x[i], self.x[j]).numpy()


_SPLITTER = 2.0**27 + 1.0
"""Dekker's splitter: ``a * _SPLITTER`` cuts a float64 into two 26-bit halves."""


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _fast_two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    return s, b - (s - a)


def _two_prod(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = a * b
    t = _SPLITTER * a
    ah = t - (t - a)
    t = _SPLITTER * b
    bh = t - (t - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _dd_add(ah: np.ndarray, al: np.ndarray, bh: np.ndarray, bl: np.ndarray) -> tuple:
    """Double-double ``a + b`` (the accurate sum of the QD library)."""
    s, e = _two_sum(ah, bh)
    t, f = _two_sum(al, bl)
    s, e = _fast_two_sum(s, e + t)
    return _fast_two_sum(s, e + f)


def _dd_gap(h: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """``1 - |x|^2`` rounded to float64, for double-double rows ``x = h + lo (k, dim)``:
    squares as exact products, summed pairwise in double-double."""
    sh, sl = _two_prod(h, h)
    sl = sl + 2.0 * h * lo
    while sh.shape[1] > 1:
        half = sh.shape[1] // 2
        top_h, top_l = sh[:, half : 2 * half], sl[:, half : 2 * half]
        odd_h, odd_l = sh[:, 2 * half :], sl[:, 2 * half :]  # the odd column, if any
        sh, sl = _dd_add(sh[:, :half], sl[:, :half], top_h, top_l)
        if odd_h.shape[1]:
            sh[:, :1], sl[:, :1] = _dd_add(sh[:, :1], sl[:, :1], odd_h, odd_l)
    one = np.ones(len(h))
    return _dd_add(one, 0.0 * one, -sh[:, 0], -sl[:, 0])[0]


@dataclass
class DoubleDouble:
    """Poincaré coordinates as unevaluated sums ``hi + lo`` of two float64 (106 bits),
    TwoSum/TwoProd arithmetic in numpy where the digits cancel: ``1 - |x|^2``, formed
    once per point and kept as a float64 beside the coordinates, and the difference of
    two points; float64 for the rest."""

    hi: np.ndarray
    lo: np.ndarray
    gap: np.ndarray
    bytes_per_point: float

    @classmethod
    def of(cls, case: Case) -> DoubleDouble:
        hi = _floats(case, lambda r, u, x: x)
        with mpmath.workdps(REF_DPS):
            lo = np.array([[float(c - mpf(float(c))) for c in x] for x in case.x])
        return cls(hi, lo, _dd_gap(hi, lo), 8.0 * (2 * case.dim + 1))

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        diff = _dd_add(self.hi[i], self.lo[i], -self.hi[j], -self.lo[j])[0]
        sq = (diff * diff).sum(-1)
        return 2.0 * np.arcsinh(np.sqrt(sq / (self.gap[i] * self.gap[j])))


def mp_digits(R: float) -> int:
    """The fewest decimal digits that hold points ``R`` from the origin to float64
    accuracy: the rim is ``~exp(-R)`` away, and 20 digits more."""
    return math.ceil(R / math.log(10.0)) + 20


@dataclass
class MpBall:
    """Poincaré coordinates in mpmath at :func:`mp_digits` digits (one pair at a time)."""

    x: list[Vec]
    dps: int
    bytes_per_point: float

    @classmethod
    def of(cls, case: Case) -> MpBall:
        dps = mp_digits(case.R)
        with mpmath.workdps(dps):
            x = [[+c for c in row] for row in case.x]
        size = sum(_mpf_bytes(c) for row in x for c in row) / len(x)
        return cls(x, dps, size)

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.empty(len(i))
        with mpmath.workdps(self.dps):
            for k, (a, b) in enumerate(zip(i, j, strict=True)):
                xa, xb = self.x[a], self.x[b]
                sq = mpmath.fsum((p - q) ** 2 for p, q in zip(xa, xb, strict=True))
                ga = 1 - mpmath.fsum(p * p for p in xa)
                gb = 1 - mpmath.fsum(q * q for q in xb)
                out[k] = float(2 * mpmath.asinh(mpmath.sqrt(sq / (ga * gb))))
        return out


def _mpf_bytes(v: mpf) -> int:
    """Memory of one mpf: the object, its (sign, mantissa, exponent, bits) tuple and
    the mantissa's integer."""
    return sys.getsizeof(v) + sys.getsizeof(v._mpf_) + sys.getsizeof(int(v._mpf_[1]))


def direction_limbs(v: mpf, n_limbs: int) -> list[float]:
    """The limbs of one coordinate ``v`` (``|v| <= 1``) rounded to the last quantum:
    the integer ``v 2^(52 L)`` cut into balanced 52-bit digits, so limb ``l`` is a
    multiple of ``2^-(52 (l + 1))`` and, below the top, at most half the limb above's
    quantum (the layout :mod:`hyptax.manifolds.extended` keeps)."""
    with mpmath.workdps(REF_DPS):
        big = int(mpmath.nint(mpmath.ldexp(v, LIMB_BITS * n_limbs)))
    base, half = 1 << LIMB_BITS, 1 << (LIMB_BITS - 1)
    out = []
    for level in range(n_limbs - 1, 0, -1):
        digit = (big + half) % base - half
        big = (big - digit) >> LIMB_BITS
        out.append(math.ldexp(digit, -LIMB_BITS * (level + 1)))
    out.append(math.ldexp(big, -LIMB_BITS))
    return out[::-1]


def polar_of(case: Case, n_limbs: int | None = None) -> Polar:
    """The case's points as hyptax :class:`Polar` points, ``limbs_for(R)`` limbs."""
    n_limbs = limbs_for(case.R) if n_limbs is None else n_limbs
    limbs = np.array([[direction_limbs(c, n_limbs) for c in u] for u in case.dirs])
    return Polar(case.radius.copy(), np.ascontiguousarray(limbs.transpose(2, 0, 1)))


@dataclass
class PolarPoints:
    """hyptax's :class:`Polar`: float64 radius, direction in ``limbs_for(R)`` limbs."""

    polar: Polar
    bytes_per_point: float

    @classmethod
    def of(cls, case: Case) -> PolarPoints:
        p = polar_of(case)
        return cls(p, 8.0 * (1 + p.n_limbs * p.dim))

    def dist(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return self.polar.dist(i, j)


REPRESENTATIONS: dict[str, Callable[[Case], Stored]] = {
    "float64 Poincaré (projected)": Ball64.of,
    "float64 Lorentz": Lorentz64.of,
    "double-double Poincaré": DoubleDouble.of,
    "mpmath Poincaré, R/ln 10 + 20 digits": MpBall.of,
    "hyptax Polar, limbs_for(R)": PolarPoints.of,
}
KERNEL_ROWS = ("Polar via BallView.anchor_keys", "Polar via the numba kernel's key")


def kernel_distances(case: Case, polar: Polar) -> tuple[np.ndarray, np.ndarray, list]:
    """Distances from :data:`ANCHORS` anchors to every other point through the ranking
    kernels' mode-2 key ``y = sinh^2(d / 2)``: torch's ``anchor_keys`` (every limb) and
    numba's ``pair_key(sq_pair(...))`` (progressive limbs); and the references."""
    view = ball_view(polar.poincare(), "poincare", polar=polar)
    per_kind = case.kinds.count("near")
    anchors = 2 * per_kind * np.arange(ANCHORS)  # the first point of a near, ray, far pair
    keys = view.anchor_keys(anchors).numpy()
    pt, sc = view.kernel_points(), view.kernel_scalars(False)
    floors = kernels.limb_floors(pt)
    via_torch, via_numba, ref = [], [], []
    for a, u in enumerate(anchors):
        for v in range(case.n):
            if v != u:
                y = kernels.pair_key(kernels.sq_pair(pt, floors, u, v), sc, u, v, 2)
                via_torch.append(keys[a, v])
                via_numba.append(y)
                ref.append(case.ref_dist(int(u), v))
    to_d = lambda y: 2.0 * np.arcsinh(np.sqrt(np.array(y)))  # noqa: E731
    return to_d(via_torch), to_d(via_numba), ref


# --------------------------------------------------------------------- timing
def seconds_per_distance(stored: Stored, case: Case, vectorised: bool) -> float:
    """Best of 3 over :data:`TIMED_PAIRS` pairs in chunks (or the case's pairs once,
    one at a time, for mpmath)."""
    i, j = case.pairs()
    if not vectorised:
        t0 = time.perf_counter()
        stored.dist(i, j)
        return (time.perf_counter() - t0) / len(i)
    i, j = np.resize(i, TIMED_PAIRS), np.resize(j, TIMED_PAIRS)
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for s in range(0, TIMED_PAIRS, CHUNK):
            stored.dist(i[s : s + CHUNK], j[s : s + CHUNK])
        best = min(best, time.perf_counter() - t0)
    return best / TIMED_PAIRS


def timing_key(name: str, case: Case) -> tuple:
    """What a representation's cost depends on: the dim, and for Polar the limbs and
    for mpmath the digits (float64 and double-double cost the same at every radius)."""
    if name.startswith("hyptax Polar"):
        return (name, case.dim, limbs_for(case.R))
    if name.startswith("mpmath"):
        return (name, case.dim, case.R)
    return (name, case.dim)


# --------------------------------------------------------------------- the run
@dataclass
class Results:
    errors: dict[tuple[str, float], list[np.ndarray]] = field(default_factory=dict)
    by_kind: dict[tuple[str, float], list[float]] = field(default_factory=dict)
    per_dim: dict[tuple[float, int], float] = field(default_factory=dict)
    seconds: dict[tuple, float] = field(default_factory=dict)
    bytes_per_point: dict[tuple, float] = field(default_factory=dict)

    def add_errors(self, name: str, R: float, err: np.ndarray) -> None:
        self.errors.setdefault((name, R), []).append(err)


def measure(per_kind: int, seed: int) -> Results:
    res = Results()
    for R in RADII:
        for dim in DIMS:
            t0 = time.perf_counter()
            case = make_case(R, dim, per_kind, seed)
            i, j = case.pairs()
            main = np.array(case.kinds) != "close"
            for name, build in REPRESENTATIONS.items():
                stored = build(case)
                with np.errstate(all="ignore"):
                    err = rel_errors(stored.dist(i, j), case.ref)
                    key = timing_key(name, case)
                    if key not in res.seconds:
                        vectorised = not name.startswith("mpmath")
                        res.seconds[key] = seconds_per_distance(stored, case, vectorised)
                res.add_errors(name, R, err[main])
                res.bytes_per_point[key] = stored.bytes_per_point
                if isinstance(stored, PolarPoints):
                    res.per_dim[(R, dim)] = float(err[main].max())
                    for kind in KINDS:
                        mask = np.array(case.kinds) == kind
                        res.by_kind.setdefault((kind, R), []).append(float(err[mask].max()))
                    d_torch, d_numba, ref = kernel_distances(case, stored.polar)
                    res.add_errors(KERNEL_ROWS[0], R, rel_errors(d_torch, ref))
                    res.add_errors(KERNEL_ROWS[1], R, rel_errors(d_numba, ref))
            print(f"R {R:g} dim {dim}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return res


# --------------------------------------------------------------------- tables
def _e(x: float) -> str:
    return f"{x:.1e}" if math.isfinite(x) else "inf"


def accuracy_table(res: Results) -> list[str]:
    rows = []
    for name in [*REPRESENTATIONS, *KERNEL_ROWS]:
        cells = []
        for R in RADII:
            err = np.concatenate(res.errors[(name, R)])
            cells.append(f"{_e(float(err.max()))} ({_e(float(np.median(err)))})")
        rows.append([name, *cells])
    return table(rows, ["representation", *(f"R = {R:g}" for R in RADII)])


def polar_tables(res: Results) -> list[str]:
    rows = [
        [f"{R:g}", limbs_for(R), *(_e(res.per_dim[(R, d)]) for d in DIMS),
         *(_e(max(res.by_kind[(k, R)])) for k in KINDS)]
        for R in RADII
    ]  # fmt: skip
    head = ["R", "limbs", *(f"dim {d}" for d in DIMS), *(f"{k} pairs" for k in KINDS)]
    return table(rows, head)


def cost_table(res: Results) -> list[str]:
    def ns(name: str, dim: int, R: float) -> str:
        return f"{1e9 * res.seconds[timing_key(name, _Probe(R, dim))]:,.0f}"

    def size(name: str, dim: int, R: float) -> str:
        return f"{res.bytes_per_point[timing_key(name, _Probe(R, dim))]:,.0f}"

    rows = []
    for name in REPRESENTATIONS:
        varies = name.startswith(("hyptax Polar", "mpmath"))
        radii = RADII if varies else (RADII[0],)
        for R in radii:
            label = f"{R:g}" if varies else "any"
            if name.startswith("hyptax Polar"):
                same = [r for r in RADII if limbs_for(r) == limbs_for(R)]
                if R != same[-1]:
                    continue  # the same limbs as the next radius: the same cost
                label = f"{same[0]:g}-{R:g}" if len(same) > 1 else label
            extra = (f"{limbs_for(R)} limbs" if name.startswith("hyptax Polar")
                     else f"{mp_digits(R)} digits" if varies else "")  # fmt: skip
            rows.append([name, label, extra, *(size(name, d, R) for d in DIMS),
                         *(ns(name, d, R) for d in DIMS)])  # fmt: skip
    head = ["representation", "R", "", *(f"bytes/point dim {d}" for d in DIMS),
            *(f"ns/distance dim {d}" for d in DIMS)]  # fmt: skip
    return table(rows, head)


@dataclass
class _Probe:
    """The fields :func:`timing_key` reads."""

    R: float
    dim: int


def report(res: Results, per_kind: int, seed: int) -> list[str]:
    m = machine()
    command = " ".join(["python", "benchmarks/precision.py", *sys.argv[1:]])
    return [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores (load {m['load_average']}),"
        f" numpy {m['numpy']}, torch {m['torch']}, mpmath {mpmath.__version__}:"
        f" `{command}` ({3 * per_kind} pairs per radius and dim, seed {seed}).",
        "",
        "Largest relative error of the distance over dims 2, 10 and 64 and every near,"
        " ray and far pair"
        " (median in brackets), against 400-digit mpmath:",
        "",
        *accuracy_table(res),
        "",
        "hyptax Polar, largest relative error per dim and per kind of pair:",
        "",
        *polar_tables(res),
        "",
        "Cost: memory per point and time per distance (one thread; mpmath one pair at a"
        " time, the others vectorised):",
        "",
        *cost_table(res),
    ]


def write_doc(lines: list[str], path: Path = DOC) -> None:
    """Replace the measured block of ``path`` (between :data:`BEGIN` and :data:`END`)."""
    text = path.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{path}: no block between {BEGIN!r} and {END!r} to replace")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with atomic_write(path, "w") as fh:
        fh.write(head + BEGIN + "\n\n" + "\n".join(lines) + "\n\n" + END + tail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=16, help="pairs of each kind per case")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help=f"write the tables into {DOC}")
    args = ap.parse_args()
    torch.set_num_threads(1)
    lines = report(measure(args.pairs, args.seed), args.pairs, args.seed)
    print("\n".join(lines))
    if args.write:
        write_doc(lines)


if __name__ == "__main__":
    main()
