"""The ``tridiff`` command: a thin layer over the public API (click parses, rich prints).

A user error (a bad formula, range or method) prints one line, ``tridiff: error: …``, on stderr
and exits with status 2; there is never a traceback for it. Each command imports what it needs
when it runs, so that ``tridiff --help`` does not wait for JAX.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
import numpy as np

from ..definition.points import json_number
from ..errors import TridiffError
from ..methods.options import METHODS, check_methods, prime
from ..translation import LANGUAGES

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=_CONTEXT)
@click.version_option(package_name="tridiff")
def cli():
    """Differentiate a function three ways — symbolic, automatic, numeric — from one definition.

    EXPR is a formula in x such as 'exp(-2*x) + 3*sin(3*x)' or 'abs(x) + sin(x)*cos(x)'
    (quote it for the shell). Start with `tridiff lab`.
    """


def main(argv=None) -> None:
    """Entry point: run the command; a user error becomes one line on stderr and exit status 2."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        # no command at all is a request for the help (click would make it an error of many lines)
        cli.main(args=args or ["--help"], prog_name="tridiff", standalone_mode=False)
    except click.exceptions.Exit as done:
        sys.exit(done.exit_code)
    except click.Abort:
        click.echo("tridiff: aborted", err=True)
        sys.exit(130)
    except (click.ClickException, TridiffError, OSError) as err:
        message = err.format_message() if isinstance(err, click.ClickException) else str(err)
        click.echo(f"tridiff: error: {message}", err=True)
        sys.exit(2)


def _points(text: str) -> np.ndarray:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise TridiffError(f"--at takes numbers separated by commas, got {text!r}") from None
    if not values:
        raise TridiffError("--at needs at least one number")
    return np.array(values)


def _range(a: float, b: float) -> tuple[float, float]:
    if not (math.isfinite(a) and math.isfinite(b) and a < b):
        raise TridiffError(f"--range needs two finite numbers A < B, got {a:g} {b:g}")
    return a, b


def _method_list(text: str) -> tuple[str, ...]:
    return check_methods([m.strip() for m in text.split(",") if m.strip()], "--methods")


def _console():
    from rich.console import Console

    return Console()


def _rows(text: str | None, names: tuple[str, ...]) -> np.ndarray:
    """--at for a function of several variables: its numbers taken n at a time, one point each."""
    n = len(names)
    if text is None:
        raise TridiffError(f"f has {n} variables ({', '.join(names)}): give points with --at, {n} numbers each "
                           f"(--at {','.join(['1'] * n)})")
    values = _points(text)
    if values.size % n:
        raise TridiffError(f"--at has {values.size} numbers, not a whole number of points of {n} coordinates "
                           f"({', '.join(names)})")
    return values.reshape(-1, n)


@cli.command("diff")
@click.argument("expr")
@click.option("--at", "at", default=None, help="Points, separated by commas (one variable: default -1,0,1,2; "
              "several: their coordinates in turn, x,y,x,y,…).")
