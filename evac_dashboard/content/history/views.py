"""History: every action of the panel and every evacuation Nova knows of, newest first.

The list first copies in, at most every EVAC_AUDIT_SYNC_SECONDS, the evacuations Nova has
that the panel did not make (``audit.sync_external``), then shows one page of records and
reads the instance action (user, request id) of the external ones on that page that were
never read. Nothing here edits or deletes a record.
"""
from urllib import parse

from django.http import Http404
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

from evac_dashboard.store import audit
from evac_dashboard import models
from evac_dashboard.content.history import export
from evac_dashboard.content.history import tables as history_tables
from evac_dashboard.rules import external


def filter_from_query(request):
    """The criteria of the query string; a malformed time is reported and dropped."""
    try:
        return audit.HistoryFilter.from_params(request.GET)
    except ValueError as error:
        messages.error(request, str(error))
        params = request.GET.copy()
        for name in ("since", "until"):
            try:
                audit.HistoryFilter.from_params({name: params.get(name)})
            except ValueError:
                params.pop(name, None)
        return audit.HistoryFilter.from_params(params)


class IndexView(table_views.PagedTableMixin, tables.DataTableView):
    table_class = history_tables.HistoryTable
    template_name = "evac_dashboard/history/index.html"
    page_title = _("Evacuation History")

    def history_filter(self):
        """Query-string criteria, with the filter box's one criterion on top."""
        if not hasattr(self, "_filter"):
            base = filter_from_query(self.request)
            self._query_filter = base
            table = self.get_table()
            field = table.get_filter_field()
            value = (table.get_filter_string() or "").strip()
            if field in audit.HistoryFilter.PARAMS and value and field not in ("since",
                                                                               "until"):
                base = base.replace(**{field: value})
            self._filter = base
        return self._filter

    def get_data(self):
        history_filter = self.history_filter()
        table = self.get_table()
        table.filter_params = self._query_filter.to_params()
        table.export_url = "%s?%s" % (reverse("horizon:admin:evac_history:export"),
                                      parse.urlencode(history_filter.to_params()))
        self.sync_problem = None
        try:
            self.sync_result = audit.sync_external(self.request)
        except Exception as error:
            self.sync_result = None
            self.sync_problem = str(error) or type(error).__name__
            messages.warning(self.request, _(
                "Evacuations made outside this dashboard could not be read from Nova (%s). "
                "The history shows what was recorded until now.") % self.sync_problem)
        marker, direction = self._get_marker()
        records, has_prev, has_more = audit.page(
            history_filter, marker=marker if direction == "desc" else None,
            prev_marker=marker if direction == "asc" else None,
            size=utils.get_page_size(self.request))
        self._has_prev_data, self._has_more_data = has_prev, has_more
        return audit.complete_for_display(self.request, records)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        history_filter = self.history_filter()
        context["criteria"] = history_filter.describe()
        context["query_filter"] = self._query_filter
        context["since"] = self.request.GET.get("since", "")
        context["until"] = self.request.GET.get("until", "")
        context["kept_params"] = [(name, value) for name, value
                                  in self._query_filter.to_params().items()
                                  if name not in ("since", "until")]
        context["export_url"] = getattr(self.table, "export_url", "")
        context["retention_days"] = audit.retention_days()
        context["sync_problem"] = getattr(self, "sync_problem", None)
        return context


class DetailView(horizon_views.HorizonTemplateView):
    template_name = "evac_dashboard/history/detail.html"
    page_title = _("History record")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            record = models.AuditRecord.objects.get(pk=self.kwargs["record_id"])
        except models.AuditRecord.DoesNotExist:
            raise Http404("No such history record")
        context["record"] = record
        context["page_title"] = "%s: %s" % (record.get_action_display(),
                                            record.source_host or "-")
        context["outcome_html"] = history_tables.outcome(record)
        context["origin_html"] = history_tables.origin(record)
        context["target"] = history_tables.target(record)
        context["options"] = sorted((key, value) for key, value in (record.options or {}).items()
                                    if key != "password_set")
        migrations = audit.nova_evacuations_for(record)
        by_instance = {}
        for row in migrations:
            by_instance.setdefault(row.instance_id, []).append(row)
        context["instances"] = [
            dict(entry, migrations=by_instance.get(entry.get("id"), []))
            for entry in record.instances or ()]
        context["migrations"] = migrations
        context["nova_result"] = external.describe_summary(record.nova_summary or {})
        context["batch_exists"] = bool(record.batch_id) and models.EvacuationBatch.objects.filter(
            pk=record.batch_id).exists()
        if context["batch_exists"]:
            context["batch_url"] = reverse("horizon:admin:evac_batches:detail",
                                           args=[record.batch_id])
        context["related"] = list(models.AuditRecord.objects.filter(
            batch_id=record.batch_id).exclude(pk=record.pk).order_by("created_at")
        ) if record.batch_id else []
        context["index_url"] = reverse("horizon:admin:evac_history:index")
        return context


class ExportView(generic.View):
    """The filtered set (every page) as CSV. The query string carries the criteria."""

    def get(self, request, *args, **kwargs):
        history_filter = filter_from_query(request)
        records = audit.query(history_filter).iterator(chunk_size=500)
        response = StreamingHttpResponse(export.rows(records),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            'attachment; filename="evacuation-history-%s.csv"'
            % timezone.now().strftime("%Y%m%d-%H%M%S"))
        return response
