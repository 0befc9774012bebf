"""Several variables: gradient, Jacobian, Hessian, partial and directional derivatives, three ways.

The oracle is mpmath: each partial derivative of the standard functions below is computed by
``mpmath.diff(F, point, orders)`` at 40 digits, with F the same formula evaluated by mpmath's own
functions (the text is evaluated here in a namespace of mpmath functions, independently of
tridiff's parser, SymPy and JAX). Expected values at kinks are derived by hand.

Tolerances (scaled error: |value − reference| / (|reference| + 1% of the largest |reference| at
all the points), as in :func:`tridiff.methods.reference.scaled_error`). Measured on this machine
over the table below (5 points per function):
  gradient   symbolic ≤ 1.1e-15, automatic ≤ 7.7e-16, numeric ≤ 2.3e-11 (logistic loss)
  Hessian    symbolic ≤ 4.2e-15, automatic ≤ 2.3e-15, numeric ≤ 1.0e-8  (Booth)
so symbolic/automatic keep DESIGN.md's 1e-13; numeric gradients get 1e-9 (~40× the worst measured)
and numeric Hessians (nested central differences, eps/h-limited) 1e-7 (10× the worst measured).
Symbolic/automatic Hessians are symmetric to 1e-14 (measured: exactly symmetric for symbolic,
≤ 1.8e-15 relative for automatic).

Compiling a kernel costs ~0.2–1 s per (function, method, batch size), so derivative objects are
cached below and batch sizes are kept few.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sampling import slow_except  # tests/ is on sys.path (pytest prepends it)

import tridiff as td
from tridiff.studies.catalog import EXAMPLES

METHODS = ("symbolic", "automatic", "numeric")
#: The methods, numeric in the slow run only (a numeric kernel of several variables compiles for 0.5-1 s),
#: for the checks whose numeric side the default run makes elsewhere: the mpmath, Jacobian, batch and
#: kink-line tests.
METHODS_NUMERIC_SLOW = slow_except(METHODS, {"symbolic", "automatic"})
GRADIENT_TOL = {"symbolic": 1e-13, "automatic": 1e-13, "numeric": 1e-9}
# Numeric Hessians: second differences along each axis, and the 4-point formula (accuracy 2, step
# eps^(1/4)) for mixed partials: measured worst 1.0e-7 (the logistic loss).
HESSIAN_TOL = {"symbolic": 1e-13, "automatic": 1e-13, "numeric": 1e-6}
SYMMETRY_TOL = 1e-14

# -- the standard functions --------------------------------------------------------------------

# Logistic regression: 3 weights (a, b: features; c: bias) on 4 labelled points (x1, x2; y = ±1).
LOGISTIC_DATA = [((0.5, -1.2), 1), ((1.5, 0.3), -1), ((-0.7, 0.8), 1), ((2.0, -0.4), -1)]
LOGISTIC = " + ".join(f"log(1 + exp({-y}*(a*({x1}) + b*({x2}) + c)))" for (x1, x2), y in LOGISTIC_DATA)

# A two-layer network x -> v1*tanh(w1*x) + v2*tanh(w2*x + b), squared loss on 3 points: 5 parameters
# (not named e: in text, e is Euler's number).
NETWORK_DATA = [(0.5, 1.0), (-1.0, 0.2), (2.0, -0.5)]
NETWORK = " + ".join(f"(v1*tanh(w1*({x})) + v2*tanh(w2*({x}) + b) - ({t}))**2" for x, t in NETWORK_DATA)

# name: (text, variables in tridiff's (alphabetical) order, 5 points)
STANDARD = {
    "rosenbrock": ("(1 - x)**2 + 100*(y - x**2)**2", ("x", "y"),
                   [[-1.2, 1.0], [1.0, 1.0], [0.3, -0.7], [2.0, 3.5], [-0.5, 0.25]]),
    "beale": ("(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2", ("x", "y"),
              [[3.0, 0.5], [1.0, 1.0], [-1.5, 2.0], [0.2, -0.8], [4.0, -1.1]]),
    "booth": ("(x + 2*y - 7)**2 + (2*x + y - 5)**2", ("x", "y"),
              [[1.0, 3.0], [0.0, 0.0], [-4.2, 2.5], [7.0, -3.0], [0.1, 0.2]]),
    "logistic": (LOGISTIC, ("a", "b", "c"),
                 [[0.0, 0.0, 0.0], [1.0, -2.0, 0.5], [-0.3, 0.7, 1.2], [2.5, 1.5, -1.0], [0.1, 0.2, 0.3]]),
    "network": (NETWORK, ("b", "v1", "v2", "w1", "w2"),
                [[0.1, 0.5, -0.3, 1.0, 0.8], [-0.2, 1.2, 0.4, -0.6, 0.3], [0.0, 0.0, 0.0, 0.0, 0.0],
                 [0.5, -0.7, 1.1, 0.9, -1.3], [0.3, 0.3, 0.3, 0.3, 0.3]]),
}
CHEAP = ("rosenbrock", "beale", "booth")  # numeric Hessians compile in ~1–2 s for these

MP_NAMESPACE = {"exp": mpmath.exp, "log": mpmath.log, "tanh": mpmath.tanh, "sin": mpmath.sin,
                "cos": mpmath.cos, "sqrt": mpmath.sqrt}


def mp_function(text: str, names):
    """The formula evaluated by mpmath (the text is this file's own, so eval is safe here)."""
    code = compile(text, "<formula>", "eval")
    return lambda *args: eval(code, dict(MP_NAMESPACE), dict(zip(names, args)))


def mp_partials(text, names, points, orders) -> np.ndarray:
    """Partial derivatives of the given orders (tuples, one count per variable) at each point."""
    F = mp_function(text, names)
    out = []
    with mpmath.workdps(40):
        for p in np.asarray(points, dtype=float):
            at = tuple(mpmath.mpf(float(c)) for c in p)
            out.append([float(mpmath.diff(F, at, o)) for o in orders])
    return np.array(out)


def unit(n, i):
    return tuple(int(k == i) for k in range(n))


@functools.cache
def reference_gradient(name) -> np.ndarray:
    text, names, points = STANDARD[name]
    n = len(names)
    return mp_partials(text, names, points, [unit(n, i) for i in range(n)])


@functools.cache
def reference_hessian(name) -> np.ndarray:
    text, names, points = STANDARD[name]
    n = len(names)
    orders = [tuple(a + b for a, b in zip(unit(n, i), unit(n, j))) for i in range(n) for j in range(n)]
    return mp_partials(text, names, points, orders).reshape(len(points), n, n)


@functools.cache
def made(kind: str, source, method: str, *args, variables=None):
    """One derivative object per (kind, function, method, ...): each compiles its kernel once."""
    if kind == "derivative":
        return td.derivative(source, method=method, wrt=args[0])
    return getattr(td, kind)(source, *args, method=method, variables=variables)


def scaled_error(values, ref) -> float:
    """max |values − ref| / (|ref| + 1% of the largest |ref| over all the points), as in
    :func:`tridiff.methods.reference.scaled_error`: a zero of a component (Rosenbrock's gradient at its
    minimum (1, 1), which mpmath gives as ~1e-40) is measured against the components' size."""
    values, ref = np.asarray(values), np.asarray(ref)
    scale = np.abs(ref) + 0.01 * np.max(np.abs(ref))
    scale = np.where(scale == 0, 1.0, scale)
    return float(np.max(np.abs(values - ref) / scale))


def assert_reasons_match(r):
    """Reasons are a non-empty string exactly at the undefined points; values NaN there."""
    assert r.undefined.dtype == bool and r.reasons.shape == r.undefined.shape
    batch_nan = np.isnan(r.values).reshape(r.undefined.shape + (-1,))
    np.testing.assert_array_equal(batch_nan.all(axis=-1), r.undefined)
    np.testing.assert_array_equal(batch_nan.any(axis=-1), r.undefined)
    assert all(isinstance(s, str) and s for s in r.reasons[r.undefined])
    assert all(s == "" for s in r.reasons[~r.undefined])


# -- 1. functions of several variables ----------------------------------------------------------

def test_text_variables_sorted_alphabetically_and_values():
    f = td.function("x*y + sin(z)")
    assert [v.name for v in f.variables] == ["x", "y", "z"]
    np.testing.assert_allclose(f([[2.0, 3.0, 0.0], [1.0, -1.0, np.pi / 2]]), [6.0, 0.0], atol=1e-15)
    # Names sort as text, not by where they first appear.
    assert [v.name for v in td.function("z*b + a").variables] == ["a", "b", "z"]


def test_text_variables_given_explicitly_set_the_order():
    f = td.function("x*y + sin(z)", variables=["z", "y", "x"])
    assert [v.name for v in f.variables] == ["z", "y", "x"]
    np.testing.assert_allclose(f([[0.0, 3.0, 2.0]]), [6.0])
    g = td.gradient("x*y + sin(z)", variables=["z", "y", "x"])
    np.testing.assert_allclose(g([0.0, 3.0, 2.0]), [1.0, 2.0, 3.0])  # (∂z, ∂y, ∂x) = (cos z, x, y)


def test_an_unused_named_variable_gets_a_zero_partial():
    np.testing.assert_allclose(td.gradient("x*y", variables=["x", "y", "z"])([2.0, 3.0, 5.0]), [3.0, 2.0, 0.0])


def test_function_values_keep_the_batch_shape():
    f = td.function("x*y + sin(z)")
    pts = np.arange(18.0).reshape(2, 3, 3) / 7
    got = f(pts)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, pts[..., 0] * pts[..., 1] + np.sin(pts[..., 2]), rtol=1e-15)


