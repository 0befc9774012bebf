"""tridiff in the learner's language: the message catalog, the language context, and what it
translates (reasons, steps, figures). The whole Chinese report is checked in test_cli.py.

The catalog is checked against the code itself: every message the code marks for translation
(``_("…")`` or ``N_("…")`` with a literal, found by reading the source with ``ast``) has a Chinese
entry with the same placeholders, and the catalog keeps no entry the code no longer uses.
"""

from __future__ import annotations

import ast
import io
import logging
import re
import string
import warnings
from pathlib import Path

import numpy as np
import pytest

import tridiff as td
from tridiff.errors import TridiffError
from tridiff.translation import LANGUAGES, catalog, current_language, gettext, language

SOURCE = Path(td.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")


def marked_messages() -> dict[str, str]:
    """Every literal message the package marks for translation, with the file that marks it: in
    its Python code, and in its page templates (``{{ _("…") }}``, Jinja2's i18n)."""
    found = {}
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.setdefault(node.args[0].value, path.name)
    for path in sorted(SOURCE.rglob("templates/*.html")):
        for match in re.finditer(r'\b_\("((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), path.name)
    return found


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_source_marks_the_messages_people_read():
    """The extraction itself finds what it must (else the checks below would pass on nothing)."""
    found = marked_messages()
    assert len(found) > 150
    assert found["kink: the left and right derivatives differ"] == "reasons.py"
    assert found["chain rule with {name}' = {own}"] == "derivation.py"
    assert found["one-sided limits at a kink"] == "plot.py"
    assert found["How the step changes the error"] == "explorer.html"


@pytest.mark.parametrize("code", [c for c in LANGUAGES if c != "en"])
def test_the_catalog_translates_every_marked_message_and_nothing_else(code):
    found, translated = marked_messages(), catalog(code)
    assert sorted(set(found) - set(translated)) == []  # untranslated: add them to locales/<code>.toml
    assert sorted(set(translated) - set(found)) == []  # stale: the code no longer says them
    for message, text in translated.items():
        assert fields(text) == fields(message), message
        if re.search("[a-z]{3}", re.sub(r"<[^>]*>|\{[^}]*\}", "", message)):  # words, not markup or punctuation
            assert CJK.search(text), (message, text)


def test_the_language_is_a_context_and_english_is_the_default():
    assert current_language() == "en"
    message = "kink: the left and right derivatives differ"
    assert gettext(message) == message
    with language("zh"):
        assert current_language() == "zh"
        assert gettext(message) == "尖点：左导数与右导数不相等"
        with language("en"):
            assert gettext(message) == message
        assert gettext("a message no catalog has") == "a message no catalog has"
    assert current_language() == "en"


@pytest.mark.parametrize("code", ["fr", "ZH", "", None, 1])
def test_unknown_languages_are_refused_by_name(code):
    with pytest.raises(TridiffError, match="unknown language .* choose one of en, zh"):
        with language(code):
            pass
    assert current_language() == "en"


def test_reasons_are_written_in_the_language_of_the_call():
    d = td.derivative("abs(x) + log(x + 2)")
    x = [0.0, -2.0, 1.0]
    english = d.evaluate(x).reasons
    with language("zh"):
        chinese = d.evaluate(x).reasons
        assert list(td.kinks("abs(x)", (-1, 1))[0].reason) == list("尖点：左导数与右导数不相等")
    assert list(english) == ["kink: the left and right derivatives differ",
                             "f is not defined here (outside its domain, or a pole)", ""]
    assert list(chinese) == ["尖点：左导数与右导数不相等", "f 在此处无定义（在定义域之外，或是极点）", ""]
    assert list(d.evaluate(x).reasons) == list(english)


def test_the_reasons_of_sampled_data_follow_the_language_they_are_read_in():
    r = td.differentiate_samples([1.0, 2.0, np.nan, 4.0, 5.0], full=True)
    english = list(r.reasons)
    with language("zh"):
        chinese = list(r.reasons)
    assert english[2].startswith("y is NaN") and chinese[2].startswith("差分模板内的 y") and list(r.reasons) == english


def test_steps_name_their_rules_in_chinese():
    with language("zh"):
        derivation = td.steps("abs(sin(x))")
    assert [s.rule for s in derivation.steps] == ["链式法则，其中 abs' = sign(u)", "sin 的求导法则"]
    assert derivation.steps[0].caveat == "在 sin(x) = 0 处不成立：尖点或跳跃"
    assert td.steps("abs(sin(x))").steps[0].rule == "chain rule with abs' = sign(u)"


def svg_of(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def test_figures_in_chinese_have_a_glyph_for_every_character(caplog):
    """A figure made in Chinese sets its labels in a CJK font, kept when it is saved later:
    matplotlib reports no missing glyph (it draws a box for one), including in a legend that mixes
    mathtext with Chinese."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        with td.language("zh"):
            fig = td.plot("abs(x)", x_range=(-1, 1), points=51, title="|x| 及其导数")
        svg = svg_of(fig)
    assert not [w for w in caught if "glyph" in str(w.message).lower()]
    assert not [r for r in caplog.records if "glyph" in r.getMessage().lower()]
    assert "<!-- $f'(x)$ 符号微分 -->" in svg and "尖点处的单侧极限" in svg
    assert re.search(r'id="[A-Za-z]*CJK[A-Za-z]*-Regular-', svg)  # glyphs drawn from a CJK font


def test_a_studys_figure_in_chinese_has_its_glyphs_too(caplog):
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        with td.language("zh"):
            fig = td.step_study("exp(x)", 1.0, steps=[1e-2, 1e-4], schemes=(("central", 2),)).plot()
        svg = svg_of(fig)
    assert not [w for w in caught if "glyph" in str(w.message).lower()]
    assert not [r for r in caplog.records if "glyph" in r.getMessage().lower()]
    assert "相对步长" in svg and re.search(r'id="[A-Za-z]*CJK[A-Za-z]*-Regular-', svg)


def test_figures_in_english_keep_their_fonts():
    svg = svg_of(td.plot("abs(x)", x_range=(-1, 1), points=51))
    assert "<!-- $f'(x)$ symbolic -->" in svg and "CJK" not in svg
