"""Benchmark tridiff's numeric derivatives against numdifftools, scipy.differentiate, findiff and np.gradient.

One run, on one machine, 10^5 points of each function (the lab's nested polynomial and
exp(-2x) + 3 sin(3x)). For every tool: the median time of a call (``tridiff.studies.timing.measure``:
warm-up first, so compilation is not counted; tridiff's first call is reported apart), the
largest scaled error against the exact derivative (``tridiff.methods.reference.reference``: mpmath at 40
digits, on 2001 of the points), and the time as a multiple of tridiff's. DESIGN.md's targets, at
≤ 1e-10 relative error: ≥ 100× faster than numdifftools, ≥ 10× faster than scipy.differentiate.

Timings are printed, never asserted. A peer library that is not installed is skipped with a note.
Run ``python benchmarks/bench_numeric.py --help``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

import tridiff as td
from tridiff.compiler.runner import tier
from tridiff.methods.reference import reference, scaled_error
from tridiff.studies.catalog import BY_NAME, nested_polynomial
from tridiff.studies.timing import measure, once

N_POINTS = 10**5
REFERENCE_POINTS = 2001
REFERENCE_DIGITS = 40
TARGET_ERROR = 1e-10
#: tridiff's scheme for the comparison: Richardson-extrapolated central differences (accuracy 8).
#: It reaches 1e-10 on both functions with a margin; the default central stencil (accuracy 4) is
#: within a factor of 2 of it on the nested polynomial (measured: 6e-11).
BASELINE = ("richardson", 8)
TRIDIFF_SCHEMES = [("central", 4), ("central", 8), ("richardson", 6), ("richardson", 8), ("complex-step", None)]
SPEED_TARGETS = {"numdifftools": 100.0, "scipy.differentiate": 10.0}


def composed(x):
    """The lab's f(x) = exp(-2x) + 3 sin(3x)."""
    return np.exp(-2 * x) + 3 * np.sin(3 * x)


#: (name, NumPy callable, formula for the reference, interval). The nested polynomial is sampled on
#: the catalog's interval, where its 27 degrees stay within float64's comfortable range.
CASES = [
    ("nested polynomial", nested_polynomial, BY_NAME["nested_polynomial"].text, BY_NAME["nested_polynomial"].domain),
    ("exp(-2x) + 3 sin(3x)", composed, "exp(-2*x) + 3*sin(3*x)", (-5.0, 5.0)),
]


@dataclass
class Row:
    function: str
    tool: str
    settings: str
    points_timed: int
    median_ms: float  # per call on N_POINTS points (scaled from points_timed when fewer)
    q25_ms: float
    q75_ms: float
    repeats: int
    max_error: float  # max scaled error vs mpmath on the reference points it computed
    error_points: int
    ratio: float = float("nan")  # median / tridiff baseline median
    first_call_ms: float = float("nan")
    note: str = ""


