"""Thin Placement calls for the capacity check (inventories and usages per provider).

A compute node's resource provider UUID is its hypervisor ``id`` (Nova 2.53+). Reading
capacity costs two requests per candidate host; they run a few at a time so a wizard step
with dozens of hosts stays quick. This is a pre-flight check, never polled.
"""
from concurrent import futures

from keystoneauth1 import adapter
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint

from openstack_dashboard.api import base
from openstack_dashboard.contrib.developer.profiler import api as profiler

from evac_dashboard import conf
from evac_dashboard.api import client

PLACEMENT_VERSION = "placement 1.17"
PARALLEL_READS = 8


def _adapter(request):
    endpoint = base.url_for(request, "placement")
    session = ks_session.Session(
        auth=token_endpoint.Token(endpoint, request.user.token.id), verify=client._verify(),
        timeout=conf.nova_timeout())
    return adapter.Adapter(session, endpoint_override=endpoint,
                           default_microversion=PLACEMENT_VERSION.split()[1],
                           service_type="placement",
                           connect_retries=conf.nova_connect_retries())


def _get(placement, path):
    response = placement.get(path, raise_exc=True)
    return response.json()


@profiler.trace
def provider_capacity(request, provider_uuids):
    """``{uuid: {"inventories": {...}, "usages": {...}}}`` for each provider UUID."""
    placement = _adapter(request)

    def read(uuid):
        inventories = _get(placement, "/resource_providers/%s/inventories" % uuid)
        usages = _get(placement, "/resource_providers/%s/usages" % uuid)
        return uuid, {"inventories": inventories.get("inventories", {}),
                      "usages": usages.get("usages", {})}

    uuids = list(dict.fromkeys(provider_uuids))
    if not uuids:
        return {}
    with futures.ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(uuids))) as pool:
        return dict(pool.map(read, uuids))
