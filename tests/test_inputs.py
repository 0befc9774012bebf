"""What ``f(xs)`` and ``d(xs)`` accept and return: NumPy semantics at the boundary, for every method.

f = x**2, so f' = 2x: the expected values are computed here by NumPy from that formula.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tridiff as td
from tridiff.compiler.runner import settle, tier

METHODS = ("symbolic", "automatic", "numeric")


@pytest.fixture(scope="module")
def f():
    return td.function("x**2")


@pytest.fixture(scope="module", params=METHODS)
def d(request, f):
    return td.derivative(f, method=request.param)


def close(d, got, expected, dtype=np.float64):
    """Exact for symbolic/automatic (2x is exact in floating point); finite-difference accuracy for numeric."""
    if d.method == "numeric":
        tol = 1e-8 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)
    elif dtype == np.float64:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


# -- scalars -----------------------------------------------------------------------------------

@pytest.mark.parametrize("x", [3, 3.0, np.int64(3), np.float64(3.0), np.array(3.0), np.array(3)],
                         ids=["int", "float", "np.int64", "np.float64", "0-d float", "0-d int"])
def test_scalars_give_a_float64_numpy_scalar(d, x):
    got = d(x)
    assert type(got) is np.float64  # a NumPy scalar, not a 0-d array
    close(d, got, 6.0)


@pytest.mark.parametrize("x", [3, 3.0, np.array(3.0)])
def test_function_values_at_scalars_are_float64_scalars(f, x):
    got = f(x)
    assert type(got) is np.float64
    assert got == 9.0


def test_float32_scalar_gives_a_float32_scalar(d):
    got = d(np.float32(3.0))
    assert type(got) is np.float32
    close(d, got, 6.0, np.float32)


def test_ints_just_work_with_a_lambda():
    # the lab's failure: jax.grad(f)(3) raises on an int
    assert td.derivative(lambda x: x**2, method="automatic")(3) == 6.0
    assert td.derivative(lambda x: x**2, method="symbolic")(3) == 6.0
    assert td.derivative(lambda x: x**2, method="numeric")(3) == pytest.approx(6.0, rel=1e-8)
    got = td.derivative(lambda x: x**2, method="automatic")(np.arange(6).reshape(2, 3))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, 2.0 * np.arange(6).reshape(2, 3))


def test_jax_numpy_callable_takes_int_arrays_of_any_shape():
    import jax.numpy as jnp

    d = td.derivative(lambda x: jnp.sin(x) * x, method="automatic")
    xs = np.arange(-6, 6).reshape(2, 3, 2)
    got = d(xs)
    assert got.shape == xs.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, np.cos(xs) * xs + np.sin(xs), rtol=1e-13, atol=1e-14)


# -- arrays ------------------------------------------------------------------------------------

def test_lists_become_float64_arrays(d, f):
    got = d([1, 2, 3])
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == (3,)
    close(d, got, [2.0, 4.0, 6.0])
    got = d([[1.5, -2.0], [0.25, 4]])
    assert got.shape == (2, 2)
    close(d, got, [[3.0, -4.0], [0.5, 8.0]])
    np.testing.assert_array_equal(f([1, 2, 3]), [1.0, 4.0, 9.0])


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (1, 1, 1, 5)])
def test_arrays_keep_their_shape(d, f, shape):
    xs = np.linspace(-3.0, 3.0, int(np.prod(shape))).reshape(shape)
    got = d(xs)
    assert got.shape == shape and got.dtype == np.float64
    close(d, got, 2.0 * xs)
    values = f(xs)
    assert values.shape == shape
    np.testing.assert_array_equal(values, xs**2)


@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_empty_arrays_give_empty_float64_arrays(d, f, shape, dtype):
    xs = np.empty(shape, dtype)
    for got in (d(xs), f(xs), d.evaluate(xs).values):
        assert isinstance(got, np.ndarray)
        assert got.shape == shape and got.dtype == np.float64


def test_empty_list(d):
    got = d([])
    assert isinstance(got, np.ndarray) and got.shape == (0,) and got.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.uint64])
def test_integer_arrays_give_float64(d, f, dtype):
    xs = np.arange(0, 6, dtype=dtype)
    got = d(xs)
    assert got.dtype == np.float64
    close(d, got, 2.0 * np.arange(0, 6))
    assert f(xs).dtype == np.float64


def test_float32_stays_float32(d, f):
    xs = np.linspace(-2, 2, 9, dtype=np.float32)
    got = d(xs)
    assert got.dtype == np.float32
    close(d, got, 2.0 * xs.astype(np.float64), np.float32)
    assert f(xs).dtype == np.float32
    assert d.evaluate(xs).values.dtype == np.float32


def test_non_contiguous_input(d):
    x = np.linspace(-2.0, 2.0, 21)
    strided = x[::2]
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(d(strided), d(strided.copy()))
    close(d, d(strided), 2.0 * strided)
    reversed_ = x[::-1]
    np.testing.assert_array_equal(d(reversed_), d(reversed_.copy()))

    grid = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    got = d(grid.T)
    assert got.shape == (4, 3)
    np.testing.assert_array_equal(got, d(np.ascontiguousarray(grid.T)))
    np.testing.assert_array_equal(got, d(grid).T)
    fortran = np.asfortranarray(grid)
    np.testing.assert_array_equal(d(fortran), d(grid))


def test_nan_and_inf_give_nan_with_a_reason(d, f):
    xs = np.array([np.nan, np.inf, -np.inf, 1.5])
    got = d(xs)
    assert np.isnan(got[:3]).all()
    close(d, got[3], 3.0)
    result = d.evaluate(xs)
    assert np.isnan(result.values[:3]).all()
    assert result.undefined.tolist() == [True, True, True, False]
    reasons = list(result.reasons)
    assert all(isinstance(r, str) and r for r in reasons[:3]), reasons
    assert reasons[3] == ""
    # f itself follows NumPy: inf**2 is inf
    np.testing.assert_array_equal(f(xs), np.square(xs))


def test_nan_at_a_scalar(d):
    assert np.isnan(d(np.nan))
    result = d.evaluate(np.inf)
    assert bool(result.undefined)
    assert str(result.reasons)


def test_result_is_writable_and_does_not_alias_the_input(d, f):
    xs = np.linspace(-1.0, 1.0, 5)
    before = xs.copy()
    for call in (d, f):
        out = call(xs)
        assert out.flags.writeable
        assert not np.shares_memory(out, xs)
        out[...] = 123.0
        np.testing.assert_array_equal(xs, before)
    # and a second call is not handed the buffer the first caller scribbled on
    first = d(xs)
    first[...] = -1.0
    close(d, d(xs), 2.0 * xs)


def test_identity_does_not_return_its_input():
    xs = np.linspace(-1.0, 1.0, 5)
    out = td.function("x")(xs)
    assert out is not xs and not np.shares_memory(out, xs)
    assert out.flags.writeable
    ones = td.derivative("x", method="symbolic")(xs)  # a constant derivative: still a fresh array
    assert ones.flags.writeable and ones.shape == xs.shape
    np.testing.assert_array_equal(ones, np.ones(5))


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">i8", ">i4"])
def test_big_endian_points_give_the_same_values_as_native_ones(dtype):
    # The kernel computes in the machine's byte order: big-endian data (read from a file, say) is
    # converted at the boundary. Before, the first such call raised a raw JAX TypeError, and after a
    # call on another dtype it returned [1., 1.] for 2x at [0.5, 1.0].
    d = td.derivative("x**2")
    d(np.int64(3))
    xs = np.array([0.5, 1.0, 3.0], dtype=dtype)
    native = xs.astype(xs.dtype.newbyteorder("="))
    for call in (d, d.evaluate, td.function("x**2")):
        got, want = call(xs), call(native)
        got, want = (got.values, want.values) if hasattr(got, "values") else (got, want)
        np.testing.assert_array_equal(got, want)
        assert got.dtype.isnative


# -- bad input ---------------------------------------------------------------------------------

BAD_POINTS = [
    (np.array([1.0 + 2.0j]), "complex"),
    (1j, "complex"),
    ([1.0, 2j], "complex"),
    (np.array([True, False]), "bool"),
    (True, "bool"),
    ("3", None),
    (np.array(["1.0", "2.0"]), None),
    (["1", "2"], None),
    ([[1.0, 2.0], [3.0]], None),
    (None, None),
    ([1.0, None], None),  # np.square(np.array([1.0, None])) raises TypeError too
    (object(), None),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), None),
    (10**400, "too large"),  # a Python int no float64 holds
    (np.zeros(2, dtype=[("a", "f8")]), "structured"),  # was called text
]


def _ids(value):
    return type(value).__name__ if not isinstance(value, str) else repr(value)


@pytest.mark.parametrize("xs, word", BAD_POINTS, ids=[f"{_ids(x)}-{i}" for i, (x, _) in enumerate(BAD_POINTS)])
def test_bad_points_raise_a_tridiff_error(d, f, xs, word):
    for call in (d, f, d.evaluate):
        with pytest.raises(td.TridiffError) as info:
            call(xs)
        message = str(info.value)
        assert message
        if word is not None:
            assert word in message.lower(), message


@pytest.mark.parametrize("method", ["bogus", "Symbolic ", "", None, 3])
def test_bad_method(f, method):
    with pytest.raises(td.TridiffError) as info:
        td.derivative(f, method=method)
    message = str(info.value)
    assert repr(method) in message
    assert all(m in message for m in METHODS)


@pytest.mark.parametrize("order", [0, -1, 2.5, True, "2", None])
def test_bad_order(f, order):
    with pytest.raises(td.TridiffError) as info:
        td.derivative(f, order=order)
    assert "order" in str(info.value)
    assert repr(order) in str(info.value)


@pytest.mark.parametrize("order", [1, 2, 3, np.int64(2)])
def test_good_order(f, order):
    d = td.derivative(f, order=order)
    expected = {1: 2.0 * 1.5, 2: 2.0, 3: 0.0}[int(order)]
    assert d(1.5) == expected


@pytest.mark.parametrize("scheme", ["bogus", "centre", "", 3])
def test_bad_scheme(f, scheme):
    with pytest.raises(td.TridiffError) as info:
        td.derivative(f, method="numeric", scheme=scheme)
    assert "scheme" in str(info.value)
    assert repr(scheme) in str(info.value)


@pytest.mark.parametrize("method", ["symbolic", "automatic"])
@pytest.mark.parametrize("option", [{"step": 1e-3}, {"accuracy": 2}, {"scheme": "forward"}])
def test_numeric_options_with_another_method(f, method, option):
    with pytest.raises(td.TridiffError) as info:
        td.derivative(f, method=method, **option)
    assert "numeric" in str(info.value)


@pytest.mark.parametrize("option", [{"step": 0}, {"step": -1e-3}, {"step": "1e-3"}, {"accuracy": 3},
                                    {"accuracy": True}])
def test_bad_numeric_options(f, option):
    with pytest.raises(td.TridiffError) as info:
        td.derivative(f, method="numeric", **option)
    assert next(iter(option)) in str(info.value)


@pytest.mark.parametrize("source", [object(), None, [1, 2], b"x**2"])
def test_function_of_something_that_is_not_a_function(source):
    with pytest.raises(td.TridiffError) as info:
        td.function(source)
    assert type(source).__name__ in str(info.value)
    with pytest.raises(td.TridiffError):
        td.derivative(source)


# -- a callable that branches on its argument's value ------------------------------------------

def branching_abs(x):
    return x if x > 0 else -x


def test_branching_callable_works_numerically():
    f = td.function(branching_abs)
    np.testing.assert_array_equal(f(np.array([-2.0, 0.0, 3.0])), [2.0, 0.0, 3.0])
    d = td.derivative(branching_abs, method="numeric")
    xs = np.array([-2.0, -0.5, -0.1, 0.0, 0.1, 0.5, 2.0])
    got = d(xs)
    np.testing.assert_allclose(got[xs < 0], -1.0, rtol=1e-8)
    np.testing.assert_allclose(got[xs > 0], 1.0, rtol=1e-8)
    assert np.isnan(got[xs == 0]).all()
    result = d.evaluate(xs)
    assert result.undefined.tolist() == (xs == 0).tolist()
    assert result.reasons[3]  # why f' does not exist at 0
    # "auto" picks the method that works
    np.testing.assert_array_equal(td.derivative(branching_abs)(xs), got)


def test_branching_callable_is_right_or_undefined_close_to_its_kink():
    # Within a finite-difference step of the kink a central stencil averages the two sides (the
    # lab's np.gradient giving +-0.5 beside |x|'s kink). DESIGN.md: "values beside it are right".
    # Either the one-sided value +-1 or NaN with a reason is honest; anything else is not.
    d = td.derivative(branching_abs, method="numeric")
    xs = np.array([-1e-3, -5e-4, -1e-4, -1e-6, 1e-6, 1e-4, 5e-4, 1e-3])
    result = d.evaluate(xs)
    defined = ~result.undefined
    np.testing.assert_allclose(result.values[defined], np.sign(xs[defined]), rtol=1e-6)
    assert all(result.reasons[~defined])
    # an error estimate, where one is given, must cover the actual error
    actual = np.abs(result.values - np.sign(xs))[defined]
    assert (actual <= result.error_estimate[defined]).all()


def test_branching_callable_at_non_finite_points_is_nan_with_a_reason_and_no_numpy_warning():
    # the stencil's points around x = inf are inf - inf: NaN is tridiff's answer, not the user's warning
    d = td.derivative(branching_abs, method="numeric")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = d.evaluate(np.array([np.inf, -np.inf, np.nan, 2.0]))
    np.testing.assert_array_equal(result.undefined, [True, True, True, False])
    assert all(result.reasons[:3]) and result.values[3] == pytest.approx(1.0, rel=1e-8)


def test_branching_callable_takes_ints_and_shapes():
    d = td.derivative(branching_abs, method="numeric")
    assert type(d(3)) is np.float64
    assert d(3) == pytest.approx(1.0, rel=1e-8)
    grid = np.array([[3.0, -1.0], [2.0, 0.0]])
    got = d(grid)
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got[grid != 0], np.sign(grid[grid != 0]), rtol=1e-8)
    assert np.isnan(got[1, 1])
    empty = d(np.empty((2, 0)))
    assert empty.shape == (2, 0) and empty.dtype == np.float64


@pytest.mark.parametrize("method", ["symbolic", "automatic"])
def test_branching_callable_has_no_formula_for_symbolic_or_automatic(method):
    with pytest.raises(td.MethodUnavailableError) as info:
        td.derivative(branching_abs, method=method)
    assert "np.where" in str(info.value)
    assert isinstance(info.value, td.TridiffError)


# -- a user's code that raises -----------------------------------------------------------------------
def test_a_function_that_fails_on_every_number_is_refused_at_td_function():
    # Both tracers failed with the NameError, and so does a plain call: it used to be accepted as a
    # function with no formula, and the NameError escaped raw from the first derivative.
    with pytest.raises(td.TridiffError, match="NameError.*undefined_name"):
        td.function(lambda x: undefined_name * x)  # noqa: F821 - the user's mistake, on purpose
    with pytest.raises(td.TridiffError, match="NameError"):
        td.function(lambda v: undefined_name * v[0], variables=2)  # noqa: F821


def test_a_callable_that_refuses_an_argument_is_undefined_there():
    # math.log(-0.5) raises ValueError: f is not defined there, which is NaN with its reason, not a crash
    r = td.derivative(lambda x: math.log(x - 1)).evaluate([0.5, 2.0])
    assert np.isnan(r.values[0]) and r.reasons[0] == "f is not defined here (outside its domain, or a pole)"
    assert r.values[1] == pytest.approx(1.0, rel=1e-8)


def test_a_callable_raising_something_else_is_a_tridiff_error_naming_it_and_where():
    lookup = {}
    with pytest.raises(td.TridiffError, match=r"KeyError at \(6\)"):
        td.derivative(lambda x: lookup[x] if x > 5 else x)([1.0, 6.0])


def test_a_callable_using_the_math_module_is_told_to_use_numpy():
    # JAX's trace fails on math.log's float() too, as a "concretization": that used to be reported as
    # "it branches on the value of x", which it does not
    f = td.function(lambda x: math.log(x - 1))
    assert f.kind == "opaque" and "Python float" in f.opaque_reason and "np.sin" in f.opaque_reason
    assert "branches" not in f.opaque_reason
    assert "branches" in td.function(lambda x: x if x > 0 else -x).opaque_reason


# -- callables with no formula: run in float64, differenced at their own precision ---------------
def test_untraceable_jax_code_runs_in_float64():
    jax = pytest.importorskip("jax")
    import mpmath

    f = td.function(lambda x: jax.scipy.special.i0e(x))  # no record: JAX's own code, a program to run
    assert f.expr is None
    exact = lambda x: mpmath.besseli(0, x) * mpmath.exp(-abs(x))  # noqa: E731
    assert f(0.3) == pytest.approx(float(exact(mpmath.mpf(0.3))), rel=1e-14)  # float32 was off at 1e-7
    r = td.derivative(f, method="numeric").evaluate(0.3)
    true = float(mpmath.diff(exact, mpmath.mpf(0.3)))
    assert abs(r.values - true) <= r.error_estimate <= 1e-8


def test_float32_code_is_differenced_at_float32_precision():
    # float32 values differenced with float64's step: f' came out as 0 or 1.2e-7
    f = td.function(lambda x: np.sin(np.float32(x)) if x > 0 else 0.0)
    assert f.expr is None and f(np.array([0.3])).dtype == np.float32
    xs = np.array([0.3, 1.0, 2.5])
    r = td.derivative(f, method="numeric").evaluate(xs)
    assert r.values.dtype == np.float64
    true = np.cos(xs.astype(np.float32).astype(np.float64))
    assert np.all(np.abs(r.values - true) <= r.error_estimate) and np.all(r.error_estimate < 1e-3)


def test_a_callable_returning_complex_values_is_refused():
    f = td.function(lambda x: np.sqrt(x + 0j) if np.all(x > 5) else x * 1j)
    with pytest.raises(td.TridiffError, match="not a real number"):
        f(np.array([1.0, 2.0]))


@pytest.mark.parametrize(("fn", "x0", "true"), [
    # jax.numpy programs whose `where` switches where f is smooth: JAX's convention at the switch
    # (0.0) was returned by the automatic method instead of f'
    (lambda x: __import__("jax").nn.softplus(x), 0.0, 0.5),
    (lambda x: __import__("jax").numpy.logaddexp(x, 1.0), 1.0, 0.5),
    (lambda x: __import__("jax").numpy.sinc(x), 0.0, 0.0),  # NaN by every method: the 0/0 the program avoids
])
@pytest.mark.parametrize("method", ["symbolic", "automatic", "numeric"])
def test_jax_programs_that_switch_where_f_is_smooth(fn, x0, true, method):
    assert td.derivative(fn, method=method)(x0) == pytest.approx(true, abs=1e-9)


def test_jax_gamma_runs_in_float64():
    # jax.scipy.special.gamma could not be traced and ran in float32: f(2.5) = 1.32934057, f' = 1.2e-7
    jax = pytest.importorskip("jax")
    f = td.function(lambda x: jax.scipy.special.gamma(x))
    assert f(2.5) == pytest.approx(math.gamma(2.5), rel=1e-14)
    true = math.gamma(2.5) * 0.7031566406452432  # Γ'(2.5) = Γ(2.5)·ψ(2.5)
    for method in ("symbolic", "automatic", "numeric"):
        assert td.derivative(f, method=method)(2.5) == pytest.approx(true, rel=1e-9), method


# -- any length, any offset: padded kernels, chunks, and a kernel of a length's own -------------
LENGTHS = [1, 15, 16, 17, 1000, 65_535, 65_536, 65_537, 200_003]


@pytest.mark.parametrize("n", LENGTHS)
@pytest.mark.parametrize("offset", [0, 1, 3])
def test_every_length_and_offset_gives_the_formulas_values(n, offset):
    """The kernels pad short arrays, chunk long ones and split off an unaligned head: every element
    comes back right and in place, for d(x) and every output of d.evaluate(x)."""
    d = td.derivative("abs(x) + sin(x)", method="symbolic")
    base = np.linspace(-3, 3, n + offset)
    base[offset + n // 2] = 0.0  # a kink, somewhere in the middle chunk
    x = base[offset:]
    expected = np.where(x == 0, np.nan, np.sign(x) + np.cos(x))
    np.testing.assert_allclose(d(x), expected, rtol=1e-15, atol=1e-15)
    r = d.evaluate(x)
    np.testing.assert_array_equal(r.undefined, x == 0)
    assert set(r.reasons[x == 0]) == {"kink: the left and right derivatives differ"}
    np.testing.assert_allclose(r.left[x == 0], 0.0, atol=1e-15)
    np.testing.assert_allclose(r.right[x == 0], 2.0, atol=1e-15)


@pytest.mark.parametrize("formula, dtype", [("abs(x) + sin(x)", np.float64),
                                            pytest.param("abs(x) + sin(x)", np.float32, marks=pytest.mark.slow),
                                            ("1/x + x**3", np.float64)], ids=["branching", "float32", "straight"])
def test_a_kernel_of_its_own_reads_an_unaligned_batch_in_place(formula, dtype):
    """A long batch that does not start on a 64-byte boundary is read from the boundary before it (XLA
    reads an aligned buffer in place): whatever lies there, a kink's 0, NaN or inf, changes none of
    the batch's values, flags or reasons, whether the program branches (a kink test) or not."""
    d = td.derivative(formula, method="symbolic")
    n, per_block = 70_001, 64 // np.dtype(dtype).itemsize
    memory = np.empty(n + 2 * per_block, dtype)
    start = (-memory.ctypes.data % 64) // memory.itemsize  # memory[start] sits on a 64-byte boundary
    for back in (1, per_block - 1):
        block = memory[start:start + back + n]
        block[:back] = [0.0, np.nan, np.inf, -0.0][:back] + [0.0] * max(back - 4, 0)
        block[back:] = np.linspace(-3, 3, n, dtype=dtype)
        block[back + n // 2] = 0.0
        x = block[back:]
        with tier("numpy"):
            want, rich = d(x), d.evaluate(x)
        for _ in range(2):  # the second call of each starts the compile of the kernel for this length
            d(x), d.evaluate(x)
        assert settle(120), "compiles still queued after 120 s"
        assert (back, n, (), np.dtype(dtype)) in d._fast.exact, d._fast.exact.keys()
        np.testing.assert_allclose(d(x), want, rtol=1e-6 if dtype == np.float32 else 1e-15, atol=1e-7)
        r = d.evaluate(x)
        np.testing.assert_array_equal(r.undefined, rich.undefined)
        np.testing.assert_array_equal(r.reasons, rich.reasons)
        assert r.undefined.sum() == 1 and np.isnan(d(x)[n // 2])


def test_a_length_met_again_gets_its_own_kernel_with_the_same_values():
    """The second call at a long length compiles a kernel for exactly it in the background; each
    call before and after gives the same values."""
    d = td.derivative("exp(-2*x) + 3*sin(3*x)", method="automatic")
    x = np.linspace(-5, 5, 300_001)
    expected = -2 * np.exp(-2 * x) + 9 * np.cos(3 * x)
    for _ in range(2):  # by chunks; the second call starts the compile
        np.testing.assert_allclose(d(x), expected, rtol=1e-13, atol=1e-13)
    exact = d._fast.exact
    assert len(exact) == 1
    assert settle(120), "compiles still queued after 120 s"
    assert callable(next(iter(exact.values()))), f"no kernel for the length: {exact}"
    np.testing.assert_allclose(d(x), expected, rtol=1e-13, atol=1e-13)
