"""Benchmark the gradient of two everyday model losses, written as JAX users write them, at 10^3 … 10^6
parameters: tridiff's automatic gradient (its kink checks included) against f and against raw JAX.

- **logistic**: ``mean(logaddexp(0, -y * (X @ w)))``, w of n weights, on M examples (X: M x n,
  M = 200 down to 20 at n = 10^6 to keep X near 160 MB). ``jnp.logaddexp`` is smooth (a custom_jvp
  of JAX's): the program runs with no switch to watch.
- **mlp**: ``mean((relu(X @ W1 + b1) @ w2 + b2 - y)^2)``, 100 inputs, h hidden units (n = 102 h + 1
  parameters laid end to end in one vector), 64 examples. relu is a switch: every call watches it
  (a probe on its output in the gradient's own backward pass; a second pass only where one sits at 0).

For each, batch 1 and 16 points (parameter vectors): ``td.gradient(f)(points)`` timed in shuffled
rounds (``interleave.py``) with ``jax.jit(vmap(f))`` and ``jax.jit(vmap(grad(f)))`` on the same
points, and at batch 1 also ``td.gradient(loss, argnums=0)(w, X, y)`` (the data as the program's
inputs) against ``jax.jit(grad(loss))(w, X, y)``. Targets (issue 15): the automatic gradient ≤ 3x f
and ≤ 1.3x raw jax.grad. The numeric gradient where it applies (the logistic loss at n = 10^3: 4n
evaluations of f per point), the symbolic where it applies (n ≤ 200: nowhere here), each with its
own figure or the library's reason. Figures are printed, never asserted.

    python benchmarks/bench_models.py            # n = 10^3 … 10^6, about 3 minutes on 2 cores
    python benchmarks/bench_models.py --quick    # n = 10^3 and 10^4, a few rounds: about 30 s
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from interleave import interleaved  # benchmarks/interleave.py, beside this script

import tridiff as td
from tridiff.compiler.runner import settle
from tridiff.errors import TridiffError
from tridiff.methods.reference import scaled_error

INPUTS, EXAMPLES = 100, 64


def logistic(n: int):
    rows = int(min(200, max(20, 2 * 10**7 // n)))
    rng = np.random.default_rng(n)
    X, y = rng.standard_normal((rows, n)) / np.sqrt(n), np.where(rng.random(rows) < 0.5, -1.0, 1.0)

    def loss(w, X, y):
        return jnp.mean(jnp.logaddexp(0.0, -y * (X @ w)))

    return loss, (X, y), n, f"{rows} examples"


def mlp(n: int):
    hidden = max(1, (n - 1) // (INPUTS + 2))
    rng = np.random.default_rng(n)
    X, y = rng.standard_normal((EXAMPLES, INPUTS)), rng.standard_normal(EXAMPLES)
    cut = np.cumsum([INPUTS * hidden, hidden, hidden])

    def loss(v, X, y):
        W1, b1, w2, b2 = jnp.split(v, cut)
        return jnp.mean((jax.nn.relu(X @ W1.reshape(INPUTS, hidden) + b1) @ w2 + b2[0] - y) ** 2)

    return loss, (X, y), int(cut[-1]) + 1, f"{hidden} hidden units, {EXAMPLES} examples"


MODELS = {"logistic": logistic, "mlp": mlp}


def x64(fn):
    def run(*args):
        with jax.enable_x64(True):
            out = fn(*args)
            return jax.block_until_ready(out)

    return run


def timed(runs: dict, rounds: int) -> dict[str, float]:
    """Median seconds of each (warmed up) run, in shuffled rounds."""
    for run in runs.values():
        run()
    settle()  # no compile left in tridiff's background thread while timing
    samples = interleaved(list(runs.values()), rounds)
    return {name: float(np.median(s)) for name, s in zip(runs, samples)}


def first(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench(model: str, n_target: int, batch: int, rounds: int, numeric_limit: float) -> list[str]:
    loss, data, n, about = MODELS[model](n_target)
    X, y = data

    def f(w):
        return loss(w, X, y)

    pts = 0.05 * np.random.default_rng(7).standard_normal((batch, n))
    jf = x64(jax.jit(jax.vmap(f)))
    raw = x64(jax.jit(jax.vmap(jax.grad(f))))
    g = td.gradient(f)
    setup, values = first(lambda: g(pts))
    runs = {"f": lambda: jf(pts), "raw": lambda: raw(pts), "td": lambda: g(pts)}
    lines = []
    if batch == 1:
        g_args = td.gradient(loss, argnums=0)
        raw_args = x64(jax.jit(jax.grad(loss)))
        runs |= {"td argnums": lambda: g_args(pts[0], X, y), "raw argnums": lambda: raw_args(pts[0], X, y)}
    t = timed(runs, rounds)
    diff = scaled_error(values, np.asarray(raw(pts)))
    head = f"{model:8s} n={n:>8,d} batch={batch:<2d}"
    lines.append(f"{head} f {t['f'] * 1e3:9.3f} ms | raw jax.grad {t['raw'] * 1e3:9.3f} ms | td.gradient "
                 f"{t['td'] * 1e3:9.3f} ms = {t['td'] / t['f']:.2f}x f, {t['td'] / t['raw']:.2f}x raw "
                 f"(first call {setup:.2f} s; diff {diff:.1e}; {about})")
    if batch == 1:
        lines.append(f"{head} argnums=0 with (X, y) as inputs: td {t['td argnums'] * 1e3:9.3f} ms = "
                     f"{t['td argnums'] / t['raw argnums']:.2f}x raw jax.grad(loss)(w, X, y)")
    for method in ("numeric", "symbolic"):
        lines.append(f"{head} {method}: {other_method(f, method, n, pts, t['f'], values, numeric_limit)}")
    return lines


def other_method(f, method: str, n: int, pts, f_s: float, expected, limit: float) -> str:
    """The numeric or symbolic gradient's figure, or why it does not apply here."""
    try:
        g = td.gradient(f, method)
        g.for_dimension(n)  # made for this n: refused here if it does not apply
    except TridiffError as err:
        return f"not available: {err}"
    estimate = 4 * n * f_s * len(pts)
    if estimate > limit:
        return f"skipped: one call estimated at {estimate:.0f} s (4n evaluations of f per point) > {limit:g} s"
    setup, values = first(lambda: g(pts))
    t = timed({"g": lambda: g(pts)}, 3)["g"]
    return f"{t * 1e3:.1f} ms = {t / f_s:.0f}x f (first call {setup:.1f} s; diff from raw {scaled_error(values, expected):.1e})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="n = 10^3 and 10^4, 5 rounds")
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--numeric-limit", type=float, default=20.0, help="seconds one numeric call may take")
    a = p.parse_args(argv)
    sizes = [10**3, 10**4] if a.quick else [10**3, 10**4, 10**5, 10**6]
    rounds = 5 if a.quick else a.rounds
    print(f"targets: td.gradient <= 3x f and <= 1.3x raw jax.grad (medians of {rounds} shuffled rounds)")
    for model in MODELS:
        for n in sizes:
            for batch in (1, 16):
                for line in bench(model, n, batch, rounds if n < 10**6 else max(3, rounds // 3), a.numeric_limit):
                    print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
