"""The lab "Differentiation in Python: Symbolic, Numerical and Automatic", cell by cell, through tridiff.

Each test is named after the lab section it reproduces (``test_s2_3_...`` is section 2.3). Where the
lab's libraries fail or mislead (SymPy's ``re(x)…/x`` for |x|', ``np.gradient``'s ±0.5 beside the
kink, JAX's ``grad`` on ints and arrays, JAX's |x|'(0) = 1), the test shows the lab's behaviour and
then asserts what tridiff does instead. The truths compared against are independent of tridiff:
hand-derived derivatives written in NumPy, SymPy's own ``diff`` of the lab's formulas, mpmath,
and the values the lab printed.
"""

from __future__ import annotations

import io

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import rich.console
import sympy

import tridiff as td
from tridiff.apps import lab
from tridiff.methods.reference import reference, scaled_error
from tridiff.studies.catalog import nested_polynomial

METHODS = ("symbolic", "automatic", "numeric")
# DESIGN.md's accuracy targets: symbolic and automatic to rounding, numeric central to 1e-8.
RTOL = {"symbolic": 1e-13, "automatic": 1e-13, "numeric": 1e-8}

X_REAL = sympy.Symbol("x", real=True)  # tridiff's symbols are real: compare against a real x


def close(method, got, expected):
    """Relative comparison at each method's accuracy (NaN must match NaN)."""
    np.testing.assert_allclose(got, expected, rtol=RTOL[method], atol=RTOL[method], equal_nan=True)


# -- 1 - Functions in Python -----------------------------------------------------------------------

def f(x):
    """The lab's first function."""
    return x**2


def dfdx(x):
    """The lab's hand-written derivative of f."""
    return 2 * x


x_array = np.array([1, 2, 3])


def test_s1_function_value_at_3():
    assert td.function(f)(3) == 9.0
    assert td.function(f)(x_array).tolist() == [1.0, 4.0, 9.0]


@pytest.mark.parametrize("method", METHODS)
def test_s1_derivative_at_3_and_on_int_array(method):
    d = td.derivative(f, method=method)
    close(method, d(3), dfdx(3))
    out = d(x_array)  # an int array, as in the lab
    assert out.dtype == np.float64 and out.shape == (3,)
    close(method, out, [2.0, 4.0, 6.0])


# -- 2.1 - Introduction to symbolic computation with SymPy -----------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_s2_1_sympy_expression_is_callable_on_arrays(method):
    x = sympy.symbols("x")  # the lab's plain (complex) symbol
    f_symb = x**2
    with pytest.raises(TypeError, match="not callable"):  # the lab: 'Pow' object is not callable
        f_symb(x_array)
    fn = td.function(f_symb)
    assert fn(x_array).tolist() == [1.0, 4.0, 9.0]  # what lambdify gave the lab
    close(method, td.derivative(fn, method=method)(x_array), [2.0, 4.0, 6.0])


# -- 2.2 - Symbolic differentiation with SymPy -----------------------------------------------------

def test_s2_2_power_rule():
    d = td.derivative("x**3", method="symbolic")
    assert sympy.simplify(d.expr - 3 * X_REAL**2) == 0


COMPOSED_DEFINITIONS = {
    "text": "exp(-2*x) + 3*sin(3*x)",
    "numpy": lambda x: np.exp(-2 * x) + 3 * np.sin(3 * x),  # the lab's f_composed
    "jax": lambda x: jnp.exp(-2 * x) + 3 * jnp.sin(3 * x),
    "sympy": sympy.exp(-2 * sympy.Symbol("x")) + 3 * sympy.sin(3 * sympy.Symbol("x")),
}


@pytest.mark.parametrize("how", COMPOSED_DEFINITIONS)
def test_s2_2_composed_chain_rule(how):
    d = td.derivative(COMPOSED_DEFINITIONS[how], method="symbolic")
    expected = 9 * sympy.cos(3 * X_REAL) - 2 * sympy.exp(-2 * X_REAL)  # the lab's printed answer
    assert sympy.simplify(d.expr - expected) == 0
    assert isinstance(d.latex, str) and "cos" in d.latex


@pytest.mark.parametrize("method", METHODS)
def test_s2_2_composed_values_on_the_plot_grid(method):
    x_array_2 = np.linspace(-5, 5, 100)
    exact = 9 * np.cos(3 * x_array_2) - 2 * np.exp(-2 * x_array_2)
    got = td.derivative(COMPOSED_DEFINITIONS["numpy"], method=method)(x_array_2)
    assert scaled_error(got, exact) <= RTOL[method]


