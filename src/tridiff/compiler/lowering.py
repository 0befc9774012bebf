"""SymPy expressions to array code, each distinct node once, in NumPy or in JAX.

:class:`Lowering` walks a SymPy expression once, memoising every distinct node, so a subexpression
shared by f, f' and f'' is computed once; under JAX, XLA fuses the whole walk into a single pass
over memory: this is what removes the lab's expression swell. Its ``switches`` argument lets the
kink analysis evaluate the same expressions with each branch forced to one side of a kink. The
backend (:mod:`tridiff.compiler.backends`) says which library computes; :mod:`tridiff.compiler.runner`
feeds the result NumPy arrays.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import sympy as sp

from ..errors import TridiffError
from ..primitives import BY_HEAD
from .backends import JAX, Backend

_RELATIONS: dict[type, str] = {  # the array function deciding each relation, by name
    sp.StrictGreaterThan: "greater", sp.GreaterThan: "greater_equal",
    sp.StrictLessThan: "less", sp.LessThan: "less_equal",
    sp.Equality: "equal", sp.Unequality: "not_equal",
}
# On the side of a kink where u = lhs - rhs has sign s, the relation holds iff this is true of s.
_RELATION_ON_SIDE: dict[type, Callable] = {
    sp.StrictGreaterThan: lambda s: s > 0, sp.GreaterThan: lambda s: s > 0,
    sp.StrictLessThan: lambda s: s < 0, sp.LessThan: lambda s: s < 0,
    sp.Equality: lambda s: s == 0, sp.Unequality: lambda s: s != 0,
}


def relation_argument(rel: sp.Basic) -> sp.Expr:
    """``u`` such that the relation's truth can change only where ``u`` crosses 0."""
    return rel.lhs - rel.rhs


