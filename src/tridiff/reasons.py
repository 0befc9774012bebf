"""Why a derivative does not exist: one code per reason and its text, for every part of tridiff.

A result keeps small integer codes (cheap to compute in a kernel and to store per point) and
turns them into texts only when asked. Codes are ordered by precedence where several apply at one
point in the kink analysis: the first that applies is reported.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from .translation import N_, current_language, gettext, language

(OK, NOT_FINITE_INPUT, OUTSIDE_DOMAIN, DOMAIN_ENDPOINT, JUMP, KINK, INFINITE, NOT_FINITE, UNRESOLVED, BRANCHING,
 BETWEEN_KINKS, NOT_FINITE_SAMPLES, TOO_COARSE, PROGRAM_SWITCH) = range(14)

REASONS: dict[int, str] = {
    OK: "",
    NOT_FINITE_INPUT: N_("x is NaN or infinite"),
    OUTSIDE_DOMAIN: N_("f is not defined here (outside its domain, or a pole)"),
    DOMAIN_ENDPOINT: N_("endpoint of f's domain: f is defined on one side only"),
    JUMP: N_("f jumps here (it is not continuous)"),
    KINK: N_("kink: the left and right derivatives differ"),
    INFINITE: N_("the derivative is infinite, or too large for the float type (vertical tangent, pole, overflow)"),
    NOT_FINITE: N_("the derivative formula has no finite value here"),
    UNRESOLVED: N_("one-sided difference quotients disagree: a kink or jump within the step"),
    BRANCHING: N_("kinks on both sides of x, closer than the finite-difference step"),
    # Sampled data (td.differentiate_samples)
    BETWEEN_KINKS: N_("kinks on both sides, closer together than the stencil is wide"),
    NOT_FINITE_SAMPLES: N_("y is NaN or infinite within the stencil, or the derivative overflows"),
    # Finite differences
    TOO_COARSE: N_("f varies here on a finer scale than the smallest step the float type allows (x too large, "
                   "or too near a singularity): use the symbolic or automatic method"),
    # A program with no formula (tridiff.analysis.program_switches)
    PROGRAM_SWITCH: N_("a switch of f's program (relu, abs, maximum, where…) sits exactly at its kink here: the "
                       "partial derivatives along the coordinates that move it (NaN) do not exist"),
}

def reasons_of(codes) -> np.ndarray:
    """Reason texts for an array of codes ('' where the derivative exists), in the current language.

    >>> reasons_of([0, KINK])
    array(['', 'kink: the left and right derivatives differ'], dtype=object)
    """
    return _texts(current_language())[np.asarray(codes, dtype=np.intp)]


def reason_text(code: int) -> str:
    """The text of one reason code, in the current language."""
    return gettext(REASONS[code]) if code else ""


@cache
def _texts(code: str) -> np.ndarray:
    with language(code):
        return np.array([reason_text(c) for c in range(len(REASONS))], dtype=object)
