"""Nova errors and faults turned into advice an operator can act on during an outage.

``RULES`` is the single table. A rule matches on the HTTP status (when it lists any) and a
regular expression searched in Nova's message, or on the name of a client exception class
(connection problems have no HTTP status). The first matching rule wins, so specific rules
come before status-only ones. Named groups in a pattern (``host``, ``state``, ...) can be used
in the advice text.

``retryable`` means: the *same* request can succeed once the advice has been followed (for
example after forcing the host down). It is False when the request itself must change or the
operation is impossible.
"""
import re
from dataclasses import dataclass

from evac_dashboard.rules.i18n import gettext as _
from evac_dashboard.rules.i18n import gettext_noop

_ANY_STATUS = ()


@dataclass(frozen=True)
class Advice:
    code: str
    title: str
    advice: str
    nova_message: str
    retryable: bool


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    advice: str
    retryable: bool
    pattern: str | None = None
    statuses: tuple = _ANY_STATUS
    exceptions: tuple = ()

    def match(self, status_code, message, exception_name):
        """The regex match (or True) when this rule applies, else None."""
        if exception_name and exception_name in self.exceptions:
            return True
        if self.statuses and status_code not in self.statuses:
            return None
        if self.pattern is None:
            return True if self.statuses else None
        return re.search(self.pattern, message or "")


SOURCE_STILL_UP = "source_still_up"
SOURCE_MOVED = "server_not_on_source"
ANSWER_LOST = "answer_lost"
NOT_RECEIVED = "not_received"

# Answers after which Nova may have acted although it did not say so: a proxy's 502/503/504
# (nova-api may have done its work and the answer was lost on the way back) and 500 (Nova
# raises some errors after it recorded the evacuation: shared/reference/nova-evacuate.md
# §1.4, "Rare 500s"). Every other status is Nova's or a proxy's clean answer: 4xx is a
# refusal made before anything was recorded (401 included: Keystone's middleware answers it
# before Nova sees the request), 408 means the request never arrived whole.
MAYBE_ACCEPTED_STATUSES = (500, 502, 503, 504)


