"""Text to SymPy by a whitelist: Python's own tokenizer and parser, never ``eval`` or ``sympify``.

The text is parsed into a Python syntax tree with :func:`ast.parse`, and each node is turned into
SymPy only if its kind is listed below; anything else (attribute access, subscripts, lambdas,
calls of names that are not records of :mod:`tridiff.primitives`) is refused with the offending token named.
Sizes are bounded before SymPy sees them, so hostile text fails fast instead of hanging.
"""

from __future__ import annotations

import ast
import math
import operator
import sys
import warnings

import sympy as sp

from ..errors import ParseError
from ..primitives import BY_TEXT, CONSTANTS

MAX_LENGTH = 10_000  # characters of text
MAX_DEPTH = 100  # nesting of parentheses and calls (a long flat sum is not deep)
MAX_DIGITS = 400  # digits of an exact number: float64 ends near 1e308 anyway

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_CHAINS = {ast.Add: (ast.Add, ast.Sub), ast.Sub: (ast.Add, ast.Sub), ast.Mult: (ast.Mult, ast.Div), ast.Div: (ast.Mult, ast.Div)}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARE = {ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Lt: sp.Lt, ast.LtE: sp.Le}
_SYMBOL_OF = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.BitXor: "^",
    ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
    ast.LShift: "<<", ast.RShift: ">>", ast.Not: "not", ast.Invert: "~",
}


