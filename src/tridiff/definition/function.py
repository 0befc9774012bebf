"""One definition of f: text, a SymPy expression or a Python callable, as a :class:`Function`."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Callable

import numpy as np
import sympy as sp

from ..compiler.backends import JAX, NUMPY, Backend
from ..compiler.chunked import as_chunked, is_lazy, map_rows, map_values
from ..compiler.lowering import Lowering
from ..compiler.runner import elementwise, x64
from ..errors import BranchingError, TraceError, TridiffError
from ..primitives import BY_HEAD
from .parsing import check_base, parse
from .points import as_points, as_rows
from .tracing import constant, trace_numpy


@dataclass(frozen=True)
class KernelKey:
    """Which compiled kernel of a Function: what it computes, for which derivative options."""

    use: str  # "values" (f itself), "fast" (d(x)), "rich" (d.evaluate(x)) or "step study"
    method: str | None = None
    order: int = 0
    scheme: str | None = None
    accuracy: int | None = None
    step: float | None = None


@dataclass
class Cache:
    """What a Function has built, kept for its later calls."""

    derivatives: dict[int, tuple | Exception] = field(default_factory=dict)  # (f, f', …, f^(n)) by n, or why not
    switches: dict[int, tuple] = field(default_factory=dict)  # by how many of (f, f', …) they are from
    kernels: dict[KernelKey, Callable] = field(default_factory=dict)

    def kernel(self, key: KernelKey, build: Callable[[], Callable]) -> Callable:
        """The kernel for ``key``, built by ``build()`` the first time it is asked for."""
        if key not in self.kernels:
            self.kernels[key] = build()
        return self.kernels[key]


@dataclass(frozen=True, eq=False)
class Function:
    """f, defined once; differentiate it with :func:`tridiff.derivative`.

    Attributes:
        expr: the SymPy expression over real symbols, or None when f has no formula (a callable
            that branches on its argument's value): then only the numeric method applies.
        variables: the variables, in order.
        kind: how f was given: "text", "sympy", "numpy" (a callable), "jax" (a jax.numpy callable),
            "program" (a smooth jax.numpy function of a vector too large to trace into a formula:
            automatic and numeric derivatives only) or "opaque" (a callable with no formula).
        source: the callable, the text or the expression f came from.
        opaque_reason: why a callable has no formula.

    >>> import tridiff as td
    >>> f = td.function("x**2")
    >>> f([1, 2, 3])
    array([1., 4., 9.])
    """

    expr: sp.Expr | None
    variables: tuple[sp.Symbol, ...]
    kind: str
    source: object = None
    opaque_reason: str | None = None
    cache: Cache = field(default_factory=Cache, repr=False, compare=False)
    #: a callable of one parameter given without ``variables=``: read as a function of one number, and
    #: by a gradient, Jacobian or Hessian as one of a vector too, its length taken from the points
    vector_from_points: bool = False

    @cached_property
    def names(self) -> tuple[str, ...]:
        """The variables' names, in order (kept: a function of a vector may have 10^5)."""
        return names_of(self.variables)

    @property
    def symbol(self) -> sp.Symbol:
        """The one variable of f."""
        if len(self.variables) != 1:
            names = ", ".join(v.name for v in self.variables)
            raise TridiffError(f"f has variables ({names}); this operation needs a function of one variable")
        return self.variables[0]

    def __str__(self) -> str:
        return str(self.expr) if self.expr is not None else getattr(self.source, "__name__", repr(self.source))

    def _repr_latex_(self) -> str | None:
        return f"$\\displaystyle {sp.latex(self.expr)}$" if self.expr is not None else None

    def fresh(self) -> Function:
        """f with empty caches (derivatives, compiled kernels): for timing setup from scratch."""
        return replace(self, cache=Cache())

    def program(self, backend: Backend = JAX) -> Callable:
        """f as an elementwise function of one array per variable, compiled from its formula to
        ``backend``'s arrays (a "program" function: JAX's only).

        jax.numpy code too runs as the program read from its jaxpr, so that every function gets
        the same lowering rules (such as tanh's stable derivative); only a "program" function
        (a smooth jax.numpy function of a long vector, with no formula) runs as written.
        """
        if self.kind == "program":
            import jax
            import jax.numpy as jnp

            return lambda *xs: jax.vmap(self.source)(jnp.stack(xs, axis=-1))
        expr, variables = self.expr, self.variables
        return lambda *xs: Lowering(dict(zip(variables, xs)), backend=backend).array(expr, xs[0])

    def numpy_values(self, *xs: np.ndarray) -> np.ndarray:
        """f on flat float arrays (one per variable) via the original callable (for f with no formula)."""
        return _call_pointwise(self.source, *xs)

    def __reduce__(self):
        # A Function travels to another process (a Dask worker) by its definition: its compiled
        # kernels do not pickle, and the process that receives it rebuilds it once (see _rebuilt).
        names = None if self.vector_from_points else self.names
        return _rebuilt, (self.source if isinstance(self.source, (str, sp.Basic)) else _pickled(self.source), names)

    def __call__(self, xs):
        """f at the points ``xs``: any shape for one variable; shape (..., n) for n variables.
        A Dask array gives a lazy Dask array of the same chunks."""
        if is_lazy(xs):
            xs = as_chunked(xs)
            return map_rows(self, xs, ()) if len(self.variables) > 1 else map_values(self, xs)
        if len(self.variables) > 1:
            return self._at_rows(xs)
        pts = as_points(xs)
        if pts.flat.size == 0:
            return pts.shaped(np.empty(0, pts.flat.dtype))
        if self.expr is None:
            return pts.shaped(self.numpy_values(pts.flat))
        kernel = self.cache.kernel(KernelKey("values"), lambda: elementwise(self.program(), self.program(NUMPY)))
        return pts.shaped(kernel(pts.flat))

    def _at_rows(self, points):
        rows = as_rows(points, self.names)
        cols = rows.table.T
        if rows.table.shape[0] == 0:
            return rows.shaped(np.empty(0, cols.dtype))
        if self.expr is None and self.kind != "program":
            return rows.shaped(self.numpy_values(*cols))
        kernel = self.cache.kernel(KernelKey("values"), self._rows_kernel)
        return rows.shaped(kernel(rows.table))

    def _rows_kernel(self) -> Callable:
        if self.kind == "program":  # a program of a vector takes the rows as they are, in JAX
            import jax

            return elementwise(jax.vmap(self.source))
        # a formula takes one column per variable
        program, in_numpy = self.program(), self.program(NUMPY)
        return elementwise(lambda table: program(*table.T), lambda table: in_numpy(*table.T))


@lru_cache(maxsize=256)
def _rebuilt(source, variables) -> Function:
    """The Function of ``source`` (a text, a formula, or a callable's pickled bytes) in this process,
    made once: a Dask worker gets one per task, and they share it, and its compiled kernels, by this.
    (A callable would arrive as a new object with each task, and be traced again; its bytes do not.)"""
    return function(pickle.loads(source) if isinstance(source, bytes) else source, variables)


def _pickled(fn: Callable) -> bytes:
    """A callable's bytes: cloudpickle's (by value where it has no importable name: a lambda), which
    Dask brings along; plain pickle's (by name) without it."""
    try:
        import cloudpickle
    except ImportError:
        return pickle.dumps(fn)
    return cloudpickle.dumps(fn)


def function(source, variables=None) -> Function:
    """Make a :class:`Function` from text, a SymPy expression, or a Python callable.

    Args:
        source: ``"exp(-2*x) + 3*sin(3*x)"`` (parsed by a whitelist, never evaluated), a SymPy
            expression, or a callable of one number written with operators, NumPy or jax.numpy.
            A Function is returned as it is.
        variables: names of the variables in order (default: the free names, sorted; for a
            callable, its parameters' names). For a callable of one vector, its length n (the
            variables are then x0 … x{n-1}) or n names.

    >>> function("abs(x) + sin(x)*cos(x)").expr
    sin(x)*cos(x) + Abs(x)
    """
    if isinstance(source, Function):
        return source
    if isinstance(variables, bool) or (isinstance(variables, int) and not callable(source)):
        raise TridiffError("variables=n (a number) is for a Python function of one vector; name the variables")
    if variables is not None and not isinstance(variables, int):
        variables = (variables,) if isinstance(variables, str) else tuple(str(v) for v in variables)
    if isinstance(source, str):
        return _from_text(source, variables)
    if isinstance(source, sp.Basic):
        return _from_sympy(source, variables)
    if isinstance(source, (int, float, np.integer, np.floating)) and not isinstance(source, bool):
        return _from_sympy(constant(source), variables)
    if callable(source):
        return _from_callable(source, variables)
    raise TridiffError(
        f"cannot make a function from {type(source).__name__}: pass text such as 'x**2', "
        "a SymPy expression, or a Python function of x"
    )


@lru_cache(maxsize=256)
def _from_text(text: str, variables) -> Function:
    expr, symbols = parse(text, variables)
    return Function(expr, symbols or (sp.Symbol("x", real=True),), "text", text)


def _from_sympy(expr: sp.Basic, variables) -> Function:
    if not isinstance(expr, sp.Expr):
        raise TridiffError(f"a SymPy expression is needed, got {type(expr).__name__}: {expr}")
    names = variables or sorted(s.name for s in expr.free_symbols) or ["x"]
    extra = sorted({s.name for s in expr.free_symbols} - set(names))
    if extra:
        raise TridiffError(f"unknown name {extra[0]!r}: the variables are {', '.join(names)}")
    symbols = tuple(sp.Symbol(name, real=True) for name in names)
    by_name = dict(zip(names, symbols))
    expr = expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})
    check_supported(expr)
    return Function(expr, symbols, "sympy", expr)


