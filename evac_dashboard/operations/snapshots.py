"""The progress of a batch as the progress page shows it: one snapshot per poll.

A snapshot joins what the dashboard stored (the batch and its items) with what Nova shows
now, read in a fixed number of requests whatever the batch's size (``progress_reads``:
one ``/os-migrations`` and one ``/servers/detail?changes-since=``, incremental after the
first read).

Each item's state comes from ``rules.progress.derive`` until its attempt ends; then the
outcome (state, host, migration, Nova's fault, when) is recorded on the item and shown
from there: a server that later moves again (another batch, a migration) is a later fact,
not this evacuation going backwards. An evacuation record created before the current
attempt was sent belongs to an earlier attempt and is ignored (a retried item is not
"failed" again by its previous record while the new call is in flight).

The stages of an attempt are recorded on the item as polls see them (``stages_seen``; Nova
shows only the current task_state): every page and reload shows the same; a retry restarts.

Times: Nova's stamps are moved onto the dashboard's clock by anchoring them at the item's
own send time (``_ours``), so a Nova clock a few seconds off does not make a failed batch
read "elapsed 0 s" or a row's time in its state negative.

Cost: ``NOVA_CALLS_PER_POLL`` requests per poll, one read shared by every poll of the batch
on every node (``progress_reads.cached_read``). Writes: only items that changed.
"""
import dataclasses
from dataclasses import dataclass
import datetime
import logging

from django.utils import timezone
from django.utils.translation import gettext as _

from evac_dashboard import conf
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.rules import errors
from evac_dashboard.rules import progress
from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc
from evac_dashboard.store import batches as batch_store
from evac_dashboard.store import item_progress
from evac_dashboard.operations import cloud_reads
from evac_dashboard.operations import liveness
from evac_dashboard.operations import submission_pacing
from evac_dashboard.operations.progress_reads import (  # noqa: F401
    NOVA_CALLS_PER_POLL, MAX_NOVA_CALLS_PER_POLL, DEFAULT_POLL_INTERVAL_SECONDS,
    BACKOFF_FACTOR, STAGE_ORDER, STOPPED,
    NovaView, cached_read, nova_error_text, since_for)

LOG = logging.getLogger(__name__)


def poll_interval():
    """Seconds between polls while things change (setting EVAC_PROGRESS_POLL_SECONDS)."""
    return conf.poll_seconds()


def max_poll_interval():
    """The longest wait after polls that changed nothing (EVAC_PROGRESS_MAX_POLL_SECONDS)."""
    return conf.max_poll_seconds()

def project_names(request):
    """``{project id: name}``; empty when Keystone cannot list them (IDs are shown)."""
    try:
        return cloud_reads.project_names(request)
    except Exception:  # names are a nicety
        LOG.info("Could not read project names for the progress page", exc_info=True)
        return {}

# ------------------------------------------------------------------------------ times

def _iso(value):
    parsed = svc.parse_time(value) if value is not None else None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ") if parsed is not None else None


# Nova records times to the second and its clock may differ a little from ours.
FAULT_TIME_MARGIN = datetime.timedelta(seconds=5)


def _sent_at(item):
    return item.submitting_at or item.submitted_at


def _ours(stamp, item, migration, now):
    """Nova's ``stamp`` on the dashboard's clock: the time since Nova created this
    attempt's record, counted from when we sent the request (one clock each side)."""
    when = svc.parse_time(stamp)
    created = svc.parse_time((migration or {}).get("created_at"))
    sent = _sent_at(item)
    if when is None:
        return None
    if created is not None and sent is not None:
        when = sent + max(datetime.timedelta(0), when - created)
    return when


def _attempt_began(item, migration):
    """When this attempt began, on Nova's clock if possible: an instance fault older than
    that belongs to an earlier failure and is not shown as this attempt's cause."""
    created = svc.parse_time((migration or {}).get("created_at"))
    if created is not None:
        return created.replace(microsecond=0)
    if item.submitted_at is None:
        return None
    return item.submitted_at.replace(microsecond=0) - FAULT_TIME_MARGIN


def migration_key(migration):
    if not migration:
        return ""
    return str(migration.get("uuid") or migration.get("id") or "")


