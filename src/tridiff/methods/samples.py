"""Derivatives of sampled data: ``np.gradient``'s results, higher accuracy, and kinks found.

``y`` holds f sampled at coordinates ``x`` (uniform or not) along one axis of an n-d array.

Stencils. Sample i gets the derivative of the polynomial through the samples of a window
around it, as finite-difference weights from Fornberg's algorithm on the window's actual offsets
(:func:`tridiff.methods.numeric.fornberg`; :func:`fornberg_weights` vectorises it over points for
non-uniform grids). Accuracy p, order m: on a uniform grid the centred window has
``2*((m+1)//2) - 1 + p`` points (symmetry gains one order); otherwise, and near the ends where
the window is shifted to fit, it has ``m + p`` points (``m + edge_order`` at the ends when
``edge_order`` is given). For p = 2, m = 1 these are the stencils of ``np.gradient(y, x,
edge_order=2)``, and with ``edge_order=1`` those of ``np.gradient(y, x)``. Weights are applied to
differences ``y[j] - y[i]`` (they sum to 0), which keeps rounding at the level of the data's own.

Kinks. The intervals where f' jumps are found from the data alone (see
:mod:`tridiff.analysis.sampled_kinks`). A sample whose stencil holds such an interval gets instead
the most central stencil of ``m + p`` points that holds none (one-sided next to a kink), or NaN when
there is none. Detection needs 8 samples, in float32 or float64 (float16's rounding hides kinks);
kinks in the first or last three intervals are not seen, and neither are jumps of f'' and higher
derivatives when ``order >= 2``.

Speed. The samples are processed in blocks of ``TILE`` values (overlapping a little) so that
temporaries stay in cache; a uniform grid takes shifted slices with no allocation. Each block is
screened for the places where the kink test could cut, and the full test runs once, on those
places of all blocks.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..analysis.sampled_kinks import MIN_SAMPLES_FOR_KINKS, PIECE, confirm, screen
from ..compiler.chunked import as_chunked, is_chunked, is_lazy, map_reasons, value_dtype
from ..definition.points import as_points
from ..errors import TridiffError
from ..reasons import BETWEEN_KINKS, KINK, NOT_FINITE_SAMPLES, reasons_of
from ..translation import current_language
from .numeric import fornberg

ACCURACIES = (2, 4, 6, 8)
ORDERS = (1, 2, 3, 4)
EDGE_ORDERS = (1, 2)  # np.gradient's
TILE = 65536  # values per block: fewer blocks cost less Python; more overflow the cache



@dataclass(frozen=True)
class SampleDerivative:
    """The derivative of sampled data, with where it straddled a kink and where it does not exist.

    Attributes:
        values: the derivative (``np.gradient``-like: y's shape), NaN where it does not exist.
        kinks: True at samples whose centred stencil straddled a kink (their values come from a
            stencil on one side of it, or are NaN).
        codes: why a value is NaN, per sample: a code of :mod:`tridiff.reasons` (0: it exists).
    """

    values: np.ndarray
    kinks: np.ndarray
    codes: np.ndarray
    _texts: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def reasons(self) -> np.ndarray:
        """Why a value is NaN, per sample ('' where it exists), in the current language; an object
        array of str (lazy for a Dask array of samples).

        Made on first use in each language: an object array costs more than the derivative itself."""
        language = current_language()
        if language not in self._texts:
            self._texts[language] = map_reasons(self.codes) if is_chunked(self.codes) else reasons_of(self.codes)
        return self._texts[language]

    @property
    def undefined(self) -> np.ndarray:
        """True where the derivative does not exist (``values`` is NaN with a reason)."""
        return self.codes != 0


def differentiate_samples(y, x=None, *, spacing=None, accuracy: int = 2, axis: int = -1, order: int = 1,
                          edge_order: int | None = None, full: bool = False, find_kinks: bool = True):
    """The ``order``-th derivative of samples ``y`` along ``axis``, honest at kinks.

    Args:
        y: samples of f, an array of any shape (ints become float64; float16 and float32 are kept, as
            by ``np.gradient``).
        x: the coordinates along ``axis``: a 1-d array of ``y.shape[axis]`` numbers, strictly
            increasing or decreasing, uniform or not; a scalar is taken as the spacing (as by
            ``np.gradient``). None: use ``spacing``.
        spacing: the uniform spacing when x is None (default 1.0).
        accuracy: order of accuracy, 2, 4, 6 or 8: the error falls like ``h**accuracy``.
        axis: the axis of y along which to differentiate.
        order: the derivative's order, 1 to 4.
        edge_order: the order of accuracy at the samples too near an end for the interior stencil:
            1 or 2, as in ``np.gradient`` (whose default is 1), with windows of ``order + edge_order``
            samples at the end; 1 accepts two samples along the axis. None (default): ``accuracy``.
        full: return a :class:`SampleDerivative` (values, kinks, reasons) instead of the values.
        find_kinks: look for kinks (default; not in float16 data, too coarse to tell them from
            rounding). False: plain stencils everywhere, like ``np.gradient``, several times faster
            on a uniform grid.

    Returns:
        An array of y's shape; with ``accuracy=2, order=1`` it equals ``np.gradient(y, x,
        axis=axis, edge_order=k)`` (to rounding), k the ``edge_order`` given (2 if None), except
        beside kinks, where the value is the one-sided derivative on the sample's side (NaN at a kink
        that falls on a sample).

    Raises:
        TridiffError: y or x not usable, ``spacing <= 0``, too few samples for the stencil, or
            ``axis``, ``accuracy``, ``order``, ``edge_order`` out of range.

    >>> import numpy as np
    >>> from tridiff.methods.samples import differentiate_samples
    >>> x = np.linspace(-5, 5, 100)         # 0 lies between x[49] and x[50]
    >>> np.gradient(np.abs(x), x)[48:52]    # central differences average across the kink
    array([-1. , -0.5,  0.5,  1. ])
    >>> differentiate_samples(np.abs(x), x)[48:52]
    array([-1., -1.,  1.,  1.])
    >>> r = differentiate_samples(np.abs(x), x, full=True)
    >>> np.flatnonzero(r.kinks)
    array([49, 50])
    >>> differentiate_samples([1.0, 3.0], edge_order=1)   # np.gradient([1.0, 3.0])
    array([2., 2.])
    """
    if is_lazy(y):
        return _chunked(as_chunked(y, "y"), x, spacing, accuracy, axis, order, edge_order, full, find_kinks)
    return _differentiate(y, x, spacing, accuracy, axis, order, edge_order, full, find_kinks)


def _differentiate(y, x, spacing, accuracy, axis, order, edge_order, full, find_kinks, uniform=None):
    """:func:`differentiate_samples` in memory; ``uniform=False``: x's spacings are taken as unequal
    even where they are equal (a chunk of coordinates that are unequal as a whole)."""
    ys, axis, dtype = _samples(y, axis)
    plan = _plan(ys.shape[axis], x, spacing, order, accuracy, edge_order, axis, uniform)
    out = np.empty_like(ys)
    yl, ol = _along(ys, axis, plan), _along(out, axis, plan)
    flagged, why = (np.empty(0, np.intp),) * ys.ndim, np.empty(0, np.uint8)
    # NaN or infinite y, or spacings so small their products underflow: NaN values, with a reason;
    # the arithmetic on them warns of nothing the result does not say.
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if ys.size:
            # float16 rounds so coarsely that the kink test's floor (ROUNDING eps |y| / h) is above every
            # kink's misses: it could only cut beside one, where its neighbours' |y| is smaller.
            detect = bool(find_kinks) and plan.n >= MIN_SAMPLES_FOR_KINKS and dtype != np.float16
            cuts = _interior(yl, ol, plan, detect, float(np.finfo(ys.dtype).eps))
            _edges(yl, ol, plan)
            flagged, why = _repair(yl, ol, plan, cuts)
            # A centred stencil of odd order gives y_i no weight: a NaN or infinite sample would get
            # a finite derivative (np.gradient's). The sum of squares is not finite if some y is not.
            if plan.x is None and plan.order % 2 and not np.isfinite(np.dot(ys.ravel(), ys.ravel())):
                out[~np.isfinite(ys)] = np.nan
        out = out.astype(dtype, copy=False)
        # A derivative too large for the float type is no value either (np.gradient gives inf): NaN,
        # with the reason. One reduction finds whether any is, as above.
        if out.size and not np.isfinite(np.dot(out.ravel(), out.ravel())):
            out[np.isinf(out)] = np.nan
    if not full:
        return out
    kinks = np.zeros(ys.shape, bool)
    _along(kinks, axis, plan)[flagged] = True
    codes = np.where(np.isfinite(out), np.uint8(0), np.uint8(NOT_FINITE_SAMPLES))
    _along(codes, axis, plan)[flagged] = np.where(why != 0, why, _along(codes, axis, plan)[flagged])
    return SampleDerivative(out, kinks, codes)


# -- chunked samples (Dask) -------------------------------------------------------------------------

#: Samples a chunk borrows from each neighbour along the axis. Every value depends on samples at
#: most a stencil (≤ 13 samples), the kink test's reach (12 intervals) and its confirming window
#: (``BLOCK`` = 32 intervals) away: within this halo a chunk's values, kinks and reasons are the
#: in-memory ones (tests put kinks and NaN on chunk edges).
HALO = 128


def _chunked(y, x, spacing, accuracy, axis, order, edge_order, full, find_kinks):
    """differentiate_samples on a Dask array: one task per chunk with its halo (``map_overlap``),
    lazily. The values (and, for ``full``, the kinks and reason codes packed in the imaginary part:
    one task computes all three) are the in-memory ones."""
    axis = _axis(axis, y.ndim)
    coordinates = x is not None and np.ndim(x) != 0
    _plan(y.shape[axis], None if coordinates else x, spacing, order, accuracy, edge_order, axis)  # the arguments
    if min(y.chunks[axis]) < HALO:
        y = y.rechunk({axis: _at_least(y.chunks[axis], HALO)})  # a neighbour lends at most its own length
    dtype = np.dtype(np.float16) if y.dtype == np.float16 else value_dtype(y.dtype)
    options = dict(spacing=spacing, accuracy=accuracy, axis=axis, order=order, edge_order=edge_order,
                   find_kinks=find_kinks)
    out = np.result_type(dtype, np.complex64) if full else dtype
    # one chunk along the axis (short data) borrows from no neighbour
    depth = {a: HALO if a == axis and len(y.chunks[axis]) > 1 else 0 for a in range(y.ndim)}
    if coordinates:
        if spacing is not None:
            raise TridiffError("give x (coordinates) or spacing, not both")
        import dask.array  # y is a Dask array: Dask is there; two arrays overlap only through its module

        xs, uniform = _chunked_coordinates(x, y, axis)
        packed = dask.array.map_overlap(_block, y, xs, depth=[depth, depth], boundary="none", dtype=out,
                                        full=full, uniform=uniform, **options)
    else:
        packed = y.map_overlap(_block, depth=depth, boundary="none", dtype=out, full=full, x=x, **options)
    if not full:
        return packed
    kinds = packed.imag
    return SampleDerivative(packed.real.astype(dtype), kinds % 2 == 1, (kinds // 2).astype(np.uint8))


def _at_least(chunks: tuple[int, ...], size: int) -> tuple[int, ...]:
    """``chunks`` with each one shorter than ``size`` merged into a neighbour."""
    out: list[int] = []
    for c in chunks:
        if out and (c < size or out[-1] < size):
            out[-1] += c
        else:
            out.append(c)
    return tuple(out)


def _chunked_coordinates(x, y, axis: int):
    """x as a Dask array shaped to broadcast against y (its coordinates along ``axis``, in y's chunks),
    checked as a whole (finite, strictly monotonic, one per sample): ``(x, uniform)``, uniform if its
    spacings are all equal, as the in-memory path decides it, so that no chunk decides otherwise."""
    import dask.array  # y is a Dask array: Dask is there

    if np.ndim(x) != 1 or np.shape(x)[0] != y.shape[axis]:
        raise TridiffError(f"x must be 1-d with one coordinate per sample along axis {axis} ({y.shape[axis]}), "
                           f"got shape {np.shape(x)}")
    x = as_chunked(x, "x") if is_chunked(x) else dask.array.from_array(as_points(x, "x").flat)
    x = x.astype(np.float64).rechunk((y.chunks[axis],))
    steps = x[1:] - x[:-1]
    low, high, finite = dask.compute(steps.min(), steps.max(), np.isfinite(x).all())
    if not finite:
        raise TridiffError("x must be finite")
    if not (low > 0 or high < 0):
        raise TridiffError("x must be strictly increasing or strictly decreasing")
    return x.reshape(tuple(-1 if a == axis else 1 for a in range(y.ndim))), bool(low == high)


def _block(chunk, xs=None, *, x=None, spacing=None, full: bool, uniform=None, accuracy, axis, order, edge_order,
           find_kinks):
    """One chunk (with its halo) in memory: the values, or ``values + 1j * (2 * code + kink)``."""
    r = _differentiate(chunk, x if xs is None else xs.ravel(), spacing, accuracy, axis, order, edge_order, full,
                       find_kinks, uniform)
    if not full:
        return r
    return r.values + 1j * (2.0 * r.codes + r.kinks)


# -- the plan: validated inputs and the stencils' shapes ---------------------------------------------

@dataclass(frozen=True)
class _Plan:
    n: int  # samples along the axis
    order: int
    accuracy: int
    x: np.ndarray | None  # increasing coordinates (None: uniform)
    h: float  # the spacing when uniform
    reverse: bool  # x was decreasing: work on the reversed axis
    width: int  # points of an interior stencil
    left: int  # of which left of the sample
    edge: int  # points of a stencil at an end

    @property
    def right(self) -> int:
        return self.width - 1 - self.left

    @property
    def shifted(self) -> int:
        """Points of a shifted stencil (beside a kink; at an end unless ``edge_order`` is given)."""
        return self.order + self.accuracy


def _plan(n, x, spacing, order, accuracy, edge_order, axis, uniform=None) -> _Plan:
    order = _choice(order, ORDERS, "order", "the derivative's order")
    accuracy = _choice(accuracy, ACCURACIES, "accuracy", "an even order of accuracy")
    if edge_order is None:
        edge, asked = order + accuracy, f"order={order}, accuracy={accuracy}"
    else:
        edge_order = _choice(edge_order, EDGE_ORDERS, "edge_order", "the ends' order of accuracy, or None")
        edge, asked = order + edge_order, f"order={order}, edge_order={edge_order}"
    if n < edge:
        lower = [e for e in EDGE_ORDERS if order + e <= n and order + e < edge]
        fix = f"pass edge_order={lower[-1]} (lower-order ends) or give more samples" if lower else "give more samples"
        raise TridiffError(f"{asked} needs at least {edge} samples along axis {axis}, got {n}: {fix}")
    coords, h, reverse = _coordinates(x, spacing, n, axis, uniform)
    shifted = order + accuracy
    if coords is None:  # centred: symmetry makes 2*((m+1)//2) - 1 + p points accurate to order p
        half = (order + 1) // 2 - 1 + accuracy // 2
        return _Plan(n, order, accuracy, None, h, reverse, 2 * half + 1, half, edge)
    return _Plan(n, order, accuracy, coords, h, reverse, shifted, (shifted - 1) // 2, edge)


def _choice(value, allowed, name, what) -> int:
    integral = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not integral or value not in allowed:
        raise TridiffError(f"{name} must be one of {', '.join(map(str, allowed))} ({what}), got {value!r}")
    return int(value)


def _samples(y, axis) -> tuple[np.ndarray, int, np.dtype]:
    """``(ys, axis, dtype)``: y as float32 or float64, the axis, and the result's dtype (float16 kept)."""
    pts = as_points(y, "y")
    if not pts.shape:
        raise TridiffError("y must be an array of samples (at least 1-d), got a scalar")
    ys = pts.flat.reshape(pts.shape)
    half = np.asarray(y).dtype == np.float16  # as_points widens it: compute in float32, return float16
    return ys, _axis(axis, ys.ndim), np.dtype(np.float16) if half else ys.dtype


def _axis(axis, ndim: int) -> int:
    """``axis`` of y (``ndim`` dimensions) checked, as an index from 0."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TridiffError(f"axis must be an integer (one axis), got {axis!r}")
    if not -ndim <= axis < ndim:
        raise TridiffError(f"axis {axis} is out of range for y with {ndim} dimension(s) (use {-ndim} to {ndim - 1})")
    return operator.index(axis) % ndim


def _coordinates(x, spacing, n, axis, uniform=None) -> tuple[np.ndarray | None, float, bool]:
    """``(x, h, reverse)``: increasing coordinates, or None and the spacing h of a uniform grid."""
    if x is not None and spacing is not None:
        raise TridiffError("give x (coordinates) or spacing, not both")
    if x is None:
        return None, _spacing(1.0 if spacing is None else spacing, "spacing"), False
    pts = as_points(x, "x")
    if not pts.shape:  # a scalar x is the spacing, as in np.gradient(y, 0.1)
        return None, _spacing(pts.flat[0], "x"), False
    if len(pts.shape) != 1 or pts.shape[0] != n:
        raise TridiffError(f"x must be 1-d with one coordinate per sample along axis {axis} ({n}), "
                           f"got shape {pts.shape}")
    xs = np.asarray(pts.flat, dtype=np.float64)
    dx = np.diff(xs)
    low, high = float(dx.min()), float(dx.max())  # NaN if some x is NaN
    if not (math.isfinite(xs[0]) and math.isfinite(xs[-1]) and math.isfinite(low) and math.isfinite(high)):
        bad = np.flatnonzero(~np.isfinite(xs))  # (monotonic x can be infinite only at its ends)
        if bad.size:
            raise TridiffError(f"x must be finite: x[{bad[0]}] is {xs[bad[0]]}")
    if not (low > 0 or high < 0):
        i = int(np.flatnonzero((dx <= 0) if dx[0] > 0 else (dx >= 0))[0])
        raise TridiffError(f"x must be strictly increasing or strictly decreasing: x[{i}] = {xs[i]}, "
                           f"x[{i + 1}] = {xs[i + 1]}")
    reverse = high < 0
    if low == high and uniform is not False:  # np.gradient's rule: equal differences make a uniform grid
        return None, abs(low), reverse
    return (xs[::-1] if reverse else xs), 0.0, reverse


def _spacing(value, name) -> float:
    try:
        h = float(value)
    except (TypeError, ValueError):
        raise TridiffError(f"{name} must be a number, got {value!r}") from None
    if isinstance(value, (bool, np.bool_)) or not (math.isfinite(h) and h > 0):
        raise TridiffError(f"{name} must be a positive finite number, got {value!r}")
    return h


def _along(a: np.ndarray, axis: int, plan: _Plan) -> np.ndarray:
    """A view of ``a`` with the axis last and increasing x: writes land in ``a``."""
    view = np.moveaxis(a, axis, -1)
    return view[..., ::-1] if plan.reverse else view


# -- weights ------------------------------------------------------------------------------------------

# Not numeric.fornberg (exact rationals, one stencil): a non-uniform grid needs per-point weights.
def fornberg_weights(z: np.ndarray, order: int) -> np.ndarray:
    """:func:`tridiff.methods.numeric.fornberg` for many stencils at once, in floating point.

    ``z`` has shape ``(n, ...)``: the n offsets of each stencil from the point where the derivative
    is wanted. Returns the weights, of the same shape.

    >>> fornberg_weights(np.array([[-1.0], [0.0], [2.0]]), 1).ravel()   # -2/3, 1/2, 1/6
    array([-0.66666667,  0.5       ,  0.16666667])
    """
    rows = _fornberg_rows(list(z), order)
    return np.stack([np.broadcast_to(r, z.shape[1:]) for r in rows])


def _fornberg_rows(z: list, order: int) -> list:
    """Fornberg's recurrence on arrays of offsets ``z[i]`` (None: exactly 0, the point itself).

    The same steps as :func:`tridiff.methods.numeric.fornberg`; ``_mul``/``_sub`` skip the terms known to
    be 0 or 1, which for short stencils is most of them, and only ``order`` is kept at the last node.
    """
    n = len(z)
    c = [[None] * (order + 1) for _ in range(n)]  # c[j][k]: weight of node j for derivative k
    c[0][0] = 1.0
    c1 = 1.0
    for i in range(1, n):
        ks = range(min(i, order), -1, -1) if i < n - 1 else [order]
        c2 = 1.0
        for j in range(i):
            c3 = _sub(z[i], z[j])
            c2 = _mul(c2, c3)
            if j == i - 1:  # the new node, from node i-1's weights before they change
                scale = c1 / c2
                for k in ks:
                    lower = _mul(k, c[i - 1][k - 1] if k else None)
                    c[i][k] = _mul(scale, _sub(lower, _mul(z[i - 1], c[i - 1][k])))
            inv = 1.0 / c3
            for k in ks:
                c[j][k] = _mul(inv, _sub(_mul(z[i], c[j][k]), _mul(k, c[j][k - 1] if k else None)))
        c1 = c2
    return [0.0 if row[order] is None else row[order] for row in c]


def _mul(a, b):  # a * b, with None for 0 and no work for a factor 1
    if a is None or b is None:
        return None
    if isinstance(a, (int, float)) and a == 1:
        return b
    return a * b


def _sub(a, b):  # a - b, with None for 0
    if b is None:
        return a
    return -b if a is None else a - b


@lru_cache(maxsize=None)
def _unit_weights(offsets: tuple[int, ...], order: int) -> np.ndarray:
    """Exact weights on a unit grid, as floats."""
    return np.array([float(w) for w in fornberg(offsets, order)])


def _window_weights(plan: _Plan, pos: np.ndarray, start: np.ndarray, w: int) -> np.ndarray:
    """Weights, shape ``(w, P)``, of the windows ``start..start+w-1`` for samples ``pos``."""
    cols = start[:, None] + np.arange(w)
    if plan.x is None:  # uniform: one exact stencil per shift of the window
        table = np.array([_unit_weights(tuple(range(-s, w - s)), plan.order) for s in range(w)]) / _power(plan)
        return table[pos - start].T
    return fornberg_weights((plan.x[cols] - plan.x[pos][:, None]).T, plan.order)


# -- interior: stencils and kink detection, block by block --------------------------------------------

def _interior(yl, ol, plan: _Plan, detect: bool, eps: float) -> np.ndarray:
    """Write the interior stencils' values into ``ol``; return the cut intervals as keys line*n + j.

    Blocks of about ``TILE`` values: ``tile`` samples along the axis (with ``halo`` more each side
    for the stencils and the kink test), times a slab of the first leading axis.
    """
    n, lead = plan.n, yl.shape[:-1]
    tile = min(n, max(TILE // max(math.prod(lead), 1), 4 * PIECE))
    slab = max(TILE // tile, 1) if lead else 1
    halo = plan.width + 12  # the kink test reaches 6 intervals beyond 2 more on each side
    central = []
    if plan.x is None:  # centred weights, k = 1..left: w_{-k} = -w_k (odd orders) or w_k (even)
        unit = _unit_weights(tuple(range(-plan.left, plan.left + 1)), plan.order)[plan.left + 1:]
        central = [float(w / _power(plan)) for w in unit]
    screened = []  # (windows, pairs, scales) of each block, lines and positions in all of y
    for g in range(0, lead[0] if lead else 1, slab):
        ys, os_ = (yl[g:g + slab], ol[g:g + slab]) if lead else (yl, ol)
        # reused for every block's differences on a uniform grid (no allocation: the hot path)
        scratch = [np.empty(ys.shape[:-1] + (min(tile + 2 * halo, n),), yl.dtype) for _ in range(3)] \
            if plan.x is None and detect else []
        first = g * math.prod(lead[1:])  # lines are numbered within the slab, then in all of y (C order)
        for a in range(0, n, tile):
            b = min(a + tile, n)
            lo, hi = max(a - halo, 0), min(b + halo, n)
            yt, xt = ys[..., lo:hi], None if plan.x is None else plan.x[lo:hi]
            i0, i1 = max(a, plan.left), min(b, n - plan.right)
            if i0 < i1:
                _stencil(yt, xt, plan, central, i0 - lo, i1 - lo, os_[..., i0:i1])
            if detect:
                windows, pairs, scales = screen(yt, xt, a - lo, b - lo, eps, scratch)
                screened.append((windows + [first, lo, lo], pairs + [first, lo], scales))
    if not screened:
        return np.empty(0, np.intp)
    windows, pairs, scales = zip(*screened)
    found = confirm(yl, plan.x, np.concatenate(windows), np.concatenate(pairs),
                     None if plan.x is None else np.concatenate(scales), eps)
    return np.unique(found[:, 0] * n + found[:, 1])


def _stencil(yt, xt, plan: _Plan, central: list[float], i0: int, i1: int, out: np.ndarray) -> None:
    """Interior samples ``i0..i1-1`` of a block: weights times differences ``y[i + k] - y[i]``."""
    mid = yt[..., i0:i1]

    def at(k):
        return yt[..., i0 + k:i1 + k]

    if xt is None:
        for k, c in enumerate(central, 1):
            if plan.order % 2:
                term = np.subtract(at(k), at(-k), out=out if k == 1 else None)
            else:  # (y[i+k] - y[i]) + (y[i-k] - y[i]): both differences exact for close values
                term = np.subtract(at(k), mid, out=out if k == 1 else None)
                term += at(-k) - mid
            term *= c
            if k > 1:
                out += term
        return
    if plan.order == 1 and plan.width == 3:  # Fornberg's weights for three points in closed form (np.gradient's)
        h1, h2 = xt[i0:i1] - xt[i0 - 1:i1 - 1], xt[i0 + 1:i1 + 1] - xt[i0:i1]
        span = h1 + h2
        np.subtract(at(1), mid, out=out)
        out *= h1 / (h2 * span)
        out -= (at(-1) - mid) * (h2 / (h1 * span))
        return
    z = [xt[i0 + k:i1 + k] - xt[i0:i1] if k else None for k in range(-plan.left, plan.right + 1)]
    w = _fornberg_rows(z, plan.order)
    first = True
    for k in range(-plan.left, plan.right + 1):
        if k:
            term = np.subtract(at(k), mid, out=out if first else None)
            term *= w[plan.left + k]
            if not first:
                out += term
            first = False


# -- the ends and the samples beside kinks ------------------------------------------------------------

def _edges(yl, ol, plan: _Plan) -> None:
    """Samples too near an end for the interior stencil: a window of ``edge`` points at that end."""
    n = plan.n
    first = min(plan.left, n)  # fewer samples than the interior stencil (edge_order given): all are ends
    pos = np.r_[0:first, max(n - plan.right, first):n]
    if not len(pos):
        return
    lines = math.prod(yl.shape[:-1])
    line = np.repeat(np.arange(lines), len(pos))
    _write(yl, ol, plan, line, np.tile(pos, lines), np.tile(_end_start(plan, pos), lines), plan.edge)


def _end_start(plan: _Plan, pos: np.ndarray) -> np.ndarray:
    """First sample of the end windows of samples ``pos``: as central as fits, mirrored at the right end.

    A window of ``shifted`` points starts at the end; one of ``edge`` points (edge_order given) can
    be narrower than the ends' zone, and moves inward with the sample.
    """
    w, half = plan.edge, (plan.edge - 1) // 2
    return np.where(pos < plan.left, np.clip(pos - half, 0, plan.n - w), np.clip(pos + half, w - 1, plan.n - 1) - w + 1)


def _write(yl, ol, plan: _Plan, line, pos, start, w) -> None:
    """Values of the windows ``start..start+w-1`` at samples ``(line, pos)``, into ``ol``."""
    lead = _lead(line, yl.shape[:-1])
    weights = _window_weights(plan, pos, start, w)
    centre = yl[lead + (pos,)]
    total = np.zeros(len(pos), dtype=np.float64)
    for k in range(w):
        total += weights[k] * (yl[lead + (start + k,)] - centre)
    ol[lead + (pos,)] = total


def _repair(yl, ol, plan: _Plan, keys: np.ndarray):
    """Give the samples whose stencil holds a cut interval the most central clean stencil, or NaN.

    Returns the index of those samples in ``yl`` (a tuple for fancy indexing) and their reasons'
    codes (0 where a clean stencil was found).
    """
    n, w = plan.n, plan.shifted
    if not len(keys):
        return (np.empty(0, np.intp),) * yl.ndim, np.empty(0, np.uint8)
    line = keys // n
    near = (keys[:, None] + np.arange(-w, w + 2)).ravel()  # samples that might reach a cut
    line_of = np.repeat(line, w + w + 2)
    near = np.unique(near[(near >= line_of * n) & (near < line_of * n + n)])
    line, pos = np.divmod(near, n)
    first, last = _default_window(plan, pos)
    nxt = np.searchsorted(keys, line * n + first)  # the first cut at or after the window's start
    straddles = (nxt < len(keys)) & (keys[np.minimum(nxt, len(keys) - 1)] < line * n + last)
    line, pos = line[straddles], pos[straddles]
    # The clean stretch around each sample: between the nearest cuts on either side.
    at = np.searchsorted(keys, line * n + pos)
    has_right = (at < len(keys)) & (keys[np.minimum(at, len(keys) - 1)] < line * n + n)
    right = np.where(has_right, keys[np.minimum(at, len(keys) - 1)] - line * n, n - 1)
    has_left = (at > 0) & (keys[np.maximum(at - 1, 0)] >= line * n)
    left = np.where(has_left, keys[np.maximum(at - 1, 0)] - line * n + 1, 0)
    room = right - left + 1 >= w
    start = np.clip(pos - (w - 1) // 2, left, np.maximum(right - w + 1, left))
    if room.any():
        _write(yl, ol, plan, line[room], pos[room], start[room], w)
    lead = _lead(line, yl.shape[:-1])
    ol[lead + (pos,)] = np.where(room, ol[lead + (pos,)], np.nan)
    why = np.where(room, 0, np.where((left == pos) & (right == pos), KINK,
                                     BETWEEN_KINKS)).astype(np.uint8)
    return lead + (pos,), why


def _power(plan: _Plan) -> np.float64:
    """h^m in NumPy's arithmetic: inf or 0 where it overflows or underflows (spacing=1e200, order 2),
    where Python's floats raise; the values it gives are then NaN with their reason."""
    return np.float64(plan.h) ** plan.order


def _lead(line: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Indices along the leading axes of the lines numbered ``line``."""
    return np.unravel_index(line, shape) if shape else ()


def _default_window(plan: _Plan, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last sample of each sample's stencil before any kink is known."""
    ends = (pos < plan.left) | (pos >= plan.n - plan.right)
    first = np.where(ends, _end_start(plan, pos), pos - plan.left)
    return first, np.where(ends, first + plan.edge - 1, pos + plan.right)
