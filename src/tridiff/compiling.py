"""SymPy to one fused JAX kernel, and the runner that feeds it NumPy arrays.

:class:`Lowering` walks a SymPy expression once, memoising every distinct node, so a subexpression
shared by f, f' and f'' is computed once and XLA fuses the whole walk into a single pass over
memory: this is what removes the lab's expression swell. Its ``switches`` argument lets the kink
analysis evaluate the same expressions with each branch forced to one side of a kink.

float64 stays float64 through ``jax.enable_x64`` used as a context manager: the user's global
JAX configuration is never touched.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
import sympy as sp
from jax import lax


@jax.custom_jvp
def _tanh(u):
    return jnp.tanh(u)


# JAX's own rule, (1 - tanh u)(1 + tanh u), cancels for large |u|: at u = 9 it keeps 8 digits.
# sech² u = 1/cosh² u has no cancellation (cosh overflowing to inf gives the right 0).
_tanh.defjvp(lambda primals, tangents: (_tanh(primals[0]), tangents[0] / jnp.cosh(primals[0]) ** 2))

#: One JAX implementation per SymPy function class (the lowering rules).
JAX_FUNCTIONS: dict[type, Callable] = {
    sp.sin: jnp.sin, sp.cos: jnp.cos, sp.tan: jnp.tan,
    sp.asin: jnp.arcsin, sp.acos: jnp.arccos, sp.atan: jnp.arctan, sp.atan2: jnp.arctan2,
    sp.sinh: jnp.sinh, sp.cosh: jnp.cosh, sp.tanh: _tanh,
    sp.asinh: jnp.arcsinh, sp.acosh: jnp.arccosh, sp.atanh: jnp.arctanh,
    sp.exp: jnp.exp, sp.log: jnp.log, sp.Abs: jnp.abs, sp.sign: jnp.sign, sp.erf: jsp.erf,
    sp.sec: lambda u: 1 / jnp.cos(u), sp.csc: lambda u: 1 / jnp.sin(u), sp.cot: lambda u: 1 / jnp.tan(u),
}

_RELATIONS: dict[type, Callable] = {
    sp.StrictGreaterThan: jnp.greater, sp.GreaterThan: jnp.greater_equal,
    sp.StrictLessThan: jnp.less, sp.LessThan: jnp.less_equal,
    sp.Equality: jnp.equal, sp.Unequality: jnp.not_equal,
}
# On the side of a kink where u = lhs - rhs has sign s, the relation holds iff this is true of s.
_RELATION_ON_SIDE: dict[type, Callable] = {
    sp.StrictGreaterThan: lambda s: s > 0, sp.GreaterThan: lambda s: s > 0,
    sp.StrictLessThan: lambda s: s < 0, sp.LessThan: lambda s: s < 0,
    sp.Equality: lambda s: s == 0, sp.Unequality: lambda s: s != 0,
}


@contextmanager
def x64():
    """64-bit JAX inside this block only (thread-local; the global config is left alone)."""
    with jax.enable_x64(True):
        yield


def relation_argument(rel: sp.Basic) -> sp.Expr:
    """``u`` such that the relation's truth can change only where ``u`` crosses 0."""
    return rel.lhs - rel.rhs


