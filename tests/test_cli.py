"""The ``tridiff`` command, as a user runs it: its exit status, stdout and stderr.

A subprocess, ``sys.executable -m tridiff.apps.cli`` (so it works in any virtualenv), with a timeout
and ``COLUMNS=120`` for stable tables, in a scratch working directory, runs ``diff``, a user error,
``--help`` and the two long ones (``lab --quick`` and ``bench --quick``, started in the background as
soon as this module's tests begin, when a selected test needs them, and collected by the tests at the
end of the file). Each interpreter start costs about 1 s (JAX and SymPy are imported), so the other
cases call the same entry point, ``main``, in this process. The expected values are computed here,
independently of tridiff: NumPy for derivatives, SymPy to read the printed formulas back, the PNG
signature and an XML parser for the plots.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import sympy

import tridiff as td
from tridiff.apps.cli import main

METHODS = ("symbolic", "automatic", "numeric")
DIFF_KEYS = {"function", "derivative", "points", "methods", "undefined"}
PNG_HEADER = b"\x89PNG\r\n\x1a\n"
ENV = {**os.environ, "COLUMNS": "120"}
TIMEOUT = 180  # seconds, for one quick call on a loaded machine
LONG_TIMEOUT = 300  # lab --quick and bench --quick
X = sympy.Symbol("x", real=True)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tridiff.apps.cli", *args]


def run(*args: str, cwd: Path, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(command(*args), capture_output=True, text=True, env=ENV, cwd=cwd, timeout=timeout)


def here(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The CLI's entry point called in this process, as ``python -m tridiff.apps.cli`` calls it: its exit
    status, stdout and stderr (an exception it lets out fails the test, as a traceback would)."""
    out, err = io.StringIO(), io.StringIO()
    with (contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), contextlib.chdir(cwd),
          mock.patch.dict(os.environ, {"COLUMNS": ENV["COLUMNS"]})):
        try:
            main(list(args))
            status = 0
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else int(done.code is not None)
    return subprocess.CompletedProcess(command(*args), status, out.getvalue(), err.getvalue())


