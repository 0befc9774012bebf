"""Diagrams laid out by Graphviz: DOT text in, SVG out (a real layout engine, not hand placement)."""

from __future__ import annotations

import shutil
import subprocess

from ..errors import TridiffError

#: Seconds Graphviz may take for one diagram (a few hundred nodes take well under one).
TIMEOUT = 30.0


def render_svg(dot: str) -> str:
    """``dot`` (Graphviz's DOT language) laid out and drawn as SVG text by Graphviz's ``dot``.

    Raises:
        TridiffError: Graphviz is not installed (``scripts/install-system-packages`` installs it),
            or fails on the text.
    """
    program = shutil.which("dot")
    if program is None:
        raise TridiffError("drawing the graph needs Graphviz's `dot` program: install Graphviz "
                           "(apt install graphviz; the project's scripts/install-system-packages does)")
    try:
        done = subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TridiffError(f"Graphviz took more than {TIMEOUT:g} s to lay out the graph") from None
    if done.returncode != 0:
        raise TridiffError(f"Graphviz could not draw the graph: {done.stderr.strip().splitlines()[-1:]}")
    return done.stdout
