"""``td.compare``: every method side by side — accuracy against a high-precision reference,
setup apart from evaluation, evaluation as the median of repeats, memory, and where each breaks.
"""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import dataclass, field

import mpmath
import numpy as np
import sympy as sp

from .derivative import METHODS, derivative
from .errors import TridiffError
from .function import Function, function
from .points import as_points
from .testing import scaled_error
from .timing import Timing, measure, once

REFERENCE_POINTS = 2000  # mpmath is ~100 µs a point: the reference uses at most this many
REFERENCE_DIGITS = 40


@dataclass(frozen=True)
class MethodReport:
    """One method's showing in a :class:`Comparison`.

    ``available`` is False (with ``reason``) for a method that cannot handle f; its numbers are
    then NaN and ``values`` None. Errors are over the points where the derivative exists.
    """

    method: str
    available: bool
    reason: str = ""
    values: np.ndarray | None = field(default=None, repr=False)
    max_abs_error: float = np.nan
    max_rel_error: float = np.nan
    undefined: tuple[float, ...] = ()
    undefined_reasons: tuple[str, ...] = ()
    setup_seconds: float = np.nan
    evaluation: Timing | None = None
    peak_memory_bytes: int = 0

    def to_dict(self) -> dict:
        return {
            "method": self.method, "available": self.available, "reason": self.reason,
            "max_abs_error": _num(self.max_abs_error), "max_rel_error": _num(self.max_rel_error),
            "undefined": [_num(u) for u in self.undefined], "undefined_reasons": list(self.undefined_reasons),
            "setup_seconds": _num(self.setup_seconds),
            "evaluation_seconds": None if self.evaluation is None else self.evaluation.to_dict(),
            "peak_memory_bytes": self.peak_memory_bytes,
        }


