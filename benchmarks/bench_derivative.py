"""Benchmark tridiff's derivatives against a copy of the input and against the lab's own way.

Everything is measured in one run on one machine and reported as a ratio to ``x.copy()`` of the
same 10^6 float64 points, so the figures travel between machines:

- steady state: ``d(x)`` for x**2 and the lab's nested polynomial by each method, beside the lab's
  raw SymPy ``lambdify`` (no cse), ``np.gradient(f(x), x)``, JAX eager ``vmap(grad(f))`` on float32
  and the same jitted in float64. All cases and the copy are timed in shuffled rounds, so noise
  from the machine falls on all of them alike; medians and quartiles are reported.
- cold first call: from ``td.derivative(td.function(nested_polynomial), method=m)`` to the first
  result of ``d(x)``, each sample in a fresh Python process (imports excluded).
- agreement: every method's values against the raw ``lambdify`` result.

Timings are printed, never asserted. Run ``python benchmarks/bench_derivative.py --help``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy

import tridiff as td
from tridiff.catalog import BY_NAME, nested_polynomial

N_POINTS = 10**6
METHODS = ("symbolic", "automatic", "numeric")
#: Targets from DESIGN.md: steady state as a multiple of x.copy(), cold first call in ms.
STEADY_TARGET = {"symbolic": 1.5, "automatic": 1.5, "numeric": 3.0}
COLD_TARGET_MS = 60.0
#: Agreement with the raw lambdify values (max relative difference).
AGREEMENT_TARGET = {"symbolic": 1e-12, "automatic": 1e-12, "numeric": 1e-8}


def square(x):
    """The lab's f(x) = x**2."""
    return x**2


class Finisher:
    """Wait for a tridiff result to be computed, counting the calls that returned before it was.

    tridiff hands back a NumPy view of JAX's output buffer (``compiling.to_numpy``). JAX dispatches
    asynchronously, so unless tridiff waits, that view can be returned while XLA is still writing
    it: the values read at once may be partly stale, and timing the call alone would time only the
    dispatch. The benchmark therefore times ``d(x)`` up to the moment its values are final, by
    blocking on the JAX array behind the view (a no-op once tridiff blocks by itself).
    """

    def __init__(self):
        self.calls = 0
        self.unfinished = 0

    def __call__(self, result):
        self.calls += 1
        owner = result
        while owner is not None:
            array = getattr(owner, "array", None)
            if isinstance(array, jax.Array):
                if not array.is_ready():
                    self.unfinished += 1
                array.block_until_ready()
                break
            owner = getattr(owner, "base", None)
        return result


@dataclass
class Case:
    """One thing to time: ``run()`` must return a finished (not asynchronous) result."""

    case: str
    method: str
    run: Callable[[], object]
    target: float | None = None  # a ratio to x.copy()
    note: str = ""
    samples: list[float] = field(default_factory=list)  # seconds
    repeats: int = 0
    finisher: Finisher | None = None


@dataclass
class Row:
    case: str
    method: str
    median_ms: float
    q25_ms: float
    q75_ms: float
    ratio: float | None
    target: str
    met: bool | None
    repeats: int
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)


# -- steady state ---------------------------------------------------------------------------------
def _jax_eager_f32(f, x):
    """The lab's line, as written there: eager vmap(grad(f)) on a float32 copy of x."""
    return lambda: jax.vmap(jax.grad(f))(jnp.array(x.astype("float32"))).block_until_ready()


def _jax_jit_f64(f, x):
    """vmap(grad(f)) jitted, float64 through jax.enable_x64 as a context manager (never global)."""
    with jax.enable_x64(True):
        jitted = jax.jit(jax.vmap(jax.grad(f)))

    def run():
        with jax.enable_x64(True):
            return np.asarray(jitted(x))

    return run


def _raw_lambdify(f):
    """The lab's symbolic way: lambdify(x, diff(f(x), x), 'numpy'), no common subexpressions."""
    s = sympy.Symbol("x")
    return sympy.lambdify(s, sympy.diff(f(s), s), "numpy")


