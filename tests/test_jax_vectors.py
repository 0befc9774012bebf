"""jax.numpy functions of one vector, traced into SymPy formulas (kind "jax") like NumPy ones.

Each function below is written once for a module ``xp`` and run as jax.numpy code and as NumPy
code. The oracles: the NumPy version, traced by tridiff's NumPy tracer (an independent route to the
formula, which must come out identical); ``jax.grad``/``jax.jacfwd`` of the jax.numpy code itself
(JAX's own derivative of the program, not of tridiff's formula); and, for Rosenbrock and the
logistic loss, ``mpmath.diff`` of the function written in plain Python loops, at 40 digits.

Tolerance: 1e-12 scaled error (|value − ref| / (|ref| + 1% of the largest |ref|), as in
:func:`tridiff.methods.reference.scaled_error`) everywhere; measured worst over the functions and points
below: 3.5e-15 (the logistic loss's symbolic gradient against jax.grad), 5.6e-16 against mpmath.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp
from sampling import slow_except  # tests/ is on sys.path (pytest prepends it)

import tridiff as td
from tridiff.definition import jaxpr, tracing
from tridiff.definition.function import Symbols
from tridiff.definition.jaxpr import trace_jax
from tridiff.methods.reference import scaled_error

TOL = 1e-12
RNG = np.random.default_rng(2024)

# Logistic regression on 30 labelled points with 5 features; a 2-3-1 tanh network on 8 points.
LOGISTIC_X = RNG.standard_normal((30, 5))
LOGISTIC_Y = np.where(RNG.random(30) < 0.5, -1.0, 1.0)
NET_X, NET_T, HIDDEN = RNG.standard_normal((8, 2)), RNG.standard_normal(8), 3


def rosenbrock(xp):
    return lambda v: xp.sum((1 - v[:-1]) ** 2 + 100 * (v[1:] - v[:-1] ** 2) ** 2)


def logistic(xp):
    return lambda w: xp.mean(xp.log1p(xp.exp(-(LOGISTIC_X @ w) * LOGISTIC_Y)))


def network(xp):
    def loss(p):
        w1 = xp.reshape(p[: 2 * HIDDEN], (2, HIDDEN))
        b1, w2, b2 = p[2 * HIDDEN: 3 * HIDDEN], p[3 * HIDDEN: 4 * HIDDEN], p[4 * HIDDEN]
        return xp.mean((xp.tanh(NET_X @ w1 + b1) @ w2 + b2 - NET_T) ** 2)

    return loss


def kinked(xp):
    # |v1 − v0| + |v2 − v1| + max(v0, 0) + (v2 where v2 > 0, else 0)
    return lambda v: xp.sum(xp.abs(v[1:] - v[:-1])) + xp.maximum(v[0], 0.0) + xp.where(v[2] > 0, v[2], 0.0)


def vector_valued(xp):
    return lambda v: xp.concatenate([xp.sin(v[:-1]) * v[1:], xp.cumsum(v ** 2)[-1:]])


SMOOTH = {"rosenbrock": (rosenbrock, 6), "logistic": (logistic, 5), "network": (network, 4 * HIDDEN + 1)}


def points(n, count=4):
    return np.random.default_rng(n).uniform(-1.5, 1.5, (count, n))


@functools.cache
def traced(name, xp_name):
    build, n = SMOOTH[name]
    return td.function(build(jnp if xp_name == "jax" else np), variables=n)


def jax_of(fn, pts, transform=jax.grad):
    """``transform`` (jax.grad, jax.jacfwd or none) of the jax.numpy code itself, at each point, in float64."""
    with jax.enable_x64(True):
        return np.asarray(jax.vmap(transform(fn))(jnp.asarray(pts)))


# -- smooth functions: formula, values and gradients --------------------------------------------

@pytest.mark.parametrize("name", SMOOTH)
def test_jax_vector_function_gets_the_numpy_formula(name):
    f, g = traced(name, "jax"), traced(name, "numpy")
    assert (f.kind, g.kind) == ("jax", "numpy")
    assert f.variables == g.variables == sp.symbols(f"x:{SMOOTH[name][1]}", real=True)
    assert f.expr == g.expr  # the very same formula: the same values and derivatives by every method
    pts = points(len(f.variables))
    assert scaled_error(f(pts), jax_of(SMOOTH[name][0](jnp), pts, lambda fn: fn)) <= TOL


@pytest.mark.parametrize("name", slow_except(SMOOTH, {"rosenbrock", "logistic"}))  # the network's: 7 s
def test_gradients_agree_with_jax_grad_of_the_program(name):
    f = traced(name, "jax")
    pts = points(len(f.variables))
    symbolic = td.gradient(f, method="symbolic")(pts)
    assert scaled_error(symbolic, td.gradient(f, method="automatic")(pts)) <= TOL
    assert scaled_error(symbolic, jax_of(SMOOTH[name][0](jnp), pts)) <= TOL


def mp_rosenbrock(*v):
    return sum((1 - v[i]) ** 2 + 100 * (v[i + 1] - v[i] ** 2) ** 2 for i in range(len(v) - 1))


def mp_logistic(*w):
    margins = (sum(x * wj for x, wj in zip(row, w)) * y for row, y in zip(LOGISTIC_X.tolist(), LOGISTIC_Y))
    return sum(mpmath.log(1 + mpmath.exp(-m)) for m in margins) / len(LOGISTIC_Y)


@pytest.mark.parametrize(("name", "mp_f"), [("rosenbrock", mp_rosenbrock), ("logistic", mp_logistic)])
def test_symbolic_gradient_matches_mpmath(name, mp_f):
    f = traced(name, "jax")
    n, pts = len(f.variables), points(len(f.variables), 2)
    with mpmath.workdps(40):
        ref = [[float(mpmath.diff(mp_f, tuple(map(mpmath.mpf, p)), tuple(int(k == i) for k in range(n))))
                for i in range(n)] for p in pts.tolist()]
    assert scaled_error(td.gradient(f, method="symbolic")(pts), np.array(ref)) <= TOL


# -- kinks, vectors, programs ---------------------------------------------------------------------

@pytest.mark.parametrize("method", ["symbolic", "automatic"])
def test_kinks_of_abs_max_where_give_nan_and_a_reason(method):
    f = td.function(kinked(jnp), variables=3)
    assert f.kind == "jax"
    assert sp.expand(f.expr - td.function(kinked(np), variables=3).expr) == 0
    # on |v1 − v0|'s kink, on max(v0, 0)'s, on the where's switch v2 = 0, and off every kink
    pts = np.array([[0.5, 0.5, 2.0], [0.0, 1.0, 2.0], [0.5, 1.0, 0.0], [0.5, 1.0, 2.0]])
    r = td.gradient(f, method=method).evaluate(pts)
    np.testing.assert_array_equal(r.undefined, [True, True, True, False])
    assert np.isnan(r.values[:3]).all()
    assert all("kink" in s for s in r.reasons[:3]), r.reasons
    # d/dv0 = -1 + 1 (max), d/dv1 = 1 - 1, d/dv2 = 1 + 1 (where)
    np.testing.assert_allclose(r.values[3], [0.0, 0.0, 2.0], atol=1e-15)


@pytest.mark.parametrize("method", ["symbolic", "automatic"])
def test_jacobian_of_a_vector_valued_jax_function(method):
    pts = points(4)
    d = td.jacobian(vector_valued(jnp), method=method, variables=4)
    assert d.expr == td.jacobian(vector_valued(np), method=method, variables=4).expr
    jac = d(pts)
    assert jac.shape == (4, 4, 4)
    assert scaled_error(jac, jax_of(vector_valued(jnp), pts, jax.jacfwd)) <= TOL


def test_scalar_arguments_returning_a_jax_vector_have_a_jacobian():
    np.testing.assert_array_equal(td.jacobian(lambda x, y: jnp.array([x * y, x + y]))([2.0, 3.0]),
                                  [[3.0, 2.0], [1.0, 1.0]])


def test_refused_primitive_with_kinks_makes_the_function_opaque_and_names_it():
    f = td.function(lambda v: jnp.sort(v)[0], variables=3)
    assert f.kind == "opaque" and "'sort'" in f.opaque_reason, f.opaque_reason
    with pytest.raises(td.MethodUnavailableError, match="sort"):
        td.gradient(f, method="automatic")


def test_refused_smooth_primitive_leaves_a_program_and_names_it():
    f = td.function(lambda v: jnp.polyval(v, 2.0), variables=3)  # a scan: not traced into a formula
    assert f.kind == "program" and "'scan'" in f.opaque_reason, f.opaque_reason
    with pytest.raises(td.MethodUnavailableError, match="scan"):
        td.gradient(f, method="symbolic")
    np.testing.assert_allclose(td.gradient(f, method="automatic")([[1.0, 2.0, 3.0]]), [[4.0, 2.0, 1.0]])


def test_branching_on_a_jax_vector_is_opaque_with_the_where_advice():
    f = td.function(lambda v: jnp.sin(v[0]) if v[0] > 0 else v[1], variables=2)
    assert f.kind == "opaque" and "jnp.where" in f.opaque_reason


def test_a_program_too_large_for_a_formula_stays_a_program(monkeypatch):
    # 120 data rows times 10 weights: 1200 products in X @ w alone, more than MAX_TRACE_WORK
    X = RNG.standard_normal((120, 10))
    assert X.size > jaxpr.MAX_TRACE_WORK
    loss = lambda w: jnp.mean(jnp.log1p(jnp.exp(-(X @ w))))  # noqa: E731
    monkeypatch.setattr(jaxpr, "_read_jaxpr", None)  # never interpreted: refused from its size
    f = td.function(loss, variables=10)
    assert f.kind == "program" and f"more than {jaxpr.MAX_TRACE_WORK} scalar operations" in f.opaque_reason
    pts = points(10)
    assert scaled_error(td.gradient(f, method="automatic")(pts), jax_of(loss, pts)) <= TOL


def test_numpy_code_too_large_to_trace_is_opaque_and_says_so(monkeypatch):
    monkeypatch.setattr(tracing, "MAX_NUMPY_TRACE_WORK", 50)
    f = td.function(lambda w: np.sum(np.exp(LOGISTIC_X @ w)), variables=5)  # 30 x 5 products alone: 150
    assert f.kind == "opaque" and "more than 50 scalar operations" in f.opaque_reason, f.opaque_reason
    assert td.function(lambda w: np.sum(np.exp(w)), variables=5).kind == "numpy"  # 10 operations


def test_more_than_max_symbolic_variables_stays_a_program():
    f = td.function(rosenbrock(jnp), variables=201)
    assert f.kind == "program" and "201 variables" in f.opaque_reason


# -- the interpreter's primitives, one snippet each ----------------------------------------------

A = np.arange(6.0).reshape(2, 3)
SNIPPETS = {
    "slice, stride, rev": lambda v: v[::-1][0] * v[::2].sum(),
    "gather": lambda v: v[jnp.array([0, 2, 2])] @ jnp.array([1.0, 2.0, 3.0]),
    "take negative": lambda v: jnp.take(v, -1) * v[0],
    "scatter": lambda v: v.at[0].set(1.0).prod(),
    "dynamic_slice": lambda v: jax.lax.dynamic_slice(v, (1,), (2,)).prod(),
    "dynamic_update_slice": lambda v: jax.lax.dynamic_update_slice(v, jnp.array([7.0]), (1,)).prod(),
    "pad": lambda v: jnp.pad(v, 1) @ jnp.arange(5.0),
    "roll, concatenate": lambda v: jnp.roll(v, 1)[0] * v[1],
    "outer, transpose, matmul": lambda v: (jnp.outer(v, jnp.arange(3.0)).T @ v) @ v,
    "einsum with a batch": lambda v: jnp.einsum("bi,bi->b", jnp.stack([v, v]), jnp.stack([v, 2 * v])).sum(),
    "einsum matrix-vector": lambda v: jnp.einsum("ij,j->i", A, jnp.sin(v)).prod(),
    "reshape, mean over an axis": lambda v: jnp.reshape(v, (3, 1)).mean(axis=0)[0],
    "var (NaN selected away)": lambda v: jnp.var(v),
    "cumsum reversed, cummax": lambda v: jax.lax.cumsum(v, reverse=True)[0] + jax.lax.cummax(v)[-1],
    "split, tile": lambda v: jnp.split(v, 3)[1].sum() + jnp.tile(v, 2).sum(),
    "iota": lambda v: jnp.arange(3) @ v,
    "count of conditions": lambda v: jnp.sum(v > 0) * v[0],
    "max, min, clip": lambda v: jnp.max(v) - jnp.min(v) + jnp.clip(v, 0, 1).sum(),
    "relu, softplus, sigmoid": lambda v: (jax.nn.relu(v) + jax.nn.softplus(v) + jax.nn.sigmoid(v)).sum(),
    "norm, jit": jax.jit(lambda v: jnp.linalg.norm(v) + jnp.linalg.norm(v, 1)),
}


@pytest.mark.parametrize("name", SNIPPETS)
def test_each_primitive_reads_as_the_program_computes(name):
    x = sp.symbols("x:3", real=True)
    expr = trace_jax(SNIPPETS[name], x, vector=True)
    for p in ([0.3, -1.2, 2.0], [1.5, 0.25, -0.5]):
        with jax.enable_x64(True):
            expected = float(SNIPPETS[name](jnp.array(p)))
        assert float(expr.subs(dict(zip(x, p)))) == pytest.approx(expected, rel=1e-14, abs=1e-14), expr


@pytest.mark.parametrize(("fn", "why"), [
    (lambda v: v[0].astype(int) * v[1], "converts a value computed from x to an integer"),
    (lambda v: v[jnp.argmax(v)], "'argmax'"),
    (lambda v: v.at[1:].add(1.0).sum(), "'scatter-add'"),
    (lambda v: jax.nn.logsumexp(v), "'is_finite'"),
])
def test_unsupported_programs_are_refused_plainly(fn, why):
    with pytest.raises(td.TraceError, match=why):
        trace_jax(fn, sp.symbols("x:3", real=True), vector=True)


def test_a_program_of_a_long_vector_makes_no_symbols():
    """10^5 variables: names, a gradient and its values, and not one SymPy symbol made (making them
    took a second: more than the gradient's whole first call)."""
    n = 10**5

    def rosenbrock(w):
        return jnp.sum(100.0 * (w[1:] - w[:-1] ** 2) ** 2 + (1 - w[:-1]) ** 2)

    f = td.function(rosenbrock, variables=n)
    g = td.gradient(f, "automatic")
    point = RNG.standard_normal(n)
    with jax.enable_x64(True):
        expected = np.asarray(jax.grad(rosenbrock)(jnp.asarray(point)))
    np.testing.assert_allclose(g(point), expected, rtol=1e-12, atol=1e-9)
    assert f.kind == "program" and f.names[-1] == f"x{n - 1}" and len(f.variables) == n
    assert isinstance(f.variables, Symbols) and f.variables._made is None


# -- the dimension from the point, as jax.grad takes it (issue 15) -------------------------------
def scipy_rosen(v):
    """Rosenbrock's function as SciPy documents it: a sum over range(len(v) - 1)."""
    return sum(100.0 * (v[i + 1] - v[i] ** 2) ** 2 + (1 - v[i]) ** 2 for i in range(len(v) - 1))


@pytest.mark.parametrize("n", [2, 5, 12])
def test_a_function_of_a_vector_takes_its_length_from_the_point(n):
    optimize = pytest.importorskip("scipy.optimize")
    v = RNG.uniform(-2, 2, n)
    for f in (scipy_rosen, td.function(scipy_rosen)):  # a callable, or a Function made of it
        np.testing.assert_allclose(td.gradient(f)(v), optimize.rosen_der(v), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(td.hessian(f)(v), optimize.rosen_hess(v), rtol=1e-12, atol=1e-9)
    batch = RNG.uniform(-2, 2, (4, n))  # a batch of points: n is the last axis
    np.testing.assert_allclose(td.gradient(scipy_rosen, "numeric")(batch),
                               np.stack([optimize.rosen_der(p) for p in batch]), rtol=1e-7)


def test_numpy_and_jax_code_of_a_vector_need_no_variables():
    np.testing.assert_array_equal(td.gradient(lambda v: np.maximum(v[0], v[1]))(np.array([1.0, 2.0])), [0.0, 1.0])
    assert np.isnan(td.gradient(lambda v: np.maximum(v[0], v[1]))(np.array([2.0, 2.0]))).all()  # the kink
    np.testing.assert_allclose(td.gradient(lambda v: jnp.sum(v**2))(np.array([1.0, 2.0, 3.0])), [2.0, 4.0, 6.0])
    np.testing.assert_allclose(td.jacobian(lambda v: v * 2)(np.ones(3)), 2 * np.eye(3))
    assert td.gradient(lambda x: x**2)(np.array([3.0])) == pytest.approx([6.0])  # one number stays one number


def test_a_function_of_a_vector_says_what_is_wrong():
    g = td.gradient(scipy_rosen)
    with pytest.raises(td.TridiffError, match="known once"):
        g.expr
    g(np.ones(3))
    assert g.shape == (3,) and g.expr is not None  # known now
    with pytest.raises(td.TridiffError, match="4 coordinates, but f was first called with 3"):
        g(np.ones(4))
    with pytest.raises(td.TridiffError, match="use td.jacobian"):
        td.gradient(lambda v: v * 2)(np.ones(3))
    with pytest.raises(td.TridiffError, match="not one number"):
        td.gradient(scipy_rosen)(2.0)


def test_a_logistic_loss_with_logaddexp_is_a_program_at_any_n():
    """jnp.logaddexp is a custom_jvp of JAX's: read as one smooth operation, its loss runs as a program
    past the formula's limit, its n from the point, equal to jax.grad's."""
    n = 300
    X, y = RNG.standard_normal((20, n)), np.sign(RNG.standard_normal(20))

    def loss(w):
        return jnp.mean(jnp.logaddexp(0.0, -y * (X @ w)))

    w = 0.1 * RNG.standard_normal(n)
    with jax.enable_x64(True):
        expected = np.asarray(jax.grad(loss)(jnp.asarray(w)))
    np.testing.assert_allclose(td.gradient(loss)(w), expected, rtol=1e-13, atol=1e-15)
    assert td.function(loss, variables=n).kind == "program"


def test_a_gradient_at_a_dict_of_parameters_has_their_structure():
    """As jax.grad: the loss of a two-layer network of a dict of weights (a program: 250 parameters)
    and of a linear model (a formula: 5), the gradient a dict of the same keys and shapes."""
    X, y = RNG.standard_normal((40, 8)), RNG.standard_normal(40)

    def network(p):
        return jnp.mean((jnp.tanh(X @ p["W1"] + p["b1"]) @ p["w2"] - y) ** 2)

    def linear(p):  # on 6 rows: SymPy differentiates a sum of squares with float coefficients slowly
        return jnp.mean((X[:6, :4] @ p["w"] + p["b"] - y[:6]) ** 2)

    for loss, params in ((network, {"W1": RNG.standard_normal((8, 25)), "b1": RNG.standard_normal(25),
                                    "w2": RNG.standard_normal(25)}),
                         (linear, {"w": RNG.standard_normal(4), "b": np.array(0.5)})):
        g = td.gradient(loss)
        got = g(params)
        with jax.enable_x64(True):
            expected = jax.grad(loss)(jax.tree_util.tree_map(jnp.asarray, params))
        assert set(got) == set(params)
        for key in params:
            assert got[key].shape == np.shape(params[key])
            np.testing.assert_allclose(got[key], expected[key], rtol=1e-12, atol=1e-13)
        with pytest.raises(td.TridiffError, match="laid out differently"):
            g({key: np.ones(np.size(value) + 1) for key, value in params.items()})
    with pytest.raises(td.TridiffError, match="not supported"):
        td.hessian(linear)({"w": np.ones(4), "b": np.array(0.0)})


def assert_same_tree(got, expected, rtol=1e-12):
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected)):
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-14)