@dataclass(frozen=True)
class Comparison:
    """The result of :func:`compare`: one :class:`MethodReport` per method, and the reference used."""

    function: str
    order: int
    points: np.ndarray = field(repr=False)
    reference: np.ndarray = field(repr=False)
    reference_points: np.ndarray = field(repr=False)
    reference_kind: str
    reports: tuple[MethodReport, ...]

    def __getitem__(self, method: str) -> MethodReport:
        for report in self.reports:
            if report.method == method:
                return report
        raise KeyError(method)

    def to_dict(self) -> dict:
        return {
            "function": self.function, "order": self.order, "points": int(self.points.size),
            "reference": self.reference_kind, "reference_points": int(self.reference_points.size),
            "methods": {r.method: r.to_dict() for r in self.reports},
        }

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def rows(self) -> list[list[str]]:
        """The table's rows as text: method, max rel. error, setup, evaluation median ± IQR, memory, undefined."""
        rows = []
        for r in self.reports:
            if not r.available:
                rows.append([r.method, "not available", "", "", "", r.reason])
                continue
            t = r.evaluation
            undefined = ", ".join(f"{u:g}" for u in r.undefined[:6]) + (" …" if len(r.undefined) > 6 else "")
            rows.append([
                r.method, f"{r.max_rel_error:.1e}", f"{1e3 * r.setup_seconds:.1f} ms",
                f"{1e3 * t.median:.3g} ms ± {1e3 * (t.q75 - t.q25) / 2:.2g}", _bytes(r.peak_memory_bytes),
                undefined or "none",
            ])
        return rows

    HEADERS = ("method", "max rel. error", "setup", "evaluation (median ± IQR/2)", "peak memory", "undefined at")

    def table(self) -> str:
        """A plain-text table (what ``print`` shows; :meth:`_repr_html_` is the notebook's)."""
        from rich.console import Console
        from rich.table import Table

        table = Table(*self.HEADERS, title=self._title())
        for row in self.rows():
            table.add_row(*row)
        console = Console(width=120, record=True, file=_Null())
        console.print(table)
        return console.export_text()

    def _title(self) -> str:
        prime = "'" * self.order if self.order <= 3 else f"^({self.order})"
        return (f"f{prime} of f(x) = {self.function} at {self.points.size} points; errors vs "
                f"{self.reference_kind} at {self.reference_points.size} points")

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        import html

        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.HEADERS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows())
        return f"<table><caption>{html.escape(self._title())}</caption><tr>{head}</tr>{body}</table>"

    def plot(self, **kwargs):
        """A Figure: each method's absolute error against the reference (log scale), kinks marked."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=kwargs.pop("figsize", (7, 4)))
        ax = fig.add_subplot(1, 1, 1)
        ax.set_yscale("log")
        x = self.reference_points
        tiny = np.finfo(float).tiny
        for r, style in zip(self.reports, ("-", "--", ":")):
            if r.available:
                err = np.abs(_at(self.points, r.values, x) - self.reference)
                ax.plot(x, np.maximum(err, tiny), style, label=r.method)
        for u in self.reports[0].undefined if self.reports[0].available else ():
            ax.axvline(u, color="0.8", lw=0.8)
        ax.set_xlabel("x")
        ax.set_ylabel("|error|")
        ax.set_title(self._title(), fontsize=8)
        ax.legend()
        return fig


class _Null:
    def write(self, _):
        return 0

    def flush(self):
        pass


def compare(f, xs, methods=METHODS, *, order: int = 1, repeat: int = 7) -> Comparison:
    """Compare differentiation methods on ``f`` at the points ``xs``.

    Args:
        f: anything :func:`tridiff.function` accepts.
        xs: the points (any shape; compared flat).
        methods: which methods; any that cannot handle f is reported with the reason.
        order: derivative order.
        repeat: evaluation repeats after one warm-up call (the median is reported).

    Returns:
        A :class:`Comparison`; ``print`` it for a table.

    >>> c = compare("sin(x)", [0.0, 1.0, 2.0], repeat=3)
    >>> c["symbolic"].max_rel_error < 1e-15
    True
    """
    fn = function(f)
    pts = as_points(xs)
    if pts.flat.size == 0:
        raise TridiffError("compare needs at least one point")
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise TridiffError(f"unknown method {unknown[0]!r}: choose from {', '.join(METHODS)}")
    x = pts.flat.astype(np.float64)
    sample = x if x.size <= REFERENCE_POINTS else x[np.linspace(0, x.size - 1, REFERENCE_POINTS).astype(int)]
    reference, kind = _reference(fn, sample, order)
    reports = tuple(_report(fn, m, x, order, repeat, sample, reference) for m in methods)
    return Comparison(str(fn), order, x, reference, sample, kind, reports)


def _fresh(fn: Function) -> Function:
    """A new Function with empty caches, so that setup is timed from scratch."""
    if fn.expr is None:
        return function(fn.source)
    return Function(fn.expr, fn.variables, fn.kind, fn.source, fn.opaque_reason)


def _report(fn: Function, method: str, x, order, repeat, sample, reference) -> MethodReport:
    fresh = _fresh(fn)
    try:
        setup, (d, values) = once(lambda: _setup(fresh, method, order, x))
    except TridiffError as err:
        return MethodReport(method, False, str(err))
    evaluation = measure(lambda: d(x), repeat=repeat, budget=10.0)
    tracemalloc.start()
    try:
        out = d(x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if not isinstance(out.base, np.ndarray) and out.base is not None:
        peak += out.nbytes  # the result lives in a JAX buffer, which tracemalloc does not see
    result = d.evaluate(x)
    mine = _at(x, values, sample)
    ok = np.isfinite(reference)
    return MethodReport(
        method, True, "", values,
        max_abs_error=float(np.max(np.abs(mine - reference)[ok])) if ok.any() else np.nan,
        max_rel_error=scaled_error(mine, reference) if ok.any() else np.nan,
        undefined=tuple(float(u) for u in x[result.undefined]),
        undefined_reasons=tuple(str(r) for r in result.reasons[result.undefined]),
        setup_seconds=setup, evaluation=evaluation, peak_memory_bytes=int(peak),
    )


def _setup(fn: Function, method: str, order: int, x):
    d = derivative(fn, method=method, order=order)
    return d, d(x)


def _at(x, values, sample):
    """``values`` (given at ``x``) at the sample points (a subset of ``x``)."""
    if sample is x or sample.size == x.size:
        return values
    return values[np.linspace(0, x.size - 1, sample.size).astype(int)]


def _reference(fn: Function, xs: np.ndarray, order: int) -> tuple[np.ndarray, str]:
    """f^(order) at ``xs`` to 40 digits: the exact symbolic derivative evaluated by mpmath.

    Where f has no formula, the best available is Richardson-extrapolated central differences
    at a step 100× smaller than the default, stated as such.
    """
    if fn.expr is None:
        d = derivative(fn, method="numeric", order=order, accuracy=8)
        return d(xs), "numeric (accuracy 8; f has no formula)"
    d = derivative(fn, method="symbolic", order=order)
    undefined = d.evaluate(xs).undefined
    exact = sp.lambdify(fn.symbol, d.expr, modules="mpmath")
    out = np.full(xs.shape, np.nan)
    with mpmath.workdps(REFERENCE_DIGITS):
        for i, x0 in enumerate(xs):
            if undefined[i]:
                continue
            try:
                value = exact(mpmath.mpf(float(x0)))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                continue
            out[i] = float(mpmath.re(value))
    return out, f"mpmath ({REFERENCE_DIGITS} digits)"


def _num(v):
    return None if v is None or not np.isfinite(v) else float(v)


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
