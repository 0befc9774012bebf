"""``tridiff lab``: the lab "Differentiation in Python: Symbolic, Numerical and Automatic", rerun.

Each section of the lab is redone through tridiff: its functions through all three methods, the
places where its libraries fail or mislead (|x|'s derivative, ints, arrays, np.gradient beside a
kink, JAX's |x|'(0) = 1, expression swell) shown beside what tridiff does, and the speed
comparison measured on this machine — setup apart from evaluation, medians of repeats — with the
conclusions written from the measured figures. The result is one self-contained HTML file.
"""

from __future__ import annotations

import base64
import io
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp
from jinja2 import Environment, PackageLoader
from markupsafe import Markup

from .. import __version__
from ..compiler.runner import settle
from ..definition.function import function
from ..methods.derivative import derivative
from ..methods.options import METHODS
from ..methods.samples import differentiate_samples
from ..studies.catalog import nested_polynomial
from ..studies.derivation import steps
from ..studies.graph import graph as td_graph
from ..studies.graph import swell
from ..studies.presentation import figure_fonts
from ..studies.stepstudy import SQUIRE_TRAPP, step_study
from ..studies.sweeps import sweep_depth, sweep_sizes
from ..studies.timing import format_seconds, measure
from ..translation import HTML_LANG, N_, check_language, current_language, language
from ..translation import gettext as _
from ..views.plot import maths_svg, plot, plot_gallery
from .progress import stepwise


@dataclass(frozen=True)
class Block:
    """One piece of a section, drawn by the page's template (``templates/lab.html``) by its kind:
    "paragraph", "heading", "code", "table", "figure", "items" or "html" (markup a component
    made, already escaped). Text is escaped by the template unless it is ``Markup``."""

    kind: str
    text: object = ""
    header: tuple = ()
    rows: tuple = ()
    items: tuple = ()
    tag: str = "ul"
    alt: str = ""
    media: str = ""
    data: str = ""
    css: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    blocks: tuple[Block, ...]


@dataclass
class Report:
    """The report being written: its sections and the figures the summary quotes."""

    quick: bool
    sections: list[Section] = field(default_factory=list)
    summary: list[tuple[str, str]] = field(default_factory=list)

    def section(self, title: str, *blocks: Block) -> None:
        self.sections.append(Section(title, tuple(b for group in blocks
                                                  for b in (group if isinstance(group, list) else [group]))))

    def note(self, key: str, value: str) -> None:
        self.summary.append((key, value))


def run(out: str | Path = "tridiff-report", *, quick: bool = False, lang: str = "en", console=None) -> Path:
    """Rerun the lab and write ``out/index.html`` in ``lang`` ("en" or "zh": prose, tables, figures
    and the summary); print where, and a short summary.

    >>> path = run("/tmp/tridiff-doctest-report", quick=True, lang="zh")  # doctest: +SKIP
    """
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    check_language(lang)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    # The page is written to a file beside it and renamed over it when whole: interrupted, the lab
    # leaves the previous report as it was. Making that file now fails now, not after the lab has run.
    with tempfile.NamedTemporaryFile(dir=out, prefix=".index-", suffix=".html", delete=False) as staging:
        pass
    staging = Path(staging.name)
    try:
        with language(lang), figure_fonts():
            start = time.perf_counter()
            report = Report(quick)
            with stepwise([(_(label), seconds[quick]) for _part, label, seconds in _PARTS]) as begin:
                for i, (part, _label, _seconds) in enumerate(_PARTS):
                    begin(i)
                    part(report)
            elapsed = time.perf_counter() - start
            staging.write_text(_page(report, elapsed), encoding="utf-8")
            staging.chmod(0o644)  # a page to share, not the private file a temporary file starts as
            os.replace(staging, path)
            table = Table(_("what"), _("measured here"), title=_("tridiff lab: summary"))
            for key, value in report.summary:
                table.add_row(key, value)
            console.print(table)
            console.print(_("report written to {path} ({seconds} s)").format(path=path.resolve(),
                                                                             seconds=f"{elapsed:.1f}"))
    finally:
        staging.unlink(missing_ok=True)
    return path


