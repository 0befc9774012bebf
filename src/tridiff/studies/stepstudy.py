"""``td.step_study``: the error of each finite-difference scheme as the step shrinks.

Shrinking the step h cuts the truncation error ~h^p of a difference quotient until round-off,
~eps/h, takes over: on a log-log plot each scheme draws a V, whose bottom is the best that scheme
can do in float64. The complex step has no subtraction and hence no round-off arm: its error
falls to machine precision and stays there (Squire & Trapp, "Using complex variables to estimate
derivatives of real functions", SIAM Review 40, 1998; their test function is
:data:`SQUIRE_TRAPP`, at x = 1.5).

Each scheme's values for every step come from one compiled kernel that takes the step as an
array: it is the library's own numeric program (:class:`tridiff.Derivative`) with the step
traced instead of fixed, so each value is exactly what ``td.derivative(f, method="numeric",
scheme=..., accuracy=..., step=h)`` gives at x0, for one compilation instead of one per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..compiler.backends import JAX
from ..compiler.runner import to_numpy, x64
from ..definition.function import KernelKey, function
from ..definition.points import json_number
from ..errors import MethodUnavailableError, TridiffError
from ..methods.derivative import Derivative, derivative
from ..methods.options import prime
from ..methods.reference import REFERENCE_DIGITS, reference
from ..translation import N_
from ..translation import gettext as _
from .presentation import Presented, Section, in_figure_fonts

#: (scheme, accuracy) pairs studied by default; accuracy None: the scheme's default.
DEFAULT_SCHEMES = (("central", 2), ("central", 4), ("central", 8), ("richardson", 8), ("complex-step", None))
#: Relative steps studied by default: powers of two from 1/8 down to 2^-53 ≈ 1.1e-16. The library
#: rounds every step down to a power of two, so finer spacing would only repeat values.
DEFAULT_STEPS = 2.0 ** -np.arange(3, 54)
#: Squire & Trapp's test function; they differentiate it at x = 1.5.
SQUIRE_TRAPP = "exp(x)/sqrt(sin(x)**3 + cos(x)**3)"
_FLOOR = 2.0**-56  # exact results (error 0) are drawn here on the log scale


@dataclass(frozen=True, eq=False)
class StepStudy(Presented):
    """Error against step size for several finite-difference schemes at one point.

    Attributes:
        function: f, as text.
        x0: the point.
        order: the derivative order.
        steps: the relative steps studied (``step`` of :func:`tridiff.derivative`: the step is
            ``step·max(|x0|, 1)`` rounded down to a power of two).
        reference: f^(order)(x0) by mpmath at 40 digits (NaN where it does not exist).
        relative: True when errors are relative to ``|reference|``; False (absolute) when it is 0.
        labels: the schemes, as "central 4", "richardson 8", "complex-step".
        values: per scheme, the derivative at each step (NaN where tridiff says it does not exist).
        errors: per scheme, ``|value − reference|`` at each step (divided by ``|reference|``).
        error_estimates: per scheme, tridiff's own error estimate at each step (scaled likewise).
        default_steps: per scheme, the relative step it takes by default (away from kinks; near one
            the step also stays within the distance to it).
        default_values, default_errors: per scheme, the value and error at the default step.
        reason: why f^(order)(x0) does not exist ('' where it does).
    """

    function: str
    x0: float
    order: int
    steps: np.ndarray = field(repr=False)
    reference: float
    relative: bool
    labels: tuple[str, ...]
    values: dict = field(repr=False)
    errors: dict = field(repr=False)
    error_estimates: dict = field(repr=False)
    default_steps: dict = field(repr=False)
    default_values: dict = field(repr=False)
    default_errors: dict = field(repr=False)
    reason: str = ""

    HEADERS = (N_("scheme"), N_("best step"), N_("best error"), N_("default step"), N_("error at default"))

    def best(self) -> dict[str, tuple[float, float]]:
        """Per scheme, ``(step, error)`` at the step with the smallest error, the default step among
        the steps studied (NaN, NaN if none)."""
        out = {}
        for label in self.labels:
            steps = np.append(self.steps, self.default_steps[label])
            err = np.append(self.errors[label], self.default_errors[label])
            if np.all(np.isnan(err)):
                out[label] = (np.nan, np.nan)
            else:
                i = int(np.nanargmin(err))
                out[label] = (float(steps[i]), float(err[i]))
        return out

    def to_dict(self) -> dict:
        """Everything as JSON-ready numbers and lists (NaN as None)."""
        best = self.best()
        return {
            "function": self.function, "x0": self.x0, "order": self.order,
            "reference": json_number(self.reference), "relative": self.relative, "reason": self.reason,
            "steps": [float(s) for s in self.steps],
            "schemes": {
                label: {
                    "values": [json_number(v) for v in self.values[label]],
                    "errors": [json_number(e) for e in self.errors[label]],
                    "error_estimates": [json_number(e) for e in self.error_estimates[label]],
                    "default_step": json_number(self.default_steps[label]),
                    "default_value": json_number(self.default_values[label]),
                    "default_error": json_number(self.default_errors[label]),
                    "best_step": json_number(best[label][0]), "best_error": json_number(best[label][1]),
                }
                for label in self.labels
            },
        }

    def rows(self) -> list[list[str]]:
        """Per scheme: best step, best error, default step, error at the default step."""
        best = self.best()
        return [[scheme_text(label), f"{best[label][0]:.1e}", _error_text(best[label][1]),
                 f"{self.default_steps[label]:.1e}",
                 _error_text(self.default_errors[label])] for label in self.labels]

    def sections(self) -> list[Section]:
        return [Section(None, self.HEADERS, self.rows())]

    def notes(self) -> list[str]:
        return [f"{prime(self.order)} does not exist at x0: {self.reason}"] if self.reason else []

    def title(self) -> str:
        """One line: which derivative, of what, at which point, and which error is shown."""
        template = (_("{derivative}({x0}) for f(x) = {function}: relative error vs mpmath ({digits} digits)")
                    if self.relative else
                    _("{derivative}({x0}) for f(x) = {function}: absolute error vs mpmath ({digits} digits)"))
        return template.format(derivative=prime(self.order), x0=f"{self.x0:g}", function=self.function,
                               digits=REFERENCE_DIGITS)

    @in_figure_fonts
    def plot(self, *, estimates: bool = False, figsize=(7.0, 4.5)):
        """A Figure: log-log error against relative step, one V per scheme, its default step marked.

        Args:
            estimates: also draw tridiff's own error estimate of each scheme (dotted).
            figsize: the figure's size in inches.
        """
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot(1, 1, 1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        exact = False
        for label in self.labels:
            err = self.errors[label]
            exact |= bool(np.any(err == 0))
            (line,) = ax.plot(self.steps, np.maximum(err, _FLOOR), ".-", lw=1.2, ms=4, label=scheme_text(label))
            if estimates:
                ax.plot(self.steps, np.maximum(self.error_estimates[label], _FLOOR), ":", color=line.get_color(), lw=1)
            if np.isfinite(self.default_errors[label]):
                ax.plot([self.default_steps[label]], [max(self.default_errors[label], _FLOOR)], "o", ms=9,
                        mfc="none", mew=1.5, color=line.get_color())
        ax.axhline(np.finfo(float).eps, color="0.6", ls="--", lw=0.8)
        ax.plot([], [], "o", ms=9, mfc="none", color="0.3", label=_("default step"))
        if estimates:
            ax.plot([], [], ":", color="0.3", label=_("error estimate"))
        ax.set_xlabel(_("relative step  h / max(|x₀|, 1)"))
        ax.set_ylabel((_("relative error") if self.relative else _("absolute error"))
                      + (_("  (0 drawn at {floor})").format(floor=f"{_FLOOR:.0e}") if exact else ""))
        ax.set_title(self.title(), fontsize=8)
        ax.legend(fontsize=8)
        return fig


def step_study(f, x0: float, *, steps=None, schemes=DEFAULT_SCHEMES, order: int = 1) -> StepStudy:
    """The error of each finite-difference scheme at ``x0`` as the step shrinks: V-shaped curves.

    Args:
        f: anything :func:`tridiff.function` accepts, with a formula (the reference needs it).
        x0: the point.
        steps: relative steps in (0, 1) (default :data:`DEFAULT_STEPS`, 2^-3 … 2^-53).
        schemes: ``(scheme, accuracy)`` pairs; accuracy None is the scheme's default. With the
            default schemes and ``order > 1`` the complex step (first derivatives only) is left out.
        order: the derivative order.

    Returns:
        A :class:`StepStudy`: ``.errors``, ``.best()``, ``.plot()``, ``.to_dict()``; ``print`` it
        for a table.

    >>> s = step_study("exp(x)", 1.0, schemes=(("central", 2),), steps=[1e-2, 1e-5, 1e-13])
    >>> err = s.errors["central 2"]
    >>> bool(err[1] < err[0] and err[1] < err[2])  # the bottom of the V
    True
    """
    fn = function(f)
    if fn.expr is None:
        raise MethodUnavailableError(f"step_study needs f's formula for its mpmath reference: {fn.opaque_reason}")
    x0 = _point(x0)
    steps = _steps(DEFAULT_STEPS if steps is None else steps)
    if schemes is DEFAULT_SCHEMES and order != 1:
        schemes = tuple(s for s in schemes if s[0] != "complex-step")
    pairs = [_pair(s) for s in schemes]
    if not pairs:
        raise TridiffError("schemes is empty: give at least one (scheme, accuracy) pair")

    ref = float(reference(fn, np.array([x0]), order, digits=REFERENCE_DIGITS)[0])
    relative = bool(np.isfinite(ref) and ref != 0)
    scale = abs(ref) if relative else 1.0
    labels, values, errors, estimates = [], {}, {}, {}
    default_steps, default_values, default_errors = {}, {}, {}
    reason = ""
    x = np.full(steps.shape, x0)
    for scheme, accuracy in pairs:
        d = derivative(fn, method="numeric", order=order, scheme=scheme, accuracy=accuracy)
        label = scheme if scheme == "complex-step" else f"{scheme} {d.accuracy}"
        if label in values:
            continue
        kernel = _kernel(d)
        default_steps[label] = _default_step(d, x0)
        with x64():
            value, error = (np.array(to_numpy(a)) for a in kernel(x, steps))
            # the default step's value from the curve's own kernel (same shapes: no new compile); the
            # NumPy tier, compiled apart, may round differently (a difference magnifies an ulp by 1/h)
            at_default = np.array(to_numpy(kernel(x, np.full(steps.shape, default_steps[label]))[0]))[0]
        reason = reason or str(d.evaluate(x0).reasons)
        labels.append(label)
        values[label] = value
        errors[label] = np.abs(value - ref) / scale
        estimates[label] = error / scale
        default_values[label] = float(at_default)
        default_errors[label] = abs(default_values[label] - ref) / scale
    return StepStudy(str(fn), x0, order, steps, ref, relative, tuple(labels), values, errors, estimates,
                     default_steps, default_values, default_errors, reason)


def _kernel(d: Derivative):
    """One jitted kernel ``(x, steps) -> (values, error estimates)`` for a numeric Derivative.

    It runs ``Derivative._rich_program`` (the program behind :meth:`Derivative.evaluate`; with
    ``_step_program``, this module's private dependencies) for ``d`` with ``step`` a traced array
    instead of a constant: the library uses ``step`` only in elementwise arithmetic
    (``step·max(|x|, 1)``, then rounded to a power of two), so each element is computed exactly as
    a call with that step would compute it. Cached on the Function, like the Derivative's own kernels.
    """
    import jax

    fn = d.function

    def program(x, rel):
        value, _code, _left, _right, error = Derivative(fn, "numeric", d.order, d.scheme, d.accuracy,
                                                        rel)._rich_program(JAX, x)
        return value, error

    return fn.cache.kernel(KernelKey("step study", "numeric", d.order, d.scheme, d.accuracy), lambda: jax.jit(program))


def _default_step(d: Derivative, x0: float) -> float:
    """The relative step (per max(|x0|, 1), as ``steps`` are) that ``d`` takes at x0 by default: its
    scheme's, bounded by f's poles, kinks and scale of variation (sin(100x) varies on 1/100)."""
    import jax

    with x64():
        h = to_numpy(jax.jit(d._step_program)(np.array([x0])))[0]
    return float(h) / max(abs(x0), 1.0)


def _point(x0) -> float:
    try:
        value = float(x0)
    except (TypeError, ValueError):
        raise TridiffError(f"x0 must be a real number, got {x0!r}") from None
    if isinstance(x0, (bool, complex, np.complexfloating)) or not np.isfinite(value):
        raise TridiffError(f"x0 must be a finite real number, got {x0!r}")
    return value


def _steps(steps) -> np.ndarray:
    try:
        arr = np.asarray(steps, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise TridiffError(f"steps must be numbers between 0 and 1, got {steps!r}") from None
    if arr.size == 0 or not np.all((arr > 0) & (arr < 1)):
        raise TridiffError("steps must be a non-empty list of relative steps between 0 and 1 (exclusive)")
    return np.ascontiguousarray(arr)


def _pair(s) -> tuple[str, int | None]:
    if isinstance(s, str):
        return s, None
    try:
        scheme, accuracy = s
    except (TypeError, ValueError):
        raise TridiffError(f"each of schemes must be a (scheme, accuracy) pair such as ('central', 4), got {s!r}") from None
    return scheme, accuracy


def _error_text(error: float) -> str:
    """An error as the table shows it: 0 is the exact value to the last bit, not a tiny number."""
    return _("0 (exact)") if error == 0 else f"{error:.1e}"


#: The schemes' names as a person reads them (a label is a name, then the accuracy if any).
SCHEME_NAMES = {"central": N_("central"), "forward": N_("forward"), "backward": N_("backward"),
                "richardson": N_("richardson"), "complex-step": N_("complex-step")}


def scheme_text(label: str) -> str:
    """A scheme's label ("central 4") in the current language."""
    name, _space, accuracy = label.partition(" ")
    return " ".join([_(SCHEME_NAMES.get(name, name))] + ([accuracy] if accuracy else []))