def run_all(cases: dict[str, tuple[str, ...]], cwd: Path, processes: tuple[str, ...] = ()
            ) -> dict[str, subprocess.CompletedProcess]:
    """Run several independent CLI calls: those named in ``processes`` as a user runs them (subprocesses,
    concurrently: each is mostly interpreter start-up), the others meanwhile in this process."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run, *cases[name], cwd=cwd) for name in processes}
        done = {name: here(*args, cwd=cwd) for name, args in cases.items() if name not in processes}
        return {**done, **{name: future.result() for name, future in futures.items()}}


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, which are not JSON (Python writes them by default)."""
    def refuse(constant):
        raise ValueError(f"{constant} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


def ok(p: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    """Assert a successful run: status 0, no traceback, nothing on stderr."""
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stdout + p.stderr
    assert p.stderr == ""
    return p


def exact_derivative(x):
    """d/dx (|x| + sin x cos x), written by hand: sign(x) + cos(2x)."""
    return np.sign(x) + np.cos(2 * x)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The CLI's working directory: nothing it writes by default lands in the repository."""
    return tmp_path_factory.mktemp("cli")


# -- lab --quick and bench --quick, started early in the background ----------------------------------

class Background:
    """One CLI call running while the other tests run; its output goes to files, not pipes."""

    def __init__(self, name: str, args: tuple[str, ...], folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.stdout_path, self.stderr_path = folder / f"{name}.stdout", folder / f"{name}.stderr"
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.started = time.perf_counter()
            self.process = subprocess.Popen(command(*args), stdout=out, stderr=err, env=ENV, cwd=folder)
        self.result: subprocess.CompletedProcess | None = None

    def wait(self, timeout: float = LONG_TIMEOUT) -> subprocess.CompletedProcess:
        if self.result is None:
            left = max(1.0, timeout - (time.perf_counter() - self.started))
            try:
                self.process.wait(timeout=left)
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(f"{self.process.args[3:]} did not finish in {timeout} s")
            self.result = subprocess.CompletedProcess(
                self.process.args, self.process.returncode,
                self.stdout_path.read_text(encoding="utf-8"), self.stderr_path.read_text(encoding="utf-8"))
        return self.result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module", autouse=True)
def background(request, tmp_path_factory):
    """Start ``lab --quick`` and ``bench --quick`` at once, if a selected test of this module needs them."""
    wanted = {name for item in request.session.items if getattr(item, "module", None) is request.module
              for name in item.fixturenames}
    started: dict[str, Background] = {}
    if "lab_run" in wanted:
        folder = tmp_path_factory.mktemp("lab")
        started["lab"] = Background("lab", ("lab", "--quick", "--out", str(folder / "report")), folder)
    if "lab_zh_run" in wanted:
        folder = tmp_path_factory.mktemp("lab-zh")
        started["lab-zh"] = Background("lab", ("lab", "--quick", "--lang", "zh", "--out", str(folder / "report")),
                                       folder)
    if "bench_run" in wanted:
        started["bench"] = Background("bench", ("bench", "--quick"), tmp_path_factory.mktemp("bench"))
    yield started
    for job in started.values():
        job.stop()


# -- tridiff diff ----------------------------------------------------------------------------------

KINKED = "abs(x) + sin(x)*cos(x)"


@pytest.fixture(scope="module")
def diff_runs(workdir):
    return run_all({
        "json": ("diff", KINKED, "--at", "-1,0,1", "--json"),
        "numeric": ("diff", KINKED, "--at", "-1,0,1", "--method", "numeric", "--json"),
        "order2": ("diff", "x**3", "--at", "-2,0.5,3", "--order", "2", "--json"),
        "human": ("diff", KINKED, "--at", "-1,0,1"),
    }, workdir, processes=("json",))


@pytest.fixture(scope="module")
def diff_json(diff_runs):
    return strict_json(ok(diff_runs["json"]).stdout)


def test_diff_json_is_one_object_with_exactly_the_documented_keys(diff_runs, diff_json):
    assert len(diff_runs["json"].stdout.strip().splitlines()) == 1
    assert set(diff_json) == DIFF_KEYS
    assert diff_json["points"] == [-1.0, 0.0, 1.0]
    assert set(diff_json["methods"]) == set(METHODS)
    assert isinstance(diff_json["function"], str) and isinstance(diff_json["derivative"], str)


def test_diff_json_null_exactly_at_the_kink(diff_json):
    for method, values in diff_json["methods"].items():
        assert len(values) == 3, method
        assert values[1] is None, method  # NaN written as null
        assert all(isinstance(v, float) and math.isfinite(v) for v in (values[0], values[2])), method
    assert diff_json["undefined"] == [0.0]


@pytest.mark.parametrize("method, rtol", [("symbolic", 1e-13), ("automatic", 1e-13), ("numeric", 1e-8)])
def test_diff_json_values_match_the_hand_derivative(diff_json, method, rtol):
    got = diff_json["methods"][method]
    expected = exact_derivative(np.array([-1.0, 1.0]))  # -1 + cos 2 and 1 + cos 2
    np.testing.assert_allclose([got[0], got[2]], expected, rtol=rtol, atol=0)


def test_diff_json_formulas_read_back_with_sympy(diff_json):
    f = sympy.sympify(diff_json["function"], locals={"x": X})
    assert sympy.simplify(f - (sympy.Abs(X) + sympy.sin(X) * sympy.cos(X))) == 0
    d = sympy.sympify(diff_json["derivative"], locals={"x": X})
    assert d.free_symbols == {X}
    for x0 in (-1.0, 1.0, -2.5, 0.3):
        assert float(d.subs(X, x0)) == pytest.approx(exact_derivative(x0), rel=1e-14)


def test_diff_json_one_method(diff_runs):
    out = strict_json(ok(diff_runs["numeric"]).stdout)
    assert set(out) == DIFF_KEYS
    assert list(out["methods"]) == ["numeric"]
    values = out["methods"]["numeric"]
    assert values[1] is None and out["undefined"] == [0.0]
    np.testing.assert_allclose([values[0], values[2]], exact_derivative(np.array([-1.0, 1.0])), rtol=1e-8)


def test_diff_json_second_order(diff_runs):
    out = strict_json(ok(diff_runs["order2"]).stdout)
    xs = np.array([-2.0, 0.5, 3.0])
    assert out["points"] == xs.tolist() and out["undefined"] == []
    assert sympy.simplify(sympy.sympify(out["derivative"], locals={"x": X}) - 6 * X) == 0
    for method, rtol in (("symbolic", 1e-13), ("automatic", 1e-13), ("numeric", 1e-6)):
        np.testing.assert_allclose(out["methods"][method], 6 * xs, rtol=rtol, err_msg=method)


def test_diff_human_table(diff_runs, diff_json):
    out = ok(diff_runs["human"]).stdout
    lines = out.splitlines()
    assert any(diff_json["function"] in line for line in lines)  # the formula, as tridiff reads it
    header = next(line for line in lines if "symbolic" in line)
    assert all(m in header for m in METHODS)  # one column per method, on one header line
    assert "undefined" in out and "kink" in out
    latex = [line for line in lines if line.startswith("LaTeX:")]
    assert len(latex) == 1 and r"\operatorname{sign}" in latex[0] and r"\cos" in latex[0]
    rows = {cells[1]: cells[2:] for cells in ([c.strip() for c in line.split("│")] for line in lines)
            if len(cells) > 5}
    assert rows["0"][:3] == ["undefined"] * 3 and "kink" in rows["0"][3]
    for x in ("-1", "1"):
        np.testing.assert_allclose([float(v) for v in rows[x][:3]], exact_derivative(float(x)), rtol=1e-8)


# -- user errors: one line on stderr, status 2, no traceback ------------------------------------------

BAD_INPUT = {  # name: (arguments, a word the message must contain)
    "incomplete expression": (("diff", "x**"), "x**"),
    "unknown function": (("diff", "foo(x)"), "foo"),
    "import attempt": (("diff", "__import__('os')"), "__import__"),
    "unknown method": (("diff", "x", "--method", "bogus"), "bogus"),
    "unknown plot method": (("plot", "x", "--methods", "symbolic,bogus", "-o", "p.png"), "bogus"),
    "reversed range": (("plot", "x", "--range", "3", "1", "-o", "p.png"), "--range"),
    "empty compare range": (("compare", "x", "--range", "1", "1"), "--range"),
    "bad --at": (("diff", "x", "--at", "1,a"), "--at"),
    "order 0": (("diff", "x", "--order", "0"), "--order"),
    "plot to .txt": (("plot", "x", "-o", "plot.txt"), ".png"),
    "invalid UTF-8": (("diff", "x\udcff"), "not allowed"),  # the byte 0xff, as a shell passes $'x\xff'
    "nan as a variable": (("diff", "nan"), "nan"),
    "several variables, no --wrt": (("diff", "x*y", "--at", "1,2"), "--wrt"),
    "unknown --wrt": (("diff", "x*y", "--wrt", "q", "--at", "1,2"), "'q'"),
    "--at not whole points": (("grad", "x*y", "--at", "1,2,3"), "3 numbers"),
    "grad without --at": (("grad", "x*y"), "--at 1,1"),
    "steps, several variables, no --wrt": (("steps", "x*y"), "--wrt"),
    "steps of bad text": (("steps", "sin(x"), "sin(x"),
}


SEVERAL = "x*y + abs(z)"  # a kink on the plane z = 0


@pytest.fixture(scope="module")
def several_runs(workdir):
    at = ("--at", "1,2,3,0.5,-1,0")  # the second point is on the kink
    return run_all({
        "partial json": ("diff", SEVERAL, "--wrt", "z", *at, "--json"),
        "partial": ("diff", SEVERAL, "--wrt", "z", *at),
        "grad json": ("grad", SEVERAL, *at, "--json"),
        "grad": ("grad", SEVERAL, *at),
    }, workdir)


def test_diff_wrt_is_the_partial_derivative_with_nan_on_the_kink(several_runs):
    data = strict_json(ok(several_runs["partial json"]).stdout)
    assert set(data) == {"function", "variables", "derivative", "points", "methods", "undefined"}
    assert data["variables"] == ["x", "y", "z"] and data["derivative"] == "sign(z)"
    assert data["points"] == [[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]] and data["undefined"] == [[0.5, -1.0, 0.0]]
    for method, values in data["methods"].items():
        assert values[0] == pytest.approx(1.0, rel=1e-9) and values[1] is None, method
    human = ok(several_runs["partial"]).stdout
    assert "∂f/∂z" in human and "(0.5, -1, 0)" in human and "kink" in human


def test_grad_gives_the_gradient_by_every_method(several_runs):
    data = strict_json(ok(several_runs["grad json"]).stdout)
    assert data["derivative"] == "Matrix([[y, x, sign(z)]])"
    for method, rows in data["methods"].items():
        np.testing.assert_allclose(rows[0], [2.0, 1.0, 1.0], rtol=1e-9, err_msg=method)
        assert rows[1] == [None, None, None], method
    human = ok(several_runs["grad"]).stdout
    assert "[y  x  sign(z)]" in human and "∇f" in human  # the formula printed as it is, not read as markup


def test_steps_print_the_derivation_rule_by_rule(workdir):
    runs = run_all({"text": ("steps", "abs(x)*sin(x)"), "json": ("steps", "x*y + sin(y)", "--wrt", "y", "--json"),
                    "latex": ("steps", "exp(-2*x)", "--latex")}, workdir)
    text = ok(runs["text"]).stdout.splitlines()
    assert text[0] == "f(x) = sin(x)*Abs(x)" and text[1].startswith("1. product rule: d/dx[sin(x)*Abs(x)] = ")
    assert any("rule of abs" in line and "does not hold where x = 0" in line for line in text)
    assert text[-1] == f"f'(x) = {td.derivative('abs(x)*sin(x)', 'symbolic').expr}"
    data = strict_json(ok(runs["json"]).stdout)
    assert data["derivative"] == "x + cos(y)" and data["steps"][0]["rule"] == "sum rule"
    assert ok(runs["latex"]).stdout.startswith(r"\begin{aligned}")


@pytest.fixture(scope="module")
def bad_runs(workdir):
    return run_all({name: args for name, (args, _) in BAD_INPUT.items()}, workdir,
                   processes=("incomplete expression",))


@pytest.mark.parametrize("name", list(BAD_INPUT))
def test_user_error_is_one_clear_line(bad_runs, workdir, name):
    args, mentions = BAD_INPUT[name]
    p = bad_runs[name]
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert "Traceback" not in p.stdout + p.stderr
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("tridiff: error: ")
    assert mentions in lines[0]
    assert not (workdir / "plot.txt").exists() and not (workdir / "p.png").exists()


def test_diff_json_with_non_finite_points_is_valid_json_or_a_clear_error(workdir):
    p = here("diff", "x", "--at", "1,nan,inf", "--json", cwd=workdir)
    assert "Traceback" not in p.stdout + p.stderr
    if p.returncode == 0:
        strict_json(p.stdout)
    else:
        assert p.returncode == 2 and p.stdout == "" and p.stderr.startswith("tridiff: error: ")


def test_plot_into_a_missing_folder_is_a_clear_error(workdir):
    p = here("plot", "x", "-o", str(workdir / "no-such-folder" / "p.png"), cwd=workdir)
    assert "Traceback" not in p.stderr
    assert p.returncode == 2 and p.stderr.startswith("tridiff: error: ") and len(p.stderr.splitlines()) == 1


# -- --help everywhere -------------------------------------------------------------------------------

HELP = {
    "": ("--version", "diff", "plot", "compare", "bench", "lab"),
    "diff": ("EXPR", "--at", "--method", "symbolic", "automatic", "numeric", "--order", "--json"),
    "plot": ("EXPR", "--output", "-o", "--range", "--methods", "--order"),
    "compare": ("EXPR", "--points", "--range", "--order", "--json"),
    "bench": ("--quick", "--out"),
    "lab": ("--out", "--quick"),
}


@pytest.fixture(scope="module")
def help_runs(workdir):
    return run_all({name: (*name.split(), "--help") for name in HELP}, workdir, processes=("",))


@pytest.mark.parametrize("name", list(HELP))
def test_help(help_runs, name):
    out = ok(help_runs[name]).stdout
    assert out.startswith(f"Usage: tridiff {name}".rstrip())
    for word in HELP[name]:
        assert word in out, (name, word)


# -- tridiff plot ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plot_runs(workdir):
    return run_all({
        "png": ("plot", "abs(x)", "-o", "abs.png"),
        "svg": ("plot", "abs(x)", "-o", "abs.svg", "--range", "-2", "3", "--methods", "symbolic,numeric"),
    }, workdir)


def test_plot_png(plot_runs, workdir):
    p = ok(plot_runs["png"])
    assert "abs.png" in p.stdout
    data = (workdir / "abs.png").read_bytes()
    assert data[:8] == PNG_HEADER and data[-8:-4] == b"IEND" and len(data) > 5000


def test_plot_svg(plot_runs, workdir):
    p = ok(plot_runs["svg"])
    assert "abs.svg" in p.stdout
    root = ET.parse(workdir / "abs.svg").getroot()  # well-formed XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(list(root.iter())) > 50  # something is drawn


# -- tridiff compare ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def compare_runs(workdir):
    return run_all({
        "json": ("compare", "sin(x)", "--points", "1000", "--json"),
        "human": ("compare", "sin(x)", "--points", "1000", "--repeat", "3"),
    }, workdir)


def test_compare_json(compare_runs):
    out = strict_json(ok(compare_runs["json"]).stdout)
    assert set(out["methods"]) == set(METHODS)
    for method, bound in (("symbolic", 1e-13), ("automatic", 1e-13), ("numeric", 1e-8)):
        m = out["methods"][method]
        assert m["available"] is True and m["undefined"] == []
        assert 0 <= m["max_abs_error"] and 0 <= m["max_rel_error"] < bound, (method, m["max_rel_error"])
        assert m["setup_seconds"] > 0 and m["evaluation_seconds"]["median"] > 0


def test_compare_human_table(compare_runs):
    out = ok(compare_runs["human"]).stdout
    assert "sin(x)" in out and "error" in out
    for method in METHODS:
        assert re.search(rf"^\W*{method}\s", out, re.M), method  # a row per method


# -- tridiff bench --quick (started in the background) -------------------------------------------------

@pytest.fixture(scope="module")
def bench_run(background):
    return background["bench"].wait()


@pytest.mark.slow  # 18 s of CPU beside the other tests; test_sweeps checks the same sweeps and figures
def test_bench_quick_prints_both_sweeps(bench_run):
    out = ok(bench_run).stdout
    assert "x**2" in out and "nested_polynomial" in out  # the size sweep and the depth (swell) sweep
    assert re.search(r"^\W*points\W", out, re.M) and re.search(r"^\W*depth\W", out, re.M)
    for method in (*METHODS, "raw lambdify", "np.gradient"):
        assert len(re.findall(rf"^\W*{re.escape(method)}\s", out, re.M)) >= 4, method  # eval + setup, 2 sweeps
    assert re.search(r"\d (ms|µs)", out)


@pytest.mark.slow
def test_bench_quick_prints_the_everyday_figures(bench_run):
    out = ok(bench_run).stdout
    for group in ("new array size", "new batch size", "memory offset", "small calls", "start-up"):
        assert re.search(rf"^{group}$", out, re.M), group
    for case in ("d(3.0)", "import tridiff", "tridiff --help", "first call"):
        assert case in out, case
    assert re.search(r"\d[\d.,]*(e[+-]\d+)?x\s", out)  # ratios


# -- tridiff lab --quick (started in the background) --------------------------------------------------

SECTIONS = (
    "1 - Functions in Python",
    "2 - Symbolic differentiation",
    "2.3 - Limitations of symbolic differentiation",
    "3 - Numerical differentiation",
    "4 - Automatic differentiation",
    "5 - Computational efficiency",
)


class Page(HTMLParser):
    """The report's h2 sections (as text), tables (rows of cell text), list items by section, images
    (alt, src) and every src/href value."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.heads: list[str] = []
        self.text: dict[str, list[str]] = {"": []}
        self.tables: dict[str, list[list[list[str]]]] = {"": []}
        self.links: list[str] = []
        self.items: list[tuple[str, str]] = []
        self.images: list[tuple[str, str]] = []
        self._tag = None
        self._cell = None
        self.feed(text)

    @property
    def section(self) -> str:
        return self.heads[-1] if self.heads else ""

    def handle_starttag(self, tag, attrs):
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag == "img":
            self.images.append((dict(attrs).get("alt") or "", dict(attrs).get("src") or ""))
        if tag in ("h2", "li"):
            self._tag, self._buffer = tag, []
        elif tag == "table":
            self.tables[self.section].append([])
        elif tag == "tr":
            self.tables[self.section][-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "h2" and self._tag == "h2":
            self.heads.append("".join(self._buffer).strip())
            self.text[self.section], self.tables[self.section] = [], []
            self._tag = None
        elif tag == "li" and self._tag == "li":
            self.items.append((self.section, "".join(self._buffer).strip()))
            self._tag = None
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[self.section][-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._tag:
            self._buffer.append(data)
        if self._cell is not None:
            self._cell.append(data)
        self.text[self.section].append(data)

    def section_text(self, prefix: str) -> str:
        return "".join(next(v for k, v in self.text.items() if k.startswith(prefix)))

    def section_tables(self, prefix: str):
        return next(v for k, v in self.tables.items() if k.startswith(prefix))


@pytest.fixture(scope="module")
def lab_run(background):
    return background["lab"].wait()


@pytest.fixture(scope="module")
def report_path(lab_run) -> Path:
    return Path(lab_run.args[-1]).resolve() / "index.html"


@pytest.fixture(scope="module")
def report(lab_run, report_path) -> str:
    assert lab_run.returncode == 0, lab_run.stderr
    return report_path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(report) -> Page:
    return Page(report)


def test_lab_quick_succeeds_and_says_where_the_report_is(lab_run, report_path):
    ok(lab_run)
    assert str(report_path) in lab_run.stdout.replace("\n", "")  # rich may wrap a long line
    assert report_path.is_file()


def test_lab_prints_a_short_summary_table(lab_run):
    out = lab_run.stdout
    assert "summary" in out
    assert re.search(r"\|x\|' at 0.*NaN", out)
    assert re.search(r"np\.gradient.*-0\.5", out)
    assert re.search(r"\d (ms|µs)", out)


def test_lab_report_is_self_contained(report, page):
    assert report.lstrip().lower().startswith("<!doctype html>")
    assert page.links and all(link.startswith(("data:", "#")) for link in page.links), \
        [link[:60] for link in page.links if not link.startswith(("data:", "#"))]
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", report)  # no CSS fetch either
    assert not re.search(r"<script[^>]*\bsrc=|<link[^>]*\bhref=|@import", report, re.I)


def test_lab_report_figures_are_embedded_vector_images_each_described(page):
    """Every figure is an SVG in the page (vector: sharp at any zoom), with alt text saying what it
    shows (not "figure"); the typeset formulas are SVG too, their alt the LaTeX."""
    figures = [(alt, src) for alt, src in page.images if "maths" not in alt and len(alt) > 40]
    assert len(figures) >= 8
    for alt, src in page.images:
        assert src.startswith("data:image/svg+xml;base64,"), src[:40]
        root = ET.fromstring(base64.b64decode(src.split(",", 1)[1], validate=True))
        assert root.tag.endswith("svg")
        assert alt and alt.lower() != "figure"


def test_lab_report_shows_the_steps_and_the_graph(page):
    steps = [text for section, text in page.items if section.startswith("2 - Symbolic")]
    assert len(steps) >= 5 and steps[0].startswith("sum rule")
    assert any("chain rule with sin' = cos(u)" in s for s in steps)
    assert any("computational graph" in alt for alt, _ in page.images)
    (graph,) = [t for t in page.section_tables("4 - Automatic") if "adjoint v̄ = ∂f/∂v" in t[0]]
    assert [row[0] for row in graph[1:]] == [f"v{i}" for i in range(len(graph) - 1)]


@pytest.mark.slow  # Chromium beside the other tests; test_explorer's browser check runs by default
def test_lab_report_renders_in_a_browser_with_no_network(report_path, tmp_path):
    """Chromium (Debian's, driven by Playwright through its path) opens the report with every
    request outside the page refused: none is made, every image and typeset formula loads with a
    size, and a full-page screenshot is taken."""
    outside, broken, maths, shot, _ = open_in_chromium(report_path, tmp_path)
    assert outside == [] and broken == []
    assert len(maths) >= 5 and all(h > 5 for h in maths)
    assert shot.read_bytes()[:8] == PNG_HEADER and shot.stat().st_size > 200_000


def open_in_chromium(report_path: Path, tmp_path: Path):
    """The report in Chromium with no network: the requests it tried to make outside the page, the
    images that did not load, the typeset formulas' heights, a full-page screenshot, and the fonts
    the page's text was drawn in (the platform's, as the DevTools protocol reports them)."""
    from playwright.sync_api import sync_playwright

    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser_path, "Chromium is missing: run scripts/install-system-packages"
    outside = []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            view = browser.new_page(viewport={"width": 1280, "height": 900})
            view.route("**/*", route)
            view.goto(report_path.as_uri(), wait_until="load")
            broken = view.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                                   ".map(i => i.alt.slice(0, 60))")
            maths = view.evaluate("Array.from(document.querySelectorAll('img.maths')).map(i => i.naturalHeight)")
            shot = tmp_path / "report.png"
            view.screenshot(path=str(shot), full_page=True)
            devtools = view.context.new_cdp_session(view)
            devtools.send("DOM.enable")
            devtools.send("CSS.enable")
            heading = devtools.send("DOM.querySelector", {"nodeId": devtools.send("DOM.getDocument")["root"]["nodeId"],
                                                          "selector": "h1"})["nodeId"]
            fonts = devtools.send("CSS.getPlatformFontsForNode", {"nodeId": heading})["fonts"]
        finally:
            browser.close()
    return outside, broken, maths, shot, {f["familyName"]: f["glyphCount"] for f in fonts}


def test_lab_report_has_every_section_and_the_conclusions(page):
    found = [next((i for i, h in enumerate(page.heads) if h.startswith(title)), None) for title in SECTIONS]
    assert None not in found, list(zip(SECTIONS, found, strict=True))
    assert found == sorted(found)  # in the lab's order
    conclusions = page.section_text("5 - Computational efficiency")
    assert "Conclusions" in conclusions
    items = [text for section, text in page.items if section.startswith("5 - Computational")]
    assert len(items) >= 3
    assert all(re.search(r"\d", item) for item in items)  # drawn from measured figures


def test_lab_report_quotes_measured_times(page):
    text = page.section_text("5 - Computational efficiency")
    times = re.findall(r"(\d+(?:\.\d+)?(?:e[+-]?\d+)?) (ms|µs)", text)
    assert len(times) >= 10
    assert all(float(v) > 0 for v, _ in times)


def test_lab_report_abs_kink_is_nan_from_every_method(page):
    text = page.section_text("2.3 - Limitations of symbolic differentiation")
    assert "sign(x)" in text
    rows = [row for table in page.section_tables("2.3") for row in table]
    assert any(row[:4] == ["0", "NaN", "-1", "1"] for row in rows), rows  # x, f'(0), left, right
    jax_rows = [row for table in page.section_tables("4 - Automatic") for row in table if row[0].startswith("|x|")]
    assert jax_rows and jax_rows[0][1] == "1" and jax_rows[0][2].startswith("NaN")  # JAX's 1 vs tridiff


def test_lab_report_np_gradient_half_beside_the_kink(page):
    (table,) = [t for t in page.section_tables("3 - Numerical") if any("np.gradient" in c for c in t[0])]
    header, rows = table[0], table[1:]
    column = {name: [float(row[i]) for row in rows] for i, name in enumerate(header)}
    lab = next(v for k, v in column.items() if "np.gradient" in k)
    exact = next(v for k, v in column.items() if "exact" in k)
    x = next(v for k, v in column.items() if k == "x")
    assert sorted(lab) == [-0.5, 0.5]  # the lab's ±0.5 beside the kink
    assert exact == list(np.sign(x)) and sorted(exact) == [-1.0, 1.0]
    tridiff_columns = [v for k, v in column.items() if "td" in k]
    assert tridiff_columns and all(v == exact for v in tridiff_columns)
    assert "±0.5" in page.section_text("3 - Numerical")


def test_lab_report_shows_how_inexact_numeric_differences_are(lab_run, page):
    # The lab calls numerical differentiation inexact and leaves it there; the report measures it on
    # Squire & Trapp's function: central differences bottom out near 1e-10, the complex step does not.
    (table,) = [t for t in page.section_tables("3 - Numerical") if t[0][0] == "scheme"]
    best = {row[0]: float(row[2].split()[0]) for row in table[1:]}  # "0 (exact)" where it is exact
    assert set(best) == {"central 2", "central 8", "complex-step"}
    assert 1e-11 <= best["central 2"] <= 1e-9 and best["complex-step"] <= 1e-15
    assert best["central 8"] < best["central 2"] / 100
    assert "Squire" in page.section_text("3 - Numerical")
    assert re.search(r"numeric error vs step.*central", lab_run.stdout.replace("\n", " "))


# -- tridiff lab --lang zh ---------------------------------------------------------------------------

#: Names that stay as they are in a Chinese text: libraries, functions, code and units.
NAMES = {"tridiff", "SymPy", "NumPy", "JAX", "Python", "CPython", "Linux", "mpmath", "lambdify", "vmap", "grad",
         "np", "gradient", "linspace", "td", "exp", "sin", "cos", "log", "sqrt", "abs", "Abs", "sign", "max", "NaN",
         "True", "SIAM", "Review", "Squire", "Trapp", "Richardson", "float", "quick", "count_ops", "ops", "sympy"}


@pytest.fixture(scope="module")
def lab_zh_run(background):
    return background["lab-zh"].wait()


@pytest.fixture(scope="module")
def report_zh_path(lab_zh_run) -> Path:
    ok(lab_zh_run)
    return Path(lab_zh_run.args[-1]).resolve() / "index.html"


def readable_texts(report: str) -> list[str]:
    """What a reader of the page sees as prose: its text outside code, every image's alt text, and
    the text drawn in its figures (matplotlib's SVG keeps each label as a comment beside its glyphs;
    Graphviz's as text)."""
    class Reader(HTMLParser):
        def __init__(self):
            super().__init__(convert_charrefs=True)
            self.code, self.texts = 0, []

        def handle_starttag(self, tag, attrs):
            self.code += tag in ("code", "pre", "style")
            attrs = dict(attrs)
            if tag == "img":
                self.texts.append(attrs.get("alt") or "")
                svg = base64.b64decode(attrs["src"].split(",", 1)[1]).decode("utf-8")
                if "Generated by graphviz" in svg:
                    self.texts += [html.unescape(t) for t in re.findall(r"<text[^>]*>(.*?)</text>", svg)]
                else:
                    self.texts += re.findall(r"<!-- (.*?) -->", svg, re.S)

        def handle_endtag(self, tag):
            self.code -= tag in ("code", "pre", "style")

        def handle_data(self, data):
            if not self.code:
                self.texts.append(data)

    reader = Reader()
    reader.feed(report)
    return [t.strip() for t in reader.texts if t.strip()]


def english_sentences(texts) -> list[str]:
    """Runs of three or more English words (names, code and units aside) in ``texts``."""
    found = []
    for text in texts:
        words = re.sub(r"\$[^$]*\$|\S*/\S*", " ", text)  # mathtext (maths) and paths are not words
        for run in re.findall(r"[A-Za-z']{2,}(?:[ \-]+[A-Za-z']{2,}){2,}", words):
            if len([w for w in re.split(r"[ \-]+", run) if w.strip("'") not in NAMES]) >= 3:
                found.append(f"{run!r} in {text[:80]!r}")
    return found


def test_english_sentences_are_found_by_the_check():
    """The check below would find English left in the Chinese report: it finds it in English text,
    and not in a Chinese sentence that names libraries and functions."""
    assert english_sentences(["f is not defined here (outside its domain, or a pole)"])
    assert english_sentences(["$f'(x)$ one-sided limits at a kink"])
    assert not english_sentences(["实验比较了 SymPy、np.gradient 和 JAX", "$f'(x)$ 符号微分",
                                  "JAX 即时执行 vmap(grad)", "Squire 和 Trapp 的测试函数（SIAM Review，1998）"])


@pytest.mark.slow
def test_lab_in_chinese_leaves_no_english_sentence(lab_zh_run, report_zh_path):
    """``tridiff lab --lang zh``: prose, headings, table heads, alt texts, the figures' labels,
    the conclusions and the terminal's summary are Chinese; only code, names and the lab
    libraries' own error messages (quoted as code) stay as they are."""
    report = report_zh_path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in report
    texts = readable_texts(report)
    assert len(texts) > 300 and sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in texts) > 150
    assert english_sentences(texts) == []
    page = Page(report)
    assert len(page.heads) == len(SECTIONS) and all(re.search(r"[\u4e00-\u9fff]", h) for h in page.heads)
    assert "摘要" in lab_zh_run.stdout and "报告已写入" in lab_zh_run.stdout
    assert english_sentences(lab_zh_run.stdout.splitlines()) == []


@pytest.mark.slow
def test_lab_in_chinese_renders_in_a_browser_in_a_cjk_font(report_zh_path, tmp_path):
    outside, broken, maths, shot, fonts = open_in_chromium(report_zh_path, tmp_path)
    assert outside == [] and broken == [] and all(h > 5 for h in maths)
    assert shot.read_bytes()[:8] == PNG_HEADER and shot.stat().st_size > 200_000
    assert any("CJK" in family and glyphs >= 10 for family, glyphs in fonts.items()), fonts  # the title's 汉字
