"""The two array libraries the compiler evaluates a program with: its two tiers.

A program (a :class:`~tridiff.compiler.lowering.Lowering` of SymPy expressions, the kink analysis,
a difference stencil) is written once against a backend's namespace ``xp``. With :data:`NUMPY` it
runs at once, with no compile: the tier for a first call and for small ones. With :data:`JAX` it is
traced into one fused XLA kernel: the tier for repeated and large calls (see
:mod:`tridiff.compiler.runner`). Both compute the same formulas; values agree to a few ulps (the
libraries' sin and exp differ in their last bits), and NaN and reasons are the same.
"""

from __future__ import annotations

import importlib
from functools import cached_property
from typing import Callable

import numpy as np


class Backend:
    """An array namespace and the few operations whose best spelling differs between libraries."""

    def __init__(self, name: str, module: str):
        self.name, self.module = name, module

    @cached_property
    def xp(self):
        """The array namespace: ``numpy`` or ``jax.numpy`` (imported on first use)."""
        return importlib.import_module(self.module)

    def integer_pow(self, base, n: int):
        """``base ** n`` for an integer n: by repeated squaring up to |n| = 64 (NumPy's ``**``
        calls ``pow`` for each element past n = 2, ten times slower), by ``pow`` beyond, where
        the products would lose accuracy."""
        if abs(n) > 64:
            return base ** float(n)
        if self.name == "jax":
            from jax import lax

            return lax.integer_pow(base, n)
        result, k = None, abs(n)
        while k:
            if k & 1:
                result = base if result is None else result * base
            k >>= 1
            if k:
                base = base * base
        return 1 / result if n < 0 else result

    def rsqrt(self, base):
        """1/√base: one instruction in XLA."""
        if self.name == "numpy":
            return 1 / np.sqrt(base)
        from jax import lax

        return lax.rsqrt(base)

    def cond(self, pred, if_true: Callable, if_false: Callable):
        """``if_true()`` where ``pred`` (a boolean scalar) holds, else ``if_false()``, computing one
        of them only (``lax.cond`` in XLA: both return arrays of the same shapes and dtypes)."""
        if self.name == "numpy":
            return if_true() if pred else if_false()
        from jax import lax

        return lax.cond(pred, if_true, if_false)

    def __repr__(self) -> str:
        return f"<backend {self.name}>"


NUMPY = Backend("numpy", "numpy")
JAX = Backend("jax", "jax.numpy")
