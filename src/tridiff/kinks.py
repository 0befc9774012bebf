"""Where a derivative does not exist, and why.

A formula can stop being differentiable only where a *switch* changes: the argument ``u`` of
``Abs``, ``sign``, ``Max``/``Min``, ``Heaviside``, a ``Piecewise`` condition (a branch switch), or
of ``sqrt``, ``log``, ``asin``… at the edge of their domain (a domain switch). Away from every
``u = 0`` the formula is analytic and its derivative is the derivative formula's value.

At a point where some ``u`` vanishes (to within the rounding of computing ``u``: ``sin(np.pi)`` is
1.2e-16, yet ``np.pi`` means π), the one-sided derivatives are the limits of ``f'`` from each side
(mean value theorem). The side of ``u = 0`` where ``u`` has sign ``s`` is fixed by ``u'`` (or by
``u''`` where ``u' = 0``); so the limits are ``f'`` evaluated with ``u`` snapped to 0 and each
switch forced to its left or right value. ``f^(n)`` exists there iff f is continuous and, for
every ``k ≤ n``, the left and right limits of ``f^(k)`` agree and are finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import sympy as sp

from .compiling import Lowering, relation_argument

# Reason codes of an undefined point, in order of precedence (the first that applies is reported).
OK, NOT_FINITE_INPUT, OUTSIDE_DOMAIN, DOMAIN_ENDPOINT, JUMP, KINK, INFINITE, NOT_FINITE, UNRESOLVED, BRANCHING = range(10)

REASONS: dict[int, str] = {
    OK: "",
    NOT_FINITE_INPUT: "x is NaN or infinite",
    OUTSIDE_DOMAIN: "f is not defined here (outside its domain, or a pole)",
    DOMAIN_ENDPOINT: "endpoint of f's domain: f is defined on one side only",
    JUMP: "f jumps here (it is not continuous)",
    KINK: "kink: the left and right derivatives differ",
    INFINITE: "the derivative is infinite, or too large for the float type (vertical tangent, pole, overflow)",
    NOT_FINITE: "the derivative formula has no finite value here",
    UNRESOLVED: "one-sided difference quotients disagree: a kink or jump within the step",
    BRANCHING: "kinks on both sides of x, closer than the finite-difference step",
}


@dataclass(frozen=True)
class Switch:
    """A place where a formula may stop being analytic: where ``arg`` crosses 0."""

    arg: sp.Expr
    d1: sp.Expr  # d arg / dx: which way arg crosses 0
    d2: sp.Expr  # its second derivative, for where d1 = 0 too
    kind: str  # "branch" (abs, max, where...), "domain" (f needs arg >= 0: sqrt, log...), "pole" (1/arg)


# Rules as data: which arguments of each function are branch switches, which are domain switches.
_BRANCH_ARGS = {
    sp.Abs: lambda e: [e.args[0]],
    sp.sign: lambda e: [e.args[0]],
    sp.Heaviside: lambda e: [e.args[0]],
    sp.DiracDelta: lambda e: [e.args[0]],
    sp.Max: lambda e: [a - b for i, a in enumerate(e.args) for b in e.args[i + 1:]],
    sp.Min: lambda e: [a - b for i, a in enumerate(e.args) for b in e.args[i + 1:]],
    sp.atan2: lambda e: [e.args[0]],  # jumps by 2π where y crosses 0 with x < 0
}
_DOMAIN_ARGS = {
    sp.log: lambda u: [u],
    sp.asin: lambda u: [1 - u, 1 + u],
    sp.acos: lambda u: [1 - u, 1 + u],
    sp.atanh: lambda u: [1 - u, 1 + u],
    sp.acosh: lambda u: [u - 1],
}


_POLE_ARGS = {
    sp.tan: lambda u: [sp.cos(u)], sp.sec: lambda u: [sp.cos(u)],
    sp.cot: lambda u: [sp.sin(u)], sp.csc: lambda u: [sp.sin(u)],
}
_PRECEDENCE = {"branch": 0, "domain": 1, "pole": 2}  # a u that is both a pole and a branch is a pole


def _switch_args(expr: sp.Expr):
    """Yield ``(u, kind)`` for every switch in ``expr``."""
    for node in sp.preorder_traversal(expr):
        if node.is_Relational:
            yield relation_argument(node), "branch"
        elif node.func in _BRANCH_ARGS:
            for u in _BRANCH_ARGS[node.func](node):
                yield u, "branch"
        elif node.func in _DOMAIN_ARGS:
            for u in _DOMAIN_ARGS[node.func](node.args[0]):
                yield u, "domain"
        elif node.func in _POLE_ARGS:
            for u in _POLE_ARGS[node.func](node.args[0]):
                yield u, "pole"
        elif node.is_Pow and node.base is not sp.E and node.base.free_symbols:
            if not node.exp.is_integer:
                yield node.base, "domain"  # a non-integer power needs a non-negative base
            elif node.exp.is_negative:
                yield node.base, "pole"


def switch_kinds(exprs, symbols) -> dict[sp.Expr, str]:
    """``{u: kind}`` for the switch arguments of ``exprs`` that depend on any of ``symbols``."""
    seen: dict[sp.Expr, str] = {}
    for expr in exprs:
        for u, kind in _switch_args(expr):
            if u.free_symbols & set(symbols) and _PRECEDENCE[kind] >= _PRECEDENCE[seen.get(u, "branch")]:
                seen[u] = kind
    # An argument SymPy proves positive (1 + exp(v), x² + 1) never switches: checking it would only
    # cost work (a logistic loss has one such log per data point).
    return {u: kind for u, kind in seen.items() if not u.is_positive}


def collect_switches(exprs, symbol: sp.Symbol) -> tuple[Switch, ...]:
    """The switches of ``exprs`` (f and the derivatives needed) that depend on ``symbol``.

    A derivative's switches vanish only where f's do: differentiating keeps the branch conditions
    and arguments (|u|' = sign(u)·u', √u' = u'/(2√u), log(u)' = u'/u). So f's own switches locate
    every kink; the derivatives' are collected too when their formulas are evaluated at a kink,
    because forcing a branch there needs the very argument the derivative's formula uses.
    """
    switches = []
    for u, kind in switch_kinds(exprs, (symbol,)).items():
        d1 = sp.diff(u, symbol)
        switches.append(Switch(u, d1, sp.diff(d1, symbol), kind))
    return tuple(switches)


@dataclass(frozen=True)
class Analysis:
    """The kink analysis at each point: a reason code (0: f^(n) exists) and one-sided limits of f^(n)."""

    code: jnp.ndarray
    left: jnp.ndarray
    right: jnp.ndarray
    value: jnp.ndarray  # f^(n) from the formula; where a switch vanishes, the agreed one-sided limit
    flagged: jnp.ndarray  # a branch or domain switch vanishes here
    distance: jnp.ndarray | None  # Newton estimate of the distance to the nearest pole or domain edge
    clearance: jnp.ndarray | None  # the same for the nearest branch switch (a kink or jump)
    lefts: dict  # {u: (flag, sign of u just left of x)}: forces a Lowering onto the left branch
    rights: dict  # the same for the right branch


def close(a, b):
    """Left and right limits computed from the same snapped formula agree to rounding when equal."""
    return (a == b) | (jnp.abs(a - b) <= 1e-9 * jnp.maximum(jnp.abs(a), jnp.abs(b)))


def analyse(x, symbol: sp.Symbol, exprs, switches: tuple[Switch, ...], n: int) -> Analysis:
    """Decide, in JAX, where f^(n) exists at ``x``.

    ``exprs`` is ``(f, f', …, f^(n))``, or just ``(f,)`` when f has no switches and n = 1: then
    only f's domain is checked and ``value``, ``left`` and ``right`` are None.
    """
    eps = jnp.finfo(x.dtype).eps
    natural = Lowering({symbol: x})
    vals = [natural.array(e, x) for e in exprs]

    # f^(n) itself is checked by the caller, on the values its method computes; lower orders here.
    code = jnp.zeros(x.shape, jnp.int8)
    for k in range(n - 1, 0, -1):  # lower orders last, so they take precedence
        code = jnp.where(jnp.isfinite(vals[k]), code, not_finite_code(vals[k]))
    value = left = right = vals[n] if len(vals) > n else None
    flagged = pole = jnp.zeros(x.shape, bool)
    distance = clearance = None
    lefts, rights = {}, {}
    endpoint, left_out, right_out, exact = flagged, flagged, flagged, jnp.ones(x.shape, bool)
    for s in switches:
        u, du, d2u = natural(s.arg), natural(s.d1), natural(s.d2)
        near = jnp.abs(u) / jnp.abs(du)
        if s.kind == "branch":
            clearance = near if clearance is None else jnp.minimum(clearance, near)
        else:
            distance = near if distance is None else jnp.minimum(distance, near)
        # u "is 0" when it is 0 to within the rounding error of computing it near x.
        flag = jnp.abs(u) <= 8 * eps * (jnp.abs(x * du) + jnp.abs(u))
        if s.kind == "pole":
            pole = pole | flag
            continue
        side = jnp.where(du != 0, jnp.sign(du), jnp.sign(d2u))
        other = jnp.where(du != 0, -side, side)
        rights[s.arg], lefts[s.arg] = (flag, side), (flag, other)
        flagged = flagged | flag
        exact = exact & (~flag | (u == 0))
        if s.kind == "domain":  # f is undefined on the side where u < 0
            left_out, right_out = left_out | (flag & (other < 0)), right_out | (flag & (side < 0))
            endpoint = left_out | right_out

    if lefts:
        low_l = Lowering({symbol: x}, lefts, natural)
        low_r = Lowering({symbol: x}, rights, natural)
        ls, rs = [low_l.array(e, x) for e in exprs], [low_r.array(e, x) for e in exprs]
        at_switch = jnp.zeros(x.shape, jnp.int8)
        for k in range(n, 0, -1):
            at_switch = jnp.where(close(ls[k], rs[k]), at_switch, KINK)
            finite = jnp.isfinite(ls[k]) & jnp.isfinite(rs[k])
            at_switch = jnp.where(finite, at_switch, INFINITE)
        # f must be continuous; f(x0) itself must match where the switch is exactly at x0.
        jump = ~close(ls[0], rs[0]) | (exact & ~close(vals[0], rs[0]))
        at_switch = jnp.where(jump, JUMP, at_switch)
        at_switch = jnp.where(endpoint, DOMAIN_ENDPOINT, at_switch).astype(jnp.int8)
        code = jnp.where(flagged, at_switch, code)
        left = jnp.where(left_out, jnp.nan, jnp.where(flagged, ls[n], vals[n]))
        right = jnp.where(right_out, jnp.nan, jnp.where(flagged, rs[n], vals[n]))
        value = jnp.where(flagged, rs[n], vals[n])

    # Where f has no domain or pole switch it is defined on all of R (an overflow to inf in
    # float64 is no reason to deny f' there), so its values need not be checked.
    if any(s.kind != "branch" for s in switches):
        code = jnp.where(jnp.isfinite(vals[0]) & ~pole, code, OUTSIDE_DOMAIN)
    code = jnp.where(jnp.isfinite(x), code, NOT_FINITE_INPUT).astype(jnp.int8)
    return Analysis(code, left, right, value, flagged, distance, clearance, lefts, rights)


def not_finite_code(values):
    """INFINITE where ``values`` is ±inf, else NOT_FINITE (for points where they are not finite)."""
    return jnp.where(jnp.isinf(values), INFINITE, NOT_FINITE).astype(jnp.int8)


def reasons_of(codes: np.ndarray) -> np.ndarray:
    """Reason texts for an array of codes ('' where the derivative exists)."""
    table = np.array([REASONS[c] for c in range(len(REASONS))], dtype=object)
    return table[np.asarray(codes, dtype=np.intp)]


@dataclass(frozen=True)
class Kink:
    """A point where f' does not exist, with the one-sided derivatives there."""

    x: float
    left: float
    right: float
    reason: str


def kinks(f, interval: tuple[float, float], *, samples: int = 4001) -> tuple[Kink, ...]:
    """The points in ``interval`` where f' does not exist, with left and right derivatives.

    Isolated points only: where f is undefined on a whole stretch, its endpoints are listed.

    >>> import tridiff as td
    >>> td.kinks("abs(x) + abs(x - 1)", (-5, 5))[0]
    Kink(x=0.0, left=-2.0, right=0.0, reason='kink: the left and right derivatives differ')
    """
    from .derivative import derivative
    from .function import function

    fn = function(f)
    symbol = fn.symbol
    a, b = check_interval(interval)
    d = derivative(fn, method="symbolic")
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


def check_interval(interval, name: str = "interval") -> tuple[float, float]:
    """``(a, b)`` as floats, or a clear error naming ``name`` unless finite with a < b."""
    from .errors import TridiffError

    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise TridiffError(f"{name} must be two numbers (a, b), got {interval!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise TridiffError(f"{name} must be finite with a < b, got ({a}, {b})")
    return a, b


def zeros_in(u: sp.Expr, symbol: sp.Symbol, a: float, b: float, samples: int) -> set[float]:
    """Zeros of u in [a, b]: exact where SymPy finds a finite set, else sign changes refined by bisection."""
    try:
        found = sp.solveset(u, symbol, sp.Interval(a, b))
    except (NotImplementedError, ValueError, TypeError):
        found = None
    if isinstance(found, sp.FiniteSet) and all(v.is_real for v in found):
        return {float(v) for v in found}
    fu = sp.lambdify(symbol, u, "numpy")
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
