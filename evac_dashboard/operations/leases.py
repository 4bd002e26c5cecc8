"""Who is sending a batch: a lease per batch on a tooz coordination backend.

The process that sends a batch holds the lock ``evac-batch-<id>`` for the whole run; tooz
keeps it alive (the coordinator's heartbeat refreshes it) and lets it go when the process
dies (the file driver's lock is released by the kernel; memcached's, etcd's, Redis's expire
after the lease time). Every dashboard process and node asks the same backend, so every
one of them gives the same answer about a batch — never a guess from a process id.

Backend: ``EVAC_COORDINATION_URL`` (any tooz URL: ``memcached://``, ``etcd3+http://``,
``redis://``, ``zookeeper://``, ``file://``). Without it: the memcached server of Horizon's
default cache when that cache is memcached (so several nodes share it), else a lock
directory on this machine (one node: the development site, tests).
"""
import logging
import os
import tempfile
import threading

from tooz import coordination

from evac_dashboard import conf

LOG = logging.getLogger(__name__)

_coordinator = None
_coordinator_lock = threading.Lock()


def backend_url():
    """The tooz URL the leases live on (see the module's docstring)."""
    configured = conf.coordination_url()
    if configured:
        return configured
    memcached = conf.memcached_location()
    if memcached:
        return "memcached://%s?timeout=%d" % (memcached, conf.lease_seconds())
    return "file://" + os.path.join(tempfile.gettempdir(), "evac-dashboard-leases")


def member_id():
    from evac_dashboard.operations import submission  # late: submission imports leases

    return submission.worker_name().encode()


def coordinator():
    """This process's started coordinator (created on first use, heartbeating)."""
    global _coordinator
    with _coordinator_lock:
        if _coordinator is None:
            started = coordination.get_coordinator(backend_url(), member_id())
            started.start(start_heart=True)
            _coordinator = started
        return _coordinator


def forget():
    """Stop this process's coordinator (tests; a forked child must not share it)."""
    global _coordinator
    with _coordinator_lock:
        if _coordinator is not None:
            try:
                _coordinator.stop()
            except Exception:  # noqa: BLE001 - stopping is best effort
                LOG.debug("coordinator stop failed", exc_info=True)
        _coordinator = None


def _name(batch_id):
    return ("evac-batch-%s" % batch_id).encode()


class Lease:
    """The sending process's hold on one batch."""

    def __init__(self, batch_id):
        self.batch_id = batch_id
        self._lock = None
        self.held = False
        self.degraded = False

    def acquire(self):
        """True if this process now holds the batch; False if another one does.

        When the coordination backend cannot be reached the run goes on without a lease
        (``degraded``): an outage of memcached must not stop an evacuation, and the
        database still lets only one process claim the batch."""
        try:
            self._lock = coordinator().get_lock(_name(self.batch_id))
            # Wait a moment: a page asking whether the batch is held takes the free lock
            # for an instant.
            # (tooz takes the wait as ``blocking=<seconds>``: the memcached driver refuses
            # a ``timeout`` argument, and a refused call would mean sending unleased.)
            self.held = bool(self._lock.acquire(blocking=2))
        except Exception:  # noqa: BLE001 - see the docstring
            LOG.warning("Lease of batch %s: coordination backend unavailable; sending "
                        "without a lease", self.batch_id, exc_info=True)
            self.degraded = True
            return True
        return self.held

    def still_held(self):
        """Whether the lease is still ours (False after it expired: a paused process, a
        partition); a sender checks this before every evacuate call."""
        if self.degraded:
            return True
        if not self.held:
            return False
        try:
            return bool(self._lock.is_still_owner())
        except Exception:  # noqa: BLE001 - a backend that cannot tell: stop sending
            LOG.warning("Lease of batch %s: the coordination backend cannot tell",
                        self.batch_id, exc_info=True)
            return False

    def release(self):
        if not self.held:
            return
        self.held = False
        try:
            self._lock.release()
        except Exception:  # noqa: BLE001 - an expired lease is released already
            LOG.info("Lease of batch %s: release failed (expired?)", self.batch_id,
                     exc_info=True)


HELD = "held"
FREE = "free"
UNKNOWN = "unknown"


def state_of(batch_id):
    """``HELD`` when some process sends ``batch_id`` now, ``FREE`` when none does,
    ``UNKNOWN`` when the coordination backend cannot be asked. Asking takes the lock for an
    instant when it is free (tooz has no "is it held?" question)."""
    try:
        probe = coordinator().get_lock(_name(batch_id))
        if not probe.acquire(blocking=False):
            return HELD
        probe.release()
        return FREE
    except Exception:  # noqa: BLE001 - the page says it cannot tell
        LOG.warning("Lease of batch %s: coordination backend unavailable", batch_id,
                    exc_info=True)
        return UNKNOWN
