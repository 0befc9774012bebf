"""Benchmark the cost of a gradient relative to the cost of f, for n = 10 … 10^4 variables.

Two functions of one vector w of length n, each written once in jax.numpy (automatic and numeric:
tridiff traces it into a formula where it can for n <= 200, else makes it a "program" function) and,
for n <= 200, once more in NumPy (tridiff traces a formula: symbolic):

- the logistic-regression loss mean(log1p(exp(-y * (X @ w)))) on fixed synthetic data (X: 200 x n,
  labels y = ±1, seeded), and
- the Rosenbrock function sum(100 (w[1:] - w[:-1]^2)^2 + (1 - w[:-1])^2).

For each n and method the gradient ``td.gradient(f, method)(points)`` of a batch of points is timed
against f on the same batch, in the same run, and checked against the automatic gradient. The target
(DESIGN.md): the reverse-mode gradient at n = 10^4 within 5x the cost of f (the cheap-gradient
principle); numeric's ratio should grow about linearly with n. The slow and memory-hungry
measurements (symbolic; numeric of a traced formula) run in a child process under a time and memory
limit. Timings are printed, never asserted. Run ``python benchmarks/bench_gradient.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import sympy
from interleave import interleaved  # benchmarks/interleave.py, beside this script

import tridiff as td
from tridiff.errors import TridiffError
from tridiff.methods.reference import scaled_error
from tridiff.studies.timing import measure

M = 200  # data rows of the logistic loss
TARGET = 5.0  # reverse-mode gradient / f at the largest n
TARGET_N = 10**4
FORMULA_MAX_N = 200  # tridiff traces a function of a vector into a formula up to this n


# -- the functions ---------------------------------------------------------------------------------
def data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed synthetic logistic-regression data: X (M x n, columns scaled so X @ w is O(1)), y = ±1."""
    rng = np.random.default_rng(12345)
    X = rng.standard_normal((M, n)) / np.sqrt(n)
    y = np.where(rng.random(M) < 0.5, -1.0, 1.0)
    return X, y


def logistic(xp, n: int):
    X, y = data(n)

    def logistic_loss(w):
        return xp.mean(xp.log1p(xp.exp(-y * (X @ w))))

    return logistic_loss


def rosenbrock(xp, n: int):
    def rosenbrock(w):
        return xp.sum(100 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)

    return rosenbrock


FUNCTIONS = {"logistic": logistic, "rosenbrock": rosenbrock}


def points(n: int, batch: int) -> np.ndarray:
    """The batch of points (rows) at which f and its gradient are evaluated."""
    return np.random.default_rng(1000 + n).standard_normal((batch, n))


def _batched(per_point):
    """jax.jit(vmap(per_point)) in float64, NumPy in and out, waiting for the result."""
    with jax.enable_x64(True):
        kernel = jax.jit(jax.vmap(per_point))

    def run(pts):
        with jax.enable_x64(True):
            out = kernel(pts)
            out.block_until_ready()
            return np.asarray(out)

    return run


def jit_f(fn):
    """f on the batch as the gradient kernels evaluate it: jax.jit(vmap(fn))."""
    return _batched(fn)


def raw_grad(fn):
    """The gradient as plain JAX would: jax.jit(vmap(grad(fn))), with none of tridiff's checks."""
    return _batched(jax.grad(fn))


