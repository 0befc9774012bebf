"""The records: every elementary function tridiff knows, one :class:`Primitive` each.

Adding a function is adding a record here (and, where JAX has no accurate implementation, one in
:mod:`tridiff.primitives.jax_impl` with its NumPy twin in :mod:`tridiff.primitives.numpy_impl`); the
parser, the tracers, the compiler, the kink analysis, the complex step, the mpmath reference and the
conformance suite all read it from here.
"""

from __future__ import annotations

import math
from functools import reduce

import mpmath
import sympy as sp

from ..errors import TridiffError
from ..reasons import DOMAIN_ENDPOINT, INFINITE, JUMP, KINK, OUTSIDE_DOMAIN
from . import heads
from .record import BRANCH, DOMAIN, POLE, SINGULAR, Deferred, Primitive, Special

jnp = Deferred("jax.numpy", "numpy")
jsp = Deferred("jax.scipy.special", "scipy.special")
impl = Deferred("tridiff.primitives.jax_impl", "tridiff.primitives.numpy_impl")

_U = sp.Wild("u")
_HALF = sp.Rational(1, 2)
_EXACT_GAMMA = 200  # Γ(200) has 373 digits (beyond float64 from 171.6); ψ(200), a harmonic number, 90


# -- switches: where a node may stop being analytic ------------------------------------------------
def _branch(node):
    return ((node.args[0], BRANCH),)


def _pairs(node):
    # max(a, b, c) switches wherever two of its arguments meet
    return tuple((a - b, BRANCH) for i, a in enumerate(node.args) for b in node.args[i + 1:])


def _singular(node):  # cbrt: a vertical tangent at u = 0
    return ((node.args[0], SINGULAR),)


def _within_one(node):  # asin, acos, atanh need -1 ≤ u ≤ 1
    u = node.args[0]
    return ((1 - u, DOMAIN), (1 + u, DOMAIN))


def _positive(node):  # log needs u > 0
    return ((node.args[0], DOMAIN),)


def _cos_pole(node):
    return ((sp.cos(node.args[0]), POLE),)


def _sin_pole(node):
    return ((sp.sin(node.args[0]), POLE),)


def _gamma_poles(node):
    # Γ, log|Γ| and ψ^(n) have poles at 0, -1, -2, …: the zeros of sin(π·min(u, ½)), which is 1 for
    # u ≥ ½ and changes sign at each pole (its Newton step, tan(πu)/π, is the distance to it).
    return ((sp.sin(sp.pi * sp.Min(node.args[-1], _HALF)), POLE),)


# -- lowerings that need the compiler's context ----------------------------------------------------
def _lower_abs(low, node):
    u = node.args[0]
    if low.analytic:  # |u| continued analytically along the real axis: u·sign(Re u), not the modulus
        return low(u) * low.switched(u, jnp.sign, lambda s: s)
    return jnp.abs(low(u))


def _lower_sign(low, node):
    return low.switched(node.args[0], jnp.sign, lambda s: s)


def _lower_heaviside(low, node):
    half = 0.5 if len(node.args) == 1 else float(node.args[1])
    step = lambda u: jnp.where(u > 0, 1.0, jnp.where(u < 0, 0.0, half))  # noqa: E731
    return low.switched(node.args[0], step, lambda s: jnp.where(s > 0, 1.0, 0.0))


def _lower_atan2(low, node):
    # Where the kink analysis forces y to one side of 0, y is ±0.0: the sign of zero picks atan2's
    # branch (atan2(±0, -1) = ±π), which is how the jump across the negative x-axis is seen.
    y, x = node.args
    value = low(y)
    forced = low.side_of(y)
    if forced is not None:
        flag, side = forced
        value = jnp.where(flag, jnp.copysign(0.0, side), value)
    return jnp.arctan2(value, low(x))


def _lower_extremum(largest: bool):
    def lower(low, node):
        if not low.analytic:
            return reduce(jnp.maximum if largest else jnp.minimum, [low(a) for a in node.args])
        # Max(a, b) is a where a - b > 0, else b (Min the other way round); decided on the real axis.
        a, b = node.args
        pick_a = low.switched(a - b, lambda v: v > 0, lambda s: s > 0)
        return jnp.where(pick_a if largest else ~pick_a, low(a), low(b))

    return lower


def _integer_order(node, name: str) -> int:
    order = node.args[0]
    if not order.is_Integer or order < 0:
        raise TridiffError(f"{name}(n, u) needs a constant integer n ≥ 0, got {order}")
    return int(order)


