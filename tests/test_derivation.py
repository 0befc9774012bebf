"""td.steps: the symbolic derivative step by step.

Two checks make a derivation trustworthy: each step's result is the derivative of its own
subexpression (SymPy's ``diff``, compared exactly or at the record's ordinary points to 1e-12), so
no rule is misapplied; and the derivation's end equals the derivative tridiff computes, for every
function in the conformance suite (each record's one-variable use) and the catalog (the lab's
functions and the traps).
"""

from __future__ import annotations

import pytest
import sympy as sp
from test_conformance import TEXT_RECORDS, points  # tests/ is on sys.path (pytest prepends it)

import tridiff as td
from tridiff.analysis.switches import real_diff
from tridiff.studies.catalog import EXAMPLES
from tridiff.studies.derivation import MAX_STEPS, D


def assert_same(a: sp.Expr, b: sp.Expr, x: sp.Symbol, at) -> None:
    """a = b exactly, or (where SymPy cannot decide) at the points ``at`` to 1e-12 relative."""
    if sp.simplify(a - b) == 0:
        return
    for p in at:
        va, vb = (complex(sp.N(e.subs(x, sp.Float(p, 30)), 30)) for e in (a, b))
        assert abs(va - vb) <= 1e-12 * max(1.0, abs(vb)), f"{a} ≠ {b} at {p}: {va} vs {vb}"


def check(text: str, at) -> td.Derivation:
    d = td.steps(text)
    x = d.variable
    for step in d.steps:  # each rule applied rightly
        assert_same(step.result, real_diff(step.expr, x), x, at)
        assert not step.result.has(D)  # every derivative the rule left to take was taken
    assert_same(d.result, d.derivative, x, at)  # and the end is tridiff's derivative
    assert d.derivative == td.derivative(text, "symbolic").expr
    return d


@pytest.mark.parametrize("record", TEXT_RECORDS, ids=lambda r: r.name)
def test_every_record_has_a_derivation_ending_on_tridiffs_derivative(record):
    check(record.usage, points(record)[0][:4])


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_every_catalog_function_has_a_derivation(example):
    a, b = example.domain
    check(example.text, [a + (b - a) * t for t in (0.13, 0.41, 0.77)])


def test_the_rules_are_named_as_a_learner_knows_them():
    rules = {text: [s.rule for s in td.steps(text).steps] for text in (
        "x**2*sin(x)", "sin(x)/x**2", "exp(-2*x) + 3*sin(3*x)", "sqrt(1 + x**2)", "x**x", "2**x", "5")}
    assert rules["x**2*sin(x)"] == ["product rule", "power rule", "rule of sin"]
    assert rules["sin(x)/x**2"] == ["quotient rule", "rule of sin", "power rule"]
    assert rules["exp(-2*x) + 3*sin(3*x)"][0] == "sum rule"
    assert "chain rule with sin' = cos(u)" in rules["exp(-2*x) + 3*sin(3*x)"]
    assert "chain rule with exp' = exp(u)" in rules["exp(-2*x) + 3*sin(3*x)"]
    assert rules["sqrt(1 + x**2)"][0] == "power rule with the chain rule"
    assert rules["x**x"] == ["logarithmic differentiation"]
    assert rules["2**x"] == ["exponential rule"]
    assert rules["5"] == ["constant rule"]


def test_a_step_says_where_its_rule_does_not_hold():
    caveats = {text: td.steps(text).steps[0].caveat for text in
               ("abs(sin(x))", "log(x)", "tan(x)", "cbrt(x)", "1/x", "sqrt(1 + x**2)", "sin(x)")}
    assert caveats["abs(sin(x))"] == "does not hold where sin(x) = 0: a kink or a jump"
    assert "needs x ≥ 0" in caveats["log(x)"]
    assert "cos(x) = 0: a pole" in caveats["tan(x)"]
    assert "vertical tangent" in caveats["cbrt(x)"]
    assert "x = 0: a pole" in caveats["1/x"]
    assert caveats["sqrt(1 + x**2)"] is None and caveats["sin(x)"] is None  # 1 + x² > 0: no edge


def test_steps_for_a_partial_derivative_and_in_latex_and_json():
    d = td.steps("x*y + sin(z*y)", wrt="y")
    assert d.derivative == td.derivative("x*y + sin(z*y)", "symbolic", wrt="y").expr
    assert str(d).splitlines()[-1] == "∂f/∂y = x + z*cos(y*z)"
    assert str(d).splitlines()[1] == "1. sum rule: ∂/∂y[x*y + sin(y*z)] = ∂/∂y[x*y] + ∂/∂y[sin(y*z)] = x + z*cos(y*z)"
    assert d.latex.startswith(r"\begin{aligned}") and r"\frac{\partial f}{\partial y}" in d.latex
    assert [s["rule"] for s in d.to_dict()["steps"]][0] == "sum rule"


def test_steps_say_what_is_wrong():
    with pytest.raises(td.TridiffError, match="say which with wrt="):
        td.steps("x*y")
    with pytest.raises(td.TridiffError, match="unknown variable 'q'"):
        td.steps("x*y", wrt="q")
    with pytest.raises(td.TridiffError, match="need f's formula"):
        td.steps(lambda x: x if x > 0 else -x)
    deep = "x"
    for _ in range(6):
        deep = f"2*({deep})**3 - 3*({deep})**2 + 5"
    with pytest.raises(td.BudgetError, match=f"more than {MAX_STEPS} steps"):
        td.steps(deep)