def first_call(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def time_together(runs: dict[str, object], rounds: int, slow_budget_s: float) -> dict[str, np.ndarray]:
    """Seconds per call of each run (already warmed up), in shuffled rounds (``interleave.py``); a run
    slower than ``slow_budget_s / rounds`` per call takes part in fewer rounds (at least 3)."""
    names = list(runs)
    repeats = []
    for name in names:
        t, _ = first_call(runs[name])
        repeats.append(int(min(rounds, max(3, slow_budget_s // max(t, 1e-9)))))
    samples = interleaved([runs[k] for k in names], rounds, repeats)
    return {k: np.asarray(s) for k, s in zip(names, samples)}


# -- child processes: measurements that may take minutes or gigabytes -------------------------------
def child_main(spec: dict) -> None:
    """One gradient (symbolic, on the formula traced from the NumPy version; or numeric, of the jax.numpy
    version traced into a formula); print "ready" once imported and "result <json>" at the end."""
    print("ready", flush=True)
    n, batch, name, method = spec["n"], spec["batch"], spec["function"], spec["method"]
    pts = points(n, batch)
    jf = jit_f(FUNCTIONS[name](jnp, n))
    result: dict = {}
    t = time.perf_counter()
    f = td.function(FUNCTIONS[name](np if method == "symbolic" else jnp, n), variables=n)
    result["trace_s"] = time.perf_counter() - t
    if f.expr is None:
        result["unavailable"] = f"td.function traced no formula: {f.opaque_reason}"
        print("result " + json.dumps(result), flush=True)
        return
    t = time.perf_counter()
    try:
        g = td.gradient(f, method)
    except TridiffError as err:
        result["unavailable"] = str(err)
        print("result " + json.dumps(result), flush=True)
        return
    result["derive_s"] = time.perf_counter() - t
    result["first_s"], values = first_call(lambda: g(pts))
    np.save(spec["out"], values)
    result["td_f_first_s"], _ = first_call(lambda: f(pts))
    first_call(lambda: jf(pts))  # compiled before the rounds, as the others are
    s = time_together({"jit_f": lambda: jf(pts), "td_f": lambda: f(pts), "grad": lambda: g(pts)},
                      spec["rounds"], spec["slow_budget"])
    result["samples_s"] = {k: v.tolist() for k, v in s.items()}
    print("result " + json.dumps(result), flush=True)


def _rss_gb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def run_child(spec: dict, limit_s: float, memory_gb: float) -> dict:
    """Run ``child_main(spec)`` in a fresh process; kill it (by its own pid) past ``limit_s`` seconds after
    its imports, or past ``memory_gb`` of resident memory. Returns its result, or {"killed": why}."""
    with tempfile.TemporaryDirectory() as tmp, open(os.path.join(tmp, "stderr"), "w+") as err:
        spec = dict(spec, out=os.path.join(tmp, "values.npy"))
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                                stdout=subprocess.PIPE, stderr=err, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        deadline, result, peak = None, None, 0.0
        started = time.perf_counter()
        try:
            while result is None:
                try:
                    line = lines.get(timeout=0.1)
                    if line.startswith("ready"):
                        deadline = time.perf_counter() + limit_s
                    elif line.startswith("result "):
                        result = json.loads(line[len("result "):])
                        continue
                except queue.Empty:
                    pass
                peak = max(peak, _rss_gb(proc.pid))
                if peak > memory_gb:
                    after = "" if deadline is None else f" after {time.perf_counter() - deadline + limit_s:.0f} s"
                    return {"killed": f"used more than {memory_gb:g} GB of memory{after} (stopped)"}
                if deadline is not None and time.perf_counter() > deadline:
                    return {"killed": f"did not finish within the {limit_s:g} s limit (stopped; {peak:.1f} GB "
                                      "of memory by then)"}
                if deadline is None and time.perf_counter() - started > 120:
                    return {"killed": "the child process did not start within 120 s"}
                if proc.poll() is not None and lines.empty():
                    err.seek(0)
                    tail = " | ".join(err.read().strip().splitlines()[-3:])
                    return {"killed": f"the child process failed (exit {proc.returncode}): {tail}"}
            proc.wait(timeout=30)
            if os.path.exists(spec["out"]):
                result["values"] = np.load(spec["out"])
            result["peak_rss_gb"] = peak
            return result
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# -- the benchmark ---------------------------------------------------------------------------------
@dataclass
class Row:
    function: str
    n: int
    method: str
    f_ms: float | None = None  # jax.jit(vmap(fn)) on the batch, in the same process and rounds
    td_f_ms: float | None = None  # tridiff's f(points) (for symbolic: of the traced formula)
    grad_ms: float | None = None
    ratio: float | None = None  # grad / f
    ratio_td_f: float | None = None  # grad / td f
    setup_s: float | None = None  # td.gradient(f, m) and its first call (derive, trace, compile, run)
    diff: float | None = None  # scaled difference from the automatic gradient
    repeats: int = 0
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)


@dataclass
class FRow:
    function: str
    n: int
    f_ms: float
    f_first_s: float
    td_f_ms: float
    td_f_first_s: float


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows: list[Row] = []
        self.frows: list[FRow] = []
        self.started = time.perf_counter()

    def log(self, msg: str) -> None:
        print(f"  [{time.perf_counter() - self.started:5.0f} s] {msg}", file=sys.stderr, flush=True)

    def run_function(self, name: str) -> None:
        prev: dict = {}  # figures at the previous n, for the estimates that decide what to skip
        for n in self.args.sizes:
            self.run_size(name, n, prev)

    def run_size(self, name: str, n: int, prev: dict) -> None:
        """Every method at one n: f, automatic and raw JAX timed together, then numeric and symbolic."""
        a = self.args
        self.log(f"{name} n={n}")
        pts = points(n, a.batch)
        fj = FUNCTIONS[name](jnp, n)
        f = td.function(fj, variables=n)
        jf, jg = jit_f(fj), raw_grad(fj)
        g_auto = td.gradient(f, "automatic")
        f_first, _ = first_call(lambda: jf(pts))
        td_f_first, _ = first_call(lambda: f(pts))
        auto_first, auto_values = first_call(lambda: g_auto(pts))
        raw_first, raw_values = first_call(lambda: jg(pts))
        runs = {"f": lambda: jf(pts), "td_f": lambda: f(pts), "automatic": lambda: g_auto(pts),
                "raw": lambda: jg(pts)}
        s = time_together(runs, a.rounds, a.slow_budget)
        ms = {k: float(np.median(v)) * 1e3 for k, v in s.items()}
        f_ms, td_f_ms = ms["f"], ms["td_f"]
        self.frows.append(FRow(name, n, f_ms, f_first, td_f_ms, td_f_first))

        def row(method, grad_ms, setup, diff, samples, note="", repeats=None):
            r = Row(name, n, method, f_ms, td_f_ms, grad_ms,
                    None if grad_ms is None else grad_ms / f_ms,
                    None if grad_ms is None else grad_ms / td_f_ms,
                    setup, diff, len(samples) if repeats is None else repeats, note,
                    [float(v) * 1e3 for v in samples])
            self.rows.append(r)
            return r

        nan_note = "" if np.all(np.isfinite(auto_values)) else f"{np.sum(~np.isfinite(auto_values))} NaN values"
        row("automatic", ms["automatic"], auto_first, None, s["automatic"], nan_note)
        row("jax vmap(grad) raw", ms["raw"], raw_first, scaled_error(raw_values, auto_values), s["raw"])
        self.numeric(name, n, f, pts, f_ms, auto_values, prev, row)
        if n <= FORMULA_MAX_N:
            self.symbolic(name, n, auto_values, prev, row)
        else:  # the library's own words for why (the NumPy version is not traced either past 200)
            try:
                td.gradient(f, "symbolic")
                why = f.opaque_reason
            except TridiffError as err:
                why = str(err)
            row("symbolic", None, None, None, [], f"not available: {why}")

    def numeric(self, name, n, f, pts, f_ms, auto_values, prev, row):
        """td.gradient(f, "numeric") on the batch (of a traced formula: in a child process), unless one call
        is estimated past the limit."""
        a = self.args
        last = prev.get("numeric")  # (n, f ms, numeric ms) at the previous n, or a reason it was not run
        if isinstance(last, str):
            row("numeric", None, None, None, [], f"skipped: {last}")
            return
        # One call: 4n evaluations of f per point (the central stencil of accuracy 4 along each
        # coordinate), so about 4n x f's cost; or the last n's call scaled by n and by f's cost.
        est = 4 * n * f_ms / 1e3
        why = f"4n = {4 * n} evaluations x f's {f_ms:.3f} ms"
        if last is not None:
            n0, f0, ms0 = last
            scaled = ms0 / 1e3 * (n / n0) * (f_ms / f0)
            if scaled > est:
                est, why = scaled, f"n={n0}'s {ms0 / 1e3:.2f} s x {n / n0:g} x f's cost ratio {f_ms / f0:.1f}"
        if est > a.numeric_limit:
            prev["numeric"] = f"one call was estimated at {est:.0f} s at n={n}"
            row("numeric", None, None, None, [],
                f"skipped: one call estimated at {est:.0f} s ({why}) > the {a.numeric_limit:g} s limit")
            return
        if f.expr is not None:  # traced into a formula (n <= 200): compiling n stencils of it can take gigabytes
            res = self.in_child("numeric", name, n, auto_values, row, "kink analysis, compile")
            if "samples_s" in res:
                prev["numeric"] = (n, res["f_ms"], res["grad_ms"])
            return
        self.log(f"{name} n={n}: numeric (estimated {est:.1f} s per call)")
        g = td.gradient(f, "numeric")
        setup, values = first_call(lambda: g(pts))
        calls = int(min(a.numeric_repeats, max(1, a.numeric_budget // max(setup, 1e-9))))
        t = measure(lambda: g(pts), repeat=calls, warmup=0, budget=a.numeric_budget)
        prev["numeric"] = (n, f_ms, t.median * 1e3)
        row("numeric", t.median * 1e3, setup, scaled_error(values, auto_values), [],
            f"{t.repeat} timed call(s) after the first (setup)" if t.repeat < 3 else "", repeats=t.repeat)

    def symbolic(self, name, n, auto_values, prev, row):
        a = self.args
        last = prev.get("symbolic")  # (n, setup s) at the previous n, or a reason it was not run
        if isinstance(last, str):
            row("symbolic", None, None, None, [], f"skipped: {last}")
            return
        if last is not None:  # setup grows at least linearly with n: n derivative formulas, each as long as f
            n0, setup0 = last
            est = setup0 * n / n0
            if est > a.symbolic_limit:
                prev["symbolic"] = f"its setup was estimated at >= {est:.0f} s at n={n}"
                row("symbolic", None, None, None, [],
                    f"skipped: setup estimated at >= {est:.0f} s (n={n0}'s {setup0:.1f} s x {n / n0:g}) "
                    f"> the {a.symbolic_limit:g} s limit")
                return
        res = self.in_child("symbolic", name, n, auto_values, row, "trace, SymPy derivatives, kink analysis, compile")
        if "killed" in res:
            prev["symbolic"] = f"its setup did not finish at n={n}"
        elif "unavailable" in res:
            prev["symbolic"] = f"not available at n={n}"
        else:
            prev["symbolic"] = (n, res["setup_s"])

    def in_child(self, method, name, n, auto_values, row, setup_steps) -> dict:
        """``method``'s gradient of a formula in a child process under --symbolic-limit and --memory-gb,
        timed there against that process's f: its row, and the child's result (with setup_s, f_ms and
        grad_ms added when it finished)."""
        a = self.args
        self.log(f"{name} n={n}: {method} in a child process (limit {a.symbolic_limit:g} s)")
        res = run_child({"method": method, "function": name, "n": n, "batch": a.batch, "rounds": a.rounds,
                         "slow_budget": a.slow_budget}, a.symbolic_limit, a.memory_gb)
        if "killed" in res:
            row(method, None, None, None, [], f"not finished: setup ({setup_steps}) {res['killed']}")
            return res
        if "unavailable" in res:
            row(method, None, None, None, [], f"not available: {res['unavailable']}")
            return res
        sm = {k: float(np.median(v)) * 1e3 for k, v in res["samples_s"].items()}
        res.update(setup_s=res["derive_s"] + res["first_s"], f_ms=sm["jit_f"], grad_ms=sm["grad"])
        r = row(method, sm["grad"], res["setup_s"], scaled_error(res["values"], auto_values), res["samples_s"]["grad"],
                f"own process (f there {sm['jit_f']:.3f} ms); setup = derive {res['derive_s']:.1f} s + first call "
                f"{res['first_s']:.1f} s; tracing f {res['trace_s']:.1f} s; formula f's first call "
                f"{res['td_f_first_s']:.1f} s; peak memory {res['peak_rss_gb']:.1f} GB")
        r.f_ms, r.td_f_ms = sm["jit_f"], sm["td_f"]  # its own process's f, and the formula's f(points)
        r.ratio, r.ratio_td_f = sm["grad"] / sm["jit_f"], sm["grad"] / sm["td_f"]
        return res


# -- printing ---------------------------------------------------------------------------------------
def _ms(v):
    return "" if v is None else f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def _x(v):
    return "" if v is None else f"{v:.2f}x" if v < 100 else f"{v:.0f}x"


def _s(v):
    return "" if v is None else f"{v:.2f}" if v < 10 else f"{v:.1f}"


def _e(v):
    return "" if v is None else f"{v:.1e}"


def print_table(title, header, body, right, groups):
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]

    def fmt(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    print(f"\n{title}")
    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    last = None
    for g, b in zip(groups, body):
        if last is not None and g != last:
            print()
        print(fmt(b).rstrip())
        last = g


LEGEND = """\
  f ms        f on the batch as the gradient kernels run it: jax.jit(vmap(fn)), float64, NumPy in and out,
              timed in the same shuffled rounds as td f, automatic and raw (a row run in a child process:
              f there, in its own rounds)
  td f ms     tridiff's own f(points) (symbolic rows: the formula traced from NumPy's f(points))
  grad ms     td.gradient(f, method)(points), until its values are computed; median
  ÷ f, ÷ td f the gradient's median over f's, over tridiff f's; ÷ f / n: that ratio per variable
  setup s     td.gradient(f, method) and its first call (derive, trace, compile, run); making f apart
  diff        max |g - g_automatic| / (|g_automatic| + 1% of max |g_automatic|) over the batch
  raw         jax.jit(vmap(grad(fn))) on the same batch: plain JAX, none of tridiff's checks"""


def report(bench: Bench) -> None:
    rows = bench.rows
    header = ("function", "n", "method", "f ms", "td f ms", "grad ms", "÷ f", "÷ td f", "÷ f / n", "setup s", "diff",
              "note")
    marks = {}
    for r in rows:
        if r.note:
            marks[id(r)] = f"({len(marks) + 1})"
    body = [(r.function, str(r.n), r.method, _ms(r.f_ms), _ms(r.td_f_ms), _ms(r.grad_ms), _x(r.ratio),
             _x(r.ratio_td_f), "" if r.ratio is None else f"{r.ratio / r.n:.3f}", _s(r.setup_s), _e(r.diff),
             ("" if r.grad_ms is not None else "—  ") + marks.get(id(r), "")) for r in rows]
    print_table(f"Gradient cost relative to f (batch of {bench.args.batch} points; median)", header, body,
                {1, 3, 4, 5, 6, 7, 8, 9, 10}, [(r.function, r.n) for r in rows])
    print(LEGEND)
    for r in rows:
        if r.note:
            print(f"  {marks[id(r)]} {r.function} n={r.n} {r.method}: {r.note}")

    fr = bench.frows
    header = ("function", "n", "f ms", "f first s", "td f ms", "td f first s", "td f / f")
    body = [(r.function, str(r.n), _ms(r.f_ms), _s(r.f_first_s), _ms(r.td_f_ms), _s(r.td_f_first_s),
             _x(r.td_f_ms / r.f_ms)) for r in fr]
    print_table("f itself: jax.jit(vmap(fn)) against tridiff's f(points) of the same function", header, body,
                {1, 2, 3, 4, 5, 6}, [r.function for r in fr])

    print("\nTargets")
    for name in FUNCTIONS:
        auto = [r for r in rows if r.function == name and r.method == "automatic"]
        top = max(auto, key=lambda r: r.n) if auto else None
        if top is None:
            continue
        met = "met" if top.ratio <= TARGET else "NOT met"
        scope = "" if top.n == TARGET_N else f" (largest n run: {top.n}; the target is stated at n = {TARGET_N})"
        print(f"  {name}: reverse-mode automatic gradient at n = {top.n}: {top.ratio:.2f}x f "
              f"(target <= {TARGET:g}x): {met}; ÷ tridiff's f(points) {top.ratio_td_f:.2f}x{scope}")
        num = [r for r in rows if r.function == name and r.method == "numeric" and r.grad_ms is not None]
        if num:
            slope = (f"grows as n^{np.polyfit(np.log([r.n for r in num]), np.log([r.ratio for r in num]), 1)[0]:.2f} "
                     f"over n = {num[0].n}..{num[-1].n}; " if len(num) >= 2 else "")
            per_n = ", ".join(f"{r.ratio / r.n:.3f} (n={r.n})" for r in num)
            print(f"  {name}: numeric's ratio {slope}ratio / n: {per_n}"
                  + " (a constant ratio / n is linear growth)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n up to 1000, fewer repeats, tighter limits (~70 s)")
    parser.add_argument("--json", metavar="PATH", help="also write every figure (and raw samples) as JSON")
    parser.add_argument("--sizes", help="comma-separated n (default 10,100,1000,10000; --quick 10,100,1000)")
    parser.add_argument("--batch", type=int, default=16, help="points per batch (default 16)")
    parser.add_argument("--rounds", type=int, help="shuffled rounds for the fast cases (default 31, --quick 11)")
    parser.add_argument("--symbolic-limit", type=float,
                        help="seconds for a setup in a child process: symbolic, or numeric of a traced formula "
                             "(default 60, --quick 10)")
    parser.add_argument("--numeric-limit", type=float,
                        help="skip numeric where one call is estimated to take longer (seconds; default 40, --quick 2)")
    parser.add_argument("--memory-gb", type=float, default=8.0, help="memory limit of a child process (default 8 GB)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(json.loads(args.child))
        return 0
    q = args.quick
    default_sizes = [10, 100, 1000] if q else [10, 100, 1000, 10**4]
    args.sizes = [int(v) for v in args.sizes.split(",")] if args.sizes else default_sizes
    args.rounds = args.rounds or (11 if q else 31)
    args.symbolic_limit = args.symbolic_limit or (10.0 if q else 60.0)
    args.numeric_limit = args.numeric_limit or (2.0 if q else 40.0)
    args.slow_budget = 0.5 if q else 2.0  # seconds of rounds per fast case
    args.numeric_budget = 3.0 if q else 10.0  # seconds of repeats per numeric case (at least one call)
    args.numeric_repeats = 3 if q else 7

    print(f"tridiff {td.__version__} gradient benchmark: n = {', '.join(map(str, args.sizes))}; batch of "
          f"{args.batch} points; logistic loss on {M} x n data and Rosenbrock")
    print(f"python {platform.python_version()}, numpy {np.__version__}, jax {jax.__version__}, "
          f"sympy {sympy.__version__}; {os.cpu_count()} cpus, {platform.machine()}")
    load = os.getloadavg()
    print(f"load average at start {load[0]:.2f} (1 min); limits: setup in a child {args.symbolic_limit:g} s, "
          f"numeric call (estimated) {args.numeric_limit:g} s; children <= {args.memory_gb:g} GB")
    bench = Bench(args)
    for name in FUNCTIONS:
        bench.run_function(name)
    report(bench)
    elapsed = time.perf_counter() - bench.started
    print(f"\ntotal benchmark time {elapsed:.0f} s; load average at end {os.getloadavg()[0]:.2f} (1 min)")
    if args.json:
        out = {"meta": {"tridiff": td.__version__, "python": platform.python_version(), "numpy": np.__version__,
                        "jax": jax.__version__, "sympy": sympy.__version__, "cpus": os.cpu_count(),
                        "sizes": args.sizes, "batch": args.batch, "m": M, "rounds": args.rounds, "quick": q,
                        "limits_s": {"symbolic": args.symbolic_limit, "numeric": args.numeric_limit},
                        "elapsed_s": elapsed, "loadavg_start": load, "loadavg_end": os.getloadavg()},
               "rows": [asdict(r) for r in bench.rows], "f": [asdict(r) for r in bench.frows]}
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