RULES = (
    # --- refusals of the evacuate call itself -------------------------------------------
    # Nova names the host the server is on *now*. That is the failed host only while the
    # server has not moved: ``advise(..., source_host=...)`` checks (``SOURCE_MOVED``).
    # Nova answers 400 (nova/api/openstack/compute/evacuate.py); 409 is accepted too.
    Rule(SOURCE_STILL_UP, gettext_noop("The failed host still looks up to Nova"),
         gettext_noop("Nova still sees nova-compute on {host} as up, so it refuses to evacuate. "
                      "Fence {host} (power it off or isolate it), then Force Down its compute "
                      "service and try again. Or wait until its last heartbeat is older than "
                      "service_down_time (60 s by default)."),
         True, r"Compute service of (?P<host>\S+?) is still in use", (400, 409)),
    Rule("compute_too_old_to_leave_stopped", gettext_noop("A compute service is too old to "
                                                          "leave servers stopped"),
         gettext_noop("Leaving evacuated servers stopped needs every nova-compute that is not "
                      "forced down to run 2023.1 or newer, and at least one is older (Nova's "
                      "message shows the oldest service version it counted and the one needed). "
                      "Force down the compute services that are dead or old, or choose "
                      "\"servers come back running\", which uses the previous microversion."),
         True, r"'currently':\s*\d+.*'expected':\s*\d+|'expected':\s*\d+.*'currently':\s*\d+"
               r"|Required version for compute", (400,)),
    Rule("target_is_source", gettext_noop("The target is the server's own host"),
         gettext_noop("The target host is the host the server is on (or the server has no host "
                      "at all). Choose another target host, or leave it empty to let the "
                      "scheduler choose."),
         False, r"The target host can't be the same one", (400,)),
    Rule("force_without_host", gettext_noop("Forcing needs a target host"),
         gettext_noop("Forcing bypasses the scheduler, so it needs a named target host. Choose "
                      "a host or untick force."),
         False, r"Can't force to a non-provided destination", (400,)),
    Rule("password_with_shared_storage", gettext_noop("No password with shared storage"),
         gettext_noop("With shared instance storage Nova keeps the existing disk and cannot set "
                      "a new admin password. Clear the password or untick shared storage."),
         False, r"admin password can't be changed on existing disk", (400,)),
    Rule("force_up_blocked", gettext_noop("The repaired host still has unfinished evacuation "
                                          "records"),
         gettext_noop("Start nova-compute on the repaired {host} first: on start-up it removes "
                      "the evacuated servers' leftovers and marks their evacuation records "
                      "completed. Then unset Force Down again and re-enable the service."),
         True, r"Unable to force up host (?P<host>\S+?) as `done` evacuation migration records "
               r"remain", (400,)),
    Rule("vtpm_unsupported", gettext_noop("Servers with a virtual TPM cannot be evacuated"),
         gettext_noop("Nova refuses to evacuate servers with a virtual TPM. Bring the failed "
                      "host back to recover this server, or recreate it elsewhere."),
         False, r"not supported for vTPM-enabled instance", (400,)),
    Rule("accelerators_unsupported", gettext_noop("Servers with accelerators cannot be evacuated"),
         gettext_noop("Nova refuses to evacuate servers that use accelerators (Cyborg devices "
                      "or accelerator ports), at least until all compute services are upgraded. "
                      "Bring the failed host back or recreate the server."),
         False, r"Feature not supported with (?:instances|Ports) that have accelerators", (400,)),
    Rule("old_computes_for_port_resources", gettext_noop("Compute services too old for this "
                                                         "server's ports"),
         gettext_noop("The server has ports with resource requests (QoS) and some nova-compute "
                      "services are older than Xena. Upgrade those compute services or force "
                      "down the dead ones, then try again."),
         True, r"port-resource-request-groups", (400,)),
    Rule("request_format", gettext_noop("Nova rejected the request format"),
         gettext_noop("Nova did not accept the request body at this microversion. This is a "
                      "dashboard bug or a wrong microversion setting; report it with Nova's "
                      "message."),
         False, r"Additional properties are not allowed|Invalid input for field|"
                r"is a required property|is not of type", (400,)),
    Rule("target_not_found", gettext_noop("Target host not found"),
         gettext_noop("No nova-compute service is named {host}. Use the compute service host "
                      "name (as in the compute services list), not the hypervisor hostname."),
         False, r"Compute host (?P<host>\S+?) (?:not found|could not be found)", (404,)),
    Rule("server_not_found", gettext_noop("Server not found"),
         gettext_noop("The server no longer exists or is not visible to you (it may have been "
                      "deleted). Refresh the list; nothing was evacuated."),
         False, r"Instance (?P<instance>\S+?) could not be found", (404,)),
    Rule("policy_refused", gettext_noop("Not allowed to evacuate"),
         gettext_noop("Your role may not use {rule}. Evacuation is admin-only by default: log "
                      "in with an admin role, or ask the cloud operator to change the policy."),
         False, r"Policy doesn't allow (?P<rule>\S+) to be performed", (403,)),
    Rule("never_launched", gettext_noop("The server never launched"),
         gettext_noop("The server never finished booting, so Nova has nothing to rebuild. "
                      "Delete it or create it again."),
         False, r"while it is in launched_at None", (409,)),
    Rule("task_in_progress", gettext_noop("A task is in progress on the server"),
         gettext_noop("This Nova (older than Zed) refuses to evacuate while task {state} is "
                      "recorded. Wait for it to finish; if it is stuck, reset the server's "
                      "state to error and evacuate again."),
         True, r"while it is in task_state (?P<state>\S+)", (409,)),
    Rule("state_not_evacuable", gettext_noop("The server's state does not allow evacuation"),
         gettext_noop("Nova only evacuates servers that are ACTIVE, SHUTOFF or ERROR; this one "
                      "is {state}. If its host is really dead, reset its state to error and "
                      "evacuate it again."),
         True, r"while it is in vm_state (?P<state>\S+)", (409,)),
    Rule("shares_unsupported", gettext_noop("Servers with shares cannot be evacuated"),
         gettext_noop("Nova refuses to evacuate servers that have Manila shares attached (or "
                      "not until all compute services are upgraded). Bring the failed host "
                      "back, or detach the shares and try again."),
         False, r"instances that have shares|until computes have not been updated", (409,)),
    Rule("rpc_version", gettext_noop("Nova services disagree on versions"),
         gettext_noop("nova-api and the compute services do not share an RPC version (an "
                      "upgrade in progress?). Finish the upgrade or fix the RPC version pins, "
                      "then retry."),
         True, r"Unsupported RPC version", (409,)),
    # --- asynchronous failures (server faults) that can also come back synchronously ----
    Rule("no_valid_host", gettext_noop("No host can take the server"),
         gettext_noop("The scheduler found no host for the server: not enough free vCPU, RAM or "
                      "disk, or its filters rejected every host (availability zone, server "
                      "group anti-affinity, host aggregates, hosts down or disabled). Free "
                      "capacity or enable hosts, pick another target, or check the server's "
                      "availability zone and server group. The server stays on the failed host "
                      "(in ERROR) and can be evacuated again."),
         True, r"No valid host was found"),
    Rule("claim_failed", gettext_noop("The target host ran out of room"),
         gettext_noop("The target host could not claim the resources (evacuations running at "
                      "the same time can race for the same host). Evacuate again and let the "
                      "scheduler choose, or pick a host with more free capacity."),
         True, r"Insufficient compute resources|ComputeResourcesUnavailable"),
    Rule("group_policy_violated", gettext_noop("Server group policy violated on the target"),
         gettext_noop("Another member of the server's (anti-)affinity group landed on the same "
                      "host at the same time. Evacuate this server again; evacuate group "
                      "members one at a time."),
         True, r"(?i)affinity instance group policy was violated"),
    Rule("shared_storage_mismatch", gettext_noop("Shared storage choice was wrong"),
         gettext_noop("The shared-storage choice did not match the target host's storage. Reset "
                      "the server's state to error and evacuate it again with the other choice."),
         False, r"(?i)shared storage"),
    Rule("driver_cannot_evacuate", gettext_noop("This hypervisor cannot evacuate"),
         gettext_noop("The hypervisor driver of this host (for example Ironic or VMware) does "
                      "not support evacuation. Recover the failed host instead."),
         False, r"Instance (?:evacuate|recreate) is not supported"),
    Rule("guest_already_exists", gettext_noop("A guest with this name already exists on the "
                                              "target"),
         gettext_noop("The target hypervisor already has a guest with this server's name, "
                      "probably left from an earlier attempt. Remove it there or choose another "
                      "target, reset the server's state to error and evacuate it again."),
         True, r"Instance (?P<instance>\S+?) already exists"),
    # --- transport problems: no HTTP status -----------------------------------------------
    Rule("endpoint_not_found", gettext_noop("No compute endpoint in the catalog"),
         gettext_noop("The Keystone catalog has no compute endpoint for this region and "
                      "interface. Check the dashboard's region and endpoint type settings. "
                      "Nothing was sent to Nova."),
         True, exceptions=("EndpointNotFound", "EmptyCatalog")),
    Rule("tls_failed", gettext_noop("TLS connection to Nova failed"),
         gettext_noop("The secure connection to Nova's API failed. Check the endpoint's "
                      "certificate and the dashboard's CA settings. The request may or may not "
                      "have reached Nova: check the server's status and its evacuation record "
                      "before retrying, or it could be evacuated twice."),
         True, exceptions=("SSLError",)),
    Rule("nova_unreachable", gettext_noop("Nova's API did not answer"),
         gettext_noop("Nova's API is unreachable or did not answer in time. Check that the "
                      "compute endpoint is reachable from the dashboard host and that nova-api "
                      "is running. The request may or may not have reached Nova: check the "
                      "server's status and its evacuation record before retrying, or it could "
                      "be evacuated twice."),
         True, statuses=(408, 504),
         exceptions=("ConnectFailure", "ConnectTimeout", "ConnectionError", "ReadTimeout",
                     "Timeout", "ConnectionRefusedError", "UnknownConnectionError",
                     "GatewayTimeout", "RequestTimeout")),
    # --- status-only fallbacks --------------------------------------------------------------
    Rule("not_allowed", gettext_noop("Not allowed"),
         gettext_noop("Nova refused the request for your role. Evacuation is admin-only by "
                      "default: log in with an admin role, or ask the cloud operator."),
         False, statuses=(403,)),
    Rule("session_expired", gettext_noop("Session expired"),
         gettext_noop("Your login is no longer valid. Log in again and retry."),
         True, statuses=(401,)),
    Rule("nova_unavailable", gettext_noop("Nova's API is unavailable"),
         gettext_noop("Nova's API is overloaded or restarting. Wait a moment. The request may "
                      "or may not have reached Nova: check the server's status and its "
                      "evacuation record before retrying, or it could be evacuated twice."),
         True, statuses=(502, 503)),
    Rule("nova_internal_error", gettext_noop("Nova failed internally"),
         gettext_noop("Nova hit an internal error. Look up the request ID in the nova-api logs. "
                      "The server may have been left in REBUILD: if so, reset its state to "
                      "error and evacuate it again."),
         False, statuses=(500,)),
)

