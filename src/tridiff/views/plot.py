"""``td.plot``: f and f' by each method in the lab's style, never drawing a line across a kink.

Each curve is sampled on a grid that also contains every point where f^(n) does not exist (from
:func:`tridiff.kinks`); there the derivative is NaN, and NaN breaks a matplotlib line, so no segment
joins -1 to +1 across the kink of |x| or -inf to +inf across the pole of 1/x however coarse the
grid. Each kink is marked with hollow circles at the left and right derivatives (values that are
approached, not attained). Figures are made with ``matplotlib.figure.Figure`` directly: no pyplot,
no global state, no window; matplotlib itself is imported only when a plot is drawn.
"""

from __future__ import annotations

import io
import textwrap
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from ..definition.function import Function, function
from ..definition.points import check_integer, check_interval
from ..errors import MethodUnavailableError, TridiffError
from ..methods.derivative import derivative
from ..methods.options import METHODS, check_methods, prime
from ..methods.reference import REFERENCE_DIGITS, exact_reference
from ..reasons import JUMP, OUTSIDE_DOMAIN, reason_text
from ..studies.catalog import BY_NAME
from ..studies.kinks import Kink, kinks
from ..studies.presentation import ERROR_FLOOR, METHOD_STYLES, in_figure_fonts
from ..translation import gettext as _

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

#: The lab's gallery of common derivatives (its section 4.2), as texts from the catalog.
LAB_GALLERY = tuple(BY_NAME[name].text for name in
                    ("cube", "cubic", "reciprocal", "exp", "log", "sin", "cos", "abs", "abs_plus_sincos"))

# f in red and f' in blue as in the lab; the other methods overlap it, told apart by style and colour.
F_STYLE = dict(color="tab:red", linestyle="-", linewidth=2.0, zorder=2)
MARKER_STYLE = dict(linestyle="none", marker="o", markersize=7, markerfacecolor="none",
                    markeredgewidth=1.6, zorder=6)
REFERENCE_POINTS = 200  # mpmath is slow: the error panel's reference is computed on this many points



@dataclass(frozen=True)
class Curves:
    """What one plot draws: f and each available method's f^(n) on a grid that contains every kink."""

    x: np.ndarray
    f: np.ndarray
    derivatives: dict[str, np.ndarray]
    kinks: tuple[Kink, ...]
    unavailable: dict[str, str]  # method -> why it cannot differentiate f


@in_figure_fonts
def plot(f, methods=METHODS, x_range=(-5, 5), *, order: int = 1, points: int = 1001,
         error_panel: bool = False, ax: Axes | None = None, title: str | None = None) -> Figure:
    """Plot f and its derivative by each method, in the lab's style, honest at kinks.

    Axes are framed, with light lines at x = 0 and y = 0 (tick labels never sit under the curves)
    and labelled; f is red, f' solid blue (symbolic), dashed green (automatic) and dotted orange
    (numeric), so methods that agree overlap visibly. Lines break wherever f or f'
    does not exist; each kink is marked with open circles at the left and right derivatives.
    Methods that cannot handle f (a callable with no formula has only numeric) are named in the
    legend and a note, with the reason.

    Args:
        f: a :class:`~tridiff.Function` or anything :func:`tridiff.function` accepts.
        methods: the methods to draw, from "symbolic", "automatic", "numeric".
        x_range: the interval ``(a, b)`` to draw.
        order: which derivative to draw (1: f').
        points: grid points (the kinks are added to them).
        error_panel: add a log-scale panel below with |method − reference| per method, the
            reference being f^(n)'s formula evaluated by mpmath at 40 digits (else the symbolic
            derivative; with no formula, the numeric method's own error estimate), on 200 points.
        ax: draw into these axes (without an error panel); default: a new figure.
        title: the axes title.

    Returns:
        The matplotlib ``Figure`` (save it with ``fig.savefig("f.png")``).

    >>> from tridiff.views.plot import plot
    >>> fig = plot("abs(x)", x_range=(-2, 2), points=101)
    >>> [line.get_label() for line in fig.axes[0].get_lines()][1:4]
    ["$f'(x)$ symbolic", "$f'(x)$ automatic", "$f'(x)$ numeric"]
    """
    fn = function(f)
    a, b = check_interval(x_range, "x_range")
    methods = check_methods(methods)
    if ax is not None and error_panel:
        raise TridiffError("error_panel=True needs a figure of its own: leave ax=None")
    curves = sample(fn, methods, (a, b), order=order, points=points)
    if ax is None:
        fig = _figure(figsize=(7.5, 7.5 if error_panel else 5.5))
        if error_panel:
            ax, err_ax = fig.subplots(2, 1, sharex=True, height_ratios=(2.4, 1))
        else:
            ax = fig.add_subplot()
    _draw(ax, fn, curves, order, legend=True, title=title)
    if error_panel:
        _draw_errors(err_ax, fn, [m for m in methods if m not in curves.unavailable], (a, b), order)
    return ax.figure


