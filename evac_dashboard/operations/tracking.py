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
from dataclasses import dataclass, field
import datetime
import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from evac_dashboard.store import audit
from evac_dashboard.api import client
from evac_dashboard.api import progress as progress_api
from evac_dashboard.store import batches
from evac_dashboard.rules import errors
from evac_dashboard.rules import progress
from evac_dashboard.rules import server_changes
from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc
from evac_dashboard.operations import submission
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item

LOG = logging.getLogger(__name__)

# --- numbers the page, its script and the benchmark use -----------------------------------
# Seconds between polls while something changes; the script doubles the wait after each
# poll that changed nothing, up to the maximum, and starts again at the default on change.
DEFAULT_POLL_INTERVAL_SECONDS = 3
MAX_POLL_INTERVAL_SECONDS = 30
BACKOFF_FACTOR = 2
# Nova requests per poll of the JSON endpoint, whatever the number of items: one
# /os-migrations and one /servers/detail (each one more per further page of 1000 records).
NOVA_CALLS_PER_POLL = 2
# Worst case: the compute microversion is discovered again (GET /v2.1/) when its cache
# expires (EVAC_VERSION_CACHE_SECONDS, 300 s by default).
MAX_NOVA_CALLS_PER_POLL = 3
# Polls of the same batch within this many seconds share one Nova read (per process).
# Setting EVAC_PROGRESS_CACHE_SECONDS; 0 turns it off.
SNAPSHOT_CACHE_SECONDS = 2
# While the batch's evacuate calls are being sent, a poll re-reads only the evacuation
# records (one cheap request) and reuses the servers read up to this many seconds ago: on a
# busy nova-api, ``/servers/detail`` for a host's worth of servers costs about a second and
# competes with the evacuate calls themselves (measured by ``make bench``). The submission
# states shown meanwhile come from the dashboard's own records. Setting
# EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS; 0 reads servers on every poll.
SUBMITTING_SERVERS_SECONDS = 10
# Servers are read incrementally (``server_changes``): a poll asks only for servers changed
# since the newest change seen, minus this overlap (EVAC_PROGRESS_CHANGES_OVERLAP_SECONDS),
# and a full read since the batch began replaces the merged view at least every
# FULL_READ_SECONDS (EVAC_PROGRESS_FULL_READ_SECONDS; 0 reads everything on every poll).
CHANGES_OVERLAP_SECONDS = int(server_changes.DEFAULT_OVERLAP.total_seconds())
FULL_READ_SECONDS = server_changes.DEFAULT_FULL_READ_SECONDS
# A batch still "submitting" whose worker runs on another node (or cannot be checked) is
# offered for resuming once nothing was written for it for this long. Setting
# EVAC_RESUME_STALE_SECONDS. A worker on this node whose process is gone is offered at once.
RESUME_STALE_SECONDS = 90
# Nova's clock may differ from ours (same margin as the submission's resume check).
SINCE_MARGIN = submission.CLOCK_SKEW_MARGIN

STAGE_ORDER = progress.STAGE_ORDER
ALWAYS_PASSED = progress._ALWAYS_PASSED  # noqa: SLF001 - the one definition of the rule
STOPPED = "stopped"  # shown after "done" for a server left SHUTOFF (2.95+)


