"""The dashboard's API layer against the live local cloud."""

import pytest

from evac_dashboard.api import client
from evac_dashboard.rules import microversions
from evac_dashboard.api import nova
from evac_dashboard.rules import hosts as host_model
from tests.integration.keystone_request import keystone_request

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("restore_cloud")]


@pytest.fixture
def admin_request(local_cloud):
    client.forget_versions()
    return keystone_request(local_cloud.session("admin"), local_cloud.region)


def compute_hosts(request):
    hypervisors, listed = nova.hypervisor_list(request)
    return {row.host: row for row in host_model.build_hosts(
        nova.service_list(request), hypervisors, servers_listed=listed)}


def test_negotiates_a_real_microversion(admin_request):
    version = nova.negotiated_version(admin_request)
    assert version == min(microversions.KNOWN_MAXIMUM, client.novaclient_max_version())


def test_hosts_listed_up_with_their_instances(local_cloud, admin_request):
    rows = compute_hosts(admin_request)
    assert set(local_cloud.compute_hosts) <= set(rows)
    for name in local_cloud.compute_hosts:
        assert rows[name].state == "up" and not rows[name].forced_down
        assert rows[name].vcpus is not None  # asked at 2.87, usage fields present
    admin_nova = local_cloud.nova()
    servers = admin_nova.servers.list(search_opts={"all_tenants": 1})
    for name in local_cloud.compute_hosts:
        on_host = nova.servers_on_host(admin_request, name)
        expected = {s.id for s in servers if getattr(s, "OS-EXT-SRV-ATTR:host") == name}
        assert {s["id"] for s in on_host} == expected
        assert rows[name].instance_count == len(expected)


def test_killed_host_goes_down_then_forced_down_shows(local_cloud, admin_request):
    host = local_cloud.compute_hosts[-1]
    local_cloud.tool("kill-host", host, "--wait-down")
    assert compute_hosts(admin_request)[host].state == "down"
    service = nova.service_get(admin_request, host)
    local_cloud.nova(version="2.53").services.force_down(service["id"], True)
    row = compute_hosts(admin_request)[host]
    assert row.forced_down and row.is_evacuable
    assert list(host_model.build_hosts(nova.service_list(admin_request), []))[0].forced_down
