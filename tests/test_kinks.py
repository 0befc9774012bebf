"""NaN exactly where f' does not exist, for every method; right values right beside it.

Expected values are derived by hand (written below in NumPy next to each case), never taken from
tridiff itself.
"""

from __future__ import annotations

import time

import mpmath
import numpy as np
import pytest

import tridiff as td
from tridiff.reasons import DOMAIN_ENDPOINT, JUMP, KINK, OUTSIDE_DOMAIN, REASONS

METHODS = ("symbolic", "automatic", "numeric")
RTOL = {"symbolic": 1e-13, "automatic": 1e-13, "numeric": 1e-8}
PI = np.pi


def assert_values(method, got, expected):
    np.testing.assert_allclose(got, expected, rtol=RTOL[method], atol=RTOL[method], equal_nan=True)


def assert_reasons_match(r):
    """Reasons are a non-empty string exactly where the derivative is undefined."""
    assert r.undefined.dtype == bool and r.undefined.shape == r.values.shape
    np.testing.assert_array_equal(r.undefined, np.isnan(r.values))
    assert all(isinstance(s, str) and s for s in r.reasons[r.undefined])
    assert all(s == "" for s in r.reasons[~r.undefined])


# (f, points, f' there by hand with NaN where it does not exist)
CASES = {
    "abs_at_0": ("abs(x)", [-2.0, 0.0, 0.5], [-1.0, np.nan, 1.0]),
    "relu_at_0": ("max(x, 0)", [-2.0, 0.0, 0.5], [0.0, np.nan, 1.0]),
    "sqrt_endpoint_and_outside": (
        "sqrt(x)", [-4.0, -1e-9, 0.0, 0.25, 4.0], [np.nan, np.nan, np.nan, 1.0, 0.25],
    ),
    "abs_sin_at_multiples_of_pi": (
        "abs(sin(x))",
        [k * PI for k in (-3, -2, -1, 0, 1, 2, 3)] + [1.0, -2.0, 4.0],
        [np.nan] * 7 + [np.cos(1.0), -np.cos(2.0), -np.cos(4.0)],  # sign(sin x) * cos x
    ),
    "reciprocal_pole": ("1/x", [-2.0, 0.0, 0.5], [-0.25, np.nan, -4.0]),
    "log_outside_domain": ("log(x)", [-1.0, 0.0, 2.0], [np.nan, np.nan, 0.5]),
    "cbrt_vertical_tangent": ("cbrt(x)", [-8.0, 0.0, 8.0, 1e-6], [1 / 12, np.nan, 1 / 12, 1e4 / 3]),
    "python_abs": (lambda x: abs(x), [-2.0, 0.0, 0.5], [-1.0, np.nan, 1.0]),
    "np_maximum": (lambda x: np.maximum(x, 0), [-2.0, 0.0, 0.5], [0.0, np.nan, 1.0]),
    "np_sqrt": (np.sqrt, [-1.0, 0.0, 4.0], [np.nan, np.nan, 0.25]),
    "np_abs_sin": (lambda x: np.abs(np.sin(x)), [-PI, PI, 2 * PI, 1.0], [np.nan] * 3 + [np.cos(1.0)]),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", CASES)
def test_nan_exactly_where_derivative_does_not_exist(case, method):
    f, xs, expected = CASES[case]
    r = td.derivative(f, method=method).evaluate(np.array(xs))
    np.testing.assert_array_equal(r.undefined, np.isnan(expected))
    assert_values(method, r.values, expected)
    assert_reasons_match(r)
    # d(xs) says the same as d.evaluate(xs).values
    assert_values(method, td.derivative(f, method=method)(np.array(xs)), expected)


@pytest.mark.parametrize("method", METHODS)
def test_kinks_of_abs_sin_at_floating_multiples_of_pi(method):
    # 1000*pi, pi rounded up by one ulp: still π as far as float64 can tell.
    xs = np.array([1000 * PI, np.nextafter(PI, 4.0), np.nextafter(-PI, -4.0), 7 * PI])
    r = td.derivative("abs(sin(x))", method=method).evaluate(xs)
    assert r.undefined.all(), r.values


# -- traps: kinks where the derivative nevertheless exists ---------------------------------------

TRAPS = {
    "x_abs_x": ("x*abs(x)", lambda x: 2 * np.abs(x)),
    "abs_cubed": ("abs(x)**3", lambda x: 3 * x * np.abs(x)),
    "np_x_abs_x": (lambda x: x * np.abs(x), lambda x: 2 * np.abs(x)),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("trap", TRAPS)
def test_differentiable_traps_are_real_at_zero(trap, method):
    f, df = TRAPS[trap]
    xs = np.array([-1.5, -1e-7, 0.0, 1e-7, 2.0])
    r = td.derivative(f, method=method).evaluate(xs)
    assert not r.undefined.any()
    assert all(s == "" for s in r.reasons)
    np.testing.assert_allclose(r.values, df(xs), rtol=RTOL[method], atol=RTOL[method])
    assert r.values[2] == pytest.approx(0.0, abs=RTOL[method])


@pytest.mark.parametrize("method", METHODS)
def test_second_derivative_of_x_abs_x(method):
    xs = np.array([-1.0, 0.0, 1.0])
    first = td.derivative("x*abs(x)", method=method, order=1)(xs)
    second = td.derivative("x*abs(x)", method=method, order=2).evaluate(xs)
    assert first[1] == pytest.approx(0.0, abs=RTOL[method])
    np.testing.assert_array_equal(second.undefined, [False, True, False])
    np.testing.assert_allclose(second.values[[0, 2]], [-2.0, 2.0], rtol=1e-6)  # numeric f'' at 1e-6
    assert second.reasons[1]


# -- jumps ------------------------------------------------------------------------------------------

JUMPS = {
    "sign": "sign(x)",
    "where": "where(x > 0, 1, 0)",
    "np_sign": np.sign,
    "np_where": lambda x: np.where(x > 0, 1.0, 0.0),
}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jump", JUMPS)
def test_jump_is_nan_with_reason_jump(jump, method):
    r = td.derivative(JUMPS[jump], method=method).evaluate(np.array([-1.0, 0.0, 1e-3, 2.0]))
    np.testing.assert_array_equal(r.undefined, [False, True, False, False])
    assert "jump" in r.reasons[1]
    np.testing.assert_allclose(r.values[~r.undefined], 0.0, atol=1e-8)


# -- numeric right beside a kink is one-sided, not an average --------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_beside_the_kink_of_abs(method):
    xs = np.array([-1e-3, -1e-6, 1e-6, 1e-3, -1e-12, 1e-12])
    got = td.derivative("abs(x)", method=method)(xs)
    np.testing.assert_allclose(got, np.sign(xs), rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", METHODS)
def test_beside_the_kinks_of_abs_sin(method):
    xs = np.array([PI + 1e-9, PI - 1e-9, -PI + 1e-9, -PI - 1e-9, 1e-9, -1e-9])
    expected = np.sign(np.sin(xs)) * np.cos(xs)  # ±1 up to 1e-18: well away from an average of 0
    got = td.derivative("abs(sin(x))", method=method)(xs)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)


def abs_branching(x):
    """|x| with if/else: no formula, so only numeric applies, and it cannot see the kink's place."""
    if x > 0:
        return x
    return -x


def test_branching_callable_beside_its_kink():
    xs = np.array([-1e-3, -1e-6, 1e-6, 1e-3, -0.5, 0.5])
    r = td.derivative(abs_branching, method="numeric").evaluate(xs)
    # Either the right one-sided value, or NaN with a reason: never a blend of the two sides.
    ok = ~r.undefined
    np.testing.assert_allclose(r.values[ok], np.sign(xs[ok]), rtol=0, atol=1e-8)
    assert ok[[0, 3, 4, 5]].all()  # 1e-3 from the kink is resolvable with a 1000x smaller step


def test_branching_callable_at_its_kink():
    r = td.derivative(abs_branching, method="numeric").evaluate(np.array([0.0]))
    assert r.undefined[0] and r.reasons[0]


# -- evaluate(): the rich result ------------------------------------------------------------------

@pytest.mark.parametrize("method", METHODS)
def test_evaluate_left_right_at_kinks(method):
    r = td.derivative("abs(x)", method=method).evaluate(np.array([-2.0, 0.0, 3.0]))
    assert (r.left[1], r.right[1]) == (-1.0, 1.0)
    np.testing.assert_array_equal(r.left[[0, 2]], [-1.0, 1.0])  # equal to values where smooth
    np.testing.assert_array_equal(r.right[[0, 2]], [-1.0, 1.0])

    r = td.derivative("max(x, 0)", method=method).evaluate(0.0)
    assert (float(r.left), float(r.right)) == (0.0, 1.0)

    r = td.derivative("abs(sin(x))", method=method).evaluate(np.array([PI, -PI, 0.0]))
    # Left of π sin decreases to 0 from above: cos(π) = -1; right of it |sin| = -sin: +1.
    np.testing.assert_allclose(r.left, [-1.0, -1.0, -1.0], atol=1e-12)
    np.testing.assert_allclose(r.right, [1.0, 1.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_evaluate_keeps_shape(method):
    xs = np.array([[-1.0, 0.0, 1.0], [0.0, 2.0, -3.0]])
    r = td.derivative("abs(x)", method=method).evaluate(xs)
    for field in (r.values, r.undefined, r.reasons, r.left, r.right):
        assert field.shape == xs.shape
    np.testing.assert_array_equal(r.undefined, xs == 0)
    assert_reasons_match(r)


def test_evaluate_error_estimate_numeric_only():
    xs = np.array([-1.0, 0.0, 1.0])
    num = td.derivative("abs(x) + x**3", method="numeric").evaluate(xs)
    assert num.error_estimate is not None and num.error_estimate.shape == xs.shape
    assert np.isnan(num.error_estimate[1]) and np.all(num.error_estimate[[0, 2]] >= 0)
    # An estimate, not a bound: of the size of the actual error (measured: 1.2e-14 vs 9e-15 at -1,
    # 3e-13 vs 1.8e-12 at 1), so within a factor 10 of it, and far below the default 1e-8 target.
    actual = np.abs(num.values[[0, 2]] - [2.0, 4.0])
    assert np.all(actual <= 10 * num.error_estimate[[0, 2]] + 1e-15)
    assert np.all(num.error_estimate[[0, 2]] <= 1e-9)
    assert td.derivative("abs(x)", method="symbolic").evaluate(xs).error_estimate is None


# -- td.kinks ---------------------------------------------------------------------------------------

def test_kinks_of_abs_sin():
    found = td.kinks("abs(sin(x))", (-5, 5))
    np.testing.assert_allclose([k.x for k in found], [-PI, 0.0, PI], atol=1e-12)
    for k in found:
        assert (k.left, k.right) == pytest.approx((-1.0, 1.0), abs=1e-12)
        assert k.reason


def test_kinks_of_smooth_trap_is_empty():
    assert td.kinks("x*abs(x)", (-1, 1)) == ()
    assert td.kinks("abs(x)**3", (-1, 1)) == ()


def test_kinks_include_domain_edge_and_pole():
    xs = [k.x for k in td.kinks("1/x + sqrt(x+3)", (-5, 5))]
    assert any(abs(x + 3) < 1e-12 for x in xs)
    assert any(abs(x) < 1e-12 for x in xs)


def test_kinks_of_relu_and_a_callable():
    (k,) = td.kinks("max(x, 0)", (-2, 2))
    assert (k.x, k.left, k.right) == (0.0, 0.0, 1.0)
    found = td.kinks(lambda x: np.abs(x - 1) + np.abs(x + 1), (-5, 5))
    assert [k.x for k in found] == pytest.approx([-1.0, 1.0])
    assert [(k.left, k.right) for k in found] == [(-2.0, 0.0), (0.0, 2.0)]


def test_kinks_outside_the_interval_are_not_listed():
    assert td.kinks("abs(x - 3)", (-1, 1)) == ()


@pytest.mark.parametrize("bad", [(1, 0), (0, 0), (0, np.inf), (np.nan, 1), "ab", (1,), (1, 2, 3), None, 5])
def test_kinks_bad_interval(bad):
    with pytest.raises(td.TridiffError):
        td.kinks("abs(x)", bad)


@pytest.mark.parametrize("text", ["abs(x**1e-300 - 0.5)", "sign(x**1e-300 - 0.5)"])
def test_kinks_need_no_symbolic_solve(text):
    # SymPy's solveset ran for ever on x**1e-300 - 1/2; zeros of u are now found by bisection
    start = time.perf_counter()
    (k,) = td.kinks(text, (-5, 5))
    assert time.perf_counter() - start < 30  # was a hang; well under a second on a quiet machine
    assert k.x == 0.0 and k.reason == REASONS[DOMAIN_ENDPOINT]


@pytest.mark.parametrize("interval", [(-1e5, 1e5), (0, 1e17), (-1e308, 1e308)])
def test_kinks_refuse_an_interval_the_grid_cannot_resolve(interval):
    # tan on ±1e5 took 98 s and listed 338 of its 63,662 poles; on (0, 1e17) it ran out of memory
    start = time.perf_counter()
    with pytest.raises(td.TridiffError, match="narrow the interval or pass a larger samples="):
        td.kinks("tan(x)", interval)
    assert time.perf_counter() - start < 30


def test_kinks_on_a_fine_enough_grid_are_all_found():
    found = td.kinks("abs(sin(x))", (-1e4, 1e4), samples=40001)
    assert len(found) == 2 * int(1e4 / PI) + 1
    np.testing.assert_allclose([k.x / PI for k in found], np.arange(-3183, 3184), rtol=0, atol=1e-9)


def test_kinks_of_low_degree_polynomial_switches_are_exact_even_where_u_only_touches_zero():
    found = td.kinks("abs(x**2 - 2) + sign((x - 0.3)**2) + abs(x*sin(x))", (-4, 4))
    assert [k.x for k in found] == [-PI, -np.sqrt(2), 0.3, np.sqrt(2), PI]
    assert found[2].reason == REASONS[JUMP]


def test_a_sign_change_through_a_pole_is_no_zero():
    found = td.kinks("abs(1/x - 1)", (-5, 5))
    assert [(k.x, k.reason) for k in found] == [(0.0, REASONS[OUTSIDE_DOMAIN]), (1.0, REASONS[KINK])]


def test_kinks_of_functions_sympy_cannot_prove_real():
    """|ψ(x)| kinks where ψ vanishes, with one-sided derivatives ∓ψ'(x0): checked against mpmath
    (it was "cannot compile re"); |log x| at 1 is a kink with derivatives ∓1 (was 0/0, NaN)."""
    found = td.kinks("abs(psi(x))", (-3.5, 3))
    zeros = [k for k in found if k.reason == REASONS[KINK]]
    roots = [mpmath.findroot(mpmath.digamma, x0) for x0 in (-2.6, -1.6, -0.5, 1.46)]
    np.testing.assert_allclose([k.x for k in zeros], [float(r) for r in roots], rtol=1e-14)
    for k, r in zip(zeros, roots):
        slope = abs(float(mpmath.psi(1, r)))
        assert (abs(k.left), abs(k.right)) == pytest.approx((slope, slope), rel=1e-12)
        assert k.left * k.right < 0
    assert [k.x for k in found if k.reason == REASONS[OUTSIDE_DOMAIN]] == [-3.0, -2.0, -1.0, 0.0]
    (k,) = td.kinks("abs(log(x))", (0.1, 5))
    assert (k.x, k.left, k.right, k.reason) == (1.0, -1.0, 1.0, REASONS[KINK])
