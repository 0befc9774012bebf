"""``td.compare``: errors checked against hand-written derivatives, undefined points and reasons,
methods that cannot handle f, timing and memory fields (their structure and order, never a
speed), the output formats, and the plot's artists (kinks marked, zeros drawn on a floor).
"""

from __future__ import annotations

import html.parser
import json

import mpmath
import numpy as np
import pytest

import tridiff as td
from tridiff.errors import TridiffError
from tridiff.studies.compare import REFERENCE_POINTS
from tridiff.studies.timing import Timing

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
METHODS = ("symbolic", "automatic", "numeric")
KINK = "kink: the left and right derivatives differ"
TOLERANCES = {"symbolic": 1e-13, "automatic": 1e-13, "numeric": 1e-8}


def branching(x):  # |x| written with an if: no formula, so only the numeric method applies
    return x if x > 0 else -x


@pytest.fixture(scope="module")
def smooth():
    """10^5 points: the reference is mpmath on a 2000-point subsample."""
    return td.compare("exp(-2*x) + 3*sin(3*x)", np.linspace(-1.0, 2.0, 10**5), repeat=3)


@pytest.fixture(scope="module")
def kinked():
    """1001 points, 0 among them: the reference is at every point."""
    xs = np.linspace(-5.0, 5.0, 1001)
    assert 0.0 in xs
    return td.compare("abs(x) + sin(x)*cos(x)", xs, repeat=3)


@pytest.fixture(scope="module")
def opaque():
    xs = np.linspace(-2.0, 2.0, 401)
    assert 0.0 in xs
    return td.compare(branching, xs, repeat=3)


@pytest.fixture(params=["smooth", "kinked", "opaque"])
def comparison(request):
    return request.getfixturevalue(request.param)


def mp_exact(fprime, xs) -> np.ndarray:
    """A hand-written derivative at each point by mpmath at 40 digits, rounded to float64."""
    with mpmath.workdps(40):
        return np.array([float(fprime(mpmath.mpf(float(x)))) for x in xs])


def at_reference_points(c: td.Comparison, values: np.ndarray) -> np.ndarray:
    """The values (given at c.points, which are sorted here) at c.reference_points."""
    idx = np.searchsorted(c.points, c.reference_points)
    assert np.array_equal(c.points[idx], c.reference_points)  # the reference points are a subset
    return values[idx]


def scaled(values, ref) -> float:
    ok = np.isfinite(ref)
    scale = np.abs(ref[ok]) + 0.01 * np.max(np.abs(ref[ok]))
    return float(np.max(np.abs(values[ok] - ref[ok]) / scale))


# -- errors ----------------------------------------------------------------------------------------
def test_reference_is_a_subsample_of_at_most_2000_points(smooth, kinked):
    assert smooth.reference_points.size == REFERENCE_POINTS == 2000
    assert smooth.reference_points[0] == -1.0 and smooth.reference_points[-1] == 2.0
    assert np.array_equal(kinked.reference_points, kinked.points)  # few points: all of them
    assert smooth.reference_kind.startswith("mpmath") and "40 digits" in smooth.reference_kind


def test_reference_matches_the_hand_written_derivative(smooth):
    exact = mp_exact(lambda x: 9 * mpmath.cos(3 * x) - 2 * mpmath.exp(-2 * x), smooth.reference_points)
    np.testing.assert_allclose(smooth.reference, exact, rtol=1e-15, atol=0)


@pytest.mark.parametrize("method", METHODS)
def test_errors_are_right_on_a_smooth_function(smooth, method):
    r = smooth[method]
    exact = mp_exact(lambda x: 9 * mpmath.cos(3 * x) - 2 * mpmath.exp(-2 * x), smooth.reference_points)
    mine = at_reference_points(smooth, r.values)
    assert r.max_abs_error == pytest.approx(np.max(np.abs(mine - exact)), rel=1e-3)
    assert r.max_rel_error == pytest.approx(scaled(mine, exact), rel=1e-3)
    assert 0 <= r.max_rel_error <= TOLERANCES[method]
    # The same in plain NumPy: its own rounding (~1e-15) is far below the numeric method's error.
    x = smooth.reference_points
    numpy_error = np.max(np.abs(mine - (9 * np.cos(3 * x) - 2 * np.exp(-2 * x))))
    if method == "numeric":
        assert r.max_abs_error == pytest.approx(numpy_error, rel=1e-3)
    else:
        assert abs(r.max_abs_error - numpy_error) <= 1e-14


@pytest.mark.parametrize("method", METHODS)
def test_errors_are_right_beside_a_kink(kinked, method):
    r = kinked[method]
    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
    exact = mp_exact(lambda x: sign(x) + mpmath.cos(2 * x), kinked.points)
    exact[kinked.points == 0] = np.nan  # f' does not exist there
    assert np.array_equal(np.isnan(kinked.reference), kinked.points == 0)
    ok = np.isfinite(exact)
    assert r.max_abs_error == pytest.approx(np.max(np.abs(r.values[ok] - exact[ok])), rel=1e-3)
    assert r.max_rel_error <= TOLERANCES[method]


