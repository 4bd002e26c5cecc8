"""Evacuations: the list of batches, one batch's live progress page, its JSON endpoint and
its actions (retry failed items, cancel waiting ones, resume an interrupted submission).

Every view here sits behind the panel's permissions (admin role, compute service, the
evacuate policy), like the rest of the panel. The JSON views never answer with an error
page: bad input and refused actions come back as ``{"error": "...", "code": "..."}`` with a
4xx status; a Nova failure during a poll is reported inside the document (``nova.ok``).
An action's answer carries Nova's own message when Nova (or the way to it) failed, and
never the text of an internal error (a database error, a bug): that goes to the log only.
"""
import json
import logging
import re
import uuid

from django import http
from django.db.models import Count
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.utils.decorators import method_decorator
from django.views import generic
from django.views.decorators.gzip import gzip_page

from horizon import messages
from horizon import tables
from horizon import views as horizon_views

from evac_dashboard import models
from evac_dashboard.content import table_actions
from evac_dashboard.content.batches import presenters
from evac_dashboard.content.batches import rows
from evac_dashboard.content.batches import tables as batch_tables
from evac_dashboard.operations import submission
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import progress_reads
from evac_dashboard.operations import snapshots

LOG = logging.getLogger(__name__)

RECENT = 200


def detail_url(batch_id):
    return reverse("horizon:admin:evac_batches:detail", args=[batch_id])


class IndexView(table_actions.GuardedTableMixin, tables.DataTableView):
    """Active batches first, then the most recent ones (database only: no Nova call)."""

    table_class = batch_tables.BatchesTable
    template_name = "evac_dashboard/batches/index.html"
    page_title = _("Evacuations")

    def get_data(self):
        rows = list(models.EvacuationBatch.objects.annotate(
            item_count=Count("items"),
            sent_count=Count("items", filter=Q(items__submit_state="submitted")),
            refused_count=Count("items", filter=Q(items__submit_state="submit_failed")),
            waiting_count=Count("items", filter=Q(items__submit_state__in=("pending",
                                                                            "submitting"))),
            cancelled_count=Count("items", filter=Q(items__submit_state="cancelled")),
            lost_count=Count("items", filter=Q(items__submit_state="unknown")),
        ).order_by("-created_at")[:RECENT])
        active = [b for b in rows if b.state in models.EvacuationBatch.ACTIVE_STATES
                  or b.state == models.EvacuationBatch.INTERRUPTED]
        return active + [b for b in rows if b not in active]


def get_batch(batch_id):
    """The batch, or None for an unknown or malformed id."""
    try:
        key = uuid.UUID(str(batch_id))
    except ValueError:
        return None
    return models.EvacuationBatch.objects.filter(pk=key).first()


class DetailView(horizon_views.HorizonTemplateView):
    """The progress page: summary, one row per instance; ``evac.progress.js`` then asks
    ``ProgressView`` for what changed and swaps in the rows it renders."""

    template_name = "evac_dashboard/batches/detail.html"
    page_title = _("Evacuation of {{ batch.source_host }}")

    def get(self, request, *args, **kwargs):
        self.batch = get_batch(kwargs["batch_id"])
        if self.batch is None:
            raise http.Http404("No such evacuation")
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self.batch
        data = snapshots.snapshot(self.request, batch)
        user_id = getattr(self.request.user, "id", None)
        row_contexts = rows.contexts(data)
        version = rows.remember(batch.pk, {str(c["id"]): rows.fingerprint(c)
                                           for c in row_contexts})
        context.update({
            "batch": batch,
            "data": data,
            "rows": data["items"],
            "row_html": [html for _id, html in rows.render_all(
                row_contexts, lambda: snapshots.project_names(self.request))],
            "version": version if data["nova"]["ok"] else "",
            "batch_state_label": presenters.batch_state_label(batch.state),
            "batch_error": presenters.batch_error(data["batch"]["error_message"]),
            "count_cards": presenters.count_cards(data["summary"]),
            "poll_url": reverse("horizon:admin:evac_batches:progress", args=[batch.pk]),
            "retry_url": reverse("horizon:admin:evac_batches:retry", args=[batch.pk]),
            "cancel_url": reverse("horizon:admin:evac_batches:cancel", args=[batch.pk]),
            "resume_url": reverse("horizon:admin:evac_batches:resume", args=[batch.pk]),
            "index_url": reverse("horizon:admin:evac_batches:index"),
            "page_config": json.dumps(page_config(data)),
            # Below 2.14 Nova answers with the admin password: shown once, and only to the
            # user whose run sent the evacuate (``submission.ReturnedPasswords``).
            "passwords": [
                (row["name"], password) for row in data["items"]
                for password in [submission.returned_passwords.take(
                    batch.pk, row["instance_id"], user_id)]
                if password],
        })
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        if context.get("passwords"):
            response["Cache-Control"] = "no-store"  # a password is in this page
        return response


def page_config(data):
    """What the script needs besides the polls: timings and its words."""
    return {
        "interval": data["poll"]["interval_seconds"],
        "maxInterval": data["poll"]["max_interval_seconds"],
        "backoff": data["poll"]["backoff_factor"],
        "now": data["now"],
        "text": presenters.page_text(),
    }


# ----------------------------------------------------------------------------- JSON

