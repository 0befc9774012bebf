"""JAX implementations that JAX lacks, or has only in a form that loses accuracy or complex support.

Each is used by exactly one record (see :mod:`tridiff.primitives.table`). The derivatives are
given as ``custom_jvp`` rules in the same stable forms as the SymPy heads' ``fdiff``, so the
automatic method is as accurate as the symbolic one, to every order; the primal values accept
complex input wherever the complex step needs the function's analytic continuation.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
from jax import lax


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
    # log(1 + e^u) = u + log(1 + e^{-u}): each branch where its exponential cannot overflow. Branches
    # are picked by the real part, so a complex u (the complex step) follows the real axis' branch;
    # each branch gets a harmless input where it is not picked, so neither yields inf or NaN.
    pos = jnp.real(u) > 0
    up, un = jnp.where(pos, u, 0), jnp.where(pos, 0, u)
    return jnp.where(pos, up + jnp.log1p(jnp.exp(-up)), jnp.log1p(jnp.exp(un)))


softplus.defjvp(lambda primals, tangents: (softplus(primals[0]), tangents[0] * expit(primals[0])))


@jax.custom_jvp
def logaddexp(a, b):
    # max(a, b) + log(1 + e^{-|a - b|}), the larger argument chosen by real part (as softplus).
    first = jnp.real(a) >= jnp.real(b)
    return jnp.where(first, a, b) + jnp.log1p(jnp.exp(jnp.where(first, b - a, a - b)))


@logaddexp.defjvp
def _logaddexp_jvp(primals, tangents):
    a, b = primals
    ta, tb = tangents
    return logaddexp(a, b), ta * expit(a - b) + tb * expit(b - a)


def cbrt(u):
    """The real cube root; at a complex u = a + ib (the complex step, b tiny) its continuation to
    first order in b, cbrt(a) + ib/(3·cbrt(a)²): JAX's cbrt takes real numbers only."""
    if not jnp.iscomplexobj(u):
        return jnp.cbrt(u)
    root = jnp.cbrt(jnp.real(u))
    return root + 1j * jnp.imag(u) / (3 * root * root)


def polygamma(n: int, u):
    """ψ^(n)(u); ψ = digamma for n = 0 (jax.scipy's polygamma needs an integer order)."""
    return jsp.digamma(u) if n == 0 else jsp.polygamma(n, u)


SERIES_RADIUS = 2.5  # |πu| below which sinc's derivatives are summed as a Taylor series


def _sinc_series(k: int, y):
    """s^(k)(y) for s(y) = sin(y)/y = Σ_j (−1)^j y^{2j}/(2j+1)!, summed by Horner in y²: no 0/0 at
    y = 0 and no cancellation beside it. Terms up to y^44: below rounding for |y| ≤ 2.5."""
    j0 = (k + 1) // 2
    coefficients = [(-1) ** j * math.factorial(2 * j) / (math.factorial(2 * j - k) * math.factorial(2 * j + 1))
                    for j in range(j0, 23 + j0)]
    y2, total = y * y, 0.0
    for c in reversed(coefficients):
        total = total * y2 + c
    return total * y if k % 2 else total


def _sinc_closed(k: int, y):
    """s^(k)(y) by Leibniz's rule on sin(y) · (1/y): exact for |y| ≥ 2.5, where it does not cancel."""
    return sum(math.comb(k, m) * jnp.sin(y + m * math.pi / 2) * (-1) ** (k - m) * math.factorial(k - m)
               / y ** (k - m + 1) for m in range(k + 1))


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def sinc_derivative(k: int, u):
    """The k-th derivative of NumPy's sinc(u) = sin(πu)/(πu) (k = 0: sinc itself), accurate at and
    near u = 0; a complex u (the complex step) takes the branch of its real part."""
    y = math.pi * u
    near = jnp.abs(jnp.real(y)) < SERIES_RADIUS
    series = _sinc_series(k, jnp.where(near, y, 0))
    closed = _sinc_closed(k, jnp.where(near, SERIES_RADIUS, y))
    return math.pi**k * jnp.where(near, series, closed)


@sinc_derivative.defjvp
def _sinc_derivative_jvp(k, primals, tangents):
    (u,), (t,) = primals, tangents
    return sinc_derivative(k, u), t * sinc_derivative(k + 1, u)
