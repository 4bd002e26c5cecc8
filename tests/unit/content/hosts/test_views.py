"""Compute Hosts panel views with the API layer mocked, Horizon style."""
import re

from django.test import override_settings
from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard import models
from evac_dashboard.api import nova
from tests.unit import factories

INDEX_URL = reverse("horizon:admin:evac_hosts:index")


def detail_url(host):
    return reverse("horizon:admin:evac_hosts:detail", args=[host])


class HostsIndexTests(test.BaseAdminViewTests):
    def _cloud(self, hosts):
        self.mock_service_list.return_value = [h[0] for h in hosts]
        self.mock_hypervisor_list.return_value = ([h[1] for h in hosts], True)
        self.mock_negotiated_version.return_value = (2, 96)

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_lists_every_host_with_its_state(self):
        self._cloud([
            (factories.service("cmp1"), factories.hypervisor("cmp1", servers=4)),
            (factories.service("cmp2", state="down", seconds_ago=95),
             factories.hypervisor("cmp2", servers=7, vcpus_used=9)),
            (factories.service("cmp3", state="down", forced_down=True, status="disabled",
                               reason="PSU failure"), factories.hypervisor("cmp3", servers=0)),
        ])
        res = self.client.get(INDEX_URL)
        self.assertTemplateUsed(res, "evac_dashboard/hosts/index.html")
        rows = res.context["table"].data
        # Forced down first, then down, then healthy.
        self.assertEqual(["cmp3", "cmp2", "cmp1"], [row.host for row in rows])
        self.assertEqual([0, 7, 4], [row.instance_count for row in rows])
        html = res.content.decode()
        self.assertTrue("Down (forced)" in html, "Down (forced)")
        self.assertTrue("PSU failure" in html, "PSU failure")
        self.assertTrue("evac-host-forced-down" in html, "evac-host-forced-down")
        self.assertTrue("evac-host-down" in html, "evac-host-down")
        self.assertTrue("2 compute hosts are down" in html, "2 compute hosts are down")
        self.assertTrue("9 / 32" in html, "9 / 32")  # vCPU use where the microversion gives it
        self.assertTrue("95 s ago" in html, "95 s ago")  # heartbeat age of cmp2

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_nova_calls_do_not_grow_with_hosts(self):
        for count in (3, 300):
            self._cloud([(factories.service("h%03d" % i), factories.hypervisor("h%03d" % i))
                         for i in range(count)])
            res = self.client.get(INDEX_URL)
            self.assertEqual(count, len(res.context["table"].data))
        self.assertEqual(2, self.mock_service_list.call_count)
        self.assertEqual(2, self.mock_hypervisor_list.call_count)

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_usage_columns_say_not_reported_when_nova_has_no_figures(self):
        self._cloud([(factories.service("cmp1"),
                      factories.hypervisor("cmp1", servers=2, with_usage=False))])
        res = self.client.get(INDEX_URL)
        self.assertContains(res, "Not reported by Nova at this microversion")
        self.assertEqual(2, res.context["table"].data[0].instance_count)

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_nova_failure_is_a_message_not_a_500(self):
        from novaclient import exceptions as nova_exceptions
        self.mock_service_list.side_effect = nova_exceptions.ClientException(503, "down")
        self.mock_negotiated_version.return_value = (2, 96)
        res = self.client.get(INDEX_URL)
        self.assertEqual(200, res.status_code)
        self.assertMessageCount(res, error=1)
        self.assertEqual([], res.context["table"].data)

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_healthy_cloud_says_so(self):
        self._cloud([(factories.service("cmp1"), factories.hypervisor("cmp1"))])
        res = self.client.get(INDEX_URL)
        self.assertContains(res, "Every compute host is up.")
        self.assertNotContains(res, "evac-host-down")


    def _row(self, html, host):
        match = re.search(r'<tr[^>]*id="compute_hosts__row__%s".*?</tr>' % host, html, re.S)
        return match.group(0)

    def _actions(self, row, host):
        return re.findall(r'id="compute_hosts__row_%s__action_(\w+)"' % host, row)

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_record_time_is_not_called_a_heartbeat(self):
        # Force Down just rewrote cmp3's record: "0 s ago" is the admin's change.
        self._cloud([
            (factories.service("cmp1"), factories.hypervisor("cmp1")),
            (factories.service("cmp2", state="down", seconds_ago=95), factories.hypervisor("cmp2")),
            (factories.service("cmp3", state="down", forced_down=True, seconds_ago=0),
             factories.hypervisor("cmp3"))])
        html = self.client.get(INDEX_URL).content.decode()
        self.assertNotIn("Last heartbeat", html)
        self.assertIn("Record updated", html)
        self.assertIn("Force Down, Disable and Enable bump it too", html)
        self.assertIn("may be an admin change", self._row(html, "cmp3"))
        self.assertNotIn("may be an admin change", self._row(html, "cmp2"))

    @override_settings(EVAC_SERVICE_DOWN_TIME=20)
    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_down_state_tooltip_uses_the_configured_down_time(self):
        self._cloud([(factories.service("cmp2", state="down"), factories.hypervisor("cmp2"))])
        self.assertContains(self.client.get(INDEX_URL),
                            "No heartbeat within service_down_time (20 s).")

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_row_actions_offer_only_what_can_work(self):
        self._cloud([
            (factories.service("cmp1"), factories.hypervisor("cmp1", servers=4)),
            (factories.service("cmp2", status="disabled", reason="maintenance"),
             factories.hypervisor("cmp2", servers=2)),
            (factories.service("cmp3", state="down"), factories.hypervisor("cmp3", servers=3)),
            (factories.service("cmp4", state="down", forced_down=True, status="disabled"),
             factories.hypervisor("cmp4", servers=3))])
        html = self.client.get(INDEX_URL).content.decode()
        # An up host: its button is to look at it; nothing evacuates (Nova would refuse).
        self.assertEqual(["view", "disable", "force_down_running"],
                         self._actions(self._row(html, "cmp1"), "cmp1"))
        self.assertEqual(["view", "enable", "force_down_running"],
                         self._actions(self._row(html, "cmp2"), "cmp2"))
        # A down host leads with fencing, a forced-down one with evacuating.
        self.assertEqual(["force_down", "evacuate_host", "wizard", "disable"],
                         self._actions(self._row(html, "cmp3"), "cmp3"))
        self.assertEqual(["evacuate_host", "wizard", "unset_force_down", "enable"],
                         self._actions(self._row(html, "cmp4"), "cmp4"))


class HostServiceModalTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get"]})
    def test_unset_force_down_speaks_of_enabling_only_a_disabled_service(self):
        url = reverse("horizon:admin:evac_hosts:unset_force_down", args=["cmp3"])
        self.mock_service_get.return_value = factories.service(
            "cmp3", state="down", forced_down=True)
        self.assertNotContains(self.client.get(url), "stays disabled until you enable it")
        self.mock_service_get.return_value = factories.service(
            "cmp3", state="down", forced_down=True, status="disabled")
        self.assertContains(self.client.get(url), "stays disabled until you enable it")


class HostDetailTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get", "servers_on_host", "project_names"]})
    def test_instances_of_the_host(self):
        self.mock_service_get.return_value = factories.service("compute1", state="down")
        self.mock_servers_on_host.return_value = [
            factories.server("web-1", "compute1", project="p1"),
            factories.server("db-1", "compute1", project="p2", volume_backed=True,
                             metadata={"evac:restart_priority": "10"}),
            factories.server("broken", "compute1", status="ERROR"),
        ]
        self.mock_project_names.return_value = {"p1": "demo", "p2": "ops"}
        res = self.client.get(detail_url("compute1"))
        self.assertTemplateUsed(res, "evac_dashboard/hosts/detail.html")
        rows = {row.name: row for row in res.context["table"].data}
        self.assertEqual({"web-1", "db-1", "broken"}, set(rows))
        self.assertEqual("volume", rows["db-1"].root_disk)
        self.assertEqual("local", rows["web-1"].root_disk)
        self.assertEqual("ops", rows["db-1"].project_name)
        self.assertContains(res, "2 instances have a local root disk")
        self.assertContains(res, "Local (image)")
        self.mock_servers_on_host.assert_called_once_with(test.IsHttpRequest(), "compute1")

    @test.create_mocks({nova: ["service_get", "servers_on_host", "project_names"]})
    def test_actions_column_only_where_instances_can_be_evacuated(self):
        self.mock_servers_on_host.return_value = [factories.server("web-1", "compute1")]
        self.mock_project_names.return_value = {}
        self.mock_service_get.return_value = factories.service("compute1")
        html = self.client.get(detail_url("compute1")).content.decode()
        self.assertNotIn("actions_column", html)
        self.assertNotIn(">Actions<", html)
        self.assertNotIn(reverse("horizon:admin:evac_hosts:wizard", args=["compute1"]), html)
        self.mock_service_get.return_value = factories.service("compute1", state="down")
        html = self.client.get(detail_url("compute1")).content.decode()
        self.assertIn("actions_column", html)
        self.assertIn("__action_evacuate", html)
        # The whole host from its page too (a fence lands there): modal and wizard.
        self.assertIn(reverse("horizon:admin:evac_hosts:evacuate_host", args=["compute1"]),
                      html)
        self.assertIn(reverse("horizon:admin:evac_hosts:wizard", args=["compute1"]), html)

    @test.create_mocks({nova: ["service_get", "servers_on_host", "project_names"]})
    def test_detail_says_record_updated_not_heartbeat(self):
        self.mock_service_get.return_value = factories.service(
            "compute1", state="down", forced_down=True, seconds_ago=0)
        self.mock_servers_on_host.return_value = []
        self.mock_project_names.return_value = {}
        res = self.client.get(detail_url("compute1"))
        self.assertNotContains(res, "Last heartbeat")
        self.assertContains(res, "not necessarily a heartbeat")

    @test.create_mocks({nova: ["service_get", "servers_on_host", "project_names"]})
    def test_the_last_fence_stays_on_the_host_page(self):
        self.mock_service_get.return_value = factories.service(
            "compute1", state="down", forced_down=True, status="disabled")
        self.mock_servers_on_host.return_value = []
        self.mock_project_names.return_value = {}
        res = self.client.get(detail_url("compute1"))
        self.assertNotContains(res, "evac-last-fence")  # never fenced: nothing to show
        record = models.AuditRecord.objects.create
        record(action="fence", outcome="failed", source_host="compute1", user_name="old")
        record(action="fence", outcome="succeeded", source_host="compute2", user_name="x")
        fence = record(action="fence", outcome="succeeded", source_host="compute1",
                       user_name="alice", detail="Off confirmed <script>x</script>")
        record(action="force_down", outcome="succeeded", source_host="compute1",
               user_name="alice")
        record(action="evacuate_host", outcome="sent", source_host="compute1",
               user_name="alice")
        record(action="disable", outcome="failed", source_host="compute1", user_name="bob")
        html = self.client.get(detail_url("compute1")).content.decode()
        section = html[html.index('class="evac-last-fence"'):html.index("</section>")]
        steps = re.findall(r'<li class="evac-step-(\w+)">\s*<a href="[^"]+/(\d+)/">([^<]+)</a>',
                           section)
        self.assertEqual([("succeeded", str(fence.pk), "Fence (BMC power off)"),
                          ("succeeded", str(fence.pk + 1), "Force down"),
                          ("failed", str(fence.pk + 3), "Disable service")], steps)
        self.assertIn("by alice", section)
        self.assertIn("by bob", section)
        self.assertNotIn("<script>", section)
        self.assertNotIn("old", section)

    @test.create_mocks({nova: ["service_get", "servers_on_host", "project_names"]})
    def test_unknown_host_redirects_with_message(self):
        self.mock_service_get.return_value = None
        res = self.client.get(detail_url("nope"))
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.mock_servers_on_host.assert_not_called()


class MemberAccessTests(test.TestCase):
    """A user without the admin role gets Horizon's normal refusal."""

    @test.create_mocks({nova: ["service_list", "hypervisor_list", "negotiated_version"]})
    def test_member_is_refused(self):
        res = self.client.get(INDEX_URL)
        self.assertNotEqual(200, res.status_code)
        self.mock_service_list.assert_not_called()
        res = self.client.get(detail_url("cmp1"))
        self.assertNotEqual(200, res.status_code)
