"""The evacuation use cases: start, retry, cancel and resume a batch, each written once,
with its checks, its audit record, its clean-up and its refusal messages."""

from django.utils.translation import gettext as _

from evac_dashboard.operations import recording
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.operations import submission
from evac_dashboard.rules import progress
from evac_dashboard.store import audit
from evac_dashboard.store import batches
from evac_dashboard.operations import liveness
from evac_dashboard.operations import snapshots
from evac_dashboard.operations.progress_reads import cached_read, forget_cache

# --------------------------------------------------------------------------- actions

class ActionRefused(Exception):
    """An action that cannot be done now; the message says why (shown to the operator)."""


def retry(request, batch, item_ids=None, password=None, executor=None):
    """Send failed items again as new attempts (all failed ones when ``item_ids`` is None).

    Which items failed is decided from a fresh Nova read (the same two requests as a
    poll), never from the page's possibly old view. Returns the number of items resent.
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
    view = cached_read(request, batch, fresh=True)
    items = list(Item.objects.filter(batch_id=batch.pk).order_by("position"))
    known = {item.pk: snapshots.item_view(batch, item, view) for item in items}
    wanted = set(known) if item_ids is None else set(item_ids)
    unknown = wanted - set(known)
    if unknown:
        raise ActionRefused(_("No such item in this batch: %s") % ", ".join(
            sorted(str(i) for i in unknown)))
    expected = {item.pk: (item.attempt, item.submit_state) for item in items
                if item.pk in wanted and progress.can_retry(
                    known[item.pk].progress.state, known[item.pk].deleted, item.submit_state)}
    if not expected:
        if item_ids is None:
            raise ActionRefused(_("No instance of this batch has failed."))
        raise ActionRefused(_("Only failed instances can be retried; this one is %s.")
                            % ", ".join(sorted({known[i].progress.state for i in wanted})))
    record = audit.begin_batch_action(
        request, audit.RETRY, batch,
        instance_ids=[item.instance_id for item in items if item.pk in expected])
    try:
        submission.start_retry(batch, expected, submission.Credentials.from_request(request),
                               password=password, executor=executor)
    except (batches.BatchAlreadyActive, batches.BatchNotStartable) as error:
        audit.complete(record, audit.FAILED, detail=str(error))
        if isinstance(error, batches.BatchAlreadyActive):
            raise ActionRefused(str(error)) from None
        raise ActionRefused(_("Could not retry: %s") % error) from None
    except Exception as error:
        audit.complete(record, audit.FAILED, detail=recording.describe_error(error))
        raise
    forget_cache()
    return len(expected)


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
    record = audit.begin_batch_action(request, audit.CANCEL, batch, instance_ids=instance_ids)
    try:
        if item_ids is None:
            count = batches.cancel_pending_items(batch.pk)
        else:
            count = batches.cancel_items(batch.pk, item_ids)
        if batch.state == Batch.INTERRUPTED and not batches.open_item_count(batch.pk):
            batches.finish_batch(batch.pk, batch.error_message)
    except Exception as error:
        audit.complete(record, audit.FAILED, detail=recording.describe_error(error))
        raise
    audit.complete(record, audit.CANCELLED if count else audit.FAILED,
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
    record = audit.begin_batch_action(
        request, audit.RESUME, batch, instance_ids=list(
            Item.objects.filter(batch_id=batch.pk, submit_state__in=Item.OPEN_STATES)
            .values_list("instance_id", flat=True)))
    try:
        run = submission.start(batch, submission.Credentials.from_request(request),
                               password=password or None, executor=executor)
    except (batches.BatchAlreadyActive, batches.BatchNotStartable,
            submission.PasswordRequired) as error:
        audit.complete(record, audit.FAILED, detail=str(error))
        if isinstance(error, batches.BatchNotStartable):
            raise ActionRefused(_("Could not resume: %s") % error) from None
        raise ActionRefused(str(error)) from None
    except Exception as error:
        audit.complete(record, audit.FAILED, detail=recording.describe_error(error))
        raise
    forget_cache()
    return run