class Lowering:
    """Evaluate SymPy expressions on arrays, each distinct node once.

    Args:
        env: values of the symbols.
        switches: for the kink analysis, ``{u: (flag, side)}``: where ``flag`` holds, ``u`` is taken
            to be exactly 0 and every branch depending on the sign of ``u`` (sign, Heaviside,
            relations) takes the value it has on the side where ``u`` has sign ``side``.
        natural: the unforced lowering of the same ``env``, to share its work.
        analytic: evaluate at complex points (for the complex step) the analytic continuation of
            the branch f follows on the real axis: every switch is decided by the real part, and
            |u| is u·sign(Re u) rather than the modulus, which is not analytic. Switch arguments
            are then not snapped to 0, since their imaginary parts carry the derivative.
        backend: the array library: :data:`~tridiff.compiler.backends.JAX` (traced into a kernel)
            or :data:`~tridiff.compiler.backends.NUMPY`; ``env``'s arrays are of its kind.
    """

    def __init__(self, env: dict, switches: dict | None = None, natural: Lowering | None = None,
                 analytic: bool = False, backend: Backend = JAX):
        self.memo: dict = dict(env)
        self.env, self.variances = env, {}
        self.switches = switches or {}
        self.backend = backend
        self.xp = xp = backend.xp
        self.real = xp.real if analytic else (lambda v: v)
        self.analytic = analytic
        if self.switches and not analytic:
            # Snap each switch argument to 0 where flagged: the caller evaluates the limit there.
            natural = natural or Lowering(env, backend=backend)
            for u, (flag, _) in self.switches.items():
                self.memo[u] = xp.where(flag, 0.0, natural(u))

    def array(self, expr, like):
        """The value of ``expr`` as an array of ``like``'s shape and dtype (constants broadcast)."""
        return self.xp.broadcast_to(self.xp.asarray(self(expr), like.dtype), like.shape)

    def __call__(self, expr):
        try:
            return self.memo[expr]
        except KeyError:
            pass
        value = self._lower(expr)
        self.memo[expr] = value
        return value

    def side_of(self, u):
        """``(flag, side)`` where a switch on ``u`` (or on ``-u``) is forced to one side, else None."""
        # Max(0, x) switches on 0 - x while its derivative Heaviside(x) switches on x: same place.
        if u in self.switches:
            return self.switches[u]
        if -u in self.switches:
            flag, side = self.switches[-u]
            return flag, -side
        return None

    def _lower(self, e):
        if e.is_Number or e.is_NumberSymbol:
            return float(e)
        xp = self.xp
        if e.is_Add:
            return _reduce(xp.add, [self(a) for a in e.args])
        if e.is_Mul:
            return _reduce(xp.multiply, [self(a) for a in e.args])
        if e.is_Pow:
            return self._pow(*e.args)
        if e.is_Piecewise:
            return self._piecewise(e)
        if e.is_Relational:
            rule = _RELATIONS.get(type(e))
            if rule is None:
                raise TridiffError(f"cannot compile relation {e}")
            u = relation_argument(e)
            return self.switched(u, lambda v: getattr(xp, rule)(v, 0.0), _RELATION_ON_SIDE[type(e)])
        if e.func is sp.And:
            return _reduce(xp.logical_and, [self(a) for a in e.args])
        if e.func is sp.Or:
            return _reduce(xp.logical_or, [self(a) for a in e.args])
        if e.func is sp.Not:
            return xp.logical_not(self(e.args[0]))
        if e is sp.true:
            return True
        if e is sp.false:
            return False
        record = BY_HEAD.get(e.func)
        if record is None or (record.lower is None and record.lower_node is None):
            name = getattr(e.func, "__name__", str(e.func))
            raise TridiffError(f"cannot compile {name}: tridiff has no record of it (see tridiff.primitives)")
        if record.lower_node is not None:
            return record.lower_node(self, e)
        return record.lower(*(self(a) for a in e.args))

    def bound(self, expr):
        """B with |computed − exact| ≲ eps·B for ``expr``'s value: a running error estimate.

        The variables are exact; each operation adds its own rounding (eps/2·|result| for a sum or a
        product; eps·(a·|g| + b·|u·g'(u)|) for a function g, (a, b) its record's ``accuracy``,
        measured against mpmath) to its arguments' errors carried through its partial derivatives.
        Independent roundings add in quadrature, as they do in practice (the worst case, their
        plain sum, is tens of times larger for a long formula). x² − 2 beside √2 is 2.8e-12
        computed from x² rounded by 2e-16: relative to the value that is 1e-4, not an ulp, and a
        difference quotient magnifies it by 1/h.
        """
        return self.xp.sqrt(self._variance(expr))

    def _variance(self, expr):
        try:
            return self.variances[expr]
        except KeyError:
            pass
        value = self._variance_of(expr)
        self.variances[expr] = value
        return value

    def _variance_of(self, e):
        xp = self.xp
        if e in self.env or e.is_Relational or e.func in _EXACT_HEADS or e.is_Boolean:
            return 0.0
        if e.is_Number or e.is_NumberSymbol:
            return 0.0 if e.is_Integer or e.is_Float else float(e) ** 2
        args = e.args
        # a sum or product rounds to nearest: within half an ulp, eps/2 of the result, per operation
        if e.is_Add:
            return sum(self._variance(a) for a in args) + (len(args) - 1) * self(e) ** 2 / 4
        if e.is_Mul:
            squares = [self(a) ** 2 for a in args]
            carried = sum(_reduce(xp.multiply, [self._variance(a)] + squares[:i] + squares[i + 1:])
                          for i, a in enumerate(args))
            return carried + (len(args) - 1) * self(e) ** 2 / 4
        if e.is_Piecewise:
            result = 0.0
            for piece in reversed(args):
                result = xp.where(self(piece.cond), self._variance(piece.expr), result)
            return result
        if e.func in (sp.Abs, sp.Max, sp.Min):
            return _reduce(xp.maximum, [self._variance(a) for a in args])
        record = BY_HEAD.get(e.func)
        ulps, spread = record.accuracy if record is not None else (1.0, 0.0)
        if e.is_Pow and args[1].is_Integer:
            ulps = abs(int(args[1])).bit_length()  # integer powers multiply: a rounding per squaring
        total = ulps**2 * self(e) ** 2
        for k, partial in _partials(e):
            carried = self._variance(args[k])
            if spread == 0 and isinstance(carried, float) and carried == 0.0:
                continue
            slope = Lowering(dict(zip(_DUMMIES, map(self, args))), backend=self.backend)(partial) ** 2
            total = total + xp.where(carried == 0, 0.0, slope * carried)  # 0·∞ where g' is infinite
            if spread:
                total = total + spread**2 * slope * self(args[k]) ** 2
        return total

    def switched(self, u, natural: Callable, on_side: Callable):
        """``natural(u)``, or where a switch on ``u`` is forced (see ``switches``), ``on_side(s)`` for
        the side s it is forced to: how sign, Heaviside, relations and abs take a side."""
        value = natural(self.real(self(u)))
        forced = self.side_of(u)
        if forced is None:
            return value
        flag, side = forced
        return self.xp.where(flag, on_side(side), value)

    def _pow(self, base, exponent):
        if base is sp.E:
            return self.xp.exp(self(exponent))
        b = self(base)
        if exponent.is_Integer:
            return self.backend.integer_pow(b, int(exponent))
        if exponent == sp.Rational(1, 2):
            return self.xp.sqrt(b)
        if exponent == sp.Rational(-1, 2):
            return self.backend.rsqrt(b)
        # Real semantics: a non-integer power of a negative number is undefined (NaN).
        return self.xp.power(b, self(exponent))

    def _piecewise(self, e):
        # Every branch is computed and one selected per element; XLA raises no warnings for the
        # branches not taken, and a NaN there never leaks into the selected value.
        pieces = list(e.args)
        result = self(pieces[-1].expr) if pieces[-1].cond is sp.true else np.nan
        for piece in reversed(pieces[:-1] if pieces[-1].cond is sp.true else pieces):
            result = self.xp.where(self(piece.cond), self(piece.expr), result)
        return result


#: Heads whose value carries no rounding of its own: signs and steps are exact where they do not switch.
_EXACT_HEADS = (sp.sign, sp.Heaviside, sp.DiracDelta)
_DUMMIES = sp.symbols("u0:8", real=True)
_PARTIALS: dict = {}


def _partials(node: sp.Expr) -> list[tuple[int, sp.Expr]]:
    """``(k, ∂g/∂u_k)`` for the node's function g of its non-constant arguments, written in :data:`_DUMMIES`
    (cached per function: the formulas of a sin are those of every sin)."""
    key = (node.func, tuple(a if a.is_Number else None for a in node.args))
    if key not in _PARTIALS:
        g = node.func(*(a if a.is_Number else u for a, u in zip(node.args, _DUMMIES)))
        _PARTIALS[key] = [(k, sp.diff(g, _DUMMIES[k])) for k, a in enumerate(node.args) if not a.is_Number]
    return _PARTIALS[key]


def _reduce(op: Callable, values: list):
    result = values[0]
    for value in values[1:]:
        result = op(result, value)
    return result


