"""Nova's side of the progress page: what Nova shows of a batch, read in a fixed
number of requests whatever its size, shared by the polls of one batch."""
import dataclasses
from dataclasses import dataclass, field
import datetime
import hashlib
import logging
import pickle
import threading
import time
import zlib

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
        now = time.time()
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


# What one poll read is kept in Django's cache (memcached in production), so every
# dashboard process and node polling a batch shares it: N nodes cost one node's Nova calls.
# Times in it are wall-clock seconds (``time.time()``), comparable across nodes.
_process_locks = {}  # key -> threading.Lock: the polls of one process wait for each other
_process_locks_guard = threading.Lock()
_LOCK_WAIT_SECONDS = 5  # a poll waits this long for another node's read before its own


def _shared():
    from django.core.cache import cache  # late: the cache is configured after import

    return cache


GENERATION = "evac-dashboard:progress:generation"


def _generation():
    """Bumped by ``forget_cache``: older entries are never read again."""
    return _shared().get(GENERATION) or 0


def _get(key):
    try:
        packed = _shared().get(key)
        return pickle.loads(zlib.decompress(packed)) if packed is not None else None
    except Exception:  # noqa: BLE001 - a cache fault costs a Nova read, never a poll
        LOG.debug("shared progress cache unreadable for %s", key, exc_info=True)
        return None


def _set(key, value, seconds):
    try:
        _shared().set(key, zlib.compress(pickle.dumps(value, pickle.HIGHEST_PROTOCOL)),
                      max(1, int(seconds) + 1))
    except Exception:  # noqa: BLE001 - e.g. over memcached's item size: read Nova again
        LOG.debug("shared progress cache unwritable for %s", key, exc_info=True)


def _keys(endpoint, batch):
    base = "evac-dashboard:progress:%d:%s:%s" % (
        _generation(), hashlib.sha1(str(endpoint).encode()).hexdigest()[:16], batch.pk)
    return SharedKeys(base + ":hit", base + ":seen", base + ":lock")


@dataclass(frozen=True)
class SharedKeys:
    hit: str    # (expires at, NovaView): the last read, shown again until it expires
    seen: str   # server_changes.ServerChanges: the merged servers view
    lock: str   # held by the one poll (of any node) reading Nova for the batch now


def _hit(keys):
    entry = _get(keys.hit)
    if entry is None or entry[0] <= time.time():
        return None
    view = entry[1]
    return NovaView(view.servers, view.migrations, view.read_at, 0, True, None, True,
                    servers_read=view.servers_read)


def _take_read_turn(keys, fresh):
    """Wait while another poll (of any node) reads Nova for the batch. Returns (held, hit):
    ``hit`` is that poll's answer when it came; ``held`` whether this poll holds the lock
    (false after ``_LOCK_WAIT_SECONDS``: a node that died mid-read, or no shared cache)."""
    deadline = time.time() + _LOCK_WAIT_SECONDS
    while True:
        try:
            if _shared().add(keys.lock, 1, _LOCK_WAIT_SECONDS * 2):
                return True, None
        except Exception:  # noqa: BLE001 - no shared cache: read alone
            return False, None
        hit = None if fresh else _hit(keys)
        if hit is not None or time.time() >= deadline:
            return False, hit
        time.sleep(0.05)


def _submitting_servers_seconds():
    return conf.submitting_servers_seconds()


def _full_read_seconds():
    return conf.full_read_seconds()


def _changes_overlap():
    return datetime.timedelta(seconds=conf.changes_overlap_seconds())


def _known_servers(keys, now):
    """The merged view of the batch's servers (any node's), unless a full read is due."""
    known = _get(keys.seen)
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
    with _process_locks_guard:
        return _process_locks.setdefault(key, threading.Lock())


def cached_read(request, batch, fresh=False):
    """``read_nova`` shared by the polls of one batch, on every node, for
    ``SNAPSHOT_CACHE_SECONDS``: while one poll reads Nova, the others of the same batch
    wait for its answer instead of asking again. Servers are read incrementally
    (``server_changes``) on top of the last merged view of them; ``fresh`` forces a full
    read (actions decide on it). While the batch is being submitted, servers are read at
    most every ``SUBMITTING_SERVERS_SECONDS``, the first time that long after the calls
    began."""
    ttl = _cache_seconds()
    try:
        endpoint = client.compute_endpoint(request)
    except Exception:  # no compute endpoint: read_nova will report the real error
        endpoint = None
    keys = _keys(endpoint, batch)
    with _key_lock(keys.hit):
        hit = None if fresh else _hit(keys)
        if hit is not None:
            return hit
        held, hit = _take_read_turn(keys, fresh)
        if hit is not None:
            return hit
        try:
            now = time.time()
            known = None if fresh else _known_servers(keys, now)
            view = read_nova(request, batch, known=known,
                             reuse_servers=_reuse_servers(known, batch, now),
                             records_only=not fresh and _records_only(known, batch))
            if ttl > 0:
                _set(keys.hit, (time.time() + ttl, dataclasses.replace(view, changes=None)),
                     ttl)
            if view.changes is not None:
                _set(keys.seen, view.changes,
                     max(_submitting_servers_seconds(), _full_read_seconds(), ttl) + 60)
        finally:
            if held:
                _shared().delete(keys.lock)
        with _process_locks_guard:  # one lock per batch polled now, not ever
            for idle in [k for k, lock in _process_locks.items()
                         if k != keys.hit and not lock.locked()]:
                _process_locks.pop(idle, None)
        return view


def forget_cache():
    """Every node reads Nova afresh at its next poll (after an action changed the batch)."""
    cache = _shared()
    try:
        cache.incr(GENERATION)
    except ValueError:  # not there yet (or evicted)
        cache.set(GENERATION, int(time.time() * 1000), None)
    except Exception:  # noqa: BLE001 - no shared cache: nothing shared to forget
        LOG.debug("shared progress cache not reachable", exc_info=True)


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
