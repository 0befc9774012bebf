"""``differentiate_samples``: np.gradient's values, higher accuracy, kinks found, inputs checked.

The references are NumPy's own ``np.gradient`` (the oracle for accuracy 2), exact derivatives
written out by hand next to each case, and the order of convergence (log-log slope of the error
against the spacing), as findiff's tests check it.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tridiff as td
from tridiff.analysis import sampled_kinks
from tridiff.methods import samples
from tridiff.methods.numeric import fornberg
from tridiff.methods.samples import SampleDerivative, differentiate_samples
from tridiff.reasons import BETWEEN_KINKS, KINK, NOT_FINITE_SAMPLES, REASONS
from tridiff.studies.catalog import EXAMPLES

AT_KINK, BETWEEN_KINKS, NOT_FINITE_Y = REASONS[KINK], REASONS[BETWEEN_KINKS], REASONS[NOT_FINITE_SAMPLES]

EPS = np.finfo(np.float64).eps


def lab_grid(n=100):
    """The lab's grid: 0 lies between two samples when n is even, on one when n is odd."""
    return np.linspace(-5, 5, n)


def gradient_rounding(y, x, axis=-1):
    """A bound on np.gradient's own rounding: 8 eps sum |w_k y_k| over its 3-point stencils."""
    y = np.moveaxis(y, axis, -1)
    dx1, dx2 = np.diff(x)[:-1], np.diff(x)[1:]
    a, b, c = -dx2 / (dx1 * (dx1 + dx2)), (dx2 - dx1) / (dx1 * dx2), dx1 / (dx2 * (dx1 + dx2))
    inner = np.abs(a * y[..., :-2]) + np.abs(b * y[..., 1:-1]) + np.abs(c * y[..., 2:])
    return np.moveaxis(8 * EPS * inner, -1, axis)


def interior(a, axis=-1):
    return np.moveaxis(np.moveaxis(a, axis, -1)[..., 1:-1], -1, axis)


# -- np.gradient's values (accuracy 2, order 1) ----------------------------------------------------

SMOOTH = {
    "sin": np.sin,
    "exp": np.exp,
    "cubic": lambda x: 2 * x**3 - 3 * x**2 + 5,
    "composed": lambda x: np.exp(-2 * x) + 3 * np.sin(3 * x),
}


@pytest.mark.parametrize("name", SMOOTH)
def test_lab_grid_interior_equals_np_gradient_to_1e_15(name):
    x = lab_grid()
    y = SMOOTH[name](x)
    got, ref = differentiate_samples(y, x), np.gradient(y, x)
    np.testing.assert_allclose(got[1:-1], ref[1:-1], rtol=2e-15, atol=gradient_rounding(y, x).max())


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("kind", ["uniform", "linspace", "non-uniform", "decreasing"])
def test_equals_np_gradient_with_edge_order_2(name, kind):
    rng = np.random.default_rng(1)
    x = {
        "uniform": np.arange(64) * 0.125 - 4,  # equal differences: np.gradient's uniform formula
        "linspace": np.linspace(-2, 3, 64),
        "non-uniform": np.cumsum(rng.uniform(0.05, 0.15, 64)) - 3,
        "decreasing": np.linspace(3, -2, 64),
    }[kind]
    y = SMOOTH[name](x)
    got, ref = differentiate_samples(y, x), np.gradient(y, x, edge_order=2)
    # Ends: np.gradient's edge formula (a·y0 + b·y1 + c·y2) rounds a little differently.
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=64 * gradient_rounding(y, x).max())
    np.testing.assert_array_less(np.abs(got - ref)[1:-1], gradient_rounding(y, x) + 1e-300)


