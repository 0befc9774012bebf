"""Every case through both tiers: NumPy (no compile) and JAX (a compiled kernel) give the same answer.

The same program runs in each (see :mod:`tridiff.compiler.runner`). NaN, the undefined points and
the reasons must be identical; values agree to rounding (the libraries' sin and exp differ in their
last bits), and numeric values within their error estimates, which is all a difference stencil
promises of either. Cases: records at their ordinary and special points, by the symbolic and
numeric methods; the catalog; kinks met exactly; f itself. The default run takes records and examples
of each kind; the ``slow`` run every record (by every scheme, to orders 1 and 2), example and kink.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from sampling import slow_except  # tests/ is on sys.path (pytest prepends it)
from test_conformance import points

import tridiff as td
from tridiff.compiler.runner import TABLE_CHUNK, settle, tier
from tridiff.definition import function as function_module
from tridiff.primitives import RECORDS
from tridiff.studies.catalog import EXAMPLES

ROUNDING = 1e-12  # relative: a few ulps, grown by a derivative formula's few dozen operations


def _both(make, xs):
    """``make()``'s evaluation of xs in each tier (one derivative: each tier runs its own program)."""
    d, results = make(), {}
    for name in ("numpy", "jax"):
        with tier(name):
            results[name] = d.evaluate(xs)
    return results["numpy"], results["jax"]


def assert_same(a, b, what: str) -> None:
    """Two DerivativeResults of one derivative from the two tiers agree."""
    np.testing.assert_array_equal(a.undefined, b.undefined, err_msg=f"{what}: undefined")
    np.testing.assert_array_equal(a.reasons, b.reasons, err_msg=f"{what}: reasons")
    if a.error_estimate is None:
        allowed = ROUNDING * np.maximum(np.abs(a.values), 1.0)
    else:
        allowed = a.error_estimate + b.error_estimate + ROUNDING * np.abs(a.values)
    defined = ~a.undefined
    gap = np.abs(a.values - b.values)[defined]
    assert np.all(gap <= allowed[defined]), f"{what}: values differ by {gap} (allowed {allowed[defined]})"
    for side in ("left", "right"):
        # finite in the same places (at a pole of Γ SciPy's ψ is -inf and JAX's NaN: neither a limit)
        u, v = getattr(a, side), getattr(b, side)
        finite = np.isfinite(u)
        np.testing.assert_array_equal(finite, np.isfinite(v), err_msg=f"{what}: {side} finite")
        if a.error_estimate is None:  # numeric one-sided values are the stencil's: bounded by the estimate
            scale = np.maximum(np.abs(u[finite]), 1.0)
            assert np.all(np.abs(u[finite] - v[finite]) <= ROUNDING * scale), f"{what}: {side} {u} vs {v}"


SCHEMES = [dict(method="symbolic"), dict(method="numeric"), dict(method="numeric", scheme="richardson"),
           dict(method="numeric", scheme="forward"), dict(method="numeric", scheme="complex-step")]


def _record_cases(record, schemes, orders):
    xs, _ = points(record)
    for options in schemes:
        for order in orders:
            if options.get("scheme") == "complex-step" and order == 2:
                continue
            try:
                td.derivative(record.usage, order=order, **options)
            except td.TridiffError:  # the complex step of a head without complex support
                continue
            a, b = _both(lambda: td.derivative(record.usage, order=order, **options), xs)
            assert_same(a, b, f"{record.usage} order {order} {options}")


#: Records of each kind: smooth, with poles, with a domain edge, of two arguments, with kinks and a jump.
RECORD_SAMPLE = {"sin", "tan", "sqrt", "atan2", "abs", "max", "heaviside"}


@pytest.mark.parametrize("record", slow_except([r for r in RECORDS if r.text], RECORD_SAMPLE, lambda r: r.name),
                         ids=lambda r: r.name)
def test_every_record_gives_the_same_answers_in_both_tiers(record):
    _record_cases(record, SCHEMES[:2], (1,))


@pytest.mark.slow
@pytest.mark.parametrize("record", [r for r in RECORDS if r.text], ids=lambda r: r.name)
def test_every_record_every_scheme_and_order_2_in_both_tiers(record):
    _record_cases(record, SCHEMES, (1, 2))


@pytest.mark.parametrize("entry", slow_except(EXAMPLES, {"composed", "nested_polynomial", "abs_plus_sincos",
                                                        "step_ramp", "asin"}, lambda e: e.name), ids=lambda e: e.name)
