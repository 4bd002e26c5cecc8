"""The evacuation use cases: start, retry, cancel and resume a batch, each written once,
with its checks, its audit record, its clean-up and its refusal messages.

The Evacuate Host modal, the per-instance modal and the wizard all call ``start``: the same
checks, the same acknowledgements, the same audit record and the same clean-up when
something fails after the batch was created (the host's one-active-batch lock is released,
never left to a Resume).
"""
from dataclasses import dataclass
import logging

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from evac_dashboard.operations import host_facts
from evac_dashboard.operations import recording
from evac_dashboard.rules import checks
from evac_dashboard.rules import request as evac_request
from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import timeline as timeline_rules
from evac_dashboard.models import AuditRecord, EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.operations import submission
from evac_dashboard.rules import progress
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from evac_dashboard.operations import liveness
from evac_dashboard.operations import lost_answers
from evac_dashboard.operations import snapshots
from evac_dashboard.operations.progress_reads import cached_read, forget_cache

LOG = logging.getLogger(__name__)


class ActionRefused(Exception):
    """An action that cannot be done now; the message says why (shown to the operator)."""


class AlreadyActive(ActionRefused):
    """Another batch holds the host; ``batch_id`` is that batch (None: it just ended)."""

    def __init__(self, message, batch_id):
        super().__init__(message)
        self.batch_id = batch_id


# ----------------------------------------------------------------------------- start

@dataclass(frozen=True)
class Evacuation:
    """What an operator asked for, as reviewed on the page that asks for it.

    ``servers``: the Nova server dicts the operator reviewed; ``service``/``services``: the
    source host's compute service and all of them (for the checks); ``negotiated``: the
    microversion the page's options were built for; ``posted``: the raw form data, so an
    option the microversion lacks is refused instead of dropped; ``targets``: per-server
    hosts from a capacity plan.
    """

    kind: str
    service: dict
    services: list
    servers: list
    options: evac_request.EvacuateOptions
    negotiated: object
    local_disks_acknowledged: bool = False
    posted: dict | None = None
    targets: dict | None = None
    concurrency: int | None = None

    @property
    def source_host(self):
        return self.service["host"]

    def local_disk_servers(self):
        return [s for s in self.servers if not srv.is_volume_backed(s)]


def start_problems(evacuation):
    """Why ``evacuation`` cannot start, as messages for the operator (empty: it can).

    The forms show these as form errors; ``start`` checks them again, so no page can start
    an evacuation the others would refuse."""
    # A capacity plan names a host per server: "no host could take them" does not apply.
    findings = checks.preflight(
        evacuation.service, evacuation.servers,
        target_host=evacuation.options.target_host or None,
        services=() if evacuation.targets else evacuation.services,
        service_down_time=host_facts.service_down_time())
    problems = [f.message for f in findings if f.level == checks.ERROR]
    problems += evac_request.options_not_offered(evacuation.posted or {},
                                                 evacuation.negotiated)
    if not evacuation.servers:
        problems.append(_("There is no instance to evacuate."))
    if evacuation.local_disk_servers() and not evacuation.local_disks_acknowledged:
        problems.append(_("Confirm that you understand instances with a local root disk are "
                          "rebuilt from their image: %s.")
                        % ", ".join(srv.label(s) for s in evacuation.local_disk_servers()[:10]))
    try:
        evac_request.build_request(evacuation.options, evacuation.negotiated)
    except evac_request.OptionError as error:
        problems.append(str(error))
    return problems


