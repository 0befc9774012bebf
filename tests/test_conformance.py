"""The conformance suite, generated from the records of :mod:`tridiff.primitives`.

Every function tridiff knows, in every spelling it has (text, NumPy or SciPy, jax.numpy), through
every method (symbolic, automatic, numeric, and the complex step where the record supports it), to
orders 1 and 2, at ordinary points of its domain and at its special points (switches, domain
edges, poles, overflow edges), against mpmath at 40 digits; NaN with the record's reason where the
derivative does not exist. A new record brings its own tests: nothing here names a function.

The default run checks the text spelling's first derivative through every method, and that each
NumPy and jax.numpy spelling reads as the same formula (then every method computes the same thing);
the ``slow`` run adds second derivatives and repeats the whole matrix for every spelling.
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import mpmath
import numpy as np
import pytest
import scipy.special
import sympy as sp
from sampling import slow_except  # tests/ is on sys.path (pytest prepends it)

import tridiff as td
from tridiff.compiler.runner import tier as td_tier
from tridiff.methods.reference import reference
from tridiff.primitives import RECORDS, Primitive
from tridiff.reasons import REASONS

TEXT_RECORDS = [r for r in RECORDS if r.text]
ORDINARY = (0.11, 0.37, 0.62, 0.89)  # where in the record's domain the ordinary points lie
TOLERANCE = {"symbolic": 1e-13, "automatic": 1e-13, "complex-step": 1e-13, "numeric": 1e-8}
FLOOR = 1e-30  # absolute errors below this are the reference's own noise (mpmath.diff at 40 digits), not errors


def points(record: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """The record's ordinary and special points, and the reason code expected at each (0: f' exists)."""
    a, b = record.domain
    xs = [a + (b - a) * t for t in ORDINARY] + [s.x for s in record.special]
    codes = [0] * len(ORDINARY) + [s.reason or 0 for s in record.special]
    return np.array(xs), np.array(codes)


def _spelled(module_fn, usage: str, name: str):
    """The record's one-variable use with its outermost function spelled by ``module_fn``."""
    body = usage.replace(f"{name}(", "F(", 1)
    return eval(f"lambda x: {body}", {"F": module_fn})  # our own example text, not user input


def spellings(record: Primitive) -> dict[str, object]:
    """The callables of the record: its NumPy / SciPy spellings and its jax.numpy ones."""
    found = {}
    for name in record.numpy:
        for module, label in ((np, "np"), (scipy.special, "scipy.special")):
            fn = getattr(module, name, None)
            if isinstance(fn, np.ufunc) or (fn is not None and module is np):
                found[f"{label}.{name}"] = _spelled(fn, record.usage, record.name)
                break
    # jax.numpy and jax.scipy mirror NumPy's and SciPy's names; a function they lack (softplus) is
    # looked up by the record's own names, jax.nn first (jnp.max is a reduction, not max(a, b))
    modules = ((jnp, "jnp"), (jsp, "jax.scipy.special"))
    jax_names = [(name, modules) for name in record.numpy if any(hasattr(m, name) for m, _ in modules)]
    if not jax_names:
        names = dict.fromkeys((record.name, *record.aliases, *record.jax))
        jax_names = [(name, ((jax.nn, "jax.nn"), *modules)) for name in names]
    for name, where in jax_names:
        for module, label in where:
            fn = getattr(module, name, None)
            if callable(fn):
                found[f"{label}.{name}"] = _spelled(fn, record.usage, record.name)
                break
    return found


def methods_of(f: td.Function) -> list[tuple[str, dict]]:
    """Every method, and the complex step where every head of f supports it."""
    out = [(m, {"method": m}) for m in td.METHODS]
    try:
        td.derivative(f, method="numeric", scheme="complex-step")
        out.append(("complex-step", {"method": "numeric", "scheme": "complex-step"}))
    except td.MethodUnavailableError:
        pass
    return out


