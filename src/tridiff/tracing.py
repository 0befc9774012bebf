"""Python callables to SymPy: NumPy code through a tracer object, jax.numpy code through its jaxpr.

NumPy code: the callable is called with :class:`Traced` objects. NumPy hands every ufunc
(``np.sin``, ``x**2``, ``abs(x)``, ``x > 0``…) to ``__array_ufunc__`` and ``np.where``/``np.clip``
to ``__array_function__``, each of which builds the SymPy expression instead of computing.
jax.numpy code: ``jax.make_jaxpr`` records the program, and each primitive is mapped to SymPy by
the :data:`PRIMITIVES` table. Code that branches on a value (``if x > 0``) has no single formula:
both tracers raise :class:`~tridiff.errors.BranchingError` for it.
"""

from __future__ import annotations

import math
import operator

import numpy as np
import sympy as sp

from .errors import BranchingError, TraceError
from .rules import BY_NUMPY_NAME

_UFUNC_OPERATORS = {
    "add": operator.add, "subtract": operator.sub, "multiply": operator.mul,
    "true_divide": operator.truediv, "divide": operator.truediv,
    "power": operator.pow, "float_power": operator.pow,
    "negative": operator.neg, "positive": operator.pos,
    "greater": sp.Gt, "greater_equal": sp.Ge, "less": sp.Lt, "less_equal": sp.Le,
    "equal": sp.Eq, "not_equal": sp.Ne,
}

_BRANCH_HELP = (
    "it branches on the value of x (if/else, comparisons used as bools, or min/max builtins), "
    "so it has no single formula: write the branches with np.where(cond, a, b) (or jnp.where), "
    "or use method='numeric', which works point by point"
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

    def __init__(self, expr: sp.Basic):
        self.expr = expr

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method != "__call__" or kwargs:
            raise TraceError(f"np.{name}.{method} with {sorted(kwargs)} cannot be traced; call np.{name}(x) plainly")
        args = [_expr(value) for value in inputs]
        if name in _UFUNC_OPERATORS:
            return Traced(_UFUNC_OPERATORS[name](*args))
        rule = BY_NUMPY_NAME.get(name)
        if rule is None:
            raise TraceError(f"np.{name} is not a function tridiff knows; see tridiff.rules.RULES")
        return Traced(rule.build(*args))

    def __array_function__(self, func, types, args, kwargs):
        handler = _ARRAY_FUNCTIONS.get(func.__name__)
        if handler is None:
            raise TraceError(f"np.{func.__name__} cannot be traced; elementwise NumPy functions and np.where can")
        return Traced(handler(*(_expr(a) for a in args), **{k: _expr(v) for k, v in kwargs.items()}))

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
    for _name, _rule in BY_NUMPY_NAME.items():
        locals()[_name] = (lambda rule: lambda self, *others: Traced(rule.build(self.expr, *map(_expr, others))))(_rule)
    del _name, _rule

    def __bool__(self):
        raise BranchingError(f"cannot trace the function: {_BRANCH_HELP}")

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
    "heaviside": lambda x, h0: sp.Piecewise((1, x > 0), (h0, sp.Eq(x, 0)), (0, True)),
    "copy": lambda x: x,
}


def trace_numpy(fn, symbols: tuple[sp.Symbol, ...], vector: bool = False):
    """Run ``fn`` on one tracer per symbol (or on one array of them, for a function of a vector) and
    return the SymPy expression it builds, or a tuple of them if it returns a vector."""
    args = (np.array([Traced(s) for s in symbols], dtype=object),) if vector else tuple(Traced(s) for s in symbols)
    out = fn(*args)
    if isinstance(out, (np.ndarray, list, tuple)) and np.ndim(out) == 1:
        return tuple(_expr(v) for v in out)
    if isinstance(out, np.ndarray) and np.ndim(out) > 1:
        raise TraceError(f"the function returns an array of shape {np.shape(out)}; return a number or a vector")
    return _expr(out[()] if isinstance(out, np.ndarray) else out)


def _select_n(pred, *cases):
    # lax.select_n(p, a, b) is a where p is false and b where it is true.
    return sp.Piecewise((cases[1], pred), (cases[0], True))


#: One SymPy meaning per JAX primitive (the jaxpr interpretation's rules).
PRIMITIVES = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "max": sp.Max, "min": sp.Min, "abs": sp.Abs, "sign": sp.sign,
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "atan2": sp.atan2, "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh, "asinh": sp.asinh,
    "acosh": sp.acosh, "atanh": sp.atanh, "exp": sp.exp, "exp2": lambda u: 2**u, "log": sp.log,
    "log1p": lambda u: sp.log(1 + u), "expm1": lambda u: sp.exp(u) - 1, "sqrt": sp.sqrt,
    "rsqrt": lambda u: 1 / sp.sqrt(u), "cbrt": BY_NUMPY_NAME["cbrt"].build, "pow": operator.pow,
    "square": lambda u: u**2, "logistic": lambda u: 1 / (1 + sp.exp(-u)), "erf": sp.erf,
    "gt": sp.Gt, "ge": sp.Ge, "lt": sp.Lt, "le": sp.Le, "eq": sp.Eq, "ne": sp.Ne,
    "and": sp.And, "or": sp.Or, "not": sp.Not, "select_n": _select_n,
    "clamp": lambda lo, x, hi: sp.Min(sp.Max(x, lo), hi),
}
_IDENTITY = {"convert_element_type", "copy", "copy_p", "broadcast_in_dim", "reshape", "squeeze", "reduce_precision"}
_CALLS = {"jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "custom_jvp_call": "call_jaxpr",
          "custom_vjp_call": "call_jaxpr", "remat": "jaxpr", "checkpoint": "jaxpr"}


