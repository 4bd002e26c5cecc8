"""Evacuate Host / Evacuate Instance modals: options by microversion, checks, batches."""
from unittest import mock

from django.test import override_settings
from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard import models
from evac_dashboard.api import nova
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.operations import submission
from tests.unit import factories

HOST_URL = reverse("horizon:admin:evac_hosts:evacuate_host", args=["cmp1"])


def instance_url(server_id):
    return reverse("horizon:admin:evac_hosts:evacuate_instance", args=["cmp1", server_id])


def dead_host_servers():
    return [
        factories.server("web-1", "cmp1"),
        factories.server("db-1", "cmp1", volume_backed=True,
                         metadata={"evac:restart_priority": "100"}),
        factories.server("paused-1", "cmp1", status="PAUSED", vm_state="paused"),
        factories.server("batch-1", "cmp1", status="SHUTOFF", volume_backed=True),
    ]


class NovaMocks:
    """The API-layer reads of the evacuate views, mocked for every test of the class."""

    def setUp(self):
        super().setUp()
        for name in ("service_get", "service_list", "negotiated_version", "servers_on_host"):
            patcher = mock.patch.object(nova, name)
            setattr(self, "mock_" + name, patcher.start())
            self.addCleanup(patcher.stop)


class EvacuateHostTests(NovaMocks, test.BaseAdminViewTests):
    def _cloud(self, version=(2, 96), source_state="down", forced=True, servers=None):
        source = factories.service("cmp1", state=source_state, forced_down=forced)
        self.mock_service_get.return_value = source
        self.mock_service_list.return_value = [
            source, factories.service("cmp2"), factories.service("cmp3", status="disabled"),
            factories.service("cmp10", state="down")]
        self.mock_negotiated_version.return_value = version
        self.mock_servers_on_host.return_value = servers or dead_host_servers()

    def _form(self, **overrides):
        data = {"host": "cmp1", "target_host": "", "power_state": "running",
                "password": "", "confirm_password": "", "acknowledge_local_disks": "on",
                "reviewed": reviewed.sign("cmp1", [s for s in dead_host_servers()
                                                   if s["status"] != "PAUSED"])}
        data.update(overrides)
        return data

    def test_modal_lists_what_will_happen(self):
        self._cloud()
        res = self.client.get(HOST_URL)
        self.assertTemplateUsed(res, "evac_dashboard/evacuate/evacuate.html")
        html = res.content.decode()
        self.assertTrue("3 instances will be evacuated" in html)
        self.assertTrue("paused-1" in html and "Not evacuated" in html)
        self.assertTrue("1 instance has a local root disk" in html)
        form = res.context["form"]
        # Only up, enabled, not forced-down hosts other than the source are offered.
        self.assertEqual(["", "cmp2"], [value for value, _label in
                                        form.fields["target_host"].choices])

    def test_options_follow_the_microversion(self):
        for version, present, absent in (
                ((2, 96), {"power_state"}, {"force", "on_shared_storage"}),
                ((2, 40), {"force"}, {"power_state", "on_shared_storage"}),
                ((2, 13), {"on_shared_storage"}, {"power_state", "force"}),
                ((2, 88), set(), {"power_state", "force", "on_shared_storage"})):
            self._cloud(version=version)
            fields = set(self.client.get(HOST_URL).context["form"].fields)
            self.assertTrue(present <= fields, (version, fields))
            self.assertFalse(absent & fields, (version, fields))

    @mock.patch.object(submission, "start")
    def test_submit_creates_a_batch_in_priority_order_and_returns_at_once(self, start):
        self._cloud()
        res = self.client.post(HOST_URL, self._form(password="s3cret-pass",
                                                    confirm_password="s3cret-pass"))
        self.assertNoFormErrors(res)
        batch = models.EvacuationBatch.objects.get()
        self.assertRedirectsNoFollow(
            res, reverse("horizon:admin:evac_batches:detail", args=[batch.pk]))
        self.assertEqual("host", batch.kind)
        self.assertEqual("2.94", batch.microversion)  # "come back running" on a 2.96 cloud
        self.assertEqual(["db-1", "batch-1", "web-1"],
                         [i.instance_name for i in batch.items.order_by("position")])
        self.assertTrue(batch.options["password_set"])
        self.assertNotIn("s3cret-pass", str(batch.options))
        start.assert_called_once()
        self.assertEqual("s3cret-pass", start.call_args.kwargs["password"])
        # Nothing was listed again on POST: the reviewed list was used.
        self.mock_servers_on_host.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_leave_stopped_sends_the_negotiated_version(self, start):
        self._cloud()
        self.client.post(HOST_URL, self._form(power_state="stopped"))
        self.assertEqual("2.96", models.EvacuationBatch.objects.get().microversion)

    @mock.patch.object(submission, "start")
    def test_source_still_up_is_refused_with_advice(self, start):
        self._cloud(source_state="up", forced=False)
        res = self.client.post(HOST_URL, self._form())
        self.assertContains(res, "Force Down")
        self.assertFalse(models.EvacuationBatch.objects.exists())
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_passwords_must_match(self, start):
        self._cloud()
        res = self.client.post(HOST_URL, self._form(password="a", confirm_password="b"))
        self.assertContains(res, "do not match")
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_local_disks_need_acknowledgement(self, start):
        self._cloud()
        res = self.client.post(HOST_URL, self._form(acknowledge_local_disks=""))
        self.assertContains(res, "rebuilt from their image")
        # The modal shown again still describes the reviewed instances.
        self.assertContains(res, "3 instances will be evacuated")
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_altered_instance_list_is_refused(self, start):
        self._cloud()
        res = self.client.post(HOST_URL, self._form(reviewed=reviewed.sign("cmp2", [])))
        self.assertContains(res, "altered or belongs to another host")
        start.assert_not_called()

    @mock.patch.object(submission, "start")
    def test_second_batch_for_the_same_host_links_to_the_running_one(self, start):
        self._cloud()
        self.client.post(HOST_URL, self._form())
        running = models.EvacuationBatch.objects.get()
        res = self.client.post(HOST_URL, self._form())
        self.assertContains(res, "already running")
        self.assertContains(res, reverse("horizon:admin:evac_batches:detail",
                                         args=[running.pk]))
        self.assertEqual(1, models.EvacuationBatch.objects.count())

    @mock.patch.object(submission, "start")
    def test_target_must_be_usable(self, start):
        self._cloud()
        res = self.client.post(HOST_URL, self._form(target_host="cmp3"))
        self.assertFormErrors(res, 1)
        start.assert_not_called()


    def test_instances_are_listed_in_the_order_they_are_sent(self):
        self._cloud()  # Nova lists web-1, db-1 (priority 100), paused-1, batch-1
        html = self.client.get(HOST_URL).content.decode()
        listed = html[html.index('class="evac-instance-list"'):]
        positions = [listed.index(name) for name in ("db-1", "batch-1", "web-1")]
        self.assertEqual(sorted(positions), positions, listed[:400])
        self.assertIn("priority 100", listed)
        self.assertIn("Listed in the order they are sent", html)
        signed = [s["name"] for s in reviewed.unsign("cmp1", self.client.get(
            HOST_URL).context["form"].initial["reviewed"])]
        self.assertEqual(["db-1", "batch-1", "web-1"], signed)

    def test_no_usable_target_is_a_clear_warning(self):
        self._cloud()
        source = self.mock_service_get.return_value
        self.mock_service_list.return_value = [
            source, factories.service("cmp2", state="down"),
            factories.service("cmp3", status="disabled", reason="RMA")]
        res = self.client.get(HOST_URL)
        self.assertContains(res, "No target host:")
        self.assertContains(res, "cmp2 is down; cmp3 is disabled (RMA)")
        self.assertContains(res, "No valid host was found")

    def test_a_usable_target_gives_no_such_warning(self):
        self._cloud()
        self.assertNotContains(self.client.get(HOST_URL), "No target host:")

    @override_settings(EVAC_SERVICE_DOWN_TIME=20)
    def test_source_up_advice_uses_the_configured_service_down_time(self):
        self._cloud(source_state="up", forced=False)
        res = self.client.get(HOST_URL)
        self.assertContains(res, "service_down_time (20 s)")
        self.assertContains(res, "should look down by")


