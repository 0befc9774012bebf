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
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from interleave import interleaved  # benchmarks/interleave.py, beside this script

import tridiff as td
from tridiff.compiler.runner import settle, tier
from tridiff.studies.catalog import BY_NAME, nested_polynomial
from tridiff.studies.timing import cache_bytecode

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


def abs_sin_cos(x):
    """The lab's f with a kink, |x| + sin x cos x, in whichever library x belongs to (SymPy for
    lambdify, jax.numpy under grad, NumPy for np.gradient)."""
    xp = sympy if isinstance(x, sympy.Basic) else np if isinstance(x, np.ndarray) else jnp
    return abs(x) + xp.sin(x) * xp.cos(x)


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
        ("abs(x) + sin(x)*cos(x)", "abs(x) + sin(x)*cos(x)", abs_sin_cos),  # a kink: against raw JAX, ≤ 1.3x
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
        eager, jitted = _jax_eager_f32(lab_f, x), _jax_jit_f64(lab_f, x)
        gradient = lambda f=lab_f: np.gradient(f(x), x)
        cases += [
            Case(label, "lab: np.gradient(f(x), x)", gradient),
            Case(label, "lab: jax eager vmap(grad) f32", eager),
            Case(label, "jax jit vmap(grad) f64", jitted),
        ]
        if lab_f is not abs_sin_cos:  # the lab's |x|' over a complex symbol is re(x)·Derivative(re(x)): no code
            lam = _raw_lambdify(lab_f)
            cases.append(Case(label, "lab: sympy lambdify", lambda lam=lam: lam(x)))
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
    # tridiff compiles a kernel for an array length it has met twice in the background (until then
    # chunks serve it: see bench_everyday.py): let those compiles finish, so the rounds time the
    # steady state
    settle()
    timings = interleaved([c.run for c in cases], rounds, [c.repeats for c in cases], seed)
    for case, samples in zip(cases, timings):
        case.samples = samples


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
from tridiff.studies.catalog import nested_polynomial
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
    cache_bytecode()
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
def _rel(v: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """|v - ref| / |ref| where both are finite (|v - ref| where ref is 0), else -1."""
    both = np.isfinite(v) & np.isfinite(ref)
    scale = np.abs(ref)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(both, np.abs(v - ref) / np.where(scale > 0, scale, 1.0), -1.0)


def condition_number(lab_f, x: np.ndarray) -> np.ndarray:
    """|x f''(x) / f'(x)|, at least 1: how much the rounding of x alone moves f'(x), relatively.

    Near a root of f' it is large, and there any float64 evaluation (the reference's too) can
    only be that many times 1e-16 accurate; dividing a relative difference by it leaves what is
    due to the method.
    """
    s = sympy.Symbol("x")
    d1 = sympy.diff(lab_f(s), s)
    d1_at, d2_at = (sympy.lambdify(s, e, "numpy", cse=True) for e in (d1, sympy.diff(d1, s)))
    with np.errstate(all="ignore"):
        kappa = np.abs(x * np.broadcast_to(d2_at(x), x.shape) / np.broadcast_to(d1_at(x), x.shape))
    return np.where(np.isfinite(kappa), np.maximum(kappa, 1.0), np.inf)


def exact_check(x: np.ndarray, at: int, lab_f, values: dict[str, np.ndarray]) -> dict:
    """The exact f'(x[at]) (SymPy, 50 digits) and everyone's relative error there."""
    s = sympy.Symbol("x")
    exact = float(sympy.diff(lab_f(s), s).subs(s, sympy.Float(float(x[at]), 50)).evalf(50))
    return {"x": float(x[at]), "exact": exact,
            "rel_error": {k: abs(float(v[at]) - exact) / abs(exact) for k, v in values.items()}}


def agreement(x: np.ndarray, values: dict[str, Callable[[], np.ndarray]]) -> tuple[list[dict], list[dict]]:
    """Relative difference of every method from the raw lambdify values of the same function.

    tridiff's values are compared twice: as ``d(x)`` returned them (a copy taken at once) and once
    the computation behind them has finished (see :class:`Finisher`). Near a root of f' every
    float64 evaluation loses digits, the reference's too, so the targets are checked on the
    difference divided by the condition number; and at the point where the symbolic method and
    the reference differ most, everyone is compared with the exact value.
    """
    out, exact = [], []
    functions = (("x**2", "x**2", square), ("nested poly (callable)", "nested poly (callable)", nested_polynomial),
                 ("nested poly (text)", "nested poly (callable)", nested_polynomial))
    for label, ref_label, lab_f in functions:
        ref = values[f"{ref_label} | lab: sympy lambdify"]()
        kappa = condition_number(lab_f, x)
        computed = {"lab: sympy lambdify": ref}
        for key, get in values.items():
            case, method = key.split(" | ")
            if case != label or method == "lab: sympy lambdify":
                continue
            result = get()
            as_returned = np.array(result, dtype=np.float64, copy=True)
            v = computed[method] = np.asarray(Finisher()(result), dtype=np.float64)
            rel = _rel(v, ref)
            at = int(np.argmax(rel))
            scaled = float(np.max(rel / kappa))
            ours = method.startswith("tridiff")
            returned = float(np.max(_rel(as_returned, ref) / kappa)) if ours else None
            target = AGREEMENT_TARGET[method.removeprefix("tridiff ")] if ours else None
            out.append({
                "case": label, "method": method,
                "max_rel_diff": float(rel[at]), "at_x": float(x[at]),
                "median_rel_diff": float(np.median(rel[rel >= 0])) if (rel >= 0).any() else float("nan"),
                "max_rel_diff_over_condition": scaled,
                "max_rel_diff_over_condition_as_returned": returned,
                "non_finite": int((~np.isfinite(v)).sum()), "target": target,
                "met": None if target is None else bool(scaled <= target and returned <= target),
            })
        if label != "x**2":  # where symbolic and lambdify differ most, who is right?
            worst_at = int(np.argmax(_rel(computed["tridiff symbolic"], ref)))
            exact.append({"case": label, **exact_check(x, worst_at, lab_f, computed)})
    return out, exact


# -- printing --------------------------------------------------------------------------------------
def _fmt_ms(v: float) -> str:
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def _met(m: bool | None) -> str:
    return "" if m is None else "yes" if m else "NO"


LEGEND = """\
  tridiff m       td.derivative(f, method=m)(x), timed until its values are computed (see Finisher)
  lab: ...        the lab's section 5 code: sympy lambdify(x, diff(f(x), x), 'numpy') without cse;
                  np.gradient(f(x), x) including f(x); jax eager vmap(grad(f)) on jnp.array(x.astype('float32'))
  jax jit ... f64 jax.jit(vmap(grad(f))) on x, float64 through jax.enable_x64 as a context manager"""


def print_table(title: str, rows: list[Row], legend: str = "") -> None:
    header = ("case", "method", "n", "median ms", "spread (IQR) ms", "ratio to copy", "target", "met?")
    body = [(r.case, r.method, str(r.repeats), _fmt_ms(r.median_ms), f"{_fmt_ms(r.q25_ms)}-{_fmt_ms(r.q75_ms)}",
             "" if r.ratio is None else f"{r.ratio:.2f}x", r.target, _met(r.met)) for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    right = {2, 3, 4, 5}
    fmt = lambda cells: "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(f"\n{title}")
    if legend:
        print(legend)
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


def print_agreement(rows: list[dict], exact: list[dict]) -> None:
    print("\nAgreement with the raw sympy lambdify values on the same x, relative difference |v - ref| / |ref|.\n"
          "  '/cond' = divided by the condition number max(1, |x f''/f'|) (large near roots of f'); targets are\n"
          "  checked on it, for the values once computed and for d(x)'s array read at once ('as returned')")
    w = max(len(r["method"]) for r in rows)
    print(f"{'case':<24}{'method':<{w + 2}}{'max':>10}{'at x':>11}{'median':>10}{'max/cond':>10}"
          f"{'as returned':>13}{'non-finite':>12}  target     met?")
    for r in rows:
        target = "" if r["target"] is None else f"<= {r['target']:.0e}"
        returned = r["max_rel_diff_over_condition_as_returned"]
        returned = "" if returned is None else f"{returned:.2e}"
        print(f"{r['case']:<24}{r['method']:<{w + 2}}{r['max_rel_diff']:>10.2e}{r['at_x']:>11.5f}"
              f"{r['median_rel_diff']:>10.1e}{r['max_rel_diff_over_condition']:>10.1e}{returned:>13}"
              f"{r['non_finite']:>12}  {target:<9}  {_met(r['met'])}".rstrip())
    for e in exact:
        errs = ", ".join(f"{k.removeprefix('tridiff ')} {v:.1e}" for k, v in e["rel_error"].items())
        print(f"{e['case']}: at x = {e['x']:.9f}, exact f' = {e['exact']:.12e} (SymPy, 50 digits);\n"
              f"  relative error there: {errs}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats and cold samples (~25 s)")
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
    load = os.getloadavg()
    print(f"load average at start {load[0]:.2f} (1 min) on {os.cpu_count()} cpus: other work on the machine "
          "inflates multithreaded XLA kernels more than the single-threaded copy")
    print(f"x is {x.ctypes.data % 64} bytes past a 64-byte boundary; "
          f"steady state: up to {rounds} shuffled rounds; cold: {cold_runs} fresh processes per tridiff case, "
          f"{lab_cold_runs} per lab case")

    cases, values = build_cases(x)
    copy_case = Case("reference", "x.copy()", lambda: x.copy())
    with tier("jax"):  # steady state: the compiled kernels (a first call runs in NumPy: see the cold rows)
        time_interleaved([copy_case] + cases, rounds, slow_budget, min_repeats)
    rows = steady_rows(cases, copy_case)
    print_table("Steady state on x (median of n calls in shuffled rounds; ratio = median / median of x.copy())",
                rows, LEGEND)

    agree, exact = agreement(x, values)
    print_agreement(agree, exact)

    cold = [] if args.no_cold else run_cold(cold_runs, lab_cold_runs)
    if cold:
        print_table("Cold first call of the nested polynomial (derive + compile + evaluate; "
                    "median of n fresh processes, imports excluded)", cold)

    elapsed = time.perf_counter() - started
    print(f"\ntotal benchmark time {elapsed:.0f} s; load average at end {os.getloadavg()[0]:.2f} (1 min)")
    if args.json:
        report = {
            "meta": {"tridiff": td.__version__, "python": platform.python_version(), "numpy": np.__version__,
                     "jax": jax.__version__, "sympy": sympy.__version__, "cpus": os.cpu_count(),
                     "machine": platform.machine(), "points": N_POINTS, "rounds": rounds,
                     "cold_runs": cold_runs, "lab_cold_runs": lab_cold_runs, "quick": args.quick, "elapsed_s": elapsed,
                     "x_misalignment_bytes": x.ctypes.data % 64,
                     "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
                     "loadavg_start": load, "loadavg_end": os.getloadavg()},
            "copy_median_ms": rows[0].median_ms,
            "steady": [asdict(r) for r in rows],
            "agreement": agree,
            "exact_at_worst_point": exact,
            "cold": [asdict(r) for r in cold],
        }
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
