"""``td.kinks``: where in an interval f' does not exist, found from f's switches.

Every point where f' can fail is a zero of a switch argument (see :mod:`tridiff.analysis.switches`):
those zeros are found (exactly for factors that are polynomials of low degree, else by sign changes
and bisection) and the derivative's own analysis says which of them are kinks, jumps, poles or
domain edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..definition.function import function
from ..definition.points import check_interval
from ..errors import TridiffError
from ..methods.derivative import derivative


@dataclass(frozen=True)
class Kink:
    """A point where f' (or f^(n)) does not exist, with the one-sided derivatives there."""

    x: float
    left: float
    right: float
    reason: str


def kinks(f, interval: tuple[float, float], *, order: int = 1, samples: int = 4001) -> tuple[Kink, ...]:
    """The points in ``interval`` where f' (or f^(order)) does not exist, with its one-sided limits.

    Isolated points only: where f is undefined on a whole stretch, its endpoints are listed.
    ``samples``: grid points on which zeros are looked for where SymPy cannot solve for them.

    >>> import tridiff as td
    >>> td.kinks("abs(x) + abs(x - 1)", (-5, 5))[0]
    Kink(x=0.0, left=-2.0, right=0.0, reason='kink: the left and right derivatives differ')
    >>> k = td.kinks("x*abs(x)", (-5, 5), order=2)[0]
    >>> k.x, k.left, k.right
    (0.0, -2.0, 2.0)
    """
    fn = function(f)
    symbol = fn.symbol
    a, b = check_interval(interval)
    d = derivative(fn, method="symbolic", order=order)
    candidates = set()
    for s in d.switches:
        candidates.update(zeros_in(s.arg, symbol, a, b, samples))
    if not candidates:
        return ()
    xs = np.array(sorted(candidates))
    result = d.evaluate(xs)
    return tuple(
        Kink(float(x), float(lv), float(rv), str(reason))
        for x, lv, rv, bad, reason in zip(xs, result.left, result.right, result.undefined, result.reasons)
        if bad
    )


MAX_DEGREE = 4  # a factor of u of at most this degree in x is solved exactly, in bounded time
GOLDEN = (1 + math.sqrt(5)) / 2
BISECTIONS = 1100  # halvings from [-1.8e308, 1.8e308] down to adjacent floats


def zeros_in(u: sp.Expr, symbol: sp.Symbol, a: float, b: float, samples: int) -> set[float]:
    """Zeros of u in [a, b]: exactly for each factor of u that is a polynomial of low degree
    (double zeros too, where u touches 0 without changing sign), for the others by sign changes on
    a grid refined by bisection.

    SymPy's solveset is not asked: it has no time limit (on x**1e-300 - 1/2 it does not return)
    and lists every zero of cos(x) in (0, 1e17).

    Raises:
        TridiffError: the grid cannot resolve u: a second grid counts other sign changes, so zeros
            hide between grid points.
    """
    zeros, rest = set(), []
    for factor in sp.Mul.make_args(u):
        if factor.is_Pow and factor.exp.is_negative or not factor.has(symbol):
            continue  # 1/v is never 0
        base = factor.base if factor.is_Pow and factor.exp.is_Integer else factor
        roots = _polynomial_roots(base, symbol) if _degree(base, symbol) <= MAX_DEGREE else None
        if roots is None:
            rest.append(base)
        else:
            zeros.update(r for r in roots if a <= r <= b)
    for base in rest:
        zeros.update(_sign_changes(base, symbol, a, b, samples))
    return zeros


def _degree(e: sp.Expr, x: sp.Symbol) -> float:
    """An upper bound on e's degree as a polynomial in x (inf if it is not one), without expanding."""
    if not e.has(x):
        return 0
    if e == x:
        return 1
    if e.is_Add:
        return max(_degree(t, x) for t in e.args)
    if e.is_Mul:
        return sum(_degree(t, x) for t in e.args)
    if e.is_Pow and e.exp.is_Integer and e.exp >= 0:
        return int(e.exp) * _degree(e.base, x)
    return math.inf


