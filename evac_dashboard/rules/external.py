"""Merging Nova's evacuation records with the panel's: which evacuations did the panel make?

Plain logic, no Django and no HTTP: ``operations.external_sync`` feeds it Nova's migrations,
the instance actions it has read, and the panel's batch items.

The matching rule. A Nova evacuation migration M of instance I, created at time T, with
(once read) instance action A, is the panel's own when one of the panel's items X of the
same instance I satisfies, in this order:

1. **adopted** — X.found_migration_id is M's uuid or id (a resumed batch found M and
   recorded it as its own instead of sending again);
2. **request id** — A.request_id equals X.request_id (the ``x-openstack-request-id`` Nova
   answered the panel's evacuate with is the request id of the instance action it created);
3. **window** — X was sent or was in flight (submitting, submitted, or failed without an
   HTTP answer or with a 5xx, since Nova may have acted on it) and T lies in X's submission
   window ``[X.submitting_at - margin, (X.submitted_at | X.failed_at | now) + margin]``
   (margin: 2 minutes of clock difference between Nova and the dashboard), unless both
   request ids are known and differ. When two migrations of I fall in one window, only
   the request id (rule 2) decides.

Otherwise M is **external**: made outside the dashboard (CLI, Masakari, scripts).

The window rule needs no Nova request, so the panel's own evacuations cost nothing. The
instance action is read before deciding only when the window alone cannot decide: two
migrations of I inside one item's window (someone evacuated by hand at the same time), or
no window fits but an item of I has a request id (clock difference larger than the
margin). External migrations need their action anyway, for the user and request id shown.
"""
from dataclasses import dataclass
from datetime import timedelta

from evac_dashboard.rules import progress
from evac_dashboard.rules import services as svc

# How far Nova's clock and the dashboard's may differ: the matching window, the instance
# actions asked for around a migration, and what a resumed batch counts as "since the batch
# began" (erring that way can only skip an instance, never evacuate it twice) all allow it.
CLOCK_SKEW_MARGIN = timedelta(minutes=2)

PANEL = "panel"
EXTERNAL = "external"
UNDECIDED = "undecided"

RULE_ADOPTED = "adopted"
RULE_REQUEST_ID = "request_id"
RULE_WINDOW = "window"

# Nova's evacuation migration statuses (reference §3.3).
DONE_STATUSES = progress.MIGRATION_SUCCEEDED
FAILED_STATUSES = progress.MIGRATION_FAILED

SENT_STATES = ("submitting", "submitted", "unknown")  # "unknown": sent, answer lost


# ---------------------------------------------------------------------------- migrations

@dataclass(frozen=True)
class Migration:
    key: str
    id: int | None
    uuid: str | None
    instance_id: str
    source: str
    dest: str
    status: str
    created_at: object  # aware datetime or None
    updated_at: object
    user_id: str
    project_id: str

    @classmethod
    def from_nova(cls, data):
        return cls(key=migration_key(data), id=data.get("id"), uuid=data.get("uuid"),
                   instance_id=data.get("instance_uuid") or "",
                   source=data.get("source_compute") or "", dest=data.get("dest_compute") or "",
                   status=data.get("status") or "",
                   created_at=svc.parse_time(data.get("created_at")),
                   updated_at=svc.parse_time(data.get("updated_at")),
                   user_id=data.get("user_id") or "", project_id=data.get("project_id") or "")


def migration_key(data):
    """A migration's stable key: its uuid (2.59+), else ``id-<id>``."""
    if data.get("uuid"):
        return str(data["uuid"])
    return "id-%s" % data.get("id")


def status_category(status):
    """``done``, ``failed`` or ``running`` for a migration status."""
    if status in DONE_STATUSES:
        return "done"
    if status in FAILED_STATUSES:
        return "failed"
    return "running"


def outcome_for_status(status):
    """The audit outcome of an external evacuation whose migration has ``status``."""
    return {"done": "succeeded", "failed": "failed"}.get(status_category(status), "in_progress")