def test_the_catalog_gives_the_same_answers_in_both_tiers(entry):
    xs = np.unique(np.r_[np.linspace(*entry.domain, 41), entry.undefined])
    for options in SCHEMES[:2]:
        a, b = _both(lambda: td.derivative(entry.text, **options), xs)
        assert_same(a, b, f"{entry.name} {options}")


@pytest.mark.parametrize("text, x", slow_except(
    [("abs(x) + sin(x)", 0.0), ("max(x, 1 - x)", 0.5), ("sqrt(x)", 0.0), ("heaviside(x - 1)", 1.0),
     ("abs(sin(x))", np.pi), ("1/x", 0.0), ("abs(x**2 - 2)", np.sqrt(2.0)), ("cbrt(x)", 0.0)],
    {"abs(x) + sin(x)", "1/x", "abs(x**2 - 2)"}, lambda case: case[0]))
def test_kinks_poles_and_edges_are_the_same_in_both_tiers(text, x):
    xs = np.array([x - 1e-3, x, x + 1e-12, x + 1.0, np.nan, np.inf])
    for options in SCHEMES[:3]:
        a, b = _both(lambda: td.derivative(text, **options), xs)
        assert_same(a, b, f"{text} {options}")
        assert a.undefined[1] and a.reasons[1]


def test_f_itself_is_the_same_in_both_tiers():
    xs = np.linspace(-3, 3, 101)
    for text in ("exp(-2*x) + 3*sin(3*x)", "log(x)", "abs(x) + gamma(x)", "softplus(x) - expit(x)"):
        with tier("numpy"):
            a = td.function(text)(xs)
        with tier("jax"):
            b = td.function(text)(xs)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
        np.testing.assert_allclose(a, b, rtol=ROUNDING, atol=ROUNDING)


def test_a_long_batch_in_numpy_is_chunked_and_in_place():
    """NumPy evaluates a long batch in chunks (each node of the program keeps one chunk alive)."""
    d = td.derivative("abs(x) + sin(x)")
    x = np.linspace(-3, 3, 50_001)
    x[25_000] = 0.0
    with tier("numpy"):
        r = d.evaluate(x)
    np.testing.assert_allclose(r.values, np.where(x == 0, np.nan, np.sign(x) + np.cos(x)), rtol=1e-15, atol=1e-15)
    assert r.undefined.sum() == 1 and r.right[25_000] == pytest.approx(2.0)
    for array in (r.values, r.left, r.right):
        assert array.flags.writeable and array.flags.owndata or array.base is not None


def test_first_call_needs_no_compile_and_the_second_compiles_in_the_background():
    """A first call is NumPy's; the second starts the JAX kernel's compile, which serves once ready."""
    d = td.derivative("exp(-2*x) + 3*sin(3*x)")
    x = np.linspace(0, 1, 100)
    expected = -2 * np.exp(-2 * x) + 9 * np.cos(3 * x)
    np.testing.assert_allclose(d(x), expected, rtol=1e-14)
    kernel = d._fast
    assert not kernel.warm, "the first call compiled"
    np.testing.assert_allclose(d(x), expected, rtol=1e-14)
    (key, state), = kernel.warm.items()
    assert key[0] == 128 and state in ("compiling", True)
    assert settle(120), "compiles still queued after 120 s"
    assert kernel.warm[key] is True, f"no kernel: {kernel.warm}"
    np.testing.assert_allclose(d(x), expected, rtol=1e-14)


def test_a_compile_is_queued_after_the_call_that_asks_for_it(monkeypatch):
    """The call that starts a kernel's compile computes its own answer first: tracing in the
    background holds the GIL, and a NumPy call running beside it waited on it (1000 points:
    0.2 ms became 2-11 ms)."""
    d = td.derivative("exp(-x/5) + 3*sin(7*x)")  # a formula of its own: no kernel compiled by other tests
    x = np.linspace(0, 1, 300)
    d(x)
    kernel, queued = d._fast, []
    real = kernel._numpy
    monkeypatch.setattr(kernel, "_numpy", lambda batch: queued.append(dict(kernel.warm)) or real(batch))
    d(x)
    assert queued == [{}], "the compile was queued before the call's own work"
    assert kernel.warm, "the second call queued no compile"
    assert settle(120)


def test_outputs_are_owned_arrays():
    """The NumPy tier hands out arrays of the caller's own: no read-only broadcasts, no two outputs
    sharing memory (f' is its own left and right limit where f is smooth)."""
    with tier("numpy"):
        r = td.derivative("x**2").evaluate([1.0, 2.0])
        c = td.derivative("3").evaluate([1.0, 2.0])
    r.values[0] = 7.0
    assert r.left[0] == 2.0 and r.right[0] == 2.0
    assert c.values.flags.writeable and list(c.values) == [0.0, 0.0]


