"""The shared table of example functions: the lab's, plus the traps at kinks and domain edges.

Tests check every method on every row against mpmath; benchmarks and ``tridiff lab`` draw their
functions from here, so all three speak of the same functions.
"""

from __future__ import annotations

from dataclasses import dataclass


def nested_polynomial(x, depth: int = 3):
    """The lab's ``f_polynomial``: ``2x³ − 3x² + 5`` composed with itself ``depth`` times."""
    for _ in range(depth):
        x = 2 * x**3 - 3 * x**2 + 5
    return x


@dataclass(frozen=True)
class Example:
    """A function with what is known about its derivative.

    Attributes:
        name: short label.
        text: the formula as tridiff text.
        domain: an interval to sample where f is defined (kinks may lie inside).
        undefined: points in ``domain`` where f' does not exist.
        lab: True for the functions the lab itself uses.
    """

    name: str
    text: str
    domain: tuple[float, float] = (-5.0, 5.0)
    undefined: tuple[float, ...] = ()
    lab: bool = False


_NESTED = "2*(2*(2*x**3 - 3*x**2 + 5)**3 - 3*(2*x**3 - 3*x**2 + 5)**2 + 5)**3 - 3*(2*(2*x**3 - 3*x**2 + 5)**3 - 3*(2*x**3 - 3*x**2 + 5)**2 + 5)**2 + 5"

EXAMPLES: tuple[Example, ...] = (
    Example("square", "x**2", lab=True),
    Example("cube", "x**3", lab=True),
    Example("cubic", "2*x**3 - 3*x**2 + 5", lab=True),
    Example("reciprocal", "1/x", (-5.0, 5.0), (0.0,), lab=True),
    Example("exp", "exp(x)", lab=True),
    Example("log", "log(x)", (0.05, 5.0), lab=True),
    Example("sin", "sin(x)", lab=True),
    Example("cos", "cos(x)", lab=True),
    Example("abs", "abs(x)", undefined=(0.0,), lab=True),
    Example("abs_plus_sincos", "abs(x) + sin(x)*cos(x)", undefined=(0.0,), lab=True),
    Example("composed", "exp(-2*x) + 3*sin(3*x)", lab=True),
    Example("nested_polynomial", _NESTED, (-1.0, 1.5), lab=True),
    Example("relu", "max(x, 0)", undefined=(0.0,)),
    Example("sqrt", "sqrt(x)", (0.0, 5.0), (0.0,)),
    Example("abs_sin", "abs(sin(x))", undefined=(-3.141592653589793, 0.0, 3.141592653589793)),
    Example("x_abs_x", "x*abs(x)"),
    Example("abs_cubed", "abs(x)**3"),
    Example("cbrt", "cbrt(x)", undefined=(0.0,)),
    Example("gaussian", "exp(-x**2)"),
    Example("tanh", "tanh(x)"),
    Example("atan", "atan(x)"),
    Example("log1p_square", "log(1 + x**2)"),
    Example("step_ramp", "where(x > 1, x**2, 2*x - 1)"),
    Example("asin", "asin(x/2)", (-2.0, 2.0), (-2.0, 2.0)),
)

BY_NAME: dict[str, Example] = {e.name: e for e in EXAMPLES}