def summarize(statuses):
    """``{"done": n, "failed": n, "running": n}`` for some migration statuses."""
    summary = {"done": 0, "failed": 0, "running": 0}
    for status in statuses:
        summary[status_category(status)] += 1
    return summary


def describe_summary(summary):
    """"2 done, 1 failed, 1 running" (only the non-zero parts), or ""."""
    parts = ["%d %s" % (summary.get(name, 0), name) for name in ("done", "failed", "running")
             if summary.get(name)]
    return ", ".join(parts)


# ------------------------------------------------------------------------------- items

@dataclass(frozen=True)
class PanelItem:
    """What the rule needs of an ``EvacuationItem``."""

    item_id: int
    batch_id: object
    instance_id: str
    submit_state: str
    request_id: str | None
    found_migration_id: str | None
    sent_at: object      # submitting_at (or created_at)
    answered_at: object  # submitted_at / failed_at, None while in flight
    error_status: int | None = None

    @classmethod
    def from_item(cls, item):
        return cls(item_id=item.pk, batch_id=item.batch_id, instance_id=item.instance_id,
                   submit_state=item.submit_state, request_id=item.request_id or None,
                   found_migration_id=item.found_migration_id or None,
                   sent_at=item.submitting_at or item.submitted_at or item.created_at,
                   answered_at=item.submitted_at or item.failed_at,
                   error_status=item.error_status)

    @property
    def may_have_reached_nova(self):
        if self.submit_state in SENT_STATES:
            return True
        # Refused with a 4xx: Nova created nothing. No answer or a 5xx: it may have.
        return self.submit_state == "submit_failed" and (
            self.error_status is None or self.error_status >= 500)

    def window(self, now, margin=CLOCK_SKEW_MARGIN):
        if self.sent_at is None:
            return None
        end = self.answered_at or now
        return self.sent_at - margin, end + margin

    def window_contains(self, when, now, margin=CLOCK_SKEW_MARGIN):
        window = self.window(now, margin)
        return (when is not None and window is not None and self.may_have_reached_nova
                and window[0] <= when <= window[1])


@dataclass(frozen=True)
class Decision:
    kind: str                 # PANEL, EXTERNAL or UNDECIDED (read the instance action first)
    item: PanelItem | None = None
    rule: str = ""


def decide(migration, items, now, request_id=None, action_read=False, siblings=(),
           margin=CLOCK_SKEW_MARGIN):
    """Whose is ``migration``? See the module docstring for the rule.

    ``items``: the panel's items of the same instance. ``request_id``: the instance action's
    request id, when read (``action_read``). ``siblings``: the other known migrations of the
    same instance (to see when one window holds two of them).
    """
    items = [item for item in items if item.instance_id == migration.instance_id]
    for item in items:
        if item.found_migration_id and item.found_migration_id in (
                migration.uuid, str(migration.id), migration.key):
            return Decision(PANEL, item, RULE_ADOPTED)
    if request_id:
        for item in items:
            if item.request_id and item.request_id == request_id:
                return Decision(PANEL, item, RULE_REQUEST_ID)
    in_window = [item for item in items if item.window_contains(migration.created_at, now,
                                                                margin)]
    for item in in_window:
        crowded = any(item.window_contains(other.created_at, now, margin)
                      for other in siblings if other.key != migration.key)
        if not crowded:
            continue
        # Two evacuations of the instance in one window: only request ids can tell them
        # apart. Wait for the panel's answer if its call is still in flight, else read
        # Nova's instance action.
        if not item.request_id and item.answered_at is None:
            return Decision(UNDECIDED)
        if item.request_id and not action_read:
            return Decision(UNDECIDED)
    if not action_read and not in_window and any(item.request_id for item in items):
        return Decision(UNDECIDED)      # maybe the clocks differ by more than the margin
    for item in in_window:
        if request_id and item.request_id and item.request_id != request_id:
            continue  # both known, and they differ: not this item's evacuation
        return Decision(PANEL, item, RULE_WINDOW)
    return Decision(EXTERNAL)
