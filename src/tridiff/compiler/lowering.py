"""SymPy to one fused JAX kernel, and the runner that feeds it NumPy arrays.

:class:`Lowering` walks a SymPy expression once, memoising every distinct node, so a subexpression
shared by f, f' and f'' is computed once and XLA fuses the whole walk into a single pass over
memory: this is what removes the lab's expression swell. Its ``switches`` argument lets the kink
analysis evaluate the same expressions with each branch forced to one side of a kink.

float64 stays float64 through ``jax.enable_x64`` used as a context manager: the user's global
JAX configuration is never touched.
"""

from __future__ import annotations

import math
import threading
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jax import lax

from ..errors import TridiffError
from ..primitives import BY_HEAD

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


def x64():
    """64-bit JAX inside a ``with`` block only (thread-local; the global config is left alone)."""
    return jax.enable_x64(True)


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

    def side_of(self, u):
        """``(flag, side)`` where a switch on ``u`` (or on ``-u``) is forced to one side, else None."""
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
        if e.is_Piecewise:
            return self._piecewise(e)
        if e.is_Relational:
            rule = _RELATIONS.get(type(e))
            if rule is None:
                raise TridiffError(f"cannot compile relation {e}")
            u = relation_argument(e)
            return self.switched(u, lambda v: rule(v, 0.0), _RELATION_ON_SIDE[type(e)])
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
        record = BY_HEAD.get(e.func)
        if record is None or (record.lower is None and record.lower_node is None):
            name = getattr(e.func, "__name__", str(e.func))
            raise TridiffError(f"cannot compile {name}: tridiff has no record of it (see tridiff.primitives)")
        if record.lower_node is not None:
            return record.lower_node(self, e)
        return record.lower(*(self(a) for a in e.args))

    def switched(self, u, natural: Callable, on_side: Callable):
        """``natural(u)``, or where a switch on ``u`` is forced (see ``switches``), ``on_side(s)`` for
        the side s it is forced to: how sign, Heaviside, relations and abs take a side."""
        value = natural(self.real(self(u)))
        forced = self.side_of(u)
        if forced is None:
            return value
        flag, side = forced
        return jnp.where(flag, on_side(side), value)

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


#: Elements per call of a kernel compiled for any length: a batch of points up to it is padded to
#: a power of two (at least SMALLEST points, or 1 row of a table), and a longer one goes through in
#: chunks of it, so a few kernels serve every size and memory offset (XLA compiles for one shape at
#: a time: 100 ms for each new size). Chunks cost a large batch some speed (a dispatch each, the copy
#: out, one core), and padding a table costs rows of work, so the second time such a batch of one
#: length comes, a kernel for exactly that length is compiled in the background and serves it from
#: then on: repeated work on one size runs at full speed.
CHUNK = 1 << 16
TABLE_CHUNK = 1 << 22  # elements per call for a table of rows (a row's work is larger: chunks hold more)
SMALLEST = 16
AHEAD = 4  # chunks dispatched before the first is copied out: XLA computes while NumPy copies
SMALL_COPY = 1024  # elements of a result copied out rather than lent (see to_numpy)
MAX_EXACT = 16  # lengths per kernel that get one of their own
MAX_SEEN = 1024


def bucket(n: int, smallest: int = SMALLEST) -> int:
    """The kernel's batch length for ``n`` points: the next power of two, at least ``smallest``."""
    return max(smallest, 1 << (n - 1).bit_length())


COMPILING, FAILED = "compiling", "failed"  # a length's own kernel: in the background, or not to be had


