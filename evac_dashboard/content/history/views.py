"""History: every action of the panel and every evacuation Nova knows of, newest first.

The list first copies in, at most every EVAC_AUDIT_SYNC_SECONDS, the evacuations Nova has
that the panel did not make, then shows one page of records and reads the instance action
(user, request id) of the external ones on that page that were never read
(``operations.history.page``). Nothing here edits or deletes a record.

A time the operator typed that cannot be used is said by the time-range form (and the list
shows the other criteria); the CSV export answers 400 with the reason instead of exporting
something other than what was asked.
"""
from urllib import parse

from django.http import Http404
from django.http import HttpResponseBadRequest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import generic

from horizon import messages
from horizon import tables
from horizon.tables import views as table_views
from horizon.utils import functions as utils
from horizon import views as horizon_views

from evac_dashboard.content import table_actions
from evac_dashboard.content.history import export
from evac_dashboard.content.history import options as history_options
from evac_dashboard.content.history import tables as history_tables
from evac_dashboard.operations import history
from evac_dashboard.rules import external
from evac_dashboard.rules.history_filter import HistoryFilter, TimeError, TIME_PARAMS

# No host or user name in a record is longer (Nova's and the records' columns): a longer
# criterion is refused with a message, not sent to the database (SQLite fails on a LIKE
# pattern over 50,000 bytes).
LONGEST_CRITERION = 255
TEXT_PARAMS = tuple(name for name in HistoryFilter.PARAMS if name not in TIME_PARAMS)


def overlong(history_filter):
    """``(filter without them, [(param, message)])`` for the text criteria that are
    longer than any value they could match."""
    problems, dropped = [], {}
    for name in TEXT_PARAMS:
        value = getattr(history_filter, name)
        if len(value) > LONGEST_CRITERION:
            dropped[name] = ""
            problems.append((name, _(
                "The %(name)s criterion is %(length)d characters long; at most %(limit)d "
                "are allowed. The list is not limited by it.")
                % {"name": name, "length": len(value), "limit": LONGEST_CRITERION}))
    return (history_filter.replace(**dropped) if dropped else history_filter), problems


class IndexView(table_actions.GuardedTableMixin, table_views.PagedTableMixin,
                tables.DataTableView):
    table_class = history_tables.HistoryTable
    template_name = "evac_dashboard/history/index.html"
    page_title = _("Evacuation History")

    def history_filter(self):
        """Query-string criteria, with the filter box's one criterion on top."""
        if not hasattr(self, "_filter"):
            base, self._range_errors = HistoryFilter.lenient(self.request.GET)
            self._query_filter = base
            table = self.get_table()
            field = table.get_filter_field()
            value = (table.get_filter_string() or "").strip()
            if field in HistoryFilter.PARAMS and value and field not in TIME_PARAMS:
                base = base.replace(**{field: value})
            self._query_filter, _dropped = overlong(self._query_filter)
            self._filter, problems = overlong(base)
            for _name, message in problems:
                messages.error(self.request, message)
        return self._filter

    def get_data(self):
        history_filter = self.history_filter()
        table = self.get_table()
        table.filter_params = self._query_filter.to_params()
        table.export_url = "%s?%s" % (reverse("horizon:admin:evac_history:export"),
                                      parse.urlencode(history_filter.to_params()))
        marker, direction = self._get_marker()
        shown = history.page(self.request, history_filter,
                             marker=marker if direction == "desc" else None,
                             prev_marker=marker if direction == "asc" else None,
                             size=utils.get_page_size(self.request))
        self.sync_problem = shown.sync_problem or None
        if self.sync_problem:
            messages.warning(self.request, _(
                "Evacuations made outside this dashboard could not be read from Nova (%s). "
                "The history shows what was recorded until now.") % self.sync_problem)
        self._has_prev_data, self._has_more_data = shown.has_prev, shown.has_more
        return shown.records

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        history_filter = self.history_filter()
        context["criteria"] = history_filter.describe()
        context["query_filter"] = self._query_filter
        context["since"] = self.request.GET.get("since", "")
        context["until"] = self.request.GET.get("until", "")
        context["kept_params"] = [(name, value) for name, value
                                  in self._query_filter.to_params().items()
                                  if name not in TIME_PARAMS]
        context["range_errors"] = self._range_errors
        context["since_error"] = dict(self._range_errors).get("since", "")
        context["until_error"] = dict(self._range_errors).get("until", "")
        context["export_url"] = getattr(self.table, "export_url", "")
        context["retention_days"] = history.retention_days()
        context["sync_problem"] = getattr(self, "sync_problem", None)
        return context


class DetailView(horizon_views.HorizonTemplateView):
    template_name = "evac_dashboard/history/detail.html"
    page_title = _("History record")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        found = history.detail(self.kwargs["record_id"])
        if found is None:
            raise Http404("No such history record")
        record = found.record
        context["record"] = record
        context["page_title"] = "%s: %s" % (record.get_action_display(),
                                            record.source_host or "-")
        context["outcome_html"] = history_tables.outcome(record)
        context["origin_html"] = history_tables.origin(record)
        context["target"] = history_tables.target(record)
        context["options"] = history_options.described(found.options)
        by_instance = {}
        for row in found.migrations:
            by_instance.setdefault(row.instance_id, []).append(row)
        context["instances"] = [
            dict(entry, migrations=by_instance.get(entry.get("id"), []))
            for entry in record.instances or ()]
        context["migrations"] = found.migrations
        context["nova_result"] = external.describe_summary(record.nova_summary or {})
        context["batch_exists"] = found.batch_exists
        if found.batch_exists:
            context["batch_url"] = reverse("horizon:admin:evac_batches:detail",
                                           args=[record.batch_id])
        context["related"] = found.related
        context["index_url"] = reverse("horizon:admin:evac_history:index")
        return context


class ExportView(generic.View):
    """The filtered set (every page) as CSV. The query string carries the criteria."""

    def get(self, request, *args, **kwargs):
        try:
            history_filter = HistoryFilter.from_params(request.GET)
        except TimeError as error:
            return HttpResponseBadRequest("%s: %s\n" % (error.param, error),
                                          content_type="text/plain; charset=utf-8")
        _kept, problems = overlong(history_filter)
        if problems:
            return HttpResponseBadRequest("".join("%s: %s\n" % problem for problem in problems),
                                          content_type="text/plain; charset=utf-8")
        response = StreamingHttpResponse(export.rows(history.export(history_filter)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            'attachment; filename="evacuation-history-%s.csv"'
            % timezone.now().strftime("%Y%m%d-%H%M%S"))
        return response
