"""Fuzzing the boundary: random text, bytes and arrays through the API and the command line.

The property (issue 13): whatever goes in, what comes out is a value or a ``tridiff.TridiffError``,
never another exception, never a traceback, and never a hang.

* A value is a float NumPy scalar or array of the input's shape: a derivative is a finite number or
  NaN (with a reason: ``undefined``, ``reasons``), never ±inf; f's own values may be ±inf (f(x) = x
  at x = inf, exp at 1000), as NumPy's are.
* Input that is documented to work must work: real numbers of any dtype, shape and byte order
  as points; a valid call of ``differentiate_samples``. Input that is documented to be refused
  (booleans, complex numbers, text, structured and date dtypes) must be refused with a TridiffError.
* No hang: every call returns within CALL_LIMIT seconds and every example within Hypothesis's
  ``deadline``; one that runs far past it is interrupted (SIGALRM) and fails, naming its input,
  instead of stalling the suite. A runaway allocation fails as a MemoryError (the address space is
  capped while these tests run) instead of exhausting the machine.
* The CLI (in-process through ``tridiff.apps.cli.main``, and as a subprocess with argv bytes that
  are not UTF-8) exits with 0 or 2; on 2, exactly one line ``tridiff: error: ...`` on stderr.

What the inputs are made of:

* Text: free Unicode; lone surrogates (random bytes decoded with ``surrogateescape``, as Python
  decodes argv); a soup of formula-ish tokens (numbers from 0 to ``1e999`` and 400-digit integers,
  the names of the known functions read from :data:`tridiff.primitives.BY_TEXT`, operators,
  parentheses, commas, ``where(``, unknown names, Unicode lookalikes); well-formed formulas built
  by a grammar with each function's arity; and stress shapes (deep nesting, long products, powers
  near the limits) that have hung before.
* Arrays: every NumPy dtype kind in both byte orders (float16 to longdouble, ints, bools, complex,
  datetimes, strings, structured), 0-d to 3-d, empty, non-contiguous, with NaN and ±inf; Python
  lists and object arrays (None, 10**400, ragged).

The default run is bounded (about 20 s); ``-m slow`` runs the same properties on many more
examples. ``TRIDIFF_FUZZ_SCALE=10`` multiplies every example count (with
``HYPOTHESIS_PROFILE=explore`` for fresh examples each run), for a bug hunt.

Specific inputs are pinned down in test_parsing.py, test_inputs.py, test_samples.py and
test_cli.py; this file looks for the ones nobody thought of.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import signal
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

import tridiff as td
from tridiff import TridiffError
from tridiff.apps import cli
from tridiff.definition import function as function_module
from tridiff.primitives import BY_TEXT, CONSTANTS

SCALE = max(1, int(os.environ.get("TRIDIFF_FUZZ_SCALE", "1")))
METHODS = ("auto", "symbolic", "automatic", "numeric")

# Time limits are for catching hangs (minutes), not for timing, and leave room for a loaded 2-core CI
# runner: one call (td.function, td.derivative, d(xs), d.evaluate, td.kinks, ...) must return within
# CALL_LIMIT (a new formula's kernel compiles in well under a second on an idle machine; the largest
# programs the budgets let through, 41 nested sinc whose series is 70 operations each, take 12 s to
# compile on a loaded one); an example of the text tests makes a dozen such calls, within
# TEXT_DEADLINE (Hypothesis's deadline); an example still running at HARD_STOP is interrupted and
# fails, naming its input.
CALL_LIMIT = 30.0
TEXT_DEADLINE = timedelta(seconds=90)
ARRAY_DEADLINE = timedelta(seconds=5)
HARD_STOP = 180.0
MEMORY_HEADROOM = 8 * 2**30  # bytes of address space the tests may add to what the process holds


def fuzz_settings(examples: int, deadline: timedelta) -> settings:
    return settings(
        max_examples=examples * SCALE,
        deadline=deadline,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


class TookTooLong(BaseException):
    """Raised by the alarm in a hung call: a BaseException, so no ``except Exception`` in tridiff eats it."""


@contextlib.contextmanager
def hard_stop(what: str, seconds: float = HARD_STOP):
    """Interrupt the block after ``seconds`` and fail naming ``what`` (pytest runs tests in the main
    thread, so SIGALRM works; a call inside compiled code is interrupted when it returns to Python)."""

    def interrupt(signum, frame):
        raise TookTooLong

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    hung = False
    try:
        yield
    except TookTooLong:
        hung = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if hung:  # raised here, with no context: wherever the alarm struck, Hypothesis sees the same failure
        raise AssertionError(f"{what} still running after {seconds:g} s: a hang")


@pytest.fixture(scope="module", autouse=True)
def memory_guard():
    """Cap the address space at the process's size plus MEMORY_HEADROOM while these tests run: a
    runaway allocation (td.kinks listing 10^9 poles of tan, say) then raises MemoryError, which the
    property reports, instead of exhausting the machine. A stricter existing limit is kept."""
    try:
        with open("/proc/self/statm") as statm:
            size = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:  # not Linux: no guard
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = size + MEMORY_HEADROOM if hard == resource.RLIM_INFINITY else min(size + MEMORY_HEADROOM, hard)
    if soft != resource.RLIM_INFINITY and soft <= limit:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def attempt(call, *args, **kwargs):
    """``(value, None)`` or ``(None, error)`` for a TridiffError, within CALL_LIMIT seconds; any other
    exception fails the test."""
    start = time.perf_counter()
    try:
        value, error = call(*args, **kwargs), None
    except TridiffError as err:
        assert str(err).strip(), f"{type(err).__name__} with an empty message"
        value, error = None, err
    elapsed = time.perf_counter() - start
    if elapsed > CALL_LIMIT:
        name = getattr(call, "__qualname__", None) or type(call).__name__
        raise AssertionError(f"{name}({', '.join(repr(a)[:300] for a in args)}) took {elapsed:.1f} s "
                             f"(limit {CALL_LIMIT:g} s)")
    return value, error


def cold_start() -> None:
    """Forget Functions made from text before, so that every example (and Hypothesis's replay of a
    failing one) pays the cost a new formula pays: the deadline then measures the same work twice."""
    clear = getattr(getattr(function_module, "_from_text", None), "cache_clear", None)
    if clear is not None:
        clear()


# -- what a value must look like -----------------------------------------------------------------

def expected_dtype(xs) -> np.dtype | None:
    """float64 for ints, Python numbers and float64 (DESIGN.md); float32 stays float32; for float16,
    any float (its promotion is still under discussion); None when xs is not an array of reals."""
    kind = np.asarray(xs).dtype.kind if not isinstance(xs, (int, float)) else "f"
    if isinstance(xs, (int, float)) or kind in "iu":
        return np.dtype(np.float64)
    if kind != "f":
        return None
    size = np.asarray(xs).dtype.itemsize
    return np.dtype(np.float32) if size == 4 else np.dtype(np.float64) if size >= 8 else None


def check_values(out, xs, what: str, *, infinite_ok: bool = False, shape=None) -> None:
    shape = np.shape(xs) if shape is None else shape
    assert np.shape(out) == shape, f"{what}: shape {np.shape(out)}, expected {shape}"
    if shape == ():
        assert isinstance(out, np.floating), f"{what}: a scalar point gives a NumPy float, got {type(out).__name__}"
    else:
        assert isinstance(out, np.ndarray), f"{what}: an array of points gives an array, got {type(out).__name__}"
    dtype = np.asarray(out).dtype
    assert dtype.kind == "f", f"{what}: dtype {dtype}, expected a float"
    want = expected_dtype(xs)
    if want is not None:
        assert dtype == want, f"{what}: dtype {dtype} for input of dtype {np.asarray(xs).dtype}, expected {want}"
    values = np.asarray(out)
    if not infinite_ok:
        bad = np.isinf(values)
        assert not bad.any(), f"{what}: ±inf at {np.asarray(xs)[bad] if np.shape(xs) else xs!r}: {values[bad]}"


def check_result(r, xs, what: str) -> None:
    """A DerivativeResult: values, undefined, reasons, left, right, error_estimate all agree."""
    check_values(r.values, xs, f"{what}.values")
    values = np.asarray(r.values)
    undefined = np.asarray(r.undefined)
    assert undefined.shape == values.shape and undefined.dtype == bool, f"{what}.undefined: {undefined!r}"
    assert np.array_equal(undefined, np.isnan(values)), f"{what}: NaN values {np.isnan(values)} vs undefined {undefined}"
    reasons = np.asarray(r.reasons, dtype=object)
    assert reasons.shape == values.shape, f"{what}.reasons: shape {reasons.shape}"
    has_reason = np.array([isinstance(s, str) and s != "" for s in reasons.ravel()], bool).reshape(values.shape)
    assert np.array_equal(has_reason, undefined), f"{what}: reasons {reasons!r} vs undefined {undefined!r}"
    for name in ("left", "right"):
        side = np.asarray(getattr(r, name))
        assert side.shape == values.shape and side.dtype.kind == "f", f"{what}.{name}: {side!r}"
    assert (r.error_estimate is not None) == (r.method == "numeric"), f"{what}: error_estimate by {r.method}"
    if r.error_estimate is not None:
        error = np.asarray(r.error_estimate)
        assert error.shape == values.shape and error.dtype.kind == "f", f"{what}.error_estimate: {error!r}"
        with np.errstate(invalid="ignore"):
            assert not (error < 0).any(), f"{what}: negative error estimate {error!r}"


def check_derivative_at(d, xs, what: str) -> None:
    """d(xs) and d.evaluate(xs): a value or a TridiffError, and the two agree on where f' exists."""
    fast, fast_error = attempt(d, xs)
    if fast is not None:
        check_values(fast, xs, f"{what}({xs!r})")
    rich, rich_error = attempt(d.evaluate, xs)
    if rich is not None:
        check_result(rich, xs, f"{what}.evaluate({xs!r})")
    assert (fast_error is None) == (rich_error is None), (
        f"{what}: d(xs) gave {fast_error!r}, d.evaluate(xs) gave {rich_error!r}")
    if fast is not None and rich is not None:
        np.testing.assert_array_equal(np.isnan(fast), np.isnan(rich.values),
                                      err_msg=f"{what}: d(xs) and d.evaluate(xs) disagree on where f' exists")
        np.testing.assert_allclose(fast, rich.values, rtol=1e-6, atol=1e-300,
                                   err_msg=f"{what}: d(xs) and d.evaluate(xs).values differ")