@in_figure_fonts
def plot_gallery(functions=LAB_GALLERY, x_range=(-5, 5), methods=METHODS, *, order: int = 1,
                 points: int = 401, ncols: int = 3, title: str | None = None) -> Figure:
    """One figure with a grid of :func:`plot` panels, one per function (default: the lab's gallery).

    The lab's gallery (its section 4.2) is x³, 2x³ − 3x² + 5, 1/x, eˣ, log x, sin x, cos x, |x| and
    |x| + sin x·cos x; one legend for the whole figure names the line styles.

    >>> from tridiff.views.plot import plot_gallery
    >>> fig = plot_gallery(["x**2", "abs(x)"], points=51)
    >>> len(fig.axes)
    2
    """
    fns = [function(f) for f in functions]
    if not fns:
        raise TridiffError("functions must name at least one function")
    ncols = min(check_integer("ncols", ncols), len(fns))
    a, b = check_interval(x_range, "x_range")
    methods = check_methods(methods)
    nrows = -(-len(fns) // ncols)
    fig = _figure(figsize=(4.2 * ncols, 3.4 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, fn in zip(axes, fns):
        _draw(ax, fn, sample(fn, methods, (a, b), order=order, points=points), order, legend=False)
        ax.set_title(formula_label(fn), fontsize=10)
    for ax in axes[len(fns):]:
        ax.remove()
    handles = [_legend_line(F_STYLE, "$f(x)$")]
    handles += [_legend_line(METHOD_STYLES[m], f"${prime(order)}(x)$ {_(m)}") for m in methods]
    handles.append(_legend_line(dict(MARKER_STYLE, color="0.2"), _("one-sided limits at a kink")))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False)
    if title:
        fig.suptitle(title)
    return fig


# -- sampling ------------------------------------------------------------------------------------
def sample(f, methods=METHODS, x_range=(-5, 5), *, order: int = 1, points: int = 1001) -> Curves:
    """f and f^(n) by each method on ``points`` grid points plus the kinks, NaN where they do not exist.

    This is what :func:`plot` draws; use it to draw with other tools.

    >>> c = sample("abs(x)", x_range=(-1, 1), points=4)
    >>> c.x, c.derivatives["numeric"]
    (array([-1.        , -0.33333333,  0.        ,  0.33333333,  1.        ]), array([-1., -1., nan,  1.,  1.]))
    """
    fn = function(f)
    a, b = check_interval(x_range, "x_range")
    methods = check_methods(methods)
    grid = np.linspace(a, b, check_integer("points", points, smallest=3))
    derivs, unavailable = {}, {}
    for m in methods:
        try:
            derivs[m] = derivative(fn, method=m, order=order)
        except MethodUnavailableError:
            unavailable[m] = fn.opaque_reason or _("not available for this function")
    found = kinks(fn, (a, b), order=order) if fn.expr is not None else ()
    x = np.union1d(grid, [k.x for k in found])
    at_kink = np.isin(x, [k.x for k in found])
    results = {m: d.evaluate(x) for m, d in derivs.items()}
    values = {m: np.where(at_kink, np.nan, r.values) for m, r in results.items()}
    with np.errstate(all="ignore"):
        fx = np.asarray(fn(x), dtype=float)
    breaks = {reason_text(JUMP), reason_text(OUTSIDE_DOMAIN)}  # f itself breaks at these (else it is continuous)
    broken = np.isin(x, [k.x for k in found if k.reason in breaks])
    fx = np.where(np.isfinite(fx) & ~broken, fx, np.nan)
    if fn.expr is None:  # no formula: kinks and jumps are found on the grid itself
        found = _grid_kinks(x, next(iter(results.values()))) if results else []
        x, fx, values = _break_jumps(x, fx, values)
    return Curves(x, fx, values, tuple(found), unavailable)


def _grid_kinks(x, result) -> list[Kink]:
    """Grid points where a method found f' undefined with finite, different one-sided values."""
    bad = result.undefined & np.isfinite(result.left) & np.isfinite(result.right) & (result.left != result.right)
    return [Kink(float(x[i]), float(result.left[i]), float(result.right[i]), str(result.reasons[i]))
            for i in np.flatnonzero(bad)]


def _break_jumps(x, fx, values):
    """Insert a NaN sample wherever f or some f' jumps between grid points (for f with no formula)."""
    cuts = set(_jumps(fx).tolist())
    for v in values.values():
        cuts.update(_jumps(v).tolist())
    if not cuts:
        return x, fx, values
    at = np.array(sorted(cuts)) + 1
    mid = 0.5 * (x[at - 1] + x[at])
    return (np.insert(x, at, mid), np.insert(fx, at, np.nan),
            {m: np.insert(v, at, np.nan) for m, v in values.items()})


def _jumps(y: np.ndarray) -> np.ndarray:
    """Indices i where y[i] → y[i+1] looks like a jump, not a steep stretch of a continuous curve.

    A step is a jump when it is large (2% of the range of y) and either 10× both neighbouring steps
    (a step in a flat curve) or against the direction of both (a pole: -big then +big).
    """
    dy = np.diff(y)
    finite = np.isfinite(y)
    if finite.sum() < 4:
        return np.array([], dtype=int)
    span = np.ptp(y[finite])
    prev = np.concatenate(([np.nan], dy[:-1]))
    nxt = np.concatenate((dy[1:], [np.nan]))
    neighbours = np.fmax(np.abs(prev), np.abs(nxt))
    with np.errstate(invalid="ignore"):
        large = np.abs(dy) > 0.02 * span
        isolated = np.abs(dy) > 10 * np.nan_to_num(neighbours, nan=0.0)
        reversal = (np.sign(dy) == -np.sign(prev)) & (np.sign(dy) == -np.sign(nxt)) & (np.abs(dy) > neighbours)
    return np.flatnonzero(large & (isolated | reversal))


# -- drawing -------------------------------------------------------------------------------------
def _draw(ax: Axes, fn: Function, c: Curves, order: int, legend: bool, title: str | None = None) -> None:
    """Draw f, each method's f^(n), the kink markers and the unavailable-method note into ax."""
    x = fn.symbol.name
    name = f"${prime(order)}({x})$"  # mathtext, as f's own label: one typeface in the legend
    ax.plot(c.x, c.f, label=formula_label(fn), gid="f", **F_STYLE)
    for m, v in c.derivatives.items():
        ax.plot(c.x, v, label=f"{name} {_(m)}", gid=f"derivative-{m}", **METHOD_STYLES[m])
    for m in c.unavailable:  # an empty entry, so the legend still names the method
        ax.plot([], [], linestyle="none", label=_("{name} {method}: not available").format(name=name, method=_(m)),
                gid=f"unavailable-{m}")
    _mark_kinks(ax, fn, c, name)
    ax.set_xlim(c.x[0], c.x[-1])
    ax.set_ylim(*_y_limits([c.f, *list(c.derivatives.values())[:1]]))  # methods agree: f and one f'
    _frame(ax)
    ax.set_xlabel(f"${x}$")
    ax.set_ylabel(f"$f({x})$, {name}")
    if legend:
        # Above the axes (and above the title, if any): never over a curve or a tick label.
        ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False,
                  borderaxespad=2.8 if title else 0.5)
    if title:
        ax.set_title(title)
    if c.unavailable:
        _note(ax, c.unavailable)


def _mark_kinks(ax: Axes, fn: Function, c: Curves, name: str) -> None:
    """Open circles at the one-sided derivatives of each kink (and at f's one-sided values at a jump)."""
    color = METHOD_STYLES[next(iter(c.derivatives), "symbolic")]["color"]
    xs, ys = [], []
    for k in c.kinks:
        ax.axvline(k.x, color="0.55", linewidth=0.8, linestyle=(0, (2, 4)), alpha=0.6, zorder=1)
        for y in {k.left, k.right}:
            if np.isfinite(y):
                xs.append(k.x)
                ys.append(y)
    if xs:
        ax.plot(xs, ys, color=color, label=_("{name} one-sided limits at a kink").format(name=name), gid="kinks",
                **MARKER_STYLE)
    jumps = np.array([k.x for k in c.kinks if k.reason == reason_text(JUMP)])
    if jumps.size and fn.expr is not None:
        _mark_jumps(ax, fn, jumps)


def _mark_jumps(ax: Axes, fn: Function, jumps: np.ndarray) -> None:
    """At each jump of f: open circles at its one-sided limits, a filled dot at the value it takes."""
    delta = 1e-9 * np.maximum(1.0, np.abs(jumps))
    sides = np.concatenate((fn(jumps - delta), fn(jumps + delta)))
    ax.plot(np.tile(jumps, 2), sides, color=F_STYLE["color"], gid="jumps", **MARKER_STYLE)
    ax.plot(jumps, fn(jumps), color=F_STYLE["color"], gid="jump-values",
            **{**MARKER_STYLE, "markerfacecolor": F_STYLE["color"], "markersize": 5})


def _note(ax: Axes, unavailable: dict[str, str]) -> None:
    """Name the methods that could not be drawn, and why, under the axes."""
    reasons = {}
    for m, why in unavailable.items():
        reasons.setdefault(why, []).append(m)
    text = "\n".join(_("{methods}: not available — {why}").format(methods=", ".join(map(_, ms)), why=why)
                     for why, ms in reasons.items())
    width = max(40, int(ax.get_position().width * ax.figure.get_figwidth() * 20))
    wrapped = "\n".join(textwrap.fill(line, width) for line in text.splitlines())
    ax.annotate(wrapped, xy=(0, 0), xycoords="axes fraction", xytext=(0, -6), textcoords="offset points",
                va="top", ha="left", fontsize=7, color="0.25", annotation_clip=False, gid="unavailable-note")


def _frame(ax: Axes) -> None:
    """Framed axes with light lines along x = 0 and y = 0 where they are in view: the lab's axes
    crossed at the origin, which put the tick labels under the curves."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    zero = dict(color="0.6", linewidth=0.8, zorder=0.5)
    if y0 < 0 < y1:
        ax.axhline(0.0, gid="zero-y", **zero)
    if x0 < 0 < x1:
        ax.axvline(0.0, gid="zero-x", **zero)
    ax.grid(True, alpha=0.25, linewidth=0.6)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)


def _y_limits(arrays, margin: float = 0.06) -> tuple[float, float]:
    """y-limits that a pole (1/x near 0) or an exponential's end (e^(-2x) at x = -5) does not squash:
    the full range unless the data is heavy-tailed.

    When the range of the finite values exceeds 12× their 10th–90th percentile band (a polynomial's
    is under 6, a pole's in the hundreds), or 4× their 25th–75th percentile band widened 4× (most of
    the curve lives in a small part of the range: exp(-2x) + 3 sin 3x on [-5, 5]), the limits are
    the band widened by 1.5× its width on each side (never beyond the data). 0 is included when the
    data comes close to it, so the x-axis shows.
    """
    v = np.concatenate([np.ravel(a) for a in arrays])
    v = v[np.isfinite(v)]
    if v.size == 0:
        return -1.0, 1.0
    lo, hi = v.min(), v.max()
    q_lo, q_hi = np.percentile(v, [10, 90])
    band = q_hi - q_lo
    m_lo, m_hi = np.percentile(v, [25, 75])
    if hi - lo > 16 * (m_hi - m_lo) > 0 and hi - lo > 4 * band:  # the middle half is a sliver of the range
        q_lo, q_hi = m_lo - 1.5 * (m_hi - m_lo), m_hi + 1.5 * (m_hi - m_lo)
        band = q_hi - q_lo
    if hi - lo > 4 * band:
        lo, hi = max(lo, q_lo - 1.5 * band), min(hi, q_hi + 1.5 * band)
    if 0 < lo <= 0.5 * (hi - lo):
        lo = 0.0
    if -0.5 * (hi - lo) <= hi < 0:
        hi = 0.0
    pad = margin * (hi - lo) if hi > lo else max(1.0, abs(hi))
    return float(lo - pad), float(hi + pad)


def _draw_errors(ax: Axes, fn: Function, methods, x_range, order: int) -> None:
    """|method − reference| per method on a log scale, the reference named in the title."""
    xs = np.linspace(*x_range, REFERENCE_POINTS)
    results = {m: derivative(fn, method=m, order=order).evaluate(xs) for m in methods}
    ref, name = _error_reference(fn, xs, order, results)
    ax.set_yscale("log")
    for m, r in results.items():
        if ref is None:  # no formula: only the numeric method's own error estimate is known
            err = r.error_estimate
        elif name.startswith("symbolic") and m == "symbolic":
            continue
        else:
            err = np.abs(r.values - ref)
        err = np.where(np.isfinite(err), np.maximum(err, ERROR_FLOOR), np.nan)
        ax.plot(xs, err, gid=f"error-{m}", label=_(m), **{**METHOD_STYLES[m], "linewidth": 1.4})
    ax.set_title(_("error: |method − {reference}|").format(reference=name) if ref is not None else name, fontsize=9)
    ax.set_ylabel(_("|error| (0 drawn at {floor})").format(floor=f"{ERROR_FLOOR:.0e}"), fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    if ax.get_lines():
        ax.legend(fontsize=8, loc="best", framealpha=0.85)


def _error_reference(fn: Function, xs, order: int, results):
    """The best reference available: f^(n)'s formula by mpmath (as td.compare's), else the symbolic
    derivative, else none."""
    if fn.expr is not None:
        try:
            ref = exact_reference(fn, xs, order)[0]
        except Exception:  # noqa: BLE001 - mpmath may not handle every formula; fall back below
            ref = np.full(xs.shape, np.nan)
        if np.isfinite(ref).any():
            return ref, _("mpmath reference ({digits} digits)").format(digits=REFERENCE_DIGITS)
        if "symbolic" in results:
            return results["symbolic"].values, _("symbolic (mpmath failed)")
    return None, _("numeric error estimate (no reference: f has no formula)")


# -- labels and helpers --------------------------------------------------------------------------
def formula_label(fn: Function) -> str:
    """``f(x) = …`` for a legend: mathtext of the formula when matplotlib can typeset it, else plain text.

    >>> formula_label(function("abs(x) + 1/x"))
    '$f(x) = |x| + 1 / x$'
    """
    name = fn.symbol.name
    if fn.expr is None:
        src = getattr(fn.source, "__name__", "")
        return f"f({name}) = {src}({name})" if src and src != "<lambda>" else f"f({name}) (a callable with no formula)"
    tex = f"${_LatexPrinter().doprint(fn.expr)}$".replace("$", f"$f({name}) = ", 1)
    if len(tex) <= 120 and _typesets(tex):
        return tex
    text = fn.source if fn.kind == "text" else _PlainPrinter().doprint(fn.expr)
    return f"f({name}) = " + (text if len(text) <= 60 else text[:57] + "…")


class _LatexPrinter(LatexPrinter):
    """SymPy's LaTeX as mathtext sets it well: |u| for Abs, a/b inline."""

    def __init__(self):
        super().__init__({"fold_short_frac": True})

    def _print_Abs(self, e, exp=None):
        tex = f"|{self._print(e.args[0])}|"
        return f"{tex}^{{{exp}}}" if exp else tex


