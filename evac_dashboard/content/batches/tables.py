"""Tables of evacuation batches and of one batch's items."""
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from horizon import tables


def batch_link(batch):
    return reverse("horizon:admin:evac_batches:detail", args=[batch.pk])


def requested_target(item):
    return item.requested_target or _("scheduler")


def submission(item):
    label = item.get_submit_state_display()
    if item.attempt > 1:
        label = "%s (%s)" % (label, _("attempt %d") % item.attempt)
    return label


def problem(item):
    if not item.error_message:
        return "-"
    return format_html('<span class="evac-state-down">{}</span> <span class="evac-reason">{}'
                       '</span>', item.advice_code or _("error"), item.error_message)


class BatchesTable(tables.DataTable):
    created = tables.Column("created_at", verbose_name=_("Started"), link=batch_link,
                            filters=(lambda d: d.strftime("%Y-%m-%d %H:%M:%S"),))
    source = tables.Column("source_host", verbose_name=_("Failed host"))
    kind = tables.Column("get_kind_display", verbose_name=_("What"))
    user = tables.Column("user_name", verbose_name=_("By"))
    items = tables.Column("item_count", verbose_name=_("Instances"))
    state = tables.Column("get_state_display", verbose_name=_("Submission"))

    class Meta:
        name = "batches"
        verbose_name = _("Evacuations")
        multi_select = False

    def get_object_id(self, datum):
        return str(datum.pk)


class ItemsTable(tables.DataTable):
    position = tables.Column("position", verbose_name=_("#"))
    name = tables.Column("instance_name", verbose_name=_("Instance"))
    target = tables.Column(requested_target, verbose_name=_("Requested target"))
    priority = tables.Column("priority", verbose_name=_("Priority"))
    state = tables.Column(submission, verbose_name=_("Submission"))
    request_id = tables.Column("request_id", verbose_name=_("Nova request"), empty_value="-")
    problem = tables.Column(problem, verbose_name=_("Problem"))

    class Meta:
        name = "items"
        verbose_name = _("Instances")
        multi_select = False

    def get_object_id(self, datum):
        return str(datum.pk)
