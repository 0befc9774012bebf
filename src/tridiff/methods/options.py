"""The choices every differentiation call checks at the boundary: methods and orders.

>>> check_methods("numeric")
('numeric',)
"""

from __future__ import annotations

import numpy as np

from ..errors import TridiffError
from ..translation import N_

METHODS = (N_("symbolic"), N_("automatic"), N_("numeric"))
MAX_ORDER = 8


def check_methods(methods, name: str = "methods") -> tuple[str, ...]:
    """``methods`` (one name or several) as a tuple without repeats; a name that is not a method, or
    none at all, is refused naming ``name`` (the argument, or the CLI option).

    >>> check_methods(("numeric", "symbolic", "numeric"))
    ('numeric', 'symbolic')
    """
    methods = (methods,) if isinstance(methods, str) else tuple(dict.fromkeys(methods))
    if not methods:
        raise TridiffError(f"{name} is empty: choose from {', '.join(METHODS)}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise TridiffError(f"unknown method {unknown[0]!r} in {name}: choose from {', '.join(METHODS)}")
    return methods


def check_order(order) -> int:
    """The derivative's order as an int, or a clear error: an integer from 1 to MAX_ORDER.

    >>> check_order(2)
    2
    """
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 1 <= order <= MAX_ORDER:
        raise TridiffError(f"order must be an integer from 1 to {MAX_ORDER}, got {order!r}")
    return int(order)


def prime(order: int) -> str:
    """The name of f's derivative of that order, as the lab writes it: f', f'', f''', then f^(n).

    >>> prime(1), prime(3), prime(4)
    ("f'", "f'''", 'f^(4)')
    """
    return "f" + "'" * order if order <= 3 else f"f^({order})"
