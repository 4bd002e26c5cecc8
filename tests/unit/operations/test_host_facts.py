"""What the wizard knows about a host: capacity plan per mode, down time, targets."""
from datetime import datetime, timedelta, timezone

from django.test import override_settings

from evac_dashboard.operations import host_facts
from evac_dashboard.rules import capacity
from tests.unit import factories


def inventory(total, ratio=1.0, reserved=0):
    return {"total": total, "reserved": reserved, "allocation_ratio": ratio, "min_unit": 1,
            "max_unit": total, "step_size": 1}


def target(name, ram_used, vcpu_used, version=None):
    return capacity.Host(name, {"VCPU": inventory(32, ratio=4.0),
                                "MEMORY_MB": inventory(131072, reserved=512),
                                "DISK_GB": inventory(2048)},
                         {"VCPU": vcpu_used, "MEMORY_MB": ram_used, "DISK_GB": 0},
                         hypervisor_version=version)


def facts(servers, hosts, services=None):
    source = factories.service("cmp1", state="down", forced_down=True)
    services = services or [source] + [factories.service(h.name) for h in hosts]
    return host_facts.HostFacts(service=source, services=services, servers=servers,
                                eligible=servers, excluded=[], negotiated=(2, 96),
                                capacity_hosts=hosts)


def small_servers():
    vip = factories.server("vip", "cmp1", metadata={"evac:restart_priority": "10"})
    return [vip] + [factories.server("web-%d" % i, "cmp1") for i in range(3)]


def test_scheduler_mode_sends_them_where_nova_would_the_emptiest_host():
    # cmp2 (listed first) carries 100 servers, cmp3 is empty: Nova spreads onto cmp3.
    known = facts(small_servers(), [target("cmp2", 51200, 100), target("cmp3", 0, 0)])
    plan = known.plan([s["id"] for s in known.eligible], host_facts.SCHEDULER)
    assert {a.need.name: a.host for a in plan.assignments} == {
        "vip": "cmp3", "web-0": "cmp3", "web-1": "cmp3", "web-2": "cmp3"}


def test_scheduler_mode_places_in_submission_order():
    known = facts(small_servers(), [target("cmp2", 0, 0), target("cmp3", 0, 0)])
    ids = [s["id"] for s in reversed(known.eligible)]   # the order the browser posted
    plan = known.plan(ids, host_facts.SCHEDULER)
    # vip (priority 10) is sent first and wins the tie; the next goes to the other host.
    assert [(a.need.name, a.host) for a in plan.assignments] == [
        ("vip", "cmp2"), ("web-0", "cmp3"), ("web-1", "cmp2"), ("web-2", "cmp3")]


def test_plan_and_one_host_modes_still_work():
    big = factories.server("big", "cmp1", ram=65536, vcpus=8)
    servers = small_servers() + [big]
    known = facts(servers, [target("cmp2", 0, 0), target("cmp3", 100000, 0)])
    ids = [s["id"] for s in servers]
    planned = known.plan(ids, host_facts.PLAN).by_instance()
    assert planned[big["id"]].host == "cmp2"       # only fits there
    one = known.plan(ids, host_facts.ONE_HOST, "cmp3")
    assert {a.host for a in one.assignments if a.fits} == {"cmp3"}
    assert [a.need.name for a in one.unplaced] == ["big"]


@override_settings(EVAC_SERVICE_DOWN_TIME=20)
def test_down_time_comes_from_the_setting():
    assert host_facts.service_down_time() == 20
    updated = datetime.now(timezone.utc) - timedelta(seconds=5)
    service = dict(factories.service("cmp1"), updated_at=updated.strftime("%Y-%m-%dT%H:%M:%S"))
    [finding] = host_facts.source_findings(service)
    assert "service_down_time (20 s)" in finding.message
    deadline = (updated + timedelta(seconds=20)).strftime("%H:%M:%S")
    assert "should look down by %s UTC" % deadline in finding.message


def test_down_time_defaults_to_novas_60_seconds():
    assert host_facts.service_down_time() == 60


def test_target_findings_when_every_other_host_is_unusable():
    source = factories.service("cmp1", state="down", forced_down=True)
    services = [source, factories.service("cmp2", status="disabled", reason="RMA"),
                factories.service("cmp3", state="down", forced_down=True)]
    known = facts([], [], services=services)
    [finding] = known.target_findings()
    assert finding.code == "no_target_host" and finding.level == "error"
    assert facts([], [target("cmp2", 0, 0)]).target_findings() == []
