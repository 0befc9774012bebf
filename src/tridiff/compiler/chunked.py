"""Chunked arrays (Dask's): tridiff's kernels run chunk by chunk, lazily, on whatever runs the graph.

Nothing here imports Dask. A chunked array brings its own ``map_blocks``; what a task carries to a
worker process (a :class:`~tridiff.Function`, a :class:`~tridiff.Derivative`) pickles by its
definition; one defined by text or a SymPy formula is rebuilt there once per process, compiled
kernels and all (see ``Function.__reduce__``). A Zarr array, which has chunks but no lazy operations, is read through
Dask: that needs the ``dask`` extra.
"""

from __future__ import annotations

import numpy as np

from ..errors import TridiffError
from ..reasons import reasons_of
from ..translation import current_language, language


def is_lazy(x) -> bool:
    """A Dask or Zarr array: the everyday NumPy array, number or list is told apart by its type
    alone (this runs on every call of a derivative)."""
    return type(x) not in _EAGER and (is_chunked(x) or is_zarr(x))


_EAGER = frozenset({np.ndarray, float, int, list, tuple, np.float64})


def is_chunked(x) -> bool:
    """True for a Dask array (anything with a task graph, chunks and ``map_blocks``)."""
    return hasattr(x, "__dask_graph__") and hasattr(x, "map_blocks") and hasattr(x, "chunks")


def is_zarr(x) -> bool:
    return type(x).__module__.startswith("zarr") and hasattr(x, "chunks") and hasattr(x, "shape")


def as_chunked(x, name: str = "x"):
    """``x`` as a Dask array of real numbers, checked as in-memory points are (a Zarr array is
    opened lazily, chunk by chunk).

    Raises:
        TridiffError: Dask is missing for a Zarr array, or the dtype is not real numbers.
    """
    if is_zarr(x):
        try:
            import dask.array as da
        except ModuleNotFoundError:
            raise TridiffError(f"{name} is a Zarr array: tridiff reads it chunk by chunk with Dask: "
                               "pip install 'tridiff[dask]'") from None
        x = da.from_zarr(x)
    kind = np.dtype(x.dtype).kind
    if kind not in "iuf":
        raise TridiffError(f"{name} is a chunked array of {x.dtype}: pass real numbers (int or float)")
    return x


def value_dtype(dtype) -> np.dtype:
    """The dtype of values computed at points of ``dtype``, as in memory: float32 and float16 in
    float32, everything else in float64."""
    return np.dtype(np.float32) if np.dtype(dtype) in (np.float16, np.float32) else np.dtype(np.float64)


def map_values(fn, x):
    """``fn`` on each chunk of ``x`` (same shape out): a lazy array of the same chunks."""
    return x.map_blocks(fn, dtype=value_dtype(x.dtype))


def map_rows(fn, points, tail: tuple[int, ...]):
    """``fn`` on each block of rows of ``points`` (shape (..., n): a block keeps all n coordinates),
    each row giving an array of shape ``tail``: a lazy array of shape (...) + ``tail``."""
    whole = points.rechunk({points.ndim - 1: -1})
    chunks = whole.chunks[:-1] + tuple((k,) for k in tail)
    if not tail:  # one number per row (f itself): the coordinates' axis goes
        return whole.map_blocks(fn, dtype=np.float64, chunks=chunks, drop_axis=points.ndim - 1)
    added = list(range(points.ndim - 1, points.ndim + len(tail) - 2))  # the axes beyond one per coordinate
    return whole.map_blocks(fn, dtype=np.float64, chunks=chunks, new_axis=added or None)


def map_outputs(fn, x, count: int, *args) -> list:
    """``fn(chunk, *args)`` returns ``count`` arrays of the chunk's shape (values, or codes that fit
    in them): each as a lazy array, all from one task per chunk (stacked along a new first axis,
    then taken apart)."""
    dtype = value_dtype(x.dtype)
    stacked = x.map_blocks(_stacked, fn, dtype, *args, new_axis=0, chunks=((count,),) + x.chunks, dtype=dtype)
    return [stacked[i] for i in range(count)]


def map_reasons(codes):
    """Reason texts (object arrays) for lazy reason codes, in the language of this call."""
    return codes.map_blocks(_reasons, current_language(), dtype=object)


def _stacked(chunk, fn, dtype, *args):
    return np.stack([np.asarray(a, dtype=dtype) for a in fn(chunk, *args)])


def _reasons(codes, code: str):
    with language(code):
        return reasons_of(codes.astype(np.intp))
