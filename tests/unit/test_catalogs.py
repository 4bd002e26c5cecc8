"""The translation catalogs against the code, and the plugin's strings in Horizon's JS catalog.

A fresh extraction (``tools/catalogs.py extract``, what ``make messages`` runs, into a
temporary folder) is compared with the committed catalogs of every language and domain:

* ``test_catalog_is_current``: every message the code has is in the committed catalog (run
  ``make messages`` and commit the result when this fails);
* ``test_catalog_is_translated``: every message has a translation that is not fuzzy
  (translators' work: it fails until the catalogs are filled);
* ``test_translations_keep_placeholders``: a translation has exactly the msgid's placeholders
  (``%(name)s``, ``%s``, ``%d``, ``{name}``), or the code's ``%``/``format`` would break.

Needs xgettext and msgmerge (Debian's gettext: ``make system``).
"""
import collections
import importlib.util
import pathlib
import re
import shutil

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.apps import apps
from django.conf import settings
from django.test import Client
from django.urls import reverse
from openstack_dashboard.context_processors import get_js_catalog

ROOT = pathlib.Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("evac_catalogs", ROOT / "tools" / "catalogs.py")
catalogs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogs)

CASES = [(lang, domain) for lang in catalogs.LANGUAGES for domain in catalogs.DOMAINS]
IDS = ["%s-%s" % case for case in CASES]
# printf-style (Python and JavaScript interpolate), including %(name)s, and str.format's {name}.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\w*\}")
# A JavaScript catalog message that has no place in Horizon's own catalogs.
KNOWN_JS_MESSAGE = "The capacity estimate could not be computed."


def read(path):
    with open(path, "rb") as handle:
        return read_po(handle)


def key(message):
    return (message.context, message.id)


def show(message):
    text = message.id if isinstance(message.id, str) else " | ".join(message.id)
    return ("[%s] " % message.context if message.context else "") + repr(text)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    if not (shutil.which("xgettext") and shutil.which("msgmerge")):
        pytest.fail("xgettext/msgmerge not found: install Debian's gettext (make system)")
    locale = tmp_path_factory.mktemp("locale")
    before = {path: path.read_bytes() for path in catalogs.catalogs()}
    catalogs.extract(locale)
    touched = [str(path.relative_to(ROOT)) for path, text in before.items()
               if path.read_bytes() != text]
    assert not touched, "the extraction into %s rewrote %s" % (locale, touched)
    return locale


def committed(lang, domain):
    path = catalogs.LOCALE / lang / "LC_MESSAGES" / ("%s.po" % domain)
    assert path.exists(), "%s is missing: run make messages" % path.relative_to(ROOT)
    return read(path)


def fresh(extracted, lang, domain):
    return read(extracted / lang / "LC_MESSAGES" / ("%s.po" % domain))


def report(what, lang, domain, messages):
    listed = "\n".join("  " + show(m) for m in messages[:200])
    more = "\n  ... and %d more" % (len(messages) - 200) if len(messages) > 200 else ""
    return "%d messages %s in evac_dashboard/locale/%s/LC_MESSAGES/%s.po:\n%s%s" % (
        len(messages), what, lang, domain, listed, more)


@pytest.mark.parametrize("lang,domain", CASES, ids=IDS)
def test_catalog_is_current(extracted, lang, domain):
    have = {key(m) for m in committed(lang, domain) if m.id}
    missing = [m for m in fresh(extracted, lang, domain) if m.id and key(m) not in have]
    assert not missing, report("in the code but missing (run make messages)", lang, domain,
                               missing)


@pytest.mark.parametrize("lang,domain", CASES, ids=IDS)
def test_catalog_is_translated(extracted, lang, domain):
    catalog = committed(lang, domain)
    wanted = {key(m) for m in fresh(extracted, lang, domain) if m.id}
    untranslated = [m for m in catalog if m.id and key(m) in wanted
                    and (not all(_forms(m)) or m.fuzzy)]
    assert not untranslated, report("untranslated or fuzzy", lang, domain, untranslated)


@pytest.mark.parametrize("lang,domain", CASES, ids=IDS)
def test_translations_keep_placeholders(lang, domain):
    wrong = []
    for message in committed(lang, domain):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        expected = _placeholders(ids[-1])
        for form in _forms(message):
            # One-form languages (Chinese, Vietnamese) say "%d" in the plural's words.
            if form and _placeholders(form) != expected and _placeholders(form) != _placeholders(
                    ids[0]):
                wrong.append(message)
                break
    assert not wrong, report("with placeholders differing from the msgid", lang, domain, wrong)


def _forms(message):
    return [message.string] if isinstance(message.string, str) else list(message.string)


