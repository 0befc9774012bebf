"""``td.derivative``: f' by one of three methods, honest where f' does not exist.

Every method's values pass through the same kink analysis (:mod:`tridiff.analysis.switches`), so all three
return NaN at exactly the same points; they differ in how f' is computed where it exists.
Each (function, method, order, options) gets one program, run in NumPy or as a compiled JAX kernel
(:mod:`tridiff.compiler.runner`; the automatic method is JAX's own), cached on the Function.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..analysis.switches import analyse, collect_switches, not_finite_code, variation_rates
from ..compiler.backends import JAX, NUMPY, Backend
from ..compiler.chunked import as_chunked, is_lazy, map_outputs, map_reasons, map_values
from ..compiler.lowering import Lowering
from ..compiler.runner import elementwise
from ..definition.function import Function, KernelKey, function
from ..definition.points import as_points
from ..errors import BudgetError, MethodUnavailableError, TridiffError
from ..primitives import BY_HEAD
from ..reasons import NOT_FINITE, NOT_FINITE_INPUT, OUTSIDE_DOMAIN, reasons_of
from . import automatic, numeric, symbolic
from .options import METHODS, check_order

NUMERIC_MAX_ORDER = 4


@dataclass(frozen=True)
class DerivativeResult:
    """f^(n) at a set of points, with where and why it does not exist.

    Attributes:
        values: the derivative, NaN where it does not exist (same shape as the input).
        undefined: True where the derivative does not exist.
        reasons: why, per point ('' where it exists).
        left, right: the one-sided derivatives (equal to ``values`` where f is smooth).
        error_estimate: numeric method: an estimate of each value's absolute error; else None.
        method: the method used.
    """

    values: np.ndarray
    undefined: np.ndarray
    reasons: np.ndarray
    left: np.ndarray
    right: np.ndarray
    error_estimate: np.ndarray | None
    method: str

    SHOWN = 5  # undefined points listed by the notebook display

    def _repr_html_(self) -> str:
        """A small HTML summary for Jupyter: the method, how many points, how many undefined, and
        the first few undefined points (by index: the result does not keep x) with reasons and
        one-sided derivatives."""
        import html

        where = np.argwhere(np.atleast_1d(self.undefined))
        pick = lambda a, i: np.atleast_1d(a)[tuple(i)]  # noqa: E731
        rows = "".join(
            f"<tr><td>{html.escape(str(tuple(int(k) for k in i)) if len(i) != 1 else str(int(i[0])))}</td>"
            f"<td>{html.escape(str(pick(self.reasons, i)))}</td>"
            f"<td>{float(pick(self.left, i)):.6g}</td><td>{float(pick(self.right, i)):.6g}</td></tr>"
            for i in where[: self.SHOWN]
        )
        more = f"<tr><td colspan=\"4\">… and {len(where) - self.SHOWN} more</td></tr>" if len(where) > self.SHOWN else ""
        head = ("<tr><th>index</th><th>why the derivative does not exist</th><th>left derivative</th>"
                "<th>right derivative</th></tr>") if len(where) else ""
        n = np.size(self.values)
        return (f"<table><caption>{html.escape(self.method)} derivative at {n} point{'s' * (n != 1)}: "
                f"{len(where)} undefined</caption>{head}{rows}{more}</table>")


class Derivative:
    """The ``order``-th derivative of a :class:`~tridiff.Function` by one method.

    Call it for values (``d(xs)``: NaN where f' does not exist), or use :meth:`evaluate` for values
    with reasons and one-sided derivatives. Symbolic derivatives also have ``expr`` and ``latex``.

    >>> import tridiff as td
    >>> d = td.derivative("abs(x)")
    >>> d([-2, 0, 3])
    array([-1., nan,  1.])
    >>> d.evaluate(0.0).reasons
    'kink: the left and right derivatives differ'
    """

    def __init__(self, f: Function, method: str, order: int, scheme: str, accuracy: int, step: float | None):
        self.function, self.method, self.order = f, method, order
        self.scheme, self.accuracy, self.step = scheme, accuracy, step
        self._fast = None  # the kernel of d(xs)
        if f.expr is not None:
            # Automatic and numeric need the derivative formulas only for one-sided limits at
            # switches and for lower orders: SymPy's diff is skipped when neither arises.
            own = _switches(f, (f.expr,))
            self._formulas = method == "symbolic" or order > 1 or bool(own)
            if self._formulas and method != "symbolic":
                try:
                    self.expressions
                except BudgetError:
                    # Past the symbolic budget, a formula whose switches are only poles (40 nested
                    # tan) still has its program: the lower orders go unchecked, f^(n) speaks for itself.
                    if any(s.kind != "pole" for s in own):
                        raise
                    self._formulas = False
            self.switches = _switches(f, self.expressions if self._formulas else (f.expr,))
        if method == "automatic" and order > 2:  # orders 1 and 2 are at most a few times f's program
            automatic.check_budget(f.program(), order)

    @property
    def expressions(self) -> tuple[sp.Expr, ...]:
        """``(f, f', …, f^(order))`` as SymPy expressions."""
        return _derivatives(self.function, self.order)

    @property
    def expr(self) -> sp.Expr | None:
        """The derivative as a SymPy expression (None when f has no formula)."""
        return self.expressions[-1] if self.function.expr is not None else None

    @property
    def latex(self) -> str | None:
        """The derivative in LaTeX (None when f has no formula)."""
        return symbolic.latex(self.expr) if self.expr is not None else None

    def __repr__(self) -> str:
        prime = "'" * self.order if self.order <= 3 else f"^({self.order})"
        try:
            shown = f" = {self.expr}" if self.expr is not None else ""
        except BudgetError:
            shown = ""
        return f"<Derivative f{prime}{shown} of f = {self.function} by {self.method}>"

    def _repr_latex_(self) -> str | None:
        return f"$\\displaystyle {self.latex}$" if self.expr is not None else None

    def __reduce__(self):
        # to another process (a Dask worker) by its definition (see Function.__reduce__)
        return Derivative, (self.function, self.method, self.order, self.scheme, self.accuracy, self.step)

    def __call__(self, xs):
        """f^(n) at ``xs``: same shape, float64 for float64 and int input, NaN where it does not exist.
        A Dask array gives a lazy Dask array of the same chunks."""
        if type(xs) is float and self._fast is not None:  # the everyday scalar call: no shapes to keep
            return self._fast.scalar(xs)
        if is_lazy(xs):
            return map_values(self, as_chunked(xs))
        pts = as_points(xs)
        if pts.flat.size == 0:
            return pts.shaped(np.empty(0, pts.flat.dtype))
        if self.function.expr is None:
            return pts.shaped(self._opaque(pts.flat)[0])
        if self._fast is None:  # looked up once: a scalar call is a few µs of Python around the kernel
            self._fast = self._fast_kernel()
        return pts.shaped(self._fast(pts.flat))

    def temporary_bytes(self, xs) -> int | None:
        """The working memory of ``d(xs)``'s compiled kernel beyond its input and output: XLA's
        temporary buffers, as the compiled program's memory analysis gives them (None where the
        backend does not, or f has no formula). A kink's checks, a stencil's shifted copies and an
        unfused chain of operations show here.

        >>> derivative("sin(x)**2").temporary_bytes(np.zeros(1000))
        0
        """
        pts = as_points(xs)
        if self.function.expr is None or pts.flat.size == 0:
            return None
        return self._fast_kernel().temporary_bytes(pts.flat)

    def evaluate(self, xs) -> DerivativeResult:
        """f^(n) at ``xs`` with the undefined points, their reasons, one-sided values and error estimates.
        A Dask array gives a result of lazy Dask arrays of the same chunks (one task per chunk)."""
        if is_lazy(xs):
            value, code, left, right, error = map_outputs(_outputs, as_chunked(xs), 5, self)
            undefined = code != 0
            return DerivativeResult(value, undefined, map_reasons(code), left, right,
                                    error if self.method == "numeric" else None, self.method)
        pts = as_points(xs)
        value, code, left, right, error = self._outputs(pts.flat)
        return _result(pts, value, code, left, right, error if self.method == "numeric" else None, self.method)

    def _outputs(self, flat: np.ndarray):
        """(value, code, left, right, error estimate) at the points ``flat``; the estimate (the numeric
        method's) is NaN where f^(n) does not exist."""
        if flat.size == 0:
            empty = np.empty(0, flat.dtype)
            return empty, np.zeros(0, np.int8), empty, empty, empty
        if self.function.expr is None:
            value, code, left, right, error = self._opaque(flat)
        else:
            kernel = self.function.cache.kernel(self._kernel_key("rich"), lambda: self._kernel(fast=False))
            value, code, left, right, error = kernel(flat)
        if self.method == "numeric":
            error = np.where(code != 0, np.nan, error)
        return value, code, left, right, error

    # -- kernels -------------------------------------------------------------------------------
    def _fast_kernel(self):
        return self.function.cache.kernel(self._kernel_key("fast"), lambda: self._kernel(fast=True))

    def _kernel_key(self, use: str) -> KernelKey:
        return KernelKey(use, self.method, self.order, self.scheme, self.accuracy, self.step)

    def _kernel(self, fast: bool):
        # d(x) wants the rich program's first output only, already NaN where f^(n) does not exist;
        # XLA drops the work for the outputs left unused (reasons, one-sided values), and neither
        # tier estimates errors for it.
        def program(backend, x):
            out = self._rich_program(backend, x, errors=not fast)
            return out[0] if fast else out

        # the automatic method is JAX's differentiation: it has no NumPy tier
        return elementwise(lambda x: program(JAX, x),
                           (lambda x: program(NUMPY, x)) if self.method != "automatic" else None)

    def _rich_program(self, backend: Backend, x, errors: bool = True):
        f, n, xp = self.function, self.order, backend.xp
        analysis = self._analysis(backend, x)
        code, error = analysis.code, xp.zeros_like(x)
        if self.method == "symbolic":
            value = analysis.value[0]
        elif self.method == "automatic":
            value = automatic.nth_derivative(f.program(), n)(x)
        else:
            est = self._estimate(backend, x, analysis, errors)
            value, error = est.value, est.error
            code = xp.where(code == 0, est.code, code)
        code = xp.where((code == 0) & ~xp.isfinite(value), not_finite_code(value, xp), code).astype(np.int8)
        left = value if analysis.left is None else analysis.left[0]
        right = value if analysis.right is None else analysis.right[0]
        return (xp.where(code == 0, value, np.nan), code, left, right, error)

    def _step_program(self, x):
        """The absolute step the numeric method takes at each point (for the step study)."""
        return self._estimate(JAX, x, self._analysis(JAX, x)).step

    def _analysis(self, backend: Backend, x):
        f = self.function
        exprs = self.expressions if self._formulas else (f.expr,)
        # f's scale of variation bounds the numeric step (the user's own step= stands as given), and
        # the rounding of its arguments adds to the error estimate
        rates = variation_rates(f.expr, f.variables) if self.method == "numeric" else ()
        return analyse({f.symbol: x}, [(e,) for e in exprs], self.switches, along=f.symbol, rates=rates,
                       backend=backend)

    def _estimate(self, backend: Backend, x, analysis, errors: bool = True) -> numeric.Estimate:
        if self.scheme == "complex-step":
            return self._complex_step(backend, x, analysis, errors)
        f = self.function
        bound = Lowering({f.symbol: x}, backend=backend).bound(f.expr) if errors else None
        return self._numeric(f.program(backend), x, backend, analysis.flagged, analysis.distance,
                             analysis.clearance, analysis.smear, bound, errors=errors)

    def _numeric(self, values_at, x, backend: Backend, flagged=None, distance=None, clearance=None, smear=None,
                 bound=None, opaque=False, errors=True):
        states_at = None
        if self.function.expr is not None and self.switches:
            symbol, args = self.function.symbol, [s.arg for s in self.switches]

            def states_at(points):
                low = Lowering({symbol: points}, backend=backend)
                return [backend.xp.sign(low.array(u, points)) for u in args]

        return numeric.differentiate(values_at, x, self.order, backend.xp, scheme=self.scheme, accuracy=self.accuracy,
                                     opaque=opaque, states_at=states_at, flagged=flagged, distance=distance,
                                     clearance=clearance, smear=smear, bound=bound, step=self.step, errors=errors)

    def _complex_step(self, backend: Backend, x, analysis, errors: bool = True):
        """Complex step on f's analytic continuation; on a kink, the mean of its two branches'."""
        f, xp = self.function, backend.xp

        def along(switches=None):
            return lambda z: Lowering({f.symbol: z}, switches, analytic=True, backend=backend).array(f.expr, z)

        # The branch's continuation is analytic across a kink: only poles and domain edges limit h.
        est = numeric.complex_step(along(), x, xp, distance=analysis.distance, step=self.step, errors=errors)
        if not analysis.lefts:
            return est
        left = numeric.complex_step(along(analysis.lefts), x, xp, step=self.step, errors=errors)
        right = numeric.complex_step(along(analysis.rights), x, xp, step=self.step, errors=errors)
        value = xp.where(analysis.flagged, 0.5 * (left.value + right.value), est.value)
        error = xp.where(analysis.flagged, est.error + xp.abs(left.value - right.value), est.error)
        return numeric.Estimate(value, error, est.code, left.value, right.value, est.step)

    def _opaque(self, x: np.ndarray):
        """Numeric differentiation of a callable with no formula, in NumPy, point by point if need be:
        (value, code, left, right, error estimate)."""
        f = self.function
        fx = f.numpy_values(x)
        # f computed in a coarser float type (float32 code): difference it at that precision, with
        # the step and error estimate for it, not as if its values were exact to float64.
        with np.errstate(all="ignore"):  # the stencil's own points (x ± h with x = inf: inf - inf): NaN is an answer
            est = self._numeric(f.numpy_values, x.astype(fx.dtype, copy=False), NUMPY, opaque=True)
        with np.errstate(invalid="ignore"):
            code = np.where(np.isfinite(est.value), est.code, np.where(est.code == 0, NOT_FINITE, est.code))
            code = np.where(np.isfinite(fx), code, OUTSIDE_DOMAIN)
            code = np.where(np.isfinite(x), code, NOT_FINITE_INPUT).astype(np.int8)
        value = np.where(code == 0, est.value, np.nan)
        value, left, right, error = (np.asarray(a, x.dtype) for a in (value, est.left, est.right, est.error))
        return value, code, left, right, error


def _outputs(chunk: np.ndarray, d: Derivative):
    """A Dask task: one chunk's (value, code, left, right, error estimate), the estimate NaN where
    f^(n) does not exist (as evaluate gives it)."""
    return tuple(np.reshape(a, chunk.shape) for a in d._outputs(as_points(chunk).flat))


def _result(pts, value, code, left, right, error, method) -> DerivativeResult:
    return DerivativeResult(
        values=pts.shaped(value),
        undefined=pts.shaped(code != 0),
        reasons=pts.shaped(reasons_of(code)),
        left=pts.shaped(left),
        right=pts.shaped(right),
        error_estimate=None if error is None else pts.shaped(error),
        method=method,
    )


def _kept(known: dict, key, make):
    """``known[key]``, made once; a BudgetError is kept too and raised again (`auto`'s fallback and
    every other method would otherwise work up to the budget again)."""
    if key not in known:
        try:
            known[key] = make()
        except BudgetError as err:
            known[key] = err
    if isinstance(known[key], BudgetError):
        raise known[key]
    return known[key]


def _derivatives(f: Function, order: int):
    return _kept(f.cache.derivatives, order, lambda: symbolic.derivatives(f.expr, f.symbol, order))


def _switches(f: Function, exprs):
    """The switches of f and its derivatives ``exprs``, within the analysis budget."""
    return _kept(f.cache.switches, len(exprs), lambda: collect_switches(
        [(e,) for e in exprs], f.variables, along=f.symbol, budget=symbolic.AnalysisBudget()))


def derivative(f, method: str = "auto", order: int = 1, *, wrt: str | None = None, scheme: str | None = None,
               accuracy: int | None = None, step: float | None = None):
    """The ``order``-th derivative of f by a method.

    Args:
        f: a :class:`Function`, or anything :func:`tridiff.function` accepts.
        method: "symbolic", "automatic", "numeric", or "auto": symbolic when f has a formula
            (automatic, with a warning, where the symbolic derivative exceeds its budget: see
            :data:`tridiff.methods.symbolic.MAX_NODES`), else numeric.
        order: 1, 2, 3, ... (numeric: up to 4; complex step: 1).
        wrt: for f of several variables, the variable of a first partial derivative: returns a
            :class:`tridiff.MultiDerivative` taking points of shape (..., n).
        scheme: numeric only: "central" (the default; one-sided beside a kink), "forward",
            "backward", "richardson" (extrapolated central differences) or "complex-step"
            (f must have a formula).
        accuracy: numeric only: the scheme's order of accuracy, 2, 4, 6 or 8 (default: 4 for
            central, forward and backward, 8 for richardson).
        step: numeric only: the step relative to max(|x|, 1), overriding the automatic choice.

    >>> import tridiff as td
    >>> d = td.derivative("exp(-2*x) + 3*sin(3*x)")
    >>> d.expr
    9*cos(3*x) - 2*exp(-2*x)
    >>> float(d(0))
    7.0
    """
    f = function(f)
    names = list(f.names)
    if wrt is not None and wrt not in names:
        raise TridiffError(f"unknown variable {wrt!r}: f's variables are {', '.join(names)}")
    if len(names) > 1:
        if wrt is None:
            raise TridiffError(f"f has variables ({', '.join(names)}): pass wrt= for a partial derivative, "
                               "or use td.gradient, td.hessian or td.directional")
        if order != 1 or step is not None:
            raise TridiffError("partial derivatives of several variables are first order, with no step=")
        from .gradients import partial  # JAX's: imported only for functions of several variables

        return partial(f, wrt, method, scheme=scheme, accuracy=accuracy)
    order = check_order(order)
    if method == "auto" and f.expr is not None:
        try:
            return Derivative(f, "symbolic", order, "central", numeric.DEFAULT_ACCURACY["central"], None)
        except BudgetError as err:
            warnings.warn(f"{err}; method='auto' uses the automatic method", stacklevel=2)
            method = "automatic"
    if method == "auto":
        method = "numeric"
    if method not in METHODS:
        raise TridiffError(f"unknown method {method!r}: choose one of 'auto', {', '.join(map(repr, METHODS))}")
    if f.expr is None and method != "numeric":
        raise MethodUnavailableError(f"method {method!r} is not available for this function: {f.opaque_reason}; "
                                     "method='numeric' works point by point")
    if method != "numeric":
        if (scheme, accuracy, step) != (None, None, None):
            raise TridiffError("scheme, accuracy and step apply to method='numeric' only")
        return Derivative(f, method, order, "central", numeric.DEFAULT_ACCURACY["central"], None)
    scheme, accuracy = numeric.check_scheme(scheme, accuracy)
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step < 1):
        raise TridiffError(f"step must be a number between 0 and 1 (relative to max(|x|, 1)), got {step!r}")
    if order > NUMERIC_MAX_ORDER:
        raise TridiffError(f"numeric derivatives go up to order {NUMERIC_MAX_ORDER}; use method='symbolic' "
                           "or 'automatic' for higher orders")
    if scheme == "complex-step":
        _check_complex_step(f, order)
    return Derivative(f, method, order, scheme, accuracy, step)


def _check_complex_step(f: Function, order: int) -> None:
    if order != 1:
        raise TridiffError("the complex step gives first derivatives only: use scheme='richardson' for order > 1")
    if f.expr is None:
        raise MethodUnavailableError(
            "the complex step needs f's formula, to know where f is analytic (a callable evaluated at "
            "complex points can silently be wrong, as np.abs is): use scheme='richardson'"
        )
    unsupported = sorted({n.func.__name__ for n in sp.preorder_traversal(f.expr)
                          if n.func in BY_HEAD and not BY_HEAD[n.func].supports_complex_step(n)})
    if unsupported:
        raise MethodUnavailableError(f"the complex step cannot evaluate {', '.join(unsupported)} at complex points: "
                                     "use scheme='richardson'")
