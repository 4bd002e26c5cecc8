"""How the progress page words and marks what ``operations.snapshots`` found: state,
stage and batch labels, icons, and the row context its one row template renders.

Every state has its text and its own icon (colour is only a second cue); Nova's stage
names (``rebuild_spawning``...) are never shown raw, only in data attributes.
"""
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.operations import credentials
from evac_dashboard.operations import snapshots
from evac_dashboard.rules import progress

STATES = (progress.PENDING, progress.SUBMITTED, progress.REBUILDING, progress.DONE,
          progress.FAILED, progress.CANCELLED, progress.UNKNOWN)

STATE_LABELS = {
    progress.PENDING: _("Pending"),
    progress.SUBMITTED: _("Submitted"),
    progress.REBUILDING: _("Rebuilding"),
    progress.DONE: _("Done"),
    progress.FAILED: _("Failed"),
    progress.CANCELLED: _("Cancelled"),
    progress.UNKNOWN: _("Answer lost"),
}

# Font Awesome icons as Horizon ships them (FA 6 names; "clock-o" does not exist).
STATE_ICONS = {
    progress.PENDING: "clock",
    progress.SUBMITTED: "paper-plane",
    progress.REBUILDING: "refresh",
    progress.DONE: "check-circle",
    progress.FAILED: "times-circle",
    progress.CANCELLED: "ban",
    progress.UNKNOWN: "question-circle",
}

STAGE_LABELS = {
    progress.PENDING: _("waiting"),
    progress.SUBMITTED: _("sent"),
    "rebuilding": _("preparing the target"),
    "rebuild_block_device_mapping": _("attaching volumes"),
    "rebuild_spawning": _("starting the guest"),
    progress.POWERING_OFF: _("stopping the guest"),
    progress.FINISHING: _("switching host"),
    progress.DONE: _("on the new host"),
    snapshots.STOPPED: _("stopped"),
    progress.FAILED: _("failed"),
    progress.CANCELLED: _("cancelled"),
    progress.UNKNOWN: _("answer lost"),
}

BATCH_STATE_LABELS = {
    Batch.PENDING: _("Pending"),
    Batch.SUBMITTING: _("Submitting"),
    Batch.FINISHED: _("Finished"),
    Batch.INTERRUPTED: _("Interrupted"),
    Batch.CANCELLED: _("Cancelled"),
}

# The details ``rules.progress`` and ``snapshots`` give, worded for the page.
DETAILS = {
    "cancelled before it was sent": _("cancelled before it was sent"),
    "waiting to be sent": _("waiting to be sent"),
    "being sent": _("being sent"),
    "Nova refused the evacuate request": _("Nova refused the evacuate request"),
    "sent; Nova's state is not known": _("sent; Nova's state is not known"),
    "the server no longer exists": _("the server no longer exists"),
    "the evacuation failed during scheduling": _("the evacuation failed during scheduling"),
    "the evacuation failed on the target host": _("the evacuation failed on the target host"),
    "the server went to ERROR": _("the server went to ERROR"),
    "accepted; waiting for Nova to start": _("accepted; waiting for Nova to start"),
    "scheduling and preparing the target host": _("scheduling and preparing the target host"),
    "attaching volumes on the target host": _("attaching volumes on the target host"),
    "starting the guest on the target host": _("starting the guest on the target host"),
    "stopping the guest on the target host": _("stopping the guest on the target host"),
    progress.RECORD_SAYS_DONE: _("Nova's evacuation record says done"),
    progress.ANSWER_LOST: _("answer lost; checking Nova"),
    progress.ANSWER_LOST_UNCONFIRMED: _("answer lost; Nova shows nothing of it yet (Retry "
                                        "asks Nova again and never sends it twice)"),
    "guest started; waiting for Nova to switch the host":
        _("guest started; waiting for Nova to switch the host"),
}


def state_label(state):
    return str(STATE_LABELS.get(state, state))


def stage_label(code, row=None):
    if code == progress.DONE and row and row.get("to_host"):
        return gettext("on %s") % row["to_host"]
    label = STAGE_LABELS.get(code)
    return str(label) if label is not None else gettext("unknown step")


def batch_state_label(state):
    return str(BATCH_STATE_LABELS.get(state, state))


