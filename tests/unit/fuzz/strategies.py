"""Hostile values: host names, ids, numbers, dates, free text, signed lists, whole forms.

Everything here is a hypothesis strategy of *strings* (what a browser or a script can
send) or of ``[(name, value)]`` pairs (a form or a query string, where a name may repeat or
be missing). Strings never hold lone surrogates: they could not be sent as UTF-8 at all.
"""
import string

from hypothesis import strategies as st

# Each a known way to break a web application, or a name that is almost a real one.
SNIPPETS = (
    "", " ", "cmp1", "cmp1 ", " cmp1", "CMP1", "cmp10", "cmp1/", "cmp1\x00", "cmp1%00",
    "ｃｍｐ１", "cmp\u200b1", "\u202ecmp1", "cmp1\u202e", "\ufeffcmp1", "cmp1\r\n",
    "cmp1\r\nSet-Cookie: pwned=1", "../", "../../etc/passwd", "..%2F..%2Fetc", "..\\..\\",
    "%2e%2e%2f", "%00", "\x00", "\x7f", "\x1b[31m", "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>', "javascript:alert(1)", "' OR '1'='1", "'; --",
    '"; DROP TABLE evac_dashboard_auditrecord; --', "1; SELECT sqlite_version()",
    "{{ request.user }}", "{% debug %}", "{{", "}}", "%s%s%s%n", "%(password)s", "${jndi:x}",
    "$(reboot)", "`id`", "\\", "//evil.example/", "http://evil.example/", "@evil",
    "=cmd|' /C calc'!A0", "+1", "-1", "@SUM(1)", "\t=1", "null", "None", "undefined", "NaN",
    "true", "[]", "{}", '{"a": 1}', "ǅǈ", "İı", "ß", "ﬃ", "😀", "👨\u200d👩\u200d👧",
    "\u0301", "עברית", "العربية", "中文", "\U0001f4a9" * 3, "a" * 255, "a" * 256,
)
NUMBERS = ("0", "-0", "1", "-1", "2", "64", "65", "999999999999999999999999999999",
           str(10 ** 30), str(-10 ** 30), str(2 ** 63 - 1), str(2 ** 63), str(2 ** 64),
           str(-2 ** 63 - 1), "1e309", "1e3", "1.5", "-1.5", "0x10", "0o7", "1_000", "+5",
           " 5 ", "5\x00", "１２", "١٢٣", "²", "NaN", "inf", "-inf", "", "  ")
DATES = ("9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "9999-12-31",
         "0001-01-01", "2026-11-23", "2026-11-23 10:00", "2026-11-23T10:00:00Z",
         "2026-11-23T10:00:00.123456+05:30", "2026-13-01", "2026-02-30", "0000-00-00",
         "2026-11-23T25:61", "2026-11-23T10:00:00+99:00", "2026-11-23T10:00:00+23:59",
         "-2026-01-01", "now", "yesterday", "1700000000", "２０２６-11-23", "2026-11-23\x00",
         "2026-W48", "2026-327", "20261123", "2026-11-23T", "T10:00", "")

printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
ascii_text = st.text(alphabet=string.printable, max_size=40)


def huge_text():
    return st.sampled_from((1000, 5000, 70000)).map(lambda n: "x" * n)


def hostile_text():
    """Free text an attacker or a broken script sends."""
    return st.one_of(
        st.sampled_from(SNIPPETS), printable, ascii_text,
        st.lists(st.sampled_from(SNIPPETS), min_size=2, max_size=4).map("".join),
        huge_text(), st.sampled_from(NUMBERS), st.sampled_from(DATES))


def hostile_host():
    return hostile_text()


def number():
    return st.one_of(st.sampled_from(NUMBERS), st.integers(-10 ** 30, 10 ** 30).map(str),
                     st.floats(allow_nan=True, allow_infinity=True).map(repr))


def ident():
    """An instance, batch or item id: real-looking or not."""
    return st.one_of(st.uuids().map(str), st.uuids().map(lambda u: u.hex),
                     st.uuids().map(lambda u: "{%s}" % u), st.uuids().map(lambda u: u.urn),
                     st.uuids().map(lambda u: str(u).upper()), number(), hostile_text())


def date():
    return st.one_of(st.sampled_from(DATES), st.datetimes().map(lambda d: d.isoformat()),
                     hostile_text())


def boolean_field():
    return st.sampled_from(("on", "off", "true", "false", "1", "0", "", "yes", "no", "ON",
                            "\x00", "<b>on</b>"))


def choice(*values):
    """One of the field's real choices, or anything."""
    return st.one_of(st.sampled_from(values), hostile_text())


def password():
    """A distinctive password (so an echo is certain to be ours), sometimes hostile."""
    core = st.text(alphabet="0123456789abcdef", min_size=12, max_size=12).map(
        lambda h: "PwFz" + h)
    return st.tuples(core, st.sampled_from(("", "<>&\"'", " ", "%s", "{{x}}", "é😀"))).map(
        "".join)


def duplicates(values):
    """A field sent once, missing, or repeated."""
    return st.one_of(values.map(lambda v: [v]), st.just([]),
                     st.lists(values, min_size=2, max_size=3))


@st.composite
def form(draw, fields, extra=True):
    """``[(name, value)]``: each field of ``fields`` ({name: strategy}) sent once, missing or
    repeated (fields whose name ends with "?" are sent rarely), plus unknown fields."""
    pairs = []
    for name, values in fields.items():
        optional = name.endswith("?")
        name = name.rstrip("?")
        if optional and not draw(st.integers(0, 4)) == 0:
            continue
        for value in draw(st.one_of(values.map(lambda v: [v]), duplicates(values))
                          if draw(st.integers(0, 3)) == 0 else values.map(lambda v: [v])):
            pairs.append((name, value))
    if extra and draw(st.integers(0, 3)) == 0:
        pairs += draw(st.lists(st.tuples(st.one_of(st.sampled_from(
            ("csrfmiddlewaretoken", "action", "next", "step", "workflow", "item", "password",
             "host", "__proto__", "pk", "id")), hostile_text()), hostile_text()), max_size=3))
    return draw(st.permutations(pairs)) if len(pairs) < 8 else pairs
