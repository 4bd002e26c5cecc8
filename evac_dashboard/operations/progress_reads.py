"""Nova's side of the progress page: what Nova shows of a batch, read in a fixed
number of requests whatever its size, shared by the polls of one batch."""
from dataclasses import dataclass, field
import datetime
import logging
import threading
import time

from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.api import client
from evac_dashboard.api import progress as progress_api
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.operations import submission
from evac_dashboard.rules import progress
from evac_dashboard.rules import server_changes
from evac_dashboard.rules import services as svc

LOG = logging.getLogger(__name__)

# --- numbers the page, its script and the benchmark use -----------------------------------
# The intervals, cache times and read periods are settings (``evac_dashboard.conf``:
# EVAC_PROGRESS_POLL_SECONDS, _MAX_POLL_SECONDS, _CACHE_SECONDS, _SUBMITTING_SERVERS_SECONDS,
# _CHANGES_OVERLAP_SECONDS, _FULL_READ_SECONDS). While a batch's evacuate calls are being
# sent, a poll re-reads only the evacuation records and reuses servers read a moment ago:
# on a busy nova-api, ``/servers/detail`` for a host's worth of servers costs about a second
# and competes with the evacuate calls themselves (measured by ``make bench``).
DEFAULT_POLL_INTERVAL_SECONDS = conf.DEFAULT_POLL_SECONDS
# The script doubles the wait after each poll that changed nothing, up to the maximum.
BACKOFF_FACTOR = 2
# Nova requests per poll, whatever the number of items: one /os-migrations and one
# /servers/detail (each one more per further page of 1000 records).
NOVA_CALLS_PER_POLL = 2
# Worst case: the compute microversion is discovered again (GET /v2.1/) when its cache
# expires (EVAC_VERSION_CACHE_SECONDS).
MAX_NOVA_CALLS_PER_POLL = 3
# Nova's clock may differ from ours (same margin as the submission's resume check).
SINCE_MARGIN = submission.CLOCK_SKEW_MARGIN

STAGE_ORDER = progress.STAGE_ORDER
STOPPED = "stopped"  # shown after "done" for a server left SHUTOFF (2.95+)

def _cache_seconds():
    return conf.progress_cache_seconds()

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
    servers_read: bool = True  # False: only the evacuation records were read (see below)


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


def read_nova(request, batch, known=None, reuse_servers=False, records_only=False):
    """One ``NovaView`` for ``batch`` in ``NOVA_CALLS_PER_POLL`` requests (more only for
    further pages). Servers are kept only for the batch's instances.

    ``known`` (a ``server_changes.ServerChanges`` of this batch): ask only for servers
    changed since its watermark and merge them into it; without it, a full read since the
    batch began. ``reuse_servers`` (with ``known``) skips the servers request and shows
    ``known``'s servers: one call. The view's ``changes`` is what the next poll can build
    on (None if skipped). ``records_only``: no servers at all (``servers_read`` false).
    """
    since = since_for(batch)
    wanted = set(Item.objects.filter(batch_id=batch.pk).values_list("instance_id", flat=True))
    migrations = progress_api.evacuations_since(request, batch.source_host, since)
    calls = 1
    changes = None
    if records_only:
        servers = {}
    elif reuse_servers:
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
        read_at=timezone.now(), calls=calls, changes=changes, servers_read=not records_only)


_cache = {}
_servers_seen = {}  # key -> server_changes.ServerChanges of the batch's last servers read
_cache_lock = threading.Lock()
_key_locks = {}


def _submitting_servers_seconds():
    return conf.submitting_servers_seconds()


def _full_read_seconds():
    return conf.full_read_seconds()


def _changes_overlap():
    return datetime.timedelta(seconds=conf.changes_overlap_seconds())


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


def _records_only(known, batch):
    """Whether to read only the evacuation records: this process has no servers view of
    the batch yet and its evacuate calls began less than SUBMITTING_SERVERS_SECONDS ago.
    The burst of evacuate calls is nova-api's busiest moment, and a first full servers
    read (a host's worth of servers) inside it slows the calls down (``make bench``)."""
    if known is not None or batch.state not in Batch.ACTIVE_STATES:
        return False
    began = batch.started_at or batch.created_at
    return (timezone.now() - began).total_seconds() < _submitting_servers_seconds()


def _key_lock(key):
    with _cache_lock:
        return _key_locks.setdefault(key, threading.Lock())


def cached_read(request, batch, fresh=False):
    """``read_nova`` shared by the polls of one batch for ``SNAPSHOT_CACHE_SECONDS``: while
    one poll reads Nova, the others of the same batch wait for its answer instead of
    asking again. Servers are read incrementally (``server_changes``) on top of this
    process's last view of them; ``fresh`` forces a full read (actions decide on it).
    While the batch is being submitted, servers are read at most every
    ``SUBMITTING_SERVERS_SECONDS``, the first time that long after the calls began."""
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
            return NovaView(view.servers, view.migrations, view.read_at, 0, True, None, True,
                            servers_read=view.servers_read)
        known = None if fresh else _known_servers(key, now)
        view = read_nova(request, batch, known=known,
                         reuse_servers=_reuse_servers(known, batch, now),
                         records_only=not fresh and _records_only(known, batch))
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
            for idle in [k for k in _key_locks if k not in _servers_seen and k not in _cache
                         and k != key]:
                _key_locks.pop(idle, None)  # one lock per batch polled lately, not ever
        return view


def forget_cache():
    with _cache_lock:
        _cache.clear()
        _servers_seen.clear()


def remote_error_text(error):
    """Words for an error that came from Nova (its own message) or the way to it (the
    advice only: a transport error's text is the client library's, not Nova's); None for
    any other error (a database error, a bug), whose text must not be shown."""
    from evac_dashboard.api import actions  # late: keeps this module's import light

    if not actions.is_remote_error(error):
        return None
    advice = actions.advice_for(error)
    if actions.error_status(error) is None:
        return "%s: %s" % (advice.title, advice.advice)
    return "%s: %s" % (advice.title, advice.nova_message or advice.advice)


def nova_error_text(error):
    """A one-line reason for a failed Nova read."""
    from evac_dashboard.api import actions  # late: keeps this module's import light

    advice = actions.advice_for(error)
    return "%s: %s" % (advice.title, advice.nova_message or advice.advice)
