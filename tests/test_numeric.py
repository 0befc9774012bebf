"""Numeric differentiation: stencils, convergence orders, accuracy, honest error estimates, kinks,
the complex step, and the step study (Squire & Trapp 1998).

The reference is mpmath at 40 digits (``tridiff.methods.reference.reference``), never tridiff itself.
"""

from __future__ import annotations

import json
from fractions import Fraction as F
from functools import cache
from math import factorial

import numpy as np
import pytest
import sympy as sp

import tridiff as td
from tridiff.analysis.switches import collect_switches
from tridiff.compiler.runner import tier, x64
from tridiff.methods import numeric
from tridiff.methods.reference import reference, scaled_error
from tridiff.studies.catalog import BY_NAME, EXAMPLES
from tridiff.studies.stepstudy import SQUIRE_TRAPP, StepStudy, step_study

EPS = np.finfo(np.float64).eps


# -- Fornberg weights -------------------------------------------------------------------------
CENTRAL_FIRST = {
    2: ["-1/2", "0", "1/2"],
    4: ["1/12", "-2/3", "0", "2/3", "-1/12"],
    6: ["-1/60", "3/20", "-3/4", "0", "3/4", "-3/20", "1/60"],
    8: ["1/280", "-4/105", "1/5", "-4/5", "0", "4/5", "-1/5", "4/105", "-1/280"],
}
CENTRAL_SECOND = {
    2: ["1", "-2", "1"],
    4: ["-1/12", "4/3", "-5/2", "4/3", "-1/12"],
    6: ["1/90", "-3/20", "3/2", "-49/18", "3/2", "-3/20", "1/90"],
    8: ["-1/560", "8/315", "-1/5", "8/5", "-205/72", "8/5", "-1/5", "8/315", "-1/560"],
}
FORWARD = {  # (order, accuracy): weights on offsets 0, 1, 2, ...
    (1, 2): ["-3/2", "2", "-1/2"],
    (1, 4): ["-25/12", "4", "-3", "4/3", "-1/4"],
    (2, 2): ["2", "-5", "4", "-1"],
}


def _fr(ws):
    return tuple(F(w) for w in ws)


@pytest.mark.parametrize("order, table", [(1, CENTRAL_FIRST), (2, CENTRAL_SECOND)])
@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
def test_fornberg_central_tables(order, table, accuracy):
    st = numeric.stencil("central", order, accuracy)
    half = len(table[accuracy]) // 2
    assert st.offsets == tuple(F(j) for j in range(-half, half + 1))
    assert numeric.fornberg(st.offsets, order) == _fr(table[accuracy])
    assert st.weights == tuple(float(w) for w in _fr(table[accuracy]))


@pytest.mark.parametrize("order, accuracy", sorted(FORWARD))
def test_fornberg_forward_and_backward_tables(order, accuracy):
    fwd, bwd = numeric.stencil("forward", order, accuracy), numeric.stencil("backward", order, accuracy)
    want = _fr(FORWARD[order, accuracy])
    assert fwd.offsets == tuple(F(j) for j in range(len(want)))
    assert numeric.fornberg(fwd.offsets, order) == want
    # The backward stencil mirrors the forward one: w_{-j} = (-1)^order w_j.
    assert bwd.offsets == tuple(-j for j in reversed(fwd.offsets))
    assert numeric.fornberg(bwd.offsets, order) == tuple((-1) ** order * w for w in reversed(want))


@pytest.mark.parametrize("offsets, order, want", [
    ((F(-1, 2), F(1, 2)), 1, ["-1", "1"]),                                   # staggered, 2nd order
    ((F(-3, 2), F(-1, 2), F(1, 2), F(3, 2)), 1, ["1/24", "-9/8", "9/8", "-1/24"]),  # staggered, 4th order
    ((0, F(1, 2), 1), 1, ["-3", "4", "-1"]),                                 # forward on a half grid
    ((F(-1, 2), 0, F(1, 2)), 2, ["4", "-8", "4"]),
])
def test_fornberg_non_integer_offsets(offsets, order, want):
    assert numeric.fornberg(offsets, order) == _fr(want)


STENCILS = [(k, m, p) for k in ("central", "forward", "backward", "richardson") for m in (1, 2) for p in (2, 4, 6, 8)]


