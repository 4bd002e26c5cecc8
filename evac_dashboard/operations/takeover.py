"""Automatic takeover: a batch whose sender is gone is taken over by another dashboard
process, without anyone clicking Resume.

A sender holds the batch's lease (``operations.leases``) while it runs. When that process
dies (a crash, a node lost, an Apache reload), its lease expires after
``EVAC_LEASE_SECONDS``; any process that then finds the batch in flight with a free lease
takes it over: it claims the batch (one process wins), asks Nova which instances already
have their evacuation (``submission``'s resume path), records those, and sends only the
rest. It is triggered by a light check every ``EVAC_TAKEOVER_CHECK_SECONDS`` in each
dashboard process, and by any poll of the batch's progress page.

To send, the new process needs the user's login: the run that starts a batch keeps its
Keystone token, catalog and user in Horizon's cache (memcached in production: the same
place Horizon keeps the whole session, token included) until the token expires. Batches
started with an admin password are never taken over (the password is never stored): the
page offers Resume, which asks for it again.
"""
import logging
import random
import threading
import time

from django import db
from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.models import AuditRecord
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.operations import leases
from evac_dashboard.operations import submission
from evac_dashboard.operations.credentials import remembered_login
from evac_dashboard.store import audit
from evac_dashboard.store import batches

LOG = logging.getLogger(__name__)

# --------------------------------------------------------------------------- takeover

def _old_enough(batch, now):
    """A pending batch just created is about to be claimed by its creator: not an orphan
    before a lease time has passed."""
    return (now - (batch.updated_at or batch.created_at)).total_seconds() >= \
        conf.lease_seconds()


def orphaned(batch, now=None):
    """Whether ``batch`` is in flight with nobody sending it, and can be taken over."""
    now = now or timezone.now()
    if batch.state not in Batch.ACTIVE_STATES or batch.password_set:
        return False
    if batch.state == Batch.PENDING and not _old_enough(batch, now):
        return False
    if submission.running_submission(batch.pk) is not None:
        return False
    return leases.state_of(batch.pk) == leases.FREE


def can_take_over(batch):
    """Whether a takeover of ``batch`` has what it needs (no admin password, a login)."""
    return not batch.password_set and remembered_login(batch.pk) is not None


def take_over(batch_id, executor=None):
    """Take ``batch_id`` over if it is orphaned; returns the new ``Submission`` or None.
    Never raises: a takeover that cannot happen leaves the batch to the next check or to
    an operator's Resume."""
    try:
        batch = Batch.objects.filter(pk=batch_id).first()
        if batch is None or not orphaned(batch):
            return None
        credentials = remembered_login(batch.pk)
        if credentials is None:
            LOG.info("Evacuation batch %s: its sender is gone and no login is kept for "
                     "it; left for Resume", batch.pk)
            return None
        previous = batch.worker or "?"
        audit.sender_gone(batch.pk, previous, submission.worker_name())
        record = audit.begin_batch_action(
            audit.Who(user_id=str(credentials.user.id or ""),
                      user_name=credentials.user.username or "",
                      project_id=batch.project_id or "",
                      project_name=batch.project_name or ""),
            AuditRecord.TAKEOVER, batch,
            instance_ids=batches.open_instance_ids(batch.pk),
            detail="%s took over from %s, whose lease had expired"
                   % (submission.worker_name(), previous))
        try:
            run = submission.start(batch, credentials, executor=executor)
        except Exception as error:  # another process won, or the batch moved on
            audit.complete(record, AuditRecord.FAILED, detail="not taken over: %s" % error)
            LOG.info("Evacuation batch %s: takeover not done: %s", batch.pk, error)
            return None
        LOG.warning("Evacuation batch %s: taken over from %s by %s", batch.pk, previous,
                    submission.worker_name())
        return run
    except Exception:  # noqa: BLE001 - see the docstring
        LOG.exception("Evacuation batch %s: takeover check failed", batch_id)
        return None


def take_over_soon(batch_id):
    """``take_over`` in a thread of its own (a poll must not wait for it)."""
    def run():
        try:
            take_over(batch_id)
        finally:
            db.connection.close()

    threading.Thread(target=run, name="evac-takeover-%s" % batch_id, daemon=True).start()


def check_all():
    """One pass of the periodic check: every batch in flight that nobody sends."""
    taken = []
    for batch_id in batches.active_batch_ids():
        if take_over(batch_id) is not None:
            taken.append(batch_id)
    return taken


# ------------------------------------------------------------------ the periodic check

_watcher = None
_watcher_lock = threading.Lock()


def _watch(interval):
    while True:
        time.sleep(interval * random.uniform(0.8, 1.2))  # nodes out of step
        try:
            check_all()
        except Exception:  # noqa: BLE001 - the next pass tries again
            LOG.exception("Takeover check failed")
        finally:
            db.connection.close()


def ensure_watcher(**_signal_arguments):
    """Start this process's periodic check once (connected to ``request_started``: a
    process that serves requests watches; ``manage.py`` commands do not)."""
    global _watcher
    interval = conf.takeover_check_seconds()
    if _watcher is not None or interval <= 0:
        return
    with _watcher_lock:
        if _watcher is None:
            _watcher = threading.Thread(target=_watch, args=(interval,),
                                        name="evac-takeover-check", daemon=True)
            _watcher.start()
