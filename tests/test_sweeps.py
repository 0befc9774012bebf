"""``td.sweep_sizes`` and ``td.sweep_depth``: structure, timing fields, output formats, the plot,
and the expression swell through a deterministic proxy (formula sizes). No speed is ever asserted:
the machine may be busy with other work.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tridiff.errors import TridiffError
from tridiff.studies.everyday import Everyday, everyday
from tridiff.studies.sweeps import REFERENCES, Sweep, sweep_depth, sweep_sizes
from tridiff.studies.timing import Timing

PNG_HEADER = b"\x89PNG\r\n\x1a\n"
METHODS = ("symbolic", "automatic", "numeric")
ALL_SERIES = list(METHODS + REFERENCES)


@pytest.fixture(scope="module")
def sizes() -> Sweep:
    return sweep_sizes("x**2", sizes=(10**2, 10**3), repeat=2, progress=False)


@pytest.fixture(scope="module")
def depths() -> Sweep:
    return sweep_depth(depths=(1, 2), n=1000, repeat=2, progress=False)


@pytest.fixture(params=["sizes", "depths"])
def sweep(request) -> Sweep:
    return request.getfixturevalue(request.param)


def test_structure(sizes, depths):
    assert (sizes.parameter, sizes.values, sizes.points) == ("points", (100, 1000), None)
    assert (depths.parameter, depths.values, depths.points) == ("depth", (1, 2), 1000)
    for s in (sizes, depths):
        assert [series.name for series in s.series] == ALL_SERIES
        assert [series.kind for series in s.series] == ["method"] * 3 + ["reference"] * 3
        assert s.x_range == (-5.0, 5.0)


def test_every_series_has_a_timing_or_a_reason_per_value(sweep):
    for s in sweep.series:
        assert s.description
        fields = (s.setup_seconds, s.evaluation, s.skipped, s.formula_ops, s.evaluated_ops)
        assert all(len(f) == len(sweep.values) for f in fields), s.name
        for setup, timing, why in zip(s.setup_seconds, s.evaluation, s.skipped):
            assert (timing is None) == bool(why) == math.isnan(setup), s.name


def test_timings_are_positive_and_ordered(sweep):
    measured = 0
    for s in sweep.series:
        for setup, t in zip(s.setup_seconds, s.evaluation):
            if t is None:
                continue
            measured += 1
            assert isinstance(t, Timing) and setup > 0
            assert 0 < t.best <= t.q25 <= t.median <= t.q75 <= t.worst
            assert t.repeat >= 1
    assert measured == len(sweep.series) * len(sweep.values)  # nothing skipped on tiny sweeps


def test_to_json_round_trips(sweep):
    data = json.loads(sweep.to_json())
    assert data == sweep.to_dict()
    assert data["values"] == list(sweep.values)
    assert list(data["series"]) == ALL_SERIES
    first = data["series"]["symbolic"]["evaluation_seconds"][0]
    assert set(first) >= {"median", "q25", "q75", "repeat"}


def test_table_and_html(sweep):
    text = sweep.table()
    assert str(sweep) == text
    for name in ALL_SERIES:
        assert name in text
    assert "setup" in text and "evaluation" in text
    html = sweep._repr_html_()
    assert html.count("<table>") >= 2 and "raw lambdify" in html


def test_plot_renders_headless_with_log_axes_one_line_per_series(sizes, tmp_path):
    fig = sizes.plot()
    path = tmp_path / "sizes.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == PNG_HEADER
    evaluation, setup = fig.axes
    for ax in (evaluation, setup):
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        lines = ax.get_lines()
        assert [line.get_label() for line in lines] == ALL_SERIES
        styles = {line.get_label(): line.get_linestyle() for line in lines}
        assert all(styles[m] == "-" for m in METHODS) and all(styles[r] == "--" for r in REFERENCES)
    y = evaluation.get_lines()[0].get_ydata()
    assert np.allclose(y, sizes["symbolic"].medians)


def test_depth_plot_has_a_swell_panel(depths, tmp_path):
    fig = depths.plot()
    fig.savefig(tmp_path / "depth.png")
    evaluation, _, ops = fig.axes
    assert evaluation.get_yscale() == "log" and evaluation.get_xscale() == "linear"  # depth is a count
    assert len(evaluation.get_lines()) == len(depths.series)
    assert [line.get_label() for line in ops.get_lines()] == [
        "symbolic, as written", "symbolic, evaluated", "raw lambdify"]
    assert len(depths.plot(setup=False, ops=False).axes) == 1


def test_expression_swell_proxy():
    # The formula sizes are deterministic: the raw derivative the lab lambdifies grows about 2.5x a
    # level and is evaluated whole; tridiff evaluates each distinct subexpression once, a few a level.
    s = sweep_depth(depths=(1, 2, 3, 4, 5, 6), n=100, methods=("symbolic",), repeat=1, progress=False)
    raw, ours = s["raw lambdify"], s["symbolic"]
    assert raw.formula_ops == raw.evaluated_ops  # no cse
    assert all(b > 2 * a for a, b in zip(raw.evaluated_ops, raw.evaluated_ops[1:]))
    steps = np.diff(ours.evaluated_ops)  # linear growth, not geometric: about the same step each level
    assert steps.min() > 0 and steps[-1] <= 2 * steps[1] and ours.evaluated_ops[-1] < raw.evaluated_ops[-1] / 10
    assert all(w <= r for w, r in zip(ours.formula_ops, raw.formula_ops))
    assert s["np.gradient"].formula_ops == (None,) * 6
    assert "operations in the derivative" in s.table()


def test_a_slow_series_is_skipped_with_the_reason():
    s = sweep_depth(depths=(1, 2, 3), n=100, methods=("symbolic",), references=False, repeat=1,
                    limit=1e-12, progress=False)
    series = s["symbolic"]
    assert series.evaluation[0] is not None and series.evaluation[1:] == (None, None)
    assert series.skipped[0] == "" and all("limit" in why for why in series.skipped[1:])
    assert "symbolic skipped at depth 2, 3" in s.table()
    assert "skipped at depth 2, 3" in s.plot().axes[0].get_lines()[0].get_label()


def test_unavailable_methods_are_skipped_with_the_reason():
    def f(x):
        return x if x > 0 else -x  # branches on its value: no formula, numeric only

    s = sweep_sizes(f, sizes=(10, 20), repeat=1, progress=False)
    for name in ("symbolic", "automatic", "raw lambdify", "JAX eager vmap(grad)"):
        assert all("formula" in why or "not available" in why for why in s[name].skipped), name
    assert all(t is not None for t in s["numeric"].evaluation + s["np.gradient"].evaluation)
    s.plot()  # skipped series draw no line, and nothing fails


@pytest.mark.parametrize("call", [
    lambda: sweep_sizes(sizes=(1000, 100)),
    lambda: sweep_sizes(sizes=(1,)),
    lambda: sweep_sizes(sizes=()),
    lambda: sweep_sizes(sizes=(10,), methods=("magic",)),
    lambda: sweep_sizes(sizes=(10,), repeat=0),
    lambda: sweep_sizes(sizes=(10,), x_range=(1, -1)),
    lambda: sweep_sizes(sizes=(10,), x_range="ab"),  # used to escape as a ValueError
    lambda: sweep_depth(depths=(1,), x_range=(0, 1, 2)),
    lambda: sweep_depth(depths=(0, 1)),
    lambda: sweep_depth(depths=(1,), n=1),
    lambda: sweep_depth(depths=(1,), limit=0),
    lambda: sweep_sizes(sizes=(10,), budget=-1.0),
])
def test_bad_arguments_are_refused(call):
    with pytest.raises(TridiffError):
        call()


def test_progress_goes_to_stderr_only_on_a_terminal(capsys, monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    sweep_sizes(sizes=(10,), methods=("symbolic",), references=False, repeat=1)
    assert capsys.readouterr() == ("", "")  # captured streams are not terminals: quiet
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # as if stderr were a terminal
    sweep_sizes(sizes=(10,), methods=("symbolic",), references=False, repeat=1)
    out, err = capsys.readouterr()
    assert out == "" and "symbolic at points" in err


@pytest.mark.slow  # fresh interpreters for the start-up and large-array figures: 10 s of CPU
def test_everyday_figures_are_measured_against_references_in_the_same_run():
    """The figures `tridiff bench` prints (issue 14): each a positive time beside its reference's;
    what they are is for the benchmark to say, not a test."""
    e = everyday(quick=True)
    assert {f.group for f in e.figures} == set(Everyday.GROUPS)
    for f in e.figures:
        assert f.value > 0 and f.reference_value > 0 and f.reference, f
    data = json.loads(e.to_json())
    assert len(data["figures"]) == len(e.figures) and all(f["ratio"] > 0 for f in data["figures"])
    text = e.table()
    assert all(group in text for group in Everyday.GROUPS) and "d(3.0)" in text
