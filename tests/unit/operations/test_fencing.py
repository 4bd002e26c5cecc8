"""Fencing end to end below the panel: real Redfish (sushy-tools' emulator) and real IPMI
(pyghmi's BMC server), a fake Nova over HTTP, the audit log in the database."""
import json
import time

import pytest

from evac_dashboard.models import AuditRecord, EvacuationBatch
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import evacuations
from evac_dashboard.operations import fencing
from evac_dashboard.operations import progress_reads
from evac_dashboard.operations import submission
from evac_dashboard.rules import power
from evac_dashboard.rules import request as evac_request
from tests.unit import factories
from tests.unit.fakes import bmc as fake_bmc
from tests.unit.fakes import nova as fakes
from tests.unit.fakes.evacuating_nova import EvacuatingFakeNova

pytestmark = pytest.mark.django_db
HOSTS = ["cmp1", "cmp2", "cmp3", "cmp4", "cmp5"]


class FencingFakeNova(EvacuatingFakeNova):
    """Keeps the services' state: a forced-down service is down, a disabled one disabled."""

    def _update_service(self, what, body, headers):
        status, answer, headers = super()._update_service(what, body, headers)
        for service in self.services:
            if service["id"] == what and status == 200:
                if "forced_down" in body:
                    service["forced_down"] = body["forced_down"]
                    service["state"] = "down" if body["forced_down"] else "up"
                if "status" in body:
                    service["status"] = body["status"]
                    service["disabled_reason"] = body.get("disabled_reason")
        return status, answer, headers

    def service_writes(self, host=None):
        wanted = {s["id"] for s in self.services if host in (None, s["host"])}
        return [r.body for r in self.requests if r.method == "PUT"
                and r.path.rsplit("/", 1)[-1] in wanted]


@pytest.fixture(scope="module")
def redfish(tmp_path_factory):
    emulator = fake_bmc.RedfishEmulator(tmp_path_factory.mktemp("redfish"), HOSTS,
                                        power_delay=1)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def slow_redfish(tmp_path_factory):
    """A BMC that accepts the power-off but takes 60 s to get there."""
    emulator = fake_bmc.RedfishEmulator(tmp_path_factory.mktemp("slow"), ["cmp1"],
                                        power_delay=60)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def ipmi(tmp_path_factory):
    server = fake_bmc.IpmiBmc(tmp_path_factory.mktemp("ipmi"), "cmp9", delay=1)
    yield server
    server.stop()


@pytest.fixture
def cloud(settings):
    fake = FencingFakeNova()
    fake.services = [factories.service(h, state="down", seconds_ago=90) for h in HOSTS]
    fake.services.append(factories.service("cmp9", state="down", seconds_ago=90))
    settings.EVAC_PROGRESS_CACHE_SECONDS = 0
    yield from fakes.running(settings, fake, forget=(progress_reads.forget_cache,))


@pytest.fixture
def bmc_file(settings, tmp_path):
    """``configure({host: entry})`` writes the BMC file and points the settings at it."""
    settings.EVAC_BMC_FENCE_TIMEOUT = 8
    settings.EVAC_BMC_TIMEOUT = 2

    def configure(hosts):
        settings.EVAC_BMC_FILE = fake_bmc.bmc_file(tmp_path / "bmc.yaml", hosts)
        bmc_inventory.forget()
    yield configure
    bmc_inventory.forget()


def service(cloud, host):
    return next(s for s in cloud.services if s["host"] == host)


def request_for(cloud):
    return fakes.fake_request(cloud.endpoint)


def records():
    return list(AuditRecord.objects.order_by("id"))


def no_password_anywhere():
    for record in AuditRecord.objects.all():
        text = json.dumps({f.name: str(getattr(record, f.name)) for f in record._meta.fields})
        assert fake_bmc.PASSWORD not in text


