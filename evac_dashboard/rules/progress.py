"""Each instance's evacuation state, derived from what Nova records.

Nova answers the evacuate call before anything happens, and a server shows ACTIVE with no
task *before* its host switches to the destination (typically 30-90 ms, longer under load).
So an evacuation is *done* only when its migration record is ``done``/``completed`` **and**
the server's host is no longer the failed host. ``completed`` additionally means the failed
host has restarted and cleaned up (``cleaned_up``).
"""
from dataclasses import dataclass

from evac_dashboard.rules import servers as srv
from evac_dashboard.rules import services as svc

PENDING = "pending"
SUBMITTED = "submitted"
REBUILDING = "rebuilding"
DONE = "done"
FAILED = "failed"
CANCELLED = "cancelled"
# The evacuate was sent, its answer was lost, and Nova shows nothing of it yet: it may have
# been accepted. Not final: it is resolved from Nova (``operations.lost_answers``).
UNKNOWN = "unknown"
STATES = (PENDING, SUBMITTED, REBUILDING, DONE, FAILED, CANCELLED, UNKNOWN)
FINAL_STATES = (DONE, FAILED, CANCELLED)

# Stage of a rebuilding instance: Nova's task_state, or FINISHING once the guest is spawned
# (task_state None) but Nova has not yet switched the server's host.
FINISHING = "finishing"
POWERING_OFF = "powering-off"

# The batch item's own submission states.
SUBMISSION_PENDING = "pending"
SUBMISSION_SUBMITTING = "submitting"
SUBMISSION_SUBMITTED = "submitted"
SUBMISSION_FAILED = "submit_failed"
SUBMISSION_CANCELLED = "cancelled"
SUBMISSION_UNKNOWN = "unknown"  # sent, answer lost (timeout, dropped connection, 502...)

ANSWER_LOST = "answer lost; checking Nova"
ANSWER_LOST_UNCONFIRMED = "answer lost; Nova shows nothing of it yet"

MIGRATION_IN_PROGRESS = ("accepted", "pre-migrating")
MIGRATION_SUCCEEDED = ("done", "completed")
MIGRATION_FAILED = ("failed", "error")


@dataclass(frozen=True)
class Progress:
    state: str
    stage: str | None = None
    cleaned_up: bool = False
    detail: str = ""
    fault_message: str | None = None
    host: str | None = None
    migration_status: str | None = None

    @property
    def is_final(self):
        return self.state in FINAL_STATES

    @property
    def label(self):
        """The stage while rebuilding, otherwise the state (what ``stages_seen`` records)."""
        return self.stage if self.state == REBUILDING and self.stage else self.state


def derive(server, migration, submission, source_host=None, submitted_at=None):
    """The ``Progress`` of one batch item.

    ``server``: the server dict (None once deleted). ``migration``: the newest evacuation
    record for it, or None; a record from another source host (an older evacuation) is
    ignored when ``source_host`` is given. ``submitted_at``: when the request was sent; an
    instance fault older than that is not reported as this attempt's cause.
    """
    if submission == SUBMISSION_CANCELLED:
        return Progress(CANCELLED, detail="cancelled before it was sent")
    if submission == SUBMISSION_PENDING:
        return Progress(PENDING, detail="waiting to be sent")
    if submission == SUBMISSION_FAILED:
        return Progress(FAILED, detail="Nova refused the evacuate request")
    if server is None:
        return Progress(FAILED, detail="the server no longer exists")

    if migration and source_host and migration.get("source_compute") not in (None, source_host):
        migration = None
    if submission == SUBMISSION_UNKNOWN:
        if not migration and srv.task_state(server) not in srv.REBUILD_TASK_STATES:
            return Progress(UNKNOWN, detail=ANSWER_LOST, host=srv.host(server))
        submission = SUBMISSION_SUBMITTED  # Nova has it: its progress is the truth
    source = source_host or (migration or {}).get("source_compute")
    host = srv.host(server)
    status = (migration or {}).get("status")
    moved = bool(source and host and host != source)
    task = srv.task_state(server)
    common = {"host": host, "migration_status": status}

    if status in MIGRATION_SUCCEEDED and moved:
        return Progress(DONE, cleaned_up=status == "completed",
                        detail="running on %s" % host if srv.status(server) == "ACTIVE"
                        else "on %s (%s)" % (host, srv.status(server)), **common)
    if status in MIGRATION_FAILED:
        where = "during scheduling" if status == "error" else "on the target host"
        return Progress(FAILED, detail="the evacuation failed %s" % where,
                        fault_message=_fault_message(server, submitted_at), **common)
    if (srv.status(server) == "ERROR" and srv.fault(server) and not task
            and submission == SUBMISSION_SUBMITTED):
        return Progress(FAILED, detail="the server went to ERROR",
                        fault_message=_fault_message(server, submitted_at), **common)
    # After Nova's 200 the task can only be ours; while the request is in flight a
    # powering-off task may still be an old one.
    if task in srv.REBUILD_TASK_STATES or (
            task == POWERING_OFF and (status or submission == SUBMISSION_SUBMITTED)):
        return Progress(REBUILDING, stage=task, detail=_stage_detail(task), **common)
    if status:
        stage = "rebuilding" if status == "accepted" else FINISHING
        return Progress(REBUILDING, stage=stage, detail=_stage_detail(stage), **common)
    if submission == SUBMISSION_SUBMITTING:
        return Progress(PENDING, detail="being sent", **common)
    return Progress(SUBMITTED, detail="accepted; waiting for Nova to start", **common)


