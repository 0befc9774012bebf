"""Validation at the boundary: what ``f(xs)`` and ``d(xs)`` accept, and the shape of what they return.

NumPy semantics: any shape, a scalar or 0-d array gives a NumPy scalar; ints become float64;
float32 stays float32; complex, bool, text and objects that are not numbers are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import TridiffError

_FLOAT64 = np.dtype(np.float64)


@dataclass(frozen=True)
class Points:
    """Evaluation points as one contiguous 1-d array, and how to give results their shape back."""

    flat: np.ndarray
    shape: tuple[int, ...]
    scalar: bool

    def shaped(self, values: np.ndarray):
        out = np.asarray(values)
        if out.shape != self.shape:
            out = out.reshape(self.shape)
        return out[()] if self.scalar else out


def as_points(xs, name: str = "x") -> Points:
    """Check and convert evaluation points.

    >>> as_points(3).flat
    array([3.])
    """
    if type(xs) is float:  # the everyday scalar call, without the checks below (2 µs, not 6)
        return Points(np.array([xs]), (), True)
    if type(xs) is np.ndarray and xs.ndim == 1 and xs.dtype == _FLOAT64 and xs.flags.c_contiguous:
        return Points(xs, xs.shape, False)  # the everyday array: nothing to check or convert
    try:
        arr = np.asarray(xs)
    except Exception as err:  # ragged lists and the like
        raise TridiffError(f"{name} must be numbers or an array of numbers: {err}") from None
    kind = arr.dtype.kind
    if kind == "b":
        raise TridiffError(f"{name} is boolean; pass numbers, e.g. {name}.astype(float)")
    if kind == "c":
        raise TridiffError(f"{name} is complex; tridiff differentiates real functions: pass {name}.real")
    if kind in "US":
        raise TridiffError(f"{name} is text ({arr.dtype}); pass numbers (formulas go to td.function)")
    if kind == "V":
        raise TridiffError(f"{name} has a structured or raw dtype ({arr.dtype}); pass an array of numbers, "
                           "such as one field of it")
    if kind == "O":
        # NumPy would read None as NaN: refuse it, as np.square(None) does.
        if any(v is None or isinstance(v, (str, bytes, bool, complex)) for v in arr.flat):
            raise TridiffError(f"{name} holds None, text, booleans or complex numbers; pass real numbers")
        try:
            arr = arr.astype(np.float64)
        except OverflowError:  # a Python int such as 10**400
            raise TridiffError(f"{name} holds a number too large for a float64 (at most about 1.8e308)") from None
        except (TypeError, ValueError):
            raise TridiffError(f"{name} holds objects that are not numbers") from None
    elif kind in "iu" or (kind == "f" and arr.dtype.itemsize > 8):
        arr = arr.astype(np.float64)
    elif kind == "f" and arr.dtype.itemsize < 4:
        arr = arr.astype(np.float32)
    elif kind not in "f":
        raise TridiffError(f"{name} has unsupported dtype {arr.dtype}")
    if not arr.dtype.isnative:  # big-endian data (from a file, say): JAX computes in the machine's byte order
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return Points(np.ascontiguousarray(arr).reshape(-1), arr.shape, arr.ndim == 0)


@dataclass(frozen=True)
class Rows:
    """Points in n dimensions as an (m, n) contiguous array, and the batch shape to give results."""

    table: np.ndarray
    batch: tuple[int, ...]

    def shaped(self, values: np.ndarray, tail: tuple[int, ...] = ()):
        out = np.asarray(values).reshape(self.batch + tail)
        return out[()] if out.ndim == 0 else out


def as_rows(points, names: tuple[str, ...]) -> Rows:
    """Check points of a function of ``len(names)`` variables: shape (..., n), the last axis the variables.

    >>> as_rows([[1, 2], [3, 4]], ("x", "y")).table.shape
    (2, 2)
    """
    n = len(names)
    pts = as_points(points, "points")
    shape = pts.shape
    if not shape or shape[-1] != n:
        raise TridiffError(
            f"points must have {n} coordinates ({', '.join(names)}) in their last axis, got shape {shape}"
        )
    return Rows(pts.flat.reshape(-1, n), shape[:-1])


def check_integer(name: str, value, smallest: int = 1) -> int:
    """``value`` as an int, refused (naming ``name``) unless it is an integer of at least ``smallest``
    (a bool is refused too: ``True`` is an int to Python, never meant as a count here)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < smallest:
        at_least = "a positive integer" if smallest == 1 else f"an integer of at least {smallest}"
        raise TridiffError(f"{name} must be {at_least}, got {value!r}")
    return int(value)


def check_interval(interval, name: str = "interval") -> tuple[float, float]:
    """``(a, b)`` as floats, or a clear error naming ``name`` unless finite with a < b."""
    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise TridiffError(f"{name} must be two numbers (a, b), got {interval!r}") from None
    if not (np.isfinite(a) and np.isfinite(b) and a < b):
        raise TridiffError(f"{name} must be finite with a < b, got ({a}, {b})")
    return a, b


def json_number(v):
    """A number for JSON: None for None, NaN and ±inf, which JSON cannot write."""
    return None if v is None or not np.isfinite(v) else float(v)
