"""``td.sweep_sizes`` and ``td.sweep_depth``: the lab's speed comparison, done over a range.

The lab (section 5) timed each approach once, with ``time.time()``, at one size and one function,
compile time mixed in. A sweep times evaluation against the number of points N, or against the
depth of the lab's nested polynomial (its expression-swell experiment), with

- setup (derive + compile + first call) timed once per (series, value) from a fresh Function,
  reported apart from evaluation (median and quartiles of repeats after a warm-up);
- the lab's own approaches beside tridiff's methods as reference lines: ``sympy.lambdify`` of
  ``sympy.diff(f)`` without cse, ``np.gradient(f(x), x)`` and eager (not jitted)
  ``jax.vmap(jax.grad(g))`` on float32;
- a time limit: a series whose next call is expected to take longer than ``limit`` seconds is
  skipped at that value and beyond, with the reason recorded, never silently;
- for the swell, a deterministic measure beside the times: the size of the derivative's formula
  (``sympy.count_ops``) as written, and the operations evaluated per point: all of them for the
  lab's lambdify (no cse), each distinct subexpression once for tridiff's compiled kernel.

Timings are data to look at, never to assert: the machine may be busy with other work.
"""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable

import numpy as np
import sympy as sp

from ..compiler.runner import settle, tier
from ..definition.function import Function, function
from ..definition.points import check_integer, check_interval, json_number
from ..errors import TridiffError
from ..methods.derivative import derivative
from ..methods.options import METHODS, check_methods
from ..translation import N_
from ..translation import gettext as _
from .catalog import nested_polynomial
from .presentation import METHOD_STYLES, Presented, Section, in_figure_fonts
from .timing import Timing, format_seconds, measure, once

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SIZES = tuple(10**k for k in range(2, 8))  # 10^2 … 10^7 points
QUICK_SIZES = (10**2, 10**3, 10**4, 10**5)
DEPTHS = (1, 2, 3, 4, 5, 6)
QUICK_DEPTHS = (1, 2, 3)
DEPTH_POINTS, QUICK_DEPTH_POINTS = 10**5, 10**4
REPEAT, QUICK_REPEAT = 7, 3
X_RANGE = (-5.0, 5.0)  # the lab's np.linspace(-5, 5, N)

RAW_LAMBDIFY, NP_GRADIENT, JAX_EAGER = N_("raw lambdify"), "np.gradient", N_("JAX eager vmap(grad)")
REFERENCES = (RAW_LAMBDIFY, NP_GRADIENT, JAX_EAGER)


# -- results ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Series:
    """One line of a :class:`Sweep`: a tridiff method or one of the lab's raw approaches.

    Each tuple has one entry per value of the sweep's parameter. Where the series was not measured,
    ``skipped`` gives the reason, ``setup_seconds`` is NaN and ``evaluation`` None.

    Attributes:
        name: the method ("symbolic", …) or the reference ("raw lambdify", …).
        kind: "method" or "reference".
        description: exactly what was timed.
        setup_seconds: derive + compile + first call, timed once from a fresh Function.
        evaluation: seconds per call after setup: median and quartiles of repeats.
        skipped: why a value was not measured ('' where it was).
        formula_ops: the size of the derivative's formula as written (``sympy.count_ops``), for
            the series that evaluate a formula (raw lambdify, symbolic); else None.
        evaluated_ops: the operations evaluated per point: the whole formula for lambdify
            without cse; after sharing common subexpressions (``sympy.cse``) for tridiff, whose
            compiler computes each distinct subexpression once. None where there is no formula.
    """

    name: str
    kind: str
    description: str
    setup_seconds: tuple[float, ...]
    evaluation: tuple[Timing | None, ...]
    skipped: tuple[str, ...]
    formula_ops: tuple[int | None, ...]
    evaluated_ops: tuple[int | None, ...]

    @property
    def medians(self) -> np.ndarray:
        """Evaluation medians in seconds, NaN where skipped."""
        return np.array([np.nan if t is None else t.median for t in self.evaluation])

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "description": self.description,
            "setup_seconds": [json_number(s) for s in self.setup_seconds],
            "evaluation_seconds": [None if t is None else t.to_dict() for t in self.evaluation],
            "skipped": list(self.skipped), "formula_ops": list(self.formula_ops),
            "evaluated_ops": list(self.evaluated_ops),
        }


