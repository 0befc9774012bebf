"""``tridiff serve``: the explorer, a local web page where the lab's questions become one page.

Type a formula or pick one of the lab's functions: f and f' by each method on an interactive plot
(kinks marked with their one-sided limits), the values at a point with the reasons where f' does
not exist, the derivation step by step and the computational graph, each difference scheme's error
against the step h, and the speed of each method on this machine.

The page is a Starlette app: one HTML page (Jinja2, in English or Chinese from the same message
catalog as the lab's report), its script and uPlot (vendored: no CDN, it works offline), and a JSON
API the page calls. Every formula goes through the library's parser and budgets; the work runs in
worker threads, at most ``workers`` at once, each request within a time limit, with a bounded
queue: a request that cannot be served says so (503) instead of piling up.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import logging
import math
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib.resources import files

import numpy as np
import sympy as sp
from jinja2 import Environment, PackageLoader
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__
from ..definition.function import Function, function
from ..definition.points import json_number
from ..errors import TridiffError
from ..methods.derivative import derivative
from ..methods.options import METHODS
from ..studies.catalog import EXAMPLES
from ..studies.compare import compare
from ..studies.derivation import steps
from ..studies.graph import graph
from ..studies.stepstudy import scheme_text, step_study
from ..translation import HTML_LANG, LANGUAGES, language
from ..translation import gettext as _
from ..views.plot import maths_svg, sample

LOOPBACK = ("127.0.0.1", "localhost", "::1")  # the names a server on this machine only answers to
POINTS = 401  # plot grid points (the kinks are added to them)
SPEED_POINTS = 10**5  # the speed comparison's array
MAX_TEXT = 2000  # characters of a formula: the parser's own limits apply too
STEPS = tuple(10.0 ** -np.linspace(1, 16, 61))  # the step study's h: 10^-1 … 10^-16, four per decade

log = logging.getLogger(__name__)

#: The examples the page offers: the lab's functions, then traps at kinks and domain edges.
CHOICES = tuple(e for e in EXAMPLES if e.lab) + tuple(e for e in EXAMPLES if not e.lab)


class Busy(Exception):
    """The server has more requests waiting than it will queue, or one took too long."""


class Workers:
    """Runs the library's work off the event loop: at most ``workers`` threads, at most ``queue``
    calls pending (running or waiting), an answer within ``time_limit`` seconds (waiting included).
    A call past its time limit is answered (503) at once; its thread finishes in the background,
    bounded by the library's own budgets, and keeps its place among the workers and in the queue
    until then, so that timed-out work cannot pile up beyond them."""

    def __init__(self, workers: int, time_limit: float, queue: int):
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="tridiff-explorer")
        self.time_limit, self.queue = time_limit, queue
        self.pending, self.lock = 0, threading.Lock()

    async def run(self, work, *args, time_limit: float | None = None):
        with self.lock:
            if self.pending >= self.queue:
                raise Busy(_("the explorer is busy: try again in a moment"))
            self.pending += 1
        # the request's context (its language) goes with the work to the worker thread
        future = self.pool.submit(contextvars.copy_context().run, work, *args)
        future.add_done_callback(self._finished)
        limit = time_limit or self.time_limit
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), limit)
        except TimeoutError:
            raise Busy(_("no answer within {seconds} s (the explorer may be busy): try a simpler formula or a "
                         "narrower range").format(seconds=f"{limit:g}")) from None

    def _finished(self, _future) -> None:
        with self.lock:
            self.pending -= 1


def checked_function(text) -> Function:
    """The Function of a formula the page sent (``td.function`` keeps the recent ones, compiled
    kernels and all), refused when it is not one formula in one variable."""
    if not isinstance(text, str) or not text.strip():
        raise TridiffError(_("type a formula in x, such as sin(x)**2"))
    if len(text) > MAX_TEXT:
        raise TridiffError(_("the formula is {n} characters long: the explorer takes at most {limit}").format(
            n=len(text), limit=MAX_TEXT))
    fn = function(text)
    if len(fn.variables) != 1:
        raise TridiffError(_("the explorer draws functions of one variable; this one has {names}").format(
            names=", ".join(v.name for v in fn.variables)))
    return fn


# -- the answers --------------------------------------------------------------------------------

def explore(fn: Function, lo: float, hi: float, at: float) -> dict:
    """f and f' by each method on [lo, hi], the kinks, and every method's value at ``at``."""
    curves = sample(fn, METHODS, (lo, hi), points=POINTS)
    rows = []
    for m in METHODS:
        if m in curves.unavailable:
            rows.append({"method": m, "label": _(m), "available": False, "reason": curves.unavailable[m]})
            continue
        r = derivative(fn, method=m).evaluate(at)
        rows.append({"method": m, "label": _(m), "available": True, "value": json_number(r.values),
                     "left": json_number(r.left), "right": json_number(r.right), "reason": str(r.reasons),
                     "error_estimate": None if r.error_estimate is None else json_number(r.error_estimate)})
    with np.errstate(all="ignore"):
        f_at = float(np.asarray(fn(np.array([at])), dtype=float)[0])
    formula = None
    if "symbolic" not in curves.unavailable:
        d = derivative(fn)
        formula = {"text": str(d.expr), **_typeset(d.latex)}
    return {
        "function": str(fn), **_typeset(sp.latex(fn.expr)), "derivative": formula,
        "x": _numbers(curves.x), "f": _numbers(curves.f),
        "methods": [{"method": m, "label": _(m), "values": _numbers(curves.derivatives[m])}
                    for m in METHODS if m in curves.derivatives],
        "kinks": [{"x": k.x, "left": json_number(k.left), "right": json_number(k.right), "reason": k.reason}
                  for k in curves.kinks],
        "at": {"x": at, "f": json_number(f_at), "rows": rows},
    }


def inside(fn: Function, at: float) -> dict:
    """The derivation step by step and the computational graph at ``at`` (each may be refused)."""
    out: dict = {}
    try:
        derivation = steps(fn)
        out["steps"] = [{"rule": s.rule, "caveat": s.caveat, **_typeset(s.latex(derivation.variable))}
                        for s in derivation.steps]
        out["result"] = _typeset(sp.latex(derivation.derivative))
    except TridiffError as err:
        out["steps_error"] = str(err)
    try:
        g = graph(fn, at)
        out["table"] = g._repr_html_()
        try:
            out["graph"] = _svg_uri(g.svg().encode("utf-8"))
        except TridiffError as err:  # no Graphviz: the table says it all
            out["graph_error"] = str(err)
    except TridiffError as err:
        out["table_error"] = str(err)
    return out


def errors_against_step(fn: Function, at: float) -> dict:
    """Each difference scheme's error against the step at ``at`` (the slider's curves)."""
    study = step_study(fn, at, steps=STEPS)
    out = study.to_dict()
    out["labels"] = {label: scheme_text(label) for label in study.labels}
    out["title"] = study.title()
    return out


def speed(fn: Function, lo: float, hi: float) -> dict:
    """Setup, evaluation time, peak memory and error of each method on ``SPEED_POINTS`` points."""
    c = compare(fn, np.linspace(lo, hi, SPEED_POINTS), repeat=5)
    out = c.to_dict()
    # every undefined point and its reason (up to 10^5 each) is more than the page shows: their count
    out["methods"] = [{**{k: v for k, v in report.items() if k not in ("undefined", "undefined_reasons")},
                       "undefined_count": len(report["undefined"]), "label": _(method)}
                      for method, report in out["methods"].items()]
    return out


def _numbers(a) -> list:
    return [json_number(v) for v in np.asarray(a, dtype=float).tolist()]


def _typeset(latex: str) -> dict:
    """LaTeX and the picture of it (an SVG data URI; None where mathtext cannot set it)."""
    return {"latex": latex, "svg": _svg_uri(maths_svg(latex))}


def _svg_uri(svg: bytes | None) -> str | None:
    return None if svg is None else "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


# -- the app ------------------------------------------------------------------------------------

def create_app(*, workers: int = 2, time_limit: float = 15.0, queue: int = 256, hosts=("*",)) -> Starlette:
    """The explorer as an ASGI app (serve it with any ASGI server; ``tridiff serve`` uses uvicorn).
    ``hosts``: the names a request may address it by (a page elsewhere renaming itself to 127.0.0.1,
    DNS rebinding, is turned away when only the loopback names are allowed).

    >>> app = create_app()
    >>> sorted(r.path for r in app.routes)
    ['/', '/api/explore', '/api/inside', '/api/speed', '/api/steps', '/static']
    """
    pool = Workers(workers, time_limit, queue)
    pages = Environment(loader=PackageLoader("tridiff.apps", "templates"), autoescape=True,
                        extensions=["jinja2.ext.i18n"])
    pages.install_gettext_callables(_, lambda one, many, n: _(one) if n == 1 else _(many), newstyle=True)

    async def page(request):
        lang = _language(request)
        with language(lang):
            choices = [(e.text if len(e.text) <= 32 else e.name.replace("_", " "), e.text, e.domain) for e in CHOICES]
            html = pages.get_template("explorer.html").render(
                lang=HTML_LANG[lang], code=lang, languages=LANGUAGES, version=__version__,
                choices=choices)
        return HTMLResponse(html)

    def endpoint(answer, *names, time_limit=None):
        async def respond(request):
            with language(_language(request)):
                try:
                    args = [_number(request, n) for n in names]
                    work = partial(_answer, answer, request.query_params.get("f", ""), args)
                    return JSONResponse(await pool.run(work, time_limit=time_limit))
                except TridiffError as err:
                    return JSONResponse({"error": str(err)}, status_code=400)
                except Busy as err:
                    return JSONResponse({"error": str(err)}, status_code=503)
                except Exception:  # noqa: BLE001 - a bug of tridiff's: logged, and said on the page as such
                    log.exception("explorer: %s", request.url)
                    return JSONResponse({"error": _("tridiff failed on this request (a bug: the server's log has "
                                                    "the details)")}, status_code=500)
        return respond

    static = StaticFiles(directory=str(files("tridiff.apps").joinpath("static")))
    return Starlette(middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(hosts)), Middleware(_Fenced)],
                     routes=[
        Route("/", page),
        Route("/api/explore", endpoint(_explore, "lo", "hi", "at")),
        Route("/api/inside", endpoint(inside, "at")),
        Route("/api/steps", endpoint(errors_against_step, "at")),
        Route("/api/speed", endpoint(_speed, "lo", "hi", time_limit=60.0)),
        Mount("/static", static, name="static"),
    ])


#: Sent with every response. The page may load and run only its own server's files and the data: URIs
#: of its typeset formulas and graph, and nothing may frame it: every text of the user's or the server's
#: already goes in as text, and this is the second fence, should one ever not.
SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


class _Fenced:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every HTTP response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def fenced(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(SECURITY_HEADERS)
            await send(message)

        await self.app(scope, receive, fenced)


def _answer(answer, text: str, args: list):
    return answer(checked_function(text), *args)


def _explore(fn: Function, lo: float, hi: float, at: float) -> dict:
    return explore(fn, *_interval(lo, hi), at)


def _speed(fn: Function, lo: float, hi: float) -> dict:
    return speed(fn, *_interval(lo, hi))


def _interval(lo: float, hi: float) -> tuple[float, float]:
    if not lo < hi:
        raise TridiffError(_("the range needs lo < hi, got {lo} and {hi}").format(lo=f"{lo:g}", hi=f"{hi:g}"))
    return lo, hi


def _language(request) -> str:
    lang = request.query_params.get("lang", "en")
    return lang if lang in LANGUAGES else "en"


def _number(request, name: str) -> float:
    raw = request.query_params.get(name, "")
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > 1e12:
        raise TridiffError(_("{name} must be a finite number within ±1e12, got {value!r}").format(
            name=name, value=raw[:40]))
    return value


def serve(host: str = "127.0.0.1", port: int = 8000, *, echo=print) -> None:
    """Serve the explorer until interrupted; ``echo`` says where (``port=0``: any free port)."""
    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise TridiffError(f"cannot listen on {host}:{port} ({err.strerror}): choose another --port") from None
    shown = f"[{host}]" if ":" in host else host
    echo(_("tridiff explorer at http://{host}:{port}/ (Ctrl+C stops it)").format(host=shown,
                                                                                 port=sock.getsockname()[1]))
    hosts = LOOPBACK if host in LOOPBACK else ("*",)
    server = uvicorn.Server(uvicorn.Config(create_app(hosts=hosts), log_level="warning"))
    server.run(sockets=[sock])
