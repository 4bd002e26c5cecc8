"""What the wizard's Host and Targets steps and its capacity preview tell the operator."""
import json
import re

from django.test import override_settings
from django.urls import reverse

from openstack_dashboard.test import helpers as test

from tests.unit import factories
from tests.unit.content.wizard.test_wizard import mock_wizard_reads

WIZARD_URL = reverse("horizon:admin:evac_hosts:wizard", args=["cmp1"])
PREVIEW_URL = reverse("horizon:admin:evac_hosts:wizard_capacity", args=["cmp1"])


def provider(ram_mb, used_ram=0, used_vcpu=0):
    def inventory(total, ratio=1.0, reserved=0):
        return {"total": total, "reserved": reserved, "allocation_ratio": ratio,
                "min_unit": 1, "max_unit": total, "step_size": 1}
    return {"inventories": {"VCPU": inventory(32, ratio=4.0),
                            "MEMORY_MB": inventory(ram_mb, reserved=512),
                            "DISK_GB": inventory(2048)},
            "usages": {"VCPU": used_vcpu, "MEMORY_MB": used_ram, "DISK_GB": 0}}


class WizardHelpTests(test.BaseAdminViewTests):
    def setUp(self):
        super().setUp()
        mock_wizard_reads(self)
        self.servers = [factories.server("web-%d" % i, "cmp1", ram=2048, vcpus=2)
                        for i in range(3)]
        self.source = factories.service("cmp1", state="down", forced_down=True)
        self.mock_service_get.return_value = self.source
        self.mock_service_list.return_value = [self.source, factories.service("cmp2"),
                                               factories.service("cmp3")]
        self.mock_negotiated_version.return_value = (2, 96)
        self.mock_servers_on_host.return_value = self.servers
        hypervisors = [factories.hypervisor(h) for h in ("cmp1", "cmp2", "cmp3")]
        self.mock_hypervisor_list.return_value = (hypervisors, True)
        ids = {h["service"]["host"]: h["id"] for h in hypervisors}
        # cmp2 (listed first) is three-quarters full, cmp3 is empty.
        providers = {ids["cmp2"]: provider(131072, used_ram=98304, used_vcpu=96),
                     ids["cmp3"]: provider(131072)}
        self.mock_capacity.side_effect = lambda request, uuids: {
            u: providers[u] for u in uuids if u in providers}

    def preview(self, **params):
        params.setdefault("instances", [s["id"] for s in self.servers])
        return json.loads(self.client.get(PREVIEW_URL, params).content)

    @staticmethod
    def takes(html):
        return dict(re.findall(r"<tr><td>(cmp\d)</td><td>(\d+)</td>", html))

    def test_scheduler_estimate_sends_them_to_the_emptiest_host_as_nova_does(self):
        html = self.preview(mode="scheduler")["html"]
        self.assertEqual({"cmp2": "0", "cmp3": "3"}, self.takes(html))
        self.assertIn("where the scheduler would put them", html)
        self.assertIn("upper bound", html)

    def test_plan_and_one_host_previews_keep_working(self):
        self.assertEqual({"cmp2": "0", "cmp3": "3"}, self.takes(self.preview(mode="plan")["html"]))
        html = self.preview(mode="host", target="cmp2")["html"]
        self.assertEqual({"cmp2": "3", "cmp3": "0"}, self.takes(html))
        self.assertIn("sent to the chosen host", html)

    def test_targets_step_explains_the_weighing_and_calls_it_an_estimate(self):
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertIn("default weighers", html)
        self.assertIn("estimate and an upper bound", html)

    def test_no_usable_target_is_shown_on_the_host_and_targets_steps(self):
        self.mock_service_list.return_value = [
            self.source, factories.service("cmp2", status="disabled", reason="RMA"),
            factories.service("cmp3", state="down", forced_down=True)]
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertEqual(2, html.count("evac-no-target"))
        self.assertIn("cmp2 is disabled (RMA); cmp3 is forced down", html)
        self.assertIn("No valid host was found", html)

    def test_usable_target_gives_no_such_warning(self):
        self.assertNotIn("evac-no-target", self.client.get(WIZARD_URL).content.decode())

    @override_settings(EVAC_SERVICE_DOWN_TIME=20)
    def test_host_step_uses_the_configured_service_down_time(self):
        self.mock_service_get.return_value = factories.service("cmp1", seconds_ago=5)
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertIn("service_down_time (20 s)", html)
        self.assertNotIn("service_down_time (60 s)", html)

    def test_host_step_does_not_call_the_record_time_a_heartbeat(self):
        html = self.client.get(WIZARD_URL).content.decode()
        self.assertNotIn("Last heartbeat", html)
        self.assertIn("Record updated", html)
        self.assertIn("not necessarily a heartbeat", html)  # forced down: an admin change
