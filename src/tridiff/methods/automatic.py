"""Automatic differentiation: JAX forward mode on the function's program.

f is elementwise, so one ``jax.jvp`` with a tangent of ones gives f'(x) at every point of an
array of any shape at once (no ``vmap`` of a scalar ``grad``), and nesting it gives f^(n).
"""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp


def nth_derivative(program: Callable, order: int) -> Callable:
    """The ``order``-th derivative of an elementwise JAX function, by nested forward mode.

    >>> import jax.numpy as jnp
    >>> float(nth_derivative(jnp.sin, 2)(jnp.array(0.5)))  # -sin(0.5)
    -0.479425...
    """
    fn = program
    for _ in range(order):
        fn = _jvp_of(fn)
    return fn


def _jvp_of(fn: Callable) -> Callable:
    def derivative(x):
        return jax.jvp(fn, (x,), (jnp.ones_like(x),))[1]

    return derivative
