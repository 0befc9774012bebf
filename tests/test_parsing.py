"""The text parser: formulas become SymPy over real symbols; anything else is refused, fast.

The oracle is SymPy itself: every expected expression is built by hand (or by the same random
generator that wrote the text) from ``sympy.Symbol(name, real=True)``, never read back from tridiff.
"""

from __future__ import annotations

import ast
import builtins
import re
import signal
import sys
import time
import warnings
from contextlib import contextmanager
from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tridiff as td
from tridiff.definition.parsing import parse

X = sp.Symbol("x", real=True)
Y = sp.Symbol("y", real=True)
Z = sp.Symbol("z", real=True)

# These are hang guards, not speed claims: a refusal that works takes milliseconds, one that
# hangs (SymPy factoring a 4000-digit integer, say) takes minutes. The bounds are loose enough
# for a loaded 2-core CI machine and tight enough to catch a hang.
FAST = 5.0  # seconds: a refusal must take less than this
HARD_STOP = 10.0  # seconds: a parse still running after this is interrupted (and the test fails)


class TookTooLong(Exception):
    """Raised by the alarm when a parse hangs."""


@contextmanager
def hard_stop(seconds: float = HARD_STOP):
    """Interrupt the block after ``seconds`` (pytest runs tests in the main thread, so SIGALRM works)."""

    def interrupt(signum, frame):
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def refused(text, **kwargs) -> td.ParseError:
    """Parse ``text``, expecting a ParseError within FAST seconds; return the error."""
    start = time.perf_counter()
    with hard_stop():
        with pytest.raises(td.ParseError) as info:
            parse(text, **kwargs)
    elapsed = time.perf_counter() - start
    assert elapsed < FAST, f"refusing {text[:40]!r} took {elapsed:.2f} s"
    return info.value


def squash(message: str) -> str:
    return "".join(str(message).split())


# -- correct parses ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("x**3", X**3),
        ("x^2", X**2),
        ("x ^ 3", X**3),
        ("exp(-2*x) + 3*sin(3*x)", sp.exp(-2 * X) + 3 * sp.sin(3 * X)),
        ("abs(x) + sin(x)*cos(x)", sp.Abs(X) + sp.sin(X) * sp.cos(X)),
        ("-x**2", -(X**2)),
        ("2**-1 * x", X / 2),
        ("sqrt(x) + log(x) + tan(x)", sp.sqrt(X) + sp.log(X) + sp.tan(X)),
        ("ln(x)", sp.log(X)),
        ("max(x, 0) - min(x, 1)", sp.Max(X, 0) - sp.Min(X, 1)),
        ("  x**2  ", X**2),
        ("((((x))))", X),
    ],
)
def test_formulas_parse_to_the_sympy_expression(text, expected):
    expr, symbols = parse(text)
    assert expr == expected
    assert symbols == (X,)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("pi", sp.pi),
        ("e", sp.E),
        ("E", sp.E),
        ("2*pi*x", 2 * sp.pi * X),
        ("e**x", sp.exp(X)),
        ("sin(pi)", sp.Integer(0)),
        ("exp(1)", sp.E),
    ],
)
def test_constants_pi_and_e_are_exact(text, expected):
    assert parse(text)[0] == expected


def test_pi_and_e_are_not_variables():
    assert parse("pi*x + e")[1] == (X,)
    assert parse("pi + e")[1] == ()


def test_where_is_numpy_where_as_a_piecewise():
    expr, symbols = parse("where(x > 0, x, 0)")
    assert expr == sp.Piecewise((X, X > 0), (0, True))
    assert symbols == (X,)
    expr, _ = parse("where(x <= 1, x**2, 2*x - 1)")
    assert expr == sp.Piecewise((X**2, X <= 1), (2 * X - 1, True))
    # where(x > 0, x, 0) is max(x, 0): check it numerically through SymPy, independent of its form.
    for value in (-2, 0, sp.Rational(1, 3), 5):
        assert parse("where(x > 0, x, 0)")[0].subs(X, value) == max(value, 0)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.1", sp.Rational(1, 10)),
        ("0.1*x", X / 10),
        ("0.1 + 0.2", sp.Rational(3, 10)),  # in floats 0.1 + 0.2 != 0.3; exactly, it is
        ("2.5e-3", sp.Rational(1, 400)),
        ("1e-20", sp.Rational(1, 10**20)),
        (".75", sp.Rational(3, 4)),
        ("1.5e2", sp.Integer(150)),
        ("x**0.5", sp.sqrt(X)),
    ],
)
def test_decimals_are_exact_rationals(text, expected):
    expr = parse(text)[0]
    assert expr == expected
    assert not expr.has(sp.Float)


