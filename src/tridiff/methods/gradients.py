"""The derivatives of several variables as they are called: :func:`gradient`, :func:`hessian`,
:func:`jacobian`, :func:`directional` and :func:`partial`, thin wrappers over one core,
:class:`tridiff.methods.multivariate.MultiDerivative`.

A Python function of a vector is taken the way JAX users write it, with ``jax.grad``'s habits:

- its length n comes from the points (:class:`PerDimension`);
- its parameters may be a pytree, a dict, tuple or list of arrays (a model's weights), and the
  gradient has their structure;
- ``argnums`` differentiates f(params, X, y) with respect to some arguments, the others being data
  given to the compiled program as inputs: new data of the same shapes reuses it (:class:`Arguments`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp
from jax.tree_util import tree_flatten, tree_unflatten

from ..compiler.chunked import is_lazy
from ..compiler.runner import x64
from ..definition.function import Function, Symbols, function, one_parameter, trace_callable
from ..definition.jaxpr import program_reason
from ..errors import MethodUnavailableError, TridiffError
from ..reasons import reasons_of
from .multivariate import MultiDerivative, MultiResult, make


def is_tree(points) -> bool:
    """Whether ``points`` are a pytree of parameters rather than points: a dict, or a tuple or list
    holding an array (NumPy or JAX) or a dict. A list of numbers, nested or not, is a point or a
    batch of points, as NumPy reads it.

    >>> is_tree([1.0, 2.0]), is_tree((np.ones(2), np.ones(3))), is_tree({"w": 1.0})
    (False, True, True)
    """
    if isinstance(points, dict):
        return True
    if isinstance(points, (tuple, list)):
        return any(is_tree(p) or isinstance(p, np.ndarray) or type(p).__module__.startswith("jax")
                   for p in points)
    return False


@dataclass(frozen=True)
class Layout:
    """How a pytree of arrays lies end to end in one float64 vector (as ``jax.flatten_util.ravel_pytree``
    lays it, in NumPy: no JAX operation per call): its structure and each leaf's shape."""

    structure: object
    shapes: tuple[tuple[int, ...], ...]

    @staticmethod
    def of(tree) -> tuple[Layout, list[np.ndarray]]:
        """The layout of ``tree`` and its leaves as float64 arrays (ints and bools are exact in them)."""
        leaves, structure = tree_flatten(tree)
        if not leaves:
            raise TridiffError("the parameters hold no array: nothing to differentiate with respect to")
        arrays = [np.asarray(leaf) for leaf in leaves]
        for a in arrays:
            if a.dtype.kind not in "biuf":
                raise TridiffError(f"a parameter of dtype {a.dtype} is not a real number array")
        return Layout(structure, tuple(a.shape for a in arrays)), [a.astype(np.float64, copy=False) for a in arrays]

    @property
    def size(self) -> int:
        return sum(math.prod(shape) for shape in self.shapes)

    def tree(self, flat, xp=np):
        """The vector ``flat`` (NumPy, or JAX with ``xp=jnp``) in this layout: the pytree back."""
        leaves, at = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            leaves.append(xp.reshape(flat[at:at + size], shape))
            at += size
        return tree_unflatten(self.structure, leaves)


def in_layout(result: MultiResult, layout: Layout) -> MultiResult:
    """A gradient at one flattened point, given back the parameters' structure."""
    error = None if result.error_estimate is None else layout.tree(result.error_estimate)
    return MultiResult(layout.tree(result.values), result.undefined, result.reasons, error, result.method)


def _scalar(f, what: str):
    if isinstance(f, (list, tuple)) or isinstance(f, sp.MatrixBase):
        raise TridiffError(f"the {what} of a vector-valued function is not defined: use td.jacobian(f)")
    return f


