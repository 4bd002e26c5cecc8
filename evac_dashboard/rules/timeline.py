"""The recovery timeline of a batch: from the facts the panel recorded to phases and totals.

Plain Python (no Django): the facts come in as ``BatchFacts`` (times are aware datetimes on
the dashboard's clock), the answer is a ``Timeline`` with one lane for the failed host
(fence, force down, disable: the audit log's records around the batch), one for the batch
(its own actions: created, retried, resumed, taken over, cancelled) and one per instance
(its current attempt: waiting to be sent, being sent, answer lost, rebuilding in Nova, and
how it ended).

Where the time went (``Timeline.breakdown``) splits the whole span, from the first fact to
the last, into phases that never overlap: at each instant the most urgent thing going on
names it, in the order of ``PRIORITY`` (while any instance is still waiting or being sent the
recovery is *sending*; once all are sent and some rebuild, *rebuilding*; a stretch with
nothing recorded is *between steps*). The parts add up to the total.

Before the first step, the host lane shows what Nova's service record said when the
operator acted (``host_signs``, kept in the fence, force-down and host-evacuation records):
from nova-compute's last heartbeat, *no heartbeat* while Nova still showed the service up,
then *seen down* from when Nova's ``service_down_time`` ran out until the first step. So the
total runs from when the host went silent, and says how long detection and reaction took.

Only what was recorded is shown: the panel stores no stage times (only the names of the
stages an attempt passed, ``ItemFacts.stages``), and a retried item keeps the times of its
current attempt only.
"""
from dataclasses import dataclass
import datetime

from evac_dashboard.rules import services

# Phases of the host lane (audit actions).
FENCING = "fencing"
FORCING_DOWN = "forcing_down"
DISABLING = "disabling"
# Phases of an instance lane.
QUEUED = "queued"            # waiting to be sent
SENDING = "sending"          # the evacuate call in flight
ANSWER_LOST = "answer_lost"  # sent, answer lost, Nova being asked
REBUILDING = "rebuilding"    # Nova accepted it; until it was seen done or failed
# Phases of the host lane before the first step (from Nova's service record).
SILENT = "silent"            # no heartbeat since, Nova still shows the service up
SEEN_DOWN = "seen_down"      # Nova shows the service down, nothing done yet
# Breakdown only: nothing recorded going on.
WAITING = "waiting"

PHASES = (SILENT, SEEN_DOWN, FENCING, FORCING_DOWN, DISABLING, QUEUED, SENDING, ANSWER_LOST,
          REBUILDING, WAITING)
# Marks of the host lane.
LAST_HEARTBEAT = "last_heartbeat"
SEEN_DOWN_MARK = "seen_down"

# Audit actions on the host that belong on the timeline, and the phase each one is.
HOST_PHASES = {"fence": FENCING, "fence_override": FENCING, "force_down": FORCING_DOWN,
               "disable": DISABLING}
HOST_ACTIONS = tuple(HOST_PHASES)
# Actions that end a host's failure: records before the last of these (before the batch)
# belong to an earlier incident.
HOST_RESTORED_ACTIONS = ("unset_force_down", "enable", "power_on")
# How far before the batch the host's records are looked for.
LOOKBACK = datetime.timedelta(hours=1)
# Audit actions on the batch (marks on its lane; an item's wait starts at the latest one).
BATCH_ACTIONS = ("evacuate", "host_evacuate", "retry", "resume", "takeover", "cancel")
SEND_ACTIONS = ("evacuate", "host_evacuate", "retry", "resume", "takeover")

# The breakdown's sweep: at each instant, the first of these going on names it.
PRIORITY = ((SENDING, (QUEUED, SENDING, ANSWER_LOST)), (REBUILDING, (REBUILDING,)),
            (FENCING, (FENCING,)), (FORCING_DOWN, (FORCING_DOWN,)),
            (DISABLING, (DISABLING,)), (SEEN_DOWN, (SEEN_DOWN,)), (SILENT, (SILENT,)))

