"""The known functions: one table from a name to its SymPy meaning, shared by the parser and tracer.

A function is known to tridiff when it is listed here. The parser accepts ``name`` in text, the
NumPy tracer maps the ``numpy`` ufunc/function names to it, and everything after that works on
the SymPy expression (derivatives, kinks, compiling), so adding a row is all it takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp


def _cbrt(u):
    # The real cube root: sympy's u**(1/3) is the principal (complex) root for u < 0.
    return sp.sign(u) * sp.Abs(u) ** sp.Rational(1, 3)


@dataclass(frozen=True)
class Rule:
    """A known function: its name in text, how to build it in SymPy, its NumPy spellings."""

    name: str
    build: Callable[..., sp.Expr]
    numpy: tuple[str, ...] = ()
    arity: int = 1


RULES: tuple[Rule, ...] = (
    Rule("sin", sp.sin, ("sin",)),
    Rule("cos", sp.cos, ("cos",)),
    Rule("tan", sp.tan, ("tan",)),
    Rule("asin", sp.asin, ("arcsin", "asin")),
    Rule("acos", sp.acos, ("arccos", "acos")),
    Rule("atan", sp.atan, ("arctan", "atan")),
    Rule("atan2", sp.atan2, ("arctan2", "atan2"), arity=2),
    Rule("sinh", sp.sinh, ("sinh",)),
    Rule("cosh", sp.cosh, ("cosh",)),
    Rule("tanh", sp.tanh, ("tanh",)),
    Rule("asinh", sp.asinh, ("arcsinh", "asinh")),
    Rule("acosh", sp.acosh, ("arccosh", "acosh")),
    Rule("atanh", sp.atanh, ("arctanh", "atanh")),
    Rule("exp", sp.exp, ("exp",)),
    Rule("expm1", lambda u: sp.exp(u) - 1, ("expm1",)),
    Rule("exp2", lambda u: 2**u, ("exp2",)),
    Rule("log", sp.log, ("log",)),
    Rule("ln", sp.log),
    Rule("log1p", lambda u: sp.log(1 + u), ("log1p",)),
    Rule("log2", lambda u: sp.log(u, 2), ("log2",)),
    Rule("log10", lambda u: sp.log(u, 10), ("log10",)),
    Rule("sqrt", sp.sqrt, ("sqrt",)),
    Rule("cbrt", _cbrt, ("cbrt",)),
    Rule("square", lambda u: u**2, ("square",)),
    Rule("reciprocal", lambda u: 1 / u, ("reciprocal",)),
    Rule("abs", sp.Abs, ("absolute", "abs", "fabs")),
    Rule("sign", sp.sign, ("sign",)),
    Rule("max", sp.Max, ("maximum", "fmax"), arity=2),
    Rule("min", sp.Min, ("minimum", "fmin"), arity=2),
    Rule("hypot", lambda a, b: sp.sqrt(a**2 + b**2), ("hypot",), arity=2),
    Rule("erf", sp.erf),
)

BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES}
BY_NUMPY_NAME: dict[str, Rule] = {name: rule for rule in RULES for name in rule.numpy}

#: Named constants accepted in text.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}
