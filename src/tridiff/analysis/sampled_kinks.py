"""Kinks in sampled data: where f' jumps between two samples, found from the data alone.

Between samples the slopes ``s_j`` (over interval j) follow f' smoothly: the line through
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

Speed. Each block of samples is screened for the places where the full test could cut (see
:func:`screen`): past the rounding floor (on a fine grid, only near the zeros of y) and near a
change of sign of the third differences (on data that resolves f, near the zeros of f'''). The
full test then runs once, on those places of all blocks (:func:`confirm`).
"""

from __future__ import annotations

import numpy as np

MIN_SAMPLES_FOR_KINKS = 8
KINK_RATIO = 10.0  # a cut interval's misses exceed 10x those one interval further out
AT_SAMPLE = 0.05  # a kink within 0.05 spacings of a sample is taken to be at the sample
ROUNDING = 1000.0  # misses below 1000 eps |y| / h are rounding, never a kink
CLUSTER_RATIO = 30.0  # unexplained misses 30x those 4-6 intervals away: kinks too close to tell apart
SHADOW = 0.25  # the share of a kink's misses its neighbours may exceed the prediction by
PIECE = 256  # intervals screened together
BLOCK = 32  # intervals of each window the full test runs on
SPARSE = 16  # the pairs of Q changing sign are looked at one by one when fewer than 1 in 16 intervals


def differences(yt, xt, scratch=None):
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


def screen(yt, xt, j0: int, j1: int, eps: float, scratch: list[np.ndarray]):
    """Where in the intervals j0..j1-1 of a block the full test (:func:`kink_test`) could cut.

    Returns ``(windows, pairs, scales)``: rows (line, t_from, t_to) of intervals to test whole,
    rows (line, p) of sign changes of Q for :func:`confirm` to look at, and on a non-uniform grid
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
    dx, _, _, big_q = differences(yt, xt, scratch)
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


def confirm(yt, xt, windows: np.ndarray, pairs: np.ndarray, scales: np.ndarray | None, eps: float) -> np.ndarray:
    """The full test on the ``windows`` and around the ``pairs`` where it could cut (see :func:`screen`),
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
        _, _, _, big_q = differences(rows, None if xt is None else xt[cols])
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
    found = kink_test(part, None if xt is None else xt[cols], t_from + 2 - start, t_to + 2 - start, eps)
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


def kink_test(yt, xt, j0: np.ndarray, j1: np.ndarray, eps: float) -> np.ndarray:
    """Rows (line, j) of the intervals ``j0[line]..j1[line]-1`` that are cut; see the module's docstring.

    ``yt`` has shape (lines, samples), ``xt`` (if not None) the same, and each line reaches 8
    samples before its j0 and 10 after its j1 (or to the ends of y).
    """
    m = yt.shape[-1]
    dx, dm, q, big_q = differences(yt, xt)
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
        _, dm, _, big_q = differences(model, None if xt is None else x)
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


def _rows(line: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, ...]:
    """Indices along the leading axes of the lines numbered ``line``, as columns: one row of samples
    per line with a 2-d index."""
    return tuple(i[:, None] for i in np.unravel_index(line, shape)) if shape else ()
