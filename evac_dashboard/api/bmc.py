"""Baseboard management controllers: read the power state, power off (fence), power on.

Redfish through ``sushy`` (OpenStack's Redfish client): ``ComputerSystem.PowerState`` and
``ComputerSystem.Reset`` with ``ForceOff`` / ``On``. IPMI through ``pyghmi``: chassis status
and chassis control (power off / on). Each call is bounded by ``timeout`` seconds per request
and makes no retries of its own beyond one (sushy's default would sleep and retry for tens of
seconds on an unreachable BMC).

Failures are ``BmcError`` with a ``state`` (``rules.power.UNREACHABLE``, ``AUTH_FAILED`` or
``ERROR``) and a message that names the BMC and never holds the password: any message is
scrubbed of it before it leaves this module, and Django's error reports never show it
(``sensitive_variables``).
"""
import logging
import time

from django.views.decorators.debug import sensitive_variables

from evac_dashboard.rules import bmc_config
from evac_dashboard.rules import power

LOG = logging.getLogger(__name__)


class BmcError(Exception):
    def __init__(self, state, message):
        super().__init__(message)
        self.state = state
        self.message = message


def _scrub(text, password):
    text = str(text)
    if password:
        text = text.replace(password, "***")
    return text[:500]


# ------------------------------------------------------------------------------- Redfish

class RedfishClient:
    """One Redfish BMC; the service root and the system are read on first use."""

    @sensitive_variables("password")
    def __init__(self, entry, password, timeout):
        self.entry = entry
        self._password = password
        self.timeout = timeout
        self._system = None

    def __repr__(self):
        return "<RedfishClient %s>" % self.entry.label()

    def _error(self, error):
        import sushy
        from sushy import exceptions as sushy_exc
        where = self.entry.label()
        if isinstance(error, sushy_exc.AccessError):
            return BmcError(power.AUTH_FAILED, "%s refused the credentials (HTTP %s)"
                            % (where, getattr(error, "status_code", "401")))
        if isinstance(error, sushy_exc.ConnectionError):
            return BmcError(power.UNREACHABLE, "%s cannot be reached: %s"
                            % (where, _scrub(getattr(error, "message", error), self._password)))
        if isinstance(error, sushy_exc.ResourceNotFoundError):
            return BmcError(power.ERROR, "%s has no system %s" % (
                where, self.entry.system_id or ""))
        if isinstance(error, sushy_exc.UnknownDefaultError):
            return BmcError(power.ERROR, "%s does not list exactly one system: set system_id "
                            "in the BMC file" % where)
        if isinstance(error, sushy_exc.HTTPError):
            return BmcError(power.ERROR, "%s answered HTTP %s: %s" % (
                where, getattr(error, "status_code", "?"),
                _scrub(getattr(error, "detail", "") or error, self._password)))
        if isinstance(error, sushy.exceptions.SushyError):
            return BmcError(power.ERROR, "%s: %s" % (where, _scrub(error, self._password)))
        return BmcError(power.ERROR, "%s: %s: %s" % (where, type(error).__name__,
                                                     _scrub(error, self._password)))

    def _connect(self):
        import sushy
        from sushy import auth as sushy_auth
        entry = self.entry
        kinds = {"basic": sushy_auth.BasicAuth, "session": sushy_auth.SessionAuth,
                 "auto": sushy_auth.SessionOrBasicAuth}
        auth = kinds[entry.auth](username=entry.username, password=self._password)
        root = sushy.Sushy(entry.address, auth=auth, verify=entry.verify_tls,
                           read_timeout=self.timeout, connect_timeout=self.timeout,
                           server_side_retries=1, server_side_retries_delay=0.2)
        return root.get_system(entry.system_id)

    def _call(self, function):
        try:
            if self._system is None:
                self._system = self._connect()
            return function(self._system)
        except BmcError:
            raise
        except Exception as error:  # every failure becomes a BmcError without secrets
            raise self._error(error) from None

    def power_state(self, refresh=True):
        def read(system):
            if refresh:
                system.refresh(force=True)
            value = system.power_state
            return power.from_redfish(getattr(value, "value", value))
        return self._call(read)

    def _reset(self, reset_type):
        import sushy
        self._call(lambda system: system.reset_system(sushy.ResetType(reset_type)))

    def power_off(self):
        """``ForceOff``: not a graceful shutdown, a fence."""
        self._reset("ForceOff")

    def power_on(self):
        self._reset("On")


