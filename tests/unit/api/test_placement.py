"""Placement capacity reads against the fake service over HTTP."""
import pytest

from evac_dashboard.api import placement
from tests.unit.fakes.nova import FakeNova, fake_request


@pytest.fixture
def fake():
    server = FakeNova().start()
    yield server
    server.stop()


def inventory(total, reserved=0, ratio=1.0, max_unit=None):
    return {"total": total, "reserved": reserved, "allocation_ratio": ratio, "min_unit": 1,
            "max_unit": max_unit or total, "step_size": 1}


def test_reads_inventories_and_usages_of_each_provider_once(fake):
    for name in ("a", "b", "c"):
        fake.providers[name] = {"inventories": {"VCPU": inventory(32, ratio=4.0)},
                                "usages": {"VCPU": 10}}
    request = fake_request(fake.endpoint, placement=fake.placement_endpoint)
    found = placement.provider_capacity(request, ["a", "b", "c", "a"])
    assert set(found) == {"a", "b", "c"}
    assert found["b"]["inventories"]["VCPU"]["allocation_ratio"] == 4.0
    assert found["b"]["usages"] == {"VCPU": 10}
    paths = sorted(r.path for r in fake.requests)
    assert len(paths) == 6  # two per distinct provider, none repeated
    assert {r.microversion for r in fake.requests} == {"placement 1.17"}


def test_no_providers_no_requests(fake):
    request = fake_request(fake.endpoint, placement=fake.placement_endpoint)
    assert placement.provider_capacity(request, []) == {}
    assert fake.requests == []