def _this_attempt(item, migration):
    """``migration`` if it can belong to the item's current attempt, else None."""
    if not migration or item.attempt <= 1:
        return migration
    key = migration_key(migration)
    if key and key == (item.found_migration_id or ""):
        return migration
    if (item.outcome_attempt is not None and item.outcome_attempt < item.attempt
            and key and key == item.outcome_migration_id):
        return None  # the recorded record of an earlier attempt
    sent = _sent_at(item)
    created = svc.parse_time(migration.get("created_at"))
    if sent is None or (created is not None and created < sent - FAULT_TIME_MARGIN):
        return None
    return migration

# ------------------------------------------------------------------------------ items

def _is_deleted(server):
    return (srv.status(server) in ("DELETED", "SOFT_DELETED")
            or server.get(srv.VM_STATE) in ("deleted", "soft-delete"))


def stored_progress(item):
    """The item's state from the batch alone (before Nova shows anything, or when Nova
    cannot be read)."""
    state = item.submit_state
    if item.has_outcome:
        return recorded_progress(item, None)
    if state == Item.CANCELLED:
        return progress.Progress(progress.CANCELLED, detail="cancelled before it was sent")
    if state == Item.PENDING:
        return progress.Progress(progress.PENDING, detail="waiting to be sent")
    if state == Item.SUBMITTING:
        return progress.Progress(progress.PENDING, detail="being sent")
    if state == Item.SUBMIT_FAILED:
        return progress.Progress(progress.FAILED, detail="Nova refused the evacuate request")
    if state == Item.UNKNOWN:
        return progress.Progress(progress.UNKNOWN, detail=progress.ANSWER_LOST)
    return progress.Progress(progress.SUBMITTED, detail="sent; Nova's state is not known")


def recorded_progress(item, migration):
    """The recorded outcome; Nova's later status of the same record (``done`` ->
    ``completed``, the failed host cleaned up) is still shown."""
    status = item.outcome_migration_status or None
    if migration is not None and migration_key(migration) == item.outcome_migration_id:
        status = migration.get("status") or status
    return progress.Progress(
        item.outcome_state, cleaned_up=status == "completed", detail=item.outcome_detail,
        fault_message=item.outcome_fault or None, host=item.outcome_host or None,
        migration_status=status)


@dataclass(frozen=True)
class ItemView:
    """What is known of one item now: its progress and the Nova records behind it."""

    progress: progress.Progress
    server: dict | None
    migration: dict | None
    seen: bool
    deleted: bool
    recorded: bool = False  # progress is the recorded outcome of this attempt


def item_view(batch, item, view):
    """The item's progress from ``view`` (a ``NovaView``; its stored state when Nova could
    not be read)."""
    ok = view is not None and view.ok
    records_only = ok and not view.servers_read
    seen = ok and item.instance_id in view.servers
    server = view.servers.get(item.instance_id) if seen else None
    migration = _this_attempt(item, view.migrations.get(item.instance_id)) if ok else None
    deleted = server is not None and _is_deleted(server)
    if item.has_outcome:
        prog = recorded_progress(item, migration)
    elif not ok:
        prog = stored_progress(item)
    elif records_only:
        prog = progress.derive_from_record(migration, item.submit_state, batch.source_host)
    else:
        # A server absent from the answer has not changed since the batch began: it is
        # still what the batch stored (on the failed host, untouched).
        as_seen = server if seen else {"id": item.instance_id, "name": item.instance_name,
                                       srv.HOST: batch.source_host}
        prog = progress.derive(None if deleted else as_seen, migration, item.submit_state,
                               batch.source_host, submitted_at=_attempt_began(item, migration))
    return ItemView(prog, server, migration, seen, deleted, item.has_outcome)


def item_advice(item, prog, server, source_host=None):
    """``errors.Advice`` for a failed item (Nova's refusal, or the fault/record after) or
    one whose answer was lost; ``source_host``: the batch's failed host."""
    if prog.state == progress.UNKNOWN:
        return errors.answer_lost(item.error_message or _("no answer"))
    if prog.state != progress.FAILED:
        return None
    if item.submit_state == Item.SUBMIT_FAILED and item.advice_code == errors.NOT_RECEIVED:
        return errors.not_received(item.error_message)
    if item.submit_state == Item.SUBMIT_FAILED:
        rule = next((r for r in errors.RULES if r.code == item.advice_code), None)
        exception_name = rule.exceptions[0] if rule is not None and rule.exceptions else None
        advice = errors.advise(item.error_status, item.error_message, exception_name,
                               source_host)
        if (advice.code != item.advice_code and item.advice_code
                and not errors.refines(item.advice_code, advice.code)):
            return errors.Advice(item.advice_code, _("Nova refused the request"),
                                 item.error_message, item.error_message, bool(item.retryable))
        return advice
    if prog.fault_message:
        return errors.advise_fault({"message": prog.fault_message}, prog.migration_status)
    if server is None and not prog.migration_status:
        return None
    return errors.advise_fault(None, prog.migration_status)


