"""Horizon's "add to field" header on the plugin's modals (content/modals.py): ignored, so a
successful POST answers as without it (Horizon answered [id, name] of what the form
returned: True or a batch, a 500 after Nova was called)."""
from unittest import mock

from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard import models
from evac_dashboard.api import actions
from evac_dashboard.api import nova
from evac_dashboard.content.evacuate import reviewed
from evac_dashboard.operations import submission
from tests.unit import factories
from tests.unit.content.evacuate.test_views import HOST_URL, NovaMocks, dead_host_servers

ADD_TO_FIELD = {"HTTP_X_HORIZON_ADD_TO_FIELD": "id_field"}
INDEX_URL = reverse("horizon:admin:evac_hosts:index")
ENABLE_URL = reverse("horizon:admin:evac_hosts:enable", args=["cmp1"])


class ServiceModalTests(test.BaseAdminViewTests):
    @test.create_mocks({nova: ["service_get"], actions: ["set_service_status"]})
    def test_enable_posted_with_the_header_redirects(self):
        self.mock_service_get.return_value = factories.service(
            "cmp1", status="disabled", reason="maintenance")
        res = self.client.post(ENABLE_URL, {"host": "cmp1"}, **ADD_TO_FIELD)
        self.assertRedirectsNoFollow(res, INDEX_URL)
        self.assertNotIn("X-Horizon-Add-To-Field", res)
        self.mock_set_service_status.assert_called_once()

    @test.create_mocks({nova: ["service_get"]})
    def test_modal_shown_with_the_header_does_not_ask_for_it(self):
        self.mock_service_get.return_value = factories.service("cmp1", status="disabled")
        res = self.client.get(ENABLE_URL, **ADD_TO_FIELD)
        self.assertEqual(200, res.status_code)
        self.assertNotContains(res, "data-add-to-field")


class EvacuateModalTests(NovaMocks, test.BaseAdminViewTests):
    @mock.patch.object(submission, "start")
    def test_evacuate_posted_with_the_header_lands_on_the_batch(self, start):
        source = factories.service("cmp1", state="down", forced_down=True)
        self.mock_service_get.return_value = source
        self.mock_service_list.return_value = [source, factories.service("cmp2")]
        self.mock_negotiated_version.return_value = (2, 96)
        servers = [s for s in dead_host_servers() if s["status"] != "PAUSED"]
        res = self.client.post(HOST_URL, {
            "host": "cmp1", "target_host": "", "power_state": "running", "password": "",
            "confirm_password": "", "acknowledge_local_disks": "on",
            "reviewed": reviewed.sign("cmp1", servers)}, **ADD_TO_FIELD)
        batch = models.EvacuationBatch.objects.get()
        self.assertRedirectsNoFollow(
            res, reverse("horizon:admin:evac_batches:detail", args=[batch.pk]))
        start.assert_called_once()