@dataclass(frozen=True)
class Sweep(Presented):
    """Timings of derivatives against one parameter: the number of points, or the nested depth.

    Attributes:
        parameter: "points" or "depth".
        values: the parameter's values, in order.
        function: what was differentiated.
        points: the number of points at every depth (None for a sweep over points).
        x_range: the points are ``np.linspace(*x_range, N)``.
        series: one :class:`Series` per method and reference.
        cpus, load_average: the machine (load average over 1 minute at the start; NaN if unknown).
    """

    parameter: str
    values: tuple[int, ...]
    function: str
    points: int | None
    x_range: tuple[float, float]
    series: tuple[Series, ...]
    cpus: int
    load_average: float

    def __getitem__(self, name: str) -> Series:
        for s in self.series:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict:
        return {
            "parameter": self.parameter, "values": list(self.values), "function": self.function,
            "points": self.points, "x_range": list(self.x_range), "cpus": self.cpus,
            "load_average": json_number(self.load_average),
            "series": {s.name: s.to_dict() for s in self.series},
        }

    # -- tables ----------------------------------------------------------------------------------
    def headers(self) -> list[str]:
        """The tables' header: the parameter's name, then each of its values ("10^3", or a depth)."""
        return [self.parameter] + [_label(self.parameter, v) for v in self.values]

    def rows(self, what: str = "evaluation") -> list[list[str]]:
        """Rows of text per series: "evaluation" (median ±IQR/2), "setup" or "ops"."""
        if what == "ops":
            return [[label] + ["" if o is None else str(o) for o in ops] for label, ops, *_rest in self._ops_lines()]
        rows = []
        for s in self.series:
            cells = []
            for setup, t, skip in zip(s.setup_seconds, s.evaluation, s.skipped):
                if skip:
                    cells.append("skipped")
                elif what == "setup":
                    cells.append(format_seconds(setup))
                else:
                    cells.append(f"{format_seconds(t.median)} ±{50 * (t.q75 - t.q25) / t.median:.0f}%")
            rows.append([s.name] + cells)
        return rows

    def skip_notes(self) -> list[str]:
        """One line per series and reason: where it was skipped, and why."""
        notes = []
        for s in self.series:
            by_reason: dict[str, list[str]] = {}
            for v, skip in zip(self.values, s.skipped):
                if skip:
                    by_reason.setdefault(skip, []).append(_label(self.parameter, v))
            notes += [f"{s.name} skipped at {self.parameter} {', '.join(at)}: {why}" for why, at in by_reason.items()]
        return notes

    def sections(self) -> list[Section]:
        """Evaluation times, setup times and (over depths) the derivative's size, one table each."""
        captions = {"evaluation": "evaluation: time per call, median ±IQR/2 (relative)",
                    "setup": "setup: derive + compile + first call, once, from a fresh Function",
                    "ops": "operations in the derivative (sympy.count_ops): as written, and evaluated per point"}
        shown = ["evaluation", "setup"] + (["ops"] if self.parameter == "depth" and self.rows("ops") else [])
        return [Section(captions[what], tuple(self.headers()), self.rows(what)) for what in shown]

    def _ops_lines(self) -> list[tuple[str, tuple, Series, bool]]:
        """(label, counts, series, as written) per formula size: one line where evaluated = written,
        else two."""
        lines = []
        for s in self.series:
            if all(o is None for o in s.formula_ops):
                continue
            if s.formula_ops == s.evaluated_ops:
                lines.append((_(s.name), s.formula_ops, s, False))
            else:
                lines += [(_("{series}, as written").format(series=_(s.name)), s.formula_ops, s, True),
                          (_("{series}, evaluated").format(series=_(s.name)), s.evaluated_ops, s, False)]
        return lines

    def notes(self) -> list[str]:
        """What each series timed, the formula sizes of a sweep over points, and every skip."""
        notes = [f"{s.name}: {s.description}" for s in self.series]
        if self.parameter == "points" and self._ops_lines():
            sizes = ", ".join(f"{label} {ops[0]}" for label, ops, *_rest in self._ops_lines())
            notes.append(f"operations in the derivative (sympy.count_ops): {sizes}")
        return notes + self.skip_notes()

    def title(self) -> str:
        """What was differentiated, on which points, on how busy a machine."""
        lo, hi = self.x_range
        where = f"np.linspace({lo:g}, {hi:g}, " + ("N)" if self.points is None else f"{self.points:,})")
        load = "" if math.isnan(self.load_average) else _(", load {load}").format(load=f"{self.load_average:.1f}")
        return _("f'(x) of {function} on {where} ({cpus} cpus{load})").format(
            function=self.function, where=where, cpus=self.cpus, load=load)

    # -- plot ------------------------------------------------------------------------------------
    @in_figure_fonts
    def plot(self, *, setup: bool = True, ops: bool | None = None, figsize=None) -> Figure:
        """A Figure: evaluation time per series (log scale; tridiff solid, the lab's ways dashed grey).

        Args:
            setup: add a panel with the setup time per series.
            ops: add a panel with the operations in the derivative, as written and as evaluated
                per point (default: for a sweep over depth).
            figsize: inches; default by the number of panels.

        Over points both axes are logarithmic; over depth only the time axis is (the swell grows
        geometrically with depth, a straight line there). Shaded bands are the quartiles.
        """
        from matplotlib.figure import Figure

        ops = self.parameter == "depth" if ops is None else ops
        panels = ["evaluation"] + (["setup"] if setup else []) + (["ops"] if ops and self.rows("ops") else [])
        fig = Figure(figsize=figsize or (5.2 * len(panels), 4.4), layout="constrained")
        axes = fig.subplots(1, len(panels), squeeze=False)[0]
        for ax, panel in zip(axes, panels):
            self._panel(ax, panel)
        handles, labels, ncol = self._legend_rows(axes[0])
        fig.legend(handles, labels, loc="outside lower center", ncol=ncol, fontsize=8, frameon=False)
        if "ops" in panels:
            axes[-1].legend(fontsize=7, loc="upper left")
        fig.suptitle(self.title(), fontsize=9)
        return fig

    def _panel(self, ax, panel: str) -> None:
        x = np.asarray(self.values, dtype=float)
        if panel == "ops":
            for label, ops, s, written in self._ops_lines():
                style = _style(s)
                if written:
                    style.update(linestyle=":", linewidth=1.2, marker=None)
                ax.plot(x, [np.nan if o is None else o for o in ops], label=label, **style)
        for s in self.series if panel != "ops" else ():
            style = _style(s)
            y = s.medians if panel == "evaluation" else np.array(s.setup_seconds, dtype=float)
            if np.isnan(y).all():
                continue
            ax.plot(x, y, label=self._legend(s), **style)
            if panel == "evaluation":
                q25, q75 = (np.array([np.nan if t is None else getattr(t, q) for t in s.evaluation])
                            for q in ("q25", "q75"))
                ax.fill_between(x, q25, q75, color=style["color"], alpha=0.15, linewidth=0)
        ax.set_yscale("log")
        if self.parameter == "points":
            ax.set_xscale("log")
            ax.set_xlabel(_("points N"))
        else:
            ax.set_xticks(x)
            ax.set_xlabel(_("depth of the nested polynomial"))
        ax.set_ylabel({"evaluation": _("seconds per call (median)"), "setup": _("setup seconds (once)"),
                       "ops": _("operations in f' (sympy.count_ops)")}[panel])
        ax.set_title({"evaluation": _("evaluation"), "setup": _("setup: derive + compile + first call"),
                      "ops": _("expression swell: f' as written and evaluated")}[panel], fontsize=9)
        ax.grid(True, which="major", color="0.9", linewidth=0.6)

    def _legend_rows(self, ax):
        """The legend as two rows, tridiff's methods above the lab's references (matplotlib fills
        columns first, so the entries are interleaved, the shorter row padded with blanks)."""
        from matplotlib.lines import Line2D

        found = dict(zip(*reversed(ax.get_legend_handles_labels())))  # label -> handle
        kinds = {self._legend(s): s.kind for s in self.series}
        rows = [[label for label in found if kinds.get(label) == kind] for kind in ("method", "reference")]
        ncol = max(len(r) for r in rows)
        blank = Line2D([], [], alpha=0)
        pairs = [(found[row[j]], row[j]) if j < len(row) else (blank, "") for j in range(ncol) for row in rows]
        return [h for h, _label in pairs], [label for _h, label in pairs], max(ncol, 1)

    def _legend(self, s: Series) -> str:
        skipped = [v for v, why in zip(self.values, s.skipped) if why]
        if not skipped:
            return _(s.name)
        return _("{series} (skipped at {parameter} {values})").format(
            series=_(s.name), parameter={"points": _("points"), "depth": _("depth")}[self.parameter],
            values=", ".join(_label(self.parameter, v) for v in skipped))