# How an instance lane ended.
END_DONE = "done"
END_FAILED = "failed"
END_REFUSED = "refused"
END_CANCELLED = "cancelled"

LANE_HOST = "host"
LANE_BATCH = "batch"
LANE_INSTANCE = "instance"


@dataclass(frozen=True)
class Record:
    """One audit record: ``action`` taken at ``started``, completed at ``ended``."""

    action: str
    started: datetime.datetime
    ended: datetime.datetime | None = None
    outcome: str = ""
    user: str = ""
    detail: str = ""
    nova_state: str = ""                        # Nova's service state when it was read
    heartbeat: datetime.datetime | None = None  # nova-compute last heard from, by then


@dataclass(frozen=True)
class ItemFacts:
    """One item's recorded times (its current attempt)."""

    item_id: int
    instance_id: str
    name: str
    position: int = 0
    attempt: int = 1
    submit_state: str = "pending"
    submitting_at: datetime.datetime | None = None
    submitted_at: datetime.datetime | None = None
    failed_at: datetime.datetime | None = None
    cancelled_at: datetime.datetime | None = None
    answer_lost_at: datetime.datetime | None = None
    outcome_state: str = ""        # this attempt's recorded outcome (done, failed, ...)
    outcome_at: datetime.datetime | None = None
    outcome_host: str = ""
    stages: tuple = ()


@dataclass(frozen=True)
class BatchFacts:
    batch_id: str
    source_host: str
    state: str
    created_at: datetime.datetime
    now: datetime.datetime
    active: bool = False
    started_at: datetime.datetime | None = None
    finished_at: datetime.datetime | None = None
    host_records: tuple = ()   # Record, host actions (HOST_ACTIONS)
    batch_records: tuple = ()  # Record, batch actions (BATCH_ACTIONS)
    items: tuple = ()          # ItemFacts, in submission order
    service_down_time: int = services.DEFAULT_SERVICE_DOWN_TIME


@dataclass(frozen=True)
class Segment:
    phase: str
    start: datetime.datetime
    end: datetime.datetime
    running: bool = False  # still going on (its end is ``now``)
    detail: str = ""

    @property
    def seconds(self):
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(frozen=True)
class Mark:
    """A moment on a lane: an audit action on the batch, or how an instance ended."""

    kind: str
    at: datetime.datetime
    detail: str = ""


@dataclass(frozen=True)
class Lane:
    kind: str                 # LANE_HOST, LANE_BATCH or LANE_INSTANCE
    name: str
    instance_id: str = ""
    item_id: int | None = None
    attempt: int = 1
    end: str = ""             # END_* for an instance that ended, "" while it runs
    host: str = ""            # where it landed
    stages: tuple = ()
    segments: tuple = ()
    marks: tuple = ()


@dataclass(frozen=True)
class Timeline:
    start: datetime.datetime
    end: datetime.datetime
    final: bool               # every instance ended: ``end`` is the time of recovery
    lanes: tuple = ()
    breakdown: tuple = ()     # ((phase, seconds), ...), in the order each phase began

    @property
    def total_seconds(self):
        return max(0.0, (self.end - self.start).total_seconds())


# ----------------------------------------------------------------------------- lanes

def host_window(created_at, records, previous_batch_at=None):
    """The earliest time a host record still belongs to this batch's incident: ``LOOKBACK``
    before the batch, but after the host was last restored (``records``: ``Record`` of
    ``HOST_RESTORED_ACTIONS``) and after the host's previous batch began."""
    lower = created_at - LOOKBACK
    for record in records:
        if record.action in HOST_RESTORED_ACTIONS and lower < record.started <= created_at:
            lower = record.started
    if previous_batch_at is not None and lower < previous_batch_at <= created_at:
        lower = previous_batch_at
    return lower