def _polynomial_roots(p: sp.Expr, x: sp.Symbol) -> list[float] | None:
    """The real roots of a polynomial of low degree with rational coefficients (None for others,
    such as a coefficient π, which are left to bisection)."""
    try:
        poly = sp.Poly(p, x, domain=sp.QQ)
    except (sp.PolynomialError, sp.polys.polyerrors.CoercionFailed):
        return None
    return [float(r) for r in poly.real_roots()]


def _sign_changes(u: sp.Expr, symbol: sp.Symbol, a: float, b: float, samples: int) -> set[float]:
    """Zeros of u on a grid of ``samples`` points, and where it changes sign between two, bisected
    (all intervals at once) down to adjacent floats. A sign change through a pole (1/x - 1 at 0)
    is no zero: there |u| grows instead of shrinking."""
    fu = function(u, (symbol.name,))  # compiled by tridiff: every function it knows (lambdify lacks polygamma)

    def values(x):
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(fu(x), dtype=float), x.shape)

    # A grid too coarse for u misses pairs of zeros: tan(x) on ±1e5 (poles 3.14 apart, grid points
    # 50) changes sign in 338 intervals for 63,662 poles. A second grid, its spacing in the golden
    # ratio to the first's, aliases u differently (one twice as fine would not: it sees u as 338
    # changes again), so the two counts agree only where both grids resolve u. A hidden pair
    # changes the count by 2; by 1, only a point one grid has and the other not (x = 0 in x**0.1 - 1/2).
    grid, other = _grid(a, b, samples), _grid(a, b, round(samples * GOLDEN))
    vals, other_vals = values(grid), values(other)
    seen, other_seen = _crossings(vals), _crossings(other_vals)
    if abs(seen - other_seen) > 1:
        raise TridiffError(
            f"{sp.sstr(u.evalf(4))[:80]} changes sign {seen} times on a grid of {samples} points on [{a:g}, {b:g}] "
            f"and {other_seen} times on one of {len(other)}: zeros hide between grid points; narrow the interval "
            "or pass a larger samples=")
    change = np.nonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0)[0]
    lo, hi = grid[change], grid[change + 1]
    flo, start = vals[change], np.minimum(np.abs(vals[change]), np.abs(vals[change + 1]))
    for _ in range(BISECTIONS):
        mid = lo / 2 + hi / 2  # no overflow at ±1.8e308
        active = (mid != lo) & (mid != hi)
        if not active.any():
            break
        fm = values(mid)
        zero = active & (fm == 0)
        left = active & ~zero & (np.sign(fm) != np.sign(flo))  # the sign changes in [lo, mid]
        right = active & ~zero & ~left
        hi = np.where(left | zero, mid, hi)
        lo, flo = np.where(right | zero, mid, lo), np.where(right, fm, flo)
    near_lo, near_hi = np.abs(values(lo)), np.abs(values(hi))
    found = np.where(near_lo <= near_hi, lo, hi)[np.minimum(near_lo, near_hi) <= start]
    found = np.where(np.abs(found) < np.finfo(float).tiny, 0.0, found)  # XLA computes a subnormal x as 0
    return set(grid[vals == 0].tolist()) | set(found.tolist())


def _grid(a: float, b: float, n: int) -> np.ndarray:
    """n evenly spaced points from a to b, also where b - a overflows (±1e308)."""
    return np.linspace(a, b, n) if math.isfinite(b - a) else 2 * np.linspace(a / 2, b / 2, n)


def _crossings(vals: np.ndarray) -> int:
    """How often vals changes sign: through an exact 0 once, touching 0 not at all (NaN skipped)."""
    signs = np.sign(vals)
    signs = signs[(signs != 0) & ~np.isnan(signs)]
    return int(np.count_nonzero(signs[:-1] != signs[1:]))