_REFERENCE_LOOKS = {RAW_LAMBDIFY: ("0.25", "s"), NP_GRADIENT: ("0.5", "^"), JAX_EAGER: ("0.65", "D")}


def _style(s: Series) -> dict:
    """A method in its colour from td.plot, solid; the lab's ways in greys, dashed."""
    if s.kind == "method":
        return dict(color=METHOD_STYLES[s.name]["color"], linestyle="-", marker="o", markersize=4, linewidth=2.0)
    color, marker = _REFERENCE_LOOKS[s.name]
    return dict(color=color, linestyle="--", marker=marker, markersize=4, linewidth=1.5)


# -- the public sweeps -----------------------------------------------------------------------------
def sweep_sizes(f="x**2", sizes=None, methods=METHODS, *, references: bool = True, repeat: int | None = None,
                budget: float = 1.0, limit: float = 3.0, x_range=X_RANGE, progress: bool = True,
                quick: bool = False) -> Sweep:
    """Evaluation time of f' against the number of points, per method and the lab's raw ways.

    Args:
        f: anything :func:`tridiff.function` accepts (the lab's is x**2).
        sizes: numbers of points, increasing (default 10^2 … 10^7; ``quick``: up to 10^5).
        methods: tridiff's methods to time.
        references: also time the lab's approaches: raw lambdify, np.gradient, JAX eager.
        repeat: evaluation repeats after a warm-up (default 7; ``quick``: 3).
        budget: seconds of repeats per measurement: repeating stops past it once 3 are in.
        limit: seconds: skip a series from the value where one call is expected to take longer.
        x_range: the points are ``np.linspace(*x_range, N)``.
        progress: show a progress bar on stderr when it is a terminal.
        quick: smaller defaults that finish in a few seconds.

    Returns:
        A :class:`Sweep` over "points"; ``print`` it for tables, ``.plot()`` for a Figure.

    >>> s = sweep_sizes("x**2", sizes=(100, 1000), repeat=2, progress=False)
    >>> [series.name for series in s.series]
    ['symbolic', 'automatic', 'numeric', 'raw lambdify', 'np.gradient', 'JAX eager vmap(grad)']
    >>> s["symbolic"].evaluation[1].median > 0
    True
    """
    fn, x_range, load = function(f), check_interval(x_range, "x_range"), _load()
    sizes = _increasing("sizes", (QUICK_SIZES if quick else SIZES) if sizes is None else sizes, smallest=2)
    plan = _plan(fn, _sweep_methods(methods), references)
    grid = lambda n: (fn, np.linspace(*x_range, n))
    budget, limit = _seconds_arg("budget", budget), _seconds_arg("limit", limit)
    series = _run(plan, sizes, grid, "points", _repeat(repeat, quick), budget, limit, progress)
    return Sweep("points", sizes, str(fn), None, x_range, series, os.cpu_count() or 1, load)