def check_conformance(record: Primitive, f: td.Function, orders=(1, 2)) -> None:
    xs, codes = points(record)
    ordinary = codes == 0
    for order in orders:
        ref = reference(f, xs, order)
        ref[codes != 0] = np.nan
        # Errors are relative to |f^(n)| + 1% of its size over the ordinary points, so that a zero
        # of f^(n) is not read as a large relative error; special points must be right relative
        # to their own value (expit'(40) = 4e-18 is not 0).
        scale = 0.01 * np.nanmax(np.abs(ref[: len(ORDINARY)]))
        for label, options in methods_of(f):
            if label == "complex-step" and order > 1:
                continue
            r = td.derivative(f, order=order, **options).evaluate(xs)
            where = f"{f} {label} order {order}"
            np.testing.assert_array_equal(r.undefined, codes != 0, err_msg=f"{where}: undefined at {xs[r.undefined]}")
            expected = np.array([REASONS[c] for c in codes], dtype=object)
            assert list(r.reasons) == list(expected), f"{where}: reasons {list(r.reasons)}"
            defined = codes == 0
            assert np.all(np.isfinite(r.values[defined])), f"{where}: not finite at {xs[defined]}"
            error = np.abs(r.values - ref)
            allowed = TOLERANCE[label] * (np.abs(ref) + np.where(ordinary, scale, 0.0)) + FLOOR
            if label == "numeric":  # right to the tolerance, or within its own error estimate
                allowed = np.maximum(allowed, r.error_estimate)
            bad = defined & ~(error <= allowed)
            assert not bad.any(), (f"{where}: at x = {xs[bad]} got {r.values[bad]}, mpmath {ref[bad]} "
                                   f"(error {error[bad]}, allowed {allowed[bad]})")


@pytest.mark.parametrize("record", TEXT_RECORDS, ids=lambda r: r.name)
def test_every_record_through_every_method(record):
    check_conformance(record, td.function(record.usage), orders=(1,))


@pytest.mark.slow
@pytest.mark.parametrize("record", TEXT_RECORDS, ids=lambda r: r.name)
def test_every_record_second_derivative(record):
    check_conformance(record, td.function(record.usage), orders=(2,))


SPELLINGS = [(r, label, fn) for r in TEXT_RECORDS for label, fn in spellings(r).items()]


@pytest.mark.parametrize("record, label, fn", SPELLINGS, ids=[label for _, label, _ in SPELLINGS])
def test_every_spelling_reads_as_the_records_formula(record, label, fn):
    """A NumPy or jax.numpy spelling traces into the text's formula, so every method computes the
    same thing for it. Where it traces into another formula (jnp.deg2rad multiplies by the float
    π/180, jax.scipy's Γ is sign(Γ)·exp(log|Γ|)), that formula's values and derivative agree with the
    text's (the slow run puts it through the whole conformance check)."""
    f, text = td.function(fn), td.function(record.usage)
    assert f.expr is not None, f"{label}: no formula: {f.opaque_reason}"
    if f.expr != text.expr:
        xs, codes = points(record)
        for mine, theirs in ((f(xs), text(xs)), (td.derivative(f)(xs), td.derivative(text)(xs))):
            np.testing.assert_allclose(mine, theirs, rtol=1e-13, atol=1e-300, err_msg=f"{label}: {f.expr}")


@pytest.mark.slow
@pytest.mark.parametrize("record, label, fn", SPELLINGS, ids=[label for _, label, _ in SPELLINGS])
def test_every_spelling_through_every_method(record, label, fn):
    check_conformance(record, td.function(fn))


def test_the_new_functions_have_every_spelling():
    """The functions added as records (issue 12) each come in text, NumPy (or SciPy) and jax.numpy."""
    by_name = {r.name: r for r in RECORDS}
    no_numpy = {"softplus", "relu"}  # NumPy and SciPy have no ufunc for them
    for name in ("sinc", "erfc", "expit", "softplus", "logaddexp", "relu", "heaviside", "deg2rad", "rad2deg",
                 "gamma", "lgamma", "digamma"):
        labels = spellings(by_name[name])
        assert any(k.startswith(("jnp.", "jax.")) for k in labels), name
        assert name in no_numpy or any(k.startswith(("np.", "scipy.")) for k in labels), name