class Lowering:
    """Evaluate SymPy expressions on JAX arrays, each distinct node once.

    Args:
        env: values of the symbols.
        switches: for the kink analysis, ``{u: (flag, side)}``: where ``flag`` holds, ``u`` is taken
            to be exactly 0 and every branch depending on the sign of ``u`` (sign, Heaviside,
            relations) takes the value it has on the side where ``u`` has sign ``side``.
        natural: the unforced lowering of the same ``env``, to share its work.
        analytic: evaluate at complex points (for the complex step) the analytic continuation of
            the branch f follows on the real axis: every switch is decided by the real part, and
            |u| is u·sign(Re u) rather than the modulus, which is not analytic. Switch arguments
            are then not snapped to 0, since their imaginary parts carry the derivative.
    """

    def __init__(self, env: dict, switches: dict | None = None, natural: Lowering | None = None,
                 analytic: bool = False):
        self.memo: dict = dict(env)
        self.switches = switches or {}
        self.real = jnp.real if analytic else (lambda v: v)
        self.analytic = analytic
        if self.switches and not analytic:
            # Snap each switch argument to 0 where flagged: the caller evaluates the limit there.
            natural = natural or Lowering(env)
            for u, (flag, _) in self.switches.items():
                self.memo[u] = jnp.where(flag, 0.0, natural(u))

    def array(self, expr, like):
        """The value of ``expr`` as an array of ``like``'s shape and dtype (constants broadcast)."""
        return jnp.broadcast_to(jnp.asarray(self(expr), like.dtype), like.shape)

    def __call__(self, expr):
        try:
            return self.memo[expr]
        except KeyError:
            pass
        value = self._lower(expr)
        self.memo[expr] = value
        return value

    def _side_of(self, u):
        # Max(0, x) switches on 0 - x while its derivative Heaviside(x) switches on x: same place.
        if u in self.switches:
            return self.switches[u]
        if -u in self.switches:
            flag, side = self.switches[-u]
            return flag, -side
        return None

    def _lower(self, e):
        if e.is_Number or e.is_NumberSymbol:
            return float(e)
        if e.is_Add:
            return _reduce(jnp.add, [self(a) for a in e.args])
        if e.is_Mul:
            return _reduce(jnp.multiply, [self(a) for a in e.args])
        if e.is_Pow:
            return self._pow(*e.args)
        if e.func is sp.sign:
            return self._switched(e.args[0], jnp.sign, lambda s: s)
        if e.func is sp.Abs and self.analytic:
            return self(e.args[0]) * self._switched(e.args[0], jnp.sign, lambda s: s)
        if e.func is sp.Heaviside:
            half = 0.5 if len(e.args) == 1 else float(e.args[1])
            step = lambda u: jnp.where(u > 0, 1.0, jnp.where(u < 0, 0.0, half))
            return self._switched(e.args[0], step, lambda s: jnp.where(s > 0, 1.0, 0.0))
        if e.func is sp.DiracDelta:
            # Zero off its support; at the support the analysis checks continuity instead.
            return jnp.zeros_like(self(e.args[0]))
        if e.func in (sp.Max, sp.Min):
            if self.analytic:
                return self._analytic_extremum(e)
            return _reduce(jnp.maximum if e.func is sp.Max else jnp.minimum, [self(a) for a in e.args])
        if e.is_Piecewise:
            return self._piecewise(e)
        if e.is_Relational:
            rule = _RELATIONS.get(type(e))
            if rule is None:
                raise NotImplementedError(f"cannot compile relation {e}")
            u = relation_argument(e)
            return self._switched(u, lambda v: rule(v, 0.0), _RELATION_ON_SIDE[type(e)])
        if e.func is sp.And:
            return _reduce(jnp.logical_and, [self(a) for a in e.args])
        if e.func is sp.Or:
            return _reduce(jnp.logical_or, [self(a) for a in e.args])
        if e.func is sp.Not:
            return jnp.logical_not(self(e.args[0]))
        if e is sp.true:
            return True
        if e is sp.false:
            return False
        rule = JAX_FUNCTIONS.get(e.func)
        if rule is None:
            raise NotImplementedError(f"cannot compile {e.func.__name__}: no JAX rule for it")
        return rule(*(self(a) for a in e.args))

    def _switched(self, u, natural: Callable, on_side: Callable):
        value = natural(self.real(self(u)))
        forced = self._side_of(u)
        if forced is None:
            return value
        flag, side = forced
        return jnp.where(flag, on_side(side), value)

    def _analytic_extremum(self, e):
        if len(e.args) != 2:
            raise NotImplementedError(f"complex step of {e.func.__name__} with {len(e.args)} arguments")
        a, b = e.args
        # Max(a, b) is a where a - b > 0, else b (Min the other way round); decided on the real axis.
        pick_a = self._switched(a - b, lambda v: v > 0, lambda s: s > 0)
        if e.func is sp.Min:
            pick_a = ~pick_a
        return jnp.where(pick_a, self(a), self(b))

    def _pow(self, base, exponent):
        if base is sp.E:
            return jnp.exp(self(exponent))
        b = self(base)
        if exponent.is_Integer:
            n = int(exponent)
            return lax.integer_pow(b, n) if abs(n) <= 64 else b ** float(n)
        if exponent == sp.Rational(1, 2):
            return jnp.sqrt(b)
        if exponent == sp.Rational(-1, 2):
            return lax.rsqrt(b)
        # Real semantics: a non-integer power of a negative number is undefined (NaN).
        return jnp.power(b, self(exponent))

    def _piecewise(self, e):
        # Every branch is computed and one selected per element; XLA raises no warnings for the
        # branches not taken, and a NaN there never leaks into the selected value.
        pieces = list(e.args)
        result = self(pieces[-1].expr) if pieces[-1].cond is sp.true else jnp.nan
        for piece in reversed(pieces[:-1] if pieces[-1].cond is sp.true else pieces):
            result = jnp.where(self(piece.cond), self(piece.expr), result)
        return result


def _reduce(op: Callable, values: list):
    result = values[0]
    for value in values[1:]:
        result = op(result, value)
    return result


def elementwise(fn: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Wrap an elementwise JAX function of a flat array as a jitted kernel taking NumPy arrays.

    The kernel takes the first few elements apart so that the rest starts on a 64-byte boundary:
    XLA reads an aligned NumPy buffer in place but copies an unaligned one (``np.linspace``'s often
    is), and that copy alone would cost as much as the whole evaluation.
    """

    def split(head, body):
        return jnp.pad(fn(body), (head.shape[0], 0)).at[: head.shape[0]].set(fn(head))

    jitted = jax.jit(split)

    def run(flat: np.ndarray) -> np.ndarray:
        k = min((-flat.ctypes.data % 64) // flat.itemsize, flat.shape[0])
        with x64():
            return to_numpy(jitted(flat[:k], flat[k:]))

    return run


class _Owner:
    """Lends a JAX CPU buffer to NumPy as a writable array and keeps it alive as the array's base.

    The buffer is the kernel's private output, so handing it out writable is safe, and it spares
    the copy that ``np.asarray`` (read-only) followed by ``.copy()`` would cost.
    """

    def __init__(self, array: jax.Array):
        self.array = array
        self.__array_interface__ = {
            "shape": tuple(array.shape), "typestr": np.dtype(array.dtype).str,
            "data": (array.unsafe_buffer_pointer(), False), "version": 3,
        }


def to_numpy(array: jax.Array) -> np.ndarray:
    """A writable NumPy array sharing the JAX result's memory (a copy when it is empty)."""
    if array.size == 0:
        return np.array(array)
    array.block_until_ready()  # JAX dispatches asynchronously: the buffer may not be written yet
    return np.asarray(_Owner(array))
