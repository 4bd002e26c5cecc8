"""The facts behind a batch's recovery timeline, read from the dashboard's own records.

Database only (no Nova call): the batch, its items' recorded times, the audit log's
records of the failed host around the batch (fence, force down, disable; from after the
host was last restored and after its previous batch, at most ``rules.timeline.LOOKBACK``
before this one) and the batch's own records (retry, resume, takeover, cancel). Five small
queries whatever the batch's size; ``rules.timeline.derive`` turns them into phases.

When the host went silent and when Nova showed it down come from what the fence,
force-down and host-evacuation records kept of Nova's service record when they were written
(``rules.timeline.host_signs``), with the cloud's ``EVAC_SERVICE_DOWN_TIME``: Nova keeps
only the time its record was last written, and Force Down and Disable write it.

Not read: the stage times inside a rebuild (the panel records the stages' names, not their times) and Nova's instance-action
events (one request per instance).
"""
from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.models import AuditRecord
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.rules import timeline as rules

ITEM_FIELDS = ("id", "instance_id", "instance_name", "position", "attempt", "submit_state",
               "submitting_at", "submitted_at", "failed_at", "cancelled_at",
               "answer_lost_at", "outcome_attempt", "outcome_state", "outcome_at",
               "outcome_host", "stages", "stages_attempt")
RECORD_FIELDS = ("id", "action", "created_at", "completed_at", "outcome", "user_name",
                 "user_id", "detail", "options")


def _item_facts(item):
    current = item.outcome_attempt == item.attempt and bool(item.outcome_state)
    stages = item.stages if item.stages_attempt == item.attempt else []
    return rules.ItemFacts(
        item_id=item.pk, instance_id=item.instance_id, name=item.instance_name,
        position=item.position, attempt=item.attempt, submit_state=item.submit_state,
        submitting_at=item.submitting_at, submitted_at=item.submitted_at,
        failed_at=item.failed_at, cancelled_at=item.cancelled_at,
        answer_lost_at=item.answer_lost_at,
        outcome_state=item.outcome_state if current else "",
        outcome_at=item.outcome_at if current else None,
        outcome_host=item.outcome_host if current else "",
        stages=tuple(str(s) for s in stages or ()))


def _record(row):
    nova_state, heartbeat = rules.record_signs(row.options)
    return rules.Record(row.action, row.created_at, row.completed_at, row.outcome,
                        row.user_name or row.user_id or "", row.detail or "", nova_state,
                        heartbeat)


def _last_activity(batch, items, now):
    """Up to when host records belong to this batch: now while it runs, else its last
    recorded time."""
    if batch.state in Batch.ACTIVE_STATES:
        return now
    times = [batch.created_at, batch.finished_at]
    for item in items:
        times += [item.submitted_at, item.failed_at, item.cancelled_at, item.outcome_at]
    return max(t for t in times if t is not None)


def gather(batch, now=None):
    """``rules.timeline.BatchFacts`` of ``batch`` (an ``EvacuationBatch``)."""
    now = now or timezone.now()
    items = [_item_facts(i) for i in Item.objects.filter(batch_id=batch.pk)
             .only(*ITEM_FIELDS).order_by("position")]
    host = batch.source_host
    created = batch.created_at
    restored = [_record(r) for r in AuditRecord.objects.filter(
        source_host=host, action__in=rules.HOST_RESTORED_ACTIONS,
        created_at__gte=created - rules.LOOKBACK, created_at__lte=created)
        .only(*RECORD_FIELDS)]
    previous = (Batch.objects.filter(source_host=host, created_at__lt=created)
                .exclude(pk=batch.pk).order_by("-created_at")
                .values_list("created_at", flat=True).first())
    lower = rules.host_window(created, restored, previous)
    upper = _last_activity(batch, items, now)
    host_records = [_record(r) for r in AuditRecord.objects.filter(
        source_host=host, action__in=rules.HOST_ACTIONS, created_at__gte=lower,
        created_at__lte=upper).only(*RECORD_FIELDS).order_by("created_at", "id")]
    batch_records = [_record(r) for r in AuditRecord.objects.filter(
        batch_id=batch.pk, action__in=rules.BATCH_ACTIONS).only(*RECORD_FIELDS)
        .order_by("created_at", "id")]
    return rules.BatchFacts(
        batch_id=str(batch.pk), source_host=host, state=batch.state, created_at=created,
        now=now, active=batch.state in Batch.ACTIVE_STATES, started_at=batch.started_at,
        finished_at=batch.finished_at, host_records=tuple(host_records),
        batch_records=tuple(batch_records), items=tuple(items),
        service_down_time=conf.service_down_time())


def timeline(batch, now=None):
    """``rules.timeline.Timeline`` of ``batch``."""
    return rules.derive(gather(batch, now))
