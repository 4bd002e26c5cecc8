"""The history table: one row per audit record, newest first, paged on the server."""
from urllib import parse

from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from horizon import tables

from evac_dashboard.models import AuditRecord as Record
from evac_dashboard.rules import external

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# Outcome -> (css kind, icon). Text always comes with it: colour is only a second cue.
OUTCOME_LOOK = {
    Record.PENDING: ("pending", "clock-o"),
    Record.SUCCEEDED: ("up", "check"),
    Record.ACCEPTED: ("up", "paper-plane"),
    Record.PARTIAL: ("down", "exclamation-triangle"),
    Record.FAILED: ("down", "times"),
    Record.INTERRUPTED: ("down", "pause"),
    Record.CANCELLED: ("pending", "ban"),
    Record.IN_PROGRESS: ("pending", "spinner"),
}


def detail_url(record):
    return reverse("horizon:admin:evac_history:detail", args=[record.pk])


def when(record):
    return record.created_at.strftime(TIME_FORMAT) + " UTC"


def origin(record):
    if record.is_external:
        return format_html('<span class="evac-origin evac-origin-external text-nowrap" '
                           'title="{}"><span class="fa fa-terminal" aria-hidden="true"></span> '
                           '{}</span>',
                           _("Made outside this dashboard (CLI, Masakari, scripts); read "
                             "from Nova"), _("External"))
    return format_html('<span class="evac-origin evac-origin-panel text-nowrap">'
                       '<span class="fa fa-desktop" aria-hidden="true"></span> {}</span>',
                       _("Dashboard"))


def target(record):
    if record.target_host:
        return record.target_host
    if not record.is_external and record.action in (Record.EVACUATE, Record.HOST_EVACUATE,
                                                    Record.RETRY, Record.RESUME,
                                                    Record.TAKEOVER):
        return _("scheduler")
    return "-"


def instances(record):
    listed = record.instances or []
    if not listed:
        return "-"
    names = [entry.get("name") or entry.get("id", "")[:8] for entry in listed[:2]]
    text = ", ".join(names)
    if len(listed) > 2:
        text += _(" and %d more") % (len(listed) - 2)
    if len(listed) > 1:
        text = "%d: %s" % (len(listed), text)
    return format_html('<span title="{}">{}</span>',
                       " ".join(entry.get("id", "") for entry in listed[:20]), text)


def user(record):
    name = record.user_name or record.user_id or _("unknown")
    if record.project_name or record.project_id:
        return format_html('{} <span class="evac-reason">({})</span>', name,
                           record.project_name or record.project_id)
    return name


def outcome(record):
    kind, icon = OUTCOME_LOOK.get(record.outcome, ("pending", "question"))
    label = record.get_outcome_display()
    nova = external.describe_summary(record.nova_summary or {})
    if nova and not record.is_external:
        return format_html('<span class="evac-state evac-state-{}"><span class="fa fa-{}" '
                           'aria-hidden="true"></span> {}</span><span class="evac-reason">'
                           ' ({}: {})</span>', kind, icon, label, _("Nova"), nova)
    return format_html('<span class="evac-state evac-state-{}"><span class="fa fa-{}" '
                       'aria-hidden="true"></span> {}</span>', kind, icon, label)


def request_ids(record):
    ids = record.request_ids or []
    if not ids:
        return "-"
    if len(ids) == 1:
        return ids[0]
    return _("%(first)s (+%(more)d)") % {"first": ids[0], "more": len(ids) - 1}


class HistoryFilterAction(tables.FilterAction):
    """Server-side filter: one criterion from the box, combined with the time range and any
    criteria in the page's query string (see ``views.IndexView.history_filter``)."""

    name = "filter"
    filter_type = "server"
    filter_choices = (
        ("host", _("Host ="), True, _("Source or target host, exact name")),
        ("user", _("User"), True, _("User name (part of it) or user ID")),
        ("action", _("Action"), True,
         _("e.g. evacuate, force down, disable, enable, retry, cancel, resume")),
        ("outcome", _("Outcome"), True,
         _("e.g. failed, succeeded, sent, refused, interrupted, pending")),
        ("origin", _("Origin"), True, _("dashboard or external")),
    )


class ExportCSV(tables.LinkAction):
    name = "export"
    verbose_name = _("Export CSV")
    icon = "download"

    def get_link_url(self, datum=None):
        return getattr(self.table, "export_url", None) or reverse(
            "horizon:admin:evac_history:export")


class HistoryTable(tables.DataTable):
    created = tables.Column(when, verbose_name=_("When (UTC)"), link=detail_url,
                            classes=("text-nowrap",))
    action = tables.Column("get_action_display", verbose_name=_("Action"))
    origin = tables.Column(origin, verbose_name=_("Origin"))
    source = tables.Column("source_host", verbose_name=_("Host"), empty_value="-")
    target = tables.Column(target, verbose_name=_("Target"))
    instances = tables.Column(instances, verbose_name=_("Instances"))
    user = tables.Column(user, verbose_name=_("User (project)"))
    outcome = tables.Column(outcome, verbose_name=_("Outcome"))
    request_ids = tables.Column(request_ids, verbose_name=_("Nova request"))

    class Meta:
        name = "history"
        verbose_name = _("Evacuation History")
        multi_select = False
        table_actions = (HistoryFilterAction, ExportCSV)
        pagination_param = "marker"
        prev_pagination_param = "prev_marker"

    def get_object_id(self, datum):
        return str(datum.pk)

    # Paging links and the filter's redirect keep the query-string criteria (time range...).
    def _query(self, **extra):
        params = dict(getattr(self, "filter_params", {}) or {})
        params.update(extra)
        return parse.urlencode(params)

    def get_pagination_string(self):
        return self._query(**{self._meta.pagination_param: self.get_marker()})

    def get_prev_pagination_string(self):
        return self._query(**{self._meta.prev_pagination_param: self.get_prev_marker()})

    def get_absolute_url(self):
        path = self.request.get_full_path().partition("?")[0]
        query = self._query()
        return path + ("?" + query if query else "")
