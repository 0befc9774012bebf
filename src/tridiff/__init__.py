"""tridiff: differentiate a function three ways — symbolic, automatic, numeric — from one definition.

>>> import tridiff as td
>>> d = td.derivative("abs(x) + sin(x)*cos(x)")
>>> d.expr
-sin(x)**2 + cos(x)**2 + sign(x)
"""

from .compare import Comparison, MethodReport, compare
from .derivative import METHODS, Derivative, DerivativeResult, derivative
from .errors import BranchingError, MethodUnavailableError, ParseError, TraceError, TridiffError
from .function import Function, function
from .kinks import Kink, kinks
from .multivariate import MultiDerivative, MultiResult, directional, gradient, hessian, jacobian, partial
from .plot import plot, plot_gallery
from .samples import SampleDerivative, differentiate_samples
from .stepstudy import StepStudy, step_study
from .sweeps import Series, Sweep, sweep_depth, sweep_sizes

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "BranchingError",
    "Comparison",
    "Derivative",
    "DerivativeResult",
    "Function",
    "Kink",
    "MethodReport",
    "MethodUnavailableError",
    "MultiDerivative",
    "MultiResult",
    "ParseError",
    "SampleDerivative",
    "Series",
    "StepStudy",
    "Sweep",
    "TraceError",
    "TridiffError",
    "compare",
    "derivative",
    "differentiate_samples",
    "directional",
    "function",
    "gradient",
    "hessian",
    "jacobian",
    "kinks",
    "partial",
    "plot",
    "plot_gallery",
    "step_study",
    "sweep_depth",
    "sweep_sizes",
]
