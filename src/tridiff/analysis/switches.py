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
import sympy as sp

from ..compiler.lowering import Lowering, relation_argument
from ..primitives import BY_HEAD
from ..reasons import DOMAIN_ENDPOINT, INFINITE, JUMP, KINK, NOT_FINITE, NOT_FINITE_INPUT, OUTSIDE_DOMAIN


@dataclass(frozen=True)
class Switch:
    """A place where a formula may stop being analytic: where ``arg`` crosses 0."""

    arg: sp.Expr
    d1: sp.Expr  # d arg / dx: which way arg crosses 0
    d2: sp.Expr  # its second derivative, for where d1 = 0 too
    kind: str  # "branch" (abs, max, where...), "domain" (f needs arg >= 0: sqrt, log...), "pole" (1/arg)


_PRECEDENCE = {"branch": 0, "domain": 1, "pole": 2}  # a u that is both a pole and a branch is a pole


def _switch_args(expr: sp.Expr):
    """Yield ``(u, kind)`` for every switch in ``expr``."""
    for node in sp.preorder_traversal(expr):
        if node.is_Relational:
            yield relation_argument(node), "branch"
        elif node.func in BY_HEAD:
            yield from BY_HEAD[node.func].switches(node)
        elif node.is_Pow and node.base is not sp.E and node.base.free_symbols:
            if not node.exp.is_integer:
                yield node.base, "domain"  # a non-integer power needs a non-negative base
            elif node.exp.is_negative:
                yield node.base, "pole"


def switch_kinds(exprs, symbols) -> dict[sp.Expr, str]:
    """``{u: kind}`` for the switch arguments of ``exprs`` (f, f', …) that depend on any of ``symbols``.

    Within one expression a u that is both a pole and a branch is a pole. Across them, the kind f
    itself gives u stands: a derivative blowing up at f's domain edge (acosh'' has 1/(x - 1)) does
    not make the edge a pole of f.
    """
    seen: dict[sp.Expr, str] = {}
    for expr in exprs:
        own: dict[sp.Expr, str] = {}
        for u, kind in _switch_args(expr):
            if u.free_symbols & set(symbols) and _PRECEDENCE[kind] >= _PRECEDENCE[own.get(u, "branch")]:
                own[u] = kind
        seen.update({u: kind for u, kind in own.items() if u not in seen})
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
