"""``td.compare``: every method side by side — accuracy against a high-precision reference,
setup apart from evaluation, evaluation as the median of repeats, memory, and where each breaks.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np

from ..compiler.runner import settle, tier
from ..definition.function import Function, function
from ..definition.points import as_points, check_integer, json_number
from ..errors import TridiffError
from ..methods.derivative import derivative
from ..methods.options import METHODS, check_methods, check_order, prime
from ..methods.reference import exact_reference, scaled_error
from .presentation import ERROR_FLOOR, METHOD_STYLES, Presented, Section, in_figure_fonts
from .timing import Timing, format_seconds, measure, once

REFERENCE_POINTS = 2000  # mpmath is ~100 µs a point: the reference uses at most this many
MAX_VLINES = 30  # the plot marks up to this many undefined points by vertical lines, more by ticks
MAX_ANNOTATED = 5  # ... and writes x and the reason beside up to this many


@dataclass(frozen=True)
class MethodReport:
    """One method's showing in a :class:`Comparison`.

    ``available`` is False (with ``reason``) for a method that cannot handle f; its numbers are
    then NaN and ``values`` None.

    Attributes:
        values: f^(n) at every point (flat), NaN where it does not exist.
        max_abs_error: max |value − reference| over the reference points where both exist.
        max_rel_error: the same, relative to ``|reference| + 1% of max |reference|`` (so that a zero
            of f^(n) is not read as a large relative error; see :func:`tridiff.methods.reference.scaled_error`).
        undefined, undefined_reasons: the points where the method says f^(n) does not exist, and why.
        setup_seconds: derive + compile, timed as the first call on a Function with empty caches
            (so it includes one evaluation: JAX compiles on the first call).
        evaluation: seconds per call on the same points, over repeats after a warm-up call.
        peak_memory_bytes: the peak extra memory of one evaluation: NumPy/Python allocations seen
            by ``tracemalloc``, the result when it lives in a JAX buffer, and XLA's temporary
            buffers as the compiled kernel's memory analysis gives them
            (:meth:`~tridiff.Derivative.temporary_bytes`).
    """

    method: str
    available: bool
    reason: str = ""
    values: np.ndarray | None = field(default=None, repr=False)
    max_abs_error: float = np.nan
    max_rel_error: float = np.nan
    undefined: tuple[float, ...] = ()
    undefined_reasons: tuple[str, ...] = ()
    setup_seconds: float = np.nan
    evaluation: Timing | None = None
    peak_memory_bytes: int = 0

    def to_dict(self) -> dict:
        return {
            "method": self.method, "available": self.available, "reason": self.reason,
            "max_abs_error": json_number(self.max_abs_error), "max_rel_error": json_number(self.max_rel_error),
            "undefined": [json_number(u) for u in self.undefined], "undefined_reasons": list(self.undefined_reasons),
            "setup_seconds": json_number(self.setup_seconds),
            "evaluation_seconds": None if self.evaluation is None else self.evaluation.to_dict(),
            "peak_memory_bytes": self.peak_memory_bytes,
        }


@dataclass(frozen=True)
class Comparison(Presented):
    """The result of :func:`compare`: one :class:`MethodReport` per method, and the reference used."""

    function: str
    order: int
    points: np.ndarray = field(repr=False)
    reference: np.ndarray = field(repr=False)
    reference_points: np.ndarray = field(repr=False)
    reference_kind: str
    reports: tuple[MethodReport, ...]

    def __getitem__(self, method: str) -> MethodReport:
        for report in self.reports:
            if report.method == method:
                return report
        raise KeyError(method)

    def to_dict(self) -> dict:
        return {
            "function": self.function, "order": self.order, "points": int(self.points.size),
            "reference": self.reference_kind, "reference_points": int(self.reference_points.size),
            "methods": {r.method: r.to_dict() for r in self.reports},
        }

    HEADERS = ("method", "max abs. error", "max rel. error", "setup", "evaluation", "peak memory", "undefined at")

    def rows(self) -> list[list[str]]:
        """The table's rows as text, one per method (a method that is not available says why)."""
        rows = []
        for r in self.reports:
            if not r.available:
                reason = r.reason if r.reason.startswith("not available") else f"not available: {r.reason}"
                rows.append([r.method, reason])
                continue
            t = r.evaluation
            rows.append([
                r.method, _sci(r.max_abs_error), _sci(r.max_rel_error), format_seconds(r.setup_seconds),
                f"{format_seconds(t.median)} ± {format_seconds((t.q75 - t.q25) / 2)} ({t.repeat}×)",
                _bytes(r.peak_memory_bytes), _undefined_text(r.undefined, r.undefined_reasons),
            ])
        return rows

    def title(self) -> str:
        return f"{prime(self.order)} of f(x) = {self.function} at {self.points.size} points"

    def sections(self) -> list[Section]:
        """One table, captioned with the reference the errors are measured against."""
        caption = (f"reference: {self.reference_kind} at {self.reference_points.size} of the {self.points.size} "
                   f"points; max rel. error is relative to |{prime(self.order)}| + 1% of its largest value")
        return [Section(caption, self.HEADERS, self.rows())]

    def notes(self) -> list[str]:
        return ["setup: derive + compile (the first call); evaluation: median ± half the interquartile range "
                "of (n×) calls on the same points after a warm-up"]

    @in_figure_fonts
    def plot(self, *, bins: int = 100, figsize=(8, 5)):
        """A Figure: each method's absolute error against the reference on a log scale.

        Each point's error is a faint dot; a line (gid ``"error-<method>"``) joins the largest
        error in each of ``bins`` slices of x, or the points themselves when there are no more than
        ``bins``. An error of exactly 0 cannot sit on a log scale: it is drawn on a dotted floor
        line, labelled. Where f^(n) does not exist is marked (gid ``"undefined"``) and labelled
        with the reason: an isolated point (a kink, a pole) by a dashed vertical line, a run of
        neighbouring points (outside the domain) by a shaded band. A method that is not
        available is named in the legend.
        """
        bins = check_integer("bins", bins)
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot(1, 1, 1)
        ax.set_yscale("log")
        order = np.argsort(self.reference_points, kind="stable")
        x, ref = self.reference_points[order], self.reference[order]
        errors = {}
        for r in self.reports:
            if r.available:
                with np.errstate(invalid="ignore"):
                    errors[r.method] = np.abs(r.values[_reference_index(r.values.size)][order] - ref)
        positive = [e[e > 0] for e in errors.values() if np.any(e > 0)]
        scale = float(np.nanmax(np.abs(ref))) if np.isfinite(ref).any() else 1.0
        floor = min(ERROR_FLOOR * max(scale, 1.0), 0.1 * min((float(p.min()) for p in positive), default=1.0))
        floor = 10.0 ** np.floor(np.log10(floor))  # below every nonzero error, at a power of 10
        largest = max((float(p.max()) for p in positive), default=1e3 * floor)
        finite = x[np.isfinite(x)]
        lo, hi = (finite[0], finite[-1]) if finite.size else (0.0, 1.0)
        edges = np.linspace(lo, hi, max(1, min(bins, x.size)) + 1)
        handles = []
        for m, err in errors.items():
            style = METHOD_STYLES[m]
            color, ls, lw = style["color"], style["linestyle"], style["linewidth"]
            shown = np.where(np.isfinite(err), np.maximum(err, floor), np.nan)
            ax.plot(x, shown, linestyle="none", marker=".", markersize=2.5, alpha=0.3, color=color,
                    gid=f"error-points-{m}")
            centers, peaks = (x, shown) if x.size <= bins else _binned_max(x, shown, edges)
            # Widths as in td.plot (symbolic widest): methods that agree to the last bit stay visible.
            line, = ax.plot(centers, peaks, color=color, linestyle=ls, linewidth=0.7 * lw, gid=f"error-{m}",
                            label=f"{m}: max {_sci(self[m].max_abs_error)}")
            handles.append(line)
        for r in self.reports:
            if not r.available:
                handles.append(Line2D([], [], linestyle="none", label=f"{r.method}: not available"))
        if any(np.any(np.isfinite(e) & (e == 0)) for e in errors.values()):
            handles.append(ax.axhline(floor, color="0.5", linewidth=0.9, linestyle=":", gid="zero-floor",
                                      label=f"error exactly 0 (drawn at {floor:.0e})"))
        handles += self._mark_undefined(ax)
        ax.set_ylim(floor / 4, max(largest, floor) * 30)
        pad = 0.01 * (hi - lo) if hi > lo else 0.5
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_xlabel("x")
        ax.set_ylabel(f"|{prime(self.order)} − reference|")
        ax.grid(True, which="major", alpha=0.3)
        ax.set_title(f"{self.title()}\nreference: {self.reference_kind} at {self.reference_points.size} "
                     "points", fontsize=9)
        fig.legend(handles=handles, loc="outside lower center", ncols=min(3, max(1, len(handles))),
                   fontsize=8, frameon=False)
        return fig

    def _mark_undefined(self, ax) -> list:
        """Mark where f^(n) does not exist: a dashed vertical line at an isolated point (a kink, a
        pole; ticks along the bottom past ``MAX_VLINES`` of them), a shaded band over a run of
        neighbouring points with the same reason (outside the domain, say). Returns legend handles."""
        reason_at: dict[float, str] = {}
        for r in self.reports:
            for u, why in zip(r.undefined, r.undefined_reasons):
                if np.isfinite(u):
                    reason_at.setdefault(u, _short(why))
        if not reason_at:
            return []
        xs = np.unique(self.points[np.isfinite(self.points)])
        singles, spans = [], []
        for why, run in groupby(xs, key=lambda u: reason_at.get(u, "")):  # neighbours in x with one reason
            run = list(run)
            if why and len(run) == 1:
                singles.append((run[0], why))
            elif why:
                spans.append((run[0], run[-1], why))
        handles, labelled = [], set()

        def label(why):
            first = why not in labelled
            labelled.add(why)
            return f"undefined: {why}" if first else None

        for a, b, why in spans:
            text = label(why)
            patch = ax.axvspan(a, b, color="tab:red", alpha=0.12, linewidth=0, zorder=0, gid="undefined",
                               label=text)
            if text:
                handles.append(patch)
        if len(singles) <= MAX_VLINES:
            for u, why in singles:
                text = label(why)
                line = ax.axvline(u, color="tab:red", linewidth=1.0, linestyle=(0, (5, 3)), alpha=0.8,
                                  zorder=1, gid="undefined", label=text)
                if text:
                    handles.append(line)
                if len(singles) <= MAX_ANNOTATED:
                    ax.annotate(f"x = {u:g}\n{why}", xy=(u, 1.0), xycoords=("data", "axes fraction"),
                                xytext=(3, -3), textcoords="offset points", ha="left", va="top",
                                fontsize=7, color="tab:red")
        elif singles:
            us = np.array([u for u, _ in singles])
            line, = ax.plot(us, np.zeros_like(us), linestyle="none", marker="|", markersize=10,
                            color="tab:red", transform=ax.get_xaxis_transform(), clip_on=False,
                            gid="undefined", label=f"undefined at {us.size} isolated points")
            handles.append(line)
        return handles


