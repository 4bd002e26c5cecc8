"""Evacuations made outside the dashboard (CLI, Masakari, scripts), copied in from Nova.

``sync_external`` copies Nova's evacuation migrations in (at most once per
EVAC_AUDIT_SYNC_SECONDS per process and cloud), decides whose each is with
``rules.external`` and gives each external one a record. ``complete_for_display`` fills in
what only costs a request per record (the instance action's user and request id, Keystone
names) for the records someone is about to look at, never more than a page's worth.
"""
from concurrent import futures
from dataclasses import dataclass, field
import logging
import threading
import time

from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.api import client
from evac_dashboard.api import history as history_api
from evac_dashboard.rules import external
from evac_dashboard.store import history
from evac_dashboard.store import nova_copies

LOG = logging.getLogger(__name__)

ACTION_READ_WORKERS = 4
UNDECIDED_BATCH = 2000   # undecided migrations looked at per sync
NAME_MISS_SECONDS = 600


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


_lock = threading.Lock()
_last_sync = {}      # compute endpoint -> monotonic time of the last sync
_name_misses = {}    # user id or "project:<id>" -> monotonic time Keystone did not know it


def _throttled(request, force):
    interval = conf.audit_sync_seconds()
    key = client.compute_endpoint(request)
    now = time.monotonic()
    with _lock:
        last = _last_sync.get(key)
        if not force and last is not None and now - last < interval:
            return True
        _last_sync[key] = now
    return False


def forget_sync_times():
    """Let the next ``sync_external`` run whatever the interval (tests)."""
    with _lock:
        _last_sync.clear()
        _name_misses.clear()


def sync_external(request, force=False, max_action_reads=None):
    """Copy Nova's evacuation migrations in, decide whose each is, and create a record for
    each external one. Nova errors raise (the caller shows a warning).

    Costs: one ``/os-migrations`` request per 1000 records updated since the last copy
    (2.59+; older clouds list all), plus at most ``max_action_reads``
    (EVAC_AUDIT_ACTION_READS, default 25) instance-action reads for migrations the rule cannot
    decide without one.
    """
    result = SyncResult()
    if _throttled(request, force):
        result.skipped = True
        return result
    if max_action_reads is None:
        max_action_reads = conf.audit_action_reads()
    newest = nova_copies.newest_update()
    since = newest - external.CLOCK_SKEW_MARGIN if newest else None
    found, _version = history_api.evacuation_migrations(request, changes_since=since)
    result.listed = len(found)
    cutoff = history.retention_cutoff()
    migrations = [external.Migration.from_nova(m) for m in found]
    migrations = [m for m in migrations
                  if m.instance_id and (cutoff is None or m.created_at is None
                                        or m.created_at >= cutoff)]
    result.new, changed = nova_copies.store_migrations(migrations)
    _decide_pending(request, result, max_action_reads)
    nova_copies.refresh_outcomes(changed)
    return result


def _decide_pending(request, result, max_action_reads):
    pending = nova_copies.undecided(UNDECIDED_BATCH)
    if not pending:
        return
    items, siblings = nova_copies.evidence(row.instance_id for row in pending)
    now = timezone.now()

    def decide(row, action_read=False):
        return external.decide(nova_copies.as_migration(row), items.get(row.instance_id, []),
                               now, request_id=row.request_id or None,
                               action_read=action_read or row.action_read_at is not None,
                               siblings=siblings.get(row.instance_id, []))

    to_read = []
    for row in pending:
        decision = decide(row)
        if decision.kind == external.UNDECIDED:
            to_read.append(row)
        else:
            _apply(row, decision, result)
    if not to_read:
        return
    readable = [row for row in to_read
                if row.action_attempts < nova_copies.ACTION_READ_ATTEMPTS]
    result.actions_read += len(_read_actions(request, readable[:max(0, max_action_reads)]))
    for row in to_read:
        exhausted = row.action_attempts >= nova_copies.ACTION_READ_ATTEMPTS
        if row.action_read_at is None and not exhausted:
            result.undecided += 1  # read it next time
            continue
        # Read now or before; or Nova cannot tell us (then the window rule decides).
        decision = decide(row, action_read=True)
        if decision.kind == external.UNDECIDED:
            result.undecided += 1
        else:
            _apply(row, decision, result)


def _apply(row, decision, result):
    if decision.kind == external.PANEL:
        nova_copies.mark_panel(row, decision)
        result.matched += 1
    else:
        nova_copies.mark_external(row)
        result.external += 1


def _read_actions(request, rows):
    """Read the evacuate instance action of each row in a few threads (HTTP only: the
    database is written from this thread), store what was found; returns the rows read."""
    if not rows:
        return []

    def read(row):
        return history_api.evacuate_action(request, row.instance_id, row.created_at)

    with futures.ThreadPoolExecutor(max_workers=min(ACTION_READ_WORKERS, len(rows)),
                                    thread_name_prefix="evac-audit") as pool:
        answers = {row.pk: pool.submit(read, row) for row in rows}
    now = timezone.now()
    done = []
    for row in rows:
        try:
            action = answers[row.pk].result()
        except Exception as error:
            message = ("%s: %s" % (type(error).__name__, error))[:250]
            LOG.warning("Instance actions of %s not read: %s", row.instance_id, message)
            nova_copies.action_not_read(row, message)
            continue
        nova_copies.action_read(row, action, now)
        done.append(row)
    return done


def complete_for_display(request, records, resolve_names=True):
    """Before showing ``records``: read the instance action of the external ones not read
    yet (each at most once; at most EVAC_AUDIT_ACTION_READS) and look up Keystone names of
    users known only by id (one request each) and of projects (one request for all).
    Returns the records, refreshed. Nova/Keystone errors are logged, not raised."""
    limit = conf.audit_action_reads()
    try:
        rows = nova_copies.unread(records, limit)
        if rows:
            _read_actions(request, rows)
            records = nova_copies.refreshed(records)
    except Exception:
        LOG.exception("Reading instance actions for the history page failed")
    if resolve_names and _name(request, records, limit):
        records = nova_copies.refreshed(records)
    return records


def _name(request, records, limit):
    """Fill in user and project names Keystone knows; True if any was."""
    named = False
    nameless = sorted({r.user_id for r in records if r.user_id and not r.user_name
                       and not _recently_unknown(r.user_id)})
    for user_id in nameless[:max(0, limit)]:
        name = history_api.user_name(request, user_id)
        if name:
            nova_copies.name_user(user_id, name)
            named = True
        else:
            _missed(user_id)
    projectless = sorted({r.project_id for r in records if r.project_id
                          and not r.project_name
                          and not _recently_unknown("project:" + r.project_id)})
    if projectless:
        names = history_api.project_names(request)
        for project_id in projectless:
            if names.get(project_id):
                nova_copies.name_project(project_id, names[project_id])
                named = True
            else:
                _missed("project:" + project_id)
    return named


def _missed(key):
    with _lock:
        _name_misses[key] = time.monotonic()


def _recently_unknown(key):
    """Keystone did not know this user or project (deleted, or another domain) a short
    while ago: do not ask again on every page render."""
    with _lock:
        missed = _name_misses.get(key)
    return missed is not None and time.monotonic() - missed < NAME_MISS_SECONDS
