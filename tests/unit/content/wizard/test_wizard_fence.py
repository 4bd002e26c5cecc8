"""The wizard's Host step fences through the BMC (issue 15): a host that still looks up and
has a BMC entry is fenced when Start is pressed, before anything is sent.

Nova and Placement are mocked at the API layer; the BMC is sushy-tools' Redfish emulator
over real HTTP."""
import os
import re
from unittest import mock

from django.core.cache import cache
from django.urls import reverse
from requests.packages.urllib3.connection import HTTPConnection

from evac_dashboard import models
from evac_dashboard.api import actions
from evac_dashboard.operations import bmc_inventory
from evac_dashboard.operations import submission
from tests.unit import factories
from tests.unit.content.wizard.test_wizard import WIZARD_URL, WizardCase
from tests.unit.fakes import bmc as fake_bmc


class WizardFenceTests(fake_bmc.RedfishEmulatorMixin, WizardCase):
    redfish_hosts = ("cmp1",)

    def setUp(self):
        super().setUp()
        HTTPConnection.connect = self._real_conn_request  # the emulator is real HTTP
        self.use_bmc_file(fake_bmc.redfish_entry(self.redfish, "cmp1"))
        self.redfish.set_power("cmp1", "On")
        self.redfish.power_state("cmp1")
        for name in ("force_down", "set_service_status"):
            started = mock.patch.object(actions, name)
            setattr(self, "mock_" + name, started.start())
            self.addCleanup(started.stop)
        # cmp1 died a moment ago: Nova still sees it up, until the fence forces it down.
        self.up = factories.service("cmp1", state="up")
        self.mock_service_get.side_effect = lambda request, host: (
            factories.service("cmp1", state="down", forced_down=True)
            if self.mock_force_down.called else self.up)
        self.mock_service_list.return_value = [self.up] + \
            self.mock_service_list.return_value[1:]

    def use_bmc_file(self, entry):
        path = os.path.join(self.workdir, "bmc-%s.yaml" % self._testMethodName)
        fake_bmc.bmc_file(path, {"cmp1": entry})
        patcher = self.settings(EVAC_BMC_FILE=path, EVAC_BMC_FENCE_TIMEOUT=5,
                                EVAC_BMC_TIMEOUT=2)
        patcher.enable()
        self.addCleanup(patcher.disable)
        bmc_inventory.forget()
        cache.clear()

    def fence_post(self, **overrides):
        data = self.final_data(fenced="", fence_with_bmc="on")
        data.update(overrides)
        return self.client.post(WIZARD_URL, data)

    def test_the_host_step_offers_the_fence_and_names_the_bmc(self):
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertIn('name="fence_with_bmc"', html)
        self.assertIn("cmp1 has a BMC (Redfish", html)
        self.assertNotIn(fake_bmc.PASSWORD, html)
        # Nova's "still up" is shown as what the ticked fence settles, not as a blocker.
        settled = re.findall(r'<p class="evac-alert ([\w -]+)">([^<]*still sees nova-compute)',
                             html)
        self.assertEqual(1, len(settled), settled)
        self.assertIn("evac-settled-by-fence", settled[0][0])
        self.assertIn("takes care of this", html)

    @mock.patch.object(submission, "start")
    def test_start_fences_first_then_sends(self, start):
        res = self.fence_post()
        batch = models.EvacuationBatch.objects.get()
        self.assertRedirectsNoFollow(
            res, reverse("horizon:admin:evac_batches:detail", args=[batch.pk]))
        self.assertEqual(self.redfish.power_state("cmp1"), "Off")
        self.mock_force_down.assert_called_once()
        start.assert_called_once()
        self.assertEqual([r.action for r in models.AuditRecord.objects.order_by("id")],
                         ["fence", "force_down", "disable", "host_evacuate"])
        self.assertEqual(3, batch.items.count())
        self.assertEqual(4, batch.concurrency)  # the wizard's own choices are kept

    @mock.patch.object(submission, "start")
    def test_a_fence_that_cannot_confirm_off_sends_nothing_and_says_why(self, start):
        self.use_bmc_file(fake_bmc.redfish_entry(self.redfish, "cmp1", password="wrong"))
        res = self.fence_post()
        messages = [str(m) for m in res.wsgi_request._messages]
        self.assertTrue(any("is not fenced" in m and "evac-fence-steps" in m
                            for m in messages), messages)
        self.mock_force_down.assert_not_called()
        start.assert_not_called()
        self.assertFalse(models.EvacuationBatch.objects.exists())
        self.assertNotIn("wrong", "".join(
            str(r.detail) + str(r.options) for r in models.AuditRecord.objects.all()))

    @mock.patch.object(submission, "start")
    def test_without_the_fence_the_host_still_up_blocks_as_before(self, start):
        res = self.fence_post(fence_with_bmc="", fenced="on")
        self.assertContains(res, "still sees nova-compute on cmp1 as up")
        self.mock_force_down.assert_not_called()
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_neither_fence_nor_confirmation_is_refused(self, start):
        self.mock_service_get.side_effect = None
        self.mock_service_get.return_value = factories.service("cmp1", state="down")
        res = self.fence_post(fence_with_bmc="", fenced="")
        self.assertContains(res, "Confirm that the host is fenced")
        start.assert_not_called()

    def test_a_host_already_forced_down_is_not_offered_a_fence(self):
        self.mock_service_get.side_effect = None
        self.mock_service_get.return_value = factories.service("cmp1", state="down",
                                                               forced_down=True)
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertNotIn('name="fence_with_bmc"', html)
