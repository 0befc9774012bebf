"""``tridiff serve``, the explorer, as a user meets it: the command started in a subprocess on a
free loopback port (stopped after the module), its JSON API asked over HTTP, its page driven in
Chromium (Debian's, through Playwright by its path), and a bounded load test (slow).

Expected values are computed here, independently of the server: NumPy for derivatives written by
hand, tridiff in this process for the step study the page draws.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import tridiff as td
from tridiff.apps.explorer import Busy, Workers
from tridiff.studies.catalog import EXAMPLES
from tridiff.studies.stepstudy import SQUIRE_TRAPP

ENV = {**os.environ, "COLUMNS": "120", "PYTHONUNBUFFERED": "1"}
HOSTILE = (
    "__import__('os').system('true')",  # no eval: an unknown name
    "x" * 3000,  # too long
    "9**9**9**9**9",  # a number too large to build
    "(" * 500 + "x" + ")" * 500,  # nesting
    "x +",  # unfinished
    "foo(x)",  # unknown function
    "x*y",  # two variables: the explorer draws functions of one
    "exp(exp(exp(exp(exp(exp(x))))))**1e300",
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``tridiff serve --port 0`` in a subprocess: its address (from what it prints) and process.
    Its log goes to a file (a pipe nobody reads would stall it once full); no request may have
    failed in the server when the module ends."""
    log = tmp_path_factory.mktemp("serve") / "stderr.log"
    with open(log, "w") as err:
        process = subprocess.Popen([sys.executable, "-m", "tridiff.apps.cli", "serve", "--port", "0"],
                                   stdout=subprocess.PIPE, stderr=err, text=True, env=ENV)
    try:
        line = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, (line, log.read_text())
        url = match.group(0)
        for _ in range(100):  # uvicorn listens on the socket the command bound: wait for its first answer
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    assert "Traceback" not in log.read_text(), log.read_text()[-3000:]


