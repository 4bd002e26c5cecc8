"""Compute Hosts with BMCs: the power column, Fence, Fence and evacuate, Power On.

Nova is mocked at the API layer (Horizon style); the BMC is sushy-tools' Redfish emulator
over real HTTP."""
import json
import os
from unittest import mock

from django.core.cache import cache
from django.urls import reverse

from openstack_dashboard.test import helpers as test
from requests.packages.urllib3.connection import HTTPConnection

from evac_dashboard import models
from evac_dashboard.api import actions
from evac_dashboard.api import bmc
from evac_dashboard.api import nova
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import power_states
from evac_dashboard.operations import submission
from tests.unit import factories
from tests.unit.fakes import bmc as fake_bmc

INDEX_URL = reverse("horizon:admin:evac_hosts:index")
POWER_URL = reverse("horizon:admin:evac_hosts:power_states")


def url(name, host="cmp1"):
    return reverse("horizon:admin:evac_hosts:" + name, args=[host])


class BmcViewTests(fake_bmc.RedfishEmulatorMixin, test.BaseAdminViewTests):
    redfish_hosts = ("cmp1", "cmp3")

    def setUp(self):
        super().setUp()
        # Horizon's TestCase refuses every HTTP connection (unmocked API calls); Nova is
        # mocked here, and the BMC is a real emulator on 127.0.0.1.
        HTTPConnection.connect = self._real_conn_request
        self.bmc_path = os.path.join(self.workdir, "bmc-%s.yaml" % self._testMethodName)
        fake_bmc.bmc_file(self.bmc_path, {
            "cmp1": fake_bmc.redfish_entry(self.redfish, "cmp1"),
            "cmp3": fake_bmc.redfish_entry(self.redfish, "cmp3", password="wrong-one")})
        patcher = self.settings(EVAC_BMC_FILE=self.bmc_path, EVAC_BMC_FENCE_TIMEOUT=5,
                                EVAC_BMC_TIMEOUT=2)
        patcher.enable()
        self.addCleanup(patcher.disable)
        bmc_inventory.forget()
        cache.clear()
        self.redfish.set_power("cmp1", "On")
        self.redfish.power_state("cmp1")
        for name in ("service_get", "service_list", "hypervisor_list", "negotiated_version",
                     "servers_on_host", "supports"):
            started = mock.patch.object(nova, name)
            setattr(self, "mock_" + name, started.start())
            self.addCleanup(started.stop)
        for name in ("force_down", "set_service_status"):
            started = mock.patch.object(actions, name)
            setattr(self, "mock_" + name, started.start())
            self.addCleanup(started.stop)
        self.cmp1 = factories.service("cmp1", state="down", seconds_ago=80)
        self.services = [self.cmp1, factories.service("cmp2", state="down", seconds_ago=80),
                         factories.service("cmp3", state="down", seconds_ago=80),
                         factories.service("cmp4")]
        self.mock_service_get.side_effect = lambda request, host: next(
            (s for s in self.services if s["host"] == host), None)
        self.mock_service_list.return_value = self.services
        self.mock_hypervisor_list.return_value = (
            [factories.hypervisor(s["host"], servers=2) for s in self.services], True)
        self.mock_negotiated_version.return_value = (2, 96)
        self.mock_supports.return_value = True
        self.servers = [factories.server("web-1", "cmp1", volume_backed=True),
                        factories.server("web-2", "cmp1")]
        self.mock_servers_on_host.return_value = self.servers

    def assert_no_password(self, res):
        page = res.content.decode()
        self.assertFalse(fake_bmc.PASSWORD in page or "wrong-one" in page, "a password")

    # --- the table ----------------------------------------------------------------------
    def test_power_column_is_filled_by_the_script_not_by_the_page(self):
        with mock.patch.object(bmc, "client", side_effect=AssertionError("BMC asked")), \
                mock.patch.object(power_states, "read", side_effect=AssertionError("read")):
            res = self.client.get(INDEX_URL)
        html = res.content.decode()
        for wanted in ('data-host="cmp1"', "Not configured",  # cmp2 and cmp4 have no BMC
                       'data-power-url="%s"' % POWER_URL,
                       url("fence_evacuate"),         # a down host with a BMC
                       url("force_down", "cmp2"),     # a down host without one
                       url("force_down", "cmp4")):    # an up host without one
            self.assertTrue(wanted in html, wanted)
        self.assertFalse(url("force_down") in html, "cmp1 is fenced, not typed")
        self.assert_no_password(res)

    def test_power_states_endpoint(self):
        res = self.client.get(POWER_URL)
        body = json.loads(res.content)
        self.assertEqual(body["hosts"]["cmp1"]["state"], "on")
        self.assertEqual(body["hosts"]["cmp1"]["label"], "On")
        self.assertEqual(body["hosts"]["cmp3"]["state"], "auth_failed")
        self.assertNotIn("cmp2", body["hosts"])
        self.assertEqual(res["Cache-Control"], "no-store")
        self.assert_no_password(res)

    def test_a_bad_bmc_file_is_said_on_the_page(self):
        with open(self.bmc_path, "w") as handle:
            handle.write("hosts: [")
        bmc_inventory.forget()
        res = self.client.get(INDEX_URL)
        self.assertContains(res, "No host is fenced through its BMC")
        self.assertContains(res, url("force_down"))

    # --- fence ----------------------------------------------------------------------------
    def test_fence_powers_off_then_forces_down_and_says_each_step(self):
        res = self.client.get(url("fence"))
        self.assertContains(res, "Redfish " + self.redfish.address)
        self.assert_no_password(res)
        res = self.client.post(url("fence"), {"host": "cmp1", "disable": "on",
                                             "reason": "fenced: PSU", "override_host": ""})
        self.assertNoFormErrors(res)
        # The host's page next: its instances to evacuate, and the steps that stay there.
        self.assertRedirectsNoFollow(res, url("detail"))
        self.assertEqual(self.redfish.power_state("cmp1"), "Off")
        self.mock_force_down.assert_called_once()
        self.assertIs(self.mock_force_down.call_args[0][2], True)
        self.mock_set_service_status.assert_called_once()
        self.assertEqual(
            [r.action for r in models.AuditRecord.objects.order_by("id")],
            ["fence", "force_down", "disable"])
        # One message listing the steps in order, not a toast per step over the table.
        texts = [str(m) for m in res.wsgi_request._messages]
        self.assertEqual(1, len(texts), texts)
        titles = ["Power off through the BMC", "BMC reports the host Off",
                  "Force the compute service down", "Disable the compute service"]
        positions = [texts[0].find(title) for title in titles]
        self.assertTrue(all(p >= 0 for p in positions) and positions == sorted(positions),
                        texts[0])
        self.assertNotIn(self.redfish.address, texts[0])  # the modal showed the BMC already

    def test_fence_that_cannot_confirm_off_stays_in_the_modal_and_touches_no_nova(self):
        res = self.client.post(url("fence", "cmp3"), {"host": "cmp3", "reason": "",
                                                      "override_host": ""})
        self.assertContains(res, "is not fenced")
        self.assertContains(res, "refused the credentials")
        self.assertContains(res, "evac-step-failed")
        self.mock_force_down.assert_not_called()
        self.assert_no_password(res)

    def test_typed_override_forces_down_and_is_recorded_as_such(self):
        res = self.client.post(url("fence", "cmp3"), {"host": "cmp3", "reason": "",
                                                      "override_host": "cmp3"})
        self.assertNoFormErrors(res)
        self.mock_force_down.assert_called_once()
        self.assertEqual([r.action for r in models.AuditRecord.objects.order_by("id")],
                         ["fence", "fence_override", "force_down"])

    def test_override_must_be_the_host_name(self):
        res = self.client.post(url("fence", "cmp3"), {"host": "cmp3", "override_host": "cmp1"})
        self.assertFormErrors(res, 1)
        self.mock_force_down.assert_not_called()
        self.assertFalse(models.AuditRecord.objects.exists())

    # --- fence and evacuate ---------------------------------------------------------------
    @mock.patch.object(submission, "start")
    def test_fence_and_evacuate_lands_on_the_batch_page(self, start):
        res = self.client.get(url("fence_evacuate"))
        self.assertContains(res, "2 instances will be evacuated")
        token = res.context["form"].initial["reviewed"]
        # Nova sees the service forced down once the force-down was sent.
        self.mock_service_get.side_effect = lambda request, host: dict(
            self.cmp1, forced_down=self.mock_force_down.called)
        res = self.client.post(url("fence_evacuate"), {
            "host": "cmp1", "disable": "on", "reason": "outage", "override_host": "",
            "power_state": "running", "acknowledge_local_disks": "on", "reviewed": token})
        self.assertNoFormErrors(res)
        batch = models.EvacuationBatch.objects.get()
        self.assertRedirectsNoFollow(res, reverse("horizon:admin:evac_batches:detail",
                                                  args=[batch.pk]))
        self.assertEqual(batch.source_host, "cmp1")
        self.assertEqual(batch.items.count(), 2)
        start.assert_called_once()
        self.assertEqual(self.redfish.power_state("cmp1"), "Off")
        self.assertEqual([r.action for r in models.AuditRecord.objects.order_by("id")],
                         ["fence", "force_down", "disable", "host_evacuate"])

    @mock.patch.object(submission, "start")
    def test_fence_and_evacuate_sends_nothing_when_the_fence_stops(self, start):
        token = reviewed.sign("cmp3", self.servers)
        res = self.client.post(url("fence_evacuate", "cmp3"), {
            "host": "cmp3", "override_host": "", "acknowledge_local_disks": "on",
            "power_state": "running", "reviewed": token})
        self.assertContains(res, "is not fenced")
        start.assert_not_called()
        self.mock_force_down.assert_not_called()
        self.assertFalse(models.EvacuationBatch.objects.exists())

    # --- power on -------------------------------------------------------------------------
    def test_power_on_after_repair(self):
        self.redfish.set_power("cmp1", "ForceOff")
        self.redfish.power_state("cmp1")
        self.services[0] = dict(self.cmp1, forced_down=True)
        res = self.client.post(url("power_on"), {"host": "cmp1"})
        self.assertNoFormErrors(res)
        self.assertEqual(self.redfish.power_state("cmp1"), "On")
        texts = [str(m) for m in res.wsgi_request._messages]
        self.assertTrue(any("Unset Force Down" in t for t in texts), texts)
        self.assertEqual(models.AuditRecord.objects.get().action, "power_on")