# -- text ----------------------------------------------------------------------------------------

FUNCTION_NAMES = sorted(BY_TEXT)
ARITIES = {name: tuple(BY_TEXT[name].arities) for name in FUNCTION_NAMES}
UNARY_NAMES = [name for name in FUNCTION_NAMES if 1 in ARITIES[name]]
CONSTANT_NAMES = sorted(CONSTANTS)

NUMBER_TOKENS = [
    "0", "1", "2", "0.5", "3.25", "-1", "1e999", "-1e999", "1e-999", "1e308", "1.7976931348623157e308",
    "5e-324", "1e-320", "1e400", "1e-400", "2**1024", "10**400", "10**-400", "9" * 401, "1" + "0" * 399,
    "0.1", "1_000", "0x1F", "0b101", "0o17", "1j", "2.", ".5", "1e", "007", "0.0", "-0.0", "1e+308",
]
NAME_TOKENS = [
    *FUNCTION_NAMES, *CONSTANT_NAMES, "x", "y", "z", "x1", "X", "where", "nan", "NaN", "inf", "Inf",
    "infinity", "oo", "zoo", "I", "j", "foo", "_x", "__class__", "__import__", "lambda", "True", "None",
    "Abs", "Symbol", "Piecewise", "diff", "exec", "print",
]
LOOKALIKES = [
    "π", "\u0445", "−", "×", "·", "÷", "²", "³", "√", "ℯ", "ｘ", "𝑥", "\u200b", "\u00a0", "\ufeff", "１",
    "ſin", "ﬁ", "ⅹ", "\u2028", "\udcff", "\ud800", "\x00", "\x7f",
]
OPERATOR_TOKENS = ["+", "-", "*", "/", "**", "^", "//", "%", "@", "<", ">", "<=", ">=", "==", "!=", "=",
                   ":=", "~", "&", "|", "<<", " not ", " and ", " if ", " else "]