def test_sympy_expression_of_several_variables():
    x, y = sp.symbols("x y")  # plain (complex) SymPy symbols: tridiff reads them as real
    f = td.function(sp.sin(x) * y + x**2)
    assert [v.name for v in f.variables] == ["x", "y"]
    for m in METHODS:
        np.testing.assert_allclose(td.gradient(sp.sin(x) * y + x**2, method=m)([[0.5, 2.0]]),
                                   [[2 * np.cos(0.5) + 1.0, np.sin(0.5)]], rtol=1e-9)


def test_callables_of_several_arguments_are_named_by_their_parameters():
    f = td.function(lambda a, b: a * b + np.sin(b))
    assert [v.name for v in f.variables] == ["a", "b"] and f.kind == "numpy"
    assert td.function(lambda x, y: x * y + jnp.sin(y)).kind == "jax"
    np.testing.assert_allclose(f([[1.0, 2.0], [3.0, 0.0]]), [2 + np.sin(2.0), 0.0], rtol=1e-15)


# -- 2. the standard functions: every method against mpmath -------------------------------------

def _standard_cases():
    """Each standard function by each method; of the costly functions (a numeric Hessian of these
    compiles for 8-11 s, the network's automatic one for 4 s) only the symbolic one by default."""
    cases = [(name, method) for name in STANDARD for method in METHODS]
    return slow_except(cases, {f"{name}-{method}" for name, method in cases
                               if name in CHEAP or method == "symbolic"}, "-".join)


