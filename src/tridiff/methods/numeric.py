"""Numeric differentiation: finite-difference stencils over f's values, a step per point, honest errors.

Schemes
    ``central``, ``forward``, ``backward``: stencils of accuracy order p = 2, 4, 6, 8 whose weights
    come from Fornberg's algorithm in exact rationals, never typed in.
    ``richardson``: central differences at steps h, h/2, h/4, … extrapolated to h → 0. Eliminating
    the h², h⁴, … terms level by level is exact for the same polynomials as the single stencil on
    the union of those nested points, so the tableau *is* that stencil: Fornberg gives its weights.
    ``complex-step``: f'(x) = Im f(x + ih)/h with no subtraction, hence no cancellation: accurate
    to rounding for any tiny h, wherever f is analytic (see :mod:`tridiff.compiler.lowering` for how
    branches are taken along the real axis so that it stays valid beside kinks).

Step
    ``h = eps**(1/(m+p)) / R**(p/(m+p)) * min(max(|x|, 1), d)`` for derivative order m, accuracy p
    and a stencil reaching ±R·h. It balances the truncation error ~(R·h)^p against the round-off
    ~eps/h^m; ``max(|x|, 1)`` keeps
    x + h distinct from x in the same leading digits wherever x is; ``d``, the distance to the
    nearest pole or domain edge, is f's own scale there; and the stencil stays clear of the
    nearest kink, so that it sees one smooth piece of f (see :func:`step_size`). The step is
    rounded down to a power of two, so that every point of the stencil is exact.

Error estimate
    Truncation: the same stencil at 2h differs from it at h by (2^p − 1)·C·h^p, which gives C·h^p
    (Richardson: the gap to the tableau's previous level), doubled for safety; round-off: each
    f(x_j) off by up to 3 ulps, ``3·eps·Σ|w_j f(x_j)| / h^m`` (calibrated on the catalog against
    mpmath: the estimate covers the true error at ≥ 99% of points and is within 100× at ≥ 90%).

Near a kink a central stencil would average the two sides (the lab's ±0.5 beside |x|'s kink), so a
stencil that would straddle one is replaced by a one-sided stencil on x's side. Where f is a
formula the switches say where the kinks are; for an opaque callable, forward and backward
differences that disagree reveal one, and are retried with smaller steps before giving up.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Callable

import numpy as np

from ..errors import TridiffError
from ..reasons import BRANCHING, TOO_COARSE, UNRESOLVED

SCHEMES = ("central", "forward", "backward", "richardson", "complex-step")
DEFAULT_ACCURACY = {"central": 4, "forward": 4, "backward": 4, "richardson": 8, "complex-step": 2}
ACCURACIES = (2, 4, 6, 8)


def fornberg(offsets, order: int) -> tuple[Fraction, ...]:
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
                c[i][k] = c1 * (k * prev - z[i - 1] * c[i - 1][k]) / c2
            for k in range(min(i, order), -1, -1):
                prev = c[j][k - 1] if k else Fraction(0)
                c[j][k] = (z[i] * c[j][k] - k * prev) / c3
        c1 = c2
    return tuple(row[order] for row in c)


@dataclass(frozen=True)
class Stencil:
    """Offsets (in units of the step) and weights of one finite-difference formula."""

    offsets: tuple[Fraction, ...]
    weights: tuple[float, ...]
    accuracy: int
    kind: str


@lru_cache(maxsize=None)
def stencil(kind: str, order: int, accuracy: int) -> Stencil:
    """The ``kind`` stencil ("central", "forward", "backward" or "richardson") of an order and accuracy.

    >>> stencil("central", 1, 4).weights
    (0.08333333333333333, -0.6666666666666666, 0.0, 0.6666666666666666, -0.08333333333333333)
    """
    if kind == "central":
        half = (order + 1) // 2 - 1 + (accuracy + 1) // 2
        offsets = range(-half, half + 1)
    elif kind == "richardson":
        # Levels of the accuracy-2 central stencil at steps 1, 1/2, 1/4, …: one level per order p/2.
        base = stencil("central", order, 2).offsets
        offsets = sorted({b * Fraction(1, 2**level) for b in base for level in range(accuracy // 2)})
    else:
        reach = order + accuracy - 1
        offsets = range(0, reach + 1) if kind == "forward" else range(-reach, 1)
    offsets = tuple(Fraction(o) for o in offsets)
    return Stencil(offsets, tuple(float(w) for w in fornberg(offsets, order)), accuracy, kind)


def _reach(st: Stencil) -> float:
    # A stencil spanning ±R·h errs like (R·h)^p: minimising (R·h)^p + eps/h^m puts the best step
    # at eps^(1/(m+p)) / R^(p/(m+p)).
    return float(max(abs(o) for o in st.offsets))


def check_scheme(scheme, accuracy, schemes: tuple[str, ...] = SCHEMES) -> tuple[str, int]:
    """``(scheme, accuracy)`` checked against the ``schemes`` offered, defaults filled in.

    >>> check_scheme(None, None)
    ('central', 4)
    """
    scheme = "central" if scheme is None else scheme
    if scheme not in schemes:
        raise TridiffError(f"unknown scheme {scheme!r}: choose one of {', '.join(map(repr, schemes))}")
    accuracy = DEFAULT_ACCURACY[scheme] if accuracy is None else accuracy
    if isinstance(accuracy, bool) or accuracy not in ACCURACIES:
        raise TridiffError(f"accuracy must be one of {ACCURACIES}, got {accuracy!r}")
    return scheme, int(accuracy)


def base_step(order: int, accuracy: int, eps: float) -> float:
    """The relative step balancing truncation ~h^accuracy against round-off ~eps/h^order."""
    return eps ** (1.0 / (order + accuracy))


MIN_STEP_RATIO = 16  # near a kink the step shrinks to stay clear of it, by at most this factor
COMPLEX_STEP = 1e-20  # relative: the complex step's truncation is below rounding, and it never cancels


def default_step(scheme: str, order: int, accuracy: int, eps: float) -> float:
    """The relative step a scheme takes away from kinks and poles: :func:`base_step` balanced
    against the stencil's reach (see :func:`_reach`), or :data:`COMPLEX_STEP`."""
    if scheme == "complex-step":
        return COMPLEX_STEP
    return base_step(order, accuracy, eps) / _reach(stencil(scheme, order, accuracy)) ** (accuracy / (accuracy + order))


