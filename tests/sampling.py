"""The default run checks a few representative cases of each long matrix; the ``slow`` run, which CI
runs as well, checks every case. This keeps the default ``pytest`` within its 4 minutes on 2 cores."""

from __future__ import annotations

import pytest


def slow_except(cases, keep, name=str) -> list:
    """``cases`` for ``pytest.mark.parametrize``, each marked ``slow`` unless ``name(case)`` is in ``keep``.

    A plain tuple is one case of several arguments. Naming a case that does not exist is an error, so
    that the default run cannot quietly lose its representatives when a matrix changes.

    >>> [getattr(case, "marks", ()) == () for case in slow_except([(1, "a"), (2, "b")], {"a"}, lambda c: c[1])]
    [True, False]
    """
    cases = list(cases)
    names = [name(case) for case in cases]
    unknown = set(keep) - set(names)
    if unknown:
        raise ValueError(f"no such cases to keep in the default run: {sorted(unknown)}")
    return [case if n in keep else pytest.param(*(case if type(case) is tuple else (case,)), marks=pytest.mark.slow)
            for case, n in zip(cases, names)]
