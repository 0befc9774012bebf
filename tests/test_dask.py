"""Dask arrays: tridiff's answers chunk by chunk, lazily, equal to the in-memory ones.

Every check computes the same points in memory and compares exactly (values, NaN, reasons,
one-sided values, error estimates): the chunks run the same compiled kernels. Kinks, NaN and
infinities are put on chunk boundaries on purpose. The distributed checks start a LocalCluster of
process workers and stop it after (slow).
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sampling import slow_except  # tests/ is on sys.path (pytest prepends it)

import tridiff as td
from tridiff.translation import language

da = pytest.importorskip("dask.array")

KINKED = "abs(x) + sin(x)*cos(x) + abs(x - 1)"


def points() -> np.ndarray:
    """1000 points in chunks of 100, with the kinks 0 and 1 and a NaN, an inf and a -inf at chunk
    edges."""
    x = np.linspace(-3.0, 3.0, 1000)
    x[100], x[199], x[200], x[500], x[599], x[700] = 0.0, 1.0, np.nan, np.inf, -np.inf, 1.0
    return x


def chunked(x, chunks=100):
    return da.from_array(x, chunks=chunks)


ROUNDING = 1e-13  # chunks and whole arrays may run in different tiers (NumPy, JAX): last bits differ


def same(a, b, allowed=0.0):
    """Equal texts and booleans; numbers NaN in the same places and equal to rounding (or within
    ``allowed``: the numeric method's error estimates)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "Ob":
        return a.shape == b.shape and (a == b).all()
    nan = np.isnan(a)
    if a.dtype != b.dtype or not np.array_equal(nan, np.isnan(b)):
        return False
    with np.errstate(invalid="ignore"):
        gap = np.where(nan | (a == b), 0.0, np.abs(a - b))
    return bool(np.all(gap <= allowed + ROUNDING * np.maximum(np.abs(np.nan_to_num(a)), 1.0)))


@pytest.mark.parametrize("method", td.METHODS)
def test_a_derivative_of_a_dask_array_is_lazy_with_the_same_chunks_and_values(method):
    d = td.derivative(KINKED, method=method)
    x = points()
    lazy = d(chunked(x))
    assert isinstance(lazy, da.Array) and lazy.chunks == chunked(x).chunks and lazy.dtype == np.float64
    estimate = d.evaluate(x).error_estimate
    assert same(lazy.compute(), d(x), 0.0 if estimate is None else 2 * np.nan_to_num(estimate, posinf=0.0))


@pytest.mark.parametrize("method", td.METHODS)
def test_evaluate_on_a_dask_array_gives_the_same_reasons_and_one_sided_values(method):
    d = td.derivative(KINKED, method=method)
    x = points()
    lazy, eager = d.evaluate(chunked(x)), d.evaluate(x)
    allowed = 0.0 if eager.error_estimate is None else 2 * np.nan_to_num(eager.error_estimate, posinf=0.0)
    for field in ("values", "undefined", "reasons", "left", "right"):
        assert isinstance(getattr(lazy, field), da.Array), field
        assert same(getattr(lazy, field).compute(), getattr(eager, field), allowed), field
    assert eager.undefined[[100, 199, 200, 500, 599, 700]].all()
    if method == "numeric":
        estimate = lazy.error_estimate.compute()
        assert np.array_equal(np.isnan(estimate), np.isnan(eager.error_estimate))
    else:
        assert lazy.error_estimate is None


def test_reasons_are_in_the_language_of_the_call_not_of_the_worker():
    d = td.derivative("abs(x)")
    with language("zh"):
        reasons = d.evaluate(chunked(np.array([-1.0, 0.0, 1.0]), chunks=1)).reasons
    assert list(reasons.compute()) == ["", "尖点：左导数与右导数不相等", ""]


def test_two_dimensional_chunks_ints_and_f_itself():
    grid = np.arange(-12, 12).reshape(4, 6)
    x = da.from_array(grid, chunks=(2, 3))
    d = td.derivative("abs(x)*x")
    assert d(x).chunks == x.chunks and same(d(x).compute(), d(grid))
    f = td.function("exp(-x**2)")
    assert same(f(x.astype(float)).compute(), f(grid.astype(float)))


def test_a_function_with_no_formula_runs_chunk_by_chunk_too():
    def branching(x):
        return x**2 if x > 0 else -x

    d = td.derivative(branching, method="numeric")
    x = np.linspace(-1.0, 1.0, 41)
    assert same(d(chunked(x, 10)).compute(), d(x))
    assert same(d.evaluate(chunked(x, 10)).reasons.compute(), d.evaluate(x).reasons)


@pytest.mark.parametrize("dtype", [complex, bool, "U3"])
def test_chunked_arrays_of_other_than_real_numbers_are_refused(dtype):
    x = da.from_array(np.zeros(4, dtype=dtype), chunks=2)
    with pytest.raises(td.TridiffError, match="real numbers"):
        td.derivative("x**2")(x)


def test_functions_and_derivatives_pickle_by_their_definition_and_are_rebuilt_once():
    d = td.derivative(KINKED, method="numeric", accuracy=6)
    copy = pickle.loads(pickle.dumps(d))
    again = pickle.loads(pickle.dumps(d))
    assert (copy.method, copy.order, copy.accuracy, str(copy.function)) == ("numeric", 1, 6, str(d.function))
    assert copy.function is again.function  # one Function (and one set of kernels) per process
    x = points()
    assert same(copy(x), d(x))
    g = td.function("x*y + sin(z)")
    assert pickle.loads(pickle.dumps(g)).names == ("x", "y", "z")


def test_a_callable_pickles_by_value_and_is_rebuilt_once():
    """A lambda with a closure travels by its bytes: each copy in a process is the same Function, traced
    once, with the closure's value."""
    k = 3.0
    d = td.derivative(lambda t: np.sin(k * t) + np.abs(t))
    copy, again = (pickle.loads(pickle.dumps(d)) for _ in range(2))
    assert copy.function is again.function and copy.function is not d.function
    x = points()
    assert same(copy(x), d(x)) and np.isnan(copy(np.array([0.0])))[0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int8, np.int64])
