"""Automatic differentiation: JAX forward mode on the function's program.

f is elementwise, so one ``jax.jvp`` with a tangent of ones gives f'(x) at every point of an
array of any shape at once (no ``vmap`` of a scalar ``grad``), and nesting it gives f^(n).
"""

from __future__ import annotations

from typing import Callable

from ..errors import BudgetError

#: The automatic budget: operations in the program of f^(n). Each nesting of forward mode multiplies
#: the program by about 3 (order 8 of 30 nested exp: 183,000 operations, minutes for XLA to compile).
MAX_OPERATIONS = 20_000


def check_budget(program: Callable, order: int) -> None:
    """Refuse, before compiling it, an ``order``-th derivative program over :data:`MAX_OPERATIONS`.

    Orders are traced one by one (each costs about its size), and the next is refused when the
    growth so far predicts it over budget.
    """
    import jax
    import jax.numpy as jnp

    fn, sizes, like = program, [], jax.ShapeDtypeStruct((), jnp.float32)
    for k in range(1, order + 1):
        expected = sizes[-1] * sizes[-1] / max(sizes[-2], 1) if len(sizes) > 1 else 0  # f' of x: no operation
        if expected > MAX_OPERATIONS:
            raise BudgetError(f"the automatic derivative of order {k} is too large a program (about "
                              f"{expected:.2g} operations; the budget is {MAX_OPERATIONS}): ask for a lower order")
        fn = _jvp_of(fn)
        sizes.append(len(jax.make_jaxpr(fn)(like).eqns))


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
    import jax
    import jax.numpy as jnp

    def derivative(x):
        return jax.jvp(fn, (x,), (jnp.ones_like(x),))[1]

    return derivative