def test_long_decimal_keeps_every_digit_written():
    # "exact decimal: 0.1 means 1/10" must hold for decimals longer than a float's 17 digits too:
    # going through float(...) first silently drops the digits after the 17th.
    text = "0.12345678901234567890123"
    assert parse(text)[0] == sp.Rational(Fraction(text).numerator, Fraction(text).denominator)


def test_variables_are_real_symbols_sorted_by_name():
    expr, symbols = parse("z*y + x")
    assert [s.name for s in symbols] == ["x", "y", "z"]
    assert all(s.is_real for s in symbols)
    assert symbols == (X, Y, Z)
    assert expr == Z * Y + X
    expr, symbols = parse("b + a")
    assert [s.name for s in symbols] == ["a", "b"]


def test_function_names_are_not_variables():
    assert parse("sin(x) + exp(x) + where(x > 0, x, 0)")[1] == (X,)


def test_variables_argument_sets_order_and_may_add_unused_variables():
    expr, symbols = parse("a*b", variables=("b", "a"))
    assert [s.name for s in symbols] == ["b", "a"]
    assert expr == sp.Symbol("a", real=True) * sp.Symbol("b", real=True)
    expr, symbols = parse("x", variables=("x", "y"))
    assert symbols == (X, Y)
    assert expr == X


def test_parse_error_is_a_value_error():
    assert issubclass(td.ParseError, ValueError)
    assert issubclass(td.ParseError, td.TridiffError)
    with pytest.raises(ValueError):
        parse("x +")


def test_function_from_text_uses_the_parser():
    f = td.function("exp(-2*x) + 3*sin(3*x)")
    assert f.expr == sp.exp(-2 * X) + 3 * sp.sin(3 * X)
    assert f.variables == (X,)
    g = td.function("x*y", variables=("y", "x"))
    assert g.variables == (Y, X)
    # its values agree with NumPy evaluating the same formula
    xs = np.linspace(-2, 2, 9)
    np.testing.assert_allclose(f(xs), np.exp(-2 * xs) + 3 * np.sin(3 * xs), rtol=1e-14, atol=1e-14)


# -- the caret means power, with the precedence of ** ------------------------------------------

@pytest.mark.parametrize(
    "text, expected",
    [
        ("x^2 + 1", X**2 + 1),  # Python's ^ binds looser than +: x ^ (2 + 1) would be x**3
        ("2*x^2", 2 * X**2),  # and looser than *: (2*x) ^ 2 would be 4*x**2
        ("-x^2", -(X**2)),  # and looser than unary minus: (-x) ^ 2 would be x**2
        ("0.1*x^2", X**2 / 10),
        ("x^2 - 3*x^2", -2 * X**2),
        ("exp(-x^2)", sp.exp(-(X**2))),
    ],
)
def test_caret_has_the_precedence_of_power(text, expected):
    assert parse(text)[0] == expected


def test_caret_and_double_star_agree_in_a_polynomial():
    assert parse("3*x^3 - 2*x^2 + x - 7")[0] == parse("3*x**3 - 2*x**2 + x - 7")[0]


def test_long_flat_sum_is_not_too_deep():
    # Debatable limit: a 150-term polynomial is long, not nested, and far below the length limit;
    # Python and NumPy evaluate it without complaint.
    text = " + ".join(f"{k}*x**{k}" for k in range(1, 151))
    assert len(text) < 2000
    assert parse(text)[0] == sum(k * X**k for k in range(1, 151))


# -- hostile and malformed text ----------------------------------------------------------------