def test_chunked_answers_have_the_in_memory_dtype_declared_and_computed(dtype):
    x = np.arange(-300, 300).astype(dtype)
    lazy_x = da.from_array(x, chunks=200)
    d, f = td.derivative("abs(x)*x"), td.function("x**2")
    for lazy, eager in ((d(lazy_x), d(x)), (d.evaluate(lazy_x).values, d.evaluate(x).values),
                        (d.evaluate(lazy_x).left, d.evaluate(x).left), (f(lazy_x), f(x)),
                        (td.differentiate_samples(lazy_x), td.differentiate_samples(x))):
        assert lazy.dtype == eager.dtype == lazy.compute().dtype, (dtype, eager.dtype)


def test_short_chunked_samples_need_no_halo():
    y = np.abs(np.linspace(-1.0, 1.0, 50))
    assert same(td.differentiate_samples(da.from_array(y, chunks=20)).compute(), td.differentiate_samples(y))


def weighted(a, b):
    return a * b**2


def squares(v):
    return np.sum(v**2)


def test_callables_keep_their_variables_through_pickling():
    """A callable travels as itself (by reference here; Dask's cloudpickle, by value): its variables
    and whether it takes a vector come along."""
    f = td.function(weighted, variables=("b", "a"))  # its parameters named b and a, in that order
    copy = pickle.loads(pickle.dumps(f))
    assert copy.names == ("b", "a") and copy.expr == f.expr
    point = np.array([2.0, 1.0])
    assert same(td.gradient(copy)(point), td.gradient(f)(point))
    assert pickle.loads(pickle.dumps(td.function(squares))).vector_from_points