def test_redfish_fence_powers_off_confirms_then_forces_down(cloud, redfish, bmc_file):
    bmc_file({"cmp1": fake_bmc.redfish_entry(redfish, "cmp1")})
    started = time.monotonic()
    read = service(cloud, "cmp1")
    report = fencing.fence(request_for(cloud), read, disable=True, reason="fenced: PSU")
    took = time.monotonic() - started
    assert report.ok and report.fenced and report.forced_down, report
    assert [(s.name, s.outcome) for s in report.steps] == [
        (power.POWER_OFF_STEP, power.SUCCEEDED), (power.CONFIRM_OFF_STEP, power.SUCCEEDED),
        (power.FORCE_DOWN_STEP, power.SUCCEEDED), (power.DISABLE_STEP, power.SUCCEEDED)]
    assert redfish.power_state("cmp1") == "Off"
    writes = cloud.service_writes("cmp1")
    assert writes[0] == {"forced_down": True}
    assert writes[1] == {"status": "disabled", "disabled_reason": "fenced: PSU"}
    assert [(r.action, r.outcome) for r in records()] == [
        (AuditRecord.FENCE, AuditRecord.SUCCEEDED),
        (AuditRecord.FORCE_DOWN, AuditRecord.SUCCEEDED),
        (AuditRecord.DISABLE, AuditRecord.SUCCEEDED)]
    fence_record = records()[0]
    assert "Off confirmed" in fence_record.detail
    assert fence_record.options["agent"] == "redfish"
    # what Nova said of the host before anything was written: the timeline's "no heartbeat"
    assert fence_record.options["nova_state"] == read["state"]
    assert fence_record.options["nova_last_heartbeat"] == read["updated_at"]
    assert records()[1].options["nova_last_heartbeat"] == read["updated_at"]
    assert fence_record.completed_at <= records()[1].created_at  # Off before Nova is told
    no_password_anywhere()
    assert took < 6  # the emulator applies the power-off at the next whole second


def test_a_bmc_that_does_not_reach_off_stops_the_fence(cloud, slow_redfish, bmc_file):
    bmc_file({"cmp1": fake_bmc.redfish_entry(slow_redfish, "cmp1")})
    report = fencing.fence(request_for(cloud), service(cloud, "cmp1"), timeout=2)
    assert not report.fenced and not report.forced_down
    assert "not fenced" in report.stopped_because and "did not report Off" in \
        report.stopped_because
    assert report.steps[-1].name == power.CONFIRM_OFF_STEP
    assert report.steps[-1].outcome == power.FAILED
    assert cloud.service_writes() == []  # Nova was told nothing
    assert [(r.action, r.outcome) for r in records()] == [
        (AuditRecord.FENCE, AuditRecord.FAILED)]
    slow_redfish.set_power("cmp1", "On")  # cancel the pending power-off


def test_wrong_credentials_stop_the_fence(cloud, redfish, bmc_file):
    bmc_file({"cmp2": fake_bmc.redfish_entry(redfish, "cmp2", password="not-it")})
    report = fencing.fence(request_for(cloud), service(cloud, "cmp2"))
    assert not report.forced_down
    assert "refused the credentials" in report.stopped_because
    assert cloud.service_writes() == []
    assert redfish.power_state("cmp2") == "On"
    assert records()[0].outcome == AuditRecord.FAILED
    assert "not-it" not in records()[0].detail


def test_unreachable_bmc_stops_quickly(cloud, bmc_file):
    bmc_file({"cmp3": {"agent": "redfish", "address": "http://127.0.0.1:%d"
                       % fake_bmc.free_port(), "username": "u", "password": "p"}})
    started = time.monotonic()
    report = fencing.fence(request_for(cloud), service(cloud, "cmp3"))
    assert time.monotonic() - started < 5
    assert "cannot be reached" in report.stopped_because
    assert cloud.service_writes() == []


def test_typed_host_name_overrides_an_unconfirmed_fence_and_is_audited(cloud, bmc_file):
    bmc_file({"cmp3": {"agent": "redfish", "address": "http://127.0.0.1:%d"
                       % fake_bmc.free_port(), "username": "u", "password": "p"}})
    report = fencing.fence(request_for(cloud), service(cloud, "cmp3"), disable=False,
                           override=True)
    assert report.forced_down and report.fenced
    assert [s.name for s in report.steps] == [
        power.POWER_OFF_STEP, power.TYPED_CONFIRMATION_STEP, power.FORCE_DOWN_STEP]
    assert [(r.action, r.outcome) for r in records()] == [
        (AuditRecord.FENCE, AuditRecord.FAILED),
        (AuditRecord.FENCE_OVERRIDE, AuditRecord.SUCCEEDED),
        (AuditRecord.FORCE_DOWN, AuditRecord.SUCCEEDED)]
    assert "typed the host name" in records()[1].detail
    assert cloud.service_writes("cmp3") == [{"forced_down": True}]