# -- sections -----------------------------------------------------------------------------------

def _functions(report: Report) -> None:
    """1 - Functions in Python"""
    def f(x):
        return x**2

    fn = function(f)
    xs = np.array([1, 2, 3])
    by_method = {m: derivative(fn, method=m) for m in METHODS}
    rows = [[_(m), _arr(d(xs)), _number_text(d(3))] for m, d in by_method.items()]
    report.section(
        _("1 - Functions in Python"),
        _p(_("The lab defines <code>f(x) = x**2</code> as a Python function and its derivative by hand, "
             "<code>dfdx(x) = 2*x</code>. With tridiff the derivative comes from f itself, by each method, "
             "on an int array and on the int 3:")),
        _code("def f(x):\n    return x**2\n\nfn = td.function(f)\ntd.derivative(fn, method=m)(np.array([1, 2, 3]))"),
        _table([_("method"), "f'([1, 2, 3])", "f'(3)"], rows),
        _figure(_plot(fn, _("f(x) = x² and f'(x) by each method")),
                _("f(x) = x squared, a parabola, and its derivative 2x, a straight line, drawn by the three methods, "
                  "which coincide")),
    )


def _symbolic(report: Report) -> None:
    """2.2 - Symbolic differentiation"""
    x = sp.Symbol("x")
    f_symb = x**2
    composed = function("exp(-2*x) + 3*sin(3*x)")
    lab_error = _lab_error(lambda: f_symb(np.array([1, 2, 3])))
    derivatives = {text: derivative(text) for text in ("x**3", "exp(-2*x) + 3*sin(3*x)", "2*x**3 - 3*x**2 + 5")}
    rows = [[text, Markup("<code>{}</code>").format(d.expr), _maths(d.latex)] for text, d in derivatives.items()]
    derivation = steps("exp(-2*x) + 3*sin(3*x)")
    report.section(
        _("2 - Symbolic differentiation"),
        _p(_("In the lab a SymPy expression cannot be evaluated on an array: <code>f_symb(x_array)</code> "
             "raises <code>{error}</code>, and <code>lambdify</code> is needed first. <code>td.function(f_symb)</code> "
             "is evaluable at once: <code>{values}</code>."),
           error=lab_error, values=_arr(function(f_symb)(np.array([1, 2, 3])))),
        _p(_("Derivatives, as tridiff prints them (SymPy's <code>diff</code> over real symbols, common factors "
             "pulled out):")),
        _table(["f(x)", "f'(x)", _("f'(x) typeset (from d.latex)")], rows),
        _figure(_plot(composed, _("exp(-2x) + 3 sin(3x) and its derivative"), x_range=(-1, 4)),
                _("exp(-2x) + 3 sin(3x) on [-1, 4]: a decaying exponential plus a sine, and its derivative "
                  "9 cos(3x) - 2 exp(-2x), drawn by the three methods, which coincide")),
        _heading(_("Why the derivative is what it is: the steps")),
        _p(_("<code>td.steps(f)</code> writes the derivation as a learner does, one rule per step, each from the "
             "rule of a function or of an operation:")),
        _steps(derivation),
    )


