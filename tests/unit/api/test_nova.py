"""The thin Nova layer against a fake Nova over real HTTP: requests made, versions sent."""
import pytest

from evac_dashboard.api import client
from evac_dashboard.api import nova
from tests.unit import factories
from tests.unit.fakes.nova import FakeNova, fake_request, running


@pytest.fixture
def fake_nova(settings):
    yield from running(settings, FakeNova())


def _cloud_with_hosts(fake, count, servers_per_host=2):
    fake.services = [factories.service("cmp%d" % i) for i in range(count)]
    fake.hypervisors = [factories.hypervisor("cmp%d" % i, servers=servers_per_host)
                        for i in range(count)]


def _hosts_page_requests(fake, count):
    _cloud_with_hosts(fake, count)
    request = fake_request(fake.endpoint)
    fake.requests.clear()
    client.forget_versions()
    services = nova.service_list(request)
    hypervisors, _listed = nova.hypervisor_list(request)
    assert len(services) == count and len(hypervisors) == count
    return list(fake.requests)


def test_hosts_page_requests_do_not_grow_with_hosts(fake_nova):
    few = _hosts_page_requests(fake_nova, 3)
    many = _hosts_page_requests(fake_nova, 400)
    assert len(few) == len(many) == 3  # version discovery, services, hypervisors
    assert [r.path for r in many] == ["/v2.1", "/v2.1/os-services", "/v2.1/os-hypervisors/detail"]


def test_hypervisor_pages_are_followed(fake_nova):
    fake_nova.max_limit = 50
    _cloud_with_hosts(fake_nova, 120)
    hypervisors, listed = nova.hypervisor_list(fake_request(fake_nova.endpoint))
    assert listed is True
    assert len({h["id"] for h in hypervisors}) == 120
    pages = fake_nova.calls("/os-hypervisors")
    assert len(pages) == 3
    assert "marker" not in pages[0].query and "marker" in pages[1].query


def test_version_discovery_is_cached_between_requests(fake_nova):
    _cloud_with_hosts(fake_nova, 2)
    request = fake_request(fake_nova.endpoint)
    nova.service_list(request)
    nova.service_list(request)
    nova.service_list(fake_request(fake_nova.endpoint, token="another-user"))
    assert len([r for r in fake_nova.requests if r.path == "/v2.1"]) == 1


def test_negotiates_highest_common_microversion(fake_nova):
    _cloud_with_hosts(fake_nova, 1)
    nova.service_list(fake_request(fake_nova.endpoint))
    services_call = fake_nova.calls("/os-services")[0]
    # The cloud offers 2.100; novaclient 18.13 stops at 2.96.
    assert services_call.microversion == "compute 2.96"


def test_setting_pins_a_lower_microversion(fake_nova, settings):
    settings.EVAC_NOVA_MICROVERSION = "2.60"
    _cloud_with_hosts(fake_nova, 1)
    nova.service_list(fake_request(fake_nova.endpoint))
    assert fake_nova.calls("/os-services")[0].microversion == "compute 2.60"


def test_impossible_microversion_setting_is_a_clear_error(fake_nova, settings):
    settings.EVAC_NOVA_MICROVERSION = "2.200"
    with pytest.raises(nova.ConfigurationError, match="outside what the cloud accepts"):
        nova.service_list(fake_request(fake_nova.endpoint))


def test_hypervisors_asked_at_a_version_that_still_has_usage(fake_nova):
    _cloud_with_hosts(fake_nova, 1)
    nova.hypervisor_list(fake_request(fake_nova.endpoint))
    call = fake_nova.calls("/os-hypervisors")[0]
    assert call.microversion == "compute 2.87"
    assert call.query["with_servers"] == ["true"]


def test_old_cloud_gets_no_with_servers_and_no_paging(fake_nova):
    fake_nova.max_version = "2.25"
    _cloud_with_hosts(fake_nova, 1)
    hypervisors, listed = nova.hypervisor_list(fake_request(fake_nova.endpoint))
    call = fake_nova.calls("/os-hypervisors")[0]
    # Below 2.27 novaclient sends only the legacy header.
    assert call.legacy_microversion == "2.25"
    assert "with_servers" not in call.query and "limit" not in call.query
    assert listed is False


def test_servers_on_host_is_an_exact_match_across_pages(fake_nova):
    fake_nova.max_limit = 10
    fake_nova.servers = ([factories.server("a%d" % i, "compute1") for i in range(25)]
                         + [factories.server("b%d" % i, "compute10") for i in range(5)])
    servers = nova.servers_on_host(fake_request(fake_nova.endpoint), "compute1")
    assert len(servers) == 25
    assert {s["OS-EXT-SRV-ATTR:host"] for s in servers} == {"compute1"}
    calls = fake_nova.calls("/servers")
    assert calls[0].query["all_tenants"] == ["1"] and calls[0].query["host"] == ["compute1"]


def test_servers_on_host_drops_servers_of_other_hosts_if_nova_ignored_the_filter(fake_nova):
    # A caller without the admin filter policy gets Nova's unfiltered list, silently.
    fake_nova.servers = [factories.server("a", "compute1"), factories.server("b", "compute10")]
    original = fake_nova.answer

    def ignore_host_filter(method, path, query, headers):
        query.pop("host", None)
        return original(method, path, query, headers)

    fake_nova.answer = ignore_host_filter
    servers = nova.servers_on_host(fake_request(fake_nova.endpoint), "compute1")
    assert [s["name"] for s in servers] == ["a"]


def test_service_get_finds_exact_host(fake_nova):
    fake_nova.services = [factories.service("cmp1"), factories.service("cmp10")]
    request = fake_request(fake_nova.endpoint)
    assert nova.service_get(request, "cmp1")["host"] == "cmp1"
    assert nova.service_get(request, "cmp") is None