def test_a_gradient_at_a_tuple_or_list_of_parameters_has_their_structure():
    """As jax.grad: a tuple (W, b) or a list [w, c] of arrays is a pytree; a list of numbers stays a point."""
    X = RNG.standard_normal((10, 3))

    def model(p):
        W, b = p
        return jnp.sum(jnp.tanh(X @ W + b) ** 2)

    params = (RNG.standard_normal((3, 2)), RNG.standard_normal(2))
    with jax.enable_x64(True):
        assert_same_tree(td.gradient(model)(params), jax.grad(model)(jax.tree_util.tree_map(jnp.asarray, params)))
        scaled = lambda p: jnp.sum(p[0] ** 2) * p[1]  # noqa: E731
        listed = [np.array([3.0, 1.0]), np.array(2.0)]
        assert_same_tree(td.gradient(scaled)(listed), jax.grad(scaled)([jnp.asarray(a) for a in listed]))
    np.testing.assert_array_equal(td.gradient(lambda v: v[0] * v[1])([2.0, 3.0]), [3.0, 2.0])  # a point


def logistic_with_data(w, X, y):
    return jnp.mean(jnp.logaddexp(0.0, -y * (X @ w)))


def test_argnums_takes_the_other_arguments_as_data():
    """jax.grad(f, argnums=0) of a logistic loss f(w, X, y): equal to JAX's at each data set; new data
    of the same shapes runs the same compiled program; mpmath checks one partial at 40 digits."""
    w = RNG.standard_normal(5)
    g = td.gradient(logistic_with_data, argnums=0)
    for X, y in ((LOGISTIC_X, LOGISTIC_Y), (2 * LOGISTIC_X, -LOGISTIC_Y), (LOGISTIC_X[:7], LOGISTIC_Y[:7])):
        with jax.enable_x64(True):
            expected = np.asarray(jax.grad(logistic_with_data)(jnp.asarray(w), X, y))
        np.testing.assert_allclose(g(w, X, y), expected, rtol=1e-13, atol=1e-16)
    assert len(g._kernels) == 2  # 30 rows twice (one program), then 7 rows

    mpmath.mp.dps = 40
    X, y = LOGISTIC_X, LOGISTIC_Y

    def along_w0(t):
        z = [sum(mpmath.mpf(X[i, j]) * (t if j == 0 else mpmath.mpf(w[j])) for j in range(5)) for i in range(30)]
        return sum(mpmath.log(1 + mpmath.exp(-mpmath.mpf(y[i]) * z[i])) for i in range(30)) / 30

    assert g(w, X, y)[0] == pytest.approx(float(mpmath.diff(along_w0, mpmath.mpf(w[0]))), rel=1e-13)


