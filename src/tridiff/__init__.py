"""tridiff: differentiate a function three ways — symbolic, automatic, numeric — from one definition.

>>> import tridiff as td
>>> d = td.derivative("abs(x) + sin(x)*cos(x)")
>>> d.expr
-sin(x)**2 + cos(x)**2 + sign(x)
"""

from __future__ import annotations

import importlib

from .errors import BranchingError, BudgetError, MethodUnavailableError, ParseError, TraceError, TridiffError

# The public names, by the module that defines them. They are imported when first used (PEP 562):
# most of them need JAX, whose import alone takes longer than NumPy's and SymPy's together, and
# `import tridiff` or `tridiff --help` should not wait for it.
_WHERE = {
    "definition.function": ("Function", "function"),
    "methods.derivative": ("Derivative", "DerivativeResult", "derivative"),
    "methods.gradients": ("directional", "gradient", "hessian", "jacobian", "partial"),
    "methods.multivariate": ("MultiDerivative", "MultiResult"),
    "methods.options": ("METHODS",),
    "methods.samples": ("SampleDerivative", "differentiate_samples"),
    "studies.compare": ("Comparison", "MethodReport", "compare"),
    "studies.derivation": ("Derivation", "steps"),
    "studies.graph": ("Graph", "graph", "swell"),
    "studies.kinks": ("Kink", "kinks"),
    "studies.stepstudy": ("StepStudy", "step_study"),
    "studies.sweeps": ("Series", "Sweep", "sweep_depth", "sweep_sizes"),
    "translation": ("language",),
    "views.plot": ("plot", "plot_gallery"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'tridiff' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULE_OF))


__version__ = "0.1.0"

__all__ = [
    "METHODS",
    "BranchingError",
    "BudgetError",
    "Comparison",
    "Derivative",
    "DerivativeResult",
    "Derivation",
    "Function",
    "Graph",
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
    "graph",
    "hessian",
    "jacobian",
    "kinks",
    "language",
    "partial",
    "plot",
    "plot_gallery",
    "step_study",
    "steps",
    "sweep_depth",
    "sweep_sizes",
    "swell",
]
