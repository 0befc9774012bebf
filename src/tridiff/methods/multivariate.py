"""Several variables: gradient, Jacobian, Hessian, partial and directional derivatives, three ways.

One core, :class:`MultiDerivative`, serves all of them: its outputs are a table of derivative
formulas (∂f/∂x_j, ∂f_i/∂x_j or ∂²f/∂x_i∂x_j) evaluated at a batch of points of shape (..., n).

- symbolic: the formulas from SymPy, compiled into one JAX kernel that shares their common
  subexpressions;
- automatic: JAX on f's program, in the mode the shapes call for: reverse (one backward pass per
  output) when there are fewer outputs than variables, as for a gradient; forward (one tangent per
  variable) otherwise; forward over reverse for a Hessian;
- numeric: the one-variable finite differences of :mod:`tridiff.methods.numeric` along each coordinate
  (2 evaluations per variable with ``accuracy=2``, 4 with the default 4), with their error
  estimates; mixed second partials by the 4-point formula.

Where the derivative does not exist is decided once, as in one variable (:mod:`tridiff.analysis.switches`): on
a switch surface u = 0 each derivative formula (∂f/∂x_j, or along a direction) is evaluated with
every switch forced to the side that a move along x_j (or the direction) reaches from either
side; the derivative exists there iff f is continuous and the limits agree. So |x − y| on the line
x = y, max(x, y) and max(x, 0) + max(−x, 0) are undefined there, |x|·y at the origin is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from ..analysis.program_switches import Instrumented, any_weight, has_switches
from ..analysis.switches import Switch, analyse, collect_switches, variation, variation_rates
from ..compiler.backends import JAX, NUMPY, Backend
from ..compiler.chunked import as_chunked, is_lazy, map_reasons, map_rows
from ..compiler.lowering import Lowering
from ..compiler.runner import elementwise
from ..definition.function import Function, function, names_of
from ..definition.points import as_rows
from ..errors import MethodUnavailableError, TridiffError
from ..reasons import INFINITE, NOT_FINITE, NOT_FINITE_INPUT, OUTSIDE_DOMAIN, PROGRAM_SWITCH, reasons_of
from . import numeric, symbolic
from .options import METHODS


@dataclass(frozen=True)
class MultiResult:
    """Derivatives at a batch of points: ``values`` of shape batch + output shape, NaN where they do not
    exist; ``undefined`` and ``reasons`` per point (batch shape); ``error_estimate`` (numeric) like values."""

    values: np.ndarray
    undefined: np.ndarray
    reasons: np.ndarray
    error_estimate: np.ndarray | None
    method: str


class MultiDerivative:
    """Derivatives of f (or of f_1 … f_m) with respect to its n variables, at points of shape (..., n).

    Made by :func:`gradient`, :func:`jacobian`, :func:`hessian`, :func:`partial` and
    :func:`directional`; call it for values, or use :meth:`evaluate` for reasons and error estimates.

    >>> import tridiff as td
    >>> g = td.gradient("x*y + sin(y)")
    >>> g([1.0, 0.0])
    array([0., 2.])
    """

    def __init__(self, functions: tuple[Function, ...], variables, kind: str, method: str, weights=None,
                 scheme: str = "central", accuracy: int | None = None):
        self.functions, self.variables, self.kind, self.method = functions, variables, kind, method
        self.weights = weights  # the direction of a directional derivative, or the one-hot row of a partial
        self.scheme, self.accuracy = scheme, accuracy
        # A "program" function (no formula) is smooth wherever finite, so it has no switches.
        self.formula = all(f.expr is not None for f in functions)
        self.switches = self._switches() if self.formula else ()
        # where each f_i varies on a scale of its own (sin(x·y) at x = 1e4): its numeric step must stay inside it
        self.rates = tuple(variation_rates(f.expr, variables) if self.formula and method == "numeric" else ()
                           for f in functions)
        self._names = names_of(variables)  # once, not per call: n can be 10^5
        self._kernels = {}

    # -- the formulas ------------------------------------------------------------------------
    def _switches(self) -> tuple[Switch, ...]:
        """The switches of f and of the formulas evaluated (see :func:`collect_switches`)."""
        return collect_switches(self._orders, self.variables, budget=symbolic.AnalysisBudget())

    def _gradients(self) -> tuple[sp.Expr, ...]:
        """For a Hessian, the first derivatives too: f'' exists only where f' does."""
        if self.kind != "hessian":
            return ()
        return tuple(symbolic.diff(self.functions[0].expr, x) for x in self.variables)

    def _table(self) -> list[list[sp.Expr]]:
        """The derivative formulas, one row per function (one row of the Hessian per variable)."""
        xs = self.variables
        if self.kind == "hessian":
            f = self.functions[0].expr
            return [[symbolic.diff(f, a, b) for b in xs] for a in xs]
        rows = [[symbolic.diff(f.expr, x) for x in xs] for f in self.functions]
        if self.weights is not None:  # a partial (one-hot weights) or a directional derivative
            rows = [[sum(_number(w) * d for w, d in zip(self.weights, row) if w != 0)] for row in rows]
        return rows

    def _flat(self) -> tuple[sp.Expr, ...]:
        if not hasattr(self, "_formulas"):
            self._formulas = tuple(e for row in self._table() for e in row)
        return self._formulas

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of the derivative at one point."""
        n = len(self.variables)
        return {"gradient": (n,), "hessian": (n, n), "jacobian": (len(self.functions), n)}.get(self.kind, ())

    @property
    def expr(self):
        """The derivative as SymPy: a Matrix (gradient as a column, Jacobian, Hessian) or one expression
        (None for a function with no formula)."""
        if not self.formula:
            return None
        table = self._table()
        if self.shape == ():
            return table[0][0]
        if self.kind == "gradient":
            return sp.Matrix(table[0])
        return sp.Matrix(table)

    @property
    def latex(self) -> str | None:
        return sp.latex(self.expr) if self.formula else None

    def _repr_latex_(self) -> str | None:
        return f"$\\displaystyle {self.latex}$" if self.formula else None

    def __repr__(self) -> str:
        return f"<{self.kind} of {', '.join(map(str, self.functions))} by {self.method}>"

    # -- evaluation --------------------------------------------------------------------------
    def __reduce__(self):
        # to another process (a Dask worker) by its definition (see Function.__reduce__)
        return MultiDerivative, (self.functions, self.variables, self.kind, self.method, self.weights, self.scheme,
                                 self.accuracy)

    def __call__(self, points):
        """The derivative at ``points`` (shape (..., n)): shape (...) + :attr:`shape`, NaN where it does not exist.
        A Dask array of points (rows in chunks) gives a lazy Dask array, one task per block of rows."""
        if is_lazy(points):
            return map_rows(self, self._chunked(points), self.shape)
        return self.evaluate(points).values

    def evaluate(self, points) -> MultiResult:
        """Values, the undefined points with reasons, and error estimates (numeric) at ``points``.
        A Dask array of points gives a result of lazy Dask arrays, one task per block of rows."""
        if is_lazy(points):
            return self._lazy(self._chunked(points))
        rows = as_rows(points, self._names)
        value, code, error = self._outputs(rows.table)
        undefined = code != 0
        # the common case, nothing undefined: no reasons to look up
        reasons = reasons_of(code) if undefined.any() else np.full(len(code), "", object)
        return MultiResult(rows.shaped(value, self.shape), rows.shaped(undefined), rows.shaped(reasons),
                           None if error is None else rows.shaped(error, self.shape), self.method)

    def _outputs(self, table: np.ndarray):
        """(values, reason codes, error estimates or None) at the rows of ``table``, each row's estimate
        NaN where the derivative does not exist."""
        if table.shape[0] == 0:
            return np.empty((0,) + self.shape), np.zeros(0, np.int8), None
        if "rich" not in self._kernels:
            # a symbolic formula also runs in NumPy (first calls: no compile); AD and the loops over
            # coordinates are JAX's
            in_numpy = self.formula and self.method == "symbolic"
            self._kernels["rich"] = elementwise(lambda t: self._program(JAX, t),
                                                (lambda t: self._program(NUMPY, t)) if in_numpy else None)
        value, code, error = self._kernels["rich"](table)  # error: None unless numeric
        if error is not None and code.any():
            error = np.where((code != 0)[:, None], np.nan, error)
        return value, code, error

    def _chunked(self, points):
        points = as_chunked(points, "points")
        if points.ndim == 0 or points.shape[-1] != len(self.variables):
            raise TridiffError(f"points of a chunked array must have shape (..., {len(self.variables)}), "
                               f"got {points.shape}")
        return points

    def _lazy(self, points) -> MultiResult:
        # One task per block of rows: each row's values, its reason code and (numeric) its error
        # estimates side by side in one row of floats, then taken apart lazily.
        size = math.prod(self.shape)
        numeric = self.method == "numeric"
        packed = map_rows(partial(_packed, d=self), points, (size * (2 if numeric else 1) + 1,))
        batch = packed.shape[:-1]
        code = packed[..., size]
        error = packed[..., size + 1:].reshape(batch + self.shape) if numeric else None
        return MultiResult(packed[..., :size].reshape(batch + self.shape), code != 0, map_reasons(code), error,
                           self.method)

    def _program(self, backend: Backend, table):
        if not self.formula:
            return self.program_of_vector(table)
        xp = backend.xp
        cols = [table[:, i] for i in range(table.shape[1])]
        analysis = analyse(dict(zip(self.variables, cols)), self._orders, self.switches, backend=backend,
                           directions=self._directions)
        code, flagged = analysis.code, analysis.flagged
        error = None  # only numeric estimates its error
        if self.method == "symbolic":  # where a switch vanishes, the agreed one-sided limit
            out = xp.stack(analysis.value, axis=-1)
        elif self.method == "automatic":
            out = self._automatic(cols)
        else:
            out, error, numeric_code = self._numeric(cols, flagged)
            code = xp.where(code == 0, numeric_code, code)
        code = xp.where(code == 0, _not_finite_code(out, xp), code)
        out = xp.where((code == 0)[:, None], out, np.nan)
        return out, code.astype(np.int8), error

    def program_of_vector(self, table, fn: Callable | None = None):
        """A jax.numpy function of a long vector, with no formula: JAX on the program as written (f's
        own, or ``fn``, f read with data given to the compiled program), one point (row) at a time;
        defined wherever it and its derivative are finite, except along the coordinates that move a
        switch sitting at its kink (see :mod:`tridiff.analysis.program_switches`)."""
        fn = fn or self.functions[0].source
        watched = None  # (the switches at 0, which entries of out they take away), for a program with switches
        if self.method == "numeric":
            out, error = self._numeric_of_vector(fn, table)
            value = jax.vmap(fn)(table)
        elif self._switched:
            out, value, watched = self._watched(fn, table)
            error = None
        else:
            value, out = self._automatic_of_vector(fn, table)
            out, error = out.reshape(len(table), -1), None

        def checked():  # the reasons, point by point: a few passes over the batch
            kinks = None if watched is None else watched[1]()
            finite_input = jnp.all(jnp.isfinite(table), axis=-1)
            code = jnp.where(finite_input, jnp.where(jnp.isfinite(value), 0, OUTSIDE_DOMAIN), NOT_FINITE_INPUT)
            code = jnp.where(code == 0, _not_finite_code(out if kinks is None else jnp.where(kinks, 0.0, out), jnp),
                             code)
            if kinks is None:
                return jnp.where((code == 0)[:, None], out, jnp.nan), code.astype(jnp.int8)
            code = jnp.where(code == 0, jnp.where(jnp.any(kinks, axis=-1), PROGRAM_SWITCH, 0), code)
            kept = (code == 0) | (code == PROGRAM_SWITCH)
            return jnp.where(kept[:, None] & ~kinks, out, jnp.nan), code.astype(jnp.int8)

        # Sums are finite only if every term is: where all three are and no switch sits at 0 (nearly
        # always), nothing is undefined, and the point-by-point checks (which cost a logistic loss of
        # 10^3 weights as much as its gradient) are skipped; lax.cond runs one branch.
        fine = jnp.isfinite(jnp.sum(table) + jnp.sum(value) + jnp.sum(out))
        if watched is not None:
            fine = fine & ~watched[0]
        out, code = jax.lax.cond(fine, lambda: (out, jnp.zeros(len(table), jnp.int8)), checked)
        return out, code, error

    def _automatic_of_vector(self, fn, table):
        """f and its derivative at each row, by JAX; f's value, for the finiteness check, is the
        primal of the derivative's own pass: f runs once."""
        if self.kind == "hessian":  # forward over reverse; jacfwd carries f's value out as aux
            def grad_and_value(q):
                value, grad = jax.value_and_grad(fn)(q)
                return grad, value

            def value_and_derivative(p):
                hess, value = jax.jacfwd(grad_and_value, has_aux=True)(p)
                return value, hess
        elif self.weights is not None:
            w = jnp.asarray(self.weights, table.dtype)

            def value_and_derivative(p):
                return jax.jvp(fn, (p,), (w,))
        else:  # reverse mode: the whole gradient for a few evaluations' cost
            value_and_derivative = jax.value_and_grad(fn)
        return jax.vmap(value_and_derivative)(table)

    def _watched(self, fn, table):
        """The derivative of a program with switches, the switches watched in the gradient's pass:
        (derivative, f, (whether a switch sits at 0, a function giving which entries of the
        derivative do not exist then))."""
        program = Instrumented(fn, table.shape[1])
        value, grad, weights = program.watch(table)

        def kinks():
            return program.kinks(table, weights)

        watched = (any_weight(weights), kinks)
        if self.kind == "hessian":  # ∂²f/∂x_i∂x_j needs ∂f/∂x_i and ∂f/∂x_j
            def entries():
                k = kinks()
                return (k[:, :, None] | k[:, None, :]).reshape(len(table), -1)

            return jax.vmap(jax.hessian(fn))(table).reshape(len(table), -1), value, (watched[0], entries)
        if self.weights is not None:  # along a direction: every coordinate it moves must have its partial
            w = jnp.asarray(self.weights, table.dtype)
            return (grad @ w)[:, None], value, (watched[0], lambda: jnp.any(kinks() & (w != 0), -1, keepdims=True))
        return grad, value, watched

    @cached_property
    def _switched(self) -> bool:
        """Whether f is a program with switches (relu, abs, maximum, where…) to watch."""
        f = self.functions[0]
        return not self.formula and has_switches(f.source, len(f.variables))

    def _numeric_of_vector(self, fn, table):
        """Finite differences along each coordinate in turn (a loop, not n copies of the program)."""
        if self.kind == "hessian":
            raise MethodUnavailableError("a numeric Hessian of a function with no formula costs n² evaluations of f "
                                         "per point: use method='automatic'")
        n = table.shape[1]

        def along(j):
            def values_at(t):
                return jax.vmap(lambda row, tj: fn(row.at[j].set(tj)))(table, t)

            est = numeric.differentiate(values_at, table[:, j], 1, jnp, scheme=self.scheme, accuracy=self.accuracy)
            return est.value, est.error

        if self.weights is not None:  # only the coordinates the direction moves along
            js = [j for j, w in enumerate(self.weights) if w != 0]
            parts = [along(j) for j in js]
            ws = [abs(float(self.weights[j])) for j in js]
            value = sum(float(self.weights[j]) * v for j, (v, _) in zip(js, parts))
            error = sum(w * e for w, (_, e) in zip(ws, parts))
            return value[:, None], error[:, None]
        values, errors = jax.lax.map(along, jnp.arange(n))
        return values.T, errors.T

    def _programs(self):
        """Each f_i as a JAX function of the derivative's variables, in their order."""
        if not self.formula:
            return [f.program() for f in self.functions]
        return [lambda *xs, e=f.expr: Lowering(dict(zip(self.variables, xs))).array(e, xs[0]) for f in self.functions]

    # -- automatic -------------------------------------------------------------------------------
    def _automatic(self, cols):
        """JAX AD on f's program, batched over points (each point's outputs depend on it alone)."""
        programs = self._programs()
        n, ones = len(cols), jnp.ones_like(cols[0])

        def outputs(*xs):
            return [p(*xs) for p in programs]

        if self.kind == "hessian":
            # Forward over reverse: the gradient by one backward pass, then one tangent per variable.
            def grad(*xs):
                return jax.vjp(lambda *ys: programs[0](*ys), *xs)[1](ones)

            rows = [jax.jvp(grad, tuple(cols), tuple(_basis(cols, i)))[1] for i in range(n)]
            return jnp.stack([jnp.stack(r, axis=-1) for r in rows], axis=-2).reshape(len(cols[0]), -1)
        if self.weights is not None:  # a directional or partial derivative: one tangent
            tangent = tuple(float(w) * ones for w in self.weights)
            out = jax.jvp(lambda *xs: tuple(outputs(*xs)), tuple(cols), tangent)[1]
            return jnp.stack(out, axis=-1)
        if len(programs) < n:  # reverse mode: one backward pass per output
            _, pullback = jax.vjp(lambda *xs: tuple(outputs(*xs)), *cols)
            rows = [pullback(tuple(ones if k == i else 0 * ones for k in range(len(programs))))
                    for i in range(len(programs))]
            return jnp.stack([jnp.stack(r, axis=-1) for r in rows], axis=-2).reshape(len(cols[0]), -1)
        columns = [jax.jvp(lambda *xs: tuple(outputs(*xs)), tuple(cols), tuple(_basis(cols, j)))[1]
                   for j in range(n)]  # forward mode: one tangent per variable
        return jnp.stack([jnp.stack(c, axis=-1) for c in columns], axis=-1).reshape(len(cols[0]), -1)

    # -- numeric ---------------------------------------------------------------------------------
    def _numeric(self, cols, flagged):
        """One-variable finite differences along each coordinate; a Hessian row is the numeric
        derivative along x_i of the numeric gradient."""
        programs = self._programs()
        n = len(cols)
        if self.kind == "hessian":
            ests = [self._along(programs[0], cols, i, flagged, order=2, rates=self.rates[0]) if i == j
                    else self._cross(programs[0], cols, i, j, flagged) for i in range(n) for j in range(n)]
        elif self.weights is not None:
            ests = []
            for p, rates in zip(programs, self.rates):
                parts = [(float(w), self._along(p, cols, j, flagged, rates=rates))
                         for j, w in enumerate(self.weights) if w != 0]
                ests.append(numeric.Estimate(sum(w * e.value for w, e in parts),
                                             sum(abs(w) * e.error for w, e in parts),
                                             jnp.max(jnp.stack([e.code for _, e in parts]), axis=0), None, None))
        else:  # one loop over the coordinates (jax.lax.map): the kernel holds f's program once per
            # stencil point, not n times over (a traced logistic loss of 10 weights took a minute to compile)
            def along_each(p, rates):
                nears = (None if not (self.switches or rates)
                         else jnp.stack([jnp.stack(d) for d in self._clearances(cols, range(n), rates)]))

                def one(j):
                    e = self._along(p, cols, j, flagged, None if nears is None else tuple(nears[j]))
                    return e.value, e.error, e.code

                return jax.lax.map(one, jnp.arange(n))  # each (n, points)

            parts = [along_each(p, rates) for p, rates in zip(programs, self.rates)]
            return (jnp.concatenate([v.T for v, _, _ in parts], axis=-1),
                    jnp.concatenate([e.T for _, e, _ in parts], axis=-1),
                    jnp.max(jnp.stack([c.max(axis=0) for _, _, c in parts]), axis=0))
        code = jnp.max(jnp.stack([e.code for e in ests]), axis=0)
        return jnp.stack([e.value for e in ests], axis=-1), jnp.stack([e.error for e in ests], axis=-1), code

    def _cross(self, program, cols, i, j, flagged):
        """∂²f/∂x_i∂x_j (i ≠ j) by the 4-point formula [f(+,+) − f(+,−) − f(−,+) + f(−,−)] / 4·h_i·h_j,
        error O(h²): its estimate is the gap to the same formula at 2h, plus round-off."""
        eps = float(jnp.finfo(cols[0].dtype).eps)
        steps = [numeric.step_size(cols[k], eps ** 0.25, jnp, flagged=flagged) for k in (i, j)]

        def at(scale):
            total = rounding = 0
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                moved = list(cols)
                moved[i], moved[j] = cols[i] + si * scale * steps[0], cols[j] + sj * scale * steps[1]
                value = program(*moved)
                total, rounding = total + si * sj * value, rounding + jnp.abs(value)
            inv = 1.0 / (4 * scale**2 * steps[0] * steps[1])
            return total * inv, rounding * inv

        value, rounding = at(1)
        truncation = jnp.abs(at(2)[0] - value) / 3
        return numeric.Estimate(value, 2 * truncation + 3 * eps * rounding, jnp.zeros(value.shape, jnp.int8),
                                None, None)

    def _along(self, program, cols, j, flagged, near=None, order=1, rates=()):
        """d^order/dx_j^order of ``program`` at ``cols`` by :func:`tridiff.methods.numeric.differentiate`, kinks
        avoided; ``j`` may be traced (a loop over the coordinates), ``near`` (see :meth:`_clearances`) then given,
        else found from the switches and the program's own ``rates``."""
        args = [s.arg for s in self.switches]

        def moved(t):
            if isinstance(j, int):
                return [t if k == j else c for k, c in enumerate(cols)]
            return [jnp.where(k == j, t, c) for k, c in enumerate(cols)]

        def states_at(t):
            low = Lowering(dict(zip(self.variables, moved(t))))
            return [jnp.sign(low.array(u, t)) for u in args]

        if near is None and isinstance(j, int) and (args or rates):
            near = self._clearances(cols, [j], rates)[0]
        distance, clearance, smear = (None, None, None) if near is None else near
        x = cols[j] if isinstance(j, int) else jnp.stack(cols)[j]
        return numeric.differentiate(lambda t: program(*moved(t)), x, order, jnp,
                                     scheme=self.scheme, accuracy=self.accuracy,
                                     states_at=states_at if args else None, flagged=flagged, distance=distance,
                                     clearance=clearance, smear=smear)

    def _clearances(self, cols, js, rates):
        """For each j of ``js``, how far x_j may move before a switch argument changes sign, as in one
        variable: ``(distance, clearance, smear)``: to the nearest pole or domain edge, or the scale on
        which f varies along x_j by ``rates`` (1/|∂u/∂x_j| for sin(u)), whichever is nearer;
        to the nearest kink (which a stencil need only keep clear of), inf where there is none; and
        the rounding of f's arguments as a move of x_j (see :class:`tridiff.analysis.switches.Analysis`).
        Each argument's value is lowered once for all of them."""
        natural = Lowering(dict(zip(self.variables, cols)))
        sizes = [(s, jnp.abs(natural(s.arg))) for s in self.switches]
        inf, zero = jnp.full(cols[0].shape, jnp.inf, cols[0].dtype), jnp.zeros(cols[0].shape, cols[0].dtype)
        out = []
        for j in js:
            scale, smear = variation(rates, natural, cols[0], j)
            nears = {"branch": inf, "edge": inf if scale is None else scale}
            for s, size in sizes:
                kind = "branch" if s.kind == "branch" else "edge"
                nears[kind] = jnp.minimum(nears[kind], size / jnp.abs(natural(s.grad[j])))
            out.append((nears["edge"], nears["branch"], zero if smear is None else smear))
        return out

    # -- where the derivative does not exist -----------------------------------------------------
    @cached_property
    def _orders(self) -> list[list[sp.Expr]]:
        """The formulas by order for the analysis: f's, then (for a Hessian) the gradient, then the table
        (kept: the switches are found in them once, and the analysis lowers them at every compile)."""
        orders = [[f.expr for f in self.functions]]
        if self.kind == "hessian":
            orders.append(list(self._gradients()))
        return orders + [list(self._flat())]

    @cached_property
    def _directions(self) -> list[list[tuple[float, ...]]]:
        """The direction each formula of ``_orders[1:]`` is a derivative along (see
        :func:`tridiff.analysis.switches.analyse`): ∂f_i/∂x_j along x_j; ∂²f/∂x_a∂x_b along x_b
        (that of ∂f/∂x_a); a directional or partial derivative along its weights."""
        n = len(self.variables)
        axes = [tuple(float(i == j) for i in range(n)) for j in range(n)]
        if self.weights is not None:
            return [[tuple(float(w) for w in self.weights)] * len(self.functions)]
        if self.kind == "hessian":
            return [axes, [axes[b] for _ in range(n) for b in range(n)]]
        return [axes * len(self.functions)]


