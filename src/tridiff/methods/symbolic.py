"""Symbolic differentiation: SymPy's ``diff`` over real symbols, in readable form.

Real symbols are what make ``|x|' = sign(x)`` rather than the lab's ``re(x)…/x``. ``Max``/``Min``
differentiate to ``Heaviside``; the kink analysis decides what happens where those switch.
No ``simplify``: it can take seconds on a nested polynomial; ``factor_terms`` takes milliseconds
and already turns the lab's swollen derivative into a product of six short factors. Evaluation
shares subexpressions anyway (see :mod:`tridiff.compiler.lowering`).
"""

from __future__ import annotations

import time

import sympy as sp

from ..analysis.switches import real_diff
from ..errors import BudgetError
from ..primitives import RECORDS

#: The symbolic budget. SymPy's work grows with a formula's expression tree (shared parts counted
#: each time they occur): (x-1)…(x-100)'' has 1.5 million nodes and took a minute to derive, order
#: 3 of 40 nested tan a million. A derivative may have this many nodes, derived within this time,
#: and be evaluated by this many arithmetic operations (shared parts once: XLA compiles a few
#: thousand a second; (x-1)…(x-100)' needs 10,000: 8 s).
MAX_NODES = 50_000
MAX_SECONDS = 10.0
MAX_OPERATIONS = 5_000
#: factor_terms takes seconds above this size (13 s on the 100-factor product's f'): larger
#: derivatives are kept as SymPy writes them.
TIDY_NODES = 10_000


def size(expr: sp.Expr, limit: int = MAX_NODES) -> int:
    """The number of nodes in ``expr``'s tree, counted up to ``limit + 1``."""
    n = 0
    for _ in sp.preorder_traversal(expr):
        n += 1
        if n > limit:
            break
    return n


def operations(expr: sp.Expr, seen: set | None = None) -> int:
    """The arithmetic operations evaluating ``expr`` takes, each distinct subexpression once (and none
    already in ``seen``, which it extends: the count of formulas evaluated together, one at a time)."""
    seen = set() if seen is None else seen
    todo, count = [expr], 0
    while todo:
        node = todo.pop()
        if node in seen or not node.args:
            continue
        seen.add(node)
        count += max(len(node.args) - 1, 1)
        todo.extend(node.args)
    return count


def derivatives(expr: sp.Expr, symbol: sp.Symbol, order: int) -> tuple[sp.Expr, ...]:
    """``(f, f', …, f^(order))`` as SymPy expressions, within the symbolic budget.

    Raises:
        BudgetError: a derivative would exceed :data:`MAX_NODES` nodes (judged before it is
            derived from how the last order grew) or the orders take over :data:`MAX_SECONDS`.

    >>> x = sp.Symbol("x", real=True)
    >>> derivatives(sp.Abs(x), x, 1)
    (Abs(x), sign(x))
    """
    exprs, sizes, start = [expr], [size(expr)], time.perf_counter()
    for k in range(1, order + 1):
        # Each order multiplies the size by about the same factor (the chain and product rules
        # repeat): expect as much growth again, and refuse before spending minutes in diff.
        expected = sizes[-1] * max(1.0, sizes[-1] / sizes[-2]) if k > 1 else sizes[-1]
        if expected > MAX_NODES:
            raise _over_budget(k, f"about {expected:.2g} nodes")
        exprs.append(_tidy(real_diff(exprs[-1], symbol)))
        sizes.append(size(exprs[-1]))
        if sizes[-1] > MAX_NODES:
            raise _over_budget(k, f"over {MAX_NODES} nodes")
        if operations(exprs[-1]) > MAX_OPERATIONS:
            raise _over_budget(k, f"over {MAX_OPERATIONS} operations to evaluate")
        if time.perf_counter() - start > MAX_SECONDS and k < order:
            raise _over_budget(k + 1, f"more than {MAX_SECONDS:g} s")
    return tuple(exprs)


def diff(expr: sp.Expr, *symbols: sp.Symbol) -> sp.Expr:
    """A partial derivative by SymPy within the node budget (for gradients, Jacobians, Hessians)."""
    out = real_diff(expr, *symbols)
    if size(out) > MAX_NODES:
        raise _over_budget(len(symbols), f"over {MAX_NODES} nodes")
    return out


class AnalysisBudget:
    """The operations of a kink analysis, counted formula by formula as it is derived (see
    :func:`tridiff.analysis.switches.collect_switches`): every method evaluates each switch argument and
    its derivatives, so past :data:`MAX_OPERATIONS` the formula is refused, at once rather than after
    deriving the rest (30 nested asin: 90 switches, 30,523 operations; 9 s to derive them all, and a
    minute to compile).

    >>> x = sp.Symbol("x", real=True)
    >>> budget = AnalysisBudget()
    >>> budget(sp.sin(x) + x**2), budget(sp.sin(x)), budget.count  # sin(x) is counted once
    (None, None, 3)
    """

    def __init__(self):
        self.seen, self.count, self.formulas = set(), 0, 0

    def __call__(self, expr: sp.Expr) -> None:
        self.count += operations(expr, self.seen)
        self.formulas += 1
        if self.count > MAX_OPERATIONS:
            raise BudgetError(
                f"checking where f' exists needs over {MAX_OPERATIONS} operations, its budget ({self.count} in the "
                f"first {self.formulas} formulas of its kinks, domain edges and poles): simplify f, or give it as "
                "a Python function that tridiff cannot trace (the numeric method then finds kinks from its values)")


def _over_budget(order: int, what: str) -> BudgetError:
    return BudgetError(
        f"the symbolic derivative of order {order} is too large ({what}; the budget is {MAX_NODES} nodes, "
        f"{MAX_OPERATIONS} operations, {MAX_SECONDS:g} s): use method='automatic' or 'numeric', which need "
        "only f's program")


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
    # Pull common factors out of sums (cheap, unlike simplify, on small formulas): the chain
    # rule's 18x² − 18x becomes 18x(x − 1), which reads better and halves the arithmetic of evaluating it.
    return sp.factor_terms(expr) if size(expr, TIDY_NODES) <= TIDY_NODES else expr


def latex(expr: sp.Expr) -> str:
    """LaTeX of a derivative, e.g. ``9 \\cos{\\left(3 x \\right)} - 2 e^{- 2 x}``."""
    return sp.latex(expr)
