"""jax.numpy callables to SymPy, through their jaxpr.

``jax.make_jaxpr`` records the program, which is then run on NumPy object arrays of SymPy
expressions (a function of a vector gets one array of symbols): elementwise primitives by the
:data:`OPERATORS` and the records of :mod:`tridiff.primitives`, slicing, reshaping, sums and dot
products by :data:`ARRAY_PRIMITIVES`. Code that branches on a value (``if x > 0``) has no single
formula: it raises :class:`~tridiff.errors.BranchingError`. Imported only when a callable is not
NumPy code (JAX takes a second or two to import).
"""

from __future__ import annotations

import math
import operator
import os

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from ..compiler.runner import x64
from ..errors import BranchingError, TraceError
from ..primitives import BY_JAX, SMOOTH_JAX
from .tracing import BRANCH_HELP, constant, object_array

#: Scalar operations of a jax.numpy program that tridiff traces into a formula. A formula is
#: compiled scalar operation by scalar operation, where XLA sees the program's arrays whole: a
#: logistic loss of 10 weights on 200 rows (3400 operations) takes SymPy 3 s and XLA 12 s to
#: compile its gradient (50 s numeric), against well under a second as a program.
MAX_TRACE_WORK = 1000


def _select_n(which, *cases):
    # lax.select_n(p, a, b) is a where p is false and b where it is true; an integer p picks cases[p].
    if isinstance(which, sp.Integer):
        return cases[int(which)]
    return sp.Piecewise((cases[1], which), (cases[0], True))


#: The SymPy meaning of each elementwise JAX operation that is not a function of its own (those are
#: the records of :mod:`tridiff.primitives`), applied to each element of its operands broadcast together.
OPERATORS = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "neg": operator.neg, "pow": operator.pow,
    "gt": sp.Gt, "ge": sp.Ge, "lt": sp.Lt, "le": sp.Le, "eq": sp.Eq, "ne": sp.Ne,
    "and": sp.And, "or": sp.Or, "not": sp.Not, "select_n": _select_n,
    "clamp": lambda lo, x, hi: sp.Min(sp.Max(x, lo), hi),
}


def _filled(shape, values) -> np.ndarray:
    # Element by element: np.array(list_of_exprs) could mistake a SymPy object for a sequence.
    out = np.empty(shape, dtype=object)
    for i, value in enumerate(values):
        out.flat[i] = value
    return out


def _map(rule, *arrays) -> np.ndarray:
    """``rule`` applied to each element of ``arrays``, broadcast against each other."""
    return object_array(np.frompyfunc(rule, len(arrays), 1)(*arrays))


def _constants(value) -> np.ndarray:
    """A constant or literal of a jaxpr (any shape) as an object array of exact SymPy numbers.

    NaN and ±inf are kept (jnp.var selects its NaN away when it divides by a positive count); the
    traced formula is refused only if one of them reaches it."""
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return _map(lambda b: sp.true if b else sp.false, value)
    return _map(lambda c: sp.nan if np.isnan(c) else constant(c) if np.isfinite(c) else sp.oo if c > 0 else -sp.oo,
                value)


def _number(u):
    # A condition used as a number is 1 where it holds, else 0.
    return u if isinstance(u, sp.Expr) else sp.Piecewise((1, u), (0, True))


def _integer(u):
    u = _number(u)
    if u.is_integer:  # such as a count of conditions, sum(v > 0)
        return u
    if not u.is_Number:
        raise TraceError("the function converts a value computed from x to an integer (astype(int), //, "
                         "indexing with it), which has no derivative to trace")
    return sp.Integer(int(u))  # towards zero, as XLA converts


def _convert(x, *, new_dtype, **_):
    if np.issubdtype(new_dtype, np.bool_):
        return _map(lambda u: sp.Ne(u, 0) if isinstance(u, sp.Expr) else u, x)
    return _map(_integer if np.issubdtype(new_dtype, np.integer) else _number, x)


def _reduction(combine):
    """A reduction over ``axes``: ``combine`` (sp.Add, sp.Max, ...) of all the terms at once."""
    def rule(x, *, axes, **_):
        kept = [d for d in range(x.ndim) if d not in axes]
        shape = tuple(x.shape[d] for d in kept)
        rows = np.transpose(x, kept + list(axes)).reshape(math.prod(shape), math.prod(x.shape[d] for d in axes))
        return _filled(shape, (combine(*row) for row in rows))
    return rule


def _cumulative(combine):
    def rule(x, *, axis, reverse, **_):
        flip = (lambda a: np.flip(a, axis)) if reverse else (lambda a: a)
        return flip(np.frompyfunc(combine, 2, 1).accumulate(flip(x), axis=axis))
    return rule


