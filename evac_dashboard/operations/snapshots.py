"""The progress of a batch as the progress page shows it: one snapshot per poll.

A snapshot joins what the dashboard stored (the batch and its items) with what Nova shows
now, read in a fixed number of requests whatever the batch's size:

1. ``GET /os-migrations?source_compute=<failed host>&migration_type=evacuation
   &changes-since=<batch created - margin>`` (one page per 1000 records);
2. ``GET /servers/detail?all_tenants=1&changes-since=<same time>`` (one page per 1000
   servers). An evacuated server is no longer on the failed host, so ``?host=`` cannot
   find it; every server the batch touched has changed since the batch began, so
   ``changes-since`` does. Servers Nova deleted come back with status DELETED. Servers
   absent from the answer have not changed since the batch began: they are shown from
   the batch's stored data. After the first read, a poll asks only for servers changed
   since the newest change it saw (minus an overlap) and merges them into the previous
   answer (``server_changes``): a host's worth of servers costs nova-api about a second
   to render, a few seconds' worth of changes a fraction of it.

Each item's state comes from ``evacuation.progress.derive``: *done* only when the
evacuation record is ``done``/``completed`` **and** the server's host changed (task_state
None comes first); *failed* when the record is ``failed``/``error`` or the server went to
ERROR with a fault after the request was sent.

Stages passed through: Nova only shows the current task_state, so the stages are not
stored (the models stay as they are). Each snapshot lists the stages the current
observation implies (``progress.stages_seen([], current)``: a done evacuation certainly
passed rebuilding, rebuild_block_device_mapping and rebuild_spawning); the page's script
remembers every stage it saw between polls (powering-off, the short "finishing" step) with
the same rules (``STAGE_ORDER``/``ALWAYS_PASSED`` are sent to it), in sessionStorage so a
reload keeps them.

Cost: ``NOVA_CALLS_PER_POLL`` requests per poll; several people watching the same batch
share one Nova read for ``SNAPSHOT_CACHE_SECONDS`` (per dashboard process).
"""
from dataclasses import dataclass
import datetime
import logging

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.rules import errors
from evac_dashboard.rules import progress
from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc
from evac_dashboard.operations import liveness
from evac_dashboard.operations.progress_reads import (  # noqa: F401
    NOVA_CALLS_PER_POLL, MAX_NOVA_CALLS_PER_POLL, DEFAULT_POLL_INTERVAL_SECONDS,
    MAX_POLL_INTERVAL_SECONDS, BACKOFF_FACTOR, STAGE_ORDER, ALWAYS_PASSED, STOPPED,
    NovaView, cached_read, nova_error_text, since_for)

LOG = logging.getLogger(__name__)

