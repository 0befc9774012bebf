"""tridiff: differentiate a function three ways — symbolic, automatic, numeric — from one definition.

>>> import tridiff as td
>>> d = td.derivative("abs(x) + sin(x)*cos(x)")
>>> d.expr
-sin(x)**2 + cos(x)**2 + sign(x)
"""

from .derivative import METHODS, Derivative, DerivativeResult, derivative
from .errors import BranchingError, MethodUnavailableError, ParseError, TraceError, TridiffError
from .function import Function, function
from .kinks import Kink, kinks

__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "BranchingError",
    "Derivative",
    "DerivativeResult",
    "Function",
    "Kink",
    "MethodUnavailableError",
    "ParseError",
    "TraceError",
    "TridiffError",
    "derivative",
    "function",
    "kinks",
]
