"""Fence a failed compute host through its BMC, then tell Nova; power it on after repair.

``fence``: power the host off (Redfish ``ForceOff``, IPMI chassis power off), read its power
state until the BMC reports Off (at most ``EVAC_BMC_FENCE_TIMEOUT`` seconds), and only then
force its nova-compute service down (``host_actions.force_down``) and, if asked, disable it
with a reason. Every step is in the returned ``rules.power.FenceReport`` with its outcome and
duration, and in the audit log: a ``fence`` record (written before the BMC is asked,
completed with how it went), then Nova's ``force_down`` and ``disable`` records.

If Off cannot be confirmed the fence stops and says why; Nova is not touched. The one way
past that is the operator's explicit override (typing the host name), recorded as
``fence_override`` before the force-down.

``fence_and_evacuate``: the same, then ``evacuations.start`` of the operator's reviewed
``Evacuation`` (the Fence-and-evacuate modal's, or the wizard's with its targets and
options), once Nova sees the service forced down.
"""
import dataclasses
import logging
import time

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from evac_dashboard import conf
from evac_dashboard.api import bmc
from evac_dashboard.api import nova
from evac_dashboard.models import AuditRecord
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import host_actions
from evac_dashboard.operations import power_states
from evac_dashboard.operations import recording
from evac_dashboard.rules import power
from evac_dashboard.rules import timeline as timeline_rules
from evac_dashboard.store import audit

LOG = logging.getLogger(__name__)

SUCCEEDED, FAILED, SKIPPED = power.SUCCEEDED, power.FAILED, power.SKIPPED


class NotFenceable(Exception):
    """The host has no usable BMC entry (the message says why)."""


def entry_or_refusal(host):
    entry = bmc_inventory.entry_for(host)
    if entry is None:
        why = bmc_inventory.problem() or bmc_inventory.host_problem(host)
        raise NotFenceable(why or _("%s has no entry in the BMC file.") % host)
    return entry


def _begin(request, action, host, **options):
    return recording.begin(request, action, source_host=host, options=options)


def _finish(record, outcome, detail):
    try:
        audit.complete(record, outcome, detail=detail)
    except Exception:  # the outcome is shown anyway; the record stays pending
        LOG.exception("Audit %s: could not record outcome %s", record.pk, outcome)


def wait_for(client, wanted, timeout, sleep=time.sleep):
    """Read the power state until it is ``wanted``; ``(reached, seconds, last state, last
    error)``. A read that fails is tried again until the time is up."""
    started = time.monotonic()
    last_state, last_error = None, ""
    for delay in [0.0] + power.poll_delays(timeout):
        if delay:
            sleep(delay)
        try:
            last_state, last_error = client.power_state(), ""
        except bmc.BmcError as error:
            last_error = error.message
        if last_state == wanted and not last_error:
            return True, time.monotonic() - started, last_state, ""
        if time.monotonic() - started >= timeout:
            break
    return False, time.monotonic() - started, last_state, last_error


def _power_off_and_confirm(entry, report, timeout):
    """Steps 1 and 2. Returns ``(confirmed, detail for the audit record)``."""
    started = time.monotonic()
    try:
        client = bmc.client(entry, bmc_inventory.password_of(entry), conf.bmc_timeout())
    except bmc_inventory.PasswordUnavailable as error:
        report.add(power.POWER_OFF_STEP, FAILED, str(error))
        return False, str(error)
    try:
        try:
            before = client.power_state()
            if before == power.OFF:
                report.add(power.POWER_OFF_STEP, SKIPPED,
                           _("the BMC already reports the host Off"),
                           time.monotonic() - started)
            else:
                client.power_off()
                report.add(power.POWER_OFF_STEP, SUCCEEDED,
                           _("the BMC accepted the power-off (it was %s)")
                           % power.label(before), time.monotonic() - started)
        except bmc.BmcError as error:
            report.add(power.POWER_OFF_STEP, FAILED, error.message, time.monotonic() - started)
            return False, "power off failed: %s" % error.message
        reached, seconds, last, last_error = wait_for(client, power.OFF, timeout)
    finally:
        bmc.close(client)
    if reached:
        report.add(power.CONFIRM_OFF_STEP, SUCCEEDED, "", seconds)
        return True, "Off confirmed %.1f s after the power-off (%.1f s in all)" % (
            seconds, time.monotonic() - started)
    why = (_("the BMC did not report Off within %(timeout).0f s (last: %(last)s)")
           % {"timeout": timeout,
              "last": last_error or (power.label(last) if last else _("no answer"))})
    report.add(power.CONFIRM_OFF_STEP, FAILED, why, seconds)
    return False, why


def _nova_steps(request, service, report, disable, reason):
    started = time.monotonic()
    try:
        host_actions.force_down(request, service, disable=False)
    except host_actions.Refusal as refusal:
        report.add(power.FORCE_DOWN_STEP, FAILED, str(refusal), time.monotonic() - started)
        return report.stop(_("Nova did not accept the force-down: %s") % refusal)
    report.forced_down = True
    report.add(power.FORCE_DOWN_STEP, SUCCEEDED,
               _("Nova treats %s as fenced: its instances can be evacuated now")
               % service["host"], time.monotonic() - started)
    if not disable:
        return report
    if service.get("status") != "enabled":
        report.add(power.DISABLE_STEP, SKIPPED, _("the service was already disabled"))
        return report
    started = time.monotonic()
    try:
        host_actions.set_enabled(request, service, False, reason or None)
    except host_actions.Refusal as refusal:  # the force-down stands: evacuation can go on
        report.add(power.DISABLE_STEP, FAILED, str(refusal), time.monotonic() - started)
        return report
    report.add(power.DISABLE_STEP, SUCCEEDED, reason or "", time.monotonic() - started)
    return report