_REQUEST_FALLBACK = Rule(
    "nova_error", gettext_noop("Nova refused the request"),
    gettext_noop("Nova's message is shown below; fix what it names and try again. The request "
                 "ID finds it in Nova's logs."), False)

_FAULT_FALLBACK = Rule(
    "evacuation_failed", gettext_noop("The evacuation failed"),
    gettext_noop("Nova's message is shown below. The server still belongs to the failed host: "
                 "once the cause is fixed, reset its state to error if needed and evacuate it "
                 "again (ERROR servers can be evacuated)."), True)

_MIGRATION_FAILED_WITHOUT_FAULT = Rule(
    "target_refused", gettext_noop("The target host refused the server"),
    gettext_noop("The evacuation record failed but Nova shows no fault: the target host could "
                 "not claim resources or a server group check failed there, and Nova put the "
                 "server back in its previous state. Evacuate it again, letting the scheduler "
                 "choose or picking a host with more room."), True)

_MIGRATION_ERROR_WITHOUT_FAULT = Rule(
    "scheduling_failed", gettext_noop("Scheduling failed"),
    gettext_noop("The evacuation record is in error but Nova shows no fault: scheduling or "
                 "claiming resources on the target failed. Check capacity and the target host, "
                 "then evacuate again."),
    True)