def detail(row):
    if row["state"] == progress.DONE and row.get("to_host"):
        if row["detail"] == progress.RECORD_SAYS_DONE and not row.get("status"):
            return gettext("moved to %s (Nova's evacuation record)") % row["to_host"]
        if (row.get("status") or "ACTIVE") == "ACTIVE":
            return gettext("running on %s") % row["to_host"]
        return gettext("on %(host)s (%(status)s)") % {"host": row["to_host"],
                                                       "status": row["status"]}
    text = DETAILS.get(row["detail"])
    return str(text) if text is not None else row["detail"]


def row_context(row):
    """Everything ``_item_row.html`` shows of one row; nothing in it ticks by itself (the
    time in the state is a timestamp the script counts from), so an unchanged row renders
    the same bytes poll after poll."""
    task = row.get("task_state")
    return {
        "id": row["id"],
        "position": row["position"] + 1,
        "instance_id": row["instance_id"],
        "name": row["name"],
        "attempt": row["attempt"],
        "project_id": row["project_id"] or "",
        "from_host": row["from_host"],
        "to_host": row["to_host"],
        "tried_host": row["tried_host"],
        "requested_target": row["requested_target"],
        "state": row["state"],
        "state_label": state_label(row["state"]),
        "state_icon": STATE_ICONS.get(row["state"], "question-circle"),
        "label": row["label"],
        "detail": detail(row),
        "cleaned_up": row["cleaned_up"],
        "moved_since": row.get("moved_since"),
        "advice": row["advice"],
        "deleted": row["deleted"],
        "status": row["status"],
        "servers_read": row.get("servers_read", True),
        "task": task,
        "task_label": stage_label(task) if task else None,
        "migration_status": row["migration_status"],
        "since": row["since"],
        "stages": [(code, stage_label(code, row)) for code in row["stages"]],
        "can_retry": row["can_retry"],
        "can_cancel": row["can_cancel"],
    }


def count_cards(summary):
    counts = summary["counts"]
    total = summary["total"] or 1
    return [{"state": state, "label": state_label(state), "icon": STATE_ICONS[state],
             "count": counts.get(state, 0),
             "width": "%.3f" % (counts.get(state, 0) * 100.0 / total)}
            for state in STATES]


def batch_error(message):
    """The batch's recorded problem; the login-expiry sentence, recorded in English (it is
    matched), in the page's language. Nova's and the other problems stay as recorded."""
    known = credentials.LOGIN_EXPIRED_MESSAGE
    if message and message.startswith(known):
        return gettext(known) + message[len(known):]
    return message or ""


def summary_answer(data):
    """The part of a poll answer besides rows: numbers, and the few texts that change."""
    return {
        "batch": {"state": data["batch"]["state"],
                  "state_label": batch_state_label(data["batch"]["state"]),
                  "error_message": batch_error(data["batch"]["error_message"])},
        "summary": data["summary"],
        "final": data["final"],
        "resume": data["resume"],
        "nova": {"ok": data["nova"]["ok"], "error": data["nova"]["error"]},
        "poll": {"interval_seconds": data["poll"]["interval_seconds"],
                 "max_interval_seconds": data["poll"]["max_interval_seconds"],
                 "backoff_factor": data["poll"]["backoff_factor"],
                 "nova_calls_per_poll": data["poll"]["nova_calls_per_poll"]},
        # The sender's window (numbers only: the page's _pacing.html holds the words).
        "pacing": data.get("pacing") or {"active": False},
        "now": data["now"],
    }


def page_text():
    """The script's words, translated here: the script itself holds no English.
    ``%(name)s`` placeholders are filled in by the script."""
    return {
        "states": {state: state_label(state) for state in STATES},
        "updated": gettext("Updated %(time)s"),
        "nextIn": gettext("next update in %(wait)s"),
        "paused": gettext("Paused while this tab is hidden."),
        "final": gettext("Every instance has reached a final state; updates stopped."),
        "pollFailed": gettext("Could not refresh (%(time)s): %(error)s."),
        "keepShowing": gettext("Showing the last known state; trying again in %(wait)s."),
        "novaFailed": gettext("Nova could not be read: %(error)s."),
        "sessionEnded": gettext("Your session has ended or you may no longer see this "
                                "page. Reload the page to log in again."),
        "passwordNeeded": gettext("This batch was started with an admin password: enter "
                                  "it in the password field first."),
        "working": gettext("Working…"),
        "httpError": gettext("The dashboard answered %(status)s."),
    }