def _symbolic_limits(report: Report) -> None:
    """2.3 - Limitations of symbolic differentiation: |x|"""
    x = sp.Symbol("x")
    lab = sp.diff(sp.Abs(x), x)
    lab_eval = lab.evalf(subs={x: -2})
    lab_numpy = _lab_error(lambda: sp.lambdify(x, lab, "numpy")(np.array([1, -2, 0])))
    d = derivative("abs(x)")
    r = d.evaluate(np.array([1.0, -2.0, 0.0]))
    rows = [[_number_text(x0), _number_text(v), _number_text(lv), _number_text(rv), why or "-"]
            for x0, v, lv, rv, why in zip((1.0, -2.0, 0.0), r.values, r.left, r.right, r.reasons)]
    report.section(
        _("2.3 - Limitations of symbolic differentiation: |x|"),
        _p(_("The lab's SymPy (complex symbols) gives <code>{derivative}</code>; at x = -2 that evaluates to "
             "<code>{value}</code>, and its NumPy version fails: <code>{error}</code>."),
           derivative=lab, value=lab_eval, error=lab_numpy),
        _p(_("tridiff works over real symbols: the derivative is <code>{derivative}</code>, and at x = 1, -2, 0 "
             "every method answers:"), derivative=d.expr),
        _table(["x", "f'(x)", _("left derivative"), _("right derivative"), _("why undefined")], rows),
        _p(_("At 0 the two one-sided derivatives differ, so f'(0) does not exist: NaN with the reason, "
             "from every method alike.")),
        _figure(_plot(function("abs(x)"), _("|x| and its derivative: undefined at the kink")),
                _("|x|, a V shape, and its derivative: -1 left of 0, +1 right of 0, not joined at 0, where hollow "
                  "circles mark the one-sided derivatives -1 and 1")),
    )
    report.note(_("|x|' at 0"), _("NaN (kink: left -1, right 1) from all three methods"))


def _numeric(report: Report) -> None:
    """3 - Numerical differentiation: np.gradient and the kink"""
    x = np.linspace(-5, 5, 100)
    beside = np.argsort(np.abs(x))[:2]
    lab = np.gradient(np.abs(x), x)
    sampled = differentiate_samples(np.abs(x), x, full=True)
    numeric = derivative("abs(x)", method="numeric")(x)
    rows = [[f"{x[i]:.6f}", *map(_number_text, (lab[i], sampled.values[i], numeric[i], np.sign(x[i])))]
            for i in sorted(beside)]
    composed = function("exp(-2*x) + 3*sin(3*x)")
    exact = derivative(composed)(x)
    scale = np.max(np.abs(exact))  # errors relative to the largest |f'| on the grid
    err_lab = np.max(np.abs(np.gradient(composed(x), x) - exact)) / scale
    err_td = np.max(np.abs(derivative(composed, method="numeric")(x) - exact)) / scale
    report.section(
        _("3 - Numerical differentiation"),
        _p(_("On the lab's grid (100 points on [-5, 5]) <code>np.gradient</code> of exp(-2x) + 3 sin(3x) errs by "
             "up to {lab} of the largest |f'|: it can only difference the samples. tridiff's numeric method "
             "evaluates f where it needs to, with a step chosen for each point: {tridiff}."),
           lab=f"{err_lab:.2g}", tridiff=f"{err_td:.2g}"),
        _p(_("Beside the kink of |x| the lab finds np.gradient's ±0.5 instead of ±1. Both samples next to 0:")),
        _table(["x", _("np.gradient (lab)"), "td.differentiate_samples", _("td numeric f'(x)"), _("exact")], rows),
        _p(_("<code>td.differentiate_samples</code> flags those two samples (its <code>kinks</code> mask is True "
             "at x = {where}) and takes the one-sided difference on each sample's own side; the numeric method, "
             "which knows where the kink is, uses a one-sided stencil there."),
           where=", ".join(f"{v:.6f}" for v in x[sampled.kinks])),
        _figure(_beside_kink(x, lab),
                _("Near the kink of |x|: np.gradient's values on the lab's grid, -0.5 and +0.5 at the two samples "
                  "beside 0, against tridiff's numeric derivative, -1 and +1, undefined at 0")),
        *_inexact(report),
    )
    nearest = beside[0]
    report.note(_("np.gradient beside |x|'s kink"), _("{lab} (lab) vs {tridiff} (tridiff)").format(
        lab=_number_text(lab[nearest]), tridiff=_number_text(numeric[nearest])))


