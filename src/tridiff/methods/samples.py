"""Derivatives of sampled data: ``np.gradient``'s results, higher accuracy, and kinks found.

``y`` holds f sampled at coordinates ``x`` (uniform or not) along one axis of an n-d array.

Stencils. Sample i gets the derivative of the polynomial through the samples of a window
around it, as finite-difference weights from Fornberg's algorithm on the window's actual offsets
(:func:`tridiff.methods.numeric.fornberg`; :func:`fornberg_weights` vectorises it over points for
non-uniform grids). Accuracy p, order m: on a uniform grid the centred window has
``2*((m+1)//2) - 1 + p`` points (symmetry gains one order); otherwise, and near the ends where
the window is shifted to fit, it has ``m + p`` points. For p = 2, m = 1 these are the stencils
of ``np.gradient(y, x, edge_order=2)``. Weights are applied to differences ``y[j] - y[i]`` (they sum
to 0), which keeps rounding at the level of the data's own.

Kinks. Between samples the slopes ``s_j`` (over interval j) follow f' smoothly: the line through
two slopes on the left of interval j predicts ``s_j`` up to O(h^2 f'''), and so does the line
through two slopes on its right. The misses ``a_j`` (from the left) and ``b_j`` (from the right)
are third differences of y. A kink (a jump J of f') inside interval j makes both miss by about J,
with opposite signs, a jump of f between two samples by about the jump/h, with the same sign,
while the same predictions one interval further out (``a_{j-1}``, ``b_{j+1}``) stay clean. Interval
j is cut when ``|a_j| + |b_j|``

* exceeds ``KINK_RATIO`` times ``|a_{j-1}| + |b_{j+1}|`` (smooth f: the ratio is about h f''''/f''',
  below 1 wherever the grid resolves f) and, on an uneven grid, what smooth f with the f''' those
  misses show would miss over interval j's own spacings (beside a gap much wider than its
  neighbours smooth f misses more),
* exceeds what a jump of f'' inside the interval could cause (f stays C¹ there: ``x*abs(x)``),
* exceeds rounding (``ROUNDING * eps * |y| / h``), and
* is the largest of the intervals within two that pass these tests (a kink's neighbours see part
  of it).

From the misses' split the kink's place in the interval is ``theta = |b_j| / (|a_j| + |b_j|)``; a
kink within ``AT_SAMPLE`` spacings of a sample is taken to be at it (f' is undefined there: NaN).
Kinks a few intervals apart hide each other from the first test, but still make misses far above
those 4 to 6 intervals away (``CLUSTER_RATIO``): such misses that no kink found within two
intervals explains (by the misses of a ramp or a step on the grid's own spacings) are cut too.
Kinks within about 2.5 spacings of each other may be taken for one.

A sample whose stencil holds a cut interval gets instead the most central stencil of ``m + p``
points that holds none (one-sided next to a kink), or NaN when there is none. Detection needs 8
samples; kinks in the first or last three intervals are not seen, and neither are jumps of f''
and higher derivatives when ``order >= 2``.

Speed. The samples are processed in blocks of ``TILE`` values (overlapping a little) so that
temporaries stay in cache; a uniform grid takes shifted slices with no allocation. Each block is
screened for the places where the full test could cut (see :func:`_screen`): past the rounding
floor (on a fine grid, only near the zeros of y) and near a change of sign of the third
differences (on data that resolves f, near the zeros of f'''). The full test then runs once, on
those places of all blocks.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from ..definition.points import as_points
from ..errors import TridiffError
from ..reasons import BETWEEN_KINKS, KINK, NOT_FINITE_SAMPLES, reasons_of
from .numeric import fornberg

ACCURACIES = (2, 4, 6, 8)
ORDERS = (1, 2, 3, 4)
KINK_RATIO = 10.0  # a cut interval's misses exceed 10x those one interval further out
AT_SAMPLE = 0.05  # a kink within 0.05 spacings of a sample is taken to be at the sample
ROUNDING = 1000.0  # misses below 1000 eps |y| / h are rounding, never a kink
CLUSTER_RATIO = 30.0  # unexplained misses 30x those 4-6 intervals away: kinks too close to tell apart
SHADOW = 0.25  # the share of a kink's misses its neighbours may exceed the prediction by
MIN_SAMPLES_FOR_KINKS = 8
PIECE = 256  # intervals screened together
BLOCK = 32  # intervals of each window the full test runs on
SPARSE = 16  # the pairs of Q changing sign are looked at one by one when fewer than 1 in 16 intervals
TILE = 32768  # values per block



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

    @cached_property
    def reasons(self) -> np.ndarray:
        """Why a value is NaN, per sample ('' where it exists); an object array of str.

        Made on first use: an object array costs more than the derivative itself."""
        return reasons_of(self.codes)

    @property
    def undefined(self) -> np.ndarray:
        """True where the derivative does not exist (``values`` is NaN with a reason)."""
        return self.codes != 0


def differentiate_samples(y, x=None, *, spacing=None, accuracy: int = 2, axis: int = -1, order: int = 1,
                          full: bool = False, find_kinks: bool = True):
    """The ``order``-th derivative of samples ``y`` along ``axis``, honest at kinks.

    Args:
        y: samples of f, an array of any shape (ints become float64; float32 stays float32).
        x: the coordinates along ``axis``: a 1-d array of ``y.shape[axis]`` numbers, strictly
            increasing or decreasing, uniform or not; a scalar is taken as the spacing (as by
            ``np.gradient``). None: use ``spacing``.
        spacing: the uniform spacing when x is None (default 1.0).
        accuracy: order of accuracy, 2, 4, 6 or 8: the error falls like ``h**accuracy``.
        axis: the axis of y along which to differentiate.
        order: the derivative's order, 1 to 4.
        full: return a :class:`SampleDerivative` (values, kinks, reasons) instead of the values.
        find_kinks: look for kinks (default). False: plain stencils everywhere, like
            ``np.gradient``, several times faster on a uniform grid.

    Returns:
        An array of y's shape; with ``accuracy=2, order=1`` it equals ``np.gradient(y, x,
        axis=axis, edge_order=2)`` (to rounding) except beside kinks, where the value is the
        one-sided derivative on the sample's side (NaN at a kink that falls on a sample).

    Raises:
        TridiffError: y or x not usable, ``spacing <= 0``, too few samples for the stencil, or
            ``axis``, ``accuracy``, ``order`` out of range.

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
    """
    ys, axis = _samples(y, axis)
    plan = _plan(ys.shape[axis], x, spacing, order, accuracy, axis)
    out = np.empty_like(ys)
    yl, ol = _along(ys, axis, plan), _along(out, axis, plan)
    flagged, why = (np.empty(0, np.intp),) * ys.ndim, np.empty(0, np.uint8)
    # NaN or infinite y: NaN or infinite values, with a reason; the kink test's own arithmetic on
    # them warns of nothing the result does not say.
    with np.errstate(invalid="ignore", over="ignore"):
        if ys.size:
            detect = bool(find_kinks) and plan.n >= MIN_SAMPLES_FOR_KINKS
            cuts = _interior(yl, ol, plan, detect, float(np.finfo(ys.dtype).eps))
            _edges(yl, ol, plan)
            flagged, why = _repair(yl, ol, plan, cuts)
            # A centred stencil of odd order gives y_i no weight: a NaN or infinite sample would get
            # a finite derivative (np.gradient's). The sum of squares is not finite if some y is not.
            if plan.x is None and plan.order % 2 and not np.isfinite(np.dot(ys.ravel(), ys.ravel())):
                out[~np.isfinite(ys)] = np.nan
    if not full:
        return out
    kinks = np.zeros(ys.shape, bool)
    _along(kinks, axis, plan)[flagged] = True
    codes = np.where(np.isfinite(out), np.uint8(0), np.uint8(NOT_FINITE_SAMPLES))
    _along(codes, axis, plan)[flagged] = np.where(why != 0, why, _along(codes, axis, plan)[flagged])
    return SampleDerivative(out, kinks, codes)


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

    @property
    def right(self) -> int:
        return self.width - 1 - self.left

    @property
    def shifted(self) -> int:
        """Points of a shifted stencil (near an end or a kink)."""
        return self.order + self.accuracy


def _plan(n, x, spacing, order, accuracy, axis) -> _Plan:
    order = _choice(order, ORDERS, "order", "the derivative's order")
    accuracy = _choice(accuracy, ACCURACIES, "accuracy", "an even order of accuracy")
    shifted = order + accuracy
    if n < shifted:
        raise TridiffError(f"order={order}, accuracy={accuracy} needs at least {shifted} samples along axis "
                           f"{axis}, got {n}: lower the accuracy or give more samples")
    coords, h, reverse = _coordinates(x, spacing, n, axis)
    if coords is None:  # centred: symmetry makes 2*((m+1)//2) - 1 + p points accurate to order p
        half = (order + 1) // 2 - 1 + accuracy // 2
        return _Plan(n, order, accuracy, None, h, reverse, 2 * half + 1, half)
    return _Plan(n, order, accuracy, coords, h, reverse, shifted, (shifted - 1) // 2)


def _choice(value, allowed, name, what) -> int:
    integral = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not integral or value not in allowed:
        raise TridiffError(f"{name} must be one of {', '.join(map(str, allowed))} ({what}), got {value!r}")
    return int(value)


def _samples(y, axis) -> tuple[np.ndarray, int]:
    pts = as_points(y, "y")
    if not pts.shape:
        raise TridiffError("y must be an array of samples (at least 1-d), got a scalar")
    ys = pts.flat.reshape(pts.shape)
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TridiffError(f"axis must be an integer (one axis), got {axis!r}")
    if not -ys.ndim <= axis < ys.ndim:
        raise TridiffError(f"axis {axis} is out of range for y with {ys.ndim} dimension(s) "
                           f"(use {-ys.ndim} to {ys.ndim - 1})")
    return ys, operator.index(axis) % ys.ndim


def _coordinates(x, spacing, n, axis) -> tuple[np.ndarray | None, float, bool]:
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
    dx = _diff(xs)
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
    if low == high:  # np.gradient's rule: equal differences make a uniform grid
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


def _window_weights(plan: _Plan, pos: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Weights, shape ``(shifted, P)``, of the windows ``start..start+shifted-1`` for samples ``pos``."""
    cols = start[:, None] + np.arange(plan.shifted)
    if plan.x is None:  # uniform: one exact stencil per shift of the window
        table = np.array([_unit_weights(tuple(range(-s, plan.shifted - s)), plan.order)
                          for s in range(plan.shifted)]) / plan.h**plan.order
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
        central = [float(w) / plan.h**plan.order for w in unit]
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
                windows, pairs, scales = _screen(yt, xt, a - lo, b - lo, eps, scratch)
                screened.append((windows + [first, lo, lo], pairs + [first, lo], scales))
    if not screened:
        return np.empty(0, np.intp)
    windows, pairs, scales = zip(*screened)
    found = _confirm(yl, plan.x, np.concatenate(windows), np.concatenate(pairs),
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


def _differences(yt, xt, scratch=None):
    """``(dx, dm, q, Q)``: q ≈ f'' at samples 1..m-2 and its differences Q (unit spacing: dx = None).

    The slopes' misses are ``a_j = dm_{j-1} Q_{j-2}`` and ``b_j = dm_j Q_j``.
    """
    scratch = scratch or [None] * 3
    if xt is None:  # slopes are dy, midpoints 1 apart
        q = _diff(_diff(yt, scratch[0]), scratch[1])
        return None, None, q, _diff(q, scratch[2])
    dx = _diff(xt)
    dm = 0.5 * (dx[..., 1:] + dx[..., :-1])  # distances between the intervals' midpoints
    q = _diff(_diff(yt) / dx) / dm
    return dx, dm, q, _diff(q)


def _screen(yt, xt, j0: int, j1: int, eps: float, scratch: list[np.ndarray]):
    """Where in the intervals j0..j1-1 of a block the full test (:func:`_kink_test`) could cut.

    Returns ``(windows, pairs, scales)``: rows (line, t_from, t_to) of intervals to test whole,
    rows (line, p) of sign changes of Q for :func:`_confirm` to look at, and on a non-uniform grid
    per pair the scales (spread, floor) of its piece (None on a uniform one); t = j - 2 and p count
    from the start of the block.

    With u_t = |Q_t| + |Q_{t+2}| (the misses, up to the spacings) and F_t = ``ROUNDING`` eps |y_{t+2}|
    (at most the floor), a cut at t needs

    * Q of both signs in t-2..t+4: both tests add to the prediction the jump of f'' nearby
      (``corner``, ``corners``), a sum of the Q around t that includes Q_t and Q_{t+2}, which
      outweighs u_t when those Q have one sign; so a pair (Q_p, Q_{p+1}) whose signs differ, for
      some p in t-2..t+3 (on data that resolves f, only near the zeros of f''');
    * a peak, u_t > ``KINK_RATIO`` (|Q_{t-1}| + |Q_{t+3}|) + F_t, or a cluster,
      u_t > ``CLUSTER_RATIO`` min(u_{t-5}, u_{t+5}) + F_t (the misses 4 to 6 away are at least that).

    On a non-uniform grid u_t is scaled by the spread of the spacings and F_t by 1/(max dx min dx).
    Here, by pieces of ``PIECE`` intervals, the floor: nothing is cut where
    ``2 max|Q| max(dx)^2 <= ROUNDING eps min|y|`` (on a fine grid, everywhere but near the zeros of
    y). In the other pieces the pairs are found; where they are dense (noise), the whole pieces
    are to be tested instead.
    """
    m = yt.shape[-1]
    t0, t1 = max(j0 - 2, 0), min(j1 - 2, m - 5)  # t = j - 2 for the testable intervals 2..m-4
    nothing = np.empty((0, 3), np.intp), np.empty((0, 2), np.intp), None if xt is None else np.empty((0, 2))
    if m < MIN_SAMPLES_FOR_KINKS or t0 >= t1:
        return nothing
    dx, _, _, big_q = _differences(yt, xt, scratch)
    starts = np.arange(t0, t1, PIECE)
    bounds = starts.copy()
    bounds[0] = 0  # the first piece from 0, the last to the end: more than they need
    largest = _pieces(np.maximum, np.abs(big_q, out=scratch[0][..., :m - 3] if scratch else None), bounds)
    smallest = np.maximum(np.minimum.reduceat(yt, bounds, axis=-1), -np.maximum.reduceat(yt, bounds, axis=-1))
    np.maximum(smallest, 0.0, out=smallest)  # min|y| in the piece: 0 where y changes sign
    if dx is not None:  # (one line for all)
        wide, narrow = _pieces(np.maximum, dx, bounds), _pieces(np.minimum, dx, bounds)
        largest *= wide**2
        spread, floor_scale = wide / narrow, ROUNDING * eps / (wide * narrow)
    suspect = ~(2 * largest <= ROUNDING * eps * smallest)  # (NaN: suspect)
    if not suspect.any():
        return nothing
    flat = big_q.reshape(-1, m - 3)
    suspect = suspect.reshape(len(flat), -1)
    negative = np.signbit(flat)  # (+0 and NaN count as positive: no sign change missed)
    pairs = negative[:, :-1] != negative[:, 1:]
    if not suspect.all():  # only the pairs of t in a suspect piece
        rim = t0 + 3 + len(starts) * PIECE
        at = np.zeros((len(flat), max(m + 1, rim)), bool)  # at[:, t + 3]: t is in a suspect piece
        at[:, t0 + 3:rim] = np.repeat(suspect, PIECE, axis=1)
        pairs &= at[:, :m - 4] | at[:, 5:m + 1]
    line, p = np.divmod(np.flatnonzero(pairs), m - 4)
    if len(p) * SPARSE > suspect.sum() * PIECE:
        line, piece = np.nonzero(suspect)
        windows = np.stack([line, np.maximum(starts[piece], t0), np.minimum(starts[piece] + PIECE, t1)], 1)
        return windows, nothing[1], nothing[2]
    own = (p + 2 >= t0) & (p - 3 < t1)  # for some t = p-3..p+2 in this block's intervals
    line, p = line[own], p[own]
    if dx is None:
        return nothing[0], np.stack([line, p], 1), None
    piece = np.minimum(np.maximum(p - t0, 0) // PIECE, len(starts) - 1)
    return nothing[0], np.stack([line, p], 1), np.stack([spread[piece], floor_scale[piece]], 1)


def _confirm(yt, xt, windows: np.ndarray, pairs: np.ndarray, scales: np.ndarray | None, eps: float) -> np.ndarray:
    """The full test on the ``windows`` and around the ``pairs`` where it could cut (see :func:`_screen`),
    as rows (line, j); ``yt`` has the lines' samples along its last axis, ``xt`` their coordinates.

    Each pair is looked at for t = p-3..p+2 (those within 8 samples of an end are kept), and the
    full test runs once on the windows of ``BLOCK`` intervals that hold a t left.
    """
    m, lead = yt.shape[-1], yt.shape[:-1]
    line, p = pairs.T
    possible = np.ones((len(p), 6), bool)  # for t = p-3..p+2
    inner = (p >= 8) & (p <= m - 13)
    if inner.any():
        cols = p[inner, None] + np.arange(-8, 13)  # y_{p-8..p+12}: Q_{p-8..p+9}
        rows = yt[_rows(line[inner], lead) + (cols,)]
        _, _, _, big_q = _differences(rows, None if xt is None else xt[cols])
        r = np.abs(big_q)
        u = r[:, :-2] + r[:, 2:]  # u_{p-8+i}
        spread, floor_scale = (1.0, ROUNDING * eps) if scales is None else (scales[inner, :1], scales[inner, 1:])
        centre = u[:, 5:11] * spread
        floor = np.abs(rows[:, 7:13]) * floor_scale  # |y_{t+2}|
        possible[inner] = (centre > KINK_RATIO * (r[:, 4:10] + r[:, 8:14]) + floor) | (
            centre > CLUSTER_RATIO * np.minimum(u[:, :6], u[:, 10:16]) + floor)
    k, o = np.nonzero(possible)
    line, t = line[k], p[k] - 3 + o
    inside = (t >= 0) & (t < m - 5)
    line, block = np.divmod(np.unique(line[inside] * m + t[inside] // BLOCK), m)
    blocks = np.stack([line, block * BLOCK, np.minimum(block * BLOCK + BLOCK, m - 5)], 1)
    return np.concatenate([_test(yt, xt, w[:, 0], w[:, 1], w[:, 2], eps) for w in (windows, blocks)])


def _test(yt, xt, line: np.ndarray, t_from: np.ndarray, t_to: np.ndarray, eps: float) -> np.ndarray:
    """The full test on the intervals ``t_from..t_to - 1`` (t = j - 2) of each line, all at once, as
    rows (line, j): windows of equal width hold them, 8 samples before and 10 after."""
    m, lead = yt.shape[-1], yt.shape[:-1]
    if not len(line):
        return np.empty((0, 2), np.intp)
    width = min(int((t_to - t_from).max()) + 18, m)
    start = np.maximum(np.minimum(t_from + 2 - 8, m - width), 0)
    cols = start[:, None] + np.arange(width)
    part = yt[_rows(line, lead) + (cols,)]
    found = _kink_test(part, None if xt is None else xt[cols], t_from + 2 - start, t_to + 2 - start, eps)
    return np.stack([line[found[:, 0]], found[:, 1] + start[found[:, 0]]], 1)


def _pieces(op, a: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """``op`` over each piece and its two neighbours, line by line: ``a[..., b_{k-1}:b_{k+2}]``.

    The first piece starts at 0 and the last ends at the end of ``a``, which covers the samples
    before and after the pieces that their tests use.
    """
    seg = op.reduceat(a, bounds, axis=-1)
    out = seg.copy()
    op(out[..., 1:], seg[..., :-1], out=out[..., 1:])
    op(out[..., :-1], seg[..., 1:], out=out[..., :-1])
    return out


def _kink_test(yt, xt, j0: np.ndarray, j1: np.ndarray, eps: float) -> np.ndarray:
    """Rows (line, j) of the intervals ``j0[line]..j1[line]-1`` that are cut; see the module's docstring.

    ``yt`` has shape (lines, samples), ``xt`` (if not None) the same, and each line reaches 8
    samples before its j0 and 10 after its j1 (or to the ends of y).
    """
    m = yt.shape[-1]
    dx, dm, q, big_q = _differences(yt, xt)
    a, b, miss = _slope_misses(big_q, dm)  # |a_j| at j - 2 (j = 2..m-2), |b_j| at j (j = 0..m-4)
    # Everything below is indexed by t = j - 2 for the testable intervals j = 2..m-4.
    near = np.full_like(miss, np.inf)  # the misses one interval further out (none: no test)
    near[..., 1:-1] = a[..., :m - 7] + b[..., 4:]
    # The jump of f'' across the interval (q on either side of the misses' Q), which makes misses
    # where f is only C¹; and across two more intervals each way, for the neighbours of such a corner.
    corner = np.abs(q[..., 3:] - q[..., :m - 5])
    wide = np.pad(q, _ends(q, 2), mode="edge")
    corners = np.abs(wide[..., 7:] - wide[..., :m - 5])
    if dx is not None:  # misses weigh Q by the spacings beside the interval: bound them by the widest
        corner *= _window(np.maximum, dx, 0, 2)[..., 1:m - 4]  # dx_{j-1..j+1}
        corners *= _window(np.maximum, np.pad(dx, _ends(dx, 1), mode="edge"), 0, 6)[..., :m - 5]  # j-3..j+3
    near_bar, far_bar = KINK_RATIO * near, CLUSTER_RATIO * _far(miss)  # far: the misses 4-6 intervals away
    if dx is not None:
        # Smooth f misses by about |f'''| times a weight of the spacings (Q_k ~ f''' (x_{k+3} - x_k) / 3),
        # so beside a gap much wider than its neighbours it misses more than they do with no kink there:
        # the miss must also exceed what the neighbours' f''' would miss over this interval's spacings.
        span = xt[..., 3:] - xt[..., :m - 3]
        wa, wb = span * dm[..., 1:], span * dm[..., :-1]
        weight = wa[..., :m - 5] + wb[..., 2:]
        near_weight = weight.copy()  # (no neighbours at the ends: the bar is infinite there anyway)
        near_weight[..., 1:-1] = wa[..., :m - 7] + wb[..., 4:]
        near_bar = np.maximum(near_bar, near * (weight / near_weight))
        far_bar = np.maximum(far_bar, _far(miss / weight) * weight)
    peak = miss > near_bar + corner
    odd = miss > far_bar + corners
    t = np.arange(m - 5)
    own = (t >= np.asarray(j0)[:, None] - 2) & (t < np.asarray(j1)[:, None] - 2)
    if not ((peak & own).any() or (odd & own).any()):  # (peaks beside its own intervals still matter)
        return np.empty((0, 2), np.intp)
    top = _window(np.maximum, np.abs(yt), 0, 5)  # the largest |y| the misses use
    floor = ROUNDING * eps * (top if dx is None else top / _window(np.minimum, dx, 0, 4))
    peak &= miss > near_bar + corner + floor
    odd &= miss > far_bar + corners + floor
    # Only the largest peak within two intervals: a kink's neighbours see part of it.
    rivals = np.pad(np.where(peak, miss, -np.inf), _ends(miss, 2), constant_values=-np.inf)
    peak &= miss >= _window(np.maximum, rivals, 2, 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = b[..., 2:] / miss  # where in the interval a kink lies
    # misses of opposite signs; one sign: a jump of f (signs, not a product, which under- or overflows)
    kink = np.sign(big_q[..., :m - 5]) * np.sign(big_q[..., 2:]) < 0
    cut = peak | (odd & ~_shadows(miss, peak, theta, kink, xt))
    line, t = np.nonzero(cut & own)
    at = (line, t)
    j = t + 2
    at_left = peak[at] & kink[at] & (theta[at] < AT_SAMPLE)  # at sample j: both its intervals are cut
    at_right = peak[at] & kink[at] & (theta[at] > 1 - AT_SAMPLE)  # at sample j + 1
    return np.concatenate([np.stack([line, j], 1), np.stack([line[at_left], j[at_left] - 1], 1),
                           np.stack([line[at_right], j[at_right] + 1], 1)])


def _far(miss: np.ndarray) -> np.ndarray:
    """The misses 4 to 6 intervals away, on the quieter side (inf where there are none)."""
    padded = np.pad(miss, _ends(miss, 6), constant_values=np.inf)
    n = miss.shape[-1]
    left = _window(np.maximum, padded[..., :n + 2], 0, 2)  # t-6..t-4
    right = _window(np.maximum, padded[..., 10:], 0, 2)  # t+4..t+6
    return np.minimum(left, right)


def _shadows(miss, peak, theta, kink, xt) -> np.ndarray:
    """True at peaks and where a miss is no larger than a peak within two intervals explains.

    A kink at theta in interval p adds a ramp J (x - c)_+ to f, a jump of f a step; on their own
    these miss at p-2..p+2 in proportions set by theta and the spacings alone, found here by the
    misses' own formulas on the ramp or step sampled on the grid (uniform grid: 1 - theta,
    |2 theta - 1|, |2 theta - 1|, theta; a step 1/2, 1, 1, 1/2). ``SHADOW`` J is allowed on top
    for curvature.
    """
    explained = peak.copy()
    line, p = np.nonzero(peak)
    if not len(p):
        return explained
    n = miss.shape[-1]
    cols = np.clip(p[:, None] + np.arange(-2, 8), 0, n + 4)  # the samples of the misses at p-2..p+2
    x = cols.astype(np.float64) if xt is None else xt[line[:, None], cols]
    # In interval p (samples p+2, p+3): the kink at theta; a step's misses do not depend on where.
    c = x[:, 4] + np.where(kink[line, p], theta[line, p], 0.5) * (x[:, 5] - x[:, 4])
    model = np.where(kink[line, p][:, None], np.maximum(x - c[:, None], 0.0), (x > c[:, None]) * 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):  # (windows cut short at the ends of y)
        _, dm, _, big_q = _differences(model, None if xt is None else x)
        shares = _slope_misses(big_q, dm)[2]
        shares /= shares[:, 2:3]
    for d in (-2, -1, 1, 2):  # the interval t = p + d
        t = p + d
        inside = (t >= 0) & (t < n)
        limit = (shares[inside, d + 2] + SHADOW) * miss[line[inside], p[inside]]
        np.logical_or.at(explained, (line[inside], t[inside]), miss[line[inside], t[inside]] <= limit)
    return explained


def _slope_misses(big_q, dm):
    """``(|a_j|, |b_j|, miss)``: the slopes' misses from the left and right (|a_j| at j - 2, |b_j| at
    j) and their sums at t = j - 2, from the third differences Q and the midpoints' distances."""
    abs_q = np.abs(big_q)
    a = abs_q if dm is None else abs_q * dm[..., 1:]
    b = abs_q if dm is None else abs_q * dm[..., :-1]
    return a, b, a[..., :-2] + b[..., 2:]


def _ends(a: np.ndarray, k: int) -> list[tuple[int, int]]:
    """``np.pad`` widths: k values at both ends of the last axis."""
    return [(0, 0)] * (a.ndim - 1) + [(k, k)]


def _diff(a: np.ndarray, scratch: np.ndarray | None = None) -> np.ndarray:
    """``np.diff`` along the last axis, without its overhead, into ``scratch`` if given."""
    out = None if scratch is None else scratch[..., :a.shape[-1] - 1]
    return np.subtract(a[..., 1:], a[..., :-1], out=out)


def _window(op, a: np.ndarray, before: int, after: int) -> np.ndarray:
    """``op`` over ``a[t - before .. t + after]`` along the last axis, for every t where all exist.

    The result starts at t = before: it has ``before + after`` fewer values than ``a``.
    """
    width = before + after + 1
    out = a[..., :a.shape[-1] - width + 1].copy()
    for k in range(1, width):
        op(out, a[..., k:a.shape[-1] - width + 1 + k], out=out)
    return out


# -- the ends and the samples beside kinks ------------------------------------------------------------

def _edges(yl, ol, plan: _Plan) -> None:
    """Samples too near an end for the interior stencil: a window of ``shifted`` points at that end."""
    n, w = plan.n, plan.shifted
    pos = np.r_[0:plan.left, n - plan.right:n]
    if not len(pos):
        return
    start = np.where(pos < plan.left, 0, n - w)
    lines = math.prod(yl.shape[:-1])
    line = np.repeat(np.arange(lines), len(pos))
    _write(yl, ol, plan, line, np.tile(pos, lines), np.tile(start, lines))


def _write(yl, ol, plan: _Plan, line, pos, start) -> None:
    """Values of the windows ``start..start+shifted-1`` at samples ``(line, pos)``, into ``ol``."""
    lead = _lead(line, yl.shape[:-1])
    weights = _window_weights(plan, pos, start)
    centre = yl[lead + (pos,)]
    total = np.zeros(len(pos), dtype=np.float64)
    for k in range(plan.shifted):
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
        _write(yl, ol, plan, line[room], pos[room], start[room])
    lead = _lead(line, yl.shape[:-1])
    ol[lead + (pos,)] = np.where(room, ol[lead + (pos,)], np.nan)
    why = np.where(room, 0, np.where((left == pos) & (right == pos), KINK,
                                     BETWEEN_KINKS)).astype(np.uint8)
    return lead + (pos,), why


def _lead(line: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Indices along the leading axes of the lines numbered ``line``."""
    return np.unravel_index(line, shape) if shape else ()


def _rows(line: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """:func:`_lead` as columns, to pick one row of samples per line with a 2-d index."""
    return tuple(i[:, None] for i in _lead(line, shape))


def _default_window(plan: _Plan, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last sample of each sample's stencil before any kink is known."""
    n = plan.n
    start, end = pos < plan.left, pos >= n - plan.right  # near the ends: the shifted stencil there
    first = np.where(start, 0, np.where(end, n - plan.shifted, pos - plan.left))
    last = np.where(start, plan.shifted - 1, np.where(end, n - 1, pos + plan.right))
    return first, last
