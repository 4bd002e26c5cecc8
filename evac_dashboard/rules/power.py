"""Power states read from BMCs, and the steps of a fence, in words an operator reads.

Plain Python. ``api.bmc`` turns what a BMC answers into one of the states here;
``operations.fencing`` records each step of a fence as a ``Step``.
"""
from dataclasses import dataclass, field

from evac_dashboard.rules.i18n import gettext as _
from evac_dashboard.rules.i18n import gettext_noop

ON = "on"
OFF = "off"
POWERING_ON = "powering_on"
POWERING_OFF = "powering_off"
UNREACHABLE = "unreachable"
AUTH_FAILED = "auth_failed"
ERROR = "error"
NOT_CONFIGURED = "not_configured"

LABELS = {
    ON: gettext_noop("On"),
    OFF: gettext_noop("Off"),
    POWERING_ON: gettext_noop("Powering on"),
    POWERING_OFF: gettext_noop("Powering off"),
    UNREACHABLE: gettext_noop("BMC unreachable"),
    AUTH_FAILED: gettext_noop("BMC refused the credentials"),
    ERROR: gettext_noop("BMC error"),
    NOT_CONFIGURED: gettext_noop("Not configured"),
}


def label(state):
    """A power state in words, in the page's language (``LABELS`` holds the English)."""
    return _(LABELS.get(state, state))


_REDFISH = {"on": ON, "off": OFF, "poweringon": POWERING_ON, "poweringoff": POWERING_OFF,
            "paused": ON}
_IPMI = {"on": ON, "off": OFF}


def from_redfish(value):
    """A Redfish ``PowerState`` (``On``, ``Off``, ``PoweringOn``, ``PoweringOff``,
    ``Paused``) as one of ours; ``ERROR`` for anything else (None included)."""
    return _REDFISH.get(str(value or "").replace(" ", "").lower(), ERROR)


def from_ipmi(value):
    """pyghmi's ``powerstate`` (``on``/``off``) as one of ours."""
    return _IPMI.get(str(value or "").lower(), ERROR)


@dataclass(frozen=True)
class Reading:
    """One host's power state as its BMC told it (or why it could not)."""

    host: str
    state: str
    detail: str = ""     # why, for unreachable / error states; never a secret
    seconds: float = 0.0  # how long the read took

    @property
    def label(self):
        return _(LABELS.get(self.state, self.state))

    @property
    def is_off(self):
        return self.state == OFF

    def as_json(self):
        return {"host": self.host, "state": self.state, "label": self.label,
                "detail": self.detail, "seconds": round(self.seconds, 3)}


def poll_delays(timeout, first=0.5, factor=1.5, longest=3.0):
    """Delays between reads while waiting for a state, adding up to at most ``timeout``."""
    delays, total, delay = [], 0.0, first
    while total + delay <= timeout:
        delays.append(delay)
        total += delay
        delay = min(longest, delay * factor)
    if timeout - total > 0.05:
        delays.append(round(timeout - total, 3))
    return delays


# --------------------------------------------------------------------------- fence steps

SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"

POWER_OFF_STEP = "power_off"
CONFIRM_OFF_STEP = "confirm_off"
TYPED_CONFIRMATION_STEP = "typed_confirmation"
FORCE_DOWN_STEP = "force_down"
DISABLE_STEP = "disable"
EVACUATE_STEP = "evacuate"
POWER_ON_STEP = "power_on"

STEP_TITLES = {
    POWER_OFF_STEP: gettext_noop("Power off through the BMC"),
    CONFIRM_OFF_STEP: gettext_noop("BMC reports the host Off"),
    TYPED_CONFIRMATION_STEP: gettext_noop("Operator confirmed by typing the host name"),
    FORCE_DOWN_STEP: gettext_noop("Force the compute service down"),
    DISABLE_STEP: gettext_noop("Disable the compute service"),
    EVACUATE_STEP: gettext_noop("Start the evacuation"),
    POWER_ON_STEP: gettext_noop("Power on through the BMC"),
}


@dataclass(frozen=True)
class Step:
    name: str
    outcome: str
    detail: str = ""
    seconds: float = 0.0

    @property
    def title(self):
        return _(STEP_TITLES.get(self.name, self.name))

    @property
    def ok(self):
        return self.outcome == SUCCEEDED


@dataclass
class FenceReport:
    """What a fence did, step by step; ``fenced`` once Off is confirmed (or the operator
    overrode), ``forced_down`` once Nova accepted it."""

    host: str
    steps: list = field(default_factory=list)
    fenced: bool = False
    forced_down: bool = False
    stopped_because: str = ""

    def add(self, name, outcome, detail="", seconds=0.0):
        self.steps.append(Step(name, outcome, detail, seconds))
        return self.steps[-1]

    def stop(self, why):
        self.stopped_because = why
        return self

    @property
    def ok(self):
        return not self.stopped_because and all(s.outcome != FAILED for s in self.steps)

    def seconds(self):
        return sum(s.seconds for s in self.steps)