def host_signs(service):
    """What to keep of Nova's service record when the operator acts on the host: its state
    and, while it still is nova-compute's last heartbeat, its ``updated_at`` (Force Down and
    Disable write it too, so a forced-down or disabled service's time says nothing)."""
    if not service:
        return {}
    signs = {"nova_state": str(service.get("state") or "")}
    if (service.get("updated_at") and not service.get("forced_down")
            and service.get("status") == "enabled"):
        signs["nova_last_heartbeat"] = str(service["updated_at"])
    return signs


def record_signs(options):
    """``(nova_state, heartbeat)`` from a record's options (``host_signs``)."""
    options = options or {}
    return (str(options.get("nova_state") or ""),
            services.parse_time(options.get("nova_last_heartbeat")))


def _before_first_step(facts, first_step):
    """The host lane's segments and marks before ``first_step``: from the earliest record
    that knew the last heartbeat (if within ``LOOKBACK`` of the first step)."""
    known = sorted((r for r in facts.host_records + facts.batch_records
                    if r.heartbeat is not None), key=lambda r: r.started)
    if not known:
        return [], []
    heard = known[0].heartbeat
    if not first_step - LOOKBACK <= heard < first_step:
        return [], []
    marks = [Mark(LAST_HEARTBEAT, heard)]
    seen_down = None
    if any(r.nova_state == "down" for r in known):
        looks_down = services.looks_down_by({"updated_at": heard}, facts.service_down_time)
        seen_down = min(looks_down or first_step, first_step)
        marks.append(Mark(SEEN_DOWN_MARK, seen_down))
    segments = [Segment(SILENT, heard, seen_down or first_step)]
    if seen_down is not None and seen_down < first_step:
        segments.append(Segment(SEEN_DOWN, seen_down, first_step))
    return segments, marks


def _host_lane(facts):
    segments = []
    for record in sorted(facts.host_records, key=lambda r: r.started):
        phase = HOST_PHASES.get(record.action)
        if phase is None:
            continue
        running = record.ended is None and record.outcome in ("", "pending")
        end = record.ended or (facts.now if running else record.started)
        segments.append(Segment(phase, record.started, max(end, record.started), running,
                                record.outcome))
    first_step = min([s.start for s in segments] + [facts.created_at])
    before, marks = _before_first_step(facts, first_step)
    return Lane(LANE_HOST, facts.source_host, segments=tuple(before + segments),
                marks=tuple(marks))


def _batch_lane(facts):
    marks = [Mark("created", facts.created_at)]
    marks += [Mark(r.action, r.started, r.user) for r in
              sorted(facts.batch_records, key=lambda r: r.started)
              if r.action in BATCH_ACTIONS and r.action not in ("evacuate", "host_evacuate")]
    if facts.finished_at is not None:
        marks.append(Mark("finished", facts.finished_at))
    return Lane(LANE_BATCH, facts.source_host, marks=tuple(marks))


def _queued_from(facts, item, until):
    """When the item's current attempt began to wait: the latest sending action on the
    batch at or before ``until`` (a retry, a resume), else the batch's creation."""
    began = facts.created_at
    for record in facts.batch_records:
        if record.action in SEND_ACTIONS and began < record.started <= until:
            began = record.started
    return began


def _first(*times):
    known = [t for t in times if t is not None]
    return min(known) if known else None


def item_end(item):
    """``(END_*, when)`` of the item's current attempt, or ``("", None)`` while it runs."""
    if item.submit_state == "cancelled" and item.cancelled_at is not None:
        return END_CANCELLED, item.cancelled_at
    if item.submit_state == "submit_failed" and item.failed_at is not None:
        return END_REFUSED, item.failed_at
    if item.outcome_state and item.outcome_at is not None:
        if item.outcome_state == "done":
            return END_DONE, item.outcome_at
        if item.outcome_state == "cancelled":
            return END_CANCELLED, item.outcome_at
        return END_FAILED, item.outcome_at
    return "", None