PUNCT_TOKENS = ["(", ")", ",", "where(", "[", "]", ".", ":", ";", "'", '"', "\\", "#", "\n", " ", "\t",
                "lambda x: ", "()", "(x)"]

numbers = st.one_of(
    st.sampled_from(NUMBER_TOKENS),
    st.integers(-(10**30), 10**30).map(str),
    st.floats().map(repr),  # 'inf' and 'nan' too
)
tokens = st.one_of(
    numbers,
    st.sampled_from(NAME_TOKENS),
    st.sampled_from(OPERATOR_TOKENS),
    st.sampled_from(PUNCT_TOKENS),
    st.sampled_from(LOOKALIKES),
)
token_soup = st.lists(tokens, max_size=25).flatmap(lambda ts: st.sampled_from(["", " "]).map(lambda sep: sep.join(ts)))

surrogate_bytes = st.binary(max_size=40).map(lambda b: b.decode("utf-8", "surrogateescape"))


def _call(name_and_args) -> str:
    name, args = name_and_args
    return f"{name}({', '.join(args)})"


def _calls(children):
    return st.sampled_from(FUNCTION_NAMES).flatmap(
        lambda name: st.tuples(
            st.just(name), st.lists(children, min_size=min(ARITIES[name]), max_size=max(ARITIES[name]))
        )
    ).map(_call)


LEAF_NUMBERS = ["0", "1", "2", "3", "0.5", "0.1", "1e-300", "1e300", "1e308", "1e999", "2.5", "10"]
EXPONENTS = ["2", "3", "-1", "-2", "0", "0.5", "-0.5", "1/3", "x", "(-x)", "1000", "999999", "1000001", "-1000001",
             "1e3", "2.5"]

formulas = st.recursive(
    st.one_of(st.just("x"), st.sampled_from(LEAF_NUMBERS), st.sampled_from(CONSTANT_NAMES), st.just("y")),
    lambda children: st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "^"]), children).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        children.map(lambda c: f"-{c}"),
        _calls(children),
        st.tuples(children, st.sampled_from(["<", ">", "<=", ">="]), children, children, children)
        .map(lambda t: f"where({t[0]} {t[1]} {t[2]}, {t[3]}, {t[4]})"),
        st.tuples(children, st.sampled_from(EXPONENTS)).map(lambda t: f"{t[0]}**{t[1]}"),
    ),
    max_leaves=8,
)


def _nested(name_depth) -> str:
    name, depth = name_depth
    return f"{name}(" * depth + "x" + ")" * depth