@pytest.mark.parametrize("kind, order, accuracy", STENCILS)
def test_stencils_exact_on_polynomials(kind, order, accuracy):
    # In exact rationals: Σ w_j j^k = k! δ_{k,order} for every degree k <= order + accuracy - 1, so
    # polynomials of degree <= the accuracy order (and more) are differentiated exactly...
    st = numeric.stencil(kind, order, accuracy)
    w = numeric.fornberg(st.offsets, order)
    for k in range(order + accuracy):
        moment = sum(wj * oj**k for wj, oj in zip(w, st.offsets))
        assert moment == (factorial(order) if k == order else 0), (k, moment)
    # ...and degree order + accuracy is not: the truncation error is exactly of order h^accuracy.
    k = order + accuracy
    assert sum(wj * oj**k for wj, oj in zip(w, st.offsets)) != 0


@pytest.mark.parametrize("scheme", ["central", "forward", "backward", "richardson"])
@pytest.mark.parametrize("accuracy", [2, 4, 6, 8])
def test_exact_on_polynomials_in_float(scheme, accuracy):
    # A polynomial of degree = accuracy at a large step: any truncation error would show as ~h^p.
    coeffs = np.arange(1, accuracy + 2, dtype=float)[::-1] * (-1.0) ** np.arange(accuracy + 1)
    p, dp = np.polynomial.Polynomial(coeffs), np.polynomial.Polynomial(coeffs).deriv()
    x = np.array([-0.7, 0.3, 1.25])
    est = numeric.differentiate(p, x, 1, np, scheme=scheme, accuracy=accuracy, step=0.25)
    err = np.abs(est.value - dp(x))
    assert np.all(err <= 1e-11 * np.abs(dp(x)).max()), err
    assert np.all(err <= est.error)


# -- convergence orders (findiff's test): log-log slope of error against step ------------------
FUNCTIONS = {
    "exp(x)": (np.exp, np.exp),
    "sin(x)": (np.sin, np.cos),
    "exp(6x)": (lambda x: np.exp(6 * x), lambda x: 6 * np.exp(6 * x)),
    "sin(8x)": (lambda x: np.sin(8 * x), lambda x: 8 * np.cos(8 * x)),
}
LOW = [(name, x0) for name in ("exp(x)", "sin(x)") for x0 in (0.3, 2.5)]
# Order 8 falls from 1e-4 to round-off within three halvings of h: steps < 1 reach its truncation
# range only for a function with larger high derivatives.
HIGH = [(name, x0) for name in ("exp(6x)", "sin(8x)") for x0 in (0.3, 2.5)]
CONVERGENCE = ([(s, p, c, 1e-5) for s, p in [("central", 2), ("central", 4), ("central", 6), ("forward", 2),
                                            ("forward", 4), ("backward", 2), ("backward", 4),
                                            ("richardson", 4), ("richardson", 6)] for c in LOW]
               + [(s, 8, c, 1e-4) for s in ("central", "richardson") for c in HIGH])


def convergence_slope(scheme, accuracy, name, x0, upper):
    """Slope of log(relative error) against log(h), over the steps where truncation dominates:
    the error is at least 1000× the round-off bound ``eps·Σ|w_j f(x_j)|/h`` and below ``upper``
    (beyond it higher-order terms still matter)."""
    f, df = FUNCTIONS[name]
    st = numeric.stencil(scheme, 1, accuracy)
    x = np.array([float(x0)])
    hs, errs = [], []
    for rel in 2.0 ** -np.arange(1, 40):
        value = numeric.differentiate(f, x, 1, np, scheme=scheme, accuracy=accuracy, step=rel).value[0]
        h = numeric.step_size(x, rel, np)[0]
        err = abs(value - df(x0)) / abs(df(x0))
        rounding = EPS * sum(abs(w) * abs(f(x0 + float(j) * h)) for j, w in zip(st.offsets, st.weights)) / h
        if 1e3 * rounding / abs(df(x0)) <= err <= upper:
            hs.append(h)
            errs.append(err)
    assert len(hs) >= 3, f"only {len(hs)} steps in the truncation-dominated range"
    return np.polyfit(np.log(hs), np.log(errs), 1)[0]


