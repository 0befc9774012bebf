"""Where a derivative does not exist, and why: one analysis for one variable and for n.

A formula can stop being differentiable only where a *switch* changes: the argument ``u`` of
``Abs``, ``sign``, ``Max``/``Min``, ``Heaviside``, a ``Piecewise`` condition (a branch switch), or
of ``sqrt``, ``log``, ``asin``… at the edge of their domain (a domain switch). Away from every
``u = 0`` the formula is analytic and its derivative is the derivative formula's value.

At a point where some ``u`` vanishes (to within the rounding of computing ``u``: ``sin(np.pi)`` is
1.2e-16, yet ``np.pi`` means π), the one-sided derivatives are the limits of ``f'`` from each side
(mean value theorem). The side of ``u = 0`` where ``u`` has sign ``s`` is fixed by ``u'`` (or by
``u''`` where ``u' = 0``); so the limits are ``f'`` evaluated with ``u`` snapped to 0 and each
switch forced to its left or right value. ``f^(n)`` exists there iff f is continuous and, for
every ``k ≤ n``, the left and right limits of ``f^(k)`` agree and are finite. With several
variables the same holds on each switch surface u = 0, its sides being u > 0 and u < 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..compiler.backends import JAX, Backend
from ..compiler.lowering import Lowering, relation_argument
from ..primitives import BY_HEAD
from ..reasons import DOMAIN_ENDPOINT, INFINITE, JUMP, KINK, NOT_FINITE, NOT_FINITE_INPUT, OUTSIDE_DOMAIN


@dataclass(frozen=True)
class Switch:
    """A place where a formula may stop being analytic: where ``arg`` crosses 0."""

    arg: sp.Expr
    kind: str  # "branch" (abs, max, where...), "singular" (cbrt), "domain" (f needs arg >= 0: sqrt, log...),
    # "pole" (1/arg): see tridiff.primitives.record.Primitive.switches
    grad: tuple[sp.Expr, ...]  # ∂arg/∂x_i: how much rounding computing arg carries
    d1: sp.Expr | None = None  # d arg / d(along): which way arg crosses 0 along one variable
    d2: sp.Expr | None = None  # its second derivative, for where d1 = 0 too (not for a pole)


_PRECEDENCE = {"branch": 0, "singular": 1, "domain": 2, "pole": 3}  # a u both a pole and a branch is a pole


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


def switch_kinds(orders, symbols) -> dict[sp.Expr, str]:
    """``{u: kind}`` for the switch arguments of the formulas that depend on any of ``symbols``;
    ``orders[k]`` holds the k-th derivatives (``orders[0]``: f, or f_1 … f_m).

    Within one expression a u that is both a pole and a branch is a pole. Across them, the kind f
    itself gives u stands: a derivative blowing up at f's domain edge (acosh'' has 1/(x - 1)) does
    not make the edge a pole of f, and a pole of a derivative's only (∇√(x² + y²) at the origin) is
    no pole of f: the derivative's non-finite value there speaks for itself.
    """
    seen: dict[sp.Expr, str] = {}
    for k, exprs in enumerate(orders):
        own: dict[sp.Expr, str] = {}
        for u, kind in (switch for expr in exprs for switch in _switch_args(expr)):
            if u.free_symbols & set(symbols) and _PRECEDENCE[kind] >= _PRECEDENCE[own.get(u, "branch")]:
                own[u] = kind
        seen.update({u: kind for u, kind in own.items() if u not in seen and (k == 0 or kind != "pole")})
    # An argument SymPy proves positive (1 + exp(v), x² + 1) never switches: checking it would only
    # cost work (a logistic loss has one such log per data point).
    return {u: kind for u, kind in seen.items() if not u.is_positive}


class _RealAbs(sp.Function):
    """|u| while it is differentiated, for a u real wherever f is defined that SymPy cannot prove
    real (log(x), ψ(x)): |u|' = sign(u)·u' (SymPy's Abs writes re(u)·re(u)'/|u| and turns
    re(log x) into log|x|: |log x|' became 0/0 at x = 1)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.sign(self.args[0])


def real_diff(expr: sp.Expr, *symbols: sp.Symbol) -> sp.Expr:
    """SymPy's derivative of a real formula, with no ``re``, ``im`` or unevaluated parts.

    Every formula tridiff accepts is real wherever it is defined (its domain and pole switches say
    where it is not), but SymPy cannot always prove a part real: log(x) and ψ(x) are not, off
    their domains. There |u|' = sign(u)·u', re(u) = u, im(u) = 0 and sign(u)' = 2δ(u)·u', as SymPy
    writes them for a u it knows real.

    >>> x = sp.Symbol("x", real=True)
    >>> real_diff(sp.Abs(sp.log(x)), x)
    sign(log(x))/x
    """
    for v in symbols:
        if expr.has(sp.Abs):
            expr = expr.replace(lambda e: e.func is sp.Abs and not e.args[0].is_extended_real,
                                lambda e: _RealAbs(e.args[0]))
        expr = sp.diff(expr, v)
        if expr.has(_RealAbs):
            expr = expr.replace(lambda e: e.func is _RealAbs, lambda e: sp.Abs(e.args[0]))
        if expr.has(sp.re, sp.im, sp.conjugate, sp.Derivative):
            expr = expr.replace(lambda e: e.func in (sp.re, sp.conjugate), lambda e: e.args[0])
            expr = expr.replace(lambda e: e.func is sp.im, lambda e: sp.S.Zero)
            expr = expr.replace(lambda e: isinstance(e, sp.Derivative) and e.expr.func is sp.sign,
                                lambda e: 2 * sp.DiracDelta(e.expr.args[0]) * real_diff(e.expr.args[0], v))
    return expr


def collect_switches(orders, variables, along: sp.Symbol | None = None, budget=None) -> tuple[Switch, ...]:
    """The switches of the formulas ``orders`` (as :func:`switch_kinds` takes them: f's, then the
    derivatives needed, by order) that depend on the ``variables``.

    A derivative's switches vanish only where f's do: differentiating keeps the branch conditions
    and arguments (|u|' = sign(u)·u', √u' = u'/(2√u), log(u)' = u'/u). So f's own switches locate
    every kink; the derivatives' are collected too when their formulas are evaluated at a kink,
    because forcing a branch there needs the very argument the derivative's formula uses.
    ``along``: the variable whose direction names the sides (one variable: left and right of x).
    ``budget``: called with each formula the analysis evaluates as it is derived; it raises to stop.
    """
    spend = budget or (lambda expr: None)
    switches = []
    for u, kind in switch_kinds(orders, variables).items():
        spend(u)
        d1 = d2 = None
        if along is not None:
            d1 = real_diff(u, along)
            spend(d1)
            # which side u has where d1 = 0: not asked of a pole (and 40 nested tan make d2 huge)
            if kind != "pole":
                d2 = real_diff(d1, along)
                spend(d2)
        switches.append(Switch(u, kind, tuple(real_diff(u, v) for v in variables), d1, d2))
    return tuple(switches)


@dataclass(frozen=True)
class Rate:
    """Part of a formula that varies on a scale of 1 in ``arg`` (sin(u), exp(u), b**u in units of 1/ln b).

    ``grad``: ∂arg/∂x_i, so along x_i that part varies on the scale 1/|∂arg/∂x_i|. ``rounded``:
    computing arg at x + j·h rounds differently for each j (1e8·x, x², x + 1): its values carry
    noise as if x were off by up to eps·|arg|/|∂arg/∂x_i|. c·x with c of at most 4 significant bits
    (3x, -2x, x/4) is not: a difference step (≥ 16 ulps of x) makes c·(x + j·h) = c·x + c·j·h with
    c·j·h exact, so every point shares c·x's one rounding: a shift of x, not noise.
    """

    arg: sp.Expr
    grad: tuple[sp.Expr, ...]

    @property
    def rounded(self) -> bool:
        coefficient, rest = self.arg.as_coeff_Mul()
        if not (rest.is_Symbol and coefficient.is_Number):
            return True
        numerator, denominator = float(coefficient).as_integer_ratio()
        bits = abs(numerator) // (abs(numerator) & -abs(numerator))  # the odd part: powers of two are exact
        return bits.bit_length() > 4 or denominator & (denominator - 1) != 0


def variation_rates(expr: sp.Expr, variables) -> tuple[Rate, ...]:
    """The parts of ``expr`` that vary on a scale of 1 in an argument, however large it is.

    sin(u), exp(u), … (records marked ``varies``) and b**u change by O(1) when u does: along x_i,
    f varies on the scale 1/|∂u/∂x_i|. A difference step sized by |x| alone would step over whole
    periods (sin at 1e4 took a step of 4).
    """
    rates = {}
    for node in sp.preorder_traversal(expr):
        record = BY_HEAD.get(node.func)
        if record is not None and record.varies:
            rates[node.args[0]] = tuple(real_diff(node.args[0], v) for v in variables)
        elif node.is_Pow and node.base.is_positive and not node.base.free_symbols and node.exp.free_symbols:
            u = sp.log(node.base) * node.exp
            rates[u] = tuple(real_diff(u, v) for v in variables)
    return tuple(Rate(u, grad) for u, grad in rates.items() if any(g != 0 for g in grad))


@dataclass(frozen=True)
class Analysis:
    """Where the derivatives of the top order exist, at each point, and their one-sided limits.

    Attributes:
        code: a reason code per point (0: every derivative of the top order exists).
        value, left, right: one array per derivative of the top order: its formula's value, where a
            switch vanishes the agreed one-sided limit, and the limits from each side (one
            variable: left and right of x). None when only f's own formulas were given.
        flagged: a branch or domain switch vanishes here.
        distance, clearance: with ``along``, Newton estimates of the distance to the nearest pole,
            domain edge or singular point (or f's scale of variation, when ``rates`` are given, if
            that is smaller), and to the nearest branch switch (a kink or jump); else None.
        smear: with ``rates``, how far x seems to move, per unit of rounding, as f's program rounds the
            arguments it computes from x (eps·smear: eps·3 for sin(1e8·x) at 3); None where none is rounded.
        lefts, rights: ``{u: (flag, sign of u on that side)}``: forces a Lowering onto each side.
    """

    code: object
    value: list | None
    left: list | None
    right: list | None
    flagged: object
    distance: object | None
    clearance: object | None
    smear: object | None
    lefts: dict
    rights: dict


def close(a, b, xp):
    """Left and right limits computed from the same snapped formula agree to rounding when equal."""
    return (a == b) | (xp.abs(a - b) <= 1e-9 * xp.maximum(xp.abs(a), xp.abs(b)))


def analyse(env: dict, orders, switches: tuple[Switch, ...], along: sp.Symbol | None = None,
            rates: tuple = (), backend: Backend = JAX, directions: list | None = None) -> Analysis:
    """Decide, with ``backend``'s arrays, where the derivatives of the top order exist at the points of ``env``.

    Args:
        env: the variables' values (arrays of one shape).
        orders: the formulas by order: ``orders[k]`` the k-th derivatives (``orders[0]``: f, or f_1 … f_m);
            ``(f,)`` alone when f has no switches: then only f's domain is checked.
        switches: from :func:`collect_switches` (with ``along`` when it names the sides).
        along: one variable: sides are left and right of its value (else where u > 0 and u < 0).
        directions: several variables: for each derivative of order ≥ 1 (``orders[1:]``, formula by
            formula), the direction it is taken along, as weights on the variables (one-hot for
            ∂/∂x_j): its one-sided limits are those of moving the point along it, each switch forced
            to the side of u = 0 that move reaches. (Forcing every u to its own u > 0 made
            |x| = max(x, 0) + max(-x, 0) look smooth: its two u's have opposite sides.)
        rates: with ``along``, from :func:`variation_rates`: f's scale of variation bounds ``distance``,
            and the rounding of its arguments gives ``smear``.

    The top order's values are checked by the caller, on the values its method computes; lower
    orders and f here. A switch argument u "is 0" where it is 0 to within the rounding of computing
    it, |u| ≤ 8 eps (Σ |x_i ∂u/∂x_i| + |u|).
    """
    like = next(iter(env.values()))
    xp = backend.xp
    eps = np.finfo(like.dtype).eps
    natural = Lowering(env, backend=backend)
    vals: list = [None] * len(orders)

    def at(k):  # the formulas of order k, evaluated when first needed (NumPy evaluates what it is asked)
        if vals[k] is None:
            vals[k] = [natural.array(e, like) for e in orders[k]]
        return vals[k]

    top = len(orders) - 1

    code = xp.zeros(like.shape, np.int8)
    for k in range(top - 1, 0, -1):  # lower orders last, so they take precedence
        for v in at(k):
            code = xp.where(xp.isfinite(v), code, not_finite_code(v, xp))
    value = left = right = at(top) if top else None
    flagged = pole = xp.zeros(like.shape, bool)
    clearance, lefts, rights, flags = None, {}, {}, {}
    distance, smear = variation(rates, natural, like)
    left_out, right_out, exact = flagged, flagged, xp.ones(like.shape, bool)
    for s in switches:
        u = natural.array(s.arg, like)
        scale = sum(xp.abs(env[v] * natural.array(g, like)) for v, g in zip(env, s.grad))
        flag = xp.abs(u) <= 8 * eps * (scale + xp.abs(u))
        if along is not None:
            du = natural.array(s.d1, like)
            near = xp.abs(u) / xp.abs(du)
            if s.kind == "branch":
                clearance = near if clearance is None else xp.minimum(clearance, near)
            else:
                distance = near if distance is None else xp.minimum(distance, near)
        if s.kind == "pole":
            pole = pole | flag
            continue
        if along is not None:
            side = xp.where(du != 0, xp.sign(du), xp.sign(natural.array(s.d2, like)))  # u's sign right of x
            other = xp.where(du != 0, -side, side)
        else:  # the two sides of the surface u = 0: u > 0 ("right") and u < 0 ("left")
            side, other = xp.ones_like(u), -xp.ones_like(u)
        rights[s.arg], lefts[s.arg] = (flag, side), (flag, other)
        flags[s.arg] = flag
        flagged = flagged | flag
        exact = exact & (~flag | (u == 0))
        if s.kind == "domain" and along is not None:  # f is undefined on the side where u < 0
            left_out, right_out = left_out | (flag & (other < 0)), right_out | (flag & (side < 0))
        elif s.kind == "domain":  # an edge of f's domain wherever u changes sign across the surface
            left_out = left_out | (flag & (sum(xp.abs(natural.array(g, like)) for g in s.grad) > 0))

    if lefts:
        def forced():
            # in a branch of its own (lax.cond): values lowered here stay here, so f gets a Lowering
            # of its own rather than filling the natural one's memo
            fs = vals[0] or [Lowering(env, backend=backend).array(e, like) for e in orders[0]]
            low_l, low_r = (Lowering(env, sides, natural, backend=backend) for sides in (lefts, rights))
            ls = [[low_l.array(e, like) for e in orders[0]]]
            rs = [[low_r.array(e, like) for e in orders[0]]]
            if directions is None:
                ls += [[low_l.array(e, like) for e in exprs] for exprs in orders[1:]]
                rs += [[low_r.array(e, like) for e in exprs] for exprs in orders[1:]]
            else:
                ls_, rs_ = _along_directions(env, orders[1:], directions, switches, flags, natural, like, backend)
                ls, rs = ls + ls_, rs + rs_
            at_switch = xp.zeros(like.shape, np.int8)
            for k in range(top, 0, -1):
                for lv, rv in zip(ls[k], rs[k]):
                    at_switch = xp.where(close(lv, rv, xp), at_switch, KINK)
                    at_switch = xp.where(xp.isfinite(lv) & xp.isfinite(rv), at_switch,
                                         xp.where(xp.isinf(lv) | xp.isinf(rv), INFINITE, NOT_FINITE))
            # f must be continuous; f itself must match where the switch is exactly at the point.
            for f, lv, rv in zip(fs, ls[0], rs[0]):
                jump = ~close(lv, rv, xp) | (exact & ~close(f, rv, xp))
                at_switch = xp.where(jump, JUMP, at_switch)
            at_switch = xp.where(left_out | right_out, DOMAIN_ENDPOINT, at_switch).astype(np.int8)
            if not top:
                return xp.where(flagged, at_switch, code), None, None, None
            return (xp.where(flagged, at_switch, code),
                    [xp.where(left_out, np.nan, xp.where(flagged, lv, v)) for lv, v in zip(ls[top], value)],
                    [xp.where(right_out, np.nan, xp.where(flagged, rv, v)) for rv, v in zip(rs[top], value)],
                    [xp.where(flagged, rv, v) for rv, v in zip(rs[top], value)])

        # Points exactly on a switch are rare: a batch without one skips the one-sided formulas,
        # which cost as much again as the derivative itself (|x| + sin x cos x: 2.4x raw JAX).
        code, left, right, value = backend.cond(xp.any(flagged), forced, lambda: (code, left, right, value))

    # Where f has no domain or pole switch it is defined on all of R^n (an overflow to inf in
    # float64 is no reason to deny f' there), so its values need not be checked.
    if any(s.kind in ("domain", "pole") for s in switches):
        defined = xp.all(xp.stack([xp.isfinite(f) for f in at(0)]), axis=0)
        code = xp.where(defined & ~pole, code, OUTSIDE_DOMAIN)
    finite = xp.all(xp.stack([xp.isfinite(v) for v in env.values()]), axis=0)
    code = xp.where(finite, code, NOT_FINITE_INPUT).astype(np.int8)
    return Analysis(code, value, left, right, flagged, distance, clearance, smear, lefts, rights)


def _along_directions(env: dict, orders, directions, switches, flags: dict, natural: Lowering, like, backend):
    """The left and right limits of each formula of ``orders`` (orders 1 and up) along its direction:
    each switch at 0 forced to the side of u = 0 that a move along the direction w reaches, the
    sign of u's derivative along it, ∇u·w (or of its second, where that is 0); a switch u does not
    move along w (∇u·w ≡ 0) takes one side on both. Formulas along one direction share a Lowering."""
    xp, variables = backend.xp, list(env)
    lows: dict = {}
    for w in {w for ws in directions for w in ws}:
        lefts, rights = {}, {}
        for s in switches:
            if s.kind == "pole":
                continue
            rate = sp.Add(*(c * g for c, g in zip(w, s.grad) if c != 0))
            if rate == 0:
                lefts[s.arg] = rights[s.arg] = (flags[s.arg], xp.ones_like(like))
                continue
            d1 = natural.array(rate, like)
            curve = sp.Add(*(c * real_diff(rate, v) for c, v in zip(w, variables) if c != 0))
            side = xp.where(d1 != 0, xp.sign(d1), xp.sign(natural.array(curve, like)))
            lefts[s.arg], rights[s.arg] = (flags[s.arg], xp.where(d1 != 0, -side, side)), (flags[s.arg], side)
        lows[w] = tuple(Lowering(env, sides, natural, backend=backend) for sides in (lefts, rights))
    ls = [[lows[w][0].array(e, like) for e, w in zip(exprs, ws)] for exprs, ws in zip(orders, directions)]
    rs = [[lows[w][1].array(e, like) for e, w in zip(exprs, ws)] for exprs, ws in zip(orders, directions)]
    return ls, rs


def variation(rates: tuple[Rate, ...], low: Lowering, like, j: int = 0):
    """``(scale, smear)`` along x_j from :func:`variation_rates`, each None where no rate gives one.

    scale: the smallest 1/|∂u/∂x_j|, on which f varies. smear: the largest |u|/|∂u/∂x_j| of a
    rounded u, the move of x_j (per unit of rounding) that rounding u amounts to; 0 where u or
    ∂u/∂x_j is 0, where a first-order model says nothing (the few ulps of f cover it).
    """
    scale = smear = None
    xp = low.xp
    for rate in rates:
        own = 1 / xp.abs(low.array(rate.grad[j], like))
        scale = own if scale is None else xp.minimum(scale, own)
        if rate.rounded:
            u = low.array(rate.arg, like)
            moved = xp.where((u == 0) | xp.isinf(own), 0.0, xp.abs(u) * own)
            smear = moved if smear is None else xp.maximum(smear, moved)
    return scale, smear


def not_finite_code(values, xp):
    """INFINITE where ``values`` is ±inf, else NOT_FINITE (for points where they are not finite)."""
    return xp.where(xp.isinf(values), INFINITE, NOT_FINITE).astype(np.int8)