# Shapes of text that have hung before (issue 13: 40 nested tan, a 100-factor product), at sizes a
# sound implementation derives and compiles within the time limits, or refuses in time.
stress = st.one_of(
    st.tuples(st.sampled_from(UNARY_NAMES), st.integers(1, 40)).map(_nested),
    st.integers(1, 100).map(lambda k: "*".join(f"(x-{i})" for i in range(1, k + 1))),
    st.integers(1, 100).map(lambda k: " + ".join(f"sin({i}*x)" for i in range(1, k + 1))),
    st.tuples(st.sampled_from(["sqrt(3)", "pi", "e", "(1+1e-9)", "2", "x"]), st.sampled_from(["999999", "1000000", "5000", "-999999"]))
    .map(lambda t: f"{t[0]}**{t[1]}*x"),
    st.integers(1, 12).map(lambda k: "x" + "**x" * k),
)

# Two kinds of text, fuzzed apart because they cost differently: text that is mostly refused by the
# parser (cheap: many examples), and formulas, which are mostly accepted and then derived and
# compiled by every method (a second or more each: few examples by default, many in the slow run).
junk_texts = st.one_of(st.text(max_size=60), surrogate_bytes, token_soup)
formula_texts = st.one_of(
    formulas,
    formulas,
    formulas,
    st.tuples(formulas, st.binary(min_size=1, max_size=3)).map(lambda t: t[0] + t[1].decode("utf-8", "surrogateescape")),
)
formula_and_stress_texts = st.one_of(formula_texts, stress)  # the slow run: stress shapes take seconds each

# Points: finite, huge, tiny, subnormal, NaN and ±inf, as a float64 array (other dtypes and
# scalars are the points test's: each new shape compiles the kernels again).
point_arrays = st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=6).map(
    lambda v: np.array(v, dtype=np.float64))
intervals = st.one_of(
    st.just((-5.0, 5.0)),
    st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),  # reversed and empty ones too
    st.tuples(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True)),
)


def run_text(text, xs, order, interval) -> None:
    cold_start()
    note(f"text={text!r}")
    f, _ = attempt(td.function, text)
    event("text: a function" if f is not None else "text: refused")
    if f is None:
        return
    if len(f.variables) == 1:
        out, _ = attempt(f, xs)
        if out is not None:
            check_values(out, xs, f"f({xs!r})", infinite_ok=True)
    else:  # several variables: points of shape (..., n), a first partial derivative
        run_partials(text, f, np.tile(xs[:, None], (1, len(f.variables))))
        return
    for method in METHODS:
        d, _ = attempt(td.derivative, f, method=method, order=order)
        if d is None:
            continue
        what = f"td.derivative({text!r}, method={method!r}, order={order})"
        check_derivative_at(d, xs, what)
    found, _ = attempt(td.kinks, f, interval)
    if found is not None:
        assert isinstance(found, tuple), f"td.kinks gave {type(found).__name__}"
        for kink in found:
            assert isinstance(kink, td.Kink) and isinstance(kink.reason, str) and kink.reason, kink
            assert interval[0] <= kink.x <= interval[1], f"td.kinks({text!r}, {interval}): {kink} outside"


def run_partials(text, f, rows) -> None:
    batch = rows.shape[:-1]
    out, _ = attempt(f, rows)
    if out is not None:
        check_values(out, rows, f"f({rows!r})", infinite_ok=True, shape=batch)
    for method in METHODS:
        d, _ = attempt(td.derivative, f, method=method, wrt=f.names[0])
        if d is None:
            continue
        what = f"td.derivative({text!r}, method={method!r}, wrt={f.names[0]!r})"
        out, _ = attempt(d, rows)
        if out is not None:
            check_values(out, rows, f"{what}({rows!r})", shape=batch + tuple(d.shape))
        r, _ = attempt(d.evaluate, rows)
        if r is not None:
            check_values(r.values, rows, f"{what}.evaluate({rows!r}).values", shape=batch + tuple(d.shape))
            undefined = np.asarray(r.undefined)
            assert undefined.shape == batch and undefined.dtype == bool, f"{what}: undefined {undefined!r}"
            if d.shape == ():
                assert np.array_equal(undefined, np.isnan(r.values)), f"{what}: undefined {undefined} vs {r.values}"


def _text_test(text, xs, order, interval):
    with hard_stop(f"text {text!r}"):
        run_text(text, xs, order, interval)


text_args = dict(xs=point_arrays, order=st.integers(1, 3), interval=intervals)


@fuzz_settings(80, TEXT_DEADLINE)
@given(text=junk_texts, **text_args)
def test_any_text_gives_a_value_or_a_tridiff_error(text, xs, order, interval):
    _text_test(text, xs, order, interval)


@pytest.mark.slow
@fuzz_settings(1000, TEXT_DEADLINE)
@given(text=junk_texts, **text_args)
def test_any_text_gives_a_value_or_a_tridiff_error_many(text, xs, order, interval):
    _text_test(text, xs, order, interval)


