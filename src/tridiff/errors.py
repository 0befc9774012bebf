"""Exceptions raised by tridiff. All derive from ``TridiffError`` (a ``ValueError``)."""


class TridiffError(ValueError):
    """Base class: a tridiff call was given something it cannot work with."""


class ParseError(TridiffError):
    """Text could not be read as a formula; the message names the offending token."""


class TraceError(TridiffError):
    """A Python callable could not be turned into an expression."""


class BranchingError(TraceError):
    """A callable branches on the value of its argument (``if x > 0``), so it has no single formula."""


class MethodUnavailableError(TridiffError):
    """The requested differentiation method cannot handle this function."""


class BudgetError(MethodUnavailableError):
    """A derivative would be too large or slow to build by this method (a formula of millions of
    terms, a program of millions of operations); another method or a lower order may still apply."""