def test_undefined_points_are_exactly_the_kink_with_its_reason(kinked):
    for method in METHODS:
        r = kinked[method]
        assert r.available
        assert r.undefined == (0.0,)
        assert r.undefined_reasons == (KINK,)
        assert np.isnan(r.values[kinked.points == 0]).all()
        assert np.isfinite(r.values[kinked.points != 0]).all()


def test_methods_that_cannot_handle_f_are_listed_with_the_reason(opaque):
    assert [r.method for r in opaque.reports] == list(METHODS)
    for method in ("symbolic", "automatic"):
        r = opaque[method]
        assert not r.available
        assert "not available" in r.reason and "np.where" in r.reason
        assert r.values is None and r.evaluation is None
        assert np.isnan(r.max_abs_error) and np.isnan(r.setup_seconds)
    numeric = opaque["numeric"]
    assert numeric.available and numeric.undefined == (0.0,)
    # Against the exact |x|' = sign(x), not the numeric reference compare used:
    ok = opaque.points != 0
    assert np.max(np.abs(numeric.values[ok] - np.sign(opaque.points[ok]))) < 1e-8


def test_reference_without_a_formula_is_stated_as_numeric(opaque):
    assert opaque.reference_kind.startswith("numeric")
    assert opaque.to_dict()["reference"] == opaque.reference_kind
    assert "reference: numeric" in opaque.table().replace("\n", " ")


def test_a_method_that_cannot_reach_the_order_is_listed():
    c = td.compare("sin(x)", [0.5, 1.0], methods=("numeric",), order=5, repeat=3)
    (r,) = c.reports
    assert not r.available and "order 4" in r.reason


# -- timing and memory -----------------------------------------------------------------------------
def test_timing_fields_are_present_and_ordered(comparison):
    for r in comparison.reports:
        if not r.available:
            continue
        t = r.evaluation
        assert isinstance(t, Timing)
        assert np.isfinite(r.setup_seconds) and r.setup_seconds > 0
        assert 0 < t.best <= t.q25 <= t.median <= t.q75 <= t.worst
        assert t.repeat == 3
        if comparison.reference_kind.startswith("mpmath"):  # f has a formula: setup compiles it
            # Setup is derive + compile + one call: it contains an evaluation (an order of
            # structure, not a speed claim: compiling alone takes milliseconds).
            assert r.setup_seconds >= t.best


def test_peak_memory_counts_at_least_the_output(smooth, comparison):
    for r in comparison.reports:
        if r.available:
            assert isinstance(r.peak_memory_bytes, int) and r.peak_memory_bytes >= 0
    for r in smooth.reports:  # 10^5 float64 results: 8e5 bytes, wherever they live (NumPy or JAX)
        assert r.peak_memory_bytes >= 8 * 10**5


def test_peak_memory_counts_the_kernels_temporaries(kinked):
    """XLA's temporaries, from the compiled kernel's own memory analysis, are part of the figure:
    they grow with the points (a kink's checks keep arrays of them) and differ between methods;
    a function with no formula has no compiled kernel to ask."""
    f, xs = "abs(x) + sin(x)*cos(x)", np.linspace(-5.0, 5.0, 1001)
    for r in kinked.reports:
        temporaries = td.derivative(f, method=r.method).temporary_bytes(xs)
        assert temporaries >= 8 * xs.size  # at least one float64 array beside the output
        assert r.peak_memory_bytes >= temporaries + 8 * xs.size
    d = td.derivative(f)
    small, large = d.temporary_bytes(np.zeros(10**4)), d.temporary_bytes(np.zeros(2 * 10**4))
    assert abs(large - 2 * small) <= 0.01 * large
    assert len({td.derivative(f, method=m).temporary_bytes(np.zeros(10**4)) for m in td.METHODS}) >= 2
    assert td.derivative(branching, method="numeric").temporary_bytes(xs) is None


# -- output formats --------------------------------------------------------------------------------
def strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"{token} in JSON")

    return json.loads(text, parse_constant=refuse)


def test_to_dict_and_to_json_round_trip(comparison):
    d = comparison.to_dict()
    assert strict_json(comparison.to_json()) == d
    assert set(d["methods"]) == set(METHODS)
    assert d["points"] == comparison.points.size
    for m, r in d["methods"].items():
        assert r["available"] == comparison[m].available
        if r["available"]:
            assert set(r["evaluation_seconds"]) == {"median", "q25", "q75", "best", "worst", "repeat"}
            assert r["max_abs_error"] == comparison[m].max_abs_error


