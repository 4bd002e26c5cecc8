"""Is anyone still sending a batch? The answer the page shows, and resume acts on."""
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard import conf
from evac_dashboard.operations import leases
from evac_dashboard.operations import submission
from evac_dashboard.store import batches


def _stale_seconds():
    return conf.resume_stale_seconds()

# ----------------------------------------------------------------------------- resume

@dataclass(frozen=True)
class ResumeStatus:
    possible: bool
    reason: str
    open_items: int = 0


def resume_status(batch, now=None):
    """Whether the page should offer to resume ``batch``, and why (or why not).

    Offered for an ``interrupted`` batch with items left, and for one still ``pending`` or
    ``submitting`` that no process sends any more: its lease (``operations.leases``) is
    free. Every dashboard process asks the same coordination backend, so every node gives
    the same answer. Only when that backend cannot be asked does the age of the batch's
    last write decide (``EVAC_RESUME_STALE_SECONDS``).

    Who sends it is asked first and the batch's state is read after, from the database:
    a sender writes the batch's end before it lets its lease go, so a sender that has just
    finished is never taken for one that died (``batch`` may have been read seconds ago,
    before a slow Nova read of the same page).
    """
    now = now or timezone.now()
    sending_here = submission.running_submission(batch.pk) is not None
    lease = None if sending_here else leases.state_of(batch.pk)
    state = batches.current_state(batch.pk) or batch.state
    open_items = batches.open_item_count(batch.pk)
    if state == Batch.INTERRUPTED:
        if not open_items:
            return ResumeStatus(False, _("Nothing is left to send."), 0)
        if (batch.error_message or "").startswith(submission.LOGIN_EXPIRED_MESSAGE):
            return ResumeStatus(True, _("Your login expired: log in again and resume."),
                                open_items)
        return ResumeStatus(True, _("The submission stopped before every instance was sent."),
                            open_items)
    if state not in Batch.ACTIVE_STATES:
        return ResumeStatus(False, _("The submission is over."), open_items)
    if sending_here:
        return ResumeStatus(False, _("This dashboard process is sending it now."), open_items)
    if lease == leases.HELD:
        return ResumeStatus(False, _("It is being sent by %s.") % (batch.worker or "?"),
                            open_items)
    if lease == leases.FREE:
        return ResumeStatus(True, _("Its sender (%s) is gone: no dashboard process holds "
                                    "its lease any more.") % (batch.worker or "?"),
                            open_items)
    idle = (now - batches.last_activity(batch)).total_seconds()
    if idle >= _stale_seconds():
        return ResumeStatus(True, _("Nothing was written for it for %(s)d s by its worker "
                                    "%(w)s, and whether it is still running cannot be "
                                    "checked; if that dashboard process is gone, resume it "
                                    "here.") % {"s": idle, "w": batch.worker or "?"},
                            open_items)
    return ResumeStatus(False, _("Another dashboard process (%(w)s) may still be sending it "
                                 "(last activity %(s)d s ago).")
                        % {"w": batch.worker or "?", "s": idle}, open_items)


def poll_status(batch, now=None):
    """``resume_status`` for a poll of the batch's page: a batch whose sender is gone and
    that can be taken over without the operator (``operations.takeover``) is taken over
    now, in the background, and the page says so instead of offering Resume."""
    from evac_dashboard.operations import takeover  # late: takeover starts runs

    status = resume_status(batch, now)
    if (status.possible and batches.current_state(batch.pk) in Batch.ACTIVE_STATES
            and takeover.can_take_over(batch)):
        takeover.take_over_soon(batch.pk)
        return ResumeStatus(False, _("Its sender (%s) is gone; this dashboard takes it over "
                                     "now: what Nova already has is recorded, the rest is "
                                     "sent.") % (batch.worker or "?"), status.open_items)
    return status

