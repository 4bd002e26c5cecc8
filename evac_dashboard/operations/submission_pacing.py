"""Pacing a submission by what Nova finishes, not only by calls in flight.

A paced run (``operations.submission``; setting EVAC_PACING, on by default) sends at most
``rules.pacing.Window.size`` evacuations whose rebuild is not over, in the batch's order
(restart priority), and adapts that size to how fast Nova completes them (``rules.pacing``).
Its ``PacedSender.send`` loop runs on a thread of its own beside the run's pool (whose
workers stay one per call, taking the calls in order), or inline on an ``InlineExecutor``:
it hands the pool what the window has room for, then waits EVAC_PACING_CHECK_SECONDS and
reads the batch's evacuation records (one list call per check whatever the batch's size;
a resume's checks also list the just-accepted ones, as its start does) and the items still
waiting (one database query: a cancelled item leaves the queue), and so on until every
item was sent.
Calls in flight stay bounded by the pool's ``batch.concurrency`` workers
(EVAC_SUBMIT_CONCURRENCY).

Before each send and each check it stops, leaving the rest pending, when the login expired
(a 401 anywhere, or the token's end: Resume sends the rest), the process is exiting (a
takeover sends the rest) or the lease was lost (the new sender does). An item's own call is
``ItemCalls._send``, unchanged: its writes, refusals and lost answers are as unpaced. Lost
answers and failed rebuilds cut the window; Nova's records unreadable ``MAX_READ_FAILURES``
times in a row and the run sends the rest as an unpaced run would.

The window is written on the batch (``EvacuationBatch.pacing``) whenever it or the count in
flight changes, and at least every ``HEARTBEAT_SECONDS`` while it waits, so every node's
progress page shows it (``progress_state``) and a waiting sender never looks idle.

Runs on an executor that says ``paced`` (the default thread pool, when EVAC_PACING is on);
an ``InlineExecutor`` is not paced unless made with ``paced=True`` (the caller would wait
for Nova's rebuilds); a test's own executor is not.
"""
import logging
import threading
import time

from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.api import actions
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.rules import pacing
from evac_dashboard.rules.external import CLOCK_SKEW_MARGIN
from evac_dashboard.operations import submission_runtime
from evac_dashboard.store import batches

LOG = logging.getLogger("evac_dashboard.operations.submission")

MAX_READ_FAILURES = 3
# While it waits, the sender writes its window again at least this often: the batch's last
# activity, which tells a waiting sender from a dead one when the coordination backend
# cannot be asked (EVAC_RESUME_STALE_SECONDS).
HEARTBEAT_SECONDS = 15


def _pause(seconds):
    """Wait between checks, ended at once when the process exits (tests replace it)."""
    submission_runtime.EXITING.wait(seconds)


def window_for(executor):
    """A new ``rules.pacing.Window`` from the settings when ``executor`` is paced, else
    None (the run sends as EVAC_SUBMIT_CONCURRENCY alone allows)."""
    if not conf.pacing() or not getattr(executor, "paced", False):
        return None
    return pacing.Window(pacing.Bounds(*conf.pacing_window()))