def test_a_zarr_array_is_read_chunk_by_chunk(tmp_path):
    zarr = pytest.importorskip("zarr")
    x = points()
    store = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=x.shape, chunks=(100,), dtype="f8")
    store[:] = x
    lazy = td.derivative(KINKED)(store)
    assert isinstance(lazy, da.Array) and lazy.chunks == ((100,) * 10,)
    assert same(lazy.compute(), td.derivative(KINKED)(x))


def test_without_dask_a_zarr_array_names_the_extra(tmp_path, monkeypatch):
    zarr = pytest.importorskip("zarr")
    store = zarr.create_array(store=str(tmp_path / "x.zarr"), shape=(4,), chunks=(2,), dtype="f8")
    monkeypatch.setitem(sys.modules, "dask", None)
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(td.TridiffError, match=r"pip install 'tridiff\[dask\]'"):
        td.derivative("x**2")(store)


@pytest.mark.parametrize("make", [td.gradient, td.hessian, lambda f: td.jacobian([f, "x*y", "abs(z)"])],
                         ids=["gradient", "hessian", "jacobian"])
def test_gradients_over_a_dask_batch_of_points(make):
    """Rows in chunks, the coordinates split too: each block of rows gets all its coordinates, and
    the answer is lazy, in the rows' chunks, equal to the in-memory one (a kink on a block's edge)."""
    pts = np.random.default_rng(1).normal(size=(600, 3))
    pts[100] = pts[299] = [0.5, 0.5, 0.0]
    g = make("abs(x - y) + x*y*z + sin(z)")
    lazy = g(da.from_array(pts, chunks=(100, 2)))
    eager = g(pts)
    assert isinstance(lazy, da.Array) and lazy.shape == eager.shape and lazy.chunks[0] == (100,) * 6
    assert same(lazy.compute(), eager) and np.isnan(eager[[100, 299]]).any()


@pytest.mark.parametrize("method", slow_except(td.METHODS, {"symbolic"}))  # each compiles for 3-8 s
def test_evaluate_of_a_gradient_over_a_dask_batch_is_lazy_and_the_same(method):
    """Values, undefined points, reasons and (numeric) error estimates: lazy, in the rows' chunks, and
    those of the in-memory batch (kinks on a block's edge and inside one, a NaN row)."""
    pts = np.random.default_rng(2).normal(size=(2, 150, 3))
    pts[0, 49] = pts[1, 100] = [0.5, 0.5, 0.0]
    pts[1, 7] = [np.nan, 1.0, 1.0]
    h = td.hessian("abs(x - y) + x*y*z + sin(z)", method=method)
    lazy, eager = h.evaluate(da.from_array(pts, chunks=(1, 50, 2))), h.evaluate(pts)
    for field in ("values", "undefined", "reasons") + (("error_estimate",) if method == "numeric" else ()):
        got = getattr(lazy, field)
        assert isinstance(got, da.Array) and got.chunks[:2] == ((1, 1), (50,) * 3), field
        assert same(got.compute(), getattr(eager, field)), field
    assert lazy.values.shape == (2, 150, 3, 3) and (lazy.error_estimate is None) == (method != "numeric")
    assert eager.undefined[0, 49] and eager.undefined[1, 100] and eager.undefined[1, 7]
    assert set(lazy.reasons.compute()[eager.undefined]) == set(eager.reasons[eager.undefined])


def test_f_of_several_variables_over_a_dask_batch_of_rows():
    f = td.function("x*y + abs(z)")
    pts = np.random.default_rng(3).normal(size=(500, 3))
    lazy = f(da.from_array(pts, chunks=(100, 2)))
    assert lazy.shape == (500,) and lazy.chunks == ((100,) * 5,) and same(lazy.compute(), f(pts))


