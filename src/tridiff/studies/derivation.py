"""The symbolic derivative step by step, as a learner writes it: :func:`steps`.

Each step applies one rule to one subexpression: the sum rule, the constant multiple rule, the
product and quotient rules, the power rule, the exponential rule, logarithmic differentiation, and
each function's own rule, read from its record in :mod:`tridiff.primitives` (sin' = cos, |u|' =
sign(u)), with the chain rule where its argument is not the variable itself. Where the record says
a function switches (a kink of |u|, the domain edge of √u, the pole of tan), the step says where
its rule does not hold. Outer rules come first, with the derivatives still to take written as
d/dx[…]; each of those is a later step. The derivation ends with the derivative the steps give,
beside tridiff's (SymPy's, tidied) when they are written differently.

>>> from tridiff.studies.derivation import steps
>>> print(steps("x**2*sin(x)"))
f(x) = x**2*sin(x)
1. product rule: d/dx[x**2*sin(x)] = x**2*d/dx[sin(x)] + sin(x)*d/dx[x**2] = x**2*cos(x) + 2*x*sin(x)
2. power rule: d/dx[x**2] = 2*x
3. rule of sin: d/dx[sin(x)] = cos(x)
together: x**2*cos(x) + 2*x*sin(x)
f'(x) = x*(x*cos(x) + 2*sin(x))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from ..analysis.switches import real_diff
from ..definition.function import function
from ..errors import BudgetError, TridiffError
from ..methods.derivative import derivative
from ..primitives import BY_HEAD, DOMAIN, POLE, SINGULAR
from ..translation import N_
from ..translation import gettext as _

#: A derivation of more steps than this is no longer one a learner reads (the nested polynomial
#: of depth 6 has thousands): it is refused with a clear error.
MAX_STEPS = 300

#: What a step says where a function's rule does not hold, by the kind of switch its record names.
CAVEATS = {
    "branch": N_("does not hold where {u} = 0: a kink or a jump"),
    DOMAIN: N_("needs {u} ≥ 0: at {u} = 0 only one side exists"),
    POLE: N_("does not hold where {u} = 0: a pole"),
    SINGULAR: N_("infinite where {u} = 0: a vertical tangent"),
}


class D(sp.Function):
    """d/dx[u]: a derivative still to take, as a step writes it (never evaluated)."""

    nargs = 2

    def _sympystr(self, printer) -> str:
        return f"d/d{printer._print(self.args[1])}[{printer._print(self.args[0])}]"

    def _latex(self, printer) -> str:
        u, x = (printer._print(a) for a in self.args)
        return rf"\frac{{d}}{{d{x}}}\left[{u}\right]"


class PartialD(D):
    """∂/∂x[u]: a partial derivative still to take (f of several variables)."""

    def _sympystr(self, printer) -> str:
        return f"∂/∂{printer._print(self.args[1])}[{printer._print(self.args[0])}]"

    def _latex(self, printer) -> str:
        u, x = (printer._print(a) for a in self.args)
        return rf"\frac{{\partial}}{{\partial {x}}}\left[{u}\right]"


@dataclass(frozen=True)
class Step:
    """One rule applied to one subexpression.

    Attributes:
        rule: the rule's name ("product rule", "chain rule with sin' = cos" …).
        expr: the subexpression it differentiates.
        applied: the rule written out, derivatives still to take as :class:`D`.
        result: expr's derivative.
        caveat: where the rule does not hold (a function's kink, domain edge or pole), or None.
    """

    rule: str
    expr: sp.Expr
    applied: sp.Expr
    result: sp.Expr
    caveat: str | None = None

    def text(self, x: sp.Symbol, partial: bool = False) -> str:
        lead = f"{self.rule}: {'∂/∂' if partial else 'd/d'}{x}[{self.expr}] = {self.applied}"
        if self.applied != self.result:
            lead += f" = {self.result}"
        return lead if self.caveat is None else f"{lead}   ({self.caveat})"

    def latex(self, x: sp.Symbol, partial: bool = False) -> str:
        d = rf"\frac{{\partial}}{{\partial {x}}}" if partial else rf"\frac{{d}}{{d{x}}}"
        out = rf"{d}\left[{sp.latex(self.expr)}\right] = {sp.latex(self.applied)}"
        if self.applied != self.result:
            out += f" = {sp.latex(self.result)}"
        return out


@dataclass(frozen=True)
class Derivation:
    """The steps from f to its derivative along ``variable`` (see :func:`steps`).

    ``result`` is what the steps give; ``derivative`` is tridiff's (SymPy's, tidied), equal to it.
    """

    f: sp.Expr
    variable: sp.Symbol
    steps: tuple[Step, ...]
    result: sp.Expr
    derivative: sp.Expr
    several: bool

    @property
    def _prime(self) -> str:
        return f"∂f/∂{self.variable}" if self.several else f"f'({self.variable})"

    def __str__(self) -> str:
        head = f"f = {self.f}" if self.several else f"f({self.variable}) = {self.f}"
        lines = [head] + [f"{i}. {s.text(self.variable, self.several)}" for i, s in enumerate(self.steps, 1)]
        tail = f"{self._prime} = {self.derivative}"
        if sp.srepr(self.result) != sp.srepr(self.derivative):
            lines.append(f"together: {self.result}")
        return "\n".join(lines + [tail])

    @property
    def latex(self) -> str:
        """The derivation as LaTeX: one aligned line per step."""
        x = self.variable
        rows = [rf"\text{{{i}. {s.rule}}} & {s.latex(x, self.several)}" + (rf"\quad\text{{({s.caveat})}}" if s.caveat else "")
                for i, s in enumerate(self.steps, 1)]
        d = rf"\frac{{\partial f}}{{\partial {x}}}" if self.several else f"f'({x})"
        rows.append(rf"& {d} = {sp.latex(self.derivative)}")
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex}$"

    def to_dict(self) -> dict:
        x = self.variable
        return {"function": str(self.f), "variable": str(x), "derivative": str(self.derivative),
                "steps": [{"rule": s.rule, "expr": str(s.expr), "applied": str(s.applied), "result": str(s.result),
                           "caveat": s.caveat, "latex": s.latex(x, self.several)} for s in self.steps]}


def steps(f, wrt: str | None = None) -> Derivation:
    """The symbolic derivative of ``f`` step by step, each step one rule (a partial derivative
    along ``wrt`` for a function of several variables).

    >>> d = steps("abs(sin(x))")
    >>> [s.rule for s in d.steps]
    ["chain rule with abs' = sign(u)", 'rule of sin']
    >>> d.steps[0].caveat
    'does not hold where sin(x) = 0: a kink or a jump'
    """
    fn = function(f)
    if fn.expr is None:
        raise TridiffError(f"steps need f's formula: {fn.opaque_reason}")
    names = [v.name for v in fn.variables]
    if wrt is None and len(names) > 1:
        raise TridiffError(f"f has variables ({', '.join(names)}): say which with wrt= (--wrt on the command line)")
    if wrt is not None and wrt not in names:
        raise TridiffError(f"unknown variable {wrt!r}: f's variables are {', '.join(names)}")
    x = fn.variables[names.index(wrt)] if wrt is not None else fn.variables[0]
    out: list[Step] = []
    result = _derive(fn.expr, x, out, PartialD if len(names) > 1 else D)
    d = derivative(fn, "symbolic", wrt=wrt) if len(names) > 1 else derivative(fn, "symbolic")
    return Derivation(fn.expr, x, tuple(out), result, d.expr, len(names) > 1)


def _derive(expr: sp.Expr, x: sp.Symbol, out: list[Step], todo: type[D] = D) -> sp.Expr:
    """expr's derivative along x, its steps appended to ``out`` (the outer rule before the inner);
    ``todo`` writes the derivatives still to take (d/dx, or ∂/∂x for f of several variables)."""
    if not expr.has(x):
        if not out:
            out.append(Step(_("constant rule"), expr, sp.S.Zero, sp.S.Zero))
        return sp.S.Zero
    if expr == x:
        if not out:
            out.append(Step(f"d/d{x} {x} = 1", expr, sp.S.One, sp.S.One))
        return sp.S.One
    if len(out) >= MAX_STEPS:
        raise BudgetError(f"the derivation takes more than {MAX_STEPS} steps: too long to read; td.derivative(f).expr "
                          "gives the result")
    at = len(out)
    out.append(None)  # this step's place: before the steps of its parts
    rule, applied, parts, caveat = _rule(expr, x, todo)
    results = {u: _derive(u, x, out, todo) for u in parts}
    result = applied.xreplace({todo(u, x): r for u, r in results.items()})
    out[at] = Step(rule, expr, applied, result, caveat)
    return result


def _rule(expr: sp.Expr, x: sp.Symbol, todo: type[D]) -> tuple[str, sp.Expr, list[sp.Expr], str | None]:
    """The rule for expr: its name, the rule written out (parts' derivatives as ``todo``), the parts,
    a caveat."""
    def d(u):
        return sp.S.One if u == x else todo(u, x) if u.has(x) else sp.S.Zero

    if expr.is_Add:
        terms = [t for t in expr.args if t.has(x)]
        return _("sum rule"), sp.Add(*(d(t) for t in terms), evaluate=False), terms, None
    if expr.is_Mul:
        constant, rest = expr.as_independent(x, as_Add=False)
        factors = list(rest.args) if rest.is_Mul else [rest]
        if constant != 1:
            inner = d(rest)
            applied = sp.Mul(constant, inner, evaluate=False) if isinstance(inner, D) else constant * inner
            return _("constant multiple rule"), applied, [rest], None
        below = [b ** -e for b, e in (f.as_base_exp() for f in factors) if e.is_negative]
        if below:
            top = sp.Mul(*[f for f in factors if not f.as_base_exp()[1].is_negative])
            bottom = sp.Mul(*below)
            applied = (d(top) * bottom - top * d(bottom)) / bottom**2
            return _("quotient rule"), applied, [u for u in (top, bottom) if u.has(x)], None
        applied = sp.Add(*(sp.Mul(*(g for g in factors if g is not f), d(f)) for f in factors), evaluate=False)
        return _("product rule"), applied, factors, None
    if expr.is_Pow:
        base, e = expr.args
        if not e.has(x):
            applied = e * base ** (e - 1) * d(base)
            kind = POLE if e.is_negative else DOMAIN if not e.is_integer else None
            return (_("power rule") if base == x else _("power rule with the chain rule")), applied, [base], \
                _caveat(((base, kind),) if kind else ())
        if not base.has(x):
            return _("exponential rule"), expr * sp.log(base) * d(e), [e], None
        applied = expr * (d(e) * sp.log(base) + e * d(base) / base)
        return _("logarithmic differentiation"), applied, [base, e], _caveat(((base, DOMAIN),))
    if isinstance(expr, sp.Piecewise):
        pieces = [(d(value), cond) for value, cond in expr.args]
        return _("piecewise rule: each piece"), sp.Piecewise(*pieces, evaluate=False), \
            [value for value, _cond in expr.args if value.has(x)], _("does not hold where the condition switches")
    if isinstance(expr, sp.Function) or expr.func in BY_HEAD:  # Max and Min are no sp.Function
        return _function_rule(expr, x, d)
    raise TridiffError(f"no learner's rule for {type(expr).__name__} in {expr}")


def _function_rule(expr: sp.Function, x: sp.Symbol, d) -> tuple[str, sp.Expr, list[sp.Expr], str | None]:
    """A function's own rule, from its record, with the chain rule for an argument other than x."""
    record = BY_HEAD.get(expr.func)
    name = record.name if record is not None else expr.func.__name__
    moving = [i for i, a in enumerate(expr.args) if a.has(x)]
    outer = _outer_derivatives(expr.func, len(expr.args))
    applied = sp.Add(*(outer[i].subs(dict(zip(_dummies(len(expr.args)), expr.args)), simultaneous=True)
                       * d(expr.args[i]) for i in moving), evaluate=False)
    caveat = _caveat(record.switches(expr) if record is not None else ())
    if len(moving) == 1:  # one argument moves with x (heaviside(u, ½), polygamma(n, u))
        (i,) = moving
        if expr.args[i] == x:
            return _("rule of {name}").format(name=name), applied, [], caveat
        own = outer[i].subs(dict(zip(_dummies(len(expr.args)), expr.args[:i] + (sp.Symbol("u"),) + expr.args[i + 1:])))
        return _("chain rule with {name}' = {own}").format(name=name, own=own), applied, [expr.args[i]], caveat
    return (_("chain rule for {name} of {n} arguments").format(name=name, n=len(moving)), applied,
            [expr.args[i] for i in moving], caveat)


def _caveat(switches) -> str | None:
    """Where a rule does not hold, from ``(u, kind)`` switches; none where SymPy proves u away from 0
    (√(x² + 1) has no domain edge)."""
    said = [_(CAVEATS[kind]).format(u=u) for u, kind in switches
            if not (u.is_positive or (kind != DOMAIN and u.is_nonzero))]
    return "; ".join(dict.fromkeys(said)) or None


@lru_cache(maxsize=None)
def _dummies(n: int) -> tuple[sp.Dummy, ...]:
    return tuple(sp.Dummy(f"u{i}", real=True) for i in range(n))


@lru_cache(maxsize=None)
def _outer_derivatives(head, n: int) -> tuple[sp.Expr, ...]:
    """∂head/∂(argument i) at real dummies, for a function's own rule (|u|' = sign(u), not SymPy's
    complex form)."""
    us = _dummies(n)
    return tuple(real_diff(head(*us), u) for u in us)