HOSTILE = [
    # (text, a token the message must name, or None)
    ("__import__('os')", "__import__"),
    ("x.__class__", "__class__"),
    ("().__class__.__bases__", "__class__"),
    ("lambda x: x", "lambda"),
    ("open('f')", "open"),
    ("foo(x)", "'foo'"),
    ("x[0]", "x[0]"),
    ("9**9**9", "9**9**9"),
    ("10**10**10", "10**10**10"),
    ("(" * 5000 + "x" + ")" * 5000, None),
    ("-" * 100000 + "x", None),
    ("x+" * 10000, None),  # a 20000-character string
    ("-" * 5000 + "x", None),  # under the length limit, over any sane depth
    ("(" * 300 + "x" + ")" * 300, None),
    ("", None),
    ("   ", None),
    ("\n\t", None),
    ("x +", "x +"),
    ("1/0", "1/0"),
    ("x/(x - x)", "x/(x-x)"),
    ("sin", "sin"),
    ("sin(x, y)", "sin"),
    ("sin(x=1)", "sin"),
    ("x if x else 1", "if"),
    ("[x]", "[x]"),
    ("'text'", "text"),
    ("True", "True"),
    ("None", "None"),
    ("x @ x", "@"),
    ("x // 2", "//"),
    ("x % 2", "%"),
    ("f'{x}'", "f'{x}'"),
    ("1j", "1j"),
    ("x < 1", "<"),
    ("x and 1", "and"),
    ("_x", "_x"),
    ("exp(x)(2)", "exp(x)"),
    ("sin.__call__(x)", "__call__"),
    ("x**(10**7)", "10**7"),
    ("1e999", "1e999"),  # not finite: the message should show the number as written
    # powers of any constant base are bounded (these escaped as repr's 4300-digit ValueError and as
    # an OverflowError in the compiler)
    ("sqrt(3)**999999*x", "sqrt(3)**999999"), ("pi**1000000*x", "pi**1000000"),
    # a power near 1 is small, but its exact fraction is not: 9 million digits took 25-36 s to refuse
    ("(1+1e-9)**999999*x", "(1+1e-9)**999999"),
    # names of what is not a finite real number, which used to become variables (nan(1.0) was 1.0)
    ("nan", "nan"), ("x + inf", "inf"), ("oo*x", "oo"), ("zoo", "zoo"), ("NaN*x", "NaN"),
    # non-ASCII: Python reads π and a Cyrillic х as new names; a lone surrogate cannot be encoded
    ("π*x", "'pi'"), ("\u0445**2", "U+0445"), ("x\udcff", "U+DCFF"), ("2\u2212x", "'-'"), ("x²", "'**2'"),
]


@pytest.mark.parametrize("text, token", HOSTILE, ids=lambda v: repr(v)[:30] if isinstance(v, str) else None)
def test_hostile_text_is_refused_fast_naming_the_token(text, token):
    err = refused(text)
    message = str(err)
    assert message
    if token is not None:
        assert squash(token) in squash(message), message


@pytest.mark.parametrize("text", [
    "+".join(f"{k}.5*x" for k in range(1000)),  # 7,889 characters: 12 s when every node's text was looked up
    "+".join(["sin(x)"] * 1428),  # 9,995 characters, just under the length limit
    "+".join(["sin(x)"] * 1428) + "+",  # refused, at the very end
], ids=["numbers", "sines", "refused"])
def test_long_text_parses_or_is_refused_without_hanging(text):
    # A guard against a hang, not a benchmark: parsing took time quadratic in the length (36 s
    # for 4,000 characters of some formulas); it is linear now, well under a second here.
    start = time.perf_counter()
    try:
        parse(text)
    except td.ParseError:
        pass
    assert time.perf_counter() - start < 5


@pytest.mark.parametrize("text", ["1if x else 2", "1or x", "2in x", "x is 1"])
def test_refusals_do_not_leak_python_syntax_warnings(text):
    # Python warns about these (e.g. "invalid decimal literal") while parsing; a formula parser
    # should report one ParseError, not leak warnings about Python source code to its user.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        refused(text)
    assert [str(w.message) for w in caught] == []


def test_unknown_function_message_names_it():
    assert "foo" in str(refused("foo(x)"))
    assert "open" in str(refused("open('f')"))


def test_unknown_name_when_variables_are_given():
    err = refused("y", variables=("x",))
    assert "'y'" in str(err)
    err = refused("x + y*z", variables=("x", "y"))
    assert "'z'" in str(err)


def test_function_of_hostile_text_raises_parse_error():
    for text in ("__import__('os')", "x.__class__", "9**9**9", "foo(x)", ""):
        with pytest.raises(td.ParseError):
            td.function(text)


@pytest.mark.parametrize("text", ["0**-1", "0.0**-1", "(x - x)**-1", "0**(-2)"])
def test_power_of_zero_with_negative_exponent_is_division_by_zero(text):
    # "1/0" is refused; 0**-1 is the same division by zero and must not come back as SymPy's zoo.
    refused(text)


