"""Python callables written with NumPy to SymPy, through a tracer object.

The callable is called with :class:`Traced` objects. NumPy hands every ufunc (``np.sin``,
``x**2``, ``abs(x)``, ``x > 0``…) to ``__array_ufunc__`` and ``np.where``/``np.clip`` to
``__array_function__``, each of which builds the SymPy expression instead of computing. Code that
branches on a value (``if x > 0``) has no single formula: the tracer raises
:class:`~tridiff.errors.BranchingError` for it (as :mod:`tridiff.definition.jaxpr` does for
jax.numpy code, which is read from its jaxpr).
"""

from __future__ import annotations

import math
import operator

import numpy as np
import sympy as sp

from ..errors import BranchingError, TraceError
from ..primitives import BY_NUMPY

_UFUNC_OPERATORS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "true_divide": operator.truediv, "divide": operator.truediv,
    "power": operator.pow, "float_power": operator.pow,
    "negative": operator.neg, "positive": operator.pos,
    "greater": sp.Gt, "greater_equal": sp.Ge, "less": sp.Lt, "less_equal": sp.Le,
    "equal": sp.Eq, "not_equal": sp.Ne,
}

#: The same for NumPy code, which has no program to fall back on: only a trace that would keep
#: SymPy busy for minutes is given up (jax.numpy code run on NumPy's tracers first gives up soon).
MAX_NUMPY_TRACE_WORK = 20000

BRANCH_HELP = (
    "it branches on the value of x (if/else, comparisons used as bools, or min/max builtins), "
    "so it has no single formula: write the branches with np.where(cond, a, b) (or jnp.where)"
)


def constant(value) -> sp.Expr:
    """A Python or NumPy number as an exact SymPy number (π and e recognised)."""
    if isinstance(value, (bool, np.bool_)):
        raise TraceError(f"a boolean {value!r} cannot be used as a number")
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            raise TraceError(f"the function uses the non-finite constant {value}")
        if value == math.pi:
            return sp.pi
        if value == math.e:
            return sp.E
        return sp.Rational(repr(value))
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return constant(value[()])
    if isinstance(value, np.ndarray):
        raise TraceError(f"the function uses an array constant of shape {value.shape}; only scalars are supported")
    raise TraceError(f"cannot use {type(value).__name__} {value!r} as a scalar number in a formula")


def _expr(value) -> sp.Expr:
    return value.expr if isinstance(value, Traced) else constant(value)