def sweep_depth(depths=None, n: int | None = None, methods=METHODS, *, references: bool = True,
                repeat: int | None = None, budget: float = 1.0, limit: float = 3.0, x_range=X_RANGE,
                progress: bool = True, quick: bool = False) -> Sweep:
    """The lab's expression-swell experiment: f' of its nested polynomial against the depth.

    For each depth d, f is :func:`tridiff.studies.catalog.nested_polynomial` with depth d, a Python
    callable traced by :func:`tridiff.function` (the lab's ``f_polynomial`` is depth 3). Beside
    the times, the series that evaluate a formula record its size (``sympy.count_ops``): the raw
    derivative the lab lambdifies grows about 2.5× per level and is evaluated whole; tridiff's
    compiled kernel evaluates each distinct subexpression once, a few more per level.

    Args:
        depths: nesting depths, increasing (default 1 … 6; ``quick``: 1 … 3).
        n: points (default 10^5; ``quick``: 10^4), ``np.linspace(*x_range, n)``.
        methods, references, repeat, budget, limit, x_range, progress, quick: as for
            :func:`sweep_sizes`. Raw lambdify slows down steeply with depth: ``limit`` stops it.

    Returns:
        A :class:`Sweep` over "depth".

    >>> s = sweep_depth(depths=(1, 2), n=1000, repeat=2, progress=False)
    >>> s["raw lambdify"].evaluated_ops
    (4, 26)
    >>> s["symbolic"].evaluated_ops[-1] < s["raw lambdify"].evaluated_ops[-1]
    True
    """
    x_range, load = check_interval(x_range, "x_range"), _load()
    depths = _increasing("depths", (QUICK_DEPTHS if quick else DEPTHS) if depths is None else depths, smallest=1)
    n = check_integer("n", (QUICK_DEPTH_POINTS if quick else DEPTH_POINTS) if n is None else n, smallest=2)
    x = np.linspace(*x_range, n)
    functions = {d: function(partial(nested_polynomial, depth=d)) for d in depths}
    plan = _plan(functions[depths[0]], _sweep_methods(methods), references)
    budget, limit = _seconds_arg("budget", budget), _seconds_arg("limit", limit)
    series = _run(plan, depths, lambda d: (functions[d], x), "depth", _repeat(repeat, quick), budget, limit,
                  progress)
    return Sweep("depth", depths, "nested_polynomial(x, depth)", n, x_range, series,
                 os.cpu_count() or 1, load)


