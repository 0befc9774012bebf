"""Formulas that need care in floating point, written once against an array namespace ``xp``.

:mod:`tridiff.primitives.jax_impl` wraps them for JAX (with derivative rules), and
:mod:`tridiff.primitives.numpy_impl` for NumPy, so both of the compiler's tiers compute the same
values the same way. Each branch is chosen by the real part of the argument, so that a complex u
(the complex step, u = x + ih with h tiny) follows the branch of the real axis, and each branch
gets a harmless input where it is not picked, so that neither yields inf or NaN.
"""

from __future__ import annotations

import math


def expit(xp, u):
    """1/(1 + e^{-u}), with no overflow: e^{-|u|} in both branches."""
    pos = xp.real(u) >= 0
    e = xp.exp(xp.where(pos, -u, u))
    return xp.where(pos, 1 / (1 + e), e / (1 + e))


def softplus(xp, u):
    """log(1 + e^u) = u + log(1 + e^{-u}): each branch where its exponential cannot overflow."""
    pos = xp.real(u) > 0
    up, un = xp.where(pos, u, 0), xp.where(pos, 0, u)
    return xp.where(pos, up + xp.log1p(xp.exp(-up)), xp.log1p(xp.exp(un)))


def logaddexp(xp, a, b):
    """max(a, b) + log(1 + e^{-|a - b|}), the larger argument chosen by real part."""
    first = xp.real(a) >= xp.real(b)
    return xp.where(first, a, b) + xp.log1p(xp.exp(xp.where(first, b - a, a - b)))


def cbrt(xp, u):
    """The real cube root; at a complex u = a + ib (the complex step, b tiny) its continuation to
    first order in b, cbrt(a) + ib/(3·cbrt(a)²): cbrt takes real numbers only."""
    if not xp.iscomplexobj(u):
        return xp.cbrt(u)
    root = xp.cbrt(xp.real(u))
    return root + 1j * xp.imag(u) / (3 * root * root)


SERIES_RADIUS = 2.5  # |πu| below which sinc's derivatives are summed as a Taylor series


def _sinc_series(k: int, y):
    """s^(k)(y) for s(y) = sin(y)/y = Σ_j (−1)^j y^{2j}/(2j+1)!, summed by Horner in y²: no 0/0 at
    y = 0 and no cancellation beside it. Terms up to y^44: below rounding for |y| ≤ 2.5."""
    j0 = (k + 1) // 2
    coefficients = [(-1) ** j * math.factorial(2 * j) / (math.factorial(2 * j - k) * math.factorial(2 * j + 1))
                    for j in range(j0, 23 + j0)]
    y2, total = y * y, 0.0
    for c in reversed(coefficients):
        total = total * y2 + c
    return total * y if k % 2 else total


def _sinc_closed(xp, k: int, y):
    """s^(k)(y) by Leibniz's rule on sin(y) · (1/y): exact for |y| ≥ 2.5, where it does not cancel."""
    return sum(math.comb(k, m) * xp.sin(y + m * math.pi / 2) * (-1) ** (k - m) * math.factorial(k - m)
               / y ** (k - m + 1) for m in range(k + 1))


def sinc_derivative(xp, k: int, u):
    """The k-th derivative of NumPy's sinc(u) = sin(πu)/(πu) (k = 0: sinc itself), accurate at and
    near u = 0."""
    y = math.pi * u
    near = xp.abs(xp.real(y)) < SERIES_RADIUS
    series = _sinc_series(k, xp.where(near, y, 0))
    closed = _sinc_closed(xp, k, xp.where(near, SERIES_RADIUS, y))
    return math.pi**k * xp.where(near, series, closed)
