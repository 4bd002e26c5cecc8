"""The compute-service use cases of the hosts panel: force down and its undo, disable and
enable. Each is one audited Nova call (or two), written before and completed after.

Fencing the host itself (powering it off through its BMC) is a separate step; forcing the
service down tells Nova the host *has been* fenced."""
from dataclasses import dataclass
import logging

from django.utils.translation import gettext as _

from evac_dashboard.models import AuditRecord
from evac_dashboard.api import actions
from evac_dashboard.api import nova
from evac_dashboard.operations import recording
from evac_dashboard.rules import timeline as timeline_rules

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal(Exception):
    """Why a service action failed: ``nova_message`` is set only when Nova (or the way to
    it) answered; a fault of the dashboard itself is never shown as Nova's refusal."""

    title: str
    advice: str
    nova_message: str = ""

    def __str__(self):
        return "%s. %s" % (self.title, self.advice)


def _refusal(error):
    if not actions.is_remote_error(error):
        LOG.exception("Compute service action failed inside the dashboard")
        return Refusal(_("The dashboard could not do this"),
                       _("This is a problem of the dashboard's own setup or code, not a "
                         "refusal from Nova; nothing was changed in Nova by this step. "
                         "Details are in the dashboard's log (%s).") % type(error).__name__)
    advice = actions.advice_for(error)
    return Refusal(str(advice.title), str(advice.advice), advice.nova_message or "")


def _audited(request, action, service, **options):
    return recording.recorded(request, action, source_host=service["host"], options=options)


def _run(calls):
    try:
        calls()
    except Exception as error:  # every failure becomes a Refusal the form shows
        raise _refusal(error) from error


def force_down(request, service, disable=False, reason=None):
    """Mark the host's nova-compute forced down (it has been fenced); optionally disable
    it so the scheduler sends nothing to it."""
    def calls():
        with _audited(request, AuditRecord.FORCE_DOWN, service,
                      **timeline_rules.host_signs(service)) as record:
            actions.force_down(request, service, True, record.request_ids_seen)
        if disable and service.get("status") == "enabled":
            with _audited(request, AuditRecord.DISABLE, service, reason=reason) as record:
                actions.set_service_status(request, service, False, reason or None,
                                           record.request_ids_seen)
    _run(calls)


def unset_force_down(request, service):
    def calls():
        with _audited(request, AuditRecord.UNSET_FORCE_DOWN, service) as record:
            actions.force_down(request, service, False, record.request_ids_seen)
    _run(calls)


def set_enabled(request, service, enabled, reason=None):
    def calls():
        if enabled:
            with _audited(request, AuditRecord.ENABLE, service) as record:
                actions.set_service_status(request, service, True,
                                           request_ids=record.request_ids_seen)
            return
        with _audited(request, AuditRecord.DISABLE, service, reason=reason or None) as record:
            actions.set_service_status(request, service, False, reason or None,
                                       record.request_ids_seen)
    _run(calls)


def force_down_supported(request):
    return nova.supports(request, "service_force_down")