@fuzz_settings(16, TEXT_DEADLINE)
@given(text=formula_texts, **text_args)
def test_formulas_give_a_value_or_a_tridiff_error(text, xs, order, interval):
    _text_test(text, xs, order, interval)


@pytest.mark.slow
@fuzz_settings(60, TEXT_DEADLINE)
@given(text=formula_and_stress_texts, **text_args)
def test_formulas_give_a_value_or_a_tridiff_error_many(text, xs, order, interval):
    _text_test(text, xs, order, interval)


# -- arrays --------------------------------------------------------------------------------------

LONGDOUBLE = (128,) if np.dtype(np.longdouble).itemsize == 16 else (96,) if np.dtype(np.longdouble).itemsize == 12 else ()

real_dtypes = st.one_of(
    hnp.floating_dtypes(endianness="?", sizes=(16, 32, 64, *LONGDOUBLE)),
    hnp.integer_dtypes(endianness="?"),
    hnp.unsigned_integer_dtypes(endianness="?"),
)
refused_dtypes = st.one_of(
    hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(endianness="?"),
    hnp.datetime64_dtypes(endianness="?"),
    hnp.timedelta64_dtypes(endianness="?"),
    hnp.byte_string_dtypes(endianness="?", max_len=4),
    hnp.unicode_string_dtypes(endianness="?", max_len=4),
    hnp.array_dtypes(hnp.scalar_dtypes(), max_size=3),  # structured
)
LAYOUTS = ("as is", "reversed", "transposed", "fortran", "read-only", "strided")


def _layout(arr_layout):
    arr, layout = arr_layout
    if arr.ndim == 0 or layout == "as is":
        return arr
    if layout == "reversed":
        return arr[..., ::-1]
    if layout == "transposed":
        return arr.T
    if layout == "fortran":
        return np.asfortranarray(arr)
    if layout == "read-only":
        arr = arr.copy()
        arr.flags.writeable = False
        return arr
    return np.repeat(arr, 2, axis=-1)[..., ::2]  # a strided view


def numpy_arrays(dtypes, max_side=4, min_dims=0):
    shapes = hnp.array_shapes(min_dims=min_dims, max_dims=3, min_side=0, max_side=max_side)
    return st.tuples(dtypes.flatmap(lambda dt: hnp.arrays(dt, shapes)), st.sampled_from(LAYOUTS)).map(_layout)


python_lists = st.one_of(
    st.lists(st.one_of(st.integers(-(10**6), 10**6), st.floats()), max_size=5),  # plain numbers: must work
    st.lists(st.one_of(st.integers(), st.floats(), st.none(), st.text(max_size=2), st.booleans(),
                       st.complex_numbers(), st.just(10**400), st.just([1.0, 2.0])), max_size=4),
    st.lists(st.lists(st.floats(), max_size=3), max_size=3),  # ragged or not
    st.builds(lambda v: np.array(v, dtype=object), st.lists(st.one_of(st.integers(), st.floats(), st.none()), max_size=4)),
)
python_points = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),  # scalars
    st.integers(-(10**20), 10**20),
    st.sampled_from([10**400, -(10**400), 2**1024, np.float16(2.5), np.int8(-3), np.uint64(2**64 - 1)]),
    python_lists,
)


def is_real_array(xs) -> bool:
    """Points documented to work: an array or list of real numbers (ints, floats) of any dtype and layout."""
    try:
        with np.errstate(all="ignore"):
            arr = np.asarray(xs)
    except (ValueError, TypeError, OverflowError):
        return False
    if arr.dtype.kind in "iuf":
        return True
    if arr.dtype.kind == "O" and isinstance(xs, list):
        return all(type(v) in (int, float) and (type(v) is float or abs(v) < 2**1000) for v in arr.flat)
    return False


def is_documented_refusal(xs) -> bool:
    return isinstance(xs, np.ndarray) and xs.dtype.kind in "bcSUVMm"


SUBJECT_SOURCES = {
    "abs(x) + sin(x)*cos(x)": "abs(x) + sin(x)*cos(x)",  # a kink: switches, one-sided limits
    "sqrt(x) + log1p(x)": "sqrt(x) + log1p(x)",  # a domain edge
    "branching lambda": lambda x: x * x if x > 1 else -x,  # no formula: numeric point by point
}
SUBJECT_CACHE: dict = {}


def subject(name: str, method: str):
    """A Function and one of its Derivatives, made once (their kernels compile per input shape)."""
    key = (name, method)
    if key not in SUBJECT_CACHE:
        f = td.function(SUBJECT_SOURCES[name])
        SUBJECT_CACHE[key] = (f, td.derivative(f, method=method))
    return SUBJECT_CACHE[key]


subjects = st.sampled_from([(name, method) for name in SUBJECT_SOURCES for method in ("symbolic", "automatic", "numeric")
                            if name != "branching lambda" or method == "numeric"])
points_of_any_kind = st.one_of(numpy_arrays(real_dtypes), numpy_arrays(refused_dtypes), python_points)


