"""Thin Nova calls used by the panels.

Each function makes a fixed, small number of HTTP requests (plus one per page of a paged
list) and returns plain data; none loops over hosts or instances. Views never import
novaclient: they call these functions, which tests mock (Horizon's ``create_mocks`` style).
"""
from urllib import parse

from openstack_dashboard.contrib.developer.profiler import api as profiler

from evac_dashboard.api import client
from evac_dashboard.rules import microversions
from evac_dashboard.rules import services

COMPUTE_BINARY = services.COMPUTE_BINARY
PAGE_SIZE = 1000


ConfigurationError = client.ConfigurationError


def negotiated_version(request):
    """The microversion used for this cloud, as ``(2, N)``."""
    return client.negotiated_version(request)


def supports(request, feature):
    return microversions.supports(feature, negotiated_version(request))


def _get_paged(nova, path, key, params):
    """GET every page of a paged Nova collection by following its ``<key>_links``."""
    items = []
    query = dict(params)
    while True:
        url = path + ("?" + parse.urlencode(query) if query else "")
        _resp, body = nova.client.get(url)
        items.extend(body.get(key, []))
        next_marker = _next_marker(body.get(key + "_links", []))
        if not next_marker or not body.get(key):
            return items
        query["marker"] = next_marker


def _next_marker(links):
    for link in links:
        if link.get("rel") == "next":
            query = parse.parse_qs(parse.urlparse(link.get("href", "")).query)
            markers = query.get("marker")
            if markers:
                return markers[0]
    return None


@profiler.trace
def service_list(request):
    """Every nova-compute service, as Nova's JSON dicts (one request)."""
    nova = client.novaclient(request)
    _resp, body = nova.client.get("/os-services?binary=" + COMPUTE_BINARY)
    return body.get("services", [])


@profiler.trace
def hypervisor_list(request):
    """Every hypervisor with its server list and, where Nova still has them, usage figures.

    Asks for the highest microversion that has both ``with_servers`` (2.53) and the usage
    fields (removed at 2.88); on an older cloud it settles for what exists. One request
    per page of 1000 hypervisors whatever the number of hosts. Returns
    ``(hypervisors, servers_listed)``.
    """
    negotiated = negotiated_version(request)
    version = (microversions.best_version(
        negotiated, ("hypervisor_with_servers", "hypervisor_usage_fields"))
        or microversions.best_version(negotiated, ("hypervisor_with_servers",))
        or negotiated)
    nova = client.novaclient(request, version=version)
    params = {}
    servers_listed = microversions.supports("hypervisor_with_servers", version)
    if servers_listed:
        params["with_servers"] = "true"
    if microversions.supports("hypervisor_paging", version):
        params["limit"] = PAGE_SIZE
    return _get_paged(nova, "/os-hypervisors/detail", "hypervisors", params), servers_listed


@profiler.trace
def servers_on_host(request, host):
    """Every server whose compute host is exactly ``host``, across all projects, all pages.

    Nova's ``host`` filter is exact, but a caller without the admin filter policy gets the
    filter silently dropped, so the result is checked again here: ``compute1`` never
    picks up ``compute10``.
    """
    nova = client.novaclient(request)
    params = {"all_tenants": "1", "host": host, "limit": PAGE_SIZE}
    servers = _get_paged(nova, "/servers/detail", "servers", params)
    return [server for server in servers if server.get("OS-EXT-SRV-ATTR:host") == host]


@profiler.trace
def server_get(request, server_id):
    """One server as Nova shows it now (``GET /servers/{id}``), or None when Nova says it
    does not exist (404)."""
    nova = client.novaclient(request)
    try:
        _resp, body = nova.client.get("/servers/%s" % parse.quote(server_id, safe=""))
    except Exception as error:  # novaclient's NotFound (or a test helper's stub of it)
        if 404 in (getattr(error, "code", None), getattr(error, "http_status", None)):
            return None
        raise
    return body.get("server")


@profiler.trace
def service_get(request, host):
    """The nova-compute service of ``host`` as a dict, or None."""
    nova = client.novaclient(request)
    _resp, body = nova.client.get(
        "/os-services?" + parse.urlencode({"binary": COMPUTE_BINARY, "host": host}))
    for service in body.get("services", []):
        if service.get("host") == host:
            return service
    return None


def project_names(request):
    """Project id → name for every project the admin can see (one Keystone request)."""
    from openstack_dashboard.api import keystone  # late: keeps module import light

    projects, _has_more = keystone.tenant_list(request)
    return {project.id: project.name for project in projects}

