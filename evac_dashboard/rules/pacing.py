"""How many evacuations a batch keeps rebuilding at once: the sending window.

Firing every evacuation of a host at once makes Nova's conductor, scheduler and the
destination computes compete, and each rebuild then takes longer (measured by ``make bench``:
the panel's 8 callers finished later than one caller). So the sender keeps at most
``Window.size`` rebuilds in flight, an evacuation counting from the moment its call is
sent until Nova's migration record says ``done``/``completed``/``failed``/``error``
(``Flight``), and it adapts the size to how fast Nova completes them:

* it starts at ``Bounds.start`` (4) and never leaves ``[Bounds.minimum, Bounds.maximum]``;
* every ``size`` completions (a round) it compares the round's median rebuild time with the
  shortest median seen (the baseline, at least ``MIN_SECONDS``). Like TCP Vegas, it
  estimates how many rebuilds wait in Nova's queues: ``size * (1 - baseline / median)``.
  Fewer than ``GROW_BELOW`` (1): the time per rebuild stayed flat, so one more fits (+1).
  More than ``SHRINK_ABOVE`` (2): it rose, so the window is cut to ``DECREASE`` (3/4) of
  itself. In between it holds;
* a failed rebuild, a lost answer or an unreadable record list cuts it the same way, once
  per round (several errors of one congested moment cut once).

Items are always taken in the batch's order (restart priority, ``SendQueue``): the window
only decides how many, never which. Plain Python: the sender (``operations``) gives it the
clock readings and Nova's records.
"""
from dataclasses import dataclass
import math
import statistics

from evac_dashboard.rules import services as svc

SUCCEEDED = ("done", "completed")
FAILED = ("failed", "error")
FINAL = SUCCEEDED + FAILED + ("cancelled",)

GROW_BELOW = 1.0     # rebuilds estimated waiting in Nova: fewer, and the window grows by one
SHRINK_ABOVE = 2.0   # more, and it is cut
DECREASE = 0.75      # the cut: to three quarters (at least one less)
MIN_SECONDS = 1.0    # Nova stamps records to the second: a shorter rebuild counts as 1 s


@dataclass(frozen=True)
class Bounds:
    """The window's limits (settings EVAC_PACING_MIN_WINDOW, _START_WINDOW, _MAX_WINDOW)."""

    minimum: int = 2
    start: int = 4
    maximum: int = 16

    def normalized(self):
        """Whole numbers with 1 <= minimum <= start <= maximum (the start is clamped)."""
        minimum = max(1, int(self.minimum))
        maximum = max(minimum, int(self.maximum))
        return Bounds(minimum, min(maximum, max(minimum, int(self.start))), maximum)


class Window:
    """The number of rebuilds that may be in flight (``size``), adapted to completions."""

    def __init__(self, bounds=Bounds()):
        self.bounds = bounds.normalized()
        self.size = self.bounds.start
        self.baseline = None   # the shortest round median seen (seconds)
        self._round = []       # rebuild times of the current round
        self._calm = 0         # completions to wait after a cut before errors cut again

    def __repr__(self):
        return "<Window %d in [%d, %d]>" % (self.size, self.bounds.minimum,
                                            self.bounds.maximum)

    def room(self, in_flight):
        """How many more may be sent with ``in_flight`` rebuilds in flight (never negative)."""
        return max(0, self.size - max(0, int(in_flight)))

    def _set(self, size):
        self.size = min(self.bounds.maximum, max(self.bounds.minimum, int(size)))

    def _cut(self):
        self._set(min(self.size - 1, math.floor(self.size * DECREASE)))
        self._round = []
        self._calm = self.size

    def completed(self, seconds):
        """One rebuild ended well after ``seconds`` (None or nonsense: not counted)."""
        try:
            seconds = float(seconds)
        except (TypeError, ValueError):
            return
        if not math.isfinite(seconds) or seconds < 0:
            return
        self._calm = max(0, self._calm - 1)
        self._round.append(max(MIN_SECONDS, seconds))
        if len(self._round) < self.size:
            return
        typical = statistics.median(self._round)
        self._round = []
        if self.baseline is None or typical < self.baseline:
            self.baseline = typical
        waiting = self.size * (1 - self.baseline / typical)
        if waiting < GROW_BELOW:
            self._set(self.size + 1)
        elif waiting > SHRINK_ABOVE:
            self._cut()

    def failed(self):
        """A rebuild failed, an answer was lost, or Nova's records could not be read."""
        if self._calm == 0:
            self._cut()


def rebuild_seconds(record):
    """How long Nova took for a finished record (``updated_at - created_at``, Nova's own
    clock), or None when a stamp is missing."""
    created = svc.parse_time((record or {}).get("created_at"))
    updated = svc.parse_time((record or {}).get("updated_at"))
    if created is None or updated is None:
        return None
    return max(0.0, (updated - created).total_seconds())


def newest_by_instance(records, wanted, since=None):
    """``{instance id: record}``: the newest evacuation record of each instance in ``wanted``
    created at or after ``since`` (an aware datetime; None: any)."""
    newest = {}
    for record in records:
        instance_id = record.get("instance_uuid")
        if instance_id not in wanted:
            continue
        created = svc.parse_time(record.get("created_at"))
        if since is not None and created is not None and created < since:
            continue
        key = (created.timestamp() if created else 0.0, record.get("id") or 0)
        if instance_id not in newest or key > newest[instance_id][0]:
            newest[instance_id] = (key, record)
    return {instance_id: pair[1] for instance_id, pair in newest.items()}