def check_supported(expr: sp.Expr) -> None:
    """Refuse SymPy functions tridiff cannot compile, and constants that are not finite reals."""
    for node in sp.preorder_traversal(expr):
        if not node.free_symbols and isinstance(node, sp.Expr) and (
            node.is_real is False or node.is_finite is False or node.has(sp.nan, sp.zoo, sp.I)
        ):
            raise TridiffError(f"{node} in {expr} is not a finite real number")
        if node.is_Pow:
            check_base(node.base, node.exp, str(node))
        if isinstance(node, (sp.Derivative, sp.Integral, sp.Subs)):
            raise TridiffError(f"unevaluated {type(node).__name__} in {expr}: evaluate it first (.doit())")
        if isinstance(node, sp.Function) and node.func not in BY_HEAD and node.func is not sp.Piecewise:
            raise TridiffError(f"SymPy function {node.func.__name__} is not supported by tridiff")


def _from_callable(fn: Callable, variables) -> Function:
    found = trace_callable(fn, variables)
    if isinstance(found.expr, tuple):
        raise TridiffError(f"the function returns a vector of {len(found.expr)} values: use td.jacobian for it")
    return Function(found.expr, found.symbols, found.kind, fn, found.reason,
                    vector_from_points=variables is None and one_parameter(fn))


