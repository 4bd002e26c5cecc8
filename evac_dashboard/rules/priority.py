"""Restart priority: which servers are evacuated first.

Set per server with the metadata key ``evac:restart_priority`` (an integer; higher goes
first; negative numbers are allowed and go last). Missing means 0. A value that is not an
integer also counts as 0 but is flagged so the operator can fix it.

The metadata is the tenant's: any project member sets it on their own server. A number
outside ``MINIMUM..MAXIMUM`` (the database column's range, a signed 32-bit INT on MariaDB)
is treated like any other invalid value, so no tenant can make a host's evacuation fail.
"""
import re
from dataclasses import dataclass

from evac_dashboard.rules import servers as srv
from evac_dashboard.rules.i18n import gettext as _

METADATA_KEY = "evac:restart_priority"
DEFAULT = 0

MAXIMUM = 2 ** 31 - 1
MINIMUM = -(2 ** 31)
_INTEGER = re.compile(r"[+-]?\d{1,20}")


@dataclass(frozen=True)
class RestartPriority:
    value: int
    raw: str | None = None  # the metadata value as set, None when absent
    valid: bool = True

    @property
    def problem(self):
        if self.valid:
            return None
        return _("%(key)s=%(value)r is not an integer from %(minimum)d to %(maximum)d; "
                 "using %(default)d") % {
            "key": METADATA_KEY, "value": _shortened(self.raw), "minimum": MINIMUM,
            "maximum": MAXIMUM, "default": DEFAULT}


def _shortened(raw, limit=40):
    text = str(raw)
    return text if len(text) <= limit else text[:limit] + "…"


def _in_range(value):
    return MINIMUM <= value <= MAXIMUM


def restart_priority(server):
    raw = srv.metadata(server).get(METADATA_KEY)
    if raw is None:
        return RestartPriority(DEFAULT)
    if isinstance(raw, int) and not isinstance(raw, bool) and _in_range(raw):
        return RestartPriority(raw, str(raw))
    text = str(raw).strip()
    if isinstance(raw, str) and _INTEGER.fullmatch(text) and _in_range(int(text)):
        return RestartPriority(int(text), raw)
    return RestartPriority(DEFAULT, str(raw), valid=False)


def submission_key(server):
    """Sort key: priority descending, then name (case-insensitive), then ID for stability."""
    return (-restart_priority(server).value, srv.label(server).casefold(), server.get("id") or "")


def submission_order(servers):
    """The servers in the order their evacuations should be submitted."""
    return sorted(servers, key=submission_key)


def invalid_priorities(servers):
    """``(server, RestartPriority)`` for every server whose priority metadata is not an integer."""
    found = []
    for server in servers:
        priority = restart_priority(server)
        if not priority.valid:
            found.append((server, priority))
    return found
