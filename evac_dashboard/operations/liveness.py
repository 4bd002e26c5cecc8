"""Is anyone still sending a batch? The answer the page shows, and resume acts on."""
from dataclasses import dataclass
import os
import socket

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from evac_dashboard.models import EvacuationBatch as Batch
from evac_dashboard.operations import submission
from evac_dashboard.store import batches

# A batch still "submitting" whose worker runs on another node (or cannot be checked) is
# offered for resuming once nothing was written for it for this long. Setting
# EVAC_RESUME_STALE_SECONDS. A worker on this node whose process is gone is offered at once.
RESUME_STALE_SECONDS = 90

def _stale_seconds():
    return float(getattr(settings, "EVAC_RESUME_STALE_SECONDS", RESUME_STALE_SECONDS))

# ----------------------------------------------------------------------------- resume

@dataclass(frozen=True)
class ResumeStatus:
    possible: bool
    reason: str
    open_items: int = 0


def _parse_worker(worker):
    host, _sep, pid = (worker or "").rpartition(":")
    try:
        return host, int(pid)
    except ValueError:
        return None, None


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def resume_status(batch, now=None):
    """Whether the page should offer to resume ``batch``, and why (or why not).

    Offered for an ``interrupted`` batch with items left, and for one still ``pending`` or
    ``submitting`` whose worker is gone: not running in this process, and either a process
    of this node that no longer exists or, on another node, silent for
    ``RESUME_STALE_SECONDS``. Never resumed automatically: with several dashboard nodes
    only the operator knows whether the other node is really gone.
    """
    now = now or timezone.now()
    open_items = batches.open_item_count(batch.pk)
    if batch.state == Batch.INTERRUPTED:
        if not open_items:
            return ResumeStatus(False, _("Nothing is left to send."), 0)
        return ResumeStatus(True, _("The submission stopped before every instance was sent."),
                            open_items)
    if batch.state not in Batch.ACTIVE_STATES:
        return ResumeStatus(False, _("The submission is over."), open_items)
    if submission.running_submission(batch.pk) is not None:
        return ResumeStatus(False, _("This dashboard process is sending it now."), open_items)
    host, pid = _parse_worker(batch.worker)
    here = socket.gethostname()
    if host == here and pid is not None:
        if pid == os.getpid() or not _process_alive(pid):
            return ResumeStatus(True, _("The dashboard process that was sending it (%s) is "
                                        "gone.") % batch.worker, open_items)
    idle = (now - batches.last_activity(batch)).total_seconds()
    if idle >= _stale_seconds():
        return ResumeStatus(True, _("Nothing was written for it for %(s)d s by its worker "
                                    "%(w)s; if that dashboard process is gone, resume it "
                                    "here.") % {"s": idle, "w": batch.worker or "?"},
                            open_items)
    return ResumeStatus(False, _("Another dashboard process (%(w)s) may still be sending it "
                                 "(last activity %(s)d s ago).")
                        % {"w": batch.worker or "?", "s": idle}, open_items)