def one_parameter(fn: Callable) -> bool:
    """Whether ``fn`` takes one argument: f(x) of a number, or (to a gradient given no
    ``variables=``) f(v) of a vector."""
    try:
        names, vector = _parameter_names(fn, None)
    except TridiffError:
        return False
    return len(names) == 1 and not vector


class Symbols(Sequence):
    """The variables of a function of a long vector: real SymPy symbols, made when first asked for.

    A program of 10^5 variables (no formula) never asks: making them took a second.

    >>> v = Symbols(["x0", "x1"])
    >>> v.names, list(v)
    (('x0', 'x1'), [x0, x1])
    """

    def __init__(self, names):
        self.names = tuple(names)
        self._made: tuple[sp.Symbol, ...] | None = None

    def _symbols(self) -> tuple[sp.Symbol, ...]:
        if self._made is None:
            self._made = tuple(sp.Symbol(name, real=True) for name in self.names)
        return self._made

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i):
        return self._symbols()[i]

    def __iter__(self):
        return iter(self._symbols())

    def __eq__(self, other) -> bool:
        return self.names == names_of(other) if isinstance(other, (Symbols, tuple)) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.names)


def names_of(variables) -> tuple[str, ...]:
    """The names of a sequence of variables, without making the symbols of a :class:`Symbols`."""
    return variables.names if isinstance(variables, Symbols) else tuple(v.name for v in variables)


