"""Benchmark tridiff on a Zarr array larger than memory, on a Dask LocalCluster.

The store: ``np.linspace(-5, 5, N)`` written to a Zarr array on disk (N = 10^9 float64 points, 8 GB;
``--quick``: 10^8), in chunks of 10^7 points (80 MB). The cluster: process workers, one thread each,
4 GiB of memory in all (split between the workers). Each case reads the store and reduces what it
computes to one number (``.sum()``), so nothing of the size of the input is kept:

- reference: dask's own ``x + 0`` over the same store (reading and one pass of arithmetic);
- ``td.derivative(f)(x)`` for the lab's exp(-2x) + 3 sin(3x) and |x| + sin x cos x (kinks checked).

Reported: seconds, points per second, the ratio to the reference measured in the same run, and the
largest resident memory of any worker (its peak, from the operating system), for 1 and 2 workers.
Before timing, the derivative of one chunk-sized slice read back from the store is checked equal to
NumPy's answer on the same slice. Timings are printed, never asserted.

``python benchmarks/bench_dask.py [--quick] [--points N] [--store DIR] [--keep]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time

import dask
import dask.array as da
import numpy as np
import zarr
from dask.distributed import Client, LocalCluster

import tridiff as td

CHUNK = 10**7
MEMORY = 4 * 2**30
FUNCTIONS = ("exp(-2*x) + 3*sin(3*x)", "abs(x) + sin(x)*cos(x)")


def write_store(path: str, n: int) -> None:
    """np.linspace(-5, 5, n) as a Zarr array of float64 in chunks of CHUNK, written chunk by chunk."""
    x = da.linspace(-5.0, 5.0, n, chunks=CHUNK)
    with dask.config.set(scheduler="threads"):
        x.to_zarr(path, overwrite=True)


def peak_rss() -> int:
    """The largest resident memory this process has had, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def timed(client: Client, lazy) -> tuple[float, float]:
    start = time.perf_counter()
    value = client.compute(lazy, sync=True)
    return time.perf_counter() - start, float(value)


def check_a_slice(path: str) -> None:
    store = zarr.open_array(path, mode="r")
    piece = np.asarray(store[CHUNK - 5:2 * CHUNK + 5])  # across a chunk edge
    for text in FUNCTIONS:
        d = td.derivative(text)
        lazy = d(da.from_zarr(path)[CHUNK - 5:2 * CHUNK + 5]).compute(scheduler="threads")
        eager = d(piece)
        assert np.array_equal(np.isnan(lazy), np.isnan(eager)), text
        assert np.allclose(lazy, eager, rtol=1e-13, atol=1e-13, equal_nan=True), text
    print("checked: a slice across a chunk edge read from the store equals NumPy's answer on it")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="10^8 points (800 MB) instead of 10^9")
    p.add_argument("--points", type=int, help="the store's number of points (overrides --quick)")
    p.add_argument("--store", help="where to write the Zarr store (default: a temporary folder, removed after)")
    p.add_argument("--keep", action="store_true", help="keep the store (reused by a later run with --store)")
    args = p.parse_args()
    n = args.points or (10**8 if args.quick else 10**9)
    folder = args.store or tempfile.mkdtemp(prefix="tridiff-bench-dask-")
    path = os.path.join(folder, "x.zarr")
    print(f"tridiff {td.__version__}, dask {dask.__version__}, zarr {zarr.__version__}; {platform.machine()}, "
          f"{os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    try:
        if not os.path.exists(path) or zarr.open_array(path, mode="r").shape != (n,):
            start = time.perf_counter()
            write_store(path, n)
            print(f"wrote {n:,} float64 points ({8 * n / 1e9:.1f} GB) to {path} in {time.perf_counter() - start:.0f} s")
        check_a_slice(path)
        rows = []
        for workers in (1, 2):
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=MEMORY // workers,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                x = da.from_zarr(path)
                reference, _ = timed(client, (x + 0).sum())
                rows.append((workers, "dask: x + 0", reference, 1.0))
                for text in FUNCTIONS:
                    seconds, _ = timed(client, td.derivative(text)(x).sum())
                    rows.append((workers, f"td.derivative({text!r})(x)", seconds, seconds / reference))
                peak = max(client.run(peak_rss).values())
                rows.append((workers, "peak resident memory of a worker", peak / 2**30, None))
        print(f"\n{n:,} points in chunks of {CHUNK:,}, {MEMORY / 2**30:.0f} GiB for the workers in all")
        print(f"{'workers':>7}  {'case':<58} {'seconds':>9} {'Mpoints/s':>10} {'ratio':>7}")
        for workers, case, seconds, ratio in rows:
            if ratio is None:
                print(f"{workers:>7}  {case:<58} {seconds:>8.2f} GiB")
            else:
                print(f"{workers:>7}  {case:<58} {seconds:>9.2f} {n / seconds / 1e6:>10.0f} {ratio:>6.2f}x")
    finally:
        if not args.keep and not args.store:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