@pytest.mark.parametrize("source", ["0**x", "0.0**x", "0**(x**2 + 1)", "(-2)**x", "(-1.5)**sin(x)",
                                    sp.Float(0.0) ** sp.Symbol("x"), sp.Integer(-3) ** sp.Symbol("x"),
                                    lambda x: 0.0**x, lambda x: np.power(-2.0, x)])
def test_a_constant_base_at_most_zero_to_a_variable_power_is_refused(source):
    # 0.0**x at 0.174 was NaN by symbolic (0**x·log(0)) and complex step, 0 by automatic and numeric
    with pytest.raises(td.TridiffError, match="variable exponent"):
        td.derivative(source)


@pytest.mark.parametrize("text", ["0**2*x", "x**0", "2**x", "0.5**x", "(x - 1)**x"])
def test_other_powers_stay(text):
    td.derivative(text)


@pytest.mark.parametrize("text", ["sqrt(-1)", "log(0)", "(-1)**0.5", "x + sqrt(-4)", "x*log(0)"])
def test_constants_that_are_not_finite_reals_fail_as_tridiff_errors(text):
    # sympy.I or zoo given as a SymPy expression is refused with a TridiffError; text that folds
    # to them must not escape as another exception (NaN values would be acceptable too).
    try:
        f = td.function(text)
    except td.TridiffError:
        return
    try:
        values = f(np.array([1.0, 2.0]))
    except td.TridiffError:
        return
    assert np.all(np.isnan(values))


def _balanced_product(factors):
    while len(factors) > 1:
        factors = [f"({a}*{b})" for a, b in zip(factors[::2], factors[1::2])] + (
            [factors[-1]] if len(factors) % 2 else [])
    return factors[0]


@pytest.mark.parametrize(
    "text",
    [
        "sqrt(9**4000 + 1)",  # 17 characters; SymPy tries to factor a 3817-digit integer
        "exp(log(9**4000 + 1)/3)",
        _balanced_product(["9**10000"] * 600),  # each factor within the digit limit; their product not
    ],
    ids=["sqrt-of-huge-integer", "cube-root-via-exp-log", "balanced-product"],
)
def test_huge_exact_numbers_do_not_hang(text):
    # parsing.py promises "sizes are bounded before SymPy sees them, so hostile text fails fast".
    assert len(text) < 10_000
    start = time.perf_counter()
    with hard_stop():
        try:
            parse(text)
        except td.ParseError:
            pass
    elapsed = time.perf_counter() - start
    assert elapsed < FAST, f"parsing {text[:30]!r} took {elapsed:.2f} s"


# -- property tests ----------------------------------------------------------------------------

ATOM, POWER, UNARY, PRODUCT, SUM = 5, 4, 3, 2, 1

DECIMALS = [
    ("0.5", sp.Rational(1, 2)),
    ("0.1", sp.Rational(1, 10)),
    ("2.25", sp.Rational(9, 4)),
    ("1e-3", sp.Rational(1, 1000)),
    ("1.5e2", sp.Integer(150)),
    (".75", sp.Rational(3, 4)),
]
CALLS = [("sin", sp.sin), ("cos", sp.cos), ("exp", sp.exp), ("abs", sp.Abs), ("sqrt", sp.sqrt), ("log", sp.log)]
BINARY = {"+": (SUM, lambda a, b: a + b), "-": (SUM, lambda a, b: a - b),
          "*": (PRODUCT, lambda a, b: a * b), "/": (PRODUCT, lambda a, b: a / b)}

# A node is (text, precedence of its top operator, the SymPy expression built directly).
_leaves = st.one_of(
    st.integers(0, 12).map(lambda n: (str(n), ATOM, sp.Integer(n))),
    st.sampled_from(DECIMALS).map(lambda d: (d[0], ATOM, d[1])),
    st.just(("x", ATOM, X)),
    st.sampled_from([("pi", ATOM, sp.pi), ("e", ATOM, sp.E)]),
)


def _wrap(node, parens: bool) -> str:
    return f"({node[0]})" if parens else node[0]


def _binary(args):
    op, left, right, space = args
    prec, build = BINARY[op]
    # left-associative: the right operand needs parentheses at equal precedence
    text = f"{_wrap(left, left[1] < prec)}{space}{op}{space}{_wrap(right, right[1] <= prec)}"
    return text, prec, build(left[2], right[2])


