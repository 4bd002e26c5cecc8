"""The plumbing of a submission run (``operations.submission``): the executors its tasks run
on, the runs alive in this process, the admin passwords Nova answered with, and the task
bookkeeping of one run (``Tasks``: each task counted while it is queued or running; the
last one to end finishes the run). Nothing here sends an evacuate or writes an item.
"""
import atexit
from concurrent import futures
import logging
import os
import socket
import threading
import time

from django import db

from evac_dashboard.api import actions
from evac_dashboard.store import batches

LOG = logging.getLogger("evac_dashboard.operations.submission")


# -------------------------------------------------------------------------- executors

class InlineExecutor:
    """Runs each task at once in the calling thread: ``start`` then returns only when the
    batch is done. For tests and command-line tools. Not paced unless ``paced=True``
    (``operations.submission_pacing``: the caller then also waits for Nova's rebuilds)."""

    def __init__(self, paced=False):
        self.paced = paced

    def submit(self, function, *args, **kwargs):
        future = futures.Future()
        try:
            future.set_result(function(*args, **kwargs))
        except BaseException as error:  # noqa: B036 - handed over like a real executor would
            future.set_exception(error)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


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

# Set when this process exits: the paced loops' waits end at once (``submission_pacing``).
EXITING = threading.Event()
EXIT_GRACE_SECONDS = 3.0


def leave_on_exit(grace=EXIT_GRACE_SECONDS):
    """At interpreter exit (a graceful reload, a stop): every run of this process stops
    sending and lets its lease go, so another process takes its batch over at once. The
    paced loop runs on a daemon thread, which Python would freeze in its wait, holding the
    lease until it expires (deploy-test, graceful: 15.2 s instead of 0.5 s)."""
    EXITING.set()
    with _running_lock:
        runs = list(_running.values())
    for run in runs:
        run._shutting_down.set()
    deadline = time.monotonic() + grace
    for run in runs:
        run.wait(max(0.0, deadline - time.monotonic()))


atexit.register(leave_on_exit)


def running_submission(batch_id):
    """The ``Submission`` of ``batch_id`` running in this process, or None."""
    with _running_lock:
        return _running.get(str(batch_id))


# ---------------------------------------------------------------------- task bookkeeping

class Tasks:
    """The tasks of one run on its executor: ``_schedule`` counts a task in, ``_task_done``
    out; the last one out calls ``_finish`` (the subclass's). A 401 from any task stops the
    sending (``_login_expired``); a pool that refuses work because the process is exiting
    leaves the batch in flight for a takeover (``_shutting_down``)."""

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

    def _spawn(self, function, *args):
        """Run ``function`` as one of the run's tasks on a thread of its own (the paced
        loop, which waits: it must not hold one of the pool's workers)."""
        with self._lock:
            self._outstanding += 1
        try:
            threading.Thread(target=self._run_task, args=(function,) + args,
                             name="evac-pace-%s" % self.batch_id, daemon=True).start()
        except RuntimeError as error:  # no more threads (the process is exiting)
            LOG.warning("Evacuation batch %s: no thread for the paced sending (%s); the batch "
                        "is left in flight for another process to take over",
                        self.batch_id, error)
            self._shutting_down.set()
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