@dataclass(frozen=True)
class Estimate:
    """Finite-difference derivative values, error estimates, reason codes (0: fine), one-sided values,
    and the step taken at each point."""

    value: object
    error: object
    code: object
    left: object
    right: object
    step: object = None


class _Values:
    """f at x + j·h for the offsets j asked for, each evaluated once."""

    def __init__(self, values_at: Callable, x, h):
        self.values_at, self.x, self.h, self.cache = values_at, x, h, {}

    def __getitem__(self, j: Fraction):
        if j not in self.cache:
            self.cache[j] = self.values_at(self.x + float(j) * self.h)
        return self.cache[j]


def _apply(xp, st: Stencil, f: _Values, h, order: int, scale: int = 1):
    """``Σ w_j f(x + scale·j·h) / (scale·h)^m`` and its round-off bound, for ``scale`` = 1 or 2."""
    terms = [(w, f[scale * j]) for j, w in zip(st.offsets, st.weights) if w != 0]
    # Multiply by 1/h^m: XLA will not fuse a divide whose result has several consumers, and a
    # separate pass over memory would cost as much as the whole kernel.
    inv = 1.0 / (scale * h) ** order
    total = sum(w * v for w, v in terms) * inv
    rounding = sum(abs(w) * xp.abs(v) for w, v in terms) * inv
    return total, rounding