def start(request, evacuation, executor=None):
    """Store the batch, write its audit record, start sending; returns the batch.

    Raises ``ActionRefused`` (``AlreadyActive`` when another batch holds the host) with the
    reason to show. Whatever fails after the batch was stored, the batch ends with its items
    cancelled and the host's lock released; the audit record, if written, says why.
    """
    problems = start_problems(evacuation)
    if problems:
        raise ActionRefused(" ".join(str(p) for p in problems))
    credentials = _credentials(request)
    evacuate_request = evac_request.build_request(evacuation.options, evacuation.negotiated)
    kind = Batch.KIND_HOST if evacuation.kind == Batch.KIND_HOST else Batch.KIND_INSTANCE
    try:
        batch = batches.create_batch(
            kind=kind, source_host=evacuation.source_host, servers=evacuation.servers,
            options=evacuation.options, microversion=evacuate_request.microversion,
            initiator=batches.Initiator.from_request(request), targets=evacuation.targets,
            concurrency=evacuation.concurrency)
    except batches.BatchAlreadyActive as running:
        message = _("An evacuation of %s is already running.") % evacuation.source_host
        if running.batch_id is None:
            message += " " + _("It has just ended; submit again.")
        raise AlreadyActive(message, running.batch_id) from None
    action = AuditRecord.HOST_EVACUATE if kind == Batch.KIND_HOST else AuditRecord.EVACUATE
    try:
        record = audit.begin_batch_action(request, action, batch,
                                          extra_options=timeline_rules.host_signs(
                                              evacuation.service))
    except Exception as error:
        LOG.exception("Evacuation batch %s: the audit record could not be written", batch.pk)
        _abandon(batch, "the audit record could not be written")
        raise ActionRefused(_("Nothing was sent: the audit record could not be written "
                              "(%s).") % type(error).__name__) from None
    try:
        submission.start(batch, credentials, password=evacuation.options.admin_password,
                         executor=executor)
    except Exception as error:
        LOG.exception("Evacuation batch %s: the submission could not start", batch.pk)
        detail = recording.describe_error(error)
        _abandon(batch, "the submission could not start: %s" % detail)
        audit.complete(record, AuditRecord.FAILED, detail=detail)
        raise ActionRefused(_("Nothing was sent: the evacuation could not start (%s).")
                            % detail) from None
    return batch


def _credentials(request):
    """The request's login for a sender; ``ActionRefused`` when it expires too soon
    (``submission.check_login``), before anything is stored or sent."""
    credentials = submission.Credentials.from_request(request)
    try:
        submission.check_login(credentials)
    except submission.LoginExpiring as error:
        raise ActionRefused(str(error)) from None
    return credentials


def _abandon(batch, reason):
    """Nothing was sent: cancel the items and release the host (never leave a pending batch
    holding the host's lock)."""
    LOG.warning("Evacuation batch %s abandoned before sending: %s", batch.pk, reason)
    batches.cancel_pending_items(batch.pk)
    batches.finish_batch(batch.pk, reason)


def retry(request, batch, item_ids=None, password=None, executor=None):
    """Send failed items again as new attempts (all failed ones when ``item_ids`` is None).

    Which items failed is decided from a fresh Nova read (the same two requests as a
    poll), never from the page's possibly old view. Items whose answer was lost are first
    settled from Nova (``lost_answers``): one Nova has is not sent again, one Nova never
    acted on is sent, one Nova cannot tell about yet is left alone. Returns the number of
    items resent.
    """
    batch.refresh_from_db()
    if batch.state in Batch.ACTIVE_STATES:
        raise ActionRefused(_("The batch is still being submitted; retry once that is over."))
    if batch.state == Batch.INTERRUPTED:
        raise ActionRefused(_("The batch's submission was interrupted: resume it first."))
    if batch.state != Batch.FINISHED:
        raise ActionRefused(_("Nothing in this batch can be retried."))
    if batch.password_set and not password:
        raise ActionRefused(_("This batch was started with an admin password. Enter it again "
                              "to retry (it is never stored)."))
    credentials = _credentials(request)
    unsettled = _settle_lost_answers(credentials, batch, item_ids)
    view = cached_read(request, batch, fresh=True)
    items = list(Item.objects.filter(batch_id=batch.pk).order_by("position"))
    known = {item.pk: snapshots.item_view(batch, item, view) for item in items}
    wanted = set(known) if item_ids is None else set(item_ids)
    unknown = wanted - set(known)
    if unknown:
        raise ActionRefused(_("No such item in this batch: %s") % ", ".join(
            sorted(str(i) for i in unknown)))
    expected = {item.pk: (item.attempt, item.submit_state) for item in items
                if item.pk in wanted and item.submit_state != Item.UNKNOWN  # never as it is
                and progress.can_retry(known[item.pk].progress.state, known[item.pk].deleted,
                                       item.submit_state)}
    if not expected and unsettled:
        raise ActionRefused(unsettled)
    if not expected:
        if item_ids is None:
            raise ActionRefused(_("No instance of this batch has failed."))
        raise ActionRefused(_("Only failed instances can be retried; this one is %s.")
                            % ", ".join(sorted({known[i].progress.state for i in wanted})))
    record = audit.begin_batch_action(
        request, AuditRecord.RETRY, batch,
        instance_ids=[item.instance_id for item in items if item.pk in expected])
    try:
        submission.start_retry(batch, expected, credentials, password=password,
                               executor=executor)
    except (batches.BatchAlreadyActive, batches.BatchNotStartable) as error:
        audit.complete(record, AuditRecord.FAILED, detail=str(error))
        if isinstance(error, batches.BatchAlreadyActive):
            raise ActionRefused(str(error)) from None
        raise ActionRefused(_("Could not retry: %s") % error) from None
    except Exception as error:
        audit.complete(record, AuditRecord.FAILED, detail=recording.describe_error(error))
        raise
    forget_cache()
    return len(expected)


