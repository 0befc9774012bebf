"""Where the gradient of a jax.numpy program with no formula does not exist, found at run time.

A program too large to read into a formula (a model's loss over 10^5 weights) may still use
*switches*: ``relu``, ``abs``, ``maximum``/``minimum``, ``clip``, ``where`` on a comparison, a
comparison used as a number, ``max`` over an axis. Each has an argument u (``a − b`` for
``maximum(a, b)``; the tied elements for ``max`` over an axis) and is analytic where u ≠ 0. Away
from every u = 0 the program is smooth and JAX's gradient is the gradient.

Where some u = 0 exactly, moving x_j to either side moves u by t·∂u/∂x_j, so the one-sided
partials along x_j differ by Σ jump · ā · |∂u/∂x_j| over the switches at 0, ā being ∂f/∂(the
switch's output). So ∂f/∂x_j is taken not to exist where a switch sits at 0 with ā ≠ 0 and x_j
moves its argument; every other coordinate keeps JAX's value. (Where the jumps of several
switches cancel exactly — ``relu(x) − relu(x)`` — the partial does exist: tridiff then errs on the
side of NaN.)

Both facts come from the gradient's own backward pass: each switch's output gets a zero *probe*
added, whose cotangent is ā, and the switch arguments are returned beside f. Only when some
switch sits at 0 (rare: a lax.cond skips it otherwise) does one more backward pass, of x ↦ u with
weights on the switches at 0, say which coordinates move them. In that pass every switch at 0
passes on the derivative of both its sides, so that a switch behind another (relu(relu(x)))
is not hidden by JAX's choice of 0 there; the weights are distinct positive numbers, so that the
contributions of several switches to one coordinate do not cancel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import reduce
from typing import Callable

import jax
import jax.numpy as jnp
from jax import lax

from ..definition.jaxpr import COMPARISONS, SWITCH_OPERATIONS, call_record, inner_jaxpr, operation

#: Switches by their primitive: the arguments u whose zeros are kinks or jumps, from the operands.
_ARGUMENTS: dict[str, Callable] = {
    "abs": lambda x: [x],
    "sign": lambda x: [x],
    "max": lambda a, b: [a - b],
    "min": lambda a, b: [a - b],
    "clamp": lambda lo, x, hi: [x - lo, x - hi],
}
_LOGICAL = frozenset({"and", "or", "not"})


@dataclass(frozen=True)
class _Switch:
    """A switch met while running the program: its arguments u, where each is at 0 (the tied
    elements, for a max over an axis), and how an output-shaped array maps onto u's shape
    (``to_u``) and back (``to_out``)."""

    us: list
    at_zero: list
    to_u: Callable
    to_out: Callable


def _switch(name: str, ins, out, params, predicates) -> _Switch | None:
    """The switch an equation is, given its operands and output (None if it is none: a select on a
    predicate that no comparison of values made)."""
    def same(a):
        return jnp.broadcast_to(a, out.shape)

    if name in _ARGUMENTS:
        us = [same(u) for u in _ARGUMENTS[name](*ins)]
        return _Switch(us, [u == 0 for u in us], same, same)
    if name in ("reduce_max", "reduce_min"):
        (x,), axes = ins, tuple(params["axes"])
        hit = x == jnp.expand_dims(out, axes)
        tied = hit & (jnp.sum(hit, axis=axes, keepdims=True) > 1)
        return _Switch([x], [tied], lambda a: jnp.broadcast_to(jnp.expand_dims(a, axes), x.shape),
                       lambda a: jnp.sum(a, axis=axes))
    held = predicates.get(id(ins[0]))  # select_n's predicate, or a boolean converted to a number
    if held is None or held[0] is not ins[0] or not held[1]:
        return None
    us = list(held[1])
    if all(u.shape == out.shape for u in us):
        return _Switch(us, [u == 0 for u in us], same, same)
    # a scalar predicate choosing between whole arrays
    return _Switch(us, [u == 0 for u in us], lambda a: jnp.sum(jnp.abs(a)), same)


def _opens(eqn) -> bool:
    """Whether a call is run equation by equation: one with switches inside (jax.nn.relu's max), but
    not a smooth function of JAX's read as one operation (jnp.logaddexp's custom_jvp)."""
    return _callee(eqn) is not None and _has_switches(_callee(eqn))


def _callee(eqn):
    """The program a call runs, unless it is a smooth function of JAX's (None for another equation)."""
    inner, record = inner_jaxpr(eqn), call_record(eqn)
    return None if inner is None or (record is not None and record[0].smooth) else inner[0]


def _has_switches(jaxpr) -> bool:
    return any(_has_switches(_callee(eqn)) if _callee(eqn) is not None else operation(eqn) in SWITCH_OPERATIONS
               for eqn in jaxpr.eqns)


