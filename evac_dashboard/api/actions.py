"""Thin Nova write calls: evacuate, force down, enable/disable a compute service.

Like ``api.nova`` each function makes a fixed, small number of HTTP requests and returns plain
data. Writes use ``client.novaclient(..., write=True)``, which never retries a connection, so
an evacuate is never sent twice by the transport.

``request`` is anything with ``.user.token.id``, ``.user.service_catalog`` and
``.user.services_region``: a Horizon request, or the ``Credentials`` snapshot the background
submission uses (it has no Django request).

Passwords: the evacuate body may carry ``adminPass`` (and below 2.14 the answer may too), so
the evacuate call is sent with keystoneauth's request/response logging off and traced
without its arguments; only the server ID, microversion and request ID are logged.
"""
import logging
from typing import NamedTuple
import uuid
from urllib import parse

from novaclient import exceptions as nova_exceptions

from horizon.utils import settings as horizon_settings
from openstack_dashboard.contrib.developer.profiler import api as profiler

from evac_dashboard.api import client
from evac_dashboard.rules import microversions
from evac_dashboard.api import nova
from evac_dashboard.rules import errors

LOG = logging.getLogger(__name__)

REQUEST_ID_HEADERS = ("x-openstack-request-id", "x-compute-request-id")
LAST_LEGACY_SERVICE_VERSION = (2, 52)  # the last microversion with PUT /os-services/<action>


class UnsupportedAction(client.ConfigurationError):
    """The cloud's microversion does not offer this action (for example force down < 2.11)."""


class EvacuateResult(NamedTuple):
    """Nova's answer to an accepted evacuate: its request ID and, below 2.14 only, the admin
    password Nova set (None otherwise). Show the password once; never store or log it."""

    request_id: str | None
    admin_pass: str | None

    def __repr__(self):
        return "EvacuateResult(request_id=%r, admin_pass=%s)" % (
            self.request_id, "<hidden>" if self.admin_pass else None)


def _trace_without_arguments(function):
    """Horizon's ``profiler.trace``, but never recording arguments or result (passwords)."""
    if not horizon_settings.get_dict_config("OPENSTACK_PROFILER", "enabled"):
        return function
    from osprofiler import profiler as osprofiler

    name = function.__module__ + "." + function.__name__
    return osprofiler.trace(name, hide_args=True, hide_result=True)(function)


def request_id(response):
    """Nova's request ID from a response's headers, or None."""
    headers = getattr(response, "headers", None) or {}
    for name in REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None


def _send(nova_client, method, url, body, log=True):
    """One write; Nova's refusals raise the matching novaclient exception, which always
    carries ``code`` and ``request_id`` (set here, so they survive a stubbed exception class
    such as Horizon's test helpers install)."""
    response, answer = nova_client.client.request(url, method, body=body, raise_exc=False,
                                                  log=log)
    if response.status_code >= 400:
        error = nova_exceptions.from_response(response, answer, url, method)
        error.code = response.status_code
        error.request_id = request_id(response)
        raise error
    return response, answer


@_trace_without_arguments
def evacuate(request, server_id, evacuate_request):
    """Send one evacuate: ``POST /servers/{id}/action`` with ``evacuate_request``'s body at its
    microversion, exactly as ``rules.request.build_request`` made it.

    Returns an ``EvacuateResult``; Nova's refusals raise novaclient exceptions (see
    ``advice_for``).
    """
    version = microversions.parse(evacuate_request.microversion)
    nova_client = client.novaclient(request, version=version, write=True)
    response, body = _send(nova_client, "POST",
                           "/servers/%s/action" % parse.quote(server_id, safe=""),
                           evacuate_request.action(), log=False)
    found_id = request_id(response)
    LOG.info("Evacuate of server %s sent at microversion %s; Nova request %s",
             server_id, evacuate_request.microversion, found_id)
    admin_pass = body.get("adminPass") if isinstance(body, dict) else None
    return EvacuateResult(found_id, admin_pass)


def _service_version(request):
    """The microversion for a service update, and whether services are addressed by UUID."""
    version = client.negotiated_version(request)
    if not microversions.supports("service_force_down", version):
        raise UnsupportedAction(
            "Forcing a compute service down needs compute microversion 2.11 or later; this "
            "cloud offers up to %s." % microversions.to_string(version))
    return version, microversions.supports("service_uuid_ids", version)


def _uses_uuid(service, by_uuid):
    """Services read at >= 2.53 carry a UUID ``id``; one read at an older version does not."""
    if not by_uuid:
        return False
    try:
        uuid.UUID(str(service.get("id")))
    except ValueError:
        return False
    return True


def _legacy_version(version):
    return min(microversions.parse(version), LAST_LEGACY_SERVICE_VERSION)