def poll_interval():
    """Seconds between polls while things change (setting EVAC_PROGRESS_POLL_SECONDS)."""
    return int(getattr(settings, "EVAC_PROGRESS_POLL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS))


def max_poll_interval():
    """The longest wait after polls that changed nothing (EVAC_PROGRESS_MAX_POLL_SECONDS)."""
    return max(poll_interval(), int(getattr(settings, "EVAC_PROGRESS_MAX_POLL_SECONDS",
                                            MAX_POLL_INTERVAL_SECONDS)))

def state_labels():
    return {
        progress.PENDING: _("Pending"),
        progress.SUBMITTED: _("Submitted"),
        progress.REBUILDING: _("Rebuilding"),
        progress.DONE: _("Done"),
        progress.FAILED: _("Failed"),
        progress.CANCELLED: _("Cancelled"),
    }


# Font Awesome 4 icons (Horizon ships them); every state also has its text.
STATE_ICONS = {
    progress.PENDING: "clock",
    progress.SUBMITTED: "paper-plane",
    progress.REBUILDING: "refresh",
    progress.DONE: "check-circle",
    progress.FAILED: "times-circle",
    progress.CANCELLED: "ban",
}


def stage_labels():
    return {
        progress.PENDING: _("waiting"),
        progress.SUBMITTED: _("sent"),
        "rebuilding": "rebuilding",
        "rebuild_block_device_mapping": "rebuild_block_device_mapping",
        "rebuild_spawning": "rebuild_spawning",
        progress.POWERING_OFF: "powering-off",
        progress.FINISHING: _("switching host"),
        progress.DONE: _("on new host"),
        STOPPED: _("stopped"),
        progress.FAILED: _("failed"),
        progress.CANCELLED: _("cancelled"),
    }


def batch_state_labels():
    return dict((state, str(label)) for state, label in Batch.STATES)

# ------------------------------------------------------------------------------ rows

def _iso(value):
    if value is None:
        return None
    parsed = svc.parse_time(value)
    if parsed is None:
        return None
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def _is_deleted(server):
    return (srv.status(server) in ("DELETED", "SOFT_DELETED")
            or server.get(srv.VM_STATE) in ("deleted", "soft-delete"))


def stored_progress(item):
    """The item's state from the batch alone (before Nova shows anything, or when Nova
    cannot be read)."""
    state = item.submit_state
    if state == Item.CANCELLED:
        return progress.Progress(progress.CANCELLED, detail=_("cancelled before it was sent"))
    if state == Item.PENDING:
        return progress.Progress(progress.PENDING, detail=_("waiting to be sent"))
    if state == Item.SUBMITTING:
        return progress.Progress(progress.PENDING, detail=_("being sent"))
    if state == Item.SUBMIT_FAILED:
        return progress.Progress(progress.FAILED, detail=_("Nova refused the evacuate request"))
    return progress.Progress(progress.SUBMITTED, detail=_("sent; Nova's state is not known"))


def item_advice(item, prog, server):
    """``errors.Advice`` for a failed item (Nova's refusal, or the fault/record after)."""
    if prog.state != progress.FAILED:
        return None
    if item.submit_state == Item.SUBMIT_FAILED:
        rule = next((r for r in errors.RULES if r.code == item.advice_code), None)
        exception_name = rule.exceptions[0] if rule is not None and rule.exceptions else None
        advice = errors.advise(item.error_status, item.error_message, exception_name)
        if advice.code != item.advice_code and item.advice_code:
            return errors.Advice(item.advice_code, _("Nova refused the request"),
                                 item.error_message, item.error_message, bool(item.retryable))
        return advice
    if server is None:
        return None
    fault = srv.fault(server) if prog.fault_message else None
    return errors.advise_fault(fault, prog.migration_status)


def _since(item, prog, server, migration):
    """When the item entered its current state (best known)."""
    state = prog.state
    server_updated = server.get("updated") if server else None
    if state == progress.CANCELLED:
        return item.cancelled_at
    if state == progress.PENDING:
        return item.submitting_at if item.submit_state == Item.SUBMITTING else item.updated_at
    if state == progress.SUBMITTED:
        return item.submitted_at or item.updated_at
    if state == progress.FAILED and item.submit_state == Item.SUBMIT_FAILED:
        return item.failed_at
    if state == progress.FAILED:
        fault = srv.fault(server) if server and prog.fault_message else None
        return ((fault or {}).get("created") or (migration or {}).get("updated_at")
                or server_updated or item.submitted_at)
    if state == progress.DONE and migration and migration.get("status") == "done":
        return migration.get("updated_at") or server_updated
    return server_updated or (migration or {}).get("updated_at") or item.submitted_at


# Nova records times to the second and its clock may differ a little from ours.
FAULT_TIME_MARGIN = datetime.timedelta(seconds=5)


def _attempt_began(item, migration):
    """When this attempt began, on Nova's clock if possible: an instance fault older than
    that belongs to an earlier failure and is not shown as this attempt's cause."""
    created = svc.parse_time((migration or {}).get("created_at"))
    if created is not None:
        return created.replace(microsecond=0)
    if item.submitted_at is None:
        return None
    return item.submitted_at.replace(microsecond=0) - FAULT_TIME_MARGIN


@dataclass(frozen=True)
class ItemView:
    """What is known of one item now: its progress and the Nova records behind it."""

    progress: progress.Progress
    server: dict | None
    migration: dict | None
    seen: bool
    deleted: bool


def item_view(batch, item, view):
    """The item's progress from ``view`` (a ``NovaView``; its stored state when Nova could
    not be read)."""
    seen = view is not None and view.ok and item.instance_id in view.servers
    server = view.servers.get(item.instance_id) if seen else None
    migration = view.migrations.get(item.instance_id) if view is not None and view.ok else None
    deleted = server is not None and _is_deleted(server)
    if view is None or not view.ok:
        prog = stored_progress(item)
    else:
        # A server absent from the answer has not changed since the batch began: it is
        # still what the batch stored (on the failed host, untouched).
        as_seen = server if seen else {"id": item.instance_id, "name": item.instance_name,
                                       srv.HOST: batch.source_host}
        prog = progress.derive(None if deleted else as_seen, migration, item.submit_state,
                               batch.source_host, submitted_at=_attempt_began(item, migration))
    return ItemView(prog, server, migration, seen, deleted)


def item_row(batch, item, view, now, finished_batch):
    """The JSON row of one item (see ``snapshot``)."""
    known = item_view(batch, item, view)
    prog, server, migration = known.progress, known.server, known.migration
    seen, deleted = known.seen, known.deleted
    advice = item_advice(item, prog, server)
    since = _since(item, prog, server, migration)
    since_at = svc.parse_time(since)
    to_host = tried_host = None
    if prog.state == progress.DONE:
        to_host = prog.host
    elif migration and migration.get("dest_compute"):
        if prog.state == progress.FAILED:
            tried_host = migration.get("dest_compute")  # it did not get there
        else:
            to_host = migration.get("dest_compute")
    status = srv.status(server) if server else ""
    stopped = prog.state == progress.DONE and status == "SHUTOFF"
    stages = progress.stages_seen([], prog)
    if stopped:
        stages = stages + [STOPPED]
    can_retry = finished_batch and progress.can_retry(prog.state, deleted, item.submit_state)
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
        "state_label": str(state_labels()[prog.state]),
        "state_icon": STATE_ICONS[prog.state],
        "stage": prog.stage,
        "label": prog.label,
        "detail": str(prog.detail),
        "final": prog.is_final,
        "cleaned_up": prog.cleaned_up,
        "stopped": stopped,
        "status": status or None,
        "vm_state": server.get(srv.VM_STATE) if server else None,
        "task_state": srv.task_state(server) if server else None,
        "host": srv.host(server) if server else None,
        "nova_seen": seen,
        "deleted": deleted,
        "migration_status": prog.migration_status or (migration or {}).get("status"),
        "migration_id": (migration or {}).get("uuid") or (migration or {}).get("id"),
        "since": _iso(since),
        "since_seconds": (max(0, int((now - since_at).total_seconds()))
                          if since_at else None),
        "stages": stages,
        "fault_message": prog.fault_message,
        "advice": None if advice is None else {
            "code": advice.code, "title": str(advice.title), "text": advice.advice,
            "nova_message": advice.nova_message, "retryable": advice.retryable},
        "can_retry": can_retry,
        "can_cancel": item.submit_state == Item.PENDING,
    }

# --------------------------------------------------------------------------- snapshot

def _elapsed(batch, rows, now, final):
    start = batch.started_at or batch.created_at
    end = now
    if final:
        ends = [svc.parse_time(r["since"]) for r in rows if r["since"]]
        ends = [t for t in ends if t is not None]
        end = max(ends + [batch.finished_at or start]) if ends or batch.finished_at else now
    return max(0, int((end - start).total_seconds()))


def snapshot(request, batch, view=None, now=None):
    """The JSON document of the progress endpoint for ``batch``.

    ``view``: a ``NovaView`` already read; by default read (through the short shared
    cache). A Nova failure does not raise: ``nova.ok`` is false, ``nova.error`` says why and
    every row falls back to the batch's stored state (the page keeps what it showed).

    Schema (times are ISO 8601 UTC ``...Z``; seconds are integers)::

        batch:   id, kind, source_host, state (pending|submitting|finished|interrupted|
                 cancelled: the *submission*), state_label, created_at, started_at,
                 finished_at, error_message, worker, password_set, target_host,
                 keep_running, microversion
        summary: counts {pending, submitted, rebuilding, done, failed, cancelled}, total,
                 final_count, percent (final share), cleaned_up, elapsed_seconds,
                 retryable, cancellable
        final:   true once the submission is over and every row is final (stop polling)
        resume:  possible, reason, open_items
        nova:    ok, error, read_at, calls (Nova requests this answer cost; 0 if cached),
                 cached
        poll:    interval_seconds, max_interval_seconds, backoff_factor, nova_calls_per_poll
        now:     the server's time
        items:   one per item in submission order: id, instance_id, name, project_id,
                 position, priority, attempt, from_host, to_host, tried_host,
                 requested_target, submit_state, request_id, state, state_label,
                 state_icon, stage, label, detail, final, cleaned_up, stopped, status,
                 vm_state, task_state, host, nova_seen, deleted, migration_status,
                 migration_id, since, since_seconds, stages, fault_message,
                 advice {code, title, text, nova_message, retryable} | null, can_retry,
                 can_cancel
    """
    batch.refresh_from_db()
    items = list(Item.objects.filter(batch_id=batch.pk).order_by("position"))
    if view is None:
        try:
            view = cached_read(request, batch)
        except Exception as error:  # any Nova or transport failure: report, never a 500
            LOG.warning("Progress of batch %s: Nova read failed: %s", batch.pk, error)
            view = NovaView(ok=False, error=nova_error_text(error), read_at=timezone.now())
    now = now or timezone.now()
    finished_batch = batch.state == Batch.FINISHED
    rows = [item_row(batch, item, view, now, finished_batch) for item in items]
    summary = progress.summarize([r["state"] for r in rows])
    final = batch.state in (Batch.FINISHED, Batch.CANCELLED) and summary.is_final and view.ok
    resume = liveness.resume_status(batch, now)
    return {
        "batch": {
            "id": str(batch.pk),
            "kind": batch.kind,
            "source_host": batch.source_host,
            "state": batch.state,
            "state_label": batch_state_labels().get(batch.state, batch.state),
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
            "elapsed_seconds": _elapsed(batch, rows, now, final),
            "retryable": sum(1 for r in rows if r["can_retry"]),
            "cancellable": sum(1 for r in rows if r["can_cancel"]),
        },
        "final": final,
        "resume": {"possible": resume.possible, "reason": str(resume.reason),
                   "open_items": resume.open_items},
        "nova": {"ok": view.ok, "error": view.error, "read_at": _iso(view.read_at),
                 "calls": view.calls, "cached": view.cached},
        "poll": {"interval_seconds": poll_interval(),
                 "max_interval_seconds": max_poll_interval(),
                 "backoff_factor": BACKOFF_FACTOR,
                 "nova_calls_per_poll": NOVA_CALLS_PER_POLL},
        "now": _iso(now),
        "items": rows,
    }