@pytest.mark.parametrize("method", METHODS)
def test_s2_2_dfdx_symb_numpy_on_x_array(method):
    x = sympy.symbols("x")
    close(method, td.derivative(x**2, method=method)(x_array), [2.0, 4.0, 6.0])


# -- 2.3 - Limitations of symbolic differentiation: |x| --------------------------------------------

def test_s2_3_lab_sympy_gives_re_im_for_abs():
    # The lab's failure, for contrast: SymPy on a complex symbol gives re(x)…/x, not evaluable.
    x = sympy.symbols("x")
    assert sympy.diff(abs(x), x).has(sympy.re)


ABS_DEFINITIONS = {
    "text": "abs(x)",
    "python_abs": lambda x: abs(x),
    "np_abs": np.abs,
    "jnp_abs": lambda x: jnp.abs(x),
    "sympy": sympy.Abs(sympy.Symbol("x")),
}


@pytest.mark.parametrize("how", ABS_DEFINITIONS)
def test_s2_3_abs_derivative_is_sign(how):
    d = td.derivative(ABS_DEFINITIONS[how], method="symbolic")
    assert not d.expr.has(sympy.re) and not d.expr.has(sympy.im)
    assert d.expr == sympy.sign(X_REAL)
    assert d(-2) == -1.0  # the lab's .evalf(subs={x: -2}) stayed unevaluated


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("how", ABS_DEFINITIONS)
def test_s2_3_abs_on_lab_array(how, method):
    r = td.derivative(ABS_DEFINITIONS[how], method=method).evaluate(np.array([1, -2, 0]))
    close(method, r.values, [1.0, -1.0, np.nan])
    assert r.undefined.tolist() == [False, False, True]
    assert r.reasons[0] == r.reasons[1] == ""
    assert isinstance(r.reasons[2], str) and r.reasons[2]


# -- 3.1 - Numerical differentiation with NumPy ----------------------------------------------------

def test_s3_1_gradient_of_square():
    x_array_2 = np.linspace(-5, 5, 100)
    lab = np.gradient(f(x_array_2), x_array_2)
    # np.gradient's one-sided ends are off by h = 0.101 (the lab's plot hides it) ...
    assert abs(lab[0] - dfdx(x_array_2[0])) > 0.05
    # ... tridiff's numeric derivative is right everywhere, ends included.
    got = td.derivative(f, method="numeric")(x_array_2)
    close("numeric", got, dfdx(x_array_2))


# -- 3.2 - Limitations of numerical differentiation: beside the kink -------------------------------

def test_s3_2_np_gradient_is_off_beside_the_kink():
    x_array_2 = np.linspace(-5, 5, 100)
    lab = np.gradient(abs(x_array_2), x_array_2)
    beside = [49, 50]  # x = ∓0.0505, the two grid points either side of 0
    assert np.all(x_array_2[beside] * [-1, 1] > 0)
    np.testing.assert_allclose(lab[beside], [-0.5, 0.5], atol=1e-12)  # the lab's ±0.5
    assert np.all(np.abs(lab[beside] - np.sign(x_array_2[beside])) > 0.4)


@pytest.mark.parametrize("method", METHODS)
def test_s3_2_tridiff_is_exact_beside_the_kink(method):
    x_array_2 = np.linspace(-5, 5, 100)
    got = td.derivative(lambda x: abs(x), method=method)(x_array_2)
    if method == "numeric":
        np.testing.assert_allclose(got, np.sign(x_array_2), rtol=0, atol=1e-12)
    else:
        np.testing.assert_array_equal(got, np.sign(x_array_2))


def dfdx_abs(x):
    """The lab's piecewise derivative of |x|, written with if/else (it branches on x's value)."""
    if x > 0:
        return 1
    else:
        if x < 0:
            return -1
        else:
            return None


def test_s3_2_branching_function_works_numerically():
    fn = td.function(dfdx_abs)
    np.testing.assert_array_equal(fn(np.array([1.0, -2.0, 0.0])), [1.0, -1.0, np.nan])  # None -> NaN
    r = td.derivative(fn, method="numeric").evaluate(np.array([-2.0, -0.5, 0.0, 0.5, 3.0]))
    # (dfdx_abs)' is 0 on each side; at 0 dfdx_abs itself is undefined (None).
    np.testing.assert_allclose(r.values, [0.0, 0.0, np.nan, 0.0, 0.0], atol=1e-8)
    assert r.undefined.tolist() == [False, False, True, False, False]
    assert r.reasons[2]


def abs_branching(x):
    """|x| written the way dfdx_abs is: with if/else."""
    if x > 0:
        return x
    return -x