_PLACEHOLDER_DEFAULTS = {
    "host": gettext_noop("the host"), "state": gettext_noop("its current state"),
    "rule": gettext_noop("this action"), "instance": gettext_noop("the server"),
}


class _Defaults(dict):
    def __missing__(self, key):
        return _(_PLACEHOLDER_DEFAULTS.get(key, "?"))


def _advice(rule, match, message):
    groups = match.groupdict() if isinstance(match, re.Match) else {}
    values = _Defaults({k: v for k, v in groups.items() if v is not None})
    return Advice(rule.code, _(rule.title), _(rule.advice).format_map(values), message,
                  rule.retryable)


_CLIENT_DECORATION = re.compile(r"\s*\(HTTP \d{3}\)(?:\s*\(Request-ID: [^)]*\))?\s*$")


def nova_message(error):
    """Nova's own message from an error body or a novaclient exception text.

    Accepts ``{"badRequest": {"code": 400, "message": "..."}}``, ``{"message": "..."}`` or a
    string such as ``"Compute service of cmp1 is still in use. (HTTP 400) (Request-ID: ...)"``.
    """
    if isinstance(error, dict):
        if "message" in error:
            return str(error["message"])
        for value in error.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])
        return str(error)
    return _CLIENT_DECORATION.sub("", str(error or ""))


