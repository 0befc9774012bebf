"""Budgets: formulas whose derivatives grow past what SymPy or XLA can build in seconds are refused
fast with a BudgetError naming the way out, and method="auto" carries on with the automatic method."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

import tridiff as td
from tridiff.methods import symbolic


def nested(head: str, depth: int) -> str:
    text = "x"
    for _ in range(depth):
        text = f"{head}({text})"
    return text


PRODUCT = "*".join(f"(x - {k})" for k in range(1, 101))  # f' took 51 s to derive, 17 s more to evaluate


def product_derivative(x: float) -> float:
    """d/dx Π(x - k) = Π(x - k) · Σ 1/(x - k), exactly in floats (no cancellation for x < 1)."""
    factors = x - np.arange(1, 101)
    return float(np.prod(factors) * np.sum(1 / factors))


@pytest.mark.parametrize(("text", "order"), [(PRODUCT, 1), (PRODUCT, 2), (nested("tan", 40), 3),
                                             (nested("exp", 30), 3)])
def test_symbolic_past_its_budget_is_refused_fast(text, order):
    start = time.perf_counter()
    with pytest.raises(td.BudgetError, match="method='automatic' or 'numeric'"):
        td.derivative(text, method="symbolic", order=order)
    assert time.perf_counter() - start < 20  # minutes before the budget; under 1 s on a quiet machine


def test_auto_carries_on_with_the_automatic_method_and_says_so():
    with pytest.warns(UserWarning, match="uses the automatic method"):
        d = td.derivative(PRODUCT)
    assert d.method == "automatic"
    assert d(0.5) == pytest.approx(product_derivative(0.5), rel=1e-12)
    assert td.derivative(PRODUCT, method="numeric")(0.5) == pytest.approx(product_derivative(0.5), rel=1e-8)


def test_automatic_past_its_budget_is_refused_fast():
    start = time.perf_counter()
    with pytest.raises(td.BudgetError, match="lower order"):
        td.derivative(nested("exp", 30), method="automatic", order=8)  # was minutes of XLA compiling
    assert time.perf_counter() - start < 20
    with pytest.raises(td.BudgetError), pytest.warns(UserWarning, match="uses the automatic method"):
        td.derivative(nested("exp", 30), order=8)  # auto: past the symbolic budget, then the automatic one


def test_within_the_budgets_nothing_changes():
    # 40 nested tan: f' is small (1,021 nodes); its 40 poles need no second derivative of their own
    d = td.derivative(nested("tan", 40))
    assert d.method == "symbolic"
    assert d(0.1) == pytest.approx(td.derivative(nested("tan", 40), method="automatic")(0.1), rel=1e-12)
    # past the symbolic budget at order 3, the automatic method still gives f'''
    third = td.derivative(nested("sin", 30), method="automatic", order=3)
    assert third(0.5) == pytest.approx(td.derivative(nested("sin", 30), method="numeric", order=3)(0.5), rel=1e-5)
    assert "Derivative" in repr(third)


def test_sizes_count_the_tree_and_operations_count_shared_parts_once():
    f = td.function("sin(x)*exp(x) + sin(x)")
    assert symbolic.size(f.expr) == 8  # Add, Mul, exp, x, sin, x, sin, x: the tree, repeats and all
    assert symbolic.operations(f.expr) == 4  # sin, exp, one product, one sum
    assert symbolic.size(f.expr, limit=3) == 4  # counting stops past the limit


@pytest.mark.parametrize("text", ["0", "x", "2*x + 1"])
def test_programs_with_no_operation_left_have_derivatives_of_any_order(text):
    # the automatic budget divided by the size of f' of x, a program of no operation
    assert td.derivative(text, method="automatic", order=3)(1.5) == 0.0


@pytest.mark.parametrize("method", td.METHODS)  # the refusal is kept: only the first derives up to the budget
def test_a_kink_analysis_past_the_budget_is_refused_by_every_method(method):
    # 30 nested asin: 90 switch arguments and their derivatives took a minute to compile, and 9 s to
    # derive before the count refused them: it is refused as soon as the count passes the budget
    with pytest.raises(td.BudgetError, match="checking where f' exists") as refused:
        td.derivative(nested("asin", 30), method=method)
    assert int(re.search(r"in the first (\d+) formulas", str(refused.value))[1]) < 90
    assert td.derivative(nested("asin", 10))(0.1) == pytest.approx(
        td.derivative(nested("asin", 10), method="numeric")(0.1), rel=1e-8)