def test_s3_2_branching_abs_numeric_on_the_lab_grid():
    x_array_2 = np.linspace(-5, 5, 100)
    got = td.derivative(abs_branching, method="numeric")(x_array_2)
    np.testing.assert_allclose(got, np.sign(x_array_2), rtol=0, atol=1e-8)


@pytest.mark.parametrize("fn", [dfdx_abs, abs_branching])
@pytest.mark.parametrize("method", ["symbolic", "automatic"])
def test_s3_2_branching_function_refused_by_symbolic_and_automatic(fn, method):
    with pytest.raises(td.MethodUnavailableError, match=r"np\.where"):
        td.derivative(fn, method=method)


# -- 4.1 - Introduction to JAX ---------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_s4_1_jax_arrays_are_accepted(method):
    x_array_jnp = jnp.array([1.0, 2.0, 3.0])
    d = td.derivative(f, method=method)
    np.testing.assert_allclose(d(x_array_jnp), [2.0, 4.0, 6.0], rtol=1e-5)
    x32 = jnp.array(x_array.astype("float32"))  # the lab's float32 conversion
    np.testing.assert_allclose(d(x32), [2.0, 4.0, 6.0], rtol=1e-5)


def test_s4_1_jnp_log_on_int_array_in_float64():
    # The lab printed jnp.log(x_array) in float32 (0.6931472); tridiff keeps float64.
    got = td.function(jnp.log)(x_array)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, np.log([1.0, 2.0, 3.0]), rtol=1e-15)


# -- 4.2 - Automatic differentiation with JAX ------------------------------------------------------

def test_s4_2_grad_at_3_float():
    assert float(jax.grad(f)(3.0)) == 6.0  # the lab's cell
    assert td.derivative(f, method="automatic")(3.0) == 6.0


def test_s4_2_grad_on_int_fails_in_lab_works_in_tridiff():
    with pytest.raises(TypeError):
        jax.grad(f)(3)  # the lab: grad requires real- or complex-valued inputs
    out = td.derivative(f, method="automatic")(3)
    assert out == 6.0 and np.asarray(out).dtype == np.float64


@pytest.mark.parametrize("shape", [(3,), (2, 3)])
@pytest.mark.parametrize("method", METHODS)
def test_s4_2_grad_on_arrays_without_vmap(method, shape):
    with pytest.raises(TypeError):
        jax.grad(f)(jnp.array([1.0, 2.0, 3.0]))  # the lab: only scalar-output functions
    xs = np.arange(1, 1 + np.prod(shape), dtype=float).reshape(shape)
    got = td.derivative(f, method=method)(xs)
    assert got.shape == shape
    close(method, got, 2 * xs)


@pytest.mark.parametrize("method", METHODS)
def test_s4_2_jnp_abs_at_zero(method):
    g = lambda x: jnp.abs(x)  # noqa: E731
    lab = float(jax.grad(g)(0.0))
    assert lab in (0.0, 1.0)  # JAX answers a number; |x|'(0) does not exist
    r = td.derivative(g, method=method).evaluate(0.0)
    assert np.isnan(r.values) and r.undefined and r.reasons
    assert (float(r.left), float(r.right)) == (-1.0, 1.0)


def _where_ok(cond, value):
    return np.where(cond, value, np.nan)


# The lab's gallery function g, each line of it written with jax.numpy, with the hand-derived f'.
GALLERY = {
    "cube": (lambda x: x**3, lambda x: 3 * x**2),
    "cubic": (lambda x: 2 * x**3 - 3 * x**2 + 5, lambda x: 6 * x**2 - 6 * x),
    "reciprocal": (lambda x: 1 / x, lambda x: _where_ok(x != 0, -1 / x**2)),
    "exp": (lambda x: jnp.exp(x), np.exp),
    "log": (lambda x: jnp.log(x), lambda x: _where_ok(x > 0, 1 / x)),
    "sin": (lambda x: jnp.sin(x), np.cos),
    "cos": (lambda x: jnp.cos(x), lambda x: -np.sin(x)),
    "abs": (lambda x: jnp.abs(x), lambda x: _where_ok(x != 0, np.sign(x))),
    "abs_plus_sincos": (
        lambda x: jnp.abs(x) + jnp.sin(x) * jnp.cos(x),
        lambda x: _where_ok(x != 0, np.sign(x) + np.cos(x) ** 2 - np.sin(x) ** 2),
    ),
}
GALLERY_POINTS = np.union1d(np.linspace(-5, 5, 41), [-1e-3, 1e-3, 0.3, 2.2])


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", GALLERY)
def test_s4_2_gallery(name, method):
    g, dg = GALLERY[name]
    with np.errstate(divide="ignore"):
        expected = dg(GALLERY_POINTS)
    r = td.derivative(g, method=method).evaluate(GALLERY_POINTS)
    np.testing.assert_array_equal(r.undefined, np.isnan(expected))  # NaN exactly where f' does not exist
    assert np.all(r.reasons[r.undefined] != "") and np.all(r.reasons[~r.undefined] == "")
    assert scaled_error(r.values, expected) <= RTOL[method]