def _inexact(report: Report) -> list[str]:
    """The lab calls numerical differentiation inexact and leaves it there: how inexact, and why."""
    # Squire & Trapp's own steps, 10^-1 ... 10^-16, and their function and point.
    study = step_study(SQUIRE_TRAPP, 1.5, steps=10.0 ** -np.arange(1, 17),
                       schemes=(("central", 2), ("central", 8), ("complex-step", None)))
    best = study.best()
    (h2, e2), (h8, e8) = best["central 2"], best["central 8"]
    # The complex step's worst error at h <= 1e-8, shown as at least eps (0 means exact to rounding).
    worst = max(float(np.max(study.errors["complex-step"][study.steps <= 1e-8])), float(np.finfo(float).eps))
    report.note(_("numeric error vs step"), _("central ≥ {central}; complex step ≤ {complex}").format(
        central=f"{e2:.1e}", complex=f"{worst:.0e}"))
    return [
        _heading(_("How inexact, and why")),
        _p(_("A difference quotient errs two ways: its truncation error falls like h<sup>p</sup> as the step h "
             "shrinks, while round-off, the lost digits of f(x + h) − f(x − h), grows like eps/h. "
             "<code>td.step_study</code> measures both against mpmath (40 digits) on Squire and Trapp's test "
             "function e<sup>x</sup>/√(sin³x + cos³x) at x = 1.5 (SIAM Review, 1998), at their steps "
             "10<sup>-1</sup> … 10<sup>-16</sup>: central differences bottom out at a relative error of {e2} "
             "(h = {h2}), accuracy-8 stencils at {e8} (h = {h8}), and the complex step Im f(x + ih)/h, which "
             "subtracts nothing, stays within {worst} for every h ≤ 1e-8. tridiff's numeric method takes a step "
             "near each scheme's best by default and reports its own error estimate."),
           e2=f"{e2:.1e}", h2=f"{h2:.0e}", e8=f"{e8:.1e}", h8=f"{h8:.0e}", worst=f"{worst:.0e}"),
        _table([_(head) for head in study.HEADERS], study.rows()),
        _figure(study.plot(), _("Relative error of each difference scheme against the step h, on log scales: "
                                "falling as the step shrinks, then rising again as round-off takes over; the "
                                "complex step stays at rounding level for small steps")),
    ]


def _automatic(report: Report) -> None:
    """4 - Automatic differentiation with JAX"""
    import jax
    import jax.numpy as jnp

    def f(x):
        return x**2

    int_error = _lab_error(lambda: jax.grad(f)(3))
    array_error = _lab_error(lambda: jax.grad(f)(jnp.array([1.0, 2.0, 3.0])))
    jax_abs = float(jax.grad(jnp.abs)(0.0))
    d = derivative(f, method="automatic")
    at_int = _number_text(d(3))
    r = derivative(function(lambda x: jnp.abs(x)), method="automatic").evaluate(0.0)
    graph = _Graph(td_graph("abs(x) + sin(x)*cos(x)", 0.5))
    rows = [
        [_("grad(f)(3) (an int)"), Markup("<code>{}</code>").format(int_error), at_int],
        ["grad(f)(array)", Markup("<code>{}</code>").format(array_error), _arr(d(np.array([1.0, 2.0, 3.0])))],
        ["|x|'(0)", _number_text(jax_abs), _("NaN: {reason} (left {left}, right {right})").format(
            reason=r.reasons, left=_number_text(r.left), right=_number_text(r.right))],
    ]
    report.section(
        _("4 - Automatic differentiation"),
        _p(_("The lab's JAX section, and what tridiff's automatic method (JAX forward mode on f's program, "
             "float64, elementwise over any shape) does instead:")),
        _table([_("call"), _("the lab's JAX"), "tridiff"], rows),
        _heading(_("The computational graph")),
        _p(_("Automatic differentiation runs on f's evaluation trace: one node per operation, each with its "
             "value. The forward mode carries each node's tangent v̇ = dv/dx along (a dual number v + v̇ε); the "
             "reverse mode carries each node's adjoint v̄ = ∂f/∂v back from f. <code>td.graph(f, at=0.5)</code> "
             "for |x| + sin x cos x: the last tangent and the input's adjoint are both f'(0.5).")),
        graph.svg_figure(),
        graph.table_html(),
        _p(_("The lab's gallery of functions, each differentiated by all three methods (kinks and poles are "
             "not joined; hollow markers show the one-sided derivatives):")),
        _figure(plot_gallery(points=201 if report.quick else 401),
                _("Nine small plots: x cubed, a cubic, 1/x, exp, log, sin, cos, |x| and |x| + sin x cos x, each "
                  "with its derivative by the three methods")),
    )
    report.note(_("grad(f)(3) on an int"), _("JAX: error; tridiff: {value}").format(value=at_int))


