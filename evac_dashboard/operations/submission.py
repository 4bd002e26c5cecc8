"""Sending a batch's evacuate requests off the request path.

``start`` claims the batch in the database and hands the work to a thread pool, then
returns: the view redirects at once, however many instances the host holds. Workers send one
evacuate each, at most ``batch.concurrency`` at a time (setting EVAC_SUBMIT_CONCURRENCY), in
the batch's item order, which is restart-priority order. Each item is written before its
call (``submitting``) and as soon as Nova answers (``submitted`` with the request ID, or
``submit_failed`` with the advice from ``rules.errors``), so after a crash the database
says which calls were made and which may have been in flight.

Resuming (a batch that already started once) first asks Nova, in one request, which
instances of the source host have an evacuation record created since the batch began; those
are recorded as submitted and never sent again, whichever state their item was left in.

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
"""
from concurrent import futures
import logging
import os
import socket
import threading
import time

from django import db
from django.utils import timezone

from evac_dashboard.store import audit
from evac_dashboard.api import actions
from evac_dashboard.operations import leases
from evac_dashboard.operations import lost_answers
from evac_dashboard.operations.credentials import (  # noqa: F401 (submission.Credentials...)
    LOGIN_EXPIRED_MESSAGE, LOGIN_MARGIN_SECONDS, Credentials, LoginExpiring, check_login,
    forget_login, remember_login)
from evac_dashboard.store import batches
from evac_dashboard.rules import errors
from evac_dashboard.rules import request as evac_request
from evac_dashboard.rules import services as svc

LOG = logging.getLogger(__name__)

# Nova's clock and ours may differ: an evacuation record created up to this long before the
# batch began still counts as "since the batch began". Erring this way can only skip an
# instance, never evacuate it twice.
from evac_dashboard.rules.external import CLOCK_SKEW_MARGIN  # noqa: E402 (one definition)


class PasswordRequired(Exception):
    """The batch was started with an admin password; resuming it needs the password again
    (it is never stored)."""


# -------------------------------------------------------------------------- executors

class InlineExecutor:
    """Runs each task at once in the calling thread: ``start`` then returns only when the
    batch is done. For tests and command-line tools."""

    def submit(self, function, *args, **kwargs):
        future = futures.Future()
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as error:  # noqa: B036 - handed over like a real executor would
            future.set_exception(error)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def _pool(batch):
    return futures.ThreadPoolExecutor(max_workers=max(1, batch.concurrency),
                                      thread_name_prefix="evac-submit")


def worker_name():
    return "%s:%d" % (socket.gethostname(), os.getpid())


# ---------------------------------------------------------------- passwords Nova returns

class ReturnedPasswords:
    """Admin passwords Nova answered with (microversions below 2.14 only), held in this
    process's memory for the user whose run sent the evacuate: only that user's page load
    takes them, each once; any other user's sees and consumes nothing. Forgotten after
    ``KEEP_SECONDS`` (10 minutes) if not taken. Never written to the database, the session,
    a cache or a log. With several dashboard processes, only a page served by the process
    that sent the batch can show them."""

    KEEP_SECONDS = 600

    def __init__(self, clock=time.monotonic):
        self._lock = threading.Lock()
        self._passwords = {}  # (batch id, instance id) -> (owner, password, forget at)
        self._clock = clock

    def _forget_expired(self, now):
        for key in [k for k, v in self._passwords.items() if v[2] <= now]:
            del self._passwords[key]

    def put(self, batch_id, instance_id, password, owner):
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            self._passwords[(str(batch_id), instance_id)] = (
                str(owner), password, now + self.KEEP_SECONDS)

    def take(self, batch_id, instance_id, user_id):
        """The password if ``user_id`` owns it (it is then forgotten), else None."""
        with self._lock:
            self._forget_expired(self._clock())
            key = (str(batch_id), instance_id)
            held = self._passwords.get(key)
            if held is None or user_id is None or held[0] != str(user_id):
                return None
            del self._passwords[key]
            return held[1]


returned_passwords = ReturnedPasswords()

_running = {}
_running_lock = threading.Lock()


