"""The plugin's translation catalogs (evac_dashboard/locale/<lang>/LC_MESSAGES/*.po).

``extract`` (``make messages``): Django's makemessages for both domains (django: Python and
templates; djangojs: static/evac_dashboard/js) and every language in LANGUAGES, run from the
repository root so the top-level templates/ and static/ are scanned, then each catalog's
header is set: Language, Plural-Forms (Chinese and Vietnamese have one form:
``nplurals=1; plural=0;``), UTF-8, no fuzzy flag and no extraction date (an unchanged
catalog stays byte-identical). Needs xgettext/msgmerge (Debian's gettext). msgstr are left
as they are: translators fill them.

``compile`` (``make compilemessages``): every .po to .mo with Babel (no msgfmt needed).
"""
import argparse
import os
import pathlib
import re
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCALE = ROOT / "evac_dashboard" / "locale"
LANGUAGES = ("zh_Hans", "vi")
DOMAINS = ("django", "djangojs")
IGNORE = (".venv", ".localcloud", ".deploy", ".artifacts", ".run", "tests", "docs", "tools",
          "build", "dist", "*.egg-info", "static_collected", "evac_dashboard/localcloud",
          # Else makemessages, meeting this locale/ folder on its walk, sends the package's
          # strings there whatever LOCALE_PATHS says (and an extraction elsewhere would not
          # be one).
          "evac_dashboard/locale")
PLURAL_FORMS = {"zh_Hans": "nplurals=1; plural=0;", "vi": "nplurals=1; plural=0;"}
LANGUAGE_TEAM = {"zh_Hans": "Chinese (Simplified)", "vi": "Vietnamese"}


def catalogs(locale=LOCALE):
    return sorted(pathlib.Path(locale).glob("*/LC_MESSAGES/*.po"))


def extract(locale=LOCALE, python=sys.executable):
    """makemessages into ``locale`` (the committed catalogs unless told otherwise)."""
    os.makedirs(locale, exist_ok=True)
    env = dict(os.environ, EVAC_I18N_LOCALE_DIR=str(locale),
               DJANGO_SETTINGS_MODULE="evac_dashboard.devsite.i18n_settings",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = [python, "-m", "django", "makemessages", "--no-obsolete", "--add-location=file",
               "--no-wrap"]
    command += ["--locale=%s" % lang for lang in LANGUAGES]
    command += ["--ignore=%s" % pattern for pattern in IGNORE]
    for domain in DOMAINS:
        subprocess.run(command + ["--domain=%s" % domain], cwd=ROOT, env=env, check=True)
    for path in catalogs(locale):
        fix_header(path)


def fix_header(path):
    lang = path.parent.parent.name
    text = path.read_text(encoding="utf-8")
    head, sep, rest = text.partition('\n\n')
    head = re.sub(r"^#, fuzzy\n", "", head, flags=re.M)
    # The extraction time changes on every run; without it, an unchanged catalog stays unchanged.
    head = re.sub(r'^"POT-Creation-Date:.*"\n', "", head, flags=re.M)
    head = re.sub(r"^# SOME DESCRIPTIVE TITLE\.\n", "# evac-dashboard translations.\n", head, flags=re.M)
    fields = {
        "Project-Id-Version": "evac-dashboard",
        "Language-Team": LANGUAGE_TEAM.get(lang, lang),
        "Language": lang,
        "Content-Type": "text/plain; charset=UTF-8",
        "Plural-Forms": PLURAL_FORMS.get(lang, "nplurals=2; plural=(n != 1);"),
    }
    # Filled once (a later run keeps what is there), so msgfmt --check has nothing to say.
    for name, value in (("Last-Translator", "evac-dashboard developers"),
                        ("PO-Revision-Date", time.strftime("%Y-%m-%d %H:%M+0000", time.gmtime()))):
        if re.search(r'^"%s: (FULL NAME|YEAR-MO-DA)' % name, head, flags=re.M):
            fields[name] = value
    for name, value in fields.items():
        line = '"%s: %s\\n"' % (name, value)
        head, count = re.subn(r'^"%s:.*"$' % re.escape(name), lambda _m: line, head, flags=re.M)
        if not count:
            head += "\n" + line
    # A new catalog starts from xgettext's two plural forms: keep only the language's own
    # (empty ones only: a translated form is never dropped).
    plurals = int(re.search(r"nplurals=(\d+)", fields["Plural-Forms"]).group(1))
    rest = re.sub(r'^msgstr\[(\d+)\] ""\n',
                  lambda m: "" if int(m.group(1)) >= plurals else m.group(0), rest, flags=re.M)
    path.write_text(head + sep + rest, encoding="utf-8")


def drop_untranslated(catalog):
    """Leave out messages with an empty form: Babel would fill an untranslated plural with the
    English singular ("3 second" in a one-form language) instead of falling back to the
    English singular and plural."""
    for message in list(catalog)[1:]:
        forms = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if not all(forms):
            catalog.delete(message.id, message.context)


def compile_catalog(path, target=None):
    """``path`` (a .po) compiled with Babel to ``target`` (default: the .mo beside it); the
    wheel build (setup.py) calls this too."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        catalog = read_po(handle, locale=path.parent.parent.name)
    drop_untranslated(catalog)
    target = pathlib.Path(target) if target else path.with_suffix(".mo")
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("extract", "compile"))
    args = parser.parse_args(argv)
    if args.action == "extract":
        extract()
    for path in catalogs():
        if args.action == "compile":
            compile_catalog(path)
        print("%s %s: %d messages" % ("compiled" if args.action == "compile" else "extracted",
                                      path.relative_to(ROOT), count(path)))
    return 0


def count(path):
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        return len(read_po(handle))


if __name__ == "__main__":
    sys.exit(main())
