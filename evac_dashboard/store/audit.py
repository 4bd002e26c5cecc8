"""The audit log: who did what, when, and did it work.

Recording (every action the panel takes)
----------------------------------------
A record is **written before Nova is called and completed after**, so a crash in between
leaves a ``pending`` record, never none. If the record cannot be written the action is not
taken (the exception propagates).

* ``recorded(who, action, ...)`` - context manager around one Nova call: writes the record,
  then completes it ``succeeded`` or, if the block raises, ``failed`` with Nova's message
  and request id (and re-raises).
* ``begin(who, action, ...)`` / ``complete(record, outcome, ...)`` - the two halves.
* ``begin_batch_action(who, action, batch, instance_ids=None)`` - for evacuate,
  host-evacuate, retry, resume and cancel: instances, hosts, options and microversion come
  from the batch. ``recorded_batch_action(...)`` is the same as a context manager.
* ``batch_submission_ended(batch_id)`` - called by ``evacuation.submission`` when a run of the
  batch's submission ends: completes the batch's pending evacuate / host-evacuate / retry /
  resume records from its items (all sent / some refused / interrupted / cancelled) with the
  Nova request ids.

``who`` is a Horizon request (its Keystone user and project), or a
``evacuation.batches.Initiator``. Options never hold a password: ``safe_options`` keeps
only whether one was set (``password_set``).

Reading
-------
``HistoryFilter`` + ``query`` + ``page`` for the history page and its CSV export;
``sync_external`` copies in evacuations made outside the dashboard (see
``evacuation.external`` for the matching rule); ``prune`` applies the retention setting
``EVAC_AUDIT_RETENTION_DAYS`` (default 365) and is run by ``manage.py evac_prune_audit``.
"""
from concurrent import futures
import contextlib
from dataclasses import dataclass, field, fields as dataclass_fields
from datetime import datetime, time as dt_time, timedelta, timezone as dt_timezone
import logging
import threading
import time

from django.conf import settings
from django.db import IntegrityError
from django.db import models as db_models
from django.db import transaction
from django.utils import timezone

from evac_dashboard.rules import external
from evac_dashboard.models import AuditRecord as Record
from evac_dashboard.models import EvacuationBatch
from evac_dashboard.models import EvacuationItem
from evac_dashboard.models import NovaEvacuation

LOG = logging.getLogger(__name__)

# Actions.
FORCE_DOWN = Record.FORCE_DOWN
UNSET_FORCE_DOWN = Record.UNSET_FORCE_DOWN
DISABLE = Record.DISABLE
ENABLE = Record.ENABLE
EVACUATE = Record.EVACUATE
HOST_EVACUATE = Record.HOST_EVACUATE
RETRY = Record.RETRY
CANCEL = Record.CANCEL
RESUME = Record.RESUME
# Outcomes.
PENDING = Record.PENDING
SUCCEEDED = Record.SUCCEEDED
ACCEPTED = Record.ACCEPTED
PARTIAL = Record.PARTIAL
FAILED = Record.FAILED
INTERRUPTED = Record.INTERRUPTED
CANCELLED = Record.CANCELLED
IN_PROGRESS = Record.IN_PROGRESS

ACTION_LABELS = dict(Record.ACTIONS)
OUTCOME_LABELS = dict(Record.OUTCOMES)
ORIGIN_LABELS = dict(Record.ORIGINS)

# Records that a submission run completes when it ends.
SUBMISSION_ACTIONS = (EVACUATE, HOST_EVACUATE, RETRY, RESUME)
BATCH_ACTIONS = SUBMISSION_ACTIONS + (CANCEL,)

DEFAULT_RETENTION_DAYS = 365
DEFAULT_SYNC_SECONDS = 30
DEFAULT_ACTION_READS = 25
ACTION_READ_ATTEMPTS = 3
ACTION_READ_WORKERS = 4
UNDECIDED_BATCH = 2000   # undecided migrations looked at per sync


def _setting(name, default):
    return getattr(settings, name, default)


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


