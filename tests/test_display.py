"""Jupyter display: LaTeX for formulas and symbolic derivatives, HTML tables for results.

Jupyter calls ``_repr_latex_`` / ``_repr_html_`` when present; calling them directly checks what a
notebook would show without needing IPython (when it is installed, its formatter is checked too).
"""

from __future__ import annotations

import html.parser

import numpy as np
import pytest

import tridiff as td


def branching(x):
    return x if x > 0 else -x


class Tables(html.parser.HTMLParser):
    """The text of every <caption>, and the rows of every <table> as lists of (tag, text) cells."""

    def __init__(self, text):
        super().__init__()
        self.tables, self.captions, self.cell, self.in_caption = [], [], None, False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "caption":
            self.in_caption = True
            self.captions.append("")
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = [tag, ""]

    def handle_endtag(self, tag):
        if tag == "caption":
            self.in_caption = False
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data
        elif self.in_caption:
            self.captions[-1] += data


def is_math(text) -> bool:
    return isinstance(text, str) and text.startswith("$") and text.endswith("$") and len(text) > 2


# -- LaTeX -----------------------------------------------------------------------------------------
def test_function_latex():
    tex = td.function("abs(x)")._repr_latex_()
    assert is_math(tex)
    assert "\\left|" in tex or "|" in tex
    assert "\\sin" in td.function("abs(x) + sin(x)*cos(x)")._repr_latex_()


def test_symbolic_derivative_latex():
    d = td.derivative("sin(x)")
    tex = d._repr_latex_()
    assert is_math(tex) and "\\cos" in tex
    assert d.latex in tex
    assert "\\operatorname{sign}" in td.derivative("abs(x)")._repr_latex_()
    assert "\\sin" in td.derivative("sin(x)", order=2)._repr_latex_()


@pytest.mark.parametrize("method", ["automatic", "numeric"])
def test_other_methods_show_the_derivative_and_name_the_method(method):
    d = td.derivative("sin(x)", method=method)
    assert is_math(d._repr_latex_()) and "\\cos" in d._repr_latex_()  # the f' that the method computes
    assert f"by {method}" in repr(d) and "cos(x)" in repr(d)


def test_no_formula_means_no_latex():
    f = td.function(branching)
    assert f._repr_latex_() is None  # Jupyter then falls back to the text repr
    d = td.derivative(f)
    assert d.method == "numeric" and d._repr_latex_() is None
    assert "branching" in repr(d) and "by numeric" in repr(d)


# -- HTML: derivative results ----------------------------------------------------------------------
def test_derivative_result_html_lists_undefined_points_and_reasons():
    r = td.derivative("abs(x)").evaluate([-1.0, 0.0, 1.0, 2.0])
    parsed = Tables(r._repr_html_())
    assert "symbolic" in parsed.captions[0]
    assert "4 points" in parsed.captions[0] and "1 undefined" in parsed.captions[0]
    (table,) = parsed.tables
    header, row = table
    assert all(tag == "th" for tag, _ in header)
    assert [text for _, text in row] == ["1", "kink: the left and right derivatives differ", "-1", "1"]


def test_derivative_result_html_shows_the_first_few_and_counts_the_rest():
    r = td.derivative("sqrt(x)", method="numeric").evaluate(np.linspace(-1.0, 0.0, 11).reshape(11, 1))
    parsed = Tables(r._repr_html_())
    assert "numeric" in parsed.captions[0] and "11 undefined" in parsed.captions[0]
    header, *rows, more = parsed.tables[0]
    assert len(rows) == r.SHOWN
    assert rows[0][0][1] == "(0, 0)"  # a 2-d input: the index is a tuple
    assert rows[0][1][1].startswith("f is not defined here")
    assert "6 more" in more[0][1]
    endpoint = td.derivative("sqrt(x)").evaluate([0.0])._repr_html_()
    assert "endpoint of f&#x27;s domain" in endpoint  # escaped


def test_derivative_result_html_with_nothing_undefined():
    for xs in (1.0, [0.5, 1.5], []):
        parsed = Tables(td.derivative("sin(x)").evaluate(xs)._repr_html_())
        assert "0 undefined" in parsed.captions[0]
        assert parsed.tables == [[]]
    assert "1 point:" in Tables(td.derivative("sin(x)").evaluate(1.0)._repr_html_()).captions[0]


# -- HTML: comparisons and sweeps ------------------------------------------------------------------
@pytest.fixture(scope="module")
def comparisons():
    return {
        "abs": td.compare("abs(x)", np.linspace(-1.0, 1.0, 21), repeat=3),
        "opaque": td.compare(branching, np.linspace(-1.0, 1.0, 21), repeat=3),
    }


@pytest.mark.parametrize("name", ["abs", "opaque"])
def test_comparison_html_has_one_row_per_method(comparisons, name):
    c = comparisons[name]
    parsed = Tables(c._repr_html_())
    (table,) = parsed.tables
    header, *rows = table
    assert [text for _, text in header] == list(c.HEADERS)
    assert [row[0][1] for row in rows] == [r.method for r in c.reports] == list(td.METHODS)
    assert c.reference_kind in parsed.captions[0]
    for r, row in zip(c.reports, rows):
        if r.available:
            assert len(row) == len(c.HEADERS)
        else:  # one cell spanning the row, with the reason
            assert len(row) == 2 and row[1][1].startswith("not available") and "np.where" in row[1][1]
    if name == "abs":
        assert all(row[-1][1] == "0 (kink)" for row in rows)


def test_sweep_html():
    s = td.sweep_sizes(sizes=(100, 1000), repeat=2, references=False, progress=False)
    parsed = Tables(s._repr_html_())
    assert parsed.tables
    for table in parsed.tables:
        header, *rows = table
        assert [text for _, text in header][1:] == ["10^2", "10^3"]
        assert [row[0][1] for row in rows] == list(td.METHODS)


def test_ipython_formatter_picks_the_reprs(comparisons):
    formatters = pytest.importorskip("IPython.core.formatters")
    data, _ = formatters.format_display_data(comparisons["abs"])
    assert "<table>" in data["text/html"]
    data, _ = formatters.format_display_data(td.derivative("sin(x)"))
    assert "\\cos" in data["text/latex"]