def run_points(which, xs) -> None:
    f, d = subject(*which)
    note(f"subject={which}, xs={xs!r} (dtype {getattr(xs, 'dtype', None)})")
    outcomes = {}
    for name, call, infinite_ok in (("f", f, True), ("d", d, False)):
        out, err = attempt(call, xs)
        outcomes[name] = err
        if out is not None:
            check_values(out, xs, f"{name}({xs!r})", infinite_ok=infinite_ok)
    r, err = attempt(d.evaluate, xs)
    outcomes["d.evaluate"] = err
    if r is not None:
        check_result(r, xs, f"d.evaluate({xs!r})")
    if is_real_array(xs):
        failed = {name: err for name, err in outcomes.items() if err is not None}
        assert not failed, f"real points refused: {failed}"
    if is_documented_refusal(xs):
        passed = [name for name, err in outcomes.items() if err is None]
        assert not passed, f"{passed} accepted points of dtype {xs.dtype}, documented to be refused"


@fuzz_settings(30, ARRAY_DEADLINE)
@given(which=subjects, xs=points_of_any_kind)
def test_points_give_a_value_or_a_tridiff_error(which, xs):
    with hard_stop(f"points {xs!r}"):
        run_points(which, xs)


@pytest.mark.slow
@fuzz_settings(600, ARRAY_DEADLINE)
@given(which=subjects, xs=points_of_any_kind)
def test_points_give_a_value_or_a_tridiff_error_many(which, xs):
    with hard_stop(f"points {xs!r}"):
        run_points(which, xs)


# -- sampled data --------------------------------------------------------------------------------

sample_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
def _kinked(args) -> np.ndarray:
    n, corners, scale = args  # piecewise linear data: the kink search and the one-sided repair run
    t = np.linspace(-1.0, 1.0, n)
    with np.errstate(all="ignore"):
        return scale * sum(np.abs(t - c) for c in corners)


# Samples along the last axis (the default axis): 1 to 40 of them, after up to two short axes.
sample_shapes = st.tuples(st.lists(st.integers(1, 3), max_size=2), st.integers(1, 40)).map(lambda t: (*t[0], t[1]))
float_samples = hnp.arrays(np.float64, sample_shapes, elements=st.one_of(st.floats(-10, 10), sample_floats))
kinked_samples = st.tuples(st.integers(1, 60), st.lists(st.floats(-1.2, 1.2), min_size=1, max_size=4),
                           sample_floats).map(_kinked)
sample_arrays = st.one_of(
    float_samples,
    kinked_samples,
    float_samples,
    kinked_samples,
    numpy_arrays(real_dtypes, max_side=12, min_dims=1),
    numpy_arrays(refused_dtypes, max_side=6),
    python_lists,
)


def _often(valid, invalid):
    """Mostly a valid value, sometimes an invalid one."""
    return st.one_of(valid, valid, valid, invalid)


@st.composite
def any_sample_calls(draw):
    """Anything: y of any kind, coordinates and options that may or may not fit."""
    y = draw(sample_arrays)
    n = y.shape[-1] if isinstance(y, np.ndarray) and y.ndim else len(y) if isinstance(y, list) else 0
    x = draw(_often(st.none(), st.one_of(
        sample_floats,
        st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n, unique=True).map(sorted).map(np.array),
        st.lists(sample_floats, max_size=14).map(np.array),
        hnp.arrays(hnp.integer_dtypes(endianness="?"), st.just((n,)), unique=True),
    )))
    kwargs = draw(st.fixed_dictionaries({}, optional={
        "spacing": _often(st.floats(1e-3, 1e3), st.one_of(sample_floats, st.integers(-3, 3))),
        "accuracy": _often(st.sampled_from([2, 4, 6, 8]), st.sampled_from([0, 1, 3, 10, 2.0, True, None])),
        "order": _often(st.integers(1, 4), st.sampled_from([0, 5, -1, 1.0, False])),
        "axis": _often(st.integers(-1, 0), st.integers(-4, 3)),
        "find_kinks": st.booleans(),
        "full": st.booleans(),
    }))
    return y, x, kwargs, False


@st.composite
def valid_sample_calls(draw):
    """A call that must work: real samples, enough of them along the last axis for the stencil, and
    coordinates that fit (none, a positive spacing, or strictly increasing or decreasing x)."""
    order, accuracy = draw(st.integers(1, 4)), draw(st.sampled_from([2, 4, 6, 8]))
    n = draw(st.integers(order + accuracy, 48))
    shape = (*draw(st.lists(st.integers(1, 3), max_size=2)), n)
    y = draw(st.one_of(
        hnp.arrays(np.float64, shape, elements=st.one_of(st.floats(-10, 10), sample_floats)),
        st.tuples(st.just(n), st.lists(st.floats(-1.2, 1.2), min_size=1, max_size=4), sample_floats)
        .map(_kinked).map(lambda line: np.broadcast_to(line, shape).copy()),
        hnp.arrays(real_dtypes, shape),
    ))
    kwargs = {"order": order, "accuracy": accuracy, "find_kinks": draw(st.booleans()), "full": draw(st.booleans())}
    x = draw(st.one_of(
        st.none(),
        st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n, unique=True)
        .map(sorted).map(np.array).filter(lambda v: np.all(np.diff(v) > 0)),
    ))
    if x is not None and draw(st.booleans()):
        x, y = x[::-1], y[..., ::-1]  # decreasing coordinates
    if x is None and draw(st.booleans()):
        kwargs["spacing"] = draw(st.floats(1e-3, 1e3))
    return y, x, kwargs, True


