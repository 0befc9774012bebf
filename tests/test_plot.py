"""``td.plot`` and ``td.plot_gallery``: the artists' data, not just "no exception".

A line "crosses" a point x0 when two consecutive samples on either side of x0 are both finite
(matplotlib joins them); every test of honesty at kinks reads the Line2D data for that.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tridiff as td
from tridiff.errors import TridiffError
from tridiff.studies import catalog
from tridiff.studies.presentation import METHOD_STYLES
from tridiff.views.plot import LAB_GALLERY, plot, plot_gallery

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


def lines_by_gid(ax, prefix):
    return [line for line in ax.get_lines() if (line.get_gid() or "").startswith(prefix)]


def joins_across(line, x0) -> bool:
    """True when the line draws a segment through x0: finite samples joined across it, or one at it."""
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    ok = np.isfinite(y)
    across = (x[:-1] < x0) & (x[1:] > x0) & ok[:-1] & ok[1:]
    return bool(across.any() or (ok & (x == x0)).any())


@pytest.fixture(scope="module")
def abs_fig():
    return plot("abs(x)", x_range=(-5, 5), points=101)


def test_png_renders_headless(abs_fig, tmp_path):
    path = tmp_path / "abs.png"
    abs_fig.savefig(path)
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == PNG_HEADER


def test_no_pyplot_and_lazy_matplotlib():
    # A fresh interpreter: importing tridiff.views.plot loads no matplotlib; plotting never loads pyplot.
    code = (
        "import sys, importlib; p = importlib.import_module('tridiff.views.plot'); assert 'matplotlib' not in sys.modules;"
        "p.plot('x**2', points=11); assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_abs_draws_f_and_each_method_labelled(abs_fig):
    ax = abs_fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[0] == "$f(x) = |x|$"
    assert [lb for lb in labels if lb.endswith(("symbolic", "automatic", "numeric"))] == [
        "$f'(x)$ symbolic", "$f'(x)$ automatic", "$f'(x)$ numeric"]
    styles = {(line.get_color(), str(line.get_linestyle())) for line in lines_by_gid(ax, "derivative-")}
    assert len(styles) == 3  # methods that agree overlap, but each is told apart by colour and style
    assert ax.get_legend() is not None


@pytest.mark.parametrize("points", [101, 100])
def test_abs_derivative_never_joined_across_the_kink(points):
    ax = plot("abs(x)", points=points).axes[0]
    derivs = lines_by_gid(ax, "derivative-")
    assert len(derivs) == 3
    for line in derivs:
        assert not joins_across(line, 0.0), line.get_label()
        x, y = line.get_data()
        assert np.isnan(y[x == 0]).all() and (x == 0).sum() == 1  # the kink is a sample, even off-grid
        assert np.allclose(y[x < 0], -1) and np.allclose(y[x > 0], 1)  # right beside the kink too


def test_abs_kink_has_hollow_markers_at_one_sided_derivatives(abs_fig):
    ax = abs_fig.axes[0]
    (markers,) = lines_by_gid(ax, "kinks")
    x, y = markers.get_data()
    assert set(np.asarray(x)) == {0.0} and set(np.asarray(y)) == {-1.0, 1.0}
    assert markers.get_markerfacecolor() == "none" and markers.get_marker() == "o"
    assert markers.get_linestyle() == "None"


def test_abs_f_keeps_its_vertex_in_framed_labelled_axes(abs_fig):
    """The axes are framed (tick labels beside the plot, not under the curves at the origin), with
    light lines along x = 0 and y = 0, and labelled."""
    ax = abs_fig.axes[0]
    (f_line,) = lines_by_gid(ax, "f")
    x, y = f_line.get_data()
    assert np.all(np.isfinite(y)) and y[x == 0] == 0  # |x| is continuous: f is not broken
    assert ax.spines["left"].get_position() == ("outward", 0.0)
    assert ax.spines["bottom"].get_position() == ("outward", 0.0)
    assert lines_by_gid(ax, "zero-x") and lines_by_gid(ax, "zero-y")
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel() == "$f(x)$, $f'(x)$"
    assert ax.get_legend().get_texts()[0].get_fontsize() >= 9


@pytest.mark.parametrize("points", [101, 100])
def test_reciprocal_no_segment_spans_the_pole(points):
    ax = plot("1/x", points=points).axes[0]
    lines = lines_by_gid(ax, "f") + lines_by_gid(ax, "derivative-")
    assert len(lines) == 4
    for line in lines:
        assert not joins_across(line, 0.0), line.get_label()
    lo, hi = ax.get_ylim()
    assert hi - lo < 100  # clipped: 1/x² near 0 does not squash the plot
    assert not lines_by_gid(ax, "kinks")  # a pole's one-sided derivatives are infinite: no marker


def test_jump_in_f_is_not_joined_and_is_marked():
    ax = plot("x + sign(x)", points=100).axes[0]
    (f_line,) = lines_by_gid(ax, "f")
    assert not joins_across(f_line, 0.0)
    (hollow,) = lines_by_gid(ax, "jumps")
    assert hollow.get_markerfacecolor() == "none"
    assert np.allclose(sorted(hollow.get_ydata()), [-1, 1])
    (filled,) = lines_by_gid(ax, "jump-values")
    assert list(filled.get_ydata()) == [0.0]  # the value f takes at the jump is a filled dot


def test_second_derivative_kink():
    ax = plot("x*abs(x)", order=2, points=101).axes[0]
    (markers,) = lines_by_gid(ax, "kinks")
    assert set(np.asarray(markers.get_ydata())) == {-2.0, 2.0}
    for line in lines_by_gid(ax, "derivative-"):
        assert line.get_label().startswith("$f''(x)$") and not joins_across(line, 0.0)


def test_error_panel_log_scale_one_line_per_method():
    fig = plot("abs(x) + sin(x)*cos(x)", error_panel=True, points=201)
    assert len(fig.axes) == 2
    err_ax = fig.axes[1]
    assert err_ax.get_yscale() == "log"
    errs = lines_by_gid(err_ax, "error-")
    assert sorted(line.get_label() for line in errs) == ["automatic", "numeric", "symbolic"]
    assert "mpmath" in err_ax.get_title()
    for line in errs:
        y = np.asarray(line.get_ydata(), dtype=float)
        assert np.nanmax(y) < 1e-6 and np.nanmin(y) > 0  # every method is accurate; 0 is floored


def test_gallery_has_nine_axes_from_the_catalog(tmp_path):
    fig = plot_gallery(points=101)
    assert len(fig.axes) == 9 and len(LAB_GALLERY) == 9
    assert LAB_GALLERY[2] == catalog.BY_NAME["reciprocal"].text
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "$f(x) = x^{3}$" and titles[7] == "$f(x) = |x|$"
    for ax in fig.axes:
        assert len(lines_by_gid(ax, "derivative-")) == 3
    assert len(fig.legends) == 1
    path = tmp_path / "gallery.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == PNG_HEADER


@pytest.mark.parametrize("points", [101, 100])
def test_opaque_function_plots_numeric_and_names_the_others(points):
    f = td.function(lambda x: x if x > 0 else -x)
    assert f.kind == "opaque"
    ax = plot(f, points=points).axes[0]
    (numeric,) = lines_by_gid(ax, "derivative-")
    assert numeric.get_label() == "$f'(x)$ numeric" and not joins_across(numeric, 0.0)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "$f'(x)$ symbolic: not available" in legend and "$f'(x)$ automatic: not available" in legend
    (note,) = [t for t in ax.texts if t.get_gid() == "unavailable-note"]
    assert note.get_text().startswith("symbolic, automatic: not available") and "branches" in note.get_text()
    if points % 2:  # x = 0 is a sample: the kink is found on the grid and marked
        (markers,) = lines_by_gid(ax, "kinks")
        assert np.allclose(sorted(markers.get_ydata()), [-1, 1])  # numeric one-sided values


def test_opaque_error_panel_shows_the_numeric_estimate():
    fig = plot(lambda x: x if x > 0 else -x, error_panel=True, points=51)
    err_ax = fig.axes[1]
    assert [line.get_label() for line in lines_by_gid(err_ax, "error-")] == ["numeric"]
    assert "no reference" in err_ax.get_title()


def test_draws_into_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    assert plot("sin(x)", methods="automatic", ax=ax, title="sine", points=51) is fig
    assert [line.get_label() for line in lines_by_gid(ax, "derivative-")] == ["$f'(x)$ automatic"]
    assert ax.get_title() == "sine"
    with pytest.raises(TridiffError, match="error_panel"):
        plot("sin(x)", ax=ax, error_panel=True)


def test_no_zero_line_when_zero_is_out_of_range():
    ax = plot("log(x)", x_range=(1, 5), points=51).axes[0]
    assert not lines_by_gid(ax, "zero-x")


def test_a_curve_living_in_a_small_part_of_its_range_keeps_its_shape():
    """exp(-2x) + 3 sin(3x) on [-1, 4]: e^2 at the left end must not flatten the sine to a line."""
    ax = plot("exp(-2*x) + 3*sin(3*x)", x_range=(-1, 4), points=301).axes[0]
    lo, hi = ax.get_ylim()
    assert hi - lo < 40


@pytest.mark.parametrize("kwargs, match", [
    (dict(methods=("symbolic", "finite")), "methods"),
    (dict(points=2), "points"),
    (dict(x_range=(5, -5)), "a < b"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(TridiffError, match=match):
        plot("x**2", **kwargs)


def test_method_styles_are_distinct():
    assert len({(s["color"], str(s["linestyle"])) for s in METHOD_STYLES.values()}) == 3