def trace_jax(fn, symbols: tuple[sp.Symbol, ...]) -> sp.Expr:
    """Record ``fn`` (jax.numpy code) on float64 scalars with ``jax.make_jaxpr`` and read it as SymPy."""
    import jax
    import jax.numpy as jnp

    from .compiling import x64

    with x64():
        try:
            closed = jax.make_jaxpr(fn)(*(jax.ShapeDtypeStruct((), jnp.float64) for _ in symbols))
        except (jax.errors.TracerBoolConversionError, jax.errors.ConcretizationTypeError) as err:
            raise BranchingError(f"cannot trace the function: {_BRANCH_HELP}") from err
    outs = _read_jaxpr(closed.jaxpr, closed.consts, list(symbols))
    if len(outs) != 1:
        raise TraceError(f"the function returns {len(outs)} values; it must return one number")
    return outs[0]


def _read_jaxpr(jaxpr, consts, args) -> list:
    env = {}

    def read(var):
        if hasattr(var, "val"):  # a Literal
            return constant(np.asarray(var.val)[()])
        return env[var]

    for var, value in zip(jaxpr.constvars, consts):
        env[var] = constant(np.asarray(value))
    for var, value in zip(jaxpr.invars, args):
        env[var] = value
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        ins = [read(v) for v in eqn.invars]
        if name in _IDENTITY:
            outs = [ins[0]]
        elif name == "integer_pow":
            outs = [ins[0] ** eqn.params["y"]]
        elif name in _CALLS:
            inner = eqn.params[_CALLS[name]]
            inner_jaxpr = getattr(inner, "jaxpr", inner)
            outs = _read_jaxpr(inner_jaxpr, getattr(inner, "consts", ()), ins)
        elif name in PRIMITIVES:
            outs = [PRIMITIVES[name](*ins)]
        elif name == "stop_gradient":
            raise TraceError("the function uses jax.lax.stop_gradient, which has no derivative to trace")
        else:
            raise TraceError(f"JAX primitive {name!r} is not supported by tridiff's tracer")
        for var, value in zip(eqn.outvars, outs):
            env[var] = value
    return [read(v) for v in jaxpr.outvars]



#: Primitives of a program that are analytic wherever their values are finite: a program made of
#: these alone is differentiable wherever it returns a finite value (no kinks to look for).
SMOOTH_PRIMITIVES = frozenset({
    "add", "sub", "mul", "div", "neg", "exp", "exp2", "log", "log1p", "expm1", "sin", "cos", "tan", "asin",
    "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "logistic", "sqrt", "rsqrt", "cbrt",
    "integer_pow", "square", "erf", "dot_general", "reduce_sum", "broadcast_in_dim", "reshape", "squeeze",
    "slice", "dynamic_slice", "gather", "concatenate", "transpose", "convert_element_type", "copy", "copy_p",
    "iota", "pad", "rev", "expand_dims", "reduce_precision",
})


def smooth_program(fn, n: int) -> str | None:
    """None if ``fn`` (jax.numpy code of a float64 vector of length n, returning one number) uses only
    :data:`SMOOTH_PRIMITIVES`; else why it cannot be used without a formula."""
    import jax
    import jax.numpy as jnp

    from .compiling import x64

    with x64():
        try:
            closed = jax.make_jaxpr(fn)(jax.ShapeDtypeStruct((n,), jnp.float64))
        except Exception as err:  # noqa: BLE001 - user code may raise anything while traced
            return f"cannot trace it with jax.numpy either: {type(err).__name__}: {str(err).splitlines()[0]}"
    if len(closed.out_avals) != 1 or closed.out_avals[0].shape != ():
        return f"it returns {[a.shape for a in closed.out_avals]}, not one number"
    rough = sorted(_primitives(closed.jaxpr) - SMOOTH_PRIMITIVES)
    if rough:
        return (f"its program uses {', '.join(rough)}, which can have kinks, and has no formula to find them "
                f"(more than the variables tridiff traces symbolically)")
    return None


def _primitives(jaxpr) -> set[str]:
    names = set()
    for eqn in jaxpr.eqns:
        inner = [v for v in eqn.params.values() if hasattr(v, "jaxpr") or hasattr(v, "eqns")]
        if inner:
            names |= set().union(*(_primitives(getattr(v, "jaxpr", v)) for v in inner))
        else:
            names.add(eqn.primitive.name)
    return names