def _estimate(xp, st: Stencil, f: _Values, h, order: int, eps: float, smear=None, bound=None, errors=True):
    """A stencil's value and error estimate: truncation plus round-off, doubled for safety.

    Truncation: from the same stencil at 2h; for Richardson, whose steps are large enough that
    h^p is not yet the whole error, from the tableau's previous level (the standard estimate).
    Round-off: the stencil's sum is off by about an ulp of each term; each value of f by eps·bound,
    the running error estimate of f's formula (a couple of ulps, or more where a sum cancels or a
    special function loses digits: see :meth:`tridiff.compiler.lowering.Lowering.bound`), or
    without a formula by 2 ulps; and by up to
    its slope times eps·smear where f's program rounds the arguments it computes from x (an ulp of
    each argument; see :class:`tridiff.analysis.switches.Analysis`): sin(1e8·x) at 3 is off by
    9e7·eps·3, which the step 1e-11 magnifies to 1e4. Without ``errors`` the estimate is 0, and f
    is evaluated at no point for it (NumPy computes what it is asked: d(x) wants values only).
    """
    value, rounding = _apply(xp, st, f, h, order)
    if not errors:
        return value, 0.0
    total_weight = float(sum(abs(w) for w in st.weights))
    # the stencil's own sum rounds too: about an ulp of each term
    noise = 3 * rounding if bound is None else rounding + total_weight * bound / h**order
    if smear is not None:
        ends = [j for j, w in zip(st.offsets, st.weights) if w != 0]
        lo, hi = min(ends), max(ends)
        slope = xp.abs(f[hi] - f[lo]) / (float(hi - lo) * h)
        noise = noise + total_weight * smear * slope / h**order
    # Richardson of accuracy 2 is one level (plain central differences): it has no previous level,
    # and asking for one crashed (stencil of 0 levels); it is estimated from 2h like central.
    if st.kind == "richardson" and st.accuracy > 2:
        truncation = xp.abs(value - _apply(xp, stencil("richardson", order, st.accuracy - 2), f, h, order)[0])
    else:
        doubled, _ = _apply(xp, st, f, h, order, scale=2)
        truncation = xp.abs(doubled - value) / (2**st.accuracy - 1)
    return value, 2 * truncation + eps * noise


def step_size(x, rel: float, xp, distance=None, flagged=None, clearance=None, reach: float = 1.0):
    """The step at each point, as a power of two.

    ``rel·max(|x|, 1)``; near a pole or domain edge at ``distance`` d, or where f varies on a scale
    d smaller than |x| (sin at 1e4: d = 1), ``rel·d``; near a kink at ``clearance`` c, f is smooth on
    each side, so the stencil (reaching ±reach·h) need only stay clear of it: at most
    ``c / (2·reach)``, but not below 1/16 of the step it would take otherwise: round-off grows as
    1/h (sign(x) at 1e-17 took a step of 1e-18, and the rounding of Σ w_j f_j over it made a slope
    of 24 out of 0). Closer to the kink than that, the
    central stencil straddles it and :func:`differentiate` takes a one-sided one on x's side. A power
    of two at least 16 ulps of x makes every stencil point ``x + j·h`` (j a small multiple of 1/8)
    exactly representable, so the abscissae carry no rounding error of their own.
    """
    scale = xp.maximum(xp.abs(x), 1.0)
    natural = rel * scale if distance is None else rel * xp.minimum(scale, distance)
    h = natural
    if clearance is not None:
        h = xp.maximum(xp.minimum(h, clearance / (2 * reach)), h / MIN_STEP_RATIO)
    if flagged is not None:  # on a kink the clearance is 0: one-sided stencils take over there
        h = xp.where(flagged, natural, h)
    h = xp.maximum(xp.maximum(h, 16 * np.finfo(x.dtype).eps * xp.abs(x)), np.finfo(x.dtype).tiny)
    return _power_of_two_below(h, xp)


def _power_of_two_below(h, xp):
    # Keep the exponent bits, clear the mantissa: the largest power of two <= h (h > 0, finite).
    # Bit masking is one instruction; frexp/ldexp cost XLA as much as the whole stencil.
    ints = {np.dtype(np.float64): (np.int64, 0x7FF0000000000000), np.dtype(np.float32): (np.int32, 0x7F800000)}
    itype, mask = ints[np.dtype(h.dtype)]
    if xp is np:
        return (h.view(itype) & mask).view(h.dtype)
    from jax import lax

    return lax.bitcast_convert_type(lax.bitcast_convert_type(h, itype) & mask, h.dtype)


