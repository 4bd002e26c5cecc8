"""Compile evac_dashboard/locale/*/LC_MESSAGES/*.po to .mo with Babel (no msgfmt needed).

``--headers-only`` instead sets each catalog's header after ``make messages``: Language,
Plural-Forms (Chinese and Vietnamese have one form: ``nplurals=1; plural=0;``), UTF-8, and
drops the fuzzy flag makemessages leaves on a new catalog's header. Messages are untouched.
"""
import argparse
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCALE = ROOT / "evac_dashboard" / "locale"
PLURAL_FORMS = {"zh_Hans": "nplurals=1; plural=0;", "vi": "nplurals=1; plural=0;"}
LANGUAGE_TEAM = {"zh_Hans": "Chinese (Simplified)", "vi": "Vietnamese"}


def catalogs():
    return sorted(LOCALE.glob("*/LC_MESSAGES/*.po"))


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
    for name, value in fields.items():
        line = '"%s: %s\\n"' % (name, value)
        head, count = re.subn(r'^"%s:.*"$' % re.escape(name), lambda _m: line, head, flags=re.M)
        if not count:
            head += "\n" + line
    path.write_text(head + sep + rest, encoding="utf-8")


def compile_catalog(path):
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(path, "rb") as handle:
        catalog = read_po(handle, locale=path.parent.parent.name)
    with open(path.with_suffix(".mo"), "wb") as handle:
        write_mo(handle, catalog, use_fuzzy=False)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--headers-only", action="store_true")
    args = parser.parse_args(argv)
    for path in catalogs():
        if args.headers_only:
            fix_header(path)
        else:
            compile_catalog(path)
        print("%s %s" % ("header" if args.headers_only else "compiled", path.relative_to(ROOT)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