def _since(item, known, now):
    """When the item entered its current state, on our clock (best known)."""
    prog, server, migration = known.progress, known.server, known.migration
    state = prog.state
    if known.recorded:
        return item.outcome_at
    if state == progress.CANCELLED:
        return item.cancelled_at
    if state == progress.PENDING:
        return item.submitting_at if item.submit_state == Item.SUBMITTING else item.updated_at
    if state == progress.UNKNOWN:
        return item.answer_lost_at or item.updated_at
    if state == progress.SUBMITTED:
        return item.submitted_at or item.updated_at
    if state == progress.FAILED and item.submit_state == Item.SUBMIT_FAILED:
        return item.failed_at
    server_updated = server.get("updated") if server else None
    if state == progress.FAILED:
        fault = srv.fault(server) if server and prog.fault_message else None
        stamp = ((fault or {}).get("created") or (migration or {}).get("updated_at")
                 or server_updated)
    elif state == progress.DONE and migration and migration.get("status") == "done":
        stamp = migration.get("updated_at") or server_updated
    else:
        stamp = server_updated or (migration or {}).get("updated_at")
    return _ours(stamp, item, migration, now) or item.submitted_at


def _record_outcome(item, known, since, now):
    """Fill the item's outcome fields from a final state seen in Nova (not saved here)."""
    prog, server, migration = known.progress, known.server, known.migration
    item.outcome_attempt = item.attempt
    item.outcome_state = prog.state
    item.outcome_detail = str(prog.detail)[:255]
    item.outcome_host = prog.host or ""
    item.outcome_status = srv.status(server) if server else ""
    item.outcome_migration_id = migration_key(migration)
    item.outcome_migration_status = (migration or {}).get("status") or ""
    item.outcome_fault = prog.fault_message or ""
    item.outcome_at = min(since, now) if since else now


def _settles(item, known, view):
    """Whether this observation ends the attempt for good (and is recorded)."""
    return (not known.recorded and view is not None and view.ok and view.servers_read
            and item.submit_state == Item.SUBMITTED and known.progress.is_final)


def _stages(item, prog, nova_ok):
    """The stages of the current attempt after this observation (recorded on ``item``);
    True as second value when they changed."""
    previous = list(item.stages or []) if item.stages_attempt == item.attempt else []
    if not nova_ok and not item.has_outcome:
        # Shown (a Done row ends in done), never recorded: a later exact read refines them.
        return progress.stages_seen(previous, prog), False
    stages = progress.stages_seen(previous, prog)
    changed = stages != previous or item.stages_attempt != item.attempt
    item.stages, item.stages_attempt = stages, item.attempt
    return stages, changed