_SOURCE_MOVED = Rule(
    SOURCE_MOVED, gettext_noop("The server is no longer on {source}"),
    gettext_noop("Nova refused because the host the server is on now, {host}, is up: the server "
                 "has already left {source}. Most likely an earlier evacuation of it was "
                 "accepted (perhaps one whose answer was lost) or someone else moved it. {host} "
                 "is not the failed host: do not fence it or force it down. Look at the server "
                 "and its evacuation records; nothing was sent this time."), False)


def advise(status_code, message, exception_name=None, source_host=None):
    """Advice for a failed evacuate (or force-up) call.

    ``source_host``: the failed host the evacuation is from. Nova's "Compute service of X
    is still in use" names the server's *current* host; when that is not ``source_host``
    the server has moved already, and the advice says so instead of telling the operator
    to fence a healthy host.
    """
    message = nova_message(message)
    for rule in RULES:
        match = rule.match(status_code, message, exception_name)
        if match:
            if (rule.code == SOURCE_STILL_UP and source_host and isinstance(match, re.Match)
                    and match.group("host") != source_host):
                values = {"host": match.group("host"), "source": source_host}
                return Advice(SOURCE_MOVED, _(_SOURCE_MOVED.title).format(**values),
                              _(_SOURCE_MOVED.advice).format(**values), message, False)
            return _advice(rule, match, message)
    return _advice(_REQUEST_FALLBACK, None, message)


def refines(stored_code, fresh_code):
    """Whether ``fresh_code`` is a more exact reading of an answer once advised as
    ``stored_code`` (the stored advice came from rules without the batch's source host)."""
    return stored_code == SOURCE_STILL_UP and fresh_code == SOURCE_MOVED


def answer_lost(what):
    """Advice for an evacuate whose answer never came back (``what`` happened instead)."""
    return Advice(
        ANSWER_LOST, _("Answer lost; checking Nova"),
        _("The evacuate request was sent, but its answer was lost (%s). Nova may have accepted "
          "it, so nothing is sent again until Nova's evacuation records and the server's "
          "instance actions show whether it did.") % what, "", False)


def not_received(what):
    """Advice once Nova shows no trace of an evacuate whose answer was lost."""
    return Advice(
        NOT_RECEIVED, _("Nova never acted on the request"),
        _("The answer to the evacuate request was lost (%s), and Nova has no evacuation record "
          "and no evacuate action of this server since it was sent: the request did not take "
          "effect. It can be sent again (Retry).") % what, "", True)


def advise_fault(fault, migration_status=None):
    """Advice for a failure seen after Nova accepted the request.

    ``fault`` is the server's ``fault`` dict (``code``, ``message``, ``details``) or None;
    ``migration_status`` the evacuation record's status. Only message patterns are used:
    a fault's code says little (NoValidHost is recorded as 500).
    """
    message = nova_message((fault or {}).get("message") or "")
    if message:
        for rule in RULES:
            if rule.pattern is None:
                continue
            match = re.search(rule.pattern, message)
            if match:
                return _advice(rule, match, message)
        return _advice(_FAULT_FALLBACK, None, message)
    if migration_status == "failed":
        return _advice(_MIGRATION_FAILED_WITHOUT_FAULT, None, "")
    if migration_status == "error":
        return _advice(_MIGRATION_ERROR_WITHOUT_FAULT, None, "")
    return _advice(_FAULT_FALLBACK, None, "")