def _placeholders(text):
    return collections.Counter(PLACEHOLDER.findall(text))


def test_placeholder_pattern():
    assert _placeholders("%(host)s is %s: {host} at %d%%") == collections.Counter(
        {"%(host)s": 1, "%s": 1, "{host}": 1, "%d": 1, "%%": 1})


def test_headers():
    for lang, domain in CASES:
        header = dict(committed(lang, domain).mime_headers)
        assert header["Language"] == lang
        assert header["Plural-Forms"] == "nplurals=1; plural=0;"
        assert "charset=utf-8" in header["Content-Type"].lower()


def test_js_catalog_serves_the_plugins_strings(tmp_path, monkeypatch):
    """Horizon's page loads /i18n/js/<JS_CATALOG>/; JS_CATALOG names the plugins of
    ADD_INSTALLED_APPS, and Django's catalog view reads each one's locale/ folder: a
    translation in the plugin's djangojs catalog reaches the browser. (The committed
    catalog, compiled with Babel as the wheel build does, with one message filled in.)"""
    catalog_name = get_js_catalog(settings)
    assert "evac_dashboard" in catalog_name.split("+")
    app = apps.get_app_config("evac_dashboard")
    assert pathlib.Path(app.path) / "locale" == catalogs.LOCALE

    po = committed("zh_Hans", "djangojs")
    assert po.get(KNOWN_JS_MESSAGE) is not None, "run make messages"
    po[KNOWN_JS_MESSAGE].string = "[zh_Hans] " + KNOWN_JS_MESSAGE
    target = tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "djangojs.mo", "wb") as handle:
        write_mo(handle, po)
    monkeypatch.setattr(app, "path", str(tmp_path))

    url = reverse("horizon:jsi18n", args=[catalog_name])
    assert url == "/i18n/js/horizon+openstack_dashboard+evac_dashboard/"
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode("utf-8")
    assert "[zh_Hans] " + KNOWN_JS_MESSAGE in body
    # Horizon's own catalog is still there alongside it.
    assert '"django"' in body or "django.catalog" in body


def test_rules_translate_through_the_installed_translator(monkeypatch):
    """The rules import no Django: the application gives them Django's gettext at start-up,
    and a marked table entry is translated where it is used, before its values go in."""
    from django.utils import translation

    from evac_dashboard.rules import errors, i18n

    assert i18n._translator is translation.gettext
    assert i18n._plural_translator is translation.ngettext  # plurals in the catalog's forms
    monkeypatch.setattr(i18n, "_translator", lambda text: "<<%s>>" % text)
    advice = errors.advise(400, "Compute service of cmp1 is still in use.")
    assert advice.title == "<<The failed host still looks up to Nova>>"
    assert advice.advice.startswith("<<Nova still sees nova-compute on cmp1 as up")
    assert "{host}" not in advice.advice


def test_a_target_hosts_problems_are_one_translated_sentence(monkeypatch):
    """'down and disabled (maintenance)': each word and the 'and' through the catalog,
    never English glued into a translated sentence."""
    from evac_dashboard.rules import checks, i18n
    from tests.unit import factories

    monkeypatch.setattr(i18n, "_translator", lambda text: "<<%s>>" % text)
    services = [factories.service("cmp1", state="down"),
                factories.service("cmp2", state="down", status="disabled",
                                  reason="maintenance")]
    joined = "<<<<down>> and <<disabled (maintenance)>>>>"
    [finding] = checks.check_target_host("cmp2", "cmp1", services)
    assert "<<The target host cmp2 is %s: " % joined in finding.message
    [finding] = checks.check_targets_available(services, "cmp1")
    assert "(<<cmp2 is %s>>)" % joined in finding.message


def test_novas_service_words_go_through_the_catalog(monkeypatch):
    """'down' / 'disabled' as Nova writes them were shown raw (English on a Chinese page)."""
    from evac_dashboard.templatetags import evac_words

    monkeypatch.setattr(evac_words, "gettext", lambda text: "<<%s>>" % text)
    assert [evac_words.service_word(w) for w in ("down", "up", "enabled", "disabled")] == [
        "<<Down>>", "<<Up>>", "<<Enabled>>", "<<Disabled>>"]
    assert evac_words.service_word("UNKNOWN") == "UNKNOWN"  # a cell Nova cannot reach
    for name in ("wizard/_host_help.html", "hosts/_fence_form.html", "hosts/_service_form.html",
                 "hosts/detail.html"):
        text = (ROOT / "templates" / "evac_dashboard" / name).read_text()
        assert "|capfirst" not in text.replace("disabled_reason|capfirst", ""), name
