"""Benchmark ``differentiate_samples`` against ``np.gradient`` on 10^6 samples, speed and accuracy.

Functions: the lab's ``|x|`` (a kink at 0, between two samples), ``sin x`` and ``sin 1000x`` (data
that oscillates: the hard case for kink detection), sampled at ``x = np.linspace(-5, 5, 10**6)``.
Two call forms, each against np.gradient called the same way:

- uniform spacing: ``differentiate_samples(y, spacing=h)`` vs ``np.gradient(y, h)``;
- coordinates: ``differentiate_samples(y, x)`` vs ``np.gradient(y, x)`` (the lab's call; linspace
  coordinates are not exactly equally spaced, so both take their non-uniform path).

``differentiate_samples`` is timed with kink detection (the default) and without
(``find_kinks=False``). Every case and ``y.copy()`` are timed in shuffled rounds with the garbage
collector off; reported are the median, the interquartile range, and the median's ratio to
np.gradient's of the same form. Accuracy: the largest error against the exact derivative, overall
and at the samples beside the kink, for np.gradient and for accuracy 2, 4 and 6.

Timings are printed, never asserted. ``python benchmarks/bench_samples.py --help``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from interleave import interleaved  # benchmarks/interleave.py, beside this script

import tridiff
from tridiff.methods.samples import differentiate_samples

N_POINTS = 10**6
FUNCTIONS = {
    "abs": (np.abs, np.sign),  # the lab's kink: f' is ±1 beside 0
    "sin": (np.sin, np.cos),
    # ~600 samples a period: the third differences change sign every ~300 samples, where detection must look
    "sin(1000x)": (lambda x: np.sin(1000 * x), lambda x: 1000 * np.cos(1000 * x)),
}


@dataclass(frozen=True)
class CaseTiming:
    """One case's milliseconds per call over the rounds, and the np.gradient case it is compared with."""

    case: str
    baseline: str  # the np.gradient case it is compared with ('' for np.gradient itself)
    samples_ms: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(np.median(self.samples_ms))

    @property
    def iqr(self) -> float:
        q75, q25 = np.percentile(self.samples_ms, [75, 25])
        return float(q75 - q25)


def cases(y: np.ndarray, x: np.ndarray, h: float) -> dict[str, tuple[str, Callable]]:
    """name -> (baseline name, call)."""
    return {
        "y.copy()": ("", lambda: y.copy()),
        "np.gradient(y, h)": ("", lambda: np.gradient(y, h)),
        "ds(y, spacing=h)": ("np.gradient(y, h)", lambda: differentiate_samples(y, spacing=h)),
        "ds(y, spacing=h, find_kinks=False)": ("np.gradient(y, h)",
                                               lambda: differentiate_samples(y, spacing=h, find_kinks=False)),
        "np.gradient(y, x)": ("", lambda: np.gradient(y, x)),
        "ds(y, x)": ("np.gradient(y, x)", lambda: differentiate_samples(y, x)),
        "ds(y, x, find_kinks=False)": ("np.gradient(y, x)",
                                       lambda: differentiate_samples(y, x, find_kinks=False)),
        "ds(y, x, full=True)": ("np.gradient(y, x)", lambda: differentiate_samples(y, x, full=True)),
    }


def time_cases(calls: dict[str, tuple[str, Callable]], rounds: int) -> list[CaseTiming]:
    """Each call once per round, in a new random order every round, after one warm-up call each."""
    runs = [call for _, call in calls.values()]
    for run in runs:
        run()
    seconds = interleaved(runs, rounds)
    return [CaseTiming(name, baseline, tuple(1e3 * t for t in s))
            for (name, (baseline, _)), s in zip(calls.items(), seconds)]


def print_timings(title: str, timings: list[CaseTiming]) -> None:
    by_name = {t.case: t for t in timings}
    print(f"\n{title}")
    print(f"  {'case':38} {'median ms':>10} {'IQR ms':>8} {'ratio':>7}  compared with")
    for t in timings:
        ratio = f"{t.median / by_name[t.baseline].median:7.2f}" if t.baseline else " " * 7
        print(f"  {t.case:38} {t.median:10.2f} {t.iqr:8.2f} {ratio}  {t.baseline}")


def accuracy_rows(n: int) -> list[tuple[str, str, float, float]]:
    """(function, method, max error, max error at the samples beside the kink or NaN)."""
    x = np.linspace(-5, 5, n)
    rows = []
    for name, (f, df) in FUNCTIONS.items():
        y, exact = f(x), df(x)
        beside = np.flatnonzero(np.abs(x) < (x[1] - x[0])) if name == "abs" else None
        results = {
            "np.gradient(y, x)": np.gradient(y, x),
            "np.gradient(y, x, edge_order=2)": np.gradient(y, x, edge_order=2),
            **{f"ds(y, x, accuracy={p})": differentiate_samples(y, x, accuracy=p) for p in (2, 4, 6)},
        }
        for method, values in results.items():
            error = np.abs(values - exact)
            rows.append((name, method, float(np.nanmax(error)),
                         float(error[beside].max()) if beside is not None else float("nan")))
    return rows


def print_accuracy(n: int) -> None:
    print(f"\nAccuracy on linspace(-5, 5, {n}) against the exact derivative")
    print(f"  {'f':10} {'method':34} {'max error':>10} {'beside the kink':>16}")
    for name, method, worst, beside in accuracy_rows(n):
        kink = f"{beside:16.2e}" if not np.isnan(beside) else " " * 16
        print(f"  {name:10} {method:34} {worst:10.2e} {kink}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=41, help="timed rounds (default 41; --quick: 11)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("-n", type=int, default=N_POINTS, help="samples (default 10**6)")
    args = parser.parse_args(argv)
    rounds = 11 if args.quick else args.rounds

    print(f"tridiff {tridiff.__version__}, numpy {np.__version__}, python {platform.python_version()}, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}")
    start = time.perf_counter()
    x = np.linspace(-5, 5, args.n)
    h = float(x[1] - x[0])
    for name, (f, _) in FUNCTIONS.items():
        y = f(x)
        print_timings(f"{name}: {args.n} samples, {rounds} rounds", time_cases(cases(y, x, h), rounds))
    print_accuracy(args.n)
    print_accuracy(100)
    print(f"\nload {os.getloadavg()[0]:.2f}; total {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