def json_error(status, code, message):
    return http.JsonResponse({"error": str(message), "code": code}, status=status)


def _wants_json(request):
    return (request.headers.get("x-requested-with") == "XMLHttpRequest"
            or "application/json" in request.headers.get("accept", ""))


@method_decorator(gzip_page, name="dispatch")
class ProgressView(generic.View):
    """``GET <batch>/progress.json?since=<version>``: what changed since that version.

    Answer: ``version`` (send it back as ``since``), ``full`` (true: ``rows`` holds every
    row, in order; the version was unknown), ``rows`` (``[item id, row HTML]`` of the rows
    that changed), ``removed`` (item ids), and ``presenters.summary_answer``: batch,
    summary, final, resume, nova, poll, now. When Nova cannot be read no row is sent
    (the page keeps what it shows) and ``version`` is the one the browser has.
    Gzipped when the browser accepts it; the document holds no secret, so compressing it
    gives BREACH nothing to find.
    """

    def get(self, request, batch_id):
        batch = get_batch(batch_id)
        if batch is None:
            return json_error(404, "not_found", _("No evacuation batch %s.") % batch_id)
        since = request.GET.get("since") or None
        data = snapshots.snapshot(request, batch)
        answer = presenters.summary_answer(data)
        if data["nova"]["ok"]:
            version, full, changed, removed = rows.changes(
                batch.pk, rows.contexts(data), since,
                lambda: snapshots.project_names(request))
        else:
            version, full, changed, removed = since, False, [], []
        answer.update({"version": version, "full": full, "rows": changed,
                       "removed": removed})
        response = http.JsonResponse(answer)
        response["Cache-Control"] = "no-store"
        return response


MAX_ITEM_ID = 2 ** 63 - 1  # item ids are BigAutoField: positive, 63 bits
_ITEM_ID = re.compile(r"[0-9]{1,19}")  # ASCII digits only ("١٢" is a digit to str.isdigit)


def _item_ids(request):
    """The ``item`` values posted (None when none: "all"); ValueError (with the offending
    value, shortened) for anything but a whole number from 1 to ``MAX_ITEM_ID``."""
    values = request.POST.getlist("item")
    if not values:
        return None
    ids = []
    for value in values:
        value = value.strip()
        if not _ITEM_ID.fullmatch(value) or not 1 <= int(value) <= MAX_ITEM_ID:
            raise ValueError(value if len(value) <= 40 else value[:40] + "…")
        ids.append(int(value))
    return ids


class ActionView(generic.View):
    """A POST that changes the batch; answers JSON to the page's script and redirects
    (with a message) for a plain form post."""

    http_method_names = ["post"]

    def post(self, request, batch_id):
        batch = get_batch(batch_id)
        if batch is None:
            return self._answer(request, None, 404, "not_found",
                                _("No evacuation batch %s.") % batch_id)
        try:
            item_ids = _item_ids(request)
        except ValueError as error:
            return self._answer(request, batch, 400, "bad_item",
                                _("Item ids are whole numbers from 1 to %(max)d; got "
                                  "%(value)r.") % {"max": MAX_ITEM_ID, "value": str(error)})
        password = request.POST.get("password") or None
        try:
            message = self.act(request, batch, item_ids, password)
        except evacuations.ActionRefused as refused:
            return self._answer(request, batch, 409, "refused", str(refused))
        except Exception as error:  # never a 500 page for an action
            reference = uuid.uuid4().hex[:8]
            LOG.exception("Evacuation batch %s: %s failed (reference %s)", batch.pk,
                          type(self).__name__, reference)
            nova_text = progress_reads.remote_error_text(error)
            if nova_text is None:  # the dashboard's own fault: its text stays in the log
                return self._answer(request, batch, 500, "internal_error", _(
                    "The action failed because of an internal error of the dashboard "
                    "(reference %s in its log). Reload the page to see what was done.")
                    % reference)
            return self._answer(request, batch, 502, "failed",
                                _("The action failed: %s") % nova_text)
        return self._answer(request, batch, 200, "ok", message)

    def act(self, request, batch, item_ids, password):
        raise NotImplementedError

    @staticmethod
    def _answer(request, batch, status, code, message):
        if _wants_json(request):
            if status == 200:
                return http.JsonResponse({"ok": True, "message": str(message)})
            return json_error(status, code, message)
        (messages.success if status == 200 else messages.error)(request, message)
        if batch is None:
            return redirect(reverse("horizon:admin:evac_batches:index"))
        return redirect(detail_url(batch.pk))


class RetryView(ActionView):
    def act(self, request, batch, item_ids, password):
        count = evacuations.retry(request, batch, item_ids, password)
        return ngettext("Sent again: %d instance, as a new attempt.",
                        "Sent again: %d instances, each as a new attempt.", count) % count


class CancelView(ActionView):
    def act(self, request, batch, item_ids, password):
        count = evacuations.cancel(request, batch, item_ids)
        return ngettext("Cancelled %d instance that was still waiting.",
                        "Cancelled %d instances that were still waiting.", count) % count


class ResumeView(ActionView):
    def act(self, request, batch, item_ids, password):
        if item_ids is not None:
            raise evacuations.ActionRefused(_("Resume takes the whole batch, not single items."))
        evacuations.resume(request, batch, password)
        return _("Resumed: what Nova already has is recorded, the rest is being sent.")