@dataclass(frozen=True)
class Reading:
    """What tracing a callable found: its formula, or why it has none.

    Attributes:
        expr: the formula; a tuple of them for a vector-valued callable; None when there is none.
        symbols: the variables.
        kind: "numpy" or "jax" (the tracer that read it), "program" (no formula, but a smooth
            jax.numpy program) or "opaque".
        reason: why there is no formula (None when there is one).
    """

    expr: sp.Expr | tuple | None
    symbols: tuple[sp.Symbol, ...]
    kind: str
    reason: str | None = None


def trace_callable(fn: Callable, variables) -> Reading:
    """Read a callable (NumPy code first, then jax.numpy) into a formula, or say why it has none."""
    names, vector = _parameter_names(fn, variables)
    if vector and len(names) > MAX_SYMBOLIC:
        return _without_formula(fn, Symbols(names), f"f has {len(names)} variables, more than the "
                                                    f"{MAX_SYMBOLIC} tridiff traces into a formula")
    symbols = tuple(sp.Symbol(name, real=True) for name in names)
    errors, expr = {}, None
    for kind, trace in (("numpy", trace_numpy), ("jax", _trace_jax)):
        try:
            expr = trace(fn, symbols, vector)
            break
        except BranchingError as err:
            if isinstance(errors.get("numpy"), TraceError):
                # JAX cannot make a value of its tracer concrete (math.log(x)): the float() NumPy's tracer
                # has already named, with better advice than "branches on x"
                break
            return Reading(None, symbols, "opaque", str(err))
        except Exception as err:  # noqa: BLE001 - user code may raise anything while traced
            errors[kind] = err
    if expr is None:  # a TraceError from JAX's trace: fn is jax.numpy code, say what stopped that
        _check_callable(fn, len(names), vector, errors)
        err = errors.get("jax") if isinstance(errors.get("jax"), TraceError) else errors["numpy"]
        reason = err if isinstance(err, TraceError) else f"{type(err).__name__}: {err}"
        if vector:
            return _without_formula(fn, symbols, f"cannot trace it into a formula: {reason}")
        return Reading(None, symbols, "opaque", f"cannot trace the function: {reason}")
    for e in expr if isinstance(expr, tuple) else (expr,):
        check_supported(e)
    return Reading(expr, symbols, kind)


def _trace_jax(fn: Callable, symbols, vector: bool):
    from .jaxpr import trace_jax  # JAX is imported only for a callable that is not NumPy code

    return trace_jax(fn, symbols, vector)


MAX_SYMBOLIC = 200  # variables of a function of a vector traced into SymPy: more would be slow
MAX_VECTOR = 10**7


def _without_formula(fn: Callable, symbols, why: str) -> Reading:
    """A function of a vector with no formula: a "program" if its jax.numpy program is smooth or
    switches only where tridiff can watch it (automatic differentiation then needs no formula), else
    opaque, saying why."""
    from .jaxpr import program_reason

    rough = program_reason(fn, len(symbols))
    return Reading(None, symbols, "program", why) if rough is None else Reading(None, symbols, "opaque",
                                                                                 f"{why}; {rough}")