class EvacuateInstanceTests(NovaMocks, test.BaseAdminViewTests):
    @mock.patch.object(submission, "start")
    def test_one_instance_becomes_a_one_item_batch(self, start):
        servers = dead_host_servers()
        source = factories.service("cmp1", state="down", forced_down=True)
        self.mock_service_get.return_value = source
        self.mock_service_list.return_value = [source, factories.service("cmp2")]
        self.mock_negotiated_version.return_value = (2, 96)
        self.mock_servers_on_host.return_value = servers
        res = self.client.get(instance_url(servers[1]["id"]))
        self.assertContains(res, "1 instance will be evacuated")
        token = res.context["form"].initial["reviewed"]
        res = self.client.post(instance_url(servers[1]["id"]), {
            "host": "cmp1", "target_host": "cmp2", "power_state": "running",
            "reviewed": token})
        self.assertNoFormErrors(res)
        batch = models.EvacuationBatch.objects.get()
        self.assertEqual(("instance", "cmp2"), (batch.kind, batch.target_host))
        self.assertEqual(["db-1"], [i.instance_name for i in batch.items.all()])

    def test_instance_of_another_host_is_refused(self):
        self.mock_service_get.return_value = factories.service("cmp1", state="down")
        self.mock_service_list.return_value = []
        self.mock_negotiated_version.return_value = (2, 96)
        self.mock_servers_on_host.return_value = dead_host_servers()
        res = self.client.get(instance_url("not-here"))
        self.assertRedirectsNoFollow(res, reverse("horizon:admin:evac_hosts:detail",
                                                  args=["cmp1"]))