def _settle_lost_answers(credentials, batch, item_ids):
    """Ask Nova about the batch's items whose answer was lost (of ``item_ids``, or all);
    returns why some could not be settled yet ("" when all were)."""
    lost = batches.answer_lost_items(batch.pk, item_ids)
    if not lost:
        return ""
    findings = lost_answers.resolve_all(credentials, lost)
    waiting = [item for item in lost if findings[item.pk].verdict == lost_answers.WAIT]
    if not waiting:
        forget_cache()
        return ""
    seconds = max(0, int(max((lost_answers.deadline(item) - timezone.now()).total_seconds()
                             for item in waiting)))
    return ngettext(
        "Nothing was sent for %(n)d instance whose answer was lost: Nova does not show yet "
        "whether it acted on it (%(why)s). Try again in %(s)d s; it is never sent twice.",
        "Nothing was sent for %(n)d instances whose answer was lost: Nova does not show yet "
        "whether it acted on them (%(why)s). Try again in %(s)d s; they are never sent twice.",
        len(waiting)) % {"n": len(waiting), "why": findings[waiting[0].pk].reason,
                                     "s": max(seconds, 1)}


def cancel(request, batch, item_ids=None):
    """Cancel items not yet sent (all of them when ``item_ids`` is None). Returns how many.

    A batch whose submission had stopped (interrupted) is finished when nothing is left to
    send; a running submission skips cancelled items by itself.
    """
    batch.refresh_from_db()
    waiting = Item.objects.filter(batch_id=batch.pk, submit_state=Item.PENDING)
    if item_ids is not None:
        known = set(Item.objects.filter(batch_id=batch.pk, pk__in=list(item_ids))
                    .values_list("pk", flat=True))
        unknown = set(item_ids) - known
        if unknown:
            raise ActionRefused(_("No such item in this batch: %s") % ", ".join(
                sorted(str(i) for i in unknown)))
        waiting = waiting.filter(pk__in=list(item_ids))
    instance_ids = list(waiting.values_list("instance_id", flat=True))
    if not instance_ids:
        raise ActionRefused(_("Nothing to cancel: only instances still waiting to be sent can "
                              "be cancelled."))
    record = audit.begin_batch_action(request, AuditRecord.CANCEL, batch, instance_ids=instance_ids)
    try:
        if item_ids is None:
            count = batches.cancel_pending_items(batch.pk)
        else:
            count = batches.cancel_items(batch.pk, item_ids)
        if batch.state == Batch.INTERRUPTED and not batches.open_item_count(batch.pk):
            batches.finish_batch(batch.pk, batch.error_message)
    except Exception as error:
        audit.complete(record, AuditRecord.FAILED, detail=recording.describe_error(error))
        raise
    audit.complete(record, AuditRecord.CANCELLED if count else AuditRecord.FAILED,
                   detail="%d cancelled before they were sent" % count)
    if not count:
        raise ActionRefused(_("Nothing to cancel: they were sent meanwhile."))
    return count


def resume(request, batch, password=None, executor=None):
    """Resume a batch whose submission stopped; items Nova already has an evacuation of
    (since the batch began) are recorded, not sent again (``submission.start``)."""
    batch.refresh_from_db()
    status = liveness.resume_status(batch)
    if not status.possible:
        raise ActionRefused(_("This batch cannot be resumed now: %s") % status.reason)
    if batch.password_set and not password:
        raise ActionRefused(_("This batch was started with an admin password. Enter it again "
                              "to resume (it is never stored)."))
    credentials = _credentials(request)
    record = audit.begin_batch_action(
        request, AuditRecord.RESUME, batch, instance_ids=list(
            Item.objects.filter(batch_id=batch.pk, submit_state__in=Item.OPEN_STATES)
            .values_list("instance_id", flat=True)))
    try:
        run = submission.start(batch, credentials, password=password or None,
                               executor=executor)
    except (batches.BatchAlreadyActive, batches.BatchNotStartable,
            submission.PasswordRequired) as error:
        audit.complete(record, AuditRecord.FAILED, detail=str(error))
        if isinstance(error, batches.BatchNotStartable):
            raise ActionRefused(_("Could not resume: %s") % error) from None
        raise ActionRefused(str(error)) from None
    except Exception as error:
        audit.complete(record, AuditRecord.FAILED, detail=recording.describe_error(error))
        raise
    forget_cache()
    return run