@dataclass(frozen=True)
class Completion:
    instance_id: str
    seconds: float | None
    failed: bool


class Flight:
    """What is in flight, from this sender's calls and Nova's records (times: one monotonic
    clock, in seconds).

    An instance counts while its call is unanswered, and once Nova accepted it until its
    newest record is final: Nova's ``changes-since`` list (filtered
    on ``updated_at``) skips a record whose ``updated_at`` is still null, one just accepted
    and queued in the conductor or scheduler, so an accepted call with no record in a read
    is in flight all the same. A refused call stops counting at its answer; one whose
    answer was lost counts while a record of it shows unfinished. Instances of
    the batch this sender did not send (an earlier run's) count by their records alone; the
    record an instance had when its call was sent (an earlier attempt's) is not this call's.
    A rebuild unfinished ``stall_seconds`` after its record was first seen (or, unseen, after
    its answer) stops counting: a stuck rebuild must not hold the window for ever.
    """

    def __init__(self, stall_seconds=300.0):
        self.stall_seconds = stall_seconds
        self._sent = {}        # instance id -> [sent at, answered at or None, in Nova]
        self._records = {}     # instance id -> newest record (last read)
        self._first_seen = {}  # (instance id, record key) -> when first seen unfinished
        self._read_started = None
        self._ended = set()    # instances of ours whose end was reported
        self._earlier = {}     # instance id -> key of its record when its call was sent

    def sent(self, instance_id, now):
        self._sent[instance_id] = [now, None, True]
        self._ended.discard(instance_id)
        earlier = self._records.pop(instance_id, None)
        if earlier is not None:
            self._earlier[instance_id] = self._key(earlier)

    def answered(self, instance_id, now, in_nova=True):
        """The call was answered. ``in_nova``: True, Nova accepted it; False, refused or
        never sent; None, the answer was lost (it counts only while a record of it shows
        unfinished: Nova may never have got it)."""
        if instance_id in self._sent:
            self._sent[instance_id][1:] = [now, in_nova]

    @staticmethod
    def _key(record):
        return str(record.get("uuid") or record.get("id") or "")

    def _unfinished(self, instance_id, now, unseen_since=None):
        record = self._records.get(instance_id)
        if record is None:
            return unseen_since is not None and now - unseen_since < self.stall_seconds
        if record.get("status") in FINAL:
            return False
        first = self._first_seen.get((instance_id, self._key(record)), now)
        return now - first < self.stall_seconds

    def observe(self, records, read_started, now):
        """Take a read of the records (``newest_by_instance``) that began at
        ``read_started``; returns the ``Completion`` of each rebuild of ours it ended."""
        self._records = {instance_id: record for instance_id, record in records.items()
                         if self._key(record) != self._earlier.get(instance_id, None)}
        self._read_started = read_started
        for instance_id, record in self._records.items():
            if record.get("status") not in FINAL:
                self._first_seen.setdefault((instance_id, self._key(record)), now)
        ended = []
        for instance_id, (sent_at, answered_at, in_nova) in self._sent.items():
            record = self._records.get(instance_id)
            if (instance_id in self._ended or answered_at is None or answered_at > read_started
                    or in_nova is False or record is None
                    or record.get("status") not in FINAL):
                continue
            seconds = rebuild_seconds(record)
            ended.append(Completion(instance_id, now - sent_at if seconds is None else seconds,
                                    record.get("status") not in SUCCEEDED))
            self._ended.add(instance_id)
        return ended

    def count(self, now):
        """Rebuilds in flight now."""
        count = 0
        for instance_id, (_sent_at, answered_at, in_nova) in self._sent.items():
            if answered_at is None:
                count += 1
            elif in_nova is False or instance_id in self._ended:
                continue
            elif in_nova is None:
                count += self._unfinished(instance_id, now)  # lost: by its record alone
            elif self._read_started is None or answered_at > self._read_started:
                count += 1  # that read could not see its record
            elif self._unfinished(instance_id, now, unseen_since=answered_at):
                count += 1
        return count + sum(1 for instance_id in self._records
                           if instance_id not in self._sent
                           and self._unfinished(instance_id, now))


class SendQueue:
    """The items still to send, in the batch's order: ``take`` gives the next ones."""

    def __init__(self, keys):
        self._keys = list(keys)
        self._next = 0

    def __len__(self):
        return len(self._keys) - self._next

    def take(self, count):
        """Up to ``count`` next keys, in order."""
        count = max(0, int(count))
        taken = self._keys[self._next:self._next + count]
        self._next += len(taken)
        return taken

    def keep(self, still_open):
        """Forget the waiting keys not in ``still_open`` (cancelled meanwhile)."""
        waiting = [key for key in self._keys[self._next:] if key in still_open]
        self._keys = self._keys[:self._next] + waiting

    def rest(self):
        """Every key left, in order (they are then taken)."""
        return self.take(len(self))
