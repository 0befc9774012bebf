"""What the result classes share in how they are shown: one presentation, and the methods' styles.

A result (:class:`~tridiff.Comparison`, :class:`~tridiff.Sweep`, :class:`~tridiff.StepStudy`)
says what it holds once — ``to_dict()`` (JSON-ready, NaN as None), ``title()``, ``sections()`` and
``notes()`` — and :class:`Presented` turns that into JSON, a text table (what ``print`` shows) and
HTML for Jupyter, the same way for all of them.
"""

from __future__ import annotations

import html
import io
import json
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache, wraps

from ..errors import TridiffError
from ..translation import current_language

#: Each method's line style, as the lab draws f' in blue; the others overlap it, told apart by style.
METHOD_STYLES = {
    "symbolic": dict(color="tab:blue", linestyle="-", linewidth=3.0, zorder=3),
    "automatic": dict(color="tab:green", linestyle=(0, (6, 4)), linewidth=1.8, zorder=4),
    "numeric": dict(color="tab:orange", linestyle=(0, (1, 2)), linewidth=2.2, zorder=5),
}
ERROR_FLOOR = 1e-17  # an error of exactly 0 is drawn here on a log scale (times max |f'| when > 1)


@dataclass(frozen=True)
class Section:
    """One table of a result: a caption (or None), the headers, and rows of text. A row shorter than
    the headers ends in a cell that spans the rest (a method that is not available, and why)."""

    caption: str | None
    headers: tuple[str, ...]
    rows: list[list[str]]


class Presented:
    """JSON, a text table and HTML from a result's ``to_dict``, ``title``, ``sections`` and ``notes``."""

    def to_dict(self) -> dict:
        raise NotImplementedError

    def title(self) -> str:
        raise NotImplementedError

    def sections(self) -> list[Section]:
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []

    def to_json(self, **kwargs) -> str:
        """:meth:`to_dict` as JSON text (``kwargs`` go to :func:`json.dumps`); no NaN is ever written."""
        kwargs.setdefault("allow_nan", False)
        return json.dumps(self.to_dict(), **kwargs)

    def table(self) -> str:
        """The title, each section as an aligned table, and the notes: what ``print`` shows."""
        from rich.console import Console
        from rich.table import Table

        console = Console(width=120, record=True, file=io.StringIO())
        console.print(self.title(), markup=False)
        for section in self.sections():
            if section.caption:
                console.print(section.caption, markup=False)
            # numbers stay on one line; the last column (reasons, lists of points) wraps
            table = Table(*section.headers)
            for column in table.columns[:-1]:
                column.no_wrap = True
            below = []
            for row in section.rows:
                if len(row) < len(section.headers):  # a spanning cell is printed below, where it has the width
                    table.add_row(*row[:-1], *[""] * (len(section.headers) - len(row)), "(see below)")
                    below.append(f"{row[0]}: {row[-1]}")
                else:
                    table.add_row(*row)
            console.print(table)
            for line in below:
                console.print(line, markup=False)
        for note in self.notes():
            console.print(note, markup=False)
        return console.export_text()

    def __str__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        """The same title, tables and notes as :meth:`table`, in HTML for Jupyter."""
        esc = html.escape
        parts = [f"<p><b>{esc(self.title())}</b></p>"]
        for section in self.sections():
            caption = f"<caption>{esc(section.caption)}</caption>" if section.caption else ""
            head = "".join(f"<th>{esc(h)}</th>" for h in section.headers)
            body = []
            for row in section.rows:
                span = len(section.headers) - len(row) + 1
                cells = [f"<td>{esc(c)}</td>" for c in row[:-1]]
                cells.append(f"<td colspan=\"{span}\">{esc(row[-1])}</td>" if span > 1 else f"<td>{esc(row[-1])}</td>")
                body.append(f"<tr>{''.join(cells)}</tr>")
            parts.append(f"<table>{caption}<tr>{head}</tr>{''.join(body)}</table>")
        notes = self.notes()
        if notes:
            parts.append("<ul>" + "".join(f"<li>{esc(note)}</li>" for note in notes) + "</ul>")
        return "".join(parts)


#: Families with Chinese characters, in order of preference. The CJK family comes first in the
#: font list: mathtext sets the text beside a formula (a legend's "$f'(x)$ 符号微分") in the first
#: family only; elsewhere matplotlib (3.6+) falls back along the list glyph by glyph, to DejaVu Sans.
CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans SC",
                "WenQuanYi Zen Hei", "Droid Sans Fallback")


@contextmanager
def figure_fonts():
    """Fonts for the figures made and saved inside the block, for the current language: for
    Chinese, a CJK family with DejaVu Sans behind it.

    matplotlib's settings are the process's: figures in two languages are not made at once in two
    threads (the explorer draws with the browser, not matplotlib).

    Raises:
        TridiffError: no font with Chinese characters is installed.
    """
    if current_language() == "en":
        yield
        return
    import matplotlib

    with matplotlib.rc_context({"font.family": [_cjk_family(), "DejaVu Sans"]}):
        yield


@cache  # looked up for every figure made in Chinese: found once
def _cjk_family() -> str:
    """The first installed family of :data:`CJK_FAMILIES` (fonts installed after matplotlib made its
    font cache are looked for on the system too)."""
    from matplotlib import font_manager

    def first_known():
        known = {f.name for f in font_manager.fontManager.ttflist}
        return next((family for family in CJK_FAMILIES if family in known), None)

    if first_known() is None:
        for path in font_manager.findSystemFonts():
            if any(part in path for part in ("CJK", "SourceHan", "wqy", "DroidSansFallback")):
                font_manager.fontManager.addfont(path)
    family = first_known()
    if family is None:
        raise TridiffError("the figures need a font with Chinese characters, and none is installed: install Noto "
                           "CJK (apt install fonts-noto-cjk; scripts/install-system-packages does)")
    return family


def in_figure_fonts(draw):
    """``draw`` (a function making a figure) with the current language's fonts (:func:`figure_fonts`):
    its labels are set in them, and keep them when the figure is saved later."""
    @wraps(draw)
    def drawn(*args, **kwargs):
        with figure_fonts():
            return draw(*args, **kwargs)

    return drawn