def _efficiency(report: Report) -> None:
    """5 - Computational efficiency, measured here"""
    n = 10**6
    repeat = 3 if report.quick else 7
    x = np.linspace(-5, 5, n)
    copy = measure(x.copy, repeat=25).median
    sizes = {
        "x**2": sweep_sizes("x**2", sizes=(n,), repeat=repeat, progress=False),
        N_("nested polynomial"): sweep_sizes(nested_polynomial, sizes=(n,), repeat=repeat, progress=False),
    }
    rows = []
    for name, sweep in sizes.items():
        for s in sweep.series:
            t = s.evaluation[0]
            rows.append([_(name), _(s.name), "" if s.skipped[0] else format_seconds(s.setup_seconds[0]),
                         s.skipped[0] or _("{time} ({ratio}× a copy)").format(time=format_seconds(t.median),
                                                                              ratio=f"{t.median / copy:.1f}")])
    depth = sweep_depth(depths=(1, 2, 3) if report.quick else (1, 2, 3, 4, 5), n=10**4 if report.quick else 10**5,
                        repeat=repeat, progress=False)
    poly = sizes["nested polynomial"]
    sym, raw = poly["symbolic"].evaluation[0], poly["raw lambdify"].evaluation[0]
    conclusions = _conclusions(sizes, depth, copy, n) + [_small_calls(repeat)]
    report.section(
        _("5 - Computational efficiency"),
        _p(_("Measured on this machine ({machine}, {n} points, x = np.linspace(-5, 5, {n})). Setup (derive + "
             "compile + first call) is timed once, apart; evaluation is the median of {repeat} repeats after a "
             "warm-up — the lab timed one <code>time.time()</code> shot with compilation mixed in. Copying the "
             "array takes {copy}."),
           machine=platform.processor() or platform.machine(), n=f"{n:,}", repeat=repeat, copy=format_seconds(copy)),
        _table([_("function"), _("method / the lab's way"), _("setup"), _("evaluation (median)")], rows),
        _p(_("The expression-swell experiment: the nested polynomial composed to depth d. Its derivative as "
             "SymPy writes it, counted as a tree (each repeated subexpression again, as lambdify evaluates it) "
             "and as a graph (each distinct subexpression once, as tridiff's compiled kernel evaluates it):")),
        _table([_("depth"), _("f' as a tree"), _("as a graph"), _("tidied (factor_terms): tree"), _("graph")],
               [[s.depth, f"{s.tree:,}", f"{s.graph:,}", f"{s.tidied_tree:,}", f"{s.tidied_graph:,}"]
                for s in swell(range(1, 7))]),
        _figure(depth.plot(), _("Evaluation time against the nesting depth for each method and the lab's ways, "
                                "on a log scale")),
        _heading(_("Conclusions from these figures")),
        Block("items", items=tuple(conclusions)),
    )
    report.note(_("nested polynomial f' on {n} points").format(n=f"{n:,}"),
                _("tridiff symbolic {tridiff} vs lab lambdify {lab}").format(
                    tridiff=format_seconds(sym.median), lab=format_seconds(raw.median) if raw else _("skipped")))