class Traced:
    """Stands in for x while a NumPy callable runs, recording what it computes as SymPy."""

    __array_priority__ = 1000

    def __init__(self, expr: sp.Basic, budget: Budget):
        self.expr, self.budget = expr, budget

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method != "__call__" or kwargs:
            raise TraceError(f"np.{name}.{method} with {sorted(kwargs)} cannot be traced; call np.{name}(x) plainly")
        if any(isinstance(value, np.ndarray) and value.ndim for value in inputs):
            # One element of a vector with an array (w[0] + data): NumPy's loop over object arrays
            # applies the ufunc element by element, each element a tracer or a number.
            return ufunc(*(object_array(value) if isinstance(value, Traced) else value for value in inputs))
        args = [_expr(value) for value in inputs]
        self.budget.spend()
        if name in _UFUNC_OPERATORS:
            return Traced(_UFUNC_OPERATORS[name](*args), self.budget)
        record = BY_NUMPY.get(name)
        if record is None:
            raise TraceError(f"np.{name} is not a function tridiff knows (see tridiff.primitives)")
        return Traced(record.build(*args), self.budget)

    def __array_function__(self, func, types, args, kwargs):
        handler = _ARRAY_FUNCTIONS.get(func.__name__)
        if handler is None and func.__name__ in BY_NUMPY:
            handler = BY_NUMPY[func.__name__].build
        if handler is None:
            raise TraceError(f"np.{func.__name__} cannot be traced; elementwise NumPy functions and np.where can")
        self.budget.spend()
        return Traced(handler(*(_expr(a) for a in args), **{k: _expr(v) for k, v in kwargs.items()}), self.budget)

    # Python operators go through the same ufunc path as NumPy's.
    def _ufunc(name, reflected=False):
        ufunc = getattr(np, name)
        if reflected:
            return lambda self, other: self.__array_ufunc__(ufunc, "__call__", other, self)
        return lambda self, *other: self.__array_ufunc__(ufunc, "__call__", self, *other)

    __add__, __radd__ = _ufunc("add"), _ufunc("add", True)
    __sub__, __rsub__ = _ufunc("subtract"), _ufunc("subtract", True)
    __mul__, __rmul__ = _ufunc("multiply"), _ufunc("multiply", True)
    __truediv__, __rtruediv__ = _ufunc("true_divide"), _ufunc("true_divide", True)
    __pow__, __rpow__ = _ufunc("power"), _ufunc("power", True)
    __neg__, __pos__, __abs__ = _ufunc("negative"), _ufunc("positive"), _ufunc("absolute")
    __gt__, __ge__ = _ufunc("greater"), _ufunc("greater_equal")
    __lt__, __le__ = _ufunc("less"), _ufunc("less_equal")
    del _ufunc

    # NumPy applies a ufunc to an object array by calling the method of that name on each element
    # (np.exp(v) calls v[i].exp()): one method per NumPy spelling of a known function.
    for _name, _record in BY_NUMPY.items():
        locals()[_name] = (lambda record: lambda self, *others: self.budget.spend() or Traced(
            record.build(self.expr, *map(_expr, others)), self.budget))(_record)
    del _name, _record

    def __bool__(self):
        raise BranchingError(f"cannot trace the function: {BRANCH_HELP}")

    def __float__(self):
        raise TraceError(
            "the function converts x to a Python float (math.sin, float(x), ...): "
            "use NumPy functions such as np.sin, which tridiff can trace"
        )

    __int__ = __index__ = __float__

    def __iter__(self):
        raise TraceError("the function iterates over or indexes x: write it for one scalar x")

    __getitem__ = __len__ = __iter__


def _where(cond, yes, no):
    return sp.Piecewise((yes, cond), (no, True))


_ARRAY_FUNCTIONS = {
    "where": _where,
    "clip": lambda x, a_min, a_max: sp.Min(sp.Max(x, a_min), a_max),
    "copy": lambda x: x,
}


class Budget:
    """The scalar operations one NumPy trace may record, shared by all its tracers."""

    def __init__(self, limit: int):
        self.left = limit

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise TraceError(f"it takes more than {MAX_NUMPY_TRACE_WORK} scalar operations, more than tridiff traces "
                             f"into a formula (written in jax.numpy, it could run as a program)")


def trace_numpy(fn, symbols: tuple[sp.Symbol, ...], vector: bool = False):
    """Run ``fn`` on one tracer per symbol (or on one array of them, for a function of a vector) and
    return the SymPy expression it builds, or a tuple of them if it returns a vector."""
    budget = Budget(MAX_NUMPY_TRACE_WORK)
    tracers = [Traced(s, budget) for s in symbols]
    args = (np.array(tracers, dtype=object),) if vector else tuple(tracers)
    out = fn(*args)
    if isinstance(out, (np.ndarray, list, tuple)) and np.ndim(out) == 1:
        return tuple(_expr(v) for v in out)
    if isinstance(out, np.ndarray) and np.ndim(out) > 1:
        raise TraceError(f"the function returns an array of shape {np.shape(out)}; return a number or a vector")
    return _expr(out[()] if isinstance(out, np.ndarray) else out)


def object_array(value) -> np.ndarray:
    """``value`` as an object array; a single SymPy object as a 0-d one."""
    if isinstance(value, np.ndarray):
        return value
    out = np.empty((), dtype=object)
    out[()] = value
    return out
