"""``td.kinks``: where in an interval f' does not exist, found from f's switches.

Every point where f' can fail is a zero of a switch argument (see :mod:`tridiff.analysis.switches`):
those zeros are found (exactly by SymPy where it can, else by sign changes and bisection) and the
derivative's own analysis says which of them are kinks, jumps, poles or domain edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..definition.function import function
from ..definition.points import check_interval
from ..methods.derivative import derivative
from ..methods.symbolic import size


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


SOLVABLE_NODES = 40  # switch arguments SymPy's solveset is asked to solve exactly


def zeros_in(u: sp.Expr, symbol: sp.Symbol, a: float, b: float, samples: int) -> set[float]:
    """Zeros of u in [a, b]: exact where SymPy finds a finite set, else sign changes refined by bisection.

    SymPy is asked only about a small u: solveset has no time limit, and on 10 nested acosh it ran
    for seconds before overflowing mpmath's integers.
    """
    found = None
    if size(u, SOLVABLE_NODES) <= SOLVABLE_NODES:
        try:
            found = sp.solveset(u, symbol, sp.Interval(a, b))
        except (NotImplementedError, ValueError, TypeError, OverflowError, RecursionError):
            found = None
    if isinstance(found, sp.FiniteSet) and all(v.is_real for v in found):
        return {float(v) for v in found}
    fu = function(u, (symbol.name,))  # compiled by tridiff: every function it knows (lambdify lacks polygamma)
    grid = np.linspace(a, b, samples)
    with np.errstate(all="ignore"):
        vals = np.broadcast_to(np.asarray(fu(grid), dtype=float), grid.shape)
    zeros = set(grid[vals == 0].tolist())
    change = np.nonzero(np.sign(vals[:-1]) * np.sign(vals[1:]) < 0)[0]
    for i in change:
        lo, hi, flo = grid[i], grid[i + 1], vals[i]
        for _ in range(80):
            mid = 0.5 * (lo + hi)
            fm = float(fu(mid))
            if fm == 0 or mid in (lo, hi):
                break
            if np.sign(fm) == np.sign(flo):
                lo, flo = mid, fm
            else:
                hi = mid
        zeros.add(mid)
    return zeros