def _conclusions(sizes, depth, copy: float, n: int) -> list[str]:
    """Sentences drawn from the measured figures (never written in advance)."""
    out = []
    poly = sizes["nested polynomial"]
    tri = {m: poly[m].evaluation[0].median for m in METHODS}
    fastest = min(tri, key=tri.get)
    out.append(_("For the nested polynomial on {n} points the fastest tridiff method here is {method} ({time}, "
                 "{ratio}× the time of copying the array).").format(
        n=f"{n:,}", method=_(fastest), time=format_seconds(tri[fastest]), ratio=f"{tri[fastest] / copy:.1f}"))
    raw = poly["raw lambdify"].evaluation[0]
    if raw is not None:
        out.append(_("The lab's symbolic route (lambdify of the unshared derivative) took {time}: {ratio}× slower "
                     "than tridiff's symbolic method, whose compiled kernel computes each common subexpression "
                     "once.").format(time=format_seconds(raw.median), ratio=f"{raw.median / tri['symbolic']:.0f}"))
    eager = poly["JAX eager vmap(grad)"].evaluation[0]
    if eager is not None:
        out.append(_("The lab's automatic route (eager vmap(grad), float32) took {time}, {ratio}× tridiff's "
                     "automatic method (compiled, float64).").format(
            time=format_seconds(eager.median), ratio=f"{eager.median / tri['automatic']:.0f}"))
    grad = poly["np.gradient"].evaluation[0]
    if grad is not None:
        template = (_("Numeric differentiation is not inherently slow: tridiff's numeric method ({tridiff}) was "
                      "faster than np.gradient ({lab}) here, and far more accurate away from the samples' spacing.")
                    if tri["numeric"] < grad.median else
                    _("Numeric differentiation is not inherently slow: tridiff's numeric method ({tridiff}) was "
                      "slower than np.gradient ({lab}) here, but far more accurate away from the samples' spacing."))
        out.append(template.format(tridiff=format_seconds(tri["numeric"]), lab=format_seconds(grad.median)))
    setups = {m: poly[m].setup_seconds[0] for m in METHODS}
    out.append(_("Setup is paid once per function and method: {setups}.").format(
        setups=", ".join(f"{_(m)} {format_seconds(t)}" for m, t in setups.items())))
    sym = depth["symbolic"]
    first, last = sym.evaluation[0], sym.evaluation[-1]
    done = [t for t in depth["raw lambdify"].evaluation if t is not None]
    if first is not None and last is not None:
        values = dict(low=depth.values[0], high=depth.values[-1], first=format_seconds(first.median),
                      last=format_seconds(last.median))
        if len(done) >= 2:
            out.append(_("From depth {low} to {high} tridiff's symbolic evaluation went from {first} to {last}, while "
                         "the lab's lambdify went from {lab_first} to {lab_last}: that growth is the expression "
                         "swell.").format(lab_first=format_seconds(done[0].median),
                                          lab_last=format_seconds(done[-1].median), **values))
        else:
            out.append(_("From depth {low} to {high} tridiff's symbolic evaluation went from {first} to "
                         "{last}.").format(**values))
    wins, closest = [], []
    for name, sweep in sizes.items():
        best = min(sweep[m].evaluation[0].median for m in METHODS)
        ways = {way: sweep[way].evaluation[0] for way in ("raw lambdify", "np.gradient", "JAX eager vmap(grad)")}
        ways = {way: t.median for way, t in ways.items() if t is not None}
        for way, t in ways.items():
            if t < best:
                wins.append(_("{way} on {function} ({time} against tridiff's best {best})").format(
                    way=_(way), function=_(name), time=format_seconds(t), best=format_seconds(best)))
        if ways:
            way = min(ways, key=ways.get)
            closest.append(_("on {function} the lab's fastest, {way}, took {time} against {best}").format(
                function=_(name), way=_(way), time=format_seconds(ways[way]), best=format_seconds(best)))
    separator = _("; ")
    out.append(_("Where the lab's way wins here: {wins}. A plain lambdified formula does no checking: tridiff's "
                 "kernels also find where f' does not exist, and say why.").format(wins=separator.join(wins))
               if wins else
               _("The lab's ways were slower than tridiff's best method here: {closest}.").format(
                   closest=separator.join(closest)))
    return out


