"""``check_derivative``: every method against each other and against an mpmath reference.

Like autograd's ``check_grads``, one call is one test. The reference is independent of tridiff's
own derivation: ``mpmath.diff`` differentiates f numerically at 40 significant digits, f itself
evaluated by mpmath, so a mistake in SymPy's rules, in the compiler or in JAX shows up as a
disagreement. Errors are measured relative to ``|f'| + 1% of the largest |f'|`` on the points, so
that a zero of f' (where every float method can only be accurate relative to the terms that
cancel) is not read as a large relative error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..definition.function import function
from ..methods.derivative import derivative
from ..methods.options import METHODS
from ..methods.reference import reference, scaled_error

#: Accuracy each method should reach in float64 on a smooth function (DESIGN.md's targets,
#: with the numeric default stencil well inside its 1e-8).
TOLERANCES = {"symbolic": 1e-13, "automatic": 1e-13, "numeric": 1e-8}


@dataclass(frozen=True)
class CheckReport:
    """What :func:`check_derivative` measured: the worst scaled error of each method."""

    errors: dict[str, float]
    undefined: np.ndarray
    values: dict[str, np.ndarray] = field(repr=False)
    reference: np.ndarray = field(repr=False)


def check_derivative(f, xs, order: int = 1, methods=METHODS, tolerances=None, undefined=None) -> CheckReport:
    """Assert that the methods agree with each other and with mpmath on ``xs``.

    Checks that every method marks the same points undefined (and exactly ``undefined`` if given),
    that defined values are finite, and that each method's scaled error against the mpmath
    reference is within its tolerance. Returns the measured errors.

    >>> check_derivative("exp(-2*x) + 3*sin(3*x)", [0.0, 0.5, 1.0]).errors["symbolic"] < 1e-13
    True
    """
    tolerances = {**TOLERANCES, **(tolerances or {})}
    fn = function(f)
    xs = np.asarray(xs, dtype=float)
    results = {m: derivative(fn, method=m, order=order).evaluate(xs) for m in methods}
    first = results[methods[0]]
    for m, r in results.items():
        if not np.array_equal(r.undefined, first.undefined):
            where = xs[r.undefined != first.undefined]
            raise AssertionError(f"{fn}: {m} and {methods[0]} disagree on where f^({order}) exists, at x = {where}")
        if not np.all(np.isfinite(r.values[~r.undefined])):
            raise AssertionError(f"{fn}: {m} gave a non-finite value where it says f^({order}) exists")
    if undefined is not None:
        expected = np.isin(xs, np.asarray(undefined, dtype=float))
        if not np.array_equal(first.undefined, expected):
            raise AssertionError(
                f"{fn}: undefined at {xs[first.undefined]}, expected {xs[expected]}"
            )
    ref = reference(fn, xs, order)
    ref[first.undefined] = np.nan
    errors = {}
    for m, r in results.items():
        errors[m] = scaled_error(r.values, ref)
        if errors[m] > tolerances[m]:
            i = int(np.nanargmax(np.abs(r.values - ref)))
            raise AssertionError(
                f"{fn}: {m} f^({order}) error {errors[m]:.2e} > {tolerances[m]:.0e}; "
                f"worst at x = {xs.flat[i]!r}: {r.values.flat[i]!r} vs mpmath {ref.flat[i]!r}"
            )
    return CheckReport(errors, first.undefined, {m: r.values for m, r in results.items()}, ref)
