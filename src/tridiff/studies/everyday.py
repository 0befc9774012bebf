"""Everyday speed: what a user meets first, each figure a ratio to a reference timed in the same run.

- **new array size**: a derivative warm on 1000 points, called on sizes it has not seen: the first
  call (NumPy's: see :mod:`tridiff.compiler.runner`) ÷ a warm call of that size (the compiled
  kernel's, once the background compile the second call starts is done). Sizes come in pairs: the
  first opens a new length bucket (see :data:`tridiff.compiler.runner.CHUNK`), the second falls in it.
- **new batch size**: the same for a gradient (symbolic, the default) on batches of points.
- **memory offset**: 1000 points at ``base[k:k + 1000]``, against a warm call.
- **small calls**: ``d(3.0)`` and ``d`` on 10 points, warm, against raw ``jax.jit(jax.grad(f))``
  run as tridiff runs it (under ``jax.enable_x64``) and against the formula in NumPy.
- **start-up**: ``import tridiff`` in a fresh interpreter against ``import numpy, sympy``, and
  ``tridiff --help`` / ``--version`` against ``python -c pass``.
- **long vectors**: a jax.numpy function of 10^5 variables (10^4 with ``quick``): ``td.function``
  + ``td.gradient`` + its first call on 4 points, against raw ``jax.jit(jax.vmap(jax.grad(f)))``'s
  first call (the compile both pay).
- **large arrays**: peak memory of ``d(x)`` and ``d.evaluate(x)`` on 10^8 points (10^7 with
  ``quick``), each in a fresh interpreter, in each tier, against the input's and output's bytes.

``tridiff bench`` prints it beside the throughput sweeps; ``benchmarks/bench_everyday.py`` too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..compiler.runner import settle, x64
from ..definition.function import function
from ..definition.points import json_number
from ..methods.derivative import derivative
from ..methods.gradients import gradient
from .presentation import Presented, Section
from .timing import cache_bytecode, format_seconds, measure

TEXT = "exp(-2*x) + 3*sin(3*x)"  # the lab's first function
GRADIENT = "(1 - x)**2 + 100*(y - x**2)**2"  # Rosenbrock's function of 2 variables


@dataclass(frozen=True)
class Figure:
    """One measurement and the reference measured beside it: ``value / reference_value``, in
    seconds, or in bytes (``unit``) for memory."""

    group: str
    case: str
    value: float
    reference: str
    reference_value: float
    target: str = ""
    unit: str = "s"

    @property
    def ratio(self) -> float:
        return self.value / self.reference_value

    def shown(self, value: float) -> str:
        return format_seconds(value) if self.unit == "s" else f"{value / 1e9:.3g} GB"

    def to_dict(self) -> dict:
        return {"group": self.group, "case": self.case, "value": json_number(self.value), "unit": self.unit,
                "reference": self.reference, "reference_value": json_number(self.reference_value),
                "ratio": json_number(self.ratio), "target": self.target}


@dataclass(frozen=True)
class Everyday(Presented):
    """The everyday figures (see the module's docstring), grouped as they are printed."""

    figures: tuple[Figure, ...]
    load_average: float

    GROUPS = ("new array size", "new batch size", "memory offset", "small calls", "start-up", "large arrays",
              "long vectors")

    def to_dict(self) -> dict:
        return {"load_average": json_number(self.load_average), "figures": [f.to_dict() for f in self.figures]}

    def title(self) -> str:
        return f"Everyday speed ({TEXT}; gradient of {GRADIENT}), load {self.load_average:.1f}"

    def sections(self) -> list[Section]:
        out = []
        for group in self.GROUPS:
            rows = [[f.case, f.shown(f.value), f.reference, f.shown(f.reference_value),
                     _times(f.ratio), f.target] for f in self.figures if f.group == group]
            if rows:
                out.append(Section(group, ("case", "time", "reference", "its time", "ratio", "target"), rows))
        return out

    def notes(self) -> list[str]:
        return ["a first call runs in NumPy (no compile) and the second compiles the JAX kernel in the background: "
                "the ratio is NumPy's speed against the kernel's"]


def _times(ratio: float) -> str:
    """470x, 1.3x, 0.096x."""
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2g}x"


def everyday(quick: bool = False) -> Everyday:
    """Measure the everyday figures (a few seconds with ``quick``): ``print(everyday(quick=True))``
    shows them as tables, ``.to_json()`` as JSON."""
    repeat, runs = (5, 1) if quick else (21, 7)
    figures: list[Figure] = []
    d = derivative(TEXT, method="symbolic")
    x = np.linspace(-5, 5, 2 * 10**6 + 7)
    d(x[:1000])
    sizes = (1500, 1700, 50_000, 60_000, 10**6 + 3) if quick else (
        1001, 1500, 1700, 3000, 4097, 5000, 50_000, 60_000, 100_003, 10**6 + 3, 2 * 10**6 + 7)
    for n in sizes:
        figures.append(_first_and_warm("new array size", f"d on {n:,} points", lambda n=n: d(x[:n]), repeat))
    g = gradient(GRADIENT)  # the default method, as a user meets it first
    pts = np.random.default_rng(0).uniform(-2, 2, (2 * 10**5 + 3, 2))
    g(pts[:16])
    for n in (17, 20, 1000, 1001) if quick else (17, 20, 100, 120, 1000, 1001, 40_000, 2 * 10**5 + 3):
        figures.append(_first_and_warm("new batch size", f"gradient at {n:,} points", lambda n=n: g(pts[:n]),
                                       repeat))
    base = np.linspace(0, 1, 5000)
    d(base[:1000])
    settle()
    for k in (1, 3, 7):
        figures.append(_first_and_warm("memory offset", f"d on base[{k}:{k + 1000}]", lambda k=k: d(base[k:k + 1000]),
                                       repeat))
    figures += _small_calls(d, repeat * 40)
    cache_bytecode()  # fresh processes from here on
    figures += _start_up(runs)
    figures += _large(10**7 if quick else 10**8)
    figures.append(_long_vector(10**4 if quick else 10**5))
    return Everyday(tuple(figures), os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))