def build_cases(x: np.ndarray) -> tuple[list[Case], dict[str, Callable[[], np.ndarray]]]:
    """The steady-state cases, and for the agreement check a way to get each one's values."""
    nested_text = BY_NAME["nested_polynomial"].text
    functions = [  # (case label, tridiff source, the lab's Python function)
        ("x**2", "x**2", square),
        ("nested poly (callable)", nested_polynomial, nested_polynomial),
        ("nested poly (text)", nested_text, None),
    ]
    cases, values = [], {}
    for label, source, lab_f in functions:
        for m in METHODS:
            d = td.derivative(td.function(source), method=m)
            fin = Finisher()
            cases.append(Case(label, f"tridiff {m}", lambda d=d, fin=fin: fin(d(x)), STEADY_TARGET[m], finisher=fin))
            values[f"{label} | tridiff {m}"] = lambda d=d: d(x)
        if lab_f is None:
            continue
        lam = _raw_lambdify(lab_f)
        eager, jitted = _jax_eager_f32(lab_f, x), _jax_jit_f64(lab_f, x)
        gradient = lambda f=lab_f: np.gradient(f(x), x)
        cases += [
            Case(label, "lab: sympy lambdify", lambda lam=lam: lam(x), note="no cse"),
            Case(label, "lab: np.gradient(f(x), x)", gradient, note="includes f(x)"),
            Case(label, "lab: jax eager vmap(grad) f32", eager, note="includes float32 conversion"),
            Case(label, "jax jit vmap(grad) f64", jitted, note="enable_x64 context"),
        ]
        values[f"{label} | lab: sympy lambdify"] = lambda lam=lam: np.asarray(lam(x), dtype=np.float64)
        values[f"{label} | lab: np.gradient(f(x), x)"] = gradient
        values[f"{label} | lab: jax eager vmap(grad) f32"] = lambda e=eager: np.asarray(e(), dtype=np.float64)
        values[f"{label} | jax jit vmap(grad) f64"] = jitted
    return cases, values


