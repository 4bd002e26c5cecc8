"""The table of evacuation batches (active and recent)."""
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from horizon import tables

from evac_dashboard.models import EvacuationBatch as Batch

_STATE_ICONS = {
    Batch.PENDING: "clock",
    Batch.SUBMITTING: "paper-plane",
    Batch.FINISHED: "flag-checkered",
    Batch.INTERRUPTED: "pause-circle",
    Batch.CANCELLED: "ban",
}


def batch_link(batch):
    return reverse("horizon:admin:evac_batches:detail", args=[batch.pk])


def submission_state(batch):
    """Icon and text: readable without colour."""
    return format_html('<span class="evac-bstate evac-bstate-{}"><span class="fa fa-{}" '
                       'aria-hidden="true"></span> {}</span>', batch.state,
                       _STATE_ICONS.get(batch.state, "question"), batch.get_state_display())


def sent_summary(batch):
    text = _("%(sent)d sent, %(refused)d refused, %(waiting)d waiting, %(cancelled)d "
             "cancelled") % {"sent": batch.sent_count, "refused": batch.refused_count,
                             "waiting": batch.waiting_count,
                             "cancelled": batch.cancelled_count}
    lost = getattr(batch, "lost_count", 0)
    if lost:  # sent, answer lost: not refused, not yet known to be accepted
        text += _(", %d answer lost (checking Nova)") % lost
    return text


class BatchesTable(tables.DataTable):
    created = tables.Column("created_at", verbose_name=_("Started (UTC)"), link=batch_link,
                            filters=(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"),))
    source = tables.Column("source_host", verbose_name=_("Failed host"))
    kind = tables.Column("get_kind_display", verbose_name=_("What"))
    user = tables.Column("user_name", verbose_name=_("By"))
    items = tables.Column("item_count", verbose_name=_("Instances"))
    state = tables.Column(submission_state, verbose_name=_("Submission"))
    sent = tables.Column(sent_summary, verbose_name=_("Requests"))
    watch = tables.Column(lambda b: _("Watch progress"), verbose_name=_("Progress"),
                          link=batch_link)

    class Meta:
        name = "batches"
        verbose_name = _("Evacuations")
        multi_select = False

    def get_object_id(self, datum):
        return str(datum.pk)