def item_row(batch, item, view, now, finished_batch, writes=None):
    """The facts of one item's row (see ``snapshot``); ``writes`` collects what to store."""
    known = item_view(batch, item, view)
    since = _since(item, known, now)
    if _settles(item, known, view):
        _record_outcome(item, known, since, now)
        if writes is not None:
            writes["outcomes"].append(item)
    elif (known.recorded and known.progress.migration_status
          and known.progress.migration_status != item.outcome_migration_status):
        item.outcome_migration_status = known.progress.migration_status
        if writes is not None:
            writes["migration_status"].append(item)
    prog, server, migration = known.progress, known.server, known.migration
    # A view of the records alone is coarser than Nova's task states: its stages are not
    # recorded (recorded stages never go backwards), the dashboard's own send states are.
    exact = view is not None and view.ok and (view.servers_read or not prog.migration_status)
    stages, changed = _stages(item, prog, exact)
    if changed and writes is not None:
        writes["stages"].append(item)
    if item.submit_state == Item.UNKNOWN and migration and writes is not None:
        writes["found"].append((item.pk, migration_key(migration)))  # Nova has it
    if prog.state == progress.UNKNOWN and not batch.is_active:
        prog = dataclasses.replace(prog, detail=progress.ANSWER_LOST_UNCONFIRMED)
    advice = item_advice(item, prog, server, batch.source_host)
    since_at = svc.parse_time(since)
    to_host = tried_host = None
    if prog.state == progress.DONE:
        to_host = prog.host
    elif migration and migration.get("dest_compute") and not known.recorded:
        if prog.state == progress.FAILED:
            tried_host = migration.get("dest_compute")  # it did not get there
        else:
            to_host = migration.get("dest_compute")
    status = srv.status(server) if server else ""
    if known.recorded and item.outcome_status:
        status = item.outcome_status
    stopped = prog.state == progress.DONE and status == "SHUTOFF"
    host_now = srv.host(server) if server and not known.deleted else None
    return {
        "id": item.pk,
        "instance_id": item.instance_id,
        "name": item.instance_name or item.instance_id,
        "project_id": item.project_id,
        "position": item.position,
        "priority": item.priority,
        "attempt": item.attempt,
        "from_host": batch.source_host,
        "to_host": to_host,
        "tried_host": tried_host,
        "requested_target": item.requested_target,
        "submit_state": item.submit_state,
        "request_id": item.request_id,
        "state": prog.state,
        "stage": prog.stage,
        "label": prog.label,
        "detail": str(prog.detail),
        "final": prog.is_final,
        "recorded": known.recorded or bool(item.has_outcome),
        "cleaned_up": prog.cleaned_up,
        "stopped": stopped,
        "status": status or None,
        "vm_state": server.get(srv.VM_STATE) if server else None,
        "task_state": None if known.recorded else (srv.task_state(server) if server else None),
        "host": host_now,
        # A later move of a finished evacuation's server: shown as a later fact.
        "moved_since": (host_now if known.recorded and prog.state == progress.DONE
                        and host_now and host_now != prog.host else None),
        "nova_seen": known.seen,
        "servers_read": view is not None and view.ok and view.servers_read,
        "deleted": known.deleted,
        "migration_status": prog.migration_status or (migration or {}).get("status"),
        "migration_id": migration_key(migration) or item.outcome_migration_id or None,
        "since": _iso(since),
        "since_seconds": (max(0, int((now - since_at).total_seconds()))
                          if since_at else None),
        "stages": stages + [STOPPED] if stopped else stages,
        "fault_message": prog.fault_message,
        "advice": None if advice is None else {
            "code": advice.code, "title": str(advice.title), "text": advice.advice,
            "nova_message": advice.nova_message, "retryable": advice.retryable},
        "can_retry": finished_batch and progress.can_retry(prog.state, known.deleted,
                                                           item.submit_state),
        "can_cancel": item.submit_state == Item.PENDING,
    }

# --------------------------------------------------------------------------- snapshot

def _ended_at(item):
    """When the item's current attempt ended (our clock), None while it runs."""
    if item.submit_state == Item.CANCELLED:
        return item.cancelled_at
    if item.submit_state == Item.SUBMIT_FAILED:
        return item.failed_at
    return item.outcome_at if item.has_outcome else None


def _elapsed(batch, items, now, final):
    """From the start of the submission to the end of the last attempt (now while some
    run); every time on the dashboard's clock."""
    start = batch.started_at or batch.created_at
    if not final:
        return max(0, int((now - start).total_seconds()))
    ends = [t for t in (_ended_at(item) for item in items) if t is not None]
    end = max(ends + [batch.finished_at or start])
    return max(0, int((end - start).total_seconds()))


def _save(writes):
    try:
        item_progress.save_outcomes(writes["outcomes"])
        item_progress.save_stages(writes["stages"])
        item_progress.save_outcome_migration_status(writes["migration_status"])
        for item_id, found_id in writes["found"]:
            batch_store.mark_found(item_id, found_id)
    except Exception:  # never fail a poll over a write: the next poll writes it again
        LOG.warning("Could not record the progress of some items", exc_info=True)


