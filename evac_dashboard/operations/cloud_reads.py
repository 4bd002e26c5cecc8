"""What the panels read from the cloud to show it: compute services, hypervisors, a
host's servers, project names, the negotiated microversion.

Reads only, each a fixed number of requests (see ``api.nova``). The panels come here rather
than to the API layer, so every call a page makes goes through the operations layer and the
reads stay in one place."""
from django.core.cache import cache

from evac_dashboard import conf
from evac_dashboard.api import nova


def service_list(request):
    return nova.service_list(request)


def service_get(request, host):
    """The nova-compute service of ``host`` (exact name), or None."""
    return nova.service_get(request, host)


def hypervisor_list(request):
    """``(hypervisors, servers_listed)``."""
    return nova.hypervisor_list(request)


def servers_on_host(request, host):
    """Every server whose host is exactly ``host``, across projects and pages."""
    return nova.servers_on_host(request, host)


def project_names(request):
    """``{project id: name}`` as this user's Keystone lists them, reused for
    ``EVAC_PROJECT_NAMES_SECONDS`` in the shared cache (every node, every poll): measured,
    a progress page read them on every changed poll, a Keystone project list each."""
    seconds = conf.project_names_seconds()
    if not seconds:
        return nova.project_names(request)
    key = "evac:project-names:%s" % getattr(request.user, "id", "")
    names = cache.get(key)
    if names is None:
        names = nova.project_names(request)
        cache.set(key, names, seconds)
    return names


def negotiated_version(request):
    return nova.negotiated_version(request)


def supports(request, feature):
    return nova.supports(request, feature)