def _excerpt(text: str, column: int, width: int = 60) -> str:
    """``text`` quoted, or the ``width`` characters around ``column`` of a long one (a message
    quotes where the formula went wrong, not all of it)."""
    if len(text) <= width:
        return repr(text)
    start = max(0, min(column - 1 - width // 2, len(text) - width))
    return ("…" if start else "") + repr(text[start:start + width]) + ("…" if start + width < len(text) else "")


def parse(text: str, variables: tuple[str, ...] | None = None) -> tuple[sp.Expr, tuple[sp.Symbol, ...]]:
    """Parse ``text`` into a SymPy expression over real symbols.

    Args:
        text: a formula such as ``"exp(-2*x) + 3*sin(3*x)"``.
        variables: the variable names in order; by default every free name, sorted.

    Returns:
        ``(expr, symbols)``.

    >>> parse("x**3")
    (x**3, (x,))
    """
    if not isinstance(text, str):
        raise ParseError(f"expected a formula as text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"formula is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ParseError("formula is empty: write an expression such as 'x**2'")
    _check_ascii(text)
    source = text.strip().replace("^", "**")  # x^2 is how people write powers
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "invalid decimal literal": the error says it
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise ParseError(f"cannot read {_excerpt(text, err.offset or 1)}{where}: {err.msg}") from None
    except (RecursionError, MemoryError):
        raise ParseError(f"formula is nested more deeply than {MAX_DEPTH} levels") from None
    names = _free_names(tree)
    reserved = sorted(names & NOT_NUMBERS)
    if reserved:
        raise ParseError(f"{reserved[0]!r} is not allowed in a formula: tridiff differentiates finite real functions, "
                         "so infinities and NaN are not numbers it takes (and they do not make good variable names)")
    if variables is None:
        variables = tuple(sorted(names))
    else:
        variables = tuple(variables)
        unknown = sorted(names - set(variables))
        if unknown:
            raise ParseError(
                f"unknown name {unknown[0]!r}: the variables are {', '.join(variables)}; "
                "pass variables=... to add it"
            )
    symbols = {name: sp.Symbol(name, real=True) for name in variables}
    return _Builder(symbols, source).build(tree.body, 0), tuple(symbols.values())


def _free_names(tree: ast.AST) -> set[str]:
    """Names used as values (not called, not constants): these are the variables."""
    called = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in called and node.id not in CONSTANTS
        and node.id not in BY_TEXT and node.id != "where" and not node.id.startswith("_")
    }


class _Builder:
    def __init__(self, symbols: dict[str, sp.Symbol], source: str):
        self.symbols = symbols
        self.lines = source.splitlines(keepends=True)  # once: slicing a node's text is then O(its length)

    def build(self, node: ast.AST, depth: int):
        if depth > MAX_DEPTH:
            raise ParseError(f"formula is nested more deeply than {MAX_DEPTH} levels")
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise ParseError(f"{_describe(node)} is not allowed in a formula")
        return _checked(method(node, depth + 1), node, self)

    def text_of(self, node: ast.AST) -> str:
        """The text of ``node`` as written (the source is ASCII: its columns count characters)."""
        lines = self.lines[node.lineno - 1:node.end_lineno]
        if len(lines) == 1:
            return lines[0][node.col_offset:node.end_col_offset]
        return "".join([lines[0][node.col_offset:], *lines[1:-1], lines[-1][:node.end_col_offset]])

    def _Constant(self, node, depth):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParseError(f"{_describe(node)} is not allowed in a formula; use numbers")
        literal = self.text_of(node).replace("_", "")
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ParseError(f"number {literal} is too large for a float (not finite)")
            if abs(value) > 10**MAX_DIGITS:
                raise ParseError(f"number {literal} has more than {MAX_DIGITS} digits")
            return sp.Rational(literal)  # exact decimal as written: 0.1 means 1/10
        if value.bit_length() > MAX_DIGITS * 3.33:
            raise ParseError(f"number {literal[:20]}... has more than {MAX_DIGITS} digits")
        return sp.Integer(value)

    def _Name(self, node, depth):
        name = node.id
        if name.startswith("_"):
            raise ParseError(f"name {name!r} is not allowed: names starting with '_' are reserved")
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in BY_TEXT or name == "where":
            raise ParseError(f"{name!r} is a function: write {name}(...)")
        return self.symbols[name]

    def _UnaryOp(self, node, depth):
        op = _UNARY.get(type(node.op))
        if op is None:
            raise ParseError(f"operator {_SYMBOL_OF.get(type(node.op), '?')!r} is not allowed in a formula")
        return op(self.build(node.operand, depth))

    def _BinOp(self, node, depth):
        # a + b + c + ... is a left-leaning chain in Python's tree: walk it without recursing,
        # so a long flat sum or product does not count as deep nesting.
        chain = [node]
        while isinstance(chain[-1].left, ast.BinOp) and type(chain[-1].left.op) in _CHAINS.get(type(node.op), ()):
            chain.append(chain[-1].left)
        value = self.build(chain[-1].left, depth)
        for link in reversed(chain):
            value = _checked(self._apply(link, value, self.build(link.right, depth)), link, self)
        return value

    def _apply(self, node, left, right):
        op = _BINARY.get(type(node.op))
        if op is None:
            symbol = _SYMBOL_OF.get(type(node.op), type(node.op).__name__)
            raise ParseError(f"operator {symbol!r} is not allowed in a formula")
        if op is operator.pow:
            _check_power(left, right, self.text_of(node))
        if op is operator.truediv and right == 0:
            raise ParseError(f"division by zero in {self.text_of(node)!r}")
        return op(left, right)

    def _Call(self, node, depth):
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"{_describe(node.func)} cannot be called: only known functions such as sin(x)")
        name = node.func.id
        if node.keywords:
            raise ParseError(f"{name}() takes no keyword arguments")
        if name == "where":
            return self._where(node, depth)
        record = BY_TEXT.get(name)
        if record is None:
            known = ", ".join(sorted(BY_TEXT))
            raise ParseError(f"unknown function {name!r}; known functions: {known}, where")
        if len(node.args) not in record.arities:
            counts = " or ".join(map(str, record.arities))
            raise ParseError(f"{name}() takes {counts} argument(s), got {len(node.args)}")
        args = [self.build(arg, depth) for arg in node.args]
        limit = record.exact_limit
        if limit is not None and not any(a.free_symbols for a in args) and any(abs(a) > limit for a in args):
            return _float_value(record, args, self.text_of(node))
        return record.build(*args)

    def _where(self, node, depth):
        # where(cond, a, b) as in NumPy: a where cond holds, else b.
        if len(node.args) != 3:
            raise ParseError(f"where() takes 3 arguments (condition, if_true, if_false), got {len(node.args)}")
        cond, yes, no = node.args
        if not isinstance(cond, ast.Compare) or len(cond.ops) != 1 or type(cond.ops[0]) not in _COMPARE:
            raise ParseError("where() needs a single comparison with <, <=, > or >= as its condition")
        relation = _COMPARE[type(cond.ops[0])](self.build(cond.left, depth), self.build(cond.comparators[0], depth))
        return sp.Piecewise((self.build(yes, depth), relation), (self.build(no, depth), True))


def _float_value(record, args, text: str) -> sp.Float:
    """The value of a constant call too costly to evaluate exactly (see ``Primitive.exact_limit``),
    by mpmath: gamma(1e30) has 2.9e31 digits, ψ(1e30) is a harmonic number of 1e30 terms."""
    digits = 20 + max(len(str(int(abs(a)))) for a in args)  # to tell -1e30 - 0.5 from a pole
    try:
        with sp.evaluate(False):
            value = record.build(*args).evalf(digits)
    except (ValueError, ZeroDivisionError):  # mpmath at a pole
        value = sp.nan
    if not (value.is_real and value.is_finite):
        raise ParseError(f"{text!r} is not a finite real number")
    if abs(value) > sys.float_info.max:
        raise ParseError(f"{text!r} is beyond float64's range (±1.8e308)")
    return sp.Float(value, 17)


def _check_power(base, exponent, text: str) -> None:
    """Refuse powers whose exact value would be absurdly large (``9**9**9``) before computing them,
    and powers that are not real functions (see :func:`check_base`)."""
    check_base(base, exponent, text)
    if base == 0 and exponent.is_Number and exponent < 0:
        raise ParseError(f"division by zero in {text!r}")
    if not base.free_symbols and exponent.is_Number and base not in (0, 1, -1):
        # any constant base, not only numbers: sqrt(3)**999999 and pi**1000000 are as large
        try:
            size = abs(float(exponent)) * abs(math.log10(abs(float(base))))
            if base.is_Rational:  # exactly p**n / q**n: (1 + 1e-9)**999999 is near 1 in 9 million digits
                size = max(size, abs(float(exponent)) * math.log10(max(abs(base.p), base.q)))
        except (OverflowError, ValueError, TypeError):
            size = math.inf
        if size > MAX_DIGITS:
            raise ParseError(f"power {text!r} is too large to compute exactly ({size:,.0f} digits; "
                             f"the limit is {MAX_DIGITS})")
    if exponent.is_Number and abs(exponent) > 1_000_000:
        raise ParseError(f"exponent in {text!r} is too large (limit 10^6)")


def check_base(base, exponent, text: str) -> None:
    """Refuse a constant base ≤ 0 to a variable power: 0**x is 0 for x > 0 and infinite for x < 0,
    so its derivative 0**x·log(0) is NaN even where f' = 0; (-2)**x is not real but at integers."""
    if exponent.free_symbols and not base.free_symbols and base.is_nonpositive:
        why = ("is 0 where the exponent is positive and infinite where it is negative: write what it stands "
               "for, such as where(x > 0, 0, 1)" if base.is_zero else "is real only at integer exponents")
        raise ParseError(f"{text!r}: a power of {base} to a variable exponent {why}")


def _checked(value, node: ast.AST, builder: _Builder):
    """Refuse a part of the formula that is a constant but not a finite real number, or too big.

    The part's text is looked up only to name it in an error: taking it for every node made
    parsing quadratic in the length of the formula."""
    if isinstance(value, sp.Basic) and not value.free_symbols and not value.is_Relational:
        if value.is_real is False or value.is_finite is False or value.has(sp.nan, sp.zoo, sp.I):
            raise ParseError(f"{builder.text_of(node)!r} is not a finite real number")
        if value.is_Rational and max(abs(value.p), value.q).bit_length() > MAX_DIGITS * 3.33:
            raise ParseError(f"{builder.text_of(node)[:40]!r} has more than {MAX_DIGITS} digits")
    return value


#: Names that SymPy or NumPy users write for what is not a finite real number.
NOT_NUMBERS = frozenset({"nan", "NaN", "inf", "Inf", "infinity", "Infinity", "oo", "zoo"})
#: What to write instead of a few characters people paste from typeset mathematics.
_ASCII_FOR = {"π": "pi", "−": "-", "×": "*", "·": "*", "÷": "/", "²": "**2", "³": "**3", "√": "sqrt",
              "ℯ": "e"}


def _check_ascii(text: str) -> None:
    """Formulas are ASCII: a Greek π or a Cyrillic х would otherwise be read as a new variable
    (Python accepts them as names), and a lone surrogate cannot even be encoded."""
    for column, char in enumerate(text, 1):
        if not char.isascii():
            hint = f": write {_ASCII_FOR[char]!r}" if char in _ASCII_FOR else ": formulas are written in ASCII"
            raise ParseError(f"character {char!r} (U+{ord(char):04X}) at column {column} is not allowed{hint}")


def _source(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (RecursionError, ValueError):
        return type(node).__name__


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Lambda: "lambda",
        ast.Compare: "a comparison (only inside where())", ast.BoolOp: "and/or", ast.IfExp: "if/else",
        ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
        ast.NamedExpr: "assignment (:=)", ast.Starred: "unpacking (*)", ast.JoinedStr: "an f-string",
        ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator", ast.Await: "await",
    }
    kind = kinds.get(type(node), type(node).__name__)
    return f"{kind} {_source(node)[:40]!r}"