class PerDimension:
    """The derivative of a Python function of one vector given without ``variables=``, as ``jax.grad``
    takes it: its length n comes from the last axis of the first points it is called at, and the
    derivative is made (traced, compiled) for that n. Points of another length are refused. A
    gradient also takes a pytree of arrays (a model's parameters: a dict, tuple or list of arrays, see
    :func:`is_tree`) and answers with the same structure.

    >>> import numpy as np, tridiff as td
    >>> g = td.gradient(lambda v: np.sum(v[1:] * v[:-1]))
    >>> g(np.array([1.0, 2.0, 3.0]))
    array([2., 4., 2.])
    >>> td.gradient(lambda p: p["a"] ** 2 * p["b"])({"a": np.array(3.0), "b": np.array(2.0)})
    {'a': array(12.), 'b': array(9.)}
    """

    def __init__(self, kind: str, make: Callable[[int, Callable | None], MultiDerivative], source: Callable):
        self.kind, self._make, self._source = kind, make, source
        self._made = self._tree = None  # (n, derivative) and the parameters' layout, from the first call

    def for_dimension(self, n: int, source: Callable | None = None) -> MultiDerivative:
        """The derivative for f of n variables (the n of the first call); ``source`` reads f's vector."""
        if self._made is None:
            self._made = (n, self._make(n, source))
        elif self._made[0] != n:
            raise TridiffError(f"points with {n} coordinates, but f was first called with {self._made[0]}: a "
                               f"function of a vector keeps its length (make another {self.kind} for another n)")
        return self._made[1]

    def evaluate(self, points) -> MultiResult:
        """Values, the undefined points with reasons, and error estimates (numeric) at ``points`` (..., n);
        for a gradient, at a pytree of parameters too (see :meth:`_at_parameters`)."""
        if is_tree(points):
            return self._at_parameters(points)
        shape = np.shape(points)
        if not shape:
            raise TridiffError("f is a function of a vector: a point is an array of its coordinates, not one number")
        return self.for_dimension(shape[-1]).evaluate(points)

    def _at_parameters(self, params) -> MultiResult:
        """The gradient at one point given as a pytree of arrays (a model's weights, as jax.grad takes
        them), with the same structure: f is differentiated as a function of all the parameters laid
        end to end (``jax.flatten_util.ravel_pytree``), the structure fixed by the first call."""
        if self.kind != "gradient":
            raise TridiffError(f"a {self.kind} at a pytree of parameters is not supported: use td.gradient, or "
                               "pass the parameters as one vector")
        layout, leaves = Layout.of(params)
        if self._tree is None:
            self._tree = layout
        elif self._tree != layout:
            raise TridiffError("these parameters are laid out differently from the first call's (other keys or "
                               f"shapes): make another {self.kind} for them")
        fn = self._source
        flat = np.concatenate([leaf.ravel() for leaf in leaves])
        result = self.for_dimension(flat.size, lambda v: fn(layout.tree(v, jnp))).evaluate(flat)
        return in_layout(result, layout)

    def __call__(self, points):
        """The derivative at ``points`` (shape (..., n)), NaN where it does not exist (a Dask array of
        points: a lazy Dask array)."""
        if is_lazy(points):
            return self.for_dimension(points.shape[-1])(points)
        return self.evaluate(points).values

    def __getattr__(self, name: str):
        # expr, latex, shape, variables, method…: those of the derivative once n is known
        if name.startswith("_"):
            raise AttributeError(name)
        if self._made is None:
            raise TridiffError(f"the {self.kind}'s {name} is known once f's number of variables is: call it at a "
                               "point first, or pass variables=n")
        return getattr(self._made[1], name)

    def __repr__(self) -> str:
        n = "n from the first point" if self._made is None else f"n = {self._made[0]}"
        return f"<{self.kind} of a function of a vector ({n})>"


