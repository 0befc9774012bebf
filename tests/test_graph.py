"""td.graph: f's evaluation trace with forward-mode tangents and reverse-mode adjoints; td.swell.

The graph's numbers are computed by hand-run sweeps over the trace (30-digit SymPy arithmetic), a
route independent of tridiff's compiled methods: its last value must be f(x0), its forward
tangents f'(x0) (or ∂f/∂x_i), and its reverse adjoints at the inputs ∂f/∂x_i — checked against
td.function, the symbolic derivative and the symbolic gradient for every catalog function, and NaN
exactly where tridiff says the derivative does not exist.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import tridiff as td
from tridiff.methods.symbolic import size
from tridiff.studies.catalog import EXAMPLES


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.name)
def test_the_sweeps_give_f_and_its_derivative(example):
    a, b = example.domain
    for x0 in [a + (b - a) * t for t in (0.21, 0.64)] + list(example.undefined):
        g = td.graph(example.text, x0)
        fx = float(td.function(example.text)(x0))
        if np.isfinite(fx):
            assert g.value == pytest.approx(fx, rel=1e-14, abs=1e-300)
        else:  # 1/x at 0: no value
            assert np.isnan(g.value)
        r = td.derivative(example.text, "symbolic").evaluate(x0)
        if r.undefined:
            assert np.isnan(g.tangents[0]) and np.isnan(g.gradient[0]), (example.text, x0)
            assert any(n.note for n in g.nodes)
        else:
            assert g.tangents[0] == pytest.approx(float(r.values), rel=1e-12, abs=1e-300), (example.text, x0)
            assert g.gradient[0] == pytest.approx(g.tangents[0], rel=1e-14, abs=1e-300)


@pytest.mark.parametrize("text, at", [("x*y + sin(x*y)", [1.0, 2.0]), ("exp(-x**2 - y**2)*z", [0.3, -0.7, 2.0]),
                                      ("abs(x)*y", [0.0, 0.0]), ("abs(x)*y", [0.0, 1.0]), ("hypot(x, y)", [3.0, 4.0]),
                                      ("max(x, 0) + max(-x, 0) + y", [0.0, 2.0])])
def test_one_reverse_sweep_gives_the_whole_gradient(text, at):
    """Each ∂f/∂x_i, NaN exactly where td.partial (its own coordinate's one-sided limits) says it
    does not exist (td.gradient blanks the whole point: |x|·y at (0, 1) keeps ∂/∂y = 0 here)."""
    g = td.graph(text, at)
    names = [str(v) for v in g.variables]
    expected = [float(td.partial(text, name, "symbolic")(at)) for name in names]
    np.testing.assert_allclose(g.gradient, expected, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(g.tangents, expected, rtol=1e-13, atol=1e-300)  # one forward sweep per variable


def test_a_where_at_its_switch_is_defined_where_its_pieces_meet_smoothly():
    assert td.graph("where(x > 1, x**2, 2*x - 1)", 1.0).tangents == (2.0,)  # C¹ at 1: f' = 2
    for text in ("where(x > 1, x**2, 2*x)", "where(x > 1, x**2, x)"):  # a jump; a kink
        g = td.graph(text, 1.0)
        assert np.isnan(g.tangents[0]) and g.nodes[-1].note == "does not hold where x - 1 = 0: a kink or a jump"
        assert td.derivative(text).evaluate(1.0).undefined


def test_each_subexpression_is_one_node():
    text = next(e.text for e in EXAMPLES if e.name == "nested_polynomial")
    g = td.graph(text, 0.5)
    exprs = [n.expr for n in g.nodes]
    assert len(set(exprs)) == len(exprs)
    assert len(g.nodes) < size(td.function(text).expr) / 3  # shared, not repeated as in the tree
    assert all(len(n.args) <= 2 for n in g.nodes)  # a Wengert list: unary and binary operations


def test_swell_the_tree_outgrows_the_graph():
    rows = td.swell(range(1, 6))
    assert all(r.graph <= r.tree and r.tidied_graph <= r.tidied_tree for r in rows)
    ratios = [r.tree / r.graph for r in rows]
    assert all(b > a for a, b in zip(ratios, ratios[1:])) and ratios[-1] > 10


def test_the_table_and_the_diagram():
    g = td.graph("abs(x) + sin(x)*cos(x)", 0.0)
    table = g.table()
    assert "adjoint v̄ = ∂f/∂v" in table and "does not hold where x = 0" in table
    html = g._repr_html_()
    assert html.count("<tr>") == len(g.nodes) + 1 and "&lt;" not in table
    assert shutil.which("dot"), "Graphviz is missing: run scripts/install-system-packages"
    svg = ET.fromstring(g.svg())
    labels = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert all(n.name in labels for n in g.nodes) and "v̄ = 1" in labels


def test_graph_says_what_is_wrong():
    with pytest.raises(td.TridiffError, match="1 finite number"):
        td.graph("x**2", [1.0, 2.0])
    with pytest.raises(td.TridiffError, match="2 finite number"):
        td.graph("x*y", float("nan"))
    with pytest.raises(td.TridiffError, match="got 'a'"):
        td.graph("x", "a")
    with pytest.raises(td.TridiffError, match="formula"):
        td.graph(lambda x: x if x > 0 else -x, 1.0)
