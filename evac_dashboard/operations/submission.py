"""Sending a batch's evacuate requests off the request path.

``start`` claims the batch in the database and hands the work to a thread pool, then
returns: the view redirects at once, however many instances the host holds. Workers send one
evacuate each, at most ``batch.concurrency`` at a time (setting EVAC_SUBMIT_CONCURRENCY), in
the batch's item order, which is restart-priority order. Each item is written before its
call (``submitting``) and as soon as Nova answers (``submitted`` with the request ID, or
``submit_failed`` with the advice from ``rules.errors``), so after a crash the database
says which calls were made and which may have been in flight.

Resuming (a batch that already started once) first asks Nova, in two list requests (the
records updated since, and the just accepted ones that list skips), which instances of the
source host have an evacuation record created since the batch began; those are recorded
as submitted and never sent again, whichever state their item was left in.

An evacuate whose answer was lost (a timeout, a connection dropped after the request was
written, a 500/502/503/504) is recorded ``unknown``, never ``submit_failed``: Nova may have
accepted it. It is never sent again as it is; ``operations.lost_answers`` asks Nova, at once
and again once the request can no longer be inside nova-api (before the run ends), and
records it submitted (Nova has it) or failed and retryable (Nova never acted on it).

The login: ``start`` refuses a token that expires within ``LOGIN_MARGIN_SECONDS``. A 401
during the run (the token expired meanwhile) stops the sending: the item that got it and
every item not yet sent stay pending, the batch ends ``interrupted`` with
``LOGIN_EXPIRED_MESSAGE``, and Resume after logging in again sends them.

The admin password, if any, lives only in this object's memory during the run. A resumed
batch that had one needs it again (``PasswordRequired``).

A run holds the batch's lease (``operations.leases``) from before it claims the batch until
it is over, and checks it before every evacuate call: a process that lost its lease (paused,
cut off) sends nothing more.

Pacing (setting EVAC_PACING, on by default for the thread pool): the run also keeps at most
a window of rebuilds in flight, adapted to how fast Nova completes them
(``operations.submission_pacing``, ``rules.pacing``).

This module is the run's life (start, claim, finish, audit); the item calls are
``submission_items``, the executors and task bookkeeping ``submission_runtime``.
"""
from concurrent import futures
import logging
import threading

from django import db
from django.utils.translation import gettext as _

from evac_dashboard.store import audit
from evac_dashboard.operations import leases
from evac_dashboard.operations.credentials import (  # noqa: F401 (submission.Credentials...)
    LOGIN_EXPIRED_MESSAGE, LOGIN_MARGIN_SECONDS, Credentials, LoginExpiring, check_login,
    forget_login, remember_login)
from evac_dashboard import conf
from evac_dashboard.operations import submission_pacing
from evac_dashboard.operations.submission_items import ItemCalls
from evac_dashboard.operations.submission_runtime import (  # noqa: F401 (one definition each)
    InlineExecutor, ReturnedPasswords, Tasks, _running, _running_lock, returned_passwords,
    running_submission, worker_name)
from evac_dashboard.store import batches

LOG = logging.getLogger(__name__)

# Nova's clock and ours may differ: an evacuation record created up to this long before the
# batch began still counts as "since the batch began". Erring this way can only skip an
# instance, never evacuate it twice.
from evac_dashboard.rules.external import CLOCK_SKEW_MARGIN  # noqa: E402,F401 (one definition)


class PasswordRequired(Exception):
    """The batch was started with an admin password; resuming it needs the password again
    (it is never stored)."""


def _pool(batch):
    """The run's thread pool: ``batch.concurrency`` calls in flight, started in order; paced
    when EVAC_PACING is on (the paced loop then runs on a thread of its own beside it)."""
    pool = futures.ThreadPoolExecutor(max_workers=max(1, batch.concurrency),
                                      thread_name_prefix="evac-submit")
    pool.paced = conf.pacing()
    return pool