def _number(w: float) -> sp.Expr:
    """A direction's component as SymPy: an integer when it is one (1·y reads as y, not 1.0·y)."""
    return sp.Integer(int(w)) if float(w).is_integer() else sp.Float(w)


def _packed(block: np.ndarray, d: MultiDerivative) -> np.ndarray:
    """A Dask task: a block of rows' values, reason codes and error estimates, a row of floats each
    (see :meth:`MultiDerivative._lazy`)."""
    value, code, error = d._outputs(as_rows(block, d._names).table)
    parts = [value.reshape(len(code), -1), code[:, None]] + ([] if error is None else [error.reshape(len(code), -1)])
    return np.concatenate(parts, axis=1).reshape(block.shape[:-1] + (-1,))


def _not_finite_code(out, xp):
    """Per row of ``out``: 0 where it is all finite, else INFINITE if an entry is ±inf, else NOT_FINITE.
    One reduction over ``out``, not two (all finite, any inf): at n = 10^4 each costs a pass over it."""
    worst = xp.max(xp.where(xp.isinf(out), 2, xp.isnan(out)).astype(np.int8), axis=-1)
    return xp.asarray(np.array([0, NOT_FINITE, INFINITE], np.int8))[worst]


def _basis(cols, i):
    """The i-th unit tangent, as one array per variable."""
    return [jnp.ones_like(c) if k == i else jnp.zeros_like(c) for k, c in enumerate(cols)]


