"""The languages tridiff writes in for people: English (the default) and Chinese.

Every sentence, heading, label and reason a person reads is written in English where it is used,
and looked up by that English text in one message catalog per language (``locales/zh.toml``:
English = 中文), the way gettext works: the code reads in English, a translator edits one file,
and a message with no translation yet falls back to English (a test keeps the catalog complete).
The language is a context, not a global: a report or one request of the explorer is written in
its own language while another runs beside it.

>>> with language("zh"):
...     gettext("kink: the left and right derivatives differ")
'尖点：左导数与右导数不相等'
"""

from __future__ import annotations

import tomllib
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib.resources import files

from .errors import TridiffError

#: The languages a report can be written in: "en" (the code's own text) and "zh" (简体中文).
LANGUAGES = ("en", "zh")

#: Each language as an HTML page's ``lang`` attribute says it.
HTML_LANG = {"en": "en", "zh": "zh-CN"}

_current: ContextVar[str] = ContextVar("tridiff_language", default="en")


@contextmanager
def language(code: str):
    """Write everything made inside the ``with`` block in the language ``code`` ("en" or "zh")."""
    token = _current.set(check_language(code))
    try:
        yield code
    finally:
        _current.reset(token)


def check_language(code) -> str:
    if code not in LANGUAGES:
        raise TridiffError(f"unknown language {code!r}: choose one of {', '.join(LANGUAGES)}")
    return code


def current_language() -> str:
    return _current.get()


def gettext(message: str) -> str:
    """``message`` in the current language (``message`` itself in English, or where the catalog
    has no translation). Placeholders such as ``{n}`` are kept for ``str.format``."""
    code = _current.get()
    if code == "en":
        return message
    return catalog(code).get(message, message)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog where it is defined, to be translated where it is shown
    (``gettext(name)``): names kept as identifiers, such as the methods' names."""
    return message


@cache
def catalog(code: str) -> dict[str, str]:
    """The catalog of ``code``: English message → its translation (empty for English)."""
    if check_language(code) == "en":
        return {}
    text = files("tridiff").joinpath("locales", f"{code}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)
