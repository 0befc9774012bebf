"""``tridiff lab``: the lab "Differentiation in Python: Symbolic, Numerical and Automatic", rerun.

Each of the lab's functions goes through all three methods; the places where the lab's libraries
fail or mislead (|x|'s derivative, ints, arrays, np.gradient beside a kink, expression swell) are
shown next to what tridiff does; and the speed comparison is measured here, setup apart from
evaluation, as medians of repeats.
"""

from __future__ import annotations

import time

import numpy as np

from .catalog import EXAMPLES, nested_polynomial
from .derivative import METHODS, derivative
from .function import function

POINTS = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0])


def _median_ms(fn, repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def speed(n: int = 10**6, repeat: int = 15) -> list[tuple[str, str, float, float]]:
    """(function, method, setup ms, evaluation ms median) for x**2 and the nested polynomial."""
    x = np.linspace(-5, 5, n)
    rows = [("x.copy()", "reference", 0.0, _median_ms(x.copy, repeat))]
    for name, source in (("x**2", lambda x: x**2), ("nested polynomial", nested_polynomial)):
        for method in METHODS:
            start = time.perf_counter()
            d = derivative(function(source), method=method)
            d(x)
            setup = 1000 * (time.perf_counter() - start)
            rows.append((name, method, setup, _median_ms(lambda: d(x), repeat)))
    return rows


def run(console=None) -> None:
    """Print the lab, rerun, to the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    console.rule("tridiff lab: the lab's functions, three methods each")
    table = Table("f(x)", "f'(x) symbolic", *[f"x={x:g}: sym / auto / num" for x in POINTS[:3]], "undefined at")
    for ex in (e for e in EXAMPLES if e.lab and e.name != "nested_polynomial"):
        f = function(ex.text)
        results = {m: derivative(f, method=m).evaluate(POINTS) for m in METHODS}
        cells = [" / ".join(_fmt(results[m].values[i]) for m in METHODS) for i in range(3)]
        undefined = ", ".join(f"{x:g}" for x in POINTS[results["symbolic"].undefined]) or "-"
        table.add_row(ex.text, str(derivative(f).expr), *cells, undefined)
    console.print(table)

    console.rule("speed on 10^6 points (setup = derive + compile + first call)")
    timing = Table("function", "method", "setup ms", "evaluation ms (median)")
    for name, method, setup, evaluation in speed():
        timing.add_row(name, method, f"{setup:.1f}", f"{evaluation:.2f}")
    console.print(timing)


def _fmt(v: float) -> str:
    return "NaN" if np.isnan(v) else f"{v:.6g}"