def progress_state(batch):
    """The window as the progress page shows it: ``active`` (the batch is being sent and
    paced), ``window``, ``in_flight``, ``minimum``, ``maximum`` (None when unknown)."""
    stored = getattr(batch, "pacing", None)
    stored = stored if isinstance(stored, dict) else {}

    def number(name):
        value = stored.get(name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    state = {name: number(name) for name in ("window", "in_flight", "minimum", "maximum")}
    state["active"] = bool(getattr(batch, "is_active", False) and state["window"] is not None)
    return state


def forget(batch):
    """An unpaced run clears what an earlier paced run of the batch wrote."""
    if getattr(batch, "pacing", None) is not None:
        Batch.objects.filter(pk=batch.pk, worker=batch.worker).update(pacing=None)


class PacedSender:
    """The paced sending of one ``Submission`` (see the module's docstring)."""

    def __init__(self, run, window, clock=time.monotonic):
        self._run = run
        self.window = window
        self.flight = pacing.Flight(conf.pacing_stall_seconds())
        self._check_seconds = conf.pacing_check_seconds()
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._published = None
        self._published_at = None
        self._since = run._batch.created_at - CLOCK_SKEW_MARGIN
        self._wanted = set()
        self.reads = 0  # Nova list calls made (one per check, two on a resume)

    # --- the loop -------------------------------------------------------------------
    def send(self, items):
        """Send ``items`` (in order) as the window allows; returns when all were handed to
        the executor, or the run must stop."""
        by_pk = {item.pk: item for item in items}
        queue = pacing.SendQueue(list(by_pk))
        self._wanted = set(Item.objects.filter(batch_id=self._run.batch_id)
                           .values_list("instance_id", flat=True))
        if len(queue) and (self._run.resumed or any(i.attempt > 1 for i in items)):
            self._check(queue)  # an earlier run's rebuilds, an earlier attempt's records
        while len(queue):
            if self._stopping():
                return
            with self._lock:
                room = self.window.room(self.flight.count(self._clock()))
            for pk in queue.take(room):
                self._schedule(by_pk[pk])
            self._publish()
            if not len(queue):
                return
            _pause(self._check_seconds)
            if self._stopping():
                return
            if not self._check(queue):
                LOG.warning("Evacuation batch %s: Nova's evacuation records cannot be read; "
                            "the rest is sent without pacing", self._run.batch_id)
                for pk in queue.rest():
                    self._schedule(by_pk[pk])
                return

    def _stopping(self):
        run = self._run
        if run._login_expired.is_set() or run._shutting_down.is_set():
            return True
        left = run._credentials.expires_in()
        if left is not None and left <= 0:
            run._stop_for_login()  # Nova would answer 401: the rest waits for a resume
            return True
        if not run._lease.still_held():
            LOG.warning("Evacuation batch %s: lease lost; the rest is left for the process "
                        "that holds it now", run.batch_id)
            return True
        return False

    def _schedule(self, item):
        with self._lock:
            self.flight.sent(item.instance_id, self._clock())
        self._run._schedule(self._send, item)

    def _send(self, item):
        """One item's call (``ItemCalls._send``), noted when answered."""
        accepted = False
        try:
            accepted = self._run._send(item)
        finally:
            with self._lock:
                lost = item.pk in self._run._lost  # Nova may have it
                self.flight.answered(item.instance_id, self._clock(),
                                     in_nova=True if accepted else (None if lost else False))
                if lost:
                    self.window.failed()

    # --- what Nova finished ---------------------------------------------------------
    def _check(self, queue):
        """Read the batch's records (``_records``) and the items still waiting; False
        when the records could not be read ``MAX_READ_FAILURES`` times in a row."""
        started = self._clock()
        try:
            records = self._records()
        except Exception as error:  # noqa: BLE001 - the window shrinks; the loop goes on
            if actions.error_status(error) == 401:
                self._run._stop_for_login()
                return True
            self._failures += 1
            LOG.warning("Evacuation batch %s: evacuation records not read (%s)",
                        self._run.batch_id, error)
            with self._lock:
                self.window.failed()
            return self._failures < MAX_READ_FAILURES
        self._failures = 0
        newest = pacing.newest_by_instance(records, self._wanted, self._since)
        with self._lock:
            for ended in self.flight.observe(newest, started, self._clock()):
                if ended.failed:
                    self.window.failed()
                else:
                    self.window.completed(ended.seconds)
        # Still open (pending, or a dead run's call Nova proved absent): else cancelled.
        queue.keep({item.pk for item in batches.items_to_submit(self._run.batch_id)})
        self._publish()
        return True

    def _records(self):
        """The batch's evacuation records: one list call. A resume's also lists the records
        just accepted, which that list skips (``updated_at`` still null): an earlier run's
        calls may be among them, while this run's own count from their answers."""
        credentials, host = self._run._credentials, self._run._batch.source_host
        if self._run.resumed:
            self.reads += 2
            return actions.evacuations_since_with_accepted(credentials, host, self._since)
        self.reads += 1
        return actions.evacuation_migrations(credentials, host, self._since)

    def _publish(self):
        """Write the window on the batch when it (or the count in flight) changed."""
        with self._lock:
            state = {"window": self.window.size,
                     "in_flight": self.flight.count(self._clock()),
                     "minimum": self.window.bounds.minimum,
                     "maximum": self.window.bounds.maximum}
        now = self._clock()
        if state == self._published and now - self._published_at < HEARTBEAT_SECONDS:
            return
        if state != self._published:
            LOG.info("Evacuation batch %s: window %d, %d in flight", self._run.batch_id,
                     state["window"], state["in_flight"])
        try:
            Batch.objects.filter(pk=self._run.batch_id, worker=self._run._worker).update(
                pacing=state, updated_at=timezone.now())
            self._published, self._published_at = state, now
        except Exception:  # noqa: BLE001 - only the page's display of the window
            LOG.warning("Evacuation batch %s: window not recorded", self._run.batch_id,
                        exc_info=True)
