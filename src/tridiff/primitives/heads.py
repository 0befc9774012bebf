"""SymPy heads of tridiff's own, for functions SymPy has no head for or differentiates unstably.

Each head knows its derivative (``fdiff``) in a form that stays accurate in floating point —
``expit' = expit(u)·expit(-u)`` rather than ``e^{-u}/(1 + e^{-u})²``, which is inf/inf for
u < -710 — and is lowered to JAX and evaluated by mpmath through its record in
:mod:`tridiff.primitives.table`.
"""

from __future__ import annotations

import mpmath
import sympy as sp


class _RealFunction(sp.Function):
    """A function that is real wherever its arguments are real (where it is defined at all), and
    evaluates numerically (``evalf``, ``float``) through an elementary formula of the same value."""

    def _eval_is_real(self):
        return True if all(a.is_real for a in self.args) else None

    def _eval_evalf(self, prec):
        if not all(a.is_number for a in self.args):
            return None
        return self.elementary()._eval_evalf(prec)

    def elementary(self) -> sp.Expr:
        raise NotImplementedError


class expit(_RealFunction):
    """The logistic sigmoid 1 / (1 + e^{-u}); expit' = expit(u)·expit(-u), with no cancellation."""

    nargs = 1

    def fdiff(self, argindex=1):
        u = self.args[0]
        return expit(u) * expit(-u)

    @classmethod
    def eval(cls, u):
        if u.is_zero:
            return sp.S.Half

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def elementary(self):
        return 1 / (1 + sp.exp(-self.args[0]))


class cbrt(_RealFunction):
    """The real cube root, sign(u)·|u|^(1/3) (SymPy's u**(1/3) is the principal, complex root for
    u < 0); cbrt' = 1/(3·cbrt(u)²). A head of its own, as the textbook form names u twice: nested
    n deep it would be a tree of 2^n copies of x."""

    nargs = 1

    def fdiff(self, argindex=1):
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    @classmethod
    def eval(cls, u):
        if u.is_Rational:
            return sp.sign(u) * sp.Abs(u) ** sp.Rational(1, 3)

    def _eval_is_positive(self):
        return self.args[0].is_positive

    def _eval_is_negative(self):
        return self.args[0].is_negative

    def _eval_is_zero(self):
        return self.args[0].is_zero

    def elementary(self):
        u = self.args[0]
        return sp.sign(u) * sp.Abs(u) ** sp.Rational(1, 3)


class softplus(_RealFunction):
    """log(1 + e^u), computed without overflow for large u; softplus' = expit."""

    nargs = 1

    def fdiff(self, argindex=1):
        return expit(self.args[0])

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def elementary(self):
        return sp.log(1 + sp.exp(self.args[0]))


class logaddexp(_RealFunction):
    """log(e^a + e^b), computed without overflow; ∂/∂a = expit(a − b), ∂/∂b = expit(b − a)."""

    nargs = 2

    def fdiff(self, argindex=1):
        a, b = self.args
        return expit(a - b) if argindex == 1 else expit(b - a)

    def elementary(self):
        a, b = self.args
        return sp.log(sp.exp(a) + sp.exp(b))


class lgamma(_RealFunction):
    """log |Γ(u)|, real on the whole real line but the poles (SymPy's loggamma is complex for u < 0)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.polygamma(0, self.args[0])

    def elementary(self):
        return sp.log(sp.Abs(sp.gamma(self.args[0])))


class gammasgn(_RealFunction):
    """The sign of Γ(u), as jax.scipy.special.gamma computes Γ: gammasgn(u)·exp(lgamma(u)). It is
    constant between Γ's poles, where its derivative is 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def elementary(self):
        return sp.sign(sp.gamma(self.args[0]))


class sinc(_RealFunction):
    """NumPy's sinc, sin(πu)/(πu), equal to its limit 1 at u = 0; sinc' = dsinc(1, u)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return dsinc(1, self.args[0])

    @classmethod
    def eval(cls, u):
        if u.is_zero:
            return sp.S.One

    def elementary(self):
        u = sp.pi * self.args[0]
        return sp.sin(u) / u


class dsinc(_RealFunction):
    """The k-th derivative of sinc at u, one head for every k, so that its value at and near u = 0
    (a 0/0 in the textbook formula, and cancellation beside it) is computed stably."""

    nargs = 2

    def fdiff(self, argindex=2):
        if argindex != 2:
            raise sp.ArgumentIndexError(self, argindex)
        k, u = self.args
        return dsinc(k + 1, u)

    @classmethod
    def eval(cls, k, u):
        if k.is_zero:
            return sinc(u)

    def _eval_evalf(self, prec):
        k, u = self.args
        if not (k.is_Integer and u.is_number):
            return None
        with mpmath.workprec(prec):
            return sp.Float(mpmath.diff(mpmath.sincpi, mpmath.mpf(sp.Float(u, prec)), int(k)), precision=prec)