def _lower_polygamma(low, node):
    return impl.polygamma(_integer_order(node, "polygamma"), low(node.args[1]))


def _lower_dsinc(low, node):
    return impl.sinc_derivative(_integer_order(node, "dsinc"), low(node.args[1]))


def _two_arguments(node) -> bool:  # the complex step picks max(a, b)'s branch; of more, not yet
    return len(node.args) == 2


def _heaviside(u, h0=_HALF):
    if h0.free_symbols:  # NumPy's heaviside(x, h0) takes its value at 0 from h0: a number
        raise TridiffError(f"heaviside(u, h0) needs a number as h0, its value at 0; got {h0}")
    return sp.Heaviside(u, h0)


def _mp_dsinc(k, u):
    return mpmath.diff(mpmath.sincpi, u, int(k))


RECORDS: tuple[Primitive, ...] = (
    # trigonometric
    Primitive("sin", sp.sin, numpy=("sin",), jax=("sin",), head=sp.sin, lower=jnp.sin, varies=True),
    Primitive("cos", sp.cos, numpy=("cos",), jax=("cos",), head=sp.cos, lower=jnp.cos, varies=True),
    Primitive("tan", sp.tan, numpy=("tan",), jax=("tan",), head=sp.tan, lower=jnp.tan, switches=_cos_pole,
              special=(Special(math.pi / 2, OUTSIDE_DOMAIN),), varies=True),
    Primitive("sec", sp.sec, head=sp.sec, lower=lambda u: 1 / jnp.cos(u), switches=_cos_pole,
              special=(Special(math.pi / 2, OUTSIDE_DOMAIN),), varies=True),
    Primitive("csc", sp.csc, head=sp.csc, lower=lambda u: 1 / jnp.sin(u), switches=_sin_pole, domain=(0.2, 3.0),
              special=(Special(0.0, OUTSIDE_DOMAIN),), varies=True),
    Primitive("cot", sp.cot, head=sp.cot, lower=lambda u: 1 / jnp.tan(u), switches=_sin_pole, domain=(0.2, 3.0),
              special=(Special(0.0, OUTSIDE_DOMAIN),), varies=True),
    Primitive("asin", sp.asin, numpy=("arcsin", "asin"), jax=("asin",), head=sp.asin, lower=jnp.arcsin,
              switches=_within_one, domain=(-0.9, 0.9),
              special=(Special(1.0, DOMAIN_ENDPOINT), Special(-1.0, DOMAIN_ENDPOINT))),
    Primitive("acos", sp.acos, numpy=("arccos", "acos"), jax=("acos",), head=sp.acos, lower=jnp.arccos,
              switches=_within_one, domain=(-0.9, 0.9),
              special=(Special(1.0, DOMAIN_ENDPOINT), Special(-1.0, DOMAIN_ENDPOINT))),
    Primitive("atan", sp.atan, numpy=("arctan", "atan"), jax=("atan",), head=sp.atan, lower=jnp.arctan),
    # atan2(y, x) jumps by 2π where y crosses 0 with x < 0
    Primitive("atan2", sp.atan2, arity=2, numpy=("arctan2", "atan2"), jax=("atan2",), head=sp.atan2,
              lower_node=_lower_atan2, switches=_branch, complex_step=False, smooth=False, example="atan2(x, -1)",
              special=(Special(0.0, JUMP),)),
    # hyperbolic
    Primitive("sinh", sp.sinh, numpy=("sinh",), jax=("sinh",), head=sp.sinh, lower=jnp.sinh, varies=True,
              accuracy=(4, 1)),
    Primitive("cosh", sp.cosh, numpy=("cosh",), jax=("cosh",), head=sp.cosh, lower=jnp.cosh, varies=True,
              accuracy=(4, 1)),
    Primitive("tanh", sp.tanh, numpy=("tanh",), jax=("tanh",), head=sp.tanh, lower=impl.tanh,
              stable=((1 - sp.tanh(_U) ** 2, 1 / sp.cosh(_U) ** 2),),  # 1 - tanh² cancels for large |u|
              special=(Special(9.0), Special(-20.0)), varies=True, accuracy=(4, 0)),
    Primitive("asinh", sp.asinh, numpy=("arcsinh", "asinh"), jax=("asinh",), head=sp.asinh, lower=jnp.arcsinh),
    Primitive("acosh", sp.acosh, numpy=("arccosh", "acosh"), jax=("acosh",), head=sp.acosh, lower=jnp.arccosh,
              switches=lambda node: ((node.args[0] - 1, DOMAIN),), domain=(1.1, 4.0),
              special=(Special(1.0, DOMAIN_ENDPOINT),)),
    Primitive("atanh", sp.atanh, numpy=("arctanh", "atanh"), jax=("atanh",), head=sp.atanh, lower=jnp.arctanh,
              switches=_within_one, domain=(-0.9, 0.9), special=(Special(1.0, OUTSIDE_DOMAIN),),
              accuracy=(4, 128)),  # JAX loses 6 bits of u (60 ulps measured)
    # exponentials and logarithms
    Primitive("exp", sp.exp, numpy=("exp",), jax=("exp",), head=sp.exp, lower=jnp.exp,
              special=(Special(-745.0), Special(700.0)), varies=True),
    Primitive("expm1", lambda u: sp.exp(u) - 1, numpy=("expm1",), jax=("expm1",)),
    Primitive("exp2", lambda u: 2**u, numpy=("exp2",), jax=("exp2",)),
    Primitive("log", sp.log, aliases=("ln",), numpy=("log",), jax=("log",), head=sp.log, lower=jnp.log,
              switches=_positive, domain=(0.1, 5.0), special=(Special(0.0, OUTSIDE_DOMAIN),)),
    Primitive("log1p", lambda u: sp.log(1 + u), numpy=("log1p",), jax=("log1p",), domain=(-0.9, 3.0),
              special=(Special(-1.0, OUTSIDE_DOMAIN),)),
    Primitive("log2", lambda u: sp.log(u, 2), numpy=("log2",), domain=(0.1, 5.0)),
    Primitive("log10", lambda u: sp.log(u, 10), numpy=("log10",), domain=(0.1, 5.0)),
    # powers
    Primitive("sqrt", sp.sqrt, numpy=("sqrt",), jax=("sqrt",), domain=(0.1, 5.0),
              special=(Special(0.0, DOMAIN_ENDPOINT),)),
    Primitive("rsqrt", lambda u: 1 / sp.sqrt(u), jax=("rsqrt",), text=False),
    Primitive("cbrt", heads.cbrt, numpy=("cbrt",), jax=("cbrt",), head=heads.cbrt, lower=impl.cbrt,
              switches=_singular, mpmath=lambda u: mpmath.sign(u) * mpmath.cbrt(abs(u)), special=(Special(0.0, INFINITE),)),
    Primitive("square", lambda u: u**2, numpy=("square",), jax=("square",)),
    Primitive("reciprocal", lambda u: 1 / u, numpy=("reciprocal",), special=(Special(0.0, OUTSIDE_DOMAIN),)),
    Primitive("hypot", lambda a, b: sp.sqrt(a**2 + b**2), arity=2, numpy=("hypot",), example="hypot(x, 1.5)"),
    # switches
    Primitive("abs", sp.Abs, numpy=("absolute", "abs", "fabs"), jax=("abs",), head=sp.Abs, lower_node=_lower_abs,
              switches=_branch, smooth=False, special=(Special(0.0, KINK),)),
    Primitive("sign", sp.sign, numpy=("sign",), jax=("sign",), head=sp.sign, lower_node=_lower_sign,
              switches=_branch, smooth=False, special=(Special(0.0, JUMP),)),
    Primitive("max", sp.Max, arity=2, numpy=("maximum", "fmax"), jax=("max",), head=sp.Max,
              lower_node=_lower_extremum(True), switches=_pairs, complex_step=_two_arguments, smooth=False,
              example="max(x, 1 - x)", special=(Special(0.5, KINK),)),
    Primitive("min", sp.Min, arity=2, numpy=("minimum", "fmin"), jax=("min",), head=sp.Min,
              lower_node=_lower_extremum(False), switches=_pairs, complex_step=_two_arguments, smooth=False,
              example="min(x, 1 - x)", special=(Special(0.5, KINK),)),
    Primitive("relu", lambda u: sp.Max(u, 0), jax=("relu",), smooth=False, special=(Special(0.0, KINK),)),
    Primitive("heaviside", _heaviside, arity=(1, 2), numpy=("heaviside",),
              jax=("heaviside",), head=sp.Heaviside, lower_node=_lower_heaviside, switches=_branch, smooth=False,
              example="heaviside(x, 0.5)", special=(Special(0.0, JUMP),)),
    # SymPy writes the derivative of a switch as DiracDelta: zero off its support, and at the support
    # the kink analysis checks continuity instead.
    Primitive("DiracDelta", sp.DiracDelta, head=sp.DiracDelta, text=False, switches=_branch, smooth=False,
              lower_node=lambda low, node: jnp.zeros_like(low(node.args[0]))),
    # angles
    Primitive("deg2rad", lambda u: u * sp.pi / 180, numpy=("deg2rad", "radians"), jax=("deg2rad", "radians")),
    Primitive("rad2deg", lambda u: u * 180 / sp.pi, numpy=("rad2deg", "degrees"), jax=("rad2deg", "degrees")),
    # special functions
    Primitive("erf", sp.erf, numpy=("erf",), jax=("erf",), head=sp.erf, lower=jsp.erf, complex_step=False, varies=True),
    Primitive("erfc", sp.erfc, numpy=("erfc",), jax=("erfc",), head=sp.erfc, lower=jsp.erfc, complex_step=False,
              special=(Special(26.0),), varies=True, accuracy=(4, 4)),
    Primitive("sinc", heads.sinc, numpy=("sinc",), jax=("sinc",), head=heads.sinc,
              lower=lambda u: impl.sinc_derivative(0, u), mpmath=mpmath.sincpi,
              special=(Special(0.0), Special(1e-3), Special(1.0)), varies=True, accuracy=(4, 2)),
    Primitive("dsinc", heads.dsinc, arity=2, head=heads.dsinc, lower_node=_lower_dsinc, mpmath=_mp_dsinc,
              text=False, accuracy=(4, 2)),
    Primitive("expit", heads.expit, aliases=("sigmoid",), numpy=("expit",), jax=("logistic",), head=heads.expit,
              lower=impl.expit, mpmath=lambda u: 1 / (1 + mpmath.exp(-u)),
              special=(Special(40.0), Special(-800.0), Special(800.0)), varies=True),
    Primitive("softplus", heads.softplus, jax=("softplus",), head=heads.softplus, lower=impl.softplus,
              mpmath=lambda u: mpmath.log1p(mpmath.exp(u)),
              special=(Special(0.0), Special(40.0), Special(800.0), Special(-800.0)), varies=True),
    Primitive("logaddexp", heads.logaddexp, arity=2, numpy=("logaddexp",), jax=("logaddexp",), head=heads.logaddexp,
              lower=impl.logaddexp, mpmath=lambda a, b: mpmath.log(mpmath.exp(a) + mpmath.exp(b)),
              example="logaddexp(x, 1)", special=(Special(1.0), Special(800.0), Special(-800.0))),
    Primitive("gamma", sp.gamma, numpy=("gamma",), head=sp.gamma, lower=jsp.gamma, switches=_gamma_poles,
              complex_step=False, exact_limit=_EXACT_GAMMA, domain=(0.3, 4.5),
              special=(Special(0.0, OUTSIDE_DOMAIN), Special(-1.0, OUTSIDE_DOMAIN), Special(-2.5)),
              accuracy=(4, 16384)),  # JAX's, through exp(lgamma): see lgamma
    # jax.scipy.special.gamma is sign(Γ)·exp(log|Γ|), the sign from this jitted helper
    Primitive("gammasgn", heads.gammasgn, jax=("gammasgn",), head=heads.gammasgn, lower=jsp.gammasgn,
              switches=_gamma_poles, complex_step=False, mpmath=lambda u: mpmath.sign(mpmath.gamma(u)), text=False,
              smooth=False),
    Primitive("lgamma", heads.lgamma, numpy=("gammaln",), jax=("lgamma",), head=heads.lgamma, lower=jsp.gammaln,
              switches=_gamma_poles, complex_step=False, mpmath=lambda u: mpmath.log(abs(mpmath.gamma(u))),
              domain=(0.3, 6.0),
              special=(Special(0.0, OUTSIDE_DOMAIN), Special(-1.0, OUTSIDE_DOMAIN), Special(-2.5), Special(200.0)),
              accuracy=(4, 32768)),  # JAX's loses 14 bits of u for u < 0 (its reflection formula)
    Primitive("digamma", lambda u: sp.polygamma(0, u), aliases=("psi",), numpy=("psi",), jax=("digamma",),
              exact_limit=_EXACT_GAMMA, domain=(0.3, 6.0),
              special=(Special(0.0, OUTSIDE_DOMAIN), Special(-1.0, OUTSIDE_DOMAIN), Special(-2.5))),
    Primitive("polygamma", sp.polygamma, arity=2, jax=("polygamma",), head=sp.polygamma, lower_node=_lower_polygamma,
              switches=_gamma_poles, complex_step=False, exact_limit=_EXACT_GAMMA, example="polygamma(1, x)",
              domain=(0.3, 6.0),
              special=(Special(0.0, OUTSIDE_DOMAIN), Special(-1.5)), accuracy=(4, 8)),
)