def get(server, path: str, **query) -> tuple[int, dict]:
    url, _ = server
    try:
        address = f"{url.rstrip('/')}{path}?{urllib.parse.urlencode(query)}"
        with urllib.request.urlopen(address, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def run_async(coroutine):
    """``coroutine`` run to its end on an event loop of its own thread (Playwright's sync API keeps
    a loop running in this one while its browser is open)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def exact(x):
    """d/dx (|x| + sin x cos x), by hand: sign(x) + cos(2x)."""
    return np.sign(x) + np.cos(2 * x)


# -- the JSON API ------------------------------------------------------------------------------------

def test_explore_gives_f_and_every_methods_derivative_with_the_kink(server):
    status, r = get(server, "/api/explore", f="abs(x) + sin(x)*cos(x)", lo=-1, hi=1, at=0)
    assert status == 200
    x = np.array(r["x"])
    assert x[0] == -1 and x[-1] == 1 and 0.0 in x and len(x) >= 401
    assert np.allclose(np.array(r["f"], dtype=float), np.abs(x) + np.sin(x) * np.cos(x), rtol=1e-13, atol=1e-15)
    assert [m["method"] for m in r["methods"]] == ["symbolic", "automatic", "numeric"]
    for m in r["methods"]:
        values = np.array([np.nan if v is None else v for v in m["values"]])
        assert np.isnan(values[x == 0]).all()
        assert np.allclose(values[x != 0], exact(x[x != 0]), rtol=1e-8, atol=1e-8)
    (kink,) = r["kinks"]
    assert kink["x"] == 0 and kink["left"] == pytest.approx(0.0, abs=1e-12) and kink["right"] == pytest.approx(2.0)
    assert r["at"]["f"] == 0.0
    for row in r["at"]["rows"]:
        assert row["value"] is None and "kink" in row["reason"]
        assert row["left"] == pytest.approx(0.0, abs=1e-7) and row["right"] == pytest.approx(2.0, rel=1e-7)


def test_explore_answers_in_chinese_when_asked(server):
    _, r = get(server, "/api/explore", f="abs(x)", lo=-1, hi=1, at=0, lang="zh")
    assert [row["label"] for row in r["at"]["rows"]] == ["符号微分", "自动微分", "数值微分"]
    assert all(row["reason"] == "尖点：左导数与右导数不相等" for row in r["at"]["rows"])


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_formulas_are_refused_fast_with_a_reason(server, text):
    start = time.perf_counter()
    status, r = get(server, "/api/explore", f=text, lo=-1, hi=1, at=0.5)
    assert status == 400 and r["error"] and len(r["error"]) < 400, r
    assert time.perf_counter() - start < 10


@pytest.mark.parametrize("query", [dict(lo="nan", hi=1, at=0), dict(lo=2, hi=1, at=0), dict(lo=-1, hi=1, at="inf"),
                                   dict(lo=-1, hi=1), dict(lo="1e300", hi="2e300", at=0)])
def test_bad_numbers_are_refused_with_a_reason(server, query):
    status, r = get(server, "/api/explore", f="sin(x)", **query)
    assert status == 400 and re.search(r"\blo\b|\bhi\b|\bat\b", r["error"]), r


def test_the_server_keeps_answering_after_refusals(server):
    for text in HOSTILE:
        get(server, "/api/explore", f=text, lo=-1, hi=1, at=0.5)
    status, r = get(server, "/api/explore", f="x**2", lo=-1, hi=1, at=0.5)
    assert status == 200 and [row["value"] for row in r["at"]["rows"]] == [1.0, 1.0, pytest.approx(1.0, rel=1e-10)]


@pytest.mark.slow
def test_every_lab_function_can_be_explored(server):
    """What the page's list offers first: each of the lab's functions on its own range, drawn by
    every method, with the points the catalog knows f' to fail at marked as kinks."""
    for e in (e for e in EXAMPLES if e.lab):
        lo, hi = e.domain
        status, r = get(server, "/api/explore", f=e.text, lo=lo, hi=hi, at=lo + 0.377 * (hi - lo))
        assert status == 200, (e.name, r)
        assert [m["method"] for m in r["methods"]] == ["symbolic", "automatic", "numeric"], e.name
        assert all(row["available"] and row["value"] is not None for row in r["at"]["rows"]), (e.name, r["at"])
        assert {k["x"] for k in r["kinks"]} >= {u for u in e.undefined if lo < u < hi}, e.name


def test_a_request_past_its_time_limit_is_answered_at_once():
    start = time.perf_counter()
    with pytest.raises(Busy, match="no answer within 0.3 s"):
        run_async(Workers(1, 0.3, 8).run(time.sleep, 2))
    assert time.perf_counter() - start < 1.5


def test_a_full_queue_is_answered_at_once():
    with pytest.raises(Busy, match="busy"):
        run_async(Workers(1, 5.0, 0).run(time.sleep, 0))


def test_inside_gives_the_steps_and_the_graph(server):
    _, r = get(server, "/api/inside", f="exp(-2*x) + 3*sin(3*x)", at=0.5)
    assert r["steps"][0]["rule"] == "sum rule"
    assert all(s["svg"].startswith("data:image/svg+xml;base64,") for s in r["steps"])
    assert r["result"]["latex"] == "9 \\cos{\\left(3 x \\right)} - 2 e^{- 2 x}"
    assert "v̄ = ∂f/∂v" in r["table"] and r["graph"].startswith("data:image/svg+xml;base64,")
    _, refused = get(server, "/api/inside", f="x" + "+x" * 400, at=0.5)
    assert refused.get("steps_error") or refused.get("steps")


@pytest.mark.slow  # two step studies of 61 steps, compiled in the server and here: 10 s
def test_the_step_study_is_the_librarys(server):
    _, r = get(server, "/api/steps", f=SQUIRE_TRAPP, at=1.5)
    study = td.step_study(SQUIRE_TRAPP, 1.5, steps=np.array(r["steps"]))
    for label in study.labels:
        assert np.allclose(np.array(r["schemes"][label]["errors"], dtype=float), study.errors[label], rtol=1e-6)
    central = np.array(r["schemes"]["central 2"]["errors"], dtype=float)
    best = int(np.argmin(central))
    assert 0 < best < len(central) - 1 and central[0] > 1e3 * central[best] and central[-1] > 1e3 * central[best]


@pytest.mark.slow  # compiles and times three methods on 10^5 points
def test_speed_measures_every_method(server):
    status, r = get(server, "/api/speed", f="sin(x)", lo=-1, hi=1)
    assert status == 200
    assert [m["method"] for m in r["methods"]] == ["symbolic", "automatic", "numeric"]
    for m in r["methods"]:
        assert m["available"] and m["evaluation_seconds"]["median"] > 0 and m["peak_memory_bytes"] >= 8 * 10**5
        assert m["max_rel_error"] < 1e-8


def test_a_request_for_another_host_name_is_turned_away(server):
    """Served on the loopback, the explorer answers only to its loopback names (DNS rebinding)."""
    url, _ = server
    request = urllib.request.Request(url, headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400


def test_the_page_needs_nothing_from_outside(server):
    url, _ = server
    page = urllib.request.urlopen(url, timeout=30).read().decode("utf-8")
    links = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert links and all(link.startswith(("static/", "data:", "?lang=")) for link in links), links
    for link in links:
        if link.startswith("static/"):
            assert urllib.request.urlopen(url + link, timeout=30).status == 200
    zh = urllib.request.urlopen(url + "?lang=zh", timeout=30).read().decode("utf-8")
    assert '<html lang="zh-CN">' in zh and "步长如何影响误差" in zh


def test_every_response_carries_the_security_headers(server):
    """The page, the API (answers and refusals) and the static files: only the server's own files and
    data: images may load, nothing may frame the page, no type is sniffed."""
    url, _ = server
    responses = [urllib.request.urlopen(url + path, timeout=30) for path in
                 ("", "api/explore?f=x**2&lo=-1&hi=1&at=0.5", "static/explorer.js")]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "api/explore?f=import%20os&lo=-1&hi=1&at=0.5", timeout=30)
    for headers in [r.headers for r in responses] + [refused.value.headers]:
        policy = headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
        assert "unsafe" not in policy, policy
        assert headers["X-Content-Type-Options"] == "nosniff"


# -- in a browser ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is missing: run scripts/install-system-packages"
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(server, browser):
    """The explorer's page, loaded, every request outside the server refused and recorded."""
    url, _ = server
    view = browser.new_page(viewport={"width": 1200, "height": 900})
    view.outside, view.errors = [], []
    view.on("pageerror", lambda err: view.errors.append(str(err)))
    # what the page's Content-Security-Policy blocks, were it to block anything the page needs
    view.add_init_script("window.blocked = []; document.addEventListener('securitypolicyviolation', "
                         "e => window.blocked.push(e.violatedDirective + ' ' + e.blockedURI));")

    def route(r):
        if r.request.url.startswith((url, "data:")):
            r.continue_()
        else:
            view.outside.append(r.request.url)
            r.abort()

    view.route("**/*", route)
    view.goto(url)
    view.wait_for_selector("#values tbody tr", timeout=60000)
    view.wait_for_selector("#at-step tbody tr", timeout=60000)
    yield view
    assert view.outside == [] and view.errors == []
    assert view.evaluate("window.blocked") == []
    view.close()


def wait_until(view, expression: str, timeout: float = 60.0) -> None:
    """Poll a JavaScript expression in the page until it is true. (Playwright's wait_for_function
    builds its predicate with eval, which the page's Content-Security-Policy forbids, as it should.)"""
    end = time.monotonic() + timeout
    while not view.evaluate(expression):
        assert time.monotonic() < end, f"still false after {timeout} s: {expression}"
        time.sleep(0.05)


def values_shown(view) -> dict[str, str]:
    return {row.get_attribute("data-method"): row.query_selector("td.value").inner_text()
            for row in view.query_selector_all("#values tbody tr")}


def test_typing_a_formula_redraws_the_plot_and_the_values(page, tmp_path):
    assert values_shown(page) == {m: f"{float(exact(0.5)):.10g}" for m in ("symbolic", "automatic")} | \
        {"numeric": values_shown(page)["numeric"]}
    page.fill("#formula", "x**3")
    wait_until(page, "document.querySelector('#values tbody td.value').textContent === '0.75'")
    assert set(values_shown(page).values()) == {"0.75"}
    assert "3x^{2}" in page.inner_text("#formulas").replace(" ", "") or page.query_selector("#formulas img.maths")
    page.screenshot(path=str(tmp_path / "explorer.png"), full_page=True)
    assert (tmp_path / "explorer.png").stat().st_size > 100_000


@pytest.mark.slow
def test_the_slider_moves_along_the_error_curves(page):
    study = page.evaluate("study")
    before = page.inner_text("#at-step tbody td.error")
    page.eval_on_selector("#h", "(el) => { el.value = '50'; el.dispatchEvent(new Event('input')); }")
    after = page.inner_text("#at-step tbody td.error")
    assert page.inner_text("#h-value") == f"{study['steps'][50]:.1e}".replace("e-", "e-")
    first = next(iter(study["schemes"].values()))["errors"][50]
    assert after != before and float(after) == pytest.approx(first, rel=1e-9)


@pytest.mark.slow
def test_a_hostile_formula_is_refused_on_the_page(page):
    page.fill("#formula", "__import__('os').system('true')")
    page.wait_for_selector("#error:not([hidden])", timeout=60000)
    assert "__import__" in page.inner_text("#error") or "unknown" in page.inner_text("#error").lower()
    page.fill("#formula", "sin(x)")
    page.wait_for_selector("#error", state="hidden", timeout=60000)


@pytest.mark.slow
def test_the_wheel_zooms_and_the_curves_are_computed_again(page):
    page.hover("#plot .u-over")
    page.mouse.wheel(0, -200)
    wait_until(page, "Number(document.getElementById('hi').value) - Number(document.getElementById('lo').value) < 9.99")
    wait_until(page, "plot && plot.data[0][0] > -5")


@pytest.mark.slow
def test_shift_and_drag_pans_the_plot(page):
    box = page.query_selector("#plot .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    page.keyboard.down("Shift")
    page.mouse.move(box["x"] + 300, y)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, y, steps=5)
    page.mouse.up()
    page.keyboard.up("Shift")
    wait_until(page, "Number(document.getElementById('lo').value) > -5")
    lo, hi = (float(page.input_value(f"#{name}")) for name in ("lo", "hi"))
    assert hi - lo == pytest.approx(10.0) and lo > -5  # moved right by 100 px, not zoomed


@pytest.mark.slow
def test_the_page_in_chinese(server, browser):
    url, _ = server
    view = browser.new_page()
    view.goto(url + "?lang=zh")
    view.wait_for_selector("#values tbody tr", timeout=60000)
    assert view.inner_text("h1") == "tridiff 探索器"
    assert view.inner_text("#values tbody tr td") == "符号微分"
    view.close()


# -- under load --------------------------------------------------------------------------------------

ORDINARY = [e.text for e in EXAMPLES if len(e.text) < 60]


def rss_bytes(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", text).group(1)) * 1024


@pytest.mark.slow
def test_fifty_clients_for_thirty_seconds(server):
    """50 concurrent clients on the loopback for 30 s, one in five sending hostile formulas: no
    ordinary request fails, every hostile one is refused, the latencies are reported and the
    server's memory stays bounded."""
    import httpx

    url, process = server
    get(server, "/api/explore", f="x**2", lo=-1, hi=1, at=0.5)
    rss_before = rss_bytes(process.pid)
    latencies, failures, refusals = [], [], []
    deadline = time.perf_counter() + 30

    async def client(k: int, http):
        rng = random.Random(k)
        while time.perf_counter() < deadline:
            hostile = rng.random() < 0.2
            lo = rng.uniform(-5, 0)
            query = {"f": rng.choice(HOSTILE) if hostile else rng.choice(ORDINARY), "lo": lo,
                     "hi": lo + rng.uniform(0.5, 5), "at": rng.uniform(0.1, 1)}
            start = time.perf_counter()
            response = await http.get(url + "api/explore", params=query)
            latencies.append(time.perf_counter() - start)
            body = response.json()
            if hostile:
                refusals.append(response.status_code == 400 and bool(body.get("error")))
            elif response.status_code != 200 or "error" in body:
                failures.append((query["f"], response.status_code, body.get("error")))

    async def main():
        async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=50)) as http:
            await asyncio.gather(*(client(k, http) for k in range(50)))

    run_async(main())
    rss_after = rss_bytes(process.pid)
    p50, p95 = np.percentile(latencies, [50, 95])
    print(f"\n{len(latencies)} requests in 30 s from 50 clients: p50 {p50 * 1e3:.0f} ms, p95 {p95 * 1e3:.0f} ms; "
          f"server memory {rss_before / 2**20:.0f} -> {rss_after / 2**20:.0f} MiB")
    assert failures == []
    assert refusals and all(refusals)
    assert len(latencies) > 200
    assert rss_after < rss_before + 1.5 * 2**30