class Instrumented:
    """A jax.numpy program of one vector, run with its switches watched (see the module's docstring).

    >>> import jax, jax.numpy as jnp, numpy as np
    >>> with jax.enable_x64(True):
    ...     p = Instrumented(lambda v: jnp.sum(jax.nn.relu(v)), 3)
    ...     table = jnp.array([[1.0, 0.0, -1.0]])
    ...     value, grad, weights = p.watch(table)
    ...     kinks = p.kinks(table, weights)
    >>> np.asarray(kinks), np.where(kinks, np.nan, grad)
    (array([[False,  True, False]]), array([[ 1., nan,  0.]]))
    """

    def __init__(self, fn: Callable, n: int):
        spec = jax.ShapeDtypeStruct((n,), jnp.float64)
        closed = jax.make_jaxpr(fn)(spec)
        self.jaxpr, self.consts, self.n = closed.jaxpr, closed.consts, n
        self.shapes = []  # the output shape of each switch, in the order they run
        jax.eval_shape(lambda v: self._run(v, None, False, self.shapes.append)[0], spec)

    def _run(self, v, probes, both_sides: bool, shape_of: Callable | None = None):
        """f(v), and the switches met (in running order). ``probes`` (one zero array per switch) are
        added to the switches' outputs; with ``both_sides`` every switch at 0 adds its arguments'
        variation too (zero, with their derivative); ``shape_of`` is told each switch's output shape."""
        found: list[_Switch] = []
        predicates: dict[int, tuple] = {}  # id of a boolean array -> (it, the u's of the comparisons it is made of)

        def run(jaxpr, consts, args):
            env = dict(zip(jaxpr.constvars, consts))
            env.update(zip(jaxpr.invars, args))

            def read(var):
                return var.val if hasattr(var, "val") else env[var]  # a Literal holds its value

            for eqn in jaxpr.eqns:
                ins, name = [read(var) for var in eqn.invars], eqn.primitive.name
                if _opens(eqn):
                    outs = run(*inner_jaxpr(eqn), ins)  # its switches are ours to watch
                else:
                    outs = eqn.primitive.bind(*ins, **eqn.primitive.get_bind_params(eqn.params))
                    outs = outs if eqn.primitive.multiple_results else [outs]
                if name in COMPARISONS and jnp.issubdtype(ins[0].dtype, jnp.floating):
                    predicates[id(outs[0])] = (outs[0], (ins[0] - ins[1],))
                elif name in _LOGICAL:
                    made = [predicates.get(id(x), (None, ())) for x in ins]
                    predicates[id(outs[0])] = (outs[0], tuple(u for (held, us), x in zip(made, ins)
                                                               if held is x for u in us))
                elif name in SWITCH_OPERATIONS or (name == "convert_element_type" and ins[0].dtype == bool):
                    switch = _switch(name, ins, outs[0], eqn.params, predicates)
                    if switch is not None:
                        if shape_of is not None:
                            shape_of(outs[0].shape)
                        outs = [self._watched(outs[0], switch, probes, len(found), both_sides)]
                        found.append(switch)
                env.update(zip(eqn.outvars, outs))
            return [read(var) for var in jaxpr.outvars]

        (value,) = run(self.jaxpr, self.consts, [v])
        return value, found

    @staticmethod
    def _watched(out, switch: _Switch, probes, k: int, both_sides: bool):
        if probes is not None:
            out = out + probes[k]
        if both_sides:  # a zero whose derivative is each argument's, where it is at 0
            for u, zero in zip(switch.us, switch.at_zero):
                out = out + switch.to_out(jnp.where(zero, u - lax.stop_gradient(u), 0.0)).astype(out.dtype)
        return out

    def watch(self, table):
        """f and JAX's gradient at each row of ``table``, with the switches watched: (f, ∇f, weights),
        ``weights`` being nonzero only if a switch sits at 0 at some row (then :meth:`kinks` says
        where the partials do not exist). One forward and one backward pass."""
        return jax.vmap(self._first_pass)(table)

    def kinks(self, table, weights):
        """Which coordinates' partials do not exist at each row: those moving a switch that carries a
        weight. A second backward pass, for the rare batch where :meth:`watch` found one (under a
        lax.cond: vmapped, a cond would run both branches)."""
        return jax.vmap(self._moved_by)(table, weights)

    def _first_pass(self, v):
        """f, its gradient, and per switch argument u a distinct positive weight where u = 0 and f
        depends on the switch (ā ≠ 0), else 0: in one forward and one backward pass."""
        probes = [jnp.zeros(shape, v.dtype) for shape in self.shapes]
        maps = []

        def f(x, ps):
            value, found = self._run(x, ps, False)
            maps[:] = [switch.to_u for switch in found]
            return value, [switch.at_zero for switch in found]

        value, pullback, at_zero = jax.vjp(f, v, probes, has_aux=True)
        grad, adjoints = pullback(jnp.ones_like(value))
        weights, offset = [], 0
        for to_u, zeros, abar in zip(maps, at_zero, adjoints):
            depends = to_u(jnp.abs(abar)) != 0
            for zero in zeros:
                weights.append(jnp.where(zero & depends, _distinct(zero.shape, offset), 0.0))
                offset += zero.size
        return value, grad, weights

    def _moved_by(self, v, weights):
        """Which coordinates move a switch argument that carries a weight."""
        def arguments(x):
            return [u for switch in self._run(x, None, True)[1] for u in switch.us]

        _, pullback = jax.vjp(arguments, v)
        return pullback([w.astype(v.dtype) for w in weights])[0] != 0


def any_weight(weights):
    """Whether a switch sits at 0 anywhere (at any row) in what :meth:`Instrumented.watch` found."""
    return reduce(jnp.logical_or, [jnp.any(w != 0) for w in weights], jnp.bool_(False))


def _distinct(shape, offset: int):
    """Positive weights in [1, 2), distinct across all switch arguments (the golden-ratio sequence)."""
    k = jnp.arange(offset, offset + math.prod(shape), dtype=jnp.float64).reshape(shape)
    return 1.0 + jnp.mod(k * 0.6180339887498949, 1.0)


def has_switches(fn: Callable, n: int) -> bool:
    """Whether the program of ``fn`` (of a float64 vector of length n) uses a switch."""
    with jax.enable_x64(True):
        closed = jax.make_jaxpr(fn)(jax.ShapeDtypeStruct((n,), jnp.float64))
    return _has_switches(closed.jaxpr)
