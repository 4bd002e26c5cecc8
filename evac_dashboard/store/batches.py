"""Evacuation batches in the database: create, claim, record each item's outcome, finish.

Django ORM only, no Nova calls. State changes are single conditional UPDATEs ("move this
item from pending to submitting"), so a change another process or thread made first (a
cancel, a second node resuming the same batch) is never overwritten: the function reports
that nothing changed instead.

One active batch per source host is guaranteed by the UNIQUE ``active_source_host`` column
(see ``evac_dashboard.models``). ``create_batch`` relies on the database refusing the row, not
on a check beforehand, because two Horizon nodes sharing one database may race.
"""
import contextlib
from dataclasses import dataclass
import functools
import threading

from django.db import connection
from django.db import IntegrityError
from django.db import models as db_models
from django.db import transaction
from django.utils import timezone

from evac_dashboard import conf
from evac_dashboard.rules import priority
from evac_dashboard.rules import servers as srv
from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.models import EvacuationItem as Item
from evac_dashboard.models import ID_LENGTH


class BatchAlreadyActive(Exception):
    """Another batch is active for this source host; ``batch_id`` is the running one."""

    def __init__(self, source_host, batch_id):
        self.source_host = source_host
        self.batch_id = batch_id
        super().__init__("An evacuation of %s is already in progress (batch %s). Wait for it to "
                         "finish, or cancel it, before starting another one."
                         % (source_host, batch_id))


class BatchNotStartable(Exception):
    """The batch cannot be (re)started: it ended, or another process claimed it first."""


@dataclass(frozen=True)
class Initiator:
    """Who asks for the evacuation (the Keystone user and the project they are scoped to)."""

    user_id: str
    user_name: str = ""
    project_id: str = ""
    project_name: str = ""

    @classmethod
    def from_request(cls, request):
        user = request.user
        return cls(str(user.id), getattr(user, "username", "") or "",
                   getattr(user, "project_id", "") or "", getattr(user, "project_name", "") or "")


# In-memory sqlite (tests) and sqlite files refuse or stall concurrent writers; MySQL does
# not need this. The lock is per process, which is all sqlite supports anyway.
_sqlite_lock = threading.RLock()