# ------------------------------------------------------------------------- submission

def start(batch, credentials, password=None, executor=None):
    """Start (or resume) sending ``batch``'s evacuations; returns a ``Submission`` at once.

    ``credentials``: ``Credentials.from_request(request)``. ``password``: the admin password
    the operator typed, if any (held in memory only). ``executor``: anything with
    ``submit(fn, *args)`` and ``shutdown(wait=False)``; default a thread pool of
    ``batch.concurrency`` workers, shut down when the batch is done.

    Raises ``batches.BatchNotStartable``, ``batches.BatchAlreadyActive`` (resuming an
    interrupted batch whose host got another active batch) or ``PasswordRequired``.
    """
    if batch.password_set and not password:
        raise PasswordRequired(_("Batch %(batch)s was started with an admin password; enter it "
                                 "again to resume it.") % {"batch": batch.pk})
    return _run(batch, lambda: batches.claim(batch, worker_name()), credentials, password,
                executor, resumed=batch.started_at is not None)


def _run(batch, claim, credentials, password, executor, resumed):
    """Check the login, take the batch's lease, ``claim()`` it in the database, start
    sending."""
    check_login(credentials)
    lease = _lease_for(batch)
    try:
        batch = claim()
    except BaseException:
        lease.release()
        raise
    remember_login(batch, credentials)  # another node can take over if this one dies
    owns_executor = executor is None
    executor = executor or _pool(batch)
    submission = Submission(batch, credentials, password, executor,
                            owns_executor=owns_executor, resumed=resumed, lease=lease,
                            window=submission_pacing.window_for(executor))
    with _running_lock:
        _running[str(batch.pk)] = submission
    submission.begin()
    return submission


def _lease_for(batch):
    lease = leases.Lease(batch.pk)
    if not lease.acquire():
        raise batches.BatchNotStartable("batch %s is being sent by another dashboard process"
                                        % batch.pk)
    return lease