class Arguments:
    """The gradient of f(a0, a1, …) with respect to the arguments ``argnums``, as
    ``jax.grad(f, argnums)`` takes it: called with all of f's arguments, it answers with the
    structure of ``args[argnums]`` (a tuple of them for a tuple of argnums); each may be an array or
    a pytree of arrays. The other arguments are data (a model's examples X, y): they go into the
    compiled program as inputs, so new data of the same shapes runs the same program, and f has no
    formula (the data are not variables): the method is automatic or numeric.

    >>> import numpy as np, tridiff as td
    >>> def loss(w, X, y):
    ...     return np.sum((X @ w - y) ** 2)
    >>> g = td.gradient(loss, argnums=0)
    >>> g(np.array([1.0, 2.0]), np.eye(2), np.zeros(2))
    array([2., 4.])
    """

    def __init__(self, f: Callable, argnums, method: str, scheme, accuracy):
        if not callable(f) or isinstance(f, Function):
            raise TridiffError("argnums is for a Python function of several arguments")
        many = isinstance(argnums, (tuple, list))
        positions = tuple(argnums) if many else (argnums,)
        if not positions or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in positions) \
                or len(set(positions)) != len(positions):
            raise TridiffError(f"argnums must be an argument's position or a tuple of distinct positions, "
                               f"got {argnums!r}")
        self.fn, self.positions, self.many = f, positions, many
        self.options = (method, scheme, accuracy)
        self._kernels: dict = {}  # (parameters' layout, data's shapes) -> (derivative, compiled program)

    def _split(self, args):
        if max(self.positions) >= len(args):
            raise TridiffError(f"argnums {self.positions if self.many else self.positions[0]} names argument "
                               f"{max(self.positions)}, but f was called with {len(args)}")
        chosen = tuple(args[i] for i in self.positions)
        data = tuple(a for i, a in enumerate(args) if i not in self.positions)
        return (chosen if self.many else chosen[0]), data

    def _reading(self, layout: Layout, count: int) -> Callable:
        """f as a function of the chosen arguments laid end to end in v, and of the data."""
        fn, positions, many = self.fn, self.positions, self.many

        def reading(v, data):
            tree = layout.tree(v, jnp)
            chosen = tree if many else (tree,)
            args, rest = [], iter(data)
            for i in range(count):
                args.append(chosen[positions.index(i)] if i in positions else next(rest))
            return fn(*args)

        return reading

    def evaluate(self, *args) -> MultiResult:
        """The gradient with respect to ``args[argnums]``, with reasons and error estimates (numeric)."""
        chosen, data = self._split(args)
        layout, leaves = Layout.of(chosen)
        given, structure = tree_flatten(data)
        given = [np.asarray(a) if isinstance(a, (list, float, int)) else a for a in given]
        key = (layout, len(args), structure, tuple((np.shape(a), np.result_type(a)) for a in given))
        if key not in self._kernels:
            self._kernels[key] = self._build(layout, len(args), tree_unflatten(structure, given))
        method, program = self._kernels[key]
        with x64():
            value, code, error = program(leaves, tree_unflatten(structure, given))
        code = int(code)
        values = layout.tree(np.asarray(value))
        errors = None if error is None else layout.tree(np.asarray(error))
        return MultiResult(values, code != 0, str(reasons_of(code)), errors, method)

    def _build(self, layout: Layout, count: int, data):
        """The derivative of f's program for this layout, and it compiled with the parameters' leaves
        and the data as inputs."""
        reading, n = self._reading(layout, count), layout.size
        why = program_reason(lambda v: reading(v, data), n)
        if why is not None:
            raise MethodUnavailableError(f"cannot differentiate f with respect to argnums: {why}")
        f = Function(None, Symbols([f"x{i}" for i in range(n)]), "program", lambda v: reading(v, data),
                     "f's other arguments are data, not variables: it has no formula")
        method, scheme, accuracy = self.options
        derivative = make((f,), n, "gradient", method, scheme, accuracy)

        def program(leaves, given):
            flat = jnp.concatenate([jnp.ravel(leaf) for leaf in leaves])[None, :]
            value, code, error = derivative.program_of_vector(flat, lambda v: reading(v, given))
            return value[0], code[0], None if error is None else error[0]

        return derivative.method, jax.jit(program)

    def __call__(self, *args):
        """The gradient with respect to ``args[argnums]``, NaN where it does not exist."""
        return self.evaluate(*args).values

    def __repr__(self) -> str:
        return f"<gradient of {getattr(self.fn, '__name__', 'f')} with respect to arguments {self.positions}>"


def _per_dimension(f, variables, kind: str, make: Callable) -> PerDimension | None:
    """A :class:`PerDimension` for a callable of one parameter given without ``variables=`` (``make(source,
    variables)`` builds the derivative for a given reading), else None. At n = 1 the callable is read
    as a function of one number first (``lambda x: x**2``), as a vector of one if that fails."""
    if variables is not None:
        return None
    if isinstance(f, Function):
        if not f.vector_from_points:
            return None
        scalar, source = f, f.source
    elif callable(f) and one_parameter(f):
        try:
            scalar = function(f)
        except TridiffError:  # it cannot be called on a number at all (f of a dict: p["w"])
            scalar = None
        source = f
    else:
        return None

    def for_n(n: int, reading: Callable | None) -> MultiDerivative:
        if reading is not None:  # f of a dict of parameters, read through their layout as a vector
            return make(reading, n)
        if n == 1 and scalar is not None:
            try:
                return make(scalar, None)
            except TridiffError:
                pass
        return make(source, n)

    return PerDimension(kind, for_n, source)