def test_an_already_off_host_is_only_confirmed(cloud, redfish, bmc_file):
    bmc_file({"cmp4": fake_bmc.redfish_entry(redfish, "cmp4")})
    redfish.set_power("cmp4", "ForceOff")
    time.sleep(1.1)
    report = fencing.fence(request_for(cloud), service(cloud, "cmp4"), disable=False)
    assert report.steps[0].outcome == power.SKIPPED
    assert report.forced_down


def test_ipmi_fence_and_power_on(cloud, ipmi, bmc_file):
    bmc_file({"cmp9": fake_bmc.ipmi_entry(ipmi)})
    report = fencing.fence(request_for(cloud), service(cloud, "cmp9"), disable=False)
    assert report.forced_down, report
    assert ipmi.power_state() == "Off"
    on = fencing.power_on(request_for(cloud), "cmp9")
    assert on.ok, on
    assert ipmi.power_state() == "On"
    assert [r.action for r in records()] == [AuditRecord.FENCE, AuditRecord.FORCE_DOWN,
                                             AuditRecord.POWER_ON]
    no_password_anywhere()


def test_power_on_after_repair(cloud, redfish, bmc_file):
    bmc_file({"cmp5": fake_bmc.redfish_entry(redfish, "cmp5")})
    fencing.fence(request_for(cloud), service(cloud, "cmp5"), disable=False)
    assert redfish.power_state("cmp5") == "Off"
    report = fencing.power_on(request_for(cloud), "cmp5")
    assert report.ok and report.steps[0].name == power.POWER_ON_STEP
    assert redfish.power_state("cmp5") == "On"
    assert records()[-1].action == AuditRecord.POWER_ON
    assert "On " in records()[-1].detail


def test_a_host_without_an_entry_is_not_fenceable(cloud, bmc_file):
    bmc_file({})
    with pytest.raises(fencing.NotFenceable):
        fencing.power_on(request_for(cloud), "cmp1")
    report = fencing.fence(request_for(cloud), service(cloud, "cmp1"))
    assert not report.forced_down and cloud.service_writes() == []


def evacuation(cloud, host, servers, **kw):
    return evacuations.Evacuation(kind="host", service=service(cloud, host), services=[],
                                  servers=servers, options=evac_request.EvacuateOptions(),
                                  negotiated=(2, 94), **kw)


def test_fence_and_evacuate_starts_the_batch_once_forced_down(cloud, redfish, bmc_file,
                                                              monkeypatch):
    redfish.set_power("cmp2", "On")
    bmc_file({"cmp2": fake_bmc.redfish_entry(redfish, "cmp2")})
    servers = factories.servers_on("cmp2", 3)
    cloud.add_servers(servers)
    for other in cloud.services:
        if other["host"] != "cmp2":
            other["state"] = "up"  # somewhere to go
    monkeypatch.setattr(submission, "start", _inline(submission.start))
    report, batch = fencing.fence_and_evacuate(
        request_for(cloud), evacuation(cloud, "cmp2", servers, local_disks_acknowledged=True),
        disable=True, reason="outage")
    assert batch is not None, report
    assert report.steps[-1].name == power.EVACUATE_STEP and report.steps[-1].ok
    assert EvacuationBatch.objects.get(pk=batch.pk).source_host == "cmp2"
    assert sorted(cloud.evacuated_ids()) == sorted(s["id"] for s in servers)
    assert [r.action for r in records()] == [AuditRecord.FENCE, AuditRecord.FORCE_DOWN,
                                             AuditRecord.DISABLE, AuditRecord.HOST_EVACUATE]


def test_fence_and_evacuate_stops_before_nova_when_not_fenced(cloud, redfish, bmc_file):
    bmc_file({"cmp2": fake_bmc.redfish_entry(redfish, "cmp2", password="bad")})
    servers = factories.servers_on("cmp2", 2)
    report, batch = fencing.fence_and_evacuate(request_for(cloud),
                                               evacuation(cloud, "cmp2", servers))
    assert batch is None and not report.forced_down
    assert cloud.service_writes() == [] and cloud.evacuations() == []
    assert not EvacuationBatch.objects.exists()


def _inline(start):
    def run(batch, credentials, password=None, executor=None):
        return start(batch, credentials, password=password,
                     executor=executor or submission.InlineExecutor())
    return run