class Submission(Tasks, ItemCalls):
    """One run of a batch's submission. ``wait`` blocks until it is over."""

    def __init__(self, batch, credentials, password, executor, owns_executor, resumed,
                 lease, window=None):
        self.batch_id = batch.pk
        self._worker = batch.worker  # as claimed: item writes are conditional on it
        self._lease = lease
        self.resumed = resumed
        self._batch = batch
        self._credentials = credentials
        self._password = password
        self._executor = executor
        self._owns_executor = owns_executor
        self._starter_thread = threading.current_thread()
        self._lock = threading.Lock()
        self._outstanding = 0
        self._errors = []
        self._done = threading.Event()
        self._login_expired = threading.Event()  # a 401: send nothing more
        self._shutting_down = threading.Event()  # the process exits: leave it to a takeover
        self._lost = []  # ids of items whose answer was lost, resolved before the run ends
        self._in_flight = set()  # of those, calls a dead run left in flight: sent if absent
        # The window of rebuilds in flight (``rules.pacing``), or None: calls alone bound it.
        self._pacer = (submission_pacing.PacedSender(self, window) if window is not None
                       else None)

    def __repr__(self):
        return "<Submission of batch %s%s>" % (self.batch_id, " (done)" if self.done else "")

    @property
    def done(self):
        return self._done.is_set()

    def wait(self, timeout=None):
        """True once every item was handled and the batch was finished."""
        return self._done.wait(timeout)

    def begin(self):
        self._ensure_audit()
        self._schedule(self._prepare)

    def _finish(self):
        self._password = None
        try:
            if self._shutting_down.is_set():
                return  # still in flight: another process takes it over (lease released)
            self._settle_lost_answers()  # may wait: the lease is checked after it
            if not self._lease.still_held():
                # Another process holds the batch now: its state is that process's to write.
                LOG.warning("Evacuation batch %s: lease lost; left to its new sender",
                            self.batch_id)
                return
            problems = list(self._errors)
            if self._login_expired.is_set():
                problems.insert(0, LOGIN_EXPIRED_MESSAGE)
            state = batches.finish_batch(self.batch_id, "; ".join(problems))
            forget_login(self.batch_id)  # the run is over: nothing left to take over
            LOG.info("Evacuation batch %s: submission over (%s)", self.batch_id, state)
            self._complete_audit()
        finally:
            if self._owns_executor:
                self._executor.shutdown(wait=False)
            with _running_lock:
                _running.pop(str(self.batch_id), None)
            self._lease.release()
            if threading.current_thread() is not self._starter_thread:
                db.connection.close()
            self._done.set()

    def _ensure_audit(self):
        """Safety net: whoever started this run, a pending audit record exists before any
        evacuate is sent (the forms write their own first; this writes one if they did
        not)."""
        try:
            audit.ensure_submission_record(self._batch, self._credentials, self.resumed)
        except Exception:
            LOG.exception("Evacuation batch %s: audit record not written", self.batch_id)

    def _complete_audit(self):
        """Give the batch's pending audit records their outcome and Nova request ids."""
        problems = ([LOGIN_EXPIRED_MESSAGE] if self._login_expired.is_set() else []) + \
            self._errors
        try:
            audit.batch_submission_ended(self.batch_id, "; ".join(problems))
        except Exception:  # the batch's own state is already safe; the record stays pending
            LOG.exception("Evacuation batch %s: audit record not completed", self.batch_id)

    # --- the work ---------------------------------------------------------------------
    def _prepare(self):
        if self._pacer is None:
            submission_pacing.forget(self._batch)  # an earlier paced run's window
        items = batches.items_to_submit(self.batch_id)
        paced = []
        # Answers lost by an earlier run are settled by this one too (never sent as they are).
        self._lost.extend(item.pk for item in batches.answer_lost_items(self.batch_id))
        already = self._evacuated_since_batch_began(items) if (self.resumed and items) else {}
        for item in items:
            migration_id = already.get(item.instance_id)
            if migration_id is not None:
                LOG.info("Evacuation batch %s: %s already has evacuation %s; not sent again",
                         self.batch_id, item.instance_id, migration_id)
                batches.mark_submitted(item.pk, None, found_migration_id=migration_id)
            elif (self.resumed and item.submit_state == batches.Item.SUBMITTING
                  and not self._in_flight_absent(item)):
                continue  # its call may have reached Nova: found, or now a lost answer
            elif self._pacer is not None:
                paced.append(item)
            else:
                self._schedule(self._send, item)
        if paced and self._owns_executor:
            # Beside the pool: its workers stay one per call, taking the calls in order.
            self._spawn(self._pacer.send, paced)
        elif paced:
            self._pacer.send(paced)  # a caller's executor (InlineExecutor(paced=True))


# ------------------------------------------------------------------------------ retry

def start_retry(batch, expected, credentials, password=None, executor=None):
    """Send failed items of a finished ``batch`` again, each as a new attempt of its item.

    ``expected``: ``{item_id: (attempt, submit_state)}`` of the items found failed (see
    ``batches.reopen_for_retry``, which claims the batch and resets them in one
    transaction, so "one active batch per host" holds for retries too).

    Unlike a resume this run does not skip instances that have an evacuation record since
    the batch began: the retried items are exactly the ones whose evacuation failed, and
    the batch has no other open item (``reopen_for_retry`` only reopens finished batches).
    If this run dies, resuming it is conservative as usual: an item whose new call may have
    reached Nova is recorded as submitted and shows Nova's latest outcome.
    Returns the ``Submission``; raises like ``start``.
    """
    if batch.password_set and not password:
        raise PasswordRequired(_("Batch %(batch)s was started with an admin password; enter it "
                                 "again to retry it.") % {"batch": batch.pk})
    return _run(batch, lambda: batches.reopen_for_retry(batch, expected, worker_name())[0],
                credentials, password, executor, resumed=False)
