"""Fencing a compute host of the local cloud through its BMC (sushy-tools' Redfish emulator
and pyghmi's IPMI server in front of the same system, whose power drives the host's
nova-compute): Off kills it, Nova is told only then, On brings
it back; Fence and evacuate moves every instance; wrong BMC credentials stop the fence before
Nova is touched."""
import json
import socket
import time

import pytest

from evac_dashboard.api import client
from evac_dashboard.api import nova
from evac_dashboard.localcloud import config as lc_config
from evac_dashboard.localcloud import procs as lc_procs
from evac_dashboard.localcloud import services as lc_services
from evac_dashboard.models import AuditRecord
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import fencing
from evac_dashboard.operations import host_actions
from evac_dashboard.operations import power_states
from evac_dashboard.rules import power
from tests.integration.keystone_request import keystone_request

# The cloud is shared: instead of `reset`, each test puts back what it changed itself
# (``host_back``): BMC On, nova-compute running, not forced down, enabled.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fenced_cloud(local_cloud, settings):
    section = local_cloud.config.get("bmc")
    if not section:
        pytest.fail("cloud.json has no 'bmc' section: run `python3 -m evac_dashboard.localcloud "
                    "up` with this checkout")
    settings.EVAC_BMC_FILE = section["file"]
    settings.EVAC_BMC_FENCE_TIMEOUT = 30
    settings.EVAC_BMC_POWER_CACHE_SECONDS = 0
    bmc_inventory.forget()
    client.forget_versions()
    yield local_cloud
    bmc_inventory.forget()


@pytest.fixture
def host_back(fenced_cloud):
    """Yields the host to fence; afterwards it is On, running, up and enabled again."""
    host = fenced_cloud.compute_hosts[0]
    yield host
    request = keystone_request(fenced_cloud.session("admin"), fenced_cloud.region)
    if power_states.read([host], fresh=True)[host].state != power.ON:
        fencing.power_on(request, host)
    fenced_cloud.tool("revive-host", host, "--wait-up")
    service = nova.service_get(request, host)
    if service["forced_down"]:
        host_actions.unset_force_down(request, service)
    if service["status"] != "enabled":
        host_actions.set_enabled(request, nova.service_get(request, host), True)
    assert wait_for(lambda: nova.service_get(request, host)["state"] == "up", 60, 2)


def compute_pid(local_cloud, host):
    return lc_procs.pid_of(lc_config.Cloud(local_cloud.datadir), lc_services.compute_name(host))


