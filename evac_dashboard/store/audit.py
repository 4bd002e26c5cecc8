"""The audit log's records: who did what, when, and did it work.

A record is **written before Nova is called and completed after**, so a crash in between
leaves a ``pending`` record, never none. If the record cannot be written the action is not
taken (the exception propagates). ``operations.recording`` wraps one Nova call this way.

Evacuate, host-evacuate, retry and resume records are completed from the batch's items when
the submission run ends (``batch_submission_ended``, called by ``operations.submission``),
with Nova's request ids; a cancel record is completed by its caller.

``who`` is a Horizon request (its Keystone user and project), a ``store.batches.Initiator``
or a ``Who``. Options never hold a password: ``safe_options`` keeps only whether one was set.

Reading the log is ``store.history``; Nova's migrations are copied by ``store.nova_copies``.
"""
from dataclasses import dataclass
import logging

from django.utils import timezone

from evac_dashboard.models import AuditRecord as Record
from evac_dashboard.models import EvacuationBatch
from evac_dashboard.models import EvacuationItem

LOG = logging.getLogger(__name__)

ACTION_LABELS = dict(Record.ACTIONS)
OUTCOME_LABELS = dict(Record.OUTCOMES)
ORIGIN_LABELS = dict(Record.ORIGINS)

# Records that a submission run completes when it ends.
SUBMISSION_ACTIONS = (Record.EVACUATE, Record.HOST_EVACUATE, Record.RETRY, Record.RESUME,
                      Record.TAKEOVER)
BATCH_ACTIONS = SUBMISSION_ACTIONS + (Record.CANCEL,)


# --------------------------------------------------------------------------- recording

@dataclass(frozen=True)
class Who:
    user_id: str = ""
    user_name: str = ""
    project_id: str = ""
    project_name: str = ""


def _who(who):
    """The Keystone user and project of a Horizon request, an ``Initiator`` or a ``Who``."""
    user = getattr(who, "user", None)
    if user is not None:  # a request
        return Who(str(getattr(user, "id", "") or ""), getattr(user, "username", "") or "",
                   getattr(user, "project_id", None) or getattr(user, "tenant_id", "") or "",
                   getattr(user, "project_name", None) or getattr(user, "tenant_name", "")
                   or "")
    return Who(str(getattr(who, "user_id", "") or ""), getattr(who, "user_name", "") or "",
               getattr(who, "project_id", "") or "", getattr(who, "project_name", "") or "")


def _is_secret_key(key):
    lowered = str(key).lower()
    return lowered != "password_set" and any(
        word in lowered for word in ("pass", "secret", "token"))


def safe_options(options):
    """A JSON-safe copy of ``options`` without any password: a key that looks like one
    (``admin_password``, ``adminPass``, ...) is dropped and ``password_set`` says whether it
    had a value."""
    safe, password_set = {}, bool((options or {}).get("password_set"))
    for key, value in (options or {}).items():
        if _is_secret_key(key):
            password_set = password_set or bool(value)
            continue
        if key == "password_set":
            continue
        if not (value is None or isinstance(value, (bool, int, float, str))):
            value = str(value)
        safe[str(key)] = value
    safe["password_set"] = password_set
    return safe


def _instances(instances):
    """``[{"id", "name"}]`` from server dicts, items, ``(id, name)`` pairs or ids."""
    result = []
    for entry in instances or ():
        if isinstance(entry, dict):
            result.append({"id": str(entry.get("id") or entry.get("instance_id") or ""),
                           "name": entry.get("name") or entry.get("instance_name") or ""})
        elif isinstance(entry, (tuple, list)):
            result.append({"id": str(entry[0]), "name": entry[1] if len(entry) > 1 else ""})
        elif hasattr(entry, "instance_id"):
            result.append({"id": entry.instance_id, "name": entry.instance_name or ""})
        else:
            result.append({"id": str(entry), "name": ""})
    return result