def complete(record, outcome, *, detail=None, request_ids=(), instances=None,
             completed_at=None):
    """Give a pending record its outcome. A record is completed once: returns False (and
    changes nothing) when it already has one."""
    if outcome not in OUTCOME_LABELS or outcome == PENDING:
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
    updates = {"outcome": outcome, "completed_at": completed_at or timezone.now(),
               "request_ids": merged,
               "detail": known_detail if detail is None else detail}
    if instances is not None:
        updates["instances"] = instances
        updates["instance_count"] = len(instances)
    done = Record.objects.filter(pk=record_id, outcome=PENDING).update(**updates) == 1
    if done:
        LOG.info("Audit %s: %s", record_id, outcome)
        if isinstance(record, Record):
            record.refresh_from_db()
    return done


def _complete_quietly(record, outcome, **kwargs):
    """Completing must not turn a Nova success into an error page: the record then stays
    pending, which the history shows as such."""
    try:
        complete(record, outcome, **kwargs)
    except Exception:
        LOG.exception("Audit %s: could not record outcome %s", record.pk, outcome)


# ------------------------------------------------------------------------------ batches

def _batch(batch_or_id):
    if isinstance(batch_or_id, EvacuationBatch):
        return batch_or_id
    return EvacuationBatch.objects.get(pk=batch_or_id)


def begin_batch_action(who, action, batch, instance_ids=None, detail=""):
    """Write the pending record of an action on a batch, before it is taken.

    ``action``: ``EVACUATE`` or ``HOST_EVACUATE`` (a new batch), ``RETRY``, ``RESUME`` or
    ``CANCEL``. ``instance_ids``: the instances concerned (default: every item of the
    batch), e.g. the failed ones a retry sends again. Evacuate, host-evacuate, retry and
    resume records are completed by ``batch_submission_ended`` when the submission run ends;
    complete a cancel record yourself (``complete(record, CANCELLED, detail=...)``).
    """
    if action not in BATCH_ACTIONS:
        raise ValueError("not a batch action: %r" % (action,))
    batch = _batch(batch)
    items = EvacuationItem.objects.filter(batch_id=batch.pk).order_by("position")
    if instance_ids is not None:
        items = items.filter(instance_id__in=list(instance_ids))
    return begin(who, action, source_host=batch.source_host,
                 target_host=batch.target_host or "", instances=list(items),
                 options=batch.options, microversion=batch.microversion, batch_id=batch.pk,
                 detail=detail)


@contextlib.contextmanager
def recorded_batch_action(who, action, batch, instance_ids=None):
    """``begin_batch_action`` around the code that takes the action (for the batches page).

    If the block raises, the record is completed ``failed`` (and the exception goes on).
    Otherwise: a ``CANCEL`` record is completed ``cancelled`` with ``record.detail_text``
    if the block set it; ``RETRY`` / ``RESUME`` (and evacuate) records stay pending until the
    submission run they started ends (``batch_submission_ended`` completes them)::

        with audit.recorded_batch_action(request, audit.CANCEL, batch, ids) as record:
            count = batches.cancel_pending_items(batch.pk)
            record.detail_text = "%d waiting instance(s) cancelled" % count

        with audit.recorded_batch_action(request, audit.RETRY, batch, failed_ids):
            submission.start_retry(batch, expected, credentials, password=password)
    """
    record = begin_batch_action(who, action, batch, instance_ids=instance_ids)
    record.detail_text = None
    try:
        yield record
    except Exception as error:
        _complete_quietly(record, FAILED, detail="%s: %s" % (type(error).__name__, error))
        raise
    if action == CANCEL:
        _complete_quietly(record, CANCELLED, detail=record.detail_text)


