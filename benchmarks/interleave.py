"""Shuffled rounds for the benchmarks that compare calls with each other in one run.

``tridiff.studies.timing.measure`` times one call after another; here every call runs once per round, in a
new order each round, with the garbage collector off, so drift and noise from the rest of the
machine fall on all the calls alike and their ratios stay fair.
"""

from __future__ import annotations

import gc
import random
import time
from typing import Callable


def interleaved(runs: list[Callable[[], object]], rounds: int, repeats: list[int] | None = None,
                seed: int = 0) -> list[list[float]]:
    """Seconds taken by each of ``runs``, one call per round in shuffled order (warm them up first).

    Run i takes part in the first ``repeats[i]`` rounds only (default: all), so that a slow call
    does not stretch the whole benchmark.

    >>> [len(s) for s in interleaved([lambda: None, lambda: None], 3, repeats=[3, 1])]
    [3, 1]
    """
    repeats = repeats or [rounds] * len(runs)
    samples: list[list[float]] = [[] for _ in runs]
    rng = random.Random(seed)
    gc.collect()
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            order = [i for i in range(len(runs)) if r < repeats[i]]
            rng.shuffle(order)
            for i in order:
                start = time.perf_counter()
                runs[i]()
                samples[i].append(time.perf_counter() - start)
    finally:
        if gc_was_on:
            gc.enable()
    return samples