def _small_calls(repeat: int) -> str:
    """One call on 10 points, the lab's lambdify against tridiff: where fixed costs per call decide."""
    x = sp.Symbol("x")
    xs = np.linspace(-1.0, 1.0, 10)
    text = "exp(-2*x) + 3*sin(3*x)"
    lab = sp.lambdify(x, sp.diff(sp.sympify(text), x), "numpy")
    d = derivative(text)
    d(xs), d(xs)
    settle()  # the compiled kernel, as a warm call finds it
    t_lab = measure(lambda: lab(xs), repeat=max(repeat, 25)).median
    t_td = measure(lambda: d(xs), repeat=max(repeat, 25)).median
    template = (_("On small arrays fixed costs per call decide: on 10 points the lab's lambdify of "
                  "exp(-2x) + 3 sin(3x)' took {lab} a call, tridiff's symbolic derivative {tridiff}: the lab's way, "
                  "which checks nothing, is faster here.") if t_lab < t_td else
                _("On small arrays fixed costs per call decide: on 10 points the lab's lambdify of "
                  "exp(-2x) + 3 sin(3x)' took {lab} a call, tridiff's symbolic derivative {tridiff}: tridiff, which "
                  "also checks every point, is faster even here."))
    return template.format(lab=format_seconds(t_lab), tridiff=format_seconds(t_td))


#: The report's parts in order: each part's function, its title (the progress line's too), and the
#: seconds it takes on 2 cores (full, --quick), the progress line's estimate of the time left.
_PARTS = (
    (_functions, N_("1 - Functions in Python"), (2.0, 1.5)),
    (_symbolic, N_("2 - Symbolic differentiation"), (2.0, 1.5)),
    (_symbolic_limits, N_("2.3 - Limitations of symbolic differentiation: |x|"), (0.5, 0.5)),
    (_numeric, N_("3 - Numerical differentiation"), (3.0, 2.5)),
    (_automatic, N_("4 - Automatic differentiation"), (4.0, 3.0)),
    (_efficiency, N_("5 - Computational efficiency"), (30.0, 7.0)),
)


# -- helpers ------------------------------------------------------------------------------------

def _lab_error(call) -> str:
    """What the lab's way raises (its message's first line), or the value when it does not."""
    try:
        value = call()
    except Exception as err:  # noqa: BLE001 - showing what the lab's libraries raise is the point
        return f"{type(err).__name__}: {str(err).splitlines()[0]}"
    return _("no error: {value}").format(value=value)


def _plot(fn, title: str, methods=METHODS, x_range=(-5, 5)):
    return plot(fn, methods=methods, title=title, points=601, x_range=x_range)


def _figure(fig, alt: str) -> Block:
    """A matplotlib figure as a vector image (SVG) in the page, described by ``alt`` for a reader
    who cannot see it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg")
    return _image(buffer.getvalue(), "svg+xml", alt)


def _image(data: bytes, media: str, alt: str, css: str = "") -> Block:
    return Block("figure", alt=alt, media=media, data=base64.b64encode(data).decode("ascii"), css=css)


def _maths(latex: str) -> Markup:
    """LaTeX typeset at build time (as SVG), or the source as code where mathtext cannot set it."""
    svg = maths_svg(latex)
    if svg is None:
        return Markup("<code>{}</code>").format(latex)
    encoded = base64.b64encode(svg).decode("ascii")
    return Markup('<img class="maths" alt="{}" src="data:image/svg+xml;base64,{}">').format(latex, encoded)


def _steps(derivation) -> list[Block]:
    """A derivation as an ordered list: each step's rule, then the step typeset."""
    items = tuple(Markup(_("<strong>{rule}</strong>: {step}")).format(rule=step.rule,
                                                                     step=_maths(step.latex(derivation.variable)))
                  + (Markup(" <em>({})</em>").format(step.caveat) if step.caveat else "")
                  for step in derivation.steps)
    return [Block("items", items=items, tag="ol", css="steps"),
            _p(_("so f'(x) = {derivative}"), derivative=_maths(sp.latex(derivation.derivative)))]