def gradient(f, method: str = "auto", *, variables=None, argnums=None, scheme=None, accuracy=None):
    """The gradient ∇f of a scalar function of n variables, at points of shape (..., n).

    A Python function of one vector given without ``variables=`` takes n from the points, as
    ``jax.grad`` does, and a pytree of parameters too (see :class:`PerDimension`). With ``argnums``
    (an int or a tuple of them), f(a0, a1, …) is differentiated with respect to those arguments,
    the others being data (see :class:`Arguments`).

    >>> import tridiff as td
    >>> td.gradient("abs(x - y)")([[1.0, 0.0], [2.0, 2.0]])
    array([[ 1., -1.],
           [nan, nan]])
    """
    if argnums is not None:
        if variables is not None:
            raise TridiffError("argnums and variables= do not go together: argnums takes f's arguments as JAX does")
        return Arguments(f, argnums, method, scheme, accuracy)

    def made(source, names):
        return make((_scalar(source, "gradient"),), names, "gradient", method, scheme, accuracy)

    return _per_dimension(f, variables, "gradient", made) or made(f, variables)


def hessian(f, method: str = "auto", *, variables=None, scheme=None, accuracy=None):
    """The Hessian matrix of a scalar function of n variables, at points of shape (..., n); a Python
    function of one vector takes n from the points (see :func:`gradient`).

    >>> import tridiff as td
    >>> td.hessian("x**2*y")([1.0, 3.0])
    array([[6., 2.],
           [2., 0.]])
    """
    def made(source, names):
        return make((_scalar(source, "Hessian"),), names, "hessian", method, scheme, accuracy)

    return _per_dimension(f, variables, "Hessian", made) or made(f, variables)


def jacobian(fs, method: str = "auto", *, variables=None, scheme=None, accuracy=None):
    """The Jacobian matrix of f = (f_1, …, f_m) given as a sequence (or SymPy Matrix), or as a Python
    function returning a vector, shape (..., m, n); a function of one vector takes n from the points
    (see :func:`gradient`).

    >>> import tridiff as td
    >>> td.jacobian(["x*y", "x + y"])([2.0, 3.0])
    array([[3., 2.],
           [1., 1.]])
    """
    if variables is None and callable(fs) and not isinstance(fs, Function) and one_parameter(fs):
        return PerDimension("Jacobian", lambda n, _: jacobian(fs, method, variables=n if n > 1 else None,
                                                              scheme=scheme, accuracy=accuracy), fs)
    if isinstance(fs, sp.MatrixBase):
        fs = list(fs)
    elif callable(fs) and not isinstance(fs, Function):
        found = trace_callable(fs, variables)
        if not isinstance(found.expr, tuple):
            raise TridiffError("jacobian needs a vector-valued function (it returns one number: use td.gradient)"
                               if found.expr is not None else f"jacobian needs f's formula: {found.reason}")
        fs, variables = list(found.expr), [s.name for s in found.symbols]
    if isinstance(fs, (str, sp.Basic, Function)) or not len(fs):
        raise TridiffError("jacobian needs a sequence of functions (f_1, …, f_m); for one function use td.gradient")
    return make(tuple(fs), variables, "jacobian", method, scheme, accuracy)


def directional(f, direction, method: str = "auto", *, variables=None, scheme=None,
                accuracy=None) -> MultiDerivative:
    """The derivative of f along ``direction`` (used as given: normalise it for a unit-speed derivative).

    >>> import tridiff as td
    >>> float(td.directional("x*y", [1, 1])([2.0, 3.0]))
    5.0
    """
    def weights_of(names):
        w = np.asarray(direction, dtype=float)
        if w.shape != (len(names),) or not np.all(np.isfinite(w)) or not np.any(w):
            raise TridiffError(f"direction must be {len(names)} finite numbers, not all 0, got {direction!r}")
        return tuple(w)

    return make((_scalar(f, "directional derivative"),), variables, "directional", method, scheme, accuracy,
                 weights_of)


def partial(f, wrt: str, method: str = "auto", *, variables=None, scheme=None, accuracy=None) -> MultiDerivative:
    """∂f/∂``wrt`` at points of shape (..., n) (what ``td.derivative(f, wrt=...)`` returns for n > 1).

    >>> import tridiff as td
    >>> float(td.partial("x*y + sin(z)", "y")([2.0, 3.0, 0.0]))
    2.0
    """
    def weights_of(names):
        if wrt not in names:
            raise TridiffError(f"unknown variable {wrt!r}: f's variables are {', '.join(names)}")
        return tuple(1.0 if name == wrt else 0.0 for name in names)

    return make((f,), variables, "partial", method, scheme, accuracy, weights_of)