def test_a_gradient_of_a_function_of_a_vector_over_a_dask_batch():
    g = td.gradient(lambda v: np.sum(v[1:] * v[:-1]))
    pts = np.arange(40.0).reshape(8, 5)
    assert same(g(da.from_array(pts, chunks=(3, 5))).compute(), g(pts))


def kinked_samples(n=5000, chunk=500):
    """|x - c| + sin x for kinks c exactly on samples at chunk edges, just inside and outside them,
    and between samples; a NaN and an inf at chunk edges too."""
    x = np.linspace(-5.0, 5.0, n)
    h = x[1] - x[0]
    y = np.sin(x)
    for c in (x[chunk], x[2 * chunk - 1], x[3 * chunk] + h / 3, x[4 * chunk + 2], x[5 * chunk - 3] - h / 2):
        y = y + np.abs(x - c)
    y[6 * chunk], y[7 * chunk - 1] = np.nan, np.inf
    return y, h


@pytest.mark.parametrize("chunk", [500, pytest.param(333, marks=pytest.mark.slow), 128])
@pytest.mark.parametrize("accuracy,order", [(2, 1), pytest.param(4, 1, marks=pytest.mark.slow), (6, 2),
                                            pytest.param(8, 1, marks=pytest.mark.slow)])
def test_samples_in_chunks_are_the_in_memory_ones_kinks_on_the_edges(chunk, accuracy, order):
    y, h = kinked_samples()
    lazy = td.differentiate_samples(da.from_array(y, chunks=chunk), spacing=h, accuracy=accuracy, order=order,
                                    full=True)
    eager = td.differentiate_samples(y, spacing=h, accuracy=accuracy, order=order, full=True)
    assert isinstance(lazy.values, da.Array) and lazy.values.shape == eager.values.shape
    values, kinks, codes, reasons = da.compute(lazy.values, lazy.kinks, lazy.codes, lazy.reasons)
    assert np.array_equal(values, eager.values, equal_nan=True)  # bit for bit: the same NumPy arithmetic
    assert np.array_equal(kinks, eager.kinks) and np.array_equal(codes, eager.codes)
    assert list(reasons) == list(eager.reasons) and eager.kinks.sum() >= 8


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(chunk=st.integers(128, 900), kinks=st.lists(st.floats(-4.9, 4.9), min_size=1, max_size=6),
       accuracy=st.sampled_from([2, 4, 6]))
def test_samples_in_any_chunks_with_kinks_anywhere_are_the_in_memory_ones(chunk, kinks, accuracy):
    x = np.linspace(-5.0, 5.0, 3000)
    y = np.cos(x) + sum(np.abs(x - c) for c in kinks)
    lazy = td.differentiate_samples(da.from_array(y, chunks=chunk), spacing=x[1] - x[0], accuracy=accuracy,
                                    full=True)
    eager = td.differentiate_samples(y, spacing=x[1] - x[0], accuracy=accuracy, full=True)
    values, codes = da.compute(lazy.values, lazy.codes)
    assert np.array_equal(values, eager.values, equal_nan=True) and np.array_equal(codes, eager.codes)


def test_samples_in_chunks_along_an_axis_of_a_2d_array():
    y, h = kinked_samples(2000, 250)
    table = np.stack([y, 2 * y, -y])
    lazy = td.differentiate_samples(da.from_array(table, chunks=(2, 250)), spacing=h, axis=1)
    assert np.array_equal(lazy.compute(), td.differentiate_samples(table, spacing=h, axis=1), equal_nan=True)


def uneven_coordinates():
    """Unequal spacings, but equal over a stretch of 300 samples (a chunk there looks uniform on its
    own: it must be differentiated as the whole is)."""
    x = np.cumsum(np.random.default_rng(0).uniform(0.5, 1.5, 3000)) / 300 - 5
    x[1000:1300] = x[1000] + np.arange(300) * 0.004
    x[1300:] = x[1300:] - x[1300] + x[1299] + 0.004
    return x