def differentiate(
    values_at: Callable, x, order: int, xp, *, scheme: str = "central", accuracy: int | None = None,
    opaque: bool = False, states_at: Callable | None = None, flagged=None, distance=None,
    clearance=None, smear=None, bound=None, step: float | None = None, errors: bool = True,
) -> Estimate:
    """The ``order``-th derivative of f at ``x`` by finite differences, in array module ``xp``.

    Args:
        values_at: f on an array of points (NumPy or JAX).
        scheme: "central", "forward", "backward" or "richardson" (complex step: :func:`complex_step`).
        accuracy: the scheme's order of accuracy (default :data:`DEFAULT_ACCURACY`).
        opaque: f is a callable with no formula: kinks are detected by one-sided disagreement.
        states_at: for a formula with switches, the signs of the switch arguments at the points;
            kinks are where they change. None for a smooth formula.
        flagged: points on a switch, where the kink analysis decides whether f^(order) exists: a
            central stencil would straddle the switch, so forward and backward ones are averaged.
        distance, clearance: from each point to the nearest pole or domain edge, and to the nearest
            kink: see :func:`step_size`.
        smear: the rounding of f's own arguments, for the error estimate: see :func:`_estimate`.
        bound: a running error bound of f's values at x (in units of eps), for the same.
        errors: estimate the errors (False: values only, the estimate 0).
        step: a relative step overriding the default.
    """
    accuracy = accuracy or DEFAULT_ACCURACY[scheme]
    eps = float(np.finfo(x.dtype).eps)
    main = stencil(scheme, order, accuracy)
    rel = step if step is not None else default_step(scheme, order, accuracy, eps)
    h = (step_size(x, rel, xp, flagged=flagged) if step is not None
         else step_size(x, rel, xp, distance, flagged, clearance, _reach(main)))
    f = _Values(values_at, x, h)
    value, error = _estimate(xp, main, f, h, order, eps, smear, bound, errors)
    code = xp.zeros(x.shape, np.int8)
    if distance is not None and step is None:
        # Where the floats near x are so far apart that the step had to grow well past rel·d, the
        # stencil spans a good part of f's scale d: its truncation is no longer ~h^p, nor is the estimate.
        code = xp.where(h > 16 * rel * distance, TOO_COARSE, code).astype(np.int8)
    # Forward and backward stencils need the kink checks too: skipping them let a forward stencil
    # reach across a kink unnoticed (|x| opaque: f'(0) = 1; "abs(x)" with step=0.1 at -0.05: -2.33).
    if not opaque and states_at is None:
        return Estimate(value, error, code, value, value, h)

    fwd, bwd = stencil("forward", order, accuracy), stencil("backward", order, accuracy)
    v_f, e_f = _estimate(xp, fwd, f, h, order, eps, smear, bound, errors)
    v_b, e_b = _estimate(xp, bwd, f, h, order, eps, smear, bound, errors)
    if opaque:
        return _resolve_opaque(f, x, main, order, accuracy, rel, eps, Estimate(value, error, code, v_b, v_f))

    states = {j: states_at(x + float(j) * h) for j in set(main.offsets) | set(fwd.offsets) | set(bwd.offsets)}

    def crossed(offsets):
        out = xp.zeros(x.shape, bool)
        for j in offsets:
            for s_j, s_0 in zip(states[j], states[Fraction(0)]):
                out = out | (s_j != s_0)
        return out

    cross_l = crossed([j for j in main.offsets if j < 0])
    cross_r = crossed([j for j in main.offsets if j > 0])
    fwd_ok, bwd_ok = ~crossed(fwd.offsets), ~crossed(bwd.offsets)
    straddle = (cross_l | cross_r) & ~flagged
    one_sided = xp.where(cross_l & fwd_ok, v_f, xp.where(cross_r & bwd_ok, v_b, np.nan))
    one_err = xp.where(cross_l & fwd_ok, e_f, xp.where(cross_r & bwd_ok, e_b, np.nan))
    value = xp.where(straddle, one_sided, xp.where(flagged, 0.5 * (v_f + v_b), value))
    error = xp.where(straddle, one_err, xp.where(flagged, xp.maximum(e_f, e_b) + 0.5 * xp.abs(v_f - v_b), error))
    code = xp.where(straddle & xp.isnan(one_sided), BRANCHING, code).astype(np.int8)
    return Estimate(value, error, code, value, value, h)