# -- 5 - Computational efficiency -----------------------------------------------------------------

def f_polynomial_simple(x):
    return 2 * x**3 - 3 * x**2 + 5


def f_polynomial(x):
    """The lab's f_polynomial, for loop and all."""
    for _ in range(3):
        x = f_polynomial_simple(x)
    return x


def test_s5_catalog_nested_polynomial_is_the_labs():
    xs = np.linspace(-1.2, 1.6, 7)
    np.testing.assert_array_equal(nested_polynomial(xs), f_polynomial(xs))


@pytest.mark.parametrize("method", METHODS)
def test_s5_square_on_a_million_points(method):
    x_array_large = np.linspace(-5, 5, 1000000)
    got = td.derivative(f, method=method)(x_array_large)
    assert got.shape == x_array_large.shape and got.dtype == np.float64
    close(method, got, 2 * x_array_large)
    # The lab printed [-10. -9.99998 -9.99996 ... 9.99996 9.99998 10.]; np.gradient's end was -9.99999.
    printed = [-10.0, -9.99998, -9.99996, 9.99996, 9.99998, 10.0]
    np.testing.assert_allclose(got[[0, 1, 2, -3, -2, -1]], printed, rtol=0, atol=5e-6)  # printed digits


@pytest.fixture(scope="module")
def polynomial():
    fn = td.function(f_polynomial)
    assert fn.expr is not None  # the for loop is traced into one formula
    return fn


def test_s5_nested_polynomial_methods_agree(polynomial):
    xs = np.linspace(-5, 5, 1001)
    values = {m: td.derivative(polynomial, method=m)(xs) for m in METHODS}
    # Independent oracle on the same grid: the lab's own approach, SymPy diff + lambdify.
    x = sympy.symbols("x")
    lab = sympy.lambdify(x, sympy.diff(f_polynomial(x), x), "numpy")(xs)
    assert scaled_error(values["symbolic"], values["automatic"]) <= 1e-13
    for m in METHODS:
        assert scaled_error(values[m], lab) <= RTOL[m], m
        for other in METHODS:
            assert scaled_error(values[m], values[other]) <= max(RTOL[m], RTOL[other]), (m, other)


def test_s5_nested_polynomial_against_mpmath(polynomial):
    xs = np.array([-5.0, -1.3, -0.2, 0.4, 0.9, 1.25, 3.3, 5.0])
    ref = reference(polynomial, xs)
    assert np.all(np.isfinite(ref))
    for m in METHODS:
        err = scaled_error(td.derivative(polynomial, method=m)(xs), ref)
        assert err <= RTOL[m], (m, err)


@pytest.mark.parametrize("method", METHODS)
def test_s5_nested_polynomial_matches_lab_printout(polynomial, method):
    x_array_large = np.linspace(-5, 5, 1000000)
    d = td.derivative(polynomial, method=method)
    got = d(x_array_large)
    kept = got.copy()
    # The lab's printed symbolic result (9 significant digits).
    printed = [2.88570423e24, 2.88556400e24, 2.88542377e24, 1.86202587e22, 1.86213384e22, 1.86224181e22]
    np.testing.assert_allclose(got[[0, 1, 2, -3, -2, -1]], printed, rtol=1e-7)
    # A result handed out must stay what it was when another evaluation runs.
    d(x_array_large[::-1].copy())
    np.testing.assert_array_equal(got, kept)


def test_an_interrupted_lab_leaves_the_previous_report_whole(tmp_path, monkeypatch):
    # The page is written beside index.html and renamed over it when whole; interrupted, the lab
    # leaves the previous report as it was (it used to leave a 0-byte page) and no stray file.
    previous = tmp_path / "index.html"
    previous.write_text("<p>the previous report</p>", encoding="utf-8")

    def interrupted(report):
        raise KeyboardInterrupt

    monkeypatch.setattr(lab, "_PARTS", (lab._PARTS[0], (interrupted, "2 - interrupted", (1.0, 1.0))))
    with pytest.raises(KeyboardInterrupt):
        lab.run(tmp_path, quick=True, console=rich.console.Console(file=io.StringIO()))
    assert previous.read_text(encoding="utf-8") == "<p>the previous report</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]
