"""Nova's service words (``up``, ``down``, ``enabled``, ``disabled``) in the page's language.

The tables translate them through their own labels; these templates showed Nova's raw value,
which stayed English on a Chinese or Vietnamese page."""
from django import template
from django.utils.translation import gettext
from django.utils.translation import gettext_noop

register = template.Library()

WORDS = {"up": gettext_noop("Up"), "down": gettext_noop("Down"),
         "enabled": gettext_noop("Enabled"), "disabled": gettext_noop("Disabled")}


@register.filter
def service_word(value):
    """``down`` -> "Down" translated; anything else (a cell's UNKNOWN) as Nova wrote it."""
    word = WORDS.get(str(value or "").lower())
    return gettext(word) if word else value