def time_interleaved(cases: list[Case], rounds: int, slow_budget_s: float, min_repeats: int, seed: int = 0):
    """Time every case in shuffled rounds (one call per case per round), the copy among them.

    Warm-up first (this also compiles every kernel). A case slower than ``slow_budget_s / rounds``
    per call takes part only in the first rounds, enough for ``slow_budget_s`` (at least
    ``min_repeats`` calls), so a 0.5 s call does not stretch the run.
    """
    for case in cases:
        t = time.perf_counter()
        case.run()
        first = time.perf_counter() - t
        if first < 0.05:
            case.run()
            case.run()
        else:
            t = time.perf_counter()
            case.run()
            first = time.perf_counter() - t
        case.repeats = int(min(rounds, max(min_repeats, slow_budget_s // max(first, 1e-9))))
    rng = random.Random(seed)
    gc.collect()
    gc.disable()
    try:
        for r in range(rounds):
            order = [c for c in cases if r < c.repeats]
            rng.shuffle(order)
            for case in order:
                t = time.perf_counter()
                case.run()
                case.samples.append(time.perf_counter() - t)
    finally:
        gc.enable()


def steady_rows(cases: list[Case], copy_case: Case) -> list[Row]:
    copy_median = float(np.median(copy_case.samples))
    rows = []
    for c in [copy_case] + cases:
        ms = np.asarray(c.samples) * 1e3
        med, q25, q75 = (float(v) for v in np.percentile(ms, [50, 25, 75]))
        ratio = med / (copy_median * 1e3)
        met = None if c.target is None else bool(ratio <= c.target)
        target = "" if c.target is None else f"<= {c.target:g}x"
        note = c.note
        if c.finisher is not None and c.finisher.unfinished:
            note = (f"d(x) returned before its values were computed in {c.finisher.unfinished} of "
                    f"{c.finisher.calls} calls (timed here up to completion)")
        rows.append(Row(c.case, c.method, med, q25, q75, ratio, target, met, len(ms), note, ms.round(5).tolist()))
    return rows


# -- cold first call, one fresh process per sample ------------------------------------------------
COLD_CHILD = r"""
import json, sys, time
import numpy as np, jax, jax.numpy as jnp, sympy
import tridiff as td
from tridiff.catalog import nested_polynomial
mode = sys.argv[1]
x = np.linspace(-5, 5, %d)
t0 = time.perf_counter()
if mode in ("symbolic", "automatic", "numeric"):
    d = td.derivative(td.function(nested_polynomial), method=mode)  # a fresh Function in a fresh process
    t1 = time.perf_counter()
    r = d(x)
elif mode == "lambdify":
    s = sympy.Symbol("x")
    expr = sympy.diff(nested_polynomial(s), s)
    t1 = time.perf_counter()
    r = sympy.lambdify(s, expr, "numpy")(x)
elif mode == "jax_eager_f32":
    t1 = t0
    r = jax.vmap(jax.grad(nested_polynomial))(jnp.array(x.astype("float32"))).block_until_ready()
elif mode == "jax_jit_f64":
    t1 = t0
    with jax.enable_x64(True):
        r = np.asarray(jax.jit(jax.vmap(jax.grad(nested_polynomial)))(x))
else:
    raise SystemExit("unknown mode " + mode)
owner = r  # wait for the values behind a NumPy view of a JAX buffer (see Finisher)
while owner is not None:
    if isinstance(getattr(owner, "array", None), jax.Array):
        owner.array.block_until_ready()
        break
    owner = getattr(owner, "base", None)
t2 = time.perf_counter()
ok = bool(np.isfinite(np.asarray(r)).all() and np.asarray(r).shape == x.shape)
print("RESULT " + json.dumps({"total": t2 - t0, "setup": t1 - t0, "first_call": t2 - t1, "ok": ok}))
""" % N_POINTS

COLD_MODES = [  # (mode, method label, target in ms, what "setup" is)
    ("symbolic", "tridiff symbolic", COLD_TARGET_MS, "td.function + td.derivative"),
    ("automatic", "tridiff automatic", COLD_TARGET_MS, "td.function + td.derivative"),
    ("numeric", "tridiff numeric", COLD_TARGET_MS, "td.function + td.derivative"),
    ("lambdify", "lab: sympy diff+lambdify", None, "sympy.diff"),
    ("jax_eager_f32", "lab: jax eager vmap(grad) f32", None, ""),
    ("jax_jit_f64", "jax jit vmap(grad) f64", None, ""),
]


def run_cold(runs: int, lab_runs: int) -> list[Row]:
    """Each sample in a fresh interpreter; the modes take turns so drift falls on all alike."""
    samples: dict[str, list[dict]] = {mode: [] for mode, *_ in COLD_MODES}
    for r in range(max(runs, lab_runs)):
        for mode, method, *_ in COLD_MODES:
            if r >= (runs if method.startswith("tridiff") else lab_runs):
                continue
            out = subprocess.run([sys.executable, "-c", COLD_CHILD, mode], capture_output=True, text=True,
                                 timeout=300)
            line = [s for s in out.stdout.splitlines() if s.startswith("RESULT ")]
            if out.returncode != 0 or not line:
                raise RuntimeError(f"cold run {mode!r} failed:\n{out.stderr[-3000:]}")
            samples[mode].append(json.loads(line[-1][len("RESULT "):]))
    rows = []
    for mode, method, target, setup_is in COLD_MODES:
        total = np.array([s["total"] for s in samples[mode]]) * 1e3
        setup = np.array([s["setup"] for s in samples[mode]]) * 1e3
        med, q25, q75 = (float(v) for v in np.percentile(total, [50, 25, 75]))
        note = f"setup ({setup_is}) {np.median(setup):.0f} ms, then first d(x) " \
               f"{np.median(total - setup):.0f} ms" if setup_is else ""
        if not all(s["ok"] for s in samples[mode]):
            note += " [NON-FINITE RESULT]"
        rows.append(Row("nested poly, cold", method, med, q25, q75, None,
                        "" if target is None else f"<= {target:g} ms",
                        None if target is None else bool(med <= target), len(total), note, total.round(2).tolist()))
    return rows


# -- agreement -------------------------------------------------------------------------------------
def _max_rel(v: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    both = np.isfinite(v) & np.isfinite(ref)
    scale = np.abs(ref[both])
    rel = np.abs(v[both] - ref[both]) / np.where(scale > 0, scale, 1.0)
    return (float(rel.max()), float(np.median(rel))) if rel.size else (float("nan"), float("nan"))


def agreement(values: dict[str, Callable[[], np.ndarray]]) -> list[dict]:
    """Max relative difference of every method from the raw lambdify values of the same function.

    tridiff's values are compared twice: as ``d(x)`` returned them (a copy taken at once) and once
    the computation behind them has finished (see :class:`Finisher`).
    """
    out = []
    for label in ("x**2", "nested poly (callable)", "nested poly (text)"):
        ref_label = "nested poly (callable)" if label == "nested poly (text)" else label
        ref = values[f"{ref_label} | lab: sympy lambdify"]()
        for key, get in values.items():
            case, method = key.split(" | ")
            if case != label or method == "lab: sympy lambdify":
                continue
            result = get()
            as_returned = np.array(result, dtype=np.float64, copy=True)
            v = np.asarray(Finisher()(result), dtype=np.float64)
            worst, median = _max_rel(v, ref)
            worst_returned = _max_rel(as_returned, ref)[0] if method.startswith("tridiff") else None
            name = method.removeprefix("tridiff ")
            target = AGREEMENT_TARGET.get(name) if method.startswith("tridiff") else None
            out.append({
                "case": label, "method": method, "max_rel_diff": worst, "median_rel_diff": median,
                "max_rel_diff_as_returned": worst_returned,
                "non_finite": int((~np.isfinite(v)).sum()), "target": target,
                "met": None if target is None else bool(worst <= target and worst_returned <= target),
            })
    return out


# -- printing --------------------------------------------------------------------------------------
def _fmt_ms(v: float) -> str:
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def _met(m: bool | None) -> str:
    return "" if m is None else "yes" if m else "NO"


def print_table(title: str, rows: list[Row]) -> None:
    header = ("case", "method", "n", "median ms", "spread (IQR) ms", "ratio to copy", "target", "met?")
    body = [(r.case, r.method, str(r.repeats), _fmt_ms(r.median_ms), f"{_fmt_ms(r.q25_ms)}-{_fmt_ms(r.q75_ms)}",
             "" if r.ratio is None else f"{r.ratio:.2f}x", r.target, _met(r.met)) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5}
    fmt = lambda cells: "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(f"\n{title}")
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    last = None
    for r, b in zip(rows, body):
        if last is not None and r.case != last:
            print()
        print(fmt(b).rstrip())
        last = r.case
    notes = [(r.case, r.method, r.note) for r in rows if r.note]
    if notes:
        print("notes: " + "\n       ".join(f"{c} / {m}: {n}" for c, m, n in notes))


def print_agreement(rows: list[dict]) -> None:
    print("\nAgreement with the raw sympy lambdify values on the same x (relative difference; "
          "'as returned' = d(x)'s array read at once, 'computed' = after waiting for it)")
    w = max(len(r["method"]) for r in rows)
    print(f"{'case':<24}{'method':<{w + 2}}{'max, as returned':>17}{'max, computed':>15}{'median':>10}"
          f"{'non-finite':>12}  target     met?")
    for r in rows:
        target = "" if r["target"] is None else f"<= {r['target']:.0e}"
        returned = "" if r["max_rel_diff_as_returned"] is None else f"{r['max_rel_diff_as_returned']:.2e}"
        print(f"{r['case']:<24}{r['method']:<{w + 2}}{returned:>17}{r['max_rel_diff']:>15.2e}"
              f"{r['median_rel_diff']:>10.1e}{r['non_finite']:>12}  {target:<9}  {_met(r['met'])}".rstrip())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and cold samples (~30 s)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure (and raw samples) as JSON")
    parser.add_argument("--rounds", type=int, help="steady-state rounds (default 41, --quick 11)")
    parser.add_argument("--cold-runs", type=int,
                        help="fresh processes per cold case (default 5; --quick: 3 for tridiff, 1 for the lab's way)")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold first-call measurements")
    args = parser.parse_args(argv)
    rounds = args.rounds or (11 if args.quick else 41)
    cold_runs = args.cold_runs or (3 if args.quick else 5)
    lab_cold_runs = args.cold_runs or (1 if args.quick else 5)  # the lab's own way is 5-20x off: 1 is enough to see it
    slow_budget, min_repeats = (1.0, 3) if args.quick else (5.0, 7)

    started = time.perf_counter()
    x = np.linspace(-5, 5, N_POINTS)
    print(f"tridiff {td.__version__} benchmark: {N_POINTS:,} float64 points, np.linspace(-5, 5)")
    print(f"python {platform.python_version()}, numpy {np.__version__}, jax {jax.__version__}, "
          f"sympy {sympy.__version__}; {os.cpu_count()} cpus, {platform.machine()}"
          + (f"; OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']}" if "OPENBLAS_CORETYPE" in os.environ else ""))
    print(f"x is {x.ctypes.data % 64} bytes past a 64-byte boundary; "
          f"steady state: up to {rounds} shuffled rounds; cold: {cold_runs} fresh processes per case")

    cases, values = build_cases(x)
    copy_case = Case("reference", "x.copy()", lambda: x.copy())
    time_interleaved([copy_case] + cases, rounds, slow_budget, min_repeats)
    rows = steady_rows(cases, copy_case)
    print_table(f"Steady state d(x) (median of up to {rounds} calls; ratio = median / median of x.copy())", rows)

    agree = agreement(values)
    print_agreement(agree)

    cold = [] if args.no_cold else run_cold(cold_runs, lab_cold_runs)
    if cold:
        print_table(f"Cold first call of the nested polynomial (derive + compile + evaluate; "
                    f"median of n fresh processes, imports excluded)", cold)

    elapsed = time.perf_counter() - started
    print(f"\ntotal benchmark time {elapsed:.0f} s")
    if args.json:
        report = {
            "meta": {"tridiff": td.__version__, "python": platform.python_version(), "numpy": np.__version__,
                     "jax": jax.__version__, "sympy": sympy.__version__, "cpus": os.cpu_count(),
                     "machine": platform.machine(), "points": N_POINTS, "rounds": rounds,
                     "cold_runs": cold_runs, "quick": args.quick, "elapsed_s": elapsed,
                     "x_misalignment_bytes": x.ctypes.data % 64,
                     "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE")},
            "copy_median_ms": rows[0].median_ms,
            "steady": [asdict(r) for r in rows],
            "agreement": agree,
            "cold": [asdict(r) for r in cold],
        }
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