def _first_and_warm(group: str, case: str, call, repeat: int) -> Figure:
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    for _ in range(3):  # the kernel for its bucket compiles on the second call, one for its exact length
        call()  # (a table of rows padded, or a batch in chunks) on the fourth
        settle()
    return Figure(group, f"{case}, first call", first, "warm call", measure(call, repeat=repeat).median, "≤ 2x")


def _small_calls(d, repeat: int) -> list[Figure]:
    with x64():
        raw = jax.jit(jax.grad(lambda t: jnp.exp(-2 * t) + 3 * jnp.sin(3 * t)))
        raw(3.0).block_until_ready()

    def raw_call():
        with x64():
            return raw(3.0).block_until_ready()

    def numpy_call():
        t = 3.0
        return -2 * np.exp(-2 * t) + 9 * np.cos(3 * t)

    ten = np.linspace(0, 1, 10)
    for _ in range(2):  # the second call of each starts its kernel's compile
        d(3.0), d(ten)
    settle()
    raw_time = measure(raw_call, repeat=repeat).median
    numpy_time = measure(numpy_call, repeat=repeat).median
    out = []
    for case, call in (("d(3.0)", lambda: d(3.0)), ("d on 10 points", lambda: d(ten))):
        t = measure(call, repeat=repeat).median
        out += [Figure("small calls", case, t, "raw jax.jit(grad) at 3.0", raw_time, "≤ 30 µs"),
                Figure("small calls", case, t, "the formula in NumPy at 3.0", numpy_time)]
    return out


def _start_up(runs: int) -> list[Figure]:
    py = sys.executable
    nothing = _fresh([py, "-c", "pass"], runs)
    base = _fresh([py, "-c", "import numpy, sympy"], runs)
    cli = [py, "-m", "tridiff.apps.cli"]
    return [Figure("start-up", "import tridiff", _fresh([py, "-c", "import tridiff"], runs), "import numpy, sympy",
                   base, "≤ numpy + sympy + 0.3 s"),
            Figure("start-up", "tridiff --help", _fresh([*cli, "--help"], runs), "python -c pass", nothing, "≤ 0.5 s"),
            Figure("start-up", "tridiff --version", _fresh([*cli, "--version"], runs), "python -c pass", nothing,
                   "≤ 0.5 s")]


def _fresh(args: list[str], runs: int) -> float:
    """Median wall time of a fresh process running ``args``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return float(np.median(samples))


_LARGE_CHILD = """
import sys, numpy as np
import tridiff as td
from tridiff.compiler.runner import settle, tier

def status(field):  # kB
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(field))

n, how = int(sys.argv[1]), sys.argv[2]
x = np.linspace(-5, 5, n)
d = td.derivative({text!r})
d(x[:100])  # the imports a call needs, before the baseline
try:
    open("/proc/self/clear_refs", "w").write("5")  # the high-water mark, from here
except OSError:  # not allowed here: the peak since the start counts too, an overestimate
    pass
before = status("VmRSS:")
with tier("numpy" if how.startswith("numpy") else "jax"):
    for _ in range(1 if how.startswith("numpy") else 3):  # the JAX tier: chunks, then the length's own kernel
        out = d.evaluate(x) if how.endswith("evaluate") else d(x)
        settle()
        size = sum(a.nbytes for a in vars(out).values() if isinstance(a, np.ndarray)) if how.endswith("evaluate") \\
            else out.nbytes
        del out
print((status("VmHWM:") - before) * 1024 + x.nbytes, x.nbytes + size)
"""


def _large(n: int) -> list[Figure]:
    """Peak memory on n points in a fresh interpreter per case (Linux's high-water mark of resident
    memory, reset once the input is made): the input and the peak growth over it, against the
    input's and the output's bytes. The output of ``d.evaluate`` counts reasons (an object array)."""
    if not os.path.exists("/proc/self/clear_refs"):  # not Linux: no high-water mark to reset
        return []
    cases = (("numpy", "d(x), first call (NumPy)"), ("jax", "d(x), compiled kernels"),
             ("numpy-evaluate", "d.evaluate(x), first call (NumPy)"))
    # the children at once (each measures its own process's memory): their start-up overlaps
    children = [subprocess.Popen([sys.executable, "-c", _LARGE_CHILD.format(text=TEXT), str(n), how],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for how, _ in cases]
    out = []
    for child, (how, case) in zip(children, cases):
        stdout, stderr = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"the {how} memory measurement failed: {stderr.strip().splitlines()[-1:]}")
        peak, reference = (float(v) for v in stdout.split())
        out.append(Figure("large arrays", f"{case} on {n:.0e} points: peak memory", peak, "input + output",
                          reference, "≤ 3x", unit="B"))
    return out


def _rosenbrock(w):
    """Rosenbrock's function of a vector, in jax.numpy."""
    return jnp.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)


def _long_vector(n: int) -> Figure:
    pts = np.random.default_rng(0).standard_normal((4, n))
    start = time.perf_counter()
    g = gradient(function(_rosenbrock, variables=n), "automatic")
    g(pts)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    with x64():
        np.asarray(jax.jit(jax.vmap(jax.grad(_rosenbrock)))(pts))
    raw = time.perf_counter() - start
    return Figure("long vectors", f"gradient of {n:,} variables, from the function", ours,
                  "raw jit(vmap(grad)), first call", raw, "≤ 1 s")
