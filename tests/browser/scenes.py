"""Helpers for the language browser tests (tests/browser/test_languages.py).

* ``compile_catalogs()``: every committed .po compiled to .mo next to it, the way
  ``make compilemessages`` does (tools/catalogs.py, Babel; the .mo are git-ignored);
* ``plugin_sentences(lang)``: the plugin's English texts that must not be seen on a page
  in ``lang`` (msgids of both domains, placeholders and markup cut out, the fixed parts of
  at least 12 characters that hold a space), except messages translated as themselves;
* ``english_left(text, sentences)``: which of them a page's visible text still shows;
* ``translated(msgid)``: the fixed parts of a message's translation in the active language.
"""
import importlib.util
import pathlib
import re

from babel.messages.pofile import read_po
from django.utils import translation

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCALE = ROOT / "evac_dashboard" / "locale"
DOMAINS = ("django", "djangojs")
# Django's language codes and the catalogs' folder names.
FOLDERS = {"zh-hans": "zh_Hans", "vi": "vi"}
# printf-style (%(name)s, %s, %d), str.format's {name}, a template's {{ x }} / {% x %}, and
# markup: what a page shows in their place is not the msgid's text.
CUT = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]"
                 r"|\{\{.*?\}\}|\{%.*?%\}|\{\w*\}|<[^>]*>|&\w+;")
MIN_LENGTH = 12


def _catalogs_tool():
    spec = importlib.util.spec_from_file_location("evac_catalogs",
                                                  ROOT / "tools" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_catalogs():
    tool = _catalogs_tool()
    compiled = []
    for path in tool.catalogs():
        tool.compile_catalog(path)
        compiled.append(path.with_suffix(".mo"))
    return compiled


def normal(text):
    """Whitespace collapsed and case folded (the theme upper-cases some headings)."""
    return " ".join(text.split()).casefold()


def fixed_parts(text):
    return [" ".join(part.split()) for part in CUT.split(text) if part.strip()]


def _forms(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


def plugin_sentences(lang):
    """{English fixed part: "'msgid' (its source files)"} for the plugin's catalogs of
    ``lang``."""
    sentences = {}
    for domain in DOMAINS:
        with open(LOCALE / FOLDERS[lang] / "LC_MESSAGES" / ("%s.po" % domain), "rb") as handle:
            catalog = read_po(handle)
        for message in catalog:
            if not message.id:
                continue
            ids, strings = _forms(message.id), _forms(message.string)
            if all(strings) and all(s == i for s, i in zip(strings, ids + ids[-1:] * 9)):
                continue  # translated as itself ("OpenStack", a unit, ...)
            for msgid in ids:
                for part in fixed_parts(msgid):
                    if len(part) >= MIN_LENGTH and " " in part:
                        where = sorted({path for path, _line in message.locations})
                        sentences[part] = "%r (%s)" % (msgid, ", ".join(where) or domain)
    return sentences


def english_left(text, sentences):
    seen = normal(text)
    return sorted({msgid for part, msgid in sentences.items() if normal(part) in seen})


def translated(msgid, lang):
    """The fixed parts of ``msgid`` in ``lang`` as the plugin's catalog (through Django's
    gettext) says it; [] when the catalog has no translation for it."""
    with translation.override(lang):
        text = str(translation.gettext(msgid))
    if text == msgid:
        return []
    return fixed_parts(text)