@pytest.mark.parametrize("scheme, accuracy, case, upper", CONVERGENCE)
def test_convergence_order(scheme, accuracy, case, upper):
    slope = convergence_slope(scheme, accuracy, *case, upper)
    assert abs(slope - accuracy) <= 0.5, f"{scheme} {accuracy} on {case}: slope {slope:.2f}"


# -- accuracy on the catalog's smooth examples, against mpmath -------------------------------
def _smooth(e) -> bool:
    if e.undefined:
        return False
    f = td.function(e.text)
    return not any(s.kind == "branch" for s in collect_switches([(f.expr,)], f.variables))


SMOOTH = [e.name for e in EXAMPLES if _smooth(e)]


@cache
def points_and_reference(name):
    """21 grid points (binary fractions: kind to rounding) and 40 random points of the domain."""
    e = BY_NAME[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    xs = np.concatenate([np.linspace(*e.domain, 21), rng.uniform(*e.domain, 40)])
    return xs, reference(e.text, xs, digits=40)


@cache
def result(name, scheme, accuracy=None):
    """The numeric derivative's result on :func:`points_and_reference`'s points (shared by the tests)."""
    xs, _ = points_and_reference(name)
    return td.derivative(BY_NAME[name].text, method="numeric", scheme=scheme, accuracy=accuracy).evaluate(xs)


def catalog_error(name, scheme, accuracy=None):
    _, ref = points_and_reference(name)
    r = result(name, scheme, accuracy)
    assert not r.undefined.any()
    return scaled_error(r.values, ref)


def test_catalog_smooth_examples():
    assert set(SMOOTH) == {"square", "cube", "cubic", "exp", "log", "sin", "cos", "composed", "nested_polynomial",
                           "gaussian", "tanh", "atan", "log1p_square"}


# Measured (61 points each, scaled error): default central ≤ 3.6e-11 (the nested polynomial),
# richardson ≤ 2.9e-12 (tanh), complex step ≤ 1.6e-15 (the nested polynomial).
@pytest.mark.parametrize("scheme, accuracy, tolerance", [
    ("central", None, 1e-8), ("richardson", 8, 1e-11), ("complex-step", None, 1e-14),
])
@pytest.mark.parametrize("name", SMOOTH)
def test_accuracy_targets(name, scheme, accuracy, tolerance):
    err = catalog_error(name, scheme, accuracy)
    assert err <= tolerance, f"{scheme} on {name}: scaled error {err:.1e} > {tolerance:.0e}"


# Central differences of accuracy 8 used to miss 1e-11 at a step of eps^(1/9)·max(|x|, 1): their
# stencil spans ±4h, and where high derivatives are large compared with f' (the degree-27 nested
# polynomial: 6.6e-7) that was too wide. The step now balances (4h)^8 against round-off.
# Measured since: all ≤ 2.3e-12 but the nested polynomial, 1.2e-11 (Richardson: ≤ 1e-11 everywhere).
@pytest.mark.parametrize("name", SMOOTH)
def test_central_accuracy_8(name):
    err = catalog_error(name, "central", 8)
    tolerance = 2e-11 if name == "nested_polynomial" else 1e-11
    assert err <= tolerance, f"central 8 on {name}: scaled error {err:.1e}"


@pytest.mark.parametrize("text, x, true", [
    ("sign(x)", 1e-17, 0.0), ("sign(x)", 1e-300, 0.0), ("sign(x)", -1e-17, 0.0),
    ("cos(abs(x))", 1e-17, -1e-17), ("cos(abs(x))", -1e-10, 1e-10), ("abs(x) + x**2", 1e-12, 1.0 + 2e-12),
])
def test_numeric_beside_a_switch_keeps_a_workable_step(text, x, true):
    # The step shrank to stay clear of the switch with no floor: at x = 1e-17 it was 1.7e-18, and the
    # rounding of the stencil's sum over it made a slope of 24 out of 0 (its estimate, 577, covered
    # that). It now shrinks 16-fold at most, and a one-sided stencil on x's side takes over.
    for method_args in ({}, {"scheme": "richardson"}, {"scheme": "forward"}):
        r = td.derivative(text, method="numeric", **method_args).evaluate(x)
        error = abs(float(r.values) - true)
        assert error <= 1e-9 and error <= float(r.error_estimate) <= 1e-7, (method_args, r)
    g = td.gradient(f"{text} + y", method="numeric").evaluate([x, 0.0])
    assert abs(float(g.values[0]) - true) <= 1e-9 and float(g.values[1]) == pytest.approx(1.0)


# -- honest error estimates ------------------------------------------------------------------
def calibration(scheme, accuracy=None):
    """Over the smooth examples, where the true error is not 0: the fraction of points where the
    estimate is at least the true error, and where it is at most 100 times it."""
    covered, tight, n = 0, 0, 0
    for name in SMOOTH:
        _, ref = points_and_reference(name)
        r = result(name, scheme, accuracy)
        true, est = np.abs(r.values - ref), r.error_estimate
        nz = true > 1e-60  # below, the error is the 40-digit reference's own: mpmath.diff gives (x³)'(0) = 1e-88
        covered += int(np.sum(est[nz] >= true[nz]))
        tight += int(np.sum(est[nz] <= 100 * true[nz]))
        n += int(nz.sum())
    return covered / n, tight / n, n


def test_error_estimate_calibration_default_central():
    # Measured: the estimate covers the true error at 99.6% of 786 points, within 100x at 88.5% (93.4%
    # before it bounded the rounding of f's own arguments: for exp(-x²), of x² at each stencil point,
    # a worst case some 30 times what the rounding typically does).
    covered, tight, n = calibration("central")
    assert n > 700
    assert covered >= 0.99, f"estimate >= true error at only {covered:.1%} of {n} points"
    assert tight >= 0.85, f"estimate within 100x of the true error at only {tight:.1%} of {n} points"


def test_error_estimate_central_accuracy_8():
    # The criterion is for the default scheme; at accuracy 8 the estimate is as safe but a
    # little looser (measured: 99.6% covered, 89% within 100x), since round-off dominates more.
    covered, tight, _ = calibration("central", 8)
    assert covered >= 0.99 and tight >= 0.85, (covered, tight)


def test_error_estimate_richardson_covers():
    # Richardson's estimate (the gap to the tableau's previous level) is safe: it covers the true
    # error at 99.9% of the points...
    covered, _, _ = calibration("richardson", 8)
    assert covered >= 0.99


@pytest.mark.xfail(strict=True, reason="richardson's estimate is within 100x at ~73% of points (median ~30x)")
def test_error_estimate_richardson_tight():
    # ...but pessimistic: the previous level's gap bounds the error of that level, not of the last.
    _, tight, _ = calibration("richardson", 8)
    assert tight >= 0.90


def test_error_estimate_complex_step_covers():
    # 16·eps·|f'|: f itself is off by a few ulps, which 4·eps·|f'| missed at 7% of the points.
    covered, _, _ = calibration("complex-step")
    assert covered >= 0.99


# -- kinks: NaN, a reason, and an estimate that is NaN, never 0 --------------------------------
# A kink of each kind: |x|, max, a kink away from 0 (sin(π) is 1.2e-16), a vertical tangent, the
# endpoint of a domain. (test_kinks.py covers many more with the default scheme.)
KINKS = [("abs(x)", 0.0), ("max(x, 0)", 0.0), ("abs(sin(x))", np.pi), ("cbrt(x)", 0.0), ("sqrt(x)", 0.0)]
SCHEMES = ["central", "forward", "backward", "richardson", "complex-step"]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_kinks_every_scheme(scheme):
    for text, x0 in KINKS:
        r = td.derivative(text, method="numeric", scheme=scheme).evaluate([x0 - 0.5, x0, x0 + 0.5])
        assert r.undefined[1] and np.isnan(r.values[1]), (text, scheme, r.values)
        assert r.reasons[1], (text, scheme)
        assert np.isnan(r.error_estimate[1]), (text, scheme, r.error_estimate)
        for i in (0, 2):  # beside the kink: defined (or outside the domain) with a finite estimate
            assert r.undefined[i] or (np.isfinite(r.values[i]) and r.error_estimate[i] >= 0), (text, scheme, i)


def _abs_branching(x):
    if x > 0:
        return x
    return -x


def _relu_branching(x):
    return x if x > 0 else 0.0


@pytest.mark.parametrize("scheme", ["central", "forward", "backward", "richardson"])
@pytest.mark.parametrize("fn, beside", [(_abs_branching, (-1.0, 1.0)), (_relu_branching, (0.0, 1.0))])
def test_kinks_of_opaque_callables(scheme, fn, beside):
    # No formula: the kink shows as one-sided differences that disagree. A forward stencil that
    # reaches across it (at 1e-9 the backward one does) must not pass unnoticed.
    d = td.derivative(fn, method="numeric", scheme=scheme)
    assert d.function.expr is None
    r = d.evaluate([-0.3, 0.0, 1e-9, 0.3])
    assert r.undefined[1] and r.reasons[1] and np.isnan(r.error_estimate[1])
    assert list(r.values[[0, 2, 3]]) == pytest.approx([beside[0], beside[1], beside[1]], abs=1e-9)


@pytest.mark.parametrize("scheme", ["forward", "backward"])
def test_one_sided_user_step_does_not_straddle_a_kink(scheme):
    # A forward stencil from -0.05 with step 0.1 reaches past 0: it is replaced by the backward one.
    r = td.derivative("abs(x)", method="numeric", scheme=scheme, step=0.1).evaluate([-0.05, 0.05])
    assert list(r.values) == pytest.approx([-1.0, 1.0], abs=1e-12)


# -- the complex step --------------------------------------------------------------------------
def test_complex_step_refuses_callables_without_formula():
    with pytest.raises(td.MethodUnavailableError, match="formula"):
        td.derivative(_abs_branching, method="numeric", scheme="complex-step")


def test_complex_step_refuses_order_2():
    with pytest.raises(td.TridiffError, match="first derivatives"):
        td.derivative("sin(x)", method="numeric", scheme="complex-step", order=2)


def test_complex_step_refuses_functions_without_complex_implementation():
    with pytest.raises(td.MethodUnavailableError, match="erf"):
        td.derivative(sp.erf(sp.Symbol("x")), method="numeric", scheme="complex-step")


@pytest.mark.parametrize("text, xs, want", [
    ("abs(x)", [0.3, -0.3, 1e-300, -2.5], [1.0, -1.0, 1.0, -1.0]),
    ("max(x, 0)", [-0.2, 0.2, -1e-300], [0.0, 1.0, 0.0]),
])
def test_complex_step_exact_beside_kinks(text, xs, want):
    r = td.derivative(text, method="numeric", scheme="complex-step").evaluate(xs)
    assert list(r.values) == want  # exactly: no stencil reaches across the kink


def test_complex_step_squire_trapp():
    x0 = 1.5
    value = td.derivative(SQUIRE_TRAPP, method="numeric", scheme="complex-step")(x0)
    ref = reference(SQUIRE_TRAPP, [x0], digits=40)[0]
    assert abs(value - ref) <= 1e-14 * abs(ref)
    assert abs(ref - 4.05342789389862) < 1e-13  # Squire & Trapp's value


# -- step study ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def squire_trapp():
    # Squire & Trapp's own steps, h = 10^-1 ... 10^-16.
    return step_study(SQUIRE_TRAPP, 1.5, steps=10.0 ** -np.arange(1, 17),
                      schemes=(("central", 2), ("complex-step", None)))


def test_step_study_reproduces_squire_trapp(squire_trapp):
    s = squire_trapp
    steps, central, complex_ = s.steps, s.errors["central 2"], s.errors["complex-step"]
    assert s.relative and abs(s.reference - 4.05342789389862) < 1e-13
    # The complex step reaches machine precision once h <= 1e-8 and stays there.
    assert np.all(complex_[steps <= 1e-8] <= 1e-14)
    # Central differences bottom out near 1e-10 (measured: 5.7e-11 at h = 1e-6)...
    best_step, best = s.best()["central 2"]
    assert 1e-11 <= best <= 1e-9 and 1e-7 <= best_step <= 1e-5
    # ...on a V: truncation to the right of the bottom, round-off to the left.
    at = {k: central[np.argmin(np.abs(np.log(steps / 10.0**-k)))] for k in (2, 14)}
    assert at[2] > 1e4 * best and at[14] > 1e4 * best, at
    assert np.all(np.diff(central[: np.argmin(central)]) < 0)  # truncation arm: falls steadily


@pytest.mark.slow  # its kernels compile for 6 s; test_step_study_default_step_is_the_one_taken checks the same
def test_step_study_values_are_the_librarys(squire_trapp):
    s = squire_trapp
    with tier("jax"):  # the study traces the step into JAX: the same kernel, bit for bit
        _check_step_study_values(s)


def _check_step_study_values(s):
    for scheme, accuracy, label in (("central", 2, "central 2"), ("complex-step", None, "complex-step")):
        options = dict(method="numeric", scheme=scheme, accuracy=accuracy)
        for i in (3, 11):
            r = td.derivative(SQUIRE_TRAPP, **options, step=float(s.steps[i])).evaluate(1.5)
            assert r.values == s.values[label][i]
            assert r.error_estimate / abs(s.reference) == s.error_estimates[label][i]
        # the study's value at the default step is evaluate's by the JAX kernel (d(x)'s leaner one,
        # compiled apart, and the NumPy tier may round differently: a central difference magnifies
        # an ulp of f by 1/h)
        assert td.derivative(SQUIRE_TRAPP, **options).evaluate(1.5).values == s.default_values[label]


def test_step_study_default_schemes_result():
    s = step_study("exp(-2*x) + 3*sin(3*x)", 0.7)
    assert isinstance(s, StepStudy)
    assert s.labels == ("central 2", "central 4", "central 8", "richardson 8", "complex-step")
    assert s.steps.min() < 1e-15 and s.steps.max() < 1
    best = s.best()
    # Higher orders reach further down; the complex step furthest.
    assert best["central 2"][1] > best["central 4"][1] > best["central 8"][1]
    assert best["complex-step"][1] <= 1e-15
    assert best["richardson 8"][1] <= 1e-13
    for label in s.labels:  # the default step lands near the bottom of each V
        assert s.default_errors[label] <= 100 * max(best[label][1], EPS), label
    d = s.to_dict()
    json.dumps(d)
    assert d["schemes"]["central 4"]["best_error"] == best["central 4"][1]
    fig = s.plot(estimates=True)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= set(s.labels) | {"default step"}
    assert "central 8" in str(s)


def test_step_study_default_step_is_the_one_taken():
    # Central 4 and 8 reach ±2h and ±4h, so their default step is smaller than base_step; the
    # study once reported base_step, marking the default a power of two or two off.
    f, x0 = "exp(-2*x) + 3*sin(3*x)", 0.7
    s = step_study(f, x0, steps=[0.1], schemes=(("central", 2), ("central", 4), ("central", 8), ("richardson", 8)))
    for label in s.labels:
        scheme, accuracy = label.split()
        d = td.derivative(f, method="numeric", scheme=scheme, accuracy=int(accuracy), step=s.default_steps[label])
        with tier("jax"):  # the study's kernel (the NumPy tier may round the last bits differently)
            assert d.evaluate(x0).values == s.default_values[label], label


def test_step_study_validates():
    with pytest.raises(td.TridiffError, match="steps"):
        step_study("sin(x)", 1.0, steps=[0.1, 1.5])
    with pytest.raises(td.TridiffError, match="x0"):
        step_study("sin(x)", float("nan"))
    with pytest.raises(td.MethodUnavailableError, match="formula"):
        step_study(_abs_branching, 1.0)


def test_step_study_order_2_and_kink():
    s = step_study("sin(x)", 0.5, order=2, steps=[1e-2, 1e-4], schemes=(("central", 2),))
    assert s.labels == ("central 2",) and s.errors["central 2"][0] < 1e-3
    k = step_study("abs(x)", 0.0, steps=[1e-3], schemes=(("central", 2),))
    assert np.isnan(k.values["central 2"]).all() and "kink" in k.reason


# -- large |x|, tiny x, overflow: right, NaN with a reason, or covered by the estimate ----------
def _honest(r, ref):
    """Each value is NaN with a reason, or its error estimate covers its true error."""
    undefined = np.isnan(r.values)
    assert all(reason for reason in np.atleast_1d(r.reasons)[np.atleast_1d(undefined)])
    ok = ~undefined
    assert np.all(np.abs(r.values[ok] - ref[ok]) <= r.error_estimate[ok]), (r.values, ref, r.error_estimate)
    return ok


@pytest.mark.parametrize("scheme", ["central", "richardson", "forward", "complex-step"])
@pytest.mark.parametrize("text", ["sin(x)", "cos(3*x) + x", "exp(sin(x))", "2**sin(x)", "tanh(x - 1e6)"])
def test_large_x_gives_the_value_or_a_reason_never_a_confident_wrong_number(text, scheme):
    # sin at 1e4 once took a step of 4 (relative to |x|): 0.279 for cos(1e4) = -0.952, estimate 0.059
    xs = np.array([1e4, -3e5, 1e6, 1e9, 1e12, 1e15, 1e100, 1e308])
    r = td.derivative(text, method="numeric", scheme=scheme).evaluate(xs)
    ok = _honest(r, reference(text, xs, digits=400))  # mpmath needs digits to resolve x + h at 1e308
    assert ok[:3].all()  # where float64 resolves f's scale of variation, the value itself
    assert np.isnan(r.values[xs > 1e20]).all() or scheme == "complex-step"


@pytest.mark.parametrize("scheme", ["central", "richardson", "forward"])
@pytest.mark.parametrize("text", ["sin(100000000*x) + x", "exp(sin(x + 1))", "cos(3*x)", "sin(x/3)"])
def test_the_estimate_covers_the_rounding_of_fs_own_arguments(text, scheme):
    # sin(1e8·x) at 3: the program rounds 1e8·(x + jh) by ~eps·3e8, which a step of 1e-11 magnified to
    # an error of 9581 under an estimate of 1308
    xs = np.array([3.0, 0.1, 7.5, 1e6, 1e10])
    r = td.derivative(text, method="numeric", scheme=scheme).evaluate(xs)
    ok = _honest(r, reference(text, xs, digits=60))
    assert ok[:3].all()


def test_the_step_follows_the_scale_on_which_f_varies():
    x = np.array([1e4])
    for text, scale in (("sin(x)", 1.0), ("sin(100*x)", 0.01), ("exp(x/1000)", 1000.0), ("x**3", 1e4)):
        d = td.derivative(text, method="numeric")
        with x64():
            h = float(d._step_program(x)[0])
        assert numeric.default_step("central", 1, 4, EPS) * scale / 2 <= h <= numeric.default_step(
            "central", 1, 4, EPS) * scale, text


def test_too_coarse_has_its_own_reason():
    r = td.derivative("sin(x)", method="numeric").evaluate(1e300)
    assert np.isnan(r.values) and "finer scale than the smallest step" in r.reasons


@pytest.mark.parametrize("x", [1e-300, 1e-250, 1e-200, 1e-160, 1e-100, 1e-20, 1.0, 1e200])
def test_complex_step_at_tiny_and_huge_x(x):
    # log at 1e-300 once gave 1.05e174: the step's floor √tiny was far larger than x
    r = td.derivative("log(x)", method="numeric", scheme="complex-step").evaluate(x)
    assert r.values == pytest.approx(1 / x, rel=1e-12) and r.error_estimate <= 1e-12 / x


def test_complex_step_too_near_a_singularity_says_so():
    r = td.derivative("log(x)", method="numeric", scheme="complex-step").evaluate(1e-306)
    assert np.isnan(r.values) and "finer scale" in r.reasons


def test_complex_step_agrees_with_the_other_methods_where_an_intermediate_overflows():
    # log1p(exp(800)): exp overflows; the complex step gave 9.8e16 while every other method gave NaN
    text = "log1p(exp(x))"
    results = [td.derivative(text, method=m).evaluate(800.0) for m in ("symbolic", "automatic", "numeric")]
    results.append(td.derivative(text, method="numeric", scheme="complex-step").evaluate(800.0))
    assert all(np.isnan(r.values) and r.reasons for r in results)
    # and where it does not overflow, all agree with mpmath
    ref = reference(text, np.array([30.0]))[0]
    for m, scheme in (("symbolic", None), ("automatic", None), ("numeric", None), ("numeric", "complex-step")):
        assert td.derivative(text, method=m, scheme=scheme)(30.0) == pytest.approx(ref, rel=1e-9)


def test_complex_step_estimate_covers_its_truncation():
    # f'(-1) = 0 for the nested polynomial, where Im f(x + ih)/h is h²f'''/6 = -4e-35: the estimate
    # once was 16 eps |value| alone
    text = BY_NAME["nested_polynomial"].text
    r = td.derivative(text, method="numeric", scheme="complex-step").evaluate(-1.0)
    assert abs(r.values - reference(text, np.array([-1.0]))[0]) <= r.error_estimate
