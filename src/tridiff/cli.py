"""The ``tridiff`` command: a thin layer over the public API (click for parsing, rich for tables)."""

from __future__ import annotations

import json
import math
import sys

import click
import numpy as np

from .derivative import METHODS, derivative
from .errors import TridiffError
from .function import function


class _Command(click.Group):
    """Turns a TridiffError into one line on stderr and exit status 2, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TridiffError as err:
            click.echo(f"tridiff: error: {err}", err=True)
            sys.exit(2)


@click.group(cls=_Command, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tridiff")
def main():
    """Differentiate a function three ways — symbolic, automatic, numeric — from one definition."""


def _points(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise TridiffError(f"--at takes numbers separated by commas, got {text!r}") from None
    if not values:
        raise TridiffError("--at needs at least one number")
    return values


def _json_number(v: float):
    return None if not math.isfinite(v) else v


@main.command("diff")
@click.argument("expr")
@click.option("--at", "at", default="-1,0,1,2", show_default=True, help="Points, separated by commas.")
@click.option("--method", type=click.Choice(("all",) + METHODS), default="all", show_default=True)
@click.option("--order", type=int, default=1, show_default=True, help="Order of the derivative.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def diff_command(expr, at, method, order, as_json):
    """The derivative of EXPR (e.g. 'abs(x) + sin(x)*cos(x)') and its values at points."""
    f = function(expr)
    xs = np.array(_points(at))
    methods = METHODS if method == "all" else (method,)
    results = {m: derivative(f, method=m, order=order).evaluate(xs) for m in methods}
    first = results[methods[0]]
    shown = derivative(f, method="symbolic", order=order).expr if f.expr is not None else None
    if as_json:
        click.echo(json.dumps({
            "function": str(f),
            "derivative": None if shown is None else str(shown),
            "points": xs.tolist(),
            "methods": {m: [_json_number(v) for v in r.values.tolist()] for m, r in results.items()},
            "undefined": xs[first.undefined].tolist(),
        }))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"f(x)  = {f}")
    if shown is not None:
        console.print(f"f{chr(39) * order if order <= 3 else f'^({order})'}(x) = {shown}")
    table = Table(show_header=True, header_style="bold")
    table.add_column("x", justify="right")
    for m in methods:
        table.add_column(m, justify="right")
    table.add_column("where undefined: why")
    for i, x in enumerate(xs):
        row = [f"{x:g}"] + [_format(results[m].values[i]) for m in methods]
        table.add_row(*row, first.reasons[i])
    console.print(table)


def _format(v: float) -> str:
    return "undefined" if np.isnan(v) else f"{v:.15g}"


@main.command("lab")
def lab_command():
    """Rerun the lab's examples through tridiff and print what each method says."""
    from .lab import run

    run()


if __name__ == "__main__":
    main()
