"""A refusal of a service action shown as advice in forms and messages."""
from django.utils.html import format_html
from django.utils.translation import gettext as _


def explain(refusal):
    """HTML: what happened, what to do, and Nova's own words when Nova said something."""
    if refusal.nova_message:
        return format_html("<strong>{}</strong>. {} <br><small>{} {}</small>",
                           refusal.title, refusal.advice, _("Nova said:"),
                           refusal.nova_message)
    return format_html("<strong>{}</strong>. {}", refusal.title, refusal.advice)