# ---------------------------------------------------------------------------------- IPMI

class IpmiClient:
    """One IPMI BMC over RMCP+ (UDP), logged in on first use."""

    @sensitive_variables("password")
    def __init__(self, entry, password, timeout):
        self.entry = entry
        self._password = password
        self.timeout = timeout
        self._command = None

    def __repr__(self):
        return "<IpmiClient %s>" % self.entry.label()

    def _error(self, error):
        where = self.entry.label()
        if isinstance(error, str):
            raw = error
        else:
            raw = getattr(error, "message", None) or (error.args[0] if error.args else None)
        if raw is None:  # pyghmi's login gave up: nothing answered
            return BmcError(power.UNREACHABLE, "%s cannot be reached (no answer)" % where)
        text = _scrub(raw, self._password)
        lowered = text.lower()
        if any(word in lowered for word in ("password", "unauthorized", "incorrect",
                                            "authentication", "privilege", "rakp")):
            return BmcError(power.AUTH_FAILED, "%s refused the credentials (%s)" % (where, text))
        if any(word in lowered for word in ("timeout", "timed out", "no longer connected",
                                            "unreachable", "refused", "no route")):
            return BmcError(power.UNREACHABLE, "%s cannot be reached (%s)" % (where, text))
        return BmcError(power.ERROR, "%s: %s" % (where, text))

    def _connect(self):
        from pyghmi.ipmi import command
        # As bytes: pyghmi keys its sessions by the values given but clears them by their
        # encoded form, so with str a finished login stays "initting" and the next Command
        # for the same BMC waits for it forever.
        return command.Command(bmc=self.entry.address, userid=self.entry.username.encode(),
                               password=self._password.encode(), port=self.entry.ipmi_port,
                               keepalive=False)

    def _call(self, function):
        try:
            if self._command is None:
                self._command = self._connect()
            answer = function(self._command)
        except BmcError:
            raise
        except Exception as error:  # every failure becomes a BmcError without secrets
            raise self._error(error) from None
        if isinstance(answer, dict) and answer.get("error"):
            raise self._error(answer["error"])
        return answer

    def power_state(self, refresh=True):
        return power.from_ipmi(self._call(lambda c: c.get_power()).get("powerstate"))

    def power_off(self):
        """Chassis control: power down (immediate, not a soft shutdown)."""
        self._call(lambda c: c.set_power("off", wait=False))

    def power_on(self):
        self._call(lambda c: c.set_power("on", wait=False))

    def close(self):
        """Drop the session: pyghmi shares it with the next client of the same BMC and logs
        it out once idle (``keepalive=False``); an explicit logout would leave it broken."""
        self._command = None


@sensitive_variables("password")
def client(entry, password, timeout):
    """The client for ``entry``'s agent."""
    if entry.agent == bmc_config.REDFISH:
        return RedfishClient(entry, password, timeout)
    return IpmiClient(entry, password, timeout)


def close(bmc):
    closer = getattr(bmc, "close", None)
    if closer is not None:
        closer()


@sensitive_variables("password")
def read_power(entry, password, timeout):
    """``rules.power.Reading`` of ``entry``'s host: never raises."""
    started = time.monotonic()
    bmc = client(entry, password, timeout)
    try:
        state, detail = bmc.power_state(refresh=False), ""
    except BmcError as error:
        state, detail = error.state, error.message
    finally:
        close(bmc)
    return power.Reading(entry.host, state, detail, time.monotonic() - started)
