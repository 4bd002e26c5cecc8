"""How Nova sees a compute service (``GET /os-services`` JSON).

``state`` is computed by nova-api: ``down`` when ``forced_down`` is true or the last heartbeat
is older than ``service_down_time``. ``updated_at`` is *not* the heartbeat: it also changes when
an admin updates the row. It still bounds the heartbeat from above, which gives the latest time
at which a host whose heartbeat stopped will look down.
"""
from datetime import datetime, timedelta, timezone

from evac_dashboard.rules.i18n import gettext as _

COMPUTE_BINARY = "nova-compute"
DEFAULT_SERVICE_DOWN_TIME = 60


def is_forced_down(service):
    return bool(service.get("forced_down"))


def is_down(service):
    """True when Nova's API would accept an evacuation from this host."""
    return is_forced_down(service) or service.get("state") == "down"


def is_enabled(service):
    return service.get("status") == "enabled"


def joined(problems):
    """``a``, or ``a and b``, as one translatable sentence (a list is never glued in English)."""
    problems = list(problems)
    if len(problems) < 2:
        return "".join(problems)
    return _("%(first)s and %(second)s") % {"first": joined(problems[:-1]),
                                           "second": problems[-1]}


def target_problems(service):
    """Why this service cannot take evacuated servers; empty when it can.

    The scheduler's ComputeFilter rejects hosts that are down or disabled, and a forced
    target is not checked at all, so any of these makes the host unusable.
    """
    problems = []
    if is_forced_down(service):
        problems.append(_("forced down"))
    elif service.get("state") != "up":
        problems.append(_("down"))
    if service.get("status") == "UNKNOWN":
        problems.append(_("in an unreachable cell"))
    elif not is_enabled(service):
        reason = service.get("disabled_reason")
        problems.append(_("disabled (%s)") % reason if reason else _("disabled"))
    return problems


def find_compute_service(services, host):
    """The nova-compute service whose ``host`` equals ``host`` exactly (no substring match)."""
    for service in services:
        if service.get("host") == host and service.get("binary", COMPUTE_BINARY) == COMPUTE_BINARY:
            return service
    return None


def parse_time(value):
    """Nova timestamps (``2026-11-23T03:05:00.000000``, naive UTC, or with offset/``Z``)."""
    if isinstance(value, datetime):
        parsed = value
    elif not value:
        return None
    else:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00: before year 1 in UTC
        return None


def looks_down_by(service, service_down_time=DEFAULT_SERVICE_DOWN_TIME):
    """Latest time at which the service looks down if its heartbeat has stopped, or None."""
    updated = parse_time(service.get("updated_at"))
    if updated is None:
        return None
    try:
        return updated + timedelta(seconds=service_down_time)
    except OverflowError:  # a heartbeat at the end of year 9999 (a broken clock): unknown
        return None
