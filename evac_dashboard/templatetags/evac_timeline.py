"""``{% recovery_timeline batch as timeline %}``: the chart context of a batch's recovery
timeline (``content.batches.timeline.chart_for``), for ``_timeline.html``.

A template tag because the progress page's view is not the timeline's: the include reaches
the data through ``batch``, which is in the page's context. The chart is a nicety of the
page: if it cannot be drawn the tag answers ``None`` (the template says so) and the page
stays up.
"""
import logging

from django import template

from evac_dashboard.content.batches import timeline

LOG = logging.getLogger(__name__)

register = template.Library()


@register.simple_tag
def recovery_timeline(batch):
    if batch is None or getattr(batch, "pk", None) is None:
        return None
    try:
        return timeline.chart_for(batch)
    except Exception:  # never a 500 for the chart
        LOG.exception("Recovery timeline of batch %s could not be drawn",
                      getattr(batch, "pk", "?"))
        return None