def test_scalar_spacing_and_uniform_coordinates_agree_with_np_gradient():
    y = np.sin(np.arange(50) * 0.2)
    np.testing.assert_allclose(differentiate_samples(y, spacing=0.2), np.gradient(y, 0.2, edge_order=2),
                               rtol=1e-14, atol=1e-14)
    np.testing.assert_array_equal(differentiate_samples(y, 0.2), differentiate_samples(y, spacing=0.2))
    np.testing.assert_allclose(differentiate_samples(y), np.gradient(y, edge_order=2), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_nd_arrays_along_each_axis(axis):
    rng = np.random.default_rng(axis + 7)
    shape = [6, 7, 40]
    shape[axis], shape[-1] = shape[-1], shape[axis]
    n = shape[axis]
    x = np.cumsum(rng.uniform(0.5, 1.5, n)) / n
    along = [1] * 3
    along[axis] = n
    phase = list(shape)
    phase[axis] = 1
    y = np.sin(3 * x.reshape(along) + rng.uniform(0, 3, phase))  # smooth along the axis
    got = differentiate_samples(y, x, axis=axis)
    ref = np.gradient(y, x, axis=axis, edge_order=2)
    assert got.shape == y.shape
    np.testing.assert_allclose(interior(got, axis), interior(ref, axis), rtol=0,
                               atol=gradient_rounding(y, x, axis).max())
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_default_np_gradient_differs_only_at_the_ends():
    """np.gradient's default edge_order=1 is first-order at the ends; accuracy=2 is second-order there."""
    x = lab_grid()
    y = np.exp(x / 3)
    got, first_order = differentiate_samples(y, x), np.gradient(y, x)
    np.testing.assert_allclose(got[1:-1], first_order[1:-1], rtol=1e-14)
    exact = np.exp(x / 3) / 3
    assert abs(got[0] - exact[0]) < abs(first_order[0] - exact[0]) / 5


def test_dtypes_follow_numpy():
    assert differentiate_samples(np.arange(10) ** 2).dtype == np.float64
    np.testing.assert_allclose(differentiate_samples(np.arange(10) ** 2), 2.0 * np.arange(10), atol=1e-12)
    y32 = np.linspace(0, 1, 20, dtype=np.float32) ** 2
    assert differentiate_samples(y32, spacing=1 / 19).dtype == np.float32


# -- np.gradient's edge_order, two samples, float16 ----------------------------------------------------

@st.composite
def gradient_cases(draw):
    """A shape and axis, coordinates of every kind np.gradient takes, and smooth samples."""
    edge_order = draw(st.sampled_from([1, 2]))
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(-ndim, ndim - 1))
    shape = [draw(st.integers(1, 3)) for _ in range(ndim)]
    shape[axis] = n = draw(st.integers(edge_order + 1, 40))
    kind = draw(st.sampled_from(["none", "scalar", "uniform", "non-uniform", "decreasing"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h = rng.uniform(0.05, 0.5)
    steps = np.cumsum(rng.uniform(0.5, 1.5, n)) * h
    x = {"none": None, "scalar": h, "uniform": np.arange(n) * h - 1, "non-uniform": steps, "decreasing": -steps}[kind]
    grid = np.arange(n) * (1.0 if x is None else h) if np.ndim(x) == 0 else x
    along = [1] * ndim
    along[axis] = n
    rest = list(shape)
    rest[axis] = 1
    y = rng.uniform(-2, 2, rest) + np.sin(rng.uniform(0.2, 1.0, rest) * grid.reshape(along) + rng.uniform(0, 3, rest))
    return y, x, axis, edge_order, grid


@given(gradient_cases())
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_edge_order_equals_np_gradient(case):
    y, x, axis, edge_order, grid = case
    args = () if x is None else (x,)
    got = differentiate_samples(y, *args, axis=axis, edge_order=edge_order)
    ref = np.gradient(y, *args, axis=axis, edge_order=edge_order)
    rounding = 64 * EPS * np.abs(y).max() / np.abs(np.diff(grid)).min()
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=rounding)


@pytest.mark.parametrize("shape, axis", [((2,), 0), ((3, 2), 1), ((2, 4), 0), ((2, 3, 2), -1)])
@pytest.mark.parametrize("x", [None, 0.25, np.array([1.0, 0.5])], ids=["none", "scalar", "decreasing"])
def test_two_samples_give_np_gradients_one_difference(shape, axis, x):
    y = np.random.default_rng(3).uniform(-1, 1, shape)
    args = () if x is None else (x,)
    got = differentiate_samples(y, *args, axis=axis, edge_order=1, full=True)
    np.testing.assert_allclose(got.values, np.gradient(y, *args, axis=axis), rtol=1e-15, atol=0)
    assert not got.kinks.any() and not got.undefined.any()


def test_default_ends_are_unchanged_and_edge_order_changes_only_the_ends():
    x = lab_grid()
    y = np.abs(x) + np.sin(x)  # with a kink: found whatever the ends' stencils
    default = differentiate_samples(y, x, accuracy=4)
    np.testing.assert_array_equal(default, differentiate_samples(y, x, accuracy=4, edge_order=None))
    for edge_order in (1, 2):
        got = differentiate_samples(y, x, accuracy=4, edge_order=edge_order)
        np.testing.assert_array_equal(got[2:-2], default[2:-2])
        assert not np.allclose(got[:2], default[:2])
    np.testing.assert_array_equal(differentiate_samples(y, x, edge_order=2), differentiate_samples(y, x))


@pytest.mark.parametrize("accuracy", [2, 4, 8])
@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("kind", ["uniform", "non-uniform"])
def test_ends_converge_at_the_edge_order(accuracy, edge_order, kind):
    errors = []
    for n in (40, 80, 160):
        x = grid(n, kind)
        where = {"spacing": float(x[1] - x[0])} if kind == "uniform" else {"x": x}
        got = differentiate_samples(wave(x), **where, accuracy=accuracy, edge_order=edge_order)
        error = np.abs(got - wave_derivative(x, 1))
        errors.append(max(error[:accuracy // 2].max(), error[-(accuracy // 2):].max()))  # the ends' stencils
    slopes = -np.diff(np.log2(errors))
    assert np.all(np.abs(slopes - edge_order) < 0.3), slopes


@pytest.mark.parametrize("edge_order", [1, 2])
@pytest.mark.parametrize("uniform", [True, False])
def test_float16_stays_float16_with_np_gradients_values(edge_order, uniform):
    x = np.linspace(0, 3, 50) if uniform else np.cumsum(np.random.default_rng(5).uniform(0.03, 0.09, 50))
    y = np.sin(3 * x).astype(np.float16)
    r = differentiate_samples(y, x, edge_order=edge_order, full=True)
    ref = np.gradient(y, x, edge_order=edge_order)
    assert r.values.dtype == ref.dtype == np.float16
    ulp = np.spacing(np.abs(r.values)).astype(np.float64)
    exact = np.gradient(y.astype(np.float64), x, edge_order=edge_order)  # the float16 data's, unrounded
    np.testing.assert_array_less(np.abs(r.values - exact), 0.51 * ulp)  # rounded once, to nearest
    np.testing.assert_array_less(np.abs(r.values.astype(np.float64) - ref), 1.01 * ulp)  # NumPy's float16 arithmetic
    assert not r.kinks.any()  # (float16's steps once passed for kinks, judged at float32's rounding)


@pytest.mark.parametrize("y, dtype", [(np.arange(6) ** 2, np.float64), (np.arange(6, dtype=np.uint8), np.float64),
                                      (np.linspace(0, 1, 6, dtype=np.float32), np.float32),
                                      (np.linspace(0, 1, 6, dtype=np.float16), np.float16)])
@pytest.mark.parametrize("edge_order", [None, 1, 2])
def test_dtypes_with_edge_order_follow_np_gradient(y, dtype, edge_order):
    got = differentiate_samples(y, edge_order=edge_order)
    assert got.dtype == np.gradient(y, edge_order=edge_order or 2).dtype == dtype


# -- orders of convergence --------------------------------------------------------------------------

def wave(x):
    return np.sin(2 * x) + np.exp(x / 2)


def wave_derivative(x, order):
    return 2**order * np.sin(2 * x + order * np.pi / 2) + 0.5**order * np.exp(x / 2)


def grid(n, kind):
    xi = np.linspace(0, 2, n)
    return xi if kind == "uniform" else xi + 0.1 * np.sin(np.pi * xi)  # smoothly non-uniform


def slope(order, accuracy, kind, sizes):
    errors = []
    for n in sizes:
        x = grid(n, kind)
        where = {"spacing": float(x[1] - x[0])} if kind == "uniform" else {"x": x}
        got = differentiate_samples(wave(x), **where, accuracy=accuracy, order=order)
        errors.append(np.abs(got - wave_derivative(x, order)).max())
    return np.polyfit(np.log(2 / (np.array(sizes) - 1)), np.log(errors), 1)[0]


@pytest.mark.parametrize("kind", ["uniform", "non-uniform"])
@pytest.mark.parametrize("accuracy", [2, 4, 6])
def test_first_derivative_converges_at_the_order_of_accuracy(accuracy, kind):
    assert abs(slope(1, accuracy, kind, [16, 23, 32, 45, 64]) - accuracy) < 0.5


@pytest.mark.parametrize("kind", ["uniform", "non-uniform"])
@pytest.mark.parametrize("order", [2, 3, 4])
@pytest.mark.parametrize("accuracy", [2, 4])
def test_higher_derivatives_converge_too(order, accuracy, kind):
    sizes = [32, 45, 64, 90, 128] if accuracy == 2 else [16, 23, 32, 45, 64]  # where h^p dominates
    assert abs(slope(order, accuracy, kind, sizes) - accuracy) < 0.5


def test_accuracy_8_is_exact_for_polynomials_of_degree_8():
    x = np.cumsum(np.random.default_rng(3).uniform(0.5, 1.5, 30)) / 10
    got = differentiate_samples(x**8, x, accuracy=8)
    np.testing.assert_allclose(got, 8 * x**7, rtol=1e-8, atol=1e-8 * np.abs(8 * x**7).max())


def test_vectorised_fornberg_matches_the_exact_one():
    rng = np.random.default_rng(5)
    for n, order in [(3, 1), (4, 2), (5, 1), (7, 3), (9, 4), (12, 4)]:
        z = rng.normal(size=(n, 3))
        got = samples.fornberg_weights(z, order)
        for p in range(3):
            exact = np.array([float(w) for w in fornberg(tuple(Fraction(v) for v in z[:, p]), order)])
            np.testing.assert_allclose(got[:, p], exact, rtol=1e-10, atol=1e-10 * np.abs(exact).max())


# -- kinks --------------------------------------------------------------------------------------------

SMOOTH_EXAMPLES = [e for e in EXAMPLES if not e.undefined]


@pytest.fixture(scope="module")
def smooth_functions():
    return {e.name: (td.function(e.text), e.domain) for e in SMOOTH_EXAMPLES}


@pytest.mark.parametrize("n", [50, 200, 1000])
def test_smooth_examples_have_no_kinks(smooth_functions, n):
    """Every catalog function with f' defined on its whole domain, coarse to fine, even or uneven."""
    rng = np.random.default_rng(n)
    flagged = []
    for name, (f, (a, b)) in smooth_functions.items():
        for jitter in (0.0, 0.3):
            x = np.linspace(a, b, n)
            x[1:-1] += rng.uniform(-jitter, jitter, n - 2) * (x[1] - x[0])
            for accuracy, order in [(2, 1), (4, 1), (2, 2)]:
                r = differentiate_samples(f(x), x, accuracy=accuracy, order=order, full=True)
                if r.kinks.any() or np.isnan(r.values).any():
                    flagged.append((name, jitter, accuracy, order, x[r.kinks]))
    assert not flagged


def test_the_labs_abs_kink():
    x = lab_grid()
    y = np.abs(x)
    assert np.allclose(np.gradient(y, x)[49:51], [-0.5, 0.5])  # the lab's complaint
    r = differentiate_samples(y, x, full=True)
    assert isinstance(r, SampleDerivative)
    np.testing.assert_array_equal(np.flatnonzero(r.kinks), [49, 50])
    np.testing.assert_allclose(r.values, np.sign(x), rtol=0, atol=1e-13)
    assert (r.reasons == "").all() and not r.undefined.any()
    np.testing.assert_array_equal(differentiate_samples(y, x), r.values)


def test_kink_on_a_sample_is_nan_with_the_reason():
    x = lab_grid(101)  # x[50] == 0
    r = differentiate_samples(np.abs(x), x, full=True)
    np.testing.assert_array_equal(np.flatnonzero(r.kinks), [49, 50, 51])
    assert np.isnan(r.values[50]) and r.reasons[50] == AT_KINK and r.undefined[50]
    np.testing.assert_allclose(np.delete(r.values, 50), np.delete(np.sign(x), 50), atol=1e-13)
    np.testing.assert_array_equal(r.undefined, np.isnan(r.values))


# f, its derivative (one-sided at the kinks: the limit from the sample's side), the kinks
KINKED = {
    "abs": (np.abs, np.sign, [0.0]),
    "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, [0.0]),
    "abs_sin": (lambda x: np.abs(np.sin(x)), lambda x: np.sign(np.sin(x)) * np.cos(x), [-np.pi, 0.0, np.pi]),
}


def expected_flags(x, kinks, reach):
    """Samples whose centred stencil (``reach`` samples each way) holds a kink; NaN at kinks on samples."""
    h = x[1] - x[0]
    flags, nan = np.zeros(len(x), bool), np.zeros(len(x), bool)
    for c in kinks:
        k = np.argmin(np.abs(x - c))
        if abs(x[k] - c) <= sampled_kinks.AT_SAMPLE * h:  # taken to be on sample k: both its intervals are cut
            flags |= np.abs(x - x[k]) <= reach * h * (1 + 1e-9)
            nan[k] = True
        else:
            flags |= np.abs(x - c) < reach * h
    return flags, nan


@pytest.mark.parametrize("accuracy", [2, 4])
@pytest.mark.parametrize("n", [100, 101, 157, 200, 345, 500, 733, 1000])
@pytest.mark.parametrize("name", KINKED)
def test_samples_beside_each_kink_are_flagged_and_one_sided(name, n, accuracy):
    f, df, kinks = KINKED[name]
    x = lab_grid(n)
    h = x[1] - x[0]
    r = differentiate_samples(f(x), x, accuracy=accuracy, full=True)
    flags, nan = expected_flags(x, kinks, accuracy // 2)
    np.testing.assert_array_equal(r.kinks, flags)
    np.testing.assert_array_equal(np.isnan(r.values), nan)
    assert set(r.reasons[nan]) <= {AT_KINK} and set(r.reasons[~nan]) == {""}
    # everywhere else, the flagged samples too: f' from the sample's side, to the order of accuracy
    error = np.abs(r.values - df(x))[~nan]
    assert error.max() <= 0.5 * h**accuracy + 1e-12


def test_c1_corners_are_not_kinks_for_the_first_derivative():
    x = lab_grid(200)
    for y in (x * np.abs(x), np.where(x > 1, x**2, 2 * x - 1)):
        r = differentiate_samples(y, x, full=True)
        assert not r.kinks.any()


def test_jump_of_f_between_samples_gives_one_sided_slopes():
    x = lab_grid(100)
    r = differentiate_samples(np.sign(x) + x, x, full=True)
    np.testing.assert_array_equal(np.flatnonzero(r.kinks), [49, 50])
    np.testing.assert_allclose(r.values, 1.0, atol=1e-12)


def test_kinks_too_close_together_give_nan_not_wrong_values():
    """Two kinks 1.5 to 6 spacings apart: every value given is right, the rest NaN with a reason."""
    x = np.linspace(-1, 1, 201)
    h = x[1] - x[0]
    for gap in (1.5, 3.0, 3.5, 4.0, 6.0):
        for sign in (1, -1):
            kinks = (0.1, 0.1 + gap * h + 1e-3 * h)
            y = np.abs(x - kinks[0]) + sign * np.abs(x - kinks[1])
            r = differentiate_samples(y, x, full=True)
            ok = ~np.isnan(r.values)
            true = np.sign(x - kinks[0]) + sign * np.sign(x - kinks[1])
            np.testing.assert_allclose(r.values[ok], true[ok], atol=1e-9)
            assert set(r.reasons[~ok]) <= {AT_KINK, BETWEEN_KINKS}
            if gap < 2:
                assert not ok.all()  # no 3-point stencil fits between them


def test_kinks_on_fine_grids_on_both_grid_kinds():
    x = np.linspace(-5, 5, 200_000)
    h = x[1] - x[0]
    for kw in ({"x": x}, {"spacing": h}):
        r = differentiate_samples(np.abs(x - 1.0), **kw, full=True)
        np.testing.assert_array_equal(x[r.kinks], x[np.abs(x - 1.0) < h])
        np.testing.assert_allclose(r.values, np.sign(x - 1.0), atol=1e-9)


def random_grid(seed, n=800):
    """Sorted uniform random coordinates: neighbouring spacings can differ a hundredfold."""
    return np.sort(np.random.default_rng(seed).uniform(-1, 1, n))


@pytest.mark.parametrize("seed", range(12))
def test_smooth_data_on_very_uneven_grids_has_no_kinks(seed):
    # Beside a gap much wider than its neighbours smooth f misses more than they do; near a zero of
    # f''' the corner terms cancel and such gaps were cut (measured: 3% of random smooth signals).
    x = random_grid(seed)
    flagged = {}
    for f in (3.0, 7.0, 17.5):
        for phase in (0.0, 1.0, 2.0):
            r = differentiate_samples(np.sin(np.pi * f * x + phase), x, full=True)
            if r.kinks.any():
                flagged[f, phase] = x[r.kinks]
    assert not flagged


@pytest.mark.parametrize("seed", range(12))
def test_kinks_on_very_uneven_grids_are_found(seed):
    # Found, and only they: their neighbours' misses, which uneven spacings make larger than on a
    # uniform grid, used to be cut as kinks of their own, leaving NaN "between kinks" beside them.
    x = random_grid(seed)
    corners = np.random.default_rng(seed + 100).uniform(-0.8, 0.8, 3)
    y = 0.5 * np.sin(3 * x) + sum(np.abs(x - c) for c in corners)
    r = differentiate_samples(y, x, full=True)
    for c in corners:
        i = np.searchsorted(x, c)  # x[i - 1] < c < x[i]
        assert r.kinks[i - 1] and r.kinks[i], (c, x[i - 3:i + 3])
    exact = 1.5 * np.cos(3 * x) + sum(np.sign(x - c) for c in corners)
    ok = ~np.isnan(r.values)
    assert ok.sum() >= x.size - 3
    np.testing.assert_allclose(r.values[ok], exact[ok], atol=1e-2)


def test_kinks_along_an_axis_of_an_nd_array():
    x = np.linspace(-1, 1, 101)
    corner = np.array([-0.505, 0.0, 0.3])[:, None]
    y = np.abs(x - corner)
    r = differentiate_samples(y.T, x, axis=0, full=True)
    for row, c in enumerate(corner[:, 0]):
        beside = np.abs(x - c) <= 0.02 + 1e-9  # both neighbours, and the kink's own sample if it is one
        np.testing.assert_array_equal(r.kinks[:, row], beside)
        ok = ~np.isnan(r.values[:, row])
        np.testing.assert_allclose(r.values[ok, row], np.sign(x - c)[ok], atol=1e-12)


def test_results_do_not_depend_on_the_block_size(monkeypatch):
    x = np.linspace(-20, 20, 20001)
    y = np.abs(np.sin(x))
    for kw in ({"x": x}, {"spacing": x[1] - x[0]}):
        big = differentiate_samples(y, **kw, accuracy=4, full=True)
        monkeypatch.setattr(samples, "TILE", 100)
        monkeypatch.setattr(samples, "PIECE", 7)
        small = differentiate_samples(y, **kw, accuracy=4, full=True)
        monkeypatch.undo()
        np.testing.assert_array_equal(big.values, small.values)
        np.testing.assert_array_equal(big.kinks, small.kinks)
        assert big.kinks.sum() >= 13 * 4  # |sin x| has 13 kinks here; accuracy 4 flags 4 or 5 beside each


def test_nan_in_y_propagates_with_a_reason_and_kinks_are_still_found():
    x = lab_grid(100)
    y = np.abs(x)
    y[10] = np.nan
    r = differentiate_samples(y, x, full=True)
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(r.values)), [9, 10, 11])
    assert set(r.reasons[[9, 10, 11]]) == {NOT_FINITE_Y}
    np.testing.assert_array_equal(np.flatnonzero(r.kinks), [49, 50])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("order, accuracy", [(1, 2), (1, 4), (3, 2)])
@pytest.mark.parametrize("find_kinks", [True, False])
def test_a_sample_that_is_not_finite_has_no_derivative_on_a_uniform_grid(bad, order, accuracy, find_kinks):
    # Central stencils of odd order give y_i no weight: np.gradient returns a number at y_i = inf.
    y = np.sin(np.arange(40) / 8)
    y[20] = bad
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn of: the result says it
        r = differentiate_samples(y, spacing=1 / 8, order=order, accuracy=accuracy, full=True,
                                  find_kinks=find_kinks)
    assert np.isfinite(np.gradient(y, 1 / 8)[20])
    assert np.isnan(r.values[20]) and r.reasons[20] == NOT_FINITE_Y
    assert not np.isfinite(r.values[19:22]).any()
    assert np.isfinite(r.values[:12]).all() and np.isfinite(r.values[-12:]).all()


@pytest.mark.parametrize("scale", [2.0**-997, 2.0**-500, 2.0**500, 2.0**1000])
def test_kinks_do_not_depend_on_the_scale_of_y(scale):
    # Scaling y by a power of two scales the stencils exactly and the test's quantities up to its
    # rounding (products of two third differences used to under- and overflow: at 2^-997 the
    # rounding noise beside |x|'s kink at a sample read as a jump of f, and two samples were NaN).
    x = np.linspace(-1, 1, 101)
    y = np.abs(x) + 0.5 * np.abs(x - 0.305)
    one = differentiate_samples(y, spacing=x[1] - x[0], accuracy=4, full=True)
    scaled = differentiate_samples(scale * y, spacing=x[1] - x[0], accuracy=4, full=True)
    assert one.reasons[50] == AT_KINK and one.kinks.sum() >= 8
    np.testing.assert_array_equal(scaled.kinks, one.kinks)
    np.testing.assert_array_equal(scaled.codes, one.codes)
    np.testing.assert_array_equal(scaled.values, scale * one.values)


def test_find_kinks_false_is_plain_stencils():
    x = lab_grid()
    np.testing.assert_allclose(differentiate_samples(np.abs(x), x, find_kinks=False),
                               np.gradient(np.abs(x), x, edge_order=2), rtol=1e-13, atol=1e-13)


def test_exported_from_the_package():
    assert td.differentiate_samples is differentiate_samples and td.SampleDerivative is SampleDerivative


# -- validation at the boundary ---------------------------------------------------------------------

Y = np.sin(np.linspace(0, 1, 10))


@pytest.mark.parametrize("call, message", [
    (lambda: differentiate_samples("abc"), "y is text"),
    (lambda: differentiate_samples([True, False, True]), "y is boolean"),
    (lambda: differentiate_samples(Y + 1j), "y is complex"),
    (lambda: differentiate_samples([[1, 2], [3]]), "y must be numbers"),
    (lambda: differentiate_samples(np.array([object(), 1], dtype=object)), "not numbers"),
    (lambda: differentiate_samples(3.0), "at least 1-d"),
    (lambda: differentiate_samples(Y, np.arange(9.0)), "one coordinate per sample"),
    (lambda: differentiate_samples(Y, np.ones((10, 2))), "one coordinate per sample"),
    (lambda: differentiate_samples(Y, np.r_[0, 1, 2, 2, 4, 5, 6, 7, 8, 9.0]), "x[2] = 2.0, x[3] = 2.0"),
    (lambda: differentiate_samples(Y, np.r_[0, 2, 1, 3, 4, 5, 6, 7, 8, 9.0]), "strictly increasing or"),
    (lambda: differentiate_samples(Y, np.r_[0, 1, np.nan, 3, 4, 5, 6, 7, 8, 9]), "x[2] is nan"),
    (lambda: differentiate_samples(Y, np.r_[0, 1, 2, 3, 4, 5, 6, 7, 8, np.inf]), "finite"),
    (lambda: differentiate_samples(Y, np.arange(10) + 1j), "x is complex"),
    (lambda: differentiate_samples(Y, spacing=0), "spacing must be a positive"),
    (lambda: differentiate_samples(Y, spacing=-0.1), "spacing must be a positive"),
    (lambda: differentiate_samples(Y, spacing=np.nan), "spacing must be a positive"),
    (lambda: differentiate_samples(Y, spacing="a"), "spacing must be a number"),
    (lambda: differentiate_samples(Y, 0.0), "x must be a positive"),
    (lambda: differentiate_samples(Y, np.arange(10.0), spacing=1.0), "not both"),
    (lambda: differentiate_samples([1.0, 2.0]), "needs at least 3 samples along axis 0, got 2: pass edge_order=1"),
    (lambda: differentiate_samples([1.0, 2.0], edge_order=2), "edge_order=2 needs at least 3 samples along axis 0"),
    (lambda: differentiate_samples([1.0, 2.0], order=2, edge_order=1), "at least 3 samples along axis 0, got 2: give"),
    (lambda: differentiate_samples([1.0], edge_order=1), "edge_order=1 needs at least 2 samples along axis 0, got 1"),
    (lambda: differentiate_samples(Y[:4], accuracy=4), "at least 5 samples along axis 0, got 4: pass edge_order=2"),
    (lambda: differentiate_samples(Y, edge_order=3), "edge_order must be one of 1, 2 (the ends' order of accuracy"),
    (lambda: differentiate_samples(Y, edge_order=0), "edge_order must be one of 1, 2"),
    (lambda: differentiate_samples(Y, edge_order=1.0), "edge_order must be one of 1, 2"),
    (lambda: differentiate_samples(Y, edge_order=True), "edge_order must be one of 1, 2"),
    (lambda: differentiate_samples(Y[:5], accuracy=4, order=2), "needs at least 6 samples"),
    (lambda: differentiate_samples(np.zeros((3, 2)), axis=1), "needs at least 3 samples along axis 1"),
    (lambda: differentiate_samples(Y, axis=1), "axis 1 is out of range"),
    (lambda: differentiate_samples(Y, axis=1.5), "axis must be an integer"),
    (lambda: differentiate_samples(Y, axis=(0,)), "axis must be an integer"),
    (lambda: differentiate_samples(Y, accuracy=3), "accuracy must be one of 2, 4, 6, 8"),
    (lambda: differentiate_samples(Y, accuracy=10), "accuracy must be one of"),
    (lambda: differentiate_samples(Y, accuracy=2.0), "accuracy must be one of"),
    (lambda: differentiate_samples(Y, accuracy=True), "accuracy must be one of"),
    (lambda: differentiate_samples(Y, order=0), "order must be one of 1, 2, 3, 4"),
    (lambda: differentiate_samples(Y, order=5), "order must be one of"),
])
def test_bad_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(td.TridiffError) as info:
        call()
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_lines_give_an_empty_result():
    r = differentiate_samples(np.zeros((0, 5)), full=True)
    assert r.values.shape == r.kinks.shape == r.reasons.shape == (0, 5)


# -- properties ---------------------------------------------------------------------------------------

@st.composite
def polynomial_samples(draw):
    """A random shape and axis, and samples of a random polynomial every stencil differentiates exactly."""
    order = draw(st.sampled_from(samples.ORDERS))
    accuracy = draw(st.sampled_from(samples.ACCURACIES))
    ndim = draw(st.integers(1, 3))
    axis = draw(st.integers(-ndim, ndim - 1))
    n = draw(st.integers(order + accuracy, order + accuracy + 12))
    shape = [draw(st.integers(1, 4)) for _ in range(ndim)]
    shape[axis] = n
    uniform = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return order, accuracy, tuple(shape), axis, uniform, seed


@given(polynomial_samples())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_polynomials_of_the_stencils_degree_are_differentiated_exactly(case):
    order, accuracy, shape, axis, uniform, seed = case
    rng = np.random.default_rng(seed)
    n = shape[axis]
    h = 1.0 / n
    x = np.arange(n) * h if uniform else np.cumsum(rng.uniform(0.6, 1.4, n)) * h
    degree = order + accuracy - 1
    coef = rng.uniform(-1, 1, (degree + 1,) + tuple(s for i, s in enumerate(shape) if i != axis % len(shape)))
    xs = np.expand_dims(x, tuple(range(1, len(shape))))  # x along the first axis, then moved
    y = np.moveaxis(sum(c * xs**k for k, c in enumerate(coef)), 0, axis)
    exact = np.moveaxis(_derivative(coef, xs, order), 0, axis)
    where = {"spacing": h} if uniform else {"x": x}
    r = differentiate_samples(y, **where, accuracy=accuracy, order=order, axis=axis, full=True)
    assert r.values.shape == r.kinks.shape == y.shape
    assert not r.kinks.any()
    scale = np.abs(coef).sum() * (1.0 / h) ** order  # rounding grows like eps |y| / h^order
    np.testing.assert_allclose(r.values, exact, rtol=0, atol=100 * EPS * scale * 4**accuracy)
    same = differentiate_samples(np.moveaxis(y, axis, 0), **where, accuracy=accuracy, order=order, axis=0)
    np.testing.assert_array_equal(np.moveaxis(same, 0, axis), r.values)


def _derivative(coef, xs, order):
    """The ``order``-th derivative of sum_k coef[k] xs**k: (xs**k)^(order) = k!/(k-order)! xs**(k-order)."""
    return sum(c * math.perm(k, order) * xs ** (k - order) for k, c in enumerate(coef) if k >= order)


# -- the screen: kink detection runs the full test only where it could cut; it must lose nothing -----

def cuts_everywhere(y, x):
    """The full test on every interval of each line: the screen's reference."""
    lines = y.reshape(-1, y.shape[-1])
    m = lines.shape[-1]
    xs = None if x is None else np.broadcast_to(x, lines.shape)
    found = sampled_kinks.kink_test(lines, xs, np.full(len(lines), 2), np.full(len(lines), m - 3), EPS)
    return {tuple(r) for r in found}


def screened_cuts(y, x):
    lines = y.reshape(-1, y.shape[-1])
    screened = sampled_kinks.screen(lines, x, 0, lines.shape[-1], EPS, [])
    return {tuple(r) for r in sampled_kinks.confirm(lines, x, *screened, EPS)}


def screen_cases():
    rng = np.random.default_rng(7)
    x = np.linspace(-3, 3, 2000)
    uneven = np.sort(rng.uniform(-3, 3, 2000))
    for grid in (x, uneven):
        yield "oscillating", grid, np.sin(40 * grid) + 0.1 * np.cos(300 * grid)
        yield "fine", grid, np.sin(grid)
        yield "noise", grid, rng.standard_normal(grid.size)
        yield "noisy ramp", grid, grid + 1e-13 * rng.standard_normal(grid.size)
        yield "kinks", grid, np.abs(np.sin(5 * grid)) + np.maximum(grid - 1.234, 0)
        yield "kinks of f'", grid, grid * np.abs(grid - 0.5) + np.abs(np.sin(25 * grid)) ** 3
        yield "jumps", grid, np.floor(2 * grid) + np.sin(grid)
        yield "lines", grid, np.stack([np.abs(grid - c) * s for c, s in ((0.1, 1), (-2.0, 1e-9), (2.9, 1e9))])
        # kinks whose misses (about twice the jump of f' times h) are near the rounding floor
        floor = sampled_kinks.ROUNDING * EPS / (2 * (x[1] - x[0]))
        yield "at the floor", grid, np.stack([1 + k * floor * np.abs(grid - 0.3) for k in np.geomspace(0.5, 20, 12)])


@pytest.mark.parametrize("name, x, y", list(screen_cases()), ids=lambda v: v if isinstance(v, str) else "")
def test_the_screen_finds_every_cut_the_full_test_makes(name, x, y):
    for grid in (None, x):  # (None: the samples taken as evenly spaced)
        assert screened_cuts(y, grid) == cuts_everywhere(y, grid)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.floats(-1, 1), st.floats(-5, 5)), min_size=1, max_size=6),
       st.integers(40, 1500), st.floats(0.5, 200), st.booleans())
def test_the_screen_finds_every_cut_on_random_kinked_data(kinks, n, wiggle, uniform):
    x = np.linspace(-1, 1, n) if uniform else np.sort(np.random.default_rng(n).uniform(-1, 1, n))
    y = np.sin(wiggle * x) + sum(jump * np.abs(x - c) for c, jump in kinks)
    grid = None if uniform else x
    assert screened_cuts(y, grid) == cuts_everywhere(y, grid)


@pytest.mark.parametrize("spacing", [1e200, 1e-200])
def test_spacings_whose_powers_overflow_give_values_or_nan_not_exceptions(spacing):
    # h**2 overflowed (OverflowError) or underflowed (ZeroDivisionError) in Python's floats
    y = np.linspace(0.0, 1.0, 20) ** 2
    r = td.differentiate_samples(y, spacing=spacing, order=2, full=True)
    assert r.values.shape == y.shape and all(reason for reason in r.reasons[np.isnan(r.values)])