@pytest.mark.parametrize("make", [lambda: td.gradient("abs(x) + x*y**2 + sqrt(y)"),
                                  lambda: td.hessian("max(x, y) + exp(x*y)"),
                                  lambda: td.jacobian(["x*y", "abs(x - y)"], variables=["x", "y"]),
                                  lambda: td.derivative("x**2*y + abs(y)", wrt="y")],
                         ids=["gradient", "hessian", "jacobian", "partial"])
def test_derivatives_of_several_variables_are_the_same_in_both_tiers(make):
    pts = np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 0.0], [-1.0, 2.0], [2.0, -1.0], [np.nan, 1.0]])
    a, b = _both(make, pts)
    np.testing.assert_array_equal(a.undefined, b.undefined)
    np.testing.assert_array_equal(a.reasons, b.reasons)
    np.testing.assert_allclose(a.values, b.values, rtol=ROUNDING, atol=ROUNDING)
    assert a.undefined.any() and not a.undefined.all()


def test_a_long_batch_met_twice_compiles_its_chunks_and_its_own_length_at_once():
    """The second call of a long batch queues both the chunk kernel and the length's own: after it
    the compiled kernel of exactly that length serves (no third call in chunks)."""
    d = td.derivative("abs(x) + sin(x)*cos(x)")
    x = np.linspace(-5, 5, 200_003)  # 0 among them: the kink, in one chunk
    expected = np.where(x == 0, np.nan, np.sign(x) + np.cos(2 * x))
    for _ in range(2):
        np.testing.assert_allclose(d(x), expected, rtol=1e-12, atol=1e-12)
    assert settle(120), "compiles still queued after 120 s"
    (state,) = d._fast.exact.values()
    assert callable(state), d._fast.exact
    np.testing.assert_allclose(d(x), expected, rtol=1e-12, atol=1e-12)


def test_a_table_gets_a_kernel_of_its_length_only_where_padding_would_cost():
    """17 rows of 2 variables padded to 32 cost microseconds, less than a compile: the padded kernel
    keeps serving that length. 5 rows of 2,000 variables padded to 8 would compute 6,000 values more:
    that length, met twice, gets a kernel of its own."""
    rng = np.random.default_rng(5)
    small = td.gradient("x*sin(y)")
    pts = rng.standard_normal((17, 2))
    for _ in range(3):
        np.testing.assert_allclose(small(pts), np.stack([np.sin(pts[:, 1]), pts[:, 0] * np.cos(pts[:, 1])], -1),
                                   rtol=1e-14, atol=1e-15)
    assert settle(120), "compiles still queued after 120 s"
    assert small._kernels["rich"].exact == {}
    wide = td.gradient(lambda v: jnp.sum(jnp.sin(v) * v[::-1]), variables=2000)
    rows = rng.standard_normal((5, 2000))
    assert_own_kernel_serves(wide, rows, np.cos(rows) * rows[:, ::-1] + np.sin(rows[:, ::-1]), 1e-13)


def assert_own_kernel_serves(g, rows, expected, rtol: float) -> None:
    """g at ``rows`` is right twice (the second call queues the compile of a kernel of their length), and
    then again from that kernel."""
    for _ in range(2):
        np.testing.assert_allclose(g(rows), expected, rtol=rtol, atol=rtol / 10)
    assert settle(120), "compiles still queued after 120 s"
    (state,) = g._kernels["rich"].exact.values()
    assert callable(state), g._kernels["rich"].exact
    np.testing.assert_allclose(g(rows), expected, rtol=rtol, atol=rtol / 10)


@pytest.mark.slow  # 2 million rows, three times
def test_a_long_table_of_points_met_twice_gets_a_kernel_of_its_own(monkeypatch):
    """A table of rows longer than one chunk (a gradient at many points) gets its own kernel too; a
    program with no formula's too (its rows are never split into an aligned head: the kernel once
    failed on that empty head, and the table went through in chunks ever after)."""
    monkeypatch.setattr(function_module, "MAX_SYMBOLIC", 1)  # read as a program, not a formula
    g = td.gradient(lambda v: jnp.sum(jnp.sin(v) * v[::-1]), variables=2)
    assert g.functions[0].kind == "program"
    rows = np.random.default_rng(3).standard_normal((TABLE_CHUNK // 2 + 3, 2))
    (a, b) = rows.T
    assert_own_kernel_serves(g, rows, np.stack([np.cos(a) * b + np.sin(b), np.cos(b) * a + np.sin(a)], axis=-1),
                             1e-14)