# -- the public wrappers ------------------------------------------------------------------------

SCHEMES = tuple(s for s in numeric.SCHEMES if s != "complex-step")  # complex step: one variable only


def make(sources, variables, kind, method, scheme, accuracy, weights_of=None) -> MultiDerivative:
    """The derivative ``kind`` of ``sources``; ``weights_of(names)`` gives a directional or partial
    derivative's weights on the variables (checking what it was given against them)."""
    functions = tuple(function(s, variables) for s in sources)
    if variables is not None and not isinstance(variables, int):
        names = list(variables)
    elif len({f.names for f in functions}) == 1:  # f's own order (a vector's: x0, x1, …, x10, …)
        names = list(functions[0].names)
    else:
        names = sorted({name for f in functions for name in f.names})
    # f's own symbols where they are the ones named: making 10^5 symbols again took a second
    own = functions[0].variables
    symbols = own if list(functions[0].names) == names else tuple(sp.Symbol(name, real=True) for name in names)
    if method == "auto":
        method = "symbolic" if all(f.expr is not None for f in functions) else "automatic"
    if method not in METHODS:
        raise TridiffError(f"unknown method {method!r}: choose one of 'auto', {', '.join(map(repr, METHODS))}")
    missing = [f for f in functions if f.expr is None and (f.kind != "program" or method == "symbolic")]
    if missing:
        raise MethodUnavailableError(f"the {method} {kind} needs f's formula: {missing[0].opaque_reason}")
    if method != "numeric" and (scheme, accuracy) != (None, None):
        raise TridiffError("scheme and accuracy apply to method='numeric' only")
    if method == "numeric":
        scheme, accuracy = numeric.check_scheme(scheme, accuracy, SCHEMES)
    weights = None if weights_of is None else weights_of(names)
    derivative = MultiDerivative(functions, symbols, kind, method, weights, scheme or "central", accuracy)
    if method == "numeric" and derivative._switched:
        raise MethodUnavailableError(f"the numeric {kind} of a program with no formula that uses relu, abs, "
                                     "maximum or where: finite differences need a formula to keep their steps "
                                     "clear of its kinks. Use method='automatic' (its kinks are checked)")
    return derivative
