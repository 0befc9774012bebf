"""Symbolic differentiation: SymPy's ``diff`` over real symbols, in readable form.

Real symbols are what make ``|x|' = sign(x)`` rather than the lab's ``re(x)…/x``. ``Max``/``Min``
differentiate to ``Heaviside``; the kink analysis decides what happens where those switch.
No ``simplify``: it can take seconds on a nested polynomial; ``factor_terms`` takes milliseconds
and already turns the lab's swollen derivative into a product of six short factors. Evaluation
shares subexpressions anyway (see :mod:`tridiff.compiler.lowering`).
"""

from __future__ import annotations

import sympy as sp

from ..primitives import RECORDS


def derivatives(expr: sp.Expr, symbol: sp.Symbol, order: int) -> tuple[sp.Expr, ...]:
    """``(f, f', …, f^(order))`` as SymPy expressions.

    >>> x = sp.Symbol("x", real=True)
    >>> derivatives(sp.Abs(x), x, 1)
    (Abs(x), sign(x))
    """
    exprs = [expr]
    for _ in range(order):
        exprs.append(_tidy(sp.diff(exprs[-1], symbol)))
    return tuple(exprs)


#: Derivative forms SymPy writes that lose accuracy in floating point, and stable equivalents, from
#: the records, with the head that must occur for the form to (pattern matching is slow: skip it otherwise).
STABLE_FORMS = tuple((r.head, unstable, stable) for r in RECORDS for unstable, stable in r.stable)


def _tidy(expr: sp.Expr) -> sp.Expr:
    # A derivative of sign/Heaviside is a DiracDelta: zero wherever the switch does not vanish,
    # and at the switch the kink analysis checks continuity instead, so drop it from the formula.
    if expr.has(sp.DiracDelta):
        expr = expr.replace(lambda e: e.func is sp.DiracDelta, lambda e: sp.S.Zero)
    for head, unstable, stable in STABLE_FORMS:
        if expr.has(head):
            expr = expr.replace(unstable, stable)
    # Pull common factors out of sums (cheap, unlike simplify): the chain rule's 18x² − 18x
    # becomes 18x(x − 1), which reads better and halves the arithmetic of evaluating it.
    return sp.factor_terms(expr)


def latex(expr: sp.Expr) -> str:
    """LaTeX of a derivative, e.g. ``9 \\cos{\\left(3 x \\right)} - 2 e^{- 2 x}``."""
    return sp.latex(expr)