@pytest.mark.parametrize("name, method", _standard_cases())
def test_gradient_matches_mpmath(name, method):
    text, names, points = STANDARD[name]
    g = made("gradient", text, method)
    assert [v.name for v in g.variables] == list(names)
    r = g.evaluate(np.array(points))
    assert r.values.shape == (len(points), len(names)) and not r.undefined.any()
    err = scaled_error(r.values, reference_gradient(name))
    assert err <= GRADIENT_TOL[method], f"{name} {method} gradient scaled error {err:.2e}"


@pytest.mark.parametrize("name, method", _standard_cases())
def test_hessian_matches_mpmath(name, method):
    text, names, points = STANDARD[name]
    n = len(names)
    r = made("hessian", text, method).evaluate(np.array(points))
    assert r.values.shape == (len(points), n, n) and not r.undefined.any()
    err = scaled_error(r.values, reference_hessian(name))
    assert err <= HESSIAN_TOL[method], f"{name} {method} Hessian scaled error {err:.2e}"
    if method != "numeric":  # symmetric to rounding
        h = r.values
        asym = np.max(np.abs(h - np.swapaxes(h, -1, -2)) / (np.max(np.abs(h), axis=(-2, -1), keepdims=True) + 1e-300))
        assert asym <= SYMMETRY_TOL, f"{name} {method} Hessian asymmetry {asym:.1e}"


@pytest.mark.parametrize("name", CHEAP)
def test_numeric_gradient_error_estimate_covers_the_error(name):
    text, _, points = STANDARD[name]
    r = made("gradient", text, "numeric").evaluate(np.array(points))
    assert r.method == "numeric" and r.error_estimate.shape == r.values.shape
    assert np.all(np.isfinite(r.error_estimate)) and np.all(r.error_estimate >= 0)
    actual = np.abs(r.values - reference_gradient(name))
    assert np.all(actual <= r.error_estimate), (actual, r.error_estimate)  # measured: ≥ 2× margin


@pytest.mark.parametrize("name", CHEAP)
def test_numeric_hessian_error_estimate_covers_the_error(name):
    # BUG (reported): the estimate falls below the actual error of nested differences by up to
    # 39× (Rosenbrock), 20× (Beale), 124× (Booth); the numeric gradient's estimate covers its error.
    text, _, points = STANDARD[name]
    r = made("hessian", text, "numeric").evaluate(np.array(points))
    assert r.error_estimate.shape == r.values.shape
    actual = np.abs(r.values - reference_hessian(name))
    assert np.all(actual <= r.error_estimate), np.max(actual / np.maximum(r.error_estimate, 1e-300))


def test_symbolic_methods_give_no_error_estimate():
    for m in ("symbolic", "automatic"):
        assert made("gradient", STANDARD["booth"][0], m).evaluate(np.array(STANDARD["booth"][2])).error_estimate is None


# -- symbolic formulas ---------------------------------------------------------------------------

def test_symbolic_gradient_and_hessian_formulas_and_latex():
    text = "x*y**2 + sin(z)*exp(x)"
    x, y, z = (sp.Symbol(n, real=True) for n in "xyz")
    f = x * y**2 + sp.sin(z) * sp.exp(x)
    g = td.gradient(text, method="symbolic")
    assert isinstance(g.expr, sp.MatrixBase) and g.expr.shape == (3, 1)
    assert sp.simplify(g.expr - sp.Matrix([sp.diff(f, v) for v in (x, y, z)])) == sp.zeros(3, 1)
    h = td.hessian(text, method="symbolic")
    assert h.expr.shape == (3, 3) and h.expr == h.expr.T
    assert sp.simplify(h.expr - sp.hessian(f, (x, y, z))) == sp.zeros(3, 3)
    assert "\\begin{matrix}" in g.latex and "\\cos" in g.latex and "\\sin" in h.latex
    j = td.jacobian(["x*y", "y + z"], method="symbolic")
    assert j.expr == sp.Matrix([[y, x, 0], [0, 1, 1]])
    assert td.derivative("x*y + sin(y)", wrt="y").expr == x + sp.cos(y)
    assert sp.simplify(td.directional("x*y + sin(y)", [1, 2]).expr - (y + 2 * x + 2 * sp.cos(y))) == 0


# -- batches of points ---------------------------------------------------------------------------

