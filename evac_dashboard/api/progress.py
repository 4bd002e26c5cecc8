"""Thin Nova reads for the progress page: what changed since a batch began.

Both calls cost one request per page of ``nova.PAGE_SIZE`` (1000) records, whatever the
number of instances in the batch, so a poll of a 10-instance batch and of a 500-instance
batch cost the same. Nothing here loops over instances.
"""
from openstack_dashboard.contrib.developer.profiler import api as profiler

from evac_dashboard.api import actions
from evac_dashboard.api import client
from evac_dashboard.api import nova

NOVA_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@profiler.trace
def servers_changed_since(request, since):
    """Every server of every project changed at or after ``since`` (aware datetime),
    deleted ones included (Nova's ``changes-since`` returns them with status DELETED).

    An evacuated server is no longer found by ``?host=<failed host>``; ``changes-since``
    finds it wherever it went, because the evacuation itself changes it.
    """
    nova_client = client.novaclient(request)
    params = {"all_tenants": "1", "changes-since": since.strftime(NOVA_TIME_FORMAT),
              "limit": nova.PAGE_SIZE}
    return nova._get_paged(nova_client, "/servers/detail", "servers", params)


def evacuations_since(request, source_host, since):
    """Evacuation records from ``source_host`` updated since ``since`` (one paged request;
    see ``actions.evacuation_migrations``)."""
    return actions.evacuation_migrations(request, source_host, since)
