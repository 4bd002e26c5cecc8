"""Evacuations: the list of batches, and one batch with its items."""
from django.db.models import Count
from django.http import Http404
from django.utils.translation import gettext_lazy as _

from horizon import tables

from evac_dashboard import models
from evac_dashboard.content.batches import tables as batch_tables
from evac_dashboard.evacuation import batches
from evac_dashboard.evacuation import submission

RECENT = 200


class IndexView(tables.DataTableView):
    table_class = batch_tables.BatchesTable
    template_name = "evac_dashboard/batches/index.html"
    page_title = _("Evacuations")

    def get_data(self):
        return list(models.EvacuationBatch.objects.annotate(item_count=Count("items"))
                    .order_by("-created_at")[:RECENT])


class DetailView(tables.DataTableView):
    table_class = batch_tables.ItemsTable
    template_name = "evac_dashboard/batches/detail.html"
    page_title = _("Evacuation of {{ batch.source_host }}")

    def _batch(self):
        if not hasattr(self, "_batch_row"):
            try:
                self._batch_row = models.EvacuationBatch.objects.get(pk=self.kwargs["batch_id"])
            except models.EvacuationBatch.DoesNotExist:
                raise Http404("No such evacuation")
        return self._batch_row

    def get_data(self):
        return list(self._batch().items.order_by("position"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self._batch()
        context["batch"] = batch
        context["counts"] = batches.item_counts(batch.pk)
        # Below 2.14 Nova answers with the admin password: shown here once, never stored.
        context["passwords"] = [
            (item.instance_name, password) for item in context["table"].data
            for password in [submission.returned_passwords.take(batch.pk, item.instance_id)]
            if password]
        return context