ROSEN = STANDARD["rosenbrock"][0]
BATCH = np.array([[-1.2, 1.0], [1.0, 1.0], [0.3, -0.7], [2.0, 3.5], [-0.5, 0.25], [0.7, -1.1]])


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_batch_shapes(method):
    # (5, n): the gradient and Hessian of the table above (their kernels are compiled already).
    five = np.array(STANDARD["rosenbrock"][2])
    assert made("gradient", ROSEN, method)(five).shape == (5, 2)
    assert made("hessian", ROSEN, method)(five).shape == (5, 2, 2)
    # (2, 3, n) for every kind; laid out flat, as (6, n), the same points give the same numbers.
    nested = BATCH.reshape(2, 3, 2)
    kinds = {
        "gradient": (made("gradient", ROSEN, method), (2,)),
        "hessian": (made("hessian", ROSEN, method), (2, 2)),
        "jacobian": (made("jacobian", (ROSEN, "x*y", "sin(x) + y"), method), (3, 2)),
        "partial": (made("derivative", ROSEN, method, "y"), ()),
        "directional": (made("directional", ROSEN, method, (0.6, -0.8)), ()),
    }
    for kind, (d, tail) in kinds.items():
        r = d.evaluate(nested)
        assert r.values.shape == (2, 3) + tail, kind
        assert r.undefined.shape == (2, 3) and r.reasons.shape == (2, 3), kind
        assert r.method == method
        if method == "numeric":
            assert r.error_estimate.shape == r.values.shape, kind
        flat = d(BATCH)
        assert flat.shape == (6,) + tail, kind
        np.testing.assert_array_equal(r.values, flat.reshape((2, 3) + tail))
    # One point of shape (n,) gives the derivative's own shape.
    if method == "symbolic":
        assert kinds["gradient"][0](BATCH[0]).shape == (2,)
        assert np.ndim(kinds["partial"][0](BATCH[0])) == 0


def test_int_points_and_empty_batches():
    g = td.gradient("x*y", method="automatic")
    np.testing.assert_array_equal(g([[2, 3]]), [[3.0, 2.0]])
    assert g(np.zeros((0, 2))).shape == (0, 2)
    assert td.hessian("x*y")(np.zeros((0, 4, 2))).shape == (0, 4, 2, 2)


# -- partial and directional derivatives ---------------------------------------------------------

