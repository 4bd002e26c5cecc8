"""The capacity preview's JSON error messages are marked for translation (gettext)."""
import json
from unittest import mock

from django.urls import reverse

from openstack_dashboard.test import helpers as test

from evac_dashboard.content.wizard import views

PREVIEW_URL = reverse("horizon:admin:evac_hosts:wizard_capacity", args=["cmp1"])


def translated(text):
    return "[tr]" + text


@mock.patch.object(views, "_", translated)
class CapacityMessageTests(test.BaseAdminViewTests):
    def error(self, status, **query):
        res = self.client.get(PREVIEW_URL, query)
        self.assertEqual(status, res.status_code)
        return json.loads(res.content)["error"]

    @mock.patch.object(views.wizard_facts, "load", side_effect=RuntimeError("nova is down"))
    def test_nova_or_placement_failure_502(self, load):
        self.assertEqual("[tr]Nova or Placement could not be read: nova is down",
                         self.error(502))

    @mock.patch.object(views.wizard_facts, "load", return_value=mock.Mock())
    def test_unknown_mode_400(self, load):
        self.assertEqual("[tr]Unknown mode 'teleport'.", self.error(400, mode="teleport"))

    @mock.patch.object(views.wizard_facts, "load", return_value=None)
    def test_unknown_host_404(self, load):
        self.assertEqual("[tr]There is no compute host named cmp1.", self.error(404))
