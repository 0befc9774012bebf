"""The NumPy twins of :mod:`tridiff.primitives.jax_impl`, for the compiler's NumPy tier: the same
formulas (:mod:`tridiff.primitives.generic`), values only (the NumPy tier never differentiates)."""

from __future__ import annotations

import numpy as np

from . import generic

tanh = np.tanh


def expit(u):
    return generic.expit(np, u)


def softplus(u):
    return generic.softplus(np, u)


def logaddexp(a, b):
    return generic.logaddexp(np, a, b)


def cbrt(u):
    return generic.cbrt(np, u)


def polygamma(n: int, u):
    """ψ^(n)(u), ψ = digamma for n = 0."""
    from scipy import special

    return special.digamma(u) if n == 0 else special.polygamma(n, u)


def sinc_derivative(k: int, u):
    return generic.sinc_derivative(np, k, u)