def poll_interval():
    """Seconds between polls while things change (setting EVAC_PROGRESS_POLL_SECONDS)."""
    return int(getattr(settings, "EVAC_PROGRESS_POLL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS))


def max_poll_interval():
    """The longest wait after polls that changed nothing (EVAC_PROGRESS_MAX_POLL_SECONDS)."""
    return max(poll_interval(), int(getattr(settings, "EVAC_PROGRESS_MAX_POLL_SECONDS",
                                            MAX_POLL_INTERVAL_SECONDS)))


def _cache_seconds():
    return float(getattr(settings, "EVAC_PROGRESS_CACHE_SECONDS", SNAPSHOT_CACHE_SECONDS))


def _stale_seconds():
    return float(getattr(settings, "EVAC_RESUME_STALE_SECONDS", RESUME_STALE_SECONDS))


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


# ------------------------------------------------------------------------- Nova reads

@dataclass
class NovaView:
    """What Nova showed at ``read_at``: servers by id, newest evacuation by instance."""

    servers: dict = field(default_factory=dict)
    migrations: dict = field(default_factory=dict)
    read_at: datetime.datetime | None = None
    calls: int = 0
    ok: bool = True
    error: str | None = None
    cached: bool = False
    changes: object = None  # server_changes.ServerChanges after this read, if servers read


def since_for(batch):
    return batch.created_at - SINCE_MARGIN


def _newest_by_instance(migrations, since):
    newest = {}
    for migration in migrations:
        instance_id = migration.get("instance_uuid")
        created = svc.parse_time(migration.get("created_at"))
        if not instance_id or (created is not None and created < since):
            continue  # an older evacuation (clouds before 2.59 return every record)
        key = (created or since, migration.get("id") or 0)
        if instance_id not in newest or key > newest[instance_id][0]:
            newest[instance_id] = (key, migration)
    return {instance_id: value[1] for instance_id, value in newest.items()}


def read_nova(request, batch, instance_ids=None, known=None, reuse_servers=False):
    """One ``NovaView`` for ``batch`` in ``NOVA_CALLS_PER_POLL`` requests (more only for
    further pages). Servers are kept only for ``instance_ids`` (default: the batch's).

    ``known`` (a ``server_changes.ServerChanges`` of this batch): ask only for servers
    changed since its watermark and merge them into it; without it, a full read since the
    batch began. ``reuse_servers`` (with ``known``) skips the servers request and shows
    ``known``'s servers: one call. The view's ``changes`` is what the next poll can build
    on (None if skipped).
    """
    since = since_for(batch)
    if instance_ids is None:
        instance_ids = set(Item.objects.filter(batch_id=batch.pk)
                           .values_list("instance_id", flat=True))
    wanted = set(instance_ids)
    migrations = progress_api.evacuations_since(request, batch.source_host, since)
    calls = 1
    changes = None
    if reuse_servers:
        servers = known.servers
    else:
        now = time.monotonic()
        if known is None:
            answer = progress_api.servers_changed_since(request, since)
            changes = server_changes.full(answer, wanted, now)
        else:
            answer = progress_api.servers_changed_since(
                request, known.since(since, _changes_overlap()))
            changes = server_changes.merged(known, answer, wanted, now)
        servers = changes.servers
        calls += 1
    return NovaView(
        servers=servers,
        migrations={k: v for k, v in _newest_by_instance(migrations, since).items()
                    if k in wanted},
        read_at=timezone.now(), calls=calls, changes=changes)


_cache = {}
_servers_seen = {}  # key -> server_changes.ServerChanges of the batch's last servers read
_cache_lock = threading.Lock()
_key_locks = {}


def _submitting_servers_seconds():
    return float(getattr(settings, "EVAC_PROGRESS_SUBMITTING_SERVERS_SECONDS",
                         SUBMITTING_SERVERS_SECONDS))


def _full_read_seconds():
    return float(getattr(settings, "EVAC_PROGRESS_FULL_READ_SECONDS", FULL_READ_SECONDS))


def _changes_overlap():
    return datetime.timedelta(seconds=float(getattr(
        settings, "EVAC_PROGRESS_CHANGES_OVERLAP_SECONDS", CHANGES_OVERLAP_SECONDS)))


def _known_servers(key, now):
    """This process's merged view of the batch's servers, unless a full read is due."""
    with _cache_lock:
        known = _servers_seen.get(key)
    if known is None or known.needs_full_read(now, _full_read_seconds()):
        return None
    return known


def _reuse_servers(known, batch, now):
    """Whether to show the servers of the last read again: the batch is being submitted
    and they are recent."""
    return (known is not None and batch.state in Batch.ACTIVE_STATES
            and now - known.read_at < _submitting_servers_seconds())


def _key_lock(key):
    with _cache_lock:
        return _key_locks.setdefault(key, threading.Lock())


def cached_read(request, batch, fresh=False):
    """``read_nova`` shared by the polls of one batch for ``SNAPSHOT_CACHE_SECONDS``: while
    one poll reads Nova, the others of the same batch wait for its answer instead of
    asking again. Servers are read incrementally (``server_changes``) on top of this
    process's last view of them; ``fresh`` forces a full read (actions decide on it).
    While the batch is being submitted, servers are read at most every
    ``SUBMITTING_SERVERS_SECONDS``."""
    ttl = _cache_seconds()
    try:
        endpoint = client.compute_endpoint(request)
    except Exception:  # no compute endpoint: read_nova will report the real error
        endpoint = None
    key = (endpoint, str(batch.pk))
    with _key_lock(key):
        now = time.monotonic()
        with _cache_lock:
            hit = _cache.get(key)
        if hit and hit[0] > now and not fresh:
            view = hit[1]
            return NovaView(view.servers, view.migrations, view.read_at, 0, True, None, True)
        known = None if fresh else _known_servers(key, now)
        view = read_nova(request, batch, known=known,
                         reuse_servers=_reuse_servers(known, batch, now))
        with _cache_lock:
            for stale in [k for k, v in _cache.items() if v[0] <= now]:
                _cache.pop(stale, None)
            if ttl > 0:
                _cache[key] = (time.monotonic() + ttl, view)
            if view.changes is not None:
                _servers_seen[key] = view.changes
            keep = max(_submitting_servers_seconds(), _full_read_seconds(), ttl) + 60
            for old in [k for k, v in _servers_seen.items() if now - v.read_at > keep]:
                _servers_seen.pop(old, None)
        return view


def forget_cache():
    with _cache_lock:
        _cache.clear()
        _servers_seen.clear()


def nova_error_text(error):
    """A one-line reason for a failed Nova read."""
    from evac_dashboard.api import actions  # late: keeps this module's import light

    advice = actions.advice_for(error)
    return "%s: %s" % (advice.title, advice.nova_message or advice.advice)


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


def item_row(batch, item, view, now, finished_batch):
    """The JSON row of one item (see ``snapshot``)."""
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
    can_retry = (prog.state == progress.FAILED and not deleted and finished_batch
                 and item.submit_state in (Item.SUBMIT_FAILED, Item.SUBMITTED))
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


# ----------------------------------------------------------------------------- resume

@dataclass(frozen=True)
class ResumeStatus:
    possible: bool
    reason: str
    open_items: int = 0


def _parse_worker(worker):
    host, _sep, pid = (worker or "").rpartition(":")
    try:
        return host, int(pid)
    except ValueError:
        return None, None


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def resume_status(batch, now=None):
    """Whether the page should offer to resume ``batch``, and why (or why not).

    Offered for an ``interrupted`` batch with items left, and for one still ``pending`` or
    ``submitting`` whose worker is gone: not running in this process, and either a process
    of this node that no longer exists or, on another node, silent for
    ``RESUME_STALE_SECONDS``. Never resumed automatically: with several dashboard nodes
    only the operator knows whether the other node is really gone.
    """
    now = now or timezone.now()
    open_items = batches.open_item_count(batch.pk)
    if batch.state == Batch.INTERRUPTED:
        if not open_items:
            return ResumeStatus(False, _("Nothing is left to send."), 0)
        return ResumeStatus(True, _("The submission stopped before every instance was sent."),
                            open_items)
    if batch.state not in Batch.ACTIVE_STATES:
        return ResumeStatus(False, _("The submission is over."), open_items)
    if submission.running_submission(batch.pk) is not None:
        return ResumeStatus(False, _("This dashboard process is sending it now."), open_items)
    host, pid = _parse_worker(batch.worker)
    here = socket.gethostname()
    if host == here and pid is not None:
        if pid == os.getpid() or not _process_alive(pid):
            return ResumeStatus(True, _("The dashboard process that was sending it (%s) is "
                                        "gone.") % batch.worker, open_items)
    idle = (now - batches.last_activity(batch)).total_seconds()
    if idle >= _stale_seconds():
        return ResumeStatus(True, _("Nothing was written for it for %(s)d s by its worker "
                                    "%(w)s; if that dashboard process is gone, resume it "
                                    "here.") % {"s": idle, "w": batch.worker or "?"},
                            open_items)
    return ResumeStatus(False, _("Another dashboard process (%(w)s) may still be sending it "
                                 "(last activity %(s)d s ago).")
                        % {"w": batch.worker or "?", "s": idle}, open_items)


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
    resume = resume_status(batch, now)
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
    rows = {row["id"]: row for row in
            (item_row(batch, item, view, timezone.now(), True) for item in items)}
    wanted = set(rows) if item_ids is None else set(item_ids)
    unknown = wanted - set(rows)
    if unknown:
        raise ActionRefused(_("No such item in this batch: %s") % ", ".join(
            sorted(str(i) for i in unknown)))
    expected = {item.pk: (item.attempt, item.submit_state) for item in items
                if item.pk in wanted and rows[item.pk]["can_retry"]}
    if not expected:
        if item_ids is None:
            raise ActionRefused(_("No instance of this batch has failed."))
        raise ActionRefused(_("Only failed instances can be retried; this one is %s.")
                            % ", ".join(sorted({rows[i]["state"] for i in wanted})))
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
        audit.complete(record, audit.FAILED, detail=audit.describe_error(error))
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
        audit.complete(record, audit.FAILED, detail=audit.describe_error(error))
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
    status = resume_status(batch)
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
        audit.complete(record, audit.FAILED, detail=audit.describe_error(error))
        raise
    forget_cache()
    return run