def complex_step(complex_values_at: Callable, x, xp, *, distance=None, step: float | None = None,
                 errors: bool = True) -> Estimate:
    """f'(x) = Im f(x + ih) / h: no difference of nearby values, so no cancellation.

    ``complex_values_at`` evaluates f's analytic continuation along the real axis. The step is
    tiny (1e-20 of |x|, or of √tiny near 0, so that x³'s truncation h² vanishes at 0), and far inside
    the ``distance`` d to the nearest singularity or f's scale of variation: the truncation, about
    (h/d)²·f', is then below rounding, and the value is as accurate as f itself. XLA flushes
    subnormal numbers to 0, so h stays a normal number, and Im f(x + ih) is resolved to the smallest
    normal one, ``tiny``. Where that floor puts h past 1e-4·d (log at 1e-306), or where floats near
    x are spaced wider than 1e-4·d (cos(3x) at 1e100), no step resolves f.
    """
    info = np.finfo(x.dtype)
    rel = step if step is not None else COMPLEX_STEP
    h = rel * xp.maximum(xp.abs(x), float(info.tiny) ** 0.5)
    if distance is not None and step is None:
        h = xp.minimum(h, 1e-8 * distance)
    h = xp.maximum(h, 16 * float(info.tiny))
    z = complex_values_at(x + 1j * h)
    # An intermediate that overflows (exp(800) inside log1p(exp(x))) leaves Re f infinite while
    # Im f / h is still a finite, meaningless number.
    value = xp.where(xp.isfinite(xp.real(z)), xp.imag(z) / h, np.nan)
    # Truncation: the value at 2h errs by 4·h²·f'''/6, the one at h by h²·f'''/6 (only the estimate
    # needs it: XLA drops this evaluation from d(x)); rounding: f is off by a few ulps; Im f's floor.
    truncation = xp.abs(xp.imag(complex_values_at(x + 2j * h)) / (2 * h) - value) / 3 if errors else 0.0
    error = 2 * truncation + 16 * float(info.eps) * xp.abs(value) + float(info.tiny) / h
    code = xp.zeros(x.shape, np.int8)
    if distance is not None and step is None:
        # f's program rounds what it computes from x (3x in cos(3x)) by about eps·|x|, which moves f'
        # by that much over its scale d: negligible until floats near x are spaced like d itself.
        error = error + 4 * float(info.eps) * xp.abs(x) / distance * xp.abs(value)
        coarse = (h > 1e-4 * distance) | (float(info.eps) * xp.abs(x) > 1e-4 * distance)
        code = xp.where(coarse, TOO_COARSE, code).astype(np.int8)
    return Estimate(value, error, code, value, value, h)


def _resolve_opaque(f: _Values, x, main: Stencil, order, accuracy, rel, eps, est: Estimate) -> Estimate:
    """NumPy only. For a callable with no formula, a kink within the stencil shows as forward and
    backward differences that disagree. Where they do, both are retried with steps 10³, 10⁶ and 10⁹
    times smaller: once the kink lies outside both stencils they agree (and their mean is the
    derivative); if they never do, the kink is at x itself."""
    value, error, left, right = (np.array(a, dtype=x.dtype) for a in (est.value, est.error, est.left, est.right))
    fwd, bwd = stencil("forward", order, accuracy), stencil("backward", order, accuracy)
    rounding = {k: eps * _apply(np, st, f, f.h, order)[1] for k, st in (("c", main), ("f", fwd), ("b", bwd))}
    code = np.zeros(x.shape, np.int8)
    todo = ~_agree(right, left, rounding["f"], rounding["b"])
    # Sides that agree while the central value does not: f is only C¹ inside the stencil (a
    # kink of f'), where a central difference errs by about the step and one-sided ones do not.
    sides = 0.5 * (left + right)
    c1 = ~todo & ~_agree(value, sides, rounding["c"], 0.5 * (rounding["f"] + rounding["b"]))
    value[c1], error[c1] = sides[c1], (2 * (rounding["f"] + rounding["b"]) + np.abs(right - left))[c1]
    for shrink in (1e-3, 1e-6, 1e-9):
        if not todo.any():
            break
        idx = np.nonzero(todo)[0]
        sub = _Values(f.values_at, x[idx], step_size(x[idx], rel * shrink, np))
        (s_f, r_f), (s_b, r_b) = (_apply(np, st, sub, sub.h, order) for st in (fwd, bwd))
        left[idx], right[idx] = s_b, s_f
        ok = _agree(s_f, s_b, eps * r_f, eps * r_b)
        value[idx[ok]] = 0.5 * (s_f + s_b)[ok]
        error[idx[ok]] = (2 * eps * np.maximum(r_f, r_b) + np.abs(s_f - s_b))[ok]
        todo[idx[ok]] = False
    value[todo], error[todo], code[todo] = np.nan, np.inf, UNRESOLVED
    return Estimate(value, error, code, left, right)


def _agree(a, b, rounding_a, rounding_b):
    # One-sided estimates of a smooth f agree to within their round-off and 1e-6 of their size
    # (their truncation errors are far smaller); across a kink they differ by the jump in slope.
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= 10 * (rounding_a + rounding_b) + 1e-6 * (np.abs(a) + np.abs(b))
        return np.isfinite(a) & np.isfinite(b) & close
