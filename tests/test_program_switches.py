"""Programs with switches and no formula: their kinks checked at run time, coordinate by coordinate.

A jax.numpy function of a vector too large for a formula may use relu, abs, maximum, clip, where or
max over an axis (:mod:`tridiff.analysis.program_switches`). The oracle for where a partial
derivative exists is the function's own values: the one-sided difference quotients along each
coordinate, (f(v + t e_j) − f(v)) / t and (f(v) − f(v − t e_j)) / t at t = 2^-20, which differ by
the jump of the partial (≥ 0.05 for every kink below), are ~1/t where f jumps, and differ by O(t)
where the partial exists. Where it exists,
the value is checked against jax.grad of the same code (equal to rounding), which is the true
partial away from a switch at 0.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tridiff as td
from tridiff.definition import function as function_module
from tridiff.reasons import PROGRAM_SWITCH, REASONS

T = 2.0**-20
RNG = np.random.default_rng(7)


def quotients(fn, v):
    """The right and left difference quotients of ``fn`` along each coordinate at v."""
    with jax.enable_x64(True):
        f = jax.jit(fn)
        moved = v + T * np.eye(len(v))
        right = (np.asarray(jax.vmap(f)(jnp.asarray(moved))) - float(f(v))) / T
        left = (float(f(v)) - np.asarray(jax.vmap(f)(jnp.asarray(v - T * np.eye(len(v)))))) / T
    return right, left


def jax_grad(fn, v):
    with jax.enable_x64(True):
        return np.asarray(jax.grad(fn)(jnp.asarray(v)))


def check_against_quotients(fn, v, result):
    right, left = quotients(fn, v)
    # the partial does not exist along these: a kink, or a jump (both quotients ~1/t)
    missing = (np.abs(right - left) > 1e-3) | (np.abs(right) > 1e3) | (np.abs(left) > 1e3)
    np.testing.assert_array_equal(np.isnan(result.values), missing)
    np.testing.assert_allclose(result.values[~missing], jax_grad(fn, v)[~missing], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(result.values[~missing], right[~missing], atol=1e-4)
    assert result.reasons == (REASONS[PROGRAM_SWITCH] if missing.any() else "")


# Small programs, each at points with switches at 0 and away from them. The switches' jumps are
# never cancelled by another's there (where they are, tridiff errs on the side of NaN: not tested as exact).
CASES = {
    "relu": (lambda v: jnp.sum(jax.nn.relu(v) * jnp.arange(1.0, 4.0)), [[1.0, 0.0, -1.0], [0.0, 0.0, 0.0]]),
    "abs of a difference": (lambda v: jnp.abs(v[0] - v[1]) + v[2] ** 2, [[1.0, 1.0, 0.5], [1.0, 2.0, 0.0]]),
    "relu(x) + relu(-x)": (lambda v: jnp.sum(jax.nn.relu(v) + jax.nn.relu(-v)), [[1.0, 0.0, -1.0]]),
    "relu of relu": (lambda v: jnp.sum(jax.nn.relu(jax.nn.relu(v) - 1.0)), [[2.0, 1.0, 0.0], [1.0, 1.0, 1.0]]),
    "maximum": (lambda v: jnp.maximum(v[0], v[1]) * v[2], [[2.0, 2.0, 3.0], [2.0, 2.0, 0.0], [1.0, 2.0, 3.0]]),
    "where on a comparison": (lambda v: jnp.sum(jnp.where(v > 0.5, v**2, v)), [[0.5, 0.0, 1.0]]),
    "where on another coordinate": (lambda v: jnp.where(v[1] > 0, v[0], 2 * v[0]) + v[2], [[1.0, 0.0, 3.0]]),
    "and of comparisons": (lambda v: jnp.where((v[0] > 0) & (v[1] > 0), v[2], 0.0), [[0.0, 1.0, 1.0]]),
    "clip": (lambda v: jnp.sum(jnp.clip(v, 0.0, 1.0) * jnp.array([1.0, 2.0, 3.0])), [[1.0, 0.5, 0.0]]),
    "max over an axis": (lambda v: jnp.max(v) + 0.1 * jnp.sum(v**2), [[1.0, 3.0, 3.0], [1.0, 2.0, 3.0]]),
    "comparison as a number": (lambda v: jnp.sum((v > 0).astype(float) * v[::-1]), [[0.0, 1.0, 2.0]]),
    "min and sign": (lambda v: jnp.minimum(v[0], 0.0) + jnp.sign(v[1]) * v[2], [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]),
}


@pytest.fixture
def program_path(monkeypatch):
    """Functions of 3 variables read as programs, not formulas (the limit is 200 variables)."""
    monkeypatch.setattr(function_module, "MAX_SYMBOLIC", 1)


@pytest.mark.parametrize("name", CASES)
def test_kinks_of_a_program_are_found_coordinate_by_coordinate(name, program_path):
    fn, pts = CASES[name]
    g = td.gradient(fn, variables=3)
    assert g.functions[0].kind == "program"
    for v in map(np.array, pts):
        check_against_quotients(fn, v, g.evaluate(v))


def test_a_batch_blanks_only_its_points_at_a_switch(program_path):
    fn, _ = CASES["abs of a difference"]
    pts = np.array([[0.3, 0.1, 0.2], [1.0, 1.0, 0.5], [-2.0, 1.0, 1.0]])
    r = td.gradient(fn, variables=3).evaluate(pts)
    np.testing.assert_array_equal(r.undefined, [False, True, False])
    np.testing.assert_allclose(r.values[[0, 2]], [jax_grad(fn, pts[0]), jax_grad(fn, pts[2])], rtol=1e-15)
    np.testing.assert_array_equal(np.isnan(r.values[1]), [True, True, False])


def test_partial_directional_and_hessian_of_a_program_with_a_kink(program_path):
    fn = lambda v: jnp.abs(v[0]) + v[1] ** 2 * v[2]  # noqa: E731
    at = np.array([0.0, 2.0, 3.0])
    assert np.isnan(td.partial(fn, "x0", variables=3)(at))
    assert td.partial(fn, "x1", variables=3)(at) == pytest.approx(12.0)
    assert np.isnan(td.directional(fn, [1.0, 1.0, 0.0], variables=3)(at))
    assert td.directional(fn, [0.0, 1.0, 1.0], variables=3)(at) == pytest.approx(16.0)
    h = td.hessian(fn, variables=3)(at)
    assert np.isnan(h[0]).all() and np.isnan(h[:, 0]).all()
    np.testing.assert_allclose(h[1:, 1:], [[6.0, 4.0], [4.0, 0.0]])


def mlp_parts(inputs=6, hidden=40, rows=25):
    X = RNG.standard_normal((rows, inputs))
    X[[4, 9]] = 0.0  # two examples of all-zero features: their pre-activations are the biases
    y = RNG.standard_normal(rows)
    y[[4, 9]] = -2.0  # far from what the network gives them: the kinks' jumps are well above the oracle's noise
    shapes = [(inputs, hidden), (hidden,), (hidden,), ()]
    sizes = [int(np.prod(s)) for s in shapes]

    def loss(v):
        parts = jnp.split(v, np.cumsum(sizes)[:-1])
        W1, b1, w2, b2 = (p.reshape(s) for p, s in zip(parts, shapes))
        return jnp.mean((jax.nn.relu(X @ W1 + b1) @ w2 + b2 - y) ** 2)

    return loss, sum(sizes), slice(sizes[0], sizes[0] + hidden)


def test_a_relu_network_with_zero_biases_has_no_partial_along_them():
    """A program past the formula's limit (321 weights): where the biases are 0 and an example's
    features all 0, relu sits at its kink for that example, and exactly the biases (whose units'
    outputs still matter) lose their partials; nudging the biases off 0 brings them back."""
    loss, n, biases = mlp_parts()
    v = 0.3 * RNG.standard_normal(n)
    out = slice(biases.stop, biases.stop + 40)
    v[out] += 0.2 * np.sign(v[out])  # output weights at least 0.2 in size: each unit matters
    v[biases] = 0.0
    v[biases.start + 3] = 0.7  # one unit whose bias is not at its kink
    g = td.gradient(loss)
    r = g.evaluate(v)
    assert g.functions[0].kind == "program"
    check_against_quotients(loss, v, r)
    assert np.isnan(r.values[biases]).sum() == 39
    v[biases] = 0.01
    np.testing.assert_allclose(g(v), jax_grad(loss, v), rtol=1e-13, atol=1e-16)


def test_numeric_is_refused_for_a_program_with_switches(program_path):
    with pytest.raises(td.MethodUnavailableError, match="method='automatic'"):
        td.gradient(CASES["relu"][0], "numeric", variables=3)


def test_logsumexp_is_smooth_but_the_users_own_stop_gradient_is_refused(program_path):
    """jax.nn.logsumexp subtracts a max held by stop_gradient: its switches never flag (ties of the
    max do not matter); a stop_gradient of the user's would make JAX's gradient not f's."""
    fn = lambda v: jax.nn.logsumexp(v) + jnp.sum(jax.nn.softmax(v) * v)  # noqa: E731
    at = np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(td.gradient(fn, variables=3)(at), jax_grad(fn, at), rtol=1e-14)
    f = td.function(lambda v: jnp.sum(v * jax.lax.stop_gradient(v)), variables=3)
    assert f.kind == "opaque" and "stop_gradient" in f.opaque_reason