def batch_outcome(items):
    """``(outcome, detail, instances, request_ids)`` of a submission from its items."""
    counts = {"sent": 0, "refused": 0, "cancelled": 0, "open": 0}
    instances, request_ids = [], []
    for item in items:
        state = item.submit_state
        if state == EvacuationItem.SUBMITTED:
            counts["sent"] += 1
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
    total = sum(counts.values())
    if counts["open"]:
        outcome = INTERRUPTED
    elif total and counts["cancelled"] == total:
        outcome = CANCELLED
    elif counts["refused"] and counts["sent"]:
        outcome = PARTIAL
    elif counts["refused"] or not total:
        outcome = FAILED
    else:
        outcome = ACCEPTED
    detail = "%d sent, %d refused, %d cancelled, %d not sent" % (
        counts["sent"], counts["refused"], counts["cancelled"], counts["open"])
    return outcome, detail, instances, request_ids


def batch_submission_ended(batch_id, problem=""):
    """Complete the batch's pending evacuate / host-evacuate / retry / resume records from
    its items. Returns the records completed."""
    pending = list(Record.objects.filter(batch_id=batch_id, outcome=PENDING,
                                         action__in=SUBMISSION_ACTIONS))
    if not pending:
        return []
    items = list(EvacuationItem.objects.filter(batch_id=batch_id).order_by("position"))
    completed = []
    for record in pending:
        wanted = {entry.get("id") for entry in record.instances or ()}
        mine = [item for item in items if item.instance_id in wanted] if wanted else items
        outcome, detail, instances, request_ids = batch_outcome(mine)
        if problem:
            detail = "%s; %s" % (detail, problem)
        if complete(record, outcome, detail=detail, request_ids=request_ids,
                    instances=instances):
            completed.append(record)
    return completed


# ------------------------------------------------------------------------------ reading