RECORD_SAYS_DONE = "Nova's record says done"


def derive_from_record(migration, submission, source_host=None):
    """The ``Progress`` from the dashboard's send state and Nova's evacuation record alone,
    before the servers are read (never finer than the record: no guest stages, no fault).
    """
    if submission in (SUBMISSION_CANCELLED, SUBMISSION_PENDING, SUBMISSION_FAILED):
        return derive({}, None, submission)
    if migration and source_host and migration.get("source_compute") not in (None, source_host):
        migration = None
    if submission == SUBMISSION_UNKNOWN and not migration:
        return Progress(UNKNOWN, detail=ANSWER_LOST)
    status = (migration or {}).get("status")
    target = (migration or {}).get("dest_compute") or None
    common = {"migration_status": status}
    if status in MIGRATION_SUCCEEDED:
        return Progress(DONE, cleaned_up=status == "completed", host=target,
                        detail=RECORD_SAYS_DONE, **common)
    if status in MIGRATION_FAILED:
        where = "during scheduling" if status == "error" else "on the target host"
        return Progress(FAILED, detail="the evacuation failed %s" % where, **common)
    if status:
        return Progress(REBUILDING, stage="rebuilding", detail=_stage_detail("rebuilding"),
                        **common)
    if submission == SUBMISSION_SUBMITTING:
        return Progress(PENDING, detail="being sent")
    return Progress(SUBMITTED, detail="accepted; waiting for Nova to start")


_STAGE_DETAILS = {
    "rebuilding": "scheduling and preparing the target host",
    "rebuild_block_device_mapping": "attaching volumes on the target host",
    "rebuild_spawning": "starting the guest on the target host",
    POWERING_OFF: "stopping the guest on the target host",
    FINISHING: "guest started; waiting for Nova to switch the host",
}


def _stage_detail(stage):
    return _STAGE_DETAILS.get(stage, stage)


def _fault_message(server, submitted_at):
    fault = srv.fault(server)
    if not fault:
        return None
    created = svc.parse_time(fault.get("created"))
    since = svc.parse_time(submitted_at)
    # Nova stamps faults to the second: a fault in the same second as the send is new.
    if created and since and created < since.replace(microsecond=0):
        return None
    return fault.get("message")


# --------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Summary:
    counts: dict
    total: int
    percent: int  # share of items in a final state
    is_final: bool


def summarize(items):
    """Counts per state over ``Progress`` objects or plain state strings."""
    counts = dict.fromkeys(STATES, 0)
    for item in items:
        state = item.state if isinstance(item, Progress) else item
        counts[state] = counts.get(state, 0) + 1
    total = sum(counts.values())
    finished = sum(counts[s] for s in FINAL_STATES)
    percent = 100 if total == 0 else finished * 100 // total
    return Summary(counts, total, percent, finished == total)


# --------------------------------------------------------------------------- stages seen

# The order of stages of one attempt. Polling can miss short stages; those every successful
# evacuation passes through are filled in when a later stage is seen. powering-off (only when
# the server ends stopped) and finishing (a few ms) are recorded only when observed.
STAGE_ORDER = (PENDING, SUBMITTED, "rebuilding", "rebuild_block_device_mapping",
               "rebuild_spawning", POWERING_OFF, FINISHING, DONE)
_ALWAYS_PASSED = (SUBMITTED, "rebuilding", "rebuild_block_device_mapping", "rebuild_spawning")


def stages_seen(previous, current):
    """The ordered stages of this attempt after observing ``current`` (a Progress or label).

    Never goes backwards (an out-of-date poll changes nothing) and stops at a final state.
    """
    seen = list(previous)
    label = current.label if isinstance(current, Progress) else current
    if seen and (seen[-1] in FINAL_STATES or seen[-1] == label):
        return seen
    if label in (FAILED, CANCELLED):
        return seen + [label]
    if label not in STAGE_ORDER:
        return seen
    last_index = STAGE_ORDER.index(seen[-1]) if seen and seen[-1] in STAGE_ORDER else -1
    index = STAGE_ORDER.index(label)
    if index <= last_index:
        return seen
    missed = [s for s in STAGE_ORDER[last_index + 1:index] if s in _ALWAYS_PASSED]
    return seen + missed + [label]


def can_retry(state, deleted, submission):
    """Whether an item may be offered for a retry: it failed (refused by Nova, or failed
    after Nova took it), or its answer was lost; its server still exists, and it is not
    waiting or in flight. The batch's submission must also be over (the caller checks).

    An item whose answer was lost is never sent as it is: a retry first asks Nova whether
    it has the evacuation (``operations.lost_answers``) and sends it only when Nova
    shows it never acted on it."""
    if deleted:
        return False
    if submission == SUBMISSION_UNKNOWN:
        return state in (FAILED, UNKNOWN)
    return state == FAILED and submission in (SUBMISSION_FAILED, SUBMISSION_SUBMITTED)