@pytest.mark.parametrize("record", [r for r in RECORDS if r.head is not None], ids=lambda r: r.name)
def test_every_head_has_one_lowering(record):
    """A record that gives a SymPy head its meaning lowers it to JAX one way: on values or on the node."""
    assert (record.lower is None) != (record.lower_node is None)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_every_record_names_each_argument_once(record):
    """A record's formula uses each argument once: one naming it twice (the real cube root as
    sign(u)·|u|^(1/3)) makes a formula nested n deep a tree of 2^n copies of x (23 nested cbrt hung)."""
    for arity in record.arities:
        args = sp.symbols(f"a0:{arity}", real=True)
        if record.name == "heaviside" and arity == 2:
            args = (args[0], sp.Rational(1, 2))  # its value at 0 is a number
        built = record.build(*args)
        for a in args:
            if isinstance(a, sp.Symbol):
                uses = sum(1 for node in sp.preorder_traversal(built) if node == a)
                assert uses == 1, f"{record.name}{args} = {built} uses {a} {uses} times"


def test_nested_cube_roots_are_a_chain_not_a_tree():
    depth, x0 = 23, 2.0
    text = "cbrt(" * depth + "x" + ")" * depth
    d = td.derivative(text)  # hung: 2^23 copies of x
    with mpmath.workdps(40):
        exact = mpmath.diff(lambda t: _nested_cbrt(t, depth), mpmath.mpf(x0))
    assert float(d(x0)) == pytest.approx(float(exact), rel=1e-12)
    assert td.derivative(text, method="numeric")(x0) == pytest.approx(float(exact), rel=1e-7)


def _nested_cbrt(t, depth):
    for _ in range(depth):
        t = mpmath.cbrt(t)
    return t


ACCURACY_SAMPLES = 400


@pytest.mark.parametrize("record", slow_except(  # mpmath's Γ family at 800 points: 1-4 s each
    [r for r in TEXT_RECORDS if r.head is not None],
    {r.name for r in TEXT_RECORDS if r.head is not None} - {"gamma", "lgamma", "digamma", "polygamma"},
    lambda r: r.name), ids=lambda r: r.name)
def test_every_head_is_as_accurate_as_its_record_says(record):
    """Both tiers' implementation of the head (JAX's, and NumPy's or SciPy's) is within
    eps·(a·|g| + b·|u·g'|) of mpmath, (a, b) the record's ``accuracy``: what the numeric error
    estimate assumes of f's values. Random points over the record's domain, widened tenfold."""
    f = td.function(record.usage)
    a, b = record.domain
    rng = np.random.default_rng(zlib.crc32(record.name.encode()))
    xs = np.sort(np.r_[rng.uniform(a, b, ACCURACY_SAMPLES), rng.uniform(10 * a - 1, 10 * b + 1, ACCURACY_SAMPLES)])
    g, dg = reference(record.usage, xs, order=0), reference(record.usage, xs, order=1)
    ulps, spread = record.accuracy
    eps = np.finfo(np.float64).eps
    for tier_name in ("numpy", "jax"):
        with td_tier(tier_name):
            values = f.fresh()(xs)
        ok = np.isfinite(g) & np.isfinite(dg) & (np.abs(g) < 1e300)
        allowed = eps * (ulps * np.abs(g) + spread * np.abs(xs * dg)) * (1 + 1e-9) + FLOOR
        worst = np.max(np.abs(values - g)[ok] / allowed[ok])
        assert worst <= 1, f"{record.name} in {tier_name}: {worst:.3g} times the record's accuracy {record.accuracy}"