@dataclass(frozen=True)
class _Graph:
    """td.graph's result as the report shows it."""

    graph: object

    def svg_figure(self) -> Block:
        return _image(self.graph.svg().encode("utf-8"), "svg+xml",
                      _("The computational graph of |x| + sin x cos x at x = 0.5: boxes for x, cos x, sin x, their "
                        "product, |x| and the sum, each labelled with its value, tangent and adjoint; arrows "
                        "labelled with the local partial derivatives"), css="diagram")

    def table_html(self) -> Block:
        return Block("html", text=Markup(self.graph._repr_html_()))  # escaped by Graph._repr_html_


def _beside_kink(x, lab):
    """|x|'s numeric derivative near the kink, with np.gradient's values on the lab's grid beside it."""
    fig = plot(function("abs(x)"), methods=("numeric",), x_range=(-0.6, 0.6), points=241,
               title=_("|x| near its kink: np.gradient (lab) against tridiff"))
    ax = fig.axes[0]
    near = np.abs(x) < 0.6
    ax.plot(x[near], lab[near], linestyle="none", marker="x", markersize=8, color="black", gid="np-gradient",
            label=_("np.gradient(|x|, x), the lab's grid: ±0.5 beside 0"))
    ax.legend(fontsize=9, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, frameon=False, borderaxespad=2.8)
    return fig


def _p(template: str, **values) -> Block:
    """A paragraph: ``template`` is markup written here (or its translation); ``values`` fill its
    ``{name}`` fields, escaped."""
    return Block("paragraph", text=Markup(template).format(**values))


def _heading(text: str) -> Block:
    return Block("heading", text=text)


def _code(text: str) -> Block:
    return Block("code", text=text)


def _table(header, rows) -> Block:
    return Block("table", header=tuple(header), rows=tuple(tuple(row) for row in rows))


def _number_text(v) -> str:
    """A number as the report shows it: 10 significant digits, NaN as 'NaN'."""
    v = float(v)
    return "NaN" if np.isnan(v) else f"{v:.10g}"


def _arr(a) -> str:
    return "[" + ", ".join(_number_text(v) for v in np.atleast_1d(a)) + "]"


def _page(report: Report, elapsed: float) -> str:
    import jax

    meta = _("tridiff {tridiff}, SymPy {sympy}, JAX {jax}, NumPy {numpy}; {python} on {system}; written {when} in "
             "{seconds} s").format(
        tridiff=__version__, sympy=sp.__version__, jax=jax.__version__, numpy=np.__version__,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        system=f"{platform.system()} {platform.machine()}", when=time.strftime("%Y-%m-%d %H:%M"),
        seconds=f"{elapsed:.1f}") + (" (--quick)" if report.quick else "")
    template = Environment(loader=PackageLoader("tridiff.apps", "templates"), autoescape=True,
                           trim_blocks=True, lstrip_blocks=True).get_template("lab.html")
    return template.render(
        lang=HTML_LANG[current_language()],
        title=_("Differentiation in Python: symbolic, numerical and automatic — rerun with tridiff"),
        meta=meta, sections=report.sections,
        intro=_("The lab compares SymPy, np.gradient and JAX, and finds where each fails or misleads. Here every "
                "example goes through tridiff, which differentiates one definition of f three ways and says "
                "plainly where a derivative does not exist."))