def wait_for(predicate, timeout, interval=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.mark.parametrize("agent", ["redfish", "ipmi"])
def test_fence_through_the_bmc_then_power_on(fenced_cloud, host_back, settings, agent):
    """The same fence through Redfish (sushy) and through IPMI (pyghmi): one system behind
    both, so either's Off kills the host's nova-compute."""
    if agent == "ipmi":
        settings.EVAC_BMC_FILE = fenced_cloud.config["bmc"]["ipmi_file"]
        bmc_inventory.forget()
    assert bmc_inventory.entry_for(host_back).agent == agent
    host = host_back
    request = keystone_request(fenced_cloud.session("admin"), fenced_cloud.region)
    service = nova.service_get(request, host)
    assert service["state"] == "up" and not service["forced_down"]
    assert compute_pid(fenced_cloud, host)
    assert power_states.read([host], fresh=True)[host].state == power.ON

    started = time.monotonic()
    report = fencing.fence(request, service, disable=True, reason="fenced: integration test")
    fence_seconds = time.monotonic() - started
    assert report.ok and report.forced_down, report
    assert [s.name for s in report.steps] == [power.POWER_OFF_STEP, power.CONFIRM_OFF_STEP,
                                              power.FORCE_DOWN_STEP, power.DISABLE_STEP]
    # The BMC says Off, the host's nova-compute is dead, Nova has it forced down.
    assert power_states.read([host], fresh=True)[host].state == power.OFF
    assert not compute_pid(fenced_cloud, host)
    after = nova.service_get(request, host)
    assert after["forced_down"] and after["state"] == "down" and after["status"] == "disabled"
    records = list(AuditRecord.objects.filter(source_host=host).order_by("id"))
    assert [(r.action, r.outcome) for r in records] == [
        (AuditRecord.FENCE, AuditRecord.SUCCEEDED),
        (AuditRecord.FORCE_DOWN, AuditRecord.SUCCEEDED),
        (AuditRecord.DISABLE, AuditRecord.SUCCEEDED)]
    assert fenced_cloud.config["bmc"]["password"] not in json.dumps(
        [r.options for r in records] + [r.detail for r in records])

    # After repair: power on, nova-compute runs again; then the guarded unset and enable.
    on = fencing.power_on(request, host)
    assert on.ok, on
    assert power_states.read([host], fresh=True)[host].state == power.ON
    assert wait_for(lambda: compute_pid(fenced_cloud, host), 30)
    fenced_cloud.tool("revive-host", host, "--wait-up")  # its first heartbeat
    host_actions.unset_force_down(request, nova.service_get(request, host))
    host_actions.set_enabled(request, nova.service_get(request, host), True)
    print("fence %s through %s: confirmed Off %.1f s after the power-off, whole fence %.1f s "
          "(BMC power delay %.1f s)" % (host, agent, report.steps[1].seconds, fence_seconds,
                                        fenced_cloud.config["bmc"]["power_delay_seconds"]))


@pytest.mark.parametrize("fault,said", [("credentials", "refused the credentials"),
                                         ("unreachable", "cannot be reached")])
def test_a_bad_bmc_never_forces_down(fenced_cloud, settings, tmp_path, fault, said):
    host = fenced_cloud.compute_hosts[1]
    entries = json.loads(open(fenced_cloud.config["bmc"]["file"]).read().split("\n", 1)[1])
    entry = dict(entries["hosts"][host], password="not-the-bmc-password")
    entry.pop("password_file")
    if fault == "unreachable":  # nothing listens there
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            entry["address"] = "http://127.0.0.1:%d" % probe.getsockname()[1]
    path = tmp_path / "bmc.json"
    path.write_text(json.dumps({"hosts": {host: entry}}))
    path.chmod(0o600)
    settings.EVAC_BMC_FILE = str(path)
    bmc_inventory.forget()
    request = keystone_request(fenced_cloud.session("admin"), fenced_cloud.region)
    report = fencing.fence(request, nova.service_get(request, host))
    assert not report.forced_down
    assert said in report.stopped_because
    assert not nova.service_get(request, host)["forced_down"]
    assert compute_pid(fenced_cloud, host)


FENCE_PREFIX = "fence6"


@pytest.fixture
def loaded_host(fenced_cloud, host_back):
    """``host_back`` carrying a few servers of its own (deleted afterwards)."""
    fenced_cloud.tool("seed", "--on", host_back, "--servers", "6", "--prefix", FENCE_PREFIX)
    yield host_back
    fenced_cloud.tool("delete-servers", "--prefix", FENCE_PREFIX, check=False)


def test_fence_and_evacuate_moves_every_instance(fenced_cloud, loaded_host):
    from evac_dashboard.operations import evacuations
    from evac_dashboard.rules import request as evac_request
    host = loaded_host
    request = keystone_request(fenced_cloud.session("admin"), fenced_cloud.region)
    servers = [s for s in nova.servers_on_host(request, host)
               if s["name"].startswith(FENCE_PREFIX)]
    assert len(servers) == 6
    started = time.monotonic()
    report, batch = fencing.fence_and_evacuate(request, evacuations.Evacuation(
        kind="host", service=nova.service_get(request, host), services=[], servers=servers,
        options=evac_request.EvacuateOptions(keep_running=True),
        negotiated=nova.negotiated_version(request), local_disks_acknowledged=True),
        reason="fenced: outage")
    accepted = time.monotonic() - started
    assert batch is not None, report
    assert not compute_pid(fenced_cloud, host)
    admin = fenced_cloud.nova(version="2.59")
    ids = {s["id"] for s in servers}

    def all_done():
        latest = {}
        for m in admin.migrations.list(source_compute=host, migration_type="evacuation"):
            if m.instance_uuid in ids:
                latest.setdefault(m.instance_uuid, m)
        return len(latest) == len(ids) and all(m.status in ("done", "completed")
                                               for m in latest.values())
    assert wait_for(all_done, 300, 2), "not every evacuation reached done"
    done = time.monotonic() - started
    for server in admin.servers.list(search_opts={"all_tenants": 1,
                                                  "name": "^" + FENCE_PREFIX}):
        assert getattr(server, "OS-EXT-SRV-ATTR:host") != host
    print("fence and evacuate %s (6 servers): fenced and batch started in %.1f s, every "
          "evacuation done %.1f s after the click" % (host, accepted, done))
    # the timeline starts at the host's last heartbeat, as real Nova's service record said
    from evac_dashboard.operations import timeline
    host_lane = timeline.timeline(batch).lanes[0]
    assert [m.kind for m in host_lane.marks][:1] == ["last_heartbeat"]
    assert host_lane.segments[0].phase == "silent"
    assert host_lane.segments[0].end <= [s for s in host_lane.segments
                                         if s.phase == "fencing"][0].start
