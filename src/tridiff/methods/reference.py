"""The high-precision reference every accuracy figure is measured against: mpmath at 40 digits.

Two references, for two jobs. :func:`reference` differentiates f *numerically* with ``mpmath.diff``,
f itself evaluated by mpmath: it is independent of tridiff's own derivation, so a mistake in SymPy's
rules, the compiler or JAX shows up against it (the tests' oracle). :func:`exact_reference`
evaluates the *symbolic* derivative by mpmath (what compare and the plots show). Functions with a
SymPy head of tridiff's own are evaluated by the mpmath implementation in their record.
"""

from __future__ import annotations

import mpmath
import numpy as np
import sympy as sp

from ..definition.function import Function, function
from ..primitives import MPMATH
from .derivative import derivative

REFERENCE_DIGITS = 40


def mpmath_function(symbol: sp.Symbol, expr: sp.Expr):
    """``expr`` as a function of ``symbol`` evaluated by mpmath (at the working precision)."""
    return sp.lambdify(symbol, expr, modules=[MPMATH, "mpmath"])


def reference(f, xs, order: int = 1, digits: int = REFERENCE_DIGITS) -> np.ndarray:
    """f^(order) at each of ``xs`` by mpmath at ``digits`` digits (NaN where mpmath fails or f is complex)."""
    fn = function(f)
    mp_f = mpmath_function(fn.symbol, fn.expr)
    out = np.full(np.shape(xs), np.nan)
    with mpmath.workdps(digits):
        for i, x0 in np.ndenumerate(np.asarray(xs, dtype=float)):
            try:
                value = mpmath.diff(mp_f, mpmath.mpf(float(x0)), order)
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            if isinstance(value, mpmath.mpc):
                if abs(value.imag) > abs(value.real) * mpmath.mpf(10) ** (-digits // 2):
                    continue
                value = value.real
            out[i] = float(value)
    return out


def exact_reference(fn: Function, xs: np.ndarray, order: int) -> tuple[np.ndarray, str]:
    """f^(order) at ``xs`` to 40 digits: the exact symbolic derivative evaluated by mpmath.

    Where f has no formula, the best available is Richardson-extrapolated central differences
    at a step 100× smaller than the default, stated as such.
    """
    if fn.expr is None:
        d = derivative(fn, method="numeric", order=order, accuracy=8)
        return d(xs), "numeric (accuracy 8; f has no formula)"
    d = derivative(fn, method="symbolic", order=order)
    undefined = d.evaluate(xs).undefined
    exact = mpmath_function(fn.symbol, d.expr)
    out = np.full(xs.shape, np.nan)
    with mpmath.workdps(REFERENCE_DIGITS):
        for i, x0 in enumerate(xs):
            if undefined[i]:
                continue
            try:
                value = exact(mpmath.mpf(float(x0)))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            out[i] = float(mpmath.re(value))
    return out, f"mpmath ({REFERENCE_DIGITS} digits)"


def scaled_error(values: np.ndarray, ref: np.ndarray) -> float:
    """max |values − ref| / (|ref| + 1% of max |ref|) over points where ref is finite."""
    ok = np.isfinite(ref)
    if not ok.any():
        return 0.0
    scale = np.abs(ref[ok]) + 0.01 * np.max(np.abs(ref[ok]))
    scale = np.where(scale == 0, 1.0, scale)
    return float(np.max(np.abs(values[ok] - ref[ok]) / scale))
