"""One record per elementary function, read by every layer: the lookups each layer uses, derived here.

>>> BY_TEXT["ln"].name, BY_NUMPY["arcsin"].name, BY_JAX["logistic"].name
('log', 'asin', 'expit')
"""

from __future__ import annotations

import sympy as sp

from .record import BRANCH, DOMAIN, POLE, SINGULAR, Primitive, Special
from .table import RECORDS

#: Text names (and aliases) to records: what the parser accepts.
BY_TEXT: dict[str, Primitive] = {name: r for r in RECORDS if r.text for name in (r.name, *r.aliases)}
#: NumPy / SciPy spellings (a ufunc's or array function's ``__name__``) to records: the NumPy tracer.
BY_NUMPY: dict[str, Primitive] = {name: r for r in RECORDS for name in r.numpy}
#: Names in a jaxpr to records: the jax.numpy tracer.
BY_JAX: dict[str, Primitive] = {name: r for r in RECORDS for name in r.jax}
#: SymPy heads to records: the compiler, the kink analysis, the complex step, the symbolic method.
BY_HEAD: dict[type, Primitive] = {r.head: r for r in RECORDS if r.head is not None}
#: mpmath implementations of tridiff's own SymPy heads, for ``lambdify(..., modules=[MPMATH, "mpmath"])``.
MPMATH: dict[str, object] = {r.head.__name__: r.mpmath for r in RECORDS if r.mpmath is not None}
#: JAX operations that are analytic wherever their values are finite.
SMOOTH_JAX: frozenset[str] = frozenset(name for r in RECORDS if r.smooth for name in r.jax)
#: Named constants accepted in text.
CONSTANTS: dict[str, sp.Expr] = {"pi": sp.pi, "e": sp.E, "E": sp.E}

__all__ = ["BRANCH", "BY_HEAD", "BY_JAX", "BY_NUMPY", "BY_TEXT", "CONSTANTS", "DOMAIN", "MPMATH", "POLE", "RECORDS",
           "SINGULAR", "SMOOTH_JAX", "Primitive", "Special"]