def begin(who, action, *, source_host="", target_host="", instances=(), options=None,
          microversion=None, batch_id=None, detail=""):
    """Write a ``pending`` record of ``action`` now, before Nova is called; returns it.

    Raises if it cannot be written: then the action must not be taken.
    """
    if action not in ACTION_LABELS:
        raise ValueError("unknown audit action %r" % (action,))
    person = _who(who)
    listed = _instances(instances)
    record = Record.objects.create(
        origin=Record.ORIGIN_PANEL, action=action, created_at=timezone.now(),
        user_id=person.user_id, user_name=person.user_name, project_id=person.project_id,
        project_name=person.project_name, source_host=source_host or "",
        target_host=target_host or "", instances=listed, instance_count=len(listed),
        options=safe_options(options), microversion=str(microversion or ""),
        batch_id=batch_id, detail=detail or "")
    LOG.info("Audit %s: %s of %s by %s started", record.pk, action, source_host or "-",
             person.user_name or person.user_id or "?")
    return record


def complete(record, outcome, *, detail=None, request_ids=(), instances=None):
    """Give a pending record its outcome. A record is completed once: returns False (and
    changes nothing) when it already has one."""
    if outcome not in OUTCOME_LABELS or outcome == Record.PENDING:
        raise ValueError("not a final outcome: %r" % (outcome,))
    record_id = getattr(record, "pk", record)
    current = Record.objects.filter(pk=record_id).values_list("request_ids", "detail").first()
    if current is None:
        return False
    known_ids, known_detail = current
    merged = list(known_ids or [])
    for request_id in request_ids or ():
        if request_id and request_id not in merged:
            merged.append(request_id)
    updates = {"outcome": outcome, "completed_at": timezone.now(),
               "request_ids": merged,
               "detail": known_detail if detail is None else detail}
    if instances is not None:
        updates["instances"] = instances
        updates["instance_count"] = len(instances)
    done = Record.objects.filter(pk=record_id, outcome=Record.PENDING).update(**updates) == 1
    if done:
        LOG.info("Audit %s: %s", record_id, outcome)
        if isinstance(record, Record):
            record.refresh_from_db()
    return done


# ------------------------------------------------------------------------------ batches

def _batch(batch_or_id):
    if isinstance(batch_or_id, EvacuationBatch):
        return batch_or_id
    return EvacuationBatch.objects.get(pk=batch_or_id)


def begin_batch_action(who, action, batch, instance_ids=None, detail="", extra_options=None):
    """Write the pending record of an action on a batch, before it is taken.

    ``action``: ``Record.EVACUATE`` or ``Record.HOST_EVACUATE`` (a new batch), ``Record.RETRY``, ``Record.RESUME`` or
    ``Record.CANCEL``. ``instance_ids``: the instances concerned (default: every item of the
    batch), e.g. the failed ones a retry sends again; ``extra_options``: kept beside the
    batch's options (what Nova said of the host). Evacuate, host-evacuate, retry and
    resume records are completed by ``batch_submission_ended`` when the submission run ends;
    complete a cancel record yourself (``complete(record, Record.CANCELLED, detail=...)``).
    """
    if action not in BATCH_ACTIONS:
        raise ValueError("not a batch action: %r" % (action,))
    batch = _batch(batch)
    items = EvacuationItem.objects.filter(batch_id=batch.pk).order_by("position")
    if instance_ids is not None:
        items = items.filter(instance_id__in=list(instance_ids))
    return begin(who, action, source_host=batch.source_host,
                 target_host=batch.target_host or "", instances=list(items),
                 options=dict(batch.options or {}, **(extra_options or {})),
                 microversion=batch.microversion, batch_id=batch.pk,
                 detail=detail)