def _power(args, op):
    base, exponent = args
    exp_node = (str(exponent), ATOM, sp.Integer(exponent)) if exponent >= 0 else (f"-{-exponent}", UNARY, sp.Integer(exponent))
    # ** binds tighter than unary minus on its left: -x**2 is -(x**2), so a negated base needs parentheses
    text = f"{_wrap(base, base[1] <= POWER)}{op}{_wrap(exp_node, exp_node[1] < POWER)}"
    return text, POWER, base[2] ** exp_node[2]


def _negate(node):
    return f"-{_wrap(node, node[1] < UNARY)}", UNARY, -node[2]


def _call(args):
    (name, build), node = args
    return f"{name}({node[0]})", ATOM, build(node[2])


def expressions(power_op: str = "**"):
    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(sorted(BINARY)), children, children, st.sampled_from(["", " "]))
            .filter(lambda a: not (a[0] == "/" and a[2][2] == 0))
            .map(_binary),
            st.tuples(children, st.integers(-3, 4))
            .filter(lambda a: a[1] >= 0 or a[0][2] != 0)
            .map(lambda a: _power(a, power_op)),
            children.map(_negate),
            st.tuples(st.sampled_from(CALLS), children).map(_call),
        ).filter(_real_where_constant)

    return st.recursive(_leaves, extend, max_leaves=10)


def _real_where_constant(node) -> bool:
    # The parser refuses a constant part that is not a finite real number (sqrt(cos(2))), even where
    # the whole would be real ((-sqrt(cos(2)))**2 = cos(2)): so must every part of the formulas drawn.
    value = node[2]
    return bool(value.free_symbols) or not (value.is_real is False or value.is_finite is False
                                            or value.has(sp.nan, sp.zoo, sp.I))


def _finite_real(expr) -> bool:
    return not expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I)