sample_calls = st.one_of(valid_sample_calls(), any_sample_calls())


def run_samples(y, x, kwargs, must_work) -> None:
    note(f"y={y!r} (dtype {getattr(y, 'dtype', None)}), x={x!r}, kwargs={kwargs}")
    out, err = attempt(td.differentiate_samples, y, x, **kwargs)
    event("samples: a value" if err is None else "samples: refused")
    if must_work:
        assert err is None, f"a valid call was refused: {err}"
    if isinstance(y, np.ndarray) and y.dtype.kind in "bcSUVMm":
        assert err is not None, f"samples of dtype {y.dtype} were accepted"
    if out is None:
        return
    values = out.values if kwargs.get("full") else out
    assert isinstance(values, np.ndarray), type(values)
    assert values.shape == np.shape(y), f"shape {values.shape}, y's {np.shape(y)}"
    assert values.dtype.kind == "f", values.dtype
    want = expected_dtype(y)
    if want is not None:
        assert values.dtype == want, f"dtype {values.dtype} for samples of dtype {np.asarray(y).dtype}"
    assert not np.isinf(values).any(), f"±inf in the derivative: {values}"
    if kwargs.get("full"):
        assert out.kinks.shape == values.shape and out.kinks.dtype == bool
        assert np.array_equal(out.undefined, np.isnan(values)), f"undefined {out.undefined} vs values {values}"
        reasons = np.asarray(out.reasons, dtype=object)
        assert np.array_equal(reasons != "", out.undefined), f"reasons {reasons} vs undefined {out.undefined}"


@fuzz_settings(150, ARRAY_DEADLINE)
@given(call=sample_calls)
def test_samples_give_a_value_or_a_tridiff_error(call):
    with hard_stop(f"differentiate_samples{call!r}"):
        run_samples(*call)


@pytest.mark.slow
@fuzz_settings(2000, ARRAY_DEADLINE)
@given(call=sample_calls)
def test_samples_give_a_value_or_a_tridiff_error_many(call):
    with hard_stop(f"differentiate_samples{call!r}"):
        run_samples(*call)


# -- the command line, in-process ----------------------------------------------------------------

cli_texts = st.one_of(formulas, st.sampled_from(["x", "abs(x)", "sqrt(x)"]), formulas, token_soup, surrogate_bytes,
                      st.text(max_size=30))
at_texts = st.one_of(
    st.lists(st.one_of(st.floats().map(repr), st.integers(-(10**6), 10**6).map(str)), min_size=1, max_size=4)
    .map(",".join),  # numbers, nan and inf among them
    st.lists(numbers, max_size=4).map(",".join),  # 1e999, 400 digits, 0x1F, ...
    surrogate_bytes,
    st.text(max_size=12),
)


@st.composite
def cli_argvs(draw, scratch: str):
    """argv for ``tridiff``: mostly ``diff``, with options mostly valid; a few ``compare`` and ``plot``
    kept small (a few points, one repeat, the plot in the scratch folder), and some any words."""
    command = draw(st.sampled_from(["diff", "diff", "diff", "diff", "compare", "plot", "junk"]))
    if command == "junk":  # unknown commands and options, stray arguments, nothing at all
        words = st.one_of(st.sampled_from(["diff", "plot", "compare", "--at", "--json", "--order", "-h", "--help",
                                           "--version", "--bogus", "-", "--"]), cli_texts)
        return draw(st.lists(words, max_size=4))
    options = []
    if command == "diff":
        if draw(st.booleans()):
            options += ["--at", draw(at_texts)]
        if draw(st.booleans()):
            options += ["--method", draw(st.sampled_from(["all", "symbolic", "automatic", "numeric", "auto"]))]
        if draw(st.booleans()):
            options += ["--order", draw(st.sampled_from(["1", "2", "3", "4", "5", "0", "x", "\udcff"]))]
    elif command == "compare":
        options += ["--points", draw(st.sampled_from(["3", "50", "0", "1e3"])), "--repeat", "1"]
    else:
        suffix = draw(st.sampled_from([".png", ".svg", ".txt"]))
        options += ["-o", str(Path(scratch) / f"plot{suffix}")]
    if command in ("compare", "plot") and draw(st.booleans()):
        options += ["--range", *draw(st.lists(st.sampled_from(["-1", "1", "0", "5", "nan", "inf", "1e999", "x"]),
                                              min_size=2, max_size=2))]
    if command in ("diff", "compare") and draw(st.booleans()):
        options.append("--json")
    text = draw(cli_texts)
    # A formula starting with '-' is written after '--', as a user must write it.
    return [command, *options, "--", text] if text.startswith("-") else [command, text, *options]


def strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def check_cli_outcome(argv, status, out: str, err: str) -> None:
    """Exit 0 or 2; on 2 exactly one line 'tridiff: error: ...' on stderr; never a traceback."""
    where = f"tridiff {argv!r}: exit {status}\nstdout: {out[-2000:]}\nstderr: {err[-2000:]}"
    assert "Traceback" not in out + err, where
    assert status in (0, 2), where
    if status == 2:
        assert err.endswith("\n") and err.count("\n") == 1, where
        assert err.startswith("tridiff: error: "), where
    elif "--json" in argv and argv and argv[0] in ("diff", "compare") and out.strip():
        strict_json(out)


def run_cli_in_process(argv, scratch: str) -> tuple[int, str, str]:
    """``tridiff.apps.cli.main(argv)`` with stdout and stderr encoded as a pipe's are (UTF-8, strict for
    stdout, backslashreplace for stderr), so a lone surrogate printed raw fails as it would for a user."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True)
    status = 0
    cwd = os.getcwd()
    os.chdir(scratch)  # nothing the CLI writes by default lands in the repository
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(list(argv))
            except SystemExit as done:
                status = 0 if done.code is None else done.code if isinstance(done.code, int) else 1
            except Exception:  # an uncaught exception: the user would see this traceback, and exit 1
                err.write(traceback.format_exc())
                status = 1
    finally:
        os.chdir(cwd)
    return status, out.buffer.getvalue().decode("utf-8", "replace"), err.buffer.getvalue().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("fuzz-cli"))


def _cli_test(scratch, data):
    argv = data.draw(cli_argvs(scratch), label="argv")
    cold_start()
    with hard_stop(f"tridiff {argv!r}"):
        status, out, err = run_cli_in_process(argv, scratch)
    event(f"{ascii(argv[0]) if argv else 'no argument'}: exit {status}")
    check_cli_outcome(argv, status, out, err)


@fuzz_settings(16, TEXT_DEADLINE)
@given(data=st.data())
def test_cli_exits_0_or_2_with_one_line(scratch, data):
    _cli_test(scratch, data)


@pytest.mark.slow
@fuzz_settings(150, TEXT_DEADLINE)
@given(data=st.data())
def test_cli_exits_0_or_2_with_one_line_many(scratch, data):
    _cli_test(scratch, data)


# -- the command line, as a user runs it: argv bytes that are not UTF-8 ----------------------------

SUBPROCESS_TIMEOUT = 180  # seconds, for one quick call on a loaded machine (an interpreter start is ~2 s)


def run_cli_bytes(argv: list[bytes], cwd: str) -> tuple[int, str, str]:
    env = {**os.environ, "COLUMNS": "120"}
    p = subprocess.run([sys.executable, "-m", "tridiff.apps.cli", *argv], capture_output=True, env=env, cwd=cwd,
                       timeout=SUBPROCESS_TIMEOUT)
    return p.returncode, p.stdout.decode("utf-8", "backslashreplace"), p.stderr.decode("utf-8", "backslashreplace")


BYTE_ARGVS = [
    [b"diff", b"x\xff"],  # the example: invalid UTF-8 in EXPR
    [b"diff", b"x", b"--at", b"1,\xed\xa0\x80", b"--json"],  # an encoded surrogate in --at
]


def test_cli_with_invalid_utf8_argv_exits_2_with_one_line(scratch):
    with ThreadPoolExecutor(max_workers=len(BYTE_ARGVS)) as pool:
        runs = list(pool.map(lambda argv: run_cli_bytes(argv, scratch), BYTE_ARGVS))
    for argv, (status, out, err) in zip(BYTE_ARGVS, runs):
        check_cli_outcome([a.decode("utf-8", "surrogateescape") for a in argv], status, out, err)
        assert status == 2, f"{argv!r}: exit {status}, {err}"


byte_words = st.one_of(
    st.binary(max_size=12),
    st.sampled_from([b"x", b"abs(x)", b"sin(x)\xc3", b"\xff", b"\xed\xa0\x80", b"\xc0\xaf", b"x\x00"]),
)


@pytest.mark.slow
@settings(max_examples=20 * SCALE, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(expr=byte_words, at=st.one_of(st.none(), byte_words), as_json=st.booleans())
def test_cli_with_random_argv_bytes_exits_0_or_2_with_one_line(scratch, expr, at, as_json):
    argv = [b"diff", expr] + ([b"--at", at] if at is not None else []) + ([b"--json"] if as_json else [])
    if b"\x00" in b"".join(argv):  # execve cannot pass a NUL byte: no user can type it
        argv = [a.replace(b"\x00", b"") for a in argv]
    status, out, err = run_cli_bytes(argv, scratch)
    check_cli_outcome([a.decode("utf-8", "surrogateescape") for a in argv], status, out, err)