@pytest.mark.parametrize("chunk", [500, 300, 128])
def test_samples_in_chunks_at_unequal_coordinates_are_the_in_memory_ones(chunk):
    x = uneven_coordinates()
    y = np.abs(x - x[500]) + np.abs(x - (x[1000] + x[1001]) / 2) + np.sin(x)
    eager = td.differentiate_samples(y, x, full=True)
    for coordinates in (x, da.from_array(x, chunks=700)):  # in memory, or chunked otherwise than y
        lazy = td.differentiate_samples(da.from_array(y, chunks=chunk), coordinates, full=True)
        values, codes = da.compute(lazy.values, lazy.codes)
        assert np.array_equal(values, eager.values, equal_nan=True) and np.array_equal(codes, eager.codes)
    assert eager.kinks.sum() >= 4


def test_samples_in_chunks_at_decreasing_coordinates_and_along_axis_0():
    x = np.linspace(5.0, -5.0, 1001)
    assert same(td.differentiate_samples(da.from_array(np.abs(x), chunks=200), x).compute(),
                td.differentiate_samples(np.abs(x), x))
    x = uneven_coordinates()
    table = np.stack([np.abs(x), np.sin(x)], axis=1)
    lazy = td.differentiate_samples(da.from_array(table, chunks=(400, 1)), x, axis=0)
    assert np.array_equal(lazy.compute(), td.differentiate_samples(table, x, axis=0), equal_nan=True)


@pytest.mark.parametrize("x, message", [(np.r_[0.0, 2.0, 1.0, 3.0], "strictly increasing or strictly decreasing"),
                                        (np.r_[0.0, 1.0, np.nan, 3.0], "finite"),
                                        (np.arange(3.0), "one coordinate per sample")])
def test_chunked_samples_check_the_coordinates_as_a_whole(x, message):
    with pytest.raises(td.TridiffError, match=message):
        td.differentiate_samples(da.from_array(np.arange(4.0), chunks=2), x)


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two process workers (its own loopback ports), closed after the module."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        yield client


@pytest.mark.slow
def test_on_a_local_cluster_of_processes_each_worker_builds_the_kernel_once(cluster):
    x = np.linspace(-3.0, 3.0, 200_001)
    x[[20_000, 100_000]] = 0.0, 1.0  # kinks at chunk edges
    d = td.derivative(KINKED)
    lazy = d.evaluate(chunked(x, 20_000))
    values, reasons = cluster.compute([lazy.values, lazy.reasons], sync=True)
    eager = d.evaluate(x)
    assert same(values, eager.values) and same(reasons, eager.reasons)

    def rebuilt():
        from tridiff.definition.function import _rebuilt

        return _rebuilt.cache_info().misses

    assert set(cluster.run(rebuilt).values()) == {1}  # ten tasks, two workers: one Function each


@pytest.mark.slow
def test_on_a_local_cluster_a_callable_is_traced_once_per_worker(cluster):
    def rebuilt():
        from tridiff.definition.function import _rebuilt

        return _rebuilt.cache_info().misses

    before = cluster.run(rebuilt)
    k = 2.0
    d = td.derivative(lambda t: np.exp(-k * t) + np.abs(t - 1))
    x = np.linspace(-3.0, 3.0, 200_001)
    (values,) = cluster.compute([d(chunked(x, 20_000))], sync=True)
    assert same(values, d(x))
    after = cluster.run(rebuilt)
    assert {worker: after[worker] - before[worker] for worker in after} == dict.fromkeys(after, 1)


@pytest.mark.slow
def test_a_gradient_over_rows_on_a_local_cluster(cluster):
    pts = np.random.default_rng(2).normal(size=(20_000, 3))
    g = td.gradient("abs(x - y) + x*y*z + sin(z)")
    (lazy,) = cluster.compute([g(da.from_array(pts, chunks=(2_000, 3)))], sync=True)
    assert same(lazy, g(pts))