PROPERTY = settings(deadline=None, max_examples=150, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("power", ["**", "^"])  # x^2 must mean what x**2 means
@PROPERTY
@given(data=st.data())
def test_random_formulas_parse_to_the_expression_they_were_written_from(power, data):
    text, _, expected = data.draw(expressions(power))
    assume(_finite_real(expected))
    with hard_stop():
        got, symbols = parse(text)
    assert got == expected, f"{text!r}: got {got}, expected {expected}"
    # the variables are the names written, even where they cancel (x**0)
    assert symbols == ((X,) if re.search(r"\bx\b", text) else ())


FORMULA_ALPHABET = "x y 0123456789 +-*/^().,e pi sin cos exp abs sqrt log where <> _ [] ' : ="


def _parse_or_refuse(text):
    start = time.perf_counter()
    with hard_stop():
        try:
            expr, symbols = parse(text)
        except td.ParseError as err:
            assert str(err)
        else:
            assert isinstance(expr, sp.Expr)
            assert all(isinstance(s, sp.Symbol) and s.is_real for s in symbols)
    assert time.perf_counter() - start < FAST, f"{text[:40]!r} took too long"


@settings(deadline=None, max_examples=400, database=None)
@given(st.text(max_size=200))
def test_arbitrary_text_parses_or_raises_parse_error(text):
    _parse_or_refuse(text)


@settings(deadline=None, max_examples=400, database=None)
@given(st.text(alphabet=FORMULA_ALPHABET, max_size=60))
def test_formula_like_text_parses_or_raises_parse_error(text):
    _parse_or_refuse(text)


# -- never eval, never sympify -----------------------------------------------------------------

SAFE_TEXTS = [
    "exp(-2*x) + 3*sin(3*x)",
    "abs(x) + sin(x)*cos(x)",
    "0.1*x**2 + pi - e",
    "where(x > 0, x, 0)",
    "sqrt(x) + log(x) + atan2(x, y) + max(x, 1)",
]


def test_parser_never_evals_or_sympifies_text(monkeypatch):
    # Warm up with other formulas of the same functions so SymPy's lazy imports have run
    # (imports compile and exec module code, which the traps below would block).
    for text in SAFE_TEXTS:
        parse(text + " + 7*x")

    calls = []

    def trap(name):
        def trapped(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called on {args[:1]!r}")
        return trapped

    real_compile = builtins.compile

    def ast_only_compile(source, filename, mode, flags=0, *args, **kwargs):
        if not flags & ast.PyCF_ONLY_AST:  # ast.parse is allowed; compiling to code is not
            calls.append("compile")
            raise AssertionError(f"compile called on {source!r}")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    sympify_module = sys.modules["sympy.core.sympify"]
    real_sympify = sympify_module.sympify

    def sympify_no_text(arg, *args, **kwargs):
        if isinstance(arg, str):
            calls.append("sympify")
            raise AssertionError(f"sympify called on text {arg!r}")
        return real_sympify(arg, *args, **kwargs)

    import sympy.parsing.sympy_parser as sympy_parser

    monkeypatch.setattr(builtins, "eval", trap("eval"))
    monkeypatch.setattr(builtins, "compile", ast_only_compile)
    monkeypatch.setattr(sp, "sympify", sympify_no_text)
    monkeypatch.setattr(sympify_module, "sympify", sympify_no_text)
    monkeypatch.setattr(sp, "parse_expr", trap("parse_expr"))
    monkeypatch.setattr(sympy_parser, "parse_expr", trap("parse_expr"))

    # The traps work: each way of reading text as code is blocked.
    for attempt in (lambda: eval("1"), lambda: sp.sympify("x"), lambda: sp.parse_expr("x"),
                    lambda: compile("1", "<s>", "eval")):
        with pytest.raises(AssertionError):
            attempt()
    calls.clear()

    a, b = sp.Symbol("a", real=True), Y
    assert parse("exp(-2*x) + 3*sin(3*x)")[0] == sp.exp(-2 * X) + 3 * sp.sin(3 * X)
    assert parse("abs(x) + sin(x)*cos(x)")[0] == sp.Abs(X) + sp.sin(X) * sp.cos(X)
    assert parse("0.1*x**2 + pi - e")[0] == X**2 / 10 + sp.pi - sp.E
    assert parse("where(x > 0, x, 0)")[0] == sp.Piecewise((X, X > 0), (0, True))
    assert parse("sqrt(x) + log(x) + atan2(x, y) + max(x, 1)")[0] == (
        sp.sqrt(X) + sp.log(X) + sp.atan2(X, b) + sp.Max(X, 1))
    assert parse("a**2", variables=("a",))[0] == a**2
    with pytest.raises(td.ParseError):
        parse("__import__('os').system('true')")
    assert calls == []


def test_heaviside_value_at_zero_must_be_a_number():
    with pytest.raises(td.TridiffError, match="needs a number as h0"):
        td.function("heaviside(x, x)")
    assert td.function("heaviside(x, 1)")(0.0) == 1.0


@pytest.mark.parametrize("text, digits", [("gamma(1e30)", 1), ("gamma(1e308)", 1), ("gamma(10**6)", 1),
                                          ("polygamma(1000, 2)", 1)])
def test_constants_of_gamma_beyond_float64_are_refused_fast(text, digits):
    # gamma(1e30) computed (10^30 - 1)! exactly, for hours; gamma(1e308) raised RecursionError
    start = time.perf_counter()
    with hard_stop(), pytest.raises(td.ParseError, match="beyond float64's range"):
        parse(text)
    assert time.perf_counter() - start < FAST


@pytest.mark.parametrize("text, value", [
    ("psi(1e30)", lambda: mpmath.digamma(mpmath.mpf(10) ** 30)),  # a harmonic number of 10^30 terms
    ("polygamma(1, 10**5)", lambda: mpmath.psi(1, 10**5)),
    ("digamma(10**300)", lambda: mpmath.digamma(mpmath.mpf(10) ** 300)),
])
def test_constants_of_gamma_past_exact_evaluation_take_their_float_value(text, value):
    start = time.perf_counter()
    with hard_stop():
        expr, _ = parse(text)
    assert time.perf_counter() - start < FAST
    assert float(expr) == pytest.approx(float(value()), rel=1e-15)


def test_small_constants_of_gamma_stay_exact():
    assert parse("gamma(5)")[0] == 24
    assert parse("gamma(1/2)")[0] == sp.sqrt(sp.pi)
    assert parse("psi(1)")[0] == -sp.EulerGamma


@pytest.mark.parametrize("text", ["gamma(-1e30)", "psi(-10**40)"])
def test_constants_at_poles_of_gamma_are_refused(text):
    with pytest.raises(td.ParseError, match="not a finite real number"):
        parse(text)