def batch_outcome(items):
    """``(outcome, detail, instances, request_ids)`` of a submission from its items."""
    counts = {"sent": 0, "refused": 0, "cancelled": 0, "open": 0}
    found, lost = 0, 0  # found already in Nova (resume, takeover); answer lost (unknown)
    instances, request_ids = [], []
    for item in items:
        state = item.submit_state
        if (state == EvacuationItem.SUBMITTED and item.found_migration_id
                and not item.request_id and item.answer_lost_at is None):
            found += 1
        elif state == EvacuationItem.SUBMITTED:
            counts["sent"] += 1
        elif state == EvacuationItem.UNKNOWN:
            lost += 1
        elif state == EvacuationItem.SUBMIT_FAILED:
            counts["refused"] += 1
        elif state == EvacuationItem.CANCELLED:
            counts["cancelled"] += 1
        else:
            counts["open"] += 1
        if item.request_id and item.request_id not in request_ids:
            request_ids.append(item.request_id)
        entry = {"id": item.instance_id, "name": item.instance_name or "", "state": state,
                 "request_id": item.request_id or ""}
        if item.error_message:
            entry["error"] = ("%s: %s" % (item.advice_code, item.error_message)
                              if item.advice_code else item.error_message)
        if item.found_migration_id:
            entry["found_migration"] = item.found_migration_id
        instances.append(entry)
    total = sum(counts.values()) + found + lost
    if counts["open"] or lost:
        outcome = Record.INTERRUPTED
    elif total and counts["cancelled"] == total:
        outcome = Record.CANCELLED
    elif counts["refused"] and counts["sent"]:
        outcome = Record.PARTIAL
    elif counts["refused"] or not total:
        outcome = Record.FAILED
    else:
        outcome = Record.ACCEPTED
    detail = "%d sent, %d refused, %d cancelled, %d not sent" % (
        counts["sent"], counts["refused"], counts["cancelled"], counts["open"])
    if found:
        detail += ", %d found already in Nova (not sent again)" % found
    if lost:
        detail += ", %d answer lost (Nova not asked yet)" % lost
    return outcome, detail, instances, request_ids


def batch_submission_ended(batch_id, problem=""):
    """Complete the batch's pending evacuate / host-evacuate / retry / resume records from
    its items. Returns the records completed."""
    pending = list(Record.objects.filter(batch_id=batch_id, outcome=Record.PENDING,
                                         action__in=SUBMISSION_ACTIONS))
    if not pending:
        return []
    items = list(EvacuationItem.objects.filter(batch_id=batch_id).order_by("position"))
    completed = []
    for record in pending:
        wanted = {entry.get("id") for entry in record.instances or ()}
        mine = [item for item in items if item.instance_id in wanted] if wanted else items
        outcome, detail, instances, request_ids = batch_outcome(mine)
        if record.action == Record.TAKEOVER:
            detail = "%s: %s" % (record.detail, detail)  # who took over from whom
        if problem:
            detail = "%s; %s" % (detail, problem)
        if complete(record, outcome, detail=detail, request_ids=request_ids,
                    instances=instances):
            completed.append(record)
    return completed


def sender_gone(batch_id, gone, successor):
    """A takeover begins: the batch's pending records are completed with what the sender
    ``gone`` had done before it stopped (the successor's own record counts the rest)."""
    return batch_submission_ended(
        batch_id, "its sender %s stopped (lease expired); taken over by %s"
        % (gone, successor))


def ensure_submission_record(batch, credentials=None, resumed=False):
    """Called as a submission run begins: if no pending evacuate / host-evacuate / retry /
    resume record of ``batch`` exists (the page that started the run wrote none), write one
    now, still before any evacuate is sent. Returns the record written, or None."""
    if Record.objects.filter(batch_id=batch.pk, outcome=Record.PENDING,
                             action__in=SUBMISSION_ACTIONS).exists():
        return None
    earlier = Record.objects.filter(batch_id=batch.pk, action__in=SUBMISSION_ACTIONS).exists()
    if resumed:
        action = Record.RESUME
    elif earlier:
        action = Record.RETRY
    else:
        action = Record.HOST_EVACUATE if batch.kind == EvacuationBatch.KIND_HOST else Record.EVACUATE
    user = getattr(credentials, "user", None)
    who = Who(user_id=str(getattr(user, "id", None) or batch.user_id or ""),
              user_name=getattr(user, "username", None) or batch.user_name or "",
              project_id=batch.project_id or "", project_name=batch.project_name or "")
    instance_ids = None
    if action not in (Record.EVACUATE, Record.HOST_EVACUATE):
        instance_ids = list(EvacuationItem.objects.filter(
            batch_id=batch.pk, submit_state__in=EvacuationItem.OPEN_STATES)
            .values_list("instance_id", flat=True))
    return begin_batch_action(who, action, batch, instance_ids=instance_ids,
                              detail="Recorded by the submission itself: the page that "
                                     "started it wrote no record.")