def compare(f, xs, methods=METHODS, *, order: int = 1, repeat: int = 7) -> Comparison:
    """Compare differentiation methods on ``f`` at the points ``xs``.

    Args:
        f: anything :func:`tridiff.function` accepts.
        xs: the points (any shape; compared flat).
        methods: which methods; any that cannot handle f is reported with the reason.
        order: derivative order.
        repeat: evaluation repeats after one warm-up call (the median is reported).

    Returns:
        A :class:`Comparison`; ``print`` it for a table.

    >>> c = compare("sin(x)", [0.0, 1.0, 2.0], repeat=3)
    >>> c["symbolic"].max_rel_error < 1e-15
    True
    """
    fn = function(f)
    pts = as_points(xs, "xs")
    if pts.flat.size == 0:
        raise TridiffError("xs is empty: compare needs at least one point")
    methods = check_methods(methods)
    order, repeat = check_order(order), check_integer("repeat", repeat)
    x = pts.flat.astype(np.float64)
    sample = x[_reference_index(x.size)]
    reference, kind = exact_reference(fn, sample, order)
    reports = tuple(_report(fn, m, x, order, repeat, reference) for m in methods)
    return Comparison(str(fn), order, x, reference, sample, kind, reports)


def _report(fn: Function, method: str, x, order, repeat, reference) -> MethodReport:
    """One method's showing: setup from a fresh f, peak memory, timed repeats, errors, undefined points."""
    fresh = fn.fresh()
    with tier("jax"):  # setup compiles, and the steady state is the compiled kernel's
        try:
            setup, (d, values) = once(lambda: _setup(fresh, method, order, x))
        except TridiffError as err:
            return MethodReport(method, False, str(err))
        peak = _peak_memory(lambda: d(x)) + (d.temporary_bytes(x) or 0)  # also the timed repeats' warm-up
        settle()  # met twice, a long array's own-length kernel is compiling: time it, not the chunks
        evaluation = measure(lambda: d(x), repeat=repeat, warmup=1, budget=10.0)
    result = d.evaluate(x)  # for the reasons: the fast d(x), the one timed, gives values only
    mine = values[_reference_index(x.size)]
    ok = np.isfinite(reference)
    return MethodReport(
        method, True, "", values,
        max_abs_error=float(np.max(np.abs(mine - reference)[ok])) if ok.any() else np.nan,
        max_rel_error=scaled_error(mine, reference) if ok.any() else np.nan,
        undefined=tuple(float(u) for u in x[result.undefined]),
        undefined_reasons=tuple(str(r) for r in result.reasons[result.undefined]),
        setup_seconds=setup, evaluation=evaluation, peak_memory_bytes=int(peak),
    )