def snapshot(request, batch, view=None, now=None):
    """The progress document of ``batch`` (facts only; the page's presenter labels them).

    ``view``: a ``NovaView`` already read; by default read (through the short shared
    cache). A Nova failure does not raise: ``nova.ok`` is false, ``nova.error`` says why and
    every row falls back to what the batch stored (recorded outcomes included).

    Schema (times are ISO 8601 UTC ``...Z`` on the dashboard's clock; seconds integers)::

        batch:   id, kind, source_host, state (pending|submitting|finished|interrupted|
                 cancelled: the *submission*), created_at, started_at, finished_at,
                 error_message, worker, password_set, target_host, keep_running,
                 microversion
        summary: counts {pending, submitted, rebuilding, done, failed, cancelled}, total,
                 final_count, percent (final share), cleaned_up, elapsed_seconds,
                 retryable, cancellable
        final:   true once the submission is over and every row is final (stop polling)
        resume:  possible, reason, open_items
        nova:    ok, error, read_at, calls (Nova requests this answer cost; 0 if cached),
                 cached, servers_read (false: records only, during the first seconds of
                 the submission)
        poll:    interval_seconds, max_interval_seconds, backoff_factor, nova_calls_per_poll
        pacing:  active, window, in_flight, minimum, maximum (the sender's window of rebuilds)
        now:     the server's time
        items:   one per item in submission order (``item_row``)
    """
    # Nova first, our records after: an evacuate is marked "being sent" before its call,
    # so an instance Nova already rebuilds is never shown as waiting to be sent (Nova's
    # read can take seconds while the sender works). The batch is read before too: how
    # Nova is read depends on whether it is still being sent.
    batch.refresh_from_db()
    if view is None:
        try:
            view = cached_read(request, batch)
        except Exception as error:  # any Nova or transport failure: report, never a 500
            LOG.warning("Progress of batch %s: Nova read failed: %s", batch.pk, error)
            view = NovaView(ok=False, error=nova_error_text(error), read_at=timezone.now())
    batch.refresh_from_db()
    items = list(Item.objects.filter(batch_id=batch.pk).order_by("position"))
    now = now or timezone.now()
    finished_batch = batch.state == Batch.FINISHED
    writes = {"outcomes": [], "stages": [], "migration_status": [], "found": []}
    rows = [item_row(batch, item, view, now, finished_batch, writes) for item in items]
    _save(writes)
    summary = progress.summarize([r["state"] for r in rows])
    settled = (view.ok and view.servers_read) or all(r["recorded"] or r["submit_state"] in (
        Item.SUBMIT_FAILED, Item.CANCELLED) for r in rows)
    final = batch.state in (Batch.FINISHED, Batch.CANCELLED) and summary.is_final and settled
    resume = liveness.poll_status(batch, now)
    return {
        "batch": {
            "id": str(batch.pk),
            "kind": batch.kind,
            "source_host": batch.source_host,
            "state": batch.state,
            "created_at": _iso(batch.created_at),
            "started_at": _iso(batch.started_at),
            "finished_at": _iso(batch.finished_at),
            "error_message": batch.error_message,
            "worker": batch.worker,
            "password_set": batch.password_set,
            "target_host": batch.target_host,
            "keep_running": batch.keep_running,
            "microversion": batch.microversion,
        },
        "summary": {
            "counts": summary.counts,
            "total": summary.total,
            "final_count": sum(summary.counts[s] for s in progress.FINAL_STATES),
            "percent": summary.percent,
            "cleaned_up": sum(1 for r in rows if r["cleaned_up"]),
            "elapsed_seconds": _elapsed(batch, items, now, final),
            "retryable": sum(1 for r in rows if r["can_retry"]),
            "cancellable": sum(1 for r in rows if r["can_cancel"]),
        },
        "final": final,
        "resume": {"possible": resume.possible, "reason": str(resume.reason),
                   "open_items": resume.open_items},
        "nova": {"ok": view.ok, "error": view.error, "read_at": _iso(view.read_at),
                 "calls": view.calls, "cached": view.cached,
                 "servers_read": view.servers_read},
        "poll": {"interval_seconds": poll_interval(),
                 "max_interval_seconds": max_poll_interval(),
                 "backoff_factor": BACKOFF_FACTOR,
                 "nova_calls_per_poll": NOVA_CALLS_PER_POLL},
        "pacing": submission_pacing.progress_state(batch),
        "now": _iso(now),
        "items": rows,
    }