def fence(request, service, disable=True, reason=None, override=False, timeout=None):
    """Fence ``service``'s host; returns the ``FenceReport`` (never raises for a BMC or
    Nova refusal: the report says where it stopped). ``override``: the operator typed the
    host name, so a fence that cannot confirm Off still forces the service down."""
    host = service["host"]
    report = power.FenceReport(host)
    timeout = conf.bmc_fence_timeout() if timeout is None else timeout
    try:
        entry = entry_or_refusal(host)
    except NotFenceable as why:
        entry, confirmed, detail = None, False, str(why)
        report.add(power.POWER_OFF_STEP, FAILED, detail)
    if entry is not None:
        record = _begin(request, AuditRecord.FENCE, host, disable=bool(disable),
                        reason=reason or "", timeout_seconds=timeout, **entry.public(),
                        **timeline_rules.host_signs(service))
        try:
            confirmed, detail = _power_off_and_confirm(entry, report, timeout)
        except Exception as error:
            _finish(record, AuditRecord.FAILED, recording.describe_error(error))
            raise
        _finish(record, AuditRecord.SUCCEEDED if confirmed else AuditRecord.FAILED, detail)
        power_states.forget(host)
    if not confirmed:
        if not override:
            return report.stop(_("%(host)s is not fenced: %(why)s. Nova was not told "
                                 "anything; fix the BMC, or confirm by typing the host name "
                                 "that the host is powered off or isolated.")
                               % {"host": host, "why": detail})
        record = _begin(request, AuditRecord.FENCE_OVERRIDE, host, bmc_problem=detail)
        _finish(record, AuditRecord.SUCCEEDED, "The operator typed the host name: the host "
                "is powered off or isolated (the BMC could not confirm it: %s)" % detail)
        report.add(power.TYPED_CONFIRMATION_STEP, SUCCEEDED,
                   _("you confirmed that the host is powered off or isolated"))
    report.fenced = True
    if service.get("forced_down"):
        report.forced_down = True
        report.add(power.FORCE_DOWN_STEP, SKIPPED, _("the service was already forced down"))
        return report
    return _nova_steps(request, service, report, disable, reason)


def power_on(request, host, timeout=None):
    """Power the repaired host on and wait (bounded) until its BMC reports On."""
    report = power.FenceReport(host)
    timeout = conf.bmc_fence_timeout() if timeout is None else timeout
    entry = entry_or_refusal(host)
    record = _begin(request, AuditRecord.POWER_ON, host, **entry.public())
    started = time.monotonic()
    client = None
    try:
        client = bmc.client(entry, bmc_inventory.password_of(entry), conf.bmc_timeout())
        client.power_on()
        reached, seconds, last, last_error = wait_for(client, power.ON, timeout)
    except (bmc.BmcError, bmc_inventory.PasswordUnavailable) as error:
        why = getattr(error, "message", None) or str(error)
        report.add(power.POWER_ON_STEP, FAILED, why, time.monotonic() - started)
        _finish(record, AuditRecord.FAILED, why)
        return report.stop(why)
    except Exception as error:
        _finish(record, AuditRecord.FAILED, recording.describe_error(error))
        raise
    finally:
        if client is not None:
            bmc.close(client)
        power_states.forget(host)
    if reached:
        detail = "On %.1f s after the power-on was sent" % seconds
        report.add(power.POWER_ON_STEP, SUCCEEDED, detail, seconds)
        _finish(record, AuditRecord.SUCCEEDED, detail)
        return report
    why = "the BMC did not report On within %.0f s (last: %s)" % (
        timeout, last_error or power.LABELS.get(last, last or "no answer"))
    report.add(power.POWER_ON_STEP, FAILED, why, seconds)
    _finish(record, AuditRecord.FAILED, why)
    return report.stop(why)


def fenceable(host):
    """The host's BMC entry when it can be fenced through it (None: no usable entry)."""
    return bmc_inventory.entry_for(host)


def fence_and_evacuate(request, evacuation, disable=True, reason=None, override=False,
                       executor=None):
    """Fence ``evacuation``'s source host, then start ``evacuation`` (the operator's
    reviewed request, from the Fence-and-evacuate modal or the wizard) once Nova sees the
    service forced down. ``(report, batch)``; ``batch`` is None when the fence stopped or
    the evacuation was refused (the report's last step says why)."""
    report = fence(request, evacuation.service, disable=disable, reason=reason,
                   override=override)
    if not report.forced_down:
        return report, None
    host = evacuation.source_host
    started = time.monotonic()
    try:
        fresh = nova.service_get(request, host) or evacuation.service
        batch = evacuations.start(request, dataclasses.replace(
            evacuation, service=fresh, services=nova.service_list(request)),
            executor=executor)
    except evacuations.ActionRefused as refused:
        report.add(power.EVACUATE_STEP, FAILED, str(refused), time.monotonic() - started)
        report.stop(_("The host is fenced and forced down, but the evacuation did not "
                      "start: %s") % refused)
        return report, None
    except Exception as error:  # Nova unreadable: fenced, nothing sent
        LOG.exception("Fence and evacuate %s: the evacuation could not start", host)
        detail = recording.describe_error(error)
        report.add(power.EVACUATE_STEP, FAILED, detail, time.monotonic() - started)
        report.stop(_("The host is fenced and forced down, but the evacuation did not "
                      "start: %s") % detail)
        return report, None
    report.add(power.EVACUATE_STEP, SUCCEEDED,
               ngettext("%d instance is being evacuated", "%d instances are being evacuated",
                        len(evacuation.servers)) % len(evacuation.servers),
               time.monotonic() - started)
    return report, batch