def _dot_general(lhs, rhs, *, dimension_numbers, **_):
    # Each operand as (batch, free, contracted): every output element is one sp.Add of products.
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [d for d in range(lhs.ndim) if d not in (*lc, *lb)]
    rf = [d for d in range(rhs.ndim) if d not in (*rc, *rb)]
    batch, left, right = ([x.shape[d] for d in dims] for x, dims in ((lhs, lb), (lhs, lf), (rhs, rf)))
    k = math.prod(lhs.shape[d] for d in lc)
    a = np.transpose(lhs, [*lb, *lf, *lc]).reshape(math.prod(batch), math.prod(left), k)
    b = np.transpose(rhs, [*rb, *rf, *rc]).reshape(math.prod(batch), math.prod(right), k)
    sums = (sp.Add(*(a[i, j] * b[i, m])) for i in range(a.shape[0]) for j in range(a.shape[1])
            for m in range(b.shape[1]))
    return _filled((*batch, *left, *right), sums)


def _broadcast_in_dim(x, *, shape, broadcast_dimensions, **_):
    placed = [1] * len(shape)
    for d, size in zip(broadcast_dimensions, x.shape):
        placed[d] = size
    return np.broadcast_to(x.reshape(placed), shape)


def _iota(*, shape, dimension, **_):
    along = np.arange(shape[dimension]).reshape([-1 if d == dimension else 1 for d in range(len(shape))])
    return _map(sp.Integer, np.broadcast_to(along, shape))


#: The meaning of each JAX primitive on whole arrays (reshaping, reducing, contracting), given its
#: operands as object arrays and its equation's parameters.
ARRAY_PRIMITIVES = {
    "integer_pow": lambda x, *, y, **_: _map(lambda u: u**y, x),
    "convert_element_type": _convert,
    "copy": lambda x, **_: x, "copy_p": lambda x, **_: x, "reduce_precision": lambda x, **_: x,
    "slice": lambda x, *, start_indices, limit_indices, strides, **_: x[tuple(
        slice(*s) for s in zip(start_indices, limit_indices, strides or [1] * x.ndim))],
    "squeeze": lambda x, *, dimensions, **_: np.squeeze(x, tuple(dimensions)),
    "reshape": lambda x, *, new_sizes, dimensions, **_: np.reshape(
        x if dimensions is None else np.transpose(x, dimensions), new_sizes),
    "broadcast_in_dim": _broadcast_in_dim,
    "concatenate": lambda *xs, dimension, **_: np.concatenate(xs, dimension),
    "stack": lambda *xs, axis, **_: np.stack(xs, axis),
    "split": lambda x, *, sizes, axis, **_: np.split(x, np.cumsum(sizes)[:-1], axis),
    "tile": lambda x, *, reps, **_: np.tile(x, reps),
    "transpose": lambda x, *, permutation, **_: np.transpose(x, permutation),
    "rev": lambda x, *, dimensions, **_: np.flip(x, tuple(dimensions)),
    "iota": _iota,
    "reduce_sum": _reduction(sp.Add), "reduce_prod": _reduction(sp.Mul),
    "reduce_max": _reduction(sp.Max), "reduce_min": _reduction(sp.Min),
    "cumsum": _cumulative(operator.add), "cumprod": _cumulative(operator.mul),
    "cummax": _cumulative(sp.Max), "cummin": _cumulative(sp.Min),
    "dot_general": _dot_general,
}
#: Primitives that only move elements, and which of their operands hold elements (the others are
#: positions, which must be known when tracing).
_MOVES = {"gather": (0,), "scatter": (0, 2), "dynamic_slice": (0,), "dynamic_update_slice": (0, 1), "pad": (0, 1)}
_CALLS = {"jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "custom_jvp_call": "call_jaxpr",
          "custom_vjp_call": "call_jaxpr", "remat": "jaxpr", "checkpoint": "jaxpr"}


def _moved(primitive, data, ins, params) -> np.ndarray:
    """Run a primitive of :data:`_MOVES` by JAX on the positions of its operands' elements: the
    result says where each of its elements comes from, whatever the primitive's indexing rules."""
    elements, args = [], []
    for i, x in enumerate(ins):
        if i in data:
            args.append(np.arange(len(elements), len(elements) + x.size, dtype=np.float64).reshape(x.shape))
            elements.extend(x.flat)
        elif all(isinstance(v, sp.Integer) for v in x.flat):
            args.append(np.array([int(v) for v in x.flat], dtype=np.int64).reshape(x.shape))
        else:
            raise TraceError(f"JAX primitive {primitive.name!r} at positions computed from x cannot be traced")
    with x64():
        came_from = np.asarray(primitive.bind(*args, **params))
    if not np.isfinite(came_from).all():  # a gather outside the array fills with NaN
        raise TraceError(f"JAX primitive {primitive.name!r} reads outside the array")
    return _filled(came_from.shape, (elements[int(k)] for k in came_from.flat))


