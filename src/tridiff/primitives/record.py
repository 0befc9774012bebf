"""The record of one elementary function: everything each layer of tridiff needs to know about it."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import sympy as sp

BRANCH, SINGULAR, DOMAIN, POLE = "branch", "singular", "domain", "pole"  # kinds of switch: see Primitive.switches


class Deferred:
    """``jnp.sin`` written in a record without importing JAX, serving both of the compiler's tiers.

    Called on JAX arrays or tracers it is the JAX function; on NumPy arrays or plain numbers, its
    NumPy twin (``numpy.sin`` for ``jax.numpy.sin``, ``scipy.special.erf`` for
    ``jax.scipy.special.erf``): see :mod:`tridiff.compiler.backends`. Records are read by the
    parser, which needs neither; each module is imported on first call.
    """

    def __init__(self, module: str, twin: str, name: str = ""):
        self.module, self.twin, self.name = module, twin, name
        self.targets: dict[bool, Callable] = {}  # resolved: on NumPy input (True) and on JAX input (False)

    def __getattr__(self, name: str) -> Deferred:
        if name.startswith("__"):
            raise AttributeError(name)
        return Deferred(self.module, self.twin, f"{self.name}.{name}" if self.name else name)

    def __call__(self, *args, **kwargs):
        on_numpy = all(type(a).__module__ in _NUMPY_MODULES for a in args)
        target = self.targets.get(on_numpy)
        if target is None:
            target = importlib.import_module(self.twin if on_numpy else self.module)
            for part in self.name.split("."):
                target = getattr(target, part)
            self.targets[on_numpy] = target
        return target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


_NUMPY_MODULES = frozenset({"numpy", "builtins"})  # where NumPy arrays, NumPy scalars and Python numbers come from


@dataclass(frozen=True)
class Special:
    """A point where a function needs care: a switch, a domain edge, a pole, an overflow edge.

    ``reason`` is the reason code (:mod:`tridiff.reasons`) every method must report there for the
    first and second derivative, or None where both exist (and must be right).
    """

    x: float
    reason: int | None = None


def no_switches(node: sp.Expr) -> tuple:
    return ()


@dataclass(frozen=True)
class Primitive:
    """One elementary function, known in one place.

    Attributes:
        name: its name in text, ``sin`` in ``"sin(x)"`` (for ``text=False``, just a label).
        build: its meaning: the SymPy expression of its arguments. Where it is a composition of
            other records (``log1p(u) = log(1 + u)``) that is all the record needs.
        arity: how many arguments text gives it (a tuple: each count allowed).
        aliases: other names in text (``ln`` for ``log``).
        numpy: the ``__name__`` of its NumPy and SciPy spellings (ufuncs and array functions).
        jax: the names it appears under in a jaxpr: JAX primitives (``logistic``) or jitted and
            custom-derivative jax.numpy functions (``softplus``, ``sinc``), read as one operation.
        head: the SymPy function class this record gives meaning to (None for a composition).
        lower: the head's JAX implementation, called on the lowered arguments.
        lower_node: instead of ``lower``, for heads whose lowering needs the compiler's context
            (switches forced to one side, the complex step): called as ``lower_node(lowering, node)``.
        switches: the node's switch arguments: ``(u, kind)`` pairs, where it may stop being analytic as
            u crosses 0: ``BRANCH`` (abs, max: a kink or jump between two analytic pieces),
            ``SINGULAR`` (cbrt: f finite on both sides but analytic only within |u|/|u'| of x, as
            near a pole, so a difference step must stay inside that distance), ``DOMAIN`` (f needs
            u ≥ 0) or ``POLE``.
        complex_step: whether the head's JAX implementation evaluates the analytic continuation at
            complex points (a callable of the node where it depends on the node).
        stable: ``(unstable, stable)`` SymPy patterns: derivative forms SymPy writes that lose
            accuracy in floating point, and what to write instead.
        mpmath: the head's value by mpmath (for heads mpmath does not know by name).
        smooth: analytic wherever finite: a JAX program made of such operations has no kinks.
        varies: f varies on a scale of 1 in its argument u however large u is (sin, exp): a
            difference step must stay well inside 1/|u'|, not grow with |x|.
        accuracy: ``(a, b)``: the head's implementations (JAX's and NumPy's or SciPy's) are within
            eps·(a·|g(u)| + b·|u·g'(u)|) of the exact value: ``b`` for functions computed through a
            reduction of their argument that loses its last bits (JAX's lgamma near its zeros).
            Measured against mpmath by the conformance suite; it sizes the numeric error estimate.
        exact_limit: SymPy evaluates the function exactly at constant arguments (Γ(n) = (n − 1)!,
            ψ(n) through harmonic numbers), which takes hours for large n: past this |argument|,
            text gets the value in floating point instead (refused beyond float64's range).
        text: whether text may use it (False: a spelling of JAX's only, such as rsqrt).
        example: the text of a one-variable use for the conformance suite (default ``name(x)``).
        domain: an interval of ordinary points for the conformance suite.
        special: the points where it needs care (see :class:`Special`).
    """

    name: str
    build: Callable[..., sp.Expr]
    arity: int | tuple[int, ...] = 1
    aliases: tuple[str, ...] = ()
    numpy: tuple[str, ...] = ()
    jax: tuple[str, ...] = ()
    head: type | None = None
    lower: Callable | None = None
    lower_node: Callable | None = None
    switches: Callable[[sp.Expr], tuple] = no_switches
    complex_step: bool | Callable[[sp.Expr], bool] = True
    stable: tuple[tuple[sp.Expr, sp.Expr], ...] = ()
    mpmath: Callable | None = None
    smooth: bool = True
    varies: bool = False
    accuracy: tuple[float, float] = (2.0, 0.0)
    exact_limit: float | None = None
    text: bool = True
    example: str | None = None
    domain: tuple[float, float] = (-3.0, 3.0)
    special: tuple[Special, ...] = ()

    @property
    def arities(self) -> tuple[int, ...]:
        return self.arity if isinstance(self.arity, tuple) else (self.arity,)

    @property
    def usage(self) -> str:
        """The one-variable text the conformance suite differentiates."""
        return self.example or f"{self.name}(x)"

    def supports_complex_step(self, node: sp.Expr) -> bool:
        return self.complex_step(node) if callable(self.complex_step) else self.complex_step
