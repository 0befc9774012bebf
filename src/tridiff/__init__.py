"""tridiff: differentiate a function three ways — symbolic, automatic, numeric — from one definition.

>>> import tridiff as td
>>> d = td.derivative("abs(x) + sin(x)*cos(x)")
>>> d.expr
-sin(x)**2 + cos(x)**2 + sign(x)
"""

from .definition.function import Function, function
from .errors import BranchingError, BudgetError, MethodUnavailableError, ParseError, TraceError, TridiffError
from .methods.derivative import Derivative, DerivativeResult, derivative
from .methods.multivariate import MultiDerivative, MultiResult, directional, gradient, hessian, jacobian, partial
from .methods.options import METHODS
from .methods.samples import SampleDerivative, differentiate_samples
from .studies.compare import Comparison, MethodReport, compare
from .studies.kinks import Kink, kinks
from .studies.stepstudy import StepStudy, step_study
from .studies.sweeps import Series, Sweep, sweep_depth, sweep_sizes
from .views.plot import plot, plot_gallery

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "BranchingError",
    "BudgetError",
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