def trace_jax(fn, symbols: tuple[sp.Symbol, ...], vector: bool = False):
    """Record ``fn`` (jax.numpy code) on float64 scalars, one per symbol, or on one float64 vector of
    them, with ``jax.make_jaxpr``, and read the program as SymPy: the expression, or a tuple of them
    if it returns a vector.

    >>> import jax.numpy as jnp
    >>> trace_jax(lambda v: jnp.sum(v[1:] * v[:-1]), sp.symbols("x:3", real=True), vector=True)
    x0*x1 + x1*x2
    """
    shapes = [(len(symbols),)] if vector else [()] * len(symbols)
    with x64():
        try:
            closed = jax.make_jaxpr(fn)(*(jax.ShapeDtypeStruct(s, jnp.float64) for s in shapes))
        except (jax.errors.TracerBoolConversionError, jax.errors.ConcretizationTypeError) as err:
            raise BranchingError(f"cannot trace the function: {BRANCH_HELP}") from err
    if _work_of(closed.jaxpr) > MAX_TRACE_WORK:
        raise TraceError(f"its program takes more than {MAX_TRACE_WORK} scalar operations, more than tridiff "
                         f"traces into a formula")
    args = [_filled((len(symbols),), symbols)] if vector else [object_array(s) for s in symbols]
    outs = _read_jaxpr(closed.jaxpr, closed.consts, args)
    if len(outs) != 1:
        raise TraceError(f"the function returns {len(outs)} values; return a number or one vector")
    if outs[0].ndim > 1:
        raise TraceError(f"the function returns an array of shape {outs[0].shape}; return a number or a vector")
    for e in outs[0].flat:
        if e.has(sp.nan, sp.oo, -sp.oo, sp.zoo):
            raise TraceError("the function's result uses a non-finite constant (NaN or inf)")
    return tuple(outs[0]) if outs[0].ndim == 1 else outs[0][()]


def _work_of(jaxpr) -> int:
    """The scalar operations of a program: each result element one, and a dot product or a
    reduction one per term."""
    total = 0
    for eqn in _leaf_equations(jaxpr):
        size = sum(math.prod(v.aval.shape) for v in eqn.outvars)
        if operation(eqn) == "dot_general":
            (contracted, _), _ = eqn.params["dimension_numbers"]
            size *= math.prod(eqn.invars[0].aval.shape[d] for d in contracted)
        elif operation(eqn).startswith(("reduce_", "cum")):
            size = math.prod(eqn.invars[0].aval.shape)
        total += size
    return total


_JAX_SOURCE = os.path.dirname(jax.__file__)


def _call_name(eqn) -> str | None:
    """The name of the function a call (jit, custom_jvp…) runs, if JAX itself defines it (jax.nn.softplus,
    jnp.sinc): a function of the user's that happens to share the name is not taken for it."""
    if eqn.primitive.name not in _CALLS:
        return None
    inner = eqn.params[_CALLS[eqn.primitive.name]]
    info = getattr(getattr(inner, "jaxpr", inner), "debug_info", None)
    source = getattr(info, "func_src_info", None) or ""
    name, _, path = source.partition(" at ")
    return name if path.startswith(_JAX_SOURCE) else None


def call_record(eqn):
    """The record a call of a known jax.numpy function stands for, and its arguments (past the call's
    constants); None for any other equation, or arguments that do not fit the record."""
    record = BY_JAX.get(_call_name(eqn))
    args = eqn.invars[eqn.params.get("num_consts", 0):]
    return (record, args) if record is not None and len(args) in record.arities else None


def operation(eqn) -> str:
    """An equation's operation: its primitive's name, or the name of the known function a call runs."""
    return _call_name(eqn) if call_record(eqn) else eqn.primitive.name


def inner_jaxpr(eqn):
    """The program a call equation (jit, custom_jvp…) runs, as ``(jaxpr, consts)``; None for another equation."""
    if eqn.primitive.name not in _CALLS:
        return None
    inner = eqn.params[_CALLS[eqn.primitive.name]]
    return getattr(inner, "jaxpr", inner), getattr(inner, "consts", ())


def _leaf_equations(jaxpr):
    """The equations of a jaxpr with the inner jaxprs of calls (jit, custom_jvp…) opened up, except
    calls of known functions (jax.nn.softplus…), which are read as one operation."""
    for eqn in jaxpr.eqns:
        inner = [v for v in eqn.params.values() if hasattr(v, "jaxpr") or hasattr(v, "eqns")]
        if inner and not call_record(eqn):
            for v in inner:
                yield from _leaf_equations(getattr(v, "jaxpr", v))
        else:
            yield eqn


