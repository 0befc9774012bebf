"""Timing done the careful way: setup apart from evaluation, warm-up, repeats, median and spread.

The lab timed each method with one ``time.time()`` shot that mixed compile time into evaluation;
its own note admits ``timeit`` would be better. Everything that tridiff reports as a speed goes
through :func:`measure`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Timing:
    """Seconds per call over repeats: median, quartiles, extremes and how many repeats."""

    median: float
    q25: float
    q75: float
    best: float
    worst: float
    repeat: int

    def to_dict(self) -> dict:
        return {"median": self.median, "q25": self.q25, "q75": self.q75, "best": self.best,
                "worst": self.worst, "repeat": self.repeat}


def measure(fn: Callable[[], object], repeat: int = 7, warmup: int = 1, budget: float | None = None) -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` calls (fewer repeats if ``budget`` seconds run out).

    >>> t = measure(lambda: sum(range(100)), repeat=5)
    >>> t.best <= t.median <= t.worst
    True
    """
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    for _ in range(max(repeat, 1)):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if budget is not None and time.perf_counter() - start > budget and len(times) >= 3:
            break
    q25, median, q75 = np.percentile(times, [25, 50, 75])
    return Timing(float(median), float(q25), float(q75), float(min(times)), float(max(times)), len(times))


def once(fn: Callable[[], object]) -> tuple[float, object]:
    """Seconds taken by a single call, and its result (for one-off costs such as setup)."""
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def cache_bytecode() -> None:
    """Write tridiff's compiled bytecode, as installing a package does, before timing fresh processes.

    An editable install compiles its modules at first import, and not at all where
    ``PYTHONDONTWRITEBYTECODE`` is set: every fresh process would then time Python's compiler (60 ms
    for tridiff's modules), which no installed copy pays.
    """
    import compileall
    from pathlib import Path

    compileall.compile_dir(Path(__file__).resolve().parents[1], quiet=1)


def format_seconds(s: float) -> str:
    """A duration in s, ms or µs to 3 significant digits ('' for NaN: nothing was measured).

    >>> format_seconds(2.5), format_seconds(0.0123), format_seconds(4e-6)
    ('2.5 s', '12.3 ms', '4 µs')
    """
    if not np.isfinite(s):
        return ""
    unit, scale = next((u, k) for u, k in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)) if s >= k or u == "µs")
    return f"{s / scale:.3g} {unit}"
