"""Numeric differentiation: finite-difference stencils over f's values, with a step per point.

Weights come from Fornberg's algorithm (exact rationals), never typed in. The step at x is
``h = eps**(1/(m+p)) * max(|x|, 1)`` for derivative order m and accuracy order p: it balances the
truncation error ~h^p against the round-off error ~eps/h^m, and scales with x so that x + h differs
from x in the same leading digits wherever x is. The error estimate is the gap to the same
derivative at accuracy p - 2 (which bounds the truncation error) plus the round-off term.

Near a kink a central stencil would average the two sides (the lab's ±0.5 beside |x|'s kink), so
a stencil that would straddle one is replaced by a one-sided stencil on x's side. Where f is a
formula the switches say where the kinks are; for an opaque callable, forward and backward
differences that disagree reveal one, and are retried with a 1000× smaller step before giving up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable

import numpy as np

from .kinks import BRANCHING, OK, UNRESOLVED

DEFAULT_ACCURACY = 4


def fornberg(offsets: tuple[int, ...], order: int) -> tuple[Fraction, ...]:
    """Weights ``w`` with ``f^(order)(0) ≈ Σ w_j f(offsets_j)`` on a unit grid (Fornberg 1988).

    >>> [str(w) for w in fornberg((-1, 0, 1), 1)]
    ['-1/2', '0', '1/2']
    """
    n = len(offsets)
    if order >= n:
        raise ValueError(f"{n} points cannot give a derivative of order {order}")
    z = [Fraction(o) for o in offsets]
    c = [[Fraction(0)] * (order + 1) for _ in range(n)]
    c[0][0] = Fraction(1)
    c1 = Fraction(1)
    for i in range(1, n):
        c2 = Fraction(1)
        for j in range(i):
            c3 = z[i] - z[j]
            c2 *= c3
            for k in range(min(i, order), -1, -1):
                prev = c[i - 1][k - 1] if k else Fraction(0)
                c[i][k] = c1 * (k * prev - (z[i - 1]) * c[i - 1][k]) / c2
            for k in range(min(i, order), -1, -1):
                prev = c[j][k - 1] if k else Fraction(0)
                c[j][k] = (z[i] * c[j][k] - k * prev) / c3
        c1 = c2
    return tuple(row[order] for row in c)


@dataclass(frozen=True)
class Stencil:
    offsets: tuple[int, ...]
    weights: tuple[float, ...]


@lru_cache(maxsize=None)
def stencil(kind: str, order: int, accuracy: int) -> Stencil:
    """The ``kind`` ("central" | "forward" | "backward") stencil of a given order and accuracy."""
    if kind == "central":
        half = (order + 1) // 2 - 1 + (accuracy + 1) // 2
        offsets = tuple(range(-half, half + 1))
    else:
        reach = order + accuracy - 1
        offsets = tuple(range(0, reach + 1)) if kind == "forward" else tuple(range(-reach, 1))
    return Stencil(offsets, tuple(float(w) for w in fornberg(offsets, order)))


def base_step(order: int, accuracy: int, eps: float) -> float:
    return eps ** (1.0 / (order + accuracy))


@dataclass(frozen=True)
class Estimate:
    """Finite-difference derivative values, error estimates and reason codes (0: fine)."""

    value: object
    error: object
    code: object
    left: object
    right: object


def _apply(xp, st: Stencil, values: dict, h, order: int):
    total = sum(w * values[j] for j, w in zip(st.offsets, st.weights) if w != 0)
    rounding = sum(abs(w) * xp.abs(values[j]) for j, w in zip(st.offsets, st.weights) if w != 0)
    # Multiply by 1/h^m: XLA will not fuse a divide whose result has several consumers, and a
    # separate pass over memory would cost as much as the whole kernel.
    scale = 1.0 / h**order
    return total * scale, rounding * scale


def _with_error(xp, kind, order, accuracy, values, h, eps, rounding_only=False):
    fine, rounding = _apply(xp, stencil(kind, order, accuracy), values, h, order)
    if rounding_only:
        return fine, 4 * eps * rounding
    coarse, _ = _apply(xp, stencil(kind, order, max(accuracy - 2, 1)), values, h, order)
    return fine, xp.abs(fine - coarse) + 4 * eps * rounding


def differentiate(
    values_at: Callable, x, order: int, accuracy: int, xp, *,
    opaque: bool = False, states_at: Callable | None = None, flagged=None, distance=None,
    step: float | None = None,
) -> Estimate:
    """The ``order``-th derivative of f at ``x`` by finite differences, in array module ``xp``.

    Args:
        values_at: f on an array of points (NumPy or JAX).
        opaque: f is a callable with no formula: kinks are detected by one-sided disagreement.
        states_at: for a formula with switches, the signs of the switch arguments at the points;
            kinks are where they change. None for a smooth formula.
        flagged: points that lie on a switch, where the kink analysis found f^(order) to exist
            or not: a central stencil would straddle the switch there, so the forward and backward
            stencils (each on one smooth piece) are averaged.
        distance: the distance from each point to the nearest switch: steps stay well inside it.
        step: a relative step overriding the default.
    """
    eps = float(np.finfo(x.dtype).eps)
    if step is not None:
        rel, h = step, _step(x, step, xp)
    else:
        rel = base_step(order, accuracy, eps)
        h = _step(x, rel, xp, distance, flagged)
    central, fwd, bwd = (stencil(k, order, accuracy) for k in ("central", "forward", "backward"))
    smooth = not opaque and states_at is None
    offsets = central.offsets if smooth else sorted(set(central.offsets) | set(fwd.offsets) | set(bwd.offsets))
    values = {j: values_at(x + j * h) for j in offsets}
    value, error = _with_error(xp, "central", order, accuracy, values, h, eps)
    zero = xp.zeros(x.shape, np.int8)
    if smooth:
        return Estimate(value, error, zero, value, value)
    v_f, e_f = _with_error(xp, "forward", order, accuracy, values, h, eps, rounding_only=opaque)
    v_b, e_b = _with_error(xp, "backward", order, accuracy, values, h, eps, rounding_only=opaque)

    if states_at is not None:
        states = {j: states_at(x + j * h) for j in offsets}

        def crossed(js):
            out = xp.zeros(x.shape, bool)
            for j in js:
                for s_j, s_0 in zip(states[j], states[0]):
                    out = out | (s_j != s_0)
            return out

        cross_l = crossed([j for j in central.offsets if j < 0])
        cross_r = crossed([j for j in central.offsets if j > 0])
        fwd_ok = ~crossed(fwd.offsets)
        bwd_ok = ~crossed(bwd.offsets)
        straddle = (cross_l | cross_r) & ~flagged
        one_sided = xp.where(cross_l & fwd_ok, v_f, xp.where(cross_r & bwd_ok, v_b, np.nan))
        one_err = xp.where(cross_l & fwd_ok, e_f, xp.where(cross_r & bwd_ok, e_b, np.nan))
        value = xp.where(straddle, one_sided, xp.where(flagged, 0.5 * (v_f + v_b), value))
        error = xp.where(straddle, one_err, xp.where(flagged, xp.maximum(e_f, e_b) + 0.5 * xp.abs(v_f - v_b), error))
        code = xp.where(straddle & xp.isnan(one_sided), BRANCHING, zero).astype(np.int8)
        return Estimate(value, error, code, value, value)

    _, e_c = _with_error(xp, "central", order, accuracy, values, h, eps, rounding_only=True)
    return _resolve_opaque(values_at, x, order, accuracy, rel, Estimate(value, error, zero, v_b, v_f), e_c, e_f, e_b)


def _resolve_opaque(values_at, x, order, accuracy, rel, est: Estimate, e_c, e_f, e_b) -> Estimate:
    """NumPy only. For a callable with no formula, a kink within the stencil shows as forward and
    backward differences that disagree. Where they do, both are retried with steps 10³, 10⁶ and 10⁹
    times smaller: once the kink lies outside both stencils they agree (and their mean is the
    derivative); if they never do, the kink is at x itself."""
    value, error, left, right = (np.array(a, dtype=x.dtype) for a in (est.value, est.error, est.left, est.right))
    code = np.zeros(x.shape, np.int8)
    todo = ~_agree(right, left, e_f, e_b)
    # Sides that agree while the central value does not: f is only C¹ inside the stencil (a
    # kink of f'), where a central difference errs by about the step and one-sided ones do not.
    sides = 0.5 * (left + right)
    c1 = ~todo & ~_agree(value, sides, e_c, 0.5 * (e_f + e_b))
    value[c1], error[c1] = sides[c1], (np.maximum(e_f, e_b) + np.abs(right - left))[c1]
    for shrink in (1e-3, 1e-6, 1e-9):
        if not todo.any():
            break
        idx = np.nonzero(todo)[0]
        (s_f, se_f), (s_b, se_b) = differentiate_sides(values_at, x[idx], order, accuracy, np, rel * shrink)
        left[idx], right[idx] = s_b, s_f
        ok = _agree(s_f, s_b, se_f, se_b)
        value[idx[ok]] = 0.5 * (s_f + s_b)[ok]
        error[idx[ok]] = (np.maximum(se_f, se_b) + np.abs(s_f - s_b))[ok]
        todo[idx[ok]] = False
    value[todo], error[todo], code[todo] = np.nan, np.inf, UNRESOLVED
    return Estimate(value, error, code, left, right)


def one_sided(values_at, x, order: int, accuracy: int, xp, kind: str, step: float | None = None) -> Estimate:
    """The ``kind`` ("forward" | "backward") finite difference only, kinks or not."""
    eps = float(np.finfo(x.dtype).eps)
    h = _step(x, step if step is not None else base_step(order, accuracy, eps), xp)
    values = {j: values_at(x + j * h) for j in stencil(kind, order, accuracy).offsets}
    value, error = _with_error(xp, kind, order, accuracy, values, h, eps)
    return Estimate(value, error, xp.zeros(x.shape, np.int8), value, value)


def _step(x, rel: float, xp, distance=None, flagged=None):
    # h scales with |x| (at least rel) and stays a small fraction of the distance to the nearest
    # kink or pole (except on one); it is kept clear of x's rounding and made exact: (x + h) - x == h.
    scale = xp.maximum(xp.abs(x), 1.0)
    h = rel * scale if distance is None else rel * xp.minimum(scale, distance)
    if flagged is not None:
        h = xp.where(flagged, rel * scale, h)
    h = xp.maximum(h, 16 * np.finfo(x.dtype).eps * xp.abs(x))
    return (x + h) - x


def differentiate_sides(values_at, x, order, accuracy, xp, rel):
    """Forward and backward estimates with relative step ``rel``: ``((value, rounding), (value, rounding))``."""
    eps = float(np.finfo(x.dtype).eps)
    h = _step(x, rel, xp)
    fwd, bwd = stencil("forward", order, accuracy), stencil("backward", order, accuracy)
    values = {j: values_at(x + j * h) for j in sorted(set(fwd.offsets) | set(bwd.offsets))}
    return (_with_error(xp, "forward", order, accuracy, values, h, eps, rounding_only=True),
            _with_error(xp, "backward", order, accuracy, values, h, eps, rounding_only=True))


def _agree(a, b, rounding_a, rounding_b):
    # One-sided estimates of a smooth f agree to within their round-off and 1e-6 of their size
    # (their truncation errors are far smaller); across a kink they differ by the jump in slope.
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= 10 * (rounding_a + rounding_b) + 1e-6 * (np.abs(a) + np.abs(b))
        return np.isfinite(a) & np.isfinite(b) & close