def _read_jaxpr(jaxpr, consts, args) -> list[np.ndarray]:
    """Interpret ``jaxpr`` on object arrays of SymPy expressions, one per input (a scalar as 0-d)."""
    env = {}

    def read(var):
        return _constants(var.val) if hasattr(var, "val") else env[var]  # a Literal holds its value

    env.update(zip(jaxpr.constvars, map(_constants, consts)))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        name, ins, call = eqn.primitive.name, [read(v) for v in eqn.invars], call_record(eqn)
        if call:
            record, args = call
            outs = [_map(record.build, *map(read, args))]
        elif name in OPERATORS:
            outs = [_map(OPERATORS[name], *ins)]
        elif name in BY_JAX:
            outs = [_map(BY_JAX[name].build, *ins)]
        elif name in ARRAY_PRIMITIVES:
            out = ARRAY_PRIMITIVES[name](*ins, **eqn.params)
            outs = out if isinstance(out, list) else [out]  # split has several results
        elif name in _MOVES:
            outs = [_moved(eqn.primitive, _MOVES[name], ins, eqn.params)]
        elif name in _CALLS:
            inner = eqn.params[_CALLS[name]]
            outs = _read_jaxpr(getattr(inner, "jaxpr", inner), getattr(inner, "consts", ()), ins)
        elif name == "stop_gradient":
            raise TraceError("the function uses jax.lax.stop_gradient, which has no derivative to trace")
        else:
            raise TraceError(f"JAX primitive {name!r} is not supported by tridiff's tracer")
        env.update(zip(eqn.outvars, map(object_array, outs)))
    return [read(v) for v in jaxpr.outvars]


#: Operations of a program that are analytic wherever their values are finite: a program made of
#: these alone is differentiable wherever it returns a finite value (no kinks to look for).
SMOOTH_OPERATIONS = SMOOTH_JAX | {
    "add", "sub", "mul", "div", "neg", "integer_pow", "dot_general", "reduce_sum", "broadcast_in_dim", "reshape",
    "squeeze", "slice", "dynamic_slice", "gather", "concatenate", "transpose", "convert_element_type", "copy",
    "copy_p", "iota", "pad", "rev", "expand_dims", "reduce_precision", "split",
}
#: Comparisons of values: a boolean computed from x, whose argument is lhs − rhs.
COMPARISONS = frozenset({"gt", "ge", "lt", "le", "eq", "ne"})
#: Operations that switch between analytic pieces where an argument u crosses 0 (``relu``, ``abs``,
#: ``maximum``, ``clip``, ``where`` on a comparison, ``max`` over an axis): a program using them is
#: watched at run time for switches sitting at 0 (:mod:`tridiff.analysis.program_switches`).
SWITCH_OPERATIONS = COMPARISONS | {
    "abs", "sign", "max", "min", "clamp", "reduce_max", "reduce_min", "select_n", "and", "or", "not", "is_finite",
    "relu", "heaviside",
}
#: JAX's own functions that subtract a max held by stop_gradient, for stability: their value does
#: not depend on it, so JAX's gradient of them is the true one.
STABLE_SHIFTS = frozenset({"logsumexp", "softmax", "_softmax", "_softmax_deprecated", "log_softmax"})


def stable_shift(eqn) -> bool:
    """Whether a stop_gradient equation is one of :data:`STABLE_SHIFTS`' (not the user's own, which
    makes JAX's gradient differ from f's)."""
    return any(frame.function_name in STABLE_SHIFTS and frame.file_name.startswith(_JAX_SOURCE)
               for frame in eqn.source_info.traceback.frames)


def program_reason(fn, n: int) -> str | None:
    """None if ``fn`` (jax.numpy code of a float64 vector of length n, returning one number) can be
    differentiated as a program: it uses only :data:`SMOOTH_OPERATIONS` and
    :data:`SWITCH_OPERATIONS`; else why it cannot be used without a formula."""
    with x64():
        try:
            closed = jax.make_jaxpr(fn)(jax.ShapeDtypeStruct((n,), jnp.float64))
        except Exception as err:  # noqa: BLE001 - user code may raise anything while traced
            return f"cannot trace it with jax.numpy either: {type(err).__name__}: {str(err).splitlines()[0]}"
    if len(closed.out_avals) != 1 or closed.out_avals[0].shape != ():
        return f"it returns {[a.shape for a in closed.out_avals]}, not one number"
    equations = list(_leaf_equations(closed.jaxpr))
    if any(eqn.primitive.name == "stop_gradient" and not stable_shift(eqn) for eqn in equations):
        return "it uses jax.lax.stop_gradient, which makes JAX's gradient differ from f's"
    rough = sorted({operation(eqn) for eqn in equations} - SMOOTH_OPERATIONS - SWITCH_OPERATIONS - {"stop_gradient"})
    if rough:
        return f"its program uses {', '.join(rough)}, which can jump or have kinks that tridiff cannot locate " \
               "in a program with no formula"
    return None