def elementwise(fn: Callable) -> Callable[[np.ndarray], np.ndarray | tuple[np.ndarray | None, ...]]:
    """Wrap a JAX function of a batch of points as a jitted kernel taking NumPy arrays of any length.

    ``fn`` maps an array whose leading axis is the points (a flat array, or a table of one row per
    point) to one array or a tuple of arrays (or None) with the same leading axis, each output row
    depending on its input row alone. See :data:`CHUNK` for how lengths are served.
    """
    jitted = jax.jit(fn)

    @jax.jit
    def split(head, body):
        # XLA reads an aligned NumPy buffer in place but copies an unaligned one (np.linspace's
        # often is): the first few points go apart so that the rest starts on a 64-byte boundary.
        # (pad-and-set fuses into one pass; jnp.concatenate of the two made XLA ten times slower)
        k = head.shape[0]

        def join(h, b):
            return jnp.pad(b, [(k, 0)] + [(0, 0)] * (b.ndim - 1)).at[:k].set(h)

        return jax.tree_util.tree_map(join, fn(head), fn(body))

    exact: dict = {}  # (head, body, row shape, dtype) -> the kernel for exactly those lengths, COMPILING or FAILED
    seen: set = set()  # the lengths that came once (forgotten past MAX_SEEN: a stream of sizes)

    def call(block: np.ndarray):
        with x64():
            return jitted(block)

    def compile_later(key) -> None:
        exact[key] = COMPILING

        def work():
            head, body, row, dtype = key
            try:
                with x64():
                    exact[key] = split.lower(jax.ShapeDtypeStruct((head, *row), dtype),
                                             jax.ShapeDtypeStruct((body, *row), dtype)).compile()
            except Exception:  # out of memory, say: the chunks go on serving this length
                exact[key] = FAILED

        threading.Thread(target=work, name="tridiff-compile", daemon=True).start()

    def run(batch: np.ndarray):
        n, row = batch.shape[0], batch.shape[1:]
        chunk = CHUNK if not row else max(1, TABLE_CHUNK // math.prod(row))  # points per call
        size = bucket(n, 1 if row else SMALLEST)
        # A length gets a kernel of its own when chunks would serve it, or (a row of a table being
        # costly: a gradient of 10^4 variables) when padding would add rows to compute.
        if n > chunk or (row and n != size):
            # only a flat batch can be split so that the rest is aligned (rows may not divide 64 bytes)
            head = 0 if row else min((-batch.ctypes.data % 64) // batch.itemsize, n)
            key = (head, n - head, row, batch.dtype)
            kernel = exact.get(key)
            if callable(kernel):
                with x64():
                    return _each(kernel(batch[:head], batch[head:]), to_numpy)
            if kernel is None and key in seen and len(exact) < MAX_EXACT:
                compile_later(key)
            if len(seen) >= MAX_SEEN:
                seen.clear()
            seen.add(key)
            if n > chunk:
                return chunked(batch, head, chunk)
        block = batch
        if n != size:
            block = np.zeros((size, *row), batch.dtype)
            block[:n] = batch
        return _each(call(block), lambda a: to_numpy(a)[:n])

    def chunked(batch: np.ndarray, head: int, chunk: int):
        # Full chunks from the aligned start; the unaligned head and the short tail share one chunk,
        # padded, so that a long batch's first call compiles one kernel, not three. A job is the
        # runs (start, length) of the batch that one call of the kernel computes.
        n = batch.shape[0]
        end = head + (n - head) // chunk * chunk
        jobs = [[(start, chunk)] for start in range(head, end, chunk)]
        rest = [(at, m) for at, m in ((0, head), (end, n - end)) if m]
        jobs += [rest] if sum(m for _, m in rest) <= chunk else [[r] for r in rest]
        out, pending = None, []
        for runs in filter(None, jobs):
            pending.append((runs, call(_gather(batch, runs, chunk))))
            if len(pending) > AHEAD:
                out = _copy_out(out, *pending.pop(0), n)
        while pending:
            out = _copy_out(out, *pending.pop(0), n)
        return out

    run.exact = exact  # which lengths have a kernel of their own (for the tests)
    return run


def _each(result, fn: Callable):
    """``fn`` applied to one array or to each of a tuple of them (None stays None)."""
    if isinstance(result, tuple):
        return tuple(None if a is None else fn(a) for a in result)
    return fn(result)


def _gather(batch: np.ndarray, runs: list[tuple[int, int]], chunk: int) -> np.ndarray:
    """The points one kernel call computes: a view of one full chunk, else the runs copied one
    after another into a zero-padded block."""
    if runs[0][1] == chunk:
        start = runs[0][0]
        return batch[start:start + chunk]
    block, at = np.zeros((chunk, *batch.shape[1:]), batch.dtype), 0
    for start, m in runs:
        block[at:at + m] = batch[start:start + m]
        at += m
    return block


def _copy_out(out, runs: list[tuple[int, int]], result, n: int):
    """Copy a kernel call's result back to the runs it was gathered from, into ``out`` (made on the
    first call: n points of each output's shape and dtype)."""
    parts = _each(result, to_numpy)
    if out is None:
        out = _each(parts, lambda p: np.empty((n, *p.shape[1:]), p.dtype))
    for target, part in zip(*((out, parts) if isinstance(out, tuple) else ((out,), (parts,)))):
        if target is None:
            continue
        at = 0
        for start, m in runs:
            target[start:start + m] = part[at:at + m]
            at += m
    return out


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
    """A writable NumPy array sharing the JAX result's memory (a copy when it is small, which is
    quicker than lending the buffer, or empty)."""
    if array.size <= SMALL_COPY:
        return np.array(array)
    array.block_until_ready()  # JAX dispatches asynchronously: the buffer may not be written yet
    return np.asarray(_Owner(array))