@profiler.trace
def force_down(request, service, forced=True, request_ids=None):
    """Set (or with ``forced=False`` unset) a compute service's ``forced_down`` flag.

    ``service`` is the service's dict from ``GET /os-services`` (``api.nova.service_get``).
    From 2.53 this is ``PUT /os-services/{uuid}``; 2.11 to 2.52 use
    ``PUT /os-services/force-down`` with host and binary. Nova refuses to unset it (400,
    advice ``force_up_blocked``) while ``done`` evacuation records remain for the host.
    Returns the service as Nova answered it; Nova's request id is appended to
    ``request_ids`` when a list is given (the audit record keeps it).
    """
    version, by_uuid = _service_version(request)
    if _uses_uuid(service, by_uuid):
        nova_client = client.novaclient(request, version=version, write=True)
        response, body = _send(nova_client, "PUT", "/os-services/%s" % service["id"],
                               {"forced_down": bool(forced)})
    else:
        nova_client = client.novaclient(request, version=_legacy_version(version), write=True)
        response, body = _send(nova_client, "PUT", "/os-services/force-down", {
            "host": service["host"], "binary": service.get("binary", nova.COMPUTE_BINARY),
            "forced_down": bool(forced)})
    return _service_answer(response, body, request_ids)


def _service_answer(response, body, request_ids):
    sent_id = request_id(response)
    if request_ids is not None and sent_id:
        request_ids.append(sent_id)
    return (body or {}).get("service", {})


@profiler.trace
def set_service_status(request, service, enabled, reason=None, request_ids=None):
    """Enable or disable a compute service; a disable may give a reason (kept by Nova).

    From 2.53 ``PUT /os-services/{uuid}``; before that ``PUT /os-services/enable``,
    ``/disable`` or ``/disable-log-reason``. Returns the service as Nova answered it
    (``request_ids`` as for ``force_down``).
    """
    version = client.negotiated_version(request)
    reason = (reason or "").strip() or None
    if enabled:
        reason = None  # Nova refuses a reason together with "enabled"
    if _uses_uuid(service, microversions.supports("service_uuid_ids", version)):
        update = {"status": "enabled" if enabled else "disabled"}
        if reason:
            update["disabled_reason"] = reason
        nova_client = client.novaclient(request, version=version, write=True)
        response, body = _send(nova_client, "PUT", "/os-services/%s" % service["id"], update)
    else:
        action = "enable" if enabled else ("disable-log-reason" if reason else "disable")
        update = {"host": service["host"], "binary": service.get("binary", nova.COMPUTE_BINARY)}
        if reason:
            update["disabled_reason"] = reason
        nova_client = client.novaclient(request, version=_legacy_version(version), write=True)
        response, body = _send(nova_client, "PUT", "/os-services/" + action, update)
    return _service_answer(response, body, request_ids)


@profiler.trace
def evacuation_migrations(request, source_host, changes_since=None, status=None):
    """Every evacuation migration record from ``source_host`` (all pages).

    ``changes_since`` (aware datetime) narrows the answer on clouds with 2.59+, where Nova
    filters on ``updated_at >= changes_since``; older clouds return every record, so callers
    filter on ``created_at`` themselves. Such a list misses the records just accepted:
    nova-api writes only their ``created_at`` (``updated_at`` stays null until the target
    compute claims them). ``status``: only the records in that one status.
    """
    version = client.negotiated_version(request)
    nova_client = client.novaclient(request, version=version)
    params = {"source_compute": source_host, "migration_type": "evacuation"}
    if status:
        params["status"] = status
    if microversions.supports("migration_paging", version):
        params["limit"] = nova.PAGE_SIZE
        if changes_since is not None:
            params["changes-since"] = changes_since.strftime("%Y-%m-%dT%H:%M:%SZ")
    migrations = nova._get_paged(nova_client, "/os-migrations", "migrations", params)
    return [m for m in migrations
            if m.get("migration_type", "evacuation") == "evacuation"
            and m.get("source_compute") in (None, source_host)]


def evacuations_since_with_accepted(request, source_host, since):
    """The evacuation records from ``source_host`` updated since ``since``, and those just
    accepted, which that list skips (``updated_at`` still null): two list calls."""
    records = evacuation_migrations(request, source_host, since)
    known = {str(r.get("uuid") or r.get("id")) for r in records}
    return records + [r for r in evacuation_migrations(request, source_host, status="accepted")
                      if str(r.get("uuid") or r.get("id")) not in known]