def _peak_memory(call) -> int:
    """Peak extra bytes of one ``call()``: what tracemalloc sees (Python and NumPy allocations),
    plus the result's size when its memory is a JAX buffer, which tracemalloc does not see."""
    tracemalloc.start()
    try:
        out = call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    owner = out
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base  # views (a reshape, say) lead back to whatever holds the memory
    if not isinstance(owner, np.ndarray):
        peak += out.nbytes
    return int(peak)


def _setup(fn: Function, method: str, order: int, x):
    d = derivative(fn, method=method, order=order)
    return d, d(x)


def _reference_index(n: int) -> np.ndarray:
    """Which of n points the reference is computed at: all of them, or ``REFERENCE_POINTS`` of them
    evenly spread from the first to the last."""
    return np.linspace(0, n - 1, min(n, REFERENCE_POINTS)).astype(int)


def _bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _sci(v: float) -> str:
    return "—" if v is None or not np.isfinite(v) else f"{v:.1e}"


def _short(reason: str) -> str:
    """'kink' from 'kink: the left and right derivatives differ'; 'f is not defined here' from
    'f is not defined here (outside its domain, or a pole)'."""
    return reason.split(":")[0].split(" (")[0]


def _undefined_text(points, reasons, shown: int = 4) -> str:
    """'0 (kink)', '-3.14, 0, 3.14 (kink)' or '1000 points from -5 to -0.005 (f is not defined here)';
    'none' when there are none."""
    groups: dict[str, list[float]] = {}
    for u, why in zip(points, reasons):
        groups.setdefault(_short(why), []).append(u)
    parts = []
    for why, us in groups.items():
        if len(us) > shown:
            span = f" from {min(us):g} to {max(us):g}" if np.all(np.isfinite(us)) else ""
            parts.append(f"{len(us)} points{span} ({why})")
        else:
            parts.append(", ".join(f"{u:g}" for u in us) + f" ({why})")
    return "; ".join(parts) or "none"


def _binned_max(x: np.ndarray, err: np.ndarray, edges: np.ndarray):
    """The largest finite ``err`` in each slice of x between ``edges`` (NaN for a slice with none),
    at the slices' centres."""
    centers = 0.5 * (edges[:-1] + edges[1:]) if edges.size > 1 else x[:1]
    which = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max(centers.size - 1, 0))
    peaks = np.full(centers.shape, -np.inf)
    ok = np.isfinite(err)
    np.maximum.at(peaks, which[ok], err[ok])
    peaks[peaks == -np.inf] = np.nan
    return centers, peaks