# -- what each series times ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """How to time one series: ``setup(fn, x)`` does everything up to the first result and returns
    the call to repeat; ``ops(fn)`` is (formula as written, operations evaluated), or Nones."""

    name: str
    kind: str
    description: str
    setup: Callable[[Function, np.ndarray], Callable[[], object]]
    ops: Callable[[Function], tuple[int | None, int | None]]
    errors: tuple[type[BaseException], ...]


def _plan(fn: Function, methods: tuple[str, ...], references: bool) -> list[_Plan]:
    plans = [_Plan(m, "method", f"td.derivative(f, method={m!r})(x) in float64", partial(_tridiff, m),
                   _symbolic_ops if m == "symbolic" else _no_ops, (TridiffError,)) for m in methods]
    if references:
        plans += [
            _Plan(RAW_LAMBDIFY, "reference", "sympy.lambdify(x, sympy.diff(f, x), modules='numpy'), no cse "
                  "(the lab's symbolic way)", _raw_lambdify, _raw_ops, (Exception,)),
            _Plan(NP_GRADIENT, "reference", f"np.gradient(f(x), x), f(x) {_numpy_f(fn)[1]} "
                  "(the lab's numeric way)", _np_gradient, _no_ops, (Exception,)),
            _Plan(JAX_EAGER, "reference", "jax.vmap(jax.grad(g))(jnp.array(x.astype('float32'))), eager, "
                  f"not jitted (the lab's automatic way); g {_jax_g(fn)[1]}", _jax_eager, _no_ops, (Exception,)),
        ]
    return plans


def _tridiff(method: str, fn: Function, x: np.ndarray):
    d = derivative(fn, method=method)
    d(x)
    return lambda: d(x)


def _raw_lambdify(fn: Function, x: np.ndarray):
    s = _formula(fn).symbol
    lam = sp.lambdify(s, sp.diff(fn.expr, s), modules="numpy", cse=False)
    call = lambda: _quiet(lam, x)
    call()
    return call


def _np_gradient(fn: Function, x: np.ndarray):
    f = _numpy_f(fn)[0]
    call = lambda: _quiet(lambda x: np.gradient(f(x), x), x)
    call()
    return call


def _jax_eager(fn: Function, x: np.ndarray):
    import jax
    import jax.numpy as jnp

    g = _jax_g(fn)[0]
    if g is None:
        raise TridiffError(f"f has no formula for JAX to trace: {fn.opaque_reason}")
    call = lambda: jax.vmap(jax.grad(g))(jnp.array(x.astype("float32"))).block_until_ready()
    call()
    return call


def _numpy_f(fn: Function) -> tuple[Callable, str]:
    """f on a NumPy array as the lab would write it: the Python function itself when it is plain
    NumPy code, else ``sympy.lambdify(x, f, 'numpy')`` (f(x) by numbers when f has no formula)."""
    if fn.kind == "numpy":
        return fn.source, "by the Python function itself"
    if fn.expr is None:
        return fn.numpy_values, "by the Python function, point by point where needed"
    return sp.lambdify(fn.symbol, fn.expr, modules="numpy", cse=False), "by sympy.lambdify(x, f, 'numpy')"


def _jax_g(fn: Function) -> tuple[Callable | None, str]:
    """f for ``jax.grad``: the Python function itself when JAX can trace it (as in the lab),
    else ``sympy.lambdify(x, f, 'jax')``; None when f has neither."""
    import jax
    import jax.numpy as jnp

    if fn.kind in ("numpy", "jax"):
        try:
            jax.eval_shape(jax.grad(fn.source), jax.ShapeDtypeStruct((), jnp.float32))
            return fn.source, "is the Python function itself"
        except Exception:  # noqa: BLE001 - e.g. np.sin on a tracer: fall back to the formula
            pass
    if fn.expr is None:
        return None, "is not available: f has no formula"
    return sp.lambdify(fn.symbol, fn.expr, modules="jax", cse=False), "= sympy.lambdify(x, f, 'jax')"


def _formula(fn: Function) -> Function:
    if fn.expr is None:
        raise TridiffError(f"f has no formula: {fn.opaque_reason}")
    return fn


def _raw_ops(fn: Function) -> tuple[int | None, int | None]:
    if fn.expr is None:
        return None, None
    ops = int(sp.count_ops(sp.diff(fn.expr, fn.symbol)))
    return ops, ops  # lambdify without cse evaluates the formula as written


def _symbolic_ops(fn: Function) -> tuple[int | None, int | None]:
    if fn.expr is None:
        return None, None
    expr = derivative(fn, method="symbolic").expr
    shared, reduced = sp.cse(expr)  # tridiff's compiler lowers each distinct subexpression once
    evaluated = sum(sp.count_ops(e) for _symbol, e in shared) + sum(sp.count_ops(e) for e in reduced)
    return int(sp.count_ops(expr)), int(evaluated)


def _no_ops(fn: Function) -> tuple[None, None]:
    return None, None


def _quiet(f: Callable, x: np.ndarray):
    with np.errstate(all="ignore"):  # the nested polynomial overflows on [-5, 5] from depth 5
        return f(x)


# -- the loop --------------------------------------------------------------------------------------
def _run(plans: list[_Plan], values: tuple[int, ...], grid: Callable, parameter: str, repeat: int,
         budget: float, limit: float, progress: bool) -> tuple[Series, ...]:
    """Time every plan at every value (value by value); a series expected to take longer than
    ``limit`` seconds a call is skipped from that value on, with the reason."""
    results = {p.name: [] for p in plans}  # name -> [(setup, Timing | None, skip reason)]
    ops = {p.name: [] for p in plans}
    stopped = {p.name: "" for p in plans}
    _warm_up(plans, grid(values[0])[0])
    with _progress(progress, len(plans) * len(values)) as tick:
        for value in values:
            fn, x = grid(value)
            for p in plans:
                tick(f"{p.name} at {parameter} {_label(parameter, value)}")
                ops[p.name].append(p.ops(fn))
                stopped[p.name] = stopped[p.name] or _too_slow(results[p.name], ops[p.name], values, parameter,
                                                               limit)
                why = stopped[p.name]
                results[p.name].append((np.nan, None, why) if why else _time(p, fn, x, repeat, budget))
    return tuple(Series(p.name, p.kind, p.description, *(tuple(col) for col in zip(*results[p.name])),
                        *(tuple(col) for col in zip(*ops[p.name]))) for p in plans)


def _warm_up(plans: list[_Plan], fn: Function) -> None:
    """Pay the process's one-time costs (lazy imports, JAX's backend start) before any timing:
    each series once, untimed, on 3 points."""
    x = np.linspace(-1.0, 1.0, 3)
    for p in plans:
        try:
            p.setup(fn.fresh(), x)
        except p.errors:
            pass


def _time(p: _Plan, fn: Function, x: np.ndarray, repeat: int, budget: float):
    fresh = fn.fresh()  # empty caches: setup is timed from scratch
    with tier("jax"):  # setup compiles, and the steady state is the compiled kernel's
        try:
            setup, call = once(lambda: p.setup(fresh, x))
        except p.errors as err:
            return np.nan, None, f"{type(err).__name__}: {err}"
        call()  # met twice, a long array's own-length kernel is queued: timed once it is compiled
        settle()
        evaluation = measure(call, repeat=repeat, warmup=1, budget=budget)
    return setup, evaluation, ""


def _too_slow(done: list, ops: list, values, parameter: str, limit: float) -> str:
    """Why to skip the next value ('' if not): the last time per call, extrapolated, exceeds ``limit``.

    Over points time grows in proportion to N (at worst). Over depth it grows as the operations
    evaluated where the series has a formula; else as between the last two measured depths, at
    most 10× a level (a ratio between tiny times is mostly noise).
    """
    value, evaluated = values[len(done)], [e for _written, e in ops]
    measured = [(i, t.median) for i, (_, t, _) in enumerate(done) if t is not None]
    if not measured:
        return ""
    i1, t1 = measured[-1]
    v1 = values[i1]
    if parameter == "points":
        growth = value / v1
    elif evaluated[i1] and evaluated[-1]:
        growth = evaluated[-1] / evaluated[i1]
    elif len(measured) >= 2:
        i0, t0 = measured[-2]
        growth = min(10.0, max(1.0, t1 / t0)) ** ((value - v1) / (v1 - values[i0]))
    else:
        growth = 1.0
    expected = t1 * growth
    if expected <= limit:
        return ""
    return (f"one call expected to take {format_seconds(expected)} ({format_seconds(t1)} at {parameter} "
            f"{_label(parameter, v1)}), over the limit of {limit:g} s")


@contextmanager
def _progress(enabled: bool, total: int):
    """Yield ``tick(description)``, called before each measurement: a rich progress bar on stderr
    when ``enabled`` and stderr is a terminal, else nothing at all."""
    from rich.console import Console

    console = Console(stderr=True)
    if not (enabled and console.is_terminal):
        yield lambda description: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<40}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("sweep", total=total)
        started = [False]

        def tick(description: str) -> None:
            bar.update(task, advance=1 if started[0] else 0, description=description)
            started[0] = True

        yield tick
        bar.update(task, completed=total)


# -- validation and formatting ---------------------------------------------------------------------
def _sweep_methods(methods) -> tuple[str, ...]:
    """As :func:`tridiff.methods.options.check_methods`, but none is allowed: a sweep of the lab's ways alone."""
    methods = (methods,) if isinstance(methods, str) else tuple(methods)
    return check_methods(methods) if methods else ()


def _increasing(name: str, values, smallest: int) -> tuple[int, ...]:
    values = tuple(values)
    if not values:
        raise TridiffError(f"{name} is empty: give at least one value")
    values = tuple(check_integer(f"each of {name}", v, smallest) for v in values)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise TridiffError(f"{name} must increase, got {values!r}")
    return values


def _seconds_arg(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise TridiffError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def _repeat(repeat, quick: bool) -> int:
    return check_integer("repeat", (QUICK_REPEAT if quick else REPEAT) if repeat is None else repeat)


def _load() -> float:
    try:
        return float(os.getloadavg()[0])
    except (AttributeError, OSError):  # not on every platform
        return math.nan


def _label(parameter: str, value: int) -> str:
    if parameter == "points":
        k = round(math.log10(value))
        return f"10^{k}" if 10**k == value else f"{value:,}"
    return str(value)