def _item_lane(facts, item):
    now = facts.now
    end_kind, ended = item_end(item)
    stop = ended or now
    segments = []
    sent_at = item.submitting_at
    queue_end = _first(sent_at, item.submitted_at, item.failed_at, item.cancelled_at)
    queue_start = _queued_from(facts, item, queue_end or stop)
    if (queue_end or stop) >= queue_start:
        segments.append(Segment(QUEUED, queue_start, queue_end or stop,
                                running=queue_end is None and not ended))
    if sent_at is not None:
        send_end = _first(item.answer_lost_at, item.submitted_at, item.failed_at)
        running = send_end is None and not ended
        segments.append(Segment(SENDING, sent_at, max(sent_at, send_end or stop), running))
    if item.answer_lost_at is not None:
        lost_end = _first(item.submitted_at, item.failed_at)
        running = lost_end is None and not ended
        segments.append(Segment(ANSWER_LOST, item.answer_lost_at,
                                max(item.answer_lost_at, lost_end or stop), running))
    if item.submitted_at is not None and item.submit_state == "submitted":
        rebuild_end = ended if end_kind in (END_DONE, END_FAILED, END_CANCELLED) else None
        segments.append(Segment(REBUILDING, item.submitted_at,
                                max(item.submitted_at, rebuild_end or now),
                                running=rebuild_end is None))
    marks = (Mark(end_kind, ended),) if ended is not None else ()
    return Lane(LANE_INSTANCE, item.name or item.instance_id, item.instance_id,
                item.item_id, item.attempt, end_kind,
                item.outcome_host if end_kind == END_DONE else "", tuple(item.stages),
                tuple(segments), marks)


# ------------------------------------------------------------------------ breakdown

def breakdown(segments, start, end):
    """``((phase, seconds), ...)``: the span ``start``..``end`` split by ``PRIORITY``, each
    phase once, in the order it first appears; the rest is ``WAITING``."""
    if end <= start:
        return ()
    # A sweep over the segments' ends: O(n log n) for a batch of any size.
    changes = {}
    for segment in segments:
        left, right = max(segment.start, start), min(segment.end, end)
        if right > left:
            changes.setdefault(left, []).append((segment.phase, 1))
            changes.setdefault(right, []).append((segment.phase, -1))
    changes.setdefault(start, [])
    changes.setdefault(end, [])
    moments = sorted(changes)
    going = dict.fromkeys(PHASES, 0)
    totals, order = {}, []
    for left, right in zip(moments, moments[1:]):
        for phase, step in changes[left]:
            going[phase] = going.get(phase, 0) + step
        name = next((label for label, phases in PRIORITY
                     if any(going.get(p) for p in phases)), WAITING)
        if name not in totals:
            totals[name] = 0.0
            order.append(name)
        totals[name] += (right - left).total_seconds()
    return tuple((name, totals[name]) for name in order)


def derive(facts):
    """The ``Timeline`` of ``facts``."""
    host = _host_lane(facts)
    batch = _batch_lane(facts)
    items = [_item_lane(facts, item) for item in sorted(facts.items,
                                                        key=lambda i: i.position)]
    every = [s for lane in [host] + items for s in lane.segments]
    marks = [m for lane in [host, batch] + items for m in lane.marks]
    starts = [s.start for s in every] + [m.at for m in marks] + [facts.created_at]
    final = not facts.active and bool(items) and all(lane.end for lane in items)
    if final:
        end = max([s.end for s in every] + [m.at for m in marks] + [facts.created_at])
    else:
        end = max([facts.now] + [s.end for s in every])
    start = min(starts)
    return Timeline(start, end, final, tuple([host, batch] + items),
                    breakdown(every, start, end))


def offset_seconds(timeline, when):
    return max(0.0, (when - timeline.start).total_seconds())


# Tick steps for the time axis, in seconds.
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600,
              43200, 86400)


def ticks(total_seconds, most=8):
    """Offsets (seconds from the start) for the axis: a round step, at most ``most``+1."""
    step = next((s for s in TICK_STEPS if total_seconds / s <= most), TICK_STEPS[-1])
    count = int(total_seconds // step)
    return [step * n for n in range(count + 1)]
