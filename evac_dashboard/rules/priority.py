"""Restart priority: which servers are evacuated first.

Set per server with the metadata key ``evac:restart_priority`` (an integer; higher goes
first; negative numbers are allowed and go last). Missing means 0. A value that is not an
integer also counts as 0 but is flagged so the operator can fix it.
"""
import re
from dataclasses import dataclass

from evac_dashboard.rules import servers as srv

METADATA_KEY = "evac:restart_priority"
DEFAULT = 0

_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class RestartPriority:
    value: int
    raw: str | None = None  # the metadata value as set, None when absent
    valid: bool = True

    @property
    def problem(self):
        if self.valid:
            return None
        return "%s=%r is not an integer; using %d" % (METADATA_KEY, self.raw, DEFAULT)


def restart_priority(server):
    raw = srv.metadata(server).get(METADATA_KEY)
    if raw is None:
        return RestartPriority(DEFAULT)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return RestartPriority(raw, str(raw))
    text = str(raw).strip()
    if isinstance(raw, str) and _INTEGER.fullmatch(text):
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