def test_argnums_tuple_and_pytrees_as_jax_grad():
    def f(a, scale, b):
        return jnp.sum(a["u"] * b[0] ** 2) * scale + jnp.sum(jnp.sin(b[1]))

    a, b = {"u": RNG.standard_normal(3)}, (RNG.standard_normal(3), RNG.standard_normal(2))
    with jax.enable_x64(True):
        expected = jax.grad(f, argnums=(0, 2))(a, 2.0, b)
    assert_same_tree(td.gradient(f, argnums=(0, 2))(a, 2.0, b), expected)
    assert_same_tree(td.gradient(f, argnums=(0, 2), method="numeric")(a, 2.0, b), expected, rtol=1e-8)


def test_argnums_of_a_relu_network_names_the_weights_without_a_derivative():
    """A zero example meets zero biases: relu at its kink, and exactly the biases lose their partials."""
    X, y = RNG.standard_normal((20, 4)), RNG.standard_normal(20)
    X[5], y[5] = 0.0, -3.0

    def mlp(params, X, y):
        W1, b1, w2 = params
        return jnp.mean((jax.nn.relu(X @ W1 + b1) @ w2 - y) ** 2)

    params = (RNG.standard_normal((4, 6)), np.zeros(6), 0.5 + RNG.random(6))
    r = td.gradient(mlp, argnums=0).evaluate(params, X, y)
    with jax.enable_x64(True):
        expected = jax.grad(mlp)(jax.tree_util.tree_map(jnp.asarray, params), X, y)
    assert np.isnan(r.values[1]).all() and r.undefined
    for got, want in ((r.values[0], expected[0]), (r.values[2], expected[2])):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_argnums_says_what_is_wrong():
    with pytest.raises(td.TridiffError, match="names argument 3, but f was called with 3"):
        td.gradient(logistic_with_data, argnums=3)(np.ones(5), LOGISTIC_X, LOGISTIC_Y)
    with pytest.raises(td.TridiffError, match="distinct positions"):
        td.gradient(logistic_with_data, argnums=(0, 0))
    with pytest.raises(td.MethodUnavailableError, match="data, not variables"):
        td.gradient(logistic_with_data, "symbolic", argnums=0)(np.ones(5), LOGISTIC_X, LOGISTIC_Y)
    with pytest.raises(td.TridiffError, match="do not go together"):
        td.gradient(logistic_with_data, argnums=0, variables=5)