@click.option("--wrt", default=None, help="For f of several variables: the variable of a partial derivative.")
@click.option("--method", type=click.Choice(("all",) + METHODS), default="all", show_default=True)
@click.option("--order", type=click.IntRange(1, 4), default=1, show_default=True, help="Order of the derivative.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def diff_command(expr, at, wrt, method, order, as_json):
    """The derivative of EXPR and its values at points, by every method, with undefined points."""
    from ..definition.function import function

    f = function(expr)
    if len(f.variables) > 1 or wrt is not None:
        if wrt is None:
            raise TridiffError(f"f has variables ({', '.join(f.names)}): pass --wrt NAME for a partial derivative, "
                               "or use `tridiff grad` for the gradient")
        _partial(f, wrt, _rows(at, f.names), method, order, as_json)
        return
    _derivative(f, _points(at or "-1,0,1,2"), method, order, as_json)


def _derivative(f, xs: np.ndarray, method: str, order: int, as_json: bool) -> None:
    import sympy as sp

    from ..methods.derivative import derivative

    derivatives = {m: derivative(f, method=m, order=order) for m in (METHODS if method == "all" else (method,))}
    results = {m: d.evaluate(xs) for m, d in derivatives.items()}
    first = next(iter(results.values()))
    formula = next(iter(derivatives.values())).expr  # f^(n)'s formula, whichever method computes it
    if as_json:
        click.echo(json.dumps({
            "function": str(f),
            "derivative": str(formula),
            "points": [json_number(v) for v in xs],
            "methods": {m: [json_number(v) for v in r.values] for m, r in results.items()},
            "undefined": [json_number(v) for v in xs[first.undefined]],
        }))
        return
    from rich.table import Table

    console = _console()
    var = f.symbol.name
    name = f"{prime(order)}({var})"
    # formulas are printed as they are: rich would read [ ] in them as markup
    console.print(f"f({var}) = {f}", markup=False)
    console.print(f"{name} =\n{sp.pretty(formula, use_unicode=True)}", markup=False)
    console.print(f"LaTeX: {sp.latex(formula)}", markup=False)
    table = Table(title=name, show_header=True, header_style="bold")
    table.add_column(var, justify="right")
    for m in results:
        table.add_column(m, justify="right")
    table.add_column("undefined: why")
    for i, x in enumerate(xs):
        table.add_row(f"{x:g}", *[_format(r.values[i]) for r in results.values()], first.reasons[i])
    console.print(table)


def _partial(f, wrt: str, points: np.ndarray, method: str, order: int, as_json: bool) -> None:
    from ..methods.derivative import derivative

    methods = METHODS if method == "all" else (method,)
    results = {m: derivative(f, method=m, order=order, wrt=wrt).evaluate(points) for m in methods}
    formula = derivative(f, method="symbolic", wrt=wrt).expr if "symbolic" in methods else None
    _several(f, f"∂f/∂{wrt}", formula, points, results, as_json, lambda v: _format(float(v)))


@cli.command("grad")
@click.argument("expr")
@click.option("--at", "at", default=None, help="Points: their coordinates in turn, separated by commas (x,y,x,y,…).")
@click.option("--method", type=click.Choice(("all",) + METHODS), default="all", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def grad_command(expr, at, method, as_json):
    """The gradient of EXPR, a formula in several variables, at points, by every method."""
    from ..definition.function import function
    from ..methods.gradients import gradient

    f = function(expr)
    points = _rows(at, f.names)
    methods = METHODS if method == "all" else (method,)
    results = {m: gradient(f, m).evaluate(points) for m in methods}
    formula = gradient(f, "symbolic").expr.T if "symbolic" in methods else None
    _several(f, "∇f", formula, points, results, as_json, lambda g: "(" + ", ".join(_format(v) for v in g) + ")")


@cli.command("steps")
@click.argument("expr")
@click.option("--wrt", default=None, help="For a formula in several variables: the partial derivative along this one.")
@click.option("--latex", "as_latex", is_flag=True, help="Print the derivation as LaTeX (an aligned block).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the steps, each with its rule.")
def steps_command(expr, wrt, as_latex, as_json):
    """The symbolic derivative of EXPR step by step: each step one rule (sum, product, chain…),
    and where a rule does not hold (a kink, a domain edge, a pole)."""
    from ..studies.derivation import steps

    derivation = steps(expr, wrt=wrt)
    if as_json:
        click.echo(json.dumps(derivation.to_dict(), ensure_ascii=False))
    else:
        click.echo(derivation.latex if as_latex else str(derivation))


@cli.command("graph")
@click.argument("expr")
@click.option("--at", "at", required=True, help="The point: one number per variable, separated by commas.")
@click.option("-o", "--output", default=None, help="Also draw the graph (Graphviz) into this .svg file.")
def graph_command(expr, at, output):
    """EXPR as its computational graph at a point: each operation's value, its forward-mode tangent
    (dual number) and reverse-mode adjoint."""
    from ..studies.graph import graph

    if output is not None and not output.endswith(".svg"):
        raise TridiffError(f"-o takes a .svg file, got {output!r}")
    g = graph(expr, _points(at))
    if output is not None:
        Path(output).write_text(g.svg(), encoding="utf-8")
    click.echo(str(g) + (f"\ndiagram written to {output}" if output else ""))


def _several(f, name: str, formula, points: np.ndarray, results: dict, as_json: bool, shown) -> None:
    """A derivative of f of several variables at points, by each method: a table, or one JSON object."""
    first = next(iter(results.values()))
    if as_json:
        click.echo(json.dumps({
            "function": str(f),
            "variables": list(f.names),
            "derivative": None if formula is None else str(formula),
            "points": [[json_number(v) for v in p] for p in points],
            "methods": {m: np.vectorize(json_number, otypes=[object])(r.values).tolist() for m, r in results.items()},
            "undefined": [[json_number(v) for v in p] for p in points[first.undefined]],
        }))
        return
    import sympy as sp
    from rich.table import Table

    console = _console()
    console.print(f"f({', '.join(f.names)}) = {f}", markup=False)
    if formula is not None:
        console.print(f"{name} =\n{sp.pretty(formula, use_unicode=True)}", markup=False)
        console.print(f"LaTeX: {sp.latex(formula)}", markup=False)
    table = Table(title=name, show_header=True, header_style="bold")
    table.add_column("(" + ", ".join(f.names) + ")", justify="right")
    for m in results:
        table.add_column(m, justify="right")
    table.add_column("undefined: why")
    for i, p in enumerate(points):
        table.add_row("(" + ", ".join(f"{v:g}" for v in p) + ")", *[shown(r.values[i]) for r in results.values()],
                      first.reasons[i])
    console.print(table)


def _format(v: float) -> str:
    return "undefined" if np.isnan(v) else f"{v:.15g}"


@cli.command("plot")
@click.argument("expr")
@click.option("-o", "--output", default="tridiff-plot.png", show_default=True, help="A .png, .svg or .pdf file.")
@click.option("--range", "x_range", nargs=2, type=float, default=(-5.0, 5.0), show_default=True, metavar="A B")
@click.option("--methods", default=",".join(METHODS), show_default=True, help="Methods, separated by commas.")
@click.option("--order", type=click.IntRange(1, 4), default=1, show_default=True)
@click.option("--errors", is_flag=True, help="Add a panel with each method's error against mpmath.")
def plot_command(expr, output, x_range, methods, order, errors):
    """Plot EXPR and its derivative by each method, kinks marked."""
    from ..definition.function import function
    from ..views.plot import plot

    path = Path(output)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise TridiffError(f"-o must end in .png, .svg or .pdf, got {output!r}")
    fig = plot(function(expr), methods=_method_list(methods), x_range=_range(*x_range), order=order,
               error_panel=errors)
    fig.savefig(path, dpi=120)
    click.echo(f"wrote {path}")


@cli.command("compare")
@click.argument("expr")
@click.option("--points", type=click.IntRange(1, 10**8), default=10**5, show_default=True)
@click.option("--range", "x_range", nargs=2, type=float, default=(-5.0, 5.0), show_default=True, metavar="A B")
@click.option("--order", type=click.IntRange(1, 4), default=1, show_default=True)
@click.option("--repeat", type=click.IntRange(1, 1000), default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare_command(expr, points, x_range, order, repeat, as_json):
    """Compare the methods on EXPR: accuracy against mpmath, setup and evaluation time, undefined points."""
    from ..definition.function import function
    from ..studies.compare import compare

    a, b = _range(*x_range)
    result = compare(function(expr), np.linspace(a, b, points), order=order, repeat=repeat)
    click.echo(result.to_json() if as_json else result.table())


@cli.command("bench")
@click.option("--quick", is_flag=True, help="Smaller sweeps, fewer repeats (about 10 s on 2 cores).")
@click.option("--out", type=click.Path(file_okay=False), default=None, help="Also save the plots here.")
def bench_command(quick, out):
    """Sweeps: evaluation time vs number of points, and vs expression size (the lab's swell); then
    the everyday figures: a new array size, a small call, start-up."""
    from ..studies.everyday import everyday
    from ..studies.sweeps import sweep_depth, sweep_sizes
    from .progress import stepwise

    if out:
        Path(out).mkdir(parents=True, exist_ok=True)  # fail now, not after the sweeps have run
    steps = [("time against the number of points", 2.0 if quick else 60.0),
             ("time against the nesting depth", 1.5 if quick else 40.0),
             ("everyday figures", 5.5 if quick else 30.0)]
    with stepwise(steps) as begin:
        begin(0)
        sweeps = {"sizes": sweep_sizes(quick=quick, progress=False)}
        begin(1)
        sweeps["depth"] = sweep_depth(quick=quick, progress=False)
        begin(2)
        figures = everyday(quick=quick)
    for name, sweep in sweeps.items():
        click.echo(sweep.table())
        if out:
            sweep.plot().savefig(Path(out) / f"sweep_{name}.png", dpi=110)
    click.echo(figures.table())
    if out:
        click.echo(f"plots in {out}")


@cli.command("lab")
@click.option("--out", type=click.Path(file_okay=False), default="tridiff-report", show_default=True,
              help="Folder for the report (index.html).")
@click.option("--quick", is_flag=True, help="Fewer points and repeats (for a fast look).")
@click.option("--lang", type=click.Choice(LANGUAGES), default="en", show_default=True,
              help="The report's language: en (English) or zh (简体中文; its figures need a CJK font: Noto CJK).")
def lab_command(out, quick, lang):
    """Rerun the lab "Differentiation in Python" with tridiff and write a self-contained HTML report."""
    from .lab import run

    run(out, quick=quick, lang=lang, console=_console())


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (the default serves this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")
def serve_command(host, port):
    """The explorer: a local web page to try any function, by every method (needs tridiff[serve])."""
    try:
        from .explorer import serve
    except ModuleNotFoundError as err:
        raise TridiffError(f"the explorer needs {err.name}: pip install 'tridiff[serve]'") from None
    serve(host, port, echo=click.echo)


if __name__ == "__main__":
    main()