def _serialized_on_sqlite(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if connection.vendor != "sqlite":
            return function(*args, **kwargs)
        with _sqlite_lock:
            return function(*args, **kwargs)
    return wrapper


def stored_options(options):
    """``EvacuateOptions`` as stored: everything but the password, and whether one was set."""
    return {
        "target_host": (options.target_host or "").strip() or None,
        "on_shared_storage": options.on_shared_storage,
        "force": bool(options.force),
        "keep_running": bool(options.keep_running),
        "password_set": bool(options.admin_password),
    }


# ---------------------------------------------------------------------------- creation

@_serialized_on_sqlite
def create_batch(*, kind, source_host, servers, options, microversion, initiator,
                 targets=None, concurrency=None):
    """Store a new active batch with one pending item per server, in submission order.

    ``servers``: Nova server dicts (``GET /servers/detail``), ordered here by restart
    priority. ``options``: the ``EvacuateOptions`` the request was built from (the password is
    not stored). ``microversion``: ``EvacuateRequest.microversion``. ``targets``: optional
    ``{server_id: host}`` overriding ``options.target_host`` per instance (a placement plan).
    Raises ``BatchAlreadyActive`` when the host already has an active batch.
    """
    if kind not in (Batch.KIND_INSTANCE, Batch.KIND_HOST):
        raise ValueError("unknown batch kind: %r" % (kind,))
    ordered = _unique_by_id(priority.submission_order(servers))
    if not ordered:
        raise ValueError("there is nothing to evacuate on %s" % source_host)
    stored = stored_options(options)
    targets = targets or {}
    for attempt in range(2):  # the running batch may end between the refusal and the look-up
        try:
            with transaction.atomic():
                batch = Batch.objects.create(
                    kind=kind, source_host=source_host, active_source_host=source_host,
                    user_id=initiator.user_id, user_name=initiator.user_name,
                    project_id=initiator.project_id, project_name=initiator.project_name,
                    microversion=microversion, options=stored,
                    target_host=stored["target_host"], keep_running=stored["keep_running"],
                    concurrency=concurrency or conf.submit_concurrency())
                Item.objects.bulk_create(
                    [_new_item(batch, server, position, targets, stored["target_host"])
                     for position, server in enumerate(ordered)], batch_size=500)
            return batch
        except IntegrityError:
            running = active_batch(source_host)
            if running is not None:
                raise BatchAlreadyActive(source_host, running.pk) from None
            if attempt:
                raise


def _unique_by_id(servers):
    seen, unique = set(), []
    for server in servers:
        if server.get("id") not in seen:
            seen.add(server.get("id"))
            unique.append(server)
    return unique


def _new_item(batch, server, position, targets, default_target):
    return Item(batch=batch, instance_id=server["id"], instance_name=srv.label(server),
                project_id=server.get("tenant_id") or server.get("project_id") or "",
                requested_target=targets.get(server["id"]) or default_target,
                priority=priority.restart_priority(server).value, position=position)


# ------------------------------------------------------------------------------ reading

def active_batch(source_host):
    """The active batch of ``source_host``, or None."""
    return Batch.objects.filter(active_source_host=source_host).first()


@_serialized_on_sqlite
def items_to_submit(batch_id):
    """Items not yet answered by Nova (pending, or submitting when a run was cut short), in
    submission order."""
    return list(Item.objects.filter(batch_id=batch_id, submit_state__in=Item.OPEN_STATES)
                .order_by("position"))


@_serialized_on_sqlite
def item_counts(batch_id):
    """``{submit_state: count}`` with every state present."""
    counts = dict.fromkeys((state for state, _label in Item.STATES), 0)
    for row in (Item.objects.filter(batch_id=batch_id).values("submit_state")
                .annotate(count=db_models.Count("id"))):
        counts[row["submit_state"]] = row["count"]
    return counts


# ------------------------------------------------------------------------- batch states

@_serialized_on_sqlite
def claim(batch, worker):
    """Mark ``batch`` submitting for ``worker`` ("host:pid"); returns it refreshed.

    Works from pending (first run), submitting (resume after a crash) and interrupted (the
    host lock is taken again, which can raise ``BatchAlreadyActive``). The UPDATE only
    matches the state and worker read before, so when two processes claim the same batch
    only one wins; the other gets ``BatchNotStartable``.
    """
    if batch.state not in (Batch.PENDING, Batch.SUBMITTING, Batch.INTERRUPTED):
        raise BatchNotStartable("batch %s is %s" % (batch.pk, batch.state))
    now = timezone.now()
    updates = {"state": Batch.SUBMITTING, "worker": worker, "error_message": "",
               "finished_at": None, "updated_at": now,
               "active_source_host": batch.source_host}
    if batch.started_at is None:
        updates["started_at"] = now
    try:
        with transaction.atomic():
            claimed = Batch.objects.filter(pk=batch.pk, state=batch.state,
                                           worker=batch.worker).update(**updates)
    except IntegrityError:
        running = active_batch(batch.source_host)
        raise BatchAlreadyActive(batch.source_host, running.pk if running else None) from None
    if claimed != 1:
        raise BatchNotStartable("batch %s was started by another process" % batch.pk)
    batch.refresh_from_db()
    return batch


@_serialized_on_sqlite
def finish_batch(batch_id, error_message=""):
    """End the batch's submission and release its host.

    The state follows from the items: ``interrupted`` while any item is still open (the
    run stopped early; it can be resumed), ``cancelled`` when every item was cancelled,
    otherwise ``finished``. Returns the state set.
    """
    counts = item_counts(batch_id)
    if any(counts[state] for state in Item.OPEN_STATES):
        state = Batch.INTERRUPTED
    elif counts[Item.CANCELLED] == sum(counts.values()):
        state = Batch.CANCELLED
    else:
        state = Batch.FINISHED
    now = timezone.now()
    _batch_row(batch_id).update(
        state=state, active_source_host=None, finished_at=now, updated_at=now,
        error_message=error_message or "")
    return state


# -------------------------------------------------------------------------- item states

# ------------------------------------------------------------------- whose writes count

_writer = threading.local()


@contextlib.contextmanager
def written_by(worker):
    """Inside, item and batch writes change only a batch that ``worker`` still holds (its
    claim, ``batch.worker``): a sender that lost its batch to a takeover (paused past its
    lease, cut off) writes nothing over the new sender's records."""
    previous = getattr(_writer, "worker", None)
    _writer.worker = worker
    try:
        yield
    finally:
        _writer.worker = previous


def _item(item_id, **conditions):
    found = Item.objects.filter(pk=item_id, **conditions)
    worker = getattr(_writer, "worker", None)
    return found.filter(batch__worker=worker) if worker else found


def _batch_row(batch_id):
    found = Batch.objects.filter(pk=batch_id)
    worker = getattr(_writer, "worker", None)
    return found.filter(worker=worker) if worker else found


def active_batch_ids():
    """Ids of the batches in flight (pending or submitting), oldest first."""
    return list(Batch.objects.filter(state__in=Batch.ACTIVE_STATES)
                .order_by("created_at").values_list("pk", flat=True))


def open_instance_ids(batch_id):
    return list(Item.objects.filter(batch_id=batch_id, submit_state__in=Item.OPEN_STATES)
                .order_by("position").values_list("instance_id", flat=True))


@_serialized_on_sqlite
def mark_submitting(item_id):
    """Record that the evacuate call is about to be sent. False when the item is no longer
    open (cancelled, or answered meanwhile): then it must not be sent."""
    now = timezone.now()
    return _item(item_id, submit_state__in=Item.OPEN_STATES).update(
        submit_state=Item.SUBMITTING, submitting_at=now, updated_at=now) == 1


@_serialized_on_sqlite
def mark_submitted(item_id, request_id, found_migration_id=None):
    """Nova accepted the evacuate (or, on resume, already had one: ``found_migration_id``)."""
    now = timezone.now()
    return _item(item_id, submit_state__in=Item.OPEN_STATES).update(
        submit_state=Item.SUBMITTED, request_id=request_id, submitted_at=now, updated_at=now,
        found_migration_id=found_migration_id, error_status=None, error_message="",
        advice_code="", retryable=None) == 1


@_serialized_on_sqlite
def mark_submit_failed(item_id, advice, error_status=None, request_id=None):
    """Nova refused the evacuate, or it could not be sent; ``advice`` is an
    ``errors.Advice``."""
    now = timezone.now()
    return _item(item_id, submit_state__in=Item.OPEN_STATES).update(
        submit_state=Item.SUBMIT_FAILED, request_id=request_id, failed_at=now, updated_at=now,
        error_status=error_status, error_message=advice.nova_message or advice.advice,
        advice_code=advice.code, retryable=advice.retryable) == 1


@_serialized_on_sqlite
def mark_answer_lost(item_id, advice, what, error_status=None, request_id=None):
    """The evacuate was sent but its answer was lost (``what`` happened instead): Nova may
    have accepted it (state ``unknown``, resolved later from Nova's records, never sent
    again as it is)."""
    now = timezone.now()
    return _item(item_id, submit_state=Item.SUBMITTING).update(
        submit_state=Item.UNKNOWN, request_id=request_id, answer_lost_at=now, checked_at=None,
        updated_at=now, error_status=error_status, error_message=what,
        advice_code=advice.code, retryable=None) == 1


@_serialized_on_sqlite
def mark_found(item_id, found_id, from_states=(Item.UNKNOWN,)):
    """Nova has an evacuation of an item whose answer was lost (``found_id``: the
    migration, or ``action:<request id>``): it was accepted, its progress is Nova's."""
    now = timezone.now()
    return _item(item_id, submit_state__in=from_states).update(
        submit_state=Item.SUBMITTED, found_migration_id=found_id[:ID_LENGTH],
        submitted_at=now, checked_at=now, updated_at=now, advice_code="", retryable=None,
        error_status=None, error_message="") == 1


@_serialized_on_sqlite
def mark_not_received(item_id, advice):
    """Nova shows no trace of an item whose answer was lost: it did not take effect, and
    it may be sent again (``submit_failed``, retryable; ``error_message`` still says what
    happened to the answer)."""
    now = timezone.now()
    return _item(item_id, submit_state=Item.UNKNOWN).update(
        submit_state=Item.SUBMIT_FAILED, failed_at=now, checked_at=now, updated_at=now,
        advice_code=advice.code, retryable=advice.retryable) == 1


@_serialized_on_sqlite
def mark_to_send_again(item_id):
    """A call a dead run had in flight, proven never received by Nova: the item waits to
    be sent, as if that call had never been made."""
    now = timezone.now()
    return _item(item_id, submit_state=Item.UNKNOWN).update(
        submit_state=Item.PENDING, submitting_at=None, answer_lost_at=None, checked_at=now,
        updated_at=now, error_status=None, error_message="", advice_code="",
        retryable=None) == 1


@_serialized_on_sqlite
def mark_checked(item_id):
    """Nova was asked about a lost answer and could not tell yet."""
    now = timezone.now()
    _item(item_id, submit_state=Item.UNKNOWN).update(checked_at=now,
                                                                      updated_at=now)


@_serialized_on_sqlite
def mark_pending_again(item_id):
    """The evacuate was refused before Nova saw it (the login expired: 401): the item
    waits to be sent again, as if its call had never been made."""
    now = timezone.now()
    return _item(item_id, submit_state=Item.SUBMITTING).update(
        submit_state=Item.PENDING, submitting_at=None, updated_at=now) == 1


@_serialized_on_sqlite
def answer_lost_items(batch_id, item_ids=None):
    """The batch's items whose answer was lost (state ``unknown``), in order."""
    found = Item.objects.filter(batch_id=batch_id, submit_state=Item.UNKNOWN)
    if item_ids is not None:
        found = found.filter(pk__in=list(item_ids))
    return list(found.order_by("position"))


@_serialized_on_sqlite
def cancel_pending_items(batch_id):
    """Cancel the items not yet being sent; returns how many. An item whose call is in
    flight (submitting) cannot be taken back."""
    now = timezone.now()
    return Item.objects.filter(batch_id=batch_id, submit_state=Item.PENDING).update(
        submit_state=Item.CANCELLED, cancelled_at=now, updated_at=now)


# ------------------------------------------------------------- retry, cancel, resume
# Added for the progress page (content/batches, operations/evacuations).

@_serialized_on_sqlite
def cancel_items(batch_id, item_ids):
    """Cancel these items if they are still pending (not yet being sent); returns how
    many were cancelled. Items already in flight or answered are left alone."""
    now = timezone.now()
    return Item.objects.filter(batch_id=batch_id, pk__in=list(item_ids),
                               submit_state=Item.PENDING).update(
        submit_state=Item.CANCELLED, cancelled_at=now, updated_at=now)


def current_state(batch_id):
    """The batch's state as the database has it now (None: no such batch)."""
    return Batch.objects.filter(pk=batch_id).values_list("state", flat=True).first()


@_serialized_on_sqlite
def open_item_count(batch_id):
    """How many items are not yet answered by Nova (pending or submitting)."""
    return Item.objects.filter(batch_id=batch_id, submit_state__in=Item.OPEN_STATES).count()


@_serialized_on_sqlite
def last_activity(batch):
    """The latest time the batch or any of its items was written (a live submission writes
    an item at every call it sends and every answer it gets)."""
    latest = Item.objects.filter(batch_id=batch.pk).aggregate(
        latest=db_models.Max("updated_at"))["latest"]
    return max(t for t in (batch.updated_at, latest, batch.created_at) if t is not None)


@_serialized_on_sqlite
def reopen_for_retry(batch, expected, worker):
    """Claim a finished ``batch`` again to send some of its items once more.

    ``expected``: ``{item_id: (attempt, submit_state)}`` as read when the items were found
    failed. Each item still in that attempt and state goes back to ``pending`` as attempt
    + 1 with its previous outcome cleared; an item changed meanwhile (another retry won) is
    skipped. The batch becomes ``submitting`` for ``worker`` and takes its host again, all
    in one transaction: raises ``BatchAlreadyActive`` when the host has another active batch
    and ``BatchNotStartable`` when the batch is not finished (or another process claimed it
    first) or no item could be reset. Returns ``(batch refreshed, items reset)``.
    """
    if batch.state != Batch.FINISHED:
        raise BatchNotStartable("batch %s is %s" % (batch.pk, batch.state))
    now = timezone.now()
    groups = {}
    for item_id, (attempt, state) in expected.items():
        if state in (Item.SUBMIT_FAILED, Item.SUBMITTED):
            groups.setdefault((attempt, state), []).append(item_id)
    try:
        with transaction.atomic():
            claimed = Batch.objects.filter(pk=batch.pk, state=Batch.FINISHED,
                                           worker=batch.worker).update(
                state=Batch.SUBMITTING, worker=worker, error_message="", finished_at=None,
                updated_at=now, active_source_host=batch.source_host)
            if claimed != 1:
                raise BatchNotStartable("batch %s was started by another process" % batch.pk)
            reset = 0
            for (attempt, state), ids in groups.items():
                reset += Item.objects.filter(
                    batch_id=batch.pk, pk__in=ids, attempt=attempt, submit_state=state).update(
                    submit_state=Item.PENDING, attempt=db_models.F("attempt") + 1,
                    request_id=None, error_status=None, error_message="", advice_code="",
                    retryable=None, found_migration_id=None, submitting_at=None,
                    submitted_at=None, failed_at=None, answer_lost_at=None, checked_at=None,
                    updated_at=now)
            if not reset:
                raise BatchNotStartable("nothing left to retry in batch %s" % batch.pk)
    except IntegrityError:
        running = active_batch(batch.source_host)
        raise BatchAlreadyActive(batch.source_host, running.pk if running else None) from None
    batch.refresh_from_db()
    return batch, reset
