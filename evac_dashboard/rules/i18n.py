"""Translation markers for the rules, which may not import Django.

``gettext_noop("...")`` marks a string for extraction (``make messages``) and returns it
unchanged: for tables built at import time (the error advice, labels). ``gettext("...")``
(imported as ``_``) marks a string *and* translates it when called, through the translator
the application installs at start-up (``evac_dashboard.apps``: Django's ``gettext``, so the
request's language). Without one (plain Python, the local cloud) both return the English text.
Rules translate a marked table entry where they use it: ``_(RULE.title)``.
"""

_translator = None
_plural_translator = None


def set_translator(function, plural=None):
    """Install ``function(message) -> str`` (Django's gettext) and ``plural(singular,
    plural, n) -> str`` (Django's ngettext), or None for English."""
    global _translator, _plural_translator
    _translator = function
    _plural_translator = plural


def gettext_noop(message):
    return message


def gettext(message):
    return message if _translator is None or not message else _translator(message)


def ngettext(singular, plural, number):
    """The form for ``number`` in the request's language (English: one and other)."""
    if _plural_translator is None:
        return singular if number == 1 else plural
    return _plural_translator(singular, plural, number)