def test_json_writes_nan_as_null(opaque):
    d = strict_json(opaque.to_json())
    assert d["methods"]["symbolic"]["max_abs_error"] is None
    assert d["methods"]["symbolic"]["setup_seconds"] is None
    assert d["methods"]["numeric"]["undefined"] == [0.0]
    c = td.compare("sin(x)", [0.0, np.nan, 1.0], methods="symbolic", repeat=3)
    r = strict_json(c.to_json())["methods"]["symbolic"]
    assert r["undefined"] == [None] and r["undefined_reasons"] == ["x is NaN or infinite"]


def test_table_names_every_method(comparison):
    text = comparison.table()
    assert isinstance(text, str) and text == str(comparison)
    for m in METHODS:
        assert m in text
    assert ("not available" in text) == any(not r.available for r in comparison.reports)


def test_table_shows_undefined_points_with_reasons(kinked, smooth):
    assert "0 (kink)" in kinked.table()
    assert "none" in smooth.table()


class Tables(html.parser.HTMLParser):
    """Rows of every <table>, each row a list of (tag, text, attrs) cells."""

    def __init__(self, text):
        super().__init__()
        self.rows, self.cell = [], None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = [tag, "", dict(attrs)]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(tuple(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data


def test_repr_html_is_a_table_with_one_row_per_method(comparison):
    text = comparison._repr_html_()
    assert text.count("<table>") == 1 and html.escape(comparison.title()) in text
    header, *rows = Tables(text).rows
    assert all(tag == "th" for tag, _, _ in header)
    assert [row[0][1] for row in rows] == list(METHODS)


# -- plot ------------------------------------------------------------------------------------------
def lines(ax, gid):
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def test_plot_renders_png_headless(kinked, tmp_path):
    from matplotlib.figure import Figure

    fig = kinked.plot()
    assert isinstance(fig, Figure)
    path = tmp_path / "compare.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == PNG_HEADER


def test_plot_marks_the_kink_with_a_vertical_line(kinked):
    ax = kinked.plot().axes[0]
    (line,) = lines(ax, "undefined")
    x, _ = line.get_data()
    assert list(x) == [0.0, 0.0]
    assert "kink" in line.get_label()
    assert any("kink" in t.get_text() for t in ax.texts)


def test_plot_error_lines_match_the_reported_errors(kinked):
    fig = kinked.plot()
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    (floor,) = lines(ax, "zero-floor")  # symbolic is exact at some points: 0 drawn on a labelled floor
    floor_y = floor.get_ydata()[0]
    assert "exactly 0" in floor.get_label()
    for m in METHODS:
        (envelope,) = lines(ax, f"error-{m}")
        (points,) = lines(ax, f"error-points-{m}")
        y = np.asarray(points.get_ydata(), dtype=float)
        assert np.all(y[np.isfinite(y)] >= floor_y)  # nothing at 0, which a log scale cannot show
        assert np.nanmax(envelope.get_ydata()) == pytest.approx(max(kinked[m].max_abs_error, floor_y))
        assert floor_y < kinked[m].max_abs_error
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.startswith("undefined: kink") for t in legend)


def test_plot_of_an_opaque_function_names_the_missing_methods_and_marks_the_kink(opaque):
    fig = opaque.plot()
    ax = fig.axes[0]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "symbolic: not available" in legend and "automatic: not available" in legend
    assert lines(ax, "error-numeric") and not lines(ax, "error-symbolic")
    assert [list(line.get_xdata()) for line in lines(ax, "undefined")] == [[0.0, 0.0]]


def test_plot_shades_a_run_of_points_outside_the_domain():
    c = td.compare("sqrt(x)", np.linspace(-1.0, 1.0, 201), methods=("symbolic",), repeat=3)
    ax = c.plot().axes[0]
    (span,) = [p for p in ax.patches if p.get_gid() == "undefined"]
    x0, x1 = span.get_x(), span.get_x() + span.get_width()
    assert (x0, x1) == pytest.approx((-1.0, -0.01))
    assert [list(line.get_xdata()) for line in lines(ax, "undefined")] == [[0.0, 0.0]]  # the endpoint


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(methods=("symbolic", "finite")), "unknown method 'finite'"),
        (dict(methods=()), "methods is empty"),
        (dict(xs=[]), "xs is empty"),
        (dict(xs=np.empty((0, 3))), "xs is empty"),
        (dict(xs=["a"]), "xs is text"),
        (dict(order=0), "order"),
        (dict(order=9), "order"),
        (dict(order=1.5), "order"),
        (dict(order=True), "order"),
        (dict(repeat=0), "repeat"),
    ],
)
def test_bad_input_raises_tridiff_error(kwargs, match):
    args = dict(f="sin(x)", xs=[0.0, 1.0]) | kwargs
    with pytest.raises(TridiffError, match=match):
        td.compare(args.pop("f"), args.pop("xs"), **args)


def test_one_method_by_name_and_duplicates_once():
    c = td.compare("x**2", [1.0, 2.0], methods=("numeric", "numeric"), repeat=3)
    assert [r.method for r in c.reports] == ["numeric"]
