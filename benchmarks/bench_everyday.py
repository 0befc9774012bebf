"""Everyday speed (issue 14): what a user meets first, each figure a ratio to a reference in the same run.

- **new array size**: a derivative already warm on one size, called on sizes it has not seen; the
  first call's time ÷ the warm time of a call of that same size (target ≤ 2: no compile per size).
  Sizes come in pairs where it matters: the first of a pair opens a new length bucket (one compile),
  the second falls in the same bucket.
- **new batch size**: the same for a gradient on batches of points (rows) it has not seen.
- **memory offset**: the same size at another offset, ``base[k:k + 1000]`` (target: no recompile).
- **scalar call**: ``d(3.0)`` and ``d`` on 10 points, warm, ÷ raw ``jax.jit(jax.grad(f))`` on a
  scalar and ÷ the same formula in NumPy (target ≤ 30 µs).
- **start-up**: ``import tridiff`` in a fresh interpreter ÷ ``import numpy, sympy`` (target: at most
  0.3 s more), and ``tridiff --help`` / ``--version`` (target ≤ 0.5 s), each ÷ ``python -c pass``.

Timings are medians over shuffled rounds (``interleave.py``), printed, never asserted.
Run ``python benchmarks/bench_everyday.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from interleave import interleaved  # benchmarks/interleave.py, beside this script

import tridiff as td
from tridiff.compiler.lowering import x64

TEXT = "exp(-2*x) + 3*sin(3*x)"  # the lab's first function


def median(samples: list[float]) -> float:
    return float(np.median(samples))


def first_and_warm(call, rounds: int) -> tuple[float, float]:
    """The first call's time, and the median of later ones."""
    start = time.perf_counter()
    call()
    first = time.perf_counter() - start
    return first, median(interleaved([call], rounds)[0])


def new_sizes(rounds: int) -> None:
    print(f"\n## new array size ({TEXT}, symbolic; warm on 1000 points first)")
    d = td.derivative(TEXT, method="symbolic")
    x = np.linspace(-5, 5, 2 * 10**6 + 7)
    d(x[:1000])
    print(f"{'points':>10} {'first call':>12} {'warm':>12} {'first/warm':>11}")
    for n in (1001, 1500, 1700, 3000, 4097, 5000, 50_000, 60_000, 100_003, 10**6 + 3, 2 * 10**6 + 7):
        first, warm = first_and_warm(lambda: d(x[:n]), rounds)
        print(f"{n:>10} {first * 1e3:>10.3f}ms {warm * 1e3:>10.3f}ms {first / warm:>10.1f}x")
    print("\n## new batch size (the gradient of Rosenbrock's function of 2 variables, automatic; warm on 16 points)")
    g = td.gradient("(1 - x)**2 + 100*(y - x**2)**2", method="automatic")
    pts = np.random.default_rng(0).uniform(-2, 2, (2 * 10**5 + 3, 2))
    g(pts[:16])
    print(f"{'points':>10} {'first call':>12} {'warm':>12} {'first/warm':>11}")
    for n in (17, 20, 100, 120, 1000, 1001, 40_000, 2 * 10**5 + 3):  # pairs: a new bucket, then one in it
        first, warm = first_and_warm(lambda: g(pts[:n]), rounds)
        print(f"{n:>10} {first * 1e3:>10.3f}ms {warm * 1e3:>10.3f}ms {first / warm:>10.1f}x")
    print("\n## memory offset (1000 points at base[k:k + 1000])")
    base = np.linspace(0, 1, 5000)
    d(base[:1000])
    for k in (1, 3, 7):
        first, warm = first_and_warm(lambda: d(base[k:k + 1000]), rounds)
        print(f"offset {k}: first {first * 1e3:.3f} ms, warm {warm * 1e3:.3f} ms, first/warm {first / warm:.1f}x")


def scalar_calls(rounds: int) -> None:
    print(f"\n## small calls, warm ({TEXT}, symbolic)")
    d = td.derivative(TEXT, method="symbolic")
    ten = np.linspace(0, 1, 10)
    d(3.0), d(ten)
    with x64():
        raw = jax.jit(jax.grad(lambda t: jnp.exp(-2 * t) + 3 * jnp.sin(3 * t)))
        raw(3.0).block_until_ready()

    def raw_call():
        with x64():
            return float(raw(3.0))

    def numpy_call():
        t = 3.0
        return -2 * np.exp(-2 * t) + 9 * np.cos(3 * t)

    runs = {"tridiff d(3.0)": lambda: d(3.0), "tridiff d(10 points)": lambda: d(ten),
            "raw jax.jit(grad) at 3.0": raw_call, "NumPy formula at 3.0": numpy_call}
    times = dict(zip(runs, map(median, interleaved(list(runs.values()), rounds * 20))))
    for name, t in times.items():
        print(f"{name:<26} {t * 1e6:>9.1f} µs  {t / times['raw jax.jit(grad) at 3.0']:>6.1f}x raw JAX  "
              f"{t / times['NumPy formula at 3.0']:>8.1f}x NumPy")


def fresh(args: list[str], runs: int) -> float:
    """Median wall time of a fresh process running ``args``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
        samples.append(time.perf_counter() - start)
    return median(samples)


def start_up(runs: int) -> None:
    print("\n## start-up (fresh processes)")
    py = sys.executable
    nothing = fresh([py, "-c", "pass"], runs)
    base = fresh([py, "-c", "import numpy, sympy"], runs)
    ours = fresh([py, "-c", "import tridiff"], runs)
    print(f"python -c pass             {nothing:6.3f} s")
    print(f"import numpy, sympy        {base:6.3f} s")
    print(f"import tridiff             {ours:6.3f} s  = numpy + sympy {ours - base:+.3f} s (target: at most +0.3 s)")
    cli = shutil.which("tridiff")
    for flag in ("--help", "--version"):
        if cli:
            t = fresh([cli, flag], runs)
            print(f"tridiff {flag:<18} {t:6.3f} s  = python start-up + {t - nothing:.3f} s (target ≤ 0.5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and fresh processes (~15 s)")
    args = parser.parse_args()
    rounds, runs = (5, 3) if args.quick else (21, 7)
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    new_sizes(rounds)
    scalar_calls(rounds)
    start_up(runs)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