@profiler.trace
def instance_evacuations(request, instance_id):
    """Every evacuation record of one server (``GET /os-migrations?instance_uuid=``; one
    request per page), newest first from 2.59."""
    version = client.negotiated_version(request)
    nova_client = client.novaclient(request, version=version)
    params = {"migration_type": "evacuation", "instance_uuid": instance_id}
    if microversions.supports("migration_paging", version):
        params["limit"] = nova.PAGE_SIZE
    migrations = nova._get_paged(nova_client, "/os-migrations", "migrations", params)
    return [m for m in migrations if m.get("migration_type", "evacuation") == "evacuation"
            and m.get("instance_uuid") in (None, instance_id)]


def advice_for(error, source_host=None):
    """``errors.Advice`` for an exception raised by one of these calls.

    novaclient errors carry Nova's HTTP status and message; transport errors (keystoneauth
    ``ConnectFailure``, timeouts, ...) have no status and are matched by class name.
    ``source_host``: the failed host of the evacuation (see ``errors.advise``).
    """
    status = error_status(error)
    message = getattr(error, "message", None) if status else None
    return errors.advise(status, message or str(error), type(error).__name__, source_host)


# What a failed evacuate call means for the evacuation (``failure_kind``).
REFUSED = "refused"              # Nova (or a proxy) answered: nothing was done
NOT_SENT = "not_sent"            # the request never left: nothing was done
ANSWER_LOST = "answer_lost"      # the request went out and its answer was lost
LOGIN_EXPIRED = "login_expired"  # 401: the token is no longer valid; nothing was done


def failure_kind(error):
    """Whether Nova may have acted on a write that raised ``error``.

    An HTTP answer is a refusal, except 500/502/503/504 (``errors.MAYBE_ACCEPTED_STATUSES``:
    nova-api may have done its work before the error, or a proxy lost the answer) and 401
    (the login expired). A transport error is "not sent" only when the connection itself
    could not be made (refused, unknown name, connect timeout, no endpoint in the catalog):
    a read timeout, a reset or a closed connection after the request was written, a TLS
    error and anything unrecognised may come after Nova received the request.
    """
    status = error_status(error)
    if status == 401:
        return LOGIN_EXPIRED
    if status is not None:
        return ANSWER_LOST if status in errors.MAYBE_ACCEPTED_STATUSES else REFUSED
    if isinstance(error, client.ConfigurationError) or _never_connected(error):
        return NOT_SENT
    return ANSWER_LOST


def _never_connected(error):
    """Whether ``error`` (keystoneauth's, with the requests/urllib3 error it was raised
    from) says no connection was made. keystoneauth maps every requests timeout to
    ``ConnectTimeout`` and every connection error to ``ConnectFailure``, so the cause
    decides."""
    from keystoneauth1 import exceptions as ksa_exceptions
    import requests
    from urllib3 import exceptions as urllib3_exceptions

    if isinstance(error, (ksa_exceptions.EndpointNotFound, ksa_exceptions.EmptyCatalog)):
        return True
    seen = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (requests.exceptions.ConnectTimeout,
                                urllib3_exceptions.ConnectTimeoutError,
                                urllib3_exceptions.NewConnectionError)):
            return True  # includes connection refused and name resolution failures
        if isinstance(current, (requests.exceptions.ReadTimeout,
                                urllib3_exceptions.ReadTimeoutError,
                                urllib3_exceptions.ProtocolError)):
            return False  # the request was (being) sent
        stack.extend([getattr(current, "__cause__", None), getattr(current, "__context__", None),
                      getattr(current, "reason", None)])
        stack.extend(arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException))
    return False


def lost_answer_text(error):
    """What happened to a lost answer, in words (no internal detail beyond Nova's)."""
    status = error_status(error)
    if status is not None:
        message = errors.nova_message(getattr(error, "message", None) or "")
        return "HTTP %d%s" % (status, (": " + message[:200]) if message else "")
    return "%s: %s" % (type(error).__name__, str(error)[:200])


def error_status(error):
    """The HTTP status of a novaclient error; None for transport errors.

    novaclient sets ``code``; ``http_status`` is the class's own status, also what Horizon's
    test helpers leave when they stub novaclient exceptions.
    """
    for name in ("code", "http_status"):
        status = getattr(error, name, None)
        if isinstance(status, int) and 100 <= status < 600:
            return status
    return None


def error_request_id(error):
    """Nova's request ID carried by a novaclient error, or None."""
    return getattr(error, "request_id", None) or None



def is_remote_error(error):
    """Whether ``error`` came from the cloud (Nova's answer, or the way to it), as opposed
    to a fault of the dashboard itself (configuration, database, a bug): only the former may
    be shown as Nova's refusal."""
    from keystoneauth1 import exceptions as ksa_exceptions
    import requests

    if isinstance(error, client.ConfigurationError):
        return False
    return isinstance(error, (nova_exceptions.ClientException, ksa_exceptions.ClientException,
                              requests.RequestException, ConnectionError, TimeoutError))
