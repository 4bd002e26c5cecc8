"""Service actions: a fault of the dashboard itself is never shown as Nova's refusal."""
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from novaclient import exceptions as nova_exceptions

from openstack_dashboard.test import helpers as test

from evac_dashboard.api import actions
from evac_dashboard.api import nova
from tests.unit import factories


def url(name, host="cmp1"):
    return reverse("horizon:admin:evac_hosts:" + name, args=[host])


class NotNovasErrors(test.BaseAdminViewTests):
    def post_force_down(self):
        self.mock_service_get.return_value = factories.service("cmp1", state="down")
        return self.client.post(url("force_down"), {"host": "cmp1", "confirm_host": "cmp1",
                                                    "reason": ""})

    @test.create_mocks({nova: ["service_get"], actions: ["force_down"]})
    def test_a_configuration_error_is_the_dashboards_not_novas(self):
        self.mock_force_down.side_effect = ImproperlyConfigured(
            "settings.DATABASES is improperly configured")
        res = self.post_force_down()
        self.assertNotEqual(500, res.status_code)
        self.assertNotContains(res, "Nova said")
        self.assertNotContains(res, "DATABASES is improperly")  # details go to the log
        self.assertContains(res, "not a refusal from Nova")

    @test.create_mocks({nova: ["service_get"], actions: ["force_down"]})
    def test_novas_refusal_is_shown_as_novas(self):
        self.mock_force_down.side_effect = nova_exceptions.BadRequest(
            400, "Service cmp1 is not down")
        res = self.post_force_down()
        self.assertContains(res, "Nova said")
        self.assertContains(res, "Service cmp1 is not down")