def running_submission(batch_id):
    """The ``Submission`` of ``batch_id`` running in this process, or None."""
    with _running_lock:
        return _running.get(str(batch_id))


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
        raise PasswordRequired("Batch %s was started with an admin password; enter it again "
                               "to resume it." % batch.pk)
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
    submission = Submission(batch, credentials, password, executor or _pool(batch),
                            owns_executor=executor is None, resumed=resumed, lease=lease)
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


class Submission:
    """One run of a batch's submission. ``wait`` blocks until it is over."""

    def __init__(self, batch, credentials, password, executor, owns_executor, resumed,
                 lease):
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

    # --- scheduling ------------------------------------------------------------------
    def _schedule(self, function, *args):
        with self._lock:
            self._outstanding += 1
        try:
            self._executor.submit(self._run_task, function, *args)
        except RuntimeError as error:  # the process is exiting (a reload, a stop)
            LOG.warning("Evacuation batch %s: this process is shutting down (%s); the batch "
                        "is left in flight for another process to take over",
                        self.batch_id, error)
            self._shutting_down.set()
            self._task_done()
        except Exception as error:  # the pool refused
            self._task_failed(function, error)
            self._task_done()

    def _run_task(self, function, *args):
        in_worker = threading.current_thread() is not self._starter_thread
        with batches.written_by(self._worker):  # nothing written once another took over
            try:
                if in_worker:
                    db.close_old_connections()
                function(*args)
            except Exception as error:
                self._task_failed(function, error)
            finally:
                if in_worker:  # a MySQL connection per dead worker thread would leak
                    db.connection.close()
                self._task_done()

    def _task_failed(self, function, error):
        if actions.error_status(error) == 401:
            self._stop_for_login()
            return
        LOG.exception("Submission of evacuation batch %s: %s failed", self.batch_id,
                      getattr(function, "__name__", function))
        with self._lock:
            self._errors.append("%s: %s" % (type(error).__name__, error))

    def _stop_for_login(self):
        if not self._login_expired.is_set():
            LOG.warning("Evacuation batch %s: the login expired; sending stops, the rest "
                        "waits for a resume", self.batch_id)
        self._login_expired.set()

    def _task_done(self):
        with self._lock:
            self._outstanding -= 1
            last = self._outstanding == 0
        if last:
            self._finish()

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
        items = batches.items_to_submit(self.batch_id)
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
            else:
                self._schedule(self._send, item)

    def _in_flight_absent(self, item):
        """A call a dead run had in flight (resume): True when Nova proves it never acted on
        it (then it is sent). Otherwise the item is recorded as Nova has it, or as a lost
        answer this run settles before it ends."""
        try:
            finding = lost_answers.check(self._credentials, item)
        except Exception as error:  # noqa: BLE001 - Nova unreadable: settled later
            finding = lost_answers.rules.Finding(lost_answers.WAIT, reason=str(error))
        if finding.verdict == lost_answers.ABSENT:
            return True
        if finding.verdict == lost_answers.FOUND:
            batches.mark_found(item.pk, finding.found_id, from_states=batches.Item.OPEN_STATES)
            return False
        what = "the dashboard stopped while the call was in flight"
        batches.mark_answer_lost(item.pk, errors.answer_lost(what), what)
        self._lost.append(item.pk)
        self._in_flight.add(item.pk)
        return False

    def _settle_lost_answers(self):
        """Before the run ends: ask Nova about every answer lost in it, once the requests
        can no longer be inside nova-api (``lost_answers.deadline``)."""
        if not self._lost or self._login_expired.is_set():
            return  # with an expired login Nova cannot be asked; Resume settles them
        try:
            lost = batches.answer_lost_items(self.batch_id, self._lost)
            if not lost:
                return
            wait = (max(lost_answers.deadline(item) for item in lost) - timezone.now())
            wait = min(wait.total_seconds(), lost_answers.settle_seconds())
            if wait > 0 and self._lease.still_held():
                threading.Event().wait(wait)
            lost_answers.resolve_all(self._credentials,
                                     [i for i in lost if i.pk not in self._in_flight])
            for item in (i for i in lost if i.pk in self._in_flight):
                self._send_if_never_received(item)
        except Exception:  # they stay unknown: a retry or a resume asks Nova again
            LOG.exception("Evacuation batch %s: lost answers not settled", self.batch_id)

    def _send_if_never_received(self, item):
        """A dead run's call Nova proves it never got is this resume's to send."""
        if (lost_answers.resolve_or_free(self._credentials, item).verdict == lost_answers.ABSENT
                and self._lease.still_held() and batches.mark_to_send_again(item.pk)):
            self._send(item)

    def _evacuated_since_batch_began(self, items):
        """``{instance_id: migration id}`` for the items Nova already has an evacuation of,
        created since the batch began (one request, whatever the number of items)."""
        since = self._batch.created_at - CLOCK_SKEW_MARGIN
        wanted = {item.instance_id for item in items}
        found = {}
        for migration in actions.evacuation_migrations(self._credentials,
                                                       self._batch.source_host, since):
            instance_id = migration.get("instance_uuid")
            created = svc.parse_time(migration.get("created_at"))
            if instance_id in wanted and (created is None or created >= since):
                found.setdefault(instance_id, str(migration.get("uuid") or migration.get("id")))
        return found

    def _send(self, item):
        if not self._lease.still_held():
            LOG.warning("Evacuation batch %s: lease lost; %s is left for the process that "
                        "holds it now", self.batch_id, item.instance_id)
            return
        left = self._credentials.expires_in()
        if left is not None and left <= 0:
            self._stop_for_login()  # Nova would answer 401: do not even ask
        if self._login_expired.is_set():
            return  # stays pending for a resume after logging in again
        if not batches.mark_submitting(item.pk):
            return  # cancelled (or answered) since it was queued
        try:
            evacuate_request = self._request_for(item)
        except evac_request.OptionError as error:
            batches.mark_submit_failed(item.pk, errors.Advice(
                "invalid_options", "The options cannot be sent for this instance", str(error),
                "", False))
            return
        try:
            result = actions.evacuate(self._credentials, item.instance_id, evacuate_request)
        except Exception as error:  # every refusal or transport failure is the item's outcome
            self._failed(item, error)
            return
        if result.admin_pass:
            returned_passwords.put(self.batch_id, item.instance_id, result.admin_pass,
                                   owner=self._credentials.user.id)
        batches.mark_submitted(item.pk, result.request_id)

    def _failed(self, item, error):
        """Record a failed evacuate call as what it means (``actions.failure_kind``)."""
        kind = actions.failure_kind(error)
        if kind == actions.LOGIN_EXPIRED:
            batches.mark_pending_again(item.pk)  # refused before Nova saw it
            self._stop_for_login()
            return
        status, request_id = actions.error_status(error), actions.error_request_id(error)
        if kind == actions.ANSWER_LOST:
            what = actions.lost_answer_text(error)
            LOG.warning("Evacuation batch %s: the answer to the evacuate of %s was lost (%s); "
                        "asking Nova", self.batch_id, item.instance_id, what)
            batches.mark_answer_lost(item.pk, errors.answer_lost(what), what, status,
                                     request_id)
            with self._lock:
                self._lost.append(item.pk)
            # Accepted and then the answer lost: its record is there already (one request).
            for lost in batches.answer_lost_items(self.batch_id, [item.pk]):
                lost_answers.resolve(self._credentials, lost, quick=True)
            return
        advice = actions.advice_for(error, self._batch.source_host)
        LOG.warning("Evacuation batch %s: evacuate of %s failed (%s)",
                    self.batch_id, item.instance_id, advice.code)
        batches.mark_submit_failed(item.pk, advice, status, request_id)

    def _request_for(self, item):
        """The evacuate request for one item, at the batch's microversion.

        ``build_request`` at the microversion it chose itself chooses it again, so the body
        is the one the operator's options gave when the batch was created, plus the
        password held in memory.
        """
        stored = self._batch.options or {}
        options = evac_request.EvacuateOptions(
            target_host=item.requested_target,
            admin_password=self._password,
            on_shared_storage=stored.get("on_shared_storage"),
            force=bool(stored.get("force")),
            keep_running=self._batch.keep_running)
        return evac_request.build_request(options, self._batch.microversion)



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
        raise PasswordRequired("Batch %s was started with an admin password; enter it again "
                               "to retry it." % batch.pk)
    return _run(batch, lambda: batches.reopen_for_retry(batch, expected, worker_name())[0],
                credentials, password, executor, resumed=False)