class _PlainPrinter(StrPrinter):
    """SymPy's str, with |u| for Abs and ^ for powers."""

    def _print_Abs(self, e):
        return f"|{self._print(e.args[0])}|"

    def _print_Pow(self, e, rational=False):
        return super()._print_Pow(e, rational).replace("**", "^")


@lru_cache(maxsize=512)  # typesetting takes tens of ms; the explorer asks again for the same formulas
def maths_svg(latex: str) -> bytes | None:
    """``latex`` typeset as an SVG picture by matplotlib's mathtext (no TeX install, no network, no
    script), or None where mathtext cannot set it.

    >>> maths_svg("x^{2}")[:5], maths_svg(r"\\begin{cases} x \\end{cases}")
    (b'<?xml', None)
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import math_to_image

    buffer = io.BytesIO()
    with _MATHTEXT:  # mathtext's parser (pyparsing) and font caches are not made for threads
        tex = mathtext_of(latex)
        if tex is None:
            return None
        math_to_image(f"${tex}$", buffer, prop=FontProperties(size=13), format="svg")
    return buffer.getvalue()


_MATHTEXT = threading.Lock()


def mathtext_of(latex: str) -> str | None:
    r"""``latex`` if matplotlib's mathtext can typeset it (for pictures made without a TeX install),
    else None.

    >>> mathtext_of("x^{2} + 1"), mathtext_of(r"\begin{cases} x \end{cases}")
    ('x^{2} + 1', None)
    """
    return latex if len(latex) <= 400 and _typesets(f"${latex}$") else None


def _typesets(tex: str) -> bool:
    from matplotlib.mathtext import MathTextParser

    try:
        MathTextParser("path").parse(tex)
        return True
    except ValueError:
        return False


def _legend_line(style: dict, label: str):
    from matplotlib.lines import Line2D

    return Line2D([], [], label=label, **{k: v for k, v in style.items() if k != "zorder"})


def _figure(figsize) -> Figure:
    from matplotlib.figure import Figure  # heavy: imported on first plot

    return Figure(figsize=figsize, layout="constrained")