def _parameter_names(fn: Callable, variables) -> tuple[tuple[str, ...], bool]:
    """The variables' names, and whether fn takes them as one vector: one variable per required
    positional parameter, named like it; or, for a one-parameter fn given ``variables`` = n or n > 1
    names, a vector of n (x0, x1, … by default)."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):  # builtins such as np.sin have no signature
        params = None
    name = getattr(fn, "__name__", "the function")
    if isinstance(variables, int):
        if not 1 <= variables <= MAX_VECTOR:
            raise TridiffError(f"a function of a vector needs 1 to {MAX_VECTOR} variables, got {variables}")
        variables = tuple(f"x{i}" for i in range(variables))
        if params is not None and len(params) != 1:
            raise TridiffError(f"{name} takes {len(params)} arguments: variables=n is for a function of one vector")
        return variables, True
    if variables:
        if params is not None and len(params) == 1 and len(variables) > 1:
            return tuple(variables), True
        if params is not None and len(params) != len(variables):
            raise TridiffError(f"{name} takes {len(params)} argument(s) "
                               f"but {len(variables)} variable(s) were named: {', '.join(variables)}")
        return tuple(variables), False
    if params is None:
        return ("x",), False
    if not params:
        raise TridiffError(f"{name} takes no argument: write f(x) or f(x, y)")
    names = tuple(p.name for p in params)
    if len(names) == 1 and names[0].startswith("_"):
        return ("x",), False
    return names, False


#: What a user's code raises for an argument outside f's domain (math.log(-1), 1/0): f is not defined there.
_UNDEFINED_HERE = (ArithmeticError, ValueError)
#: What it raises whatever the argument, when the code itself is wrong.
_BROKEN = (NameError, AttributeError, ImportError, TypeError)


def _check_callable(fn: Callable, n: int, vector: bool, errors: dict) -> None:
    """Refuse, at td.function, a callable that both tracers failed on and that fails on plain numbers too,
    with an error that no argument explains (a NameError in a lambda): it would only fail later."""
    if not all(isinstance(e, _BROKEN) for e in errors.values()):
        return
    args = (np.full(n, 0.5),) if vector else (0.5,) * n
    try:
        with np.errstate(all="ignore"):
            fn(*args)
    except _BROKEN as err:
        raise TridiffError(f"calling the function on numbers raised {type(err).__name__}: {err}") from err
    except Exception:  # noqa: BLE001 - undefined at 0.5, say: not for td.function to judge
        pass


def _call_pointwise(fn: Callable, *xs: np.ndarray) -> np.ndarray:
    """Call fn on whole arrays if it is vectorised, else point by point (``None`` reads as NaN, and so does
    an argument fn refuses as outside its domain, such as math.log(-1)).

    jax.numpy code runs in float64 (JAX's own default is float32). The values come back in x's float
    type, or in fn's own where that is coarser (code written in float32), so that a difference
    quotient knows how precise they are."""
    x = xs[0]
    with np.errstate(all="ignore"), x64():
        try:
            out = np.asarray(fn(*xs))
            if out.shape == x.shape and out.dtype.kind in "biuf":
                return out.astype(_coarser(out.dtype, x.dtype))
        except Exception:  # noqa: BLE001 - e.g. `if x > 0` on an array: go point by point
            pass
        values = [_value_at(fn, v) for v in zip(*xs)]
    dtype = x.dtype
    for v in values:
        dtype = _coarser(np.asarray(v).dtype, dtype)
    return np.array(values, dtype=dtype)


def _coarser(dtype: np.dtype, like: np.dtype) -> np.dtype:
    """``dtype`` if it is a float type coarser than ``like``, else ``like`` (ints and bools are exact)."""
    return dtype if dtype.kind == "f" and np.finfo(dtype).eps > np.finfo(like).eps else like


def _value_at(fn: Callable, point) -> float:
    try:
        return _as_float(fn(*point))
    except TridiffError:  # a ValueError too, but ours: not the user's code refusing the point
        raise
    except _UNDEFINED_HERE:
        return np.nan
    except Exception as err:  # noqa: BLE001 - the user's code: say what it raised, and where
        where = ", ".join(f"{float(v):g}" for v in point)
        raise TridiffError(f"the function raised {type(err).__name__} at ({where}): {err}") from err


def _as_float(value) -> float:
    if value is None:
        return np.nan
    if isinstance(value, np.floating) or getattr(value, "shape", None) == ():
        value = np.asarray(value)[()]  # a NumPy or JAX scalar: keep its precision (float32 stays float32)
        if isinstance(value, np.floating):
            return value
    if isinstance(value, (complex, np.complexfloating)):
        raise TridiffError(f"the function returned {value!r}, which is not a real number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TridiffError(f"the function returned {value!r}, which is not a number") from None