def available(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def timed(fn: Callable[[], object], repeat: int, budget: float):
    with tier("jax"):  # steady state: tridiff's compiled kernels (its first call, in NumPy, is reported apart)
        t = measure(fn, repeat=repeat, warmup=1, budget=budget)
    return t.median * 1e3, t.q25 * 1e3, t.q75 * 1e3, t.repeat


def run_case(name, f, text, interval, args, out: list[Row]) -> None:
    x = np.linspace(*interval, N_POINTS)
    ref_idx = np.linspace(0, N_POINTS - 1, REFERENCE_POINTS).astype(int)
    ref = reference(text, x[ref_idx], digits=REFERENCE_DIGITS)  # the tests' oracle: mpmath, not tridiff
    repeat = 3 if args.quick else 11
    budget = 5.0 if args.quick else 20.0

    def row(tool, settings, timing, values, note="", points=N_POINTS, first=float("nan")) -> Row:
        med, q25, q75, rep = timing
        scale = N_POINTS / points
        err = scaled_error(np.asarray(values, dtype=float), ref)
        out.append(Row(name, tool, settings, points, med * scale, q25 * scale, q75 * scale, rep, err,
                       len(ref), first_call_ms=first, note=note))
        return out[-1]

    # tridiff: the same NumPy callable, traced once into a formula.
    ours = {}
    for scheme, accuracy in TRIDIFF_SCHEMES:
        fresh = td.function(f)
        first, d = once(lambda: _first_call(fresh, scheme, accuracy, x))
        label = scheme if scheme == "complex-step" else f"{scheme}, accuracy {accuracy}"
        note = "baseline" if (scheme, accuracy) == BASELINE else ""
        ours[scheme, accuracy] = row("tridiff", label, timed(lambda: d(x), repeat, budget), d(x)[ref_idx], note,
                                     first=first * 1e3)

    nd = available("numdifftools")
    if nd is None:
        print("numdifftools: not installed (pip install numdifftools)")
    else:
        # Vectorised over x, but slow: with --quick it is timed on 10^4 points and scaled per point.
        n_nd = 10**4 if args.quick else N_POINTS
        xs_nd = x[:: N_POINTS // n_nd][:n_nd] if n_nd < N_POINTS else x
        note = f"timed on {n_nd} points, scaled ×{N_POINTS // n_nd}" if n_nd < N_POINTS else ""
        for method, settings in ((None, "Derivative(f), defaults (central, Richardson)"),
                                 ("complex", "Derivative(f, method='complex')")):
            der = nd.Derivative(f) if method is None else nd.Derivative(f, method=method)
            timing = timed(lambda: der(xs_nd), 1 if args.quick else 3, budget)
            row("numdifftools", settings, timing, der(x[ref_idx]), note, points=n_nd)

    scipy_diff = available("scipy.differentiate")
    if scipy_diff is None:
        print("scipy.differentiate: not installed (scipy >= 1.15 needed)")
    else:
        for tol, settings in ((None, "derivative(f, x), defaults (order 8, rtol √eps)"),
                              (dict(rtol=1e-10), "derivative(f, x, tolerances=dict(rtol=1e-10))")):
            res = scipy_diff.derivative(f, x, tolerances=tol)
            failed = int(np.count_nonzero(res.status != 0))
            timing = timed(lambda: scipy_diff.derivative(f, x, tolerances=tol), repeat, budget)
            note = f"status != 0 (not converged) at {failed} points" if failed else ""
            row("scipy.differentiate", settings, timing, res.df[ref_idx], note)

    findiff = available("findiff")
    if findiff is None:
        print("findiff: not installed (pip install findiff)")
    else:
        dx = x[1] - x[0]
        for acc in (4, 8):
            op = findiff.Diff(0, dx, acc=acc)
            row("findiff", f"Diff(0, dx, acc={acc})(f(x)) on the grid", timed(lambda: op(f(x)), repeat, budget),
                op(f(x))[ref_idx], "samples on the grid: step fixed at dx")

    row("np.gradient", "np.gradient(f(x), x, edge_order=2)",
        timed(lambda: np.gradient(f(x), x, edge_order=2), repeat, budget),
        np.gradient(f(x), x, edge_order=2)[ref_idx], "second order: cannot reach 1e-10")

    for r in out:
        if r.function == name:
            r.ratio = r.median_ms / ours[BASELINE].median_ms


def _first_call(fn, scheme, accuracy, x):
    d = td.derivative(fn, method="numeric", scheme=scheme, accuracy=accuracy)
    d(x)
    return d


def print_table(rows: list[Row]) -> None:
    headers = ["function", "tool", "settings", "median ms", "IQR ms", "× tridiff", "max error", f"≤{TARGET_ERROR:.0e}", "note"]
    body = []
    for r in rows:
        body.append([r.function, r.tool, r.settings, f"{r.median_ms:.3g}", f"{r.q75_ms - r.q25_ms:.2g}",
                     f"{r.ratio:.3g}", f"{r.max_error:.1e}", "yes" if r.max_error <= TARGET_ERROR else "no",
                     "; ".join(filter(None, [r.note, f"first call {r.first_call_ms:.0f} ms"
                                             if np.isfinite(r.first_call_ms) else ""]))])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    print(line(headers))
    print(line(["-" * w for w in widths]))
    previous = None
    for b in body:
        if previous is not None and b[0] != previous:
            print()
        previous = b[0]
        print(line(b))


def targets(rows: list[Row]) -> list[dict]:
    """The speed targets against each peer's fastest setting that reaches 1e-10 (or its best)."""
    verdicts = []
    for function in dict.fromkeys(r.function for r in rows):
        # tridiff's fastest scheme that reaches 1e-10, as for each peer.
        ours = [r for r in rows if r.function == function and r.tool == "tridiff"]
        base = min([r for r in ours if r.max_error <= TARGET_ERROR] or ours, key=lambda r: r.median_ms)
        for tool, factor in SPEED_TARGETS.items():
            mine = [r for r in rows if r.function == function and r.tool == tool]
            if not mine:
                continue
            accurate = [r for r in mine if r.max_error <= TARGET_ERROR]
            peer = min(accurate or mine, key=lambda r: r.median_ms)
            speedup = peer.median_ms / base.median_ms
            verdicts.append({
                "function": function, "peer": tool, "peer_settings": peer.settings, "speedup": speedup,
                "tridiff_settings": base.settings, "target": factor, "peer_error": peer.max_error,
                "tridiff_error": base.max_error,
                "met": bool(speedup >= factor and base.max_error <= max(peer.max_error, TARGET_ERROR)),
            })
    return verdicts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats; numdifftools timed on 10^4 points")
    parser.add_argument("--json", metavar="PATH", help="also write every figure as JSON")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    versions = {"python": platform.python_version(), "numpy": np.__version__, "tridiff": td.__version__}
    for module in ("jax", "scipy", "numdifftools", "findiff"):
        mod = available(module)
        versions[module] = getattr(mod, "__version__", "?") if mod else "not installed"
    print("bench_numeric:", ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, {N_POINTS} points per function, "
          f"errors vs mpmath ({REFERENCE_DIGITS} digits) at {REFERENCE_POINTS} of them, "
          f"tridiff baseline {BASELINE[0]} accuracy {BASELINE[1]}{', --quick' if args.quick else ''}\n")

    rows: list[Row] = []
    for case in CASES:
        run_case(*case, args, rows)
    print_table(rows)
    print("\nmax error: max |d - exact| / (|exact| + 1% of max |exact|) (tridiff.methods.reference.scaled_error); "
          "× tridiff: median time ÷ tridiff's baseline median.")
    verdicts = targets(rows)
    print("\ntargets (against each peer's fastest setting that reaches 1e-10, or its fastest if none does):")
    for v in verdicts:
        print(f"  {v['function']}: tridiff [{v['tridiff_settings']}] {v['speedup']:.0f}× faster than {v['peer']} [{v['peer_settings']}] "
              f"(target ≥ {v['target']:.0f}×; errors tridiff {v['tridiff_error']:.1e}, peer {v['peer_error']:.1e}): "
              f"{'met' if v['met'] else 'NOT met'}")
    print(f"\nload {os.getloadavg()[0]:.2f}; total {time.perf_counter() - start:.1f} s")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"meta": {**versions, "points": N_POINTS, "baseline": list(BASELINE),
                                "load": os.getloadavg()[0], "quick": args.quick},
                       "rows": [asdict(r) for r in rows], "targets": verdicts}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