def _parse_when(value, end_of_day=False):
    """``2026-11-23``, ``2026-11-23 10:00``, ``2026-11-23T10:00:00Z`` -> aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)
    text = (value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return datetime.combine(day, dt_time.max if end_of_day else dt_time.min,
                                    tzinfo=dt_timezone.utc)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("Not a date or time: %r (use YYYY-MM-DD or YYYY-MM-DD HH:MM, "
                         "UTC)" % text) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_timezone.utc)
    return parsed


def _codes_matching(text, labels):
    """Codes whose code or label contains ``text`` (case-insensitive)."""
    wanted = text.strip().lower().replace(" ", "_")
    plain = text.strip().lower()
    return [code for code, label in labels.items()
            if wanted in code or plain in str(label).lower()]


@dataclass(frozen=True)
class HistoryFilter:
    """What the history page and its CSV export show. Every field is optional; set fields
    combine (AND). ``host`` is exact (source or target; ``cmp1`` never matches ``cmp10``),
    ``user`` matches a user id exactly or a name partly, ``action``/``outcome``/``origin``
    match codes or labels partly, ``since``/``until`` bound the time (UTC)."""

    host: str = ""
    user: str = ""
    action: str = ""
    outcome: str = ""
    origin: str = ""
    since: object = None
    until: object = None

    PARAMS = ("host", "user", "action", "outcome", "origin", "since", "until")

    @classmethod
    def from_params(cls, params):
        """From a QueryDict or dict; raises ValueError for a malformed time."""
        values = {name: (params.get(name) or "").strip() for name in cls.PARAMS}
        return cls(host=values["host"], user=values["user"], action=values["action"],
                   outcome=values["outcome"], origin=values["origin"],
                   since=_parse_when(values["since"]),
                   until=_parse_when(values["until"], end_of_day=True))

    def replace(self, **changes):
        current = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}
        current.update(changes)
        return HistoryFilter(**current)

    def to_params(self):
        """The non-empty fields as query parameters (times as ISO UTC)."""
        params = {}
        for name in self.PARAMS:
            value = getattr(self, name)
            if isinstance(value, datetime):
                value = value.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if value:
                params[name] = value
        return params

    def describe(self):
        """``[(label, value)]`` of the fields in effect, for display."""
        return [(name, value) for name, value in self.to_params().items()]

    def __bool__(self):
        return bool(self.to_params())


def query(history_filter=None):
    """Records matching ``history_filter``, newest first (a lazy queryset)."""
    records = Record.objects.all()
    f = history_filter or HistoryFilter()
    if f.host:
        records = records.filter(db_models.Q(source_host__iexact=f.host)
                                 | db_models.Q(target_host__iexact=f.host))
    if f.user:
        records = records.filter(db_models.Q(user_id=f.user)
                                 | db_models.Q(user_name__icontains=f.user))
    if f.action:
        records = records.filter(action__in=_codes_matching(f.action, ACTION_LABELS))
    if f.outcome:
        records = records.filter(outcome__in=_codes_matching(f.outcome, OUTCOME_LABELS))
    if f.origin:
        records = records.filter(origin__in=_codes_matching(f.origin, ORIGIN_LABELS))
    if f.since:
        records = records.filter(created_at__gte=f.since)
    if f.until:
        records = records.filter(created_at__lte=f.until)
    return records.order_by("-created_at", "-id")


def page(history_filter=None, marker=None, prev_marker=None, size=20):
    """One page of records, newest first: ``(records, has_prev, has_more)``.

    ``marker``: the id of the last record of the previous page (older records follow);
    ``prev_marker``: the id of the first record of the next page (newer records, going
    back). Keyset paging on (created_at, id): stable while records are added.
    """
    records = query(history_filter)
    size = max(1, int(size))
    anchor_id = prev_marker or marker
    anchor = None
    if anchor_id:
        anchor = Record.objects.filter(pk=_int_or_none(anchor_id)).first()
    if anchor is None:
        rows = list(records[:size + 1])
        return rows[:size], False, len(rows) > size
    newer = (db_models.Q(created_at__gt=anchor.created_at)
             | db_models.Q(created_at=anchor.created_at, id__gt=anchor.pk))
    older = (db_models.Q(created_at__lt=anchor.created_at)
             | db_models.Q(created_at=anchor.created_at, id__lt=anchor.pk))
    if prev_marker:
        rows = list(records.filter(newer).order_by("created_at", "id")[:size + 1])
        has_prev = len(rows) > size
        return list(reversed(rows[:size])), has_prev, True
    rows = list(records.filter(older)[:size + 1])
    return rows[:size], True, len(rows) > size


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def distinct_values(name, limit=200):
    """Known values of ``source_host`` / ``user_name`` for filter suggestions."""
    return list(Record.objects.exclude(**{name: ""}).order_by(name)
                .values_list(name, flat=True).distinct()[:limit])


def nova_evacuations_for(record):
    """Our copies of Nova's migrations behind ``record``: its batch's, or its own."""
    if record.migration_key:
        return list(NovaEvacuation.objects.filter(migration_key=record.migration_key))
    if record.batch_id:
        return list(NovaEvacuation.objects.filter(batch_id=record.batch_id)
                    .order_by("-created_at"))
    return []


# ------------------------------------------------------------------------------ retention

def retention_days():
    """EVAC_AUDIT_RETENTION_DAYS (default 365); None or 0 keeps records forever."""
    days = _setting("EVAC_AUDIT_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    if days in (None, "", 0, "0"):
        return None
    days = int(days)
    if days < 0:
        raise ValueError("EVAC_AUDIT_RETENTION_DAYS must be positive (or 0/None: keep)")
    return days


def retention_cutoff(now=None, days=None):
    days = retention_days() if days is None else days
    if not days:
        return None
    return (now or timezone.now()) - timedelta(days=days)


def prune(days=None, now=None, dry_run=False):
    """Delete records (and our copies of Nova's migrations) older than the retention.
    Returns ``(records, migrations)`` counts (what would go with ``dry_run``)."""
    cutoff = retention_cutoff(now, days)
    if cutoff is None:
        return 0, 0
    records = Record.objects.filter(created_at__lt=cutoff)
    migrations = NovaEvacuation.objects.filter(
        db_models.Q(created_at__lt=cutoff)
        | db_models.Q(created_at__isnull=True, first_seen_at__lt=cutoff))
    if dry_run:
        return records.count(), migrations.count()
    with transaction.atomic():
        migrations_deleted = migrations.delete()[0]
        # QuerySet.delete, not Record.delete (which refuses): retention is the only way.
        records_deleted = records.delete()[0]
    return records_deleted, migrations_deleted


# ------------------------------------------------------- evacuations made outside the panel

@dataclass
class SyncResult:
    listed: int = 0
    new: int = 0
    external: int = 0
    matched: int = 0
    undecided: int = 0
    actions_read: int = 0
    skipped: bool = False
    errors: list = field(default_factory=list)


_last_sync = {}
_last_sync_lock = threading.Lock()


def _throttled(request, force):
    from evac_dashboard.api import client  # late: keeps this module free of novaclient

    interval = float(_setting("EVAC_AUDIT_SYNC_SECONDS", DEFAULT_SYNC_SECONDS))
    key = client.compute_endpoint(request)
    now = time.monotonic()
    with _last_sync_lock:
        last = _last_sync.get(key)
        if not force and last is not None and now - last < interval:
            return True
        _last_sync[key] = now
    return False


def forget_sync_times():
    """Let the next ``sync_external`` run whatever the interval (tests)."""
    with _last_sync_lock:
        _last_sync.clear()
        _name_misses.clear()


def sync_external(request, force=False, max_action_reads=None):
    """Copy Nova's evacuation migrations in, decide whose each is, and create a record for
    each external one. At most once per EVAC_AUDIT_SYNC_SECONDS per process (unless
    ``force``).

    Costs: one ``/os-migrations`` request per 1000 records updated since the last copy
    (2.59+; older clouds list all), plus at most ``max_action_reads``
    (EVAC_AUDIT_ACTION_READS, default 25) instance-action reads for migrations the rule cannot
    decide without one. Nova errors raise (the caller shows a warning).
    """
    result = SyncResult()
    if _throttled(request, force):
        result.skipped = True
        return result
    from evac_dashboard.api import history  # late: keeps this module free of novaclient

    if max_action_reads is None:
        max_action_reads = int(_setting("EVAC_AUDIT_ACTION_READS", DEFAULT_ACTION_READS))
    newest = NovaEvacuation.objects.aggregate(newest=db_models.Max("updated_at"))["newest"]
    since = newest - external.CLOCK_SKEW_MARGIN if newest else None
    found, _version = history.evacuation_migrations(request, changes_since=since)
    result.listed = len(found)
    cutoff = retention_cutoff()
    migrations = [external.Migration.from_nova(m) for m in found]
    migrations = [m for m in migrations
                  if m.instance_id and (cutoff is None or m.created_at is None
                                        or m.created_at >= cutoff)]
    changed = _store_migrations(migrations, result)
    _decide_pending(request, result, max_action_reads, history)
    _refresh_outcomes(changed)
    return result


def _store_migrations(migrations, result):
    """Insert new migrations and update known ones; returns the rows whose status,
    destination or times changed."""
    now = timezone.now()
    changed = []
    keys = [m.key for m in migrations]
    known = {}
    for start in range(0, len(keys), 500):
        for row in NovaEvacuation.objects.filter(migration_key__in=keys[start:start + 500]):
            known[row.migration_key] = row
    for migration in migrations:
        row = known.get(migration.key)
        values = {"status": migration.status, "dest_compute": migration.dest,
                  "updated_at": migration.updated_at, "last_seen_at": now}
        if row is None:
            row = NovaEvacuation(
                migration_key=migration.key, migration_id=migration.id,
                instance_id=migration.instance_id, source_compute=migration.source,
                created_at=migration.created_at, user_id=migration.user_id,
                project_id=migration.project_id, first_seen_at=now, **values)
            try:
                with transaction.atomic():
                    row.save()
            except IntegrityError:  # another Horizon node stored it first
                continue
            known[migration.key] = row
            result.new += 1
            changed.append(row)
            continue
        updates = {}
        if (row.status, row.dest_compute, row.updated_at) != (
                migration.status, migration.dest, migration.updated_at):
            changed.append(row)
            updates.update(values)
        if migration.user_id and not row.user_id:
            updates.update(user_id=migration.user_id, project_id=migration.project_id)
        if not updates:
            continue  # unchanged: no write (clouds before 2.59 list every record each time)
        NovaEvacuation.objects.filter(pk=row.pk).update(**updates)
        for name, value in updates.items():
            setattr(row, name, value)
    return changed


def _decide_pending(request, result, max_action_reads, history):
    pending = list(NovaEvacuation.objects.filter(match_rule="")
                   .order_by("-created_at")[:UNDECIDED_BATCH])
    if not pending:
        return
    instance_ids = sorted({row.instance_id for row in pending})
    items, siblings = {}, {}
    for start in range(0, len(instance_ids), 500):
        chunk = instance_ids[start:start + 500]
        for item in EvacuationItem.objects.filter(instance_id__in=chunk):
            items.setdefault(item.instance_id, []).append(external.PanelItem.from_item(item))
        for row in NovaEvacuation.objects.filter(instance_id__in=chunk):
            siblings.setdefault(row.instance_id, []).append(_as_migration(row))
    now = timezone.now()
    to_read = []
    for row in pending:
        decision = _decision(row, items, siblings, now)
        if decision.kind == external.UNDECIDED:
            to_read.append(row)
        else:
            _apply(row, decision, items, result)
    if not to_read:
        return
    readable = [row for row in to_read if row.action_attempts < ACTION_READ_ATTEMPTS]
    result.actions_read += len(_read_actions(request, readable[:max(0, max_action_reads)],
                                             history))
    for row in to_read:
        exhausted = row.action_attempts >= ACTION_READ_ATTEMPTS
        if row.action_read_at is None and not exhausted:
            result.undecided += 1  # read it next time
            continue
        # Read now or before; or Nova cannot tell us (then the window rule decides).
        decision = _decision(row, items, siblings, now, action_read=True)
        if decision.kind == external.UNDECIDED:
            result.undecided += 1
        else:
            _apply(row, decision, items, result)


def _as_migration(row):
    return external.Migration(
        key=row.migration_key, id=row.migration_id,
        uuid=None if row.migration_key.startswith("id-") else row.migration_key,
        instance_id=row.instance_id, source=row.source_compute, dest=row.dest_compute,
        status=row.status, created_at=row.created_at, updated_at=row.updated_at,
        user_id=row.user_id, project_id=row.project_id)


def _decision(row, items, siblings, now, action_read=False):
    return external.decide(_as_migration(row), items.get(row.instance_id, []), now,
                           request_id=row.request_id or None,
                           action_read=action_read or row.action_read_at is not None,
                           siblings=siblings.get(row.instance_id, []))


def _apply(row, decision, items, result):
    if decision.kind == external.PANEL:
        NovaEvacuation.objects.filter(pk=row.pk).update(
            item_id=decision.item.item_id, batch_id=decision.item.batch_id,
            match_rule=decision.rule)
        row.item_id, row.batch_id, row.match_rule = (decision.item.item_id,
                                                     decision.item.batch_id, decision.rule)
        result.matched += 1
        return
    record = _external_record(row, items)
    NovaEvacuation.objects.filter(pk=row.pk).update(record=record,
                                                    match_rule=external.EXTERNAL)
    row.record, row.match_rule = record, external.EXTERNAL
    result.external += 1


def _instance_name(row, items):
    for item in EvacuationItem.objects.filter(instance_id=row.instance_id).exclude(
            instance_name="").order_by("-created_at")[:1]:
        return item.instance_name
    return ""


def _external_record(row, items):
    """The record of an evacuation made outside the dashboard (created once per migration,
    whichever Horizon node gets there first)."""
    status = row.status
    outcome = external.outcome_for_status(status)
    values = dict(
        origin=Record.ORIGIN_EXTERNAL, action=EVACUATE,
        created_at=row.created_at or row.first_seen_at, user_id=row.user_id,
        project_id=row.project_id, source_host=row.source_compute,
        target_host=row.dest_compute,
        instances=[{"id": row.instance_id, "name": _instance_name(row, items)}],
        instance_count=1, options={}, microversion="",
        request_ids=[row.request_id] if row.request_id else [],
        outcome=outcome,
        completed_at=row.updated_at if outcome != IN_PROGRESS else None,
        detail=_external_detail(row),
        nova_summary=external.summarize([status]))
    try:
        with transaction.atomic():
            record, _created = Record.objects.get_or_create(migration_key=row.migration_key,
                                                            defaults=values)
    except IntegrityError:
        record = Record.objects.get(migration_key=row.migration_key)
    return record


def _external_detail(row):
    return "Made outside this dashboard. Nova migration %s: %s%s" % (
        row.migration_key, row.status or "unknown",
        "" if row.action_read_at or not row.action_error else
        " (instance action not read: %s)" % row.action_error)


def _refresh_outcomes(changed):
    """Follow Nova: external records take their migration's status; panel evacuation
    records get the summary of their batch's migrations."""
    batch_ids = set()
    for row in changed:
        row.refresh_from_db()
        if row.record_id:
            outcome = external.outcome_for_status(row.status)
            Record.objects.filter(pk=row.record_id).update(
                outcome=outcome, target_host=row.dest_compute,
                completed_at=row.updated_at if outcome != IN_PROGRESS else None,
                nova_summary=external.summarize([row.status]), detail=_external_detail(row))
        if row.batch_id:
            batch_ids.add(row.batch_id)
    _refresh_batch_summaries(batch_ids)


def _refresh_batch_summaries(batch_ids):
    for batch_id in batch_ids:
        statuses = NovaEvacuation.objects.filter(batch_id=batch_id).values_list("status",
                                                                                flat=True)
        Record.objects.filter(batch_id=batch_id, action__in=(EVACUATE, HOST_EVACUATE)).update(
            nova_summary=external.summarize(statuses))


def _read_actions(request, rows, history):
    """Read the evacuate instance action of each row (in a few threads: HTTP only), store
    what was found; returns the rows read successfully."""
    if not rows:
        return []

    def read(row):
        return history.evacuate_action(request, row.instance_id, row.created_at)

    done = []
    with futures.ThreadPoolExecutor(max_workers=min(ACTION_READ_WORKERS, len(rows)),
                                    thread_name_prefix="evac-audit") as pool:
        answers = {row.pk: pool.submit(read, row) for row in rows}
    now = timezone.now()
    for row in rows:
        attempts = row.action_attempts + 1
        try:
            action = answers[row.pk].result()
        except Exception as error:
            message = ("%s: %s" % (type(error).__name__, error))[:250]
            LOG.warning("Instance actions of %s not read: %s", row.instance_id, message)
            NovaEvacuation.objects.filter(pk=row.pk).update(action_attempts=attempts,
                                                            action_error=message)
            row.action_attempts, row.action_error = attempts, message
            continue
        updates = {"action_attempts": attempts, "action_read_at": now, "action_error": ""}
        if action:
            updates["request_id"] = action.get("request_id") or ""
            if action.get("user_id"):
                updates["user_id"] = action["user_id"]
            if action.get("project_id"):
                updates["project_id"] = action["project_id"]
        else:
            updates["action_error"] = "no evacuate action found"
        NovaEvacuation.objects.filter(pk=row.pk).update(**updates)
        for name, value in updates.items():
            setattr(row, name, value)
        if row.record_id:
            _update_external_from_action(row)
        done.append(row)
    return done


def _update_external_from_action(row):
    updates = {"detail": _external_detail(row)}
    if row.request_id:
        updates["request_ids"] = [row.request_id]
    if row.user_id:
        updates["user_id"] = row.user_id
    if row.project_id:
        updates["project_id"] = row.project_id
    Record.objects.filter(pk=row.record_id).update(**updates)


def complete_for_display(request, records, max_action_reads=None, resolve_names=True):
    """Before showing ``records``: read the instance action of the external ones not read
    yet (each at most once; bounded by the page) and look up Keystone names of users known
    only by id (users one request each, projects one request for all). Returns the records,
    refreshed. Nova/Keystone errors are logged, not
    raised."""
    from evac_dashboard.api import history  # late: keeps this module free of novaclient

    if max_action_reads is None:
        max_action_reads = int(_setting("EVAC_AUDIT_ACTION_READS", DEFAULT_ACTION_READS))
    keys = [r.migration_key for r in records if r.is_external and r.migration_key]
    rows = list(NovaEvacuation.objects.filter(
        migration_key__in=keys, action_read_at__isnull=True,
        action_attempts__lt=ACTION_READ_ATTEMPTS))[:max(0, max_action_reads)]
    try:
        if rows:
            _read_actions(request, rows, history)
            records = _refreshed(records)
    except Exception:
        LOG.exception("Reading instance actions for the history page failed")
    if resolve_names:
        nameless = sorted({r.user_id for r in records if r.user_id and not r.user_name
                           and not _recently_unknown(r.user_id)})
        named = False
        for user_id in nameless[:max(0, max_action_reads)]:
            name = history.user_name(request, user_id)
            if name:
                Record.objects.filter(user_id=user_id, user_name="").update(user_name=name)
                named = True
            else:
                with _last_sync_lock:
                    _name_misses[user_id] = time.monotonic()
        projectless = sorted({r.project_id for r in records if r.project_id
                              and not r.project_name
                              and not _recently_unknown("project:" + r.project_id)})
        if projectless:
            names = history.project_names(request)
            for project_id in projectless:
                if names.get(project_id):
                    Record.objects.filter(project_id=project_id, project_name="").update(
                        project_name=names[project_id])
                    named = True
                else:
                    with _last_sync_lock:
                        _name_misses["project:" + project_id] = time.monotonic()
        if named:
            records = _refreshed(records)
    return records


_name_misses = {}
NAME_MISS_SECONDS = 600


def _recently_unknown(user_id):
    """Keystone did not know this user (deleted, or another domain) a short while ago:
    do not ask again on every page render."""
    with _last_sync_lock:
        missed = _name_misses.get(user_id)
    return missed is not None and time.monotonic() - missed < NAME_MISS_SECONDS


def _refreshed(records):
    fresh = Record.objects.in_bulk([r.pk for r in records])
    return [fresh.get(r.pk, r) for r in records]


def ensure_submission_record(batch, credentials=None, resumed=False):
    """Called as a submission run begins: if no pending evacuate / host-evacuate / retry /
    resume record of ``batch`` exists (the page that started the run wrote none), write one
    now, still before any evacuate is sent. Returns the record written, or None."""
    if Record.objects.filter(batch_id=batch.pk, outcome=PENDING,
                             action__in=SUBMISSION_ACTIONS).exists():
        return None
    earlier = Record.objects.filter(batch_id=batch.pk, action__in=SUBMISSION_ACTIONS).exists()
    if resumed:
        action = RESUME
    elif earlier:
        action = RETRY
    else:
        action = HOST_EVACUATE if batch.kind == EvacuationBatch.KIND_HOST else EVACUATE
    user = getattr(credentials, "user", None)
    who = Who(user_id=str(getattr(user, "id", None) or batch.user_id or ""),
              user_name=getattr(user, "username", None) or batch.user_name or "",
              project_id=batch.project_id or "", project_name=batch.project_name or "")
    instance_ids = None
    if action not in (EVACUATE, HOST_EVACUATE):
        instance_ids = list(EvacuationItem.objects.filter(
            batch_id=batch.pk, submit_state__in=EvacuationItem.OPEN_STATES)
            .values_list("instance_id", flat=True))
    return begin_batch_action(who, action, batch, instance_ids=instance_ids,
                              detail="Recorded by the submission itself: the page that "
                                     "started it wrote no record.")
