"""JAX implementations that JAX lacks, or has only in a form that loses accuracy or complex support.

Each is used by exactly one record (see :mod:`tridiff.primitives.table`); where the formula needs
care it is :mod:`tridiff.primitives.generic`'s, shared with the NumPy tier. The derivatives are
given as ``custom_jvp`` rules in the same stable forms as the SymPy heads' ``fdiff``, so the
automatic method is as accurate as the symbolic one, to every order; the primal values accept
complex input wherever the complex step needs the function's analytic continuation.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jax import lax

from . import generic


@jax.custom_jvp
def tanh(u):
    return jnp.tanh(u)


# JAX's own rule, (1 - tanh u)(1 + tanh u), cancels for large |u|: at u = 9 it keeps 8 digits.
# sech² u = 1/cosh² u has no cancellation (cosh overflowing to inf gives the right 0).
tanh.defjvp(lambda primals, tangents: (tanh(primals[0]), tangents[0] / jnp.cosh(primals[0]) ** 2))


@jax.custom_jvp
def expit(u):
    return lax.logistic(u)


# JAX's rule, expit·(1 − expit), is 0 for u > 37 where the derivative is e^{-u}: expit(u)·expit(−u) is exact.
expit.defjvp(lambda primals, tangents: (expit(primals[0]), tangents[0] * expit(primals[0]) * expit(-primals[0])))


@jax.custom_jvp
def softplus(u):
    return generic.softplus(jnp, u)


softplus.defjvp(lambda primals, tangents: (softplus(primals[0]), tangents[0] * expit(primals[0])))


@jax.custom_jvp
def logaddexp(a, b):
    return generic.logaddexp(jnp, a, b)


@logaddexp.defjvp
def _logaddexp_jvp(primals, tangents):
    a, b = primals
    ta, tb = tangents
    return logaddexp(a, b), ta * expit(a - b) + tb * expit(b - a)


def cbrt(u):
    return generic.cbrt(jnp, u)


def polygamma(n: int, u):
    """ψ^(n)(u); ψ = digamma for n = 0 (jax.scipy's polygamma needs an integer order)."""
    return jsp.digamma(u) if n == 0 else jsp.polygamma(n, u)


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def sinc_derivative(k: int, u):
    return generic.sinc_derivative(jnp, k, u)


@sinc_derivative.defjvp
def _sinc_derivative_jvp(k, primals, tangents):
    (u,), (t,) = primals, tangents
    return sinc_derivative(k, u), t * sinc_derivative(k + 1, u)