SMOOTH3 = "x*y**2 + sin(z)*exp(x)"
POINTS3 = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7], [-2.0, 2.0, 0.1], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_partial_via_derivative_wrt_is_the_gradient_component(method):
    grad = made("gradient", SMOOTH3, method)(POINTS3)
    for i, name in enumerate("xyz"):
        d = made("derivative", SMOOTH3, method, name)
        assert isinstance(d, td.MultiDerivative)
        np.testing.assert_allclose(d(POINTS3), grad[:, i], rtol=1e-13 if method != "numeric" else 1e-10, atol=1e-14)
    # td.partial is the same thing.
    np.testing.assert_allclose(td.partial(SMOOTH3, "y", method=method)(POINTS3), grad[:, 1], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_directional_is_gradient_dot_direction(method):
    grad = made("gradient", SMOOTH3, method)(POINTS3)
    for w in [(1.0, 2.0, -0.5), (0.0, 0.0, 1.0)]:
        got = made("directional", SMOOTH3, method, w)(POINTS3)
        np.testing.assert_allclose(got, grad @ np.array(w), rtol=1e-13 if method != "numeric" else 1e-9, atol=1e-13)


# -- Jacobians: stacked gradients, forward and reverse mode agree --------------------------------

JAC_WIDE = ("x*exp(y)", "sin(x*y*z)")  # m = 2 < n = 3: reverse mode
JAC_TALL = ("x*exp(y)", "sin(x*y)", "log(1 + x**2 + y**2)")  # m = 3 > n = 2: forward mode


@pytest.mark.parametrize(("fs", "method"), [(JAC_WIDE, m) for m in METHODS] + [(JAC_TALL, m) for m in METHODS[:2]],
                         ids=[f"m<n-{m}" for m in METHODS] + [f"m>n-{m}" for m in METHODS[:2]])
def test_jacobian_stacks_the_gradients(fs, method):
    # (numeric m > n is the same code path as m < n, one coordinate at a time: left out for time)
    names = ["x", "y", "z"][: 3 if fs is JAC_WIDE else 2]
    pts = POINTS3[:, : len(names)]
    J = made("jacobian", fs, method)(pts)
    assert J.shape == (len(pts), len(fs), len(names))
    rows = np.stack([made("gradient", f, method, variables=tuple(names))(pts) for f in fs], axis=-2)
    np.testing.assert_allclose(J, rows, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("fs", [JAC_WIDE, JAC_TALL], ids=["m<n", "m>n"])
def test_jacobian_forward_and_reverse_mode_agree(fs):
    # The automatic Jacobian picks reverse mode for m < n, forward for m > n; the gradient is
    # always reverse (one output) and a partial always forward (one tangent): all must agree.
    names = ["x", "y", "z"][: 3 if fs is JAC_WIDE else 2]
    pts = POINTS3[:, : len(names)]
    J = made("jacobian", fs, "automatic")(pts)
    reverse = np.stack([made("gradient", f, "automatic", variables=tuple(names))(pts) for f in fs], axis=-2)
    forward = np.stack([np.stack([made("partial", f, "automatic", v, variables=tuple(names))(pts) for v in names], -1)
                        for f in fs], axis=-2)
    np.testing.assert_allclose(J, reverse, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(J, forward, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(J, made("jacobian", fs, "symbolic")(pts), rtol=1e-13, atol=1e-15)


def test_jacobian_of_functions_of_different_variables_uses_their_union():
    J = td.jacobian(["x*y", "y + z"])([1.0, 2.0, 3.0])
    np.testing.assert_array_equal(J, [[2.0, 1.0, 0.0], [0.0, 1.0, 1.0]])


def test_jacobian_of_scalar_callables():
    J = td.jacobian([lambda x, y: x * y, lambda x, y: np.sin(x) + y], method="automatic")([[2.0, 3.0]])
    np.testing.assert_allclose(J, [[[3.0, 2.0], [np.cos(2.0), 1.0]]], rtol=1e-15)


# -- 3. kinks in several variables ---------------------------------------------------------------

ON_LINE = [[0.0, 0.0], [2.0, 2.0], [-3.5, -3.5], [0.1, 0.1], [1e10, 1e10]]
OFF_LINE = [[1.0, 0.0], [-1.0, 2.0], [0.3, -0.2], [5.0, 5.5], [-2.0, -3.0]]


def _sign_rows(pts):
    s = np.sign(np.array(pts)[:, 0] - np.array(pts)[:, 1])
    return np.stack([s, -s], axis=-1)


ABS_SOURCES = {"text": "abs(x - y)", "sympy": sp.Abs(sp.Symbol("x") - sp.Symbol("y")),
               "numpy": lambda x, y: np.abs(x - y)}


# Numeric for the text source only: once f has a formula, how it was given no longer matters to it.
@pytest.mark.parametrize(("source", "method"), [(k, m) for k in ABS_SOURCES for m in METHODS
                                                if m != "numeric" or k == "text"])
def test_abs_difference_undefined_on_the_line(source, method):
    source = ABS_SOURCES[source]
    pts = np.array(ON_LINE + OFF_LINE)
    r = td.gradient(source, method=method).evaluate(pts)
    expected_undefined = np.array([True] * len(ON_LINE) + [False] * len(OFF_LINE))
    np.testing.assert_array_equal(r.undefined, expected_undefined)
    assert all("kink" in s for s in r.reasons[expected_undefined])
    assert_reasons_match(r)
    np.testing.assert_allclose(r.values[~expected_undefined], _sign_rows(OFF_LINE), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_max_undefined_on_the_line(method):
    pts = np.array(ON_LINE + OFF_LINE)
    r = td.gradient("max(x, y)", method=method).evaluate(pts)
    expected_undefined = np.array([True] * len(ON_LINE) + [False] * len(OFF_LINE))
    np.testing.assert_array_equal(r.undefined, expected_undefined)
    assert all("kink" in s for s in r.reasons[expected_undefined])
    assert_reasons_match(r)
    off = np.array(OFF_LINE)
    x_wins = (off[:, 0] > off[:, 1]).astype(float)
    np.testing.assert_allclose(r.values[~expected_undefined], np.stack([x_wins, 1 - x_wins], -1), atol=1e-9)


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_norm_undefined_at_the_origin_only(method):
    r = td.gradient("sqrt(x**2 + y**2)", method=method).evaluate([[0.0, 0.0], [3.0, 4.0], [-3.0, 4.0], [1e-6, 0.0]])
    np.testing.assert_array_equal(r.undefined, [True, False, False, False])
    assert r.reasons[0]
    np.testing.assert_allclose(r.values[1:], [[0.6, 0.8], [-0.6, 0.8], [1.0, 0.0]], rtol=1e-9, atol=1e-12)


def test_norm_at_the_origin_is_not_called_infinite():
    # Both partials are bounded at the cone's tip (x/r with |x| <= r): the reason must not say the
    # derivative is infinite. The formula x/sqrt(x² + y²) is 0/0 there, which is what it says.
    r = td.gradient("sqrt(x**2 + y**2)", method="symbolic").evaluate([[0.0, 0.0]])
    assert r.undefined[0] and "infinite" not in r.reasons[0] and "no finite value" in r.reasons[0], r.reasons[0]


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_abs_x_times_y_exists_at_origin_not_at_0_1(method):
    r = td.gradient("abs(x)*y", method=method).evaluate([[0.0, 0.0], [0.0, 1.0], [0.0, -2.0], [2.0, 3.0]])
    np.testing.assert_array_equal(r.undefined, [False, True, True, False])
    assert "kink" in r.reasons[1]
    np.testing.assert_allclose(r.values[[0, 3]], [[0.0, 0.0], [3.0, 2.0]], atol=1e-9)
    # ∂/∂y (|x|·y) = |x| exists everywhere, also where ∂/∂x does not.
    dy = td.derivative("abs(x)*y", wrt="y", method=method)([[0.0, 1.0], [0.5, 1.0]])
    np.testing.assert_allclose(dy, [0.0, 0.5], atol=1e-9)


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_directional_derivative_along_the_kink_line_exists(method):
    # |x − y| is 0 along the line x = y: its derivative along (1, 1) is 0 there; along (1, 0) it is |t|.
    pts = [[1.0, 1.0], [2.0, 0.0]]
    np.testing.assert_allclose(td.directional("abs(x - y)", [1, 1], method=method)(pts), [0.0, 0.0], atol=1e-9)
    across = td.directional("abs(x - y)", [1, 0], method=method).evaluate(pts)
    np.testing.assert_array_equal(across.undefined, [True, False])
    assert "kink" in across.reasons[0]


# Switches whose arguments point opposite ways: |x| written as max(x, 0) + max(-x, 0), |x − y| as
# two relus. Forcing every switch to its own u > 0 once made them look smooth (gradient [0, 1] and
# [0, 0]): the sides are those a move along each coordinate reaches.
OPPOSED = ["max(x, 0) + max(-x, 0) + y", "relu(x - y) + relu(y - x)", "relu(x + y) + relu(-x - y) + x*y",
           "max(x, 0) - max(-2*x, 0) + y"]


def one_sided_partials(text, point):
    """Right and left difference quotients of f along each coordinate, from f's values in mpmath at
    50 digits (a step of 1e-30: the quotients are the one-sided partials to 1e-29 here)."""
    f = td.function(text)
    expr, xs = f.expr, f.variables
    mpmath.mp.dps = 50
    t = mpmath.mpf("1e-30")

    def at(p):
        return sp.N(expr.subs(dict(zip(xs, p))), 50)

    base = at(point)
    right = [float((at([p + (t if i == j else 0) for i, p in enumerate(point)]) - base) / t) for j in range(len(xs))]
    left = [float((base - at([p - (t if i == j else 0) for i, p in enumerate(point)])) / t) for j in range(len(xs))]
    return np.array(right), np.array(left)


@pytest.mark.parametrize("text, method", slow_except(  # symbolic for each; automatic and numeric for some
    [(text, method) for text in OPPOSED for method in METHODS],
    {(text, "symbolic") for text in OPPOSED} | {(OPPOSED[1], "automatic"), (OPPOSED[3], "automatic")},
    lambda case: case))
def test_switches_pointing_opposite_ways_are_kinks(text, method):
    for point in ([0.0, 0.0], [0.0, 1.5], [-1.0, 1.0], [0.5, 0.25]):
        right, left = one_sided_partials(text, [sp.Rational(p) for p in point])
        r = td.gradient(text, method).evaluate(point)
        if np.allclose(right, left, atol=1e-12):
            assert not r.undefined, f"{text} at {point}: {r.reasons}"
            np.testing.assert_allclose(r.values, right, atol=1e-7)
        else:
            assert r.undefined and "kink" in r.reasons, f"{text} at {point}: {r.values}, one-sided {right} {left}"


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_hessian_undefined_where_the_gradient_is(method):
    # On x = y the gradient of |x − y| and of max(x, y) does not exist, so neither does the Hessian
    # (it once came out 0, or ±37888 from a stencil across the kink); nor for |x|·y at (0, 1).
    for text in ("abs(x - y)", "max(x, y)", "abs(x)*y"):
        pt = [0.0, 1.0] if text == "abs(x)*y" else [1.0, 1.0]
        r = made("hessian", text, method).evaluate([pt])
        assert r.undefined[0] and np.isnan(r.values).all(), f"{text} Hessian at {pt}: {r.values[0].tolist()}"


@pytest.mark.parametrize("text", ["abs(x - y)", "max(x, y)"])
def test_numeric_beside_the_line_is_one_sided_not_averaged(text):
    # 1e-6 from the kink a central stencil of the default step would straddle it (averaging the
    # sides: the lab's np.gradient gives 0.5); the numeric gradient must be the side's own value.
    # The stencil must then fit in 1e-6, so round-off grows like eps·|f|/h: measured worst
    # 3.4e-8 for max at (100, 100 - 1e-6) (f ≈ 100; its error estimate, 4.2e-7, covers it), and
    # exact to 1e-15 for |x − y| (f ≈ 1e-6).
    pts = np.array([[1.0, 1.0 + 1e-6], [1.0 + 1e-6, 1.0], [-3.0, -3.0 + 1e-6], [100.0, 100.0 - 1e-6]])
    r = made("gradient", text, "numeric").evaluate(pts)
    assert not r.undefined.any()
    x_side = pts[:, 0] > pts[:, 1]
    expected = _sign_rows(pts) if text.startswith("abs") else np.stack([x_side, ~x_side], -1).astype(float)
    err = np.abs(r.values - expected)
    assert np.all(err <= 1e-7), err
    assert np.all(err <= r.error_estimate), (err, r.error_estimate)


def test_a_removable_jump_on_a_switch_surface_is_a_jump():
    # f = 1 on the line x = y, and |x - y|-like on each side: both one-sided limits are 0, f is not
    # continuous there. The analysis of one variable always checked f itself on the switch; the one
    # analysis now does so in n variables too (before, this was reported as a kink).
    f = "where(x >= y, where(x <= y, 1, x - y), y - x)"
    for method in td.METHODS:
        r = td.gradient(f, method=method).evaluate([[1.0, 1.0], [2.0, 1.0]])
        assert list(r.reasons) == ["f jumps here (it is not continuous)", ""]


def test_every_function_of_a_jacobian_has_its_poles_known():
    # 1/(x - y) is the second function: its pole is f's own, not a derivative's, so the point is
    # outside the domain, as for td.gradient of it alone
    r = td.jacobian(["x*y", "1/(x - y)"]).evaluate([[1.0, 1.0]])
    assert list(r.reasons) == [td.gradient("1/(x - y)").evaluate([[1.0, 1.0]]).reasons[0]]
    assert r.reasons[0] == "f is not defined here (outside its domain, or a pole)"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.undefined], ids=lambda e: e.name)
def test_one_analysis_for_one_variable_and_for_n(example):
    """f(x) + y, differentiated in x and y, fails exactly where f' does, for the same reasons."""
    a, b = example.domain
    xs = np.unique(np.concatenate([np.linspace(a, b, 9), example.undefined]))
    one = td.derivative(example.text).evaluate(xs)
    two = td.gradient(f"{example.text} + y", variables=("x", "y")).evaluate(np.stack([xs, 0 * xs], axis=-1))
    assert list(two.reasons) == list(one.reasons)
    np.testing.assert_allclose(two.values[:, 0], one.values, rtol=1e-14)


# -- 4. clear errors -----------------------------------------------------------------------------

@pytest.mark.parametrize("what", [td.gradient, td.hessian])
def test_gradient_of_a_vector_function_suggests_jacobian(what):
    with pytest.raises(td.TridiffError, match="jacobian"):
        what(["x", "y"])
    with pytest.raises(td.TridiffError, match="jacobian"):
        td.directional(["x", "y"], [1, 1])


def test_jacobian_of_one_function_suggests_gradient():
    with pytest.raises(td.TridiffError, match="gradient"):
        td.jacobian("x*y")


@pytest.mark.parametrize("kind", ["gradient", "hessian", "partial"])
def test_wrong_point_dimension_names_n_and_the_variables(kind):
    d = td.partial("x*y + sin(z)", "y") if kind == "partial" else getattr(td, kind)("x*y + sin(z)")
    for bad in ([1.0, 2.0], np.zeros((4, 2)), np.zeros((2, 3, 4)), 1.0):
        with pytest.raises(td.TridiffError) as info:
            d(bad)
        msg = str(info.value)
        assert "3" in msg and "x, y, z" in msg, msg


def test_unknown_wrt_names_the_variables():
    with pytest.raises(td.TridiffError) as info:
        td.derivative("x*y", wrt="z")
    assert "'z'" in str(info.value) and "x, y" in str(info.value)
    with pytest.raises(td.TridiffError, match="x, y"):
        td.partial("x*y", "q")


def test_derivative_of_several_variables_without_wrt():
    with pytest.raises(td.TridiffError) as info:
        td.derivative("x*y")
    msg = str(info.value)
    assert "wrt" in msg and "gradient" in msg


def test_bad_direction_and_method():
    with pytest.raises(td.TridiffError, match="direction"):
        td.directional("x*y", [0, 0])
    with pytest.raises(td.TridiffError, match="direction"):
        td.directional("x*y", [1, 2, 3])
    with pytest.raises(td.TridiffError, match="unknown method"):
        td.gradient("x*y", method="magic")


@pytest.mark.parametrize(("options", "match"), [
    ({"accuracy": 3}, "accuracy must be one of"), ({"accuracy": 0}, "accuracy must be one of"),
    ({"accuracy": True}, "accuracy must be one of"), ({"scheme": "complex-step"}, "choose one of 'central'"),
])
def test_bad_numeric_options_are_refused(options, match):
    for make in (td.gradient, td.hessian, lambda f, m, **kw: td.partial(f, "y", m, **kw)):
        with pytest.raises(td.TridiffError, match=match):
            make("x*y", "numeric", **options)


# -- callables -----------------------------------------------------------------------------------

CALL_POINTS = np.array([[1.0, 2.0], [0.5, -1.0], [-3.0, 0.25], [0.0, 0.0]])


@pytest.mark.parametrize("method", METHODS_NUMERIC_SLOW)
def test_numpy_and_jax_callables_agree_with_text(method):
    text = made("gradient", "x*y + sin(y)", method)(CALL_POINTS)
    expected = np.stack([CALL_POINTS[:, 1], CALL_POINTS[:, 0] + np.cos(CALL_POINTS[:, 1])], -1)
    np.testing.assert_allclose(text, expected, rtol=1e-13 if method != "numeric" else 1e-9, atol=1e-12)
    for fn in (lambda x, y: x * y + np.sin(y), lambda x, y: x * y + jnp.sin(y)):
        np.testing.assert_allclose(td.gradient(fn, method=method)(CALL_POINTS), text, rtol=1e-14, atol=1e-15)
    if method != "numeric":  # (a numeric Hessian compiles for ~1 s: covered by the table above)
        h = td.hessian(lambda x, y: x * y + jnp.sin(y), method=method)(CALL_POINTS[:1])
        np.testing.assert_allclose(h, [[[0.0, 1.0], [1.0, -np.sin(2.0)]]], atol=1e-14)


@pytest.mark.slow  # a 300 x 300 Hessian: 6 s; test_jax_vectors checks long-vector programs' gradients
def test_automatic_derivatives_of_a_long_vector_program():
    # A program function (more variables than tridiff traces into a formula): f is evaluated once,
    # as the primal of the derivative's own pass, and still decides where the derivative exists.
    n = 300

    def f(w):
        return jnp.sum(jnp.sqrt(w)) + jnp.sum(w[1:] * w[:-1])

    pts = np.tile(np.linspace(0.5, 2.0, n), (4, 1))
    pts[1, 3], pts[2, 4], pts[3, 5] = np.nan, -1.0, 0.0  # NaN input; f NaN; f' infinite (√ at 0)
    reasons = ["", "x is NaN", "not defined", "infinite"]
    direction = np.cos(np.arange(n))
    with jax.enable_x64(True):
        expected = {"gradient": jax.grad(f)(pts[0]), "hessian": jax.hessian(f)(pts[0]),
                    "directional": jax.jvp(f, (pts[0],), (direction,))[1]}
    for kind, d in (("gradient", td.gradient(f, "automatic", variables=n)),
                    ("hessian", td.hessian(f, "automatic", variables=n)),
                    ("directional", td.directional(f, direction, "automatic", variables=n))):
        r = d.evaluate(pts)
        assert r.values.shape == (4,) + d.shape and r.values.dtype == np.float64 and r.error_estimate is None
        np.testing.assert_allclose(r.values[0], expected[kind], rtol=1e-14)
        np.testing.assert_array_equal(r.undefined, [False, True, True, True])
        assert_reasons_match(r)
        assert all(want in got for want, got in zip(reasons, r.reasons)), (kind, r.reasons)


@pytest.mark.parametrize("method", ("auto",) + METHODS)
def test_branching_callable_raises_for_every_method(method):
    with pytest.raises(td.MethodUnavailableError, match=r"np\.where"):
        td.gradient(lambda x, y: x if x > y else y, method=method)  # noqa: FURB136 (it must branch)


def test_branching_callable_numeric_error_does_not_suggest_numeric():
    # BUG (reported, minor): asked for method="numeric", the error ends "... or use
    # method='numeric', which works point by point" -- the method that was just refused.
    with pytest.raises(td.MethodUnavailableError) as info:
        td.gradient(lambda x, y: x if x > y else y, method="numeric")  # noqa: FURB136
    assert "method='numeric'" not in str(info.value), str(info.value)


# -- hypothesis: random points in a box ----------------------------------------------------------

HYPO = {"rosenbrock": 2.0, "booth": 10.0}  # half-width of the box
# Measured worst scaled error over 180 random points per function: numeric 5.7e-12 (Booth),
# symbolic 1.0e-15, automatic 5.1e-16: numeric gets 1e-9 as in the table, the others 1e-13.
HYPO_NUMERIC_TOL = 1e-9


def _box(half):
    coord = st.floats(-half, half, allow_nan=False, allow_infinity=False)
    return st.lists(st.tuples(coord, coord), min_size=3, max_size=3)  # fixed shape: one kernel


@pytest.mark.parametrize("name", HYPO)
def test_hypothesis_three_methods_agree_with_mpmath(name):
    text, names, _ = STANDARD[name]
    grads = {m: made("gradient", text, m) for m in METHODS}

    @settings(max_examples=12, deadline=None)
    @given(_box(HYPO[name]))
    def check(points):
        pts = np.array(points)
        ref = mp_partials(text, names, pts, [(1, 0), (0, 1)])
        got = {m: g(pts) for m, g in grads.items()}
        for m in METHODS:
            tol = HYPO_NUMERIC_TOL if m == "numeric" else 1e-13
            assert scaled_error(got[m], ref) <= tol, (m, pts.tolist(), got[m].tolist(), ref.tolist())
        assert scaled_error(got["automatic"], got["symbolic"]) <= 1e-13

    check()


def test_hypothesis_hessians_symmetric_and_agree():
    text = STANDARD["rosenbrock"][0]
    hs = {m: made("hessian", text, m) for m in ("symbolic", "automatic")}

    @settings(max_examples=12, deadline=None)
    @given(_box(2.0))
    def check(points):
        pts = np.array(points)
        x, y = pts[:, 0], pts[:, 1]
        by_hand = np.stack([np.stack([2 - 400 * (y - x**2) + 800 * x**2, -400 * x], -1),
                            np.stack([-400 * x, np.full_like(x, 200.0)], -1)], -2)
        for m, h in hs.items():
            got = h(pts)
            scale = np.max(np.abs(got), axis=(-2, -1), keepdims=True)
            assert np.all(np.abs(got - np.swapaxes(got, -1, -2)) <= SYMMETRY_TOL * scale), (m, pts.tolist())
            assert scaled_error(got, by_hand) <= 1e-13, (m, pts.tolist())

    check()


@pytest.mark.parametrize("scheme", ["central", "richardson"])
def test_numeric_partials_at_large_coordinates_are_right_or_covered_by_their_estimate(scheme):
    # the step followed |x_j| alone: sin(x·y) + x at (1e4, 1) gave 1.28 for 0.048 (estimate 0.059)
    points = np.array([[1e4, 1.0], [1e6, 0.5], [3.0, 1e8], [1e15, 1.0], [-2e5, 3.0]])
    r = td.gradient("sin(x*y) + x", method="numeric", scheme=scheme).evaluate(points)
    with mpmath.workdps(60):
        exact = np.array([[float(y * mpmath.cos(x * y) + 1), float(x * mpmath.cos(x * y))]
                          for x, y in (map(mpmath.mpf, p) for p in points)])
    defined = ~np.isnan(r.values)
    assert all(r.reasons[~defined.all(axis=1)])
    assert np.all(np.abs(r.values - exact)[defined] <= r.error_estimate[defined])
    assert defined[[0, 1, 2, 4]].all()


@pytest.mark.parametrize("method, batch", slow_except(
    [(method, batch) for method in METHODS for batch in (1, 3, 17, 40_001)],
    {"symbolic-1", "symbolic-17", "automatic-3", "automatic-40001", "numeric-1", "numeric-17"},
    lambda case: f"{case[0]}-{case[1]}"))
def test_batches_of_any_size_give_every_rows_values_and_reasons(batch, method):
    """Batches are padded to a power of two and long ones chunked (32,768 rows of 2 variables per
    call): every row comes back right and in place, a point on the kink line among them."""
    g = td.gradient("abs(x - y) + x*y", method=method)
    rng = np.random.default_rng(batch)
    pts = rng.uniform(-2, 2, (batch, 2))
    pts[batch // 2] = [0.5, 0.5]  # on x = y: no gradient
    x, y = pts.T
    s = np.sign(x - y)
    expected = np.stack([s + y, -s + x], axis=-1)
    expected[batch // 2] = np.nan
    r = g.evaluate(pts)
    tol = 1e-7 if method == "numeric" else 1e-14
    np.testing.assert_allclose(r.values, expected, rtol=tol, atol=tol)
    assert r.reasons[batch // 2] and not any(r.reasons[np.arange(batch) != batch // 2])
    np.testing.assert_allclose(td.function("abs(x - y) + x*y")(pts), np.abs(x - y) + x * y, rtol=1e-15, atol=1e-15)
