"""Nova's refusals shown as advice in forms and messages (one table: evacuation.errors)."""
from django.utils.html import format_html

from evac_dashboard.api import actions


def explain(exception):
    """HTML: what happened, what to do, and Nova's own words."""
    advice = actions.advice_for(exception)
    if advice.nova_message:
        return format_html("<strong>{}</strong>. {} <br><small>Nova said: {}</small>",
                           advice.title, advice.advice, advice.nova_message)
    return format_html("<strong>{}</strong>. {}", advice.title, advice.advice)
